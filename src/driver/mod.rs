//! The data plane: one thread, one io_uring, moving buffers between the TUN device, the UDP socket
//! and the sans-IO core.
//!
//! Safe code only: every `unsafe` block lives in [`crate::sys::uring`] and
//! [`crate::sys::buf_ring`]. The loop itself is in [`event_loop`], the time source (whose origin
//! the caller creates and passes in) and the timeout bookkeeping in [`clock`], the control socket
//! it can serve (`wg show`, `wg set`) in [`control`], and the UDP socket as such a request changes
//! it (a new port, a firewall mark) in [`socket`]. The loop is generic over [`Protocol`]
//! (implemented by the WireGuard [`Device`]) so it is monomorphized for the real core and can be
//! tested with a stand-in.
#![forbid(unsafe_code)]

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::OnceLock;

use crate::core::device::Device;
use crate::core::device::Event;
use crate::core::entropy::Entropy;
use crate::core::time::WallTime;
use crate::core::{DropReason, Instant, Received, Stats, Transmit};

pub mod clock;
pub mod control;
#[cfg(test)]
mod control_tests;
pub mod event_loop;
pub mod socket;
#[cfg(test)]
mod tests;

pub use crate::sys::uring::Features as UringFeatures;
pub use control::{Control, ControlPlane};
pub use socket::SocketControl;

/// Names the io_uring features the loop must not use even if the kernel has them: `1` or `all`
/// for every one, or a comma-separated list (`read_multishot`). Read once, by [`probe`]. It
/// runs the old-kernel paths on a new kernel (tests, benchmarks) or works around a kernel bug.
pub const FORCE_FALLBACK_ENV: &str = "RINGTUN_FORCE_FALLBACK";

/// File descriptors the loop owns while it runs.
pub struct Io {
    /// `/dev/net/tun` opened with IFF_TUN | IFF_NO_PI, non-blocking; in offload mode also
    /// IFF_VNET_HDR with TSO and checksum offloads ([`crate::sys::tun::enable_offloads`]).
    pub tun: OwnedFd,
    /// Bound UDP socket (IPv4 or dual-stack IPv6), non-blocking; `UDP_GRO` on in offload mode.
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
    /// Read errors on the TUN device other than -ENOBUFS.
    pub tun_read_errors: u64,
    /// Receive errors on the UDP socket other than -ENOBUFS, and truncated datagrams.
    pub udp_recv_errors: u64,
    /// Control datagrams (handshakes, keepalives) queued for sending.
    pub control_sends: u64,
    /// Completions of the timeout request that fired.
    pub timer_wakeups: u64,
    /// Completion-queue batches processed (one per wake-up).
    pub batches: u64,
    /// Offload mode: TUN reads that were TSO super-packets, and the segments made of them.
    pub tso_packets: u64,
    pub tso_segments: u64,
    /// Sends from output buffers (GSO trains, or single datagrams once GSO is off).
    pub out_sends: u64,
    /// UDP receives that carried a GRO train, and the datagrams in them.
    pub gro_batches: u64,
    pub gro_datagrams: u64,
    /// TUN writes of coalesced packets (from output buffers).
    pub coalesced_writes: u64,
    /// Packets dropped by the offload path: bad vnet header, segmentation or coalescing refused,
    /// no output buffer or send slot free.
    pub offload_drops: u64,
    /// GSO sends the kernel refused (GSO is then off for the rest of the run).
    pub gso_refused: u64,
    /// Datagrams of a train not sent for lack of a free send slot.
    pub send_slot_drops: u64,
    /// Early submits to free output buffers while packets waited for one.
    pub backlog_submits: u64,
    /// Packets that arrived alone and went out with a direct `sendto` / TUN `write` (also
    /// counted in `udp_sends` / `tun_writes`, or in the error counters).
    pub direct_sends: u64,
    pub direct_writes: u64,
    /// Completions whose `user_data` no request of the ring carries (a bug; skipped).
    pub unknown_completions: u64,
    /// Packets read from the TUN device by single-shot reads, the fallback for kernels without
    /// the multishot read (also counted in `tun_reads`).
    pub tun_single_reads: u64,
    /// Single-shot TUN reads that ended with -EAGAIN, woken with nothing to read (a spurious
    /// wake-up; sys/uring/tun_reads.rs): not errors.
    pub tun_reads_again: u64,
    /// Control-socket connections served, and those closed at once because
    /// `ControlPlane::max_clients` were being served.
    pub control_clients: u64,
    pub control_refused: u64,
    /// Control requests answered by the protocol ([`Control`]), and those the codec refused
    /// (malformed, cut short, or over the limits: answered with their errno).
    pub control_requests: u64,
    pub control_bad_requests: u64,
    /// Control connections closed for making no progress within the time limit.
    pub control_timeouts: u64,
    /// Failed accepts on the control socket (e.g. EMFILE).
    pub control_accept_errors: u64,
}

