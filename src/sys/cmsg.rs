//! Control messages (`struct cmsghdr` chains) of the UDP offloads: building the `UDP_SEGMENT`
//! cmsg of a GSO send, and finding the `UDP_GRO` segment size in a received control area.
//!
//! A cmsg is `[cmsg_len: usize][cmsg_level: i32][cmsg_type: i32][data]`, and the next one starts
//! at `cmsg_len` rounded up to [`CMSG_ALIGN`]. Received chains are written by the kernel, but every
//! length is still checked against the buffer before it is used.

use super::buf_ring::round_up;
use super::udp::{SOL_UDP, UDP_GRO, UDP_SEGMENT};

/// `sizeof(struct cmsghdr)`: the header in front of each cmsg's data.
pub(crate) const CMSG_HDR_LEN: usize = 16;
/// Alignment of each cmsg in a chain (`CMSG_ALIGN`: that of `size_t`).
pub(crate) const CMSG_ALIGN: usize = 8;
const _: () = assert!(CMSG_HDR_LEN == std::mem::size_of::<libc::cmsghdr>());
const _: () = assert!(CMSG_ALIGN == std::mem::align_of::<libc::cmsghdr>());

/// Fields of `struct cmsghdr`, in native byte order.
mod field {
    use std::ops::Range;
    pub(crate) const LEN: Range<usize> = 0..8;
    pub(crate) const LEVEL: Range<usize> = 8..12;
    pub(crate) const TYPE: Range<usize> = 12..16;
}

/// `CMSG_LEN(data_len)`: the `cmsg_len` of a cmsg with `data_len` bytes of data.
pub(crate) const fn cmsg_len(data_len: usize) -> usize {
    CMSG_HDR_LEN + data_len
}

/// `CMSG_SPACE(data_len)`: the room such a cmsg takes in a chain.
pub(crate) const fn cmsg_space(data_len: usize) -> usize {
    CMSG_HDR_LEN + round_up(data_len, CMSG_ALIGN)
}

/// The `UDP_SEGMENT` data: the segment size as a `u16`.
const UDP_SEGMENT_DATA_LEN: usize = std::mem::size_of::<u16>();
/// Bytes of a `UDP_SEGMENT` cmsg (its `msg_controllen` when it is the only one).
pub(crate) const UDP_SEGMENT_CMSG_SPACE: usize = cmsg_space(UDP_SEGMENT_DATA_LEN);
// libc's macros agree.
const _: () = {
    let data_len = UDP_SEGMENT_DATA_LEN as libc::c_uint;
    // SAFETY: CMSG_SPACE and CMSG_LEN are plain arithmetic on their argument; no pointer is read.
    let (space, len) = unsafe { (libc::CMSG_SPACE(data_len), libc::CMSG_LEN(data_len)) };
    assert!(UDP_SEGMENT_CMSG_SPACE == space as usize);
    assert!(cmsg_len(UDP_SEGMENT_DATA_LEN) == len as usize);
};

/// One `UDP_SEGMENT` cmsg, aligned as a `cmsghdr`, ready to be pointed at by `msg_control`.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UdpSegmentCmsg(pub [u8; UDP_SEGMENT_CMSG_SPACE]);
const _: () = assert!(std::mem::align_of::<UdpSegmentCmsg>() >= CMSG_ALIGN);

/// The `UDP_SEGMENT` cmsg of a GSO send: the kernel cuts the payload into `segment`-byte
/// datagrams (the last may be shorter).
pub(crate) fn udp_segment(segment: u16) -> UdpSegmentCmsg {
    let mut c = [0u8; UDP_SEGMENT_CMSG_SPACE];
    c[field::LEN].copy_from_slice(&(cmsg_len(UDP_SEGMENT_DATA_LEN) as u64).to_ne_bytes());
    c[field::LEVEL].copy_from_slice(&SOL_UDP.to_ne_bytes());
    c[field::TYPE].copy_from_slice(&UDP_SEGMENT.to_ne_bytes());
    c[CMSG_HDR_LEN..CMSG_HDR_LEN + UDP_SEGMENT_DATA_LEN].copy_from_slice(&segment.to_ne_bytes());
    UdpSegmentCmsg(c)
}

