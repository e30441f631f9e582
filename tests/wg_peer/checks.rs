//! The checks an interop test makes through a tunnel, in terms of [`Site`]s only (a namespace and
//! a tunnel address), so they hold whatever implementation runs each end: ping, iperf3, and the
//! namespace's UDP counters.

use super::topology::Site;
use crate::common::{
    Iperf3Server, IperfResult, assert_ping, iperf3_client, ns_run, ns_run_ok, ping,
};
use std::time::{Duration, Instant};

/// How long the first handshake may take. One round trip on a veth, plus a retry after WireGuard's
/// 5 s REKEY_TIMEOUT if the first initiation was lost.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(12);
/// Length of each iperf3 run: enough to move data, short enough for the 2-core test machine.
pub const IPERF_SECS: u32 = 2;
const IPERF_PORT: u16 = 5201;

/// Pings `to` from `from` until an answer comes back (the first packet starts the handshake).
/// Panics after [`HANDSHAKE_TIMEOUT`].
pub fn establish(from: &Site, to: &Site) {
    establish_within(from, to, HANDSHAKE_TIMEOUT);
}

/// Pings `to` from `from`, one echo request a second, until one is answered; returns how long
/// that took. Panics after `timeout`. For a tunnel that comes back only when a timer of one of
/// its ends runs out (e.g. after the other end restarted).
pub fn establish_within(from: &Site, to: &Site, timeout: Duration) -> Duration {
    let start = Instant::now();
    let target = to.tunnel_ip.to_string();
    while start.elapsed() < timeout {
        if ping(&from.ns, &target, 1, Duration::from_secs(1)).received == 1 {
            return start.elapsed();
        }
    }
    panic!(
        "no ping answer from {target} to {} within {timeout:?}: the tunnel did not come up",
        from.ns
    );
}

/// `count` pings each way, every one answered.
pub fn assert_ping_both_ways(a: &Site, b: &Site, count: u32) {
    assert_ping(&a.ns, &b.tunnel_ip.to_string(), count);
    assert_ping(&b.ns, &a.tunnel_ip.to_string(), count);
}

/// Pings that must all go unanswered.
pub fn assert_no_reply(from: &Site, to: &Site, count: u32) {
    let r = ping(
        &from.ns,
        &to.tunnel_ip.to_string(),
        count,
        Duration::from_secs(u64::from(count) + 1),
    );
    assert_eq!(
        r.received, 0,
        "{}: {} of {} pings to {} answered, expected none",
        from.ns, r.received, r.transmitted, to.tunnel_ip
    );
}

/// Sends `count` pings from `from` to `to` with source address `src` (which must be an address of
/// `from`'s namespace); returns how many were answered.
pub fn ping_with_source(from: &Site, src: &str, to: &Site, count: u32) -> u32 {
    let (count_s, dst) = (count.to_string(), to.tunnel_ip.to_string());
    // No -w: with a deadline ping keeps sending until `count` answers come.
    let args = [
        "ping", "-n", "-q", "-c", &count_s, "-i", "0.2", "-W", "1", "-I", src, &dst,
    ];
    let out = ns_run(&from.ns, &args);
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(line) = text.lines().find(|l| l.contains("packets transmitted")) else {
        panic!(
            "ping -I {src} {dst} in {}: {}",
            from.ns,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    };
    // "3 packets transmitted, 0 received, 100% packet loss, time 402ms"
    let numbers: Vec<u32> = line
        .split(',')
        .filter_map(|part| part.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(
        numbers.first(),
        Some(&count),
        "ping -I {src} {dst} in {}: {line}",
        from.ns
    );
    *numbers
        .get(1)
        .unwrap_or_else(|| panic!("ping output: {line}"))
}

/// TCP through the tunnel with iperf3, `client` to `server` and back (`-R`), [`IPERF_SECS`] each;
/// asserts that data arrived each way and returns (upload, download).
pub fn assert_iperf3_both_ways(client: &Site, server: &Site) -> (IperfResult, IperfResult) {
    let target = server.tunnel_ip.to_string();
    let _server = Iperf3Server::start(&server.ns, &target, IPERF_PORT);
    let mut runs = Vec::new();
    for (direction, extra) in [("up", &[][..]), ("down", &["-R"][..])] {
        let r = iperf3_client(&client.ns, &target, IPERF_PORT, IPERF_SECS, extra)
            .unwrap_or_else(|e| panic!("iperf3 {direction} {} -> {target}: {e}", client.ns));
        eprintln!(
            "iperf3 {direction}: {:.0} Mbit/s, {} bytes received",
            r.bits_per_second / 1e6,
            r.received_bytes
        );
        assert!(
            r.received_bytes > 0,
            "iperf3 {direction}: nothing received: {r:?}"
        );
        runs.push(r);
    }
    let down = runs.pop().expect("two runs");
    (runs.pop().expect("two runs"), down)
}

/// UDP datagrams delivered to sockets (`InDatagrams`) and sent (`OutDatagrams`) in a namespace,
/// from its `/proc/net/snmp`: what reached the WireGuard socket and what it answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UdpCounters {
    pub in_datagrams: u64,
    pub out_datagrams: u64,
}

pub fn udp_counters(ns: &str) -> UdpCounters {
    let snmp = ns_run_ok(ns, &["cat", "/proc/net/snmp"]);
    parse_snmp_udp(&snmp).unwrap_or_else(|| panic!("{ns}: no Udp lines in /proc/net/snmp"))
}

fn parse_snmp_udp(snmp: &str) -> Option<UdpCounters> {
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (names, values) = (udp.next()?, udp.next()?);
    let field = |name: &str| {
        names
            .split_whitespace()
            .zip(values.split_whitespace())
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.parse().ok())
    };
    Some(UdpCounters {
        in_datagrams: field("InDatagrams")?,
        out_datagrams: field("OutDatagrams")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_udp_counters_from_snmp() {
        let snmp = "Ip: Forwarding DefaultTTL\nIp: 2 64\n\
            Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors\nUdp: 17 0 0 4 0\n\
            UdpLite: InDatagrams NoPorts\nUdpLite: 0 0\n";
        assert_eq!(
            parse_snmp_udp(snmp),
            Some(UdpCounters {
                in_datagrams: 17,
                out_datagrams: 4
            })
        );
        assert_eq!(parse_snmp_udp("Udp: InDatagrams\n"), None);
    }
}
