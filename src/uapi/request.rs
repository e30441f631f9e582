//! The body of a `set=1` request, one `key=value` line at a time, into a typed [`SetRequest`];
//! and the [`ParseError`] (with the errno wireguard-go would answer) for anything else.
//!
//! Key names, the split between interface and peer keys, the accepted values and the errno of
//! each failure follow wireguard-go's `device/uapi.go`. Two deliberate differences:
//! - Nothing is applied while parsing: the whole request is checked first, so a failing request
//!   changes nothing (wireguard-go applies every line before the bad one).
//! - ringtun bounds the number of peers and allowed IPs in one request ([`Limits`]); over a
//!   bound the answer is EMSGSIZE.

use std::fmt;

use super::Limits;
use super::allowed_ip::AllowedIp;
use super::endpoint::Endpoint;
use super::errno::Errno;
use super::key::{PublicKey, SecretKey};

/// Every key a `set` request may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    PrivateKey,
    ListenPort,
    Fwmark,
    ReplacePeers,
    PublicKey,
    PresharedKey,
    Endpoint,
    PersistentKeepaliveInterval,
    ReplaceAllowedIps,
    AllowedIp,
    Remove,
    UpdateOnly,
    ProtocolVersion,
}

impl Key {
    pub const INTERFACE: [Key; 4] = [
        Key::PrivateKey,
        Key::ListenPort,
        Key::Fwmark,
        Key::ReplacePeers,
    ];
    pub const PEER: [Key; 9] = [
        Key::PresharedKey,
        Key::Endpoint,
        Key::PersistentKeepaliveInterval,
        Key::ReplaceAllowedIps,
        Key::AllowedIp,
        Key::Remove,
        Key::UpdateOnly,
        Key::ProtocolVersion,
        // `public_key` starts a peer from either section; it is listed here for completeness.
        Key::PublicKey,
    ];

    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Key::PrivateKey => "private_key",
            Key::ListenPort => "listen_port",
            Key::Fwmark => "fwmark",
            Key::ReplacePeers => "replace_peers",
            Key::PublicKey => "public_key",
            Key::PresharedKey => "preshared_key",
            Key::Endpoint => "endpoint",
            Key::PersistentKeepaliveInterval => "persistent_keepalive_interval",
            Key::ReplaceAllowedIps => "replace_allowed_ips",
            Key::AllowedIp => "allowed_ip",
            Key::Remove => "remove",
            Key::UpdateOnly => "update_only",
            Key::ProtocolVersion => "protocol_version",
        }
    }

    fn find(section: &[Key], name: &[u8]) -> Option<Key> {
        section
            .iter()
            .copied()
            .find(|k| k.name().as_bytes() == name)
    }
}

/// What one `set` request asks for, in the order the endpoint must apply it: the interface
/// changes first (`replace_peers` removes every peer before the peer changes), then each peer
/// change in request order. A public key may appear in several peer changes; they apply in turn.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SetRequest {
    pub interface: InterfaceChange,
    pub peers: Vec<PeerChange>,
}

/// Interface-level keys; `None`/`false` leaves a setting as it is. When a key repeats, the last
/// value counts.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct InterfaceChange {
    /// All zeros removes the private key (the interface then answers no handshake).
    pub private_key: Option<SecretKey>,
    /// 0 lets the kernel pick a port.
    pub listen_port: Option<u16>,
    /// 0 turns the mark off.
    pub fwmark: Option<u32>,
    /// Remove every existing peer before applying the peer changes.
    pub replace_peers: bool,
}

