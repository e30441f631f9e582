//! One control connection: bytes arrive in chunks of any size; [`Session::feed`] frames them into
//! requests, enforces [`Limits`], and says when the connection must be closed.
//!
//! Only a partial line is buffered (at most [`Limits::max_line`] bytes, allocated once, wiped
//! after every line since it may hold a key); a `set` body is parsed line by line as it arrives.
//!
//! After a refused `set` line the rest of the body is skipped up to its empty line and only then
//! answered, so the reply lines up with the request and the client (which writes the whole
//! request before it reads) is not cut off mid-write; the connection stays usable. A request
//! that is not framed as one (unknown operation, `get=1` not followed by an empty line, a first
//! line over [`Limits::max_line`], anything over [`Limits::max_request`]) is answered and the
//! connection closed.

use super::Limits;
use super::key::wipe;
use super::request::{ErrorKind, ParseError, SetParser, SetRequest};

/// A complete, well-formed request.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// Answer with [`super::get_reply`].
    Get,
    /// Apply all of it or nothing, then answer with [`super::status_reply`].
    Set(SetRequest),
}

pub struct Session {
    limits: Limits,
    state: State,
    /// The line being received; its capacity is `max_line`, so it never reallocates (which would
    /// leave a copy of a key in freed memory).
    line: Vec<u8>,
    /// Bytes of the current request so far.
    request_bytes: usize,
    /// Complete lines of the current request so far.
    lines: u32,
}

#[derive(Debug)]
enum State {
    /// Before a request's first line, or inside it.
    Operation,
    /// After `get=1\n`: the next byte must be `\n`.
    GetEnd,
    /// Inside a `set` body.
    SetBody(SetParser),
    /// Inside a refused `set` body, skipping to its empty line; `line_start`: the previous byte
    /// was `\n`.
    Skip {
        error: ParseError,
        line_start: bool,
    },
    Closed,
}

impl Session {
    pub fn new(limits: Limits) -> Session {
        Session {
            // A line is also part of a request, so it never outgrows `max_request` either.
            line: Vec::with_capacity(limits.max_line.min(limits.max_request)),
            limits,
            state: State::Operation,
            request_bytes: 0,
            lines: 0,
        }
    }

