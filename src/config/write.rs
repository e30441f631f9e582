//! [`Config`] back to text, in the layout of `wg showconf` (plus wg-quick's `Address` and `MTU` when
//! set), which [`super::parse()`] reads back to the same configuration.

use core::fmt::Write;

use zeroize::Zeroizing;

use super::Config;
use crate::core::ip_prefix::IpPrefix;

fn join(prefixes: &[IpPrefix]) -> String {
    prefixes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The configuration as a file. Holds the private and pre-shared keys, so it is wiped when dropped.
pub fn to_text(config: &Config) -> Zeroizing<String> {
    // `write!` to a String cannot fail; the results are ignored for that reason.
    let mut out = Zeroizing::new(String::new());
    let i = &config.interface;
    out.push_str("[Interface]\n");
    if let Some(port) = i.listen_port {
        let _ = writeln!(out, "ListenPort = {port}");
    }
    if i.fwmark != 0 {
        let _ = writeln!(out, "FwMark = {:#x}", i.fwmark);
    }
    if let Some(key) = &i.private_key {
        out.push_str("PrivateKey = ");
        out.push_str(&key.to_base64());
        out.push('\n');
    }
    if !i.addresses.is_empty() {
        let _ = writeln!(out, "Address = {}", join(&i.addresses));
    }
    if let Some(mtu) = i.mtu {
        let _ = writeln!(out, "MTU = {mtu}");
    }
    for peer in &config.peers {
        let _ = writeln!(out, "\n[Peer]\nPublicKey = {}", peer.public_key);
        if let Some(psk) = &peer.preshared_key {
            out.push_str("PresharedKey = ");
            out.push_str(&psk.to_base64());
            out.push('\n');
        }
        if !peer.allowed_ips.is_empty() {
            let _ = writeln!(out, "AllowedIPs = {}", join(&peer.allowed_ips));
        }
        if let Some(endpoint) = &peer.endpoint {
            let _ = writeln!(out, "Endpoint = {endpoint}");
        }
        if peer.persistent_keepalive != 0 {
            let _ = writeln!(out, "PersistentKeepalive = {}", peer.persistent_keepalive);
        }
    }
    out
}
