//! Set-up before the loop: privilege check, blocked signals, the key, the UDP socket, the TUN
//! device, and the interface configuration (the server's at start, the client's on its first
//! `SessionUp` through [`configure_interface`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::addressing::{Cidr, Side, own_side, server_tunnel_config};
use super::hooks::AppHooks;
use super::{AppError, err};
use crate::cli::{Mode, Options};
use crate::core::{EndpointConfig, Role, Timers, TunnelConfig};
use crate::driver::{DriverConfig, Io};
use crate::sys::iface::Interface;
use crate::sys::{signal, tun, udp};
use crate::{keyfile, log_info, log_warn};

/// CAP_NET_ADMIN in the effective set (bit 12 of CapEff in /proc/self/status). Unknown counts as
/// present: the syscalls will then say what is missing.
fn has_cap_net_admin() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| cap_net_admin_in(&s))
        .unwrap_or(true)
}

/// Parses CapEff out of a /proc/PID/status text; `None` if absent or malformed.
fn cap_net_admin_in(status: &str) -> Option<bool> {
    const CAP_NET_ADMIN: u32 = 12;
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .map(|caps| caps & (1 << CAP_NET_ADMIN) != 0)
}

/// Everything [`super::run`] sets up before handing over to the driver.
pub struct Prepared {
    pub io: Io,
    pub endpoint_config: EndpointConfig,
    pub driver_config: DriverConfig,
    pub hooks: AppHooks,
    /// The UDP socket's bound address.
    pub local: SocketAddr,
    /// The TUN interface's actual name.
    pub ifname: String,
}

/// Privilege check, signals, key, UDP socket, TUN device; the server's interface is configured
/// here, the client's on its first `SessionUp`.
pub fn prepare(opts: &Options) -> Result<Prepared, AppError> {
    if !has_cap_net_admin() {
        return Err(AppError(
            "ringtun needs CAP_NET_ADMIN to create its TUN interface: run as root or grant \
             CAP_NET_ADMIN (setcap cap_net_admin+ep ringtun)"
                .into(),
        ));
    }
    // Blocked before anything else so that a signal during set-up is not lost (and not fatal).
    let signals = signal::block_and_signalfd().map_err(|e| err(format!("signalfd: {e}")))?;
    let psk = keyfile::read(&opts.key_path).map_err(err)?;

    let is_server = opts.is_server();
    let (bind_addr, role) = match opts.mode {
        Mode::Listen(a) => (a, Role::Responder),
        Mode::Connect(server) => {
            let any: IpAddr = if server.is_ipv6() {
                Ipv6Addr::UNSPECIFIED.into()
            } else {
                Ipv4Addr::UNSPECIFIED.into()
            };
            (SocketAddr::new(any, 0), Role::Initiator { server })
        }
    };
    let udp_fd = match udp::bind(bind_addr, udp::DEFAULT_BUFFER_BYTES) {
        // A bare `-l PORT` on a host without IPv6: IPv4 only, rather than not at all.
        Err(e)
            if e.kind() == std::io::ErrorKind::Unsupported
                && is_server
                && bind_addr.ip() == IpAddr::V6(Ipv6Addr::UNSPECIFIED) =>
        {
            log_warn!("IPv6 is not available on this host: listening on IPv4 only");
            let v4 = SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), bind_addr.port());
            udp::bind(v4, udp::DEFAULT_BUFFER_BYTES).map_err(err)?
        }
        r => r.map_err(err)?,
    };
    let local = udp::local_addr(&udp_fd).map_err(err)?;

    let mtu = opts.effective_mtu();
    let want_offload = std::env::var_os("RINGTUN_NO_OFFLOAD").is_none();
    if !want_offload {
        log_info!("offloads off (RINGTUN_NO_OFFLOAD is set)");
    }
    let (t, offload) = open_tun(&opts.interface, &udp_fd, want_offload)?;
    let iface = Interface::prepare(&t.name, mtu).map_err(err)?;

    let tunnel = if is_server {
        let cfg = server_tunnel_config(&opts.addresses, &opts.peers, mtu)?;
        configure_interface(&iface, &own_side(&cfg, true), &opts.routes)?;
        cfg
    } else {
        // Unused by an initiator; its addressing comes in the server's response.
        TunnelConfig {
            mtu,
            ipv4: None,
            ipv6: None,
        }
    };
    Ok(Prepared {
        io: Io {
            tun: t.fd,
            udp: udp_fd,
            signals,
        },
        endpoint_config: EndpointConfig {
            psk,
            role,
            tunnel,
            timers: Timers::default(),
        },
        driver_config: DriverConfig {
            mtu,
            offload,
            // What `driver::probe` found at start (less RINGTUN_FORCE_FALLBACK).
            features: crate::driver::features(),
        },
        local,
        ifname: t.name,
        hooks: AppHooks::new(opts, iface, mtu),
    })
}

/// Opens the TUN device in offload mode (vnet header, TSO and checksum offload; UDP GRO on the
/// socket) if `want_offload` (unless `RINGTUN_NO_OFFLOAD` is set) and the kernel agrees; else in
/// plain mode (one IP packet per read/write), saying once why. Returns the device and whether
/// offload mode is on.
fn open_tun(
    name: &str,
    udp_fd: &std::os::fd::OwnedFd,
    want_offload: bool,
) -> Result<(tun::Tun, bool), AppError> {
    if !want_offload {
        return Ok((tun::open(name).map_err(err)?, false));
    }
    match tun::open_offload(name) {
        Ok(t) => match udp::enable_gro(udp_fd) {
            Ok(()) => return Ok((t, true)),
            Err(e) => {
                log_warn!("TUN/UDP offloads unavailable, one packet at a time: {e}");
                drop(t);
            }
        },
        Err(e) => log_warn!("TUN/UDP offloads unavailable, one packet at a time: {e}"),
    }
    Ok((tun::open(name).map_err(err)?, false))
}

