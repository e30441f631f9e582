//! `wg show IFNAME dump`: the machine-readable state of one interface, tab-separated.
//!
//! First line, the interface: private key, public key, listen port, fwmark (`off` or `0x…`).
//! Then one line per peer: public key, preshared key, endpoint, allowed IPs (comma-separated),
//! latest handshake (seconds), received bytes, sent bytes, persistent keepalive (`off` or seconds).
//! An unset key, endpoint or allowed-IP list is `(none)`.
//!
//! The parser keeps neither the private key nor the preshared keys, only whether a preshared key
//! is set: the dump is secret, what it returns is not.
//!
//! What the numbers mean depends on the implementation behind the UAPI socket: see
//! [`WgPeer::latest_handshake`](super::WgPeer::latest_handshake) for boringtun's handshake field.

use std::net::SocketAddr;

/// Bytes received from and sent to one peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Transfer {
    pub rx: u64,
    pub tx: u64,
}

/// One peer line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpPeer {
    pub public_key: String,
    pub has_preshared_key: bool,
    pub endpoint: Option<SocketAddr>,
    pub allowed_ips: Vec<String>,
    /// As reported: Unix seconds for wireguard-go, seconds ago for boringtun; 0 for never.
    pub latest_handshake: u64,
    pub transfer: Transfer,
    pub persistent_keepalive: Option<u16>,
}

/// The whole dump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dump {
    /// `None` where the implementation does not report it (boringtun).
    pub public_key: Option<String>,
    pub listen_port: u16,
    pub fwmark: Option<u32>,
    pub peers: Vec<DumpPeer>,
}

impl Dump {
    pub fn peer(&self, public_key: &str) -> Option<&DumpPeer> {
        self.peers.iter().find(|p| p.public_key == public_key)
    }
}

/// Parses the output of `wg show IFNAME dump`. Errors name the line and field, never a key.
pub fn parse_dump(text: &str) -> Result<Dump, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().ok_or("empty dump")?;
    let f: Vec<&str> = first.split('\t').collect();
    let [_private_key, public_key, listen_port, fwmark] = f[..] else {
        return Err(format!("interface line: {} fields, want 4", f.len()));
    };
    let mut dump = Dump {
        public_key: optional(public_key).map(str::to_owned),
        listen_port: number(listen_port, "interface line: listen port")?,
        fwmark: match fwmark {
            "off" => None,
            hex if hex.starts_with("0x") => Some(
                u32::from_str_radix(&hex[2..], 16)
                    .map_err(|_| format!("interface line: fwmark {hex:?}"))?,
            ),
            dec => Some(number(dec, "interface line: fwmark")?),
        },
        peers: Vec::new(),
    };
    for (n, line) in lines.enumerate() {
        let what = |field: &str| format!("peer line {}: {field}", n + 1);
        let f: Vec<&str> = line.split('\t').collect();
        let [
            public_key,
            psk,
            endpoint,
            allowed_ips,
            handshake,
            rx,
            tx,
            keepalive,
        ] = f[..]
        else {
            return Err(format!("peer line {}: {} fields, want 8", n + 1, f.len()));
        };
        dump.peers.push(DumpPeer {
            public_key: public_key.to_owned(),
            has_preshared_key: optional(psk).is_some(),
            endpoint: optional(endpoint)
                .map(|e| e.parse().map_err(|_| what(&format!("endpoint {e:?}"))))
                .transpose()?,
            allowed_ips: optional(allowed_ips)
                .map(|a| a.split(',').map(str::to_owned).collect())
                .unwrap_or_default(),
            latest_handshake: number(handshake, &what("latest handshake"))?,
            transfer: Transfer {
                rx: number(rx, &what("rx bytes"))?,
                tx: number(tx, &what("tx bytes"))?,
            },
            persistent_keepalive: match keepalive {
                "off" => None,
                k => Some(number(k, &what("persistent keepalive"))?),
            },
        });
    }
    Ok(dump)
}

fn optional(field: &str) -> Option<&str> {
    (field != "(none)").then_some(field)
}

