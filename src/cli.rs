//! Command-line parsing with getopts. Every bad flag is a one-line error naming it (no panic).

use std::net::{IpAddr, SocketAddr};
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
