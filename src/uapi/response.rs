//! Replies: a `get` reply from a plain [`Snapshot`], and the `errno=` status that ends every reply.
//!
//! The get reply has wireguard-go's keys, order and omissions (`device/uapi.go`,
//! `IpcGetOperation`), so `wg show`, `wg showconf` and `wg syncconf` read it as they read
//! wireguard-go's.
//!
//! ringtun's own counters ([`Counter`]) go after the standard keys of their section as
//! `ringtun_<name>=<value>`. `wg` ignores keys it does not know (its parser in
//! wireguard-tools `ipc-uapi.h` is a chain of `strcmp` with no final `else`, and any line of
//! the form `key=value` passes), and so does wgctrl-go; both only require `=` in every line.

use std::borrow::Cow;
use std::fmt::{self, Write};
use std::time::Duration;

use super::allowed_ip::AllowedIp;
use super::endpoint::Endpoint;
use super::errno::Errno;
use super::key::{PresharedKey, PrivateKey, PublicKey, wipe};

/// What a `get` reports about the interface.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Omitted from the reply when `None` or all zeros.
    pub private_key: Option<PrivateKey>,
    /// The bound port; omitted when 0.
    pub listen_port: u16,
    /// Omitted when 0 (off).
    pub fwmark: u32,
    /// ringtun's interface-wide counters (drops by reason, ...).
    pub counters: Vec<Counter>,
    pub peers: Vec<PeerSnapshot>,
}

#[derive(Debug)]
pub struct PeerSnapshot {
    pub public_key: PublicKey,
    /// `None` is written as all zeros, as wireguard-go does.
    pub preshared_key: Option<PresharedKey>,
    /// Omitted when `None` (no endpoint known yet).
    pub endpoint: Option<Endpoint>,
    /// Wall-clock time of the last completed handshake since the Unix epoch; `None` (never) is
    /// written as 0 seconds, 0 nanoseconds.
    pub last_handshake_time: Option<Duration>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    /// Seconds, 0 for off.
    pub persistent_keepalive_interval: u16,
    pub allowed_ips: Vec<AllowedIp>,
    /// ringtun's per-peer counters.
    pub counters: Vec<Counter>,
}

impl PeerSnapshot {
    pub fn new(public_key: PublicKey) -> PeerSnapshot {
        PeerSnapshot {
            public_key,
            preshared_key: None,
            endpoint: None,
            last_handshake_time: None,
            rx_bytes: 0,
            tx_bytes: 0,
            persistent_keepalive_interval: 0,
            allowed_ips: Vec::new(),
            counters: Vec::new(),
        }
    }
}

/// One ringtun-specific line, written `ringtun_<name>=<value>`. In the name, ASCII letters are
/// lowercased and anything but `[a-z0-9_]` becomes `_`, so no name can break the line format
/// (`DropReason` names such as `auth-failed` become `ringtun_drop_auth_failed` given
/// `drop_auth-failed`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counter {
    pub name: Cow<'static, str>,
    pub value: u64,
}

/// The bytes of one reply. A get reply holds the private and preshared keys, so the buffer is
/// sized exactly before it is written (no reallocation leaves a copy behind) and wiped on drop.
pub struct Reply(Vec<u8>);

impl Reply {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reply({} bytes)", self.0.len())
    }
}

/// The full reply to `get=1`, ending with `errno=0` and the empty line.
pub fn get_reply(snapshot: &Snapshot) -> Reply {
    let mut length = Length(0);
    // Neither sink ever fails, so neither can `write_get`.
    let _ = write_get(snapshot, &mut length);
    let mut out = Bytes(Vec::with_capacity(length.0));
    let _ = write_get(snapshot, &mut out);
    Reply(out.0)
}

/// The reply to `set=1` (or to a refused request): `errno=0` on success, `errno=-N` on failure.
pub fn status_reply(status: Result<(), Errno>) -> Reply {
    let mut out = Bytes(Vec::with_capacity(16));
    let _ = write_status(status, &mut out);
    Reply(out.0)
}

