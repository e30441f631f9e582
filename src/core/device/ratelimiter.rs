//! The per-source limit on handshake messages (the kernel's `ratelimiter.c`): each source address
//! may send 20 a second, in bursts of up to 5. IPv4 sources are limited per address, IPv6 sources
//! per /64 (one host usually holds a whole /64).
//!
//! A token bucket per source, counted in nanoseconds: a message costs 50 ms worth of tokens, time
//! adds tokens, and the bucket holds at most 5 messages' worth.
//!
//! The table has a fixed size, allocated once: `SETS` sets of `WAYS` entries, the set chosen by a
//! keyed hash of the source (so an attacker cannot aim at one set). A source without an entry takes
//! a free one, or one idle for a second (whose bucket would be full again anyway), or else the
//! least recently used of its set. That last case means a flood from more sources than the table
//! holds is not limited per source; such a flood needs spoofed addresses, and spoofed senders are
//! what the cookie mechanism stops (they cannot receive the cookie reply). The limit is for the
//! other case: one real host (or a few) hammering the responder's CPU.

use core::hash::BuildHasher;
use core::net::IpAddr;

use crate::core::keyed_hash::HashKey;
use crate::core::time::{Instant, NANOS_PER_SEC};
use crate::net::ip::{VERSION_4, VERSION_6};

/// Messages per second each source may send in the long run.
pub(crate) const PACKETS_PER_SECOND: u64 = 20;
/// Messages a source may send at once after being quiet.
pub(crate) const PACKETS_BURSTABLE: u64 = 5;
/// Tokens (nanoseconds) one message costs.
const COST: u64 = NANOS_PER_SEC / PACKETS_PER_SECOND;
const TOKEN_MAX: u64 = COST * PACKETS_BURSTABLE;
/// An entry idle this long has a full bucket: it is as good as free.
const IDLE: u64 = TOKEN_MAX;

const WAYS: usize = 4;
const SETS: usize = 2048;
/// Sources tracked at once.
pub(crate) const ENTRIES: usize = SETS * WAYS;

/// Where `Source::lo` holds the family: its top byte.
const FAMILY_SHIFT: u32 = u64::BITS - u8::BITS;

/// A source, as the limit groups them. `lo`'s top byte is the family, the IP version (never 0 for
/// a used entry).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct Source {
    hi: u64,
    lo: u64,
}

impl Source {
    fn of(ip: IpAddr) -> Source {
        match ip {
            IpAddr::V4(a) => Source {
                hi: 0,
                lo: u64::from(u32::from(a)) | (u64::from(VERSION_4) << FAMILY_SHIFT),
            },
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d: limit the address.
                Some(v4) => Source::of(IpAddr::V4(v4)),
                None => Source {
                    hi: (u128::from(a) >> u64::BITS) as u64,
                    lo: u64::from(VERSION_6) << FAMILY_SHIFT,
                },
            },
        }
    }

    fn is_free(&self) -> bool {
        self.lo == 0
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    source: Source,
    last: u64,
    tokens: u64,
}

pub(crate) struct RateLimiter {
    entries: Box<[Entry]>,
    hash_key: HashKey,
}

impl RateLimiter {
    /// An empty table (`ENTRIES` entries of 32 bytes, allocated now).
    pub(crate) fn new(hash_key: HashKey) -> Self {
        RateLimiter {
            entries: vec![Entry::default(); ENTRIES].into_boxed_slice(),
            hash_key,
        }
    }

    /// Whether a message from `ip` at `now` is within its source's limit; takes its tokens if so.
    /// Allocates nothing; looks at one set of four entries.
    pub(crate) fn allow(&mut self, now: Instant, ip: IpAddr) -> bool {
        let source = Source::of(ip);
        let now = now.as_nanos();
        let set = (self.hash_key.hash_one(source) as usize) % SETS;
        let ways = &mut self.entries[set * WAYS..set * WAYS + WAYS];
        if let Some(entry) = ways.iter_mut().find(|e| e.source == source) {
            let earned = now.saturating_sub(entry.last);
            entry.tokens = entry.tokens.saturating_add(earned).min(TOKEN_MAX);
            entry.last = now;
            if entry.tokens >= COST {
                entry.tokens -= COST;
                return true;
            }
            return false;
        }
        // A new source: a free or idle entry, else the least recently used one.
        let victim = ways
            .iter_mut()
            .min_by_key(|e| {
                let reusable = e.source.is_free() || now.saturating_sub(e.last) >= IDLE;
                (!reusable, e.last)
            })
            .expect("a set has WAYS > 0 entries");
        *victim = Entry {
            source,
            last: now,
            tokens: TOKEN_MAX - COST,
        };
        true
    }
}

impl core::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let used = self.entries.iter().filter(|e| !e.source.is_free()).count();
        f.debug_struct("RateLimiter")
            .field("sources", &used)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    fn limiter() -> RateLimiter {
        RateLimiter::new(HashKey::from_bytes([9; 16]))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const T0: Instant = Instant::from_nanos(1_000_000_000);

    #[test]
    fn a_burst_of_five_then_twenty_per_second() {
        let mut l = limiter();
        let a = ip("192.0.2.1");
        let allowed = (0..10).filter(|_| l.allow(T0, a)).count();
        assert_eq!(allowed, 5);
        // 50 ms later exactly one more.
        let t = T0 + Duration::from_millis(50);
        assert!(l.allow(t, a));
        assert!(!l.allow(t, a));
        // Over ten seconds at 100 tries per second: about 20 per second get through.
        let mut allowed = 0;
        for ms in (60..10_060).step_by(10) {
            allowed += usize::from(l.allow(T0 + Duration::from_millis(ms), a));
        }
        assert!((199..=206).contains(&allowed), "{allowed}");
        // After a quiet second the burst is back, and not more.
        let later = T0 + Duration::from_secs(30);
        assert_eq!((0..10).filter(|_| l.allow(later, a)).count(), 5);
    }

    #[test]
    fn sources_are_limited_separately_ipv6_per_64() {
        let mut l = limiter();
        for _ in 0..5 {
            assert!(l.allow(T0, ip("192.0.2.1")));
        }
        assert!(!l.allow(T0, ip("192.0.2.1")));
        assert!(l.allow(T0, ip("192.0.2.2")));
        // The mapped form of the same IPv4 address shares its bucket.
        assert!(!l.allow(T0, ip("::ffff:192.0.2.1")));
        for i in 0..5 {
            assert!(l.allow(T0, ip(&format!("2001:db8:0:1::{i}"))));
        }
        assert!(!l.allow(T0, ip("2001:db8:0:1:ffff::9")), "same /64");
        assert!(l.allow(T0, ip("2001:db8:0:2::1")), "another /64");
    }

    #[test]
    fn a_flood_of_many_sources_stays_in_the_fixed_table_and_a_quiet_source_is_unaffected() {
        let mut l = limiter();
        let before = l.entries.len();
        for i in 0..100_000u32 {
            let a = IpAddr::V4((0x0a00_0000 + i).into());
            assert!(l.allow(T0, a), "a new source gets its first message");
        }
        assert_eq!(l.entries.len(), before);
        // A repeat offender inside the table is still limited.
        let a = IpAddr::V4(0x0a00_0000u32.wrapping_add(99_999).into());
        let allowed = (0..10).filter(|_| l.allow(T0, a)).count();
        assert_eq!(allowed, 4, "one was spent above");
    }
}
