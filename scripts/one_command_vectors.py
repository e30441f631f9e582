#!/usr/bin/env python3
"""Independent reference values for src/core/one_command.rs (its unit test holds a copy).

The one-command mode (`ringtun -l PORT` / `ringtun -s HOST:PORT`) derives both static key pairs
and the pre-shared key from one shared 32-byte secret:

    key = HMAC-BLAKE2s(secret, label)        (RFC 2104 over BLAKE2s-256, as WireGuard's HMAC)

with three distinct ASCII labels. The two private keys are then clamped for X25519 as `wg genkey`
clamps (low 3 bits cleared, bit 255 cleared, bit 254 set). Written from that description alone,
with other code than ringtun's: CPython's hashlib (reference BLAKE2s) and hmac modules, and
OpenSSL through the `cryptography` package for the X25519 public keys.

Run: python3 scripts/one_command_vectors.py
"""
import base64
import hashlib
import hmac

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

SERVER_LABEL = b"ringtun one-command v2 server static key"
CLIENT_LABEL = b"ringtun one-command v2 client static key"
PSK_LABEL = b"ringtun one-command v2 preshared key"


def derive(secret, label):
    return hmac.new(secret, label, hashlib.blake2s).digest()


def clamp(key):
    k = bytearray(key)
    k[0] &= 0xF8
    k[31] = (k[31] & 0x7F) | 0x40
    return bytes(k)


def public(private):
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def b64(value):
    return base64.b64encode(value).decode()


# The secret is the man page's example key (wg(8)), as `ringtun genkey` would write it.
secret = base64.b64decode("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=")
server_private = clamp(derive(secret, SERVER_LABEL))
client_private = clamp(derive(secret, CLIENT_LABEL))
psk = derive(secret, PSK_LABEL)
print(f'const PY_SECRET: &str = "{b64(secret)}";')
print(f'const PY_SERVER_PRIVATE: &str = "{b64(server_private)}";')
print(f'const PY_SERVER_PUBLIC: &str = "{b64(public(server_private))}";')
print(f'const PY_CLIENT_PRIVATE: &str = "{b64(client_private)}";')
print(f'const PY_CLIENT_PUBLIC: &str = "{b64(public(client_private))}";')
print(f'const PY_PRESHARED: &str = "{b64(psk)}";')