/// The operator-facing side of the loop: logging. `E` is the protocol's event type
/// ([`Protocol::Event`]): the WireGuard device's [`Event`] by default.
pub trait Hooks<E = Event> {
    /// Every core event, in order. An error (one line) ends the loop: [`run`] returns
    /// [`DriverError::Interface`] with it.
    fn on_event(&mut self, now: Instant, event: &E) -> Result<(), String>;
    /// A datagram or packet the core dropped (the hook rate-limits its log line).
    fn on_drop(&mut self, now: Instant, reason: DropReason, from: Option<SocketAddr>);
    /// SIGUSR1, and once at exit.
    fn on_stats(&mut self, core: &Stats, driver: &DriverStats);
}

#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// Tunnel MTU: the largest IP packet read from the TUN device.
    pub mtu: u16,
    /// Offload mode: the TUN device was opened with `IFF_VNET_HDR` and TSO/checksum offloads
    /// (every read and write starts with a `virtio_net_hdr`), and the UDP socket has `UDP_GRO`
    /// on. Off: one IP packet per read/write/datagram.
    pub offload: bool,
    /// The optional io_uring features the loop may use ([`features`]); each one off is done
    /// without (DESIGN.md, "Kernel versions").
    pub features: UringFeatures,
}

/// Why the loop returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// SIGINT or SIGTERM.
    Signal(i32),
    /// The TUN interface was deleted (`ip link del`, `wg-quick down`): reading it fails with
    /// EBADFD, as it does once the kernel has detached the device from its file.
    InterfaceDeleted,
}

/// Why the loop could not start or had to stop.
#[derive(Debug)]
pub enum DriverError {
    /// The kernel lacks something the loop needs.
    Unsupported {
        feature: &'static str,
        kernel: String,
        detail: String,
    },
    /// io_uring exists but may not be used here, or the kernel has none: `io_uring_setup` failed
    /// with `error`, and `cause` says what blocks it and the fix (seccomp, the
    /// `kernel.io_uring_disabled` sysctl, the kernel; see [`crate::sys::uring::availability`]).
    Unavailable {
        kernel: String,
        error: String,
        cause: String,
    },
    /// Setting up the ring or its memory failed.
    Setup(io::Error),
    /// io_uring_enter failed with an error that is not transient.
    Submit(io::Error),
    /// Reading the signalfd failed.
    Signals(io::Error),
    /// A multishot read kept ending with an error without delivering anything (e.g. the TUN
    /// device was deleted).
    Read {
        what: &'static str,
        error: io::Error,
    },
    /// A hook failed (e.g. to change the interface for an event); the loop stopped.
    Interface(String),
    /// [`FORCE_FALLBACK_ENV`] names no fallback ringtun has (the one-line reason).
    ForceFallback(String),
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriverError::Unsupported {
                feature,
                kernel,
                detail,
            } => write!(
                f,
                "kernel {kernel} does not support {feature}: {detail} (ringtun needs Linux >= 6.1 with io_uring enabled)"
            ),
            DriverError::Unavailable {
                kernel,
                error,
                cause,
            } => write!(
                f,
                "io_uring_setup failed on kernel {kernel}: {error}: {cause}"
            ),
            // The probe has usually caught an unavailable io_uring before; when it has not (the
            // loop started without it), the cause is looked up as the error is shown.
            DriverError::Setup(e) => match crate::sys::uring::availability::explain(e) {
                Some(cause) => write!(f, "io_uring set-up failed: {e}: {cause}"),
                None => write!(f, "io_uring set-up failed: {e}"),
            },
            DriverError::Submit(e) => write!(f, "io_uring_enter failed: {e}"),
            DriverError::Signals(e) => write!(f, "reading the signalfd failed: {e}"),
            DriverError::Read { what, error } => {
                write!(f, "{what} failed repeatedly: {error}")
            }
            DriverError::Interface(e) => write!(f, "interface set-up failed: {e}"),
            DriverError::ForceFallback(e) => write!(f, "{FORCE_FALLBACK_ENV}: {e}"),
        }
    }
}

