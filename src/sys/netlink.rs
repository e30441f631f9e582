//! rtnetlink by hand: adding an address (RTM_NEWADDR) and a route (RTM_NEWROUTE) to an interface,
//! and reading the kernel's acknowledgement.
//!
//! Messages are built into a byte vector (`nlmsghdr`, then `ifaddrmsg` or `rtmsg`, then attributes,
//! each padded to 4 bytes). Replies are parsed with explicit bounds checks: a short, odd or
//! unrelated reply is an error, never a panic.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

// linux/netlink.h, linux/rtnetlink.h, linux/if_addr.h
const NLMSG_HDRLEN: usize = nlmsghdr::PID.end;
/// Messages, family headers and attributes are padded to a multiple of this.
const NLA_ALIGNTO: usize = 4;
/// An attribute's header (`nlattr`: u16 length, u16 type).
const NLA_HDRLEN: usize = 2 * size_of::<u16>();
/// `struct ifaddrmsg`'s length: family, prefixlen, flags, scope, then the u32 interface index.
const IFADDRMSG_LEN: usize = ifaddrmsg::INDEX.end;
/// `struct rtmsg`'s length: eight u8 fields, then u32 flags.
const RTMSG_LEN: usize = 8 + size_of::<u32>();
/// A `struct nlmsgerr` starts with the (negated) errno.
const NLMSGERR_ERRNO_LEN: usize = size_of::<i32>();
/// Room for one read of replies: an ack is well under 200 bytes, even one that echoes the request.
const REPLY_BUF_LEN: usize = 8192;

/// Byte ranges of `struct nlmsghdr`.
mod nlmsghdr {
    use std::ops::Range;
    pub(super) const LEN: Range<usize> = 0..4;
    pub(super) const TYPE: Range<usize> = 4..6;
    pub(super) const SEQ: Range<usize> = 8..12;
    pub(super) const PID: Range<usize> = 12..16;
}

/// Byte offsets of `struct ifaddrmsg`.
mod ifaddrmsg {
    use std::ops::Range;
    pub(super) const FAMILY: usize = 0;
    pub(super) const PREFIXLEN: usize = 1;
    pub(super) const FLAGS: usize = 2;
    pub(super) const SCOPE: usize = 3;
    pub(super) const INDEX: Range<usize> = 4..8;
}
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_F_NODAD: u8 = 0x02;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_STATIC: u8 = 4;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_LINK: u8 = 253;
const RTN_UNICAST: u8 = 1;

const fn align4(n: usize) -> usize {
    (n + NLA_ALIGNTO - 1) & !(NLA_ALIGNTO - 1)
}

/// A netlink request under construction.
struct Msg {
    buf: Vec<u8>,
}

impl Msg {
    fn new(msg_type: u16, flags: u16, seq: u32) -> Msg {
        // Header, family header and two addresses fit without growing.
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, patched in finish()
        buf.extend_from_slice(&msg_type.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: 0, the kernel fills it in
        Msg { buf }
    }

    /// Appends a fixed family header (already a multiple of 4 bytes).
    fn body(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
        self.pad();
    }

    fn attr(&mut self, ty: u16, data: &[u8]) {
        let len = NLA_HDRLEN + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        self.buf.resize(align4(self.buf.len()), 0);
    }

    fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[nlmsghdr::LEN].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

fn ip_bytes(ip: &IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn family(ip: &IpAddr) -> u8 {
    if ip.is_ipv4() {
        libc::AF_INET as u8
    } else {
        libc::AF_INET6 as u8
    }
}

fn check_prefix(ip: &IpAddr, prefix: u8) -> io::Result<()> {
    let max = if ip.is_ipv4() {
        Ipv4Addr::BITS
    } else {
        Ipv6Addr::BITS
    };
    if u32::from(prefix) > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("prefix /{prefix} is too long for {ip}"),
        ));
    }
    Ok(())
}

