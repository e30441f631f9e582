//! Command-line parsing with getopts. Every bad flag is a one-line error naming it (no panic).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

/// Default key file, so that `ringtun -l 1234` / `ringtun -s host:1234` work as typed.
pub const DEFAULT_KEY_PATH: &str = "/etc/ringtun/key";
pub const DEFAULT_INTERFACE: &str = "ringtun0";

/// What the operator asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the tunnel.
    Run(Options),
    /// `ringtun genkey [FILE]`: write a fresh key to FILE (created 0600) or to stdout.
    GenKey {
        path: Option<PathBuf>,
    },
    Help,
    Version,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `-l [ADDR:]PORT`: bind ADDR (default: the IPv6 wildcard, dual-stack) and wait for a client.
    Listen(SocketAddr),
    /// `-s HOST:PORT`: the server's address, resolved once at start.
    Connect(SocketAddr),
}

/// An address with its prefix length, e.g. `10.89.0.1/24`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub mode: Mode,
    pub key_path: PathBuf,
    /// `-a`, at most one per family.
    pub addresses: Vec<Cidr>,
    /// `-p`, at most one per family.
    pub peers: Vec<IpAddr>,
    pub interface: String,
    /// `-m`; `None`: computed from the underlay (see `default_mtu`).
    pub mtu: Option<u16>,
    /// `-r`, repeatable.
    pub routes: Vec<Cidr>,
    /// 0 quiet, 1 normal, 2+ verbose.
    pub verbosity: u8,
}

/// Server addressing when no `-a` is given.
pub const DEFAULT_SERVER_ADDRESS: Cidr = Cidr {
    addr: IpAddr::V4(Ipv4Addr::new(10, 89, 0, 1)),
    prefix: 24,
};

/// Largest interface name the kernel accepts (IFNAMSIZ - 1).
pub const MAX_INTERFACE_LEN: usize = 15;

/// Smallest MTU for an IPv4-only tunnel (the IPv4 minimum datagram size) and for one carrying IPv6.
pub const MIN_MTU_V4: u16 = 576;
pub const MIN_MTU_V6: u16 = 1280;

/// Tunnel MTU that fits a 1500-byte underlay path:
/// 1500 − IP header (40 for IPv6, 20 for IPv4) − 8 (UDP) − 32 (ringtun: 16-byte header + 16-byte
/// tag) = 1420 over IPv6, 1440 over IPv4.
pub fn default_mtu(underlay_ipv6: bool) -> u16 {
    let ip_header = if underlay_ipv6 { 40 } else { 20 };
    1500 - ip_header - 8 - crate::core::DATA_OVERHEAD as u16
}

impl Options {
    /// The tunnel MTU to use before any push: `-m`, else [`default_mtu`] for the underlay. A server
    /// on an IPv6 (dual-stack) socket uses the IPv6 figure, since IPv6 clients may come; a server
    /// bound to an IPv4 address, or a client connecting over IPv4, the IPv4 one.
    pub fn effective_mtu(&self) -> u16 {
        self.mtu.unwrap_or_else(|| {
            let v6 = match self.mode {
                Mode::Listen(a) | Mode::Connect(a) => a.is_ipv6(),
            };
            default_mtu(v6)
        })
    }

    pub fn is_server(&self) -> bool {
        matches!(self.mode, Mode::Listen(_))
    }
}

impl Cidr {
    /// Whether `ip` lies in this prefix (same family, same leading `prefix` bits).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let m = mask_u32(self.prefix);
                u32::from(n) & m == u32::from(a) & m
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let m = mask_u128(self.prefix);
                u128::from(n) & m == u128::from(a) & m
            }
            _ => false,
        }
    }

    /// Whether the bits past the prefix are all zero (a network, as a route needs).
    pub fn host_bits_zero(&self) -> bool {
        match self.addr {
            IpAddr::V4(a) => u32::from(a) & !mask_u32(self.prefix) == 0,
            IpAddr::V6(a) => u128::from(a) & !mask_u128(self.prefix) == 0,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn mask_u32(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p if p >= 32 => u32::MAX,
        p => u32::MAX << (32 - u32::from(p)),
    }
}

fn mask_u128(prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p if p >= 128 => u128::MAX,
        p => u128::MAX << (128 - u32::from(p)),
    }
}

