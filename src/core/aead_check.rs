//! A known-answer check of the AEAD on the CPU it runs on, for the hidden `ringtun selftest`.
//!
//! The crypto crates choose their SIMD backends at run time (`sys::cpu`), so unit tests on the
//! build machine prove only the backends that machine picked. This runs RFC 8439's vectors through
//! the same [`aead::seal_in_place`] and [`aead::open_in_place`] the data path uses, on whatever CPU
//! runs the binary; `tests/cpu_floor.rs` runs it under emulated older CPUs.

use std::fmt;

use super::aead::{self, AuthError, KEY_LEN, NONCE_LEN};

/// An AEAD test vector; byte strings in hex, as printed in the RFC.
struct Vector {
    name: &'static str,
    key: &'static str,
    nonce: &'static str,
    aad: &'static str,
    plaintext: &'static [u8],
    ciphertext: &'static str,
    tag: &'static str,
}

/// RFC 8439 §2.8.2 (114 bytes: one 4-block keystream chunk, 7 Poly1305 blocks).
const RFC8439_2_8_2: Vector = Vector {
    name: "RFC 8439 2.8.2",
    key: "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
    nonce: "070000004041424344454647",
    aad: "50515253c0c1c2c3c4c5c6c7",
    plaintext: b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    ciphertext: "
        d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
        3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
        92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
        3ff4def08e4b7a9de576d26586cec64b6116",
    tag: "1ae10b594f09e26a7e902ecbd0600691",
};

/// RFC 8439 Appendix A.5 (265 bytes: past the first 256-byte chunk, and over 4 Poly1305 blocks
/// at a time, the paths the SIMD backends take for full-size packets).
const RFC8439_A_5: Vector = Vector {
    name: "RFC 8439 A.5",
    key: "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0",
    nonce: "000000000102030405060708",
    aad: "f33388860000000000004e91",
    plaintext: "Internet-Drafts are draft documents valid for a maximum of six months and may be \
        updated, replaced, or obsoleted by other documents at any time. It is inappropriate to use \
        Internet-Drafts as reference material or to cite them other than as \
        /\u{201c}work in progress./\u{201d}"
        .as_bytes(),
    ciphertext: "
        64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2
        4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf
        332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855
        9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4
        b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e
        af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a
        0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10
        49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29
        a6ad5cb4022b02709b",
    tag: "eead9d67890cbb22392336fea1851f38",
};

/// The check that failed: which vector, and what came out wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub vector: &'static str,
    pub what: &'static str,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.vector, self.what)
    }
}

/// Seals and opens RFC 8439's vectors and checks every byte; names the vectors on success.
pub fn run() -> Result<&'static [&'static str], Mismatch> {
    check(&RFC8439_2_8_2)?;
    check(&RFC8439_A_5)?;
    Ok(&[RFC8439_2_8_2.name, RFC8439_A_5.name])
}

/// Sealing the plaintext gives the ciphertext and tag; opening gives the plaintext back; a tag
/// with one bit flipped is refused and leaves the ciphertext as it was.
fn check(vector: &Vector) -> Result<(), Mismatch> {
    let fail = |what| Mismatch {
        vector: vector.name,
        what,
    };
    let key: [u8; KEY_LEN] = hex(vector.key).try_into().map_err(|_| fail("key length"))?;
    let nonce: [u8; NONCE_LEN] = hex(vector.nonce)
        .try_into()
        .map_err(|_| fail("nonce length"))?;
    let tag: [u8; 16] = hex(vector.tag).try_into().map_err(|_| fail("tag length"))?;
    let aad = hex(vector.aad);
    let ciphertext = hex(vector.ciphertext);

    let mut buf = vector.plaintext.to_vec();
    let sealed_tag = aead::seal_in_place(&key, &nonce, &aad, &mut buf);
    if buf != ciphertext {
        return Err(fail("sealing gave the wrong ciphertext"));
    }
    if sealed_tag != tag {
        return Err(fail("sealing gave the wrong tag"));
    }

    let mut bad_tag = tag;
    bad_tag[15] ^= 0x01;
    if aead::open_in_place(&key, &nonce, &aad, &mut buf, &bad_tag) != Err(AuthError) {
        return Err(fail("opening accepted a wrong tag"));
    }
    if buf != ciphertext {
        return Err(fail("a refused open changed the ciphertext"));
    }

    if aead::open_in_place(&key, &nonce, &aad, &mut buf, &tag).is_err() {
        return Err(fail("opening refused the right tag"));
    }
    if buf != vector.plaintext {
        return Err(fail("opening gave the wrong plaintext"));
    }
    Ok(())
}

/// The bytes of a hex string, ignoring anything that is not a hex digit (spaces, line breaks).
fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .chars()
        .filter_map(|c| c.to_digit(16))
        .filter_map(|d| u8::try_from(d).ok())
        .collect();
    digits
        .chunks_exact(2)
        .map(|pair| pair[0] << 4 | pair[1])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vectors_pass_on_this_machine() {
        assert_eq!(run(), Ok(&["RFC 8439 2.8.2", "RFC 8439 A.5"][..]));
    }

    #[test]
    fn a_wrong_expected_byte_is_reported() {
        let mut wrong = RFC8439_A_5;
        wrong.ciphertext = "00";
        assert_eq!(
            check(&wrong),
            Err(Mismatch {
                vector: "RFC 8439 A.5",
                what: "sealing gave the wrong ciphertext"
            })
        );
        let mut wrong = RFC8439_2_8_2;
        wrong.tag = "1ae10b594f09e26a7e902ecbd0600690";
        assert_eq!(
            check(&wrong),
            Err(Mismatch {
                vector: "RFC 8439 2.8.2",
                what: "sealing gave the wrong tag"
            })
        );
        let mut wrong = RFC8439_2_8_2;
        wrong.plaintext = b"short";
        assert!(check(&wrong).is_err());
    }

    #[test]
    fn hex_reads_rfc_layout() {
        assert_eq!(hex("00 ff\n 1A"), [0x00, 0xff, 0x1a]);
        assert_eq!(hex(RFC8439_A_5.ciphertext).len(), 265);
        assert_eq!(RFC8439_A_5.plaintext.len(), 265);
        assert_eq!(hex(RFC8439_2_8_2.ciphertext).len(), 114);
    }
}
