//! Byte layouts of WireGuard's four message types (paper §5.4), as views over a datagram in the
//! smoltcp style: a table of field ranges, one check when the view is made (`new_checked`: exact
//! length, type, reserved bytes zero), then accessors that cannot panic.
//!
//! Every message starts with `type(1) ‖ reserved(3) = 0`; integers are little-endian, except the
//! TAI64N timestamp inside the sealed `timestamp` field (big-endian, see [`super::tai64n`]).
//! Lengths are exact for the three handshake messages; a datagram one byte longer or shorter is
//! not that message. `‖` is concatenation; `AEAD(…)` fields hold ciphertext then the 16-byte tag.
//!
//! Handshake initiation (type 1), 148 bytes, initiator → responder:
//! ```text
//!   0  type = 1        1  reserved = 0 (3)
//!   4  sender_index    le32, the initiator's index for this handshake
//!   8  ephemeral       32  E_pub_i, unencrypted
//!  40  static          48  AEAD(S_pub_i): 32 + tag
//!  88  timestamp       28  AEAD(TAI64N): 12 + tag
//! 116  mac1            16  MAC(HASH("mac1----" ‖ S_pub_r), bytes 0..116)
//! 132  mac2            16  MAC(cookie, bytes 0..132), or zero without a cookie
//! ```
//! Handshake response (type 2), 92 bytes, responder → initiator:
//! ```text
//!   0  type = 2        1  reserved = 0 (3)
//!   4  sender_index    le32, the responder's index
//!   8  receiver_index  le32, the initiation's sender_index
//!  12  ephemeral       32  E_pub_r
//!  44  empty           16  AEAD(empty): the tag alone
//!  60  mac1            16  MAC(HASH("mac1----" ‖ S_pub_i), bytes 0..60)
//!  76  mac2            16  MAC(cookie, bytes 0..76), or zero
//! ```
//! Cookie reply (type 3), 64 bytes, the answer to an initiation or response under load:
//! ```text
//!   0  type = 3        1  reserved = 0 (3)
//!   4  receiver_index  le32, the sender_index of the message answered
//!   8  nonce           24  random
//!  32  cookie          32  XAEAD(HASH("cookie--" ‖ S_pub_sender), nonce, cookie(16), aad = mac1)
//! ```
//! Transport data (type 4), 32 bytes or more:
//! ```text
//!   0  type = 4        1  reserved = 0 (3)
//!   4  receiver_index  le32, the receiving session's index
//!   8  counter         le64, the AEAD nonce, never repeated under a key
//!  16  packet          AEAD(key, counter, IP packet, aad = empty): n + 16; n = 0 is a keepalive
//! ```

use core::ops::Range;

use super::consts::{KEY_LEN, MAC_LEN, TAG_LEN, TIMESTAMP_LEN, XNONCE_LEN};

pub const MSG_INITIATION: u8 = 1;
pub const MSG_RESPONSE: u8 = 2;
pub(crate) const MSG_COOKIE_REPLY: u8 = 3;
pub const MSG_TRANSPORT: u8 = 4;

pub const INITIATION_LEN: usize = 148;
pub const RESPONSE_LEN: usize = 92;
pub const COOKIE_REPLY_LEN: usize = 64;
/// Bytes before the sealed packet of a transport message.
pub const TRANSPORT_HEADER_LEN: usize = 16;
/// The shortest transport message: a keepalive (empty packet, tag only).
pub const KEEPALIVE_LEN: usize = TRANSPORT_HEADER_LEN + TAG_LEN;

/// A byte range within a message.
pub(crate) type Field = Range<usize>;

/// The field tables. Offsets as in the module documentation; the `const` checks below prove each
/// table tiles its message exactly, so an accessor's range is always in bounds once the length is.
pub mod field {
    use super::Field;

    pub(crate) const TYPE: usize = 0;
    pub const RESERVED: Field = 1..4;

    pub mod initiation {
        use super::Field;
        pub const SENDER: Field = 4..8;
        pub const EPHEMERAL: Field = 8..40;
        pub(crate) const STATIC: Field = 40..88;
        pub const TIMESTAMP: Field = 88..116;
        pub const MAC1: Field = 116..132;
        pub(crate) const MAC2: Field = 132..148;
    }

    pub mod response {
        use super::Field;
        pub const SENDER: Field = 4..8;
        pub const RECEIVER: Field = 8..12;
        pub(crate) const EPHEMERAL: Field = 12..44;
        pub const EMPTY: Field = 44..60;
        pub const MAC1: Field = 60..76;
        pub(crate) const MAC2: Field = 76..92;
    }

