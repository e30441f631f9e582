//! The command line: what the operator asked for ([`Command`], [`Options`]), parsed by mode.
//! Every bad flag is a one-line error naming it (no panic).
//!
//! - [`flags`]: the one table of flags, and the getopts spec and help lines made from it.
//! - [`values`]: each flag's value (ports, addresses, prefixes, names).
//! - [`usage`]: the `--help` and `--version` texts.
//! - [`completion`]: the bash completion script, made from the flag table.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::app::addressing::default_mtu;
use crate::app::addressing::{MIN_MTU, MIN_MTU_V6, default_client_address, default_server_address};
use crate::core::ip_prefix::IpPrefix;
use flags::Modes;

pub mod completion;
pub mod flags;
#[cfg(test)]
mod tests;
pub mod usage;
pub mod values;

pub use usage::{usage, version};

/// Default secret file of the one-command mode, so that `ringtun -l 1234` / `ringtun -s host:1234`
/// work as typed.
pub const DEFAULT_KEY_PATH: &str = "/etc/ringtun/key";
pub const DEFAULT_INTERFACE: &str = "ringtun0";

/// What the operator asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the tunnel.
    Run(Options),
    /// `ringtun genkey [FILE]`: a fresh private key (also the one-command secret), written to FILE
    /// (created 0600) or to stdout.
    GenKey {
        path: Option<PathBuf>,
    },
    /// `ringtun pubkey`: the public key of the private key on stdin.
    PubKey,
    /// `ringtun genpsk`: a fresh preshared key on stdout.
    GenPsk,
    /// `ringtun show [IFNAME] [--json]`: what `wg show` shows, and ringtun's drop counters, of one
    /// interface or (`None`) of every one with a control socket.
    Show {
        interface: Option<String>,
        json: bool,
    },
    /// `ringtun completion bash`: the bash completion script.
    Completion,
    Help,
    Version,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `-c FILE`: a WireGuard configuration file.
    ConfigFile(PathBuf),
    /// `-l [ADDR:]PORT`: the one-command server binds ADDR (default: the IPv6 wildcard,
    /// dual-stack) and waits for its client.
    Listen(SocketAddr),
    /// `-s HOST:PORT`: the one-command client; the server's address, resolved once at start.
    Connect(SocketAddr),
    /// `ringtun [-f] IFNAME`: a bare interface with its control socket, for `wg` / `wg-quick`.
    /// `foreground`: `-f` (the app also honours `WG_PROCESS_FOREGROUND=1`).
    Interface { foreground: bool },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub mode: Mode,
    /// `-i`, with `-c` the file's name without `.conf`, or `ringtun IFNAME`'s.
    pub interface: String,
    /// 0 quiet, 1 normal, 2+ verbose.
    pub verbosity: u8,
    /// The one-command mode's own settings; empty defaults with `-c` (the file has them).
    pub one_command: OneCommandOptions,
    /// `-u`: the user to run as after set-up.
    pub user: Option<String>,
}

/// The flags of the one-command mode (`-l` / `-s`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneCommandOptions {
    /// `-k`: the shared secret file.
    pub key_path: PathBuf,
    /// `-a`, at most one per family; the defaults filled in when none is given.
    pub addresses: Vec<IpPrefix>,
    /// `-m`; `None`: computed from the underlay (see [`default_mtu`]).
    pub mtu: Option<u16>,
    /// `-r`, repeatable.
    pub routes: Vec<IpPrefix>,
    /// `-K` (client only): PersistentKeepalive in seconds.
    pub keepalive: Option<u16>,
}

impl Default for OneCommandOptions {
    fn default() -> Self {
        OneCommandOptions {
            key_path: PathBuf::from(DEFAULT_KEY_PATH),
            addresses: Vec::new(),
            mtu: None,
            routes: Vec::new(),
            keepalive: None,
        }
    }
}

