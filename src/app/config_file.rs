//! The plan of a WireGuard configuration file (`ringtun -c wg0.conf`): what `wg setconf` applies
//! plus wg-quick's `Address` and `MTU`, and the routes wg-quick would add for the peers'
//! AllowedIPs (except a default route: see [`super::addressing::routes_for`]).
//!
//! Refused, each with one line naming file:line: wg-quick's other keys (DNS, Table, Pre/PostUp,
//! Pre/PostDown, SaveConfig: the file belongs to wg-quick then), and a file without a private key.

use std::net::{IpAddr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::AppError;
use super::addressing::{InterfacePlan, MIN_MTU, MIN_MTU_V6, default_mtu};
use super::plan::{Plan, Start};
use crate::config::{self, Config, EndpointHost, ErrorKind};
use crate::core::device::{DeviceConfig, PeerConfig};
use crate::log_warn;

/// Reads the file at `path` and plans its run; host names in `Endpoint`s are resolved here, once.
pub fn load_plan(path: &Path) -> Result<Plan, AppError> {
    let config = config::load(path, &config::Limits::default()).map_err(|e| {
        let cannot_read = matches!(e.kind, ErrorKind::Io(_));
        let message = e.to_string();
        if cannot_read {
            AppError::new(message)
        } else {
            AppError::config(message)
        }
    })?;
    // A warning, as wg-quick gives one: the key is read already, refusing now would not unread it.
    let mode = std::fs::metadata(path).map_or(0, |m| m.mode());
    if mode & 0o077 != 0 {
        log_warn!(
            "{} holds a private key and group or others may access it (mode {:04o}): chmod 600 it",
            path.display(),
            mode & 0o7777
        );
    }
    plan(&config, &path.display().to_string(), &resolve)
}

/// The plan of a parsed `config` read from `source`. `resolve` turns an `Endpoint` host name and
/// port into an address.
pub fn plan(
    config: &Config,
    source: &str,
    resolve: &dyn Fn(&str, u16) -> Result<SocketAddr, String>,
) -> Result<Plan, AppError> {
    if let Some(setting) = config.wg_quick_only.first() {
        return Err(AppError::config(setting.refusal(source).to_string()));
    }
    let iface = &config.interface;
    let Some(private_key) = iface.private_key.clone() else {
        return Err(AppError::config(format!(
            "{source}: [Interface] has no PrivateKey: add one (`ringtun genkey` prints a new key)"
        )));
    };
    let mtu = iface.mtu.unwrap_or_else(|| default_mtu(true));
    let has_v6 = iface.addresses.iter().any(|a| !a.is_ipv4());
    if mtu < MIN_MTU || (has_v6 && mtu < MIN_MTU_V6) {
        let least = if has_v6 { MIN_MTU_V6 } else { MIN_MTU };
        return Err(AppError::config(format!(
            "{source}: MTU {mtu} is too small: at least {least}{}",
            if has_v6 { " with an IPv6 Address" } else { "" }
        )));
    }

    let mut device = DeviceConfig::new(private_key);
    device.listen_port = iface.listen_port.filter(|&p| p != 0);
    device.fwmark = Some(iface.fwmark).filter(|&m| m != 0);
    for p in &config.peers {
        let mut peer = PeerConfig::new(p.public_key);
        peer.preshared_key = p.preshared_key.clone();
        peer.allowed_ips = p.allowed_ips.clone();
        peer.persistent_keepalive = Some(p.persistent_keepalive).filter(|&k| k != 0);
        peer.endpoint = match &p.endpoint {
            None => None,
            Some(e) => Some(match &e.host {
                EndpointHost::Ip(ip) => SocketAddr::new(*ip, e.port),
                EndpointHost::Name(name) => resolve(name, e.port).map_err(|why| {
                    AppError::new(format!(
                        "{source}: peer {}: cannot resolve Endpoint host '{name}': {why}",
                        p.public_key
                    ))
                })?,
            }),
        };
        device.peers.push(peer);
    }
    device
        .validate()
        .map_err(|e| AppError::config(format!("{source}: {e}")))?;

    let allowed = device
        .peers
        .iter()
        .flat_map(|p| p.allowed_ips.iter().copied());
    let interface = InterfacePlan::new(mtu, iface.addresses.clone(), allowed);
    Ok(Plan {
        // As wg: a random port when none is given; dual-stack, so peers of either family reach it.
        bind: SocketAddr::new(
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            device.listen_port.unwrap_or(0),
        ),
        device,
        interface,
        start: Start::ConfigFile {
            source: source.to_string(),
        },
    })
}

/// `host:port` through the system's resolver, IPv4 first when both exist (as `-s` does).
fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| "no addresses".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::addressing::tests::p;
    use crate::core::keys::{PrivateKey, PublicKey};

    const PRIVATE: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    const PEER_A: &str = "ue26Yz8xz27hYDjdgvTOBQjtWYgMpTemv97xwJzF8XM=";
    const PEER_B: &str = "GgFY5EcJuDAAa5Zww+rOaOqFi1psHTJ7NBZvV/jz6CY=";

    fn parse(text: &str) -> Config {
        config::parse(text.as_bytes(), "wg0.conf", &config::Limits::default()).unwrap()
    }

    fn no_dns(host: &str, _port: u16) -> Result<SocketAddr, String> {
        match host {
            "vpn.example" => Ok("192.0.2.44:51820".parse().unwrap()),
            _ => Err("Name or service not known".into()),
        }
    }

    fn plan_of(text: &str) -> Result<Plan, AppError> {
        plan(&parse(text), "wg0.conf", &no_dns)
    }

    #[test]
    fn a_wg_quick_hub_file() {
        let text = format!(
            "[Interface]\nPrivateKey = {PRIVATE}\nListenPort = 51820\nAddress = 10.0.0.1/24, \
             fd00::1/64\nFwMark = 0x1234\n\n\
             [Peer]\nPublicKey = {PEER_A}\nAllowedIPs = 10.0.0.2/32, 192.168.10.0/24\n\
             Endpoint = vpn.example:51820\nPersistentKeepalive = 25\n\n\
             [Peer]\nPublicKey = {PEER_B}\nAllowedIPs = 10.0.0.3/32, fd00::3/128, 0.0.0.0/0\n\
             Endpoint = [2001:db8::7]:4000\n"
        );
        let plan = plan_of(&text).unwrap();
        let d = &plan.device;
        assert_eq!(d.private_key, PrivateKey::from_base64(PRIVATE).unwrap());
        assert_eq!(d.listen_port, Some(51820));
        assert_eq!(d.fwmark, Some(0x1234));
        assert_eq!(d.peers.len(), 2);
        assert_eq!(
            d.peers[0].public_key,
            PublicKey::from_base64(PEER_A).unwrap()
        );
        assert_eq!(
            d.peers[0].endpoint,
            Some("192.0.2.44:51820".parse().unwrap())
        );
        assert_eq!(d.peers[0].persistent_keepalive, Some(25));
        assert_eq!(
            d.peers[1].endpoint,
            Some("[2001:db8::7]:4000".parse().unwrap())
        );
        assert_eq!(d.peers[1].persistent_keepalive, None);
        assert_eq!(d.peers[1].allowed_ips.len(), 3);
        assert_eq!(plan.bind, "[::]:51820".parse().unwrap());
        let i = &plan.interface;
        assert_eq!(i.mtu, 1420);
        assert_eq!(i.addresses, vec![p("10.0.0.1/24"), p("fd00::1/64")]);
        assert_eq!(i.routes, vec![p("192.168.10.0/24")]);
        assert_eq!(i.full_tunnel, vec![p("0.0.0.0/0")]);
        assert_eq!(
            plan.start,
            Start::ConfigFile {
                source: "wg0.conf".into()
            }
        );
    }

    #[test]
    fn a_minimal_file_gets_a_random_port_and_the_default_mtu() {
        let plan = plan_of(&format!(
            "[Interface]\nPrivateKey = {PRIVATE}\nMTU = 1380\n"
        ))
        .unwrap();
        assert_eq!(plan.device.listen_port, None);
        assert_eq!(plan.device.fwmark, None);
        assert_eq!(plan.bind, "[::]:0".parse().unwrap());
        assert_eq!(plan.interface.mtu, 1380);
        assert!(plan.interface.addresses.is_empty());
        let plan = plan_of(&format!(
            "[Interface]\nPrivateKey = {PRIVATE}\nListenPort = 0\n"
        ))
        .unwrap();
        assert_eq!(plan.device.listen_port, None);
        assert_eq!(plan.interface.mtu, 1420);
    }

    #[test]
    fn wg_quick_keys_are_refused_with_file_and_line() {
        let e = plan_of(&format!(
            "[Interface]\nPrivateKey = {PRIVATE}\nAddress = 10.0.0.1/24\nDNS = 1.1.1.1\nPostUp = true\n"
        ))
        .unwrap_err();
        assert_eq!(e.status, 2);
        assert!(
            e.message
                .starts_with("wg0.conf:4: DNS is a wg-quick setting: ringtun -c does not set DNS;"),
            "{e}"
        );
        assert!(
            e.message.contains("wg-quick") && e.message.contains("remove the line"),
            "{e}"
        );
        assert!(!e.message.contains('\n'));
    }

    #[test]
    fn what_cannot_run_is_refused_on_one_line() {
        let e = plan_of("[Interface]\nListenPort = 1\n").unwrap_err();
        assert_eq!(e.status, 2);
        assert!(
            e.message
                .starts_with("wg0.conf: [Interface] has no PrivateKey"),
            "{e}"
        );
        let e = plan_of(&format!(
            "[Interface]\nPrivateKey = {PRIVATE}\nAddress = fd00::1/64\nMTU = 1000\n"
        ))
        .unwrap_err();
        assert_eq!(e.status, 2);
        assert!(
            e.message.contains("MTU 1000 is too small: at least 1280"),
            "{e}"
        );
        let e = plan_of(&format!(
            "[Interface]\nPrivateKey = {PRIVATE}\n[Peer]\nPublicKey = {PEER_A}\nEndpoint = nowhere.invalid:1\n"
        ))
        .unwrap_err();
        assert_eq!(e.status, 1);
        assert_eq!(
            e.message,
            format!(
                "wg0.conf: peer {PEER_A}: cannot resolve Endpoint host 'nowhere.invalid': Name or \
                 service not known"
            )
        );
        assert!(!e.message.contains(PRIVATE), "{e}");
    }

    #[test]
    fn load_plan_reports_a_missing_file_and_parse_errors() {
        let dir = std::env::temp_dir().join(format!("ringtun-cf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("none.conf");
        let e = load_plan(&missing).unwrap_err();
        assert_eq!(e.status, 1);
        assert!(e.message.starts_with(&missing.display().to_string()), "{e}");
        let bad = dir.join("bad.conf");
        std::fs::write(&bad, "[Interface]\nBogus = 1\n").unwrap();
        let e = load_plan(&bad).unwrap_err();
        assert_eq!(e.status, 2);
        assert!(
            e.message.starts_with(&format!("{}:2:", bad.display())),
            "{e}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
