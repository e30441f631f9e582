//! [`TestNet`]: two fresh network namespaces joined by a veth pair, removed with everything in
//! them on drop; threads that work inside a namespace ([`in_netns`]); key files.

use std::fs::{self, File};
use std::io::Read;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

use super::processes::{Ringtun, ringtun_bin, run, run_ok};

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

    /// Writes a fresh random key (WireGuard's base64 format, mode 0600) and returns its path.
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

/// Writes a random 32-byte key in WireGuard's format (base64 and a newline, as `wg genkey` and
/// `ringtun genkey` write it), mode 0600.
pub fn write_key(path: &Path) {
    let mut bytes = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    fs::write(path, format!("{}\n", base64(&bytes))).expect("write key");
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod 0600 key");
}

/// Standard base64 with padding (RFC 4648), written here rather than taken from ringtun so the
/// harness does not test ringtun with ringtun's own encoder.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

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
