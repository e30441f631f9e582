//! Criterion benchmarks of the WireGuard device (`core::device`) with 1, 1,000 and 100,000
//! configured peers, each with a /32 and a /128: sealing a packet for one peer, receiving one from
//! it, and refusing forged datagrams (data with a known index and a wrong tag, data with an unknown
//! index, an initiation with a bad mac1, one with a good mac1 from an unknown key, and the same
//! under load, answered by a cookie reply). The cost per packet should not grow with the peers.
//!
//! Also prints, once per peer count, the resident memory the device took per peer.
//!
//! Run: `cargo bench --bench device`, or e.g. `cargo bench --bench device -- seal`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ringtun::core::device::{Device, DeviceConfig, Limits, PeerConfig};
use ringtun::core::ip_prefix::IpPrefix;
use ringtun::core::keys::{PrivateKey, PublicKey};
use ringtun::core::noise::messages::INITIATION_LEN;
use ringtun::core::noise::{PeerCookie, PeerKeys, PresharedKey, StaticIdentity, Tai64N};
use ringtun::core::{DATA_HEADER_LEN, DropReason, Instant, Received, TAG_LEN, WallTime};
use ringtun::sys::random::SysEntropy;

const PEER_COUNTS: [u32; 3] = [1, 1_000, 100_000];
const PACKET_LEN: usize = 1400;
const NOW: Instant = Instant::from_nanos(10_000_000_000);
const WALL: WallTime = WallTime::from_unix_nanos(1_700_000_000_000_000_000);

/// Short runs: the whole `cargo bench` must stay quick on a small shared machine.
fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_millis(2500))
        .sample_size(30)
}

fn server_addr() -> SocketAddr {
    "192.0.2.1:51820".parse().unwrap()
}

fn client_addr() -> SocketAddr {
    "198.51.100.7:40000".parse().unwrap()
}

/// Peer `i`'s inner addresses: 10.x.y.z (i + 2 in the low 24 bits) and fd00::i.
fn inner_v4(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0000 + i + 2)
}

fn inner_v6(i: u32) -> Ipv6Addr {
    Ipv6Addr::from(0xfd00_u128 << 112 | u128::from(i))
}

/// A 32-byte public key for filler peer `i`: any bytes will do for X25519 but the few of small
/// order, which a hash never is in practice.
fn filler_key(i: u32) -> PublicKey {
    let digest = ringtun::core::noise::crypto::hash(&[b"filler", &i.to_le_bytes()]);
    PublicKey::from_bytes(digest)
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// A packet from `src` to `dst` in a buffer with header room in front and tag room behind.
fn packet_buf(src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut buf = vec![0u8; DATA_HEADER_LEN + PACKET_LEN + TAG_LEN];
    let p = &mut buf[DATA_HEADER_LEN..DATA_HEADER_LEN + PACKET_LEN];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(PACKET_LEN as u16).to_be_bytes());
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    buf
}

/// A server with `peers` peers, the last of which is `client`'s identity with a session up.
struct Pair {
    server: Device<SysEntropy>,
    client: Device<SysEntropy>,
    client_index: u32,
}

fn pair(peers: u32) -> Pair {
    let server_key = PrivateKey::from_random([1; 32]);
    let client_key = PrivateKey::from_random([2; 32]);
    let server_public = *StaticIdentity::new(&server_key).public_key();
    let client_public = *StaticIdentity::new(&client_key).public_key();

    let mut config = DeviceConfig::new(server_key);
    config.limits = Limits {
        max_peers: peers,
        ..Limits::default()
    };
    let client_index = peers - 1;
    for i in 0..peers {
        let key = if i == client_index {
            client_public
        } else {
            filler_key(i)
        };
        let mut peer = PeerConfig::new(key);
        peer.allowed_ips = vec![
            IpPrefix::host(IpAddr::V4(inner_v4(i))),
            IpPrefix::host(IpAddr::V6(inner_v6(i))),
        ];
        config.peers.push(peer);
    }
    let before = rss_bytes();
    let server = Device::new(&config, SysEntropy).unwrap();
    let after = rss_bytes();
    eprintln!(
        "device with {peers} peers: {} bytes resident, {} per peer",
        after.saturating_sub(before),
        after.saturating_sub(before) / u64::from(peers)
    );

    let mut client_config = DeviceConfig::new(client_key);
    let mut entry = PeerConfig::new(server_public);
    entry.allowed_ips = vec!["0.0.0.0/0".parse().unwrap(), "::/0".parse().unwrap()];
    entry.endpoint = Some(server_addr());
    client_config.peers.push(entry);
    let client = Device::new(&client_config, SysEntropy).unwrap();

    let mut pair = Pair {
        server,
        client,
        client_index,
    };
    pair.handshake();
    pair
}

