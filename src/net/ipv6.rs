//! IPv6 fixed header view (RFC 8200 §3). Extension headers are not walked: a packet with one has
//! a `next_header` that is not the upper-layer protocol.
//!
//! [`Packet::new_checked`] checks once that the 40-byte header lies in the buffer; after that no
//! accessor can panic. Whether the payload length agrees with the buffer is
//! [`ip::packet_len`](super::ip::packet_len)'s question.

use super::Error;
#[cfg(test)]
use super::bytes::u32_at;
use super::bytes::{Field, array_at, set_u16, u8_at, u16_at};
use super::checksum;

/// Byte offsets of the fixed header.
pub(crate) mod field {
    use super::Field;

    /// Version (4 bits), traffic class (8 bits), flow label (20 bits).
    pub(crate) const VER_TC_FLOW: Field = 0..4;
    pub(crate) const PAYLOAD_LEN: Field = 4..6;
    pub(crate) const NEXT_HEADER: usize = 6;
    #[cfg(test)]
    pub(crate) const HOP_LIMIT: usize = 7;
    pub(crate) const SRC_ADDR: Field = 8..24;
    pub(crate) const DST_ADDR: Field = 24..40;
}

/// Length of the fixed header.
pub(crate) const HEADER_LEN: usize = field::DST_ADDR.end;

header_view!(
    /// A read/write view of an IPv6 header at the start of a buffer.
);

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Truncated` if the buffer is shorter than the fixed header. The version is not looked at.
    #[inline(always)]
    pub(crate) fn check_len(&self) -> Result<(), Error> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    #[inline(always)]
    pub(crate) fn into_inner(self) -> T {
        self.buffer
    }

    #[inline(always)]
    #[cfg(test)]
    fn ver_tc_flow(&self) -> u32 {
        u32_at(self.bytes(), field::VER_TC_FLOW)
    }

    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn version(&self) -> u8 {
        (self.ver_tc_flow() >> 28) as u8
    }

    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn traffic_class(&self) -> u8 {
        (self.ver_tc_flow() >> 20) as u8
    }

    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn flow_label(&self) -> u32 {
        self.ver_tc_flow() & 0x000f_ffff
    }

    /// Length of everything after the fixed header, extension headers included.
    #[inline(always)]
    pub(crate) fn payload_len(&self) -> u16 {
        u16_at(self.bytes(), field::PAYLOAD_LEN)
    }

    /// The fixed header and the payload length: the length of the whole packet.
    #[inline(always)]
    pub(crate) fn total_len(&self) -> usize {
        HEADER_LEN + usize::from(self.payload_len())
    }

    #[inline(always)]
    pub(crate) fn next_header(&self) -> u8 {
        u8_at(self.bytes(), field::NEXT_HEADER)
    }

    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn hop_limit(&self) -> u8 {
        u8_at(self.bytes(), field::HOP_LIMIT)
    }

    #[inline(always)]
    pub(crate) fn src_addr(&self) -> [u8; 16] {
        array_at(self.bytes(), field::SRC_ADDR).unwrap_or_default()
    }

    #[inline(always)]
    pub(crate) fn dst_addr(&self) -> [u8; 16] {
        array_at(self.bytes(), field::DST_ADDR).unwrap_or_default()
    }

    /// Folded sum of the pseudo-header (RFC 8200 §8.1) for an L4 segment of `l4_len` bytes.
    #[inline(always)]
    pub(crate) fn pseudo_header_sum(&self, next_header: u8, l4_len: u32) -> u16 {
        checksum::pseudo_header_v6(&self.src_addr(), &self.dst_addr(), next_header, l4_len)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    #[inline(always)]
    pub(crate) fn set_payload_len(&mut self, len: u16) {
        set_u16(self.buffer.as_mut(), field::PAYLOAD_LEN, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut p = vec![0x61, 0x23, 0x45, 0x67, 0x01, 0x00, 6, 64];
        p.extend((0..32).map(|i| 0xf0 | i as u8));
        p
    }

    #[test]
    fn fields() {
        let b = sample();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0x12);
        assert_eq!(p.flow_label(), 0x34567);
        assert_eq!(p.payload_len(), 256);
        assert_eq!(p.total_len(), 296);
        assert_eq!(p.next_header(), 6);
        assert_eq!(p.hop_limit(), 64);
        assert_eq!(p.src_addr()[..], b[8..24]);
        assert_eq!(p.dst_addr()[..], b[24..40]);
    }

    #[test]
    fn setters_and_check_len() {
        let mut b = sample();
        Packet::new_checked(&mut b[..]).unwrap().set_payload_len(9);
        assert_eq!(b[4..6], [0, 9]);
        for n in 0..HEADER_LEN {
            assert_eq!(
                Packet::new_checked(&b[..n]).map(|_| ()),
                Err(Error::Truncated)
            );
        }
    }
}
