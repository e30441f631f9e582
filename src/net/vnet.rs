//! The `virtio_net_hdr` that a TUN device opened with `IFF_VNET_HDR` puts in front of every packet
//! it reads and expects in front of every packet written (kernel ABI, `linux/virtio_net.h`).
//!
//! A leaf module: both the sys layer (which opens the device) and the offload code (which reads and
//! writes the header) use it, so neither has to import the other.

/// `struct virtio_net_hdr` (without `num_buffers`), the TUN device's default vnet header size.
pub const VNET_HDR_LEN: usize = field::CSUM_OFFSET.end;

/// Byte offsets of `struct virtio_net_hdr`.
mod field {
    use core::ops::Range;
    pub(super) const FLAGS: usize = 0;
    pub(super) const GSO_TYPE: usize = 1;
    pub(super) const HDR_LEN: Range<usize> = 2..4;
    pub(super) const GSO_SIZE: Range<usize> = 4..6;
    pub(super) const CSUM_START: Range<usize> = 6..8;
    pub(super) const CSUM_OFFSET: Range<usize> = 8..10;
}
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
        let le = |f: core::ops::Range<usize>| u16::from_le_bytes([b[f.start], b[f.start + 1]]);
        Some(VnetHdr {
            flags: b[field::FLAGS],
            gso_type: b[field::GSO_TYPE],
            hdr_len: le(field::HDR_LEN),
            gso_size: le(field::GSO_SIZE),
            csum_start: le(field::CSUM_START),
            csum_offset: le(field::CSUM_OFFSET),
        })
    }

    pub(crate) fn encode(&self) -> [u8; VNET_HDR_LEN] {
        let mut b = [0u8; VNET_HDR_LEN];
        b[field::FLAGS] = self.flags;
        b[field::GSO_TYPE] = self.gso_type;
        b[field::HDR_LEN].copy_from_slice(&self.hdr_len.to_le_bytes());
        b[field::GSO_SIZE].copy_from_slice(&self.gso_size.to_le_bytes());
        b[field::CSUM_START].copy_from_slice(&self.csum_start.to_le_bytes());
        b[field::CSUM_OFFSET].copy_from_slice(&self.csum_offset.to_le_bytes());
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
