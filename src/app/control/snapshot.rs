//! The device as a `get=1` reply reports it (`wg show`, `wg showconf`): the interface's keys, port
//! and mark, each peer as `Device::peer_snapshot` has it (the last handshake on the wall clock),
//! and ringtun's drop counters by reason as `ringtun_drop_<reason>=N` lines, which `wg` skips.
//!
//! The private and preshared keys are in it because `wg showconf` prints them (the socket is
//! root's alone); `ringtun show` reads them and prints neither.

use std::time::Duration;

use crate::core::DropReason;
use crate::core::device::Device;
use crate::core::entropy::Entropy;
use crate::core::time::{Instant, WallTime};
use crate::uapi::{AllowedIp, Counter, Endpoint, PeerSnapshot, Snapshot};

/// `device` at `now` (`wall` read at the same moment).
pub fn snapshot<E: Entropy>(device: &Device<E>, now: Instant, wall: WallTime) -> Snapshot {
    let stats = device.stats();
    let counters = DropReason::ALL
        .iter()
        .map(|&reason| Counter {
            name: format!("drop_{}", reason.name()).into(),
            value: stats.drops_of(reason),
        })
        .collect();
    let peers = device
        .peer_ids()
        .filter_map(|id| {
            let s = device.peer_snapshot(id, now, wall)?;
            let mut peer = PeerSnapshot::new(s.public_key);
            peer.preshared_key = device.peer_preshared_key(id).cloned();
            peer.endpoint = s.endpoint.map(Endpoint::new);
            peer.last_handshake_time = s
                .last_handshake
                .map(|t| Duration::from_nanos(t.as_unix_nanos()));
            peer.rx_bytes = s.rx_bytes;
            peer.tx_bytes = s.tx_bytes;
            peer.persistent_keepalive_interval = s.persistent_keepalive.unwrap_or(0);
            peer.allowed_ips = s
                .allowed_ips
                .iter()
                .filter_map(|p| AllowedIp::new(p.addr(), p.prefix_len()))
                .collect();
            Some(peer)
        })
        .collect();
    Snapshot {
        private_key: device.private_key().cloned(),
        listen_port: device.listen_port().unwrap_or(0),
        fwmark: device.fwmark().unwrap_or(0),
        counters,
        peers,
    }
}
