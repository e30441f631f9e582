//! The ring end to end on loopback sockets (no root needed): receives through the provided-buffer
//! ring, sends from buffers, control slots and output buffers (GSO), completions and draining.

use super::buffers::Group;
use super::completion::UnknownCompletion;
use super::*;
use std::cell::Cell;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;

/// Recvmsg multishot over loopback through the UDP ring with 4 buffers: more datagrams than
/// buffers end the multishot with ENOBUFS; recycling and re-arming receives the rest.
#[test]
fn udp_ring_recycles_and_rearms_after_enobufs() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    let c = small_config();
    // A's fd stands in for the TUN fd (never read from in this test).
    let sig = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut u = Uring::new(&c, sig.as_raw_fd(), a.as_raw_fd(), sig.as_raw_fd()).unwrap();
    let dst = a.local_addr().unwrap();
    for i in 0..10u8 {
        b.send_to(&[i; 100], dst).unwrap();
    }
    u.arm_udp_recv();
    let mut got = Vec::new();
    let mut enobufs = 0;
    let mut cqes = Vec::with_capacity(16);
    for _ in 0..100 {
        if got.len() == 10 {
            break;
        }
        u.submit_and_wait(1).unwrap();
        let n = u.reap(&mut cqes);
        let mut held = Vec::new();
        for e in &cqes[..n] {
            let c = u.complete(e).unwrap();
            assert_eq!(c.op, Op::UdpRecv);
            if c.result == -libc::ENOBUFS {
                enobufs += 1;
            }
            if let Some(b) = c.buf {
                held.push(b);
            }
        }
        // Hold all buffers until the batch ends, then check and recycle them.
        for buf in held {
            let (from, start, len) = u.received_datagram(&buf).unwrap();
            assert_eq!(from, b.local_addr().unwrap());
            let slot = u.slot_mut(&buf);
            assert_eq!(len, 100);
            got.push(slot[start]);
            assert!(slot[start..start + len].iter().all(|&x| x == slot[start]));
            u.recycle(buf);
        }
        u.rearm_reads();
    }
    assert_eq!(got, (0..10).collect::<Vec<u8>>());
    assert!(
        enobufs >= 1,
        "4 buffers for 10 queued datagrams must run out"
    );
    assert_eq!(u.available(Group::Udp), 4);
}

#[test]
fn drain_cancels_every_request() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let c = small_config();
    let mut u = Uring::new(&c, a.as_raw_fd(), a.as_raw_fd(), a.as_raw_fd()).unwrap();
    u.arm_udp_recv();
    let g = u.push_timeout(Duration::from_secs(3600));
    u.push_timeout_remove(g.wrapping_add(100)); // a timeout that does not exist: -ENOENT
    u.submit_and_wait(1).unwrap();
    assert!(u.inflight() >= 2, "recv and timeout still pending");
    assert!(u.drain());
    assert_eq!(u.inflight(), 0);
    assert!(!u.udp_recv_armed());
}

/// A CQE with a tag this ring never sets is an error for the caller to count, not a completion
/// of one of the ring's requests: nothing in flight is accounted as done.
#[test]
fn unknown_completion_is_an_error_and_frees_nothing() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let c = small_config();
    let mut u = Uring::new(&c, a.as_raw_fd(), a.as_raw_fd(), a.as_raw_fd()).unwrap();
    u.arm_udp_recv();
    let stray = (0xdead_u64 << 32) | 5;
    let nop = opcode::Nop::new().build().user_data(stray);
    // SAFETY: a no-op references no memory. Pushed around `Uring::push`, so it is not counted in
    // `inflight`, like a CQE that is none of the ring's requests.
    unsafe { u.ring.submission().push(&nop).unwrap() };
    u.submit_and_wait(1).unwrap();
    let mut cqes = Vec::with_capacity(4);
    assert_eq!(u.reap(&mut cqes), 1);
    assert_eq!(
        u.complete(&cqes[0]).unwrap_err(),
        UnknownCompletion {
            user_data: stray,
            result: 0
        }
    );
    assert_eq!(u.inflight(), 1, "the armed receive is still in flight");
    assert!(u.udp_recv_armed());
}