    /// Consumes bytes from `input` up to the end of the first request that completes in it, and
    /// returns how many it consumed with that request's outcome. With `None`, all of `input` was
    /// consumed (or the session is closed and consumed nothing). Every `Some` needs a reply:
    /// [`super::get_reply`] / [`super::status_reply`] for `Ok`, `status_reply(Err(e.errno()))`
    /// for `Err`. Then, if [`Session::is_closed`], close the connection.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<Result<Request, ParseError>>) {
        let mut used = 0;
        while used < input.len() && !self.is_closed() {
            let (n, outcome) = self.step(&input[used..]);
            used += n;
            if outcome.is_some() {
                return (used, outcome);
            }
        }
        (used, None)
    }

    /// The peer closed its side. Returns a `Truncated` error if it did so inside a request (an
    /// incomplete `set` is never applied), and closes the session.
    pub fn finish(&mut self) -> Option<ParseError> {
        let state = std::mem::replace(&mut self.state, State::Closed);
        let idle = matches!(state, State::Operation) && self.request_bytes == 0;
        self.clear_line();
        match state {
            State::Closed => None,
            _ if idle => None,
            _ => Some(ParseError {
                kind: ErrorKind::Truncated,
                line: self.lines + 1,
            }),
        }
    }

    /// Starts over as a new session with the same limits, for the next connection: whatever was
    /// buffered or parsed is dropped (the line wiped); the line buffer's allocation is kept.
    pub fn reset(&mut self) {
        self.clear_line();
        self.state = State::Operation;
        self.request_bytes = 0;
        self.lines = 0;
    }

    /// The connection must be closed (after replying to the last outcome).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Consumes at least one byte of the non-empty `rest`: up to and including the next `\n`, or
    /// up to and including the first byte that breaks a bound. Bounds are checked at byte
    /// positions, so the outcomes and what is consumed before each do not depend on how the input
    /// was cut.
    fn step(&mut self, rest: &[u8]) -> (usize, Option<Result<Request, ParseError>>) {
        let newline = match self.state {
            State::GetEnd => Some(0),
            _ => rest.iter().position(|&b| b == b'\n'),
        };
        let segment = &rest[..newline.unwrap_or(rest.len())];
        let complete = newline.is_some();
        let used = segment.len() + usize::from(complete);
        // `request_bytes` never exceeds `max_request` while the session is open.
        let allowance = self.limits.max_request - self.request_bytes;
        let line_room = match self.state {
            State::Operation | State::SetBody(_) => Some(self.limits.max_line - self.line.len()),
            _ => None,
        };
        let line_no = self.lines + 1;

        // The line bound breaks first: at byte `room + 1`, still within the request bound.
        if let Some(room) = line_room.filter(|room| segment.len() > *room && *room < allowance) {
            self.request_bytes += room + 1;
            self.clear_line();
            if let State::SetBody(_) = self.state {
                let error = ParseError {
                    kind: ErrorKind::LineTooLong,
                    line: line_no,
                };
                self.state = State::Skip {
                    error,
                    line_start: false,
                };
                return (room + 1, None);
            }
            return (
                room + 1,
                Some(Err(self.close(ErrorKind::LineTooLong, line_no))),
            );
        }
        if used > allowance {
            return (
                allowance + 1,
                Some(Err(self.close(ErrorKind::RequestTooLarge, line_no))),
            );
        }
        self.request_bytes += used;

        match &mut self.state {
            State::GetEnd if rest[0] == b'\n' => {
                self.end_request();
                (1, Some(Ok(Request::Get)))
            }
            State::GetEnd => (
                1,
                Some(Err(self.close(ErrorKind::GetNotTerminated, line_no))),
            ),
            State::Skip { error, line_start } => {
                if complete && segment.is_empty() && *line_start {
                    let error = *error;
                    self.end_request();
                    return (used, Some(Err(error)));
                }
                *line_start = complete;
                (used, None)
            }
            State::Closed => (0, None),
            State::Operation | State::SetBody(_) => {
                // Fits: checked against `line_room` above.
                self.line.extend_from_slice(segment);
                if !complete {
                    return (used, None);
                }
                self.lines += 1;
                let outcome = self.complete_line();
                self.clear_line();
                (used, outcome)
            }
        }
    }

    /// Acts on the complete line in `self.line` (its `\n` removed), line number `self.lines`.
    fn complete_line(&mut self) -> Option<Result<Request, ParseError>> {
        match &mut self.state {
            State::Operation => {
                match self.line.as_slice() {
                    b"get=1" => self.state = State::GetEnd,
                    b"set=1" => self.state = State::SetBody(SetParser::default()),
                    _ => return Some(Err(self.close(ErrorKind::UnknownOperation, self.lines))),
                }
                None
            }
            State::SetBody(_) if self.line.is_empty() => {
                let State::SetBody(parser) = std::mem::replace(&mut self.state, State::Operation)
                else {
                    unreachable!("matched SetBody just above")
                };
                self.end_request();
                Some(Ok(Request::Set(parser.finish())))
            }
            State::SetBody(parser) => {
                if let Err(error) = parser.line(&self.line, self.lines, &self.limits) {
                    self.state = State::Skip {
                        error,
                        line_start: true,
                    };
                }
                None
            }
            State::GetEnd | State::Skip { .. } | State::Closed => None,
        }
    }

    fn close(&mut self, kind: ErrorKind, line: u32) -> ParseError {
        let error = ParseError { kind, line };
        self.state = State::Closed;
        self.clear_line();
        error
    }

    fn end_request(&mut self) {
        self.state = State::Operation;
        self.request_bytes = 0;
        self.lines = 0;
    }

    fn clear_line(&mut self) {
        wipe(&mut self.line);
        self.line.clear();
    }
}

/// Shows where the session is, never the buffered line (it may hold a key).
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("state", &self.state)
            .field("request_bytes", &self.request_bytes)
            .field("lines", &self.lines)
            .field("buffered", &self.line.len())
            .finish()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.clear_line();
    }
}