/// Gives the interface `side`'s addresses and MTU and `routes`; an error names the interface.
pub(super) fn configure_interface(
    iface: &Interface,
    side: &Side,
    routes: &[Cidr],
) -> Result<(), AppError> {
    iface
        .configure(&side.settings(routes))
        .map_err(|e| AppError(format!("{}: {e}", iface.name())))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::app::addressing::tests::opts;
    use crate::sys::random;
    use crate::sys::testnet::ip;
    use std::time::Duration;

    #[test]
    fn cap_net_admin_parsing() {
        assert_eq!(
            cap_net_admin_in("Name:\tx\nCapEff:\t000001ffffffffff\n"),
            Some(true)
        );
        assert_eq!(cap_net_admin_in("CapEff:\t0000000000000000\n"), Some(false));
        assert_eq!(cap_net_admin_in("CapEff:\t0000000000001000\n"), Some(true));
        assert_eq!(cap_net_admin_in("CapEff:\tzz\n"), None);
        assert_eq!(cap_net_admin_in(""), None);
    }

    pub(in crate::app) fn temp_key(tag: &str) -> std::path::PathBuf {
        let mut r = [0u8; 8];
        random::fill(&mut r).unwrap();
        let p = std::env::temp_dir().join(format!(
            "ringtun-app-{tag}-{}-{:x}/key",
            std::process::id(),
            u64::from_le_bytes(r)
        ));
        keyfile::write_new(&p, &[9u8; 32]).unwrap();
        p
    }

    #[test]
    #[ignore = "needs root"]
    fn server_prepare_configures_the_interface() {
        let key = temp_key("srv");
        let k = key.display().to_string();
        let dir = key.parent().unwrap().to_path_buf();
        crate::sys::private_netns::run_isolated(move || {
            let o = opts(&format!(
                "-l 5555 -k {k} -a 10.89.0.1/24 -a fd89::1/64 -r 192.168.77.0/24 \
                 -r 2001:db8:7::/48 -i rtsrv0"
            ));
            let p = prepare(&o).unwrap();
            assert_eq!(p.local, "[::]:5555".parse().unwrap());
            assert_eq!(p.driver_config.mtu, 1420);
            assert!(
                p.driver_config.offload,
                "this kernel has TUN TSO and UDP GRO"
            );
            assert_eq!(p.endpoint_config.psk, [9u8; 32]);
            assert_eq!(p.endpoint_config.role, Role::Responder);
            let v4 = p.endpoint_config.tunnel.ipv4.unwrap();
            assert_eq!(v4.client, Ipv4Addr::new(10, 89, 0, 2));
            let link = ip(&["link", "show", "dev", "rtsrv0"]);
            assert!(
                link.contains("mtu 1420") && link.contains("qlen 4096"),
                "{link}"
            );
            assert!(link.contains(",UP"), "{link}");
            let addr = ip(&["addr", "show", "dev", "rtsrv0"]);
            assert!(addr.contains("inet 10.89.0.1/24"), "{addr}");
            assert!(addr.contains("inet6 fd89::1/64"), "{addr}");
            let r4 = ip(&["-4", "route", "show", "dev", "rtsrv0"]);
            assert!(r4.contains("192.168.77.0/24 proto static"), "{r4}");
            // The address's own prefix is routed to the tunnel too.
            assert!(
                r4.contains("10.89.0.0/24 proto kernel scope link src 10.89.0.1"),
                "{r4}"
            );
            let r6 = ip(&["-6", "route", "show", "dev", "rtsrv0"]);
            assert!(r6.contains("fd89::/64 proto kernel"), "{r6}");
            assert!(r6.contains("2001:db8:7::/48 proto static"), "{r6}");
            // The same port again: one clear line.
            let e = prepare(&opts(&format!("-l 5555 -k {k} -i rtsrv1")))
                .err()
                .unwrap();
            assert!(e.0.contains("UDP port 5555 is already in use"), "{e}");
            drop(p);
            // A child forked meanwhile by a parallel test may hold the fd until its exec, so the
            // removal can lag the close a little.
            let gone = (0..100).any(|_| {
                std::thread::sleep(Duration::from_millis(10));
                !ip(&["link"]).contains("rtsrv0")
            });
            assert!(gone, "interface must vanish when its fd closes");
        });
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    #[ignore = "needs root"]
    fn tun_opens_with_offloads_or_plain_on_request() {
        crate::sys::private_netns::run_isolated(|| {
            let udp = udp::bind("127.0.0.1:0".parse().unwrap(), 1 << 16).unwrap();
            let (t, on) = open_tun("rtoff0", &udp, true).unwrap();
            assert!(on);
            assert_eq!(t.name, "rtoff0");
            let udp2 = udp::bind("127.0.0.1:0".parse().unwrap(), 1 << 16).unwrap();
            let (p, on) = open_tun("rtplain0", &udp2, false).unwrap();
            assert!(!on);
            assert_eq!(p.name, "rtplain0");
        });
    }
}
