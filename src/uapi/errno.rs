//! The status a UAPI reply carries: `errno=0` on success, else an `errno.h` value.

use std::fmt;

/// A positive `errno.h` value (`EINVAL`, `EPROTO`, ...) describing why a request failed.
///
/// On the wire it is written negated (`errno=-22`), as wireguard-go does: `wg` reads the number
/// with `fscanf("errno=%d")` and sets `errno = -value` before `perror`, so only the negated form
/// prints "Invalid argument" (boringtun's positive form prints "Unknown error -22").
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(i32);

impl Errno {
    /// A value that does not parse (bad key, port, address, ...), or an unknown key.
    pub const EINVAL: Errno = Errno(libc::EINVAL);
    /// A line that is not `key=value`, an unknown operation, or a request cut short.
    pub const EPROTO: Errno = Errno(libc::EPROTO);
    /// Reading or writing the socket failed.
    pub const EIO: Errno = Errno(libc::EIO);
    /// The listen port (or fwmark rebind) could not be applied.
    pub const EADDRINUSE: Errno = Errno(libc::EADDRINUSE);
    /// A request over one of ringtun's bounds (`uapi::Limits`); wireguard-go has none.
    pub const EMSGSIZE: Errno = Errno(libc::EMSGSIZE);
    /// The daemon cannot make this kind of change.
    pub const EOPNOTSUPP: Errno = Errno(libc::EOPNOTSUPP);

    /// `None` for 0 or a negative value: neither is an error number.
    pub const fn new(value: i32) -> Option<Errno> {
        if value > 0 { Some(Errno(value)) } else { None }
    }

    /// The positive `errno.h` value.
    pub const fn get(self) -> i32 {
        self.0
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Errno({})", self.0)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", std::io::Error::from_raw_os_error(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_positive_values_are_errors() {
        assert_eq!(Errno::new(0), None);
        assert_eq!(Errno::new(-22), None);
        assert_eq!(Errno::new(22), Some(Errno::EINVAL));
        assert_eq!(Errno::EINVAL.get(), 22);
        assert_eq!(Errno::EPROTO.get(), 71);
        assert_eq!(Errno::EMSGSIZE.get(), 90);
    }

    #[test]
    fn display_is_the_strerror_text() {
        assert!(Errno::EINVAL.to_string().starts_with("Invalid argument"));
    }
}
