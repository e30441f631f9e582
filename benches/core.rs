//! Criterion benchmarks of the core's primitives: the AEAD, parsing a transport message, the
//! replay window. Each `criterion_group!` is one area; add a new area as a function plus a group
//! below and list it in `criterion_main!`. The device's send, receive and drop paths (what the
//! driver calls per packet) are `benches/device.rs`.
//!
//! Run: `cargo bench --bench core` (all), or e.g. `cargo bench --bench core -- aead/seal`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ringtun::core::aead::{self, KEY_LEN};
use ringtun::core::noise::messages::{MSG_TRANSPORT, Transport};
use ringtun::core::replay::ReplayWindow;
use ringtun::core::{DATA_HEADER_LEN, TAG_LEN};

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

/// WireGuard's type-4 header: type, three zero bytes, receiver index, counter (little-endian).
fn transport_header(receiver_index: u32, counter: u64) -> [u8; DATA_HEADER_LEN] {
    let mut header = [0u8; DATA_HEADER_LEN];
    header[0] = MSG_TRANSPORT;
    header[4..8].copy_from_slice(&receiver_index.to_le_bytes());
    header[8..16].copy_from_slice(&counter.to_le_bytes());
    header
}

/// A transport datagram as it lies in a receive buffer: header, ciphertext, tag. (The AEAD
/// benches authenticate the 16 header bytes as associated data, as they always have, so their
/// figures stay comparable; WireGuard's own transport passes none, which costs a little less.)
fn sealed_datagram(payload_len: usize, counter: u64) -> Vec<u8> {
    let header = transport_header(0x1234_5678, counter);
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
        let header = transport_header(0x1234_5678, 1);
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
    let datagram = sealed_datagram(1420, 1);
    group.bench_function("parse_transport/1420", |b| {
        b.iter(|| {
            let t = Transport::new_checked(black_box(&datagram[..])).unwrap();
            black_box((t.receiver_index(), t.counter(), t.sealed_packet().len()))
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

criterion_group! {
    name = core_primitives;
    config = quick();
    targets = aead_benches, wire_benches, replay_benches
}
criterion_main!(core_primitives);
