//! A fast keyed hash for the core's hash maps (AllowedIPs, peers by public key).
//!
//! std's `RandomState` would read its keys from the OS on first use, a syscall the core may not make,
//! and SipHash costs more than the table probe it serves. This hash takes its key from the caller
//! (drawn from the caller's `Entropy`), so the slots an address or public key lands in cannot be predicted from
//! outside, and mixes each 64-bit word with one full-width multiply.
//!
//! It is not a cryptographic PRF. Its job is to keep bucket placement unpredictable and well spread
//! for `HashMap` (which uses both the low bits and the top 7 bits of the hash): the tables' contents
//! come from the operator's configuration, and lookups from packets, so an attacker can at most choose
//! which of the operator's keys to look up, never make the table collide.

use core::hash::{BuildHasher, Hasher};

/// Bytes of the words the hash reads and keys with.
const WORD: usize = size_of::<u64>();

/// The key of the hash; also its `BuildHasher`, so `HashMap::with_hasher(key)` uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashKey {
    seed: u64,
    multiplier: u64,
}

impl HashKey {
    /// Random bytes a key is made from: a seed and a multiplier.
    pub const LEN: usize = 2 * WORD;

    /// A key from [`HashKey::LEN`] random bytes (from the caller's `Entropy`).
    pub fn from_bytes(bytes: [u8; Self::LEN]) -> Self {
        let mut lo = [0u8; WORD];
        let mut hi = [0u8; WORD];
        lo.copy_from_slice(&bytes[..WORD]);
        hi.copy_from_slice(&bytes[WORD..]);
        let (seed, multiplier) = (u64::from_le_bytes(lo), u64::from_le_bytes(hi));
        // An odd multiplier keeps the multiply a bijection on the low word; the constant keeps a
        // zero key from degenerating into a constant hash.
        HashKey {
            seed: seed ^ 0x243f_6a88_85a3_08d3,
            multiplier: (multiplier ^ 0x1319_8a2e_0370_7344) | 1,
        }
    }
}

/// `a * b` as 128 bits, halves xor-ed: every input bit reaches the middle of the output.
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// The running state of one hash computation.
pub struct KeyedHasher {
    state: u64,
    multiplier: u64,
}

impl Hasher for KeyedHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(WORD);
        for chunk in &mut chunks {
            let mut word = [0u8; WORD];
            word.copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; WORD];
            word[..rest.len()].copy_from_slice(rest);
            // The length in the top byte keeps "ab" and "ab\0" apart.
            word[WORD - 1] ^= rest.len() as u8;
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.state = folded_multiply(self.state ^ word, self.multiplier);
    }

    fn write_u32(&mut self, word: u32) {
        self.write_u64(u64::from(word));
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }

    fn finish(&self) -> u64 {
        // One more round so the last word's bits reach both ends of the result.
        folded_multiply(
            self.state.rotate_left(23),
            self.multiplier ^ 0xa409_3822_299f_31d0,
        )
    }
}

impl BuildHasher for HashKey {
    type Hasher = KeyedHasher;

    fn build_hasher(&self) -> KeyedHasher {
        KeyedHasher {
            state: self.seed,
            multiplier: self.multiplier,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_u32(key: &HashKey, x: u32) -> u64 {
        key.hash_one(x)
    }

    #[test]
    fn deterministic_per_key_and_key_dependent() {
        let a = HashKey::from_bytes([1; 16]);
        let b = HashKey::from_bytes([2; 16]);
        assert_eq!(hash_u32(&a, 77), hash_u32(&a, 77));
        assert_ne!(hash_u32(&a, 77), hash_u32(&b, 77));
        assert_ne!(hash_u32(&a, 77), hash_u32(&a, 78));
        // The all-zero key still hashes.
        let z = HashKey::from_bytes([0; 16]);
        assert_ne!(hash_u32(&z, 0), hash_u32(&z, 1));
    }

    #[test]
    fn byte_strings_of_different_lengths_differ() {
        let k = HashKey::from_bytes([9; 16]);
        let h = |b: &[u8]| {
            let mut s = k.build_hasher();
            s.write(b);
            s.finish()
        };
        assert_ne!(h(b"ab"), h(b"ab\0"));
        assert_ne!(h(b""), h(b"\0"));
        assert_ne!(h(&[0u8; 8]), h(&[0u8; 9]));
    }

    /// Sequential addresses (how operators number peers) must spread over the buckets HashMap uses:
    /// the low bits pick the bucket, the top 7 bits are the tag checked within a group.
    #[test]
    fn sequential_keys_spread_over_low_and_top_bits() {
        let k = HashKey::from_bytes(*b"0123456789abcdef");
        let n = 1u32 << 16;
        let mut low = vec![0u32; 1024];
        let mut top = [0u32; 128];
        for i in 0..n {
            let h = hash_u32(&k, 0x0a00_0000 + i);
            low[(h & 1023) as usize] += 1;
            top[(h >> 57) as usize] += 1;
        }
        // Expected 64 per low bucket and 512 per tag; allow wide but meaningful bounds.
        assert!(low.iter().all(|&c| (16..=160).contains(&c)), "{low:?}");
        assert!(top.iter().all(|&c| (256..=800).contains(&c)), "{top:?}");
    }
}
