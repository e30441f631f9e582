//! The binary's glue: options to file descriptors, the endpoint, and the driver's [`Hooks`]
//! (interface set-up on `SessionUp`, log lines, rate limiting of lines caused by network input).
//!
//! Clock: the core and the driver must share one monotonic origin, so both take it from
//! [`clock_start`] and convert with [`monotonic_now`].

use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use crate::cli::{Cidr, MIN_MTU_V6, Mode, Options};
use crate::core::wire::{V4Config, V6Config};
use crate::core::{
    DropReason, Endpoint, EndpointConfig, Event, Instant, Role, Stats, Timers, TunnelConfig,
};
use crate::driver::{self, DriverConfig, DriverStats, Exit, Hooks, Io};
use crate::log::{RateLimiter, Verdict, suppressed_suffix};
use crate::sys::{netlink, random, signal, tun, udp};
use crate::{keyfile, log_debug, log_info, log_warn};

/// A failure that ends the program: one line for `ringtun: error: …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError(pub String);

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AppError {}

fn err(e: impl fmt::Display) -> AppError {
    AppError(e.to_string())
}

/// The process-wide origin of the core's clock (taken on first use).
pub fn clock_start() -> std::time::Instant {
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    *START.get_or_init(std::time::Instant::now)
}

/// Nanoseconds since `start` as a core [`Instant`] (saturating; the process will not run 584
/// years).
pub fn monotonic_now(start: std::time::Instant) -> Instant {
    Instant::from_nanos(u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX))
}

/// Unix time in nanoseconds (0 if the clock is before 1970), for the initiation timestamp.
pub fn wall_clock_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `ringtun genkey [FILE]`.
pub fn genkey(path: Option<&Path>) -> Result<(), AppError> {
    match path {
        None => keyfile::generate_to_stdout().map_err(err),
        Some(p) => {
            keyfile::generate_to(p).map_err(err)?;
            log_info!(
                "wrote a new key to {} (mode 0600): copy it to the other host over a secure channel",
                p.display()
            );
            Ok(())
        }
    }
}

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

/// Everything [`run`] sets up before handing over to the driver.
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

