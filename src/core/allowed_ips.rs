//! Cryptokey routing: which peer owns an IP address (WireGuard's AllowedIPs).
//!
//! A packet from the TUN device goes to the peer whose AllowedIPs hold the longest prefix matching its
//! destination; a packet decrypted from a peer is delivered only if its source's longest match is that
//! same peer. Both ask [`AllowedIps::lookup`], so it runs once per packet and must not allocate.
//!
//! # Layout: one hash map per prefix length
//!
//! The kernel (`allowedips.c`) and wireguard-go (`device/allowedips.go`) use a binary trie with path
//! compression. Its lookup walks one node per branching bit, about log2(n) dependent loads for n
//! prefixes: some 17 nodes at 100,000 peers, most of them cache misses once the table outgrows L2.
//!
//! Here each family keeps one hash map per prefix length, from the masked address to the peer, plus
//! the list of lengths that have entries, longest first. A lookup masks the address to each listed
//! length in turn and probes that length's map; the first hit is the longest match. The cost is one
//! hash and one probe per *distinct length in use*, whatever the number of entries. Real
//! configurations use few lengths (a hub: /32 and /128 per peer plus a /24 or a /0; a client: /0), so
//! a lookup is 1-4 probes, and its own /32 is found by the first. The worst case, every length in use,
//! is 33 probes for IPv4 and 129 for IPv6, most of them in maps small enough to stay in cache.
//!
//! The maps use a keyed hash ([`HashKey`], from the caller's random generator), so the operator's
//! addresses spread over the buckets whatever they are and bucket placement cannot be predicted.
//!
//! Memory: a hash map bucket holds the key and the [`PeerId`], 8 bytes for IPv4 (`u32`) and 24 for
//! IPv6 (two `u64`), plus one control byte, at a load of 44-88 % (`HashMap` doubles when 7/8 full):
//! 10-21 bytes per IPv4 entry, 28-57 per IPv6 entry. Each entry is also listed under its peer, for
//! [`AllowedIps::prefixes_of`] and [`AllowedIps::remove_peer`]: an 18-byte [`IpPrefix`] in a
//! per-peer `Vec` (48 bytes of heap for the usual two), and a 33-byte bucket of the per-peer map.
//! A peer with one /32 and one /128 costs about 136 bytes in all at 100,000 peers (`benches/tables.rs`
//! measures it). The kernel's trie spends a 64-byte node per entry plus the inner nodes.
//!
//! Lookup times (`cargo bench --bench tables`, one core of a shared 2-core VM): 12-16 ns at 1 and
//! 1,000 peers, 20-40 ns at 100,000 (the buckets no longer fit the cache); 27-55 ns when only the
//! default route matches and all four lengths of the benchmark are probed.

use core::hash::Hash;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::collections::HashMap;

use super::ip_prefix::{IpPrefix, V4_BITS, V6_BITS};
use super::keyed_hash::HashKey;
use super::peer_id::PeerId;

/// An address family's bits as an integer, and the map key for a prefix of it.
trait AddressBits: Copy {
    /// The address masked to a prefix length. IPv6 keys are two `u64`, not a `u128`, whose 16-byte
    /// alignment would pad every IPv6 bucket from 24 to 32 bytes.
    type Key: Copy + Eq + Hash;
    const BITS: u8;
    /// The top `len` bits (`len <= BITS`), the rest zero.
    fn key(self, len: u8) -> Self::Key;
}

impl AddressBits for u32 {
    type Key = u32;
    const BITS: u8 = V4_BITS;

    fn key(self, len: u8) -> u32 {
        // checked_shl: a shift by 32 (len 0) would overflow; the mask is then empty.
        self & u32::MAX
            .checked_shl(u32::BITS - u32::from(len))
            .unwrap_or(0)
    }
}

impl AddressBits for u128 {
    type Key = (u64, u64);
    const BITS: u8 = V6_BITS;

