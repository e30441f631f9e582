//! `aead::open_in_place` on arbitrary key, nonce, AAD, ciphertext and tag: never panics, and a
//! failed open leaves the buffer exactly as it was. A random tag verifying would be a 2^-128 event,
//! so success is not asserted against. The same input is also sealed, compared with a plain
//! ChaCha20 keystream from block 1 (RFC 8439 §2.8), and reopened.
#![no_main]

use chacha20::ChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use libfuzzer_sys::fuzz_target;
use ringtun::core::aead;

fuzz_target!(|data: &[u8]| {
    // key(32) | nonce(12) | tag(16) | aad_len(1) | aad | ciphertext
    let Some((key, rest)) = data.split_first_chunk::<32>() else {
        return;
    };
    let Some((nonce, rest)) = rest.split_first_chunk::<12>() else {
        return;
    };
    let Some((tag, rest)) = rest.split_first_chunk::<16>() else {
        return;
    };
    let Some((&aad_len, rest)) = rest.split_first() else {
        return;
    };
    let aad_len = usize::from(aad_len).min(rest.len());
    let (aad, ciphertext) = rest.split_at(aad_len);

    let mut buf = ciphertext.to_vec();
    if aead::open_in_place(key, nonce, aad, &mut buf, tag).is_err() {
        assert_eq!(buf, ciphertext, "failed open changed the buffer");
    }

    let mut sealed = ciphertext.to_vec();
    let real_tag = aead::seal_in_place(key, nonce, aad, &mut sealed);
    let mut reference = ciphertext.to_vec();
    let mut cipher = ChaCha20::new(key.into(), nonce.into());
    cipher.seek(64u64);
    cipher.apply_keystream(&mut reference);
    assert_eq!(
        sealed, reference,
        "ciphertext is not the keystream from block 1"
    );
    assert_eq!(
        aead::open_in_place(key, nonce, aad, &mut sealed, &real_tag),
        Ok(())
    );
    assert_eq!(sealed, ciphertext);
});
