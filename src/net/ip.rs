//! What is common to IPv4 and IPv6: the version nibble, the length of a packet from its own
//! header, the protocol numbers, and [`Packet`], either header view.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::bytes::{Field, array_at, get_u16};
use super::{Error, ipv4, ipv6};

/// IPv4 protocol / IPv6 next header numbers (IANA).
pub(crate) mod protocol {
    pub(crate) const TCP: u8 = 6;
}

/// The version nibble of an IPv4 header.
pub(crate) const VERSION_4: u8 = 4;
/// The version nibble of an IPv6 header.
pub(crate) const VERSION_6: u8 = 6;
/// The version is the first byte's high nibble.
pub(crate) const VERSION_SHIFT: u32 = 4;

/// The version nibble of the packet at the start of `p`.
#[inline(always)]
pub(crate) fn version(p: &[u8]) -> Option<u8> {
    p.first().map(|b| b >> VERSION_SHIFT)
}

/// Length of the IPv4 or IPv6 packet at the start of `p`, from its own header (IPv4 total length,
/// at least the fixed header; IPv6 40 + payload length); `None` if `p` is not one or is shorter
/// than its header says. Only the length field is read: the rest of the header is the kernel's to
/// judge once the packet is written to the TUN device.
#[inline(always)]
pub(crate) fn packet_len(p: &[u8]) -> Option<usize> {
    match version(p)? {
        VERSION_4 => {
            let total = usize::from(get_u16(p, ipv4::field::LENGTH)?);
            (ipv4::HEADER_LEN..=p.len())
                .contains(&total)
                .then_some(total)
        }
        VERSION_6 => {
            let total = ipv6::HEADER_LEN + usize::from(get_u16(p, ipv6::field::PAYLOAD_LEN)?);
            (total <= p.len()).then_some(total)
        }
        _ => None,
    }
}

/// Source address of the IPv4 or IPv6 packet at the start of `p`; `None` if `p` is not one or is
/// too short to hold the field. Like [`packet_len`], nothing else of the header is read.
#[inline(always)]
pub(crate) fn source(p: &[u8]) -> Option<IpAddr> {
    address(p, ipv4::field::SRC_ADDR, ipv6::field::SRC_ADDR)
}

/// Destination address, as [`source`].
#[inline(always)]
pub(crate) fn destination(p: &[u8]) -> Option<IpAddr> {
    address(p, ipv4::field::DST_ADDR, ipv6::field::DST_ADDR)
}

#[inline(always)]
fn address(p: &[u8], v4: Field, v6: Field) -> Option<IpAddr> {
    match version(p)? {
        VERSION_4 => array_at::<4>(p, v4).map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        VERSION_6 => array_at::<16>(p, v6).map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        _ => None,
    }
}

/// The IP packet at the start of `p`, cut to [`packet_len`] and its header checked (for IPv4 the
/// header length lies within the total length).
#[inline(always)]
pub(crate) fn parse(p: &[u8]) -> Option<Packet<&[u8]>> {
    let len = packet_len(p)?;
    Packet::new_checked(p.get(..len)?).ok()
}

/// An IPv4 or IPv6 header view, by the version nibble.
#[derive(Debug, Clone)]
pub(crate) enum Packet<T: AsRef<[u8]>> {
    V4(ipv4::Packet<T>),
    V6(ipv6::Packet<T>),
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// The view of the version in the first nibble, checked; `Malformed` for another version.
    #[inline(always)]
    pub(crate) fn new_checked(buffer: T) -> Result<Self, Error> {
        match version(buffer.as_ref()) {
            Some(VERSION_4) => ipv4::Packet::new_checked(buffer).map(Packet::V4),
            Some(VERSION_6) => ipv6::Packet::new_checked(buffer).map(Packet::V6),
            Some(_) => Err(Error::Malformed),
            None => Err(Error::Truncated),
        }
    }

    #[inline(always)]
    pub(crate) fn into_inner(self) -> T {
        match self {
            Packet::V4(p) => p.into_inner(),
            Packet::V6(p) => p.into_inner(),
        }
    }

    #[inline(always)]
    pub(crate) fn is_v6(&self) -> bool {
        matches!(self, Packet::V6(_))
    }

    /// IPv4 header length with options; IPv6 40 (extension headers are not walked).
    #[inline(always)]
    pub(crate) fn header_len(&self) -> usize {
        match self {
            Packet::V4(p) => p.header_len(),
            Packet::V6(_) => ipv6::HEADER_LEN,
        }
    }

    /// IPv4 total length, IPv6 40 + payload length.
    #[inline(always)]
    pub(crate) fn total_len(&self) -> usize {
        match self {
            Packet::V4(p) => usize::from(p.total_len()),
            Packet::V6(p) => p.total_len(),
        }
    }

    /// IPv4 protocol, IPv6 next header.
    #[inline(always)]
    pub(crate) fn protocol(&self) -> u8 {
        match self {
            Packet::V4(p) => p.protocol(),
            Packet::V6(p) => p.next_header(),
        }
    }

    /// An IPv4 fragment (IPv6 fragments have an extension header, see [`protocol`](Self::protocol)).
    #[inline(always)]
    pub(crate) fn is_fragment(&self) -> bool {
        match self {
            Packet::V4(p) => p.is_fragment(),
            Packet::V6(_) => false,
        }
    }

    /// Folded pseudo-header sum for an L4 segment of `l4_len` bytes; `None` if the length does not
    /// fit the pseudo-header's length field (16 bits for IPv4, 32 for IPv6).
    #[inline(always)]
    pub(crate) fn pseudo_header_sum(&self, protocol: u8, l4_len: usize) -> Option<u16> {
        match self {
            Packet::V4(p) => Some(p.pseudo_header_sum(protocol, u16::try_from(l4_len).ok()?)),
            Packet::V6(p) => Some(p.pseudo_header_sum(protocol, u32::try_from(l4_len).ok()?)),
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the length of the whole packet (IPv4 total length, IPv6 payload length); `Malformed`
    /// if the header cannot express it.
    #[inline(always)]
    pub(crate) fn set_total_len(&mut self, len: usize) -> Result<(), Error> {
        match self {
            Packet::V4(p) => p.set_total_len(u16::try_from(len).map_err(|_| Error::Malformed)?),
            Packet::V6(p) => {
                let payload = len.checked_sub(ipv6::HEADER_LEN).ok_or(Error::Malformed)?;
                p.set_payload_len(u16::try_from(payload).map_err(|_| Error::Malformed)?);
            }
        }
        Ok(())
    }

    /// Computes and stores the IPv4 header checksum (IPv6 has none).
    #[inline(always)]
    pub(crate) fn fill_checksum(&mut self) {
        if let Packet::V4(p) = self {
            p.fill_checksum();
        }
    }
}

#[cfg(test)]
mod tests;
