//! Reading and generating key files in WireGuard's format: one base64 key and a newline, as
//! `wg genkey` and `wg genpsk` write it ([`read_wg_private_key`], [`read_wg_preshared_key`],
//! [`write_new_wg_key`]). The one-command mode's shared secret is such a file too.
//!
//! A key file must not be readable by anyone but its owner: a group- or world-accessible key file
//! is refused rather than used. The reader opens the file once, without following a
//! symbolic link, and checks what it opened (fstat on that descriptor, not a second lookup of the
//! path, which another process could have swapped in between): a regular file, owned by root or by
//! the user ringtun runs as, with no permission bits for group or others.

use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::core::key_encoding::{BASE64_LEN, HEX_LEN, KEY_LEN, KeyTextError, encode_base64};
use crate::core::keys::{PresharedKey, PrivateKey};

/// Why a key could not be read or written. Display is one line, with the fix when there is one.
#[derive(Debug)]
pub(crate) enum KeyError {
    Unsafe {
        path: PathBuf,
        mode: u32,
    },
    Exists(PathBuf),
    Io {
        path: PathBuf,
        err: io::Error,
    },
    /// A WireGuard key file that does not exist.
    MissingWgKey(PathBuf),
    /// The path names a symbolic link, which the WireGuard reader does not follow.
    Symlink(PathBuf),
    /// Not a regular file (a directory, device, pipe or socket).
    NotRegular(PathBuf),
    /// Owned by a user other than root and the one ringtun runs as.
    WrongOwner {
        path: PathBuf,
        uid: u32,
        euid: u32,
    },
    /// Not one WireGuard base64 key.
    BadWgKey {
        path: PathBuf,
        why: &'static str,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Unsafe { path, mode } => write!(
                f,
                "key file {} is readable or writable by group or others (mode {:04o}): run chmod 600 {}",
                path.display(),
                mode & 0o7777,
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
            KeyError::MissingWgKey(p) => write!(
                f,
                "key file {} does not exist: create one with (umask 077; wg genkey > {})",
                p.display(),
                p.display()
            ),
            KeyError::Symlink(p) => write!(
                f,
                "key file {} is a symbolic link, which is not followed: give the path of the key file itself",
                p.display()
            ),
            KeyError::NotRegular(p) => write!(
                f,
                "key file {} is not a regular file (a directory, device, pipe or socket): give the path of the key file itself",
                p.display()
            ),
            KeyError::WrongOwner { path, uid, euid } => write!(
                f,
                "key file {} belongs to uid {uid}, neither root nor the user ringtun runs as (uid {euid}): run chown {euid} {}",
                path.display(),
                path.display()
            ),
            KeyError::BadWgKey { path, why } => write!(
                f,
                "key file {} is not a WireGuard key ({why}): expected one line of 44 base64 characters ending in '=', as written by `wg genkey`",
                path.display()
            ),
        }
    }
}

impl std::error::Error for KeyError {}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyError + '_ {
    move |err| KeyError::Io {
        path: path.to_path_buf(),
        err,
    }
}

/// Creates `path` with `content`: mode exactly 0600, never over an existing file or through a
/// symbolic link (`O_CREAT | O_EXCL`), synced. Missing parent directories are created 0700.
fn write_new_private_file(path: &Path, content: &[u8]) -> Result<(), KeyError> {
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
    f.write_all(content).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// The most a WireGuard key file may hold: the key, a newline, and room for stray whitespace.
const MAX_WG_KEY_FILE: u64 = 4096;

/// What the reader checks about an opened key file, from fstat.
#[derive(Clone, Copy, Debug)]
struct KeyFileFacts {
    is_file: bool,
    mode: u32,
    uid: u32,
}

/// Refuses a key file that is not a regular file, belongs to someone other than root and `euid`,
/// or grants any permission to group or others.
fn check_key_file(path: &Path, facts: KeyFileFacts, euid: u32) -> Result<(), KeyError> {
    if !facts.is_file {
        return Err(KeyError::NotRegular(path.to_path_buf()));
    }
    if facts.uid != 0 && facts.uid != euid {
        return Err(KeyError::WrongOwner {
            path: path.to_path_buf(),
            uid: facts.uid,
            euid,
        });
    }
    if facts.mode & 0o077 != 0 {
        return Err(KeyError::Unsafe {
            path: path.to_path_buf(),
            mode: facts.mode,
        });
    }
    Ok(())
}

/// Opens `path` once (no symlink following; non-blocking, so a FIFO cannot stall the open),
/// checks the opened file, and returns its text with trailing whitespace removed.
fn read_wg_key_text(path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let file = OpenOptions::new()
        .read(true)
        // std adds O_CLOEXEC itself.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => KeyError::MissingWgKey(path.to_path_buf()),
            Some(libc::ELOOP) => KeyError::Symlink(path.to_path_buf()),
            _ => io_err(path)(e),
        })?;
    let meta = file.metadata().map_err(io_err(path))?;
    let facts = KeyFileFacts {
        is_file: meta.is_file(),
        mode: meta.mode(),
        uid: meta.uid(),
    };
    check_key_file(path, facts, crate::sys::user::effective_uid())?;
    read_bounded(file, path)
}

