//! Harness for ringtun's real-tunnel integration tests, one job per file:
//!
//! - [`netns`]: [`TestNet`], two fresh network namespaces (`rt-<pid>-<n>-s` for the server,
//!   `rt-<pid>-<n>-c` for the client) joined by a veth pair with private underlay addresses,
//!   removed again in `Drop` (also after a panic: every process left in the namespaces is killed
//!   first); threads inside a namespace ([`in_netns`], via `ringtun::sys::netns::enter`); key files.
//! - [`processes`]: commands ([`run`], [`ns_run`]) and [`Ringtun`], a ringtun child process in a
//!   namespace, its stderr in a log file that can be read while it runs (and is printed when the
//!   test fails), SIGUSR1 stats, SIGTERM, kill on drop.
//! - [`tools`]: [`ping`], [`Iperf3Server`] / [`iperf3_client`], [`netem`].
//! - [`json`]: iperf3's `--json` output ([`parse_iperf3`]).
//! - [`scratch`]: [`Scratch`], a temporary directory removed on drop.
//! - [`relay`]: UDP tools on threads inside a namespace: [`UdpRelay`] (forwards, counts, captures
//!   and replays, optionally reorders) and [`flood`].
//!
//! Everything the test files use is re-exported here (`use common::*`). A test file declares it
//! `pub mod common;`: each test binary uses a different part, and as part of the binary's public
//! API what that binary leaves unused is not reported as dead code (private helpers still are),
//! without a blanket `allow(dead_code)`.
//!
//! Everything needs root: the tests are `#[ignore = "needs root"]` (`scripts/test.sh` runs them),
//! and run without root they panic with a clear message ([`require_root`]); nothing is skipped.

pub mod json;
pub mod netns;
pub mod processes;
pub mod relay;
pub mod scratch;
pub mod tools;

pub use json::*;
pub use netns::*;
pub use processes::*;
pub use relay::*;
pub use scratch::*;
pub use tools::*;
