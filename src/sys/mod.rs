//! Every `unsafe` block and raw syscall of ringtun lives below this module, behind small safe
//! functions. Each `unsafe` block carries a `// SAFETY:` comment saying why it is sound.

pub mod buf_ring;
pub mod cmsg;
pub mod control_socket;
pub mod cpu;
pub mod daemon;
#[cfg(any(test, feature = "test-util"))]
pub mod deny_syscall;
pub mod iface;
pub mod netlink;
#[cfg(any(test, feature = "test-util"))]
pub mod netns;
pub mod notify;
#[cfg(test)]
pub mod private_netns;
pub mod random;
pub mod signal;
pub mod sockaddr;
#[cfg(test)]
pub mod testnet;
pub mod tun;
pub mod udp;
pub mod uring;
pub mod user;
