//! IP packets out ([`Device::seal`]: cryptokey routing, then the peer's current session) and the
//! control datagrams ([`Device::poll_transmit`]: held responses and cookie replies, then the
//! initiations and keepalives peers owe).

use super::{Device, MAX_CONTROL_LEN, peer_mut};
use crate::core::entropy::Entropy;
use crate::core::keypair::Padding;
use crate::core::noise::messages::TRANSPORT_HEADER_LEN;
use crate::core::peer_id::PeerId;
use crate::core::stats::DropReason;
use crate::core::time::{Instant, WallTime};
use crate::core::transmit::Transmit;
use crate::net::ip;

/// Transport data is not padded: the driver's segmentation offload sends equal-length datagrams
/// (`len == header + packet + tag`). Padding is optional in WireGuard (the receiver trims by the
/// inner header), so peers that pad and peers that do not interoperate.
const PADDING: Padding = Padding::None;

impl<E: Entropy> Device<E> {
    /// Seals the IP packet at `buf[16..16 + payload_len]` in place for the peer that owns its
    /// destination (longest AllowedIPs match): the 16-byte header goes in front, the 16-byte tag
    /// behind, so `buf` needs 16 bytes of room after the packet. On success the datagram is
    /// `buf[..transmit.len]`, for `transmit.dst`.
    ///
    /// Without a usable session the packet is dropped (`NoSession`; `NoEndpoint` if the peer has
    /// no address to start one at) and a handshake starts, sent by the next `poll_transmit`.
    /// WireGuard would hold the packet until the session is up; see the module documentation.
    pub fn seal(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<Transmit, DropReason> {
        self.seal_inner(now, buf, payload_len)
            .map_err(|reason| self.count_drop(reason))
    }

    fn seal_inner(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        payload_len: usize,
    ) -> Result<Transmit, DropReason> {
        let packet = TRANSPORT_HEADER_LEN
            .checked_add(payload_len)
            .and_then(|end| buf.get(TRANSPORT_HEADER_LEN..end))
            .ok_or(DropReason::TooBig)?;
        let destination = ip::destination(packet).ok_or(DropReason::BadInnerPacket)?;
        let id = self
            .allowed_ips
            .lookup(destination)
            .ok_or(DropReason::NoRoute)?;
        let state = peer_mut(&mut self.peers, id).ok_or(DropReason::NoRoute)?;
        let has_endpoint = state.peer.endpoint().is_some();
        let result = state
            .peer
            .seal(now, buf, payload_len, PADDING, &mut self.entropy);
        let (initiate, result) = match result {
            Ok(sent) => {
                self.stats.tx_packets += 1;
                self.stats.tx_bytes += payload_len as u64;
                (
                    sent.initiate,
                    Ok(Transmit {
                        dst: sent.dst,
                        len: sent.len,
                    }),
                )
            }
            Err(blocked) if !has_endpoint && blocked.reason == DropReason::NoSession => {
                (false, Err(DropReason::NoEndpoint))
            }
            Err(blocked) => (blocked.initiate, Err(blocked.reason)),
        };
        if initiate {
            self.queue_initiation(id);
        }
        self.refile(id);
        result
    }

    /// The next control datagram (handshake message or keepalive), written into `buf`, which must
    /// hold at least [`MAX_CONTROL_LEN`] bytes; `wall` is the wall clock now, for the timestamp of
    /// an initiation. Call it until it returns `None` after every batch of `handle_*` and `seal`.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        wall: WallTime,
        buf: &mut [u8],
    ) -> Option<Transmit> {
        if buf.len() < MAX_CONTROL_LEN {
            return None;
        }
        if let Some(transmit) = self.outbox.pop(buf) {
            return Some(transmit);
        }
        while let Some(id) = self.outbox.pop_peer() {
            let Some(state) = peer_mut(&mut self.peers, id) else {
                continue;
            };
            let work = core::mem::take(&mut state.work);
            if work.initiation {
                if let Some(transmit) = self.send_initiation(id, now, wall, buf) {
                    if work.keepalive {
                        self.queue_keepalive(id);
                    }
                    return Some(transmit);
                }
            }
            if work.keepalive {
                if let Some(transmit) = self.send_keepalive(id, now, wall, buf) {
                    return Some(transmit);
                }
            }
        }
        None
    }

    /// A keepalive (an empty transport message) to peer `id`; with no usable session, an
    /// initiation instead if one may be sent.
    fn send_keepalive(
        &mut self,
        id: PeerId,
        now: Instant,
        wall: WallTime,
        buf: &mut [u8],
    ) -> Option<Transmit> {
        let state = peer_mut(&mut self.peers, id)?;
        let result = state.peer.seal(now, buf, 0, PADDING, &mut self.entropy);
        match result {
            Ok(sent) => {
                self.stats.keepalives_sent += 1;
                if sent.initiate {
                    self.queue_initiation(id);
                }
                self.refile(id);
                Some(Transmit {
                    dst: sent.dst,
                    len: sent.len,
                })
            }
            Err(blocked) if blocked.initiate => self.send_initiation(id, now, wall, buf),
            Err(_) => {
                self.refile(id);
                None
            }
        }
    }

    /// Peer `id` owes an initiation (`poll_transmit` builds it).
    pub(super) fn queue_initiation(&mut self, id: PeerId) {
        self.queue_work(id, true);
    }

    /// Peer `id` owes a keepalive (`poll_transmit` builds it).
    pub(super) fn queue_keepalive(&mut self, id: PeerId) {
        self.queue_work(id, false);
    }

    fn queue_work(&mut self, id: PeerId, initiation: bool) {
        let Some(state) = peer_mut(&mut self.peers, id) else {
            return;
        };
        if initiation {
            state.work.initiation = true;
        } else {
            state.work.keepalive = true;
        }
        if !state.work.queued {
            state.work.queued = true;
            self.outbox.push_peer(id);
        }
    }
}
