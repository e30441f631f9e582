//! Criterion benchmarks of the WireGuard handshake core (`core::noise`): what it costs a responder
//! to reject forged initiations (the flood case mac1 and cookies exist for) and to complete a
//! genuine handshake.
//!
//! Run: `cargo bench --bench handshake`, or e.g. `cargo bench --bench handshake -- bad_mac1`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ringtun::core::Instant;
use ringtun::core::noise::cookie::CookieChecker;
use ringtun::core::noise::messages::{INITIATION_LEN, Initiation, RESPONSE_LEN, Response, field};
use ringtun::core::noise::testing::{Pair, TestEntropy, WALL_NANOS, rewrite_mac1};
use ringtun::core::noise::{Entropy, PeerCookie, Tai64N, create_initiation, identify_initiation};

/// Short runs, as in benches/core.rs.
fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_millis(2500))
        .sample_size(50)
}

/// Deterministic bytes (a benchmark needs no real randomness) and peers configured for each other.
fn setup() -> Pair {
    Pair::new(None)
}

/// An initiation of random-looking bytes with the right type and, if `good_mac1`, a correct mac1
/// (anyone who knows the responder's public key can make one).
fn forged_initiation(setup: &Pair, good_mac1: bool) -> [u8; INITIATION_LEN] {
    let mut bytes = [0u8; INITIATION_LEN];
    TestEntropy::new(99).fill(&mut bytes);
    bytes[..4].copy_from_slice(&[1, 0, 0, 0]);
    if good_mac1 {
        rewrite_mac1(
            &mut bytes,
            field::initiation::MAC1,
            setup.responder.public_key(),
        );
    }
    bytes
}

fn responder_benches(c: &mut Criterion) {
    let setup = setup();
    let mut group = c.benchmark_group("handshake");

    let bad_mac1 = forged_initiation(&setup, false);
    group.bench_function("forged_initiation_bad_mac1", |b| {
        b.iter(|| {
            let view = Initiation::new_checked(black_box(&bad_mac1[..])).unwrap();
            assert!(!CookieChecker::check_mac1(&setup.responder, &view));
        })
    });

    let good_mac1 = forged_initiation(&setup, true);
    group.bench_function("forged_initiation_good_mac1", |b| {
        b.iter(|| {
            let view = Initiation::new_checked(black_box(&good_mac1[..])).unwrap();
            assert!(CookieChecker::check_mac1(&setup.responder, &view));
            assert!(identify_initiation(&setup.responder, &view).is_err());
        })
    });

    let mut entropy = TestEntropy::new(0);
    let (_, initiation) = setup.initiation(7, &mut entropy);
    let mut cookie = PeerCookie::new();
    let mut response = [0u8; RESPONSE_LEN];
    group.bench_function("valid_initiation_consume_and_respond", |b| {
        b.iter(|| {
            let view = Initiation::new_checked(black_box(&initiation[..])).unwrap();
            assert!(CookieChecker::check_mac1(&setup.responder, &view));
            let consumed = identify_initiation(&setup.responder, &view)
                .unwrap()
                .open_timestamp(&setup.to_initiator)
                .unwrap();
            black_box(
                consumed
                    .create_response(
                        &setup.to_initiator,
                        &mut cookie,
                        8,
                        Instant::ZERO,
                        &mut entropy,
                        &mut response,
                    )
                    .unwrap(),
            );
        })
    });
    group.finish();
}

fn initiator_benches(c: &mut Criterion) {
    let setup = setup();
    let mut group = c.benchmark_group("handshake");
    let mut entropy = TestEntropy::new(0);
    let mut cookie = PeerCookie::new();
    let mut initiation = [0u8; INITIATION_LEN];
    group.bench_function("create_initiation", |b| {
        b.iter(|| {
            black_box(
                create_initiation(
                    &setup.to_responder,
                    &mut cookie,
                    7,
                    Tai64N::from_unix_nanos(WALL_NANOS),
                    Instant::ZERO,
                    &mut entropy,
                    &mut initiation,
                )
                .unwrap(),
            );
        })
    });
    group.bench_function("consume_response", |b| {
        b.iter_batched(
            || {
                let (state, initiation) = setup.initiation(7, &mut entropy);
                let response = setup.response(&initiation, 8, &mut TestEntropy::new(1_000_000));
                (state, response)
            },
            |(state, response)| {
                let view = Response::new_checked(&response[..]).unwrap();
                black_box(
                    state
                        .consume_response(&setup.initiator, &setup.to_responder, &view)
                        .unwrap(),
                );
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = handshake;
    config = quick();
    targets = responder_benches, initiator_benches
}
criterion_main!(handshake);
