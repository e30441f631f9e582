//! Sealing and opening transport data messages (type 4) under session keys: the packet is
//! encrypted in place behind its 16-byte header, with the counter as nonce and no AAD (paper
//! §5.4.6: `AEAD(T_send, N_send, P, ε)`).
//!
//! Replay checking and counter allocation belong to the session that holds the keys; these two
//! functions only do the cryptography and the header.

use super::consts::{KEY_LEN, TAG_LEN};
use super::crypto::AuthError;
use super::messages::{KEEPALIVE_LEN, TRANSPORT_HEADER_LEN, Transport, transport_header};
use crate::core::aead;

/// The buffer cannot hold a header and a tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferTooShort;

/// Seals a transport message in `datagram`, laid out as `header space (16) ‖ packet ‖ tag space
/// (16)`: writes the header for `receiver_index` and `counter`, encrypts the packet in place and
/// writes the tag. The caller guarantees `counter` was never used under `key`.
pub fn seal(
    key: &[u8; KEY_LEN],
    receiver_index: u32,
    counter: u64,
    datagram: &mut [u8],
) -> Result<(), BufferTooShort> {
    if datagram.len() < KEEPALIVE_LEN {
        return Err(BufferTooShort);
    }
    let (header, rest) = datagram.split_at_mut(TRANSPORT_HEADER_LEN);
    header.copy_from_slice(&transport_header(receiver_index, counter));
    let (packet, tag_space) = rest.split_at_mut(rest.len() - TAG_LEN);
    let tag = aead::seal_in_place(key, &aead::nonce_from_counter(counter), &[], packet);
    tag_space.copy_from_slice(&tag);
    Ok(())
}

/// Opens a checked transport message in place and returns the plaintext packet (empty for a
/// keepalive). On a bad tag the buffer is unchanged.
pub fn open<'a, T: AsRef<[u8]> + AsMut<[u8]>>(
    key: &[u8; KEY_LEN],
    message: &'a mut Transport<T>,
) -> Result<&'a mut [u8], AuthError> {
    let counter = message.counter();
    let sealed = message.sealed_packet_mut();
    let Some((packet, tag)) = sealed.split_last_chunk_mut::<TAG_LEN>() else {
        return Err(AuthError);
    };
    let tag = *tag;
    aead::open_in_place(key, &aead::nonce_from_counter(counter), &[], packet, &tag)?;
    Ok(packet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips_and_tampering_fails() {
        let key = [3u8; KEY_LEN];
        let payload = b"an IP packet, more or less";
        let mut datagram = vec![0u8; TRANSPORT_HEADER_LEN + payload.len() + TAG_LEN];
        datagram[TRANSPORT_HEADER_LEN..TRANSPORT_HEADER_LEN + payload.len()]
            .copy_from_slice(payload);
        seal(&key, 0x0102_0304, 77, &mut datagram).unwrap();
        assert_eq!(datagram[..8], [4, 0, 0, 0, 4, 3, 2, 1]);
        assert_eq!(datagram[8..16], 77u64.to_le_bytes());
        assert_ne!(&datagram[16..16 + payload.len()], payload);

        for index in 0..datagram.len() {
            let mut bad = datagram.clone();
            bad[index] ^= 0x10;
            let Ok(mut message) = Transport::new_checked(&mut bad[..]) else {
                continue; // type or reserved byte: not a transport message at all
            };
            // The receiver index is not authenticated by the tag, only used to find the key.
            if (4..8).contains(&index) {
                assert!(open(&key, &mut message).is_ok());
            } else {
                assert_eq!(open(&key, &mut message), Err(AuthError), "byte {index}");
            }
        }
        let mut message = Transport::new_checked(&mut datagram[..]).unwrap();
        assert_eq!(open(&[4u8; KEY_LEN], &mut message), Err(AuthError));
        assert_eq!(open(&key, &mut message).unwrap(), payload);
    }

    #[test]
    fn keepalive_is_a_tag_only() {
        let key = [9u8; KEY_LEN];
        let mut datagram = [0u8; KEEPALIVE_LEN];
        seal(&key, 1, 0, &mut datagram).unwrap();
        let mut message = Transport::new_checked(&mut datagram[..]).unwrap();
        assert_eq!(open(&key, &mut message).unwrap(), b"");
        assert_eq!(
            seal(&key, 1, 0, &mut [0u8; KEEPALIVE_LEN - 1]),
            Err(BufferTooShort)
        );
    }
}
