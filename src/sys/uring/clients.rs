//! Clients of the control socket ([`crate::sys::control_socket`]): the multishot accept on the
//! listening socket, and per client slot its connection, a read buffer in the region and the
//! reply being sent.
//!
//! A slot is free or holds one connection: [`Uring::complete`] puts each accepted connection in a
//! free slot, or closes it at once when none is free (the caller counts that). A held slot has at
//! most one request in flight, a read into its buffer or a send of its reply; its buffer is
//! readable, its reply replaceable and its connection closable only while nothing is in flight
//! (asserted). The reply is owned here until its send completed, like every other byte an
//! in-flight request points to (the module invariant of [`super`]).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use io_uring::{opcode, types};

use super::Uring;
use super::completion::Tag;
use crate::uapi::Reply;

/// The largest send queued at once; a longer reply goes out in several (a stream socket may take
/// part of a send anyway).
const MAX_SEND: usize = 1 << 20;

/// A held client slot. `Copy`: the ring checks every use against the slot's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ClientId(pub(super) u16);

impl ClientId {
    /// Slot `index` (every use is checked against the slot's state, so a wrong one panics).
    pub(crate) fn from_index(index: usize) -> ClientId {
        ClientId(u16::try_from(index).expect("client slot index"))
    }

    /// The slot's number, `0..client_slots`.
    pub(crate) fn index(self) -> usize {
        usize::from(self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InFlight {
    Read,
    Send,
}

#[derive(Default)]
struct Slot {
    /// The connection; `None`: the slot is free.
    fd: Option<OwnedFd>,
    in_flight: Option<InFlight>,
    reply: Option<Reply>,
    /// Bytes of `reply` the kernel has taken.
    sent: usize,
}

/// The ring's part of the control socket.
#[derive(Default)]
pub(super) struct Clients {
    listener: Option<RawFd>,
    accept_armed: bool,
    slots: Box<[Slot]>,
    free: Vec<u16>,
}

impl Clients {
    pub(super) fn new(slots: u16) -> Clients {
        Clients {
            listener: None,
            accept_armed: false,
            slots: (0..slots).map(|_| Slot::default()).collect(),
            free: (0..slots).rev().collect(),
        }
    }

    /// Takes ownership of the connection the kernel just accepted (`fd`, from an accept CQE): a
    /// free slot gets it, or it is closed here.
    fn adopt(&mut self, fd: RawFd) -> Option<ClientId> {
        // SAFETY: a non-negative accept result is a new descriptor the kernel installed for this
        // request; nothing else in the process knows it, so this is its only owner.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let idx = self.free.pop()?;
        let slot = &mut self.slots[usize::from(idx)];
        debug_assert!(slot.fd.is_none() && slot.in_flight.is_none());
        slot.fd = Some(fd);
        slot.sent = 0;
        Some(ClientId(idx))
    }

    /// The request in flight for `client` finished (its final CQE). `None` if the slot had none:
    /// not a request of this ring's bookkeeping (a bug), ignored.
    fn finished(&mut self, client: u32) -> Option<(ClientId, InFlight)> {
        let idx = u16::try_from(client).ok()?;
        let slot = self.slots.get_mut(usize::from(idx))?;
        let done = slot.in_flight.take()?;
        Some((ClientId(idx), done))
    }

    fn held(&mut self, client: ClientId) -> &mut Slot {
        let slot = &mut self.slots[client.index()];
        assert!(slot.fd.is_some(), "client slot {} is free", client.0);
        slot
    }

    /// The held slot of `client`, which must have nothing in flight.
    fn idle(&mut self, client: ClientId) -> &mut Slot {
        let slot = self.held(client);
        assert!(
            slot.in_flight.is_none(),
            "client slot {} has a request in flight",
            client.0
        );
        slot
    }
}

impl Uring {
    /// Serves `listener` (a listening stream socket that outlives the ring): arms the multishot
    /// accept. The ring must have client slots (`UringConfig::client_slots`).
    pub(crate) fn listen(&mut self, listener: RawFd) {
        assert!(
            !self.clients.slots.is_empty(),
            "a ring without client slots"
        );
        self.clients.listener = Some(listener);
        self.arm_accept();
    }

    /// Arms the multishot accept (a no-op if armed, or if nothing is served). Accepted
    /// connections are close-on-exec.
    pub(crate) fn arm_accept(&mut self) {
        let Some(listener) = self.clients.listener else {
            return;
        };
        if self.clients.accept_armed {
            return;
        }
        let e = opcode::AcceptMulti::new(types::Fd(listener))
            .flags(libc::SOCK_CLOEXEC)
            .build()
            .user_data(Tag::Accept.user_data(0));
        self.push(e);
        self.clients.accept_armed = true;
    }

    #[cfg(test)]
    pub(crate) fn accept_armed(&self) -> bool {
        self.clients.accept_armed
    }

    /// Client slots not holding a connection.
    #[cfg(test)]
    pub(crate) fn free_clients(&self) -> usize {
        self.clients.free.len()
    }

    /// Whether `client` has a read or send in flight.
    #[cfg(test)]
    pub(crate) fn client_busy(&self, client: ClientId) -> bool {
        self.clients.slots[client.index()].in_flight.is_some()
    }

    fn client_buf(&self, client: ClientId) -> *mut u8 {
        let len = self.layout.client_buf_len;
        self.region
            .ptr_at(self.layout.clients + client.index() * len, len)
    }

    /// Reads what `client` sends next into its buffer (a `ClientRead` completion says how much).
    pub(crate) fn push_client_read(&mut self, client: ClientId) {
        let fd = self.clients.idle(client).fd.as_ref().map(|f| f.as_raw_fd());
        let fd = fd.expect("held");
        let len = self.layout.client_buf_len;
        let p = self.client_buf(client);
        let e = opcode::Recv::new(types::Fd(fd), p, len as u32)
            .build()
            .user_data(Tag::ClientRead.user_data(u32::from(client.0)));
        self.push(e);
        self.clients.idle(client).in_flight = Some(InFlight::Read);
    }

    /// The first `len` bytes of `client`'s buffer: what its last read delivered.
    pub(crate) fn client_input(&mut self, client: ClientId, len: usize) -> &[u8] {
        self.clients.idle(client);
        assert!(len <= self.layout.client_buf_len);
        let p = self.client_buf(client);
        // SAFETY: the buffer lies in the region (`ptr_at` checked it) and belongs to this slot
        // only; no read into it is in flight (`idle` asserted it), so the kernel does not write
        // it while the slice, which borrows `self`, lives.
        unsafe { std::slice::from_raw_parts(p, len) }
    }

    /// Sends `reply` to `client`. The reply is kept (and its memory read by the kernel) until
    /// the send completes; a `ClientSend` completion says how much is still unsent.
    pub(crate) fn push_client_reply(&mut self, client: ClientId, reply: Reply) {
        let slot = self.clients.idle(client);
        slot.reply = Some(reply);
        slot.sent = 0;
        self.push_client_reply_rest(client);
    }

    /// Sends what the last send of `client`'s reply left unsent (nothing if all was sent).
    pub(crate) fn push_client_reply_rest(&mut self, client: ClientId) {
        let slot = self.clients.idle(client);
        let fd = slot.fd.as_ref().expect("held").as_raw_fd();
        let Some(rest) = slot
            .reply
            .as_ref()
            .and_then(|r| r.as_bytes().get(slot.sent..))
        else {
            return;
        };
        if rest.is_empty() {
            return;
        }
        let len = rest.len().min(MAX_SEND);
        // MSG_NOSIGNAL: a client that went away is an EPIPE result, not a SIGPIPE.
        let e = opcode::Send::new(types::Fd(fd), rest.as_ptr(), len as u32)
            .flags(libc::MSG_NOSIGNAL)
            .build()
            .user_data(Tag::ClientSend.user_data(u32::from(client.0)));
        slot.in_flight = Some(InFlight::Send);
        self.push(e);
    }

    /// Asks the kernel to cancel `client`'s request in flight, if any (its completion follows,
    /// usually with `-ECANCELED`). Returns whether one was in flight.
    ///
    /// The cancel matches by `user_data`, which a later request of a reused slot repeats; it
    /// cannot hit that one: the slot is freed only after this request's completion is reaped,
    /// which happens after the submit that runs the cancel.
    pub(crate) fn cancel_client(&mut self, client: ClientId) -> bool {
        let target = match self.clients.held(client).in_flight {
            Some(InFlight::Read) => Tag::ClientRead,
            Some(InFlight::Send) => Tag::ClientSend,
            None => return false,
        };
        let e = opcode::AsyncCancel::new(target.user_data(u32::from(client.0)))
            .build()
            .user_data(Tag::Cancel.user_data(0));
        self.push(e);
        true
    }

    /// Closes `client`'s connection and frees its slot (the reply, if any, is wiped as it goes).
    /// Nothing may be in flight.
    pub(crate) fn close_client(&mut self, client: ClientId) {
        let slot = self.clients.idle(client);
        slot.fd = None;
        slot.reply = None;
        slot.sent = 0;
        self.clients.free.push(client.0);
    }

    /// Accept CQE: the new connection's slot (`None`: an error, or no free slot and the
    /// connection closed). Notes a multishot accept that ended.
    pub(super) fn complete_accept(&mut self, result: i32, more: bool) -> Option<ClientId> {
        if !more {
            self.clients.accept_armed = false;
        }
        if result < 0 {
            return None;
        }
        self.clients.adopt(result)
    }

    /// Read CQE of client slot `idx`.
    pub(super) fn complete_client_read(&mut self, idx: u32) -> Option<ClientId> {
        match self.clients.finished(idx) {
            Some((client, InFlight::Read)) => Some(client),
            _ => None,
        }
    }

    /// Send CQE of client slot `idx` with `result`: the client and the bytes still unsent.
    pub(super) fn complete_client_send(
        &mut self,
        idx: u32,
        result: i32,
    ) -> Option<(ClientId, usize)> {
        let Some((client, InFlight::Send)) = self.clients.finished(idx) else {
            return None;
        };
        let slot = &mut self.clients.slots[client.index()];
        let len = slot.reply.as_ref().map_or(0, |r| r.as_bytes().len());
        if let Ok(n) = usize::try_from(result) {
            slot.sent = slot.sent.saturating_add(n).min(len);
        }
        Some((client, len - slot.sent))
    }

    /// After a failed drain: the replies may still be read by the kernel, so they are leaked
    /// rather than freed (as the region is).
    pub(super) fn leak_client_replies(&mut self) {
        std::mem::forget(std::mem::take(&mut self.clients));
    }
}
