//! The binary's glue between the command line and the driver.
//!
//! - [`plan`]: what a run is, decided before any syscall: the device's configuration, the
//!   interface's and the socket's, from a configuration file ([`config_file`]) or from the
//!   one-command flags and secret ([`one_command`]).
//! - [`addressing`]: the default MTU, the one-command address convention, routes from AllowedIPs
//!   (pure).
//! - [`setup`]: the plan to file descriptors: privileges, signals, control socket, UDP socket, TUN
//!   device, and the interface's configuration.
//! - [`privileges`]: after set-up, the account (`--user`) and the capabilities the loop keeps.
//! - [`control`]: the device as `wg` drives it over the control socket (`wg show`, `wg set`).
//! - [`hooks`]: the driver's [`crate::driver::Hooks`]: the device's events and drops to log lines.
//! - [`report`]: the text of those lines (peers, counters, drops).
//! - [`key_tools`]: `ringtun genkey`, `pubkey`, `genpsk`.
//! - [`show`]: `ringtun show`, a client of the control sockets.
//!
//! Time: the program owns the one monotonic origin, a [`Clock`] created in [`run`]; the device's
//! first instant is read from it and the driver is handed it, so core and driver agree on what an
//! [`crate::core::Instant`] means.

use std::fmt;

use crate::cli::{Mode, Options};
use crate::core::device::Device;
use crate::driver::clock::Clock;
use crate::driver::{self, ControlPlane, Exit};
use crate::sys::random::SysEntropy;
use crate::sys::{daemon, notify, signal, tun};
use crate::{log_info, log_warn};
use control::Controlled;

pub mod addressing;
pub mod config_file;
pub mod control;
pub mod hooks;
pub mod key_tools;
pub mod one_command;
pub mod plan;
pub mod privileges;
pub mod report;
pub mod setup;
pub mod show;

/// A failure that ends the program: one line for `ringtun: error: …`, and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    pub message: String,
    /// 1 for a failure at run time, 2 for a configuration that cannot be run as written.
    pub status: u8,
}

impl AppError {
    /// A run-time failure: exit status 1.
    pub fn new(message: impl Into<String>) -> Self {
        AppError {
            message: message.into(),
            status: 1,
        }
    }

