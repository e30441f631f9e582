//! Packet-header facts shared by the core and the sys layer: leaf modules that import nothing else
//! of the crate.
//!
//! - [`vnet`]: the `virtio_net_hdr` kernel ABI of a TUN device in offload mode.

pub mod vnet;