/// A command line that cannot be run. Display is one line naming the flag and the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliError {
    pub kind: CliErrorKind,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CliErrorKind {
    /// Bad flags or values: exit status 2.
    Usage,
    /// A well-formed `-s HOST:PORT` whose host does not resolve: exit status 1.
    Resolve,
}

impl CliError {
    fn usage(message: impl Into<String>) -> Self {
        CliError {
            kind: CliErrorKind::Usage,
            message: message.into(),
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self.kind {
            CliErrorKind::Usage => 2,
            CliErrorKind::Resolve => 1,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if self.kind == CliErrorKind::Usage {
            f.write_str(" (see ringtun --help)")?;
        }
        Ok(())
    }
}

impl std::error::Error for CliError {}

fn getopts_spec() -> getopts::Options {
    let mut o = getopts::Options::new();
    o.optopt("l", "listen", "", "[ADDR:]PORT")
        .optopt("s", "server", "", "HOST:PORT")
        .optopt("k", "key", "", "FILE")
        .optmulti("a", "address", "", "ADDR/PREFIX")
        .optmulti("p", "peer", "", "ADDR")
        .optopt("i", "interface", "", "NAME")
        .optopt("m", "mtu", "", "MTU")
        .optmulti("r", "route", "", "CIDR")
        .optflagmulti("v", "verbose", "")
        .optflag("q", "quiet", "")
        .optflag("h", "help", "")
        .optflag("V", "version", "");
    o
}

fn fail_message(f: &getopts::Fail) -> String {
    use getopts::Fail::*;
    // getopts names a flag by whichever form it matched; name both, as the help text does.
    const NAMES: [(&str, &str); 12] = [
        ("l", "listen"),
        ("s", "server"),
        ("k", "key"),
        ("a", "address"),
        ("p", "peer"),
        ("i", "interface"),
        ("m", "mtu"),
        ("r", "route"),
        ("v", "verbose"),
        ("q", "quiet"),
        ("h", "help"),
        ("V", "version"),
    ];
    let flag = |n: &str| {
        let bare = n.trim_start_matches('-');
        match NAMES.iter().find(|(s, l)| *s == bare || *l == bare) {
            Some((s, l)) => format!("-{s}/--{l}"),
            None if n.starts_with('-') => n.to_string(),
            None if n.chars().count() == 1 => format!("-{n}"),
            None => format!("--{n}"),
        }
    };
    match f {
        ArgumentMissing(n) => format!("{} needs a value", flag(n)),
        UnrecognizedOption(n) => format!("unknown option {}", flag(n)),
        OptionMissing(n) => format!("{} is required", flag(n)),
        OptionDuplicated(n) => format!("{} given more than once", flag(n)),
        UnexpectedArgument(n) => format!("{} takes no value", flag(n)),
    }
}

/// Parses the arguments after the program name (`std::env::args().skip(1)`).
pub fn parse(args: &[String]) -> Result<Command, CliError> {
    if args.first().map(String::as_str) == Some("genkey") {
        return parse_genkey(&args[1..]);
    }
    let m = getopts_spec()
        .parse(args)
        .map_err(|f| CliError::usage(fail_message(&f)))?;
    if m.opt_present("h") {
        return Ok(Command::Help);
    }
    if m.opt_present("V") {
        return Ok(Command::Version);
    }
    if let Some(extra) = m.free.first() {
        return Err(CliError::usage(format!("unexpected argument '{extra}'")));
    }

    let mode = match (m.opt_str("l"), m.opt_str("s")) {
        (Some(_), Some(_)) => {
            return Err(CliError::usage(
                "-l/--listen and -s/--server exclude each other: a server listens, a client connects",
            ));
        }
        (None, None) => {
            return Err(CliError::usage(
                "give -l [ADDR:]PORT to run a server or -s HOST:PORT to connect to one",
            ));
        }
        (Some(l), None) => Mode::Listen(parse_listen(&l)?),
        (None, Some(s)) => Mode::Connect(parse_server(&s)?),
    };

    let key_path = match m.opt_str("k") {
        Some(k) if k.is_empty() => return Err(CliError::usage("-k/--key: empty file name")),
        Some(k) => PathBuf::from(k),
        None => PathBuf::from(DEFAULT_KEY_PATH),
    };

    let mut addresses: Vec<Cidr> = Vec::new();
    for a in m.opt_strs("a") {
        let c =
            parse_cidr(&a).map_err(|why| CliError::usage(format!("-a/--address '{a}': {why}")))?;
        if c.addr.is_unspecified() || c.addr.is_multicast() || c.addr.is_loopback() {
            return Err(CliError::usage(format!(
                "-a/--address '{a}': not a usable interface address"
            )));
        }
        if addresses
            .iter()
            .any(|x| x.addr.is_ipv4() == c.addr.is_ipv4())
        {
            return Err(CliError::usage(format!(
                "-a/--address '{a}': at most one address per family (IPv4, IPv6)"
            )));
        }
        addresses.push(c);
    }
    if addresses.is_empty() && matches!(mode, Mode::Listen(_)) {
        addresses.push(DEFAULT_SERVER_ADDRESS);
    }

    let mut peers: Vec<IpAddr> = Vec::new();
    for p in m.opt_strs("p") {
        let ip: IpAddr = p
            .parse()
            .map_err(|_| CliError::usage(format!("-p/--peer '{p}': not an IP address")))?;
        if peers.iter().any(|x| x.is_ipv4() == ip.is_ipv4()) {
            return Err(CliError::usage(format!(
                "-p/--peer '{p}': at most one peer address per family (IPv4, IPv6)"
            )));
        }
        // A server pushes -p as the client's address, so it must pair with one of its own; a
        // client without -a of that family takes its address from the push and -p only names
        // the server's side.
        let own = addresses.iter().find(|c| c.addr.is_ipv4() == ip.is_ipv4());
        let own = match (own, &mode) {
            (Some(own), _) => own,
            (None, Mode::Connect(_)) => {
                peers.push(ip);
                continue;
            }
            (None, Mode::Listen(_)) => {
                return Err(CliError::usage(format!(
                    "-p/--peer '{p}': no -a/--address of the same family to pair it with"
                )));
            }
        };
        if !own.contains(ip) || own.addr == ip {
            return Err(CliError::usage(format!(
                "-p/--peer '{p}': must be another address inside {own}"
            )));
        }
        peers.push(ip);
    }

    let interface = m
        .opt_str("i")
        .unwrap_or_else(|| DEFAULT_INTERFACE.to_string());
    check_interface_name(&interface)
        .map_err(|why| CliError::usage(format!("-i/--interface '{interface}': {why}")))?;

    let any_v6 = addresses.iter().any(|c| c.addr.is_ipv6()) || peers.iter().any(IpAddr::is_ipv6);
    let mtu = match m.opt_str("m") {
        None => None,
        Some(s) => {
            let v: u16 = s.parse().map_err(|_| {
                CliError::usage(format!("-m/--mtu '{s}': not a number from 576 to 65535"))
            })?;
            if v < MIN_MTU_V4 {
                return Err(CliError::usage(format!(
                    "-m/--mtu {v}: below the IPv4 minimum of {MIN_MTU_V4}"
                )));
            }
            if any_v6 && v < MIN_MTU_V6 {
                return Err(CliError::usage(format!(
                    "-m/--mtu {v}: an IPv6 tunnel needs at least {MIN_MTU_V6}"
                )));
            }
            Some(v)
        }
    };

    let mut routes = Vec::new();
    for r in m.opt_strs("r") {
        let c =
            parse_cidr(&r).map_err(|why| CliError::usage(format!("-r/--route '{r}': {why}")))?;
        if !c.host_bits_zero() {
            return Err(CliError::usage(format!(
                "-r/--route '{r}': host bits set after the /{} prefix (did you mean {}?)",
                c.prefix,
                network_of(c)
            )));
        }
        routes.push(c);
    }

    let verbosity = match (m.opt_present("q"), m.opt_count("v")) {
        (true, 0) => 0,
        (true, _) => {
            return Err(CliError::usage(
                "-q/--quiet and -v/--verbose exclude each other",
            ));
        }
        (false, 0) => 1,
        (false, n) => u8::try_from(n.saturating_add(1)).unwrap_or(u8::MAX),
    };

    Ok(Command::Run(Options {
        mode,
        key_path,
        addresses,
        peers,
        interface,
        mtu,
        routes,
        verbosity,
    }))
}

fn parse_genkey(rest: &[String]) -> Result<Command, CliError> {
    match rest {
        [] => Ok(Command::GenKey { path: None }),
        [h] if h == "-h" || h == "--help" => Ok(Command::Help),
        [p] if p.starts_with('-') && p != "-" => Err(CliError::usage(format!(
            "genkey: unknown option {p} (usage: ringtun genkey [FILE])"
        ))),
        [p] if p == "-" => Ok(Command::GenKey { path: None }),
        [p] => Ok(Command::GenKey {
            path: Some(PathBuf::from(p)),
        }),
        [_, extra, ..] => Err(CliError::usage(format!(
            "genkey: unexpected argument '{extra}' (usage: ringtun genkey [FILE])"
        ))),
    }
}

fn parse_port(s: &str, flag: &str, whole: &str) -> Result<u16, CliError> {
    match s.parse::<u16>() {
        Ok(0) | Err(_) => Err(CliError::usage(format!(
            "{flag} '{whole}': port must be a number from 1 to 65535"
        ))),
        Ok(p) => Ok(p),
    }
}

fn parse_listen(s: &str) -> Result<SocketAddr, CliError> {
    const FLAG: &str = "-l/--listen";
    if !s.contains(':') {
        let port = parse_port(s, FLAG, s)?;
        return Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port));
    }
    match s.parse::<SocketAddr>() {
        Ok(a) if a.port() == 0 => Err(CliError::usage(format!(
            "{FLAG} '{s}': port must be a number from 1 to 65535"
        ))),
        Ok(a) if a.ip().is_multicast() => Err(CliError::usage(format!(
            "{FLAG} '{s}': cannot listen on a multicast address"
        ))),
        Ok(a) => Ok(a),
        Err(_) => {
            let (host, port) = s.rsplit_once(':').unwrap_or((s, ""));
            parse_port(port, FLAG, s)?;
            Err(CliError::usage(format!(
                "{FLAG} '{s}': '{host}' is not an IP address (IPv6 goes in brackets: [::1]:{port})"
            )))
        }
    }
}

