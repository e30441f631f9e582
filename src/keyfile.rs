//! Reading and generating the pre-shared key file (64 hex digits and a newline).
//!
//! The key is the only secret ringtun has, so the file must not be readable by anyone but its
//! owner: a group- or world-accessible key file is refused rather than used.

use std::fmt;
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const KEY_LEN: usize = 32;

/// Why a key could not be read or written. Display is one line, with the fix when there is one.
#[derive(Debug)]
pub enum KeyError {
    Missing(PathBuf),
    Unsafe { path: PathBuf, mode: u32 },
    BadContent { path: PathBuf, why: &'static str },
    Exists(PathBuf),
    Io { path: PathBuf, err: io::Error },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Missing(p) => write!(
                f,
                "key file {} does not exist: create one with `ringtun genkey {}` and copy it to the other host",
                p.display(),
                p.display()
            ),
            KeyError::Unsafe { path, mode } => write!(
                f,
                "key file {} is readable by others (mode {:04o}): run chmod 600 {}",
                path.display(),
                mode & 0o7777,
                path.display()
            ),
            KeyError::BadContent { path, why } => write!(
                f,
                "key file {} is not a ringtun key ({why}): expected 64 hex digits, as written by `ringtun genkey`",
                path.display()
            ),
            KeyError::Exists(p) => write!(
                f,
                "{} already exists: refusing to overwrite a key (remove it first if you mean to replace it)",
                p.display()
            ),
            KeyError::Io { path, err } if err.kind() == io::ErrorKind::PermissionDenied => write!(
                f,
                "key file {}: permission denied: run ringtun as root or as the key's owner ({err})",
                path.display()
            ),
            KeyError::Io { path, err } => write!(f, "key file {}: {err}", path.display()),
        }
    }
}

impl std::error::Error for KeyError {}

/// Lowercase hex of the key plus a newline: the file format.
pub fn encode(key: &[u8; KEY_LEN]) -> String {
    let mut s = String::with_capacity(2 * KEY_LEN + 1);
    for b in key {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s.push('\n');
    s
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Parses 64 hex digits (either case), ignoring surrounding whitespace.
pub fn decode(text: &str) -> Result<[u8; KEY_LEN], &'static str> {
    let t = text.trim();
    if t.len() != 2 * KEY_LEN {
        return Err(if t.is_empty() {
            "empty"
        } else {
            "wrong length"
        });
    }
    let mut key = [0u8; KEY_LEN];
    for (i, pair) in t.as_bytes().chunks_exact(2).enumerate() {
        let hi = hex_val(pair[0]).ok_or("not hex")?;
        let lo = hex_val(pair[1]).ok_or("not hex")?;
        key[i] = (hi << 4) | lo;
    }
    Ok(key)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyError + '_ {
    move |err| KeyError::Io {
        path: path.to_path_buf(),
        err,
    }
}

/// Reads the key at `path`, refusing a file any other user could read or change.
pub fn read(path: &Path) -> Result<[u8; KEY_LEN], KeyError> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(KeyError::Missing(path.to_path_buf()));
        }
        Err(e) => return Err(io_err(path)(e)),
    };
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(KeyError::Unsafe {
            path: path.to_path_buf(),
            mode,
        });
    }
    if !meta.is_file() {
        return Err(KeyError::BadContent {
            path: path.to_path_buf(),
            why: "not a regular file",
        });
    }
    // A key file is 65 bytes; anything much larger is not one (and is not read whole).
    if meta.len() > 4096 {
        return Err(KeyError::BadContent {
            path: path.to_path_buf(),
            why: "too large",
        });
    }
    let bytes = fs::read(path).map_err(io_err(path))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| KeyError::BadContent {
        path: path.to_path_buf(),
        why: "not text",
    })?;
    decode(text).map_err(|why| KeyError::BadContent {
        path: path.to_path_buf(),
        why,
    })
}

/// Writes a fresh key to `path`, created 0600 and never over an existing file. Missing parent
/// directories are created 0700.
pub fn generate_to(path: &Path) -> Result<(), KeyError> {
    let key = crate::sys::random::bytes32().map_err(io_err(path))?;
    write_new(path, &key)
}

/// Writes `key` to a new file at `path` (mode 0600, `create_new`).
pub fn write_new(path: &Path, key: &[u8; KEY_LEN]) -> Result<(), KeyError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(io_err(parent))?;
    }
    let mut f = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(KeyError::Exists(path.to_path_buf()));
        }
        Err(e) => return Err(io_err(path)(e)),
    };
    // The umask cannot widen 0600, but may have narrowed it; make it exactly 0600 either way.
    f.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(io_err(path))?;
    f.write_all(encode(key).as_bytes()).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// Prints a fresh key on stdout (`ringtun genkey`).