/// Reads at most `MAX_WG_KEY_FILE` bytes into a buffer that is never reallocated (a reallocation
/// would leave a copy of the key behind) and is wiped when dropped.
fn read_bounded(file: File, path: &Path) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let mut text = Zeroizing::new(Vec::with_capacity(MAX_WG_KEY_FILE as usize + 1));
    file.take(MAX_WG_KEY_FILE + 1)
        .read_to_end(&mut text)
        .map_err(io_err(path))?;
    if text.len() as u64 > MAX_WG_KEY_FILE {
        return Err(KeyError::BadWgKey {
            path: path.to_path_buf(),
            why: "too large",
        });
    }
    // wg accepts any whitespace after the key; anything before it is an error there too.
    while text.last().is_some_and(|&b| is_wg_space(b)) {
        text.pop();
    }
    Ok(text)
}

/// What wireguard-tools counts as white space (C's isspace in the C locale).
fn is_wg_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Why `text` (trailing whitespace removed) is not a WireGuard key; says so for a v1 hex key.
fn wg_key_problem(text: &[u8], err: KeyTextError) -> &'static str {
    if text.is_empty() {
        "empty"
    } else if text.len() == HEX_LEN && text.iter().all(u8::is_ascii_hexdigit) {
        "64 hex digits: a ringtun v1 pre-shared key, not base64"
    } else {
        match err {
            KeyTextError::Base64Length(_) if text.len() > BASE64_LEN => {
                "too long: text before or after the key"
            }
            KeyTextError::Base64Length(_) => "too short",
            _ => "not base64",
        }
    }
}

/// Decodes the key file's text with `decode` (the key type's base64 reader).
fn parse_wg_key<K>(
    path: &Path,
    text: &[u8],
    decode: impl FnOnce(&str) -> Result<K, KeyTextError>,
) -> Result<K, KeyError> {
    let bad = |why| KeyError::BadWgKey {
        path: path.to_path_buf(),
        why,
    };
    let text_str = std::str::from_utf8(text).map_err(|_| bad("not text"))?;
    decode(text_str).map_err(|err| bad(wg_key_problem(text, err)))
}

/// Reads a private key file as `wg genkey` writes it (`wg set wg0 private-key FILE`).
#[cfg(test)]
pub fn read_wg_private_key(path: &Path) -> Result<PrivateKey, KeyError> {
    parse_wg_key(path, &read_wg_key_text(path)?, PrivateKey::from_base64)
}

/// Reads a pre-shared key file as `wg genpsk` writes it (`wg set wg0 peer KEY preshared-key FILE`).
pub(crate) fn read_wg_preshared_key(path: &Path) -> Result<PresharedKey, KeyError> {
    parse_wg_key(path, &read_wg_key_text(path)?, PresharedKey::from_base64)
}

/// Writes `key` as `wg genkey` does (base64 and a newline) to a new file: mode 0600, never over an
/// existing file.
pub(crate) fn write_new_wg_key(path: &Path, key: &[u8; KEY_LEN]) -> Result<(), KeyError> {
    let mut line = Zeroizing::new([0u8; BASE64_LEN + 1]);
    line[..BASE64_LEN].copy_from_slice(&*Zeroizing::new(encode_base64(key)));
    line[BASE64_LEN] = b'\n';
    write_new_private_file(path, &line[..])
}

/// A fresh private key (clamped, as `wg genkey`) written to a new file at `path`.
pub(crate) fn generate_wg_private_key_to(path: &Path) -> Result<(), KeyError> {
    let random = Zeroizing::new(crate::sys::random::bytes32().map_err(io_err(path))?);
    let key = PrivateKey::from_random(*random);
    write_new_wg_key(path, key.as_bytes())
}

