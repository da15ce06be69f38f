//! Throughput of the renderer on a one-page residence certificate of about
//! 300 Japanese characters.
//!
//!     cargo run --release -p kofu-render --example render_loop -- [N] [--flate LEVEL] [--write PATH] [--check]
//!
//! N defaults to 2000. --write also saves one rendering for inspection.
//! --check also times N pre-delivery checks (`check_stamps`) of it.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use kofu_render::{Compression, RenderOptions, Renderer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut count = 2000usize;
    let mut compression = Compression::None;
    let mut write = None;
    let mut check = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--flate" => {
                let level = args.next().ok_or("--flate needs a level")?.parse()?;
                compression = Compression::Flate { level };
            }
            "--write" => write = Some(args.next().ok_or("--write needs a path")?),
            "--check" => check = true,
            n => count = n.parse()?,
        }
    }

    let renderer = Renderer::with_options(RenderOptions { compression, ..RenderOptions::default() })?;
    let document = common::residence_certificate();
    let stamp = common::stamp(false);
    let chars: usize = document_chars(&document);

    // Warm up caches and the allocator before timing.
    let first = renderer.render(&document, &stamp)?;
    if let Some(path) = write {
        std::fs::write(&path, &first.bytes)?;
        println!("wrote {path}");
    }
    let start = Instant::now();
    let mut bytes = 0usize;
    for _ in 0..count {
        bytes += renderer.render(&document, &stamp)?.bytes.len();
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{count} documents ({chars} characters, {} page(s), {} bytes each, {compression:?}): {:.0} documents/s, {:.1} µs per document",
        first.pages,
        bytes / count.max(1),
        count as f64 / elapsed,
        elapsed * 1e6 / count.max(1) as f64,
    );
    if check {
        let start = Instant::now();
        for _ in 0..count {
            kofu_render::check_stamps(&first.bytes, &stamp)?;
        }
        let elapsed = start.elapsed().as_secs_f64();
        println!("{count} checks: {:.1} µs per check", elapsed * 1e6 / count.max(1) as f64);
    }
    Ok(())
}

fn document_chars(document: &kofu_model::Document) -> usize {
    use kofu_model::Block;
    let blocks: usize = document
        .blocks
        .iter()
        .map(|block| match block {
            Block::Heading(t) | Block::Paragraph(t) => t.content.chars().count(),
            Block::KeyValues(rows) => rows.iter().map(|r| r.key.chars().count() + r.value.chars().count()).sum(),
            Block::Table(table) => {
                table.columns.iter().map(|c| c.header.chars().count()).sum::<usize>()
                    + table.rows.iter().flatten().map(|c| c.chars().count()).sum::<usize>()
            }
            Block::SealImpression(s) => s.chars().count(),
            _ => 0,
        })
        .sum();
    let s = &document.signature;
    document.title.chars().count()
        + blocks
        + document.certification.chars().count()
        + s.date_line.chars().count()
        + s.title.chars().count()
        + s.name.chars().count()
        + s.seal.chars().count()
}
