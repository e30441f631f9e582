//! The driver's [`Hooks`] of the binary: core events to log lines (and, on a client's first
//! `SessionUp`, the interface configuration), drops to rate-limited log lines, counters on demand.

use std::net::SocketAddr;
use std::time::Duration;

use super::AppError;
use super::addressing::{Side, client_side, own_side};
use super::report::{describe_side, format_drop, format_stats};
use super::setup::configure_interface;
use crate::cli::{Mode, Options};
use crate::core::{DropReason, Event, Instant, Stats, TunnelConfig};
use crate::driver::{DriverStats, Hooks};
use crate::log::{RateLimiter, Verdict};
use crate::sys::iface::Interface;
use crate::{log_debug, log_info, log_warn};

/// Drop lines: at most this many per reason per interval.
const DROP_LINES_BURST: u32 = 5;
const DROP_LINES_INTERVAL: Duration = Duration::from_secs(10);
/// The "no handshake response" hint: once per interval.
const NO_RESPONSE_INTERVAL: Duration = Duration::from_secs(10);

/// The driver hooks of the binary.
pub struct AppHooks {
    server: Option<SocketAddr>,
    iface: Interface,
    client_opts: Option<Options>,
    max_mtu: u16,
    /// What the interface was configured with (client: at the first SessionUp).
    configured: Option<Side>,
    drops: RateLimiter,
    no_response: RateLimiter,
}

impl AppHooks {
    /// `max_mtu`: the MTU the driver's buffers are sized for.
    pub fn new(opts: &Options, iface: Interface, max_mtu: u16) -> Self {
        let (server, client_opts) = match opts.mode {
            Mode::Connect(s) => (Some(s), Some(opts.clone())),
            Mode::Listen(_) => (None, None),
        };
        AppHooks {
            server,
            iface,
            client_opts,
            max_mtu,
            configured: None,
            drops: RateLimiter::new(DropReason::COUNT, DROP_LINES_BURST, DROP_LINES_INTERVAL),
            no_response: RateLimiter::new(1, 1, NO_RESPONSE_INTERVAL),
        }
    }

    /// The client configures its interface on the first `SessionUp`; failing that, the error
    /// ends the driver's loop and so the program (a client without its interface is useless).
    fn session_up(&mut self, peer: SocketAddr, tunnel: &TunnelConfig) -> Result<(), AppError> {
        let Some(opts) = &self.client_opts else {
            // The server configured its interface at start; the config is its own.
            log_info!(
                "session up with {peer} {}",
                describe_side(&own_side(tunnel, true))
            );
            return Ok(());
        };
        let (side, warnings) =
            client_side(&opts.addresses, &opts.peers, opts.mtu, tunnel, self.max_mtu);
        match &self.configured {
            None => {
                for w in warnings {
                    log_warn!("{w}");
                }
                configure_interface(&self.iface, &side, &opts.routes)?;
                self.configured = Some(side.clone());
            }
            Some(old) if *old != side => log_warn!(
                "the server pushed a different configuration {}; keeping {} (restart to apply)",
                describe_side(&side),
                describe_side(old)
            ),
            Some(_) => {}
        }
        let shown = self.configured.as_ref().unwrap_or(&side);
        log_info!("session up with {peer} {}", describe_side(shown));
        Ok(())
    }
}

impl Hooks for AppHooks {
    fn on_event(&mut self, now: Instant, event: &Event) -> Result<(), String> {
        match event {
            Event::SessionUp { peer, tunnel } => {
                return self.session_up(*peer, tunnel).map_err(|e| e.0);
            }
            Event::Rekeyed { peer } => log_info!("rekeyed with {peer}"),
            Event::PeerAddressChanged { from, to } => {
                log_info!("peer address changed from {from} to {to}")
            }
            Event::SessionDown => log_info!("session down"),
            Event::HandshakeSent { attempt } => {
                let server = self
                    .server
                    .map_or_else(|| "the server".to_string(), |s| s.to_string());
                log_debug!("handshake sent to {server} (attempt {attempt})");
                // An attempt past the first means the previous one went unanswered.
                if *attempt >= 2 && matches!(self.no_response.check(0, now), Verdict::Allow { .. })
                {
                    log_info!(
                        "no handshake response from {server} yet (is the server running, and do \
                         both sides use the same key?)"
                    );
                }
            }
        }
        Ok(())
    }

