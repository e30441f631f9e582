//! The operator's view of the tunnel as text: peer names, the counter dump, drop lines.

use std::fmt::Write as _;
use std::net::SocketAddr;

use crate::core::keys::PublicKey;
use crate::core::{DropReason, Stats};
use crate::driver::DriverStats;
use crate::log::suppressed_suffix;

/// Characters of a public key's base64 a log line shows: enough to tell peers apart, short enough
/// to read (`wg show` users recognise the start of a key).
const PEER_NAME_CHARS: usize = 8;

/// `abcdefgh…`: a peer as log lines name it (its public key is not secret).
pub fn peer_name(key: &PublicKey) -> String {
    let text = key.to_base64();
    format!("{}…", &text[..PEER_NAME_CHARS.min(text.len())])
}

/// The one-line counter dump.
pub fn format_stats(core: &Stats, d: &DriverStats) -> String {
    let mut s = format!(
        "stats: tx_packets={} tx_bytes={} rx_packets={} rx_bytes={} keepalives_sent={} \
         keepalives_received={} handshakes_initiated={} handshakes_completed={} \
         cookie_replies_sent={}",
        core.tx_packets,
        core.tx_bytes,
        core.rx_packets,
        core.rx_bytes,
        core.keepalives_sent,
        core.keepalives_received,
        core.handshakes_initiated,
        core.handshakes_completed,
        core.cookie_replies_sent
    );
    for r in DropReason::ALL {
        let _ = write!(s, " drop.{}={}", r.name(), core.drops_of(r));
    }
    let _ = write!(
        s,
        " tun_reads={} udp_recvs={} tun_writes={} udp_sends={} tun_write_errors={} \
         udp_send_errors={} out_of_buffers={} submits={} direct_sends={} direct_writes={}",
        d.tun_reads,
        d.udp_recvs,
        d.tun_writes,
        d.udp_sends,
        d.tun_write_errors,
        d.udp_send_errors,
        d.out_of_buffers,
        d.submits,
        d.direct_sends,
        d.direct_writes
    );
    if d.tso_packets + d.gro_batches + d.out_sends + d.coalesced_writes + d.offload_drops > 0 {
        let _ = write!(
            s,
            " tso_packets={} tso_segments={} out_sends={} gro_batches={} gro_datagrams={} \
             coalesced_writes={} offload_drops={} gso_refused={} send_slot_drops={}",
            d.tso_packets,
            d.tso_segments,
            d.out_sends,
            d.gro_batches,
            d.gro_datagrams,
            d.coalesced_writes,
            d.offload_drops,
            d.gso_refused,
            d.send_slot_drops
        );
    }
    s
}

/// What an operator should check first when datagrams are dropped for `reason`.
fn drop_hint(reason: DropReason) -> &'static str {
    match reason {
        DropReason::HandshakeAuthFailed => " (wrong key?)",
        DropReason::BadMac1 => " (sent to another public key: wrong key or secret file?)",
        DropReason::UnknownPeer => " (a public key that is not one of this interface's peers)",
        DropReason::SourceNotAllowed => " (the peer's inner address is outside its AllowedIPs)",
        DropReason::NoRoute => " (no peer's AllowedIPs contain the destination)",
        _ => "",
    }
}

/// The drop line (without the `ringtun: ` prefix).
pub fn format_drop(reason: DropReason, from: Option<SocketAddr>, suppressed: u64) -> String {
    let hint = drop_hint(reason);
    let what = match from {
        Some(a) => format!("datagram from {a}"),
        None => "packet from the TUN device".to_string(),
    };
    format!(
        "dropped {what}: {}{hint}{}",
        reason.name(),
        suppressed_suffix(suppressed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_named_by_the_start_of_their_key() {
        let key = PublicKey::from_base64("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=").unwrap();
        assert_eq!(peer_name(&key), "xTIBA5rb…");
    }

    #[test]
    fn stats_line_lists_every_counter() {
        let mut core = Stats {
            tx_packets: 3,
            rx_bytes: 99,
            ..Stats::default()
        };
        core.count_drop(DropReason::Replay);
        core.count_drop(DropReason::Replay);
        let d = DriverStats {
            submits: 7,
            direct_sends: 5,
            direct_writes: 4,
            ..DriverStats::default()
        };
        core.cookie_replies_sent = 4;
        let line = format_stats(&core, &d);
        assert!(line.starts_with("stats: tx_packets=3 tx_bytes=0 rx_packets=0 rx_bytes=99 "));
        assert!(
            line.contains(" cookie_replies_sent=4 drop.malformed=0 "),
            "{line}"
        );
        assert!(line.contains(" drop.replay=2 "), "{line}");
        for r in DropReason::ALL {
            assert!(line.contains(&format!(" drop.{}=", r.name())), "{line}");
        }
        assert!(
            line.ends_with(" out_of_buffers=0 submits=7 direct_sends=5 direct_writes=4"),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn drop_lines() {
        let a: SocketAddr = "192.0.2.9:4000".parse().unwrap();
        assert_eq!(
            format_drop(DropReason::HandshakeAuthFailed, Some(a), 0),
            "dropped datagram from 192.0.2.9:4000: handshake-auth-failed (wrong key?)"
        );
        assert_eq!(
            format_drop(DropReason::Replay, Some(a), 12),
            "dropped datagram from 192.0.2.9:4000: replay (12 similar lines suppressed)"
        );
        assert!(format_drop(DropReason::NoSession, None, 0).ends_with(": no-session"));
    }
}
