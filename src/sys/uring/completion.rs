//! What a completion means: the `user_data` codec (which kind of request, and which buffer, slot
//! or generation it concerns) and [`Uring::complete`], which decodes a CQE and does the ring's
//! part of the bookkeeping.
//!
//! `user_data` is `[tag: u32][index: u32]`. A tag this ring never set is not one of its requests:
//! [`Uring::complete`] reports it as an [`UnknownCompletion`] for the caller to count.

use std::fmt;

use io_uring::cqueue;

use super::Uring;
use super::buffers::{Buf, Group};
use super::clients::ClientId;

/// The kind of request, in the high 32 bits of its `user_data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(super) enum Tag {
    TunRead = 1,
    UdpRecv = 2,
    /// Index: the UDP buffer written.
    TunWrite = 3,
    /// Index: the TUN buffer sent.
    UdpSend = 4,
    /// Index: the control slot sent.
    ControlSend = 5,
    Signal = 6,
    /// Index: the timeout's generation.
    Timeout = 7,
    TimeoutRemove = 8,
    Cancel = 9,
    /// Index: the send slot (plain send, or with a `UDP_SEGMENT` cmsg).
    OutSend = 10,
    OutGsoSend = 11,
    /// Index: [`out_write_index`].
    OutWrite = 12,
    /// The multishot accept on the control socket.
    Accept = 13,
    /// Index: the client slot.
    ClientRead = 14,
    ClientSend = 15,
}

impl Tag {
    const ALL: [Tag; 15] = [
        Tag::TunRead,
        Tag::UdpRecv,
        Tag::TunWrite,
        Tag::UdpSend,
        Tag::ControlSend,
        Tag::Signal,
        Tag::Timeout,
        Tag::TimeoutRemove,
        Tag::Cancel,
        Tag::OutSend,
        Tag::OutGsoSend,
        Tag::OutWrite,
        Tag::Accept,
        Tag::ClientRead,
        Tag::ClientSend,
    ];

    /// The `user_data` of a request of this kind about `index`.
    pub(super) fn user_data(self, index: u32) -> u64 {
        (u64::from(self as u32) << u32::BITS) | u64::from(index)
    }

    /// The tag and index of a `user_data`; `None` for a tag no request carries.
    pub(super) fn decode(user_data: u64) -> Option<(Tag, u32)> {
        let code = (user_data >> u32::BITS) as u32;
        let tag = Tag::ALL.into_iter().find(|&t| t as u32 == code)?;
        Some((tag, user_data as u32))
    }
}

/// An output-buffer TUN write carries its buffer in the low `OUT_IDX_BITS` bits of its index and
/// its length above them.
const OUT_IDX_BITS: u32 = 12;
/// Output buffers a ring may have, and the bound on an output buffer's length (so that every
/// write from one fits the index).
pub(super) const MAX_OUT_BUFFERS: usize = 1 << OUT_IDX_BITS;
pub(super) const OUT_LEN_LIMIT: usize = 1 << (u32::BITS - OUT_IDX_BITS);

/// The index of a TUN write of `len` bytes from output buffer `out`.
pub(super) fn out_write_index(out: u16, len: usize) -> u32 {
    debug_assert!(usize::from(out) < MAX_OUT_BUFFERS && len < OUT_LEN_LIMIT);
    (len as u32) << OUT_IDX_BITS | u32::from(out)
}

/// The output buffer and length of an output-buffer TUN write's index.
fn split_out_write_index(index: u32) -> (u16, u32) {
    (
        (index & (MAX_OUT_BUFFERS as u32 - 1)) as u16,
        index >> OUT_IDX_BITS,
    )
}

/// Which request a completion belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    TunRead,
    UdpRecv,
    /// A write to the TUN device; `expected` bytes were queued (the buffer is back in its ring).
    TunWrite {
        expected: u32,
    },
    /// A UDP send (data or control; the buffer or slot is free again).
    UdpSend {
        control: bool,
    },
    /// A send from an output buffer (`gso`: with a `UDP_SEGMENT` cmsg). A GSO send that failed
    /// with EIO/EINVAL has turned GSO off (see [`Uring::gso_enabled`]).
    OutSend {
        gso: bool,
    },
    /// A TUN write from an output buffer.
    OutWrite {
        expected: u32,
    },
    Signal,
    Timeout {
        generation: u32,
    },
    TimeoutRemove,
    /// A cancel request (the drain's, or [`Uring::cancel_client`]'s).
    Cancel,
    /// A connection on the control socket, in a slot of its own; `None`: none, because accept
    /// failed (`result < 0`) or because no slot was free (`result >= 0`: it was closed at once).
    /// Without `more`, the multishot accept ended: re-arm it ([`Uring::arm_accept`]).
    Accept {
        client: Option<ClientId>,
    },
    /// A client's read: `result` bytes are in its buffer ([`Uring::client_input`]), 0 if the
    /// client closed its end, or a negative errno.
    ClientRead {
        client: ClientId,
    },
    /// A send of a client's reply; `unsent` bytes of the reply remain.
    ClientSend {
        client: ClientId,
        unsent: usize,
    },
}

/// One completion, decoded. `result` is the CQE result (negative errno on error).
#[derive(Debug)]
pub(crate) struct Completion {
    pub(crate) op: Op,
    pub(crate) result: i32,
    /// IORING_CQE_F_MORE: a multishot request stays armed.
    pub(crate) more: bool,
    /// IORING_CQE_F_BUFFER: the buffer the kernel filled.
    pub(crate) buf: Option<Buf>,
}

