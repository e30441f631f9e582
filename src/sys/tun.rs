//! The TUN device: opening `/dev/net/tun` with a hand-written `TUNSETIFF`, and configuring the
//! interface with the classic `SIOC*` ioctls on an AF_INET datagram socket.
//!
//! `struct ifreq` is kept as bytes (16-byte name, 24-byte union), so every field is written and read
//! with plain slice operations; only the ioctl calls themselves are `unsafe`.

use std::fs::OpenOptions;
use std::io;
#[cfg(test)]
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

/// `IFNAMSIZ`: the name field of `ifreq`, NUL included.
pub(crate) const IFNAMSIZ: usize = 16;

// TUNSETIFF flags (linux/if_tun.h).
pub(crate) const IFF_TUN: u16 = 0x0001;
pub(crate) const IFF_NO_PI: u16 = 0x1000;
/// Packets carry a `virtio_net_hdr` (for later GSO/GRO offload via `TUNSETOFFLOAD`).
pub(crate) const IFF_VNET_HDR: u16 = 0x4000;

// The fields of an ioctl request number (asm-generic/ioctl.h).
const IOC_WRITE: u64 = 1;
const IOC_NRSHIFT: u32 = 0;
const IOC_TYPESHIFT: u32 = 8;
const IOC_SIZESHIFT: u32 = 16;
const IOC_DIRSHIFT: u32 = 30;

/// `_IOW(type, nr, size)` as in asm-generic/ioctl.h.
const fn iow(ty: u8, nr: u8, size: usize) -> u64 {
    (IOC_WRITE << IOC_DIRSHIFT)
        | ((size as u64) << IOC_SIZESHIFT)
        | ((ty as u64) << IOC_TYPESHIFT)
        | ((nr as u64) << IOC_NRSHIFT)
}

const INT_LEN: usize = size_of::<libc::c_int>();

/// `_IOW('T', 202, int)`.
pub(crate) const TUNSETIFF: u64 = iow(b'T', 202, INT_LEN);
/// `_IOW('T', 208, unsigned int)`: offload flags, for use with `IFF_VNET_HDR`.
pub(crate) const TUNSETOFFLOAD: u64 = iow(b'T', 208, INT_LEN);
/// `_IOW('T', 216, int)`: size of the vnet header (default sizeof(struct virtio_net_hdr) = 10).
pub(crate) const TUNSETVNETHDRSZ: u64 = iow(b'T', 216, INT_LEN);

// TUNSETOFFLOAD flags.
pub(crate) const TUN_F_CSUM: u32 = 0x01;
pub(crate) const TUN_F_TSO4: u32 = 0x02;
pub(crate) const TUN_F_TSO6: u32 = 0x04;

// Size of the `virtio_net_hdr` every read and write carries in offload mode (the layout itself
// is `net::vnet`'s).
use crate::net::vnet::VNET_HDR_LEN;

// Socket ioctls (linux/sockios.h).
const SIOCGIFFLAGS: u64 = 0x8913;
const SIOCSIFFLAGS: u64 = 0x8914;
#[cfg(test)]
const SIOCSIFADDR: u64 = 0x8916;
#[cfg(test)]
const SIOCSIFNETMASK: u64 = 0x891c;
#[cfg(test)]
const SIOCGIFMTU: u64 = 0x8921;
const SIOCSIFMTU: u64 = 0x8922;
const SIOCGIFINDEX: u64 = 0x8933;
#[cfg(test)]
const SIOCGIFTXQLEN: u64 = 0x8942;
const SIOCSIFTXQLEN: u64 = 0x8943;

const IFF_UP: u16 = 0x1;

/// A default transmit queue for the TUN device: bursts from the host's stack wait here while the
/// loop catches up, rather than being dropped (the kernel default for TUN is 500).
pub(crate) const DEFAULT_TXQUEUELEN: u32 = 4096;

/// `sizeof(struct ifreq)`: the name, then a 24-byte union (`ifr_data`).
const IFREQ_LEN: usize = IFNAMSIZ + IFR_DATA_LEN;
const IFR_DATA_LEN: usize = 24;
const IFR_DATA: usize = IFNAMSIZ;
const _: () = assert!(IFREQ_LEN == std::mem::size_of::<libc::ifreq>());
const _: () = assert!(IFR_DATA + std::mem::size_of::<libc::sockaddr_in>() <= IFREQ_LEN);

/// `struct ifreq`, as bytes.
#[repr(C, align(8))]
struct IfReq {
    bytes: [u8; IFREQ_LEN],
}