fn parse_server(s: &str) -> Result<SocketAddr, CliError> {
    const FLAG: &str = "-s/--server";
    if let Ok(a) = s.parse::<SocketAddr>() {
        if a.port() == 0 {
            return Err(CliError::usage(format!(
                "{FLAG} '{s}': port must be a number from 1 to 65535"
            )));
        }
        if a.ip().is_unspecified() || a.ip().is_multicast() {
            return Err(CliError::usage(format!(
                "{FLAG} '{s}': not a server address"
            )));
        }
        return Ok(a);
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err(CliError::usage(format!(
            "{FLAG} '{s}': expected HOST:PORT, e.g. vpn.example.org:51820"
        )));
    };
    let port = parse_port(port, FLAG, s)?;
    if host.is_empty() {
        return Err(CliError::usage(format!("{FLAG} '{s}': missing host")));
    }
    if host.contains(':') || host.contains('[') || host.contains(']') {
        return Err(CliError::usage(format!(
            "{FLAG} '{s}': IPv6 addresses go in brackets, e.g. [2001:db8::1]:{port}"
        )));
    }
    if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CliError::usage(format!("{FLAG} '{s}': bad host name")));
    }
    // Resolved once, here: the tunnel's peer address does not follow later DNS changes.
    let resolved = (host, port).to_socket_addrs().map_err(|e| CliError {
        kind: CliErrorKind::Resolve,
        message: format!("{FLAG}: cannot resolve host '{host}': {e}"),
    })?;
    let addrs: Vec<SocketAddr> = resolved.collect();
    // Prefer IPv4 when both exist: it works on more networks, and the MTU figure is larger.
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| CliError {
            kind: CliErrorKind::Resolve,
            message: format!("{FLAG}: host '{host}' has no addresses"),
        })
}

