//! systemd's readiness protocol (`sd_notify(3)`): one datagram of `KEY=VALUE` lines to the unix
//! socket named by `$NOTIFY_SOCKET`, which the service manager sets for a `Type=notify` unit.
//!
//! Without the variable every call is a no-op, so the same binary runs under systemd, under
//! another supervisor, and by hand. ringtun sends `READY=1` once its tunnel is usable (a server, a
//! configuration file or a bare interface: the interface is up; the one-command client: its first
//! session with the server is up, sent by `app::hooks`), `STOPPING=1` when a signal ends it or its
//! interface is deleted, and `STATUS=` lines that `systemctl status` shows.
//!
//! The variable names a socket path (`/run/systemd/notify`) or, with a leading `@`, an abstract
//! socket (Linux only; the `@` stands for the leading NUL byte). Abstract names belong to a
//! network namespace, so a process that moved to another namespace cannot reach one; a path can.
//! std's `UnixDatagram` does all of it: no `unsafe` here.

use std::ffi::OsStr;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// The environment variable the service manager sets.
pub(crate) const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Longest `STATUS=` text sent; longer text is cut (at a character boundary), so that a status
/// built from runtime values always fits in one datagram.
pub(crate) const MAX_STATUS_LEN: usize = 200;

/// Where `$NOTIFY_SOCKET` points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NotifyAddr {
    /// A socket in the file system (an absolute path).
    Path(Vec<u8>),
    /// An abstract socket: the name after the `@`.
    Abstract(Vec<u8>),
}

/// Parses a `$NOTIFY_SOCKET` value. Empty means unset; anything but an absolute path or an `@`
/// name (e.g. systemd's `vsock:` form, for virtual machines) is refused with a one-line error.
pub(crate) fn parse_addr(value: &OsStr) -> io::Result<Option<NotifyAddr>> {
    let bytes = value.as_bytes();
    match bytes.first() {
        None => Ok(None),
        Some(b'/') => Ok(Some(NotifyAddr::Path(bytes.to_vec()))),
        Some(b'@') if bytes.len() > 1 => Ok(Some(NotifyAddr::Abstract(bytes[1..].to_vec()))),
        _ => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "{NOTIFY_SOCKET}={} is neither an absolute socket path nor an @abstract name",
                value.to_string_lossy()
            ),
        )),
    }
}

/// Sends `state` (newline-separated `KEY=VALUE` assignments) to `addr` in one datagram.
pub(crate) fn send_to(addr: &NotifyAddr, state: &str) -> io::Result<()> {
    let sock = UnixDatagram::unbound()?;
    let to = match addr {
        NotifyAddr::Path(p) => SocketAddr::from_pathname(OsStr::from_bytes(p))?,
        NotifyAddr::Abstract(name) => SocketAddr::from_abstract_name(name)?,
    };
    let sent = sock.send_to_addr(state.as_bytes(), &to)?;
    if sent != state.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "the notification datagram was cut short",
        ));
    }
    Ok(())
}

/// Sends `state` to the manager named by `$NOTIFY_SOCKET`. `Ok(false)` when there is none.
pub(crate) fn notify(state: &str) -> io::Result<bool> {
    notify_socket(std::env::var_os(NOTIFY_SOCKET).as_deref(), state)
}

/// [`notify`] with the variable's value given: `None` or empty sends nothing (`Ok(false)`).
pub(crate) fn notify_socket(value: Option<&OsStr>, state: &str) -> io::Result<bool> {
    match value.map(parse_addr).transpose()?.flatten() {
        None => Ok(false),
        Some(addr) => send_to(&addr, state).map(|()| true),
    }
}

/// `READY=1` with a status line: the service is up (systemd's `Type=notify` start completes).
pub(crate) fn ready(status: &str) -> io::Result<bool> {
    notify(&ready_message(status))
}

/// `STOPPING=1` with a status line: the service is shutting down.
pub(crate) fn stopping(status: &str) -> io::Result<bool> {
    notify(&stopping_message(status))
}

pub(crate) fn ready_message(status: &str) -> String {
    format!("READY=1\n{}", status_assignment(status))
}