fn number<T: std::str::FromStr>(field: &str, what: &str) -> Result<T, String> {
    field.parse().map_err(|_| format!("{what}: {field:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from wireguard-go 0.0.20220316 (throwaway keys): a peer with a preshared key, IPv6
    // endpoint, two allowed IPs and a keepalive; one with nothing; one with an IPv4 endpoint, whose
    // handshake and byte counts come from another capture (after two pings).
    const WIREGUARD_GO: &str = "\
WKpkZamQODfKnzXKCh0WfMx2G4skqLi2GX5aWCPi4Xg=\tQ6gvbcEQTDT1GJXPeH6oIVxGguJHn+6MoGtYYV0fEGU=\t51820\t0x1234
O4oQgiDrY3+VTc/VWyyzIzF8krUygU9HKXaxo1ZxcGM=\tdV7SZXAWR5N9v9Dt/RF6hMmIG/EFYYncKe+Ay62FoAY=\t[fd00::2]:51821\t10.77.0.2/32,fd77::2/128\t0\t0\t0\t25
3awEhEhpuN5jj9LIBG1IzwT1R4ZtJiT3xArSJrnxdB0=\t(none)\t(none)\t(none)\t0\t0\t0\toff
YGM4Q0nep0dgy3SlZmT2lxH53+xk1q1XWDNHuSM/UhE=\t(none)\t10.202.2.2:40000\t10.77.0.4/32\t1796025383\t644\t604\toff
";

    // Captured from boringtun-cli 0.7.1 after two pings: it reports neither of its own keys, and
    // the handshake as seconds ago (here: less than one).
    const BORINGTUN: &str = "\
(none)\t(none)\t46031\toff
4rGmOeBn/FLx3bFmHjUXRzQugt3tQrj5qtqjS5MLcCw=\ty8f6TK52lgIbRCUufsCtVzWpuicHUNBxgBpTUpPbF/g=\t10.202.0.1:51820\t10.77.0.0/24\t0\t336\t336\toff
";

    #[test]
    fn parses_a_wireguard_go_dump() {
        let d = parse_dump(WIREGUARD_GO).unwrap();
        assert_eq!(
            d.public_key.as_deref(),
            Some("Q6gvbcEQTDT1GJXPeH6oIVxGguJHn+6MoGtYYV0fEGU=")
        );
        assert_eq!((d.listen_port, d.fwmark), (51820, Some(0x1234)));
        assert_eq!(d.peers.len(), 3);
        let p = d
            .peer("O4oQgiDrY3+VTc/VWyyzIzF8krUygU9HKXaxo1ZxcGM=")
            .unwrap();
        assert!(p.has_preshared_key);
        assert_eq!(p.endpoint, Some("[fd00::2]:51821".parse().unwrap()));
        assert_eq!(p.allowed_ips, ["10.77.0.2/32", "fd77::2/128"]);
        assert_eq!((p.latest_handshake, p.persistent_keepalive), (0, Some(25)));
        let p = &d.peers[1];
        assert!(!p.has_preshared_key);
        assert_eq!((p.endpoint, p.allowed_ips.len()), (None, 0));
        assert_eq!(p.persistent_keepalive, None);
        let p = &d.peers[2];
        assert_eq!(p.endpoint, Some("10.202.2.2:40000".parse().unwrap()));
        assert_eq!(p.latest_handshake, 1796025383);
        assert_eq!(p.transfer, Transfer { rx: 644, tx: 604 });
        assert!(d.peer("nobody").is_none());
    }

    #[test]
    fn parses_a_boringtun_dump() {
        let d = parse_dump(BORINGTUN).unwrap();
        assert_eq!(
            (d.public_key.as_deref(), d.listen_port, d.fwmark),
            (None, 46031, None)
        );
        let p = d
            .peer("4rGmOeBn/FLx3bFmHjUXRzQugt3tQrj5qtqjS5MLcCw=")
            .unwrap();
        assert_eq!(p.allowed_ips, ["10.77.0.0/24"]);
        assert_eq!(p.transfer, Transfer { rx: 336, tx: 336 });
    }

    #[test]
    fn rejects_malformed_dumps_without_echoing_keys() {
        assert!(parse_dump("").is_err());
        assert!(parse_dump("a\tb\t51820\n").is_err());
        assert!(parse_dump("a\tb\tport\toff\n").is_err());
        let bad_peer = |line: &str| parse_dump(&format!("(none)\t(none)\t1\toff\n{line}\n"));
        let ok = "K\t(none)\t1.2.3.4:5\t(none)\t0\t0\t0\toff";
        assert!(bad_peer(ok).is_ok());
        for bad in [
            "K\t(none)\t1.2.3.4:5\t(none)\t0\t0\t0",
            "K\t(none)\t1.2.3.4\t(none)\t0\t0\t0\toff",
            "K\t(none)\t1.2.3.4:5\t(none)\t-1\t0\t0\toff",
            "K\t(none)\t1.2.3.4:5\t(none)\t0\tx\t0\toff",
            "K\t(none)\t1.2.3.4:5\t(none)\t0\t0\t0\tsometimes",
        ] {
            assert!(bad_peer(bad).is_err(), "{bad:?}");
        }
        let err = parse_dump("SECRETKEY\tb\tport\toff\n").unwrap_err();
        assert!(!err.contains("SECRETKEY"), "{err}");
    }
}
