//! One description of a WireGuard interface and its peers, rendered two ways: for `wg setconf`
//! (how the foreign implementations are configured) and as a wg-quick style file with `Address`
//! and `MTU` (what `ringtun -c FILE` will read). Both come from the same [`InterfaceSpec`], so a
//! test can put ringtun or a foreign implementation on either end of the same tunnel.

use super::keys::SecretKey;
use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// A peer of an interface: `[Peer]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerSpec {
    pub public_key: String,
    pub preshared_key: Option<SecretKey>,
    /// CIDR prefixes, e.g. `10.77.0.2/32`.
    pub allowed_ips: Vec<String>,
    /// Where to send to before the peer has been heard from; `None`: wait to be contacted.
    pub endpoint: Option<SocketAddr>,
    /// Seconds; `None`: off.
    pub persistent_keepalive: Option<u16>,
}

impl PeerSpec {
    pub fn new(public_key: &str, allowed_ips: &[&str]) -> PeerSpec {
        PeerSpec {
            public_key: public_key.to_owned(),
            preshared_key: None,
            allowed_ips: allowed_ips.iter().map(|s| (*s).to_owned()).collect(),
            endpoint: None,
            persistent_keepalive: None,
        }
    }
}

/// An interface: `[Interface]` and its peers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceSpec {
    pub private_key: SecretKey,
    /// `None`: a random port.
    pub listen_port: Option<u16>,
    /// CIDR addresses on the tunnel interface (wg-quick's `Address`).
    pub addresses: Vec<String>,
    /// wg-quick's `MTU`; `None`: the implementation's default.
    pub mtu: Option<u32>,
    pub peers: Vec<PeerSpec>,
}

impl InterfaceSpec {
    pub fn new(private_key: SecretKey) -> InterfaceSpec {
        InterfaceSpec {
            private_key,
            listen_port: None,
            addresses: Vec::new(),
            mtu: None,
            peers: Vec::new(),
        }
    }

    pub fn peer(&self, public_key: &str) -> Option<&PeerSpec> {
        self.peers.iter().find(|p| p.public_key == public_key)
    }

    pub fn peer_mut(&mut self, public_key: &str) -> Option<&mut PeerSpec> {
        self.peers.iter_mut().find(|p| p.public_key == public_key)
    }

    /// The file `wg setconf` reads: no `Address` or `MTU` (those are wg-quick's, applied with `ip`).
    pub fn setconf_text(&self) -> String {
        self.render(false)
    }

    /// The wg-quick style file: the same, plus `Address` and `MTU`.
    pub fn wg_quick_text(&self) -> String {
        self.render(true)
    }

    /// Writes [`wg_quick_text`](Self::wg_quick_text) to `path`, readable by its owner only.
    pub fn write_wg_quick(&self, path: &Path) {
        write_secret_file(path, &self.wg_quick_text());
    }

    fn render(&self, wg_quick: bool) -> String {
        let mut s = String::from("[Interface]\n");
        let _ = writeln!(s, "PrivateKey = {}", self.private_key.base64());
        if let Some(port) = self.listen_port {
            let _ = writeln!(s, "ListenPort = {port}");
        }
        if wg_quick {
            if !self.addresses.is_empty() {
                let _ = writeln!(s, "Address = {}", self.addresses.join(", "));
            }
            if let Some(mtu) = self.mtu {
                let _ = writeln!(s, "MTU = {mtu}");
            }
        }
        for p in &self.peers {
            s.push_str("\n[Peer]\n");
            let _ = writeln!(s, "PublicKey = {}", p.public_key);
            if let Some(psk) = &p.preshared_key {
                let _ = writeln!(s, "PresharedKey = {}", psk.base64());
            }
            if !p.allowed_ips.is_empty() {
                let _ = writeln!(s, "AllowedIPs = {}", p.allowed_ips.join(", "));
            }
            if let Some(ep) = p.endpoint {
                let _ = writeln!(s, "Endpoint = {ep}");
            }
            if let Some(k) = p.persistent_keepalive {
                let _ = writeln!(s, "PersistentKeepalive = {k}");
            }
        }
        s
    }
}

/// Writes a file that holds keys: created (or truncated) with mode 0600.
pub fn write_secret_file(path: &Path, text: &str) {
    let _ = fs::remove_file(path);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    f.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-formed base64 key made of one repeated character.
    fn key(c: char) -> String {
        format!("{}A=", c.to_string().repeat(42))
    }

    fn secret(c: char) -> SecretKey {
        SecretKey::from_base64(&key(c)).unwrap()
    }

    #[test]
    fn renders_setconf_and_wg_quick_from_one_spec() {
        let mut spec = InterfaceSpec::new(secret('a'));
        spec.listen_port = Some(51820);
        spec.addresses = vec!["10.77.0.1/24".into(), "fd77::1/64".into()];
        spec.mtu = Some(1420);
        let mut p1 = PeerSpec::new(&key('b'), &["10.77.0.2/32", "10.78.0.0/16"]);
        p1.preshared_key = Some(secret('c'));
        p1.endpoint = Some("[fd00::2]:51821".parse().unwrap());
        p1.persistent_keepalive = Some(25);
        spec.peers = vec![p1, PeerSpec::new(&key('d'), &[])];
        let (a, b, c, d) = (key('a'), key('b'), key('c'), key('d'));
        let peers = format!(
            "\n[Peer]\nPublicKey = {b}\nPresharedKey = {c}\nAllowedIPs = 10.77.0.2/32, 10.78.0.0/16\n\
             Endpoint = [fd00::2]:51821\nPersistentKeepalive = 25\n\n[Peer]\nPublicKey = {d}\n"
        );
        assert_eq!(
            spec.setconf_text(),
            format!("[Interface]\nPrivateKey = {a}\nListenPort = 51820\n{peers}")
        );
        assert_eq!(
            spec.wg_quick_text(),
            format!(
                "[Interface]\nPrivateKey = {a}\nListenPort = 51820\n\
                 Address = 10.77.0.1/24, fd77::1/64\nMTU = 1420\n{peers}"
            )
        );
        // Nothing optional: no empty lines for what is not set.
        let mut bare = InterfaceSpec::new(secret('a'));
        bare.peers.push(PeerSpec::new(&b, &["0.0.0.0/0"]));
        assert_eq!(
            bare.wg_quick_text(),
            format!(
                "[Interface]\nPrivateKey = {a}\n\n[Peer]\nPublicKey = {b}\nAllowedIPs = 0.0.0.0/0\n"
            )
        );
        assert_eq!(bare.setconf_text(), bare.wg_quick_text());
    }

    #[test]
    fn keys_do_not_show_in_debug() {
        let mut spec = InterfaceSpec::new(secret('a'));
        let mut p = PeerSpec::new(&key('b'), &[]);
        p.preshared_key = Some(secret('c'));
        spec.peers.push(p);
        let shown = format!("{spec:?}");
        assert!(
            !shown.contains(&key('a')) && !shown.contains(&key('c')),
            "{shown}"
        );
        assert!(shown.contains(&key('b')), "public keys may show: {shown}");
    }
}
