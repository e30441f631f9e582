//! `ringtun genkey`, `pubkey` and `genpsk` against wireguard-tools' `wg`: the same bytes in and
//! out, so keys move freely between the two. Needs `wg` (`scripts/setup.sh` installs it); no root.

pub mod common;
// Only where the foreign tools are (the rest of the interop harness is tests/interop.rs's).
#[path = "wg_peer/tools.rs"]
pub mod wg_tools;

use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;

use ringtun::core::keys::PrivateKey;

fn ringtun(args: &[&str], stdin: &str) -> String {
    let (code, out, err) = run_with_stdin(&ringtun_bin(), args, stdin);
    assert_eq!(code, 0, "ringtun {args:?}: {err}");
    out
}

fn wg(args: &[&str], stdin: &str) -> String {
    let wg = wg_tools::wg();
    let (code, out, err) = run_with_stdin(wg.to_str().expect("utf-8 path"), args, stdin);
    assert_eq!(code, 0, "wg {args:?}: {err}");
    out
}

/// One base64 key of 32 bytes and a newline, exactly.
fn assert_key_line(line: &str) {
    assert_eq!(line.len(), 45, "{line:?}");
    assert!(line.ends_with("=\n"), "{line:?}");
    assert!(PrivateKey::from_base64(line.trim_end()).is_ok(), "{line:?}");
}

#[test]
fn pubkey_agrees_with_wg_on_random_keys() {
    for i in 0..12 {
        // Keys from both tools, and preshared keys (not clamped: pubkey must clamp as wg does).
        let private = match i % 3 {
            0 => ringtun(&["genkey"], ""),
            1 => wg(&["genkey"], ""),
            _ => ringtun(&["genpsk"], ""),
        };
        assert_key_line(&private);
        let ours = ringtun(&["pubkey"], &private);
        let theirs = wg(&["pubkey"], &private);
        assert_key_line(&ours);
        assert_eq!(ours, theirs, "public keys of key {i} differ");
    }
}

#[test]
fn genkey_is_clamped_and_genpsk_is_not_the_same_twice() {
    for _ in 0..8 {
        let line = ringtun(&["genkey"], "");
        let key = PrivateKey::from_base64(line.trim_end()).unwrap();
        let b = key.as_bytes();
        assert_eq!(b[0] & 0b111, 0, "low bits cleared, as wg genkey");
        assert_eq!(b[31] & 0xc0, 0x40, "bit 255 cleared, bit 254 set");
        // wg takes it as a private key as it is.
        assert_eq!(wg(&["pubkey"], &line), ringtun(&["pubkey"], &line));
    }
    let (a, b) = (ringtun(&["genpsk"], ""), ringtun(&["genpsk"], ""));
    assert_key_line(&a);
    assert_ne!(a, b);
    assert_ne!(ringtun(&["genkey"], ""), ringtun(&["genkey"], ""));
}

#[test]
fn genkey_to_a_file_is_private_and_never_overwrites() {
    let dir = std::env::temp_dir().join(format!("ringtun-test-{}-keytools", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let path = dir.join("sub").join("key");
    let p = path.to_str().unwrap();
    let (code, out, err) = run_with_stdin(&ringtun_bin(), &["genkey", p], "");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "", "the key goes to the file only");
    assert!(err.contains("wrote a new key to"), "{err}");
    let text = fs::read_to_string(&path).unwrap();
    assert_key_line(&text);
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // wg reads it as a private key file would be read.
    assert_eq!(wg(&["pubkey"], &text), ringtun(&["pubkey"], &text));
    let (code, _, err) = run_with_stdin(&ringtun_bin(), &["genkey", p], "");
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("already exists: refusing to overwrite"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), text, "unchanged");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn pubkey_refuses_what_is_not_a_key() {
    for input in ["", "hello\n", &"ab".repeat(32)] {
        let (code, out, err) = run_with_stdin(&ringtun_bin(), &["pubkey"], input);
        assert_eq!(code, 1, "{input:?}");
        assert_eq!(out, "");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("ringtun: error: pubkey: stdin is not"),
            "{err}"
        );
    }
}
