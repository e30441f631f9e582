//! One control connection: bytes arrive in chunks of any size; [`Session::feed`] frames them into
//! requests, enforces [`Limits`], and says when the connection must be closed.
//!
//! Only a partial line is buffered (at most [`Limits::max_line`] bytes, allocated once, wiped
//! after every line since it may hold a key); a `set` body is parsed line by line as it arrives.
//!
//! After a refused `set` line the rest of the body is skipped up to its empty line and only then
//! answered, so the reply lines up with the request and the client (which writes the whole
//! request before it reads) is not cut off mid-write; the connection stays usable. A request
//! that is not framed as one (unknown operation, `get=1` not followed by an empty line, over
//! [`Limits::max_request`]) is answered and the connection closed.

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
            line: Vec::with_capacity(limits.max_line),
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

    /// The connection must be closed (after replying to the last outcome).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Consumes at least one byte of the non-empty `rest`: up to and including the next `\n`.
    fn step(&mut self, rest: &[u8]) -> (usize, Option<Result<Request, ParseError>>) {
        if let State::GetEnd = self.state {
            self.request_bytes += 1;
            if rest[0] != b'\n' {
                let line = self.lines + 1;
                return (1, Some(Err(self.close(ErrorKind::GetNotTerminated, line))));
            }
            self.end_request();
            return (1, Some(Ok(Request::Get)));
        }
        let newline = rest.iter().position(|&b| b == b'\n');
        let segment = &rest[..newline.unwrap_or(rest.len())];
        let used = segment.len() + usize::from(newline.is_some());
        self.request_bytes = self.request_bytes.saturating_add(used);
        if self.request_bytes > self.limits.max_request {
            let line = self.lines + 1;
            return (
                used,
                Some(Err(self.close(ErrorKind::RequestTooLarge, line))),
            );
        }
        let complete = newline.is_some();

        if let State::Skip { error, line_start } = &mut self.state {
            if complete && segment.is_empty() && *line_start {
                let error = *error;
                self.end_request();
                return (used, Some(Err(error)));
            }
            *line_start = complete;
            return (used, None);
        }

        if self.line.len() + segment.len() > self.limits.max_line {
            let line = self.lines + 1;
            if let State::SetBody(_) = self.state {
                self.clear_line();
                let error = ParseError {
                    kind: ErrorKind::LineTooLong,
                    line,
                };
                self.state = State::Skip {
                    error,
                    line_start: complete,
                };
                return (used, None);
            }
            return (used, Some(Err(self.close(ErrorKind::LineTooLong, line))));
        }
        self.line.extend_from_slice(segment);
        if !complete {
            return (used, None);
        }
        self.lines += 1;
        let outcome = self.complete_line();
        self.clear_line();
        (used, outcome)
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
