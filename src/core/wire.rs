//! Byte layouts of the three message types (see `docs/PROTOCOL.md`), parsed without copying.
//!
//! All integers are little-endian. Every length is checked before any field is read; a datagram of
//! the wrong size, with an unknown type or with non-zero reserved bytes is an error, never a panic.
//!
//! Transport data (`MSG_DATA`), 16-byte header then ciphertext then tag:
//! `type(1)=3 | reserved(3)=0 | receiver_index(4) | counter(8) | ciphertext(n) | tag(16)`.
//! The header is exactly 16 bytes so that, with 16 bytes of headroom before an IP packet, the packet
//! is sealed in place and, on receive, the decrypted packet is handed to the TUN device where it lies.

use core::net::{Ipv4Addr, Ipv6Addr};

pub const MSG_INITIATION: u8 = 1;
pub const MSG_RESPONSE: u8 = 2;
pub const MSG_DATA: u8 = 3;

/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;
/// Per-handshake random contribution of each side.
pub const RANDOM_LEN: usize = 32;

/// `type(1) | reserved(3) | receiver_index(4) | counter(8)`.
pub const DATA_HEADER_LEN: usize = 16;
/// A keepalive: a data message with an empty payload.
pub const KEEPALIVE_LEN: usize = DATA_HEADER_LEN + TAG_LEN;

/// `type(1) | reserved(3) | sender_index(4) | random(32) | sealed timestamp(8) | tag(16)`.
pub const INITIATION_LEN: usize = 64;
/// Bytes `0..40` of an initiation (everything before the sealed timestamp) are the AEAD's AAD.
pub const INITIATION_AAD_LEN: usize = 40;

/// Size of the encoded [`TunnelConfig`].
pub const TUNNEL_CONFIG_LEN: usize = 48;
/// `type(1) | reserved(3) | sender_index(4) | receiver_index(4) | random(32) | sealed config(48) | tag(16)`.
pub const RESPONSE_LEN: usize = 12 + RANDOM_LEN + TUNNEL_CONFIG_LEN + TAG_LEN;
/// Bytes `0..44` of a response (everything before the sealed config) are the AEAD's AAD.
pub const RESPONSE_AAD_LEN: usize = 44;

/// Why a datagram could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// Zero-length datagram.
    Empty,
    /// First byte is not a known message type.
    UnknownType(u8),
    /// The length does not fit the message type (initiation and response have exact sizes; data is at
    /// least `KEEPALIVE_LEN`).
    BadLength { msg_type: u8, len: usize },
    /// Reserved bytes that must be zero were not.
    ReservedNotZero,
    /// A tunnel config with an invalid field (prefix too long, MTU out of range, unknown flag).
    BadTunnelConfig,
}

/// A handshake initiation as fields. `sealed_timestamp` and `tag` are the AEAD output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Initiation {
    pub sender_index: u32,
    pub random: [u8; RANDOM_LEN],
    pub sealed_timestamp: [u8; 8],
    pub tag: [u8; TAG_LEN],
}

/// A handshake response as fields. `sealed_config` and `tag` are the AEAD output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub sender_index: u32,
    pub receiver_index: u32,
    pub random: [u8; RANDOM_LEN],
    pub sealed_config: [u8; TUNNEL_CONFIG_LEN],
    pub tag: [u8; TAG_LEN],
}

/// The 16-byte transport data header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataHeader {
    pub receiver_index: u32,
    pub counter: u64,
}

/// A parsed datagram. `Data::body` is ciphertext followed by the tag, borrowed mutably so that it can
/// be opened in place.
#[derive(Debug)]
pub enum Packet<'a> {
    Initiation(Initiation),
    Response(Response),
    Data {
        header: DataHeader,
        header_bytes: &'a [u8; DATA_HEADER_LEN],
        body: &'a mut [u8],
    },
}

