//! The data plane: one thread, one io_uring, moving buffers between the TUN device, the UDP socket
//! and the sans-IO core.

use std::net::SocketAddr;
use std::os::fd::OwnedFd;

use crate::core::{DropReason, Event, Instant, Stats};

/// File descriptors the loop owns while it runs.
pub struct Io {
    /// `/dev/net/tun` opened with IFF_TUN | IFF_NO_PI, non-blocking.
    pub tun: OwnedFd,
    /// Bound UDP socket (IPv4 or dual-stack IPv6), non-blocking.
    pub udp: OwnedFd,
    /// signalfd for SIGINT, SIGTERM, SIGUSR1 (already blocked).
    pub signals: OwnedFd,
}

/// Counters of the driver itself (the core keeps its own).
#[derive(Clone, Debug, Default)]
pub struct DriverStats {
    pub tun_reads: u64,
    pub udp_recvs: u64,
    pub tun_writes: u64,
    pub udp_sends: u64,
    pub tun_write_errors: u64,
    pub udp_send_errors: u64,
    /// Multishot requests that ended for lack of buffers (-ENOBUFS) and were re-armed.
    pub out_of_buffers: u64,
    /// io_uring_enter calls that submitted work.
    pub submits: u64,
}

/// The operator-facing side of the loop: interface set-up and logging.
pub trait Hooks {
    /// Every core event, in order (SessionUp: configure the interface for the pushed config).
    fn on_event(&mut self, now: Instant, event: &Event);
    /// A datagram or packet the core dropped (the hook rate-limits its log line).
    fn on_drop(&mut self, now: Instant, reason: DropReason, from: Option<SocketAddr>);
    /// SIGUSR1, and once at exit.
    fn on_stats(&mut self, core: &Stats, driver: &DriverStats);
}

#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// Tunnel MTU: the largest IP packet read from the TUN device.
    pub mtu: u16,
}

/// Why the loop returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// SIGINT or SIGTERM.
    Signal(i32),
}

/// Why the loop could not run or stopped with an error.
#[derive(Debug)]
pub struct DriverError(pub String);

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DriverError {}

/// Checks the kernel's io_uring features.
pub fn probe() -> Result<(), DriverError> {
    Ok(())
}

/// Runs the loop until SIGINT/SIGTERM.
pub fn run(
    endpoint: &mut crate::core::Endpoint,
    io: Io,
    config: &DriverConfig,
    hooks: &mut dyn Hooks,
) -> Result<Exit, DriverError> {
    let _ = (endpoint, io, config, hooks);
    Err(DriverError("driver not built yet".into()))
}
