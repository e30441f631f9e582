//! Criterion benchmarks of the core. Each `criterion_group!` is one area; add a new area as a
//! function plus a group below and list it in `criterion_main!`.
//!
//! Run: `cargo bench --bench core` (all), or e.g. `cargo bench --bench core -- aead/seal`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ringtun::core::aead::{self, KEY_LEN};
use ringtun::core::endpoint::MAX_CONTROL_LEN;
use ringtun::core::replay::ReplayWindow;
use ringtun::core::wire::{self, DATA_HEADER_LEN, DataHeader, Packet, TAG_LEN};
use ringtun::core::{
    DropReason, Endpoint, EndpointConfig, Instant, Received, Role, Timers, TunnelConfig,
};
use std::net::SocketAddr;

/// IP packet sizes: a small TCP ACK-ish packet, a medium one, a full-MTU one.
const PACKET_SIZES: [usize; 3] = [64, 512, 1420];

/// Short runs: the whole `cargo bench` must stay quick on a small shared machine.
fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_millis(2500))
        .sample_size(50)
}

const KEY: [u8; KEY_LEN] = [0x42; KEY_LEN];

/// A transport datagram as it lies in a receive buffer: header, ciphertext, tag.
fn sealed_datagram(payload_len: usize, counter: u64) -> Vec<u8> {
    let header = DataHeader {
        receiver_index: 0x1234_5678,
        counter,
    }
    .encode();
    let mut datagram = header.to_vec();
    datagram.extend((0..payload_len).map(|i| i as u8));
    let nonce = aead::nonce_from_counter(counter);
    let tag = aead::seal_in_place(&KEY, &nonce, &header, &mut datagram[DATA_HEADER_LEN..]);
    datagram.extend_from_slice(&tag);
    datagram
}

/// Splits a datagram into header, ciphertext and tag the way the receive path does.
fn open_datagram(datagram: &mut [u8]) -> Result<(), aead::AuthError> {
    let (header, rest) = datagram.split_at_mut(DATA_HEADER_LEN);
    let (ciphertext, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
    let tag: &[u8; TAG_LEN] = (&*tag).try_into().unwrap();
    let counter = u64::from_le_bytes(header[8..16].try_into().unwrap());
    aead::open_in_place(
        &KEY,
        &aead::nonce_from_counter(counter),
        header,
        ciphertext,
        tag,
    )
}

fn aead_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("aead");
    for size in PACKET_SIZES {
        group.throughput(Throughput::Bytes(size as u64));

        let mut payload = vec![0xabu8; size];
        let header = [3u8; DATA_HEADER_LEN];
        let mut counter = 0u64;
        group.bench_function(format!("seal/{size}"), |b| {
            b.iter(|| {
                counter += 1;
                let nonce = aead::nonce_from_counter(counter);
                black_box(aead::seal_in_place(
                    &KEY,
                    &nonce,
                    black_box(&header),
                    black_box(&mut payload),
                ))
            })
        });

        // Opening decrypts in place, so each iteration gets a fresh copy (made outside the timing).
        let datagram = sealed_datagram(size, 7);
        group.bench_function(format!("open/{size}"), |b| {
            b.iter_batched_ref(
                || datagram.clone(),
                |datagram| open_datagram(black_box(datagram)).unwrap(),
                BatchSize::SmallInput,
            )
        });

        // One packet sent and received: the figure docs/DESIGN.md compares across builds.
        group.bench_function(format!("seal_open/{size}"), |b| {
            b.iter(|| {
                counter += 1;
                let nonce = aead::nonce_from_counter(counter);
                let tag = aead::seal_in_place(&KEY, &nonce, &header, black_box(&mut payload));
                aead::open_in_place(&KEY, &nonce, &header, black_box(&mut payload), &tag).unwrap();
            })
        });

        // A forged packet costs the MAC only (no decryption) and leaves the buffer unchanged, so
        // the same buffer can be reused.
        let mut forged = sealed_datagram(size, 9);
        let last = forged.len() - 1;
        forged[last] ^= 1;
        group.bench_function(format!("open_forged/{size}"), |b| {
            b.iter(|| open_datagram(black_box(&mut forged)).unwrap_err())
        });
    }
    group.finish();
}

fn wire_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("wire");
    let mut datagram = sealed_datagram(1420, 1);
    group.bench_function("parse_data/1420", |b| {
        b.iter(|| match wire::parse(black_box(&mut datagram)) {
            Ok(Packet::Data { header, body, .. }) => black_box((header.counter, body.len())),
            _ => unreachable!(),
        })
    });
    group.finish();
}

