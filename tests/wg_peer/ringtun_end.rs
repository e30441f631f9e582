//! [`RingtunEnd`]: ringtun (`ringtun -c FILE`) as one end of a [`Star`] tunnel, the counterpart
//! of [`WgPeer`](super::WgPeer) for the rows of the interop matrix with ringtun on one side: its
//! configuration file written from the same [`InterfaceSpec`] the foreign ends get, its log, its
//! `SIGUSR1` counters, and restarts (SIGKILL, then the same or a changed file).
//!
//! Each run logs to a file of its own (`ringtun-NAME-RUN.log` in the scratch dir), so a restarted
//! process's log starts empty.

use super::config::InterfaceSpec;
use super::star::Star;
use super::topology::Site;
use crate::common::{Ringtun, link_exists, ringtun_bin, run, stat, wait_until};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// How long ringtun may take to configure its interface and bind its socket.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `ringtun -c` on a [`Site`]. Killed on drop (its log printed if the test fails).
pub struct RingtunEnd {
    pub site: Site,
    /// The running process (its log, counters and exit status).
    pub process: Ringtun,
    name: String,
    conf: PathBuf,
    dir: PathBuf,
    extra_args: Vec<String>,
    runs: u32,
}

impl RingtunEnd {
    /// Writes `spec` to `NAME.conf` in the scratch dir and starts `ringtun -c` with it on `site`,
    /// with `extra_args` (e.g. `-v`) after the file; returns once ringtun listens.
    pub fn start(
        star: &Star,
        site: &Site,
        name: &str,
        spec: &InterfaceSpec,
        extra_args: &[&str],
    ) -> RingtunEnd {
        let conf = star.write_wg_quick(&format!("{name}.conf"), spec);
        let process = launch(site, name, &conf, &star.net.dir, extra_args, 1);
        RingtunEnd {
            site: site.clone(),
            process,
            name: name.to_owned(),
            conf,
            dir: star.net.dir.clone(),
            extra_args: extra_args.iter().map(|a| (*a).to_owned()).collect(),
            runs: 1,
        }
    }

    /// SIGKILL (no goodbye of any kind), then waits for the TUN interface to go with the process.
    pub fn kill(&mut self) {
        self.process.kill();
        let gone = wait_until(START_TIMEOUT, || {
            !link_exists(&self.site.ns, &self.site.ifname)
        });
        assert!(
            gone,
            "{}: interface {} still there after ringtun was killed",
            self.process.label, self.site.ifname
        );
    }

    /// Kills ringtun and starts it again, with the same file or, if `spec` is given, with `spec`
    /// written over it. The new process logs to a new file.
    pub fn restart(&mut self, spec: Option<&InterfaceSpec>) {
        self.kill();
        if let Some(spec) = spec {
            spec.write_wg_quick(&self.conf);
        }
        self.runs += 1;
        let extra: Vec<&str> = self.extra_args.iter().map(String::as_str).collect();
        // The old process's log stays in its own file; dropping it here prints nothing.
        self.process = launch(
            &self.site, &self.name, &self.conf, &self.dir, &extra, self.runs,
        );
    }

    /// `SIGUSR1` and the counters of the line it prints.
    pub fn stats(&mut self) -> HashMap<String, u64> {
        self.process.sigusr1_stats()
    }

    /// One counter, read fresh with `SIGUSR1`.
    pub fn stat(&mut self, name: &str) -> u64 {
        let s = self.stats();
        stat(&s, name)
    }

    /// The current process's log.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Waits for ringtun to log that the peer whose public key is `peer_public` came up (its
    /// first session in this run) and returns the address it names.
    pub fn expect_peer_up(&mut self, peer_public: &str, timeout: Duration) -> String {
        let needle = format!("peer {}… up at ", &peer_public[..8]);
        self.process.expect_log(&needle, timeout);
        let log = self.process.log();
        let line = log
            .lines()
            .find(|l| l.contains(&needle))
            .expect("the line just seen");
        line.rsplit(' ').next().unwrap_or("").to_owned()
    }

    /// The server's view for a report: `wg show IFNAME` (ringtun answers on its control socket),
    /// or if that fails the lines of its log that say where each peer is; then a fresh counter
    /// line (`SIGUSR1`), which has what `wg show` does not, e.g. the drops by reason.
    pub fn view(&mut self) -> String {
        let wg = super::tools::wg();
        let out = run(&[
            "ip",
            "netns",
            "exec",
            &self.site.ns,
            "timeout",
            "5",
            wg.to_str().expect("utf-8 path"),
            "show",
            &self.site.ifname,
        ]);
        self.process.sigusr1_stats();
        let log = self.process.log();
        let stats = log
            .lines()
            .rev()
            .find(|l| l.contains("ringtun: stats:"))
            .unwrap_or("");
        let peers = if out.status.success() && !out.stdout.is_empty() {
            format!(
                "$ wg show\n{}",
                String::from_utf8_lossy(&out.stdout).trim_end()
            )
        } else {
            let lines: Vec<&str> = log
                .lines()
                .filter(|l| {
                    l.contains("listening on")
                        || l.contains(" up at ")
                        || l.contains(" moved from ")
                })
                .collect();
            format!(
                "(wg show failed: {}; ringtun's log instead)\n{}",
                String::from_utf8_lossy(&out.stderr).trim(),
                lines.join("\n")
            )
        };
        format!("{peers}\n$ kill -USR1 (ringtun's counters)\n{stats}\n")
    }
}

fn launch(
    site: &Site,
    name: &str,
    conf: &std::path::Path,
    dir: &std::path::Path,
    extra_args: &[&str],
    run_number: u32,
) -> Ringtun {
    let mut args = vec!["-c", conf.to_str().expect("utf-8 path"), "-i", &site.ifname];
    args.extend_from_slice(extra_args);
    // The machine's control socket directory, where `wg` finds it: the harness's interface
    // names are unique on the machine.
    let mut process = Ringtun::spawn_with_control(
        &site.ns,
        dir.join(format!("ringtun-{name}-{run_number}.log")),
        &format!("ringtun {name} (run {run_number})"),
        &ringtun_bin(),
        &args,
    );
    process.expect_log("listening on", START_TIMEOUT);
    process
}