/// A dual-stack IPv6 socket: sends to an IPv4 peer go out as IPv4-mapped, and the sender of
/// a received datagram comes back as plain IPv4.
#[test]
fn dual_stack_socket_talks_to_ipv4_peers() {
    let a = UdpSocket::bind("[::]:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    b.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert!(crate::sys::udp::socket_is_ipv6(a.as_raw_fd()));
    let c = small_config();
    let mut u = Uring::new(&c, a.as_raw_fd(), a.as_raw_fd(), a.as_raw_fd()).unwrap();
    let slot = u.take_control_slot().unwrap();
    u.control_mut(&slot)[..2].copy_from_slice(b"hi");
    u.push_control_send(slot, 2, &b.local_addr().unwrap());
    u.submit_and_wait(1).unwrap();
    let mut rx = [0u8; 8];
    let (n, _) = b.recv_from(&mut rx).unwrap();
    assert_eq!(&rx[..n], b"hi");
    let a_port = a.local_addr().unwrap().port();
    b.send_to(b"yo", ("127.0.0.1", a_port)).unwrap();
    u.arm_udp_recv();
    let mut cqes = Vec::with_capacity(8);
    let mut got = None;
    for _ in 0..10 {
        u.submit_and_wait(1).unwrap();
        u.reap(&mut cqes);
        for e in &cqes {
            if let Some(buf) = u.complete(e).unwrap().buf {
                let (from, start, len) = u.received_datagram(&buf).unwrap();
                got = Some((from, u.slot_mut(&buf)[start..start + len].to_vec()));
                u.recycle(buf);
            }
        }
        if got.is_some() {
            break;
        }
    }
    assert_eq!(got, Some((b.local_addr().unwrap(), b"yo".to_vec())));
}

#[test]
fn control_slots_run_out_and_come_back() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    b.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut c = small_config();
    c.control_slots = 2;
    let mut u = Uring::new(&c, a.as_raw_fd(), a.as_raw_fd(), a.as_raw_fd()).unwrap();
    let s1 = u.take_control_slot().unwrap();
    let s2 = u.take_control_slot().unwrap();
    assert!(u.take_control_slot().is_none());
    let dst = b.local_addr().unwrap();
    u.control_mut(&s1)[..3].copy_from_slice(b"one");
    u.push_control_send(s1, 3, &dst);
    u.release_control_slot(s2);
    u.submit_and_wait(1).unwrap();
    let mut cqes = Vec::with_capacity(4);
    let n = u.reap(&mut cqes);
    assert_eq!(n, 1);
    let done = u.complete(&cqes[0]).unwrap();
    assert_eq!(done.op, Op::UdpSend { control: true });
    assert_eq!(done.result, 3);
    let mut rx = [0u8; 16];
    let (len, from) = b.recv_from(&mut rx).unwrap();
    assert_eq!((&rx[..len], from), (&b"one"[..], a.local_addr().unwrap()));
    assert!(u.take_control_slot().is_some());
    assert!(u.take_control_slot().is_some());
    assert_eq!(u.inflight(), 0);
}

fn offload_config() -> UringConfig {
    let mut c = small_config();
    c.vnet_hdr_len = 10;
    c.recv_control_len = 64;
    c.max_packet = 65535;
    c.max_datagram = 65535;
    c.out_buffers = 2;
    c.out_len = 128 << 10;
    c.send_slots = 8;
    c
}

/// A ring config with 4 buffers of each group: enough for these tests, quick to set up.
fn small_config() -> UringConfig {
    let mut c = UringConfig::for_mtu(1420);
    c.tun_buffers = 4;
    c.udp_buffers = 4;
    c
}

