//! Set-up before the loop, from a [`Plan`]: privilege check, blocked signals, the control socket
//! `wg` talks to, the UDP socket (and its fwmark), the TUN device, and the interface's addresses,
//! MTU and routes. A configuration file and the one-command mode configure the interface here,
//! before the first packet (WireGuard pushes no configuration); `ringtun IFNAME` leaves it bare
//! and down, for `wg` and `ip` (or wg-quick) to configure.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::addressing::InterfacePlan;
use super::hooks::{AppHooks, NoResponseHint};
use super::plan::{INTERFACE_MAX_PACKET, Plan, Start};
use super::{AppError, err};
use crate::cli::Options;
use crate::core::device::DeviceConfig;
use crate::driver::{DriverConfig, Io};
use crate::sys::control_socket::{ControlSocket, ControlSocketError};
use crate::sys::iface::Interface;
use crate::sys::{signal, tun, udp};
use crate::{log_info, log_warn};

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
    /// `/var/run/wireguard/IFNAME.sock`, listening; `None` if it could not be made (see
    /// [`bind_control_socket`]).
    pub control: Option<ControlSocket>,
    pub device_config: DeviceConfig,
    pub driver_config: DriverConfig,
    pub hooks: AppHooks,
    /// The UDP socket's bound address.
    pub local: SocketAddr,
    /// The TUN interface's actual name.
    pub ifname: String,
    /// The line to log once the device runs (`… listening on …`).
    pub start_line: String,
}

/// Privilege check, signals, UDP socket, TUN device and its configuration, for `plan`.
pub fn prepare(opts: &Options, plan: Plan) -> Result<Prepared, AppError> {
    if !has_cap_net_admin() {
        return Err(AppError::new(
            "ringtun needs CAP_NET_ADMIN to create its TUN interface: run it as root (sudo), or \
             from its systemd unit (which grants CAP_NET_ADMIN)",
        ));
    }
    // Blocked before anything else so that a signal during set-up is not lost (and not fatal).
    let signals = signal::block_and_signalfd().map_err(|e| err(format!("signalfd: {e}")))?;
    // Before the interface: a second ringtun for the same name stops here, having touched nothing.
    let bare = plan.start == Start::Interface;
    let control = bind_control_socket(&opts.interface, bare)?;

    let bind_addr = plan.bind;
    let udp_fd = match udp::bind(bind_addr, udp::DEFAULT_BUFFER_BYTES) {
        // A wildcard on a host without IPv6: IPv4 only, rather than not at all.
        Err(e)
            if e.kind() == std::io::ErrorKind::Unsupported
                && bind_addr.ip() == IpAddr::V6(Ipv6Addr::UNSPECIFIED) =>
        {
            log_warn!("IPv6 is not available on this host: using IPv4 only");
            let v4 = SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), bind_addr.port());
            udp::bind(v4, udp::DEFAULT_BUFFER_BYTES).map_err(err)?
        }
        r => r.map_err(err)?,
    };
    if let Some(mark) = plan.device.fwmark {
        udp::set_fwmark(&udp_fd, mark).map_err(err)?;
    }
    let local = udp::local_addr(&udp_fd).map_err(err)?;

    let mtu = plan.interface.mtu;
    let want_offload = std::env::var_os("RINGTUN_NO_OFFLOAD").is_none();
    if !want_offload {
        log_info!("offloads off (RINGTUN_NO_OFFLOAD is set)");
    }
    let (t, offload) = open_tun(&opts.interface, &udp_fd, want_offload)?;
    let iface = Interface::prepare(&t.name, mtu).map_err(err)?;
    if !bare {
        configure_interface(&iface, &plan.interface)?;
    }
    if !plan.interface.full_tunnel.is_empty() {
        let list: Vec<String> = plan
            .interface
            .full_tunnel
            .iter()
            .map(|p| p.to_string())
            .collect();
        log_info!(
            "{}: no route for AllowedIPs {}: a full tunnel needs policy routing, which wg-quick \
             sets up (run the file with wg-quick, or route 0.0.0.0/1 and 128.0.0.0/1 (::/1 and \
             8000::/1) here yourself)",
            t.name,
            list.join(" ")
        );
    }
    let start_line = plan
        .start
        .line(&t.name, local, &plan.interface, plan.device.peers.len());
    Ok(Prepared {
        io: Io {
            tun: t.fd,
            udp: udp_fd,
            signals,
        },
        control,
        hooks: AppHooks::new(match plan.start {
            Start::ConfigFile { .. } | Start::Interface => NoResponseHint::ConfigFile,
            Start::Listen | Start::Connect(_) => NoResponseHint::OneCommand,
        }),
        device_config: plan.device,
        driver_config: DriverConfig {
            // A bare interface's MTU is set later, by `ip`: its buffers take a full frame.
            mtu: if bare {
                mtu.max(INTERFACE_MAX_PACKET)
            } else {
                mtu
            },
            offload,
            // What `driver::probe` found at start (less RINGTUN_FORCE_FALLBACK).
            features: crate::driver::features(),
        },
        local,
        ifname: t.name,
        start_line,
    })
}