    fn on_drop(&mut self, now: Instant, reason: DropReason, from: Option<SocketAddr>) {
        let Verdict::Allow { suppressed } = self.drops.check(reason as usize, now) else {
            return;
        };
        let line = format_drop(reason, from, suppressed);
        if from.is_some() {
            log_info!("{line}");
        } else {
            // Packets from our own host before the session is up: expected, so verbose only.
            log_debug!("{line}");
        }
    }

    fn on_stats(&mut self, core: &Stats, driver: &DriverStats) {
        // Asked for explicitly (SIGUSR1) or at exit: shown even when quiet.
        crate::log::line(format_args!("{}", format_stats(core, driver)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::addressing::tests::{opts, pushed};
    use crate::app::err;
    use crate::app::setup::prepare;
    use crate::app::setup::tests::temp_key;
    use crate::driver;
    use crate::sys::testnet::ip;

    #[test]
    #[ignore = "needs root"]
    fn client_configures_on_session_up() {
        let key = temp_key("cli");
        let k = key.display().to_string();
        let dir = key.parent().unwrap().to_path_buf();
        crate::sys::private_netns::run_isolated(move || {
            let o = opts(&format!(
                "-s 127.0.0.1:5555 -k {k} -i rtcli0 -r 10.200.0.0/16 -v"
            ));
            let mut p = prepare(&o).unwrap();
            assert!(p.local.is_ipv4() && p.local.port() != 0);
            assert_eq!(p.driver_config.mtu, 1440);
            let addr = ip(&["addr", "show", "dev", "rtcli0"]);
            assert!(
                !addr.contains("inet "),
                "nothing before the session: {addr}"
            );
            let peer: SocketAddr = "127.0.0.1:5555".parse().unwrap();
            let t = Instant::from_nanos(1);
            p.hooks
                .on_event(t, &Event::HandshakeSent { attempt: 1 })
                .unwrap();
            p.hooks
                .on_event(
                    t,
                    &Event::SessionUp {
                        peer,
                        tunnel: pushed(),
                    },
                )
                .unwrap();
            let link = ip(&["link", "show", "dev", "rtcli0"]);
            assert!(link.contains("mtu 1420") && link.contains(",UP"), "{link}");
            let addr = ip(&["addr", "show", "dev", "rtcli0"]);
            assert!(addr.contains("inet 10.89.0.2/24"), "{addr}");
            assert!(addr.contains("inet6 fd89::2/64"), "{addr}");
            let r4 = ip(&["-4", "route", "show", "dev", "rtcli0"]);
            assert!(r4.contains("10.200.0.0/16 proto static"), "{r4}");
            // A second SessionUp (after a SessionDown) does not configure twice.
            p.hooks.on_event(t, &Event::SessionDown).unwrap();
            p.hooks
                .on_event(
                    t,
                    &Event::SessionUp {
                        peer,
                        tunnel: pushed(),
                    },
                )
                .unwrap();
            p.hooks
                .on_drop(t, DropReason::HandshakeAuthFailed, Some(peer));
            p.hooks.on_stats(&Stats::default(), &DriverStats::default());
        });
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A client whose interface cannot be configured (here: the same route twice) gets the error
    /// back from the hook, as one line naming the interface, instead of the process exiting.
    #[test]
    #[ignore = "needs root"]
    fn client_configuration_failure_is_returned_by_the_hook() {
        let key = temp_key("clifail");
        let k = key.display().to_string();
        let dir = key.parent().unwrap().to_path_buf();
        crate::sys::private_netns::run_isolated(move || {
            let o = opts(&format!(
                "-s 127.0.0.1:5555 -k {k} -i rtfail0 -r 10.200.0.0/16 -r 10.200.0.0/16"
            ));
            let mut p = prepare(&o).unwrap();
            let up = Event::SessionUp {
                peer: "127.0.0.1:5555".parse().unwrap(),
                tunnel: pushed(),
            };
            let e = p.hooks.on_event(Instant::from_nanos(1), &up).unwrap_err();
            assert!(
                e.starts_with(
                    "rtfail0: cannot add route 10.200.0.0/16: the same route already exists"
                ),
                "{e}"
            );
            assert!(!e.contains('\n'), "{e}");
            // The driver's error and so the program's line.
            let line = err(driver::DriverError::Interface(e)).0;
            assert!(
                line.starts_with("interface set-up failed: rtfail0: cannot add route"),
                "{line}"
            );
        });
        let _ = std::fs::remove_dir_all(dir);
    }
}
