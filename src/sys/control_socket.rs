//! The control socket `wg` talks to: `/var/run/wireguard/IFNAME.sock`, a listening unix stream
//! socket, as wireguard-go and boringtun create it (what is said over it: [`crate::uapi`]; who
//! serves it: the driver's loop).
//!
//! - The directory is created with mode 0755 if it is missing.
//! - The socket is created with mode 0600 and no window in which it is wider: its inode's mode is
//!   set with `fchmod` before `bind`, and Linux gives the file `bind` creates that mode (less the
//!   umask), so no process-wide umask is touched.
//! - A socket that answers a connect belongs to a live process that serves this interface: we
//!   refuse to take it over. One that refuses connections was left behind by a process that died:
//!   it is removed and bound again.
//! - [`ControlSocket`] removes its file when dropped, unless another process has replaced it.
//! - Under systemd, the socket may come ready-made instead (socket activation, `ringtun@.socket`):
//!   [`ControlSocket::inherited`] takes it over after checking that it is a listening unix stream
//!   socket at the path `wg` looks for; systemd then owns the file and removes it.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::tun;

/// Where `wg` looks for the sockets of userspace implementations.
pub const SOCKET_DIR: &str = "/var/run/wireguard";
/// The socket: read and write (connect) for its owner only.
pub const SOCKET_MODE: u32 = 0o600;
/// The directory, when we create it (as wireguard-go does).
pub const DIR_MODE: u32 = 0o755;
/// Connections the kernel queues for `accept`; the loop takes them as they come.
const BACKLOG: libc::c_int = 32;

/// Why the control socket could not be created; `Display` is one line.
#[derive(Debug)]
pub enum ControlSocketError {
    /// Not a valid interface name (which is also the socket's file name).
    InvalidName(String),
    /// A live process answers on the socket: it serves this interface already.
    InUse(PathBuf),
    /// Something that is not a socket is in the way.
    NotASocket(PathBuf),
    /// The socket systemd passed (`LISTEN_FDS`) is not one we can serve `wg` on.
    Inherited(String),
    /// `what` failed on `path`.
    Io {
        what: &'static str,
        path: PathBuf,
        error: io::Error,
    },
}

