//! A `set` request applied to the device: all of it or nothing.
//!
//! Three steps. [`check`] walks the request against a model of the peers (which exist, how many
//! AllowedIPs each has) without touching anything, and turns it into [`Plan`] steps for the
//! device's run-time API, or refuses it with the errno `wg` prints. Then the socket takes
//! `listen_port` and `fwmark` (the one step that can still fail: a port in use), and only then are
//! the steps applied, which cannot fail once checked.
//!
//! The meaning of each key follows wireguard-go's `device/uapi.go`: the private key first (the
//! same key again changes nothing; a peer with the new public key is removed), `replace_peers`
//! removes every peer, then each peer block in order: ignored if it names the interface's own
//! public key; `remove` removes the peer if it exists; `update_only` skips a peer that does not
//! exist; otherwise the peer is created or changed. A change touches only the peer it names: the
//! others' sessions go on.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;

use super::ScopeResolver;
use crate::app::report::peer_name;
use crate::core::device::{ConfigError, Device, PeerConfig, PeerUpdate};
use crate::core::entropy::Entropy;
use crate::core::ip_prefix::IpPrefix;
use crate::core::keys::{PrivateKey, PublicKey};
use crate::core::noise::StaticIdentity;
use crate::driver::SocketControl;
use crate::uapi::{AllowedIp, Endpoint, Errno, PeerChange, SetRequest};

/// Why a request was refused: the errno for `wg`, and a line for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub errno: Errno,
    pub why: String,
    /// Part of the request was applied before the failure (a bug: checked steps cannot fail).
    pub partial: bool,
}

impl Refusal {
    fn new(errno: Errno, why: impl Into<String>) -> Refusal {
        Refusal {
            errno,
            why: why.into(),
            partial: false,
        }
    }
}

/// What an applied request changed, for one log line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub private_key: bool,
    pub listen_port: Option<u16>,
    pub fwmark: Option<u32>,
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
}

impl Summary {
    pub fn is_empty(&self) -> bool {
        *self == Summary::default()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if self.private_key {
            parts.push("new private key".into());
        }
        if let Some(port) = self.listen_port {
            parts.push(format!("listening on port {port}"));
        }
        if let Some(mark) = self.fwmark {
            parts.push(match mark {
                0 => "fwmark off".into(),
                m => format!("fwmark {m:#x}"),
            });
        }
        for (n, what) in [
            (self.added, "added"),
            (self.updated, "changed"),
            (self.removed, "removed"),
        ] {
            if n > 0 {
                parts.push(format!("{n} peer{} {what}", if n == 1 { "" } else { "s" }));
            }
        }
        f.write_str(&parts.join(", "))
    }
}

/// One change to the device's peers, checked.
#[derive(Debug)]
enum Step {
    Add(PeerConfig),
    Update(PublicKey, PeerUpdate),
    Remove(PublicKey),
}

/// A checked request: everything it does, in order.
#[derive(Debug)]
pub struct Plan {
    /// A key other than the current one (all zeros: remove it).
    private_key: Option<PrivateKey>,
    replace_peers: bool,
    steps: Vec<Step>,
    listen_port: Option<u16>,
    fwmark: Option<u32>,
}

