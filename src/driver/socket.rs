//! The loop's UDP socket, as the control socket may change it at run time: `listen_port` binds a
//! new socket and puts it in the old one's place in the ring; `fwmark` marks the socket in use
//! (`SO_MARK`). wireguard-go does the same (`BindUpdate`, `SetMark`), but closes the old socket
//! before it binds the new one; here the new one is bound first, so a port that is taken leaves
//! the old socket working and the request refused.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};

use crate::sys::udp;
use crate::sys::uring::Uring;

/// What a `set` request may change about the UDP socket ([`super::Control::set`] gets one).
pub trait SocketControl {
    /// The port the socket is bound to.
    fn port(&self) -> u16;
    /// The socket's `SO_MARK` (0: none).
    fn fwmark(&self) -> u32;
    /// Applies both changes or neither. A `port` (0: any free one) other than the one bound binds a
    /// new socket on the same address with the mark (the new one, else the current one) and puts
    /// it in the old one's place; the port bound already keeps its socket (`wg syncconf` sends
    /// it every time). A `fwmark` alone is set on the socket in use (0 clears it). Returns the
    /// port bound.
    fn reconfigure(&mut self, port: Option<u16>, fwmark: Option<u32>) -> io::Result<u16>;
}

/// The UDP socket the loop owns (its fd is registered in the ring).
#[derive(Debug)]
pub struct UdpSocket {
    fd: OwnedFd,
    /// `UDP_GRO` goes on a new socket too (offload mode).
    offload: bool,
    fwmark: u32,
}

impl UdpSocket {
    /// `fd` is the bound socket the ring was created with.
    pub fn new(fd: OwnedFd, offload: bool) -> UdpSocket {
        let fwmark = udp::fwmark(&fd).unwrap_or(0);
        UdpSocket {
            fd,
            offload,
            fwmark,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        udp::local_addr(&self.fd)
    }

    /// A new socket on `port`, configured as this one is, with `fwmark`.
    fn bind_like(&self, port: u16, fwmark: u32) -> io::Result<OwnedFd> {
        let mut addr = self.local_addr()?;
        addr.set_port(port);
        let fd = udp::bind(addr, udp::DEFAULT_BUFFER_BYTES)?;
        if self.offload {
            udp::enable_gro(&fd)?;
        }
        if fwmark != 0 {
            udp::set_fwmark(&fd, fwmark)?;
        }
        Ok(fd)
    }
}

/// The socket with the ring it is registered in, for the length of one `set`.
pub(super) struct SocketHandle<'a> {
    pub(super) socket: &'a mut UdpSocket,
    pub(super) uring: &'a mut Uring,
}

impl SocketControl for SocketHandle<'_> {
    fn port(&self) -> u16 {
        self.socket.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    fn fwmark(&self) -> u32 {
        self.socket.fwmark
    }

    fn reconfigure(&mut self, port: Option<u16>, fwmark: Option<u32>) -> io::Result<u16> {
        let mark = fwmark.unwrap_or(self.socket.fwmark);
        match port.filter(|&p| p == 0 || p != self.port()) {
            Some(port) => {
                let fd = self.socket.bind_like(port, mark)?;
                self.uring.replace_udp(fd.as_raw_fd())?;
                // The old socket closes here: the ring holds its own reference for what is still
                // in flight on it.
                self.socket.fd = fd;
            }
            None if mark != self.socket.fwmark => udp::set_fwmark(&self.socket.fd, mark)?,
            None => {}
        }
        self.socket.fwmark = mark;
        Ok(self.port())
    }
}