impl fmt::Display for ControlSocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlSocketError::InvalidName(name) => write!(
                f,
                "invalid interface name {name:?} for a control socket: 1 to 15 bytes, no '/', ':' or whitespace"
            ),
            ControlSocketError::InUse(path) => write!(
                f,
                "{} is in use: another process serves this interface",
                path.display()
            ),
            ControlSocketError::NotASocket(path) => write!(
                f,
                "{} exists and is not a socket; remove it first",
                path.display()
            ),
            ControlSocketError::Inherited(why) => {
                write!(
                    f,
                    "the socket passed by the service manager (LISTEN_FDS): {why}"
                )
            }
            ControlSocketError::Io { what, path, error } => {
                write!(f, "{what} {} failed: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for ControlSocketError {}

/// A listening control socket (non-blocking, close-on-exec); its file is removed on drop.
#[derive(Debug)]
pub struct ControlSocket {
    fd: OwnedFd,
    path: PathBuf,
    /// Device and inode of the file we bound, so that drop removes ours and nothing else;
    /// `None` for an inherited socket, whose file belongs to the service manager.
    file_id: Option<(u64, u64)>,
}

impl ControlSocket {
    /// Creates `/var/run/wireguard/IFNAME.sock` (see the module documentation).
    pub fn bind(ifname: &str) -> Result<ControlSocket, ControlSocketError> {
        ControlSocket::bind_in(Path::new(SOCKET_DIR), ifname)
    }

    /// As [`ControlSocket::bind`], in `dir` instead of [`SOCKET_DIR`].
    pub fn bind_in(dir: &Path, ifname: &str) -> Result<ControlSocket, ControlSocketError> {
        if tun::check_name(ifname).is_err() {
            return Err(ControlSocketError::InvalidName(ifname.to_owned()));
        }
        let path = socket_path(dir, ifname);
        let io_error = |what, path: &Path| {
            let path = path.to_owned();
            move |error| ControlSocketError::Io { what, path, error }
        };
        make_dir(dir).map_err(io_error("creating the directory", dir))?;
        let addr = UnixAddr::new(&path).map_err(io_error("binding", &path))?;
        let fd = unix_stream_socket(libc::SOCK_NONBLOCK).map_err(io_error("creating", &path))?;
        // SAFETY: `fd` is an open socket we own; fchmod takes no pointers.
        cvt(unsafe { libc::fchmod(fd.as_raw_fd(), SOCKET_MODE) })
            .map_err(io_error("setting the mode of", &path))?;
        match addr.bind(&fd) {
            Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => {
                remove_stale(&path, &addr)?;
                match addr.bind(&fd) {
                    Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => {
                        // Another process bound it between our removal and our bind.
                        return Err(ControlSocketError::InUse(path));
                    }
                    r => r.map_err(io_error("binding", &path))?,
                }
            }
            r => r.map_err(io_error("binding", &path))?,
        }
        let file_id = std::fs::symlink_metadata(&path)
            .map(|m| Some((m.dev(), m.ino())))
            .map_err(io_error("reading", &path))?;
        let socket = ControlSocket { fd, path, file_id };
        // From here on, a failure removes the file again (drop).
        // SAFETY: `socket.fd` is an open, bound socket; listen takes no pointers.
        cvt(unsafe { libc::listen(socket.fd.as_raw_fd(), BACKLOG) })
            .map_err(io_error("listening on", &socket.path))?;
        Ok(socket)
    }

    /// The control socket systemd passed by socket activation (`sd_listen_fds(3)`: `LISTEN_PID`
    /// names this process, `LISTEN_FDS` counts the descriptors from 3 on), if it passed one. It
    /// must be one listening unix stream socket at `/var/run/wireguard/IFNAME.sock`: anything
    /// else is an error, since a unit that passes the wrong socket would leave `wg` talking to
    /// nobody. Taken at most once per process.
    pub fn inherited(ifname: &str) -> Result<Option<ControlSocket>, ControlSocketError> {
        let count = passed_fd_count(
            std::env::var("LISTEN_PID").ok().as_deref(),
            std::env::var("LISTEN_FDS").ok().as_deref(),
            std::process::id(),
        )
        .map_err(ControlSocketError::Inherited)?;
        match count {
            0 => return Ok(None),
            1 => {}
            n => {
                return Err(ControlSocketError::Inherited(format!(
                    "{n} descriptors, where ringtun takes one: its control socket"
                )));
            }
        }
        static TAKEN: AtomicBool = AtomicBool::new(false);
        if TAKEN.swap(true, Ordering::Relaxed) {
            return Ok(None);
        }
        // SAFETY: LISTEN_PID names this process, so systemd left descriptor 3 open across exec
        // for us (sd_listen_fds(3)); it was open when the process started, so nothing opened
        // since can have it, and TAKEN makes this the only owner. fcntl checks it is open.
        cvt(unsafe { libc::fcntl(LISTEN_FDS_START, libc::F_GETFD) })
            .map_err(|e| ControlSocketError::Inherited(format!("descriptor 3: {e}")))?;
        // SAFETY: as above; from here on the OwnedFd is its only owner.
        let fd = unsafe { OwnedFd::from_raw_fd(LISTEN_FDS_START) };
        adopt(fd, Path::new(SOCKET_DIR), ifname).map(Some)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `sd_listen_fds(3)`'s first descriptor.
const LISTEN_FDS_START: RawFd = 3;

/// How many descriptors the service manager passed to process `pid`: 0 when `LISTEN_PID` is
/// unset or names another process (the variables were inherited by a child, not meant for it).
fn passed_fd_count(
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
    pid: u32,
) -> Result<usize, String> {
    let Some(listen_pid) = listen_pid else {
        return Ok(0);
    };
    if listen_pid.parse::<u32>().ok() != Some(pid) {
        return Ok(0);
    }
    let fds = listen_fds.ok_or("LISTEN_PID is set without LISTEN_FDS")?;
    fds.parse::<usize>()
        .map_err(|_| format!("LISTEN_FDS={fds:?} is not a count"))
}

/// Takes `fd` as the control socket of `ifname` in `dir`: a listening `AF_UNIX` stream socket
/// bound to the path `wg` looks for (compared by device and inode, so `/run` and its
/// `/var/run` link are the same). Made non-blocking and close-on-exec.
fn adopt(fd: OwnedFd, dir: &Path, ifname: &str) -> Result<ControlSocket, ControlSocketError> {
    let bad = ControlSocketError::Inherited;
    if tun::check_name(ifname).is_err() {
        return Err(ControlSocketError::InvalidName(ifname.to_owned()));
    }
    let expected = socket_path(dir, ifname);
    let int_option = |name, option| {
        socket_int_option(&fd, option).map_err(|e| bad(format!("reading its {name}: {e}")))
    };
    if int_option("domain", libc::SO_DOMAIN)? != libc::AF_UNIX
        || int_option("type", libc::SO_TYPE)? != libc::SOCK_STREAM
    {
        return Err(bad(format!(
            "not a unix stream socket (ListenStream={} in the socket unit)",
            expected.display()
        )));
    }
    if int_option("listening state", libc::SO_ACCEPTCONN)? == 0 {
        return Err(bad("not listening (Accept=no in the socket unit)".into()));
    }
    let bound = bound_path(&fd).map_err(|e| bad(format!("reading its address: {e}")))?;
    let same_file = |a: &Path, b: &Path| match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    };
    if !same_file(&bound, &expected) {
        return Err(bad(format!(
            "it is bound to {}, but wg looks for {}",
            bound.display(),
            expected.display()
        )));
    }
    set_nonblocking_cloexec(&fd).map_err(|e| bad(format!("setting its flags: {e}")))?;
    Ok(ControlSocket {
        fd,
        path: expected,
        file_id: None,
    })
}

/// An integer socket option (`SOL_SOCKET`).
fn socket_int_option(fd: &OwnedFd, option: libc::c_int) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are live for the call and `len` says how many bytes `value` has.
    cvt(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    })?;
    Ok(value)
}

/// The filesystem path a unix socket is bound to (empty for an unbound or abstract one).
fn bound_path(fd: &OwnedFd) -> io::Result<PathBuf> {
    // SAFETY: sockaddr_un is plain old data; all-zero is a valid value.
    let mut raw: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: `raw` is a live sockaddr_un of `len` bytes; the kernel writes at most `len` of them.
    cvt(unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            (&mut raw as *mut libc::sockaddr_un).cast(),
            &mut len,
        )
    })?;
    let path_len = (len as usize).saturating_sub(std::mem::offset_of!(libc::sockaddr_un, sun_path));
    let bytes: Vec<u8> = raw
        .sun_path
        .iter()
        .take(path_len)
        .map(|&c| c as u8)
        .take_while(|&b| b != 0)
        .collect();
    Ok(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
}

