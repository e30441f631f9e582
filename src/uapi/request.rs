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
use super::key::{
    PresharedKey, PrivateKey, PublicKey, parse_preshared, parse_private, parse_public,
};

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
    pub private_key: Option<PrivateKey>,
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
    pub preshared_key: Option<PresharedKey>,
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
            let key = parse_public(value).ok_or(fail(ErrorKind::InvalidValue(Key::PublicKey)))?;
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
                    interface.private_key = Some(parse_private(value).ok_or(invalid)?)
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
            Key::PresharedKey => peer.preshared_key = Some(parse_preshared(value).ok_or(invalid)?),
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::session::{Request, parse_request};
    use super::*;
    use std::net::SocketAddr;

    fn parse(bytes: &[u8]) -> Result<SetRequest, ParseError> {
        match parse_request(bytes, &Limits::default())? {
            Request::Set(set) => Ok(set),
            Request::Get => panic!("not a set: {:?}", String::from_utf8_lossy(bytes)),
        }
    }

    fn set(body: &str) -> Result<SetRequest, ParseError> {
        parse(format!("set=1\n{body}\n").as_bytes())
    }

    fn public(hex: &str) -> PublicKey {
        PublicKey::from_hex(hex).unwrap()
    }

    fn private(hex: &str) -> PrivateKey {
        PrivateKey::from_hex(hex).unwrap()
    }

    fn preshared(hex: &str) -> PresharedKey {
        PresharedKey::from_hex(hex).unwrap()
    }

    fn ip(text: &str) -> AllowedIp {
        AllowedIp::parse(text.as_bytes()).unwrap()
    }

    fn endpoint(text: &str) -> Endpoint {
        Endpoint::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn wg_set_fixture() {
        let mut peer = PeerChange::new(public(PEER_PUBLIC_KEY_HEX));
        peer.endpoint = Some(endpoint("127.0.0.1:51820"));
        peer.persistent_keepalive_interval = Some(25);
        peer.replace_allowed_ips = true;
        peer.allowed_ips = vec![ip("10.0.0.2/32"), ip("fd00::2/128")];
        let expected = SetRequest {
            interface: InterfaceChange {
                private_key: Some(private(PRIVATE_KEY_HEX)),
                listen_port: Some(1234),
                fwmark: None,
                replace_peers: false,
            },
            peers: vec![peer],
        };
        assert_eq!(parse(WG_SET).unwrap(), expected);
    }

    fn setconf_peers() -> Vec<PeerChange> {
        let mut first = PeerChange::new(public(PEER_PUBLIC_KEY_HEX));
        first.preshared_key = Some(preshared(PRESHARED_KEY_HEX));
        first.endpoint = Some(endpoint("[fd00::1]:51820"));
        first.persistent_keepalive_interval = Some(0);
        first.replace_allowed_ips = true;
        first.allowed_ips = vec![ip("10.0.0.0/24"), ip("::/0")];
        let mut second = PeerChange::new(public(OWN_PUBLIC_KEY_HEX));
        second.replace_allowed_ips = true;
        second.allowed_ips = vec![ip("192.168.1.1/32")];
        vec![first, second]
    }

    #[test]
    fn wg_setconf_fixture_replaces_peers() {
        let got = parse(WG_SETCONF).unwrap();
        assert_eq!(
            got.interface,
            InterfaceChange {
                private_key: Some(private(PRIVATE_KEY_HEX)),
                listen_port: Some(51821),
                fwmark: Some(0x42),
                replace_peers: true,
            }
        );
        assert_eq!(got.peers, setconf_peers());
    }

    #[test]
    fn wg_syncconf_fixture_removes_the_stale_peer_without_replace_peers() {
        let got = parse(WG_SYNCCONF).unwrap();
        assert!(!got.interface.replace_peers);
        assert_eq!(got.interface.fwmark, Some(0x42));
        let mut stale = PeerChange::new(PublicKey::from_bytes([0xab; 32]));
        stale.remove = true;
        let mut expected = vec![stale];
        expected.extend(setconf_peers());
        assert_eq!(got.peers, expected);
    }

    #[test]
    fn small_wg_set_fixtures() {
        let got = parse(WG_SET_REMOVE).unwrap();
        assert_eq!(got.interface, InterfaceChange::default());
        let mut removed = PeerChange::new(public(PEER_PUBLIC_KEY_HEX));
        removed.remove = true;
        assert_eq!(got.peers, vec![removed]);

        let got = parse(WG_SET_FWMARK_OFF_PSK).unwrap();
        assert_eq!(got.interface.fwmark, Some(0));
        assert_eq!(
            got.peers[0].preshared_key,
            Some(preshared(PRESHARED_KEY_HEX))
        );

        let got = parse(WG_SET_ZERO_KEYS).unwrap();
        assert!(
            got.interface
                .private_key
                .as_ref()
                .is_some_and(PrivateKey::is_zero)
        );
        assert!(
            got.peers[0]
                .preshared_key
                .as_ref()
                .is_some_and(PresharedKey::is_zero)
        );
        assert!(got.peers[0].replace_allowed_ips);
        assert!(got.peers[0].allowed_ips.is_empty());

        let got = parse(WG_SET_SCOPED_ENDPOINT).unwrap();
        assert_eq!(got.interface.listen_port, Some(0));
        let e = got.peers[0].endpoint.unwrap();
        assert_eq!(e.addr(), "[fe80::1]:1".parse::<SocketAddr>().unwrap());
        assert_eq!(e.scope_name().map(|n| n.as_str()), Some("lo"));
        assert_eq!(got.peers[0].persistent_keepalive_interval, Some(0));
    }

    #[test]
    fn every_peer_key_and_last_value_wins() {
        let pk = "ab".repeat(32);
        let got = set(&format!(
            "listen_port=1\nlisten_port=00002\nfwmark=4294967295\nreplace_peers=true\n\
             public_key={pk}\nupdate_only=true\nprotocol_version=1\npersistent_keepalive_interval=65535\n\
             endpoint=1.2.3.4:5\nendpoint=[::1]:6\npreshared_key={PRESHARED_KEY_HEX}\n\
             allowed_ip=10.0.0.1/32\nremove=true\n"
        ))
        .unwrap();
        assert_eq!(got.interface.listen_port, Some(2));
        assert_eq!(got.interface.fwmark, Some(u32::MAX));
        assert!(got.interface.replace_peers);
        let p = &got.peers[0];
        assert!(p.update_only && p.remove && !p.replace_allowed_ips);
        assert_eq!(p.persistent_keepalive_interval, Some(65535));
        assert_eq!(p.endpoint, Some(endpoint("[::1]:6")));
        assert_eq!(p.allowed_ips, vec![ip("10.0.0.1/32")]);
    }

    #[test]
    fn replace_allowed_ips_drops_the_lines_before_it_and_keys_may_repeat() {
        let pk = "cd".repeat(32);
        let got = set(&format!(
            "public_key={pk}\nallowed_ip=10.0.0.1/32\nreplace_allowed_ips=true\nallowed_ip=10.0.0.2/32\n\
             public_key={pk}\nallowed_ip=10.0.0.3/32\n"
        ))
        .unwrap();
        assert_eq!(
            got.peers.len(),
            2,
            "a repeated public key is a second change, applied in order"
        );
        assert!(got.peers[0].replace_allowed_ips);
        assert_eq!(got.peers[0].allowed_ips, vec![ip("10.0.0.2/32")]);
        assert!(!got.peers[1].replace_allowed_ips);
        assert_eq!(got.peers[1].allowed_ips, vec![ip("10.0.0.3/32")]);
    }

    #[test]
    fn empty_set_is_a_no_op() {
        assert_eq!(parse(b"set=1\n\n").unwrap(), SetRequest::default());
    }

    #[test]
    fn every_error_with_its_errno_and_line() {
        let pk = "ab".repeat(32);
        let peer = |line: &str| format!("public_key={pk}\n{line}\n");
        let invalid = |k| ErrorKind::InvalidValue(k);
        let cases: Vec<(String, ErrorKind, u32, Errno)> = vec![
            (
                "listen_port\n".into(),
                ErrorKind::MissingEquals,
                2,
                Errno::EPROTO,
            ),
            ("\u{0}\n".into(), ErrorKind::MissingEquals, 2, Errno::EPROTO),
            (
                "listen-port=1\n".into(),
                ErrorKind::UnknownInterfaceKey,
                2,
                Errno::EINVAL,
            ),
            (
                "=1\n".into(),
                ErrorKind::UnknownInterfaceKey,
                2,
                Errno::EINVAL,
            ),
            (
                "LISTEN_PORT=1\n".into(),
                ErrorKind::UnknownInterfaceKey,
                2,
                Errno::EINVAL,
            ),
            (
                "endpoint=1.2.3.4:5\n".into(),
                ErrorKind::UnknownInterfaceKey,
                2,
                Errno::EINVAL,
            ),
            (
                "listen_port=1\n".to_string() + &peer("listen_port=1"),
                ErrorKind::UnknownPeerKey,
                4,
                Errno::EINVAL,
            ),
            (
                peer("private_key=00"),
                ErrorKind::UnknownPeerKey,
                3,
                Errno::EINVAL,
            ),
            (
                "private_key=abc\n".into(),
                invalid(Key::PrivateKey),
                2,
                Errno::EINVAL,
            ),
            (
                format!("private_key={}x\n", &pk[1..]),
                invalid(Key::PrivateKey),
                2,
                Errno::EINVAL,
            ),
            (
                "listen_port=65536\n".into(),
                invalid(Key::ListenPort),
                2,
                Errno::EINVAL,
            ),
            (
                "listen_port=-1\n".into(),
                invalid(Key::ListenPort),
                2,
                Errno::EINVAL,
            ),
            (
                "listen_port=+1\n".into(),
                invalid(Key::ListenPort),
                2,
                Errno::EINVAL,
            ),
            (
                "listen_port=\n".into(),
                invalid(Key::ListenPort),
                2,
                Errno::EINVAL,
            ),
            (
                "listen_port= 1\n".into(),
                invalid(Key::ListenPort),
                2,
                Errno::EINVAL,
            ),
            (
                "fwmark=4294967296\n".into(),
                invalid(Key::Fwmark),
                2,
                Errno::EINVAL,
            ),
            (
                "fwmark=0x42\n".into(),
                invalid(Key::Fwmark),
                2,
                Errno::EINVAL,
            ),
            (
                "replace_peers=false\n".into(),
                invalid(Key::ReplacePeers),
                2,
                Errno::EINVAL,
            ),
            (
                "public_key=zz\n".into(),
                invalid(Key::PublicKey),
                2,
                Errno::EINVAL,
            ),
            (
                peer("public_key="),
                invalid(Key::PublicKey),
                3,
                Errno::EINVAL,
            ),
            (
                peer("preshared_key=1"),
                invalid(Key::PresharedKey),
                3,
                Errno::EINVAL,
            ),
            (
                peer("endpoint=host:1"),
                invalid(Key::Endpoint),
                3,
                Errno::EINVAL,
            ),
            (
                peer("persistent_keepalive_interval=65536"),
                invalid(Key::PersistentKeepaliveInterval),
                3,
                Errno::EINVAL,
            ),
            (
                peer("replace_allowed_ips=1"),
                invalid(Key::ReplaceAllowedIps),
                3,
                Errno::EINVAL,
            ),
            (
                peer("allowed_ip=10.0.0.1"),
                invalid(Key::AllowedIp),
                3,
                Errno::EINVAL,
            ),
            (
                peer("allowed_ip=10.0.0.1/33"),
                invalid(Key::AllowedIp),
                3,
                Errno::EINVAL,
            ),
            (peer("remove=yes"), invalid(Key::Remove), 3, Errno::EINVAL),
            (
                peer("update_only=false"),
                invalid(Key::UpdateOnly),
                3,
                Errno::EINVAL,
            ),
            (
                peer("protocol_version=2"),
                invalid(Key::ProtocolVersion),
                3,
                Errno::EINVAL,
            ),
            (
                peer("protocol_version=01"),
                invalid(Key::ProtocolVersion),
                3,
                Errno::EINVAL,
            ),
        ];
        for (body, kind, line, errno) in cases {
            let err = set(&body).expect_err(&body);
            assert_eq!(err, ParseError { kind, line }, "{body:?}");
            assert_eq!(err.errno(), errno, "{body:?}");
        }
    }

    #[test]
    fn only_the_first_error_counts() {
        let err = set("listen_port=x\nfwmark\n").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidValue(Key::ListenPort));
        assert_eq!(err.line, 2);
    }

    #[test]
    fn framing_errors_and_their_errno() {
        let limits = Limits::default();
        let err = parse_request(b"get=1\nx", &limits).unwrap_err();
        assert_eq!(
            (err.kind, err.line, err.errno()),
            (ErrorKind::GetNotTerminated, 2, Errno::EINVAL)
        );
        let err = parse_request(b"set=2\n\n", &limits).unwrap_err();
        assert_eq!(
            (err.kind, err.line, err.errno()),
            (ErrorKind::UnknownOperation, 1, Errno::EPROTO)
        );
        let err = parse_request(b"get=1\r\n\r\n", &limits).unwrap_err();
        assert_eq!(err.kind, ErrorKind::UnknownOperation);
        let err = parse_request(b"set=1\nlisten_port=1\n", &limits).unwrap_err();
        assert_eq!(
            (err.kind, err.line, err.errno()),
            (ErrorKind::Truncated, 3, Errno::EPROTO)
        );
        let err = parse_request(b"", &limits).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Truncated);
        assert_eq!(parse_request(WG_SHOW, &limits), Ok(Request::Get));
    }

    #[test]
    fn errors_never_show_the_value() {
        let secret = "5".repeat(63) + "x";
        let err = set(&format!("private_key={secret}\n")).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("555"), "{shown}");
        assert_eq!(err.to_string(), "line 2: invalid value for private_key");
    }

    #[test]
    fn debug_of_a_request_redacts_its_keys() {
        let got = parse(WG_SETCONF).unwrap();
        let shown = format!("{got:?}");
        assert!(!shown.contains(&PRIVATE_KEY_HEX[..16]), "{shown}");
        assert!(!shown.contains(&PRESHARED_KEY_HEX[..16]), "{shown}");
        assert!(
            shown.contains(PEER_PUBLIC_KEY_B64),
            "public keys are not secret: {shown}"
        );
    }

    #[test]
    fn decimal_parser() {
        assert_eq!(parse_decimal(b"0", 0), Some(0));
        assert_eq!(parse_decimal(b"000123", 200), Some(123));
        assert_eq!(
            parse_decimal(b"18446744073709551615", u64::MAX),
            Some(u64::MAX)
        );
        assert_eq!(parse_decimal(b"18446744073709551616", u64::MAX), None);
        assert_eq!(parse_decimal(b"65536", 65535), None);
        for bad in [
            &b""[..],
            b"-1",
            b"+1",
            b"1_0",
            b" 1",
            b"1 ",
            b"0x1",
            b"\xff",
        ] {
            assert_eq!(parse_decimal(bad, u64::MAX), None, "{bad:?}");
        }
    }

    #[test]
    fn key_names_are_distinct_and_sections_cover_them() {
        let mut names: Vec<_> = Key::INTERFACE
            .iter()
            .chain(Key::PEER.iter())
            .map(|k| k.name())
            .collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before);
        assert_eq!(before, 13);
    }
}