impl IfReq {
    fn new(name: &str) -> io::Result<IfReq> {
        check_name(name)?;
        let mut r = IfReq {
            bytes: [0; IFREQ_LEN],
        };
        r.bytes[..name.len()].copy_from_slice(name.as_bytes());
        Ok(r)
    }

    fn name(&self) -> String {
        let raw = &self.bytes[..IFNAMSIZ];
        let end = raw.iter().position(|&b| b == 0).unwrap_or(IFNAMSIZ);
        String::from_utf8_lossy(&raw[..end]).into_owned()
    }

    /// The first `N` bytes of the union.
    fn data<const N: usize>(&self) -> [u8; N] {
        let mut b = [0u8; N];
        b.copy_from_slice(&self.bytes[IFR_DATA..IFR_DATA + N]);
        b
    }

    fn set_data(&mut self, v: &[u8]) {
        self.bytes[IFR_DATA..IFR_DATA + v.len()].copy_from_slice(v);
    }

    fn set_u16(&mut self, v: u16) {
        self.set_data(&v.to_ne_bytes());
    }

    fn get_u16(&self) -> u16 {
        u16::from_ne_bytes(self.data())
    }

    fn set_i32(&mut self, v: i32) {
        self.set_data(&v.to_ne_bytes());
    }

    fn get_i32(&self) -> i32 {
        i32::from_ne_bytes(self.data())
    }

    /// A `sockaddr_in` with port 0 in the union.
    #[cfg(test)]
    fn set_ipv4(&mut self, a: Ipv4Addr) {
        let d = &mut self.bytes[IFR_DATA..IFR_DATA + std::mem::size_of::<libc::sockaddr_in>()];
        d.fill(0);
        d[0..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        d[4..8].copy_from_slice(&a.octets());
    }

    /// Runs `request` on `fd` with this ifreq.
    fn ioctl(&mut self, fd: RawFd, request: u64) -> io::Result<()> {
        // SAFETY: `self.bytes` is a live buffer of `sizeof(struct ifreq)` bytes (const-asserted),
        // the size every ioctl used here reads and writes; the kernel does not keep the pointer.
        let rc = unsafe { libc::ioctl(fd, request as libc::Ioctl, self.bytes.as_mut_ptr()) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

/// The longest interface name: `IFNAMSIZ` less the terminating NUL.
pub(crate) const MAX_INTERFACE_NAME_LEN: usize = IFNAMSIZ - 1;

/// The kernel's rules for a device name (`dev_valid_name`): 1 to 15 bytes, not "." or "..", no
/// '/', ':', whitespace or control character. `Err` says which rule the name breaks, for a
/// one-line message; the command line checks names with it before anything is opened.
pub(crate) fn check_interface_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty name");
    }
    if name.len() > MAX_INTERFACE_NAME_LEN {
        return Err("longer than 15 bytes");
    }
    if name == "." || name == ".." {
        return Err("not a valid name");
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err("must not contain '/', ':' or whitespace");
    }
    Ok(())
}

/// [`check_interface_name`] as an `io::Error`, so that a bad name is an error here rather than a
/// truncated or rejected name later.
pub(crate) fn check_name(name: &str) -> io::Result<()> {
    check_interface_name(name).map_err(|why| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid interface name {name:?}: {why}"),
        )
    })
}

/// Adds a one-line explanation to `err`, keeping its kind (and the OS text at the end).
fn explain(err: io::Error, what: String) -> io::Error {
    io::Error::new(err.kind(), format!("{what} ({err})"))
}

fn permission_hint(err: &io::Error) -> Option<&'static str> {
    match err.raw_os_error() {
        Some(libc::EPERM) | Some(libc::EACCES) => Some(
            "run ringtun as root (sudo), or from its systemd unit (which grants CAP_NET_ADMIN)",
        ),
        _ => None,
    }
}

/// An open TUN device: the queue fd and the interface's actual name.
#[derive(Debug)]
pub(crate) struct Tun {
    pub(crate) fd: OwnedFd,
    pub(crate) name: String,
}

/// Opens a TUN device named `name` (`IFF_TUN | IFF_NO_PI`, non-blocking, close-on-exec). The
/// interface is not persistent: it disappears when the fd is closed.
pub(crate) fn open(name: &str) -> io::Result<Tun> {
    open_with_flags(name, 0)
}