/// Non-blocking (the loop accepts without waiting) and close-on-exec.
fn set_nonblocking_cloexec(fd: &OwnedFd) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with integer arguments only.
    let flags = cvt(unsafe { libc::fcntl(raw, libc::F_GETFL) })?;
    // SAFETY: as above.
    cvt(unsafe { libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) })?;
    // SAFETY: as above.
    cvt(unsafe { libc::fcntl(raw, libc::F_SETFD, libc::FD_CLOEXEC) }).map(drop)
}

impl AsFd for ControlSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for ControlSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let Some(file_id) = self.file_id else {
            return;
        };
        let ours =
            std::fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == file_id);
        if ours {
            // Fails (EACCES) after `--user` left root, whose directory this is: accepted, as
            // boringtun does; the next start replaces the stale file (`remove_stale`) and `wg`
            // skips it meanwhile. Nothing to say about it at exit.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Creates `dir` with [`DIR_MODE`] (exactly: not narrowed by the umask) if it does not exist; an
/// existing directory is left as it is.
fn make_dir(dir: &Path) -> io::Result<()> {
    match std::fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
        Ok(()) => std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if std::fs::metadata(dir)?.is_dir() {
                Ok(())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "exists and is not a directory",
                ))
            }
        }
        Err(e) => Err(e),
    }
}

