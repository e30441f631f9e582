//! Arbitrary bytes, cut into arbitrary chunks, into a UAPI `Session` with small limits: it never
//! panics, never hands out a request over the limits, and the outcomes do not depend on the
//! chunking (the same bytes fed whole give the same outcomes). A closed session consumes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringtun::uapi::{Limits, ParseError, Request, Session};

type Outcome = Result<Request, ParseError>;

/// Feeds `input` in chunks whose sizes come from `next_size`; returns the outcomes, and for each
/// the bytes consumed since the previous one.
fn run(
    limits: Limits,
    input: &[u8],
    mut next_size: impl FnMut() -> usize,
) -> Vec<(Outcome, usize)> {
    let mut session = Session::new(limits);
    let mut outcomes = Vec::new();
    let mut since_last = 0;
    let mut rest = input;
    while !rest.is_empty() {
        let size = next_size().clamp(1, rest.len());
        let mut chunk = &rest[..size];
        rest = &rest[size..];
        while !chunk.is_empty() {
            let (used, outcome) = session.feed(chunk);
            assert!(used <= chunk.len());
            chunk = &chunk[used..];
            since_last += used;
            match outcome {
                Some(o) => outcomes.push((o, std::mem::take(&mut since_last))),
                None if session.is_closed() => break,
                None => assert!(chunk.is_empty(), "feed stopped without an outcome"),
            }
            if session.is_closed() {
                break;
            }
        }
        if session.is_closed() {
            assert_eq!(
                session.feed(b"get=1\n\n").0,
                0,
                "a closed session consumed input"
            );
            break;
        }
    }
    if let Some(e) = session.finish() {
        outcomes.push((Err(e), since_last));
    }
    assert!(session.is_closed());
    outcomes
}

fuzz_target!(|data: &[u8]| {
    let [a, b, c, seed, input @ ..] = data else {
        return;
    };
    let limits = Limits {
        max_line: 16 + usize::from(*a),
        max_request: 64 + 16 * usize::from(*b),
        max_peers: usize::from(c & 0x07),
        max_allowed_ips: usize::from(c >> 4),
    };

    let whole = run(limits, input, || usize::MAX);
    let mut x = u64::from(*seed) | 1;
    let chunked = run(limits, input, || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        1 + (x % 23) as usize
    });
    assert_eq!(whole, chunked, "chunking changed the outcome");

    for (outcome, consumed) in &whole {
        match outcome {
            Ok(Request::Set(set)) => {
                assert!(*consumed <= limits.max_request);
                assert!(set.peers.len() <= limits.max_peers);
                let ips: usize = set.peers.iter().map(|p| p.allowed_ips.len()).sum();
                assert!(ips <= limits.max_allowed_ips);
            }
            Ok(Request::Get) => assert_eq!(*consumed, b"get=1\n\n".len()),
            Err(e) => assert!(e.errno().get() > 0),
        }
    }
});
