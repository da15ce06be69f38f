//! A small seeded generator (xorshift64*), so a run is reproducible from the
//! seed it prints. Not for secrets: the server makes its own identifiers.

#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Zero is xorshift's fixed point.
        Rng(seed.max(1))
    }

    /// A seed from the operating system.
    pub fn fresh_seed() -> u64 {
        let mut bytes = [0u8; 8];
        // Without OS randomness a fixed seed still gives a valid run.
        let _ = getrandom::fill(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A derived generator, for one task of many.
    pub fn split(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }

    /// A random token of lowercase hex, e.g. for idempotency keys.
    pub fn token(&mut self) -> String {
        format!("{:016x}{:016x}", self.next_u64(), self.next_u64())
    }
}
