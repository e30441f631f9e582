//! The client's side of `get=1`: a reply read back into a [`Snapshot`] (what `ringtun show` prints),
//! the inverse of [`super::get_reply`].
//!
//! As `wg` reads it (wireguard-tools `ipc-uapi.h`): `key=value` lines up to the empty line,
//! interface keys before the first `public_key`, that peer's keys after it, unknown keys skipped,
//! and `errno=N` the status. `ringtun_<name>=N` lines become the [`Counter`]s of their section
//! (named without the prefix).

use std::fmt;
use std::time::Duration;

use super::allowed_ip::AllowedIp;
use super::endpoint::Endpoint;
use super::key::{parse_preshared, parse_private, parse_public};
use super::request::parse_decimal;
use super::response::{Counter, PeerSnapshot, Snapshot};

/// Why a reply could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// The daemon answered `errno=-N` (N as written, positive).
    Errno(i64),
    /// Line `line` (from 1) is not `key=value`, or the value of `key` does not parse. The value
    /// is not kept: it may be a key.
    Malformed { line: usize, key: String },
    /// No `errno=` line: the reply was cut short.
    Truncated,
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::Errno(n) => write!(
                f,
                "the daemon refused: {}",
                std::io::Error::from_raw_os_error(i32::try_from(*n).unwrap_or(libc::EIO))
            ),
            ReplyError::Malformed { line, key } if key.is_empty() => {
                write!(f, "reply line {line} is not key=value")
            }
            ReplyError::Malformed { line, key } => {
                write!(f, "reply line {line}: invalid value for {key}")
            }
            ReplyError::Truncated => f.write_str("the reply ended before its errno= line"),
        }
    }
}

impl std::error::Error for ReplyError {}

/// The key of a `ringtun_` line, without the prefix.
const COUNTER_PREFIX: &str = "ringtun_";

