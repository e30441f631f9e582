//! Conversions between `SocketAddr` and the kernel's `sockaddr_in` / `sockaddr_in6`.
//!
//! Building one is plain byte work on a zeroed `sockaddr_storage`; parsing one reads the bytes the
//! kernel wrote (e.g. the name in a recvmsg result) without trusting their length.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// A socket address in the kernel's layout, ready to pass as `(ptr, len)`.
#[derive(Clone, Copy)]
pub(crate) struct RawSockAddr {
    pub(crate) storage: libc::sockaddr_storage,
    pub(crate) len: libc::socklen_t,
}

impl RawSockAddr {
    pub(crate) fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_storage).cast()
    }
}

/// Byte ranges of `struct sockaddr_in` and `struct sockaddr_in6` (family and port are shared).
mod field {
    use std::ops::Range;
    pub(super) const FAMILY: Range<usize> = 0..2;
    pub(super) const PORT: Range<usize> = 2..4;
    pub(super) const V4_ADDR: Range<usize> = 4..8;
    pub(super) const V6_FLOWINFO: Range<usize> = 4..8;
    pub(super) const V6_ADDR: Range<usize> = 8..24;
    pub(super) const V6_SCOPE_ID: Range<usize> = 24..28;
}

const V4_LEN: usize = std::mem::size_of::<libc::sockaddr_in>();
const V6_LEN: usize = std::mem::size_of::<libc::sockaddr_in6>();
const _: () = assert!(field::V4_ADDR.end <= V4_LEN && field::V6_SCOPE_ID.end == V6_LEN);

/// The length of `addr` in the kernel's layout (`sockaddr_in` or `sockaddr_in6`).
pub(crate) fn raw_len(addr: &SocketAddr) -> libc::socklen_t {
    let len = match addr {
        SocketAddr::V4(_) => V4_LEN,
        SocketAddr::V6(_) => V6_LEN,
    };
    len as libc::socklen_t
}

pub(crate) fn to_raw(addr: &SocketAddr) -> RawSockAddr {
    // Field-by-field through the storage's bytes keeps this free of `unsafe` casts.
    let mut bytes = [0u8; std::mem::size_of::<libc::sockaddr_storage>()];
    match addr {
        SocketAddr::V4(a) => {
            bytes[field::FAMILY].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
            bytes[field::PORT].copy_from_slice(&a.port().to_be_bytes());
            bytes[field::V4_ADDR].copy_from_slice(&a.ip().octets());
        }
        SocketAddr::V6(a) => {
            bytes[field::FAMILY].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
            bytes[field::PORT].copy_from_slice(&a.port().to_be_bytes());
            bytes[field::V6_FLOWINFO].copy_from_slice(&a.flowinfo().to_be_bytes());
            bytes[field::V6_ADDR].copy_from_slice(&a.ip().octets());
            bytes[field::V6_SCOPE_ID].copy_from_slice(&a.scope_id().to_ne_bytes());
        }
    }
    RawSockAddr {
        storage: storage_from_bytes(&bytes),
        len: raw_len(addr),
    }
}

fn storage_from_bytes(
    bytes: &[u8; std::mem::size_of::<libc::sockaddr_storage>()],
) -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is plain old data of exactly this size; every bit pattern is valid,
    // and read_unaligned has no alignment requirement on the source.
    unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<libc::sockaddr_storage>()) }
}

/// Parses a sockaddr the kernel wrote into `bytes`; `None` for a family other than IPv4/IPv6 or too
/// few bytes. IPv4-mapped IPv6 addresses (from a dual-stack socket) come back as IPv4.
pub(crate) fn from_bytes(bytes: &[u8]) -> Option<SocketAddr> {
    let family = u16::from_ne_bytes(bytes.get(field::FAMILY)?.try_into().ok()?);
    let port = u16::from_be_bytes(bytes.get(field::PORT)?.try_into().ok()?);
    match i32::from(family) {
        libc::AF_INET => {
            let ip: [u8; 4] = bytes.get(field::V4_ADDR)?.try_into().ok()?;
            Some(SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port)))
        }
        libc::AF_INET6 => {
            if bytes.len() < V6_LEN {
                return None;
            }
            let flowinfo = u32::from_be_bytes(bytes[field::V6_FLOWINFO].try_into().ok()?);
            let ip = Ipv6Addr::from(<[u8; 16]>::try_from(&bytes[field::V6_ADDR]).ok()?);
            let scope = u32::from_ne_bytes(bytes[field::V6_SCOPE_ID].try_into().ok()?);
            Some(match ip.to_ipv4_mapped() {
                Some(v4) => SocketAddr::V4(SocketAddrV4::new(v4, port)),
                None => SocketAddr::V6(SocketAddrV6::new(ip, port, flowinfo, scope)),
            })
        }
        _ => None,
    }
}

/// The form of `addr` a socket of family `ipv6_socket` can send to: a dual-stack IPv6 socket needs
/// IPv4 peers as IPv4-mapped IPv6 addresses.
pub(crate) fn for_socket(addr: &SocketAddr, ipv6_socket: bool) -> SocketAddr {
    match addr {
        SocketAddr::V4(a) if ipv6_socket => {
            SocketAddr::V6(SocketAddrV6::new(a.ip().to_ipv6_mapped(), a.port(), 0, 0))
        }
        _ => *addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_bytes(r: &RawSockAddr) -> Vec<u8> {
        let all: [u8; std::mem::size_of::<libc::sockaddr_storage>()] =
            // SAFETY: sockaddr_storage is plain old data; reading it as bytes is valid.
            unsafe { std::mem::transmute(r.storage) };
        all[..r.len as usize].to_vec()
    }

    #[test]
    fn round_trips_v4_and_v6() {
        for s in ["192.0.2.7:1234", "[2001:db8::1]:443", "[fe80::1%3]:9"] {
            let a: SocketAddr = s.parse().unwrap();
            let r = to_raw(&a);
            assert_eq!(from_bytes(&raw_bytes(&r)), Some(a), "{s}");
        }
    }

    #[test]
    fn mapped_v4_comes_back_as_v4() {
        let a: SocketAddr = "198.51.100.2:5".parse().unwrap();
        let mapped = for_socket(&a, true);
        assert!(mapped.is_ipv6());
        assert_eq!(from_bytes(&raw_bytes(&to_raw(&mapped))), Some(a));
    }

    #[test]
    fn short_or_foreign_bytes_are_rejected() {
        assert_eq!(from_bytes(&[]), None);
        assert_eq!(from_bytes(&[2, 0, 1]), None);
        let mut unix = [0u8; 16];
        unix[0..2].copy_from_slice(&(libc::AF_UNIX as u16).to_ne_bytes());
        assert_eq!(from_bytes(&unix), None);
        let v6 = raw_bytes(&to_raw(&"[::1]:1".parse().unwrap()));
        assert_eq!(from_bytes(&v6[..20]), None);
    }
}