/// `ADDR/PREFIX`; the prefix is required.
fn parse_cidr(s: &str) -> Result<Cidr, String> {
    let Some((a, p)) = s.split_once('/') else {
        return Err("expected ADDR/PREFIX, e.g. 10.89.0.1/24 or fd89::1/64".to_string());
    };
    let addr: IpAddr = a
        .parse()
        .map_err(|_| format!("'{a}' is not an IP address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix: u8 = p
        .parse()
        .ok()
        .filter(|&v| v <= max)
        .ok_or_else(|| format!("prefix '{p}' must be a number from 0 to {max}"))?;
    Ok(Cidr { addr, prefix })
}

fn network_of(c: Cidr) -> Cidr {
    let addr = match c.addr {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask_u32(c.prefix))),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask_u128(c.prefix))),
    };
    Cidr {
        addr,
        prefix: c.prefix,
    }
}

/// The kernel's rules for a device name (`dev_valid_name`): 1..=15 bytes, not "." or "..", no '/',
/// ':' or whitespace.
pub fn check_interface_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty name");
    }
    if name.len() > MAX_INTERFACE_LEN {
        return Err("longer than 15 bytes");
    }
    if name == "." || name == ".." {
        return Err("not a valid name");
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err("must not contain '/', ':' or whitespace");
    }
    Ok(())
}

