#!/usr/bin/env python3
"""Independent reference values for src/core/noise (crypto.rs and handshake.rs unit tests).

Written from the WireGuard paper (section 5.4) alone, with other code than ringtun's: CPython's
hashlib (reference BLAKE2s) and hmac modules, and OpenSSL through the `cryptography` package for
X25519 and ChaCha20-Poly1305. Prints Rust constants; the tests hold a copy of its output.

Run: python3 scripts/noise_vectors.py
"""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305


def HASH(*parts):
    return hashlib.blake2s(b"".join(parts)).digest()


def MAC(key, *parts):
    return hashlib.blake2s(b"".join(parts), key=key, digest_size=16).digest()


def HMAC(key, *parts):
    return hmac.new(key, b"".join(parts), hashlib.blake2s).digest()


def KDF(n, key, data):
    t0 = HMAC(key, data)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = HMAC(t0, prev, bytes([i]))
        out.append(prev)
    return out


def public(private):
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def DH(private, public_key):
    return X25519PrivateKey.from_private_bytes(private).exchange(
        X25519PublicKey.from_public_bytes(public_key))


def AEAD(key, counter, plaintext, aad):
    return ChaCha20Poly1305(key).encrypt(b"\0" * 4 + struct.pack("<Q", counter), plaintext, aad)


def rust(name, value):
    if isinstance(value, list):
        print(f"const {name}: [&str; {len(value)}] = [{', '.join(chr(34) + v.hex() + chr(34) for v in value)}];")
    else:
        print(f'const {name}: &str = "{value.hex()}";')


# crypto.rs: MAC, HMAC and KDF values.
key = bytes(range(32))
ikm = b"input keying material"
rust("PY_MAC_KEY32", MAC(key, b"WireGuard mac1 input"))
rust("PY_MAC_KEY16", MAC(bytes(range(100, 116)), b"WireGuard mac1 input"))
rust("PY_HMAC", HMAC(key, ikm))
rust("PY_KDF1", KDF(1, key, ikm)[0])
rust("PY_KDF2", KDF(2, key, ikm))
rust("PY_KDF3", KDF(3, key, ikm))
rust("PY_KDF1_EMPTY", KDF(1, key, b"")[0])
print()

# handshake.rs: one complete handshake with fixed keys, ephemerals, indices and timestamp.
initiator_static = bytes(range(1, 33))
responder_static = bytes(range(101, 133))
initiator_ephemeral = bytes(range(201, 233))
responder_ephemeral = bytes([0x5A] * 32)
psk = bytes([0x77] * 32)
initiator_index, responder_index = 0x11223344, 0x55667788
unix_nanos = 1_700_000_000_123_456_789
seconds, nanos = divmod(unix_nanos, 10**9)
timestamp = struct.pack(">QI", (1 << 62) + 10 + seconds, nanos & ~0xFFFFFF)

S_i, S_r = public(initiator_static), public(responder_static)
E_i, E_r = public(initiator_ephemeral), public(responder_ephemeral)
steps = []  # (C, H) after each line of the paper's initiation and response

C = HASH(b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")
H = HASH(HASH(C, b"WireGuard v1 zx2c4 Jason@zx2c4.com"), S_r)
steps.append(C + H)
C = KDF(1, C, E_i)[0]
H = HASH(H, E_i)
steps.append(C + H)
C, k = KDF(2, C, DH(initiator_ephemeral, S_r))
static = AEAD(k, 0, S_i, H)
H = HASH(H, static)
steps.append(C + H)
C, k = KDF(2, C, DH(initiator_static, S_r))
sealed_timestamp = AEAD(k, 0, timestamp, H)
H = HASH(H, sealed_timestamp)
steps.append(C + H)
initiation = struct.pack("<I", 1) + struct.pack("<I", initiator_index) + E_i + static + sealed_timestamp
initiation += MAC(HASH(b"mac1----", S_r), initiation) + b"\0" * 16

C = KDF(1, C, E_r)[0]
H = HASH(H, E_r)
steps.append(C + H)
C = KDF(1, C, DH(responder_ephemeral, E_i))[0]
steps.append(C + H)
C = KDF(1, C, DH(responder_ephemeral, S_i))[0]
steps.append(C + H)
C, tau, k = KDF(3, C, psk)
H = HASH(H, tau)
steps.append(C + H)
empty = AEAD(k, 0, b"", H)
H = HASH(H, empty)
steps.append(C + H)
response = struct.pack("<III", 2, responder_index, initiator_index) + E_r + empty
response += MAC(HASH(b"mac1----", S_i), response) + b"\0" * 16
send_i, recv_i = KDF(2, C, b"")

print(f"// Inputs: initiator static {initiator_static.hex()}, responder static {responder_static.hex()},")
print(f"// ephemerals {initiator_ephemeral.hex()} / {responder_ephemeral.hex()}, psk {psk.hex()},")
print(f"// indices {initiator_index:#x} / {responder_index:#x}, unix ns {unix_nanos}.")
rust("PY_STEPS", steps)
rust("PY_INITIATION", initiation)
rust("PY_RESPONSE", response)
rust("PY_INITIATOR_SEND", send_i)
rust("PY_INITIATOR_RECEIVE", recv_i)
