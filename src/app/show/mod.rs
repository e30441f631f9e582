//! `ringtun show [IFNAME] [--json]`: asks the control socket of one interface, or of every one in
//! `/var/run/wireguard`, for its state (`get=1`, as `wg show` does) and prints it: in `wg show`'s
//! layout with ringtun's drop counters added ([`text`]), or as one JSON object ([`json`]).
//! Of every interface, as with `wg show all`, a socket its process left behind when it died (the
//! connection is refused) is skipped and removed, and one that cannot be read otherwise costs a
//! warning line, not the others.
//!
//! It talks to any WireGuard implementation's socket (wireguard-go and boringtun too; only
//! ringtun's have counters). The reply carries the private and preshared keys (`wg showconf`
//! needs them): the private key is used to show the public key, then dropped (and wiped); neither
//! key is ever printed.

use std::io::{Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::AppError;
use crate::core::keys::PublicKey;
use crate::core::noise::StaticIdentity;
use crate::log_warn;
use crate::sys::control_socket::SOCKET_DIR;
use crate::uapi::{Snapshot, parse_get_reply};

pub mod json;
pub mod text;

/// How long one interface may take to answer.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The largest reply read: far more than 100,000 peers' worth; a daemon that sends more is
/// not read to the end.
const MAX_REPLY: u64 = 256 << 20;

/// One interface as the command shows it.
#[derive(Debug)]
pub struct Shown {
    pub name: String,
    /// Derived from the private key in the reply; `None` when it has none.
    pub public_key: Option<PublicKey>,
    /// The reply, its private key taken out (and wiped).
    pub state: Snapshot,
}

impl Shown {
    /// `state` of interface `name`: its public key worked out, its private key dropped.
    pub fn new(name: String, mut state: Snapshot) -> Shown {
        let public_key = state
            .private_key
            .take()
            .map(|k| *StaticIdentity::new(&k).public_key());
        Shown {
            name,
            public_key,
            state,
        }
    }
}

/// Runs the command: prints to stdout. A named interface that cannot be read is the error; of
/// every interface, one that cannot be read is a warning line, and the others are shown.
pub fn run(interface: Option<&str>, json: bool) -> Result<(), AppError> {
    let Gathered { shown, unreadable } = gather(Path::new(SOCKET_DIR), interface)?;
    for line in &unreadable {
        log_warn!("{line}");
    }
    let now = super::wall_clock_ns() / 1_000_000_000;
    let out = if json {
        json::interfaces(&shown)
    } else {
        text::interfaces(&shown, now)
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    Ok(())
}

/// What [`gather`] found.
#[derive(Debug)]
struct Gathered {
    shown: Vec<Shown>,
    /// `NAME: why`, one per interface of the directory that could not be read.
    unreadable: Vec<String>,
}

/// Asks `interface`'s socket in `dir`, or every socket there, as `wg show` does: of every
/// interface, a socket nobody listens on any more (its process died) is skipped (and removed),
/// and one that fails otherwise is listed in [`Gathered::unreadable`]; a named interface that
/// cannot be read is the error.
fn gather(dir: &Path, interface: Option<&str>) -> Result<Gathered, AppError> {
    if let Some(name) = interface {
        let state = ask(&socket_path(dir, name))
            .map_err(|e| AppError::new(format!("{name}: {}", e.message)))?;
        return Ok(Gathered {
            shown: vec![Shown::new(name.to_owned(), state)],
            unreadable: Vec::new(),
        });
    }
    let mut gathered = Gathered {
        shown: Vec::new(),
        unreadable: Vec::new(),
    };
    for name in socket_names(dir)? {
        match ask(&socket_path(dir, &name)) {
            Ok(state) => gathered.shown.push(Shown::new(name, state)),
            // Left by a process that died, or gone since the listing: not an interface.
            Err(e) if e.kind == FailKind::Refused => {}
            Err(e) => gathered.unreadable.push(format!("{name}: {}", e.message)),
        }
    }
    Ok(gathered)
}

/// `DIR/NAME.sock`.
fn socket_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.sock"))
}

/// The interface names of the sockets in `dir` (`NAME.sock`, and a socket: not a file, nor a
/// link, as `wg` lists them), sorted; none if it does not exist.
fn socket_names(dir: &Path) -> Result<Vec<String>, AppError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AppError::new(format!("{}: {e}", dir.display()))),
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            if !e.file_type().ok()?.is_socket() {
                return None;
            }
            let name = e.file_name().into_string().ok()?;
            Some(name.strip_suffix(".sock")?.to_owned()).filter(|n| !n.is_empty())
        })
        .collect();
    names.sort();
    Ok(names)
}

#[derive(Debug, PartialEq, Eq)]
enum FailKind {
    /// Nothing listens on the socket (or there is none).
    Refused,
    Other,
}

#[derive(Debug)]
struct Failure {
    kind: FailKind,
    message: String,
}

/// Removes the socket at `path` that refused a connection: its process is gone (as `wg` does).
/// Only a socket: a connection to another kind of file is refused too.
fn remove_stale(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
        && std::fs::remove_file(path).is_ok()
}