    fn key(self, len: u8) -> (u64, u64) {
        let masked = self
            & u128::MAX
                .checked_shl(u128::BITS - u32::from(len))
                .unwrap_or(0);
        ((masked >> u64::BITS) as u64, masked as u64)
    }
}

/// The table of one address family.
struct Family<A: AddressBits> {
    /// `by_len[l]` maps an address masked to `l` bits to its peer; `BITS + 1` maps.
    by_len: Vec<HashMap<A::Key, PeerId, HashKey>>,
    /// The lengths whose map is not empty, longest first: the lookup order.
    lengths: Vec<u8>,
    hash_key: HashKey,
}

impl<A: AddressBits> Family<A> {
    fn new(hash_key: HashKey) -> Self {
        Family {
            by_len: (0..=A::BITS)
                .map(|_| HashMap::with_hasher(hash_key))
                .collect(),
            lengths: Vec::new(),
            hash_key,
        }
    }

    /// The map of `len`; `len <= BITS` is checked by `IpPrefix` before any call.
    fn map(&self, len: u8) -> &HashMap<A::Key, PeerId, HashKey> {
        &self.by_len[usize::from(len)]
    }

    fn get(&self, addr: A, len: u8) -> Option<PeerId> {
        self.map(len).get(&addr.key(len)).copied()
    }

    /// Sets the owner of `addr/len`; returns the previous owner.
    fn insert(&mut self, addr: A, len: u8, peer: PeerId) -> Option<PeerId> {
        let map = &mut self.by_len[usize::from(len)];
        if map.is_empty() {
            // Longest first: the new length goes before the first shorter one.
            let at = self.lengths.partition_point(|&l| l > len);
            self.lengths.insert(at, len);
        }
        map.insert(addr.key(len), peer)
    }

    fn remove(&mut self, addr: A, len: u8) -> Option<PeerId> {
        let map = &mut self.by_len[usize::from(len)];
        let removed = map.remove(&addr.key(len));
        if removed.is_some() && map.is_empty() {
            // Give the memory back and stop probing this length.
            *map = HashMap::with_hasher(self.hash_key);
            self.lengths.retain(|&l| l != len);
        }
        removed
    }

    /// Longest-prefix match: the first length, longest first, whose map holds the masked address.
    fn lookup(&self, addr: A) -> Option<PeerId> {
        self.lengths
            .iter()
            .find_map(|&len| self.map(len).get(&addr.key(len)).copied())
    }

    fn len(&self) -> usize {
        self.lengths.iter().map(|&l| self.map(l).len()).sum()
    }
}

/// The AllowedIPs of every peer, both families. See the module documentation for the layout.
pub struct AllowedIps {
    v4: Family<u32>,
    v6: Family<u128>,
    /// Each peer's (masked) prefixes, in insertion order; no entry for a peer without any.
    by_peer: HashMap<PeerId, Vec<IpPrefix>, HashKey>,
}

impl AllowedIps {
    /// An empty table whose maps hash with `hash_key` (drawn from the caller's `Entropy`).
    pub fn new(hash_key: HashKey) -> Self {
        AllowedIps {
            v4: Family::new(hash_key),
            v6: Family::new(hash_key),
            by_peer: HashMap::with_hasher(hash_key),
        }
    }

    /// Routes `prefix` (host bits cleared first, as WireGuard does) to `peer`. If another peer had
    /// exactly this prefix, it moves to `peer` and the other peer is returned.
    pub fn insert(&mut self, prefix: IpPrefix, peer: PeerId) -> Option<PeerId> {
        let prefix = prefix.masked();
        let len = prefix.prefix_len();
        let previous = match prefix.addr() {
            IpAddr::V4(a) => self.v4.insert(u32::from(a), len, peer),
            IpAddr::V6(a) => self.v6.insert(u128::from(a), len, peer),
        };
        match previous {
            Some(old) if old == peer => return None,
            Some(old) => self.unlist(old, prefix),
            None => {}
        }
        // Room for two from the start: a peer's /32 and /128 fill it without a reallocation.
        self.by_peer
            .entry(peer)
            .or_insert_with(|| Vec::with_capacity(2))
            .push(prefix);
        previous
    }

