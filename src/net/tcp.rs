//! TCP header view (RFC 9293 §3.1).
//!
//! [`Packet::new_checked`] checks once that the header, options included, lies in the buffer;
//! after that no accessor can panic. The buffer is the TCP segment: header and payload.

use super::Error;
#[cfg(test)]
use super::bytes::u16_at;
use super::bytes::{Field, HEADER_WORD_LEN, set_u8, set_u16, set_u32, u8_at, u32_at};
use super::checksum;

/// Byte offsets of the fixed header.
pub(crate) mod field {
    use super::Field;

    pub(crate) const SRC_PORT: Field = 0..2;
    pub(crate) const DST_PORT: Field = 2..4;
    pub(crate) const SEQ_NUM: Field = 4..8;
    pub(crate) const ACK_NUM: Field = 8..12;
    /// Data offset (high nibble: header length in 32-bit words) and reserved bits.
    pub(crate) const DATA_OFF: usize = 12;
    pub(crate) const FLAGS: usize = 13;
    pub(crate) const WINDOW: Field = 14..16;
    pub(crate) const CHECKSUM: Field = 16..18;
    pub(crate) const URGENT: Field = 18..20;
}

/// Length of the header without options.
pub(crate) const HEADER_LEN: usize = field::URGENT.end;
/// The data offset is the high nibble of its byte.
const DATA_OFF_SHIFT: u32 = 4;
/// Length of the header with the most options the data offset can express.
#[cfg(test)]
pub(crate) const MAX_HEADER_LEN: usize = 60;

/// Bits of [`Packet::flags`].
pub(crate) mod flags {
    pub(crate) const FIN: u8 = 0x01;
    #[cfg(test)]
    pub(crate) const SYN: u8 = 0x02;
    #[cfg(test)]
    pub(crate) const RST: u8 = 0x04;
    pub(crate) const PSH: u8 = 0x08;
    pub(crate) const ACK: u8 = 0x10;
    #[cfg(test)]
    pub(crate) const URG: u8 = 0x20;
    pub(crate) const CWR: u8 = 0x80;
}

header_view!(
    mut
    /// A read/write view of a TCP segment.
);

impl<T: AsRef<[u8]>> Packet<T> {
    /// `Truncated` if the buffer is shorter than the fixed header or than the data offset says,
    /// `Malformed` if the data offset is below the fixed header's 20 bytes.
    #[inline(always)]
    pub(crate) fn check_len(&self) -> Result<(), Error> {
        super::check_header_len(self.buffer.as_ref().len(), HEADER_LEN, || self.header_len())
    }

    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn src_port(&self) -> u16 {
        u16_at(self.bytes(), field::SRC_PORT)
    }

    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn dst_port(&self) -> u16 {
        u16_at(self.bytes(), field::DST_PORT)
    }

    #[inline(always)]
    pub(crate) fn seq_number(&self) -> u32 {
        u32_at(self.bytes(), field::SEQ_NUM)
    }

    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn ack_number(&self) -> u32 {
        u32_at(self.bytes(), field::ACK_NUM)
    }

    /// Header length in bytes, options included (data offset * 4).
    #[inline(always)]
    pub(crate) fn header_len(&self) -> usize {
        usize::from(u8_at(self.bytes(), field::DATA_OFF) >> DATA_OFF_SHIFT) * HEADER_WORD_LEN
    }

    /// The flag bits (see [`flags`]).
    #[inline(always)]
    pub(crate) fn flags(&self) -> u8 {
        u8_at(self.bytes(), field::FLAGS)
    }

    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn window(&self) -> u16 {
        u16_at(self.bytes(), field::WINDOW)
    }

    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn checksum(&self) -> u16 {
        u16_at(self.bytes(), field::CHECKSUM)
    }

    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn urgent(&self) -> u16 {
        u16_at(self.bytes(), field::URGENT)
    }

    /// The option bytes (between the fixed header and the data offset).
    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn options(&self) -> &[u8] {
        self.bytes()
            .get(HEADER_LEN..self.header_len())
            .unwrap_or_default()
    }

    /// The bytes after the header.
    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn payload(&self) -> &[u8] {
        self.bytes().get(self.header_len()..).unwrap_or_default()
    }

    /// The whole segment, header and payload: what the checksum covers.
    #[inline(always)]
    #[cfg(test)]
    pub(crate) fn segment(&self) -> &[u8] {
        self.bytes()
    }

    /// Whether the checksum verifies, given the folded pseudo-header sum.
    #[inline(always)]
    pub(crate) fn verify_checksum(&self, pseudo_header: u16) -> bool {
        checksum::add(pseudo_header, checksum::sum(self.bytes())) == checksum::ALL_ONES
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    #[inline(always)]
    pub(crate) fn set_seq_number(&mut self, seq: u32) {
        set_u32(self.bytes_mut(), field::SEQ_NUM, seq);
    }

    #[inline(always)]
    pub(crate) fn set_flags(&mut self, flags: u8) {
        set_u8(self.bytes_mut(), field::FLAGS, flags);
    }

    #[inline(always)]
    pub(crate) fn set_checksum(&mut self, sum: u16) {
        set_u16(self.bytes_mut(), field::CHECKSUM, sum);
    }

    /// Computes and stores the checksum over the whole segment, given the folded pseudo-header
    /// sum.
    #[inline(always)]
    pub(crate) fn fill_checksum(&mut self, pseudo_header: u16) {
        self.set_checksum(0);
        let sum = checksum::checksum(pseudo_header, self.bytes());
        self.set_checksum(sum);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ports 4000 -> 443, seq 0x01020304, ack 77, header 24 bytes (one option word), ACK|PSH,
    /// window 500, urgent 9, then "hi".
    fn sample() -> Vec<u8> {
        vec![
            0x0f, 0xa0, 0x01, 0xbb, 1, 2, 3, 4, 0, 0, 0, 77, 0x60, 0x18, 0x01, 0xf4, 0xab, 0xcd, 0,
            9, 1, 1, 1, 0, b'h', b'i',
        ]
    }

    #[test]
    fn fields() {
        let b = sample();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (4000, 443));
        assert_eq!(p.seq_number(), 0x0102_0304);
        assert_eq!(p.ack_number(), 77);
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.flags(), flags::ACK | flags::PSH);
        assert_eq!(p.window(), 500);
        assert_eq!(p.checksum(), 0xabcd);
        assert_eq!(p.urgent(), 9);
        assert_eq!(p.options(), &[1, 1, 1, 0]);
        assert_eq!(p.payload(), b"hi");
        assert_eq!(p.segment(), &b[..]);
    }

    #[test]
    fn setters_and_checksum() {
        let mut b = sample();
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_seq_number(9);
        p.set_flags(flags::FIN);
        p.fill_checksum(0x1234);
        assert!(p.verify_checksum(0x1234));
        assert!(!p.verify_checksum(0x1235));
        assert_eq!((p.seq_number(), p.flags()), (9, flags::FIN));
        assert_eq!(b[4..8], [0, 0, 0, 9]);
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
        for off in 0..5 {
            let mut c = b.clone();
            c[12] = off << 4;
            assert_eq!(
                Packet::new_checked(&c[..]).map(|_| ()),
                Err(Error::Malformed)
            );
        }
        let mut c = b.clone();
        c[12] = 0xf0;
        assert_eq!(
            Packet::new_checked(&c[..]).map(|_| ()),
            Err(Error::Truncated)
        );
        c.resize(MAX_HEADER_LEN, 0);
        let p = Packet::new_checked(&c[..]).unwrap();
        assert_eq!((p.options().len(), p.payload().len()), (40, 0));
    }
}
