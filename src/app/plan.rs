//! What a run is, decided before anything on the system is touched: the device's configuration
//! (keys, port, peers), the interface's (addresses, MTU, routes) and the UDP socket's address,
//! from either way of running ringtun. A configuration that cannot run is refused here, so a
//! refusal leaves no interface behind.

use std::net::{Ipv6Addr, SocketAddr};

use super::{AppError, config_file, one_command};
use crate::cli::{Mode, Options};
use crate::core::device::DeviceConfig;
use crate::core::keys::PrivateKey;
use crate::core::one_command::SECRET_LEN;
use crate::keyfile::{self, KeyError};

use super::addressing::InterfacePlan;

/// Everything [`super::setup::prepare`] needs.
#[derive(Debug)]
pub struct Plan {
    pub device: DeviceConfig,
    pub interface: InterfacePlan,
    /// The UDP socket's address. An IPv6 wildcard falls back to IPv4 on a host without IPv6.
    pub bind: SocketAddr,
    /// What the start-up log line says.
    pub start: Start,
}

/// How the run describes itself when it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// `-c FILE`, with its path as given.
    ConfigFile { source: String },
    /// The one-command server.
    Listen,
    /// The one-command client, and its server.
    Connect(SocketAddr),
    /// `ringtun IFNAME`: a bare interface, configured later over its control socket.
    Interface,
}

impl Start {
    /// Whether the run is ready for a service manager (`READY=1`) only once its first session is
    /// up rather than once set up: the one-command client, whose one job is that connection. A
    /// server, a configuration file and a bare interface are ready when their interface is up:
    /// WireGuard has no connection to wait for (handshakes start on the first packet), as for
    /// wg-quick.
    pub fn ready_on_first_session(&self) -> bool {
        matches!(self, Start::Connect(_))
    }

    /// The start-up line, once the socket is bound to `local`.
    pub fn line(
        &self,
        ifname: &str,
        local: SocketAddr,
        plan: &InterfacePlan,
        peers: usize,
    ) -> String {
        match self {
            Start::ConfigFile { source } => format!(
                "{ifname}: running {source}: listening on {local}, {peers} peer{} ({})",
                if peers == 1 { "" } else { "s" },
                plan.describe()
            ),
            Start::Listen => format!("{ifname}: listening on {local} ({})", plan.describe()),
            Start::Connect(server) => {
                format!(
                    "{ifname}: connecting to {server} from {local} ({})",
                    plan.describe()
                )
            }
            Start::Interface => format!(
                "{ifname}: interface created, listening on {local}: waiting for its configuration \
                 (wg setconf, wg set, or wg-quick) and its addresses (ip)"
            ),
        }
    }
}

/// The plan for `opts`: reads the configuration file or the one-command secret.
pub fn plan(opts: &Options) -> Result<Plan, AppError> {
    match &opts.mode {
        Mode::ConfigFile(path) => config_file::load_plan(path),
        Mode::Listen(_) | Mode::Connect(_) => {
            let secret = read_secret(&opts.one_command.key_path)?;
            one_command::plan(opts, secret.as_bytes())
        }
        Mode::Interface { .. } => Ok(interface_plan()),
    }
}

/// The MTU a bare interface is created with: wireguard-go's, and what `wg-quick` sets over a
/// 1500-byte link. Without offloads the loop's buffers take packets up to
/// [`INTERFACE_MAX_PACKET`], so a larger MTU set later needs them.
pub const INTERFACE_MTU: u16 = 1420;
/// The largest packet a bare interface's loop reads without offloads (an MTU up to a full
/// Ethernet frame's payload).
pub const INTERFACE_MAX_PACKET: u16 = 1500;

/// `ringtun IFNAME`: no private key (all zeros), no peers, no address, a random port (as `wg`
/// shows an interface before its `ListenPort` is set), the link down until `ip` (or wg-quick)
/// sets it up; as wireguard-go and boringtun create theirs.
fn interface_plan() -> Plan {
    Plan {
        device: DeviceConfig::new(PrivateKey::from_bytes([0; 32])),
        interface: InterfacePlan::new(INTERFACE_MTU, Vec::new(), Vec::new()),
        bind: SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), 0),
        start: Start::Interface,
    }
}

/// The one-command secret: a WireGuard key file (`ringtun genkey`, or `wg genkey` / `wg genpsk`),
/// opened once without following links and refused if anyone but its owner may read it.
fn read_secret(path: &std::path::Path) -> Result<crate::core::keys::PresharedKey, AppError> {
    const _: () = assert!(SECRET_LEN == crate::core::key_encoding::KEY_LEN);
    keyfile::read_wg_preshared_key(path).map_err(|e| match e {
        KeyError::MissingWgKey(p) => AppError::new(format!(
            "key file {} does not exist: create one with `ringtun genkey {}` and copy it to the \
             other host",
            p.display(),
            p.display()
        )),
        e => AppError::new(e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_one_command_client_waits_for_its_session_to_be_ready() {
        assert!(Start::Connect("192.0.2.1:51820".parse().unwrap()).ready_on_first_session());
        for ready_at_start in [
            Start::Listen,
            Start::Interface,
            Start::ConfigFile {
                source: "wg0.conf".into(),
            },
        ] {
            assert!(
                !ready_at_start.ready_on_first_session(),
                "{ready_at_start:?}"
            );
        }
    }
}
