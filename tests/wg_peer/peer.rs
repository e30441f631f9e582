//! [`WgPeer`]: a running foreign WireGuard implementation (wireguard-go or boringtun) on one
//! interface in one network namespace, configured with the stock `wg` tool and `ip`.
//!
//! Both implementations create a TUN device and serve the userspace API on
//! `/var/run/wireguard/IFNAME.sock`, which `wg` talks to. Their differences that matter here:
//! - boringtun 0.7.1 panics (and stops answering the API) when an existing peer is changed with
//!   `wg set`; [`WgPeer`] removes and re-adds the peer instead, which drops its session.
//! - boringtun reports handshakes as seconds ago, wireguard-go as Unix time:
//!   [`WgPeer::latest_handshake`] returns the same thing for both.
//! - boringtun does not report its own keys in `wg show`.

use super::config::{InterfaceSpec, PeerSpec, write_secret_file};
use super::dump::{Dump, DumpPeer, Transfer, parse_dump};
use super::{keys, tools, uapi};
use crate::common::{run, wait_until};
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a daemon may take to create its interface and answer on its API socket.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Limit on every `wg` call: a daemon whose API thread died would otherwise hang it forever.
const WG_TIMEOUT_SECS: &str = "10";

/// Which foreign implementation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WgImpl {
    /// The Go implementation (Debian package `wireguard-go`).
    WireguardGo,
    /// Cloudflare's Rust implementation (`boringtun-cli` from crates.io).
    Boringtun,
}

impl fmt::Display for WgImpl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WgImpl::WireguardGo => "wireguard-go",
            WgImpl::Boringtun => "boringtun",
        })
    }
}

impl WgImpl {
    /// The command that runs the daemon in the foreground on `ifname`, and its environment.
    fn command(self, ifname: &str) -> (PathBuf, Vec<String>, Vec<(&'static str, &'static str)>) {
        match self {
            WgImpl::WireguardGo => (
                tools::wireguard_go(),
                vec![ifname.to_owned()],
                vec![
                    ("WG_PROCESS_FOREGROUND", "1"),
                    ("LOG_LEVEL", "verbose"),
                    // Older releases refuse to start next to the kernel module without it.
                    ("WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD", "1"),
                ],
            ),
            WgImpl::Boringtun => (
                tools::boringtun_cli(),
                [
                    "--foreground",
                    "--threads",
                    "1",
                    "--disable-drop-privileges",
                    "--verbosity",
                    "info",
                    ifname,
                ]
                .map(str::to_owned)
                .to_vec(),
                vec![("WG_SUDO", "1"), ("NO_COLOR", "1")],
            ),
        }
    }
}

/// Interface counters of the tunnel device, as the kernel sees it: `rx` is what the daemon wrote
/// into the TUN device (decrypted and accepted packets), `tx` what the kernel handed it to send.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TunCounters {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
}

/// A running foreign WireGuard implementation. Killed on drop; its log is printed if the test is
/// failing.
pub struct WgPeer {
    pub imp: WgImpl,
    pub ns: String,
    pub ifname: String,
    /// Public key of this interface.
    pub public_key: String,
    /// What the interface is configured with now (kept up to date by the methods that change it,
    /// and applied again by [`restart`](Self::restart)).
    spec: InterfaceSpec,
    dir: PathBuf,
    log_path: PathBuf,
    child: Option<Child>,
    file_seq: u32,
}

impl WgPeer {
    /// Starts `imp` on a new interface `ifname` in `ns` and configures it from `spec`: keys, port
    /// and peers with `wg setconf`, then `spec.addresses` and `spec.mtu` with `ip`, and the link
    /// up. `dir` holds the log and, briefly, key files. `ifname` must be unique on the machine
    /// (the API socket's directory is shared by all namespaces).
    pub fn start(imp: WgImpl, ns: &str, ifname: &str, dir: &Path, spec: InterfaceSpec) -> WgPeer {
        assert!(
            ifname.len() <= 15,
            "interface name {ifname:?} is longer than 15 bytes"
        );
        let mut peer = WgPeer {
            imp,
            ns: ns.to_owned(),
            ifname: ifname.to_owned(),
            public_key: keys::public_key(&spec.private_key),
            spec,
            dir: dir.to_owned(),
            log_path: dir.join(format!("{imp}-{ifname}.log")),
            child: None,
            file_seq: 0,
        };
        peer.launch();
        peer
    }