/// As [`open`], with extra `TUNSETIFF` flags (e.g. [`IFF_VNET_HDR`]) or'ed into
/// `IFF_TUN | IFF_NO_PI`.
pub(crate) fn open_with_flags(name: &str, extra_flags: u16) -> io::Result<Tun> {
    let mut req = IfReq::new(name)?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        // std sets O_CLOEXEC itself.
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/net/tun")
        .map_err(|e| {
            let what = match e.raw_os_error() {
                Some(libc::ENOENT) => {
                    "missing /dev/net/tun (modprobe tun, or create it: mknod /dev/net/tun c 10 200)"
                        .to_string()
                }
                Some(libc::ENODEV) | Some(libc::ENXIO) => {
                    "no TUN driver behind /dev/net/tun (modprobe tun)".to_string()
                }
                _ => match permission_hint(&e) {
                    Some(h) => format!("cannot open /dev/net/tun: {h}"),
                    None => "cannot open /dev/net/tun".to_string(),
                },
            };
            explain(e, what)
        })?;
    req.set_u16(IFF_TUN | IFF_NO_PI | extra_flags);
    req.ioctl(file.as_raw_fd(), TUNSETIFF).map_err(|e| {
        let what = match e.raw_os_error() {
            Some(libc::EBUSY) => format!(
                "cannot create TUN interface {name}: it is in use (another ringtun running?)"
            ),
            Some(libc::EEXIST) | Some(libc::EINVAL) => format!(
                "cannot create TUN interface {name}: the name is taken by another kind of interface \
                 (choose another with -i)"
            ),
            _ => match permission_hint(&e) {
                Some(h) => format!("cannot create TUN interface {name}: {h}"),
                None => format!("cannot create TUN interface {name}"),
            },
        };
        explain(e, what)
    })?;
    let actual = req.name();
    Ok(Tun {
        fd: OwnedFd::from(file),
        name: actual,
    })
}

/// Sets `TUNSETOFFLOAD` flags on a TUN fd opened with [`IFF_VNET_HDR`].
pub(crate) fn set_offload(tun: &OwnedFd, flags: u32) -> io::Result<()> {
    // SAFETY: TUNSETOFFLOAD takes its argument by value (an unsigned int), not a pointer.
    let rc = unsafe {
        libc::ioctl(
            tun.as_raw_fd(),
            TUNSETOFFLOAD as libc::Ioctl,
            libc::c_ulong::from(flags),
        )
    };
    if rc < 0 {
        return Err(explain(
            io::Error::last_os_error(),
            "cannot set TUN offloads".into(),
        ));
    }
    Ok(())
}

/// Sets the vnet header size (`TUNSETVNETHDRSZ`).
pub(crate) fn set_vnet_hdr_size(tun: &OwnedFd, size: i32) -> io::Result<()> {
    // SAFETY: TUNSETVNETHDRSZ reads one int through the pointer, which is live for the call.
    let rc = unsafe {
        libc::ioctl(
            tun.as_raw_fd(),
            TUNSETVNETHDRSZ as libc::Ioctl,
            &size as *const i32,
        )
    };
    if rc < 0 {
        return Err(explain(
            io::Error::last_os_error(),
            "cannot set the TUN vnet header size".into(),
        ));
    }
    Ok(())
}

/// Opens a TUN device in offload mode: `IFF_VNET_HDR` with a 10-byte `virtio_net_hdr` on every
/// read and write, checksum offload and TSO for IPv4 and IPv6 (the kernel hands us TCP
/// super-packets of up to 64 KiB and accepts them). The device is closed again on failure. For
/// tests: the program opens in two steps (`app::setup`), as a failure of the second falls back.
#[cfg(test)]
pub(crate) fn open_offload(name: &str) -> io::Result<Tun> {
    let t = open_with_flags(name, IFF_VNET_HDR)?;
    enable_offloads(&t.fd)?;
    Ok(t)
}

/// Turns on offload mode on a TUN fd opened with [`IFF_VNET_HDR`]: the header size, then
/// checksum offload and TSO. A failure here is the kernel refusing offloads, not the device.
pub(crate) fn enable_offloads(tun: &OwnedFd) -> io::Result<()> {
    set_vnet_hdr_size(tun, VNET_HDR_LEN as i32)?;
    set_offload(tun, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)
}

/// Writes one packet to the TUN device now, with one `write` (the descriptor is non-blocking): the
/// data plane's direct path for a packet that came alone (when: `driver::event_loop`'s module
/// docs). A TUN write is all or nothing; anything shorter is an error.
pub(crate) fn write_now(fd: RawFd, packet: &[u8]) -> io::Result<()> {
    // SAFETY: `packet` is a live slice of `packet.len()` bytes for the whole call; write only
    // reads it and does not keep the pointer.
    let n = unsafe { libc::write(fd, packet.as_ptr().cast(), packet.len()) };
    match n {
        n if n < 0 => Err(io::Error::last_os_error()),
        n if n as usize != packet.len() => Err(io::ErrorKind::WriteZero.into()),
        _ => Ok(()),
    }
}

