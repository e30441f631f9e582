//! `wg show`'s layout (wireguard-tools `show.c`, without its colours): the interface, then each
//! peer, most recent handshake first; byte counts in KiB/MiB/GiB/TiB with two decimals, times as
//! `1 hour, 2 minutes, 3 seconds ago`. ringtun adds one line to the interface: the datagrams and
//! packets it dropped, by reason (only reasons that happened).

use std::fmt::Write as _;

use super::Shown;
use crate::core::DropReason;
use crate::uapi::{Counter, PeerSnapshot};

/// Every interface, a blank line between two.
pub fn interfaces(shown: &[Shown], now_secs: u64) -> String {
    shown
        .iter()
        .map(|s| interface(s, now_secs))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One interface and its peers.
pub fn interface(shown: &Shown, now_secs: u64) -> String {
    let s = &shown.state;
    let mut out = format!("interface: {}\n", shown.name);
    if let Some(key) = &shown.public_key {
        let _ = writeln!(out, "  public key: {key}");
        out.push_str("  private key: (hidden)\n");
    }
    if s.listen_port != 0 {
        let _ = writeln!(out, "  listening port: {}", s.listen_port);
    }
    if s.fwmark != 0 {
        let _ = writeln!(out, "  fwmark: {:#x}", s.fwmark);
    }
    if let Some(drops) = drops_line(&s.counters) {
        let _ = writeln!(out, "  dropped: {drops}");
    }
    let mut peers: Vec<&PeerSnapshot> = s.peers.iter().collect();
    // Newest handshake first, then those without one (as `wg show` sorts them).
    peers.sort_by_key(|p| std::cmp::Reverse(p.last_handshake_time));
    for peer in peers {
        out.push('\n');
        peer_lines(&mut out, peer, now_secs);
    }
    out
}

fn peer_lines(out: &mut String, p: &PeerSnapshot, now_secs: u64) {
    let _ = writeln!(out, "peer: {}", p.public_key);
    if p.preshared_key.is_some() {
        out.push_str("  preshared key: (hidden)\n");
    }
    if let Some(endpoint) = &p.endpoint {
        let _ = writeln!(out, "  endpoint: {endpoint}");
    }
    let ips: Vec<String> = p.allowed_ips.iter().map(|ip| ip.to_string()).collect();
    let _ = writeln!(
        out,
        "  allowed ips: {}",
        if ips.is_empty() {
            "(none)".to_owned()
        } else {
            ips.join(", ")
        }
    );
    if let Some(at) = p.last_handshake_time {
        let _ = writeln!(out, "  latest handshake: {}", ago(at.as_secs(), now_secs));
    }
    if p.rx_bytes != 0 || p.tx_bytes != 0 {
        let _ = writeln!(
            out,
            "  transfer: {} received, {} sent",
            bytes(p.rx_bytes),
            bytes(p.tx_bytes)
        );
    }
    if p.persistent_keepalive_interval != 0 {
        let _ = writeln!(
            out,
            "  persistent keepalive: every {}",
            duration(u64::from(p.persistent_keepalive_interval))
        );
    }
}

/// `auth-failed 3, replay 1`: the non-zero drop counters, by the reason names of ringtun's log
/// (`None`: nothing dropped, or not a ringtun).
pub fn drops_line(counters: &[Counter]) -> Option<String> {
    let parts: Vec<String> = drops(counters)
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The `drop_*` counters with their reasons' names (`drop_auth_failed` is `auth-failed`); a
/// counter of a reason this build does not know keeps its name from the reply.
pub fn drops(counters: &[Counter]) -> Vec<(String, u64)> {
    counters
        .iter()
        .filter_map(|c| {
            let wire = c.name.strip_prefix("drop_")?;
            let name = DropReason::ALL
                .iter()
                .map(|r| r.name())
                .find(|n| n.replace('-', "_") == wire)
                .map_or_else(|| wire.to_owned(), str::to_owned);
            Some((name, c.value))
        })
        .collect()
}

/// `wg`'s "Now", "N seconds ago", or its warning when the handshake is in the future.
fn ago(then_secs: u64, now_secs: u64) -> String {
    match now_secs.checked_sub(then_secs) {
        Some(0) => "Now".to_owned(),
        Some(d) => format!("{} ago", duration(d)),
        None => "(System clock wound backward; connection problems may ensue.)".to_owned(),
    }
}

/// `1 year, 2 days, 3 hours, 4 minutes, 5 seconds`, zero parts left out.
fn duration(mut left: u64) -> String {
    const UNITS: [(&str, u64); 5] = [
        ("year", 365 * 24 * 3600),
        ("day", 24 * 3600),
        ("hour", 3600),
        ("minute", 60),
        ("second", 1),
    ];
    let mut parts = Vec::new();
    for (unit, secs) in UNITS {
        let n = left / secs;
        left %= secs;
        if n > 0 {
            parts.push(format!("{n} {unit}{}", if n == 1 { "" } else { "s" }));
        }
    }
    parts.join(", ")
}

/// `512 B`, `1.50 KiB`, ... `2.00 TiB`.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::keys::{PresharedKey, PublicKey};
    use crate::uapi::{AllowedIp, Endpoint, Snapshot};
    use std::time::Duration;

    #[test]
    fn wg_units_of_time_and_bytes() {
        assert_eq!(duration(1), "1 second");
        assert_eq!(duration(25), "25 seconds");
        assert_eq!(duration(3661), "1 hour, 1 minute, 1 second");
        assert_eq!(duration(2 * 86400 + 120), "2 days, 2 minutes");
        assert_eq!(duration(365 * 86400), "1 year");
        assert_eq!(ago(100, 100), "Now");
        assert_eq!(ago(95, 100), "5 seconds ago");
        assert!(ago(101, 100).contains("wound backward"));
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.00 KiB");
        assert_eq!(bytes(1536), "1.50 KiB");
        assert_eq!(bytes(5 << 20), "5.00 MiB");
        assert_eq!(bytes(3 << 30), "3.00 GiB");
        assert_eq!(bytes(u64::MAX), "16777216.00 TiB");
    }

    fn shown() -> Shown {
        let key = |b| PublicKey::from_bytes([b; 32]);
        let mut old = PeerSnapshot::new(key(1));
        old.last_handshake_time = Some(Duration::from_secs(1000));
        old.allowed_ips = vec![AllowedIp::parse(b"10.0.0.2/32").unwrap()];
        let mut new = PeerSnapshot::new(key(2));
        new.preshared_key = Some(PresharedKey::from_bytes([9; 32]));
        new.endpoint = Endpoint::parse(b"192.0.2.1:51820");
        new.last_handshake_time = Some(Duration::new(1995, 5));
        new.rx_bytes = 2048;
        new.tx_bytes = 100;
        new.persistent_keepalive_interval = 25;
        new.allowed_ips = vec![
            AllowedIp::parse(b"10.0.0.3/32").unwrap(),
            AllowedIp::parse(b"fd00::3/128").unwrap(),
        ];
        let never = PeerSnapshot::new(key(3));
        Shown {
            name: "wg0".into(),
            public_key: Some(key(4)),
            state: Snapshot {
                private_key: None,
                listen_port: 51820,
                fwmark: 0x42,
                counters: vec![
                    Counter {
                        name: "drop_auth_failed".into(),
                        value: 3,
                    },
                    Counter {
                        name: "drop_replay".into(),
                        value: 0,
                    },
                    Counter {
                        name: "drop_new_reason".into(),
                        value: 1,
                    },
                    Counter {
                        name: "other".into(),
                        value: 5,
                    },
                ],
                peers: vec![old, never, new],
            },
        }
    }

    #[test]
    fn the_layout_of_wg_show_plus_the_drops() {
        let key = |b| PublicKey::from_bytes([b; 32]).to_base64();
        let expected = format!(
            "interface: wg0\n  public key: {}\n  private key: (hidden)\n  listening port: 51820\n  \
             fwmark: 0x42\n  dropped: auth-failed 3, new_reason 1\n\n\
             peer: {}\n  preshared key: (hidden)\n  endpoint: 192.0.2.1:51820\n  \
             allowed ips: 10.0.0.3/32, fd00::3/128\n  latest handshake: 5 seconds ago\n  \
             transfer: 2.00 KiB received, 100 B sent\n  persistent keepalive: every 25 seconds\n\n\
             peer: {}\n  allowed ips: 10.0.0.2/32\n  latest handshake: 16 minutes, 40 seconds ago\n\n\
             peer: {}\n  allowed ips: (none)\n",
            key(4),
            key(2),
            key(1),
            key(3)
        );
        assert_eq!(interface(&shown(), 2000), expected);
        let two = interfaces(&[shown(), shown()], 2000);
        assert_eq!(two, format!("{expected}\n{expected}"));
    }

    #[test]
    fn a_bare_interface_shows_its_name_and_port_only() {
        let bare = Shown {
            name: "wg1".into(),
            public_key: None,
            state: Snapshot {
                listen_port: 43210,
                counters: vec![Counter {
                    name: "drop_replay".into(),
                    value: 0,
                }],
                ..Snapshot::default()
            },
        };
        assert_eq!(
            interface(&bare, 0),
            "interface: wg1\n  listening port: 43210\n"
        );
    }
}
