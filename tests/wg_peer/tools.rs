//! Where the foreign WireGuard tools are. `scripts/setup.sh` installs them: `wg` and `wg-quick`
//! (wireguard-tools), `nft` (nftables) and `wireguard-go` with apt, `boringtun-cli` with `cargo install` into cargo's
//! bin directory, `${CARGO_HOME:-~/.cargo}/bin`. A missing tool is a failed test that names the
//! setup step, never a skipped one.

use std::env;
use std::path::{Path, PathBuf};

/// What to run when a tool is missing.
const SETUP: &str = "sudo ./scripts/setup.sh";

/// `wg` (wireguard-tools).
pub fn wg() -> PathBuf {
    in_path("wg").unwrap_or_else(|| missing("wg", "apt package wireguard-tools"))
}

/// `wg-quick` (wireguard-tools).
pub fn wg_quick() -> PathBuf {
    in_path("wg-quick").unwrap_or_else(|| missing("wg-quick", "apt package wireguard-tools"))
}

/// `nft` (apt package nftables): the NAT of [`WgNet::rebind_client`](super::WgNet::rebind_client),
/// and wg-quick's rules for a full tunnel.
pub fn nft() -> PathBuf {
    in_path("nft").unwrap_or_else(|| missing("nft", "apt package nftables"))
}

/// `wireguard-go` (apt package wireguard-go).
pub fn wireguard_go() -> PathBuf {
    in_path("wireguard-go").unwrap_or_else(|| missing("wireguard-go", "apt package wireguard-go"))
}

/// `boringtun-cli`: where `scripts/setup.sh` installs it, else anywhere in `PATH`.
pub fn boringtun_cli() -> PathBuf {
    let installed = cargo_bin_dir().map(|d| d.join("boringtun-cli"));
    installed
        .filter(|p| is_executable(p))
        .or_else(|| in_path("boringtun-cli"))
        .unwrap_or_else(|| {
            missing(
                "boringtun-cli",
                "cargo install boringtun-cli into ${CARGO_HOME:-~/.cargo}/bin",
            )
        })
}

/// `${CARGO_HOME:-$HOME/.cargo}/bin`, the same rule as `scripts/setup.sh`.
fn cargo_bin_dir() -> Option<PathBuf> {
    let home = env::var_os("CARGO_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    Some(home.join("bin"))
}

fn in_path(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn missing(tool: &str, source: &str) -> ! {
    panic!("{tool} not found ({source}): run `{SETUP}`, which installs it")
}