fn replay_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements(1));
    let mut window = ReplayWindow::new();
    let mut next = 0u64;
    group.bench_function("accept_in_order", |b| {
        b.iter(|| {
            let accepted = window.accept(black_box(next));
            next += 1;
            accepted
        })
    });
    // Neighbours swapped: 1, 0, 3, 2, ... as from a multi-queue NIC.
    let mut window = ReplayWindow::new();
    let mut next = 0u64;
    group.bench_function("accept_reordered", |b| {
        b.iter(|| {
            let accepted = window.accept(black_box(next ^ 1));
            next += 1;
            accepted
        })
    });
    group.finish();
}

/// A client and a server endpoint with a session up, by running the handshake in memory.
fn established_pair() -> (Endpoint, Endpoint, SocketAddr, SocketAddr) {
    let server_addr: SocketAddr = "192.0.2.1:51820".parse().unwrap();
    let client_addr: SocketAddr = "198.51.100.7:4000".parse().unwrap();
    let now = Instant::from_nanos(1);
    let tunnel = TunnelConfig {
        mtu: 1420,
        ipv4: None,
        ipv6: None,
    };
    let cfg = |role| EndpointConfig {
        psk: KEY,
        role,
        tunnel,
        timers: Timers::default(),
    };
    let mut client = Endpoint::new(
        cfg(Role::Initiator {
            server: server_addr,
        }),
        [1; 32],
        now,
        1 << 60,
    );
    let mut server = Endpoint::new(cfg(Role::Responder), [2; 32], now, 1 << 60);
    let mut buf = [0u8; MAX_CONTROL_LEN];
    client.handle_timeout(now);
    for _ in 0..4 {
        while let Some(t) = client.poll_transmit(now, &mut buf) {
            server.handle_datagram(now, client_addr, &mut buf[..t.len]);
        }
        while let Some(t) = server.poll_transmit(now, &mut buf) {
            client.handle_datagram(now, server_addr, &mut buf[..t.len]);
        }
    }
    assert!(client.is_up() && server.is_up(), "handshake failed");
    (client, server, client_addr, server_addr)
}

/// An IPv4 packet of `len` bytes in a buffer with room for the transport header and tag.
fn ip_in_buffer(len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; DATA_HEADER_LEN + len + TAG_LEN];
    buf[DATA_HEADER_LEN] = 0x45;
    buf[DATA_HEADER_LEN + 2..DATA_HEADER_LEN + 4].copy_from_slice(&(len as u16).to_be_bytes());
    buf
}

/// The endpoint's data path as the driver calls it: seal of a TUN packet, receive of a genuine
/// datagram (lookup, open, replay window, inner-length check), and the cost of dropping forgeries.
fn endpoint_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("endpoint");
    let now = Instant::from_nanos(2);
    for len in PACKET_SIZES {
        group.throughput(Throughput::Bytes(len as u64));
        let (mut client, _, _, _) = established_pair();
        let mut buf = ip_in_buffer(len);
        group.bench_function(format!("seal/{len}"), |b| {
            b.iter(|| client.seal(now, black_box(&mut buf), len).unwrap())
        });

        let (mut client, mut server, client_addr, _) = established_pair();
        group.bench_function(format!("receive/{len}"), |b| {
            b.iter_batched_ref(
                || {
                    let mut d = ip_in_buffer(len);
                    let t = client.seal(now, &mut d, len).unwrap();
                    d.truncate(t.len);
                    d
                },
                |d| {
                    assert!(matches!(
                        server.handle_datagram(now, client_addr, d),
                        Received::Deliver { .. }
                    ))
                },
                BatchSize::SmallInput,
            )
        });

        // A forged datagram for a live session with a fresh counter: the worst case for a forger,
        // a full tag check, then the drop.
        let (mut client, mut server, client_addr, _) = established_pair();
        let mut forged = ip_in_buffer(len);
        let t = client.seal(now, &mut forged, len).unwrap();
        forged.truncate(t.len);
        *forged.last_mut().unwrap() ^= 1;
        group.bench_function(format!("forged_drop/{len}"), |b| {
            b.iter(|| {
                let r = server.handle_datagram(now, client_addr, black_box(&mut forged));
                assert_eq!(r, Received::Dropped(DropReason::AuthFailed));
            })
        });
    }
    group.throughput(Throughput::Elements(1));
    let (_, mut server, client_addr, _) = established_pair();
    let mut unknown = sealed_datagram(64, 7);
    group.bench_function("unknown_session_drop", |b| {
        b.iter(|| server.handle_datagram(now, client_addr, black_box(&mut unknown)))
    });
    let mut forged_init = [0u8; wire::INITIATION_LEN];
    forged_init[0] = wire::MSG_INITIATION;
    group.bench_function("forged_initiation_drop", |b| {
        b.iter(|| {
            let r = server.handle_datagram(now, client_addr, black_box(&mut forged_init));
            assert_eq!(r, Received::Dropped(DropReason::HandshakeAuthFailed));
        })
    });
    group.finish();
}

criterion_group! {
    name = core_primitives;
    config = quick();
    targets = aead_benches, wire_benches, replay_benches, endpoint_benches
}
criterion_main!(core_primitives);
