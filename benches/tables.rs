//! Criterion benchmarks of the multi-peer lookup tables: AllowedIPs (longest-prefix match), receiver
//! indices and peers by public key, at 1, 1,000 and 100,000 peers.
//!
//! Run: `cargo bench --bench tables` (all), or e.g. `cargo bench --bench tables -- allowed_ips/v4`.
//! Before the benchmarks it prints the memory per peer of each table (resident-set growth while
//! building the 100,000-peer tables, read from /proc/self/statm).

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ringtun::core::allowed_ips::AllowedIps;
use ringtun::core::index_table::IndexTable;
use ringtun::core::ip_prefix::IpPrefix;
use ringtun::core::keyed_hash::HashKey;
use ringtun::core::keys::PublicKey;
use ringtun::core::peer_id::PeerId;
use ringtun::core::peer_table::PeerTable;
#[path = "support/rng.rs"]
pub mod rng;
use rng::Rng;

const PEER_COUNTS: [u32; 3] = [1, 1_000, 100_000];
/// Addresses looked up in turn: more than fit in L1, in random order, so a large table is probed
/// all over as real traffic from many peers would.
const LOOKUPS: usize = 4096;
/// Session indices per peer: a handshake in flight and the current and previous sessions.
const INDICES_PER_PEER: u32 = 3;

fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_millis(2500))
        .sample_size(50)
}

fn peer_v4(n: u32) -> Ipv4Addr {
    // 10.0.0.1 onwards: how operators number peers.
    Ipv4Addr::from(0x0a00_0001 + n)
}

fn peer_v6(n: u32) -> Ipv6Addr {
    Ipv6Addr::from(0xfd00_0000_0000_0000_0000_0000_0000_0001u128 + u128::from(n))
}

/// Each peer one /32 and one /128; peer 0 also owns a few wider prefixes (a hub's LAN routes and
/// a default route), so a lookup probes four lengths per family before falling back to /0.
fn allowed_ips(peers: u32) -> AllowedIps {
    let mut t = AllowedIps::new(HashKey::from_bytes([0x5a; 16]));
    for n in 0..peers {
        t.insert(IpPrefix::host(peer_v4(n).into()), PeerId(n));
        t.insert(IpPrefix::host(peer_v6(n).into()), PeerId(n));
    }
    for wide in [
        "10.0.0.0/8",
        "192.168.0.0/16",
        "0.0.0.0/0",
        "fd00::/64",
        "fd00::/16",
        "::/0",
    ] {
        t.insert(wide.parse().unwrap(), PeerId(0));
    }
    t
}

/// The session slot an index names, as the endpoint will keep it: an enum, so `Option` of the
/// entry costs no extra byte.
#[derive(Clone, Copy)]
enum Slot {
    Handshake,
    Current,
    Previous,
}

fn index_table(peers: u32, rng: &mut Rng) -> (IndexTable<(PeerId, Slot)>, Vec<u32>) {
    let mut t = IndexTable::with_capacity((peers * INDICES_PER_PEER) as usize);
    let mut indices = Vec::new();
    for n in 0..peers {
        for slot in [Slot::Handshake, Slot::Current, Slot::Previous] {
            loop {
                let index = rng.next_u32();
                if t.insert(index, (PeerId(n), slot)).is_ok() {
                    indices.push(index);
                    break;
                }
            }
        }
    }
    (t, indices)
}

fn peer_key(n: u32) -> PublicKey {
    let mut k = [0u8; 32];
    Rng::from_seed([n as u8; 32]).fill(&mut k);
    k[..4].copy_from_slice(&n.to_le_bytes());
    PublicKey::from_bytes(k)
}

fn peer_table(peers: u32) -> PeerTable {
    let mut t = PeerTable::new(peers, HashKey::from_bytes([0xa5; 16]));
    for n in 0..peers {
        t.add(peer_key(n)).unwrap();
    }
    t
}

/// Resident memory in bytes.
fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Memory per peer of each table at 100,000 peers, measured as resident-set growth.
fn report_memory() {
    const PEERS: u32 = 100_000;
    let before = rss_bytes();
    let a = allowed_ips(PEERS);
    let after_allowed = rss_bytes();
    let (i, indices) = index_table(PEERS, &mut Rng::from_seed([1; 32]));
    // Less the list of indices the benchmark keeps beside the table.
    let after_index = rss_bytes() - indices.capacity() * size_of::<u32>();
    let p = peer_table(PEERS);
    let after_peers = rss_bytes();
    let per_peer = |from: usize, to: usize| (to - from) as f64 / f64::from(PEERS);
    eprintln!(
        "memory per peer at {PEERS} peers: allowed_ips (one /32 + one /128) {:.0} B, \
         index_table ({INDICES_PER_PEER} indices) {:.0} B, peer_table {:.0} B",
        per_peer(before, after_allowed),
        per_peer(after_allowed, after_index),
        per_peer(after_index, after_peers),
    );
    black_box((a.len(), i.len(), p.len()));
}

