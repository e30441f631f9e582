//! The `virtio_net_hdr` that a TUN device opened with `IFF_VNET_HDR` puts in front of every packet
//! it reads and expects in front of every packet written (kernel ABI, `linux/virtio_net.h`).
//!
//! A leaf module: both the sys layer (which opens the device) and the offload code (which reads and
//! writes the header) use it, so neither has to import the other.

/// `struct virtio_net_hdr` (without `num_buffers`), the TUN device's default vnet header size.
pub const VNET_HDR_LEN: usize = 10;
/// The L4 checksum is partial (pseudo-header sum only): complete it over `csum_start..`.
pub const VIRTIO_NET_HDR_F_NEEDS_CSUM: u8 = 1;
/// The checksum has been verified.
#[cfg(test)]
pub(crate) const VIRTIO_NET_HDR_F_DATA_VALID: u8 = 2;
pub(crate) const GSO_NONE: u8 = 0;
pub const GSO_TCPV4: u8 = 1;
#[cfg(test)]
pub(crate) const GSO_UDP: u8 = 3;
pub const GSO_TCPV6: u8 = 4;
#[cfg(test)]
pub(crate) const GSO_UDP_L4: u8 = 5;
/// Flag bit of `gso_type`: the super-packet's TCP header has CWR set (ECN).
pub(crate) const GSO_ECN: u8 = 0x80;

/// `struct virtio_net_hdr`; fields are little-endian on the wire (the TUN's default on x86).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct VnetHdr {
    pub flags: u8,
    pub gso_type: u8,
    pub hdr_len: u16,
    pub gso_size: u16,
    pub csum_start: u16,
    pub csum_offset: u16,
}

impl VnetHdr {
    /// Reads the first [`VNET_HDR_LEN`] bytes of `b`; `None` if `b` is shorter.
    pub fn decode(b: &[u8]) -> Option<Self> {
        let b: &[u8; VNET_HDR_LEN] = b.get(..VNET_HDR_LEN).and_then(|s| s.try_into().ok())?;
        let le = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        Some(VnetHdr {
            flags: b[0],
            gso_type: b[1],
            hdr_len: le(2),
            gso_size: le(4),
            csum_start: le(6),
            csum_offset: le(8),
        })
    }

    pub(crate) fn encode(&self) -> [u8; VNET_HDR_LEN] {
        let mut b = [0u8; VNET_HDR_LEN];
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_le_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_le_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_le_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_le_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vnet_hdr_roundtrip() {
        let h = VnetHdr {
            flags: 1,
            gso_type: GSO_TCPV6 | GSO_ECN,
            hdr_len: 0x1234,
            gso_size: 1380,
            csum_start: 40,
            csum_offset: 16,
        };
        let b = h.encode();
        assert_eq!(b[4..6], 1380u16.to_le_bytes());
        assert_eq!(VnetHdr::decode(&b), Some(h));
        assert_eq!(VnetHdr::decode(&b[..9]), None);
    }
}
