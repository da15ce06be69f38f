//! Hostile guest: `render` allocates without bound.
//!
//! Tests that the host's memory limit stops a plugin that keeps growing its
//! linear memory (1 MiB at a time), and reports it as a resource limit, not a
//! crash of the host. Each chunk is reserved, not filled: filling would spend
//! the instruction budget before the memory cap is reached.

use std::hint::black_box;

use kofu_plugin_sdk::{Certificate, Document, Field, Manifest, Refusal, Request, Subject, export_certificate};

const CHUNK: usize = 1 << 20;

struct MemoryBomb;

impl Certificate for MemoryBomb {
    fn manifest() -> Manifest {
        Manifest::new("hostile-memory-bomb", "メモリ爆弾", "Memory bomb", "0.1.0", 0).reads(&[Field::Name])
    }

    fn check(_subject: &Subject, _request: &Request) -> Result<(), Refusal> {
        Ok(())
    }

    fn render(_subject: &Subject, _request: &Request) -> Result<Document, Refusal> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut chunk: Vec<u8> = Vec::with_capacity(CHUNK);
            chunk.push(1);
            hoard.push(black_box(chunk));
            black_box(&mut hoard);
        }
    }
}

export_certificate!(MemoryBomb);