    pub(crate) mod cookie_reply {
        use super::Field;
        pub(crate) const RECEIVER: Field = 4..8;
        pub(crate) const NONCE: Field = 8..32;
        pub(crate) const COOKIE: Field = 32..64;
    }

    pub(crate) mod transport {
        use super::Field;
        pub(crate) const RECEIVER: Field = 4..8;
        pub(crate) const COUNTER: Field = 8..16;
        /// From here to the end of the datagram.
        pub(crate) const PACKET_START: usize = 16;
    }
}

/// Whether `fields` follow each other from byte 4 (after type and reserved) to `len`, each with the
/// length of its contents.
const fn tiles(fields: &[(&Field, usize)], len: usize) -> bool {
    let mut at = field::RESERVED.end;
    let mut i = 0;
    while i < fields.len() {
        let (range, size) = fields[i];
        if range.start != at || range.end != at + size {
            return false;
        }
        at = range.end;
        i += 1;
    }
    at == len
}

/// A sender or receiver index: a little-endian u32.
const INDEX_LEN: usize = size_of::<u32>();

const _: () = {
    use field::{cookie_reply as c, initiation as i, response as r, transport as t};
    assert!(tiles(
        &[
            (&i::SENDER, INDEX_LEN),
            (&i::EPHEMERAL, KEY_LEN),
            (&i::STATIC, KEY_LEN + TAG_LEN),
            (&i::TIMESTAMP, TIMESTAMP_LEN + TAG_LEN),
            (&i::MAC1, MAC_LEN),
            (&i::MAC2, MAC_LEN),
        ],
        INITIATION_LEN
    ));
    assert!(tiles(
        &[
            (&r::SENDER, INDEX_LEN),
            (&r::RECEIVER, INDEX_LEN),
            (&r::EPHEMERAL, KEY_LEN),
            (&r::EMPTY, TAG_LEN),
            (&r::MAC1, MAC_LEN),
            (&r::MAC2, MAC_LEN),
        ],
        RESPONSE_LEN
    ));
    assert!(tiles(
        &[
            (&c::RECEIVER, INDEX_LEN),
            (&c::NONCE, XNONCE_LEN),
            (&c::COOKIE, MAC_LEN + TAG_LEN),
        ],
        COOKIE_REPLY_LEN
    ));
    assert!(tiles(
        &[(&t::RECEIVER, INDEX_LEN), (&t::COUNTER, size_of::<u64>())],
        TRANSPORT_HEADER_LEN
    ));
    assert!(t::PACKET_START == TRANSPORT_HEADER_LEN);
};

/// Why a datagram is not a well-formed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageError {
    Empty,
    UnknownType(u8),
    /// The length is not the type's (exact for handshake messages, at least 32 for transport).
    BadLength {
        msg_type: u8,
        len: usize,
    },
    ReservedNotZero,
    /// A well-formed message of another type than the view reads.
    UnexpectedType(u8),
}

/// The four message types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MessageType {
    Initiation,
    Response,
    CookieReply,
    Transport,
}

/// Classifies a datagram by its type byte, checking length and reserved bytes as the matching
/// view's `new_checked` does.
pub(crate) fn classify(datagram: &[u8]) -> Result<MessageType, MessageError> {
    let msg_type = *datagram.first().ok_or(MessageError::Empty)?;
    let len = datagram.len();
    let (kind, length_ok) = match msg_type {
        MSG_INITIATION => (MessageType::Initiation, len == INITIATION_LEN),
        MSG_RESPONSE => (MessageType::Response, len == RESPONSE_LEN),
        MSG_COOKIE_REPLY => (MessageType::CookieReply, len == COOKIE_REPLY_LEN),
        MSG_TRANSPORT => (MessageType::Transport, len >= KEEPALIVE_LEN),
        other => return Err(MessageError::UnknownType(other)),
    };
    if !length_ok {
        return Err(MessageError::BadLength { msg_type, len });
    }
    match datagram.get(field::RESERVED) {
        Some([0, 0, 0]) => Ok(kind),
        _ => Err(MessageError::ReservedNotZero),
    }
}

/// Checks that `datagram` is a message of type `expected`.
fn check(datagram: &[u8], expected: MessageType) -> Result<(), MessageError> {
    let kind = classify(datagram)?;
    if kind != expected {
        return Err(MessageError::UnexpectedType(
            datagram.first().copied().unwrap_or(0),
        ));
    }
    Ok(())
}