pub(crate) fn stopping_message(status: &str) -> String {
    format!("STOPPING=1\n{}", status_assignment(status))
}

/// `STATUS=TEXT` on one line: a newline would start a new assignment, so control characters
/// become spaces, and the text is cut to [`MAX_STATUS_LEN`] bytes.
pub(crate) fn status_assignment(text: &str) -> String {
    let mut end = text.len().min(MAX_STATUS_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let clean: String = text[..end]
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("STATUS={clean}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;
    use std::time::Duration;

    fn receive(sock: &UnixDatagram) -> Vec<u8> {
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 512];
        let n = sock.recv(&mut buf).expect("a notification arrives");
        buf[..n].to_vec()
    }

    fn unique(tag: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!("ringtun-notify-test-{tag}-{}-{nanos}", std::process::id())
    }

    #[test]
    fn parses_paths_abstract_names_and_refuses_the_rest() {
        assert_eq!(parse_addr(OsStr::new("")).unwrap(), None);
        assert_eq!(
            parse_addr(OsStr::new("/run/systemd/notify")).unwrap(),
            Some(NotifyAddr::Path(b"/run/systemd/notify".to_vec()))
        );
        assert_eq!(
            parse_addr(OsStr::new("@/org/freedesktop/systemd1/notify/42")).unwrap(),
            Some(NotifyAddr::Abstract(
                b"/org/freedesktop/systemd1/notify/42".to_vec()
            ))
        );
        for bad in ["@", "relative/path", "vsock:2:1234"] {
            let e = parse_addr(OsStr::new(bad)).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{bad}");
            assert!(e.to_string().contains(bad), "{e}");
        }
    }

    #[test]
    fn sends_exact_bytes_to_a_socket_path() {
        let dir = std::env::temp_dir().join(unique("dir"));
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        let addr = parse_addr(path.as_os_str()).unwrap().unwrap();
        send_to(&addr, &ready_message("listening on [::]:51820")).unwrap();
        let got = receive(&listener);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(got, b"READY=1\nSTATUS=listening on [::]:51820");
    }

    #[test]
    fn sends_exact_bytes_to_an_abstract_name() {
        let name = unique("abstract");
        let listener =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        let addr = parse_addr(OsStr::new(&format!("@{name}")))
            .unwrap()
            .unwrap();
        send_to(&addr, &stopping_message("exiting on SIGTERM")).unwrap();
        assert_eq!(receive(&listener), b"STOPPING=1\nSTATUS=exiting on SIGTERM");
    }

    #[test]
    fn unset_or_empty_variable_sends_nothing() {
        assert!(!notify_socket(None, "READY=1").unwrap());
        assert!(!notify_socket(Some(OsStr::new("")), "READY=1").unwrap());
        // A value that cannot be a socket is an error, not silence.
        assert!(notify_socket(Some(OsStr::new("vsock:2:9")), "READY=1").is_err());
    }

    #[test]
    fn the_variable_value_reaches_the_socket_it_names() {
        let dir = std::env::temp_dir().join(unique("var"));
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        let sent = notify_socket(Some(path.as_os_str()), &status_assignment("3 peers"));
        let got = receive(&listener);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(sent.unwrap());
        assert_eq!(got, b"STATUS=3 peers");
    }

    #[test]
    fn a_missing_listener_is_an_error_not_a_hang() {
        let addr = NotifyAddr::Path(
            std::env::temp_dir()
                .join(unique("absent"))
                .into_os_string()
                .into_vec(),
        );
        assert!(send_to(&addr, "READY=1").is_err());
    }

    #[test]
    fn status_stays_one_bounded_line() {
        assert_eq!(status_assignment("up"), "STATUS=up");
        assert_eq!(
            status_assignment("a\nREADY=1\rb\tc"),
            "STATUS=a READY=1 b c"
        );
        let long = "é".repeat(MAX_STATUS_LEN);
        let s = status_assignment(&long);
        assert!(s.len() <= "STATUS=".len() + MAX_STATUS_LEN);
        assert!(s.ends_with('é'));
    }
}
