//! Harness for ringtun's real-tunnel integration tests.
//!
//! - [`TestNet`]: two fresh network namespaces (`rt-<pid>-<n>-s` for the server, `rt-<pid>-<n>-c` for
//!   the client) joined by a veth pair with private underlay addresses, removed again in `Drop` (also
//!   after a panic: every process left in the namespaces is killed first).
//! - [`Ringtun`]: a ringtun child process in a namespace, its stderr in a log file that can be read
//!   while it runs (and is printed when the test fails), SIGUSR1 stats, SIGTERM, kill on drop.
//! - [`ping`], [`Iperf3Server`] / [`iperf3_client`] (parses `--json`), [`netem`], and UDP tools run on
//!   threads inside a namespace via `ringtun::sys::netns::enter`: [`UdpRelay`] (forwards, counts,
//!   captures and replays, optionally reorders) and [`flood`].
//!
//! Everything needs root. Without it every test panics with a clear message; nothing is skipped.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Path of the ringtun binary built by cargo for this test run.
pub const RINGTUN: &str = env!("CARGO_BIN_EXE_ringtun");

/// The binary the tests run: `RINGTUN_TEST_BIN` if set (e.g. a release build, or a stand-in used
/// to check the harness), else the one cargo built.
pub fn ringtun_bin() -> String {
    std::env::var("RINGTUN_TEST_BIN").unwrap_or_else(|_| RINGTUN.to_owned())
}
/// The port ringtun listens on in the tests (each test has its own namespaces, so no clash).
pub const PORT: u16 = 51820;
/// How long a handshake may take in a test (the client retries at 1, 2, 4, 8 s).
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(20);

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// Panics unless running as root: the tests need namespaces and TUN devices, and must never pass by
/// skipping.
pub fn require_root() {
    let status = fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?");
    if euid != "0" {
        panic!(
            "integration tests need root (network namespaces, veth, TUN): run `sudo ./scripts/test.sh` (effective uid is {euid})"
        );
    }
    if !Path::new("/dev/net/tun").exists() {
        panic!("integration tests need /dev/net/tun: run `sudo ./scripts/setup.sh`");
    }
}

/// Runs a command and returns its output (never panics on a non-zero exit).
pub fn run(args: &[&str]) -> Output {
    Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"))
}

