//! ringtun: a point-to-point VPN for Linux.
//!
//! The crate is split in three layers, so that every rule about bytes from the network can be tested
//! without a kernel:
//!
//! - [`core`]: the sans-IO protocol: wire format, AEAD, key derivation, handshake, sessions, replay
//!   window and timers. Bytes and a clock value in, bytes and actions out. No syscalls, no `unsafe`.
//! - [`driver`]: the single-threaded io_uring loop that moves buffers between the TUN device, the UDP
//!   socket and the core.
//! - [`sys`]: every `unsafe` block and raw syscall (TUN ioctls, rtnetlink, sockets, signals, io_uring
//!   memory), behind small safe functions.
//!
//! [`cli`], [`config`] (WireGuard configuration files), [`keyfile`] and [`log`] are the
//! operator-facing pieces used by the binary; [`uapi`] is the sans-IO codec of WireGuard's control
//! protocol (what `wg` speaks over a unix socket).
// Unsafe code is refused everywhere but in `sys`, which allows it back (each block with a
// `// SAFETY:` comment); `core` and `net` forbid it outright.
#![deny(unsafe_code)]
#![forbid(unsafe_op_in_unsafe_fn)]

pub mod app;
pub mod cli;
pub mod config;
pub mod core;
pub mod driver;
pub(crate) mod keyfile;
pub mod log;
pub mod net;
#[allow(unsafe_code)]
pub mod sys;
pub mod uapi;
