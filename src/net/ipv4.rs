//! IPv4 header view (RFC 791).
//!
//! [`Packet::new_checked`] checks once that the header, options included, lies in the buffer;
//! after that no accessor can panic or read past the header. The total length is a field like any
//! other here: whether it agrees with the buffer is [`ip::packet_len`](super::ip::packet_len)'s
//! question.

use super::Error;
use super::bytes::{Field, HEADER_WORD_LEN, array_at, set_u16, u8_at, u16_at};
use super::checksum;

/// Byte offsets of the fixed header.
pub(crate) mod field {
    use super::Field;

    /// Version (high nibble) and header length in 32-bit words (IHL, low nibble).
    pub(crate) const VER_IHL: usize = 0;
    /// DSCP and ECN (the former TOS byte).
    pub(crate) const DSCP_ECN: usize = 1;
    pub(crate) const LENGTH: Field = 2..4;
    pub(crate) const IDENT: Field = 4..6;
    /// Flags (reserved, DF, MF) and fragment offset.
    pub(crate) const FLG_OFF: Field = 6..8;
    pub(crate) const TTL: usize = 8;
    pub(crate) const PROTOCOL: usize = 9;
    pub(crate) const CHECKSUM: Field = 10..12;
    pub(crate) const SRC_ADDR: Field = 12..16;
    pub(crate) const DST_ADDR: Field = 16..20;
}

/// Length of the header without options.
pub(crate) const HEADER_LEN: usize = field::DST_ADDR.end;
/// Don't Fragment, in [`Packet::flags_frag_off`].
pub(crate) const FLAG_DF: u16 = 0x4000;
/// The header length's bits of the first byte (the version is the other nibble).
const IHL_MASK: u8 = 0x0f;
/// More Fragments, in [`Packet::flags_frag_off`].
pub(crate) const FLAG_MF: u16 = 0x2000;
/// The fragment offset bits of [`Packet::flags_frag_off`].
pub(crate) const FRAG_OFF_MASK: u16 = 0x1fff;