/// Runs a command and panics, with its stderr, unless it succeeds. Returns stdout.
pub fn run_ok(args: &[&str]) -> String {
    let out = run(args);
    if !out.status.success() {
        panic!(
            "{args:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command inside namespace `ns` (`ip netns exec NS ...`).
pub fn ns_run(ns: &str, args: &[&str]) -> Output {
    let mut full = vec!["ip", "netns", "exec", ns];
    full.extend_from_slice(args);
    run(&full)
}

pub fn ns_run_ok(ns: &str, args: &[&str]) -> String {
    let mut full = vec!["ip", "netns", "exec", ns];
    full.extend_from_slice(args);
    run_ok(&full)
}

/// Whether `/run/netns/NAME` exists.
pub fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

/// Whether interface `dev` exists in namespace `ns`.
pub fn link_exists(ns: &str, dev: &str) -> bool {
    run(&["ip", "-n", ns, "link", "show", dev]).status.success()
}

/// Kills every process in namespace `ns` (SIGKILL), then waits a moment for them to go.
fn kill_netns_processes(ns: &str) {
    let out = run(&["ip", "netns", "pids", ns]);
    let pids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    for pid in &pids {
        let _ = run(&["kill", "-KILL", pid]);
    }
    if !pids.is_empty() {
        thread::sleep(Duration::from_millis(100));
    }
}

/// Which underlay address families a [`TestNet`] gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Underlay {
    V4,
    /// IPv4 and IPv6 (ULA, `nodad`).
    Dual,
}

/// Two namespaces joined by a veth pair. Removed with everything in them on drop.
pub struct TestNet {
    pub id: u32,
    /// Server side namespace and its veth end.
    pub server_ns: String,
    pub server_dev: String,
    /// Client side namespace and its veth end.
    pub client_ns: String,
    pub client_dev: String,
    pub server_ip: Ipv4Addr,
    pub client_ip: Ipv4Addr,
    pub server_ip6: Option<Ipv6Addr>,
    pub client_ip6: Option<Ipv6Addr>,
    /// Scratch directory for keys and logs.
    pub dir: PathBuf,
    created: Vec<String>,
    log_seq: AtomicU32,
}

impl TestNet {
    /// An IPv4 underlay.
    pub fn new() -> TestNet {
        TestNet::with(Underlay::V4)
    }

    pub fn with(underlay: Underlay) -> TestNet {
        require_root();
        let pid = std::process::id();
        let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        // A /30 out of 10.200.0.0/16 per test, different for parallel tests of this process and
        // (mostly) of other processes. The addresses only exist inside our own namespaces anyway.
        let slot = (pid.wrapping_mul(97).wrapping_add(n)) % 16384;
        let base = u32::from(Ipv4Addr::new(10, 200, 0, 0)) + slot * 4;
        let server_ip = Ipv4Addr::from(base + 1);
        let client_ip = Ipv4Addr::from(base + 2);
        let (server_ip6, client_ip6) = match underlay {
            Underlay::V4 => (None, None),
            Underlay::Dual => {
                let a = (pid & 0xffff) as u16;
                let b = (n & 0xffff) as u16;
                (
                    Some(Ipv6Addr::new(0xfd00, 0x7274, a, b, 0, 0, 0, 1)),
                    Some(Ipv6Addr::new(0xfd00, 0x7274, a, b, 0, 0, 0, 2)),
                )
            }
        };
        let dir = std::env::temp_dir().join(format!("ringtun-test-{pid}-{n}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create test dir");
        let mut net = TestNet {
            id: n,
            server_ns: format!("rt-{pid}-{n}-s"),
            server_dev: "veth-s".into(),
            client_ns: format!("rt-{pid}-{n}-c"),
            client_dev: "veth-c".into(),
            server_ip,
            client_ip,
            server_ip6,
            client_ip6,
            dir,
            created: Vec::new(),
            log_seq: AtomicU32::new(0),
        };
        // From here on a panic drops `net`, which removes whatever was created so far.
        for ns in [net.server_ns.clone(), net.client_ns.clone()] {
            run_ok(&["ip", "netns", "add", &ns]);
            net.created.push(ns.clone());
            run_ok(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        }
        // The veth ends are created directly inside the namespaces, so their names never clash with
        // the host's or another test's.
        run_ok(&[
            "ip",
            "link",
            "add",
            &net.server_dev,
            "netns",
            &net.server_ns,
            "type",
            "veth",
            "peer",
            "name",
            &net.client_dev,
            "netns",
            &net.client_ns,
        ]);
        let sides = [
            (
                net.server_ns.clone(),
                net.server_dev.clone(),
                server_ip,
                server_ip6,
            ),
            (
                net.client_ns.clone(),
                net.client_dev.clone(),
                client_ip,
                client_ip6,
            ),
        ];
        for (ns, dev, ip4, ip6) in sides {
            run_ok(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{ip4}/30"),
                "dev",
                &dev,
            ]);
            if let Some(ip6) = ip6 {
                run_ok(&[
                    "ip",
                    "-n",
                    &ns,
                    "-6",
                    "addr",
                    "add",
                    &format!("{ip6}/64"),
                    "dev",
                    &dev,
                    "nodad",
                ]);
            }
            run_ok(&["ip", "-n", &ns, "link", "set", &dev, "mtu", "1500", "up"]);
        }
        net
    }

    /// `ip:port` of the server's underlay IPv4 address.
    pub fn server_endpoint(&self, port: u16) -> String {
        format!("{}:{port}", self.server_ip)
    }

    /// `[ip6]:port` of the server's underlay IPv6 address (dual underlay only).
    pub fn server_endpoint6(&self, port: u16) -> String {
        format!(
            "[{}]:{port}",
            self.server_ip6.expect("TestNet without IPv6 underlay")
        )
    }

    /// Writes a fresh random key (64 hex digits, mode 0600) and returns its path.
    pub fn key(&self, name: &str) -> String {
        let path = self.dir.join(name);
        write_key(&path);
        path.to_str().expect("utf-8 path").to_owned()
    }

    fn next_log(&self, label: &str) -> PathBuf {
        let seq = self.log_seq.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!("{seq:02}-{label}.log"))
    }

    /// Starts ringtun in the server namespace.
    pub fn server(&self, args: &[&str]) -> Ringtun {
        Ringtun::spawn(
            &self.server_ns,
            self.next_log("server"),
            "server",
            &ringtun_bin(),
            args,
        )
    }

    /// Starts ringtun in the client namespace.
    pub fn client(&self, args: &[&str]) -> Ringtun {
        Ringtun::spawn(
            &self.client_ns,
            self.next_log("client"),
            "client",
            &ringtun_bin(),
            args,
        )
    }

    /// The namespaces and scratch dir this guard removes on drop (for the harness self-test).
    pub fn resources(&self) -> (Vec<String>, PathBuf) {
        (self.created.clone(), self.dir.clone())
    }
}

impl Default for TestNet {
    fn default() -> Self {
        TestNet::new()
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        for ns in &self.created {
            kill_netns_processes(ns);
        }
        for ns in &self.created {
            let out = run(&["ip", "netns", "del", ns]);
            if !out.status.success() {
                eprintln!(
                    "warning: ip netns del {ns}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
        }
        if !thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("test files kept in {}", self.dir.display());
        }
    }
}

/// Writes a random 32-byte key as 64 hex digits and a newline, mode 0600.
pub fn write_key(path: &Path) {
    let mut bytes = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    fs::write(path, format!("{hex}\n")).expect("write key");
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod 0600 key");
}

/// A ringtun (or other) child process in a namespace with its stderr and stdout in a log file.
pub struct Ringtun {
    pub label: String,
    pub ns: String,
    pub log_path: PathBuf,
    child: Option<Child>,
    status: Option<ExitStatus>,
}

impl Ringtun {
    /// Spawns `ip netns exec NS PROGRAM ARGS...` (ip execs the program: same pid).
    pub fn spawn(
        ns: &str,
        log_path: PathBuf,
        label: &str,
        program: &str,
        args: &[&str],
    ) -> Ringtun {
        let log = File::create(&log_path).expect("create log file");
        let log2 = log.try_clone().expect("dup log file");
        let child = Command::new("ip")
            .args(["netns", "exec", ns, program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log2))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {program} in {ns}: {e}"));
        Ringtun {
            label: label.to_owned(),
            ns: ns.to_owned(),
            log_path,
            child: Some(child),
            status: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// How many log lines contain `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log().lines().filter(|l| l.contains(needle)).count()
    }

    pub fn log_contains(&self, needle: &str) -> bool {
        self.log_count(needle) > 0
    }

    /// Whether the process has exited (records its status).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(st)) = child.try_wait() {
                    self.status = Some(st);
                }
            }
        }
        self.status
    }

    /// Waits until at least `n` log lines contain `needle`. Returns false on timeout or when the
    /// process exited first (its log then says why).
    pub fn wait_for_log_count(&mut self, needle: &str, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log_count(needle) >= n {
                return true;
            }
            if self.exited().is_some() {
                // One last look: the line may have been written just before exiting.
                return self.log_count(needle) >= n;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> bool {
        self.wait_for_log_count(needle, 1, timeout)
    }

    /// Like [`wait_for_log`](Self::wait_for_log) but panics with the log on failure.
    pub fn expect_log(&mut self, needle: &str, timeout: Duration) {
        self.expect_log_count(needle, 1, timeout)
    }

    pub fn expect_log_count(&mut self, needle: &str, n: usize, timeout: Duration) {
        if !self.wait_for_log_count(needle, n, timeout) {
            let why = match self.exited() {
                Some(st) => format!("process exited with {st}"),
                None => format!("timed out after {timeout:?}"),
            };
            panic!(
                "{}: expected {n} log line(s) containing {needle:?}: {why}\n--- {} log ---\n{}",
                self.label,
                self.label,
                self.log()
            );
        }
    }

    /// Panics (with the log) if the process is no longer running.
    pub fn assert_running(&mut self) {
        if let Some(st) = self.exited() {
            panic!(
                "{} exited unexpectedly with {st}\n--- {} log ---\n{}",
                self.label,
                self.label,
                self.log()
            );
        }
    }

    fn signal(&self, sig: &str) {
        let pid = self.pid().to_string();
        let _ = run(&["kill", "-s", sig, &pid]);
    }

    /// Sends SIGUSR1 and returns the counters of the stats line it prints.
    pub fn sigusr1_stats(&mut self) -> HashMap<String, u64> {
        self.assert_running();
        let before = self.log_count("ringtun: stats:");
        self.signal("USR1");
        if !self.wait_for_log_count("ringtun: stats:", before + 1, Duration::from_secs(5)) {
            panic!(
                "{}: no new stats line within 5 s of SIGUSR1\n--- log ---\n{}",
                self.label,
                self.log()
            );
        }
        self.last_stats()
            .unwrap_or_else(|| panic!("{}: stats line not parseable", self.label))
    }

    /// The counters of the newest `ringtun: stats:` line, if any.
    pub fn last_stats(&self) -> Option<HashMap<String, u64>> {
        let log = self.log();
        let line = log.lines().rev().find(|l| l.contains("ringtun: stats:"))?;
        Some(parse_stats(line))
    }

    /// SIGTERM, then waits up to `timeout` for the exit status; SIGKILL and panic if it hangs.
    pub fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(st) = self.exited() {
            return st;
        }
        self.signal("TERM");
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(st) = self.exited() {
                return st;
            }
            thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        panic!(
            "{} did not exit within {timeout:?} of SIGTERM\n--- log ---\n{}",
            self.label,
            self.log()
        );
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if self.status.is_none() {
                let _ = child.kill();
                if let Ok(st) = child.wait() {
                    self.status = Some(st);
                }
            }
        }
    }
}

