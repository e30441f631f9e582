//! The control socket, served by the loop between packets: `wg` (or anything else that speaks
//! WireGuard's cross-platform protocol, [`crate::uapi`]) connects to
//! `/var/run/wireguard/IFNAME.sock` ([`ControlSocket`]), sends one `get=1` or `set=1` request and
//! reads the reply; the loop then closes the connection, as wgctrl-go and `wg` expect.
//!
//! Per client, everything goes through the ring and nothing waits: the multishot accept hands
//! the connection to a client slot; a read into the slot's buffer; each chunk is fed to the
//! slot's [`Session`]; once a request is complete the loop calls [`Control::get`] or
//! [`Control::set`] (or takes the codec's refusal; a `set` may change the UDP socket through
//! [`SocketControl`]), queues the send of the reply (owned by the
//! slot until it completes, continued after a partial send) and closes the connection when the
//! reply is out. A client that sends nothing, or takes no reply bytes, for
//! [`ControlPlane::idle_timeout`] has its request cancelled and is closed. Bounds: at most
//! [`ControlPlane::max_clients`] connections at once (later ones are closed at once and
//! counted), a request of at most [`ControlPlane::limits`] (over it: `errno=-EMSGSIZE`, then
//! closed). Slots, their buffers and their sessions are allocated when the loop starts; a
//! request allocates only what its parsed `set` holds (bounded by the limits) and its reply.

use std::os::fd::AsRawFd;
use std::time::Duration;

use super::DriverStats;
use super::socket::{SocketControl, SocketHandle, UdpSocket};
use crate::core::Instant;
use crate::core::time::WallTime;
use crate::sys::control_socket::ControlSocket;
use crate::sys::uring::{ClientId, Completion, Op, Uring};
use crate::uapi::{
    Errno, Limits, Reply, Request, Session, SetRequest, Snapshot, get_reply, status_reply,
};

/// What the control socket's requests do. The loop calls it on its own thread, between packets,
/// with the batch's `now`; each call should take about as long as handling a few packets.
pub trait Control {
    /// `get=1`: the interface's configuration and counters (`wg show`, `wg showconf`); `wall` is
    /// the wall clock at `now` (`wg show` dates handshakes on it).
    fn get(&mut self, now: Instant, wall: WallTime) -> Snapshot;
    /// `set=1`: apply all of `request` or none of it (`wg set`, `wg setconf`, `wg syncconf`); the
    /// error's errno is what `wg` prints. `socket` applies `listen_port` and `fwmark`: call it
    /// once everything that can be refused has been checked, and refuse the request if it fails.
    fn set(
        &mut self,
        now: Instant,
        request: SetRequest,
        socket: &mut dyn SocketControl,
    ) -> Result<(), Errno>;
}

/// The control socket a loop serves, and how (see the module documentation).
#[derive(Debug)]
pub struct ControlPlane {
    /// Bound and listening; the loop owns it from then on, and its file goes when the loop ends.
    pub socket: ControlSocket,
    /// Connections served at once (at least 1).
    pub max_clients: u16,
    /// A connection that makes no progress (no request bytes in, no reply bytes out) for this
    /// long is closed.
    pub idle_timeout: Duration,
    pub limits: Limits,
}

impl ControlPlane {
    /// Serves `socket` with the defaults: 8 clients, 5 s, [`Limits::default`].
    pub fn new(socket: ControlSocket) -> ControlPlane {
        ControlPlane {
            socket,
            max_clients: DEFAULT_MAX_CLIENTS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            limits: Limits::default(),
        }
    }
}

pub const DEFAULT_MAX_CLIENTS: u16 = 8;
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// Each client's read buffer: requests arrive in chunks of at most this many bytes.
pub(super) const CLIENT_BUF_LEN: usize = 4096;
/// After an accept error (e.g. EMFILE), the accept is re-armed this much later, not at once (it
/// would fail again at once, and spin).
const ACCEPT_RETRY: Duration = Duration::from_secs(1);

/// How the loop answers a complete request with its protocol: [`answer`] for a protocol that
/// implements [`Control`].
pub(super) type Answer<P> = fn(&mut P, Instant, WallTime, Request, &mut dyn SocketControl) -> Reply;

pub(super) fn answer<P: Control>(
    proto: &mut P,
    now: Instant,
    wall: WallTime,
    request: Request,
    socket: &mut dyn SocketControl,
) -> Reply {
    match request {
        Request::Get => get_reply(&proto.get(now, wall)),
        Request::Set(set) => status_reply(proto.set(now, set, socket)),
    }
}

/// What a request's answer may use besides the protocol: the time, and the UDP socket.
pub(super) struct Context<'a> {
    pub(super) now: Instant,
    pub(super) wall: WallTime,
    pub(super) udp: &'a mut UdpSocket,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Free,
    /// A read is in flight.
    Reading,
    /// A send of the reply is in flight.
    Replying,
    /// Timed out: its request was cancelled; closed when that completes.
    Closing,
}

struct Client {
    session: Session,
    state: State,
    deadline: Instant,
}

