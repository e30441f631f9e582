//! `ringtun show --json`: one JSON object for scripts,
//!
//! ```text
//! {"interfaces": [{"name": "wg0", "public_key": "…" | null, "listen_port": 51820, "fwmark": 0,
//!   "drops": {"auth-failed": 3, …},
//!   "peers": [{"public_key": "…", "preshared_key": true, "endpoint": "192.0.2.1:51820" | null,
//!     "allowed_ips": ["10.0.0.2/32"], "latest_handshake": 1700000000, "rx_bytes": 0,
//!     "tx_bytes": 0, "persistent_keepalive": 25}]}]}
//! ```
//!
//! Keys are base64 as `wg` prints them; `latest_handshake` is Unix seconds, 0 for never (as in
//! `wg show dump`); `persistent_keepalive` 0 is off; `preshared_key` only says whether there is
//! one. Every string is escaped (an interface name may hold any byte but `/`, `:` and
//! whitespace). Written by hand: no dependency for a few lines of output.

use std::fmt::Write as _;

use super::Shown;
use super::text::drops;

/// The whole object, and a newline.
pub fn interfaces(shown: &[Shown]) -> String {
    let items: Vec<String> = shown.iter().map(interface).collect();
    format!("{{\"interfaces\":[{}]}}\n", items.join(","))
}

fn interface(shown: &Shown) -> String {
    let s = &shown.state;
    let mut out = String::from("{");
    let _ = write!(out, "\"name\":{}", string(&shown.name));
    let public_key = shown
        .public_key
        .as_ref()
        .map_or_else(|| "null".to_owned(), |k| string(&k.to_base64()));
    let _ = write!(out, ",\"public_key\":{public_key}");
    let _ = write!(out, ",\"listen_port\":{}", s.listen_port);
    let _ = write!(out, ",\"fwmark\":{}", s.fwmark);
    let drops: Vec<String> = drops(&s.counters)
        .iter()
        .map(|(name, n)| format!("{}:{n}", string(name)))
        .collect();
    let _ = write!(out, ",\"drops\":{{{}}}", drops.join(","));
    let peers: Vec<String> = s
        .peers
        .iter()
        .map(|p| {
            let endpoint = p
                .endpoint
                .as_ref()
                .map_or_else(|| "null".to_owned(), |e| string(&e.to_string()));
            let ips: Vec<String> = p
                .allowed_ips
                .iter()
                .map(|ip| string(&ip.to_string()))
                .collect();
            format!(
                "{{\"public_key\":{},\"preshared_key\":{},\"endpoint\":{endpoint},\
                 \"allowed_ips\":[{}],\"latest_handshake\":{},\"rx_bytes\":{},\"tx_bytes\":{},\
                 \"persistent_keepalive\":{}}}",
                string(&p.public_key.to_base64()),
                p.preshared_key.is_some(),
                ips.join(","),
                p.last_handshake_time.map_or(0, |t| t.as_secs()),
                p.rx_bytes,
                p.tx_bytes,
                p.persistent_keepalive_interval
            )
        })
        .collect();
    let _ = write!(out, ",\"peers\":[{}]}}", peers.join(","));
    out
}

/// `text` as a JSON string: quotes, backslashes and control characters escaped (RFC 8259 §7).
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::keys::{PresharedKey, PublicKey};
    use crate::uapi::{AllowedIp, Counter, Endpoint, PeerSnapshot, Snapshot};
    use std::time::Duration;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string("wg0"), "\"wg0\"");
        assert_eq!(string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(string("\n\t\u{1}\u{7f}é"), "\"\\n\\t\\u0001\\u007fé\"");
    }

    #[test]
    fn one_object_with_every_field() {
        let mut peer = PeerSnapshot::new(PublicKey::from_bytes([1; 32]));
        peer.preshared_key = Some(PresharedKey::from_bytes([2; 32]));
        peer.endpoint = Endpoint::parse(b"[fd00::1]:51820");
        peer.last_handshake_time = Some(Duration::new(1_700_000_000, 9));
        peer.rx_bytes = 10;
        peer.tx_bytes = 20;
        peer.persistent_keepalive_interval = 25;
        peer.allowed_ips = vec![AllowedIp::parse(b"10.0.0.2/32").unwrap()];
        let shown = Shown {
            name: "w\"g".into(),
            public_key: Some(PublicKey::from_bytes([3; 32])),
            state: Snapshot {
                listen_port: 1,
                fwmark: 2,
                counters: vec![Counter {
                    name: "drop_auth_failed".into(),
                    value: 4,
                }],
                peers: vec![peer, PeerSnapshot::new(PublicKey::from_bytes([5; 32]))],
                ..Snapshot::default()
            },
        };
        let bare = Shown {
            name: "wg1".into(),
            public_key: None,
            state: Snapshot::default(),
        };
        let k = |b| PublicKey::from_bytes([b; 32]).to_base64();
        let expected = format!(
            "{{\"interfaces\":[{{\"name\":\"w\\\"g\",\"public_key\":\"{}\",\"listen_port\":1,\
             \"fwmark\":2,\"drops\":{{\"auth-failed\":4}},\"peers\":[\
             {{\"public_key\":\"{}\",\"preshared_key\":true,\"endpoint\":\"[fd00::1]:51820\",\
             \"allowed_ips\":[\"10.0.0.2/32\"],\"latest_handshake\":1700000000,\"rx_bytes\":10,\
             \"tx_bytes\":20,\"persistent_keepalive\":25}},\
             {{\"public_key\":\"{}\",\"preshared_key\":false,\"endpoint\":null,\
             \"allowed_ips\":[],\"latest_handshake\":0,\"rx_bytes\":0,\"tx_bytes\":0,\
             \"persistent_keepalive\":0}}]}},\
             {{\"name\":\"wg1\",\"public_key\":null,\"listen_port\":0,\"fwmark\":0,\"drops\":{{}},\
             \"peers\":[]}}]}}\n",
            k(3),
            k(1),
            k(5)
        );
        assert_eq!(interfaces(&[shown, bare]), expected);
    }
}
