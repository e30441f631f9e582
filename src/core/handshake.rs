//! Building and consuming handshake initiations and responses (see docs/PROTOCOL.md).