/// A throwaway AF_INET datagram socket: the handle the `SIOC*` interface ioctls go through.
fn control_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the returned fd is checked and then owned.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2) and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn if_ioctl(
    name: &str,
    request: u64,
    what: &str,
    fill: impl FnOnce(&mut IfReq),
) -> io::Result<IfReq> {
    let mut req = IfReq::new(name)?;
    fill(&mut req);
    let sock = control_socket()?;
    req.ioctl(sock.as_raw_fd(), request).map_err(|e| {
        let text = match (e.raw_os_error(), permission_hint(&e)) {
            (_, Some(h)) => format!("cannot {what} on {name}: {h}"),
            (Some(libc::ENODEV), _) => format!("cannot {what}: no interface named {name}"),
            _ => format!("cannot {what} on {name}"),
        };
        explain(e, text)
    })?;
    Ok(req)
}

/// Sets the interface MTU.
pub(crate) fn set_mtu(name: &str, mtu: u16) -> io::Result<()> {
    if_ioctl(name, SIOCSIFMTU, &format!("set MTU {mtu}"), |r| {
        r.set_i32(i32::from(mtu))
    })
    .map(drop)
}

/// The interface MTU.
#[cfg(test)]
pub(crate) fn mtu(name: &str) -> io::Result<u32> {
    let r = if_ioctl(name, SIOCGIFMTU, "read the MTU", |_| {})?;
    u32::try_from(r.get_i32())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "negative MTU"))
}

/// The transmit queue length.
#[cfg(test)]
pub(crate) fn txqueuelen(name: &str) -> io::Result<u32> {
    let r = if_ioctl(name, SIOCGIFTXQLEN, "read txqueuelen", |_| {})?;
    u32::try_from(r.get_i32())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "negative txqueuelen"))
}

/// Sets the transmit queue length (packets the kernel queues towards the TUN reader).
pub(crate) fn set_txqueuelen(name: &str, qlen: u32) -> io::Result<()> {
    let v = i32::try_from(qlen).unwrap_or(i32::MAX);
    if_ioctl(name, SIOCSIFTXQLEN, "set txqueuelen", |r| r.set_i32(v)).map(drop)
}

/// Sets the interface's IPv4 address and netmask (`prefix` bits, at most 32).
#[cfg(test)]
pub(crate) fn set_ipv4(name: &str, addr: Ipv4Addr, prefix: u8) -> io::Result<()> {
    if prefix > 32 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("IPv4 prefix /{prefix} is longer than 32"),
        ));
    }
    let mask = match prefix {
        0 => 0,
        p => u32::MAX << (32 - u32::from(p)),
    };
    if_ioctl(name, SIOCSIFADDR, &format!("set address {addr}"), |r| {
        r.set_ipv4(addr)
    })?;
    if_ioctl(
        name,
        SIOCSIFNETMASK,
        &format!("set netmask /{prefix}"),
        |r| r.set_ipv4(Ipv4Addr::from(mask)),
    )
    .map(drop)
}

/// Brings the link up (sets IFF_UP, keeping the other flags).
pub(crate) fn set_up(name: &str) -> io::Result<()> {
    let flags = if_ioctl(name, SIOCGIFFLAGS, "read flags", |_| {})?.get_u16();
    if_ioctl(name, SIOCSIFFLAGS, "bring the link up", |r| {
        r.set_u16(flags | IFF_UP)
    })
    .map(drop)
}

/// Whether the link is administratively up.
#[cfg(test)]
pub(crate) fn is_up(name: &str) -> io::Result<bool> {
    Ok(if_ioctl(name, SIOCGIFFLAGS, "read flags", |_| {})?.get_u16() & IFF_UP != 0)
}

