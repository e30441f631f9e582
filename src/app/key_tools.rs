//! `ringtun genkey [FILE]`, `ringtun pubkey`, `ringtun genpsk`: the key tools of `wg(8)`, with the
//! same input and output bytes (one base64 key and a newline), so either tool's keys work in the
//! other's files.

use std::io::{self, Read, Write};
use std::path::Path;

use zeroize::Zeroizing;

use super::{AppError, err};
use crate::core::key_encoding::{BASE64_LEN, encode_base64};
use crate::core::keys::PrivateKey;
use crate::core::one_command::public_key;
use crate::{keyfile, log_info};

/// Most bytes `pubkey` reads from stdin: a key, a newline, and room for stray white space.
const MAX_STDIN_KEY: u64 = 4096;

/// `ringtun genkey [FILE]`: a fresh private key, clamped as `wg genkey` does, on stdout or in a
/// new file (mode 0600, never over an existing one). It is also the one-command mode's secret.
pub fn genkey(path: Option<&Path>) -> Result<(), AppError> {
    match path {
        None => {
            let random = Zeroizing::new(random_bytes()?);
            print_key(PrivateKey::from_random(*random).as_bytes())
        }
        Some(p) => {
            keyfile::generate_wg_private_key_to(p).map_err(err)?;
            log_info!(
                "wrote a new key to {} (mode 0600); for the one-command mode copy it to the other \
                 host over a secure channel",
                p.display()
            );
            Ok(())
        }
    }
}

/// `ringtun genpsk`: 32 random bytes on stdout, as `wg genpsk`.
pub fn genpsk() -> Result<(), AppError> {
    let random = Zeroizing::new(random_bytes()?);
    print_key(&random)
}

/// `ringtun pubkey`: the public key of the private key on stdin, as `wg pubkey`.
pub fn pubkey() -> Result<(), AppError> {
    let key = private_key_from(io::stdin().lock())?;
    let public = public_key(&key);
    let mut line = public.to_base64();
    line.push('\n');
    io::stdout()
        .lock()
        .write_all(line.as_bytes())
        .map_err(|e| err(format!("pubkey: cannot write to stdout: {e}")))
}

/// Reads one base64 private key from `input`: the key first, then nothing but white space (what
/// `wg pubkey` accepts). Bounded, and wiped after use.
fn private_key_from(input: impl Read) -> Result<PrivateKey, AppError> {
    let mut text = Zeroizing::new(Vec::with_capacity(MAX_STDIN_KEY as usize + 1));
    input
        .take(MAX_STDIN_KEY + 1)
        .read_to_end(&mut text)
        .map_err(|e| err(format!("pubkey: cannot read stdin: {e}")))?;
    let bad = || {
        err(
            "pubkey: stdin is not a WireGuard private key: expected 44 base64 characters, as \
             `ringtun genkey` or `wg genkey` prints them",
        )
    };
    if text.len() as u64 > MAX_STDIN_KEY {
        return Err(bad());
    }
    while text
        .last()
        .is_some_and(|&b| b == 0 || b.is_ascii_whitespace() || b == 0x0b)
    {
        text.pop();
    }
    let text = std::str::from_utf8(&text).map_err(|_| bad())?;
    PrivateKey::from_base64(text).map_err(|_| bad())
}

fn random_bytes() -> Result<[u8; 32], AppError> {
    crate::sys::random::bytes32().map_err(|e| err(format!("getrandom: {e}")))
}

/// Writes `key` in base64 and a newline to stdout, from a buffer that is wiped afterwards.
fn print_key(key: &[u8; 32]) -> Result<(), AppError> {
    let mut line = Zeroizing::new([0u8; BASE64_LEN + 1]);
    line[..BASE64_LEN].copy_from_slice(&*Zeroizing::new(encode_base64(key)));
    line[BASE64_LEN] = b'\n';
    io::stdout()
        .lock()
        .write_all(&line[..])
        .map_err(|e| err(format!("cannot write the key to stdout: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAN_PAGE_PRIVATE: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
    // Its public key, as `wg pubkey` prints it.
    const MAN_PAGE_PUBLIC: &str = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";

    #[test]
    fn pubkey_reads_a_key_and_trailing_white_space_only() {
        for input in [
            MAN_PAGE_PRIVATE.to_string(),
            format!("{MAN_PAGE_PRIVATE}\n"),
            format!("{MAN_PAGE_PRIVATE} \t\r\n\n"),
        ] {
            let key = private_key_from(input.as_bytes()).unwrap();
            assert_eq!(public_key(&key).to_base64(), MAN_PAGE_PUBLIC);
        }
        for input in [
            String::new(),
            format!(" {MAN_PAGE_PRIVATE}"),
            format!("{MAN_PAGE_PRIVATE}x"),
            MAN_PAGE_PRIVATE[1..].to_string(),
            "00".repeat(32),
            format!("{MAN_PAGE_PRIVATE}{}", " ".repeat(5000)),
        ] {
            let e = private_key_from(input.as_bytes()).unwrap_err();
            assert_eq!(e.status, 1);
            assert!(e.message.starts_with("pubkey: stdin is not"), "{e}");
            assert!(!e.message.contains(&MAN_PAGE_PRIVATE[..8]), "{e}");
        }
    }
}