    /// A configuration (file or flags) that cannot be run as written: exit status 2.
    pub fn config(message: impl Into<String>) -> Self {
        AppError {
            message: message.into(),
            status: 2,
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

fn err(e: impl fmt::Display) -> AppError {
    AppError::new(e.to_string())
}

/// Unix time in nanoseconds (0 if the clock is before 1970), for the initiation timestamp.
pub fn wall_clock_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The environment variable that keeps `ringtun IFNAME` in the foreground, as it does
/// wireguard-go.
pub const FOREGROUND_ENV: &str = "WG_PROCESS_FOREGROUND";

/// Whether `ringtun IFNAME` goes to the background: not with `-f`, nor with
/// `WG_PROCESS_FOREGROUND=1`; the other modes never do.
fn goes_to_background(opts: &Options, foreground_env: Option<&std::ffi::OsStr>) -> bool {
    match opts.mode {
        Mode::Interface { foreground } => {
            !foreground && foreground_env.is_none_or(|v| v.as_encoded_bytes() != b"1")
        }
        _ => false,
    }
}

/// Runs the tunnel until SIGINT or SIGTERM, or until its interface is deleted.
pub fn run(opts: Options) -> Result<(), AppError> {
    crate::log::set_verbosity(opts.verbosity);
    // The plan first: a configuration that cannot run is refused whatever the kernel can do.
    let plan = plan::plan(&opts)?;
    let user = privileges::resolve_user(opts.user.as_deref())?;
    driver::probe().map_err(err)?;
    let background = goes_to_background(&opts, std::env::var_os(FOREGROUND_ENV).as_deref());
    let ready_on_session = plan.start.ready_on_first_session();
    let setup::Prepared {
        io,
        control,
        device_config,
        driver_config,
        mut hooks,
        local,
        ifname,
        start_line,
    } = setup::prepare(&opts, plan)?;
    let privileges = privileges::drop_after_setup(&ifname, user.as_ref(), control.is_some())?;
    let clock = Clock::new();
    let mut device =
        Device::new(&device_config, SysEntropy).map_err(|e| AppError::config(e.to_string()))?;
    drop(device_config);
    if ready_on_session {
        // The one-command client connects at once: its session (and READY=1) should not wait
        // for traffic, and a wrong key or an unreachable server should show at start.
        let peers: Vec<_> = device.peer_ids().collect();
        for id in peers {
            device.start_handshake(id);
        }
    }
    // What `wg show` reports: the port bound, also when the kernel chose it.
    device.set_listen_port(Some(local.port()));
    let mut proto = Controlled::new(device, |name| tun::if_index(name).ok());
    log_info!("{start_line}");
    log_info!("{privileges}");
    // After the start succeeded, so that a failed start stays one line.
    if let Some(hint) = crate::sys::cpu::faster_build_hint() {
        log_info!("{hint}");
    }
    let ready = if background {
        let ready = daemon::background()
            .map_err(|e| AppError::new(format!("{ifname}: cannot go to the background: {e}")))?;
        // stderr is /dev/null now; without a log daemon the lines are lost.
        let _ = crate::log::to_syslog();
        Some(ready)
    } else {
        None
    };
    // The interface is configured and the socket bound: systemd's Type=notify start is complete,
    // but for the one-command client, whose hooks say READY=1 once its session is up.
    if ready_on_session {
        hooks.ready_on_first_session(&ifname);
    } else if let Err(e) = notify::ready(&start_line) {
        notify_failed(e);
    }
    if let Some(ready) = ready {
        ready.signal();
    }
    let exit = match control {
        Some(socket) => driver::run_with_control(
            &mut proto,
            io,
            ControlPlane::new(socket),
            &driver_config,
            clock,
            &mut hooks,
        ),
        None => driver::run(&mut proto, io, &driver_config, clock, &mut hooks),
    };
    match exit.map_err(err)? {
        Exit::InterfaceDeleted => {
            log_info!("{ifname} was deleted: exiting");
            if let Err(e) = notify::stopping(&format!("{ifname} was deleted")) {
                notify_failed(e);
            }
            Ok(())
        }
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
pub(super) fn notify_failed(e: std::io::Error) {
    log_warn!("cannot notify the service manager ($NOTIFY_SOCKET): {e}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_is_unix_time() {
        assert!(wall_clock_ns() > 1_600_000_000_000_000_000);
    }

    #[test]
    fn only_the_interface_mode_goes_to_the_background_and_not_when_told_to_stay() {
        use std::ffi::OsStr;
        let interface = |foreground| Options {
            mode: Mode::Interface { foreground },
            interface: "wg0".into(),
            verbosity: 1,
            one_command: Default::default(),
            user: None,
        };
        assert!(goes_to_background(&interface(false), None));
        assert!(!goes_to_background(&interface(true), None));
        assert!(!goes_to_background(
            &interface(false),
            Some(OsStr::new("1"))
        ));
        // wireguard-go stays in the foreground for "1" only.
        assert!(goes_to_background(&interface(false), Some(OsStr::new("0"))));
        assert!(goes_to_background(&interface(false), Some(OsStr::new(""))));
        let mut config = interface(false);
        config.mode = Mode::ConfigFile("/x/wg0.conf".into());
        assert!(!goes_to_background(&config, None));
    }

    #[test]
    fn errors_carry_their_exit_status() {
        assert_eq!(AppError::new("x").status, 1);
        assert_eq!(AppError::config("x").status, 2);
        assert_eq!(err("a b").to_string(), "a b");
    }
}