impl Drop for Ringtun {
    fn drop(&mut self) {
        self.kill();
        if thread::panicking() {
            eprintln!(
                "--- {} log ({}) ---\n{}--- end of {} log ---",
                self.label,
                self.log_path.display(),
                self.log(),
                self.label
            );
        }
    }
}

/// Parses `... ringtun: stats: a=1 b=2 drop.replay=3 ...` into a map.
pub fn parse_stats(line: &str) -> HashMap<String, u64> {
    let rest = line.split("stats:").nth(1).unwrap_or("");
    rest.split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

/// A counter from a stats map (0 if absent: counters that never moved may be left out).
pub fn stat(stats: &HashMap<String, u64>, key: &str) -> u64 {
    stats.get(key).copied().unwrap_or(0)
}

/// Sum of all `drop.*` counters.
pub fn total_drops(stats: &HashMap<String, u64>) -> u64 {
    stats
        .iter()
        .filter(|(k, _)| k.starts_with("drop."))
        .map(|(_, v)| *v)
        .sum()
}

/// Result of a ping run.
#[derive(Clone, Copy, Debug)]
pub struct PingResult {
    pub transmitted: u32,
    pub received: u32,
}

/// Pings `addr` from namespace `ns`: `count` packets 0.2 s apart, waiting at most `timeout` overall.
pub fn ping(ns: &str, addr: &str, count: u32, timeout: Duration) -> PingResult {
    ping_interval(ns, addr, count, "0.2", timeout)
}

pub fn ping_interval(
    ns: &str,
    addr: &str,
    count: u32,
    interval: &str,
    timeout: Duration,
) -> PingResult {
    let deadline = timeout.as_secs().max(1).to_string();
    let count_s = count.to_string();
    let out = ns_run(
        ns,
        &[
            "ping", "-n", "-q", "-c", &count_s, "-i", interval, "-W", "1", "-w", &deadline, addr,
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(line) = text.lines().find(|l| l.contains("packets transmitted")) else {
        // e.g. "connect: Network is unreachable": nothing could be sent.
        eprintln!(
            "ping {addr} in {ns}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return PingResult {
            transmitted: 0,
            received: 0,
        };
    };
    let nums: Vec<u32> = line
        .split(',')
        .filter_map(|p| p.split_whitespace().next()?.parse().ok())
        .collect();
    PingResult {
        transmitted: nums.first().copied().unwrap_or(0),
        received: nums.get(1).copied().unwrap_or(0),
    }
}

/// Pings and panics unless every packet was answered.
pub fn assert_ping(ns: &str, addr: &str, count: u32) {
    let r = ping(ns, addr, count, Duration::from_secs(u64::from(count) + 5));
    assert_eq!(
        r.received, count,
        "ping {addr} from {ns}: {}/{} answered",
        r.received, r.transmitted
    );
}

/// Adds a netem qdisc (e.g. `["delay", "5ms", "reorder", "25%", "50%"]`) on `dev` in `ns`. Errors
/// (with tc's message) when the kernel has no netem (`CONFIG_NET_SCH_NETEM`), so the caller can
/// fall back to [`UdpRelay`]'s reordering.
pub fn netem(ns: &str, dev: &str, args: &[&str]) -> Result<(), String> {
    let mut full = vec!["tc", "qdisc", "add", "dev", dev, "root", "netem"];
    full.extend_from_slice(args);
    let out = ns_run(ns, &full);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

// ---------------------------------------------------------------------------------------------
// iperf3
// ---------------------------------------------------------------------------------------------

/// An `iperf3 -s` in a namespace, killed on drop.
pub struct Iperf3Server {
    child: Child,
    pub port: u16,
}

impl Iperf3Server {
    pub fn start(ns: &str, bind: &str, port: u16) -> Iperf3Server {
        let child = Command::new("ip")
            .args(["netns", "exec", ns, "iperf3", "-s", "-B", bind, "-p"])
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn iperf3 -s");
        Iperf3Server { child, port }
    }
}

impl Drop for Iperf3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The numbers of an iperf3 `--json` run.
#[derive(Clone, Debug, Default)]
pub struct IperfResult {
    /// Bytes the client sent and the server received.
    pub sent_bytes: u64,
    pub received_bytes: u64,
    /// Receiver throughput (TCP) or the sender's rate (UDP).
    pub bits_per_second: f64,
    pub retransmits: u64,
    /// UDP only.
    pub lost_percent: Option<f64>,
}

/// Runs `iperf3 -c` from `ns` against `server:port` for `secs` seconds with `extra` flags (e.g.
/// `["-P", "4"]` or `["-u", "-b", "500M"]`). Retries a few times while the server is still starting.
pub fn iperf3_client(
    ns: &str,
    server: &str,
    port: u16,
    secs: u32,
    extra: &[&str],
) -> Result<IperfResult, String> {
    let port_s = port.to_string();
    let secs_s = secs.to_string();
    let limit = (secs + 20).to_string();
    let mut last_err = String::new();
    for _ in 0..15 {
        let mut args = vec![
            "timeout", &limit, "iperf3", "-c", server, "-p", &port_s, "-t", &secs_s, "--json",
        ];
        args.extend_from_slice(extra);
        let out = ns_run(ns, &args);
        let text = String::from_utf8_lossy(&out.stdout);
        match parse_iperf3(&text) {
            Ok(r) => return Ok(r),
            Err(e) => {
                last_err = e;
                if last_err.contains("refused") || last_err.contains("busy") {
                    thread::sleep(Duration::from_millis(300));
                    continue;
                }
                return Err(last_err);
            }
        }
    }
    Err(last_err)
}

/// Parses the output of `iperf3 -c ... --json`.
pub fn parse_iperf3(text: &str) -> Result<IperfResult, String> {
    let json = Json::parse(text).map_err(|e| format!("iperf3 output is not JSON ({e}): {text}"))?;
    if let Some(Json::Str(err)) = json.get("error") {
        return Err(format!("iperf3: {err}"));
    }
    let end = json.get("end").ok_or("iperf3 JSON without \"end\"")?;
    let num = |v: Option<&Json>| v.and_then(Json::as_f64);
    let udp = json
        .get("start")
        .and_then(|s| s.get("test_start"))
        .and_then(|t| t.get("protocol"))
        == Some(&Json::Str("UDP".into()));
    if udp {
        // iperf3 >= 3.11 has sum_received with the receiver's loss; older ones only sum.
        let sum = end
            .get("sum_received")
            .or_else(|| end.get("sum"))
            .ok_or("UDP iperf3 JSON without sum")?;
        let sent = end.get("sum_sent").unwrap_or(sum);
        let bytes = num(sent.get("bytes")).unwrap_or(0.0) as u64;
        let packets = num(sum.get("packets")).unwrap_or(0.0);
        let lost_packets = num(sum.get("lost_packets")).unwrap_or(0.0);
        let received = if packets > 0.0 {
            (bytes as f64 * (packets - lost_packets) / packets) as u64
        } else {
            0
        };
        return Ok(IperfResult {
            sent_bytes: bytes,
            received_bytes: received,
            bits_per_second: num(sum.get("bits_per_second")).unwrap_or(0.0),
            retransmits: 0,
            lost_percent: num(sum.get("lost_percent")),
        });
    }
    let sent = end
        .get("sum_sent")
        .ok_or("TCP iperf3 JSON without sum_sent")?;
    let recv = end
        .get("sum_received")
        .ok_or("TCP iperf3 JSON without sum_received")?;
    Ok(IperfResult {
        sent_bytes: num(sent.get("bytes")).unwrap_or(0.0) as u64,
        received_bytes: num(recv.get("bytes")).unwrap_or(0.0) as u64,
        bits_per_second: num(recv.get("bits_per_second")).unwrap_or(0.0),
        retransmits: num(sent.get("retransmits")).unwrap_or(0.0) as u64,
        lost_percent: None,
    })
}

/// A small JSON value, enough to read iperf3's output without a dependency.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn parse(text: &str) -> Result<Json, String> {
        let mut p = JsonParser {
            b: text.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i != p.b.len() {
            return Err(format!("trailing data at byte {}", p.i));
        }
        Ok(v)
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Num(n) => Some(*n),
            _ => None,
        }
    }
}

struct JsonParser<'a> {
    b: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &str) -> Result<(), String> {
        if self.b[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            Ok(())
        } else {
            Err(format!("expected {lit} at byte {}", self.i))
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        match self.b.get(self.i) {
            None => Err("unexpected end".into()),
            Some(b'{') => {
                self.i += 1;
                let mut kv = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Obj(kv));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.ws();
                    self.eat(":")?;
                    let v = self.value()?;
                    kv.push((k, v));
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Obj(kv));
                        }
                        _ => return Err(format!("expected , or }} at byte {}", self.i)),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Arr(items));
                        }
                        _ => return Err(format!("expected , or ] at byte {}", self.i)),
                    }
                }
            }
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b't') => self.eat("true").map(|_| Json::Bool(true)),
            Some(b'f') => self.eat("false").map(|_| Json::Bool(false)),
            Some(b'n') => self.eat("null").map(|_| Json::Null),
            Some(_) => {
                let start = self.i;
                while self.i < self.b.len() && b"+-0123456789.eE".contains(&self.b[self.i]) {
                    self.i += 1;
                }
                let s = std::str::from_utf8(&self.b[start..self.i]).map_err(|e| e.to_string())?;
                s.parse()
                    .map(Json::Num)
                    .map_err(|_| format!("bad value at byte {start}"))
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.eat("\"")?;
        let mut out = Vec::new();
        loop {
            let c = *self.b.get(self.i).ok_or("unterminated string")?;
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                b'\\' => {
                    let e = *self.b.get(self.i).ok_or("unterminated escape")?;
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = self.b.get(self.i..self.i + 4).ok_or("short \\u escape")?;
                            self.i += 4;
                            let code = u32::from_str_radix(
                                std::str::from_utf8(hex).map_err(|e| e.to_string())?,
                                16,
                            )
                            .map_err(|e| e.to_string())?;
                            let ch = char::from_u32(code).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// UDP tools on threads inside a namespace
// ---------------------------------------------------------------------------------------------

/// Runs `f` on a new thread that first enters namespace `ns`, and returns its result. Sockets
/// created inside `f` stay in that namespace wherever they are used later.
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let ns = ns.to_owned();
    thread::spawn(move || {
        ringtun::sys::netns::enter(&ns).unwrap_or_else(|e| panic!("enter netns {ns}: {e}"));
        f()
    })
    .join()
    .expect("thread inside the namespace panicked")
}

/// A tiny xorshift PRNG (tests only need variety, not quality).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next_u64() as u8;
        }
    }
}