    /// Removes `prefix` (host bits cleared) if it belongs to `peer`; true if it did. A prefix of
    /// another peer is left alone, as `wg set ... allowed-ips -PREFIX` does in the kernel.
    pub fn remove(&mut self, prefix: IpPrefix, peer: PeerId) -> bool {
        let prefix = prefix.masked();
        if self.get(prefix) != Some(peer) {
            return false;
        }
        self.remove_from_family(prefix);
        self.unlist(peer, prefix);
        true
    }

    /// Removes every prefix of `peer`; returns how many there were.
    pub fn remove_peer(&mut self, peer: PeerId) -> usize {
        let Some(prefixes) = self.by_peer.remove(&peer) else {
            return 0;
        };
        for &prefix in &prefixes {
            self.remove_from_family(prefix);
        }
        prefixes.len()
    }

    /// The owner of exactly `prefix` (host bits cleared), not a longest match.
    pub fn get(&self, prefix: IpPrefix) -> Option<PeerId> {
        let prefix = prefix.masked();
        let len = prefix.prefix_len();
        match prefix.addr() {
            IpAddr::V4(a) => self.v4.get(u32::from(a), len),
            IpAddr::V6(a) => self.v6.get(u128::from(a), len),
        }
    }

    /// The peer owning the longest prefix that contains `addr`. Allocates nothing.
    pub fn lookup(&self, addr: IpAddr) -> Option<PeerId> {
        match addr {
            IpAddr::V4(a) => self.lookup_v4(a),
            IpAddr::V6(a) => self.lookup_v6(a),
        }
    }

    pub fn lookup_v4(&self, addr: Ipv4Addr) -> Option<PeerId> {
        self.v4.lookup(u32::from(addr))
    }

    pub fn lookup_v6(&self, addr: Ipv6Addr) -> Option<PeerId> {
        self.v6.lookup(u128::from(addr))
    }

    /// The prefixes of `peer` (host bits cleared), in the order they were added (`wg show`).
    pub fn prefixes_of(&self, peer: PeerId) -> impl Iterator<Item = IpPrefix> + '_ {
        self.by_peer.get(&peer).into_iter().flatten().copied()
    }

    /// Number of prefixes, both families.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_peer.is_empty()
    }

    fn remove_from_family(&mut self, prefix: IpPrefix) {
        let len = prefix.prefix_len();
        match prefix.addr() {
            IpAddr::V4(a) => self.v4.remove(u32::from(a), len),
            IpAddr::V6(a) => self.v6.remove(u128::from(a), len),
        };
    }

    /// Takes `prefix` off `peer`'s list (order of the rest is not kept: `wg show` has none).
    fn unlist(&mut self, peer: PeerId, prefix: IpPrefix) {
        if let Some(list) = self.by_peer.get_mut(&peer) {
            if let Some(at) = list.iter().position(|&p| p == prefix) {
                list.swap_remove(at);
            }
            if list.is_empty() {
                self.by_peer.remove(&peer);
            }
        }
    }
}

#[cfg(any(test, feature = "test-util"))]
#[doc(hidden)]
pub mod model;

#[cfg(test)]
mod tests {
    use super::model::Model;
    use super::*;
    use crate::core::entropy::{Entropy, TestEntropy};

    fn table() -> AllowedIps {
        AllowedIps::new(HashKey::from_bytes([7; 16]))
    }