fn write_status(status: Result<(), Errno>, w: &mut impl Write) -> fmt::Result {
    match status {
        Ok(()) => w.write_str("errno=0\n\n"),
        Err(errno) => write!(w, "errno=-{}\n\n", errno.get()),
    }
}

fn write_get(s: &Snapshot, w: &mut impl Write) -> fmt::Result {
    if let Some(key) = s.private_key.as_ref().filter(|k| !k.is_zero()) {
        writeln!(w, "private_key={}", key.to_hex().as_str())?;
    }
    if s.listen_port != 0 {
        writeln!(w, "listen_port={}", s.listen_port)?;
    }
    if s.fwmark != 0 {
        writeln!(w, "fwmark={}", s.fwmark)?;
    }
    write_counters(&s.counters, w)?;
    for peer in &s.peers {
        writeln!(w, "public_key={}", peer.public_key.to_hex())?;
        match &peer.preshared_key {
            Some(key) => writeln!(w, "preshared_key={}", key.to_hex().as_str())?,
            None => writeln!(w, "preshared_key={}", "0".repeat(64))?,
        }
        writeln!(w, "protocol_version=1")?;
        if let Some(endpoint) = &peer.endpoint {
            writeln!(w, "endpoint={endpoint}")?;
        }
        let handshake = peer.last_handshake_time.unwrap_or_default();
        // wg reads the seconds as a signed 64-bit number and refuses more.
        let secs = handshake.as_secs().min(i64::MAX as u64);
        writeln!(w, "last_handshake_time_sec={secs}")?;
        writeln!(w, "last_handshake_time_nsec={}", handshake.subsec_nanos())?;
        writeln!(w, "tx_bytes={}", peer.tx_bytes)?;
        writeln!(w, "rx_bytes={}", peer.rx_bytes)?;
        writeln!(
            w,
            "persistent_keepalive_interval={}",
            peer.persistent_keepalive_interval
        )?;
        for ip in &peer.allowed_ips {
            writeln!(w, "allowed_ip={ip}")?;
        }
        write_counters(&peer.counters, w)?;
    }
    write_status(Ok(()), w)
}

fn write_counters(counters: &[Counter], w: &mut impl Write) -> fmt::Result {
    for c in counters {
        w.write_str("ringtun_")?;
        for ch in c.name.chars() {
            let ch = ch.to_ascii_lowercase();
            w.write_char(if ch.is_ascii_lowercase() || ch.is_ascii_digit() {
                ch
            } else {
                '_'
            })?;
        }
        writeln!(w, "={}", c.value)?;
    }
    Ok(())
}

/// Counts what would be written.
struct Length(usize);

impl Write for Length {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

struct Bytes(Vec<u8>);

impl Write for Bytes {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn text(reply: &Reply) -> &str {
        std::str::from_utf8(reply.as_bytes()).unwrap()
    }

    fn public(hex: &str) -> PublicKey {
        PublicKey::from_hex(hex).unwrap()
    }

    /// Two peers: one with everything set, one with nothing.
    pub(crate) fn full_snapshot() -> Snapshot {
        let mut first = PeerSnapshot::new(public(PEER_PUBLIC_KEY_HEX));
        first.preshared_key = Some(PresharedKey::from_hex(PRESHARED_KEY_HEX).unwrap());
        first.endpoint = Endpoint::parse(b"[fd00::1]:51820");
        first.last_handshake_time = Some(Duration::new(1_700_000_000, 123_456_789));
        first.rx_bytes = 1000;
        first.tx_bytes = 2000;
        first.persistent_keepalive_interval = 25;
        first.allowed_ips = vec![
            AllowedIp::parse(b"10.0.0.0/24").unwrap(),
            AllowedIp::parse(b"fd00::/64").unwrap(),
        ];
        first.counters = vec![Counter {
            name: "handshakes_completed".into(),
            value: 3,
        }];
        Snapshot {
            private_key: Some(PrivateKey::from_hex(PRIVATE_KEY_HEX).unwrap()),
            listen_port: 51820,
            fwmark: 0x42,
            counters: vec![
                Counter {
                    name: "drop_auth-failed".into(),
                    value: 7,
                },
                Counter {
                    name: "Drop Replay!".into(),
                    value: 0,
                },
            ],
            peers: vec![first, PeerSnapshot::new(PublicKey::from_bytes([0xab; 32]))],
        }
    }

