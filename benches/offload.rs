//! Criterion benchmarks of the TCP offloads: the Internet checksum, TX segmentation of a 64 KiB TSO
//! super-packet and RX coalescing of its segments back into one. Throughput is in IP bytes.
//!
//! Run: `cargo bench --bench offload`, or e.g. `cargo bench --bench offload -- offload/segment`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringtun::core::offload::{Coalescer, segment};
use ringtun::net::checksum;
use ringtun::net::vnet::{GSO_TCPV4, GSO_TCPV6, VIRTIO_NET_HDR_F_NEEDS_CSUM, VnetHdr};

/// Short runs: the whole `cargo bench` must stay quick on a small shared machine.
fn quick() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_millis(2500))
        .sample_size(50)
}

/// Room the driver leaves around each segment: the transport header before, the tag after.
const HEADROOM: usize = 16;
const TAILROOM: usize = 16;
/// A TCP timestamp option (NOP NOP TS), as on every segment of a Linux bulk transfer.
const TS_OPTION: [u8; 12] = [1, 1, 8, 10, 0, 0, 1, 2, 0, 0, 3, 4];
/// The MSS of a 1420-byte tunnel MTU with IPv4 and timestamps.
const GSO_SIZE: u16 = 1368;

/// A TCP super-packet as the kernel hands it to a TUN device with TSO on: the largest IP packet,
/// TCP with timestamps, and its vnet header. `segment` rewrites every checksum, so they are left
/// zero here.
fn super_packet(v6: bool) -> (VnetHdr, Vec<u8>) {
    let ip_hlen = if v6 { 40 } else { 20 };
    let hdrs = ip_hlen + 20 + TS_OPTION.len();
    let len = 65535;
    let mut p: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
    if v6 {
        p[..8].copy_from_slice(&[0x60, 0, 0, 0, 0, 0, 6, 64]);
        p[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
    } else {
        p[..12].copy_from_slice(&[0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0]);
        p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    }
    let tcp = &mut p[ip_hlen..hdrs];
    tcp[..12].copy_from_slice(&[0x0f, 0xa0, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 77]);
    tcp[12] = ((20 + TS_OPTION.len()) as u8 / 4) << 4;
    tcp[13] = 0x10; // ACK
    tcp[14..20].copy_from_slice(&[0x01, 0xf4, 0, 0, 0, 0]);
    tcp[20..].copy_from_slice(&TS_OPTION);
    let hdr = VnetHdr {
        flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
        gso_type: if v6 { GSO_TCPV6 } else { GSO_TCPV4 },
        hdr_len: hdrs as u16,
        gso_size: GSO_SIZE,
        csum_start: ip_hlen as u16,
        csum_offset: 16,
    };
    (hdr, p)
}

fn checksum_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("offload");
    let data: Vec<u8> = (0..65536usize).map(|i| (i * 7 + i / 251) as u8).collect();
    for len in [64usize, 1500, 65536] {
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(format!("checksum/{len}"), |b| {
            b.iter(|| checksum::sum(black_box(&data[..len])))
        });
    }
    group.finish();
}

/// Segmenting a super-packet into an output buffer, and coalescing the segments (each with valid
/// checksums, as they come out of `segment`) back into one.
fn segment_coalesce_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("offload");
    for v6 in [false, true] {
        let ip = if v6 { "v6" } else { "v4" };
        let (hdr, p) = super_packet(v6);
        group.throughput(Throughput::Bytes(p.len() as u64));
        let mut out = vec![0u8; 128 << 10];
        group.bench_function(format!("segment/{ip}/64K"), |b| {
            b.iter(|| {
                segment(&hdr, black_box(&p), &mut out, HEADROOM, TAILROOM)
                    .unwrap()
                    .count
            })
        });

        let s = segment(&hdr, &p, &mut out, HEADROOM, TAILROOM).unwrap();
        let segments: Vec<Vec<u8>> = (0..s.count)
            .map(|i| out[i * s.stride + HEADROOM..][..s.len_of(i)].to_vec())
            .collect();
        let mut buf = vec![0u8; 70_000];
        group.bench_function(format!("coalesce/{ip}/64K"), |b| {
            b.iter(|| {
                let mut co = Coalescer::new(&mut buf);
                for seg in &segments {
                    assert!(co.push(black_box(seg)));
                }
                co.finish()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = offload;
    config = quick();
    targets = checksum_benches, segment_coalesce_benches
}
criterion_main!(offload);