/// Tunnel addressing pushed from the server to the client inside the sealed response, as OpenVPN
/// servers push `ifconfig`. Layout (48 bytes):
/// `mtu(2) | flags(1: bit0 ipv4, bit1 ipv6) | v4_prefix(1) | client_v4(4) | server_v4(4) |
///  v6_prefix(1) | reserved(3)=0 | client_v6(16) | server_v6(16)`; absent families are all zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunnelConfig {
    pub mtu: u16,
    pub ipv4: Option<V4Config>,
    pub ipv6: Option<V6Config>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V4Config {
    pub client: Ipv4Addr,
    pub prefix: u8,
    pub server: Ipv4Addr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V6Config {
    pub client: Ipv6Addr,
    pub prefix: u8,
    pub server: Ipv6Addr,
}

/// Smallest MTU accepted in a tunnel config: the IPv4 minimum datagram size.
pub const MIN_MTU: u16 = 576;

/// Reads a little-endian u32 at `at`; callers have checked the length (fixed-size arrays).
fn u32_at<const N: usize>(bytes: &[u8; N], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

fn array_at<const N: usize, const M: usize>(bytes: &[u8; N], at: usize) -> [u8; M] {
    let mut out = [0u8; M];
    out.copy_from_slice(&bytes[at..at + M]);
    out
}

/// Bytes 1..4 of every message type are reserved and must be zero.
fn check_reserved(datagram: &[u8]) -> Result<(), WireError> {
    match datagram.get(1..4) {
        Some([0, 0, 0]) => Ok(()),
        _ => Err(WireError::ReservedNotZero),
    }
}

/// Classify and split a datagram. Never panics, never reads out of bounds.
pub fn parse(datagram: &mut [u8]) -> Result<Packet<'_>, WireError> {
    let len = datagram.len();
    let msg_type = *datagram.first().ok_or(WireError::Empty)?;
    let bad_length = WireError::BadLength { msg_type, len };
    match msg_type {
        MSG_INITIATION => {
            let bytes: &[u8; INITIATION_LEN] = (&*datagram).try_into().map_err(|_| bad_length)?;
            check_reserved(bytes)?;
            Ok(Packet::Initiation(Initiation {
                sender_index: u32_at(bytes, 4),
                random: array_at(bytes, 8),
                sealed_timestamp: array_at(bytes, INITIATION_AAD_LEN),
                tag: array_at(bytes, INITIATION_AAD_LEN + 8),
            }))
        }
        MSG_RESPONSE => {
            let bytes: &[u8; RESPONSE_LEN] = (&*datagram).try_into().map_err(|_| bad_length)?;
            check_reserved(bytes)?;
            Ok(Packet::Response(Response {
                sender_index: u32_at(bytes, 4),
                receiver_index: u32_at(bytes, 8),
                random: array_at(bytes, 12),
                sealed_config: array_at(bytes, RESPONSE_AAD_LEN),
                tag: array_at(bytes, RESPONSE_AAD_LEN + TUNNEL_CONFIG_LEN),
            }))
        }
        MSG_DATA => {
            if len < KEEPALIVE_LEN {
                return Err(bad_length);
            }
            check_reserved(datagram)?;
            // In bounds: len >= KEEPALIVE_LEN > DATA_HEADER_LEN.
            let (header_slice, body) = datagram.split_at_mut(DATA_HEADER_LEN);
            let header_bytes: &[u8; DATA_HEADER_LEN] =
                (&*header_slice).try_into().map_err(|_| bad_length)?;
            let header = DataHeader {
                receiver_index: u32_at(header_bytes, 4),
                counter: u64::from_le_bytes(array_at(header_bytes, 8)),
            };
            Ok(Packet::Data {
                header,
                header_bytes,
                body,
            })
        }
        other => Err(WireError::UnknownType(other)),
    }
}

impl Initiation {
    /// Writes the 64 bytes of the message into `out[..INITIATION_LEN]`. Panics only if `out` is
    /// shorter than `INITIATION_LEN` (a caller bug, never network input).
    pub fn encode(&self, out: &mut [u8]) {
        let out = &mut out[..INITIATION_LEN];
        out[..4].copy_from_slice(&[MSG_INITIATION, 0, 0, 0]);
        out[4..8].copy_from_slice(&self.sender_index.to_le_bytes());
        out[8..INITIATION_AAD_LEN].copy_from_slice(&self.random);
        out[INITIATION_AAD_LEN..INITIATION_AAD_LEN + 8].copy_from_slice(&self.sealed_timestamp);
        out[INITIATION_AAD_LEN + 8..].copy_from_slice(&self.tag);
    }
}

impl Response {
    /// Writes the message into `out[..RESPONSE_LEN]`; `out` must be at least that long.
    pub fn encode(&self, out: &mut [u8]) {
        let out = &mut out[..RESPONSE_LEN];
        out[..4].copy_from_slice(&[MSG_RESPONSE, 0, 0, 0]);
        out[4..8].copy_from_slice(&self.sender_index.to_le_bytes());
        out[8..12].copy_from_slice(&self.receiver_index.to_le_bytes());
        out[12..RESPONSE_AAD_LEN].copy_from_slice(&self.random);
        out[RESPONSE_AAD_LEN..RESPONSE_AAD_LEN + TUNNEL_CONFIG_LEN]
            .copy_from_slice(&self.sealed_config);
        out[RESPONSE_AAD_LEN + TUNNEL_CONFIG_LEN..].copy_from_slice(&self.tag);
    }
}

impl DataHeader {
    pub fn encode(&self) -> [u8; DATA_HEADER_LEN] {
        let mut out = [0u8; DATA_HEADER_LEN];
        out[0] = MSG_DATA;
        out[4..8].copy_from_slice(&self.receiver_index.to_le_bytes());
        out[8..].copy_from_slice(&self.counter.to_le_bytes());
        out
    }
}

/// `TunnelConfig` flag bits.
const FLAG_IPV4: u8 = 1 << 0;
const FLAG_IPV6: u8 = 1 << 1;

/// Offsets inside the encoded `TunnelConfig`.
mod config_at {
    pub const MTU: usize = 0;
    pub const FLAGS: usize = 2;
    pub const V4_PREFIX: usize = 3;
    pub const CLIENT_V4: usize = 4;
    pub const SERVER_V4: usize = 8;
    pub const V6_PREFIX: usize = 12;
    pub const RESERVED: usize = 13;
    pub const CLIENT_V6: usize = 16;
    pub const SERVER_V6: usize = 32;
}

impl TunnelConfig {
    pub fn encode(&self) -> [u8; TUNNEL_CONFIG_LEN] {
        use config_at::*;
        let mut out = [0u8; TUNNEL_CONFIG_LEN];
        out[MTU..MTU + 2].copy_from_slice(&self.mtu.to_le_bytes());
        if let Some(v4) = &self.ipv4 {
            out[FLAGS] |= FLAG_IPV4;
            out[V4_PREFIX] = v4.prefix;
            out[CLIENT_V4..CLIENT_V4 + 4].copy_from_slice(&v4.client.octets());
            out[SERVER_V4..SERVER_V4 + 4].copy_from_slice(&v4.server.octets());
        }
        if let Some(v6) = &self.ipv6 {
            out[FLAGS] |= FLAG_IPV6;
            out[V6_PREFIX] = v6.prefix;
            out[CLIENT_V6..CLIENT_V6 + 16].copy_from_slice(&v6.client.octets());
            out[SERVER_V6..SERVER_V6 + 16].copy_from_slice(&v6.server.octets());
        }
        out
    }

    /// Validates every field: known flags only, reserved zero, prefixes <= 32 / 128, `mtu >= MIN_MTU`.
    pub fn decode(b: &[u8; TUNNEL_CONFIG_LEN]) -> Result<Self, WireError> {
        use config_at::*;
        let bad = WireError::BadTunnelConfig;
        let mtu = u16::from_le_bytes(array_at(b, MTU));
        let flags = b[FLAGS];
        if mtu < MIN_MTU || flags & !(FLAG_IPV4 | FLAG_IPV6) != 0 {
            return Err(bad);
        }
        if b[RESERVED..RESERVED + 3] != [0, 0, 0] {
            return Err(bad);
        }
        let ipv4 = if flags & FLAG_IPV4 != 0 {
            let prefix = b[V4_PREFIX];
            if prefix > 32 {
                return Err(bad);
            }
            Some(V4Config {
                client: Ipv4Addr::from(array_at::<TUNNEL_CONFIG_LEN, 4>(b, CLIENT_V4)),
                prefix,
                server: Ipv4Addr::from(array_at::<TUNNEL_CONFIG_LEN, 4>(b, SERVER_V4)),
            })
        } else {
            // An absent family is all zero, so that one config has one encoding.
            if b[V4_PREFIX] != 0 || b[CLIENT_V4..SERVER_V4 + 4].iter().any(|&x| x != 0) {
                return Err(bad);
            }
            None
        };
        let ipv6 = if flags & FLAG_IPV6 != 0 {
            let prefix = b[V6_PREFIX];
            if prefix > 128 {
                return Err(bad);
            }
            Some(V6Config {
                client: Ipv6Addr::from(array_at::<TUNNEL_CONFIG_LEN, 16>(b, CLIENT_V6)),
                prefix,
                server: Ipv6Addr::from(array_at::<TUNNEL_CONFIG_LEN, 16>(b, SERVER_V6)),
            })
        } else {
            if b[V6_PREFIX] != 0 || b[CLIENT_V6..SERVER_V6 + 16].iter().any(|&x| x != 0) {
                return Err(bad);
            }
            None
        };
        Ok(TunnelConfig { mtu, ipv4, ipv6 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn initiation() -> Initiation {
        Initiation {
            sender_index: 0x1122_3344,
            random: core::array::from_fn(|i| i as u8 + 1),
            sealed_timestamp: core::array::from_fn(|i| 0xa0 + i as u8),
            tag: core::array::from_fn(|i| 0xf0 + i as u8),
        }
    }

    fn response() -> Response {
        Response {
            sender_index: 0xdead_beef,
            receiver_index: 0x0102_0304,
            random: core::array::from_fn(|i| 0x40 + i as u8),
            sealed_config: core::array::from_fn(|i| 0x80 + i as u8),
            tag: core::array::from_fn(|i| 0xe0 + i as u8),
        }
    }

    fn config() -> TunnelConfig {
        TunnelConfig {
            mtu: 1420,
            ipv4: Some(V4Config {
                client: Ipv4Addr::new(10, 8, 0, 2),
                prefix: 24,
                server: Ipv4Addr::new(10, 8, 0, 1),
            }),
            ipv6: Some(V6Config {
                client: "fd00::2".parse().unwrap(),
                prefix: 64,
                server: "fd00::1".parse().unwrap(),
            }),
        }
    }

    #[test]
    fn initiation_round_trip_and_layout() {
        let mut buf = [0u8; INITIATION_LEN];
        initiation().encode(&mut buf);
        assert_eq!(buf[..8], [1, 0, 0, 0, 0x44, 0x33, 0x22, 0x11]);
        assert_eq!(buf[8], 1);
        assert_eq!(buf[INITIATION_AAD_LEN], 0xa0);
        assert_eq!(buf[INITIATION_LEN - 1], 0xff);
        match parse(&mut buf) {
            Ok(Packet::Initiation(parsed)) => assert_eq!(parsed, initiation()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn response_round_trip_and_layout() {
        let mut buf = [0u8; RESPONSE_LEN];
        response().encode(&mut buf);
        assert_eq!(buf[..12], [2, 0, 0, 0, 0xef, 0xbe, 0xad, 0xde, 4, 3, 2, 1]);
        assert_eq!(buf[12], 0x40);
        assert_eq!(buf[RESPONSE_AAD_LEN], 0x80);
        assert_eq!(buf[RESPONSE_AAD_LEN + TUNNEL_CONFIG_LEN], 0xe0);
        match parse(&mut buf) {
            Ok(Packet::Response(parsed)) => assert_eq!(parsed, response()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn data_split_without_copy() {
        let header = DataHeader {
            receiver_index: 7,
            counter: 0x0102_0304_0506_0708,
        };
        let encoded = header.encode();
        assert_eq!(encoded, [3, 0, 0, 0, 7, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1]);
        for body_len in [TAG_LEN, TAG_LEN + 1, 1500] {
            let mut datagram = encoded.to_vec();
            datagram.extend((0..body_len).map(|i| i as u8));
            let body_start = datagram[DATA_HEADER_LEN..].as_ptr();
            match parse(&mut datagram) {
                Ok(Packet::Data {
                    header: parsed,
                    header_bytes,
                    body,
                }) => {
                    assert_eq!(parsed, header);
                    assert_eq!(header_bytes, &encoded);
                    assert_eq!(body.len(), body_len);
                    assert_eq!(body.as_ptr(), body_start);
                    body[0] = 0x55;
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(datagram[DATA_HEADER_LEN], 0x55);
        }
    }

    #[test]
    fn empty_and_unknown_type() {
        assert_eq!(parse(&mut []).unwrap_err(), WireError::Empty);
        for msg_type in [0u8, 4, 5, 0x80, 0xff] {
            let mut buf = [0u8; RESPONSE_LEN];
            buf[0] = msg_type;
            assert_eq!(
                parse(&mut buf).unwrap_err(),
                WireError::UnknownType(msg_type)
            );
            assert_eq!(
                parse(&mut [msg_type]).unwrap_err(),
                WireError::UnknownType(msg_type)
            );
        }
    }

    #[test]
    fn every_wrong_length() {
        let mut full = vec![0u8; 2000];
        for len in 1..2000 {
            for msg_type in [MSG_INITIATION, MSG_RESPONSE, MSG_DATA] {
                let buf = &mut full[..len];
                buf[0] = msg_type;
                let right = match msg_type {
                    MSG_INITIATION => len == INITIATION_LEN,
                    MSG_RESPONSE => len == RESPONSE_LEN,
                    _ => len >= KEEPALIVE_LEN,
                };
                let result = parse(buf).map(|_| ());
                if right {
                    assert_eq!(result, Ok(()), "type {msg_type} len {len}");
                } else {
                    assert_eq!(
                        result,
                        Err(WireError::BadLength { msg_type, len }),
                        "type {msg_type} len {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn each_reserved_byte_non_zero() {
        for (msg_type, len) in [
            (MSG_INITIATION, INITIATION_LEN),
            (MSG_RESPONSE, RESPONSE_LEN),
            (MSG_DATA, KEEPALIVE_LEN),
            (MSG_DATA, 100),
        ] {
            for at in 1..4 {
                for value in [1u8, 0x80, 0xff] {
                    let mut buf = vec![0u8; len];
                    buf[0] = msg_type;
                    buf[at] = value;
                    assert_eq!(
                        parse(&mut buf).unwrap_err(),
                        WireError::ReservedNotZero,
                        "type {msg_type} byte {at}"
                    );
                }
            }
        }
    }

    #[test]
    fn tunnel_config_round_trips() {
        let full = config();
        let v4_only = TunnelConfig { ipv6: None, ..full };
        let v6_only = TunnelConfig { ipv4: None, ..full };
        let neither = TunnelConfig {
            mtu: MIN_MTU,
            ipv4: None,
            ipv6: None,
        };
        let extremes = TunnelConfig {
            mtu: u16::MAX,
            ipv4: Some(V4Config {
                client: Ipv4Addr::UNSPECIFIED,
                prefix: 32,
                server: Ipv4Addr::BROADCAST,
            }),
            ipv6: Some(V6Config {
                client: Ipv6Addr::UNSPECIFIED,
                prefix: 128,
                server: Ipv6Addr::from([0xff; 16]),
            }),
        };
        for c in [full, v4_only, v6_only, neither, extremes] {
            assert_eq!(TunnelConfig::decode(&c.encode()), Ok(c));
        }
        let bytes = full.encode();
        assert_eq!(bytes[..4], [0x8c, 0x05, 3, 24]);
        assert_eq!(bytes[4..12], [10, 8, 0, 2, 10, 8, 0, 1]);
        assert_eq!(bytes[12..16], [64, 0, 0, 0]);
        assert_eq!(bytes[16], 0xfd);
        assert_eq!(bytes[31], 2);
        assert_eq!(bytes[47], 1);
        assert_eq!(v4_only.encode()[12..], [0u8; 36]);
        assert_eq!(v6_only.encode()[3..12], [0u8; 9]);
    }

    #[test]
    fn tunnel_config_bad_fields() {
        let good = config().encode();
        let reject = |mutate: &dyn Fn(&mut [u8; TUNNEL_CONFIG_LEN])| {
            let mut b = good;
            mutate(&mut b);
            assert_eq!(TunnelConfig::decode(&b), Err(WireError::BadTunnelConfig));
        };
        reject(&|b| b[3] = 33);
        reject(&|b| b[3] = 0xff);
        reject(&|b| b[12] = 129);
        reject(&|b| b[12] = 0xff);
        reject(&|b| b[..2].copy_from_slice(&(MIN_MTU - 1).to_le_bytes()));
        reject(&|b| b[..2].copy_from_slice(&0u16.to_le_bytes()));
        for flag in 2..8 {
            reject(&|b| b[2] |= 1 << flag);
        }
        for at in 13..16 {
            reject(&|b| b[at] = 1);
        }
        // Non-zero bytes in an absent family's fields.
        for at in [3usize, 4, 7, 8, 11] {
            reject(&|b| {
                b[2] = FLAG_IPV6;
                b[at] = 1;
            });
        }
        let mut v4_only = good;
        v4_only[2] = FLAG_IPV4;
        v4_only[12..].fill(0);
        assert!(TunnelConfig::decode(&v4_only).is_ok());
        for at in [12usize, 16, 31, 32, 47] {
            let mut b = v4_only;
            b[at] = 1;
            assert_eq!(TunnelConfig::decode(&b), Err(WireError::BadTunnelConfig));
        }
        // The boundaries themselves are fine.
        let mut b = good;
        b[..2].copy_from_slice(&MIN_MTU.to_le_bytes());
        b[3] = 32;
        b[12] = 128;
        assert!(TunnelConfig::decode(&b).is_ok());
    }
}