impl std::error::Error for DriverError {}

/// The optional features [`probe`] found, kept for the rest of the process.
static FEATURES: OnceLock<UringFeatures> = OnceLock::new();

/// Checks that the running kernel has every io_uring feature the loop needs (the error names the
/// kernel version and the missing feature, or what keeps io_uring from this process) and returns
/// the optional ones the loop may use: those the kernel has, less the fallbacks forced by
/// [`FORCE_FALLBACK_ENV`]. Each fallback in use is logged once, in one line. The first answer is
/// kept: later calls, and [`features`], return it without probing or logging again.
pub fn probe() -> Result<UringFeatures, DriverError> {
    if let Some(f) = FEATURES.get() {
        return Ok(*f);
    }
    let kernel = crate::sys::uring::kernel_release();
    let has = crate::sys::uring::probe().map_err(|f| match f.cause {
        Some(cause) => DriverError::Unavailable {
            kernel: kernel.clone(),
            error: f.detail,
            cause,
        },
        None => DriverError::Unsupported {
            feature: f.feature,
            kernel: kernel.clone(),
            detail: f.detail,
        },
    })?;
    let spec = std::env::var_os(FORCE_FALLBACK_ENV).unwrap_or_default();
    let allowed =
        UringFeatures::forcing(&spec.to_string_lossy()).map_err(DriverError::ForceFallback)?;
    let features = has.and(allowed);
    // Logged by the one call that keeps its answer (another thread's would be the same).
    if FEATURES.set(features).is_ok() {
        for o in features.missing() {
            let forced = has.missing().all(|m| m.name != o.name);
            crate::log_info!("{}", fallback_line(o, &kernel, forced));
        }
    }
    Ok(features)
}

/// The optional features the loop may use: [`probe`]'s answer (probing now if it has not run;
/// every fallback if the probe fails, which leaves the kernel's own error to the loop).
pub fn features() -> UringFeatures {
    probe().unwrap_or(UringFeatures::NONE)
}

/// The line that says a fallback is in use: which feature, since which Linux, the running kernel,
/// and what the loop does instead.
fn fallback_line(o: &crate::sys::uring::Optional, kernel: &str, forced: bool) -> String {
    let why = if forced {
        format!("not used on kernel {kernel} ({FORCE_FALLBACK_ENV} is set)")
    } else {
        format!("missing on kernel {kernel}")
    };
    format!(
        "{} (Linux >= {}) {why}: {}",
        o.kernel_name, o.since, o.instead
    )
}

/// Sizes of the ring and the buffer pools (defaults suit a 1-2 Gbit/s tunnel; see DESIGN notes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingSizes {
    pub sq_entries: u32,
    pub cq_entries: u32,
    /// Buffers for TUN reads and for UDP receives (powers of two).
    pub tun_buffers: u16,
    pub udp_buffers: u16,
    pub control_slots: u16,
    /// Offload mode only: output buffers (segmentation and coalescing) and send slots.
    pub out_buffers: u16,
    pub send_slots: u16,
    /// Reads in a chain of single-shot TUN reads, used when the multishot read is not
    /// (`sys/uring/tun_reads.rs`; at most `tun_buffers`). DESIGN.md, "Kernel versions", says why
    /// this many.
    pub tun_single_reads: u16,
}

/// See [`RingSizes::tun_single_reads`].
const TUN_SINGLE_READS: u16 = 64;