/// Reads a whole `get=1` reply.
pub fn parse_get_reply(reply: &[u8]) -> Result<Snapshot, ReplyError> {
    let mut snapshot = Snapshot::default();
    let mut handshake_secs: Option<u64> = None;
    for (index, line) in reply.split(|&b| b == b'\n').enumerate() {
        let line_no = index + 1;
        if line.is_empty() {
            break;
        }
        let text = std::str::from_utf8(line).ok();
        let (key, value) =
            text.and_then(|t| t.split_once('='))
                .ok_or_else(|| ReplyError::Malformed {
                    line: line_no,
                    key: String::new(),
                })?;
        let bad = || ReplyError::Malformed {
            line: line_no,
            key: key.to_owned(),
        };
        let number = |max: u64| parse_decimal(value.as_bytes(), max).ok_or_else(bad);
        if key == "errno" {
            let errno: i64 = value.parse().map_err(|_| bad())?;
            if errno != 0 {
                return Err(ReplyError::Errno(errno.saturating_abs()));
            }
            return Ok(snapshot);
        }
        if key == "public_key" {
            let public_key = parse_public(value.as_bytes()).ok_or_else(bad)?;
            snapshot.peers.push(PeerSnapshot::new(public_key));
            handshake_secs = None;
            continue;
        }
        if let Some(name) = key.strip_prefix(COUNTER_PREFIX) {
            let counter = Counter {
                name: name.to_owned().into(),
                value: number(u64::MAX)?,
            };
            match snapshot.peers.last_mut() {
                Some(peer) => peer.counters.push(counter),
                None => snapshot.counters.push(counter),
            }
            continue;
        }
        let Some(peer) = snapshot.peers.last_mut() else {
            match key {
                "private_key" => {
                    let k = parse_private(value.as_bytes()).ok_or_else(bad)?;
                    snapshot.private_key = (!k.is_zero()).then_some(k);
                }
                "listen_port" => snapshot.listen_port = number(u64::from(u16::MAX))? as u16,
                "fwmark" => snapshot.fwmark = number(u64::from(u32::MAX))? as u32,
                _ => {}
            }
            continue;
        };
        match key {
            "preshared_key" => {
                let k = parse_preshared(value.as_bytes()).ok_or_else(bad)?;
                peer.preshared_key = (!k.is_zero()).then_some(k);
            }
            "endpoint" => peer.endpoint = Some(Endpoint::parse(value.as_bytes()).ok_or_else(bad)?),
            "last_handshake_time_sec" => {
                let secs = number(i64::MAX as u64)?;
                handshake_secs = Some(secs);
                peer.last_handshake_time = (secs != 0).then(|| Duration::from_secs(secs));
            }
            "last_handshake_time_nsec" => {
                let nanos = number(999_999_999)? as u32;
                if let Some(secs) = handshake_secs.filter(|&s| s != 0 || nanos != 0) {
                    peer.last_handshake_time = Some(Duration::new(secs, nanos));
                }
            }
            "tx_bytes" => peer.tx_bytes = number(u64::MAX)?,
            "rx_bytes" => peer.rx_bytes = number(u64::MAX)?,
            "persistent_keepalive_interval" => {
                peer.persistent_keepalive_interval = number(u64::from(u16::MAX))? as u16
            }
            "allowed_ip" => peer
                .allowed_ips
                .push(AllowedIp::parse(value.as_bytes()).ok_or_else(bad)?),
            _ => {}
        }
    }
    Err(ReplyError::Truncated)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::response::{get_reply, status_reply};
    use super::*;
    use crate::core::keys::{PresharedKey, PrivateKey, PublicKey};

    fn full() -> Snapshot {
        let mut peer = PeerSnapshot::new(PublicKey::from_hex(PEER_PUBLIC_KEY_HEX).unwrap());
        peer.preshared_key = Some(PresharedKey::from_hex(PRESHARED_KEY_HEX).unwrap());
        peer.endpoint = Endpoint::parse(b"[fe80::1%lo]:51820");
        peer.last_handshake_time = Some(Duration::new(1_700_000_000, 123_456_789));
        peer.rx_bytes = 1000;
        peer.tx_bytes = u64::MAX;
        peer.persistent_keepalive_interval = 25;
        peer.allowed_ips = vec![
            AllowedIp::parse(b"10.0.0.0/24").unwrap(),
            AllowedIp::parse(b"::/0").unwrap(),
        ];
        peer.counters = vec![Counter {
            name: "handshakes".into(),
            value: 3,
        }];
        let bare = PeerSnapshot::new(PublicKey::from_bytes([0xab; 32]));
        Snapshot {
            private_key: Some(PrivateKey::from_hex(PRIVATE_KEY_HEX).unwrap()),
            listen_port: 51820,
            fwmark: 0x42,
            counters: vec![
                Counter {
                    name: "drop_auth_failed".into(),
                    value: 7,
                },
                Counter {
                    name: "drop_replay".into(),
                    value: 0,
                },
            ],
            peers: vec![peer, bare],
        }
    }

    fn same(a: &Snapshot, b: &Snapshot) {
        assert_eq!(a.private_key, b.private_key);
        assert_eq!(
            (a.listen_port, a.fwmark, &a.counters),
            (b.listen_port, b.fwmark, &b.counters)
        );
        assert_eq!(a.peers.len(), b.peers.len());
        for (p, q) in a.peers.iter().zip(&b.peers) {
            assert_eq!(p.public_key, q.public_key);
            assert_eq!(p.preshared_key, q.preshared_key);
            assert_eq!(p.endpoint, q.endpoint);
            assert_eq!(p.last_handshake_time, q.last_handshake_time);
            assert_eq!((p.rx_bytes, p.tx_bytes), (q.rx_bytes, q.tx_bytes));
            assert_eq!(
                p.persistent_keepalive_interval,
                q.persistent_keepalive_interval
            );
            assert_eq!(p.allowed_ips, q.allowed_ips);
            assert_eq!(p.counters, q.counters);
        }
    }

    #[test]
    fn what_get_reply_writes_reads_back() {
        let snapshot = full();
        same(
            &parse_get_reply(get_reply(&snapshot).as_bytes()).unwrap(),
            &snapshot,
        );
        let empty = Snapshot::default();
        same(
            &parse_get_reply(get_reply(&empty).as_bytes()).unwrap(),
            &empty,
        );
    }

    #[test]
    fn a_reply_of_wireguard_go_with_keys_wg_does_not_know_reads() {
        let reply = format!(
            "private_key={PRIVATE_KEY_HEX}\nlisten_port=1\nsomething_new=x\n\
             public_key={PEER_PUBLIC_KEY_HEX}\npreshared_key={}\nprotocol_version=1\n\
             last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=1\nrx_bytes=2\n\
             persistent_keepalive_interval=0\nerrno=0\n\n",
            "0".repeat(64)
        );
        let s = parse_get_reply(reply.as_bytes()).unwrap();
        assert_eq!(s.listen_port, 1);
        assert!(s.private_key.is_some());
        let p = &s.peers[0];
        assert_eq!(p.preshared_key, None, "all zeros is none");
        assert_eq!(p.last_handshake_time, None, "0 is never");
        assert_eq!((p.tx_bytes, p.rx_bytes), (1, 2));
    }

    #[test]
    fn refusals_and_damage() {
        assert_eq!(
            parse_get_reply(status_reply(Err(super::super::Errno::EPROTO)).as_bytes()).err(),
            Some(ReplyError::Errno(71))
        );
        let truncated = Some(ReplyError::Truncated);
        assert_eq!(parse_get_reply(b"listen_port=1\n").err(), truncated);
        assert_eq!(parse_get_reply(b"").err(), truncated);
        assert_eq!(
            parse_get_reply(b"listen_port=1\n\nerrno=0\n\n").err(),
            truncated,
            "the empty line ends the reply"
        );
        let secret = format!("private_key={}x\nerrno=0\n\n", &PRIVATE_KEY_HEX[1..]);
        let e = parse_get_reply(secret.as_bytes()).unwrap_err();
        assert_eq!(
            e,
            ReplyError::Malformed {
                line: 1,
                key: "private_key".into()
            }
        );
        assert!(!format!("{e} {e:?}").contains(&PRIVATE_KEY_HEX[1..9]));
        for bad in [
            &b"listen_port=65536\nerrno=0\n\n"[..],
            b"fwmark=-1\nerrno=0\n\n",
            b"no equals sign\nerrno=0\n\n",
            b"ringtun_x=1.5\nerrno=0\n\n",
            b"\xff=1\nerrno=0\n\n",
        ] {
            assert!(
                matches!(
                    parse_get_reply(bad),
                    Err(ReplyError::Malformed { line: 1, .. })
                ),
                "{bad:?}"
            );
        }
        let peer = format!("public_key={PEER_PUBLIC_KEY_HEX}\nallowed_ip=10.0.0.1/33\nerrno=0\n\n");
        assert!(matches!(
            parse_get_reply(peer.as_bytes()),
            Err(ReplyError::Malformed { line: 2, .. })
        ));
    }
}