/// The lines of one `public_key=` block.
///
/// The endpoint applies it as wireguard-go does: if `public_key` is the interface's own public
/// key, the block is ignored; if `remove`, the peer is removed (or nothing happens if it does not
/// exist) and the other fields carry no meaning; if `update_only` and the peer does not exist,
/// nothing happens; otherwise the peer is created if needed and each `Some` field set.
#[derive(Debug, PartialEq, Eq)]
pub struct PeerChange {
    pub public_key: PublicKey,
    pub remove: bool,
    pub update_only: bool,
    /// All zeros turns the preshared key off.
    pub preshared_key: Option<SecretKey>,
    pub endpoint: Option<Endpoint>,
    /// Seconds; 0 turns persistent keepalive off.
    pub persistent_keepalive_interval: Option<u16>,
    /// Remove the peer's allowed IPs before adding `allowed_ips`. A `replace_allowed_ips` line
    /// also drops the `allowed_ip` lines before it in the block, as wireguard-go does.
    pub replace_allowed_ips: bool,
    /// In request order.
    pub allowed_ips: Vec<AllowedIp>,
}

impl PeerChange {
    pub fn new(public_key: PublicKey) -> PeerChange {
        PeerChange {
            public_key,
            remove: false,
            update_only: false,
            preshared_key: None,
            endpoint: None,
            persistent_keepalive_interval: None,
            replace_allowed_ips: false,
            allowed_ips: Vec::new(),
        }
    }
}

/// Why a request was refused, and on which line (1 is the `get=1`/`set=1` line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub kind: ErrorKind,
    pub line: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The first line is neither `get=1` nor `set=1`. (wireguard-go closes without a reply;
    /// ringtun answers EPROTO, then closes.)
    UnknownOperation,
    /// `get=1` not followed by an empty line.
    GetNotTerminated,
    /// A line without `=`.
    MissingEquals,
    /// A key that is not an interface key, before the first `public_key`.
    UnknownInterfaceKey,
    /// A key that is not a peer key, after a `public_key`.
    UnknownPeerKey,
    /// A known key with a value it does not take. The value itself is not kept: it may be a secret.
    InvalidValue(Key),
    /// More `public_key` lines than [`Limits::max_peers`].
    TooManyPeers,
    /// More `allowed_ip` lines than [`Limits::max_allowed_ips`].
    TooManyAllowedIps,
    /// A line longer than [`Limits::max_line`].
    LineTooLong,
    /// A request longer than [`Limits::max_request`].
    RequestTooLarge,
    /// The connection ended inside a request.
    Truncated,
}