/// Runs the ring until nothing but the UDP receive is in flight.
fn run_until_idle(u: &mut Uring, on: impl FnMut(&mut Uring, Completion)) {
    run_until(u, on, |u| {
        u.inflight() == 0 || (u.inflight() == 1 && u.udp_recv_armed())
    });
}

/// A GSO train from an output buffer to the ring's own GRO socket on loopback: the storage of
/// each send (msghdr, iovec, cmsg, address in the send slot) stays valid until it completes,
/// the buffer comes back only after its last send, and the receive side reports the train
/// with its segment size.
#[test]
fn gso_train_is_sent_from_slot_storage_and_received_as_gro() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    crate::sys::udp::enable_gro(&std::os::fd::OwnedFd::from(a.try_clone().unwrap())).unwrap();
    let c = offload_config();
    let mut u = Uring::new(&c, a.as_raw_fd(), a.as_raw_fd(), a.as_raw_fd()).unwrap();
    assert!(u.layout.tun.kernel_len() >= 65535 + 10);
    assert_eq!(
        u.layout.tun.headroom, 6,
        "vnet header right before the IP packet"
    );
    let dst = a.local_addr().unwrap();
    let stride = 800;
    // 150 datagrams: three GSO sends (64 + 64 + 22 segments; 64 * 800 < 65507).
    let n = 150;
    let total = (n - 1) * stride + 300;
    let out = u.take_out().unwrap();
    for (i, b) in u.out_mut(&out)[..total].iter_mut().enumerate() {
        *b = (i / stride) as u8;
    }
    assert_eq!(u.free_outs(), 1);
    let sends = u.push_out_sends(out, total, stride, &dst);
    assert_eq!(sends, 3);
    assert_eq!(u.free_send_slots(), 5);
    assert_eq!(u.free_outs(), 1, "held by its sends");
    u.arm_udp_recv();
    let mut got: Vec<(usize, usize)> = Vec::new(); // (len, segment)
    let mut bytes = Vec::new();
    let mut sent = 0;
    let mut cqes = Vec::with_capacity(64);
    for _ in 0..100 {
        if bytes.len() >= total && sent == 3 {
            break;
        }
        u.submit_and_wait(1).unwrap();
        u.reap(&mut cqes);
        for e in &cqes {
            let comp = u.complete(e).unwrap();
            match comp.op {
                Op::OutSend { gso } => {
                    assert!(gso);
                    assert!(comp.result > 0, "send failed: {}", comp.result);
                    sent += 1;
                }
                Op::UdpRecv => {
                    if let Some(b) = comp.buf {
                        let d = u.received_train(&b).unwrap();
                        assert_eq!(d.from, dst);
                        got.push((d.len, d.segment));
                        bytes.extend_from_slice(&u.slot_mut(&b)[d.start..d.start + d.len]);
                        u.recycle(b);
                    }
                }
                op => panic!("unexpected {op:?}"),
            }
        }
        u.rearm_reads();
    }
    assert_eq!(sent, 3);
    assert_eq!(bytes.len(), total, "{got:?}");
    for (i, b) in bytes.iter().enumerate() {
        assert_eq!(*b, (i / stride) as u8);
    }
    assert!(
        got.iter().any(|&(len, seg)| seg == stride && len > stride),
        "GRO trains with their segment size: {got:?}"
    );
    assert_eq!(u.free_outs(), 2);
    assert_eq!(u.free_send_slots(), 8);
}