/// Runs the tunnel until SIGINT or SIGTERM.
pub fn run(opts: Options) -> Result<(), AppError> {
    crate::log::set_verbosity(opts.verbosity);
    driver::probe().map_err(err)?;
    let Prepared {
        io,
        endpoint_config,
        driver_config,
        mut hooks,
        local,
        ifname: _,
    } = prepare(&opts)?;
    let seed = random::bytes32().map_err(|e| err(format!("getrandom: {e}")))?;
    let mut endpoint = Endpoint::new(
        endpoint_config,
        seed,
        monotonic_now(clock_start()),
        wall_clock_ns(),
    );
    match opts.mode {
        Mode::Listen(_) => log_info!("listening on {local}"),
        Mode::Connect(server) => log_info!("connecting to {server} from {local}"),
    }
    match driver::run(&mut endpoint, io, &driver_config, &mut hooks).map_err(err)? {
        Exit::Signal(sig) => {
            log_info!("exiting on {}", signal::name(sig));
            Ok(())
        }
    }
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
    let ifname = t.name.clone();
    tun::set_txqueuelen(&ifname, tun::DEFAULT_TXQUEUELEN).map_err(err)?;
    tun::set_mtu(&ifname, mtu).map_err(err)?;
    let ifindex = tun::if_index(&ifname).map_err(err)?;

    let tunnel = if is_server {
        let cfg = server_tunnel_config(opts, mtu)?;
        configure_interface(&ifname, ifindex, &own_side(&cfg, true), &opts.routes)?;
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
        driver_config: DriverConfig { mtu, offload },
        hooks: AppHooks::new(opts, ifname.clone(), ifindex, mtu),
        local,
        ifname,
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

/// The server's addressing and what it pushes: `-p` per family, else its own address + 1.
pub fn server_tunnel_config(opts: &Options, mtu: u16) -> Result<TunnelConfig, AppError> {
    let mut cfg = TunnelConfig {
        mtu,
        ipv4: None,
        ipv6: None,
    };
    for a in &opts.addresses {
        let peer = opts
            .peers
            .iter()
            .copied()
            .find(|p| p.is_ipv4() == a.addr.is_ipv4());
        let client = match peer {
            Some(p) => p,
            None => next_address(a).ok_or_else(|| {
                AppError(format!(
                    "-a {a}: no room for the client's address after {} in the prefix: give it \
                     with -p",
                    a.addr
                ))
            })?,
        };
        match (a.addr, client) {
            (IpAddr::V4(server), IpAddr::V4(client)) => {
                cfg.ipv4 = Some(V4Config {
                    client,
                    prefix: a.prefix,
                    server,
                })
            }
            (IpAddr::V6(server), IpAddr::V6(client)) => {
                if mtu < MIN_MTU_V6 {
                    return Err(AppError(format!(
                        "-a {a}: IPv6 needs an MTU of at least {MIN_MTU_V6} (have {mtu})"
                    )));
                }
                cfg.ipv6 = Some(V6Config {
                    client,
                    prefix: a.prefix,
                    server,
                })
            }
            _ => return Err(AppError(format!("-a {a}: peer of another family"))),
        }
    }
    Ok(cfg)
}

/// `a.addr + 1` if it is still inside the prefix and, for IPv4 below /31, not the broadcast.
fn next_address(a: &Cidr) -> Option<IpAddr> {
    let next: IpAddr = match a.addr {
        IpAddr::V4(v) => {
            let n = u32::from(v).checked_add(1)?;
            let host_bits = 32 - u32::from(a.prefix.min(32));
            if host_bits >= 2 && n & ((1u32 << host_bits) - 1) == (1u32 << host_bits) - 1 {
                return None;
            }
            Ipv4Addr::from(n).into()
        }
        IpAddr::V6(v) => Ipv6Addr::from(u128::from(v).checked_add(1)?).into(),
    };
    a.contains(next).then_some(next)
}

/// One side's interface configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Side {
    pub v4: Option<(Ipv4Addr, u8)>,
    pub v6: Option<(Ipv6Addr, u8)>,
    pub peer_v4: Option<Ipv4Addr>,
    pub peer_v6: Option<Ipv6Addr>,
    pub mtu: u16,
}

/// This side's view of a tunnel config: the server's half (`server`) or the client's.
pub fn own_side(cfg: &TunnelConfig, server: bool) -> Side {
    let pick4 = |c: &V4Config| {
        if server {
            (c.server, c.client)
        } else {
            (c.client, c.server)
        }
    };
    let pick6 = |c: &V6Config| {
        if server {
            (c.server, c.client)
        } else {
            (c.client, c.server)
        }
    };
    Side {
        v4: cfg.ipv4.as_ref().map(|c| (pick4(c).0, c.prefix)),
        v6: cfg.ipv6.as_ref().map(|c| (pick6(c).0, c.prefix)),
        peer_v4: cfg.ipv4.as_ref().map(|c| pick4(c).1),
        peer_v6: cfg.ipv6.as_ref().map(|c| pick6(c).1),
        mtu: cfg.mtu,
    }
}

/// The client's configuration from the pushed one: a client given its own address (`-a`) keeps
/// it, its own `-p` and `-m` likewise; a pushed MTU above `max_mtu` (what the driver's buffers
/// were sized for) is lowered to it.
pub fn client_side(opts: &Options, pushed: &TunnelConfig, max_mtu: u16) -> (Side, Vec<String>) {
    let mut warnings = Vec::new();
    let mut s = own_side(pushed, false);
    for a in &opts.addresses {
        match a.addr {
            IpAddr::V4(v) => s.v4 = Some((v, a.prefix)),
            IpAddr::V6(v) => s.v6 = Some((v, a.prefix)),
        }
    }
    for p in &opts.peers {
        match p {
            IpAddr::V4(v) => s.peer_v4 = Some(*v),
            IpAddr::V6(v) => s.peer_v6 = Some(*v),
        }
    }
    s.mtu = match opts.mtu {
        Some(m) => m,
        None if pushed.mtu > max_mtu => {
            warnings.push(format!(
                "the server pushed mtu {}, more than this client's {max_mtu}: using {max_mtu} \
                 (give -m to raise it)",
                pushed.mtu
            ));
            max_mtu
        }
        None => pushed.mtu,
    };
    if s.v6.is_some() && s.mtu < MIN_MTU_V6 {
        warnings.push(format!(
            "mtu {} is below IPv6's minimum of {MIN_MTU_V6}: not configuring IPv6",
            s.mtu
        ));
        s.v6 = None;
        s.peer_v6 = None;
    }
    (s, warnings)
}

/// MTU, addresses, link up, routes: the order matters (IPv6 needs MTU >= 1280 first; routes need
/// the link up).
fn configure_interface(
    ifname: &str,
    ifindex: u32,
    side: &Side,
    routes: &[Cidr],
) -> Result<(), AppError> {
    let on = |e: std::io::Error| AppError(format!("{ifname}: {e}"));
    tun::set_mtu(ifname, side.mtu).map_err(on)?;
    if let Some((a, p)) = side.v4 {
        tun::set_ipv4(ifname, a, p).map_err(on)?;
    }
    if let Some((a, p)) = side.v6 {
        netlink::ensure_ipv6_enabled(ifname).map_err(on)?;
        netlink::add_address(ifindex, a.into(), p).map_err(on)?;
    }
    tun::set_up(ifname).map_err(on)?;
    for r in routes {
        netlink::add_route(ifindex, r.addr, r.prefix).map_err(on)?;
    }
    Ok(())
}

/// `(address A/P, peer B, mtu M)`; with both families, each list holds two items separated by a
/// space (IPv4 first).
pub fn describe_side(s: &Side) -> String {
    let mut addrs = Vec::new();
    if let Some((a, p)) = s.v4 {
        addrs.push(format!("{a}/{p}"));
    }
    if let Some((a, p)) = s.v6 {
        addrs.push(format!("{a}/{p}"));
    }
    let mut peers = Vec::new();
    if let Some(a) = s.peer_v4 {
        peers.push(a.to_string());
    }
    if let Some(a) = s.peer_v6 {
        peers.push(a.to_string());
    }
    let none = |v: Vec<String>| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(" ")
        }
    };
    format!(
        "(address {}, peer {}, mtu {})",
        none(addrs),
        none(peers),
        s.mtu
    )
}