impl ParseError {
    /// The errno to answer with (`errno=-N`).
    pub fn errno(&self) -> Errno {
        match self.kind {
            ErrorKind::UnknownOperation | ErrorKind::MissingEquals | ErrorKind::Truncated => {
                Errno::EPROTO
            }
            ErrorKind::GetNotTerminated
            | ErrorKind::UnknownInterfaceKey
            | ErrorKind::UnknownPeerKey
            | ErrorKind::InvalidValue(_) => Errno::EINVAL,
            ErrorKind::TooManyPeers
            | ErrorKind::TooManyAllowedIps
            | ErrorKind::LineTooLong
            | ErrorKind::RequestTooLarge => Errno::EMSGSIZE,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match self.kind {
            ErrorKind::UnknownOperation => {
                f.write_str("unknown operation (expected get=1 or set=1)")
            }
            ErrorKind::GetNotTerminated => f.write_str("get=1 not followed by an empty line"),
            ErrorKind::MissingEquals => f.write_str("not a key=value line"),
            ErrorKind::UnknownInterfaceKey => f.write_str("unknown interface key"),
            ErrorKind::UnknownPeerKey => f.write_str("unknown peer key"),
            ErrorKind::InvalidValue(key) => write!(f, "invalid value for {}", key.name()),
            ErrorKind::TooManyPeers => f.write_str("too many peers in one request"),
            ErrorKind::TooManyAllowedIps => f.write_str("too many allowed IPs in one request"),
            ErrorKind::LineTooLong => f.write_str("line too long"),
            ErrorKind::RequestTooLarge => f.write_str("request too large"),
            ErrorKind::Truncated => f.write_str("connection closed inside a request"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Accumulates the body lines of one `set` request (everything between `set=1` and the empty line).
#[derive(Debug, Default)]
pub(crate) struct SetParser {
    request: SetRequest,
    allowed_ips: usize,
}

impl SetParser {
    /// One body line, without its `\n`; `line_no` is only used in the error.
    pub(crate) fn line(
        &mut self,
        line: &[u8],
        line_no: u32,
        limits: &Limits,
    ) -> Result<(), ParseError> {
        let fail = |kind| ParseError {
            kind,
            line: line_no,
        };
        let eq = line
            .iter()
            .position(|&b| b == b'=')
            .ok_or(fail(ErrorKind::MissingEquals))?;
        let (name, value) = (&line[..eq], &line[eq + 1..]);

        if name == Key::PublicKey.name().as_bytes() {
            let key =
                PublicKey::from_hex(value).ok_or(fail(ErrorKind::InvalidValue(Key::PublicKey)))?;
            if self.request.peers.len() >= limits.max_peers {
                return Err(fail(ErrorKind::TooManyPeers));
            }
            self.request.peers.push(PeerChange::new(key));
            return Ok(());
        }
        let Some(peer) = self.request.peers.last_mut() else {
            let key =
                Key::find(&Key::INTERFACE, name).ok_or(fail(ErrorKind::UnknownInterfaceKey))?;
            let invalid = fail(ErrorKind::InvalidValue(key));
            let interface = &mut self.request.interface;
            match key {
                Key::PrivateKey => {
                    interface.private_key = Some(SecretKey::from_hex(value).ok_or(invalid)?)
                }
                Key::ListenPort => interface.listen_port = Some(parse_u16(value).ok_or(invalid)?),
                Key::Fwmark => interface.fwmark = Some(parse_u32(value).ok_or(invalid)?),
                Key::ReplacePeers => interface.replace_peers = parse_true(value).ok_or(invalid)?,
                _ => return Err(fail(ErrorKind::UnknownInterfaceKey)),
            }
            return Ok(());
        };
        let key = Key::find(&Key::PEER, name).ok_or(fail(ErrorKind::UnknownPeerKey))?;
        let invalid = fail(ErrorKind::InvalidValue(key));
        match key {
            Key::PresharedKey => {
                peer.preshared_key = Some(SecretKey::from_hex(value).ok_or(invalid)?)
            }
            Key::Endpoint => peer.endpoint = Some(Endpoint::parse(value).ok_or(invalid)?),
            Key::PersistentKeepaliveInterval => {
                peer.persistent_keepalive_interval = Some(parse_u16(value).ok_or(invalid)?)
            }
            Key::ReplaceAllowedIps => {
                peer.replace_allowed_ips = parse_true(value).ok_or(invalid)?;
                peer.allowed_ips.clear();
            }
            Key::AllowedIp => {
                let ip = AllowedIp::parse(value).ok_or(invalid)?;
                if self.allowed_ips >= limits.max_allowed_ips {
                    return Err(fail(ErrorKind::TooManyAllowedIps));
                }
                self.allowed_ips += 1;
                peer.allowed_ips.push(ip);
            }
            Key::Remove => peer.remove = parse_true(value).ok_or(invalid)?,
            Key::UpdateOnly => peer.update_only = parse_true(value).ok_or(invalid)?,
            Key::ProtocolVersion if value == b"1" => {}
            Key::ProtocolVersion => return Err(invalid),
            _ => return Err(fail(ErrorKind::UnknownPeerKey)),
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> SetRequest {
        self.request
    }
}

/// The boolean keys take only `true` (wireguard-go refuses `false` too).
fn parse_true(value: &[u8]) -> Option<bool> {
    (value == b"true").then_some(true)
}

fn parse_u16(value: &[u8]) -> Option<u16> {
    u16::try_from(parse_decimal(value, u64::from(u16::MAX))?).ok()
}

fn parse_u32(value: &[u8]) -> Option<u32> {
    u32::try_from(parse_decimal(value, u64::from(u32::MAX))?).ok()
}

/// A decimal number up to `max`, as Go's `strconv.ParseUint(s, 10, bits)` takes it: digits only
/// (no sign, no spaces, no underscores), leading zeros allowed.
pub(crate) fn parse_decimal(text: &[u8], max: u64) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |n, &d| {
        let digit = d.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?
            .checked_add(u64::from(digit))
            .filter(|n| *n <= max)
    })
}