/// A GSO send the kernel refuses (more segments than UDP_MAX_SEGMENTS, 64 or 128 depending
/// on the kernel: EINVAL) turns GSO off; later trains
/// go out one datagram per send.
#[test]
fn refused_gso_falls_back_to_plain_sends() {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    b.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let c = offload_config();
    let mut u = Uring::new(&c, a.as_raw_fd(), a.as_raw_fd(), a.as_raw_fd()).unwrap();
    let dst = b.local_addr().unwrap();
    let out = u.take_out().unwrap();
    let idx = out.idx;
    assert!(u.push_out_send(idx, 0, 200 * 100, Some(100), &dst));
    u.release_out(out);
    let mut results = Vec::new();
    run_until_idle(&mut u, |_, c| results.push((c.op, c.result)));
    assert_eq!(results, vec![(Op::OutSend { gso: true }, -libc::EINVAL)]);
    assert!(!u.gso_enabled());
    assert_eq!(u.stats().gso_refused, 1);
    assert_eq!(u.free_outs(), 2);
    let out = u.take_out().unwrap();
    u.out_mut(&out)[..250].fill(9);
    assert_eq!(u.push_out_sends(out, 250, 100, &dst), 3);
    let mut lens = Vec::new();
    run_until_idle(&mut u, |_, c| {
        assert_eq!(c.op, Op::OutSend { gso: false });
        lens.push(c.result);
    });
    assert_eq!(lens, vec![100, 100, 50]);
    let mut rx = [0u8; 256];
    for want in [100, 100, 50] {
        assert_eq!(b.recv(&mut rx).unwrap(), want);
    }
    assert_eq!(u.free_outs(), 2);
}

fn client_config(slots: u16) -> UringConfig {
    let mut c = small_config();
    c.client_slots = slots;
    c.client_buf_len = 64;
    c
}

/// A non-blocking listener on a unique abstract unix address (nothing on the filesystem), as the
/// control socket is non-blocking.
fn abstract_listener() -> (
    std::os::unix::net::UnixListener,
    std::os::unix::net::SocketAddr,
) {
    use std::os::linux::net::SocketAddrExt;
    use std::sync::atomic::AtomicUsize;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "ringtun-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name).unwrap();
    let l = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();
    l.set_nonblocking(true).unwrap();
    (l, addr)
}

/// A ring with `clients` client slots listening on a fresh [`abstract_listener`]. The UDP socket
/// stands in for the TUN, UDP and signal fds these tests leave alone; keep it while the ring lives.
fn listening_ring(
    clients: u16,
) -> (
    Uring,
    UdpSocket,
    std::os::unix::net::UnixListener,
    std::os::unix::net::SocketAddr,
) {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (listener, addr) = abstract_listener();
    let mut u = Uring::new(
        &client_config(clients),
        a.as_raw_fd(),
        a.as_raw_fd(),
        a.as_raw_fd(),
    )
    .unwrap();
    u.listen(listener.as_raw_fd());
    (u, a, listener, addr)
}

/// Runs the ring until `done` says so, handing every completion to `on`.
fn run_until(
    u: &mut Uring,
    mut on: impl FnMut(&mut Uring, Completion),
    mut done: impl FnMut(&Uring) -> bool,
) {
    let mut cqes = Vec::with_capacity(64);
    for _ in 0..500 {
        if done(u) {
            return;
        }
        u.submit_and_wait(1).unwrap();
        u.reap(&mut cqes);
        for e in &cqes {
            let c = u.complete(e).unwrap();
            on(u, c);
        }
    }
    panic!("not done; {} requests in flight", u.inflight());
}

