//! `config::parse` on arbitrary bytes never panics, and its error messages stay on one line.
//! Whatever it accepts, `config::to_text` writes back as a file that parses to the same interface
//! and peers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringtun::config::{Limits, parse, to_text};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_bytes: 64 << 10,
        max_peers: 64,
    };
    match parse(data, "fuzz.conf", &limits) {
        Ok(config) => {
            let text = to_text(&config);
            let unbounded = Limits {
                max_bytes: usize::MAX,
                max_peers: usize::MAX,
            };
            let again = parse(text.as_bytes(), "written.conf", &unbounded)
                .unwrap_or_else(|e| panic!("written config does not parse: {e}\n{}", *text));
            assert_eq!(again.interface, config.interface, "{}", *text);
            assert_eq!(again.peers, config.peers, "{}", *text);
            assert!(again.wg_quick_only.is_empty());
            // Writing is stable too: the second text is the first.
            assert_eq!(*to_text(&again), *text);
        }
        Err(e) => {
            let message = e.to_string();
            assert!(!message.contains('\n'), "{message}");
            assert!(message.starts_with("fuzz.conf"), "{message}");
        }
    }
});
