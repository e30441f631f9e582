//! The command line: what the operator asked for ([`Command`], [`Options`]), parsed by mode.
//! Every bad flag is a one-line error naming it (no panic).
//!
//! - [`flags`]: the one table of flags, and the getopts spec and help lines made from it.
//! - [`values`]: each flag's value (ports, addresses, prefixes, names).
//! - [`usage`]: the `--help` and `--version` texts.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crate::app::addressing::{Cidr, DEFAULT_SERVER_ADDRESS, MIN_MTU_V6, default_mtu};
use crate::core::wire::MIN_MTU;
use flags::Modes;

pub mod flags;
#[cfg(test)]
mod tests;
pub mod usage;
pub mod values;

pub use usage::{usage, version};

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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub mode: Mode,
    pub key_path: PathBuf,
    /// `-a`, at most one per family.
    pub addresses: Vec<Cidr>,
    /// `-p`, at most one per family.
    pub peers: Vec<IpAddr>,
    pub interface: String,
    /// `-m`; `None`: computed from the underlay (see [`default_mtu`]).
    pub mtu: Option<u16>,
    /// `-r`, repeatable.
    pub routes: Vec<Cidr>,
    /// 0 quiet, 1 normal, 2+ verbose.
    pub verbosity: u8,
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

/// Parses the arguments after the program name (`std::env::args().skip(1)`).
pub fn parse(args: &[String]) -> Result<Command, CliError> {
    if args.first().map(String::as_str) == Some("genkey") {
        return parse_genkey(&args[1..]);
    }
    let m = flags::spec(Modes::RUN)
        .parse(args)
        .map_err(|f| CliError::usage(flags::fail_message(&f)))?;
    if m.opt_present("h") {
        return Ok(Command::Help);
    }
    if m.opt_present("V") {
        return Ok(Command::Version);
    }
    if let Some(extra) = m.free.first() {
        return Err(CliError::usage(format!("unexpected argument '{extra}'")));
    }
    let options = match (m.opt_str("l"), m.opt_str("s")) {
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
        (Some(l), None) => server_options(&m, values::listen_addr(&l)?)?,
        (None, Some(s)) => client_options(&m, values::server_addr(&s)?)?,
    };
    Ok(Command::Run(options))
}

/// `ringtun genkey [FILE]` (`-` or no FILE: stdout).
fn parse_genkey(rest: &[String]) -> Result<Command, CliError> {
    const USAGE: &str = "usage: ringtun genkey [FILE]";
    let m = flags::spec(Modes::GENKEY)
        .parse(rest)
        .map_err(|f| CliError::usage(format!("genkey: {} ({USAGE})", flags::fail_message(&f))))?;
    match (m.opt_present("h"), m.free.as_slice()) {
        (true, []) => Ok(Command::Help),
        (false, []) => Ok(Command::GenKey { path: None }),
        (false, [p]) if p == "-" => Ok(Command::GenKey { path: None }),
        (false, [p]) => Ok(Command::GenKey {
            path: Some(PathBuf::from(p)),
        }),
        (true, [extra, ..]) | (false, [_, extra, ..]) => Err(CliError::usage(format!(
            "genkey: unexpected argument '{extra}' ({USAGE})"
        ))),
    }
}

/// `-l`: a server. Without `-a` it takes [`DEFAULT_SERVER_ADDRESS`]; each `-p` is what it pushes
/// to the client, so it must lie in its own `-a` of the same family.
fn server_options(m: &getopts::Matches, listen: SocketAddr) -> Result<Options, CliError> {
    only_flags_of(m, Modes::SERVER, "the server")?;
    let key_path = key_path(m)?;
    let mut addresses = addresses(m)?;
    if addresses.is_empty() {
        addresses.push(DEFAULT_SERVER_ADDRESS);
    }
    let peers = peers(m, &addresses, false)?;
    let interface = interface(m)?;
    let mtu = mtu(m, &addresses, &peers)?;
    Ok(Options {
        mode: Mode::Listen(listen),
        key_path,
        addresses,
        peers,
        interface,
        mtu,
        routes: routes(m)?,
        verbosity: verbosity(m)?,
    })
}

/// `-s`: a client. Its addressing comes in the server's push; `-a`, `-p` and `-m` override it.
fn client_options(m: &getopts::Matches, server: SocketAddr) -> Result<Options, CliError> {
    only_flags_of(m, Modes::CLIENT, "a client")?;
    let key_path = key_path(m)?;
    let addresses = addresses(m)?;
    // A client without -a of a family takes its address from the push, so its -p of that family
    // only names the server's side.
    let peers = peers(m, &addresses, true)?;
    let interface = interface(m)?;
    let mtu = mtu(m, &addresses, &peers)?;
    Ok(Options {
        mode: Mode::Connect(server),
        key_path,
        addresses,
        peers,
        interface,
        mtu,
        routes: routes(m)?,
        verbosity: verbosity(m)?,
    })
}

