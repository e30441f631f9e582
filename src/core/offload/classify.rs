//! What the driver does with a TUN read in offload mode, `[vnet header][IP packet]`: the vnet
//! header decides, and this is the one place that reads it on the TX side.

use crate::net::vnet::{GSO_ECN, GSO_NONE, VIRTIO_NET_HDR_F_NEEDS_CSUM, VNET_HDR_LEN, VnetHdr};

/// The verdict on one TUN read (see [`classify`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TunRead {
    /// One IP packet, complete: seal it where it lies.
    Packet,
    /// One IP packet whose L4 checksum the kernel left to us (`NEEDS_CSUM`, as to a NIC):
    /// complete it with [`finish_checksum`](super::finish_checksum), then seal it.
    NeedsChecksum(VnetHdr),
    /// A GSO super-packet: cut it with [`segment`](super::segment) into an output buffer (which
    /// refuses the GSO types and headers it cannot segment).
    SuperPacket(VnetHdr),
    /// No IP packet after the vnet header: drop it.
    Drop,
}

/// Classifies a TUN read: `read` is the vnet header followed by the IP packet, as read.
pub(crate) fn classify(read: &[u8]) -> TunRead {
    if read.len() <= VNET_HDR_LEN {
        return TunRead::Drop;
    }
    let Some(hdr) = VnetHdr::decode(read) else {
        return TunRead::Drop;
    };
    if hdr.gso_type & !GSO_ECN != GSO_NONE {
        TunRead::SuperPacket(hdr)
    } else if hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM != 0 {
        TunRead::NeedsChecksum(hdr)
    } else {
        TunRead::Packet
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::vnet::{GSO_TCPV4, GSO_TCPV6, GSO_UDP_L4, VIRTIO_NET_HDR_F_DATA_VALID};

    fn read(hdr: VnetHdr, ip_len: usize) -> Vec<u8> {
        let mut r = hdr.encode().to_vec();
        r.resize(VNET_HDR_LEN + ip_len, 0x45);
        r
    }

    #[test]
    fn verdicts() {
        let plain = VnetHdr::default();
        assert_eq!(classify(&read(plain, 20)), TunRead::Packet);
        let valid = VnetHdr {
            flags: VIRTIO_NET_HDR_F_DATA_VALID,
            ..plain
        };
        assert_eq!(classify(&read(valid, 20)), TunRead::Packet);
        let csum = VnetHdr {
            flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
            csum_start: 20,
            csum_offset: 16,
            ..plain
        };
        assert_eq!(classify(&read(csum, 40)), TunRead::NeedsChecksum(csum));
        // ECN alone is no GSO.
        let ecn = VnetHdr {
            gso_type: GSO_ECN,
            ..csum
        };
        assert_eq!(classify(&read(ecn, 40)), TunRead::NeedsChecksum(ecn));
        for gso_type in [GSO_TCPV4, GSO_TCPV6 | GSO_ECN, GSO_UDP_L4] {
            let tso = VnetHdr {
                gso_type,
                gso_size: 1000,
                ..csum
            };
            assert_eq!(classify(&read(tso, 3000)), TunRead::SuperPacket(tso));
        }
    }

    #[test]
    fn nothing_after_the_vnet_header_is_dropped() {
        for n in 0..=VNET_HDR_LEN {
            assert_eq!(classify(&read(VnetHdr::default(), 0)[..n]), TunRead::Drop);
        }
    }
}