/// A CQE whose `user_data` carries no tag of this ring: no request of ours, so nothing is freed
/// or counted as completed for it. (Also a client read or send for a slot that had none in
/// flight: a bookkeeping bug, reported rather than acted on.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UnknownCompletion {
    pub(crate) user_data: u64,
    pub(crate) result: i32,
}

impl fmt::Display for UnknownCompletion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "completion with unknown user_data {:#x} (result {})",
            self.user_data, self.result
        )
    }
}

impl std::error::Error for UnknownCompletion {}

impl Uring {
    /// Decodes one CQE and does the wrapper's part: buffer bookkeeping, returning the buffer of a
    /// finished write/send to its ring, freeing a control slot, noting ended multishots.
    pub(crate) fn complete(&mut self, e: &cqueue::Entry) -> Result<Completion, UnknownCompletion> {
        let result = e.result();
        let unknown = |e: &cqueue::Entry| UnknownCompletion {
            user_data: e.user_data(),
            result: e.result(),
        };
        let Some((tag, idx)) = Tag::decode(e.user_data()) else {
            return Err(unknown(e));
        };
        let flags = e.flags();
        let more = cqueue::more(flags);
        if !more {
            self.inflight = self.inflight.saturating_sub(1);
        }
        let take = |this: &mut Uring, group: Group| -> Option<Buf> {
            let bid = cqueue::buffer_select(flags)?;
            match group {
                Group::Tun => this.tun.taken(),
                Group::Udp => this.udp.taken(),
            }
            Some(Buf {
                ring_id: this.id,
                group,
                bid,
                len: result.max(0) as u32,
            })
        };
        let (op, buf) = match tag {
            Tag::TunRead => {
                if !more {
                    self.tun_read_armed = false;
                }
                (Op::TunRead, take(self, Group::Tun))
            }
            Tag::UdpRecv => {
                if !more {
                    self.udp_recv_armed = false;
                }
                (Op::UdpRecv, take(self, Group::Udp))
            }
            Tag::TunWrite => {
                let bid = idx as u16;
                self.udp.push(bid);
                (
                    Op::TunWrite {
                        expected: self.write_len[usize::from(bid)],
                    },
                    None,
                )
            }
            Tag::UdpSend => {
                self.tun.push(idx as u16);
                (Op::UdpSend { control: false }, None)
            }
            Tag::ControlSend => {
                self.free_control.push(idx as u16);
                (Op::UdpSend { control: true }, None)
            }
            Tag::OutSend | Tag::OutGsoSend => {
                let slot = idx as u16;
                let out = self.send_out[usize::from(slot)];
                self.free_sends.push(slot);
                self.unref_out(out);
                let gso = tag == Tag::OutGsoSend;
                if gso && (result == -libc::EIO || result == -libc::EINVAL) {
                    self.stats.gso_refused += 1;
                    self.gso_enabled = false;
                }
                (Op::OutSend { gso }, None)
            }
            Tag::OutWrite => {
                let (out, expected) = split_out_write_index(idx);
                self.unref_out(out);
                (Op::OutWrite { expected }, None)
            }
            Tag::Signal => (Op::Signal, None),
            Tag::Timeout => (Op::Timeout { generation: idx }, None),
            Tag::TimeoutRemove => (Op::TimeoutRemove, None),
            Tag::Cancel => (Op::Cancel, None),
            Tag::Accept => {
                let client = self.complete_accept(result, more);
                (Op::Accept { client }, None)
            }
            Tag::ClientRead => match self.complete_client_read(idx) {
                Some(client) => (Op::ClientRead { client }, None),
                None => return Err(unknown(e)),
            },
            Tag::ClientSend => match self.complete_client_send(idx, result) {
                Some((client, unsent)) => (Op::ClientSend { client, unsent }, None),
                None => return Err(unknown(e)),
            },
        };
        Ok(Completion {
            op,
            result,
            more,
            buf,
        })
    }

    /// Whether a completion delivers a packet or datagram to process (a TUN read or UDP receive
    /// with a buffer), as opposed to the completion of something this loop sent.
    pub(crate) fn carries_packet(e: &cqueue::Entry) -> bool {
        matches!(
            Tag::decode(e.user_data()),
            Some((Tag::TunRead | Tag::UdpRecv, _))
        ) && e.result() > 0
            && cqueue::buffer_select(e.flags()).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_round_trips_with_its_index() {
        for tag in Tag::ALL {
            for idx in [0, 1, 0xffff, u32::MAX] {
                assert_eq!(Tag::decode(tag.user_data(idx)), Some((tag, idx)));
            }
        }
        // The tag values are the wire of in-flight requests: distinct, and never 0.
        let mut codes: Vec<u32> = Tag::ALL.iter().map(|&t| t as u32).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), Tag::ALL.len());
        assert!(!codes.contains(&0));
    }

    #[test]
    fn unknown_tags_are_not_decoded() {
        for user_data in [
            0,
            7,
            16 << 32,
            (16 << 32) | 5,
            u64::MAX,
            0xdead_beef_0000_0001,
        ] {
            assert_eq!(Tag::decode(user_data), None, "{user_data:#x}");
        }
    }

    #[test]
    fn out_write_index_keeps_buffer_and_length() {
        for (out, len) in [
            (0u16, 0usize),
            (1, 1500),
            ((MAX_OUT_BUFFERS - 1) as u16, OUT_LEN_LIMIT - 1),
            (5, 128 << 10),
        ] {
            assert_eq!(
                split_out_write_index(out_write_index(out, len)),
                (out, len as u32)
            );
        }
    }
}
