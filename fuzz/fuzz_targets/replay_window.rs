//! A sequence of counters into `ReplayWindow`, checked against an obvious model: the set of
//! accepted counters and the greatest one. The window must make the same decision every time, and
//! `would_accept` must predict `accept` without changing anything.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use ringtun::core::replay::{ReplayWindow, WINDOW_SIZE};

/// Accept iff newer than the greatest accepted, or not already accepted and at most WINDOW_SIZE
/// behind it. Before anything is accepted the greatest counts as 0, so 0 is acceptable.
struct Model {
    accepted: BTreeSet<u64>,
    greatest: u64,
}

impl Model {
    fn accept(&mut self, counter: u64) -> bool {
        let ok = counter > self.greatest
            || (self.greatest - counter <= WINDOW_SIZE && !self.accepted.contains(&counter));
        if ok {
            self.accepted.insert(counter);
            self.greatest = self.greatest.max(counter);
        }
        ok
    }
}

fuzz_target!(|data: &[u8]| {
    let mut window = ReplayWindow::new();
    let mut model = Model {
        accepted: BTreeSet::new(),
        greatest: 0,
    };
    let mut base = 0u64;
    // Each 3-byte record moves a base by a signed step (small or, with the mode byte, big) so
    // that sequences stay mostly near the window's edge, where the interesting cases are.
    for record in data.chunks_exact(3) {
        let step = i16::from_le_bytes([record[1], record[2]]) as i64;
        let counter = match record[0] % 8 {
            0 => base.wrapping_add_signed(step * 64),
            1 => base.wrapping_add_signed(step * 4096),
            2 => u64::MAX.wrapping_sub(step.unsigned_abs()),
            3 => model
                .greatest
                .wrapping_sub(WINDOW_SIZE)
                .wrapping_add_signed(step % 4),
            _ => base.wrapping_add_signed(step % 256),
        };
        base = counter;
        let predicted = window.would_accept(counter);
        assert_eq!(window.would_accept(counter), predicted);
        let accepted = window.accept(counter);
        assert_eq!(predicted, accepted, "would_accept mispredicted {counter}");
        assert_eq!(model.accept(counter), accepted, "disagreement on {counter}");
    }
});