    fn launch(&mut self) {
        // A socket left by an earlier process that was killed would look like a ready daemon.
        let _ = fs::remove_file(uapi::socket_path(&self.ifname));
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .unwrap_or_else(|e| panic!("open {}: {e}", self.log_path.display()));
        let _ = writeln!(
            log,
            "=== harness: starting {} on {} in {}",
            self.imp, self.ifname, self.ns
        );
        let (program, args, env) = self.imp.command(&self.ifname);
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .arg(&program)
            .args(&args)
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("dup log file")))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {} in {}: {e}", program.display(), self.ns));
        self.child = Some(child);
        self.wait_ready();
        let conf = self.secret_file("setconf", &self.spec.setconf_text());
        let conf_s = conf.to_str().expect("utf-8 path").to_owned();
        let out = self.wg(&["setconf", &self.ifname, &conf_s]);
        let _ = fs::remove_file(&conf);
        self.check(&out, "wg setconf");
        for addr in &self.spec.addresses {
            self.ip(&["addr", "add", addr, "dev", &self.ifname]);
        }
        if let Some(mtu) = self.spec.mtu {
            self.ip(&["link", "set", &self.ifname, "mtu", &mtu.to_string()]);
        }
        self.ip(&["link", "set", &self.ifname, "up"]);
    }

    /// Waits until the daemon answers on its API socket (its TUN device exists by then).
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let sock = uapi::socket_path(&self.ifname);
        loop {
            self.assert_running();
            if sock.exists() && uapi::get(&self.ifname).is_ok() {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{} on {}: no API socket {} within {START_TIMEOUT:?}",
                    self.imp,
                    self.ifname,
                    sock.display()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The configuration as it stands.
    pub fn spec(&self) -> &InterfaceSpec {
        &self.spec
    }

    /// Adds a peer (panics if it is already there: use [`update_peer`](Self::update_peer)).
    pub fn add_peer(&mut self, peer: PeerSpec) {
        assert!(
            self.spec.peer(&peer.public_key).is_none(),
            "{}: peer {} is already configured",
            self.ifname,
            peer.public_key
        );
        self.set_peer(&peer);
        self.spec.peers.push(peer);
    }

    /// Replaces a configured peer's settings. On boringtun this removes and re-adds the peer (it
    /// cannot change a peer in place), so its session is gone afterwards.
    pub fn update_peer(&mut self, peer: PeerSpec) {
        let Some(slot) = self.spec.peer_mut(&peer.public_key) else {
            panic!("{}: no peer {} to update", self.ifname, peer.public_key);
        };
        *slot = peer.clone();
        if self.imp == WgImpl::Boringtun {
            self.wg_ok(&["set", &self.ifname, "peer", &peer.public_key, "remove"]);
        }
        self.set_peer(&peer);
    }

    /// Sets where to send to `public_key` (see [`update_peer`](Self::update_peer) for boringtun).
    pub fn set_endpoint(&mut self, public_key: &str, endpoint: SocketAddr) {
        let mut peer = self
            .spec
            .peer(public_key)
            .unwrap_or_else(|| panic!("{}: no peer {public_key}", self.ifname))
            .clone();
        peer.endpoint = Some(endpoint);
        self.update_peer(peer);
    }

    /// Removes a peer.
    pub fn remove_peer(&mut self, public_key: &str) {
        let before = self.spec.peers.len();
        self.spec.peers.retain(|p| p.public_key != public_key);
        assert!(
            self.spec.peers.len() < before,
            "{}: no peer {public_key} to remove",
            self.ifname
        );
        self.wg_ok(&["set", &self.ifname, "peer", public_key, "remove"]);
    }

    /// `wg set IF peer …` with every setting of `peer`.
    fn set_peer(&mut self, peer: &PeerSpec) {
        let mut args = vec![
            "set".to_owned(),
            self.ifname.clone(),
            "peer".into(),
            peer.public_key.clone(),
        ];
        let psk = peer
            .preshared_key
            .as_ref()
            .map(|k| self.secret_file("psk", k.base64()));
        args.push("preshared-key".into());
        args.push(match &psk {
            Some(p) => p.to_str().expect("utf-8 path").to_owned(),
            None => "/dev/null".into(),
        });
        args.push("allowed-ips".into());
        args.push(peer.allowed_ips.join(","));
        if let Some(ep) = peer.endpoint {
            args.push("endpoint".into());
            args.push(ep.to_string());
        }
        args.push("persistent-keepalive".into());
        args.push(
            peer.persistent_keepalive
                .map_or("off".into(), |k| k.to_string()),
        );
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.wg(&refs);
        if let Some(p) = psk {
            let _ = fs::remove_file(p);
        }
        self.check(&out, "wg set");
    }

    /// `wg show IF dump`, parsed.
    pub fn dump(&self) -> Dump {
        let out = self.wg(&["show", &self.ifname, "dump"]);
        self.check(&out, "wg show dump");
        let text = String::from_utf8_lossy(&out.stdout);
        parse_dump(&text)
            .unwrap_or_else(|e| panic!("{} on {}: wg show dump: {e}", self.imp, self.ifname))
    }

    /// One peer's line of the dump (panics if the peer is not configured).
    pub fn peer_status(&self, public_key: &str) -> DumpPeer {
        self.dump().peer(public_key).cloned().unwrap_or_else(|| {
            panic!(
                "{} on {}: no peer {public_key} in wg show",
                self.imp, self.ifname
            )
        })
    }

    /// When the latest handshake with `public_key` completed, or `None` if none has. Whole
    /// seconds for wireguard-go; to the nanosecond for boringtun, which reports the age (read from
    /// the API socket, where "never" and "just now" differ; its dump shows 0 for both).
    pub fn latest_handshake(&self, public_key: &str) -> Option<SystemTime> {
        match self.imp {
            WgImpl::WireguardGo => {
                let secs = self.peer_status(public_key).latest_handshake;
                (secs != 0).then(|| UNIX_EPOCH + Duration::from_secs(secs))
            }
            WgImpl::Boringtun => uapi::last_handshake_field(&self.ifname, public_key)
                .unwrap_or_else(|e| panic!("boringtun on {}: {e}", self.ifname))
                .map(|age| SystemTime::now() - age),
        }
    }

    /// Waits up to `timeout` for a handshake with `public_key`; panics (with the log) if none.
    pub fn expect_handshake(&self, public_key: &str, timeout: Duration) -> SystemTime {
        let mut seen = None;
        wait_until(timeout, || {
            seen = self.latest_handshake(public_key);
            seen.is_some()
        });
        seen.unwrap_or_else(|| {
            panic!(
                "{} on {}: no handshake with {public_key} within {timeout:?}",
                self.imp, self.ifname
            )
        })
    }

    /// Bytes received from and sent to `public_key`, as the implementation counts them.
    pub fn transfer(&self, public_key: &str) -> Transfer {
        self.peer_status(public_key).transfer
    }

    /// The kernel's counters of the tunnel device.
    pub fn tun_counters(&self) -> TunCounters {
        let read = |name: &str| -> u64 {
            let path = format!("/sys/class/net/{}/statistics/{name}", self.ifname);
            // `ip netns exec` mounts the namespace's own /sys.
            let out = run(&["ip", "netns", "exec", &self.ns, "cat", &path]);
            assert!(out.status.success(), "{}: cannot read {path}", self.ns);
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("{path}: not a number"))
        };
        TunCounters {
            rx_packets: read("rx_packets"),
            rx_bytes: read("rx_bytes"),
            tx_packets: read("tx_packets"),
            tx_bytes: read("tx_bytes"),
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within 5 s. The interface goes with it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = run(&["kill", "-TERM", &child.id().to_string()]);
            let exited = wait_until(Duration::from_secs(5), || {
                matches!(child.try_wait(), Ok(Some(_)))
            });
            if !exited {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        let _ = fs::remove_file(uapi::socket_path(&self.ifname));
        // The TUN device disappears when the daemon's descriptor closes; wait for it so that a
        // restart can create it again.
        let gone = wait_until(Duration::from_secs(5), || {
            !run(&["ip", "-n", &self.ns, "link", "show", &self.ifname])
                .status
                .success()
        });
        assert!(
            gone,
            "{} on {}: interface still there after stop",
            self.imp, self.ifname
        );
    }

    /// Stops and starts again with the current configuration (same keys, port, peers, addresses).
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// The daemon's output so far (all runs, separated by `=== harness:` lines).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Panics, with the log, if the daemon has exited.
    pub fn assert_running(&mut self) {
        let status = match self.child.as_mut() {
            None => Some("stopped by the test".to_owned()),
            Some(c) => c.try_wait().ok().flatten().map(|st| st.to_string()),
        };
        if let Some(why) = status {
            panic!("{} on {} is not running ({why})", self.imp, self.ifname);
        }
    }

    /// Runs `wg ARGS` in the namespace, with a time limit.
    fn wg(&self, args: &[&str]) -> Output {
        let wg = tools::wg();
        let mut full = vec!["ip", "netns", "exec", &self.ns, "timeout", WG_TIMEOUT_SECS];
        full.push(wg.to_str().expect("utf-8 path"));
        full.extend_from_slice(args);
        run(&full)
    }

    fn wg_ok(&self, args: &[&str]) {
        let out = self.wg(args);
        self.check(&out, &format!("wg {}", args.first().unwrap_or(&"")));
    }

    fn ip(&self, args: &[&str]) {
        let mut full = vec!["ip", "-n", &self.ns];
        full.extend_from_slice(args);
        let out = run(&full);
        self.check(&out, &format!("ip {}", args.join(" ")));
    }

    /// Panics with the command's stderr (and, via drop, the daemon's log) unless it succeeded.
    /// Never prints the command line: it may name key files, and `wg` output can hold keys.
    fn check(&self, out: &Output, what: &str) {
        if !out.status.success() {
            panic!(
                "{} on {} in {}: {what} failed ({}): {}",
                self.imp,
                self.ifname,
                self.ns,
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }

    /// Writes `text` to a new 0600 file in the scratch dir (for `wg`, which reads keys from files).
    fn secret_file(&mut self, label: &str, text: &str) -> PathBuf {
        self.file_seq += 1;
        let path = self
            .dir
            .join(format!("{}-{label}-{}", self.ifname, self.file_seq));
        write_secret_file(&path, text);
        path
    }
}

impl Drop for WgPeer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_file(uapi::socket_path(&self.ifname));
        if thread::panicking() {
            eprintln!(
                "--- {} on {} in {} ({}) ---\n{}--- end of {} log ---",
                self.imp,
                self.ifname,
                self.ns,
                self.log_path.display(),
                self.log(),
                self.imp
            );
        }
    }
}