fn random_picks<T: Copy>(rng: &mut Rng, from: &[T]) -> Vec<T> {
    (0..LOOKUPS)
        .map(|_| from[rng.next_u32() as usize % from.len()])
        .collect()
}

fn allowed_ips_benches(c: &mut Criterion) {
    report_memory();
    let mut group = c.benchmark_group("allowed_ips");
    let mut rng = Rng::from_seed([2; 32]);
    for peers in PEER_COUNTS {
        let table = allowed_ips(peers);
        let ids: Vec<u32> = (0..peers).collect();
        let picks = random_picks(&mut rng, &ids);

        // A peer's own address: found at the first length probed.
        let v4: Vec<Ipv4Addr> = picks.iter().map(|&n| peer_v4(n)).collect();
        let mut i = 0;
        group.bench_function(format!("v4/peer_address/{peers}"), |b| {
            b.iter(|| {
                i = (i + 1) % LOOKUPS;
                black_box(table.lookup_v4(black_box(v4[i])))
            })
        });
        let v6: Vec<Ipv6Addr> = picks.iter().map(|&n| peer_v6(n)).collect();
        group.bench_function(format!("v6/peer_address/{peers}"), |b| {
            b.iter(|| {
                i = (i + 1) % LOOKUPS;
                black_box(table.lookup_v6(black_box(v6[i])))
            })
        });

        // An address only the default route covers: every length is probed (the slow path).
        let outside_v4: Vec<Ipv4Addr> = (0..LOOKUPS)
            .map(|_| Ipv4Addr::from(0xc000_0000 | (rng.next_u32() >> 3)))
            .collect();
        group.bench_function(format!("v4/default_route/{peers}"), |b| {
            b.iter(|| {
                i = (i + 1) % LOOKUPS;
                black_box(table.lookup_v4(black_box(outside_v4[i])))
            })
        });
        let outside_v6: Vec<Ipv6Addr> = (0..LOOKUPS)
            .map(|_| Ipv6Addr::from((0x2001_0db8u128 << 96) | u128::from(rng.next_u64())))
            .collect();
        group.bench_function(format!("v6/default_route/{peers}"), |b| {
            b.iter(|| {
                i = (i + 1) % LOOKUPS;
                black_box(table.lookup_v6(black_box(outside_v6[i])))
            })
        });
    }
    group.finish();
}

fn index_table_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("index_table");
    let mut rng = Rng::from_seed([3; 32]);
    for peers in PEER_COUNTS {
        let (table, indices) = index_table(peers, &mut rng);
        let present = random_picks(&mut rng, &indices);
        let mut i = 0;
        group.bench_function(format!("get/present/{peers}"), |b| {
            b.iter(|| {
                i = (i + 1) % LOOKUPS;
                black_box(table.get(black_box(present[i])))
            })
        });
        // Indices an attacker sends: almost all absent.
        let random: Vec<u32> = (0..LOOKUPS).map(|_| rng.next_u32()).collect();
        group.bench_function(format!("get/random/{peers}"), |b| {
            b.iter(|| {
                i = (i + 1) % LOOKUPS;
                black_box(table.get(black_box(random[i])))
            })
        });
    }
    group.finish();
}

fn peer_table_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("peer_table");
    let mut rng = Rng::from_seed([4; 32]);
    for peers in PEER_COUNTS {
        let table = peer_table(peers);
        let ids: Vec<u32> = (0..peers).collect();
        let keys: Vec<PublicKey> = random_picks(&mut rng, &ids)
            .into_iter()
            .map(peer_key)
            .collect();
        let mut i = 0;
        group.bench_function(format!("get/{peers}"), |b| {
            b.iter(|| {
                i = (i + 1) % LOOKUPS;
                black_box(table.get(black_box(&keys[i])))
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = tables;
    config = quick();
    targets = allowed_ips_benches, index_table_benches, peer_table_benches
}
criterion_main!(tables);