/// The control socket of `ifname`: the one systemd passed, or one we bind. Another process
/// serving the name refuses the run; for any other failure (a sandbox without
/// `/var/run/wireguard`, a user that may not create it) a configuration file or the one-command
/// mode runs on without it, saying so, while a bare interface (`bare`), which has no other way to
/// be configured, does not.
fn bind_control_socket(ifname: &str, bare: bool) -> Result<Option<ControlSocket>, AppError> {
    // A socket systemd made for us (ringtun@.socket) comes first: under the unit's sandbox we
    // could not create one ourselves. A wrong one is the unit's error, which a restart won't fix.
    match ControlSocket::inherited(ifname) {
        Ok(Some(socket)) => return Ok(Some(socket)),
        Ok(None) => {}
        Err(e) => return Err(AppError::config(format!("{ifname}: {e}"))),
    }
    match ControlSocket::bind(ifname) {
        Ok(socket) => Ok(Some(socket)),
        Err(e @ ControlSocketError::InUse(_)) => Err(AppError::new(format!(
            "{ifname}: {e} (is another ringtun or wireguard-go running for it?)"
        ))),
        Err(e) if bare => Err(AppError::new(format!("{ifname}: control socket: {e}"))),
        Err(e) => {
            log_warn!("{ifname}: no control socket, so `wg` cannot reach this interface: {e}");
            Ok(None)
        }
    }
}

/// Opens the TUN device in offload mode (vnet header, TSO and checksum offload; UDP GRO on the
/// socket) if `want_offload` (unless `RINGTUN_NO_OFFLOAD` is set) and the kernel agrees; else in
/// plain mode (one IP packet per read/write), saying once why. Returns the device and whether
/// offload mode is on. A device that cannot be created at all (a busy or taken name, no
/// `/dev/net/tun`, no permission) is the error itself: plain mode would fail the same way.
fn open_tun(
    name: &str,
    udp_fd: &std::os::fd::OwnedFd,
    want_offload: bool,
) -> Result<(tun::Tun, bool), AppError> {
    if !want_offload {
        return Ok((tun::open(name).map_err(err)?, false));
    }
    let t = tun::open_with_flags(name, tun::IFF_VNET_HDR).map_err(err)?;
    match tun::enable_offloads(&t.fd).and_then(|()| udp::enable_gro(udp_fd)) {
        Ok(()) => Ok((t, true)),
        Err(e) => {
            log_warn!("TUN/UDP offloads unavailable, one packet at a time: {e}");
            // The device carries vnet headers: made again without them.
            drop(t);
            Ok((tun::open(name).map_err(err)?, false))
        }
    }
}