/// Sends `get=1` to the socket at `path` and reads the reply.
fn ask(path: &Path) -> Result<Snapshot, Failure> {
    let other = |message: String| Failure {
        kind: FailKind::Other,
        message,
    };
    let mut stream = UnixStream::connect(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Failure {
            kind: FailKind::Refused,
            message: format!(
                "no control socket {}: is the interface running in userspace (ringtun, \
                 wireguard-go)?",
                path.display()
            ),
        },
        std::io::ErrorKind::ConnectionRefused => Failure {
            kind: FailKind::Refused,
            message: format!(
                "nobody answers on {}{}",
                path.display(),
                if remove_stale(path) {
                    " (left by a process that exited: removed)"
                } else {
                    ""
                }
            ),
        },
        _ => other(format!("cannot connect to {}: {e}", path.display())),
    })?;
    let io = |e: std::io::Error| other(format!("{}: {e}", path.display()));
    stream.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
    stream.write_all(b"get=1\n\n").map_err(io)?;
    let mut reply = Vec::new();
    (&mut stream)
        .take(MAX_REPLY)
        .read_to_end(&mut reply)
        .map_err(io)?;
    let state = parse_get_reply(&reply).map_err(|e| other(format!("{}: {e}", path.display())));
    crate::uapi::key::wipe(&mut reply);
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uapi::get_reply;
    use std::os::unix::net::UnixListener;

    /// A one-shot server on a socket in a scratch directory, answering `reply`.
    fn serve(dir: &Path, name: &str, reply: Vec<u8>) -> std::thread::JoinHandle<Vec<u8>> {
        let listener = UnixListener::bind(socket_path(dir, name)).unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut request = [0u8; 7];
            s.read_exact(&mut request).unwrap();
            s.write_all(&reply).unwrap();
            request.to_vec()
        })
    }

    fn scratch(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ringtun-test-{}-show{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn asks_with_get_and_reads_the_reply_without_its_private_key() {
        let dir = scratch("a");
        let private = crate::core::keys::PrivateKey::from_bytes([7; 32]);
        let snapshot = Snapshot {
            private_key: Some(private.clone()),
            listen_port: 4242,
            ..Snapshot::default()
        };
        let server = serve(&dir, "wgt0", get_reply(&snapshot).as_bytes().to_vec());
        let state = ask(&socket_path(&dir, "wgt0")).unwrap();
        assert_eq!(server.join().unwrap(), b"get=1\n\n");
        let shown = Shown::new("wgt0".into(), state);
        assert_eq!(shown.state.listen_port, 4242);
        assert!(shown.state.private_key.is_none());
        assert_eq!(
            shown.public_key,
            Some(*StaticIdentity::new(&private).public_key())
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A socket nobody listens on any more, as a process that died leaves it.
    fn stale(dir: &Path, name: &str) -> PathBuf {
        let path = socket_path(dir, name);
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        path
    }

    #[test]
    fn sockets_are_listed_by_name_and_a_missing_one_is_named() {
        let dir = scratch("b");
        for name in ["wg1", "wg0"] {
            stale(&dir, name);
        }
        // Not sockets: not interfaces.
        for f in ["wg2.sock", "notes.txt", ".sock"] {
            std::fs::write(dir.join(f), b"").unwrap();
        }
        assert_eq!(socket_names(&dir).unwrap(), ["wg0", "wg1"]);
        assert!(socket_names(&dir.join("nonexistent")).unwrap().is_empty());
        let e = ask(&socket_path(&dir, "wg9")).unwrap_err();
        assert_eq!(e.kind, FailKind::Refused);
        assert!(e.message.contains("no control socket"), "{}", e.message);
        // A plain file where a socket should be: refused too (nobody listens), and kept.
        let e = ask(&socket_path(&dir, "wg2")).unwrap_err();
        assert_eq!(e.kind, FailKind::Refused, "{}", e.message);
        assert!(!e.message.contains("removed"), "{}", e.message);
        assert!(socket_path(&dir, "wg2").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_interface_skips_stale_sockets_and_warns_of_broken_ones() {
        let dir = scratch("d");
        let live = serve(
            &dir,
            "wga",
            get_reply(&Snapshot {
                listen_port: 4243,
                ..Snapshot::default()
            })
            .as_bytes()
            .to_vec(),
        );
        let stale_path = stale(&dir, "wgb");
        let broken = serve(&dir, "wgc", b"errno=-22\n\n".to_vec());
        let gathered = gather(&dir, None).unwrap();
        live.join().unwrap();
        broken.join().unwrap();
        let names: Vec<&str> = gathered.shown.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["wga"]);
        assert_eq!(gathered.shown[0].state.listen_port, 4243);
        assert_eq!(gathered.unreadable.len(), 1, "{:?}", gathered.unreadable);
        assert!(
            gathered.unreadable[0].starts_with("wgc: ")
                && gathered.unreadable[0].contains("refused"),
            "{:?}",
            gathered.unreadable
        );
        // Removed, as `wg` removes it: the next listing does not see it.
        assert!(!stale_path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_named_interface_that_cannot_be_read_is_the_error() {
        let dir = scratch("e");
        let path = stale(&dir, "wgs");
        let e = gather(&dir, Some("wgs")).unwrap_err();
        assert!(
            e.message.starts_with("wgs: nobody answers on ")
                && e.message
                    .ends_with(" (left by a process that exited: removed)"),
            "{e}"
        );
        assert!(!path.exists());
        let e = gather(&dir, Some("wgs")).unwrap_err();
        assert!(e.message.contains("no control socket"), "{e}");
        let broken = serve(&dir, "wgc", b"errno=-22\n\n".to_vec());
        let e = gather(&dir, Some("wgc")).unwrap_err();
        broken.join().unwrap();
        assert!(
            e.message.starts_with("wgc: ") && e.message.contains("refused"),
            "{e}"
        );
        // Nothing to show is no error when no interface was named.
        let none = gather(&dir, None).unwrap();
        assert!(none.shown.is_empty() && none.unreadable.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_refusal_is_reported() {
        let dir = scratch("c");
        let server = serve(&dir, "wgt1", b"errno=-22\n\n".to_vec());
        let e = ask(&socket_path(&dir, "wgt1")).unwrap_err();
        server.join().unwrap();
        assert!(e.message.contains("refused"), "{}", e.message);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
