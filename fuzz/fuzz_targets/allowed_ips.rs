//! `AllowedIps` against an obvious model: a list of (masked prefix, peer) where the longest prefix
//! containing an address wins. Every operation from the input is applied to both; every lookup, and
//! at the end every peer's prefix list, must agree.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use ringtun::core::allowed_ips::AllowedIps;
use ringtun::core::allowed_ips::model::Model;
use ringtun::core::ip_prefix::IpPrefix;
use ringtun::core::keyed_hash::HashKey;
use ringtun::core::peer_id::PeerId;

const PEERS: u8 = 8;

/// Addresses from 4 bytes. IPv6 puts them in the first two and last two bytes around a fixed
/// middle, so short and long prefixes both nest.
fn address(v6: bool, b: [u8; 4]) -> IpAddr {
    if v6 {
        let mut a = [0u8; 16];
        a[0] = b[0];
        a[1] = b[1];
        a[2] = 0xfd;
        a[14] = b[2];
        a[15] = b[3];
        IpAddr::V6(Ipv6Addr::from(a))
    } else {
        IpAddr::V4(Ipv4Addr::from(b))
    }
}

fuzz_target!(|data: &[u8]| {
    let mut table = AllowedIps::new(HashKey::from_bytes([0x42; 16]));
    let mut model = Model::default();
    // Each 7-byte record: operation, prefix length, peer, 4 address bytes.
    for record in data.chunks_exact(7) {
        let v6 = record[0] & 0x80 != 0;
        let addr = address(v6, [record[3], record[4], record[5], record[6]]);
        let bits = if v6 { 129 } else { 33 };
        let prefix = IpPrefix::new(addr, record[1] % bits).expect("length within the family");
        let peer = PeerId(u32::from(record[2] % PEERS));
        match record[0] % 8 {
            0..=3 => assert_eq!(table.insert(prefix, peer), model.insert(prefix, peer)),
            4 | 5 => assert_eq!(table.remove(prefix, peer), model.remove(prefix, peer)),
            6 => assert_eq!(table.remove_peer(peer), model.remove_peer(peer)),
            _ => assert_eq!(table.get(prefix), model.get(prefix)),
        }
        assert_eq!(table.lookup(addr), model.lookup(addr), "lookup {addr}");
        assert_eq!(table.len(), model.entries.len());
    }
    for &(prefix, _) in &model.entries {
        assert_eq!(table.lookup(prefix.addr()), model.lookup(prefix.addr()));
    }
    for peer in (0..u32::from(PEERS)).map(PeerId) {
        let mut got: Vec<IpPrefix> = table.prefixes_of(peer).collect();
        got.sort_by_key(|p| (p.addr(), p.prefix_len()));
        assert_eq!(got, model.prefixes_of(peer), "prefixes of {peer:?}");
    }
    assert_eq!(table.is_empty(), model.entries.is_empty());
});