/// The one-line counter dump.
pub fn format_stats(core: &Stats, d: &DriverStats) -> String {
    let mut s = format!(
        "stats: tx_packets={} tx_bytes={} rx_packets={} rx_bytes={} keepalives_sent={} \
         keepalives_received={} handshakes_initiated={} handshakes_completed={}",
        core.tx_packets,
        core.tx_bytes,
        core.rx_packets,
        core.rx_bytes,
        core.keepalives_sent,
        core.keepalives_received,
        core.handshakes_initiated,
        core.handshakes_completed
    );
    for r in DropReason::ALL {
        let _ = write!(s, " drop.{}={}", r.name(), core.drops_of(r));
    }
    let _ = write!(
        s,
        " tun_reads={} udp_recvs={} tun_writes={} udp_sends={} tun_write_errors={} \
         udp_send_errors={} out_of_buffers={} submits={} direct_sends={} direct_writes={}",
        d.tun_reads,
        d.udp_recvs,
        d.tun_writes,
        d.udp_sends,
        d.tun_write_errors,
        d.udp_send_errors,
        d.out_of_buffers,
        d.submits,
        d.direct_sends,
        d.direct_writes
    );
    if d.tso_packets + d.gro_batches + d.out_sends + d.coalesced_writes + d.offload_drops > 0 {
        let _ = write!(
            s,
            " tso_packets={} tso_segments={} out_sends={} gro_batches={} gro_datagrams={} \
             coalesced_writes={} offload_drops={} gso_refused={} send_slot_drops={}",
            d.tso_packets,
            d.tso_segments,
            d.out_sends,
            d.gro_batches,
            d.gro_datagrams,
            d.coalesced_writes,
            d.offload_drops,
            d.gso_refused,
            d.send_slot_drops
        );
    }
    s
}