/// Gives the interface its addresses, MTU and routes; an error is one line naming the interface.
fn configure_interface(iface: &Interface, plan: &InterfacePlan) -> Result<(), AppError> {
    iface
        .configure(&plan.settings())
        .map_err(|e| AppError::new(format!("interface set-up failed: {}: {e}", iface.name())))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::app::one_command::tests::opts;
    use crate::app::{config_file, one_command};
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

    fn prepare_one_command(args: &str) -> Result<Prepared, AppError> {
        let o = opts(args);
        prepare(&o, one_command::plan(&o, &[9; 32])?)
    }

    /// Waits for `ifname` to vanish once its fd is closed. A child forked meanwhile by a parallel
    /// test may hold the fd until its exec, so the removal can lag the close a little.
    fn gone(ifname: &str) -> bool {
        (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            !ip(&["link"]).contains(ifname)
        })
    }

    #[test]
    #[ignore = "needs root"]
    fn server_prepare_configures_the_interface() {
        crate::sys::private_netns::run_isolated(move || {
            let p = prepare_one_command(
                "-l 5555 -a 10.89.0.1/24 -a fd89::1/64 -r 192.168.77.0/24 -r 2001:db8:7::/48 \
                 -i rtsrv0",
            )
            .unwrap();
            assert_eq!(p.local, "[::]:5555".parse().unwrap());
            assert_eq!(p.driver_config.mtu, 1420);
            assert!(
                p.driver_config.offload,
                "this kernel has TUN TSO and UDP GRO"
            );
            assert_eq!(p.device_config.listen_port, Some(5555));
            assert!(
                p.start_line
                    .starts_with("rtsrv0: listening on [::]:5555 (address 10.89.0.1/24")
            );
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
            // The address's own prefix is routed to the tunnel too (by the kernel).
            assert!(
                r4.contains("10.89.0.0/24 proto kernel scope link src 10.89.0.1"),
                "{r4}"
            );
            let r6 = ip(&["-6", "route", "show", "dev", "rtsrv0"]);
            assert!(r6.contains("fd89::/64 proto kernel"), "{r6}");
            assert!(r6.contains("2001:db8:7::/48 proto static"), "{r6}");
            // The same port again: one clear line.
            let e = prepare_one_command("-l 5555 -i rtsrv1").err().unwrap();
            assert!(e.message.contains("UDP port 5555 is already in use"), "{e}");
            drop(p);
            assert!(gone("rtsrv0"), "interface must vanish when its fd closes");
        });
    }

    /// A configuration file's interface: several addresses, routes for AllowedIPs outside them
    /// (none for 0.0.0.0/0), its MTU, and the fwmark on the socket.
    #[test]
    #[ignore = "needs root"]
    fn config_file_prepare_configures_interface_and_socket() {
        crate::sys::private_netns::run_isolated(move || {
            let text = "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n\
                        Address = 10.50.0.1/24, 10.51.0.1/32, fd50::1/64\nMTU = 1380\n\
                        FwMark = 51820\n\
                        [Peer]\nPublicKey = ue26Yz8xz27hYDjdgvTOBQjtWYgMpTemv97xwJzF8XM=\n\
                        AllowedIPs = 10.50.0.2/32, 10.60.0.0/16, 0.0.0.0/0, fd60::/48\n";
            let config =
                crate::config::parse(text.as_bytes(), "rtcf0.conf", &Default::default()).unwrap();
            let plan = config_file::plan(&config, "rtcf0.conf", &|_, _| {
                Err("no resolver in this test".into())
            })
            .unwrap();
            let o = opts("-c /x/rtcf0.conf");
            assert_eq!(o.interface, "rtcf0");
            let p = prepare(&o, plan).unwrap();
            assert!(p.local.is_ipv6() && p.local.port() != 0, "{}", p.local);
            assert_eq!(udp::fwmark(&p.io.udp).unwrap(), 51820);
            assert_eq!(p.driver_config.mtu, 1380);
            let addr = ip(&["addr", "show", "dev", "rtcf0"]);
            for a in ["inet 10.50.0.1/24", "inet 10.51.0.1/32", "inet6 fd50::1/64"] {
                assert!(addr.contains(a), "{addr}");
            }
            let link = ip(&["link", "show", "dev", "rtcf0"]);
            assert!(link.contains("mtu 1380") && link.contains(",UP"), "{link}");
            let r4 = ip(&["-4", "route", "show", "dev", "rtcf0"]);
            assert!(r4.contains("10.60.0.0/16 proto static"), "{r4}");
            assert!(!r4.contains("default"), "{r4}");
            assert!(!r4.contains("10.50.0.2"), "covered by 10.50.0.0/24: {r4}");
            let r6 = ip(&["-6", "route", "show", "dev", "rtcf0"]);
            assert!(r6.contains("fd60::/48 proto static"), "{r6}");
            assert!(
                p.start_line
                    .starts_with("rtcf0: running rtcf0.conf: listening on [::]:")
            );
            assert!(
                p.start_line
                    .contains(", 1 peer (address 10.50.0.1/24 10.51.0.1/32")
            );
            drop(p);
            assert!(gone("rtcf0"));
        });
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

    /// A name taken by another kind of interface is the error, at once: not an offload fallback
    /// that fails again in plain mode.
    #[test]
    #[ignore = "needs root"]
    fn a_taken_name_is_the_error_itself() {
        crate::sys::private_netns::run_isolated(|| {
            // A veth pair: dummy interfaces need a module some kernels lack.
            ip(&[
                "link", "add", "rttaken0", "type", "veth", "peer", "name", "rttaken1",
            ]);
            let udp = udp::bind("127.0.0.1:0".parse().unwrap(), 1 << 16).unwrap();
            for want_offload in [true, false] {
                let e = open_tun("rttaken0", &udp, want_offload).err().unwrap();
                assert!(
                    e.message.starts_with(
                        "cannot create TUN interface rttaken0: the name is taken by another kind \
                         of interface"
                    ),
                    "{e}"
                );
                assert!(!e.message.contains("offload"), "{e}");
            }
            assert!(ip(&["-d", "link", "show", "dev", "rttaken0"]).contains("veth"));
        });
    }

    /// An interface that cannot be configured (here: a route the table has already) ends the
    /// set-up with one line naming the interface and what failed.
    #[test]
    #[ignore = "needs root"]
    fn configuration_failure_is_one_line_naming_the_interface() {
        crate::sys::private_netns::run_isolated(|| {
            let first =
                prepare_one_command("-s 127.0.0.1:5555 -i rtfail0 -r 10.200.0.0/16").unwrap();
            let e = prepare_one_command("-s 127.0.0.1:5555 -i rtfail1 -r 10.200.0.0/16")
                .err()
                .unwrap();
            assert!(
                e.message.starts_with(
                    "interface set-up failed: rtfail1: cannot add route 10.200.0.0/16: the same \
                     route already exists"
                ),
                "{e}"
            );
            assert!(!e.message.contains('\n'), "{e}");
            assert_eq!(e.status, 1);
            assert!(gone("rtfail1"));
            drop(first);
        });
    }
}