/// Refuses a flag of the table that does not belong to `mode` (`who` runs it). (`opts_present`
/// rather than `opt_present`: it does not panic on a flag outside the spec.)
fn only_flags_of(m: &getopts::Matches, mode: Modes, who: &str) -> Result<(), CliError> {
    match flags::FLAGS
        .iter()
        .find(|f| !f.modes.overlaps(mode) && m.opts_present(&[f.short.to_string()]))
    {
        Some(f) => Err(CliError::usage(format!("{} is not for {who}", f.names()))),
        None => Ok(()),
    }
}

fn key_path(m: &getopts::Matches) -> Result<PathBuf, CliError> {
    match m.opt_str("k") {
        Some(k) if k.is_empty() => Err(CliError::usage("-k/--key: empty file name")),
        Some(k) => Ok(PathBuf::from(k)),
        None => Ok(PathBuf::from(DEFAULT_KEY_PATH)),
    }
}

/// `-a`: usable interface addresses, at most one per family.
fn addresses(m: &getopts::Matches) -> Result<Vec<Cidr>, CliError> {
    let mut addresses: Vec<Cidr> = Vec::new();
    for a in m.opt_strs("a") {
        let c = values::cidr(&a)
            .map_err(|why| CliError::usage(format!("-a/--address '{a}': {why}")))?;
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
    Ok(addresses)
}

/// `-p`: at most one per family, each another address inside this side's `-a` of its family.
/// `unpaired_ok`: a `-p` with no `-a` of its family is accepted (a client's).
fn peers(
    m: &getopts::Matches,
    addresses: &[Cidr],
    unpaired_ok: bool,
) -> Result<Vec<IpAddr>, CliError> {
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
        match addresses.iter().find(|c| c.addr.is_ipv4() == ip.is_ipv4()) {
            Some(own) if !own.contains(ip) || own.addr == ip => {
                return Err(CliError::usage(format!(
                    "-p/--peer '{p}': must be another address inside {own}"
                )));
            }
            Some(_) => {}
            None if unpaired_ok => {}
            None => {
                return Err(CliError::usage(format!(
                    "-p/--peer '{p}': no -a/--address of the same family to pair it with"
                )));
            }
        }
        peers.push(ip);
    }
    Ok(peers)
}

fn interface(m: &getopts::Matches) -> Result<String, CliError> {
    let interface = m
        .opt_str("i")
        .unwrap_or_else(|| DEFAULT_INTERFACE.to_string());
    values::check_interface_name(&interface)
        .map_err(|why| CliError::usage(format!("-i/--interface '{interface}': {why}")))?;
    Ok(interface)
}

/// `-m`: at least [`MIN_MTU`], and [`MIN_MTU_V6`] if IPv6 is among the addresses or peers.
fn mtu(
    m: &getopts::Matches,
    addresses: &[Cidr],
    peers: &[IpAddr],
) -> Result<Option<u16>, CliError> {
    let Some(s) = m.opt_str("m") else {
        return Ok(None);
    };
    let v: u16 = s.parse().map_err(|_| {
        CliError::usage(format!(
            "-m/--mtu '{s}': not a number from {MIN_MTU} to 65535"
        ))
    })?;
    if v < MIN_MTU {
        return Err(CliError::usage(format!(
            "-m/--mtu {v}: below the IPv4 minimum of {MIN_MTU}"
        )));
    }
    let any_v6 = addresses.iter().any(|c| c.addr.is_ipv6()) || peers.iter().any(IpAddr::is_ipv6);
    if any_v6 && v < MIN_MTU_V6 {
        return Err(CliError::usage(format!(
            "-m/--mtu {v}: an IPv6 tunnel needs at least {MIN_MTU_V6}"
        )));
    }
    Ok(Some(v))
}

/// `-r`: networks (host bits zero), repeatable.
fn routes(m: &getopts::Matches) -> Result<Vec<Cidr>, CliError> {
    let mut routes = Vec::new();
    for r in m.opt_strs("r") {
        let c =
            values::cidr(&r).map_err(|why| CliError::usage(format!("-r/--route '{r}': {why}")))?;
        if !c.host_bits_zero() {
            return Err(CliError::usage(format!(
                "-r/--route '{r}': host bits set after the /{} prefix (did you mean {}?)",
                c.prefix,
                c.network()
            )));
        }
        routes.push(c);
    }
    Ok(routes)
}

/// `-q` 0, nothing 1, each `-v` one more.
fn verbosity(m: &getopts::Matches) -> Result<u8, CliError> {
    match (m.opt_present("q"), m.opt_count("v")) {
        (true, 0) => Ok(0),
        (true, _) => Err(CliError::usage(
            "-q/--quiet and -v/--verbose exclude each other",
        )),
        (false, 0) => Ok(1),
        (false, n) => Ok(u8::try_from(n.saturating_add(1)).unwrap_or(u8::MAX)),
    }
}
