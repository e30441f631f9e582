//! A deterministic random generator for the core (handshake randoms, session indices, jitter).
//!
//! Seeded once by the driver from getrandom(2), so the core stays free of syscalls and tests can
//! replay a run exactly. ChaCha20 keystream with fast key erasure: after each request the generator
//! replaces its own key, so a later memory disclosure does not reveal earlier outputs.

pub struct Rng {
    key: [u8; 32],
}

impl Rng {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let _ = seed;
        todo!("helper A")
    }

    pub fn fill(&mut self, out: &mut [u8]) {
        let _ = (out, self.key);
        todo!("helper A")
    }

    pub fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill(&mut b);
        u32::from_le_bytes(b)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        u64::from_le_bytes(b)
    }
}
