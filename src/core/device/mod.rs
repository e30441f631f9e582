//! The multi-peer WireGuard device: many peers behind one private key and one UDP socket, sans-IO.
//! (Work in progress: the configuration type comes first, for the app and the control socket.)

pub mod config;

pub use config::{ConfigError, DeviceConfig, Limits, PeerConfig};