/// The `--help` text.
pub fn usage() -> String {
    format!(
        "\
ringtun {version}: a point-to-point VPN (TUN + io_uring + ChaCha20-Poly1305, pre-shared key)

Usage:
  ringtun -l [ADDR:]PORT [options]     run the server
  ringtun -s HOST:PORT [options]       run the client
  ringtun genkey [FILE]                write a new key to FILE (mode 0600), or print it

Options:
  -l, --listen [ADDR:]PORT  listen for the client; a bare PORT binds [::]:PORT (IPv4 and IPv6)
  -s, --server HOST:PORT    connect to the server; HOST is resolved once at start;
                            IPv6 literals go in brackets: [2001:db8::1]:51820
  -k, --key FILE            pre-shared key file (default {key}); must be mode 0600
  -a, --address ADDR/PREFIX tunnel address, at most one IPv4 and one IPv6
                            (server default {default_addr}; a client given -a keeps it
                            instead of the one the server pushes)
  -p, --peer ADDR           the other side's tunnel address, one per family; on the server
                            this is what it pushes to the client (default: its own -a + 1);
                            on a client it replaces the server address the server pushes
  -i, --interface NAME      TUN interface name (default {iface}, at most 15 bytes)
  -m, --mtu MTU             tunnel MTU, 576..65535 (at least 1280 with IPv6 inside); the server
                            pushes its MTU to the client unless the client gives -m
  -r, --route CIDR          route CIDR through the tunnel (repeatable; host bits must be zero)
  -v, --verbose             more detail (handshakes)
  -q, --quiet               errors and warnings only
  -h, --help                this text
  -V, --version             print the version

Default MTU: a full 1500-byte underlay packet minus what ringtun wraps around each tunnelled
packet: 1500 - 40 (IPv6 header) - 8 (UDP header) - 32 (ringtun: 16-byte header + 16-byte tag)
= 1420 over IPv6, and 1500 - 20 (IPv4 header) - 8 - 32 = 1440 over IPv4. A server listening on
a dual-stack [::] socket uses 1420 (the worst case, since IPv6 clients may connect); a server
bound to an IPv4 address, or a client connecting over IPv4, uses 1440.

Signals: SIGUSR1 prints counters; SIGINT/SIGTERM print them and exit.
",
        version = env!("CARGO_PKG_VERSION"),
        key = DEFAULT_KEY_PATH,
        default_addr = DEFAULT_SERVER_ADDRESS,
        iface = DEFAULT_INTERFACE,
    )
}