/// The loop's side of the control socket (the ring's side is `sys::uring`'s client slots).
pub(super) struct ControlServer<P> {
    /// Open (and its file in place) until the loop is dropped, after its ring: no accept can
    /// outlive it.
    socket: ControlSocket,
    idle_timeout: Duration,
    clients: Box<[Client]>,
    answer: Answer<P>,
    /// When the accept, ended by an error, is armed again.
    accept_retry: Option<Instant>,
}

impl<P> ControlServer<P> {
    pub(super) fn new(plane: ControlPlane, answer: Answer<P>) -> ControlServer<P> {
        let clients = (0..plane.max_clients.max(1))
            .map(|_| Client {
                session: Session::new(plane.limits),
                state: State::Free,
                deadline: Instant::ZERO,
            })
            .collect();
        ControlServer {
            socket: plane.socket,
            idle_timeout: plane.idle_timeout,
            clients,
            answer,
            accept_retry: None,
        }
    }

    /// Client slots the ring needs.
    pub(super) fn slots(&self) -> u16 {
        self.clients.len() as u16
    }

    pub(super) fn start(&mut self, uring: &mut Uring) {
        uring.listen(self.socket.as_raw_fd());
    }

    /// A completion of the accept or of a client's read or send.
    pub(super) fn complete(
        &mut self,
        cx: Context<'_>,
        c: &Completion,
        uring: &mut Uring,
        proto: &mut P,
        stats: &mut DriverStats,
    ) {
        let now = cx.now;
        match c.op {
            Op::Accept { client: Some(id) } => {
                stats.control_clients += 1;
                let client = &mut self.clients[id.index()];
                client.session.reset();
                client.state = State::Reading;
                client.deadline = now + self.idle_timeout;
                uring.push_client_read(id);
            }
            Op::Accept { client: None } if c.result >= 0 => stats.control_refused += 1,
            Op::Accept { client: None } => {
                stats.control_accept_errors += 1;
                if !c.more {
                    self.accept_retry = Some(now + ACCEPT_RETRY);
                }
            }
            Op::ClientRead { client } => self.read_done(cx, client, c.result, uring, proto, stats),
            Op::ClientSend { client, unsent } => {
                let state = self.clients[client.index()].state;
                if state == State::Replying && c.result > 0 && unsent > 0 {
                    self.clients[client.index()].deadline = now + self.idle_timeout;
                    uring.push_client_reply_rest(client);
                } else {
                    // All sent, the client went away (EPIPE), or it timed out.
                    self.close(client, uring);
                }
            }
            _ => {}
        }
    }

    fn read_done(
        &mut self,
        cx: Context<'_>,
        id: ClientId,
        result: i32,
        uring: &mut Uring,
        proto: &mut P,
        stats: &mut DriverStats,
    ) {
        let now = cx.now;
        let client = &mut self.clients[id.index()];
        let outcome = match usize::try_from(result) {
            // Timed out meanwhile.
            _ if client.state != State::Reading => None,
            // The client closed its end: inside a request, that request is refused (Truncated).
            Ok(0) => client.session.finish().map(Err),
            Ok(n) => {
                client.deadline = now + self.idle_timeout;
                // Only the first request is answered: the connection closes after its reply.
                let outcome = client.session.feed(uring.client_input(id, n)).1;
                if outcome.is_none() {
                    return uring.push_client_read(id);
                }
                outcome
            }
            // ECONNRESET and the like: nobody to answer.
            Err(_) => None,
        };
        let reply = match outcome {
            None => return self.close(id, uring),
            Some(Ok(request)) => {
                stats.control_requests += 1;
                let mut socket = SocketHandle {
                    socket: cx.udp,
                    uring,
                };
                (self.answer)(proto, now, cx.wall, request, &mut socket)
            }
            Some(Err(e)) => {
                stats.control_bad_requests += 1;
                status_reply(Err(e.errno()))
            }
        };
        self.clients[id.index()].state = State::Replying;
        uring.push_client_reply(id, reply);
    }

    fn close(&mut self, id: ClientId, uring: &mut Uring) {
        let client = &mut self.clients[id.index()];
        client.state = State::Free;
        // Wipes anything half-received (it may hold a key) now rather than at the next accept.
        client.session.reset();
        uring.close_client(id);
    }

    /// Once per batch: closes clients past their time limit (cancelling their request; they
    /// are freed when it completes) and re-arms the accept if it ended.
    pub(super) fn after_batch(&mut self, now: Instant, uring: &mut Uring, stats: &mut DriverStats) {
        for (i, client) in self.clients.iter_mut().enumerate() {
            let busy = matches!(client.state, State::Reading | State::Replying);
            if busy && client.deadline <= now {
                stats.control_timeouts += 1;
                client.state = State::Closing;
                let id = ClientId::from_index(i);
                if !uring.cancel_client(id) {
                    // Nothing in flight after all: close now.
                    client.state = State::Free;
                    client.session.reset();
                    uring.close_client(id);
                }
            }
        }
        match self.accept_retry {
            Some(at) if at > now => {}
            _ => {
                self.accept_retry = None;
                uring.arm_accept();
            }
        }
    }

    /// The earliest client time limit or accept retry.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.clients
            .iter()
            .filter(|c| matches!(c.state, State::Reading | State::Replying))
            .map(|c| c.deadline)
            .chain(self.accept_retry)
            .min()
    }
}
