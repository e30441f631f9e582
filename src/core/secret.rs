//! A 32-byte secret (session key, pre-shared key) that is erased when dropped and never printed.

use zeroize::Zeroize;

pub const SECRET_LEN: usize = 32;

/// Zeroed on drop (with `zeroize`, which the optimizer may not remove); `Debug` prints no bytes.
/// Deliberately not `Clone`: every copy of a key is one more place to erase.
pub struct SecretKey([u8; SECRET_LEN]);

impl SecretKey {
    /// Takes the key; the caller erases its own copy if it has one.
    pub fn new(bytes: [u8; SECRET_LEN]) -> Self {
        SecretKey(bytes)
    }

    pub fn bytes(&self) -> &[u8; SECRET_LEN] {
        &self.0
    }
}

impl SecretKey {
    /// What `drop` runs; separate so that a test can observe it without reading freed memory.
    fn erase(&mut self) {
        self.0.zeroize();
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.erase();
    }
}

impl core::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_key_bytes() {
        let key = SecretKey::new([0xab; SECRET_LEN]);
        let shown = format!("{key:?} {key:#?}");
        assert!(!shown.to_lowercase().contains("ab"), "{shown}");
        assert!(!shown.contains("171"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn drop_erases_the_bytes() {
        let mut key = SecretKey::new([0x5a; SECRET_LEN]);
        key.erase();
        assert_eq!(key.bytes(), &[0u8; SECRET_LEN]);
    }
}
