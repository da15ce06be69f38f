//! Part 1, the render floor: the host's renderer alone, in a tight loop on
//! one thread, rendering the benchmark certificate.

use std::time::{Duration, Instant};

use kofu_render::Renderer;

use crate::certificate::BenchCertificate;

pub struct Floor {
    pub documents: u64,
    pub per_second: f64,
    pub pdf_bytes: usize,
    pub pages: u32,
}

pub fn measure(renderer: &Renderer, certificate: &BenchCertificate, seconds: Duration) -> anyhow::Result<Floor> {
    // One rendering outside the clock warms caches and the allocator.
    let first = renderer.render(&certificate.document, &certificate.stamp)?;
    let started = Instant::now();
    let mut documents = 0u64;
    while started.elapsed() < seconds {
        // Batches of 64 keep the clock out of the loop's cost.
        for _ in 0..64 {
            let rendered = renderer.render(&certificate.document, &certificate.stamp)?;
            std::hint::black_box(rendered);
        }
        documents += 64;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(Floor { documents, per_second: documents as f64 / elapsed, pdf_bytes: first.bytes.len(), pages: first.pages })
}