impl Pair {
    fn handshake(&mut self) {
        let mut first = packet_buf(inner_v4(self.client_index), inner_v4(0));
        assert_eq!(
            self.client.seal(NOW, &mut first, PACKET_LEN),
            Err(DropReason::NoSession)
        );
        let mut buf = [0u8; 256];
        let (c, s) = (client_addr(), server_addr());
        let t = self.client.poll_transmit(NOW, WALL, &mut buf).unwrap();
        assert_eq!(
            self.server.handle_datagram(NOW, c, &mut buf[..t.len]),
            Received::Control
        );
        let t = self.server.poll_transmit(NOW, WALL, &mut buf).unwrap();
        assert_eq!(
            self.client.handle_datagram(NOW, s, &mut buf[..t.len]),
            Received::Control
        );
        let t = self.client.poll_transmit(NOW, WALL, &mut buf).unwrap();
        assert_eq!(
            self.server.handle_datagram(NOW, c, &mut buf[..t.len]),
            Received::Control
        );
    }
}

fn device_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("device");
    group.throughput(criterion::Throughput::Elements(1));
    for peers in PEER_COUNTS {
        let mut p = pair(peers);
        let client_v4 = inner_v4(p.client_index);

        // Seal: AllowedIPs lookup among 2 × peers prefixes, then ChaCha20-Poly1305 of 1,400 bytes.
        // Sealing encrypts in place: the IP header is put back each time (the rest of the payload
        // may be anything).
        let fresh = packet_buf(inner_v4(0), client_v4);
        let header = DATA_HEADER_LEN..DATA_HEADER_LEN + 20;
        let mut buf = fresh.clone();
        group.bench_with_input(BenchmarkId::new("seal", peers), &peers, |b, _| {
            b.iter(|| {
                buf[header.clone()].copy_from_slice(&fresh[header.clone()]);
                let t = p.server.seal(NOW, &mut buf, PACKET_LEN).unwrap();
                black_box(t.len)
            })
        });

        // Receive: index lookup, open, replay window, AllowedIPs source check. Sealed by the client
        // in batches outside the timing (each counter is accepted once).
        group.bench_with_input(BenchmarkId::new("receive", peers), &peers, |b, _| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters;
                let mut batch: Vec<Vec<u8>> = Vec::with_capacity(4096);
                while left > 0 {
                    let n = left.min(4096);
                    batch.clear();
                    for _ in 0..n {
                        let mut d = packet_buf(client_v4, inner_v4(0));
                        let t = p.client.seal(NOW, &mut d, PACKET_LEN).unwrap();
                        d.truncate(t.len);
                        batch.push(d);
                    }
                    let start = std::time::Instant::now();
                    for d in &mut batch {
                        let r = p.server.handle_datagram(NOW, client_addr(), d);
                        debug_assert!(matches!(r, Received::Deliver { .. }));
                        black_box(r);
                    }
                    total += start.elapsed();
                    left -= n;
                }
                total
            })
        });

        // Forged data for the live session: the tag fails after the whole AEAD pass.
        let mut forged = packet_buf(client_v4, inner_v4(0));
        let t = p.client.seal(NOW, &mut forged, PACKET_LEN).unwrap();
        forged.truncate(t.len);
        let last = forged.len() - 1;
        forged[last] ^= 1;
        let mut d = forged.clone();
        group.bench_with_input(BenchmarkId::new("forged_data", peers), &peers, |b, _| {
            b.iter(|| {
                d.copy_from_slice(&forged);
                let r = p.server.handle_datagram(NOW, client_addr(), &mut d);
                assert_eq!(r, Received::Dropped(DropReason::AuthFailed));
            })
        });

        // Forged data with an index nobody has: one table probe.
        let mut unknown = forged.clone();
        unknown[4..8].copy_from_slice(&0x5eed_f00du32.to_le_bytes());
        group.bench_with_input(BenchmarkId::new("unknown_index", peers), &peers, |b, _| {
            b.iter(|| {
                d.copy_from_slice(&unknown);
                let r = p.server.handle_datagram(NOW, client_addr(), &mut d);
                assert_eq!(r, Received::Dropped(DropReason::UnknownSession));
            })
        });

        // Initiations from ever new sources (a spoofed flood), so the per-source limit does not cut
        // them short.
        let mut source = 0u32;
        let mut next_source = move || {
            source = source.wrapping_add(1);
            SocketAddr::new(IpAddr::V4(Ipv4Addr::from(0x0b00_0000 | source)), 1000)
        };

        let mut bad_mac = [0u8; INITIATION_LEN];
        bad_mac[0] = 1;
        bad_mac[4..].fill(0x5a);
        group.bench_with_input(BenchmarkId::new("bad_mac1", peers), &peers, |b, _| {
            b.iter(|| {
                let mut d = bad_mac;
                let r = p.server.handle_datagram(NOW, next_source(), &mut d);
                assert_eq!(r, Received::Dropped(DropReason::BadMac1));
            })
        });

        // A good mac1 from a key that is no peer's: a Diffie-Hellman and an AEAD open before the
        // unknown key is known. Time moves on by more than the load window per message, so the
        // device never comes under load.
        let server_public = *p.server.public_key();
        let stranger = StaticIdentity::from_private_bytes([9; 32]);
        let keys = PeerKeys::new(&stranger, server_public, PresharedKey::none()).unwrap();
        let mut good_mac = [0u8; INITIATION_LEN];
        ringtun::core::noise::create_initiation(
            &keys,
            &mut PeerCookie::new(),
            7,
            Tai64N::from_unix_nanos(WALL.as_unix_nanos()),
            NOW,
            &mut SysEntropy,
            &mut good_mac,
        )
        .unwrap();
        let mut now = NOW;
        group.bench_with_input(
            BenchmarkId::new("good_mac1_unknown_key", peers),
            &peers,
            |b, _| {
                b.iter(|| {
                    now = now + Duration::from_millis(130);
                    let mut d = good_mac;
                    let r = p.server.handle_datagram(now, next_source(), &mut d);
                    assert_eq!(r, Received::Dropped(DropReason::UnknownPeer));
                })
            },
        );

        // The same flood at one instant: the device is under load and answers with cookie replies
        // (mac2 check, XChaCha20-Poly1305 seal), sent by `poll_transmit`.
        let mut reply = [0u8; 256];
        // Under load from the start, so that a single iteration (`cargo test --benches` runs
        // each benchmark once) is answered with a cookie reply too.
        for _ in 0..=ringtun::core::device::load::THRESHOLD {
            let mut d = good_mac;
            black_box(p.server.handle_datagram(now, next_source(), &mut d));
        }
        while p.server.poll_transmit(now, WALL, &mut reply).is_some() {}
        group.bench_with_input(
            BenchmarkId::new("good_mac1_under_load", peers),
            &peers,
            |b, _| {
                b.iter(|| {
                    let mut d = good_mac;
                    let r = p.server.handle_datagram(now, next_source(), &mut d);
                    black_box(r);
                    while p.server.poll_transmit(now, WALL, &mut reply).is_some() {}
                })
            },
        );
        assert!(p.server.stats().cookie_replies_sent > 0);
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = quick();
    targets = device_benches
}
criterion_main!(benches);