/// The RTM_NEWADDR request for `addr/prefix` on interface `ifindex`.
fn new_addr_msg(ifindex: u32, addr: &IpAddr, prefix: u8, seq: u32) -> Vec<u8> {
    let mut m = Msg::new(
        RTM_NEWADDR,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        seq,
    );
    // ifaddrmsg: family, prefixlen, flags, scope, index. No duplicate address detection: the
    // tunnel is point-to-point and a DAD delay would only hold up the first packets.
    let mut ifa = [0u8; IFADDRMSG_LEN];
    ifa[ifaddrmsg::FAMILY] = family(addr);
    ifa[ifaddrmsg::PREFIXLEN] = prefix;
    ifa[ifaddrmsg::FLAGS] = IFA_F_NODAD;
    ifa[ifaddrmsg::SCOPE] = RT_SCOPE_UNIVERSE;
    ifa[ifaddrmsg::INDEX].copy_from_slice(&ifindex.to_ne_bytes());
    m.body(&ifa);
    let b = ip_bytes(addr);
    m.attr(IFA_LOCAL, &b);
    m.attr(IFA_ADDRESS, &b);
    m.finish()
}

/// The RTM_NEWROUTE request for `dst/prefix` out of interface `ifindex` (main table, static).
fn new_route_msg(ifindex: u32, dst: &IpAddr, prefix: u8, seq: u32) -> Vec<u8> {
    let mut m = Msg::new(
        RTM_NEWROUTE,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        seq,
    );
    // rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags(u32).
    // A route with no gateway is on-link: scope link for IPv4; IPv6 routes are always universe.
    let scope = if dst.is_ipv4() {
        RT_SCOPE_LINK
    } else {
        RT_SCOPE_UNIVERSE
    };
    let rtm: [u8; RTMSG_LEN] = [
        family(dst),
        prefix,
        0,
        0,
        RT_TABLE_MAIN,
        RTPROT_STATIC,
        scope,
        RTN_UNICAST,
        0,
        0,
        0,
        0,
    ];
    m.body(&rtm);
    m.attr(RTA_DST, &ip_bytes(dst));
    m.attr(RTA_OIF, &ifindex.to_ne_bytes());
    m.finish()
}

/// Finds the acknowledgement for `seq` in a reply: `Some(Ok(()))` for success, `Some(Err(errno))`
/// for a kernel error, `None` if the bytes hold no (well-formed) ack for `seq`.
pub(crate) fn parse_ack(reply: &[u8], seq: u32) -> Option<Result<(), i32>> {
    let mut off = 0usize;
    while let Some(hdr) = reply.get(off..off.checked_add(NLMSG_HDRLEN)?) {
        let len = u32::from_ne_bytes(hdr[nlmsghdr::LEN].try_into().ok()?) as usize;
        let ty = u16::from_ne_bytes(hdr[nlmsghdr::TYPE].try_into().ok()?);
        let mseq = u32::from_ne_bytes(hdr[nlmsghdr::SEQ].try_into().ok()?);
        if len < NLMSG_HDRLEN || len > reply.len() - off {
            return None;
        }
        if mseq == seq {
            match ty {
                NLMSG_ERROR => {
                    let errno_at = off + NLMSG_HDRLEN;
                    let e = reply.get(errno_at..errno_at + NLMSGERR_ERRNO_LEN)?;
                    if len < NLMSG_HDRLEN + NLMSGERR_ERRNO_LEN {
                        return None;
                    }
                    let err = i32::from_ne_bytes(e.try_into().ok()?);
                    return Some(if err == 0 {
                        Ok(())
                    } else {
                        Err(err.checked_neg().unwrap_or(libc::EINVAL))
                    });
                }
                NLMSG_DONE => return Some(Ok(())),
                _ => {}
            }
        }
        off = off.checked_add(align4(len))?;
    }
    None
}

static SEQ: AtomicU32 = AtomicU32::new(1);

