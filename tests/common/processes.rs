//! Child processes: commands run to completion ([`run`], [`ns_run`] inside a namespace) and the
//! long-running [`Ringtun`] (or a stand-in) whose log can be read while it runs, with its stats
//! lines parsed.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Path of the ringtun binary built by cargo for this test run.
pub const RINGTUN: &str = env!("CARGO_BIN_EXE_ringtun");

/// The binary the tests run: `RINGTUN_TEST_BIN` if set (e.g. a release build, or a stand-in used
/// to check the harness), else the one cargo built.
pub fn ringtun_bin() -> String {
    std::env::var("RINGTUN_TEST_BIN").unwrap_or_else(|_| RINGTUN.to_owned())
}

/// Forces ringtun's io_uring fallbacks (`driver::FORCE_FALLBACK_ENV`): `scripts/test.sh` runs the
/// tunnel tests a second time with it set, so the old-kernel paths run on this kernel.
pub const FORCE_FALLBACK: &str = "RINGTUN_FORCE_FALLBACK";

/// This test run's `RINGTUN_FORCE_FALLBACK`, if it forces anything (unset, empty and `0` do not).
pub fn forced_fallback() -> Option<String> {
    std::env::var(FORCE_FALLBACK)
        .ok()
        .filter(|v| !v.trim().is_empty() && v.trim() != "0")
}

/// The port ringtun listens on in the tests (each test has its own namespaces, so no clash).
pub const PORT: u16 = 51820;
/// How long a handshake may take in a test (WireGuard retries every 5 s).
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(20);
/// What ringtun logs when a peer's first session comes up (`peer abcdefgh… up at ADDR:PORT`).
pub const SESSION_UP: &str = "… up at ";

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

/// A ringtun (or other) child process in a namespace with its stderr and stdout in a log file.
pub struct Ringtun {
    pub label: String,
    pub ns: String,
    pub log_path: PathBuf,
    child: Option<Child>,
    status: Option<ExitStatus>,
}

/// The directory `wg` finds userspace interfaces' control sockets in. It is one directory for the
/// whole machine, whatever the network namespace (as for wireguard-go), so two ringtun processes
/// of the same interface name in two namespaces would refuse each other.
pub const CONTROL_SOCKET_DIR: &str = "/var/run/wireguard";

/// Runs the rest of its arguments with a private, empty `CONTROL_SOCKET_DIR` (a tmpfs in a mount
/// namespace of its own); `unshare` and `sh` exec, so the pid stays the program's.
const PRIVATE_CONTROL_DIR: &str =
    r#"mkdir -p "$0" && mount -t tmpfs -o mode=755 ringtun-test "$0" && exec "$@""#;

impl Ringtun {
    /// Spawns `ip netns exec NS PROGRAM ARGS...` (ip execs the program: same pid), with a
    /// `CONTROL_SOCKET_DIR` of its own: the tests' server and client both run `ringtun0` in
    /// their own namespaces, often several tests at once, and only tests of the control socket
    /// need `wg` to reach it ([`Ringtun::spawn_with_control`]).
    pub fn spawn(
        ns: &str,
        log_path: PathBuf,
        label: &str,
        program: &str,
        args: &[&str],
    ) -> Ringtun {
        let mut full = vec![
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            PRIVATE_CONTROL_DIR,
            CONTROL_SOCKET_DIR,
            program,
        ];
        full.extend_from_slice(args);
        Ringtun::spawn_with_control(ns, log_path, label, "unshare", &full)
    }

    /// As [`Ringtun::spawn`], but with the machine's `CONTROL_SOCKET_DIR`, where `wg` (and
    /// `ringtun show`) find its control socket: the interface name must be unique on the machine.
    pub fn spawn_with_control(
        ns: &str,
        log_path: PathBuf,
        label: &str,
        program: &str,
        args: &[&str],
    ) -> Ringtun {
        let log = File::create(&log_path).expect("create log file");
        let log2 = log.try_clone().expect("dup log file");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log2))
            .stderr(Stdio::from(log));
        // Inherited anyway (`ip netns exec` keeps the environment); said here so that it stays
        // passed on if the environment is ever cleared.
        if let Some(v) = forced_fallback() {
            cmd.env(FORCE_FALLBACK, v);
        }
        let child = cmd
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
        self.assert_forced_fallback_used();
        self.last_stats()
            .unwrap_or_else(|| panic!("{}: stats line not parseable", self.label))
    }

    /// With [`FORCE_FALLBACK`] set, the process said at start that it does without the io_uring
    /// features it names: the counters come from the fallback paths.
    pub fn assert_forced_fallback_used(&self) {
        if forced_fallback().is_some() && !self.log_contains(&format!("({FORCE_FALLBACK} is set)"))
        {
            panic!(
                "{}: {FORCE_FALLBACK} is set but the log names no fallback in use\n--- log ---\n{}",
                self.label,
                self.log()
            );
        }
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

/// Runs `program ARGS` with `stdin`; returns (exit code, stdout, stderr).
pub fn run_with_stdin(program: &str, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait for the program");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