    #[test]
    fn full_get_reply_in_wireguard_go_order() {
        let zeros = "0".repeat(64);
        let stale = "ab".repeat(32);
        let expected = format!(
            "private_key={PRIVATE_KEY_HEX}\n\
             listen_port=51820\n\
             fwmark=66\n\
             ringtun_drop_auth_failed=7\n\
             ringtun_drop_replay_=0\n\
             public_key={PEER_PUBLIC_KEY_HEX}\n\
             preshared_key={PRESHARED_KEY_HEX}\n\
             protocol_version=1\n\
             endpoint=[fd00::1]:51820\n\
             last_handshake_time_sec=1700000000\n\
             last_handshake_time_nsec=123456789\n\
             tx_bytes=2000\n\
             rx_bytes=1000\n\
             persistent_keepalive_interval=25\n\
             allowed_ip=10.0.0.0/24\n\
             allowed_ip=fd00::/64\n\
             ringtun_handshakes_completed=3\n\
             public_key={stale}\n\
             preshared_key={zeros}\n\
             protocol_version=1\n\
             last_handshake_time_sec=0\n\
             last_handshake_time_nsec=0\n\
             tx_bytes=0\n\
             rx_bytes=0\n\
             persistent_keepalive_interval=0\n\
             errno=0\n\n"
        );
        let reply = get_reply(&full_snapshot());
        assert_eq!(text(&reply), expected);
        assert_eq!(
            reply.0.capacity(),
            reply.0.len(),
            "sized exactly: no reallocation"
        );
    }

    #[test]
    fn unset_interface_values_are_omitted() {
        assert_eq!(text(&get_reply(&Snapshot::default())), "errno=0\n\n");
        let zero_key = Snapshot {
            private_key: Some(PrivateKey::from_bytes([0; 32])),
            ..Snapshot::default()
        };
        assert_eq!(text(&get_reply(&zero_key)), "errno=0\n\n");
    }

    #[test]
    fn handshake_seconds_fit_what_wg_reads() {
        let mut peer = PeerSnapshot::new(PublicKey::from_bytes([1; 32]));
        peer.last_handshake_time = Some(Duration::new(u64::MAX, 999_999_999));
        let snapshot = Snapshot {
            peers: vec![peer],
            ..Snapshot::default()
        };
        let reply = get_reply(&snapshot);
        assert!(text(&reply).contains("\nlast_handshake_time_sec=9223372036854775807\n"));
        assert!(text(&reply).contains("\nlast_handshake_time_nsec=999999999\n"));
    }

    #[test]
    fn every_line_is_key_equals_value() {
        let reply = get_reply(&full_snapshot());
        let body = text(&reply).strip_suffix("\n\n").unwrap();
        for line in body.lines() {
            let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("{line:?}"));
            assert!(!value.contains('='), "{line:?}");
            assert!(
                key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{line:?}"
            );
        }
    }

    #[test]
    fn status_replies() {
        assert_eq!(status_reply(Ok(())).as_bytes(), b"errno=0\n\n");
        assert_eq!(
            status_reply(Err(Errno::EINVAL)).as_bytes(),
            b"errno=-22\n\n"
        );
        assert_eq!(
            status_reply(Err(Errno::EADDRINUSE)).as_bytes(),
            b"errno=-98\n\n"
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let snapshot = full_snapshot();
        let shown = format!("{snapshot:?} {:?}", get_reply(&snapshot));
        assert!(!shown.contains(&PRIVATE_KEY_HEX[..16]), "{shown}");
        assert!(!shown.contains(&PRESHARED_KEY_HEX[..16]), "{shown}");
    }
}
