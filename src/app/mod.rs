//! The binary's glue between the command line and the driver.
//!
//! - [`setup`]: options to file descriptors, the endpoint's and the driver's configuration, and
//!   the server's interface configuration.
//! - [`addressing`]: what the server pushes and what each side configures (pure).
//! - [`hooks`]: the driver's [`crate::driver::Hooks`]: events and drops to log lines, the
//!   client's interface set-up on its first `SessionUp`.
//! - [`report`]: the text of those lines (addressing, counters, drops).
//!
//! Time: the program owns the one monotonic origin, a [`Clock`] created in [`run`]; the endpoint's
//! first instant is read from it and the driver is handed it, so core and driver agree on what
//! an [`crate::core::Instant`] means.

use std::fmt;
use std::path::Path;

use crate::cli::{Mode, Options};
use crate::core::Endpoint;
use crate::driver::clock::Clock;
use crate::driver::{self, Exit};
use crate::sys::{notify, random, signal};
use crate::{keyfile, log_info, log_warn};

pub mod addressing;
pub mod hooks;
pub mod report;
pub mod setup;

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

/// Runs the tunnel until SIGINT or SIGTERM.
pub fn run(opts: Options) -> Result<(), AppError> {
    crate::log::set_verbosity(opts.verbosity);
    driver::probe().map_err(err)?;
    let setup::Prepared {
        io,
        endpoint_config,
        driver_config,
        mut hooks,
        local,
        ifname: _,
    } = setup::prepare(&opts)?;
    let seed = random::bytes32().map_err(|e| err(format!("getrandom: {e}")))?;
    let clock = Clock::new();
    let mut endpoint = Endpoint::new(endpoint_config, seed, clock.now(), wall_clock_ns());
    match opts.mode {
        Mode::Listen(_) => {
            log_info!("listening on {local}");
            // The server's interface is up: systemd's Type=notify start is complete. (A client
            // says READY=1 on its first session, in its SessionUp hook.)
            if let Err(e) = notify::ready(&format!("listening on {local}")) {
                notify_failed(e);
            }
        }
        Mode::Connect(server) => log_info!("connecting to {server} from {local}"),
    }
    // After the start succeeded, so that a failed start stays one line.
    if let Some(hint) = crate::sys::cpu::faster_build_hint() {
        log_info!("{hint}");
    }
    match driver::run(&mut endpoint, io, &driver_config, clock, &mut hooks).map_err(err)? {
        Exit::Signal(sig) => {
            log_info!("exiting on {}", signal::name(sig));
            if let Err(e) = notify::stopping(&format!("exiting on {}", signal::name(sig))) {
                notify_failed(e);
            }
            Ok(())
        }
    }
}

/// A service manager that asked for notifications and cannot get them will consider ringtun
/// failed to start; say why, but keep the tunnel.
fn notify_failed(e: std::io::Error) {
    log_warn!("cannot notify the service manager ($NOTIFY_SOCKET): {e}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_is_unix_time() {
        assert!(wall_clock_ns() > 1_600_000_000_000_000_000);
    }
}