/// How a [`UdpRelay`] forwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelayMode {
    /// In order, as received.
    Plain,
    /// About one datagram in four (each direction) is held back and sent after the next one, or
    /// after 5 ms if no other comes: reordering without loss or duplication.
    Reorder,
}

#[derive(Default)]
struct RelayShared {
    stop: AtomicBool,
    client: Mutex<Option<SocketAddr>>,
    /// Client-to-server datagrams forwarded, all, and transport data with a payload (type 3, longer
    /// than a keepalive's 32 bytes).
    up_all: AtomicU64,
    up_data: AtomicU64,
    down_all: AtomicU64,
    /// Set by `arm_capture`: the next client-to-server transport data datagram with a payload is
    /// copied into `captured` (and forwarded as usual).
    armed: AtomicBool,
    captured: Mutex<Option<Vec<u8>>>,
    replays_sent: AtomicU64,
}

/// A UDP relay between a ringtun client and server, run on threads with sockets inside a namespace
/// (normally the server's). The client is started with `-s <relay addr>`; the server sees the
/// relay's upstream socket as its peer, so replayed datagrams come from the genuine peer address.
pub struct UdpRelay {
    /// Where the client sends to.
    pub addr: SocketAddr,
    shared: Arc<RelayShared>,
    upstream: UdpSocket,
    threads: Vec<JoinHandle<()>>,
}