/// Sends one request and waits for its ack; `Err(errno)` as an io::Error.
fn request(msg: &[u8], seq: u32) -> io::Result<()> {
    // SAFETY: plain socket(2) call; the fd is checked and then owned.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` was just returned by socket(2) and nothing else owns it.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: `msg` is a live buffer of `msg.len()` bytes; an unconnected netlink socket sends to
    // the kernel.
    let n = unsafe { libc::send(sock.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = vec![0u8; REPLY_BUF_LEN];
    // rtnetlink handles the request inside send(), so the ack is already queued; a few tries cover
    // unrelated messages (none are expected on a fresh, unsubscribed socket).
    for _ in 0..8 {
        // SAFETY: `buf` is a live, writable buffer of `buf.len()` bytes.
        let n = unsafe {
            libc::recv(
                sock.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        match parse_ack(&buf[..n as usize], seq) {
            Some(Ok(())) => return Ok(()),
            Some(Err(errno)) => return Err(io::Error::from_raw_os_error(errno)),
            None => continue,
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "no acknowledgement from rtnetlink",
    ))
}

fn hint(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => ": run as root or grant CAP_NET_ADMIN",
        Some(libc::ENODEV) => ": the interface is gone",
        Some(libc::EAFNOSUPPORT) => ": IPv6 is disabled in this kernel (ipv6.disable=1?)",
        _ => "",
    }
}

/// Adds `addr/prefix` to interface `ifindex` (IPv4 or IPv6). For IPv6 call
/// [`ensure_ipv6_enabled`] first: a disabled interface answers EACCES.
pub(crate) fn add_address(ifindex: u32, addr: IpAddr, prefix: u8) -> io::Result<()> {
    check_prefix(&addr, prefix)?;
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    request(&new_addr_msg(ifindex, &addr, prefix, seq), seq).map_err(|e| {
        let what = match e.raw_os_error() {
            Some(libc::EEXIST) => ": it is already assigned".to_string(),
            Some(libc::EACCES) if addr.is_ipv6() => {
                ": IPv6 is disabled on the interface (net.ipv6.conf.*.disable_ipv6=1?)".to_string()
            }
            Some(libc::EINVAL) if addr.is_ipv6() => {
                ": IPv6 is not available on the interface (MTU below 1280?)".to_string()
            }
            _ => hint(&e).to_string(),
        };
        io::Error::new(
            e.kind(),
            format!("cannot add address {addr}/{prefix}{what} ({e})"),
        )
    })
}

/// Adds a route to `dst/prefix` out of interface `ifindex`, in the main table.
pub(crate) fn add_route(ifindex: u32, dst: IpAddr, prefix: u8) -> io::Result<()> {
    check_prefix(&dst, prefix)?;
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    request(&new_route_msg(ifindex, &dst, prefix, seq), seq).map_err(|e| {
        let what = match e.raw_os_error() {
            Some(libc::EEXIST) if prefix == 0 => {
                ": a default route already exists (route 0.0.0.0/1 and 128.0.0.0/1, or ::/1 and \
                 8000::/1, instead)"
                    .to_string()
            }
            Some(libc::EEXIST) => ": the same route already exists".to_string(),
            Some(libc::ENETDOWN) => ": the interface is down".to_string(),
            _ => hint(&e).to_string(),
        };
        io::Error::new(
            e.kind(),
            format!("cannot add route {dst}/{prefix}{what} ({e})"),
        )
    })
}

/// Makes sure IPv6 is enabled on `ifname` (`net.ipv6.conf.IFNAME.disable_ipv6 = 0`), turning it on
/// if it is off; a clear error when IPv6 is off in the whole kernel or the sysctl is not writable.
/// The interface MTU must be at least 1280 first, or the kernel drops IPv6 from it.
pub(crate) fn ensure_ipv6_enabled(ifname: &str) -> io::Result<()> {
    super::tun::check_name(ifname)?;
    if !std::path::Path::new("/proc/sys/net/ipv6").exists() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "IPv6 is disabled in this kernel (ipv6.disable=1 on the kernel command line?)",
        ));
    }
    let path = format!("/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6");
    let cur = std::fs::read_to_string(&path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("IPv6 is not available on {ifname} ({path}: {e}; is its MTU below 1280?)"),
        )
    })?;
    if cur.trim() == "0" {
        return Ok(());
    }
    std::fs::write(&path, "0").map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "IPv6 is disabled on {ifname} and could not be enabled: \
                 sysctl -w net.ipv6.conf.{ifname}.disable_ipv6=0 ({e})"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::private_netns::run_isolated;
    use crate::sys::tun;

    fn u16_at(b: &[u8], o: usize) -> u16 {
        u16::from_ne_bytes([b[o], b[o + 1]])
    }

    #[test]
    fn address_message_layout() {
        let m = new_addr_msg(7, &"fd89::1".parse().unwrap(), 64, 42);
        // header 16 + ifaddrmsg 8 + two attrs of 4 + 16.
        assert_eq!(m.len(), 16 + 8 + 20 + 20);
        assert_eq!(
            u32::from_ne_bytes(m[0..4].try_into().unwrap()) as usize,
            m.len()
        );
        assert_eq!(u16_at(&m, 4), RTM_NEWADDR);
        assert_eq!(
            u16_at(&m, 6),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
        );
        assert_eq!(u32::from_ne_bytes(m[8..12].try_into().unwrap()), 42);
        assert_eq!(m[16], libc::AF_INET6 as u8);
        assert_eq!(m[17], 64);
        assert_eq!(u32::from_ne_bytes(m[20..24].try_into().unwrap()), 7);
        assert_eq!(u16_at(&m, 24), 20);
        assert_eq!(u16_at(&m, 26), IFA_LOCAL);
        // An IPv4 address: attributes of 8 bytes, no padding needed.
        let m = new_addr_msg(7, &"10.0.0.1".parse().unwrap(), 24, 1);
        assert_eq!(m.len(), 16 + 8 + 8 + 8);
    }

    #[test]
    fn route_message_layout_and_padding() {
        let m = new_route_msg(3, &"10.1.0.0".parse().unwrap(), 16, 9);
        assert_eq!(m.len(), 16 + 12 + 8 + 8);
        assert_eq!(m.len() % 4, 0);
        assert_eq!(u16_at(&m, 4), RTM_NEWROUTE);
        assert_eq!(&m[16..24], &[2, 16, 0, 0, 254, 4, 253, 1]);
        let m = new_route_msg(3, &"2001:db8::".parse().unwrap(), 32, 9);
        assert_eq!(m[22], RT_SCOPE_UNIVERSE);
        // An attribute with an odd payload is padded to 4 bytes.
        let mut odd = Msg::new(1, 0, 0);
        odd.attr(5, &[1, 2, 3]);
        let b = odd.finish();
        assert_eq!(b.len(), 16 + 8);
        assert_eq!(u16_at(&b, 16), 7);
    }

    fn ack(seq: u32, err: i32) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&36u32.to_ne_bytes());
        v.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        v.extend_from_slice(&0u16.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(&err.to_ne_bytes());
        v.extend_from_slice(&[0u8; 16]); // the echoed request header
        v
    }

    #[test]
    fn acks_are_parsed_with_bounds_checks() {
        assert_eq!(parse_ack(&ack(5, 0), 5), Some(Ok(())));
        assert_eq!(
            parse_ack(&ack(5, -libc::EEXIST), 5),
            Some(Err(libc::EEXIST))
        );
        assert_eq!(parse_ack(&ack(5, i32::MIN), 5), Some(Err(libc::EINVAL)));
        // Wrong sequence, then the right one.
        let mut two = ack(4, -1);
        two.extend(ack(5, 0));
        assert_eq!(parse_ack(&two, 5), Some(Ok(())));
        assert_eq!(parse_ack(&ack(4, 0), 5), None);
        // Every truncation of an ack, and garbage lengths, are None and never panic.
        let a = ack(5, 0);
        for n in 0..20 {
            assert_eq!(parse_ack(&a[..n], 5), None, "{n}");
        }
        let mut bad = ack(5, 0);
        bad[0..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(parse_ack(&bad, 5), None);
        bad[0..4].copy_from_slice(&3u32.to_ne_bytes());
        assert_eq!(parse_ack(&bad, 5), None);
        bad[0..4].copy_from_slice(&17u32.to_ne_bytes());
        assert_eq!(parse_ack(&bad, 5), None);
        assert_eq!(parse_ack(&[0xff; 64], 5), None);
    }

    use crate::sys::testnet::ip as ip_cmd;

    #[test]
    #[ignore = "needs root"]
    fn ipv6_address_and_routes_on_a_tun() {
        run_isolated(|| {
            let t = tun::open("rtnl%d").unwrap();
            tun::set_mtu(&t.name, 1420).unwrap();
            ensure_ipv6_enabled(&t.name).unwrap();
            let idx = tun::if_index(&t.name).unwrap();
            add_address(idx, "fd89::1".parse().unwrap(), 64).unwrap();
            add_address(idx, "10.89.0.1".parse().unwrap(), 24).unwrap();
            let e = add_address(idx, "fd89::1".parse().unwrap(), 64).unwrap_err();
            assert!(e.to_string().contains("already assigned"), "{e}");
            tun::set_up(&t.name).unwrap();
            add_route(idx, "192.168.50.0".parse().unwrap(), 24).unwrap();
            add_route(idx, "2001:db8:5::".parse().unwrap(), 48).unwrap();
            add_route(idx, "0.0.0.0".parse().unwrap(), 0).unwrap();
            let e = add_route(idx, "0.0.0.0".parse().unwrap(), 0).unwrap_err();
            assert!(e.to_string().contains("0.0.0.0/1 and 128.0.0.0/1"), "{e}");
            let addrs = ip_cmd(&["addr", "show", "dev", &t.name]);
            assert!(addrs.contains("inet6 fd89::1/64"), "{addrs}");
            assert!(addrs.contains("inet 10.89.0.1/24"), "{addrs}");
            let r4 = ip_cmd(&["-4", "route", "show", "dev", &t.name]);
            assert!(
                r4.contains("192.168.50.0/24 proto static scope link"),
                "{r4}"
            );
            assert!(r4.contains("default proto static scope link"), "{r4}");
            let r6 = ip_cmd(&["-6", "route", "show", "dev", &t.name]);
            assert!(r6.contains("2001:db8:5::/48 proto static"), "{r6}");
            let e = add_route(9999, "10.9.0.0".parse().unwrap(), 16).unwrap_err();
            assert!(
                e.to_string().contains("cannot add route 10.9.0.0/16"),
                "{e}"
            );
        });
    }

    #[test]
    #[ignore = "needs root"]
    fn disabled_ipv6_is_turned_on_or_reported() {
        run_isolated(|| {
            let t = tun::open("rtv6%d").unwrap();
            let path = format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", t.name);
            std::fs::write(&path, "1").unwrap();
            let idx = tun::if_index(&t.name).unwrap();
            let e = add_address(idx, "fd00::1".parse().unwrap(), 64).unwrap_err();
            assert!(
                e.to_string().contains("IPv6 is disabled on the interface"),
                "{e}"
            );
            ensure_ipv6_enabled(&t.name).unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), "0");
            add_address(idx, "fd00::1".parse().unwrap(), 64).unwrap();
            // Below 1280 the kernel removes IPv6 from the device altogether.
            tun::set_mtu(&t.name, 1000).unwrap();
            let r = ensure_ipv6_enabled(&t.name);
            assert!(r.unwrap_err().to_string().contains("MTU below 1280"));
            let e = add_address(idx, "fd00::2".parse().unwrap(), 64).unwrap_err();
            assert!(e.to_string().contains("MTU below 1280"), "{e}");
        });
    }
}