/// A fresh pre-shared key (`wg genpsk`) written to a new file at `path`.
#[cfg(test)]
pub(crate) fn generate_wg_preshared_key_to(path: &Path) -> Result<(), KeyError> {
    let key = PresharedKey::from_bytes(crate::sys::random::bytes32().map_err(io_err(path))?);
    write_new_wg_key(path, key.as_bytes())
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

    const WG_KEY: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";

    /// A 0600 file with `content`, created directly (not through the code under test).
    fn private_file(path: &Path, content: &[u8]) {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .unwrap();
        f.write_all(content).unwrap();
    }

    fn one_line(err: &KeyError) -> String {
        let msg = err.to_string();
        assert!(!msg.contains('\n'), "{msg}");
        msg
    }

    #[test]
    fn wg_key_written_then_read_back() {
        let d = TempDir::new("wg-gen");
        let path = d.0.join("sub/dir/private.key");
        generate_wg_private_key_to(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = fs::metadata(d.0.join("sub")).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            dmode, 0o700,
            "missing directories are created for root only"
        );
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 45);
        assert!(text.ends_with("=\n"), "{text:?}");
        let key = read_wg_private_key(&path).unwrap();
        assert_eq!(format!("{}\n", key.to_base64().as_str()), text);
        // Clamped as `wg genkey` does.
        assert_eq!(key.as_bytes()[0] & 7, 0);
        assert_eq!(key.as_bytes()[31] & 0xc0, 0x40);
        // Never overwrites.
        let err = generate_wg_private_key_to(&path).unwrap_err();
        assert!(matches!(err, KeyError::Exists(_)), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
        let err = write_new_wg_key(&path, &[1; 32]).unwrap_err();
        assert!(matches!(err, KeyError::Exists(_)), "{err}");

        let psk_path = d.0.join("psk");
        generate_wg_preshared_key_to(&psk_path).unwrap();
        let psk = read_wg_preshared_key(&psk_path).unwrap();
        assert_eq!(
            fs::read_to_string(&psk_path).unwrap(),
            format!("{}\n", psk.to_base64().as_str())
        );
    }

    #[test]
    fn wg_key_known_text_and_whitespace_as_wg_accepts() {
        let d = TempDir::new("wg-text");
        for (i, content) in [
            WG_KEY.to_string(),
            format!("{WG_KEY}\n"),
            format!("{WG_KEY}\r\n"),
            format!("{WG_KEY} \t\n\n\x0b\x0c"),
        ]
        .iter()
        .enumerate()
        {
            let path = d.0.join(format!("k{i}"));
            private_file(&path, content.as_bytes());
            let key = read_wg_private_key(&path).unwrap();
            assert_eq!(key.to_base64().as_str(), WG_KEY, "{content:?}");
            assert_eq!(
                read_wg_preshared_key(&path).unwrap().as_bytes(),
                key.as_bytes()
            );
        }
        // write_new_wg_key writes exactly what wg genkey prints.
        let path = d.0.join("written");
        write_new_wg_key(&path, PrivateKey::from_base64(WG_KEY).unwrap().as_bytes()).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), format!("{WG_KEY}\n"));
    }

    #[test]
    fn wg_key_bad_content_says_why_without_showing_it() {
        let d = TempDir::new("wg-bad");
        let v1 = format!("{}\n", "11".repeat(32));
        let leading_space = format!(" {WG_KEY}");
        let two_keys = format!("{WG_KEY}\n{WG_KEY}\n");
        let url_safe = WG_KEY.replace('+', "-");
        let cases: [(&[u8], &str); 8] = [
            (b"", "empty"),
            (b"\n\n", "empty"),
            (&WG_KEY.as_bytes()[..40], "too short"),
            (leading_space.as_bytes(), "too long"),
            (two_keys.as_bytes(), "too long"),
            (url_safe.as_bytes(), "not base64"),
            (v1.as_bytes(), "ringtun v1 pre-shared key"),
            (&[0xff; 44], "not text"),
        ];
        for (i, (content, why)) in cases.into_iter().enumerate() {
            let path = d.0.join(format!("k{i}"));
            private_file(&path, content);
            let err = read_wg_private_key(&path).unwrap_err();
            assert!(matches!(err, KeyError::BadWgKey { .. }), "{err}");
            let msg = one_line(&err);
            assert!(msg.contains(why), "{why}: {msg}");
            assert!(msg.contains("wg genkey"), "{msg}");
            assert!(
                !msg.contains(&WG_KEY[..10]) && !msg.contains("1111"),
                "{msg}"
            );
        }
        let path = d.0.join("big");
        private_file(&path, &vec![b' '; 5000]);
        assert!(one_line(&read_wg_private_key(&path).unwrap_err()).contains("too large"));
    }

    #[test]
    fn wg_key_refused_when_group_or_others_have_any_access() {
        let d = TempDir::new("wg-mode");
        let path = d.0.join("key");
        private_file(&path, WG_KEY.as_bytes());
        for bad in [0o640, 0o604, 0o620, 0o602, 0o644, 0o610, 0o601, 0o660] {
            fs::set_permissions(&path, fs::Permissions::from_mode(bad)).unwrap();
            let err = read_wg_private_key(&path).unwrap_err();
            assert!(matches!(err, KeyError::Unsafe { .. }), "{bad:o}: {err}");
            let msg = one_line(&err);
            assert!(msg.contains(&format!("(mode {bad:04o})")), "{msg}");
            assert!(
                msg.contains(&format!("chmod 600 {}", path.display())),
                "{msg}"
            );
        }
        for good in [0o600, 0o400, 0o700] {
            fs::set_permissions(&path, fs::Permissions::from_mode(good)).unwrap();
            read_wg_private_key(&path).unwrap();
        }
    }

    #[test]
    fn wg_key_symlink_is_not_followed() {
        let d = TempDir::new("wg-link");
        let target = d.0.join("key");
        private_file(&target, WG_KEY.as_bytes());
        let link = d.0.join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = read_wg_private_key(&link).unwrap_err();
        assert!(matches!(err, KeyError::Symlink(_)), "{err}");
        assert!(one_line(&err).contains("symbolic link"));
        // A dangling link is a link too, not a missing file.
        let dangling = d.0.join("dangling");
        std::os::unix::fs::symlink(d.0.join("nowhere"), &dangling).unwrap();
        assert!(matches!(
            read_wg_private_key(&dangling),
            Err(KeyError::Symlink(_))
        ));
        // And the writer does not write through one.
        assert!(matches!(
            write_new_wg_key(&dangling, &[1; 32]),
            Err(KeyError::Exists(_))
        ));
        assert!(!d.0.join("nowhere").exists());
    }

    #[test]
    fn wg_key_must_be_a_regular_file() {
        let d = TempDir::new("wg-kind");
        let dir = d.0.join("dir");
        DirBuilder::new().mode(0o700).create(&dir).unwrap();
        let err = read_wg_private_key(&dir).unwrap_err();
        assert!(matches!(err, KeyError::NotRegular(_)), "{err}");
        assert!(one_line(&err).contains("not a regular file"));
        // A FIFO: opening it must not wait for a writer (O_NONBLOCK), then it is refused.
        let fifo = d.0.join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg("-m")
            .arg("600")
            .arg(&fifo)
            .status()
            .expect("mkfifo(1) runs");
        assert!(status.success());
        assert!(matches!(
            read_wg_private_key(&fifo),
            Err(KeyError::NotRegular(_))
        ));
        assert!(matches!(
            read_wg_private_key(Path::new("/dev/null")),
            Err(KeyError::NotRegular(_))
        ));
        let missing = d.0.join("missing");
        let err = read_wg_private_key(&missing).unwrap_err();
        assert!(matches!(err, KeyError::MissingWgKey(_)), "{err}");
        assert!(one_line(&err).contains("wg genkey"));
    }

    #[test]
    fn wg_key_owner_must_be_root_or_the_effective_user() {
        let p = Path::new("/k");
        let facts = |uid| KeyFileFacts {
            is_file: true,
            mode: 0o100600,
            uid,
        };
        assert!(check_key_file(p, facts(1000), 1000).is_ok());
        assert!(check_key_file(p, facts(0), 1000).is_ok(), "root's file");
        assert!(check_key_file(p, facts(0), 0).is_ok());
        let err = check_key_file(p, facts(1001), 1000).unwrap_err();
        assert!(
            matches!(
                err,
                KeyError::WrongOwner {
                    uid: 1001,
                    euid: 1000,
                    ..
                }
            ),
            "{err}"
        );
        assert!(one_line(&err).contains("chown 1000 /k"), "{err}");
        // Root reading another user's key is refused too: that user could swap it.
        assert!(matches!(
            check_key_file(p, facts(1000), 0),
            Err(KeyError::WrongOwner { .. })
        ));
        // Kind is checked first: a directory is not "chmod 600"-able into a key.
        let dir = KeyFileFacts {
            is_file: false,
            mode: 0o40755,
            uid: 1001,
        };
        assert!(matches!(
            check_key_file(p, dir, 1000),
            Err(KeyError::NotRegular(_))
        ));
    }

    /// The same on a real file: chown to another uid (the suite runs as root, as scripts/test.sh
    /// requires; without root this fails rather than skips).
    #[test]
    #[ignore = "needs root"]
    fn wg_key_owned_by_another_user_is_refused() {
        assert_eq!(
            crate::sys::user::effective_uid(),
            0,
            "this test needs root to chown a file to another user"
        );
        let d = TempDir::new("wg-owner");
        let path = d.0.join("key");
        private_file(&path, WG_KEY.as_bytes());
        read_wg_private_key(&path).unwrap();
        std::os::unix::fs::chown(&path, Some(4242), None).unwrap();
        let err = read_wg_private_key(&path).unwrap_err();
        assert!(
            matches!(
                err,
                KeyError::WrongOwner {
                    uid: 4242,
                    euid: 0,
                    ..
                }
            ),
            "{err}"
        );
    }
}