impl RingSizes {
    /// Offload mode: fewer, 64 KiB buffers.
    pub fn offload() -> RingSizes {
        RingSizes {
            sq_entries: 512,
            cq_entries: 4096,
            tun_buffers: 128,
            udp_buffers: 128,
            control_slots: 8,
            out_buffers: 64,
            send_slots: 512,
            tun_single_reads: TUN_SINGLE_READS,
        }
    }
}

impl RingSizes {
    /// The sizes for a run: fewer, larger buffers in offload mode.
    fn for_config(config: &DriverConfig) -> RingSizes {
        if config.offload {
            RingSizes::offload()
        } else {
            RingSizes::default()
        }
    }
}

impl Default for RingSizes {
    fn default() -> Self {
        RingSizes {
            sq_entries: 512,
            cq_entries: 4096,
            tun_buffers: 512,
            udp_buffers: 512,
            control_slots: 8,
            out_buffers: 0,
            send_slots: 0,
            tun_single_reads: TUN_SINGLE_READS,
        }
    }
}

/// What the loop needs from the protocol core. Implemented by [`Device`]; the loop is generic
/// over it (monomorphized, no dynamic dispatch on the hot path).
pub trait Protocol {
    /// What [`Protocol::poll_event`] reports (and [`Hooks::on_event`] receives).
    type Event;
    /// The longest datagram [`Protocol::poll_transmit`] writes (the control slots must hold it).
    const MAX_CONTROL_LEN: usize;

    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &mut [u8]) -> Received;
    fn seal(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<Transmit, DropReason>;
    /// `wall` is the wall clock read with `now` (once per batch): WireGuard stamps every
    /// handshake initiation with it, and the core reads no clock itself.
    fn poll_transmit(&mut self, now: Instant, wall: WallTime, buf: &mut [u8]) -> Option<Transmit>;
    fn poll_timeout(&self) -> Option<Instant>;
    fn handle_timeout(&mut self, now: Instant);
    fn poll_event(&mut self) -> Option<Self::Event>;
    fn stats(&self) -> &Stats;
}

impl<E: Entropy> Protocol for Device<E> {
    type Event = crate::core::device::Event;
    const MAX_CONTROL_LEN: usize = crate::core::device::MAX_CONTROL_LEN;

    #[inline]
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &mut [u8]) -> Received {
        Device::handle_datagram(self, now, from, datagram)
    }
    #[inline]
    fn seal(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<Transmit, DropReason> {
        Device::seal(self, now, buf, payload_len)
    }
    #[inline]
    fn poll_transmit(&mut self, now: Instant, wall: WallTime, buf: &mut [u8]) -> Option<Transmit> {
        Device::poll_transmit(self, now, wall, buf)
    }
    #[inline]
    fn poll_timeout(&self) -> Option<Instant> {
        Device::poll_timeout(self)
    }
    #[inline]
    fn handle_timeout(&mut self, now: Instant) {
        Device::handle_timeout(self, now)
    }
    #[inline]
    fn poll_event(&mut self) -> Option<Self::Event> {
        Device::poll_event(self)
    }
    #[inline]
    fn stats(&self) -> &Stats {
        Device::stats(self)
    }
}

/// Runs the data plane until SIGINT/SIGTERM or an error (a hook's included). Must be called on the
/// thread that blocked the signals (the ring is single-issuer: it is created here, on the calling
/// thread). `clock` is the origin `proto`'s instants were read from.
pub fn run<P: Protocol>(
    proto: &mut P,
    io: Io,
    config: &DriverConfig,
    clock: clock::Clock,
    hooks: &mut dyn Hooks<P::Event>,
) -> Result<Exit, DriverError> {
    let sizes = RingSizes::for_config(config);
    event_loop::run_with(proto, io, config, &sizes, clock, hooks)
}

/// [`run`] for any protocol that also answers the control socket: the loop serves `control`
/// ([`control`]'s documentation says how) and removes its file when it returns.
pub fn run_with_control<P: Protocol + Control>(
    proto: &mut P,
    io: Io,
    control: ControlPlane,
    config: &DriverConfig,
    clock: clock::Clock,
    hooks: &mut dyn Hooks<P::Event>,
) -> Result<Exit, DriverError> {
    let sizes = RingSizes::for_config(config);
    event_loop::run_with_control(proto, io, control, config, &sizes, clock, hooks)
}