/// The drop line (without the `ringtun: ` prefix).
pub fn format_drop(reason: DropReason, from: Option<SocketAddr>, suppressed: u64) -> String {
    let hint = if reason == DropReason::HandshakeAuthFailed {
        " (wrong key?)"
    } else {
        ""
    };
    let what = match from {
        Some(a) => format!("datagram from {a}"),
        None => "packet from the TUN device".to_string(),
    };
    format!(
        "dropped {what}: {}{hint}{}",
        reason.name(),
        suppressed_suffix(suppressed)
    )
}

/// Drop lines: at most this many per reason per interval.
const DROP_LINES_BURST: u32 = 5;
const DROP_LINES_INTERVAL: Duration = Duration::from_secs(10);
/// The "no handshake response" hint: once per interval.
const NO_RESPONSE_INTERVAL: Duration = Duration::from_secs(10);

/// The driver hooks of the binary.
pub struct AppHooks {
    server: Option<SocketAddr>,
    ifname: String,
    ifindex: u32,
    client_opts: Option<Options>,
    max_mtu: u16,
    /// What the interface was configured with (client: at the first SessionUp).
    configured: Option<Side>,
    drops: RateLimiter,
    no_response: RateLimiter,
}

impl AppHooks {
    /// `max_mtu`: the MTU the driver's buffers are sized for.
    pub fn new(opts: &Options, ifname: String, ifindex: u32, max_mtu: u16) -> Self {
        let (server, client_opts) = match opts.mode {
            Mode::Connect(s) => (Some(s), Some(opts.clone())),
            Mode::Listen(_) => (None, None),
        };
        AppHooks {
            server,
            ifname,
            ifindex,
            client_opts,
            max_mtu,
            configured: None,
            drops: RateLimiter::new(DropReason::COUNT, DROP_LINES_BURST, DROP_LINES_INTERVAL),
            no_response: RateLimiter::new(1, 1, NO_RESPONSE_INTERVAL),
        }
    }

    /// The client configures its interface on the first `SessionUp`; failing that, the error
    /// ends the driver's loop and so the program (a client without its interface is useless).
    fn session_up(&mut self, peer: SocketAddr, tunnel: &TunnelConfig) -> Result<(), AppError> {
        let Some(opts) = &self.client_opts else {
            // The server configured its interface at start; the config is its own.
            log_info!(
                "session up with {peer} {}",
                describe_side(&own_side(tunnel, true))
            );
            return Ok(());
        };
        let (side, warnings) = client_side(opts, tunnel, self.max_mtu);
        match &self.configured {
            None => {
                for w in warnings {
                    log_warn!("{w}");
                }
                configure_interface(&self.ifname, self.ifindex, &side, &opts.routes)?;
                self.configured = Some(side.clone());
            }
            Some(old) if *old != side => log_warn!(
                "the server pushed a different configuration {}; keeping {} (restart to apply)",
                describe_side(&side),
                describe_side(old)
            ),
            Some(_) => {}
        }
        let shown = self.configured.as_ref().unwrap_or(&side);
        log_info!("session up with {peer} {}", describe_side(shown));
        Ok(())
    }
}

