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

/// Classify and split a datagram. Never panics, never reads out of bounds.
pub fn parse(datagram: &mut [u8]) -> Result<Packet<'_>, WireError> {
    let _ = datagram;
    todo!("helper A")
}

impl Initiation {
    /// Writes the 64 bytes of the message into `out[..INITIATION_LEN]`. Panics only if `out` is
    /// shorter than `INITIATION_LEN` (a caller bug, never network input).
    pub fn encode(&self, out: &mut [u8]) {
        let _ = out;
        todo!("helper A")
    }
}

impl Response {
    /// Writes the message into `out[..RESPONSE_LEN]`; `out` must be at least that long.
    pub fn encode(&self, out: &mut [u8]) {
        let _ = out;
        todo!("helper A")
    }
}

impl DataHeader {
    pub fn encode(&self) -> [u8; DATA_HEADER_LEN] {
        todo!("helper A")
    }
}

impl TunnelConfig {
    pub fn encode(&self) -> [u8; TUNNEL_CONFIG_LEN] {
        todo!("helper A")
    }

    /// Validates every field: known flags only, reserved zero, prefixes <= 32 / 128, `mtu >= MIN_MTU`.
    pub fn decode(b: &[u8; TUNNEL_CONFIG_LEN]) -> Result<Self, WireError> {
        let _ = b;
        todo!("helper A")
    }
}