/// Checks `request` against `device` (see the module documentation), changing nothing.
pub fn check<E: Entropy>(
    device: &Device<E>,
    request: SetRequest,
    resolve_scope: ScopeResolver,
) -> Result<Plan, Refusal> {
    let SetRequest { interface, peers } = request;
    let limits = device.limits();
    let mut model = PeerModel::new(device, interface.replace_peers);

    // Only a key other than the one the interface has (none: all zeros) changes anything.
    let private_key = interface
        .private_key
        .filter(|k| match device.private_key() {
            Some(current) => current != k,
            None => !k.is_zero(),
        });
    let own = match &private_key {
        Some(key) => {
            let own = *StaticIdentity::new(key).public_key();
            // The device removes a peer that has the interface's new public key.
            model.remove(&own);
            own
        }
        None => *device.public_key(),
    };

    let mut steps = Vec::new();
    for change in peers {
        let key = change.public_key;
        if key == own {
            continue;
        }
        if change.remove {
            if model.exists(&key) {
                model.remove(&key);
                steps.push(Step::Remove(key));
            }
            continue;
        }
        let existing = model.allowed_ips(&key);
        if existing.is_none() && change.update_only {
            continue;
        }
        let endpoint = change
            .endpoint
            .map(|e| socket_addr(&e, resolve_scope))
            .transpose()?;
        let allowed_ips: Vec<IpPrefix> = change.allowed_ips.iter().map(prefix).collect();
        let kept = match existing {
            Some(count) if !change.replace_allowed_ips => count,
            _ => 0,
        };
        let count = kept + allowed_ips.len();
        if count > limits.max_allowed_ips_per_peer as usize {
            return Err(Refusal::new(
                Errno::new(libc::ENOSPC).unwrap_or(Errno::EINVAL),
                format!(
                    "peer {} would have {count} allowed IPs, at most {} allowed",
                    peer_name(&key),
                    limits.max_allowed_ips_per_peer
                ),
            ));
        }
        match existing {
            Some(_) => {
                model.set(key, count);
                steps.push(Step::Update(
                    key,
                    PeerUpdate {
                        endpoint,
                        persistent_keepalive: change.persistent_keepalive_interval,
                        preshared_key: change.preshared_key,
                        replace_allowed_ips: change.replace_allowed_ips,
                        add_allowed_ips: allowed_ips,
                        remove_allowed_ips: Vec::new(),
                    },
                ));
            }
            None => {
                device.check_peer_key(&key).map_err(refused_key)?;
                if model.count + 1 > limits.max_peers as usize {
                    return Err(Refusal::new(
                        Errno::new(libc::ENOSPC).unwrap_or(Errno::EINVAL),
                        format!(
                            "peer {} would be peer number {}, at most {} allowed",
                            peer_name(&key),
                            model.count + 1,
                            limits.max_peers
                        ),
                    ));
                }
                model.set(key, count);
                steps.push(Step::Add(new_peer(change, endpoint, allowed_ips)));
            }
        }
    }
    Ok(Plan {
        private_key,
        replace_peers: interface.replace_peers,
        steps,
        listen_port: interface.listen_port,
        fwmark: interface.fwmark,
    })
}

/// [`check`]s `request`, hands `listen_port` and `fwmark` to `socket`, and applies the rest to
/// `device`; refused, nothing changed (but see [`Refusal::partial`]).
pub fn apply<E: Entropy>(
    device: &mut Device<E>,
    request: SetRequest,
    socket: &mut dyn SocketControl,
    resolve_scope: ScopeResolver,
) -> Result<Summary, Refusal> {
    let plan = check(device, request, resolve_scope)?;
    let mut summary = Summary::default();
    if plan.listen_port.is_some() || plan.fwmark.is_some() {
        let port = socket
            .reconfigure(plan.listen_port, plan.fwmark)
            .map_err(|e| Refusal::new(socket_errno(&e), e.to_string()))?;
        if plan.listen_port.is_some() {
            device.set_listen_port(Some(port));
            summary.listen_port = Some(port);
        }
        if let Some(mark) = plan.fwmark {
            device.set_fwmark(Some(mark));
            summary.fwmark = Some(mark);
        }
    }
    if let Some(key) = &plan.private_key {
        device.set_private_key(key);
        summary.private_key = true;
    }
    if plan.replace_peers {
        let keys: Vec<PublicKey> = device
            .peer_ids()
            .filter_map(|id| device.peer_public_key(id).copied())
            .collect();
        for key in keys {
            // Listed a moment ago: it exists.
            let _ = device.remove_peer(&key);
            summary.removed += 1;
        }
    }
    for step in plan.steps {
        let result = match &step {
            Step::Add(config) => device.add_peer(config).map(|_| summary.added += 1),
            Step::Update(key, update) => device
                .update_peer(key, update)
                .map(|()| summary.updated += 1),
            Step::Remove(key) => device.remove_peer(key).map(|()| summary.removed += 1),
        };
        if let Err(e) = result {
            return Err(Refusal {
                errno: Errno::EIO,
                why: format!("{e} (after {summary})"),
                partial: true,
            });
        }
    }
    Ok(summary)
}

