//! The Internet checksum (RFC 1071) and the TCP/UDP pseudo-header sums.
//!
//! Sums are `u16` values of the big-endian 16-bit word sum, folded but not complemented, so they
//! combine with [`add`]; a checksum field holds `!sum`.

/// The sum over a segment whose checksum verifies; also what a computed checksum of zero is sent
/// as (zero would mean "no checksum" to UDP, RFC 768).
pub(crate) const ALL_ONES: u16 = 0xffff;

/// One's complement sum of `data` read as big-endian 16-bit words (an odd last byte is padded
/// with zero), folded to 16 bits, not complemented.
///
/// Hot path (once per byte sent and received): 8 bytes per step into four independent u64
/// accumulators of 32-bit halves, so there is no carry to propagate and the loop vectorizes.
/// Words are read little-endian and the folded result byte-swapped at the end, which is exact:
/// the one's complement sum commutes with swapping the bytes of every word (RFC 1071 §2B).
pub fn sum(data: &[u8]) -> u16 {
    let mut acc: u64 = 0;
    // Each 32-byte step adds at most 8 * (2^32 - 1) to an accumulator, so 2^26 steps (2 GiB)
    // cannot overflow; fold between blocks so any slice length is exact.
    for block in data.chunks(1 << 31) {
        acc = u64::from(fold(acc)) + sum_block(block);
    }
    fold(acc).swap_bytes()
}

/// Unfolded sum of little-endian words of `data` (at most 2 GiB).
fn sum_block(data: &[u8]) -> u64 {
    let mut wide = data.chunks_exact(32);
    let mut a = [0u64; 4];
    for chunk in &mut wide {
        for (acc, w) in a.iter_mut().zip(chunk.chunks_exact(8)) {
            let v = u64::from_le_bytes(array(w));
            *acc += (v & 0xffff_ffff) + (v >> 32);
        }
    }
    let mut s = a[0] + a[1] + a[2] + a[3];
    let mut quads = wide.remainder().chunks_exact(4);
    for q in &mut quads {
        s += u64::from(u32::from_le_bytes(array(q)));
    }
    let mut pairs = quads.remainder().chunks_exact(2);
    for p in &mut pairs {
        s += u64::from(u16::from_le_bytes(array(p)));
    }
    if let Some(&b) = pairs.remainder().first() {
        // Big-endian word `b << 8`, which is `b` in the little-endian domain.
        s += u64::from(b);
    }
    s
}

/// `s` as an array; callers pass `chunks_exact(N)` items, so the zero fallback never happens
/// (and compiles away), but no length can make this panic.
fn array<const N: usize>(s: &[u8]) -> [u8; N] {
    s.try_into().unwrap_or([0; N])
}

/// Folds a wide one's complement sum to 16 bits (end-around carry).
pub(crate) fn fold(mut s: u64) -> u16 {
    s = (s & 0xffff_ffff) + (s >> 32);
    s = (s & 0xffff_ffff) + (s >> 32);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// One's complement addition of two folded sums.
pub(crate) fn add(a: u16, b: u16) -> u16 {
    fold(u64::from(a) + u64::from(b))
}

/// The checksum field value for `data` given a folded `initial` sum (e.g. a pseudo-header).
pub(crate) fn checksum(initial: u16, data: &[u8]) -> u16 {
    !add(initial, sum(data))
}

fn sum_words(bytes: &[u8]) -> u64 {
    bytes
        .chunks_exact(2)
        .map(|p| u64::from(u16::from_be_bytes(array(p))))
        .sum()
}

/// Folded sum of the IPv4 pseudo-header (RFC 793): addresses, protocol, L4 length.
pub(crate) fn pseudo_header_v4(src: &[u8; 4], dst: &[u8; 4], proto: u8, l4_len: u16) -> u16 {
    fold(sum_words(src) + sum_words(dst) + u64::from(proto) + u64::from(l4_len))
}

/// Folded sum of the IPv6 pseudo-header (RFC 8200 §8.1).
pub(crate) fn pseudo_header_v6(src: &[u8; 16], dst: &[u8; 16], proto: u8, l4_len: u32) -> u16 {
    fold(
        sum_words(src)
            + sum_words(dst)
            + u64::from(proto)
            + u64::from(l4_len >> 16)
            + u64::from(l4_len & 0xffff),
    )
}

/// The checksum written the slow, obvious way, to check [`sum`] and the offload code against: the
/// unit tests, and the fuzz targets through the `test-util` feature.
#[cfg(any(test, feature = "test-util"))]
#[doc(hidden)]
pub mod reference {
    use super::ALL_ONES;

    /// Big-endian words one at a time, not folded.
    pub fn word_sum(data: &[u8]) -> u64 {
        let mut s: u64 = 0;
        for (i, b) in data.iter().enumerate() {
            s += if i % 2 == 0 {
                u64::from(*b) << 8
            } else {
                u64::from(*b)
            };
        }
        s
    }

    /// `s` folded to 16 bits.
    pub fn fold(mut s: u64) -> u64 {
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s
    }

    /// [`word_sum`] folded: what [`super::sum`] must return.
    pub fn naive_sum(data: &[u8]) -> u16 {
        fold(word_sum(data)) as u16
    }

    /// Whether a checksummed region (the field included), summed from `initial`, verifies.
    pub fn verifies(initial: u16, data: &[u8]) -> bool {
        fold(u64::from(initial) + u64::from(naive_sum(data))) == u64::from(ALL_ONES)
    }
}

#[cfg(test)]
mod tests {
    use super::reference::naive_sum;
    use super::*;

    #[test]
    fn sum_matches_naive() {
        let data: Vec<u8> = (0..3000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for len in 0..300 {
            for start in [0, 1, 2, 3] {
                let d = &data[start..start + len];
                assert_eq!(sum(d), naive_sum(d), "len {len} start {start}");
            }
        }
        let ff = vec![0xffu8; 70_000];
        assert_eq!(sum(&ff), naive_sum(&ff));
        assert_eq!(sum(&data), naive_sum(&data));
        assert_eq!(sum(&[]), 0);
        // RFC 1071 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        assert_eq!(sum(&[0, 1, 0xf2, 3, 0xf4, 0xf5, 0xf6, 0xf7]), 0xddf2);
        assert_eq!(
            checksum(0, &[0, 1, 0xf2, 3, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
        assert_eq!(add(0xffff, 1), 1);
    }

    #[test]
    fn pseudo_headers_match_naive() {
        let (src4, dst4) = ([10, 0, 0, 1], [192, 168, 200, 2]);
        let mut b = [src4, dst4].concat();
        b.extend_from_slice(&[0, 6]);
        b.extend_from_slice(&1234u16.to_be_bytes());
        assert_eq!(pseudo_header_v4(&src4, &dst4, 6, 1234), naive_sum(&b));

        let src6 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 1];
        let dst6 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xee, 2];
        let mut b = [src6, dst6].concat();
        // A length over 16 bits is summed as a 32-bit field.
        b.extend_from_slice(&70_000u32.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 6]);
        assert_eq!(pseudo_header_v6(&src6, &dst6, 6, 70_000), naive_sum(&b));
    }
}