    fn p(s: &str) -> IpPrefix {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const A: PeerId = PeerId(1);
    const B: PeerId = PeerId(2);
    const C: PeerId = PeerId(3);

    #[test]
    fn longest_prefix_wins_ipv4() {
        let mut t = table();
        assert_eq!(t.lookup(ip("10.0.0.1")), None);
        t.insert(p("0.0.0.0/0"), A);
        t.insert(p("10.0.0.0/8"), B);
        t.insert(p("10.1.0.0/16"), C);
        t.insert(p("10.1.2.3/32"), A);
        assert_eq!(t.lookup(ip("10.1.2.3")), Some(A));
        assert_eq!(t.lookup(ip("10.1.2.4")), Some(C));
        assert_eq!(t.lookup(ip("10.2.0.0")), Some(B));
        assert_eq!(t.lookup(ip("11.0.0.0")), Some(A));
        assert_eq!(t.lookup(ip("255.255.255.255")), Some(A));
        // The IPv4 default route says nothing about IPv6.
        assert_eq!(t.lookup(ip("::1")), None);
        assert_eq!(t.lookup(ip("::ffff:10.1.2.3")), None);
        assert_eq!(t.len(), 4);
    }

    #[test]
    fn longest_prefix_wins_ipv6() {
        let mut t = table();
        t.insert(p("::/0"), A);
        t.insert(p("fd00::/8"), B);
        t.insert(p("fd00:1::/32"), C);
        t.insert(p("fd00:1::7/128"), A);
        t.insert(p("fd00:1::6/127"), B);
        assert_eq!(t.lookup(ip("fd00:1::7")), Some(A));
        assert_eq!(t.lookup(ip("fd00:1::6")), Some(B));
        assert_eq!(t.lookup(ip("fd00:1::8")), Some(C));
        assert_eq!(t.lookup(ip("fd00:2::")), Some(B));
        assert_eq!(t.lookup(ip("2001:db8::1")), Some(A));
        assert_eq!(t.lookup(ip("10.0.0.1")), None);
    }

    #[test]
    fn host_bits_are_cleared_on_insert() {
        let mut t = table();
        t.insert(p("10.1.2.3/8"), A);
        assert_eq!(t.prefixes_of(A).collect::<Vec<_>>(), [p("10.0.0.0/8")]);
        assert_eq!(t.get(p("10.0.0.0/8")), Some(A));
        assert_eq!(t.get(p("10.200.0.0/8")), Some(A));
        assert_eq!(t.lookup(ip("10.99.0.1")), Some(A));
        t.insert(p("fd00::ffff/16"), B);
        assert_eq!(t.prefixes_of(B).collect::<Vec<_>>(), [p("fd00::/16")]);
        // The same network written differently is the same entry.
        assert_eq!(t.insert(p("10.9.9.9/8"), A), None);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn inserting_an_owned_prefix_moves_it() {
        let mut t = table();
        t.insert(p("10.0.0.0/24"), A);
        t.insert(p("10.0.1.0/24"), A);
        assert_eq!(t.insert(p("10.0.0.0/24"), B), Some(A));
        assert_eq!(t.lookup(ip("10.0.0.9")), Some(B));
        assert_eq!(t.prefixes_of(A).collect::<Vec<_>>(), [p("10.0.1.0/24")]);
        assert_eq!(t.prefixes_of(B).collect::<Vec<_>>(), [p("10.0.0.0/24")]);
        // Re-inserting for the same owner changes nothing and reports no previous owner.
        assert_eq!(t.insert(p("10.0.0.0/24"), B), None);
        assert_eq!(t.prefixes_of(B).count(), 1);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn remove_only_the_owners_prefix() {
        let mut t = table();
        t.insert(p("10.0.0.0/8"), A);
        t.insert(p("10.0.0.0/16"), B);
        assert!(!t.remove(p("10.0.0.0/16"), A), "not A's prefix");
        assert_eq!(t.lookup(ip("10.0.0.1")), Some(B));
        assert!(!t.remove(p("10.0.0.0/24"), B), "no such prefix");
        assert!(
            t.remove(p("10.0.255.255/16"), B),
            "host bits cleared before matching"
        );
        assert_eq!(t.lookup(ip("10.0.0.1")), Some(A));
        assert_eq!(t.prefixes_of(B).count(), 0);
        assert!(!t.remove(p("10.0.0.0/16"), B), "already gone");
        assert!(t.remove(p("10.0.0.0/8"), A));
        assert_eq!(t.lookup(ip("10.0.0.1")), None);
        assert!(t.is_empty());
        assert_eq!(t.len(), 0);
        assert!(
            t.v4.lengths.is_empty(),
            "emptied lengths are no longer probed"
        );
    }

    #[test]
    fn remove_peer_takes_all_its_prefixes_and_nothing_else() {
        let mut t = table();
        for s in ["10.0.0.1/32", "fd00::1/128", "192.168.0.0/16", "::/0"] {
            t.insert(p(s), A);
        }
        t.insert(p("10.0.0.2/32"), B);
        t.insert(p("0.0.0.0/0"), B);
        let mut of_a: Vec<_> = t.prefixes_of(A).map(|p| p.to_string()).collect();
        of_a.sort();
        assert_eq!(
            of_a,
            ["10.0.0.1/32", "192.168.0.0/16", "::/0", "fd00::1/128"]
        );
        assert_eq!(t.remove_peer(A), 4);
        assert_eq!(t.remove_peer(A), 0);
        assert_eq!(
            t.lookup(ip("10.0.0.1")),
            Some(B),
            "falls back to B's default"
        );
        assert_eq!(t.lookup(ip("fd00::1")), None);
        assert_eq!(t.lookup(ip("10.0.0.2")), Some(B));
        assert_eq!(t.prefixes_of(A).count(), 0);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn zero_and_full_lengths_at_the_edges() {
        let mut t = table();
        t.insert(p("255.255.255.255/32"), A);
        t.insert(p("0.0.0.0/32"), B);
        t.insert(p("128.0.0.0/1"), C);
        assert_eq!(t.lookup(ip("255.255.255.255")), Some(A));
        assert_eq!(t.lookup(ip("255.255.255.254")), Some(C));
        assert_eq!(t.lookup(ip("0.0.0.0")), Some(B));
        assert_eq!(t.lookup(ip("0.0.0.1")), None);
        t.insert(p("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"), A);
        t.insert(p("8000::/1"), C);
        t.insert(p("::/128"), B);
        assert_eq!(
            t.lookup(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")),
            Some(A)
        );
        assert_eq!(t.lookup(ip("ffff::")), Some(C));
        assert_eq!(t.lookup(ip("::")), Some(B));
        assert_eq!(t.lookup(ip("::1")), None);
    }

    /// A random address of the family, half the time near one already used (random low bits from
    /// a random position on), so prefixes nest and lookups hit several lengths.
    fn random_addr(rng: &mut TestEntropy, v6: bool, used: &[IpPrefix]) -> IpAddr {
        let bits = if v6 { 128 } else { 32 };
        let mut fresh = [0u8; 16];
        rng.fill(&mut fresh);
        let fresh = u128::from_be_bytes(fresh);
        let near = used
            .iter()
            .filter(|p| p.is_ipv4() != v6)
            .nth(rng.next_u32() as usize % used.len().max(1));
        let value = match near {
            Some(p) if rng.next_u32() % 2 == 0 => {
                let base = match p.addr() {
                    IpAddr::V4(a) => u128::from(u32::from(a)),
                    IpAddr::V6(a) => u128::from(a),
                };
                let keep = rng.next_u32() % (bits + 1);
                let low_mask = u128::MAX.checked_shr(128 - bits + keep).unwrap_or(0);
                (base & !low_mask) | (fresh & low_mask)
            }
            _ => fresh,
        };
        if v6 {
            IpAddr::V6(Ipv6Addr::from(value))
        } else {
            IpAddr::V4(Ipv4Addr::from(value as u32))
        }
    }

    /// Lengths skewed toward the ones configurations use, but every length appears.
    fn random_len(rng: &mut TestEntropy, v6: bool) -> u8 {
        let bits = if v6 { 128 } else { 32 };
        match rng.next_u32() % 4 {
            0 => bits,
            1 => bits - (rng.next_u32() % 9) as u8,
            _ => (rng.next_u32() % (u32::from(bits) + 1)) as u8,
        }
    }

    fn random_against_model(v6: bool, seed: u8) {
        let mut rng = TestEntropy::new(u64::from(seed));
        let mut t = AllowedIps::new(HashKey::from_bytes([seed; 16]));
        let mut model = Model::default();
        let mut used: Vec<IpPrefix> = Vec::new();
        let peers = 20u32;
        for round in 0..30 {
            for _ in 0..200 {
                let addr = random_addr(&mut rng, v6, &used);
                let len = random_len(&mut rng, v6);
                let prefix = IpPrefix::new(addr, len).unwrap();
                let peer = PeerId(rng.next_u32() % peers);
                t.insert(prefix, peer);
                model.insert(prefix, peer);
                used.push(prefix);
            }
            // Removals: of a used prefix with a random owner guess (right or wrong), and a peer.
            for _ in 0..60 {
                let prefix = used[rng.next_u32() as usize % used.len()];
                let peer = PeerId(rng.next_u32() % peers);
                let peer = model
                    .lookup(prefix.addr())
                    .filter(|_| rng.next_u32() % 2 == 0)
                    .unwrap_or(peer);
                assert_eq!(
                    t.remove(prefix, peer),
                    model.remove(prefix, peer),
                    "remove {prefix} {peer:?}"
                );
            }
            if round % 3 == 2 {
                let peer = PeerId(rng.next_u32() % peers);
                assert_eq!(t.remove_peer(peer), model.remove_peer(peer));
            }
            for _ in 0..2000 {
                let addr = random_addr(&mut rng, v6, &used);
                assert_eq!(
                    t.lookup(addr),
                    model.lookup(addr),
                    "lookup {addr} round {round}"
                );
            }
            // Every entry's own network address and its last address resolve the same way too.
            for &(prefix, _) in &model.entries {
                assert_eq!(t.lookup(prefix.addr()), model.lookup(prefix.addr()));
            }
            assert_eq!(t.len(), model.entries.len());
            for peer in (0..peers).map(PeerId) {
                let mut got: Vec<_> = t.prefixes_of(peer).collect();
                got.sort_by_key(|p| (p.addr(), p.prefix_len()));
                assert_eq!(got, model.prefixes_of(peer), "prefixes of {peer:?}");
            }
        }
        assert!(model.entries.len() > 1000, "the test exercises a big table");
    }

    #[test]
    fn random_ipv4_against_model() {
        random_against_model(false, 1);
        random_against_model(false, 2);
    }

    #[test]
    fn random_ipv6_against_model() {
        random_against_model(true, 3);
        random_against_model(true, 4);
    }

    #[test]
    fn random_mixed_families_against_model() {
        let mut rng = TestEntropy::new(5);
        let mut t = table();
        let mut model = Model::default();
        let mut used = Vec::new();
        for i in 0..3000u32 {
            let v6 = rng.next_u32() % 2 == 0;
            let prefix =
                IpPrefix::new(random_addr(&mut rng, v6, &used), random_len(&mut rng, v6)).unwrap();
            t.insert(prefix, PeerId(i % 7));
            model.insert(prefix, PeerId(i % 7));
            used.push(prefix);
        }
        for _ in 0..20000 {
            let v6 = rng.next_u32() % 2 == 0;
            let addr = random_addr(&mut rng, v6, &used);
            assert_eq!(t.lookup(addr), model.lookup(addr), "{addr}");
        }
    }
}
