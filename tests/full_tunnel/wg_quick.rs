//! `wg-quick` run on the client of a [`FullTunnelNet`](super::net::FullTunnelNet) with a
//! userspace implementation, and the state it leaves in a namespace: policy rules, the routes of
//! its table, its nft table, the interface, the API socket, the daemon.

use crate::common::{ns_run, ns_run_ok, run};
use crate::wg_peer::{tools, uapi};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The fwmark and routing table wg-quick picks for a full tunnel (its default, 51820 = 0xca6c).
pub const TABLE: u32 = 51820;

/// Which userspace implementation wg-quick starts (`WG_QUICK_USERSPACE_IMPLEMENTATION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Userspace {
    Ringtun,
    WireguardGo,
}

impl Userspace {
    /// The process name the daemon runs under (`/proc/PID/comm`).
    pub fn comm(self) -> &'static str {
        match self {
            Userspace::Ringtun => "ringtun",
            Userspace::WireguardGo => "wireguard-go",
        }
    }
}

/// `wg-quick ACTION CONF` in `ns` with `userspace`: returns whether it succeeded and what it
/// printed (the commands it ran, and the daemon's start-up lines). Output goes to a file, not a
/// pipe: a daemon that keeps wg-quick's descriptors would otherwise hold the read open.
pub fn wg_quick(ns: &str, userspace: Userspace, action: &str, conf: &Path) -> (bool, String) {
    let log_path = conf.with_extension(format!("{action}.log"));
    let log = File::create(&log_path).expect("create wg-quick log");
    let path = std::env::var("PATH").unwrap_or_default();
    let (implementation, path) = match userspace {
        // As a user would: `ringtun` by name, found in PATH.
        Userspace::Ringtun => {
            let bin = PathBuf::from(crate::common::ringtun_bin());
            let dir = bin.parent().expect("the binary's directory").to_owned();
            let name = bin.file_name().expect("a file name").to_owned();
            (
                name.to_string_lossy().into_owned(),
                format!("{}:{path}", dir.display()),
            )
        }
        Userspace::WireguardGo => ("wireguard-go".to_owned(), path),
    };
    let wg_quick = tools::wg_quick();
    let status = Command::new("ip")
        .args(["netns", "exec", ns, "timeout", "60"])
        .arg(&wg_quick)
        .arg(action)
        .arg(conf)
        .env("PATH", path)
        .env("WG_QUICK_USERSPACE_IMPLEMENTATION", implementation)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone().expect("dup log")))
        .stderr(Stdio::from(log))
        .status()
        .expect("run wg-quick");
    let text = fs::read_to_string(&log_path).unwrap_or_default();
    (status.success(), text)
}

/// The daemon serving `ifname` in `ns`: the one process of the namespace named `comm`.
pub fn daemon_pid(ns: &str, comm: &str) -> Option<u32> {
    let out = run(&["ip", "netns", "pids", ns]);
    let pids: Vec<u32> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
        })
        .collect();
    assert!(pids.len() <= 1, "more than one {comm} in {ns}: {pids:?}");
    pids.first().copied()
}

pub fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// What a full tunnel's wg-quick leaves in a namespace, as text lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyState {
    /// `ip -4 rule` and `ip -6 rule` lines that are wg-quick's (its fwmark/table, or the
    /// `suppress_prefixlength 0` rule), with their family.
    pub rules: Vec<String>,
    /// Routes in wg-quick's table, both families.
    pub table_routes: Vec<String>,
    /// nft tables named `wg-quick-IFNAME`.
    pub nft_tables: Vec<String>,
    pub interface: bool,
    pub socket_file: bool,
}

impl PolicyState {
    pub fn read(ns: &str, ifname: &str) -> PolicyState {
        let mut rules = Vec::new();
        for family in ["-4", "-6"] {
            let text = ns_run_ok(ns, &["ip", family, "rule", "show"]);
            rules.extend(
                text.lines()
                    .filter(|l| {
                        l.contains(&format!("lookup {TABLE}"))
                            || l.contains("suppress_prefixlength")
                    })
                    .map(|l| format!("ip {family} rule: {}", l.trim())),
            );
        }
        let mut table_routes = Vec::new();
        for family in ["-4", "-6"] {
            let out = ns_run(
                ns,
                &["ip", family, "route", "show", "table", &TABLE.to_string()],
            );
            table_routes.extend(
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .map(|l| format!("ip {family} route table {TABLE}: {}", l.trim())),
            );
        }
        let nft = tools::nft();
        let tables = ns_run_ok(ns, &[nft.to_str().expect("utf-8 path"), "list", "tables"]);
        let nft_tables = tables
            .lines()
            .filter(|l| l.ends_with(&format!("wg-quick-{ifname}")))
            .map(|l| l.trim().to_owned())
            .collect();
        PolicyState {
            rules,
            table_routes,
            nft_tables,
            interface: crate::common::link_exists(ns, ifname),
            socket_file: uapi::socket_path(ifname).exists(),
        }
    }

    /// Nothing of wg-quick's or the daemon's.
    pub fn is_clean(&self) -> bool {
        *self == PolicyState::default()
    }

    pub fn describe(&self) -> String {
        let mut lines = vec![
            format!(
                "interface: {}",
                if self.interface { "present" } else { "gone" }
            ),
            format!(
                "API socket file: {}",
                if self.socket_file { "present" } else { "gone" }
            ),
        ];
        lines.extend(self.rules.iter().cloned());
        lines.extend(self.table_routes.iter().cloned());
        lines.extend(self.nft_tables.iter().map(|t| format!("nft: {t}")));
        lines.join("\n")
    }
}
