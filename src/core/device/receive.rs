//! A datagram's way in: classified by type, then handshake messages to `handshake.rs` and
//! transport data opened here, in place.

use core::net::SocketAddr;

use super::{Device, IndexKind, peer_mut};
use crate::core::entropy::Entropy;
use crate::core::noise::messages::{MessageType, TRANSPORT_HEADER_LEN, Transport, classify};
use crate::core::stats::DropReason;
use crate::core::time::Instant;
use crate::core::transmit::Received;
use crate::net::ip;

use super::handshake::forget_indices;

impl<E: Entropy> Device<E> {
    /// Handles one datagram from `from`, opening transport data in place: a delivered packet is
    /// `datagram[start..start + len]`. A dropped datagram is counted and changes nothing else.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &mut [u8],
    ) -> Received {
        let result = match classify(datagram) {
            Err(_) => Err(DropReason::Malformed),
            Ok(MessageType::Transport) => self.receive_transport(now, from, datagram),
            Ok(MessageType::Initiation) => self.receive_initiation(now, from, datagram),
            Ok(MessageType::Response) => self.receive_response(now, from, datagram),
            Ok(MessageType::CookieReply) => self.receive_cookie_reply(now, from, datagram),
        };
        result.unwrap_or_else(|reason| Received::Dropped(self.count_drop(reason)))
    }

    fn receive_transport(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &mut [u8],
    ) -> Result<Received, DropReason> {
        let mut message =
            Transport::new_checked(&mut *datagram).map_err(|_| DropReason::Malformed)?;
        let entry = self
            .indices
            .get(message.receiver_index())
            .filter(|e| e.kind == IndexKind::Session)
            .ok_or(DropReason::UnknownSession)?;
        let id = entry.peer;
        let state = peer_mut(&mut self.peers, id).ok_or(DropReason::UnknownSession)?;
        // Tag, then replay window: only an authentic, fresh message gets past this line.
        let received = state.peer.open(now, from, &mut message)?;

        forget_indices(&mut self.indices, received.dropped_indices);
        self.endpoint_changed(id, received.endpoint_changed);
        if received.session_confirmed {
            self.handshake_complete(id, from);
        }
        if received.initiate {
            self.queue_initiation(id);
        }
        self.refile(id);

        if received.plaintext_len == 0 {
            self.stats.keepalives_received += 1;
            return Ok(Received::Control);
        }
        let start = TRANSPORT_HEADER_LEN;
        let plaintext = datagram
            .get(start..start + received.plaintext_len)
            .ok_or(DropReason::BadInnerPacket)?;
        let len = ip::packet_len(plaintext).ok_or(DropReason::BadInnerPacket)?;
        // Cryptokey routing, inbound: the packet must come from an address this peer owns.
        let source = ip::source(plaintext).ok_or(DropReason::BadInnerPacket)?;
        if self.allowed_ips.lookup(source) != Some(id) {
            return Err(DropReason::SourceNotAllowed);
        }
        self.stats.rx_packets += 1;
        self.stats.rx_bytes += len as u64;
        Ok(Received::Deliver { start, len })
    }
}
