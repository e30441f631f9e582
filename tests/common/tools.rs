//! The network tools the tests drive inside a namespace: `ping`, `iperf3` (client and server) and
//! `tc ... netem`.

use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use super::json::{IperfResult, parse_iperf3};
use super::processes::ns_run;

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