/// Parses the first request in `bytes` (anything after it is not looked at); `Truncated` if
/// `bytes` ends inside it.
pub fn parse_request(bytes: &[u8], limits: &Limits) -> Result<Request, ParseError> {
    let mut session = Session::new(*limits);
    match session.feed(bytes) {
        (_, Some(outcome)) => outcome,
        (_, None) => Err(session.finish().unwrap_or(ParseError {
            kind: ErrorKind::Truncated,
            line: 1,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Errno;
    use super::super::fixtures::*;
    use super::*;

    type Outcome = Result<Request, ParseError>;

    /// Feeds `input` cut at the given chunk sizes (cycled), collecting every outcome, then
    /// `finish`es; also checks that nothing is consumed once closed.
    fn run(limits: Limits, input: &[u8], chunks: &[usize]) -> (Vec<Outcome>, bool) {
        let mut session = Session::new(limits);
        let mut outcomes = Vec::new();
        let mut rest = input;
        let mut sizes = chunks.iter().cycle();
        while !rest.is_empty() && !session.is_closed() {
            let size = (*sizes.next().unwrap()).clamp(1, rest.len());
            let mut chunk = &rest[..size];
            while !chunk.is_empty() {
                let (used, outcome) = session.feed(chunk);
                assert!(used <= chunk.len());
                chunk = &chunk[used..];
                rest = &rest[used..];
                match outcome {
                    Some(o) => outcomes.push(o),
                    None if session.is_closed() => break,
                    None => assert!(chunk.is_empty(), "stopped early without an outcome"),
                }
                if session.is_closed() {
                    break;
                }
            }
            assert!(
                session.line.capacity() == limits.max_line.min(limits.max_request),
                "line buffer reallocated"
            );
        }
        let closed_early = session.is_closed();
        if closed_early {
            assert_eq!(
                session.feed(b"get=1\n\n"),
                (0, None),
                "a closed session consumes nothing"
            );
        }
        outcomes.extend(session.finish().map(Err));
        (outcomes, closed_early)
    }

    fn whole(input: &[u8]) -> (Vec<Outcome>, bool) {
        run(Limits::default(), input, &[usize::MAX])
    }

    /// A small deterministic generator for chunk sizes.
    fn chunk_sizes(seed: u64, n: usize) -> Vec<usize> {
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                1 + (x >> 33) as usize % 97
            })
            .collect()
    }

    fn stream() -> Vec<u8> {
        let mut s = Vec::new();
        s.extend_from_slice(WG_SHOW);
        for set in ALL_SETS {
            s.extend_from_slice(set);
        }
        s.extend_from_slice(b"set=1\nlisten_port=x\npublic_key=00\n\n");
        s.extend_from_slice(WG_SHOW);
        s
    }

    #[test]
    fn several_requests_on_one_connection() {
        let (outcomes, closed) = whole(&stream());
        assert!(!closed);
        assert_eq!(outcomes.len(), ALL_SETS.len() + 3);
        assert_eq!(outcomes[0], Ok(Request::Get));
        for (outcome, set) in outcomes[1..].iter().zip(ALL_SETS) {
            assert_eq!(
                outcome,
                &parse_request(set, &Limits::default()),
                "{}",
                String::from_utf8_lossy(set)
            );
            assert!(matches!(outcome, Ok(Request::Set(_))));
        }
        let refused = &outcomes[ALL_SETS.len() + 1];
        assert_eq!(
            refused.as_ref().unwrap_err().kind,
            ErrorKind::InvalidValue(super::super::Key::ListenPort)
        );
        assert_eq!(
            outcomes.last(),
            Some(&Ok(Request::Get)),
            "a refused set leaves the connection usable"
        );
    }

    #[test]
    fn byte_by_byte_and_random_chunks_equal_whole() {
        let input = stream();
        let expected = whole(&input);
        assert_eq!(run(Limits::default(), &input, &[1]), expected);
        for seed in 0..20 {
            assert_eq!(
                run(Limits::default(), &input, &chunk_sizes(seed, 64)),
                expected,
                "seed {seed}"
            );
        }
    }

    #[test]
    fn feed_stops_right_after_each_request() {
        let mut session = Session::new(Limits::default());
        let mut input = WG_SET.to_vec();
        input.extend_from_slice(WG_SHOW);
        let (used, outcome) = session.feed(&input);
        assert_eq!(used, WG_SET.len());
        assert!(matches!(outcome, Some(Ok(Request::Set(_)))));
        assert_eq!(
            session.feed(&input[used..]),
            (WG_SHOW.len(), Some(Ok(Request::Get)))
        );
        assert_eq!(session.finish(), None);
        assert!(session.is_closed());
    }

    #[test]
    fn a_connection_that_sends_nothing_is_not_an_error() {
        // `wg` probes each socket with a connect and close before using it.
        let mut session = Session::new(Limits::default());
        assert_eq!(session.finish(), None);
        assert_eq!(whole(b""), (vec![], false));
    }

    #[test]
    fn truncated_requests() {
        for cut in [1, 5, 6, WG_SET.len() / 2, WG_SET.len() - 1] {
            let (outcomes, _) = whole(&WG_SET[..cut]);
            assert_eq!(outcomes.len(), 1, "cut at {cut}");
            let err = outcomes[0].as_ref().unwrap_err();
            assert_eq!(
                (err.kind, err.errno()),
                (ErrorKind::Truncated, Errno::EPROTO)
            );
        }
        let (outcomes, _) = whole(b"get=1\n");
        assert_eq!(outcomes[0].as_ref().unwrap_err().kind, ErrorKind::Truncated);
    }

    #[test]
    fn framing_errors_close_the_connection() {
        for (input, kind) in [
            (&b"GET=1\n\nget=1\n\n"[..], ErrorKind::UnknownOperation),
            (b"\nget=1\n\n", ErrorKind::UnknownOperation),
            (b"get=1\nxget=1\n\n", ErrorKind::GetNotTerminated),
        ] {
            let (outcomes, closed) = whole(input);
            assert!(closed, "{input:?}");
            assert_eq!(
                outcomes.len(),
                1,
                "{input:?}: nothing after the error is read"
            );
            assert_eq!(outcomes[0].as_ref().unwrap_err().kind, kind);
        }
    }

    #[test]
    fn line_bound() {
        let limits = Limits {
            max_line: 80,
            ..Limits::default()
        };
        // The longest line of a fixture fits in 80 bytes.
        for set in ALL_SETS {
            assert!(run(limits, set, &[7]).0[0].is_ok());
        }
        let line = |n: usize| format!("set=1\nendpoint={}\n\nget=1\n\n", "9".repeat(n - 9));
        // Exactly 80 bytes: parsed (and refused for its value, not its length).
        let (outcomes, _) = run(limits, line(80).as_bytes(), &[3]);
        assert_eq!(
            outcomes[0].as_ref().unwrap_err().kind,
            ErrorKind::UnknownInterfaceKey
        );
        // 81 bytes: refused for its length after the body is skipped; the connection stays open.
        for chunks in [&[1usize][..], &[1000], &[79, 1, 1, 100]] {
            let (outcomes, closed) = run(limits, line(81).as_bytes(), chunks);
            let err = outcomes[0].as_ref().unwrap_err();
            assert_eq!(
                (err.kind, err.line, err.errno()),
                (ErrorKind::LineTooLong, 2, Errno::EMSGSIZE)
            );
            assert_eq!(outcomes[1], Ok(Request::Get));
            assert!(!closed);
        }
        // An overlong first line cannot be framed: closed, after consuming through the first byte
        // over the bound, however the input was cut.
        let (outcomes, closed) = run(limits, "x".repeat(200).as_bytes(), &[1]);
        assert_eq!(
            outcomes[0].as_ref().unwrap_err().kind,
            ErrorKind::LineTooLong
        );
        assert!(closed);
        let long = "x".repeat(200);
        let mut session = Session::new(limits);
        assert_eq!(session.feed(&long.as_bytes()[..50]), (50, None));
        let (used, outcome) = session.feed(&long.as_bytes()[50..]);
        assert_eq!(used, 81 - 50);
        assert_eq!(outcome.unwrap().unwrap_err().kind, ErrorKind::LineTooLong);
    }

    #[test]
    fn request_bound_closes_as_soon_as_it_is_crossed() {
        let limits = Limits {
            max_request: WG_SET.len(),
            ..Limits::default()
        };
        assert!(
            run(limits, WG_SET, &[1]).0[0].is_ok(),
            "a request of exactly the bound"
        );
        let mut long = WG_SET[..WG_SET.len() - 1].to_vec();
        long.extend_from_slice(b"remove=true\n\n");
        let mut session = Session::new(limits);
        let (used, outcome) = session.feed(&long);
        let err = outcome.unwrap().unwrap_err();
        assert_eq!(
            (err.kind, err.errno()),
            (ErrorKind::RequestTooLarge, Errno::EMSGSIZE)
        );
        assert_eq!(
            used,
            WG_SET.len() + 1,
            "consumed through the first byte over the bound"
        );
        assert!(session.is_closed());
        // The bound holds while skipping a refused body too.
        let mut skipped = b"set=1\nbad\n".to_vec();
        skipped.extend(std::iter::repeat_n(b'x', WG_SET.len()));
        let (outcomes, closed) = run(limits, &skipped, &[13]);
        assert_eq!(
            outcomes[0].as_ref().unwrap_err().kind,
            ErrorKind::RequestTooLarge
        );
        assert!(closed);
    }

    #[test]
    fn huge_limits_allocate_only_what_a_request_can_hold() {
        let limits = Limits {
            max_line: usize::MAX,
            max_request: 100,
            ..Limits::default()
        };
        let (outcomes, closed) = run(limits, &[b'x'; 300], &[7]);
        assert_eq!(
            outcomes[0].as_ref().unwrap_err().kind,
            ErrorKind::RequestTooLarge
        );
        assert!(closed);
    }

    #[test]
    fn a_get_counts_against_the_request_bound() {
        let limits = Limits {
            max_request: 6,
            ..Limits::default()
        };
        let (outcomes, closed) = run(limits, WG_SHOW, &[1]);
        assert_eq!(
            outcomes[0].as_ref().unwrap_err().kind,
            ErrorKind::RequestTooLarge
        );
        assert!(closed);
        let limits = Limits {
            max_request: 7,
            ..Limits::default()
        };
        assert_eq!(run(limits, WG_SHOW, &[1]), (vec![Ok(Request::Get)], false));
    }

    #[test]
    fn peer_and_allowed_ip_bounds() {
        let limits = Limits {
            max_peers: 3,
            max_allowed_ips: 4,
            ..Limits::default()
        };
        let body = |peers: usize, ips: usize| {
            let mut s = String::from("set=1\n");
            for p in 0..peers {
                s += &format!("public_key={:064x}\n", p);
            }
            for i in 0..ips {
                s += &format!("allowed_ip=10.0.0.{i}/32\n");
            }
            s + "\nget=1\n\n"
        };
        let (outcomes, _) = run(limits, body(3, 4).as_bytes(), &[5]);
        match &outcomes[0] {
            Ok(Request::Set(set)) => {
                assert_eq!(set.peers.len(), 3);
                assert_eq!(set.peers[2].allowed_ips.len(), 4);
            }
            other => panic!("{other:?}"),
        }
        let (outcomes, closed) = run(limits, body(4, 0).as_bytes(), &[5]);
        let err = outcomes[0].as_ref().unwrap_err();
        assert_eq!(
            (err.kind, err.line, err.errno()),
            (ErrorKind::TooManyPeers, 5, Errno::EMSGSIZE)
        );
        assert_eq!(outcomes[1], Ok(Request::Get));
        assert!(!closed);
        let (outcomes, _) = run(limits, body(1, 5).as_bytes(), &[5]);
        let err = outcomes[0].as_ref().unwrap_err();
        assert_eq!(
            (err.kind, err.line, err.errno()),
            (ErrorKind::TooManyAllowedIps, 7, Errno::EMSGSIZE)
        );
    }

    #[test]
    fn reset_starts_a_new_connection_without_reallocating() {
        let limits = Limits {
            max_request: 64,
            ..Limits::default()
        };
        let mut session = Session::new(limits);
        let capacity = session.line.capacity();
        // Closed by an oversize request...
        let (_, outcome) = session.feed(&[b'x'; 100]);
        assert_eq!(
            outcome.unwrap().unwrap_err().kind,
            ErrorKind::RequestTooLarge
        );
        assert!(session.is_closed());
        session.reset();
        assert_eq!(
            session.feed(WG_SHOW),
            (WG_SHOW.len(), Some(Ok(Request::Get)))
        );
        // ...or left inside a set body with a partial line: nothing of it survives.
        session.feed(format!("set=1\nprivate_key={}", &PRIVATE_KEY_HEX[..10]).as_bytes());
        session.reset();
        assert!(session.line.is_empty());
        assert_eq!(session.finish(), None, "a fresh session: nothing pending");
        session.reset();
        assert_eq!(
            session.feed(WG_SHOW),
            (WG_SHOW.len(), Some(Ok(Request::Get)))
        );
        assert_eq!(session.line.capacity(), capacity);
    }

    #[test]
    fn debug_shows_no_buffered_key() {
        let mut session = Session::new(Limits::default());
        session.feed(format!("set=1\nprivate_key={}", &PRIVATE_KEY_HEX[..40]).as_bytes());
        let shown = format!("{session:?}");
        assert!(!shown.contains(&PRIVATE_KEY_HEX[..8]), "{shown}");
        assert!(shown.contains("buffered: 52"), "{shown}");
    }

    #[test]
    fn only_a_partial_line_is_held() {
        let mut session = Session::new(Limits::default());
        let line = format!("set=1\nprivate_key={PRIVATE_KEY_HEX}\n");
        assert_eq!(session.feed(line.as_bytes()), (line.len(), None));
        assert!(
            session.line.is_empty(),
            "a complete line is cleared (and wiped) at once"
        );
        assert_eq!(session.feed(b"listen_po"), (9, None));
        assert_eq!(session.line, b"listen_po");
    }
}