/// Transport data with a payload (not a keepalive): what a replay test wants to capture.
pub fn is_data_with_payload(d: &[u8]) -> bool {
    d.len() > 32 && d[0] == 3
}

impl UdpRelay {
    /// Binds `listen` and a socket connected to `upstream`, both inside `ns`.
    pub fn start(ns: &str, listen: SocketAddr, upstream: SocketAddr, mode: RelayMode) -> UdpRelay {
        let (down_sock, up_sock) = in_netns(ns, move || {
            let d = UdpSocket::bind(listen).expect("relay: bind listen socket");
            let any: SocketAddr = if upstream.is_ipv4() {
                "0.0.0.0:0".parse().unwrap()
            } else {
                "[::]:0".parse().unwrap()
            };
            let u = UdpSocket::bind(any).expect("relay: bind upstream socket");
            u.connect(upstream).expect("relay: connect upstream");
            (d, u)
        });
        let addr = down_sock.local_addr().expect("relay addr");
        let timeout = match mode {
            RelayMode::Plain => Duration::from_millis(50),
            RelayMode::Reorder => Duration::from_millis(5),
        };
        down_sock.set_read_timeout(Some(timeout)).unwrap();
        up_sock.set_read_timeout(Some(timeout)).unwrap();
        let shared = Arc::new(RelayShared::default());
        let mut threads = Vec::new();

        // Client -> server.
        {
            let shared = shared.clone();
            let rx = down_sock.try_clone().unwrap();
            let tx = up_sock.try_clone().unwrap();
            threads.push(thread::spawn(move || {
                let mut rng = Rng::new(0x5eed_0001);
                let mut held: Option<(Vec<u8>, Instant)> = None;
                let mut buf = vec![0u8; 65536];
                while !shared.stop.load(Ordering::Relaxed) {
                    match rx.recv_from(&mut buf) {
                        Ok((n, from)) => {
                            *shared.client.lock().unwrap() = Some(from);
                            let d = &buf[..n];
                            if is_data_with_payload(d) && shared.armed.load(Ordering::SeqCst) {
                                let mut cap = shared.captured.lock().unwrap();
                                if cap.is_none() {
                                    *cap = Some(d.to_vec());
                                    shared.armed.store(false, Ordering::SeqCst);
                                }
                            }
                            if mode == RelayMode::Reorder && held.is_none() && rng.below(4) == 0 {
                                held = Some((d.to_vec(), Instant::now()));
                                continue;
                            }
                            count_up(&shared, d);
                            let _ = tx.send(d);
                            if let Some((h, _)) = held.take() {
                                count_up(&shared, &h);
                                let _ = tx.send(&h);
                            }
                        }
                        Err(_) => {
                            if let Some((h, _)) = held.take_if(|(_, t)| t.elapsed() >= timeout) {
                                count_up(&shared, &h);
                                let _ = tx.send(&h);
                            }
                        }
                    }
                }
            }));
        }
        // Server -> client.
        {
            let shared = shared.clone();
            let rx = up_sock.try_clone().unwrap();
            let tx = down_sock;
            threads.push(thread::spawn(move || {
                let mut rng = Rng::new(0x5eed_0002);
                let mut held: Option<(Vec<u8>, Instant, SocketAddr)> = None;
                let mut buf = vec![0u8; 65536];
                while !shared.stop.load(Ordering::Relaxed) {
                    match rx.recv(&mut buf) {
                        Ok(n) => {
                            let Some(to) = *shared.client.lock().unwrap() else {
                                continue;
                            };
                            let d = &buf[..n];
                            if mode == RelayMode::Reorder && held.is_none() && rng.below(4) == 0 {
                                held = Some((d.to_vec(), Instant::now(), to));
                                continue;
                            }
                            shared.down_all.fetch_add(1, Ordering::SeqCst);
                            let _ = tx.send_to(d, to);
                            if let Some((h, _, hto)) = held.take() {
                                shared.down_all.fetch_add(1, Ordering::SeqCst);
                                let _ = tx.send_to(&h, hto);
                            }
                        }
                        Err(_) => {
                            if let Some((h, _, hto)) =
                                held.take_if(|(_, t, _)| t.elapsed() >= timeout)
                            {
                                shared.down_all.fetch_add(1, Ordering::SeqCst);
                                let _ = tx.send_to(&h, hto);
                            }
                        }
                    }
                }
            }));
        }
        UdpRelay {
            addr,
            shared,
            upstream: up_sock,
            threads,
        }
    }

