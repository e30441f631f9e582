//! Bytes the stock `wg` (wireguard-tools v1.0.20210914, Debian) sent to a listener on
//! `/var/run/wireguard/<name>.sock`, byte for byte. `wg_interop` runs `wg` again and checks it
//! still sends exactly these; the parser tests check what they mean.
//!
//! The keys are throwaway test keys made with `wg genkey` for these fixtures.

/// `wg genkey` output, and the same key in hex.
pub const PRIVATE_KEY_B64: &str = "OLcKe1+cddGPlpCa9b1WLiNRHMaPsh6NXecWw/tgIXs=";
pub const PRIVATE_KEY_HEX: &str =
    "38b70a7b5f9c75d18f96909af5bd562e23511cc68fb21e8d5de716c3fb60217b";
/// The public key of `PRIVATE_KEY`.
pub const OWN_PUBLIC_KEY_B64: &str = "IBc9eZc1sAKzIMlmIm9FpZiTrQTMFIMHyI3KlVKSAxQ=";
pub const OWN_PUBLIC_KEY_HEX: &str =
    "20173d799735b002b320c966226f45a59893ad04cc148307c88dca9552920314";
pub const PEER_PUBLIC_KEY_B64: &str = "0duT3zPGEqpjWV6rw72tImawspVY6UQLz6cwf7MJthQ=";
pub const PEER_PUBLIC_KEY_HEX: &str =
    "d1db93df33c612aa63595eabc3bdad2266b0b29558e9440bcfa7307fb309b614";
pub const PRESHARED_KEY_B64: &str = "0kTydt/va/DTPLt4EAR7gHeV3Zd8SyLO7K2VuRaVhkY=";
pub const PRESHARED_KEY_HEX: &str =
    "d244f276dfef6bf0d33cbb7810047b807795dd977c4b22ceecad95b916958646";
/// A peer the syncconf fixture's running interface has and the file does not: 32 bytes of 0xab.
pub const STALE_PEER_PUBLIC_KEY_B64: &str = "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=";

/// `wg show NAME` (also the first request of `wg syncconf`).
pub const WG_SHOW: &[u8] = b"get=1\n\n";

/// `wg set NAME private-key FILE listen-port 1234 peer PEER allowed-ips 10.0.0.2/32,fd00::2/128
/// endpoint 127.0.0.1:51820 persistent-keepalive 25`
pub const WG_SET: &[u8] = b"set=1\n\
private_key=38b70a7b5f9c75d18f96909af5bd562e23511cc68fb21e8d5de716c3fb60217b\n\
listen_port=1234\n\
public_key=d1db93df33c612aa63595eabc3bdad2266b0b29558e9440bcfa7307fb309b614\n\
endpoint=127.0.0.1:51820\n\
persistent_keepalive_interval=25\n\
replace_allowed_ips=true\n\
allowed_ip=10.0.0.2/32\n\
allowed_ip=fd00::2/128\n\
\n";

/// The file given to `wg setconf` / `wg syncconf` (keys filled in by [`setconf_file`]).
pub fn setconf_file() -> String {
    format!(
        "[Interface]\nPrivateKey = {PRIVATE_KEY_B64}\nListenPort = 51821\nFwMark = 0x42\n\n\
         [Peer]\nPublicKey = {PEER_PUBLIC_KEY_B64}\nPresharedKey = {PRESHARED_KEY_B64}\n\
         AllowedIPs = 10.0.0.0/24, ::/0\nEndpoint = [fd00::1]:51820\nPersistentKeepalive = 0\n\n\
         [Peer]\nPublicKey = {OWN_PUBLIC_KEY_B64}\nAllowedIPs = 192.168.1.1/32\n"
    )
}