impl Hooks for AppHooks {
    fn on_event(&mut self, now: Instant, event: &Event) -> Result<(), String> {
        match event {
            Event::SessionUp { peer, tunnel } => {
                return self.session_up(*peer, tunnel).map_err(|e| e.0);
            }
            Event::Rekeyed { peer } => log_info!("rekeyed with {peer}"),
            Event::PeerAddressChanged { from, to } => {
                log_info!("peer address changed from {from} to {to}")
            }
            Event::SessionDown => log_info!("session down"),
            Event::HandshakeSent { attempt } => {
                let server = self
                    .server
                    .map_or_else(|| "the server".to_string(), |s| s.to_string());
                log_debug!("handshake sent to {server} (attempt {attempt})");
                // An attempt past the first means the previous one went unanswered.
                if *attempt >= 2 && matches!(self.no_response.check(0, now), Verdict::Allow { .. })
                {
                    log_info!(
                        "no handshake response from {server} yet (is the server running, and do \
                         both sides use the same key?)"
                    );
                }
            }
        }
        Ok(())
    }

    fn on_drop(&mut self, now: Instant, reason: DropReason, from: Option<SocketAddr>) {
        let Verdict::Allow { suppressed } = self.drops.check(reason as usize, now) else {
            return;
        };
        let line = format_drop(reason, from, suppressed);
        if from.is_some() {
            log_info!("{line}");
        } else {
            // Packets from our own host before the session is up: expected, so verbose only.
            log_debug!("{line}");
        }
    }