    /// Client-to-server transport data datagrams with a payload forwarded so far.
    pub fn forwarded_data(&self) -> u64 {
        self.shared.up_data.load(Ordering::SeqCst)
    }

    /// All datagrams forwarded (client to server, server to client).
    pub fn forwarded(&self) -> (u64, u64) {
        (
            self.shared.up_all.load(Ordering::SeqCst),
            self.shared.down_all.load(Ordering::SeqCst),
        )
    }

    /// Forgets any captured datagram and captures the next client-to-server data datagram.
    pub fn arm_capture(&self) {
        *self.shared.captured.lock().unwrap() = None;
        self.shared.armed.store(true, Ordering::SeqCst);
    }

    /// Waits for the armed capture.
    pub fn wait_captured(&self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(c) = self.shared.captured.lock().unwrap().clone() {
                return Some(c);
            }
            thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Sends the captured datagram `times` more times to the server, from the relay's upstream
    /// socket (the address the server knows as its peer). Returns how many were sent.
    pub fn replay(&self, times: u32) -> u64 {
        let d = self
            .shared
            .captured
            .lock()
            .unwrap()
            .clone()
            .expect("replay: nothing captured");
        let mut sent = 0;
        for _ in 0..times {
            if self.upstream.send(&d).is_ok() {
                sent += 1;
                self.shared.replays_sent.fetch_add(1, Ordering::SeqCst);
            }
            thread::sleep(Duration::from_millis(20));
        }
        sent
    }

    pub fn replays_sent(&self) -> u64 {
        self.shared.replays_sent.load(Ordering::SeqCst)
    }
}

fn count_up(shared: &RelayShared, d: &[u8]) {
    shared.up_all.fetch_add(1, Ordering::SeqCst);
    if is_data_with_payload(d) {
        shared.up_data.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for UdpRelay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// What [`flood`] sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct FloodReport {
    pub sent: u64,
    /// Of those, datagrams shaped like a message type (1, 2 or 3 with that type's length or more).
    pub shaped: u64,
}

/// Sends `count` junk datagrams from a socket inside `ns` to `target`: random lengths 0..1500 with
/// random content, and about half shaped like ringtun messages (first byte 1, 2 or 3, reserved
/// bytes zero, the exact handshake lengths or any data length), so they get past the length checks
/// to the tag and index checks. Paced a little so most reach the socket rather than overflow it.
pub fn flood(ns: &str, target: SocketAddr, count: u64, seed: u64) -> FloodReport {
    let sock = in_netns(ns, move || {
        let any = if target.is_ipv4() {
            "0.0.0.0:0"
        } else {
            "[::]:0"
        };
        UdpSocket::bind(any).expect("flood: bind")
    });
    let mut rng = Rng::new(seed);
    let mut report = FloodReport::default();
    let mut buf = vec![0u8; 1500];
    for i in 0..count {
        let kind = rng.below(8);
        let len = match kind {
            0 => 64,                                // initiation length
            1 => 108,                               // response length
            2 | 3 => 32 + rng.below(1468) as usize, // data (>= keepalive length)
            4 => rng.below(32) as usize,            // truncated
            _ => rng.below(1500) as usize,          // anything
        };
        let d = &mut buf[..len];
        rng.fill(d);
        if kind <= 3 && len >= 4 {
            d[0] = match kind {
                0 => 1,
                1 => 2,
                _ => 3,
            };
            d[1..4].fill(0);
            report.shaped += 1;
        } else if kind == 4 && len > 0 {
            d[0] = 1 + rng.below(3) as u8;
        }
        if sock.send_to(d, target).is_ok() {
            report.sent += 1;
        }
        if i % 64 == 63 {
            thread::sleep(Duration::from_millis(2));
        }
    }
    report
}

/// Datagrams the kernel of namespace `ns` dropped for a full UDP socket buffer, IPv4 and IPv6
/// together (`RcvbufErrors` in `/proc/net/snmp`, `Udp6RcvbufErrors` in `/proc/net/snmp6`), to
/// account for flood datagrams that never reached the socket. Compare two readings: the counters
/// are per namespace, not per socket.
pub fn udp_rcvbuf_errors(ns: &str) -> u64 {
    let snmp = ns_run_ok(ns, &["cat", "/proc/net/snmp"]);
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let v4 = match (udp.next(), udp.next()) {
        (Some(names), Some(values)) => names
            .split_whitespace()
            .zip(values.split_whitespace())
            .find(|(n, _)| *n == "RcvbufErrors")
            .and_then(|(_, v)| v.parse::<u64>().ok()),
        _ => None,
    };
    let snmp6 = ns_run_ok(ns, &["cat", "/proc/net/snmp6"]);
    let v6 = snmp6.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        (f.next() == Some("Udp6RcvbufErrors")).then(|| f.next()?.parse::<u64>().ok())?
    });
    v4.expect("no Udp RcvbufErrors in /proc/net/snmp")
        + v6.expect("no Udp6RcvbufErrors in /proc/net/snmp6")
}

/// Polls `f` every 100 ms until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(100));
    }
}
