//! WireGuard's transport data message (type 4), as a view over the datagram's bytes.
//!
//! `type(1)=4 | reserved(3)=0 | receiver_index(4, LE) | counter(8, LE) | ciphertext(n) | tag(16)`.
//! The 16-byte header is not authenticated by the AEAD (WireGuard seals with empty associated data):
//! a forged receiver index finds no session or the wrong key, and a forged counter is the nonce, so
//! both make the tag check fail.

use super::stats::DropReason;

/// Message type byte of transport data.
pub const MESSAGE_TYPE_DATA: u8 = 4;
/// Header before the ciphertext.
pub const HEADER_LEN: usize = 16;
/// Poly1305 tag after the ciphertext.
pub const TAG_LEN: usize = 16;
/// A keepalive: an empty payload, header and tag only. The shortest valid data message.
pub const KEEPALIVE_LEN: usize = HEADER_LEN + TAG_LEN;

mod field {
    use core::ops::{Range, RangeFrom};
    pub const TYPE: usize = 0;
    pub const RESERVED: Range<usize> = 1..4;
    pub const RECEIVER_INDEX: Range<usize> = 4..8;
    pub const COUNTER: Range<usize> = 8..16;
    /// Ciphertext then tag.
    pub const BODY: RangeFrom<usize> = 16..;
}

/// A checked transport data message: after [`DataMessage::new_checked`] no accessor can panic.
#[derive(Debug)]
pub struct DataMessage<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> DataMessage<T> {
    /// Accepts `buffer` if it is long enough for a header and a tag, has type 4 and zero reserved
    /// bytes (the kernel compares the whole first word with 4).
    pub fn new_checked(buffer: T) -> Result<Self, DropReason> {
        let bytes = buffer.as_ref();
        if bytes.len() < KEEPALIVE_LEN
            || bytes[field::TYPE] != MESSAGE_TYPE_DATA
            || bytes[field::RESERVED] != [0, 0, 0]
        {
            return Err(DropReason::Malformed);
        }
        Ok(DataMessage { buffer })
    }

    pub fn receiver_index(&self) -> u32 {
        let mut word = [0u8; 4];
        word.copy_from_slice(&self.buffer.as_ref()[field::RECEIVER_INDEX]);
        u32::from_le_bytes(word)
    }

    pub fn counter(&self) -> u64 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.buffer.as_ref()[field::COUNTER]);
        u64::from_le_bytes(word)
    }

    /// Length of the plaintext inside (the body without the tag).
    pub fn plaintext_len(&self) -> usize {
        self.buffer.as_ref().len() - KEEPALIVE_LEN
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> DataMessage<T> {
    /// Ciphertext followed by the tag, for opening in place.
    pub fn body_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::BODY]
    }
}

/// Writes a data message header into `header`.
pub fn emit_header(header: &mut [u8; HEADER_LEN], receiver_index: u32, counter: u64) {
    header[field::TYPE] = MESSAGE_TYPE_DATA;
    header[field::RESERVED].fill(0);
    header[field::RECEIVER_INDEX].copy_from_slice(&receiver_index.to_le_bytes());
    header[field::COUNTER].copy_from_slice(&counter.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_layout() {
        let mut message = [0xeeu8; KEEPALIVE_LEN + 3];
        let header: &mut [u8; HEADER_LEN] = (&mut message[..HEADER_LEN]).try_into().unwrap();
        emit_header(header, 0x0403_0201, 0x0c0b_0a09_0807_0605);
        assert_eq!(
            message[..HEADER_LEN],
            [4, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
        );
        let view = DataMessage::new_checked(&message[..]).unwrap();
        assert_eq!(view.receiver_index(), 0x0403_0201);
        assert_eq!(view.counter(), 0x0c0b_0a09_0807_0605);
        assert_eq!(view.plaintext_len(), 3);
    }

    #[test]
    fn rejects_short_wrong_type_and_reserved() {
        let mut message = [0u8; KEEPALIVE_LEN];
        message[0] = MESSAGE_TYPE_DATA;
        assert!(DataMessage::new_checked(&message[..]).is_ok());
        for len in 0..KEEPALIVE_LEN {
            assert_eq!(
                DataMessage::new_checked(&message[..len]).unwrap_err(),
                DropReason::Malformed,
                "len {len}"
            );
        }
        for msg_type in [0u8, 1, 2, 3, 5, 0xff] {
            let mut bad = message;
            bad[0] = msg_type;
            assert!(
                DataMessage::new_checked(&bad[..]).is_err(),
                "type {msg_type}"
            );
        }
        for at in 1..4 {
            let mut bad = message;
            bad[at] = 1;
            assert!(DataMessage::new_checked(&bad[..]).is_err(), "reserved {at}");
        }
    }
}
