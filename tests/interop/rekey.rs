//! Key rotation (R): a session's initiator starts a new handshake once its keys are
//! REKEY_AFTER_TIME (120 s) old and it has something to send; traffic must flow across the switch.
//!
//! The four rows (ringtun initiating to wireguard-go and to boringtun, each of them initiating to
//! ringtun) run on threads of one test: each waits out the protocol's own 120 s, so together
//! they take one wait instead of four, whatever `--test-threads` is.

use crate::common::*;
use crate::wg_peer::*;
use std::thread;
use std::time::{Duration, SystemTime};

/// How long the initiator pings: REKEY_AFTER_TIME and 10 s for the new handshake to happen and
/// for traffic to run on the new keys.
const PING_SECS: u64 = 130;
/// One echo request every half second.
const PING_INTERVAL: &str = "0.5";
/// Echo requests that may go unanswered across the switch (none is the expectation).
const MAX_LOST: u32 = 2;

/// Which end is ringtun; the other is `foreign`. The client is always the session's initiator.
#[derive(Clone, Copy, Debug)]
enum Row {
    RingtunInitiates(WgImpl),
    InitiatesToRingtun(WgImpl),
}

/// Every row's result: a line for the test output, or why it failed.
fn run_row(row: Row) -> String {
    let star = Star::new(1);
    let (s, c) = (&star.net.server, &star.net.clients[0]);
    let (server_pub, client_pub) = (&star.server_keys.public, &star.client_keys[0].public);
    // `-v`: ringtun logs every new session, not only the first.
    let (foreign, mut ringtun, foreign_sees) = match row {
        Row::RingtunInitiates(imp) => (
            star.start_server(imp),
            RingtunEnd::start(&star, c, "client", &star.client_spec(0), &["-v"]),
            client_pub,
        ),
        Row::InitiatesToRingtun(imp) => (
            star.start_client(0, imp),
            RingtunEnd::start(&star, s, "server", &star.server_spec(), &["-v"]),
            server_pub,
        ),
    };
    establish(c, s);
    let first = foreign.expect_handshake(foreign_sees, HANDSHAKE_TIMEOUT);
    let before = ringtun.stats();
    assert_eq!(stat(&before, "handshakes_completed"), 1, "{before:?}");

    let pings = ping_interval(
        &c.ns,
        &s.tunnel_ip.to_string(),
        (PING_SECS * 2) as u32,
        PING_INTERVAL,
        Duration::from_secs(PING_SECS + 15),
    );
    let after = ringtun.stats();
    let latest = foreign
        .latest_handshake(foreign_sees)
        .expect("a handshake happened before");
    ringtun.process.assert_running();

    assert!(
        pings.transmitted >= (PING_SECS * 2 - 2) as u32,
        "{row:?}: ping stopped early: {pings:?}"
    );
    let lost = pings.transmitted - pings.received;
    assert!(
        lost <= MAX_LOST,
        "{row:?}: {lost} of {} echo requests lost across the rekey",
        pings.transmitted
    );
    // A second handshake, on both ends: the foreign end's latest is about 120 s after the first...
    let moved = latest
        .duration_since(first)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    assert!(
        (100..=PING_SECS + 5).contains(&moved),
        "{row:?}: {} reports its latest handshake {moved} s after the first",
        foreign.imp
    );
    // ...and ringtun derived new session keys.
    assert!(
        stat(&after, "handshakes_completed") >= 2,
        "{row:?}: ringtun {after:?}"
    );
    assert!(
        ringtun.process.log_contains(": new session keys (at "),
        "{row:?}: {}",
        ringtun.log()
    );
    // The initiator rekeyed; the responder never had to.
    match row {
        Row::RingtunInitiates(_) => assert!(
            stat(&after, "handshakes_initiated") >= 2,
            "{row:?}: ringtun {after:?}"
        ),
        Row::InitiatesToRingtun(_) => assert_eq!(
            stat(&after, "handshakes_initiated"),
            0,
            "{row:?}: ringtun, the responder, initiated: {after:?}"
        ),
    }
    format!(
        "{row:?}: {} of {} echo requests answered; second handshake {moved} s after the first",
        pings.received, pings.transmitted
    )
}

/// R for the four rows at once (see the module docs).
#[test]
#[ignore = "needs root"]
fn traffic_flows_across_a_rekey() {
    require_root();
    let started = SystemTime::now();
    let rows = [
        Row::RingtunInitiates(WgImpl::WireguardGo),
        Row::RingtunInitiates(WgImpl::Boringtun),
        Row::InitiatesToRingtun(WgImpl::WireguardGo),
        Row::InitiatesToRingtun(WgImpl::Boringtun),
    ];
    let handles: Vec<_> = rows
        .into_iter()
        .map(|row| (row, thread::spawn(move || run_row(row))))
        .collect();
    let mut failed = Vec::new();
    for (row, handle) in handles {
        match handle.join() {
            Ok(line) => eprintln!("{line}"),
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                failed.push(format!("{row:?}: {why}"));
            }
        }
    }
    eprintln!(
        "four rekey rows in {:?}",
        started.elapsed().unwrap_or_default()
    );
    assert!(failed.is_empty(), "rows failed:\n{}", failed.join("\n"));
}