/// `ringtun VERSION`.
pub fn version() -> String {
    format!("ringtun {}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn run(s: &str) -> Options {
        match parse(&args(s)) {
            Ok(Command::Run(o)) => o,
            other => panic!("{s}: {other:?}"),
        }
    }

    /// The error for `s`, checked to be one line that mentions `needle`.
    fn err(s: &str, needle: &str) -> CliError {
        let e = parse(&args(s)).expect_err(s);
        let msg = e.to_string();
        assert!(!msg.contains('\n'), "{msg}");
        assert!(msg.contains(needle), "{s}: {msg:?} lacks {needle:?}");
        e
    }

    fn cidr(s: &str) -> Cidr {
        parse_cidr(s).unwrap()
    }

    #[test]
    fn default_mtu_arithmetic() {
        assert_eq!(default_mtu(true), 1420);
        assert_eq!(default_mtu(false), 1440);
        assert!(usage().contains("1500 - 40 (IPv6 header) - 8 (UDP header) - 32"));
    }

    #[test]
    fn server_defaults() {
        let o = run("-l 51820");
        assert_eq!(o.mode, Mode::Listen("[::]:51820".parse().unwrap()));
        assert_eq!(o.key_path, PathBuf::from(DEFAULT_KEY_PATH));
        assert_eq!(o.addresses, vec![DEFAULT_SERVER_ADDRESS]);
        assert!(o.peers.is_empty() && o.routes.is_empty());
        assert_eq!(o.interface, "ringtun0");
        assert_eq!(o.mtu, None);
        assert_eq!(o.effective_mtu(), 1420);
        assert_eq!(o.verbosity, 1);
        assert!(o.is_server());
    }

    #[test]
    fn listen_forms() {
        assert_eq!(
            run("--listen 0.0.0.0:9").mode,
            Mode::Listen("0.0.0.0:9".parse().unwrap())
        );
        let o = run("-l 192.0.2.1:9");
        assert_eq!(o.effective_mtu(), 1440);
        assert_eq!(
            run("-l [::1]:9").mode,
            Mode::Listen("[::1]:9".parse().unwrap())
        );
        err("-l 0", "-l/--listen '0': port");
        err("-l 70000", "port must be a number");
        err("-l abc", "-l/--listen 'abc'");
        err("-l 1.2.3.4:0", "port");
        err("-l foo:99", "'foo' is not an IP address");
        err("-l ::1:99", "brackets");
        err("-l 224.0.0.1:9", "multicast");
        err("-l", "-l/--listen needs a value");
    }

    #[test]
    fn server_forms() {
        let o = run("-s 192.0.2.7:51820");
        assert_eq!(o.mode, Mode::Connect("192.0.2.7:51820".parse().unwrap()));
        assert!(o.addresses.is_empty(), "client has no default address");
        assert_eq!(o.effective_mtu(), 1440);
        assert!(!o.is_server());
        let o = run("--server [2001:db8::1]:1234");
        assert_eq!(o.mode, Mode::Connect("[2001:db8::1]:1234".parse().unwrap()));
        assert_eq!(o.effective_mtu(), 1420);
        // DNS name, resolved once (localhost is in /etc/hosts).
        match run("-s localhost:4000").mode {
            Mode::Connect(a) => {
                assert!(a.ip().is_loopback());
                assert_eq!(a.port(), 4000);
            }
            m => panic!("{m:?}"),
        }
        err("-s 192.0.2.7", "expected HOST:PORT");
        err("-s 192.0.2.7:0", "port");
        err("-s host:x", "port");
        err("-s :80", "missing host");
        err("-s 2001:db8::1:1234", "brackets");
        err("-s 0.0.0.0:1", "not a server address");
        // The "cannot resolve" path is not tested: any unknown name would be sent to the host's
        // DNS resolver, and tests send nothing outside their own namespaces.
    }

    #[test]
    fn mode_is_required_and_exclusive() {
        let e = err("", "give -l");
        assert_eq!(e.exit_code(), 2);
        err("-l 1 -s 192.0.2.1:1", "exclude each other");
        err("-l 1 -l 2", "-l/--listen given more than once");
    }

    #[test]
    fn key_flag() {
        assert_eq!(run("-l 1 -k /tmp/k").key_path, PathBuf::from("/tmp/k"));
        assert_eq!(run("-l 1 --key=rel/k").key_path, PathBuf::from("rel/k"));
        err("-l 1 -k", "-k/--key needs a value");
        err("-l 1 --key=", "empty file name");
    }

    #[test]
    fn address_flag() {
        let o = run("-l 1 -a 10.1.2.3/16 -a fd89::1/64");
        assert_eq!(o.addresses, vec![cidr("10.1.2.3/16"), cidr("fd89::1/64")]);
        // Only IPv6 given: no default IPv4 added.
        assert_eq!(
            run("-l 1 -a fd89::1/64").addresses,
            vec![cidr("fd89::1/64")]
        );
        assert_eq!(
            run("-s 192.0.2.1:1 -a 10.0.0.2/24").addresses,
            vec![cidr("10.0.0.2/24")]
        );
        err(
            "-l 1 -a 10.0.0.1",
            "-a/--address '10.0.0.1': expected ADDR/PREFIX",
        );
        err("-l 1 -a 10.0.0.1/33", "prefix '33'");
        err("-l 1 -a fd::1/129", "prefix '129'");
        err("-l 1 -a 10.0.0.1/x", "prefix 'x'");
        err("-l 1 -a bad/24", "'bad' is not an IP address");
        err(
            "-l 1 -a 10.0.0.1/24 -a 10.0.1.1/24",
            "at most one address per family",
        );
        err(
            "-l 1 -a fd::1/64 -a fd::2/64",
            "at most one address per family",
        );
        err("-l 1 -a 0.0.0.0/0", "not a usable interface address");
        err("-l 1 -a 127.0.0.1/8", "not a usable");
    }

    #[test]
    fn peer_flag() {
        let o = run("-l 1 -p 10.89.0.9 -a 10.89.0.1/24 -a fd89::1/64 -p fd89::2");
        assert_eq!(
            o.peers,
            vec![
                "10.89.0.9".parse::<IpAddr>().unwrap(),
                "fd89::2".parse().unwrap()
            ]
        );
        // Against the default server address.
        assert_eq!(run("-l 1 -p 10.89.0.5").peers.len(), 1);
        err("-l 1 -p nope", "-p/--peer 'nope': not an IP address");
        err(
            "-l 1 -p 10.89.0.2 -p 10.89.0.3",
            "at most one peer address per family",
        );
        err("-l 1 -p fd89::2", "no -a/--address of the same family");
        // A client may name the server's side alone (its own address comes in the push).
        assert_eq!(run("-s 192.0.2.1:1 -p 10.89.0.1").peers.len(), 1);
        err(
            "-s 192.0.2.1:1 -a 10.0.0.2/24 -p 10.89.0.1",
            "must be another address inside",
        );
        err(
            "-l 1 -p 10.90.0.2",
            "must be another address inside 10.89.0.1/24",
        );
        err("-l 1 -p 10.89.0.1", "must be another address");
    }

    #[test]
    fn interface_flag() {
        assert_eq!(run("-l 1 -i tun-vpn").interface, "tun-vpn");
        assert_eq!(run("-l 1 -i abcdefghijklmno").interface, "abcdefghijklmno");
        err("-l 1 -i abcdefghijklmnop", "longer than 15 bytes");
        err("-l 1 -i a/b", "must not contain");
        err("-l 1 -i a:b", "must not contain");
        err("-l 1 --interface=", "empty name");
        err("-l 1 -i ..", "not a valid name");
        assert!(parse(&["-l".into(), "1".into(), "-i".into(), "a b".into()]).is_err());
    }

    #[test]
    fn mtu_flag() {
        assert_eq!(run("-l 1 -m 576").mtu, Some(576));
        assert_eq!(run("-l 1 -m 65535").effective_mtu(), 65535);
        assert_eq!(run("-l 1 -a fd::1/64 -m 1280").mtu, Some(1280));
        err("-l 1 -m 575", "-m/--mtu 575: below the IPv4 minimum");
        err("-l 1 -m 65536", "-m/--mtu '65536'");
        err("-l 1 -m -5", "-m/--mtu");
        err("-l 1 -m big", "not a number");
        err(
            "-l 1 -a fd::1/64 -m 1279",
            "IPv6 tunnel needs at least 1280",
        );
        err("-l 1 -a fd::1/64 -a 10.0.0.1/24 -m 1000", "1280");
    }

    #[test]
    fn route_flag() {
        let o = run("-l 1 -r 192.168.0.0/16 -r 2001:db8::/32 -r 0.0.0.0/0");
        assert_eq!(
            o.routes,
            vec![
                cidr("192.168.0.0/16"),
                cidr("2001:db8::/32"),
                cidr("0.0.0.0/0")
            ]
        );
        err(
            "-l 1 -r 192.168.1.1/16",
            "host bits set after the /16 prefix (did you mean 192.168.0.0/16?)",
        );
        err("-l 1 -r 2001:db8::1/64", "did you mean 2001:db8::/64?");
        err("-l 1 -r 10.0.0.0", "-r/--route '10.0.0.0'");
        err("-l 1 -r 10.0.0.0/40", "prefix '40'");
    }

    #[test]
    fn verbosity_flags() {
        assert_eq!(run("-l 1 -q").verbosity, 0);
        assert_eq!(run("-l 1 -v").verbosity, 2);
        assert_eq!(run("-l 1 -vv").verbosity, 3);
        assert_eq!(run("-l 1 --verbose").verbosity, 2);
        err("-l 1 -q -v", "exclude each other");
        err("-l 1 -q -q", "-q/--quiet given more than once");
    }

    #[test]
    fn help_version_and_unknown() {
        assert_eq!(parse(&args("-h")), Ok(Command::Help));
        assert_eq!(parse(&args("--help -l 1")), Ok(Command::Help));
        assert_eq!(parse(&args("-V")), Ok(Command::Version));
        assert_eq!(parse(&args("--version")), Ok(Command::Version));
        assert!(version().starts_with("ringtun "));
        err("-x", "unknown option -x");
        err("--frobnicate", "unknown option --frobnicate");
        err("-l 1 extra", "unexpected argument 'extra'");
        err("-l 1 -v=3", "unknown option");
        err("--verbose=3 -l 1", "-v/--verbose takes no value");
    }

    #[test]
    fn genkey() {
        assert_eq!(parse(&args("genkey")), Ok(Command::GenKey { path: None }));
        assert_eq!(
            parse(&args("genkey /etc/ringtun/key")),
            Ok(Command::GenKey {
                path: Some(PathBuf::from("/etc/ringtun/key"))
            })
        );
        assert_eq!(parse(&args("genkey -")), Ok(Command::GenKey { path: None }));
        assert_eq!(parse(&args("genkey --help")), Ok(Command::Help));
        err("genkey a b", "genkey: unexpected argument 'b'");
        err("genkey -x", "genkey: unknown option -x");
    }

    #[test]
    fn cidr_helpers() {
        assert!(cidr("10.0.0.0/8").contains("10.255.1.1".parse().unwrap()));
        assert!(!cidr("10.0.0.0/8").contains("11.0.0.1".parse().unwrap()));
        assert!(!cidr("10.0.0.0/8").contains("::1".parse().unwrap()));
        assert!(cidr("0.0.0.0/0").contains("1.2.3.4".parse().unwrap()));
        assert!(cidr("fd00::/8").contains("fdff::1".parse().unwrap()));
        assert!(cidr("::/0").host_bits_zero());
        assert!(cidr("1.2.3.4/32").host_bits_zero());
        assert_eq!(cidr("fd89::1/64").to_string(), "fd89::1/64");
    }
}