/// `bytes[field]` copied out. Callers pass a field of the checked message's table, which is in
/// bounds and `N` long; nothing here can panic whatever the input.
fn read<const N: usize>(bytes: &[u8], field: Field) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(source) = bytes.get(field) {
        for (to, from) in out.iter_mut().zip(source) {
            *to = *from;
        }
    }
    out
}

fn read_u32(bytes: &[u8], field: Field) -> u32 {
    u32::from_le_bytes(read(bytes, field))
}

/// Writes `value` into `bytes[field]` (same panic-free reasoning as [`read`]).
fn write(bytes: &mut [u8], field: Field, value: &[u8]) {
    if let Some(target) = bytes.get_mut(field) {
        for (to, from) in target.iter_mut().zip(value) {
            *to = *from;
        }
    }
}

/// Zeroes `buf` and writes the type byte: a blank message that satisfies its view's invariant.
fn blank(buf: &mut [u8], msg_type: u8) {
    buf.fill(0);
    write(buf, field::TYPE..field::TYPE + 1, &[msg_type]);
}

/// An initiation or a response: a message that ends with `mac1(16) ‖ mac2(16)`, where mac1 covers
/// every byte before it and mac2 every byte before mac2.
pub trait HandshakeMessage {
    fn as_bytes(&self) -> &[u8];
    /// The sender's index, which a cookie reply to this message is addressed to.
    fn sender_index(&self) -> u32;
}

/// A handshake message being written.
pub trait HandshakeMessageMut: HandshakeMessage {
    fn as_bytes_mut(&mut self) -> &mut [u8];
}

macro_rules! view {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $msg_type:expr, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name<T> {
            buffer: T,
        }

        impl<T: AsRef<[u8]>> $name<T> {
            /// Wraps `buffer` if it is a well-formed message of this type (exact length, type byte,
            /// zero reserved bytes).
            pub fn new_checked(buffer: T) -> Result<Self, MessageError> {
                check(buffer.as_ref(), $kind)?;
                Ok(Self { buffer })
            }

            pub(crate) fn as_bytes(&self) -> &[u8] {
                self.buffer.as_ref()
            }
        }

        impl<'a> $name<&'a mut [u8]> {
            /// A blank message (type set, all else zero) over the caller's buffer, to be filled.
            pub(crate) fn new_zeroed(buf: &'a mut [u8; $len]) -> Self {
                blank(buf, $msg_type);
                Self { buffer: &mut buf[..] }
            }
        }
    };
}

view!(
    /// A handshake initiation (type 1, 148 bytes).
    Initiation,
    MessageType::Initiation,
    MSG_INITIATION,
    INITIATION_LEN
);
view!(
    /// A handshake response (type 2, 92 bytes).
    Response,
    MessageType::Response,
    MSG_RESPONSE,
    RESPONSE_LEN
);
view!(
    /// A cookie reply (type 3, 64 bytes).
    CookieReply,
    MessageType::CookieReply,
    MSG_COOKIE_REPLY,
    COOKIE_REPLY_LEN
);