header_view!(
    mut
    /// A read/write view of an IPv4 header at the start of a buffer.
);

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Truncated` if the buffer is shorter than the fixed header or than the header length
    /// field says, `Malformed` if that field is below the fixed header's 20 bytes. The version is
    /// not looked at.
    #[inline(always)]
    pub(crate) fn check_len(&self) -> Result<(), Error> {
        super::check_header_len(self.buffer.as_ref().len(), HEADER_LEN, || self.header_len())
    }

    #[inline(always)]
    pub(crate) fn into_inner(self) -> T {
        self.buffer
    }

    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn version(&self) -> u8 {
        u8_at(self.bytes(), field::VER_IHL) >> super::ip::VERSION_SHIFT
    }

    /// Header length in bytes, options included (IHL * 4).
    #[inline(always)]
    pub(crate) fn header_len(&self) -> usize {
        usize::from(u8_at(self.bytes(), field::VER_IHL) & IHL_MASK) * HEADER_WORD_LEN
    }

    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn dscp_ecn(&self) -> u8 {
        u8_at(self.bytes(), field::DSCP_ECN)
    }

    /// The total length field: header and payload, in bytes.
    #[inline(always)]
    pub(crate) fn total_len(&self) -> u16 {
        u16_at(self.bytes(), field::LENGTH)
    }

    #[inline(always)]
    pub(crate) fn ident(&self) -> u16 {
        u16_at(self.bytes(), field::IDENT)
    }

    /// The flags and fragment offset word (see [`FLAG_DF`], [`FLAG_MF`], [`FRAG_OFF_MASK`]).
    #[inline(always)]
    pub(crate) fn flags_frag_off(&self) -> u16 {
        u16_at(self.bytes(), field::FLG_OFF)
    }

    /// MF set or a non-zero fragment offset: a piece of a larger datagram.
    #[inline(always)]
    pub(crate) fn is_fragment(&self) -> bool {
        self.flags_frag_off() & (FLAG_MF | FRAG_OFF_MASK) != 0
    }

    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn ttl(&self) -> u8 {
        u8_at(self.bytes(), field::TTL)
    }

    #[inline(always)]
    pub(crate) fn protocol(&self) -> u8 {
        u8_at(self.bytes(), field::PROTOCOL)
    }

    #[inline(always)]
    pub(crate) fn src_addr(&self) -> [u8; 4] {
        array_at(self.bytes(), field::SRC_ADDR).unwrap_or_default()
    }

    #[inline(always)]
    pub(crate) fn dst_addr(&self) -> [u8; 4] {
        array_at(self.bytes(), field::DST_ADDR).unwrap_or_default()
    }

    /// The header, options included.
    #[inline(always)]
    pub(crate) fn header(&self) -> &[u8] {
        self.bytes().get(..self.header_len()).unwrap_or_default()
    }

    /// Whether the header checksum verifies.
    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn verify_checksum(&self) -> bool {
        checksum::sum(self.header()) == 0xffff
    }

    /// Folded sum of the pseudo-header (RFC 793) for an L4 segment of `l4_len` bytes.
    #[inline(always)]
    pub(crate) fn pseudo_header_sum(&self, protocol: u8, l4_len: u16) -> u16 {
        checksum::pseudo_header_v4(&self.src_addr(), &self.dst_addr(), protocol, l4_len)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    #[inline(always)]
    pub(crate) fn set_total_len(&mut self, len: u16) {
        set_u16(self.bytes_mut(), field::LENGTH, len);
    }

    #[inline(always)]
    pub(crate) fn set_ident(&mut self, ident: u16) {
        set_u16(self.bytes_mut(), field::IDENT, ident);
    }

    #[inline(always)]
    pub(crate) fn set_checksum(&mut self, sum: u16) {
        set_u16(self.bytes_mut(), field::CHECKSUM, sum);
    }

    /// Computes and stores the header checksum.
    #[inline(always)]
    pub(crate) fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::checksum(0, self.header());
        self.set_checksum(sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 20-byte header plus one option word, TCP, 10.0.0.1 -> 10.0.0.2, DF, checksum filled in.
    fn sample() -> Vec<u8> {
        let mut p = vec![
            0x46, 0x02, 0, 28, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 1, 1, 1,
            0,
        ];
        let c = !checksum::sum(&p);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p
    }

    #[test]
    fn fields() {
        let b = sample();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.dscp_ecn(), 2);
        assert_eq!(p.total_len(), 28);
        assert_eq!(p.ident(), 0x1234);
        assert_eq!(p.flags_frag_off(), FLAG_DF);
        assert!(!p.is_fragment());
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), 6);
        assert_eq!(p.src_addr(), [10, 0, 0, 1]);
        assert_eq!(p.dst_addr(), [10, 0, 0, 2]);
        assert_eq!(p.header(), &b[..24]);
        assert!(p.verify_checksum());
        for frag in [FLAG_MF, 1, FRAG_OFF_MASK] {
            let mut c = b.clone();
            c[6..8].copy_from_slice(&frag.to_be_bytes());
            assert!(
                Packet::new_checked(&c[..]).unwrap().is_fragment(),
                "{frag:x}"
            );
        }
    }

    #[test]
    fn setters() {
        let mut b = sample();
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_total_len(1500);
        p.set_ident(7);
        assert!(!p.verify_checksum());
        p.fill_checksum();
        assert!(p.verify_checksum());
        assert_eq!((p.total_len(), p.ident()), (1500, 7));
        assert_eq!(b[2..6], [0x05, 0xdc, 0, 7]);
    }

    #[test]
    fn check_len_refuses_short_or_bad_headers() {
        let b = sample();
        for n in 0..24 {
            assert_eq!(
                Packet::new_checked(&b[..n]).map(|_| ()),
                Err(Error::Truncated),
                "{n}"
            );
        }
        for ihl in 0..5 {
            let mut c = b.clone();
            c[0] = 0x40 | ihl;
            assert_eq!(
                Packet::new_checked(&c[..]).map(|_| ()),
                Err(Error::Malformed)
            );
        }
        let mut c = b.clone();
        c[0] = 0x4f;
        assert_eq!(
            Packet::new_checked(&c[..]).map(|_| ()),
            Err(Error::Truncated)
        );
        c.resize(60, 0);
        assert_eq!(Packet::new_checked(&c[..]).unwrap().header().len(), 60);
    }
}