/// The peers as they will be after the steps checked so far: which exist, and their AllowedIPs
/// count (an upper bound: an entry another peer takes over is still counted for the first).
struct PeerModel<'a, E: Entropy> {
    device: &'a Device<E>,
    /// The device's peers are all gone (`replace_peers`).
    cleared: bool,
    /// Peers the request added, changed or removed (`None`).
    changed: HashMap<PublicKey, Option<usize>>,
    count: usize,
}

impl<'a, E: Entropy> PeerModel<'a, E> {
    fn new(device: &'a Device<E>, cleared: bool) -> Self {
        PeerModel {
            device,
            cleared,
            changed: HashMap::new(),
            count: if cleared { 0 } else { device.peer_count() },
        }
    }

    /// `Some(count of AllowedIPs)` if the peer exists.
    fn allowed_ips(&self, key: &PublicKey) -> Option<usize> {
        if let Some(state) = self.changed.get(key) {
            return *state;
        }
        if self.cleared {
            return None;
        }
        let id = self.device.peer_id(key)?;
        Some(self.device.peer_allowed_ips(id).count())
    }

    fn exists(&self, key: &PublicKey) -> bool {
        self.allowed_ips(key).is_some()
    }

    fn set(&mut self, key: PublicKey, allowed_ips: usize) {
        if !self.exists(&key) {
            self.count += 1;
        }
        self.changed.insert(key, Some(allowed_ips));
    }

    fn remove(&mut self, key: &PublicKey) {
        if self.exists(key) {
            self.count -= 1;
        }
        self.changed.insert(*key, None);
    }
}

fn new_peer(
    change: PeerChange,
    endpoint: Option<SocketAddr>,
    allowed_ips: Vec<IpPrefix>,
) -> PeerConfig {
    PeerConfig {
        public_key: change.public_key,
        preshared_key: change.preshared_key.filter(|k| !k.is_zero()),
        allowed_ips,
        endpoint,
        persistent_keepalive: change.persistent_keepalive_interval,
    }
}

fn prefix(ip: &AllowedIp) -> IpPrefix {
    // The codec checked the length against the family.
    IpPrefix::new(ip.addr(), ip.cidr()).unwrap_or_else(|| IpPrefix::host(ip.addr()))
}

/// The endpoint as a socket address: a zone given by interface name becomes its index.
fn socket_addr(endpoint: &Endpoint, resolve_scope: ScopeResolver) -> Result<SocketAddr, Refusal> {
    let mut addr = endpoint.addr();
    if let (Some(name), SocketAddr::V6(v6)) = (endpoint.scope_name(), &mut addr) {
        let index = resolve_scope(name.as_str()).ok_or_else(|| {
            Refusal::new(
                Errno::EINVAL,
                format!("endpoint {endpoint}: no interface {}", name.as_str()),
            )
        })?;
        v6.set_scope_id(index);
    }
    Ok(addr)
}

fn refused_key(e: ConfigError) -> Refusal {
    Refusal::new(Errno::EINVAL, e.to_string())
}

/// The errno for a socket that could not be rebound or marked.
fn socket_errno(e: &io::Error) -> Errno {
    let errno = match e.kind() {
        io::ErrorKind::AddrInUse => libc::EADDRINUSE,
        io::ErrorKind::AddrNotAvailable => libc::EADDRNOTAVAIL,
        io::ErrorKind::PermissionDenied => libc::EPERM,
        _ => e.raw_os_error().unwrap_or(libc::EIO),
    };
    Errno::new(errno).unwrap_or(Errno::EIO)
}