impl Options {
    /// The one-command tunnel MTU: `-m`, else [`default_mtu`] of the worst case, an IPv6 underlay
    /// (1420, as wg-quick's default), on both sides: with no configuration pushed, the two sides
    /// agree on it only if neither depends on what the other is bound to. (With `-c`: the file's
    /// MTU, else the same 1420, applied by the app.)
    pub fn effective_mtu(&self) -> u16 {
        self.one_command.mtu.unwrap_or_else(|| default_mtu(true))
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
    match args.first().map(String::as_str) {
        Some("genkey") => return parse_genkey(&args[1..]),
        Some("pubkey") => return parse_key_tool(&args[1..], "pubkey", Command::PubKey),
        Some("genpsk") => return parse_key_tool(&args[1..], "genpsk", Command::GenPsk),
        Some("show") => return parse_show(&args[1..]),
        Some("completion") => return completion::parse(&args[1..]),
        _ => {}
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
    let given = (m.opt_str("c"), m.opt_str("l"), m.opt_str("s"));
    if let (None, None, None) = given {
        if let [name] = m.free.as_slice() {
            return Ok(Command::Run(interface_options(&m, name)?));
        }
    }
    if let Some(extra) = m.free.get(usize::from(given == (None, None, None))) {
        return Err(CliError::usage(format!("unexpected argument '{extra}'")));
    }
    let options = match given {
        (Some(c), None, None) => config_options(&m, &c)?,
        (None, Some(l), None) => server_options(&m, values::listen_addr(&l)?)?,
        (None, None, Some(s)) => client_options(&m, values::server_addr(&s)?)?,
        (None, None, None) => {
            return Err(CliError::usage(
                "give -c FILE to run a WireGuard configuration, IFNAME for an interface that wg \
                 configures, or -l [ADDR:]PORT / -s HOST:PORT for the one-command server / client",
            ));
        }
        _ => {
            return Err(CliError::usage(
                "-c/--config, -l/--listen and -s/--server exclude each other: give one",
            ));
        }
    };
    Ok(Command::Run(options))
}

/// `ringtun genkey [FILE]` (`-` or no FILE: stdout).
fn parse_genkey(rest: &[String]) -> Result<Command, CliError> {
    const USAGE: &str = "usage: ringtun genkey [FILE]";
    let m = flags::spec(Modes::KEYS)
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

/// `ringtun pubkey` / `ringtun genpsk`: no arguments (stdin and stdout, as `wg` has them).
fn parse_key_tool(rest: &[String], name: &str, command: Command) -> Result<Command, CliError> {
    let m = flags::spec(Modes::KEYS).parse(rest).map_err(|f| {
        CliError::usage(format!(
            "{name}: {} (usage: ringtun {name})",
            flags::fail_message(&f)
        ))
    })?;
    match (m.opt_present("h"), m.free.first()) {
        (true, None) => Ok(Command::Help),
        (false, None) => Ok(command),
        (_, Some(extra)) => Err(CliError::usage(format!(
            "{name}: unexpected argument '{extra}' (usage: ringtun {name}; it reads stdin \
             and writes stdout, as wg {name} does)"
        ))),
    }
}

/// `ringtun show [IFNAME|all] [--json]`.
fn parse_show(rest: &[String]) -> Result<Command, CliError> {
    const USAGE: &str = "usage: ringtun show [IFNAME] [--json]";
    let mut spec = getopts::Options::new();
    spec.optflag("", "json", "");
    spec.optflag("h", "help", "");
    let m = spec
        .parse(rest)
        .map_err(|f| CliError::usage(format!("show: {} ({USAGE})", flags::fail_message(&f))))?;
    if m.opt_present("h") {
        return Ok(Command::Help);
    }
    let interface = match m.free.as_slice() {
        [] => None,
        [all] if all == "all" => None,
        [name] => {
            values::check_interface_name(name).map_err(|why| {
                CliError::usage(format!("show: interface name '{name}': {why} ({USAGE})"))
            })?;
            Some(name.clone())
        }
        [_, extra, ..] => {
            return Err(CliError::usage(format!(
                "show: unexpected argument '{extra}' ({USAGE})"
            )));
        }
    };
    Ok(Command::Show {
        interface,
        json: m.opt_present("json"),
    })
}

/// `ringtun [-f] IFNAME`: only `-f`, `-u`, `-v` and `-q` go with it (`wg` configures the rest).
fn interface_options(m: &getopts::Matches, name: &str) -> Result<Options, CliError> {
    only_flags_of(m, Modes::INTERFACE, "an interface (ringtun IFNAME)")?;
    values::check_interface_name(name)
        .map_err(|why| CliError::usage(format!("interface name '{name}': {why}")))?;
    Ok(Options {
        mode: Mode::Interface {
            foreground: m.opt_present("f"),
        },
        interface: name.to_owned(),
        verbosity: verbosity(m)?,
        user: user(m)?,
        one_command: OneCommandOptions::default(),
    })
}

/// `-c FILE`: everything else is in the file; `-i` defaults to the file's name.
fn config_options(m: &getopts::Matches, file: &str) -> Result<Options, CliError> {
    only_flags_of(m, Modes::CONFIG, "-c/--config (the file says it)")?;
    if file.is_empty() {
        return Err(CliError::usage("-c/--config: empty file name"));
    }
    let path = PathBuf::from(file);
    let interface = match m.opt_str("i") {
        Some(_) => interface(m)?,
        None => interface_from_file_name(&path)?,
    };
    Ok(Options {
        mode: Mode::ConfigFile(path),
        interface,
        verbosity: verbosity(m)?,
        user: user(m)?,
        one_command: OneCommandOptions::default(),
    })
}

/// wg-quick's rule: `/etc/wireguard/wg0.conf` runs interface `wg0`.
fn interface_from_file_name(path: &Path) -> Result<String, CliError> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    values::check_interface_name(&stem).map_err(|why| {
        CliError::usage(format!(
            "-c/--config '{}': the interface name '{stem}' taken from the file name is not \
             valid ({why}): rename the file or give -i NAME",
            path.display()
        ))
    })?;
    Ok(stem)
}

/// `-l`: the one-command server. Without `-a` it takes [`default_server_address`].
fn server_options(m: &getopts::Matches, listen: SocketAddr) -> Result<Options, CliError> {
    only_flags_of(m, Modes::SERVER, "the server")?;
    one_command_options(m, Mode::Listen(listen), default_server_address())
}

/// `-s`: the one-command client. Without `-a` it takes [`default_client_address`].
fn client_options(m: &getopts::Matches, server: SocketAddr) -> Result<Options, CliError> {
    only_flags_of(m, Modes::CLIENT, "a client")?;
    one_command_options(m, Mode::Connect(server), default_client_address())
}

fn one_command_options(
    m: &getopts::Matches,
    mode: Mode,
    default_address: IpPrefix,
) -> Result<Options, CliError> {
    let key_path = key_path(m)?;
    let mut addresses = addresses(m)?;
    if addresses.is_empty() {
        addresses.push(default_address);
    }
    let interface = interface(m)?;
    let mtu = mtu(m, &addresses)?;
    Ok(Options {
        mode,
        interface,
        verbosity: verbosity(m)?,
        user: user(m)?,
        one_command: OneCommandOptions {
            key_path,
            addresses,
            mtu,
            routes: routes(m)?,
            keepalive: keepalive(m)?,
        },
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
fn addresses(m: &getopts::Matches) -> Result<Vec<IpPrefix>, CliError> {
    let mut addresses: Vec<IpPrefix> = Vec::new();
    for a in m.opt_strs("a") {
        let c = values::cidr(&a)
            .map_err(|why| CliError::usage(format!("-a/--address '{a}': {why}")))?;
        let ip = c.addr();
        if ip.is_unspecified() || ip.is_multicast() || ip.is_loopback() {
            return Err(CliError::usage(format!(
                "-a/--address '{a}': not a usable interface address"
            )));
        }
        if addresses.iter().any(|x| x.is_ipv4() == c.is_ipv4()) {
            return Err(CliError::usage(format!(
                "-a/--address '{a}': at most one address per family (IPv4, IPv6)"
            )));
        }
        addresses.push(c);
    }
    Ok(addresses)
}

fn interface(m: &getopts::Matches) -> Result<String, CliError> {
    let interface = m
        .opt_str("i")
        .unwrap_or_else(|| DEFAULT_INTERFACE.to_string());
    values::check_interface_name(&interface)
        .map_err(|why| CliError::usage(format!("-i/--interface '{interface}': {why}")))?;
    Ok(interface)
}

/// `-m`: at least [`MIN_MTU`], and [`MIN_MTU_V6`] if IPv6 is among the addresses.
fn mtu(m: &getopts::Matches, addresses: &[IpPrefix]) -> Result<Option<u16>, CliError> {
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
    if addresses.iter().any(|c| !c.is_ipv4()) && v < MIN_MTU_V6 {
        return Err(CliError::usage(format!(
            "-m/--mtu {v}: an IPv6 tunnel needs at least {MIN_MTU_V6}"
        )));
    }
    Ok(Some(v))
}

/// `-r`: networks (host bits zero), repeatable.
fn routes(m: &getopts::Matches) -> Result<Vec<IpPrefix>, CliError> {
    let mut routes = Vec::new();
    for r in m.opt_strs("r") {
        let c =
            values::cidr(&r).map_err(|why| CliError::usage(format!("-r/--route '{r}': {why}")))?;
        if !c.is_masked() {
            return Err(CliError::usage(format!(
                "-r/--route '{r}': host bits set after the /{} prefix (did you mean {}?)",
                c.prefix_len(),
                c.masked()
            )));
        }
        routes.push(c);
    }
    Ok(routes)
}

/// `-K SECONDS`: 1..=65535 (0, "off", is not asked for: leave the flag out).
fn keepalive(m: &getopts::Matches) -> Result<Option<u16>, CliError> {
    let Some(s) = m.opt_str("K") else {
        return Ok(None);
    };
    match s.parse::<u16>() {
        Ok(v) if v > 0 => Ok(Some(v)),
        _ => Err(CliError::usage(format!(
            "-K/--keepalive '{s}': not a number of seconds from 1 to 65535 (25 is usual)"
        ))),
    }
}

/// `-u NAME`: a user name (looked up by the app, when planning the run).
fn user(m: &getopts::Matches) -> Result<Option<String>, CliError> {
    match m.opt_str("u") {
        Some(u) if u.is_empty() || u.contains('\0') => {
            Err(CliError::usage("-u/--user: empty or invalid user name"))
        }
        u => Ok(u),
    }
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