/// The interface index (for rtnetlink).
pub(crate) fn if_index(name: &str) -> io::Result<u32> {
    let r = if_ioctl(name, SIOCGIFINDEX, "look up the index", |_| {})?;
    u32::try_from(r.get_i32())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "negative interface index"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::private_netns::run_isolated;
    use std::io::Read;

    #[test]
    fn constants_match_the_kernel_headers() {
        assert_eq!(TUNSETIFF, 0x4004_54ca);
        assert_eq!(TUNSETIFF as libc::Ioctl, libc::TUNSETIFF);
        assert_eq!(TUNSETOFFLOAD, 0x4004_54d0);
        assert_eq!(IFF_NO_PI as i32, libc::IFF_NO_PI);
        assert_eq!(IFF_TUN as i32, libc::IFF_TUN);
        assert_eq!(
            SIOCSIFTXQLEN as libc::Ioctl,
            libc::SIOCSIFTXQLEN as libc::Ioctl
        );
        assert_eq!(
            std::mem::size_of::<IfReq>(),
            std::mem::size_of::<libc::ifreq>()
        );
    }

    /// On a pipe (no TUN device needed): the whole packet, or an error; never blocks.
    #[test]
    fn write_now_writes_whole_packets_without_blocking() {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 returns.
        assert_eq!(
            unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) },
            0
        );
        // SAFETY: pipe2 just returned both fds and nothing else owns them.
        let (rx, tx) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        write_now(tx.as_raw_fd(), b"packet").unwrap();
        let mut buf = [0u8; 16];
        let n = std::fs::File::from(rx.try_clone().unwrap())
            .read(&mut buf)
            .unwrap();
        assert_eq!(&buf[..n], b"packet");
        // Fill the pipe: the next write fails with EAGAIN instead of blocking.
        let chunk = [0u8; 4096];
        let e = (0..1024)
            .find_map(|_| write_now(tx.as_raw_fd(), &chunk).err())
            .expect("a full pipe refuses a write");
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock, "{e}");
    }

    #[test]
    fn names_are_checked() {
        for bad in ["", ".", "..", "a/b", "a b", "a:b", "0123456789abcdef"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        check_name("ringtun0").unwrap();
        check_name("0123456789abcde").unwrap();
        assert_eq!(IfReq::new("tun9").unwrap().name(), "tun9");
    }

    #[test]
    #[ignore = "needs root"]
    fn missing_interface_is_a_clear_error() {
        run_isolated(|| {
            let e = set_mtu("nosuchif0", 1400).unwrap_err();
            assert!(
                e.to_string().contains("no interface named nosuchif0"),
                "{e}"
            );
        });
    }

    #[test]
    #[ignore = "needs root"]
    fn open_configure_and_vanish_on_close() {
        run_isolated(|| {
            let tun = open("rttest%d").unwrap();
            assert!(tun.name.starts_with("rttest"), "{}", tun.name);
            set_txqueuelen(&tun.name, DEFAULT_TXQUEUELEN).unwrap();
            set_mtu(&tun.name, 1420).unwrap();
            set_ipv4(&tun.name, Ipv4Addr::new(10, 89, 0, 1), 24).unwrap();
            assert!(!is_up(&tun.name).unwrap());
            set_up(&tun.name).unwrap();
            assert!(is_up(&tun.name).unwrap());
            let idx = if_index(&tun.name).unwrap();
            assert!(idx > 1);
            // (sysfs shows the mounter's namespace, so read back through ioctls instead.)
            assert_eq!(mtu(&tun.name).unwrap(), 1420);
            assert_eq!(txqueuelen(&tun.name).unwrap(), DEFAULT_TXQUEUELEN);
            let dev = std::fs::read_to_string("/proc/thread-self/net/dev").unwrap();
            assert!(dev.contains(&format!("{}:", tun.name)), "{dev}");
            // A second open of the same name while the first is held: busy.
            let e = open(&tun.name).unwrap_err();
            assert!(e.to_string().contains("in use"), "{e}");
            // The loopback device is no TUN.
            let e = open("lo").unwrap_err();
            assert!(e.to_string().contains("another kind of interface"), "{e}");
            let name = tun.name.clone();
            drop(tun);
            // A child forked meanwhile by a parallel test may hold the fd until its exec, so the
            // removal can lag the close a little.
            let e = (0..100)
                .find_map(|_| {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    if_index(&name).err()
                })
                .expect("non-persistent TUN must vanish with its fd");
            assert_eq!(e.raw_os_error(), None);
            assert!(
                e.to_string().contains("no interface named"),
                "non-persistent TUN must vanish with its fd: {e}"
            );
        });
    }

    #[test]
    #[ignore = "needs root"]
    fn vnet_hdr_and_offload_flags_are_accepted() {
        run_isolated(|| {
            let tun = open_with_flags("rtvnet%d", IFF_VNET_HDR).unwrap();
            // TUN_F_CSUM: the reader accepts packets with partial checksums.
            set_offload(&tun.fd, 0x01).unwrap();
            set_offload(&tun.fd, 0).unwrap();
            // Unknown offload bits are refused, with an error naming the ioctl.
            let e = set_offload(&tun.fd, 0x8000_0000).unwrap_err();
            assert!(e.to_string().contains("cannot set TUN offloads"), "{e}");
        });
    }
}