/// `path` is taken: removes it if it is a socket nobody answers on (left by a process that died).
fn remove_stale(path: &Path, addr: &UnixAddr) -> Result<(), ControlSocketError> {
    let io_error = |what| {
        let path = path.to_owned();
        move |error| ControlSocketError::Io { what, path, error }
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_socket() => {
            return Err(ControlSocketError::NotASocket(path.to_owned()));
        }
        Ok(_) => {}
        // Gone meanwhile: bind again.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error("reading")(e)),
    }
    if addr.answers().map_err(io_error("connecting to"))? {
        return Err(ControlSocketError::InUse(path.to_owned()));
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error("removing the stale")(e)),
        _ => Ok(()),
    }
}

fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// A new close-on-exec `AF_UNIX` stream socket; `flags`: more `SOCK_*` flags.
fn unix_stream_socket(flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the fd is checked and then owned.
    let raw = cvt(unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | flags,
            0,
        )
    })?;
    // SAFETY: `raw` was just returned by socket(2) and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// A filesystem `sockaddr_un`.
struct UnixAddr {
    raw: libc::sockaddr_un,
    len: libc::socklen_t,
}

impl UnixAddr {
    fn new(path: &Path) -> io::Result<UnixAddr> {
        let bytes = path.as_os_str().as_bytes();
        // SAFETY: sockaddr_un is plain old data; all-zero is a valid value.
        let mut raw: libc::sockaddr_un = unsafe { std::mem::zeroed() };
        // The path and its terminating NUL must fit.
        if bytes.contains(&0) || bytes.len() >= raw.sun_path.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "path too long for a unix socket",
            ));
        }
        raw.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (dst, &src) in raw.sun_path.iter_mut().zip(bytes) {
            *dst = src as libc::c_char;
        }
        let len = std::mem::offset_of!(libc::sockaddr_un, sun_path) + bytes.len() + 1;
        Ok(UnixAddr {
            raw,
            len: len as libc::socklen_t,
        })
    }

    fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.raw as *const libc::sockaddr_un).cast()
    }

    fn bind(&self, fd: &OwnedFd) -> io::Result<()> {
        // SAFETY: `self.raw` is a valid sockaddr_un of `self.len` bytes for the whole call; the
        // kernel copies it.
        cvt(unsafe { libc::bind(fd.as_raw_fd(), self.as_ptr(), self.len) }).map(drop)
    }

    /// Whether a process listens on this address: a non-blocking connect is accepted (or finds
    /// the listener's queue full) rather than refused. Never blocks.
    fn answers(&self) -> io::Result<bool> {
        let fd = unix_stream_socket(libc::SOCK_NONBLOCK)?;
        // SAFETY: as in `bind`: a valid sockaddr_un of `self.len` bytes, copied by the kernel.
        let rc = unsafe { libc::connect(fd.as_raw_fd(), self.as_ptr(), self.len) };
        if rc == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EAGAIN) => Ok(true),
            Some(libc::ECONNREFUSED) | Some(libc::ENOENT) => Ok(false),
            _ => Err(e),
        }
    }
}