impl<T: AsRef<[u8]>> Initiation<T> {
    pub(crate) fn sender_index(&self) -> u32 {
        read_u32(self.as_bytes(), field::initiation::SENDER)
    }
    pub(crate) fn ephemeral(&self) -> [u8; KEY_LEN] {
        read(self.as_bytes(), field::initiation::EPHEMERAL)
    }
    pub(crate) fn encrypted_static(&self) -> [u8; KEY_LEN + TAG_LEN] {
        read(self.as_bytes(), field::initiation::STATIC)
    }
    pub(crate) fn encrypted_timestamp(&self) -> [u8; TIMESTAMP_LEN + TAG_LEN] {
        read(self.as_bytes(), field::initiation::TIMESTAMP)
    }
    #[cfg(test)]
    pub(crate) fn mac1(&self) -> [u8; MAC_LEN] {
        read(self.as_bytes(), field::initiation::MAC1)
    }
    #[cfg(test)]
    pub(crate) fn mac2(&self) -> [u8; MAC_LEN] {
        read(self.as_bytes(), field::initiation::MAC2)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Initiation<T> {
    pub(crate) fn set_sender_index(&mut self, index: u32) {
        write(
            self.buffer.as_mut(),
            field::initiation::SENDER,
            &index.to_le_bytes(),
        );
    }
    pub(crate) fn set_ephemeral(&mut self, key: &[u8; KEY_LEN]) {
        write(self.buffer.as_mut(), field::initiation::EPHEMERAL, key);
    }
    pub(crate) fn set_encrypted_static(&mut self, sealed: &[u8; KEY_LEN + TAG_LEN]) {
        write(self.buffer.as_mut(), field::initiation::STATIC, sealed);
    }
    pub(crate) fn set_encrypted_timestamp(&mut self, sealed: &[u8; TIMESTAMP_LEN + TAG_LEN]) {
        write(self.buffer.as_mut(), field::initiation::TIMESTAMP, sealed);
    }
}

impl<T: AsRef<[u8]>> Response<T> {
    pub(crate) fn sender_index(&self) -> u32 {
        read_u32(self.as_bytes(), field::response::SENDER)
    }
    pub(crate) fn receiver_index(&self) -> u32 {
        read_u32(self.as_bytes(), field::response::RECEIVER)
    }
    pub(crate) fn ephemeral(&self) -> [u8; KEY_LEN] {
        read(self.as_bytes(), field::response::EPHEMERAL)
    }
    pub(crate) fn encrypted_nothing(&self) -> [u8; TAG_LEN] {
        read(self.as_bytes(), field::response::EMPTY)
    }
    #[cfg(test)]
    pub(crate) fn mac1(&self) -> [u8; MAC_LEN] {
        read(self.as_bytes(), field::response::MAC1)
    }
    #[cfg(test)]
    pub(crate) fn mac2(&self) -> [u8; MAC_LEN] {
        read(self.as_bytes(), field::response::MAC2)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Response<T> {
    pub(crate) fn set_sender_index(&mut self, index: u32) {
        write(
            self.buffer.as_mut(),
            field::response::SENDER,
            &index.to_le_bytes(),
        );
    }
    pub(crate) fn set_receiver_index(&mut self, index: u32) {
        write(
            self.buffer.as_mut(),
            field::response::RECEIVER,
            &index.to_le_bytes(),
        );
    }
    pub(crate) fn set_ephemeral(&mut self, key: &[u8; KEY_LEN]) {
        write(self.buffer.as_mut(), field::response::EPHEMERAL, key);
    }
    pub(crate) fn set_encrypted_nothing(&mut self, tag: &[u8; TAG_LEN]) {
        write(self.buffer.as_mut(), field::response::EMPTY, tag);
    }
}

impl<T: AsRef<[u8]>> CookieReply<T> {
    pub(crate) fn receiver_index(&self) -> u32 {
        read_u32(self.as_bytes(), field::cookie_reply::RECEIVER)
    }
    pub(crate) fn nonce(&self) -> [u8; XNONCE_LEN] {
        read(self.as_bytes(), field::cookie_reply::NONCE)
    }
    pub(crate) fn encrypted_cookie(&self) -> [u8; MAC_LEN + TAG_LEN] {
        read(self.as_bytes(), field::cookie_reply::COOKIE)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> CookieReply<T> {
    pub(crate) fn set_receiver_index(&mut self, index: u32) {
        write(
            self.buffer.as_mut(),
            field::cookie_reply::RECEIVER,
            &index.to_le_bytes(),
        );
    }
    pub(crate) fn set_nonce(&mut self, nonce: &[u8; XNONCE_LEN]) {
        write(self.buffer.as_mut(), field::cookie_reply::NONCE, nonce);
    }
    pub(crate) fn set_encrypted_cookie(&mut self, sealed: &[u8; MAC_LEN + TAG_LEN]) {
        write(self.buffer.as_mut(), field::cookie_reply::COOKIE, sealed);
    }
}

impl<T: AsRef<[u8]>> HandshakeMessage for Initiation<T> {
    fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    fn sender_index(&self) -> u32 {
        Initiation::sender_index(self)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> HandshakeMessageMut for Initiation<T> {
    fn as_bytes_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }
}

impl<T: AsRef<[u8]>> HandshakeMessage for Response<T> {
    fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    fn sender_index(&self) -> u32 {
        Response::sender_index(self)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> HandshakeMessageMut for Response<T> {
    fn as_bytes_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }
}

/// A transport data message (type 4): the 16-byte header, then the sealed packet and its tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transport<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Transport<T> {
    /// Wraps `buffer` if it is a transport message: type 4, zero reserved bytes, at least 32 bytes.
    pub fn new_checked(buffer: T) -> Result<Self, MessageError> {
        check(buffer.as_ref(), MessageType::Transport)?;
        Ok(Self { buffer })
    }
    pub fn receiver_index(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::transport::RECEIVER)
    }
    pub fn counter(&self) -> u64 {
        u64::from_le_bytes(read(self.buffer.as_ref(), field::transport::COUNTER))
    }
    /// The sealed packet: ciphertext then the 16-byte tag (at least the tag).
    pub fn sealed_packet(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(field::transport::PACKET_START..)
            .unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Transport<T> {
    pub(crate) fn sealed_packet_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(field::transport::PACKET_START..)
            .unwrap_or(&mut [])
    }
}

/// The 16-byte transport header for `receiver_index` and `counter`.
pub(crate) fn transport_header(receiver_index: u32, counter: u64) -> [u8; TRANSPORT_HEADER_LEN] {
    let mut header = [0u8; TRANSPORT_HEADER_LEN];
    header[field::TYPE] = MSG_TRANSPORT;
    write(
        &mut header,
        field::transport::RECEIVER,
        &receiver_index.to_le_bytes(),
    );
    write(
        &mut header,
        field::transport::COUNTER,
        &counter.to_le_bytes(),
    );
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distinct byte values per position, so a field read from the wrong offset shows.
    fn numbered<const N: usize>(msg_type: u8) -> [u8; N] {
        let mut bytes: [u8; N] = core::array::from_fn(|i| i as u8);
        bytes[0] = msg_type;
        bytes[1..4].fill(0);
        bytes
    }

    fn expected<const N: usize>(bytes: &[u8], field: Field) -> [u8; N] {
        bytes[field].try_into().unwrap()
    }

    #[test]
    fn initiation_fields_at_their_offsets() {
        let bytes = numbered::<INITIATION_LEN>(MSG_INITIATION);
        let view = Initiation::new_checked(&bytes[..]).unwrap();
        assert_eq!(view.sender_index(), u32::from_le_bytes([4, 5, 6, 7]));
        assert_eq!(view.ephemeral()[0], 8);
        assert_eq!(view.ephemeral(), expected(&bytes, 8..40));
        assert_eq!(view.encrypted_static(), expected(&bytes, 40..88));
        assert_eq!(view.encrypted_timestamp(), expected(&bytes, 88..116));
        assert_eq!(view.mac1(), expected(&bytes, 116..132));
        assert_eq!(view.mac2(), expected(&bytes, 132..148));
    }

    #[test]
    fn response_fields_at_their_offsets() {
        let bytes = numbered::<RESPONSE_LEN>(MSG_RESPONSE);
        let view = Response::new_checked(&bytes[..]).unwrap();
        assert_eq!(view.sender_index(), u32::from_le_bytes([4, 5, 6, 7]));
        assert_eq!(view.receiver_index(), u32::from_le_bytes([8, 9, 10, 11]));
        assert_eq!(view.ephemeral(), expected(&bytes, 12..44));
        assert_eq!(view.encrypted_nothing(), expected(&bytes, 44..60));
        assert_eq!(view.mac1(), expected(&bytes, 60..76));
        assert_eq!(view.mac2(), expected(&bytes, 76..92));
    }

    #[test]
    fn cookie_reply_and_transport_fields_at_their_offsets() {
        let bytes = numbered::<COOKIE_REPLY_LEN>(MSG_COOKIE_REPLY);
        let view = CookieReply::new_checked(&bytes[..]).unwrap();
        assert_eq!(view.receiver_index(), u32::from_le_bytes([4, 5, 6, 7]));
        assert_eq!(view.nonce(), expected(&bytes, 8..32));
        assert_eq!(view.encrypted_cookie(), expected(&bytes, 32..64));

        let bytes = numbered::<40>(MSG_TRANSPORT);
        let view = Transport::new_checked(&bytes[..]).unwrap();
        assert_eq!(view.receiver_index(), u32::from_le_bytes([4, 5, 6, 7]));
        assert_eq!(
            view.counter(),
            u64::from_le_bytes([8, 9, 10, 11, 12, 13, 14, 15])
        );
        assert_eq!(view.sealed_packet(), &bytes[16..]);
        assert_eq!(transport_header(0x0706_0504, view.counter()), bytes[..16]);
    }

    #[test]
    fn writers_round_trip_through_readers() {
        let mut buf = [0xffu8; INITIATION_LEN];
        let mut view = Initiation::new_zeroed(&mut buf);
        view.set_sender_index(0xdead_beef);
        view.set_ephemeral(&[1; 32]);
        view.set_encrypted_static(&[2; 48]);
        view.set_encrypted_timestamp(&[3; 28]);
        let view = Initiation::new_checked(&buf[..]).unwrap();
        assert_eq!(view.sender_index(), 0xdead_beef);
        assert_eq!(view.ephemeral(), [1; 32]);
        assert_eq!(view.encrypted_static(), [2; 48]);
        assert_eq!(view.encrypted_timestamp(), [3; 28]);
        assert_eq!(view.mac1(), [0; 16]);
        assert_eq!(view.mac2(), [0; 16]);
        assert_eq!(buf[..8], [1, 0, 0, 0, 0xef, 0xbe, 0xad, 0xde]);

        let mut buf = [0xffu8; RESPONSE_LEN];
        let mut view = Response::new_zeroed(&mut buf);
        view.set_sender_index(1);
        view.set_receiver_index(2);
        view.set_ephemeral(&[4; 32]);
        view.set_encrypted_nothing(&[5; 16]);
        let view = Response::new_checked(&buf[..]).unwrap();
        assert_eq!((view.sender_index(), view.receiver_index()), (1, 2));
        assert_eq!(view.ephemeral(), [4; 32]);
        assert_eq!(view.encrypted_nothing(), [5; 16]);
        assert_eq!(buf[..4], [2, 0, 0, 0]);

        let mut buf = [0xffu8; COOKIE_REPLY_LEN];
        let mut view = CookieReply::new_zeroed(&mut buf);
        view.set_receiver_index(9);
        view.set_nonce(&[6; 24]);
        view.set_encrypted_cookie(&[7; 32]);
        let view = CookieReply::new_checked(&buf[..]).unwrap();
        assert_eq!(view.receiver_index(), 9);
        assert_eq!(view.nonce(), [6; 24]);
        assert_eq!(view.encrypted_cookie(), [7; 32]);
    }

    #[test]
    fn exact_lengths_types_and_reserved_are_enforced() {
        let cases: [(u8, usize, bool); 4] = [
            (MSG_INITIATION, INITIATION_LEN, true),
            (MSG_RESPONSE, RESPONSE_LEN, true),
            (MSG_COOKIE_REPLY, COOKIE_REPLY_LEN, true),
            (MSG_TRANSPORT, KEEPALIVE_LEN, false),
        ];
        for (msg_type, len, exact) in cases {
            for try_len in 0..200usize {
                let mut bytes = vec![0u8; try_len];
                if let Some(first) = bytes.first_mut() {
                    *first = msg_type;
                }
                let ok = if exact {
                    try_len == len
                } else {
                    try_len >= len
                };
                assert_eq!(
                    classify(&bytes).is_ok(),
                    ok,
                    "type {msg_type} len {try_len}"
                );
                if try_len > 0 && !ok {
                    assert_eq!(
                        classify(&bytes),
                        Err(MessageError::BadLength {
                            msg_type,
                            len: try_len
                        })
                    );
                }
            }
            let mut bytes = vec![0u8; len];
            bytes[0] = msg_type;
            for reserved in 1..4 {
                let mut bad = bytes.clone();
                bad[reserved] = 1;
                assert_eq!(classify(&bad), Err(MessageError::ReservedNotZero));
            }
        }
        assert_eq!(classify(&[]), Err(MessageError::Empty));
        assert_eq!(classify(&[0; 148]), Err(MessageError::UnknownType(0)));
        assert_eq!(classify(&[5; 148]), Err(MessageError::UnknownType(5)));
        // A view refuses another type's message.
        let mut response = [0u8; RESPONSE_LEN];
        response[0] = MSG_RESPONSE;
        assert!(Response::new_checked(&response[..]).is_ok());
        assert!(Initiation::new_checked(&response[..]).is_err());
        assert!(CookieReply::new_checked(&response[..]).is_err());
        assert!(Transport::new_checked(&response[..]).is_err());
    }

    #[test]
    fn every_prefix_of_every_message_is_rejected_without_panic() {
        let messages: [Vec<u8>; 3] = [
            numbered::<INITIATION_LEN>(MSG_INITIATION).to_vec(),
            numbered::<RESPONSE_LEN>(MSG_RESPONSE).to_vec(),
            numbered::<COOKIE_REPLY_LEN>(MSG_COOKIE_REPLY).to_vec(),
        ];
        for message in messages {
            for cut in 0..message.len() {
                assert!(classify(&message[..cut]).is_err());
                assert!(Initiation::new_checked(&message[..cut]).is_err());
                assert!(Response::new_checked(&message[..cut]).is_err());
                assert!(CookieReply::new_checked(&message[..cut]).is_err());
            }
        }
    }
}
