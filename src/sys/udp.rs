//! The UDP socket: IPv4, or IPv6 (dual-stack when bound to the wildcard), non-blocking, with large
//! buffers so that bursts wait in the kernel instead of being dropped.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::sockaddr;

/// Socket buffer size asked for each way: a burst of ~2800 full-size datagrams.
pub(crate) const DEFAULT_BUFFER_BYTES: usize = 4 << 20;

/// The UDP socket-option and cmsg level, and the offload options (linux/udp.h; libc has only the
/// level for glibc targets).
pub(crate) const SOL_UDP: i32 = libc::SOL_UDP;
pub(crate) const UDP_SEGMENT: i32 = 103;
pub(crate) const UDP_GRO: i32 = 104;
/// Limits of one UDP GSO send: `UDP_MAX_SEGMENTS` (64 on older kernels, 128 on newer: the lower
/// one), and the largest UDP payload over IPv4 (65535 - 20 - 8).
pub(crate) const GSO_MAX_SEGMENTS: usize = 64;
pub(crate) const GSO_MAX_BYTES: usize = 65507;

fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn setsockopt_int(fd: &OwnedFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: `value` is a live c_int and its exact size is passed; the kernel copies it.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    })
    .map(drop)
}

fn getsockopt_int(fd: &OwnedFd, level: i32, name: i32) -> io::Result<i32> {
    let mut value: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: `value` and `len` are live and writable; `len` holds the buffer's size.
    cvt(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&mut value as *mut i32).cast(),
            &mut len,
        )
    })?;
    Ok(value)
}

/// Creates a non-blocking, close-on-exec UDP socket bound to `addr`, with `buffer_bytes` of receive
/// and send buffer where the kernel allows it. An IPv6 wildcard (`[::]`) socket is dual-stack.
pub(crate) fn bind(addr: SocketAddr, buffer_bytes: usize) -> io::Result<OwnedFd> {
    let family = if addr.is_ipv6() {
        libc::AF_INET6
    } else {
        libc::AF_INET
    };
    // SAFETY: plain socket(2) call; the fd is checked and then owned.
    let raw = cvt(unsafe {
        libc::socket(
            family,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            libc::IPPROTO_UDP,
        )
    })
    .map_err(|e| {
        if e.raw_os_error() == Some(libc::EAFNOSUPPORT) {
            // Unsupported, so that callers can fall back to IPv4.
            io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "cannot create a UDP socket for {addr}: IPv6 is disabled on this host ({e})"
                ),
            )
        } else {
            io::Error::new(e.kind(), format!("cannot create a UDP socket: {e}"))
        }
    })?;
    // SAFETY: `raw` was just returned by socket(2) and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };

    if matches!(addr.ip(), IpAddr::V6(ip) if ip.is_unspecified()) {
        // Dual-stack regardless of the net.ipv6.bindv6only sysctl: IPv4 clients arrive as
        // IPv4-mapped addresses.
        setsockopt_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 0)?;
    }
    set_buffers(&fd, buffer_bytes);

    let raw_addr = sockaddr::to_raw(&addr);
    // SAFETY: `raw_addr` holds a valid sockaddr of `raw_addr.len` bytes for the call.
    cvt(unsafe { libc::bind(fd.as_raw_fd(), raw_addr.as_ptr(), raw_addr.len) }).map_err(|e| {
        let what = match e.raw_os_error() {
            Some(libc::EADDRINUSE) => format!(
                "UDP port {} is already in use on {} (another ringtun running? choose another port)",
                addr.port(),
                addr.ip()
            ),
            Some(libc::EADDRNOTAVAIL) => {
                format!("cannot bind {addr}: {} is not an address of this host", addr.ip())
            }
            Some(libc::EACCES) | Some(libc::EPERM) => format!(
                "cannot bind {addr}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
            ),
            _ => format!("cannot bind {addr}"),
        };
        io::Error::new(e.kind(), format!("{what} ({e})"))
    })?;
    Ok(fd)
}

/// Sizes both socket buffers: the FORCE variants first (root / CAP_NET_ADMIN may exceed
/// `net.core.{r,w}mem_max`), else the ordinary ones, which the kernel caps. Best effort: a small
/// buffer costs throughput in bursts, not correctness, so failures are ignored.
fn set_buffers(fd: &OwnedFd, bytes: usize) {
    let v = i32::try_from(bytes).unwrap_or(i32::MAX);
    for (force, plain) in [
        (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
        (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
    ] {
        if setsockopt_int(fd, libc::SOL_SOCKET, force, v).is_err() {
            let _ = setsockopt_int(fd, libc::SOL_SOCKET, plain, v);
        }
    }
}

/// Turns on UDP GRO (`UDP_GRO`): the kernel may hand over a train of datagrams from one sender
/// in one receive, with their segment size in a `UDP_GRO` control message.
pub(crate) fn enable_gro(fd: &OwnedFd) -> io::Result<()> {
    setsockopt_int(fd, SOL_UDP, UDP_GRO, 1)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot enable UDP GRO ({e})")))
}

/// Marks every packet the socket sends with `mark` (`SO_MARK`, WireGuard's `FwMark`), so that
/// policy routing can keep the tunnel's own datagrams out of the tunnel. Needs CAP_NET_ADMIN.
pub(crate) fn set_fwmark(fd: &OwnedFd, mark: u32) -> io::Result<()> {
    // The kernel reads the option as a u32; an i32 of the same bits is what setsockopt passes.
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_MARK, mark as i32).map_err(|e| {
        let why = match e.raw_os_error() {
            Some(libc::EPERM) => ": run as root or grant CAP_NET_ADMIN",
            _ => "",
        };
        io::Error::new(e.kind(), format!("cannot set fwmark {mark:#x}{why} ({e})"))
    })
}

/// The socket's `SO_MARK` (0: none).
pub(crate) fn fwmark(fd: &OwnedFd) -> io::Result<u32> {
    getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_MARK).map(|m| m as u32)
}

