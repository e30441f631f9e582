//! `TunnelConfig::decode` never panics; anything it accepts encodes back to the same bytes, and
//! decoding the encoding gives the same config.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringtun::core::wire::{MIN_MTU, TUNNEL_CONFIG_LEN, TunnelConfig};

fuzz_target!(|data: &[u8]| {
    let mut bytes = [0u8; TUNNEL_CONFIG_LEN];
    let n = data.len().min(TUNNEL_CONFIG_LEN);
    bytes[..n].copy_from_slice(&data[..n]);
    if let Ok(config) = TunnelConfig::decode(&bytes) {
        assert!(config.mtu >= MIN_MTU);
        assert!(config.ipv4.is_none_or(|v4| v4.prefix <= 32));
        assert!(config.ipv6.is_none_or(|v6| v6.prefix <= 128));
        let encoded = config.encode();
        assert_eq!(encoded, bytes);
        assert_eq!(TunnelConfig::decode(&encoded), Ok(config));
    }
});
