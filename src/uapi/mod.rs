//! WireGuard's cross-platform control protocol ("UAPI", <https://www.wireguard.com/xplatform/>),
//! sans-IO: bytes in, typed requests out; a typed snapshot in, bytes out. The stock `wg` tool and
//! `wg-quick` speak it over the stream socket `/var/run/wireguard/IFNAME.sock`, as they do with
//! wireguard-go and boringtun; the socket itself belongs to the driver, not here.
//!
//! # Grammar
//!
//! ```text
//! stream     = *request                          ; wg sends one per connection; more are allowed
//! request    = get / set
//! get        = "get=1" LF LF
//! set        = "set=1" LF interface *peer LF     ; the final LF is the empty line that ends it
//! interface  = *(iface-line LF)
//! iface-line = "private_key=" key                ; all zeros: remove the private key
//!            / "listen_port=" u16                ; 0: any port
//!            / "fwmark=" u32                     ; 0: off
//!            / "replace_peers=true"
//! peer       = "public_key=" key LF *(peer-line LF)
//! peer-line  = "preshared_key=" key              ; all zeros: none
//!            / "endpoint=" (ipv4 ":" port / "[" ipv6 ["%" zone] "]:" port)
//!            / "persistent_keepalive_interval=" u16   ; seconds, 0: off
//!            / "replace_allowed_ips=true"
//!            / "allowed_ip=" ip "/" prefix-length     ; repeated
//!            / "remove=true" / "update_only=true" / "protocol_version=1"
//! key        = 64HEXDIG                          ; either case on input, lowercase on output
//! u16, u32   = 1*DIGIT                           ; leading zeros allowed, no sign
//!
//! get-reply  = *(key "=" value LF) status
//! set-reply  = status
//! status     = "errno=" ("0" / "-" errno.h-value) LF LF
//! ```
//!
//! A get reply lists `private_key`, `listen_port`, `fwmark` (each only when set), then per peer
//! `public_key`, `preshared_key`, `protocol_version`, `endpoint` (when known),
//! `last_handshake_time_sec`, `last_handshake_time_nsec`, `tx_bytes`, `rx_bytes`,
//! `persistent_keepalive_interval` and one `allowed_ip` per entry: wireguard-go's order.
//!
//! # Pieces
//! - [`session`]: cuts a byte stream (in any chunking) into requests, enforcing [`Limits`].
//! - [`request`]: the `set` body into a [`SetRequest`], and [`ParseError`] with its errno.
//! - [`response`]: a [`Snapshot`] into a get reply; status replies.
//! - [`read_reply`]: the client's side: a get reply back into a [`Snapshot`] (`ringtun show`).
//! - [`key`], [`endpoint`], [`allowed_ip`]: the value types; [`errno`]: the reply status.
#![deny(unsafe_code)]

pub mod allowed_ip;
pub mod endpoint;
pub mod errno;
pub mod key;
pub mod read_reply;
pub mod request;
pub mod response;
pub mod session;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod wg_interop;

pub use allowed_ip::AllowedIp;
pub use endpoint::{Endpoint, ScopeName};
pub use errno::Errno;
pub use key::{PresharedKey, PrivateKey, PublicKey};
pub use read_reply::{ReplyError, parse_get_reply};
pub use request::{ErrorKind, InterfaceChange, Key, ParseError, PeerChange, SetRequest};
pub use response::{Counter, PeerSnapshot, Reply, Snapshot, get_reply, status_reply};
pub use session::{Request, Session, parse_request};

/// Bounds on one request, so a client cannot make the server allocate without limit. Over a bound
/// the request is refused with EMSGSIZE (wireguard-go has no such bounds).
///
/// The defaults fit what `wg setconf` sends for about 3,000 peers that each have a preshared key,
/// an endpoint and two allowed IPs (~330 bytes a peer); raise them for larger interfaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes in one line, without its `\n`. The longest line `wg` sends is an endpoint with a
    /// zone, under 80 bytes.
    pub max_line: usize,
    /// Bytes in one request, from `set=1` through the empty line. Going over closes the
    /// connection (after the EMSGSIZE reply): the rest of the stream cannot be trusted to be
    /// framed.
    pub max_request: usize,
    /// `public_key` lines in one request.
    pub max_peers: usize,
    /// `allowed_ip` lines in one request, all peers together.
    pub max_allowed_ips: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_line: 4096,
            max_request: 1 << 20,
            max_peers: 4096,
            max_allowed_ips: 65536,
        }
    }
}
