//! The handle of one peer inside an endpoint.

/// A peer's slot number in the endpoint's peer table. Small and dense (slots are reused after a
/// peer is removed), so per-peer side tables such as the deadline queue index by it directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(pub u32);

impl PeerId {
    /// The id as a table index.
    pub fn index(self) -> usize {
        // u32 -> usize is lossless on every target ringtun builds for (Linux, 32 or 64 bit).
        self.0 as usize
    }
}