/// The `UDP_GRO` segment size in a received control area (a cmsg chain as the kernel writes it
/// into an `io_uring_recvmsg_out` buffer). `None` if there is none (one datagram), or the chain is
/// malformed (every length is checked against `control`).
pub(crate) fn parse_gro(control: &[u8]) -> Option<u16> {
    let mut off = 0usize;
    while off + CMSG_HDR_LEN <= control.len() {
        let h = &control[off..off + CMSG_HDR_LEN];
        let len = u64::from_ne_bytes(h[field::LEN].try_into().ok()?) as usize;
        let level = i32::from_ne_bytes(h[field::LEVEL].try_into().ok()?);
        let ty = i32::from_ne_bytes(h[field::TYPE].try_into().ok()?);
        if len < CMSG_HDR_LEN || len > control.len() - off {
            return None;
        }
        if level == SOL_UDP && ty == UDP_GRO {
            let data = &control[off + CMSG_HDR_LEN..off + len];
            // The kernel puts an int; accept a u16 too.
            let v = match data.len() {
                4.. => i32::from_ne_bytes(data[0..4].try_into().ok()?),
                2..=3 => i32::from(u16::from_ne_bytes(data[0..2].try_into().ok()?)),
                _ => return None,
            };
            return u16::try_from(v).ok().filter(|&v| v > 0);
        }
        off += round_up(len, CMSG_ALIGN);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmsg(level: i32, ty: i32, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((16 + data.len()) as u64).to_ne_bytes());
        v.extend_from_slice(&level.to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(data);
        while v.len() % 8 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn udp_segment_cmsg_has_the_kernel_layout() {
        let built = udp_segment(1400);
        assert_eq!(
            built.0.to_vec(),
            cmsg(SOL_UDP, UDP_SEGMENT, &1400u16.to_ne_bytes())
        );
        assert_eq!(built.0.len(), 24);
    }

    #[test]
    fn gro_cmsg_parsing_is_bounds_checked() {
        assert_eq!(parse_gro(&[]), None);
        let gro = cmsg(SOL_UDP, UDP_GRO, &1452i32.to_ne_bytes());
        assert_eq!(parse_gro(&gro), Some(1452));
        // Behind another cmsg, and with a u16 payload.
        let other = cmsg(libc::SOL_SOCKET, libc::SO_TIMESTAMP, &[0u8; 16]);
        assert_eq!(
            parse_gro(&[other.clone(), gro.clone()].concat()),
            Some(1452)
        );
        let short = cmsg(SOL_UDP, UDP_GRO, &1400u16.to_ne_bytes());
        assert_eq!(parse_gro(&short), Some(1400));
        // Zero, negative, too large, too short, lengths past the end, length below a header.
        assert_eq!(
            parse_gro(&cmsg(SOL_UDP, UDP_GRO, &0i32.to_ne_bytes())),
            None
        );
        assert_eq!(
            parse_gro(&cmsg(SOL_UDP, UDP_GRO, &(-5i32).to_ne_bytes())),
            None
        );
        assert_eq!(
            parse_gro(&cmsg(SOL_UDP, UDP_GRO, &70000i32.to_ne_bytes())),
            None
        );
        assert_eq!(parse_gro(&cmsg(SOL_UDP, UDP_GRO, &[7])), None);
        let mut bad = gro.clone();
        bad[0..8].copy_from_slice(&1000u64.to_ne_bytes());
        assert_eq!(parse_gro(&bad), None);
        bad[0..8].copy_from_slice(&3u64.to_ne_bytes());
        assert_eq!(parse_gro(&bad), None);
        bad[0..8].copy_from_slice(&u64::MAX.to_ne_bytes());
        assert_eq!(parse_gro(&bad), None);
        assert_eq!(parse_gro(&gro[..10]), None);
        // Every truncation of a valid chain: no panic.
        let chain = [other, gro].concat();
        for n in 0..chain.len() {
            let _ = parse_gro(&chain[..n]);
        }
    }
}