pub fn generate_to_stdout() -> Result<(), KeyError> {
    let stdout = Path::new("<stdout>");
    let key = crate::sys::random::bytes32().map_err(io_err(stdout))?;
    io::stdout()
        .lock()
        .write_all(encode(&key).as_bytes())
        .map_err(io_err(stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> Self {
            let mut r = [0u8; 8];
            crate::sys::random::fill(&mut r).unwrap();
            let p = std::env::temp_dir().join(format!(
                "ringtun-test-{tag}-{}-{:x}",
                std::process::id(),
                u64::from_le_bytes(r)
            ));
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn encode_decode_round_trip_and_case() {
        let mut key = [0u8; 32];
        for (i, b) in key.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37);
        }
        let text = encode(&key);
        assert_eq!(text.len(), 65);
        assert!(text.ends_with('\n'));
        assert_eq!(text.trim(), text.trim().to_lowercase());
        assert_eq!(decode(&text).unwrap(), key);
        assert_eq!(
            decode(&format!("  \n{}\t\n", text.trim().to_uppercase())).unwrap(),
            key
        );
    }

    #[test]
    fn decode_rejects_bad_content() {
        assert_eq!(decode(""), Err("empty"));
        assert_eq!(decode("   \n"), Err("empty"));
        assert_eq!(decode(&"a".repeat(63)), Err("wrong length"));
        assert_eq!(decode(&"a".repeat(66)), Err("wrong length"));
        assert_eq!(decode(&format!("{}g", "a".repeat(63))), Err("not hex"));
        // A multibyte char must not cause a slicing panic.
        assert!(decode(&format!("{}é", "a".repeat(62))).is_err());
        assert!(decode(&format!("aa {}", "a".repeat(61))).is_err());
    }

    #[test]
    fn generate_then_read_with_mode_0600_and_dirs_0700() {
        let d = TempDir::new("gen");
        let path = d.0.join("sub/dir/key");
        generate_to(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = fs::metadata(d.0.join("sub")).unwrap().permissions().mode() & 0o777;
        assert_eq!(dmode, 0o700);
        let text = fs::read_to_string(&path).unwrap();
        let key = read(&path).unwrap();
        assert_eq!(encode(&key), text);
        // Refuses to overwrite, and leaves the key as it was.
        let err = generate_to(&path).unwrap_err();
        assert!(matches!(err, KeyError::Exists(_)));
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn refuses_readable_by_others() {
        let d = TempDir::new("mode");
        let path = d.0.join("key");
        write_new(&path, &[7u8; 32]).unwrap();
        for bad in [0o644, 0o640, 0o604, 0o620, 0o602] {
            fs::set_permissions(&path, fs::Permissions::from_mode(bad)).unwrap();
            let err = read(&path).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("readable by others (mode {bad:04o})")),
                "{msg}"
            );
            assert!(
                msg.contains(&format!("chmod 600 {}", path.display())),
                "{msg}"
            );
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(read(&path).unwrap(), [7u8; 32]);
    }

    #[test]
    fn missing_file_says_how_to_create_one() {
        let d = TempDir::new("missing");
        let path = d.0.join("nope");
        let msg = read(&path).unwrap_err().to_string();
        assert!(
            msg.contains(&format!("ringtun genkey {}", path.display())),
            "{msg}"
        );
        assert!(msg.contains("other host"), "{msg}");
    }

    #[test]
    fn bad_content_is_an_error() {
        let d = TempDir::new("bad");
        let path = d.0.join("key");
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .unwrap();
        f.write_all(b"hello\n").unwrap();
        let err = read(&path).unwrap_err();
        assert!(matches!(err, KeyError::BadContent { .. }), "{err}");
        assert!(err.to_string().contains("64 hex digits"));
        fs::write(&path, [0xffu8; 64]).unwrap();
        assert!(matches!(
            read(&path).unwrap_err(),
            KeyError::BadContent { .. }
        ));
        // A directory is not a key.
        let dir = d.0.join("dir");
        DirBuilder::new().mode(0o700).create(&dir).unwrap();
        assert!(matches!(
            read(&dir).unwrap_err(),
            KeyError::BadContent { .. }
        ));
    }
}
