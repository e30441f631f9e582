//! Curve25519 keys and preshared keys for the tests, base64 as WireGuard's tools write them.
//!
//! This file is the one place that makes keys: today with `wg genkey`, `wg pubkey` and `wg genpsk`.
//! When ringtun has its own key commands, only these three functions change; the RFC 7748 test in
//! `tests/interop.rs` checks whichever tool is used.

use super::tools;
use std::fmt;
use std::io::Write;
use std::process::{Command, Stdio};

/// A private or preshared key (base64 of 32 bytes). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    /// Checks the shape (44 base64 characters, 32 bytes).
    pub fn from_base64(text: &str) -> Result<SecretKey, String> {
        decode_key(text).map(|_| SecretKey(text.to_owned()))
    }

    /// The key as it goes into a config file or `wg`.
    pub fn base64(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A private key and its public key.
#[derive(Clone, Debug)]
pub struct Keypair {
    pub private: SecretKey,
    pub public: String,
}

/// A fresh keypair.
pub fn keypair() -> Keypair {
    let private = SecretKey::from_base64(wg(&["genkey"], None).trim())
        .unwrap_or_else(|e| panic!("wg genkey: {e}"));
    let public = public_key(&private);
    Keypair { private, public }
}

/// The public key of `private`.
pub fn public_key(private: &SecretKey) -> String {
    let public = wg(&["pubkey"], Some(private.base64())).trim().to_owned();
    decode_key(&public).unwrap_or_else(|e| panic!("wg pubkey: {e}"));
    public
}

/// A fresh preshared key.
pub fn preshared_key() -> SecretKey {
    SecretKey::from_base64(wg(&["genpsk"], None).trim())
        .unwrap_or_else(|e| panic!("wg genpsk: {e}"))
}

/// Runs `wg ARGS` with `input` on stdin; returns stdout. Its output is secret: never echoed.
fn wg(args: &[&str], input: Option<&str>) -> String {
    let mut child = Command::new(tools::wg())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run wg {args:?}: {e}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    if let Some(input) = input {
        stdin
            .write_all(format!("{input}\n").as_bytes())
            .expect("write to wg");
    }
    drop(stdin);
    let out = child.wait_with_output().expect("wait for wg");
    assert!(
        out.status.success(),
        "wg {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8(out.stdout).expect("wg prints ASCII")
}

/// The 32 bytes of a base64 key (standard alphabet, one `=` of padding, as `wg` writes them).
pub fn decode_key(text: &str) -> Result<[u8; 32], String> {
    let b = text.as_bytes();
    if b.len() != 44 || b[43] != b'=' {
        return Err(format!(
            "not a 44-character base64 key: {} characters",
            b.len()
        ));
    }
    let mut out = [0u8; 33];
    for (chunk, dst) in b.chunks(4).zip(out.chunks_mut(3)) {
        let mut acc = 0u32;
        for &c in chunk {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                b'=' => 0,
                _ => return Err("not a base64 key: bad character".into()),
            };
            acc = acc << 6 | u32::from(v);
        }
        dst.copy_from_slice(&acc.to_be_bytes()[1..]);
    }
    if out[32] != 0 {
        return Err("not a base64 key: bits after the 32nd byte".into());
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&out[..32]);
    Ok(key)
}

/// A key as lowercase hex, the form WireGuard's UAPI uses.
pub fn key_hex(base64: &str) -> Result<String, String> {
    Ok(decode_key(base64)?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7748 section 6.1: Alice's public key, hex and base64.
    const ALICE_PUB_HEX: &str = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
    const ALICE_PUB_B64: &str = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";

    #[test]
    fn base64_keys_decode_to_their_bytes() {
        assert_eq!(key_hex(ALICE_PUB_B64).unwrap(), ALICE_PUB_HEX);
        assert!(decode_key("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo").is_err());
        assert!(decode_key("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm!=").is_err());
        // The last character carries 2 bits past the 32nd byte: they must be zero.
        assert!(decode_key("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=").is_err());
    }

    #[test]
    fn secret_keys_do_not_show_in_debug() {
        let k = SecretKey::from_base64(ALICE_PUB_B64).unwrap();
        let shown = format!("{k:?} {:?}", Some(k.clone()));
        assert!(!shown.contains("hSDw"), "{shown}");
    }
}