    fn on_stats(&mut self, core: &Stats, driver: &DriverStats) {
        // Asked for explicitly (SIGUSR1) or at exit: shown even when quiet.
        crate::log::line(format_args!("{}", format_stats(core, driver)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Command, parse};

    fn opts(s: &str) -> Options {
        let a: Vec<String> = s.split_whitespace().map(String::from).collect();
        match parse(&a).unwrap() {
            Command::Run(o) => o,
            c => panic!("{c:?}"),
        }
    }

    #[test]
    fn clock_is_monotonic_from_one_origin() {
        let s = clock_start();
        assert_eq!(s, clock_start());
        let a = monotonic_now(s);
        let b = monotonic_now(s);
        assert!(b >= a);
        assert!(wall_clock_ns() > 1_600_000_000_000_000_000);
    }

    #[test]
    fn server_pushes_address_plus_one_or_peer() {
        let o = opts("-l 1 -a 10.89.0.1/24 -a fd89::1/64");
        let c = server_tunnel_config(&o, 1420).unwrap();
        assert_eq!(c.mtu, 1420);
        let v4 = c.ipv4.unwrap();
        assert_eq!(
            (v4.server, v4.client, v4.prefix),
            (
                "10.89.0.1".parse().unwrap(),
                "10.89.0.2".parse().unwrap(),
                24
            )
        );
        let v6 = c.ipv6.unwrap();
        assert_eq!(v6.client, "fd89::2".parse::<Ipv6Addr>().unwrap());
        let c = server_tunnel_config(&opts("-l 1 -p 10.89.0.77"), 1440).unwrap();
        assert_eq!(
            c.ipv4.unwrap().client,
            "10.89.0.77".parse::<Ipv4Addr>().unwrap()
        );
        assert!(c.ipv6.is_none());
        // No room after the address: a clear error suggesting -p.
        let e = server_tunnel_config(&opts("-l 1 -a 10.89.0.254/24"), 1440).unwrap_err();
        assert!(e.0.contains("give it with -p"), "{e}");
        assert!(server_tunnel_config(&opts("-l 1 -a 10.89.0.255/24"), 1440).is_err());
        assert!(server_tunnel_config(&opts("-l 1 -a 10.0.0.0/31"), 1440).is_ok());
        assert!(server_tunnel_config(&opts("-l 1 -a 10.0.0.1/32"), 1440).is_err());
        assert!(server_tunnel_config(&opts("-l 1 -a 255.255.255.255/0"), 1440).is_err());
        assert!(server_tunnel_config(&opts("-l 1 -a fd::1/64"), 1000).is_err());
    }

    fn pushed() -> TunnelConfig {
        server_tunnel_config(&opts("-l 1 -a 10.89.0.1/24 -a fd89::1/64"), 1420).unwrap()
    }

    #[test]
    fn client_takes_push_unless_given_its_own() {
        let (s, w) = client_side(&opts("-s 192.0.2.1:1"), &pushed(), 1440);
        assert!(w.is_empty());
        assert_eq!(s.v4, Some(("10.89.0.2".parse().unwrap(), 24)));
        assert_eq!(s.peer_v4, Some("10.89.0.1".parse().unwrap()));
        assert_eq!(s.v6, Some(("fd89::2".parse().unwrap(), 64)));
        assert_eq!(s.mtu, 1420);
        assert_eq!(
            describe_side(&s),
            "(address 10.89.0.2/24 fd89::2/64, peer 10.89.0.1 fd89::1, mtu 1420)"
        );
        let (s, _) = client_side(
            &opts("-s 192.0.2.1:1 -a 10.89.0.9/24 -p 10.89.0.1 -m 1300"),
            &pushed(),
            1300,
        );
        assert_eq!(s.v4, Some(("10.89.0.9".parse().unwrap(), 24)));
        assert_eq!(s.v6, Some(("fd89::2".parse().unwrap(), 64)));
        assert_eq!(s.mtu, 1300);
        // A pushed MTU above the client's buffers is lowered, with a warning.
        let mut big = pushed();
        big.mtu = 9000;
        let (s, w) = client_side(&opts("-s 192.0.2.1:1"), &big, 1440);
        assert_eq!(s.mtu, 1440);
        assert!(w[0].contains("pushed mtu 9000"), "{w:?}");
        // Below 1280 IPv6 is left out.
        let (s, w) = client_side(&opts("-s 192.0.2.1:1 -m 1000"), &pushed(), 1000);
        assert!(s.v6.is_none() && s.v4.is_some());
        assert!(w[0].contains("not configuring IPv6"));
    }

    #[test]
    fn server_side_description() {
        let s = own_side(&pushed(), true);
        assert_eq!(
            describe_side(&s),
            "(address 10.89.0.1/24 fd89::1/64, peer 10.89.0.2 fd89::2, mtu 1420)"
        );
        let empty = TunnelConfig {
            mtu: 1400,
            ipv4: None,
            ipv6: None,
        };
        assert_eq!(
            describe_side(&own_side(&empty, false)),
            "(address none, peer none, mtu 1400)"
        );
    }

    #[test]
    fn stats_line_lists_every_counter() {
        let mut core = Stats {
            tx_packets: 3,
            rx_bytes: 99,
            ..Stats::default()
        };
        core.count_drop(DropReason::Replay);
        core.count_drop(DropReason::Replay);
        let d = DriverStats {
            submits: 7,
            direct_sends: 5,
            direct_writes: 4,
            ..DriverStats::default()
        };
        let line = format_stats(&core, &d);
        assert!(line.starts_with("stats: tx_packets=3 tx_bytes=0 rx_packets=0 rx_bytes=99 "));
        assert!(line.contains(" drop.replay=2 "), "{line}");
        for r in DropReason::ALL {
            assert!(line.contains(&format!(" drop.{}=", r.name())), "{line}");
        }
        assert!(
            line.ends_with(" out_of_buffers=0 submits=7 direct_sends=5 direct_writes=4"),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn drop_lines() {
        let a: SocketAddr = "192.0.2.9:4000".parse().unwrap();
        assert_eq!(
            format_drop(DropReason::HandshakeAuthFailed, Some(a), 0),
            "dropped datagram from 192.0.2.9:4000: handshake-auth-failed (wrong key?)"
        );
        assert_eq!(
            format_drop(DropReason::Replay, Some(a), 12),
            "dropped datagram from 192.0.2.9:4000: replay (12 similar lines suppressed)"
        );
        assert!(format_drop(DropReason::NoSession, None, 0).ends_with(": no-session"));
    }

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

    use crate::sys::testnet::ip;

    fn temp_key(tag: &str) -> std::path::PathBuf {
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

    #[test]
    fn client_configures_on_session_up() {
        let key = temp_key("cli");
        let k = key.display().to_string();
        let dir = key.parent().unwrap().to_path_buf();
        crate::sys::private_netns::run_isolated(move || {
            let o = opts(&format!(
                "-s 127.0.0.1:5555 -k {k} -i rtcli0 -r 10.200.0.0/16 -v"
            ));
            let mut p = prepare(&o).unwrap();
            assert!(p.local.is_ipv4() && p.local.port() != 0);
            assert_eq!(p.driver_config.mtu, 1440);
            let addr = ip(&["addr", "show", "dev", "rtcli0"]);
            assert!(
                !addr.contains("inet "),
                "nothing before the session: {addr}"
            );
            let peer: SocketAddr = "127.0.0.1:5555".parse().unwrap();
            let t = Instant::from_nanos(1);
            p.hooks
                .on_event(t, &Event::HandshakeSent { attempt: 1 })
                .unwrap();
            p.hooks
                .on_event(
                    t,
                    &Event::SessionUp {
                        peer,
                        tunnel: pushed(),
                    },
                )
                .unwrap();
            let link = ip(&["link", "show", "dev", "rtcli0"]);
            assert!(link.contains("mtu 1420") && link.contains(",UP"), "{link}");
            let addr = ip(&["addr", "show", "dev", "rtcli0"]);
            assert!(addr.contains("inet 10.89.0.2/24"), "{addr}");
            assert!(addr.contains("inet6 fd89::2/64"), "{addr}");
            let r4 = ip(&["-4", "route", "show", "dev", "rtcli0"]);
            assert!(r4.contains("10.200.0.0/16 proto static"), "{r4}");
            // A second SessionUp (after a SessionDown) does not configure twice.
            p.hooks.on_event(t, &Event::SessionDown).unwrap();
            p.hooks
                .on_event(
                    t,
                    &Event::SessionUp {
                        peer,
                        tunnel: pushed(),
                    },
                )
                .unwrap();
            p.hooks
                .on_drop(t, DropReason::HandshakeAuthFailed, Some(peer));
            p.hooks.on_stats(&Stats::default(), &DriverStats::default());
        });
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A client whose interface cannot be configured (here: the same route twice) gets the error
    /// back from the hook, as one line naming the interface, instead of the process exiting.
    #[test]
    fn client_configuration_failure_is_returned_by_the_hook() {
        let key = temp_key("clifail");
        let k = key.display().to_string();
        let dir = key.parent().unwrap().to_path_buf();
        crate::sys::private_netns::run_isolated(move || {
            let o = opts(&format!(
                "-s 127.0.0.1:5555 -k {k} -i rtfail0 -r 10.200.0.0/16 -r 10.200.0.0/16"
            ));
            let mut p = prepare(&o).unwrap();
            let up = Event::SessionUp {
                peer: "127.0.0.1:5555".parse().unwrap(),
                tunnel: pushed(),
            };
            let e = p.hooks.on_event(Instant::from_nanos(1), &up).unwrap_err();
            assert!(
                e.starts_with(
                    "rtfail0: cannot add route 10.200.0.0/16: the same route already exists"
                ),
                "{e}"
            );
            assert!(!e.contains('\n'), "{e}");
            // The driver's error and so the program's line.
            let line = err(driver::DriverError::Interface(e)).0;
            assert!(
                line.starts_with("interface set-up failed: rtfail0: cannot add route"),
                "{line}"
            );
        });
        let _ = std::fs::remove_dir_all(dir);
    }
}