/// Connections on the listener get slots while there are free ones, and later ones are closed at
/// once; a client's bytes arrive in its buffer, its reply goes out from the slot, and closing the
/// slot ends the connection; an idle client's read is cancelled.
#[test]
fn control_clients_are_accepted_answered_refused_and_cancelled() {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    let (mut u, _udp, _listener, addr) = listening_ring(2);
    assert!(u.accept_armed());
    let mut talker = UnixStream::connect_addr(&addr).unwrap();
    talker.write_all(b"get=1\n\n").unwrap();
    let mut idle = UnixStream::connect_addr(&addr).unwrap();
    let mut refused = UnixStream::connect_addr(&addr).unwrap();
    for s in [&talker, &idle, &refused] {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    let mut accepted = Vec::new();
    let (turned_away, replied) = (Cell::new(0), Cell::new(false));
    run_until(
        &mut u,
        |u, c| match c.op {
            Op::Accept { client: Some(id) } => {
                assert!(c.more, "the multishot accept stays armed");
                accepted.push(id);
                u.push_client_read(id);
            }
            Op::Accept { client: None } => {
                assert!(c.result >= 0, "accept failed: {}", c.result);
                turned_away.set(turned_away.get() + 1);
            }
            Op::ClientRead { client } => {
                assert_eq!(client, accepted[0], "only the talker sends");
                assert_eq!(c.result, 7);
                assert_eq!(u.client_input(client, 7), b"get=1\n\n");
                u.push_client_reply(client, crate::uapi::status_reply(Ok(())));
                assert!(u.client_busy(client));
            }
            Op::ClientSend { client, unsent } => {
                assert_eq!((c.result, unsent), (9, 0));
                u.close_client(client);
                replied.set(true);
            }
            op => panic!("unexpected {op:?}"),
        },
        |_| replied.get() && turned_away.get() == 1,
    );
    assert_eq!(accepted.len(), 2);
    assert_eq!(u.free_clients(), 1, "the talker's slot is free again");
    let mut got = Vec::new();
    talker.read_to_end(&mut got).unwrap();
    assert_eq!(
        got, b"errno=0\n\n",
        "the reply, then the end of the connection"
    );
    assert_eq!(refused.read(&mut [0u8; 8]).unwrap(), 0, "closed at once");

    // The idle client: its read is cancelled, then the slot closed.
    let idle_id = accepted[1];
    assert!(u.cancel_client(idle_id));
    let cancelled = Cell::new(false);
    run_until(
        &mut u,
        |u, c| match c.op {
            Op::ClientRead { client } => {
                assert_eq!((client, c.result), (idle_id, -libc::ECANCELED));
                u.close_client(client);
                cancelled.set(true);
            }
            Op::Cancel => assert_eq!(c.result, 0),
            op => panic!("unexpected {op:?}"),
        },
        |u| cancelled.get() && u.inflight() == 1,
    );
    assert_eq!(idle.read(&mut [0u8; 8]).unwrap(), 0);
    assert_eq!(u.free_clients(), 2);
    assert!(u.accept_armed() && u.drain());
    assert!(!u.accept_armed());
}

/// A reply larger than the socket takes at once goes out in several sends from the slot's copy,
/// and arrives whole.
#[test]
fn a_long_reply_is_sent_in_parts() {
    use std::io::Read;
    use std::os::unix::net::UnixStream;
    let (mut u, _udp, _listener, addr) = listening_ring(1);
    let client = UnixStream::connect_addr(&addr).unwrap();
    let snapshot = crate::uapi::Snapshot {
        peers: (0..4000u32)
            .map(|i| {
                let mut key = [0u8; 32];
                key[..4].copy_from_slice(&i.to_be_bytes());
                crate::uapi::PeerSnapshot::new(crate::uapi::PublicKey::from_bytes(key))
            })
            .collect(),
        ..Default::default()
    };
    let expected = crate::uapi::get_reply(&snapshot).as_bytes().to_vec();
    assert!(expected.len() > 1 << 20, "{} bytes", expected.len());
    let reader = std::thread::spawn(move || {
        let mut c = client;
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        got
    });
    let mut sends = 0;
    let done = Cell::new(false);
    run_until(
        &mut u,
        |u, c| match c.op {
            Op::Accept { client: Some(id) } => {
                u.push_client_reply(id, crate::uapi::get_reply(&snapshot));
            }
            Op::ClientSend { client, unsent } => {
                assert!(c.result > 0, "send failed: {}", c.result);
                sends += 1;
                if unsent > 0 {
                    u.push_client_reply_rest(client);
                } else {
                    u.close_client(client);
                    done.set(true);
                }
            }
            op => panic!("unexpected {op:?}"),
        },
        |_| done.get(),
    );
    assert!(sends >= 2, "more than one send: {sends}");
    assert_eq!(reader.join().unwrap(), expected);
}
