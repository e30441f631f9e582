//! Every `unsafe` block and raw syscall of ringtun lives below this module, behind small safe
//! functions. Each `unsafe` block carries a `// SAFETY:` comment saying why it is sound.

pub(crate) mod buf_ring;
pub(crate) mod cmsg;
pub mod control_socket;
pub mod cpu;
pub mod daemon;
#[cfg(any(test, feature = "test-util"))]
pub mod deny_syscall;
pub(crate) mod iface;
pub(crate) mod netlink;
#[cfg(any(test, feature = "test-util"))]
pub mod netns;
pub(crate) mod notify;
#[cfg(test)]
pub(crate) mod private_netns;
pub mod privilege;
pub mod random;
pub(crate) mod signal;
pub(crate) mod sockaddr;
#[cfg(test)]
pub(crate) mod testnet;
pub(crate) mod tun;
pub(crate) mod udp;
pub(crate) mod uring;
pub(crate) mod user;
