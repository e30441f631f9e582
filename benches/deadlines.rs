//! Criterion benchmarks of the per-peer deadline queue (`core::deadlines`) at 1, 1,000 and 100,000
//! peers: what an endpoint pays per packet to keep a peer's deadline filed, and per expiry.
//!
//! Run: `cargo bench --bench deadlines`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ringtun::core::Instant;
use ringtun::core::deadlines::DeadlineQueue;
use ringtun::core::peer_id::PeerId;
#[path = "support/rng.rs"]
pub mod rng;
use rng::Rng;

const PEER_COUNTS: [u32; 3] = [1, 1_000, 100_000];

/// Short runs: the whole `cargo bench` must stay quick on a small shared machine.
fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_millis(2500))
        .sample_size(50)
}

fn ms(ms: u64) -> Instant {
    Instant::from_nanos(ms * 1_000_000)
}

/// `peers` peers with deadlines spread over the next two minutes.
fn filled(peers: u32, rng: &mut Rng) -> DeadlineQueue {
    let mut queue = DeadlineQueue::with_capacity(peers as usize);
    for peer in 0..peers {
        queue.set(PeerId(peer), Some(ms(u64::from(rng.next_u32() % 120_000))));
    }
    queue
}

fn deadline_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("deadlines");
    for peers in PEER_COUNTS {
        let mut rng = Rng::from_seed([1; 32]);
        // Random peers and offsets, drawn outside the measured loop.
        let picks: Vec<(u32, u64)> = (0..4096)
            .map(|_| (rng.next_u32() % peers, u64::from(rng.next_u32() % 120_000)))
            .collect();

        // A packet to or from a peer moved its deadline: later (keepalive pushed back) or earlier
        // (a timer armed), then the endpoint asks for its next wake-up.
        let mut queue = filled(peers, &mut rng);
        let mut i = 0usize;
        group.bench_function(BenchmarkId::new("reschedule", peers), |b| {
            b.iter(|| {
                let (peer, offset) = picks[i % picks.len()];
                // Each pass over `picks` shifts the offsets, so no set repeats the last one.
                let shift = (i / picks.len()) as u64 * 7_919;
                i += 1;
                queue.set(PeerId(peer), Some(ms((offset + shift) % 120_000)));
                black_box(queue.next_deadline())
            })
        });

        // Steady state of expiries: the earliest peer is due, handled, and filed again later.
        let mut queue = filled(peers, &mut rng);
        let mut now = Instant::ZERO;
        let mut j = 0usize;
        group.bench_function(BenchmarkId::new("expire_and_refile", peers), |b| {
            b.iter(|| {
                now = queue.next_deadline().unwrap_or(now);
                if let Some(peer) = queue.pop_due(now) {
                    let (_, offset) = picks[j % picks.len()];
                    j += 1;
                    queue.set(peer, Some(now + Duration::from_millis(1 + offset)));
                }
                black_box(queue.next_deadline())
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = deadlines;
    config = quick();
    targets = deadline_benches
}
criterion_main!(deadlines);
