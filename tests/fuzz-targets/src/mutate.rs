//! Deterministic mutations of seed inputs, for the crate's test: a pinch of
//! what libFuzzer does (bit flips, interesting bytes, inserted and deleted
//! runs, tokens, splices between seeds), from a fixed seed so that a failure
//! reproduces exactly and the test never depends on time.

/// SplitMix64: tiny, seedable, and good enough to pick mutations.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }
}

const INTERESTING: [u8; 12] = [0, 1, 0x7f, 0x80, 0xff, b'\n', b'"', b',', b':', b'{', b'}', b' '];

/// One to four mutations of `input`; `seeds` supply splices and `tokens`
/// (e.g. JSON keys, CSV column names) are inserted whole.
pub fn mutate(rng: &mut Rng, input: &[u8], seeds: &[Vec<u8>], tokens: &[&[u8]]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.below(4) + 1 {
        let at = rng.below(out.len() + 1);
        match rng.below(8) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let run: Vec<u8> = (0..rng.below(8) + 1).map(|_| rng.next_u64() as u8).collect();
                out.splice(at..at, run);
            }
            3 if !out.is_empty() => {
                let end = (at + rng.below(16) + 1).min(out.len());
                out.drain(at.min(end)..end);
            }
            4 if !out.is_empty() => {
                // Repeat a run, as a duplicated row or element would.
                let start = rng.below(out.len());
                let end = (start + rng.below(64) + 1).min(out.len());
                let run = out[start..end].to_vec();
                out.splice(at..at, run);
            }
            5 if !tokens.is_empty() => {
                let token = tokens[rng.below(tokens.len())];
                out.splice(at..at, token.iter().copied());
            }
            6 if !seeds.is_empty() => {
                // Splice: this input up to `at`, another seed from a point on.
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            _ => out.truncate(at),
        }
    }
    out
}