/// Where the socket of `ifname` lives in `dir`.
pub fn socket_path(dir: &Path, ifname: &str) -> PathBuf {
    dir.join(format!("{ifname}.sock"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A scratch directory under the temp dir, removed on drop; its `wireguard` child does not
    /// exist yet (so binding creates it). Also the driver's control-socket tests'.
    pub(crate) struct Scratch(pub(crate) PathBuf);

    impl Scratch {
        pub(crate) fn new() -> Scratch {
            static NEXT: AtomicUsize = AtomicUsize::new(3000);
            // The name `scripts/test.sh` cleans up after a test process that died.
            let dir = std::env::temp_dir().join(format!(
                "ringtun-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
        fn socket_dir(&self) -> PathBuf {
            self.0.join("wireguard")
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn creates_the_directory_and_an_owner_only_socket_that_goes_on_drop() {
        let scratch = Scratch::new();
        let dir = scratch.socket_dir();
        let socket = ControlSocket::bind_in(&dir, "rtc0").unwrap();
        assert_eq!(socket.path(), socket_path(&dir, "rtc0"));
        assert_eq!(mode(&dir), DIR_MODE);
        let meta = std::fs::symlink_metadata(socket.path()).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(mode(socket.path()), SOCKET_MODE);
        // It listens: a client connects and its bytes wait for an accept.
        let mut client = UnixStream::connect(socket.path()).unwrap();
        client.write_all(b"get=1\n\n").unwrap();
        let path = socket.path().to_owned();
        drop(socket);
        assert!(!path.exists(), "removed on drop");
    }

    #[test]
    fn the_socket_is_non_blocking_and_close_on_exec() {
        let scratch = Scratch::new();
        let socket = ControlSocket::bind_in(&scratch.socket_dir(), "rtc1").unwrap();
        // SAFETY: fcntl(F_GETFL / F_GETFD) on an open fd we own takes no pointers.
        let (fl, fd) = unsafe {
            (
                libc::fcntl(socket.as_raw_fd(), libc::F_GETFL),
                libc::fcntl(socket.as_raw_fd(), libc::F_GETFD),
            )
        };
        assert!(fl & libc::O_NONBLOCK != 0 && fd & libc::FD_CLOEXEC != 0);
    }

    #[test]
    fn an_existing_directory_keeps_its_mode() {
        let scratch = Scratch::new();
        let dir = scratch.socket_dir();
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let _socket = ControlSocket::bind_in(&dir, "rtc2").unwrap();
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn a_live_socket_is_refused_with_one_line() {
        let scratch = Scratch::new();
        let dir = scratch.socket_dir();
        let first = ControlSocket::bind_in(&dir, "rtc3").unwrap();
        let e = ControlSocket::bind_in(&dir, "rtc3").unwrap_err();
        assert!(
            matches!(&e, ControlSocketError::InUse(p) if p == first.path()),
            "{e:?}"
        );
        let line = e.to_string();
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("rtc3.sock is in use: another process serves this interface"));
        // The refusal left the first socket alone.
        UnixStream::connect(first.path()).expect("still served");
        // So does any other listener, even one that never accepts.
        let other = UnixListener::bind(dir.join("rtc4.sock")).unwrap();
        let _queued = UnixStream::connect(dir.join("rtc4.sock")).unwrap();
        assert!(matches!(
            ControlSocket::bind_in(&dir, "rtc4"),
            Err(ControlSocketError::InUse(_))
        ));
        drop(other);
    }

    #[test]
    fn a_stale_socket_is_replaced() {
        let scratch = Scratch::new();
        let dir = scratch.socket_dir();
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("rtc5.sock");
        // A listener that went away without removing its file.
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let socket = ControlSocket::bind_in(&dir, "rtc5").unwrap();
        assert_eq!(mode(&path), SOCKET_MODE);
        UnixStream::connect(&path).expect("the new socket listens");
        drop(socket);
        assert!(!path.exists());
    }

    #[test]
    fn something_else_in_the_way_is_refused_and_left_alone() {
        let scratch = Scratch::new();
        let dir = scratch.socket_dir();
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("rtc6.sock");
        std::fs::write(&path, b"keep me").unwrap();
        let e = ControlSocket::bind_in(&dir, "rtc6").unwrap_err();
        assert!(matches!(e, ControlSocketError::NotASocket(_)), "{e:?}");
        assert!(!e.to_string().contains('\n'));
        assert_eq!(std::fs::read(&path).unwrap(), b"keep me");
        // A file where the directory should be.
        let e = ControlSocket::bind_in(&path, "rtc6").unwrap_err();
        assert!(e.to_string().starts_with("creating the directory"), "{e}");
    }

    #[test]
    fn drop_leaves_a_successor_alone() {
        let scratch = Scratch::new();
        let dir = scratch.socket_dir();
        let old = ControlSocket::bind_in(&dir, "rtc7").unwrap();
        std::fs::remove_file(old.path()).unwrap();
        let new = ControlSocket::bind_in(&dir, "rtc7").unwrap();
        drop(old);
        assert!(new.path().exists(), "not ours any more: not removed");
        UnixStream::connect(new.path()).expect("the successor still listens");
    }

    #[test]
    fn names_that_are_not_interface_names_are_refused() {
        let scratch = Scratch::new();
        for bad in ["", ".", "..", "../etc", "a/b", "a b", "0123456789abcdef"] {
            let e = ControlSocket::bind_in(&scratch.socket_dir(), bad).unwrap_err();
            assert!(
                matches!(e, ControlSocketError::InvalidName(_)),
                "{bad:?}: {e:?}"
            );
        }
        assert!(
            !scratch.socket_dir().exists(),
            "nothing created for a bad name"
        );
    }

    #[test]
    fn a_path_too_long_for_sun_path_is_an_error() {
        let long = Path::new("/tmp").join("d".repeat(120));
        assert!(UnixAddr::new(&long).is_err());
        assert!(UnixAddr::new(Path::new("/var/run/wireguard/0123456789abcde.sock")).is_ok());
    }

    #[test]
    fn listen_fds_are_ours_only_when_listen_pid_names_us() {
        assert_eq!(passed_fd_count(None, None, 42), Ok(0));
        assert_eq!(passed_fd_count(None, Some("1"), 42), Ok(0));
        // Inherited from a parent that was activated: not for us.
        assert_eq!(passed_fd_count(Some("41"), Some("1"), 42), Ok(0));
        assert_eq!(passed_fd_count(Some("x"), Some("1"), 42), Ok(0));
        assert_eq!(passed_fd_count(Some("42"), Some("1"), 42), Ok(1));
        assert_eq!(passed_fd_count(Some("42"), Some("2"), 42), Ok(2));
        assert!(passed_fd_count(Some("42"), None, 42).is_err());
        assert!(passed_fd_count(Some("42"), Some("-1"), 42).is_err());
    }

    /// What systemd's `ListenStream=` makes: a blocking listener at the path.
    fn listener_at(path: &Path) -> OwnedFd {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        OwnedFd::from(UnixListener::bind(path).unwrap())
    }

    #[test]
    fn an_inherited_listener_at_the_right_path_is_served_and_left_on_drop() {
        let scratch = Scratch::new();
        let dir = scratch.socket_dir();
        let path = socket_path(&dir, "rtc8");
        let socket = adopt(listener_at(&path), &dir, "rtc8").unwrap();
        assert_eq!(socket.path(), path);
        // SAFETY (test): fcntl with integer arguments on a live descriptor.
        let fl = unsafe { libc::fcntl(socket.as_raw_fd(), libc::F_GETFL) };
        assert_ne!(fl & libc::O_NONBLOCK, 0, "made non-blocking");
        // SAFETY (test): as above.
        let fd = unsafe { libc::fcntl(socket.as_raw_fd(), libc::F_GETFD) };
        assert_ne!(fd & libc::FD_CLOEXEC, 0, "made close-on-exec");
        UnixStream::connect(&path).expect("it listens");
        drop(socket);
        assert!(
            path.exists(),
            "the service manager's file is not ours to remove"
        );
    }

    #[test]
    fn an_inherited_socket_that_wg_would_not_find_is_refused() {
        let scratch = Scratch::new();
        let dir = scratch.socket_dir();
        let elsewhere = scratch.0.join("other.sock");
        let e = adopt(listener_at(&elsewhere), &dir, "rtc9").unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("bound to") && text.contains("rtc9.sock"),
            "{text}"
        );
        // Another interface's socket.
        let e = adopt(listener_at(&socket_path(&dir, "rtc10")), &dir, "rtc9").unwrap_err();
        assert!(matches!(e, ControlSocketError::Inherited(_)), "{e:?}");
        // Not listening.
        let e = adopt(unix_stream_socket(0).unwrap(), &dir, "rtc9").unwrap_err();
        assert!(e.to_string().contains("not listening"), "{e}");
        // Not a unix stream socket.
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let e = adopt(OwnedFd::from(udp), &dir, "rtc9").unwrap_err();
        assert!(e.to_string().contains("not a unix stream socket"), "{e}");
        assert!(!e.to_string().contains('\n'));
    }
}