/// The receive and send buffer sizes in effect (as the kernel reports them: twice what was set,
/// for its bookkeeping overhead).
#[cfg(test)]
pub(crate) fn buffer_sizes(fd: &OwnedFd) -> io::Result<(usize, usize)> {
    let r = getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF)?;
    let s = getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_SNDBUF)?;
    Ok((r.max(0) as usize, s.max(0) as usize))
}

/// Connects the socket to `peer`: only its datagrams are received. For an IPv6 socket an IPv4 peer
/// is given as IPv4-mapped.
#[cfg(test)]
pub(crate) fn connect(fd: &OwnedFd, peer: SocketAddr) -> io::Result<()> {
    let raw = sockaddr::to_raw(&sockaddr::for_socket(&peer, socket_is_ipv6(fd.as_raw_fd())));
    // SAFETY: `raw` holds a valid sockaddr of `raw.len` bytes for the call.
    cvt(unsafe { libc::connect(fd.as_raw_fd(), raw.as_ptr(), raw.len) })
        .map(drop)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot connect to {peer} ({e})")))
}

fn getsockname_bytes(fd: &OwnedFd) -> io::Result<Vec<u8>> {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `storage` and `len` are live and writable, `len` is the storage's size.
    cvt(unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            (&mut storage as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    })?;
    let n = (len as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
    // SAFETY: sockaddr_storage is plain data of at least `n` bytes; viewing it as bytes is valid.
    let bytes = unsafe {
        std::slice::from_raw_parts((&storage as *const libc::sockaddr_storage).cast::<u8>(), n)
    };
    Ok(bytes.to_vec())
}

/// Whether `fd` is an AF_INET6 socket (IPv4 peers then need IPv4-mapped addresses).
pub(crate) fn socket_is_ipv6(fd: RawFd) -> bool {
    let mut domain: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `domain` and `len` are valid for writes of the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_DOMAIN,
            (&mut domain as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    rc == 0 && domain == libc::AF_INET6
}

/// The address the socket is bound to (port chosen by the kernel when bound to port 0).
pub(crate) fn local_addr(fd: &OwnedFd) -> io::Result<SocketAddr> {
    let b = getsockname_bytes(fd)?;
    sockaddr::from_bytes(&b)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an IP socket"))
}

/// Sends one datagram to `dst` now, with one `sendto` that never blocks (MSG_DONTWAIT): the data
/// plane's direct path for a packet that came alone (when: `driver::event_loop`'s module docs).
/// `dst` must be of the socket's family ([`sockaddr::for_socket`]).
pub(crate) fn send_now(fd: RawFd, datagram: &[u8], dst: &SocketAddr) -> io::Result<()> {
    let raw = sockaddr::to_raw(dst);
    // SAFETY: `datagram` is a live slice of `datagram.len()` bytes and `raw` a valid sockaddr of
    // `raw.len` bytes, both for the whole call; the kernel only reads them and keeps no pointer.
    let n = unsafe {
        libc::sendto(
            fd,
            datagram.as_ptr().cast(),
            datagram.len(),
            libc::MSG_DONTWAIT,
            raw.as_ptr(),
            raw.len,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sends `buf` to `dst` as one UDP GSO train of `segment`-byte datagrams (blocking), as a test
/// peer that batches like the loop does.
#[cfg(test)]
pub(crate) fn send_segments(
    fd: &impl AsRawFd,
    buf: &[u8],
    segment: u16,
    dst: SocketAddr,
) -> io::Result<usize> {
    let raw = sockaddr::to_raw(&dst);
    let mut iov = libc::iovec {
        iov_base: buf.as_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    let mut c = super::cmsg::udp_segment(segment);
    // SAFETY: msghdr is plain old data; all-zero is a valid value.
    let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
    m.msg_name = raw.as_ptr() as *mut libc::c_void;
    m.msg_namelen = raw.len;
    m.msg_iov = &mut iov;
    m.msg_iovlen = 1;
    m.msg_control = c.0.as_mut_ptr().cast();
    m.msg_controllen = c.0.len() as _;
    // SAFETY: every pointer in `m` (address, iovec over `buf`, cmsg) is live for the call; the
    // kernel only reads them.
    let n = unsafe { libc::sendmsg(fd.as_raw_fd(), &m, 0) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::private_netns::run_isolated;
    use std::net::UdpSocket;

    /// Loopback sockets of the host's namespace (no root needed).
    #[test]
    fn send_now_sends_one_datagram_and_reports_errors() {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        b.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        send_now(a.as_raw_fd(), b"now", &b.local_addr().unwrap()).unwrap();
        let mut buf = [0u8; 8];
        let (n, from) = b.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"now"[..], a.local_addr().unwrap()));
        // An IPv6 destination on an IPv4 socket: the kernel's error comes back.
        let e = send_now(a.as_raw_fd(), b"x", &"[::1]:9".parse().unwrap()).unwrap_err();
        assert!(e.raw_os_error().is_some(), "{e}");
    }

    #[test]
    #[ignore = "needs root"]
    fn dual_stack_wildcard_receives_v4_and_v6() {
        run_isolated(|| {
            let fd = bind("[::]:0".parse().unwrap(), DEFAULT_BUFFER_BYTES).unwrap();
            assert!(socket_is_ipv6(fd.as_raw_fd()));
            let local = local_addr(&fd).unwrap();
            assert!(local.ip().is_unspecified() && local.port() != 0);
            let (r, s) = buffer_sizes(&fd).unwrap();
            // As root the FORCE options apply; the kernel reports double.
            assert!(
                r >= DEFAULT_BUFFER_BYTES && s >= DEFAULT_BUFFER_BYTES,
                "{r} {s}"
            );
            assert_eq!(
                getsockopt_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY).unwrap(),
                0
            );
            let sock = UdpSocket::from(fd);
            let port = local.port();
            let tx4 = UdpSocket::bind("127.0.0.1:0").unwrap();
            tx4.send_to(b"four", ("127.0.0.1", port)).unwrap();
            let tx6 = UdpSocket::bind("[::1]:0").unwrap();
            tx6.send_to(b"six", ("::1", port)).unwrap();
            let mut buf = [0u8; 16];
            sock.set_nonblocking(false).unwrap();
            let mut got = Vec::new();
            for _ in 0..2 {
                let (n, from) = sock.recv_from(&mut buf).unwrap();
                got.push((buf[..n].to_vec(), from.is_ipv6()));
            }
            got.sort();
            assert_eq!(got, vec![(b"four".to_vec(), true), (b"six".to_vec(), true)]);
        });
    }

    #[test]
    #[ignore = "needs root"]
    fn v4_bind_connect_and_addr_in_use() {
        run_isolated(|| {
            let fd = bind("127.0.0.1:0".parse().unwrap(), 1 << 16).unwrap();
            assert!(!socket_is_ipv6(fd.as_raw_fd()));
            let local = local_addr(&fd).unwrap();
            assert_eq!(local.ip().to_string(), "127.0.0.1");
            let e = bind(local, 1 << 16).unwrap_err();
            let msg = e.to_string();
            assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
            assert!(
                msg.contains(&format!("UDP port {} is already in use", local.port())),
                "{msg}"
            );
            let e = bind("192.0.2.1:5000".parse().unwrap(), 1 << 16).unwrap_err();
            assert!(e.to_string().contains("not an address of this host"), "{e}");
            let other = UdpSocket::bind("127.0.0.1:0").unwrap();
            connect(&fd, other.local_addr().unwrap()).unwrap();
            let sock = UdpSocket::from(fd);
            assert_eq!(sock.peer_addr().unwrap(), other.local_addr().unwrap());
        });
    }

    #[test]
    #[ignore = "needs root"]
    fn fwmark_is_set_and_read_back() {
        run_isolated(|| {
            let fd = bind("127.0.0.1:0".parse().unwrap(), 1 << 16).unwrap();
            assert_eq!(fwmark(&fd).unwrap(), 0);
            set_fwmark(&fd, 0xca6c).unwrap();
            assert_eq!(fwmark(&fd).unwrap(), 0xca6c);
            // The whole u32 range: the top bit survives the C int of setsockopt.
            set_fwmark(&fd, 0x8000_0001).unwrap();
            assert_eq!(fwmark(&fd).unwrap(), 0x8000_0001);
        });
    }

    #[test]
    #[ignore = "needs root"]
    fn v6_socket_connects_to_v4_peer_mapped() {
        run_isolated(|| {
            let fd = bind("[::]:0".parse().unwrap(), 1 << 16).unwrap();
            let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
            connect(&fd, peer.local_addr().unwrap()).unwrap();
            let sock = UdpSocket::from(fd);
            sock.send(b"x").unwrap();
            let mut b = [0u8; 4];
            let (n, _) = peer.recv_from(&mut b).unwrap();
            assert_eq!(&b[..n], b"x");
        });
    }
}
