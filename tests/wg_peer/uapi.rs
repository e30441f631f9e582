//! A direct read of WireGuard's userspace API (the `get=1` request on
//! `/var/run/wireguard/IFNAME.sock`), for the one thing `wg show dump` cannot tell apart:
//! boringtun reports a handshake's *age* in `last_handshake_time_sec`, so its dump shows 0 both for
//! "never" and for "less than a second ago". Only the raw reply says which: boringtun leaves the
//! field out for a peer it never completed a handshake with.

use super::keys;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// The UAPI socket of a userspace WireGuard interface. The directory is not per network
/// namespace, which is why interface names must be unique on the machine.
pub fn socket_path(ifname: &str) -> PathBuf {
    PathBuf::from(format!("/var/run/wireguard/{ifname}.sock"))
}

/// The `key=value` lines of a `get=1` reply, in order. Private and preshared keys are left out.
pub fn get(ifname: &str) -> Result<Vec<(String, String)>, String> {
    let path = socket_path(ifname);
    let mut s = UnixStream::connect(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    // A daemon whose UAPI thread died keeps the socket open but never answers.
    let limit = Some(Duration::from_secs(5));
    s.set_read_timeout(limit)
        .and_then(|_| s.set_write_timeout(limit))
        .map_err(|e| e.to_string())?;
    s.write_all(b"get=1\n\n")
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut pairs = Vec::new();
    for line in BufReader::new(s).lines() {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        if line.is_empty() {
            break;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(format!("{}: not key=value: {line:?}", path.display()));
        };
        if k != "private_key" && k != "preshared_key" {
            pairs.push((k.to_owned(), v.to_owned()));
        }
    }
    match pairs.iter().find(|(k, _)| k == "errno") {
        Some((_, e)) if e == "0" => Ok(pairs),
        Some((_, e)) => Err(format!("{}: errno={e}", path.display())),
        None => Err(format!("{}: reply without errno", path.display())),
    }
}

/// The `last_handshake_time_*` fields of one peer (base64 public key) as a duration, or `None`
/// when the peer has none. Errors if the peer is not there.
pub fn last_handshake_field(ifname: &str, public_key: &str) -> Result<Option<Duration>, String> {
    let hex = keys::key_hex(public_key)?;
    let pairs = get(ifname)?;
    // A peer's fields run from its public_key line to the next one.
    let start = pairs
        .iter()
        .position(|(k, v)| k == "public_key" && *v == hex)
        .ok_or_else(|| format!("{ifname}: no peer {public_key}"))?;
    let fields = pairs[start + 1..]
        .iter()
        .take_while(|(k, _)| k != "public_key");
    let (mut sec, mut nsec) = (None, None);
    for (k, v) in fields {
        let parse = || v.parse::<u64>().map_err(|_| format!("{ifname}: {k}={v}"));
        match k.as_str() {
            "last_handshake_time_sec" => sec = Some(parse()?),
            "last_handshake_time_nsec" => nsec = Some(parse()?),
            _ => {}
        }
    }
    Ok(match (sec, nsec) {
        (None, None) => None,
        (s, n) => Some(Duration::from_secs(s.unwrap_or(0)) + Duration::from_nanos(n.unwrap_or(0))),
    })
}