/// `wg setconf NAME FILE` (and `wg syncconf` when the interface has no peers yet).
pub const WG_SETCONF: &[u8] = b"set=1\n\
private_key=38b70a7b5f9c75d18f96909af5bd562e23511cc68fb21e8d5de716c3fb60217b\n\
listen_port=51821\n\
fwmark=66\n\
replace_peers=true\n\
public_key=d1db93df33c612aa63595eabc3bdad2266b0b29558e9440bcfa7307fb309b614\n\
preshared_key=d244f276dfef6bf0d33cbb7810047b807795dd977c4b22ceecad95b916958646\n\
endpoint=[fd00::1]:51820\n\
persistent_keepalive_interval=0\n\
replace_allowed_ips=true\n\
allowed_ip=10.0.0.0/24\n\
allowed_ip=::/0\n\
public_key=20173d799735b002b320c966226f45a59893ad04cc148307c88dca9552920314\n\
replace_allowed_ips=true\n\
allowed_ip=192.168.1.1/32\n\
\n";

/// The `set` of `wg syncconf NAME FILE` after its `get` was answered with two peers, PEER and
/// STALE_PEER: no `replace_peers`, and the stale peer removed.
pub const WG_SYNCCONF: &[u8] = b"set=1\n\
private_key=38b70a7b5f9c75d18f96909af5bd562e23511cc68fb21e8d5de716c3fb60217b\n\
listen_port=51821\n\
fwmark=66\n\
public_key=abababababababababababababababababababababababababababababababab\n\
remove=true\n\
public_key=d1db93df33c612aa63595eabc3bdad2266b0b29558e9440bcfa7307fb309b614\n\
preshared_key=d244f276dfef6bf0d33cbb7810047b807795dd977c4b22ceecad95b916958646\n\
endpoint=[fd00::1]:51820\n\
persistent_keepalive_interval=0\n\
replace_allowed_ips=true\n\
allowed_ip=10.0.0.0/24\n\
allowed_ip=::/0\n\
public_key=20173d799735b002b320c966226f45a59893ad04cc148307c88dca9552920314\n\
replace_allowed_ips=true\n\
allowed_ip=192.168.1.1/32\n\
\n";

/// `wg set NAME peer PEER remove`
pub const WG_SET_REMOVE: &[u8] = b"set=1\n\
public_key=d1db93df33c612aa63595eabc3bdad2266b0b29558e9440bcfa7307fb309b614\n\
remove=true\n\
\n";

/// `wg set NAME fwmark off peer OWN_PUBLIC preshared-key PSK_FILE`
pub const WG_SET_FWMARK_OFF_PSK: &[u8] = b"set=1\n\
fwmark=0\n\
public_key=20173d799735b002b320c966226f45a59893ad04cc148307c88dca9552920314\n\
preshared_key=d244f276dfef6bf0d33cbb7810047b807795dd977c4b22ceecad95b916958646\n\
\n";

/// `wg set NAME private-key /dev/null peer OWN_PUBLIC preshared-key /dev/null allowed-ips ""`:
/// an empty key file means "no key", sent as zeros.
pub const WG_SET_ZERO_KEYS: &[u8] = b"set=1\n\
private_key=0000000000000000000000000000000000000000000000000000000000000000\n\
public_key=20173d799735b002b320c966226f45a59893ad04cc148307c88dca9552920314\n\
preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n\
replace_allowed_ips=true\n\
\n";

/// `wg set NAME listen-port 0 peer OWN_PUBLIC endpoint [fe80::1%lo]:1 persistent-keepalive off`:
/// the zone goes out by name.
pub const WG_SET_SCOPED_ENDPOINT: &[u8] = b"set=1\n\
listen_port=0\n\
public_key=20173d799735b002b320c966226f45a59893ad04cc148307c88dca9552920314\n\
endpoint=[fe80::1%lo]:1\n\
persistent_keepalive_interval=0\n\
\n";

/// Every `set` fixture.
pub const ALL_SETS: [&[u8]; 7] = [
    WG_SET,
    WG_SETCONF,
    WG_SYNCCONF,
    WG_SET_REMOVE,
    WG_SET_FWMARK_OFF_PSK,
    WG_SET_ZERO_KEYS,
    WG_SET_SCOPED_ENDPOINT,
];
