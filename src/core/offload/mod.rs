//! TCP offloads for a TUN device opened with `IFF_VNET_HDR` (after wireguard-go's
//! `tun/offload_linux.go`): every read and write carries a 10-byte `struct virtio_net_hdr`
//! ([`crate::net::vnet`]) in front of the IP packet.
//!
//! - [`classify`]: what to do with a TUN read: seal a lone packet, finish its checksum first,
//!   segment a super-packet, or drop it.
//! - TX, [`gso`]: the kernel hands us TCP super-packets (TSO, up to 64 KiB) which [`segment`] cuts
//!   into MTU-sized segments, laid out back to back for one UDP GSO send; [`finish_checksum`]
//!   completes a lone packet's checksum the kernel left to us, as to a NIC.
//! - RX, [`gro`]: decrypted consecutive TCP segments of one flow are merged back into one
//!   super-packet by a [`Coalescer`] and written to the TUN with a GSO vnet header.
//!
//! Pure functions on byte slices: no I/O, no allocation, no `unsafe`, and no panic on any input.
//! The bytes come from the TUN device and from decrypted datagrams, so the vnet header is never
//! trusted on its own: the IP and TCP headers are parsed ([`crate::net`]'s views) and must agree
//! with it.

pub(crate) mod classify;
pub(crate) mod gro;
pub(crate) mod gso;
#[cfg(test)]
mod test_packets;

pub(crate) use crate::net::vnet::{VNET_HDR_LEN, VnetHdr};
pub(crate) use classify::{TunRead, classify};
pub use gro::Coalescer;
pub(crate) use gro::write_plain_vnet_hdr;
pub use gso::{finish_checksum, segment};

/// `csum_offset` of a TCP packet: where the checksum field lies in the TCP header.
pub(crate) const TCP_CSUM_OFFSET: u16 = crate::net::tcp::field::CHECKSUM.start as u16;

/// Why [`segment`] or [`finish_checksum`] refused a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffloadError {
    /// Shorter than a header it must contain.
    Truncated,
    /// A GSO type or protocol we don't segment (UDP, IPv6 extension headers, ...).
    Unsupported,
    /// Lengths, offsets or fields that are inconsistent with each other or with the vnet header.
    BadHeader,
    /// The output buffer cannot hold the result.
    TooSmall,
}
