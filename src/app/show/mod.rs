//! `ringtun show [IFNAME] [--json]`: asks the control socket of one interface, or of every one in
//! `/var/run/wireguard`, for its state (`get=1`, as `wg show` does) and prints it: in `wg show`'s
//! layout with ringtun's drop counters added ([`text`]), or as one JSON object ([`json`]).
//!
//! It talks to any WireGuard implementation's socket (wireguard-go and boringtun too; only
//! ringtun's have counters). The reply carries the private and preshared keys (`wg showconf`
//! needs them): the private key is used to show the public key, then dropped (and wiped); neither
//! key is ever printed.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::AppError;
use crate::core::keys::PublicKey;
use crate::core::noise::StaticIdentity;
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

/// Runs the command: prints to stdout, one error line per interface that could not be read.
pub fn run(interface: Option<&str>, json: bool) -> Result<(), AppError> {
    let dir = Path::new(SOCKET_DIR);
    let names = match interface {
        Some(name) => vec![name.to_owned()],
        None => socket_names(dir)?,
    };
    let mut shown = Vec::new();
    let mut failed = Vec::new();
    for name in names {
        match ask(&socket_path(dir, &name)) {
            Ok(state) => shown.push(Shown::new(name, state)),
            // A socket nobody answers on was left by a process that died: not an interface.
            Err(e) if interface.is_none() && e.kind == FailKind::Refused => {}
            Err(e) => failed.push(format!("{name}: {}", e.message)),
        }
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
    match failed.as_slice() {
        [] => Ok(()),
        [one] => Err(AppError::new(one.clone())),
        many => Err(AppError::new(format!(
            "{} interfaces could not be read: {}",
            many.len(),
            many.join("; ")
        ))),
    }
}

/// `DIR/NAME.sock`.
fn socket_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.sock"))
}

/// The interface names of the sockets in `dir`, sorted; none if it does not exist.
fn socket_names(dir: &Path) -> Result<Vec<String>, AppError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AppError::new(format!("{}: {e}", dir.display()))),
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
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

/// Sends `get=1` to the socket at `path` and reads the reply.
fn ask(path: &Path) -> Result<Snapshot, Failure> {
    let other = |message: String| Failure {
        kind: FailKind::Other,
        message,
    };
    let mut stream = UnixStream::connect(path).map_err(|e| Failure {
        kind: match e.kind() {
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound => {
                FailKind::Refused
            }
            _ => FailKind::Other,
        },
        message: match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "no control socket {}: is the interface running in userspace (ringtun, \
                 wireguard-go)?",
                path.display()
            ),
            _ => format!("cannot connect to {}: {e}", path.display()),
        },
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

    #[test]
    fn sockets_are_listed_by_name_and_a_missing_one_is_named() {
        let dir = scratch("b");
        for f in ["wg1.sock", "wg0.sock", "notes.txt", ".sock"] {
            std::fs::write(dir.join(f), b"").unwrap();
        }
        assert_eq!(socket_names(&dir).unwrap(), ["wg0", "wg1"]);
        assert!(socket_names(&dir.join("nonexistent")).unwrap().is_empty());
        let e = ask(&socket_path(&dir, "wg9")).unwrap_err();
        assert_eq!(e.kind, FailKind::Refused);
        assert!(e.message.contains("no control socket"), "{}", e.message);
        // A plain file where a socket should be: refused too (nobody listens).
        let e = ask(&socket_path(&dir, "wg0")).unwrap_err();
        assert_eq!(e.kind, FailKind::Refused, "{}", e.message);
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
