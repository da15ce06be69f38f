//! The WASI a plugin is granted: exactly the interfaces on the import
//! allow-list (`plugin::ALLOWED_IMPORTS`), and nothing else in the linker.
//! Filesystem, sockets and HTTP are not merely refused at load; they have no
//! implementation here to reach.
//!
//! No host call can block or copy without bound. wasmtime-wasi's clocks
//! wait on real timers and its calls lift every list before looking at its
//! length, so the calls that could (every sleep, poll and call taking a
//! length or a list) are replaced here, over wasmtime-wasi's, by versions
//! that check first:
//! - `monotonic-clock.subscribe-*` never waits: the plugin's clock jumps by
//!   the time asked for, which counts against the evaluation's time limit;
//!   past it, the call traps as a timeout. Every pollable a plugin can hold
//!   is then ready at once (the clock's, and the discarding stdout/stderr
//!   and empty stdin streams), so `poll` and `block` return at once too.
//! - lists and strings are checked against a per-call limit before they are
//!   copied: stream writes, `poll`'s list, random bytes and log messages.
//!
//! Whatever a host call costs, the time limit covers it: `sandbox.rs`
//! checks the deadline on every return from the host.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable, WasmList};
use wasmtime::{AsContext, StoreContextMut, format_err};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::p2::bindings::sync::io::streams::{HostOutputStream, StreamError};
use wasmtime_wasi::p2::bindings::{cli, clocks, random, sync::io};
use wasmtime_wasi::p2::{DynOutputStream, DynPollable, Pollable};
use wasmtime_wasi::random::WasiRandom;

use crate::bindings::wit;
use crate::error::FailureCause;
use crate::lift::LogMessage;
use crate::log::LogLevel;
use crate::state::StoreState;

/// The WASI version wasmtime-wasi implements; the linker matches any
/// 0.2.x a plugin imports against it.
const WASI: &str = "0.2.12";

/// Most bytes one `output-stream.write` may hand over: what `check-write`
/// grants on the discarding streams (wasmtime-wasi's sink grants 64 KiB).
pub(crate) const MAX_STREAM_WRITE: u64 = 64 << 10;
/// `blocking-write-and-flush` is specified for at most 4096 bytes.
const MAX_BLOCKING_WRITE: u64 = 4096;
/// Most pollables in one `poll` call.
pub(crate) const MAX_POLL_LIST: u64 = 1024;
/// Most random bytes in one call (std asks for 16 for its hash seeds).
pub(crate) const MAX_RANDOM_BYTES: u64 = 64 << 10;
/// Longest log message the host reads at all; a longer one is dropped
/// unread and counted (the sink keeps at most 1 KiB of any message).
pub(crate) const MAX_LOG_INPUT: usize = 64 << 10;
/// Fuel charged per byte the host reads out of the plugin's memory, so
/// that copying is paid for like the plugin's own work (a byte copied by
/// the plugin costs it at least an instruction per word).
const FUEL_PER_BYTE_DIVISOR: u64 = 8;

/// Streams and pollables live in the store's resource table.
struct Table;

impl HasData for Table {
    type Data<'a> = &'a mut ResourceTable;
}

pub(crate) fn add_to_linker(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    let l = &mut *linker;
    io::error::add_to_linker::<StoreState, Table>(l, |s| s.ctx().table)?;
    io::poll::add_to_linker::<StoreState, Table>(l, |s| s.ctx().table)?;
    io::streams::add_to_linker::<StoreState, Table>(l, |s| s.ctx().table)?;
    clocks::wall_clock::add_to_linker::<StoreState, WasiClocks>(l, StoreState::clocks)?;
    clocks::monotonic_clock::add_to_linker::<StoreState, WasiClocks>(l, StoreState::clocks)?;
    random::random::add_to_linker::<StoreState, WasiRandom>(l, |s| s.ctx().ctx.random())?;
    random::insecure::add_to_linker::<StoreState, WasiRandom>(l, |s| s.ctx().ctx.random())?;
    random::insecure_seed::add_to_linker::<StoreState, WasiRandom>(l, |s| s.ctx().ctx.random())?;
    cli::exit::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::environment::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::stdin::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::stdout::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::stderr::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_input::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_output::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_stdin::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_stdout::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    cli::terminal_stderr::add_to_linker::<StoreState, WasiCli>(l, StoreState::cli)?;
    Ok(())
}

/// Replace, over wasmtime-wasi's and the generated bindings' functions,
/// every call that could block or copy without bound. Called after
/// everything else is in the linker.
pub(crate) fn add_bounded_calls(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);

    let mut clock = linker.instance(&format!("wasi:clocks/monotonic-clock@{WASI}"))?;
    clock.func_wrap("now", |store: StoreContextMut<'_, StoreState>, (): ()| Ok((nanos(store.data().time.slept),)))?;
    clock.func_wrap("subscribe-duration", |store: StoreContextMut<'_, StoreState>, (nanos,): (u64,)| {
        sleep(store, Duration::from_nanos(nanos)).map(|p| (p,))
    })?;
    clock.func_wrap("subscribe-instant", |store: StoreContextMut<'_, StoreState>, (when,): (u64,)| {
        let now = nanos(store.data().time.slept);
        sleep(store, Duration::from_nanos(when.saturating_sub(now))).map(|p| (p,))
    })?;

    let mut poll = linker.instance(&format!("wasi:io/poll@{WASI}"))?;
    poll.func_wrap(
        "poll",
        |mut store: StoreContextMut<'_, StoreState>, (list,): (WasmList<Resource<DynPollable>>,)| {
            let len = list.len() as u64;
            check_size(&mut store, "wasi:io/poll.poll", len, MAX_POLL_LIST)?;
            let mut pollables = Vec::with_capacity(list.len());
            for item in list.iter(&mut store)? {
                pollables.push(item?);
            }
            let table = store.data_mut().ctx().table;
            Ok((io::poll::Host::poll(table, pollables)?,))
        },
    )?;

    let mut streams = linker.instance(&format!("wasi:io/streams@{WASI}"))?;
    streams.func_wrap(
        "[method]output-stream.write",
        |store: StoreContextMut<'_, StoreState>, (stream, bytes): (Resource<DynOutputStream>, WasmList<u8>)| {
            write(store, "wasi:io/streams.output-stream.write", MAX_STREAM_WRITE, stream, bytes, false)
        },
    )?;
    streams.func_wrap(
        "[method]output-stream.blocking-write-and-flush",
        |store: StoreContextMut<'_, StoreState>, (stream, bytes): (Resource<DynOutputStream>, WasmList<u8>)| {
            let call = "wasi:io/streams.output-stream.blocking-write-and-flush";
            write(store, call, MAX_BLOCKING_WRITE, stream, bytes, true)
        },
    )?;

    for (interface, call) in [("random", "get-random-bytes"), ("insecure", "get-insecure-random-bytes")] {
        let mut random = linker.instance(&format!("wasi:random/{interface}@{WASI}"))?;
        random.func_wrap(call, move |mut store: StoreContextMut<'_, StoreState>, (len,): (u64,)| {
            check_size(&mut store, call, len, MAX_RANDOM_BYTES)?;
            let ctx = store.data_mut().ctx().ctx.random();
            let bytes = if interface == "random" {
                random::random::Host::get_random_bytes(ctx, len)?
            } else {
                random::insecure::Host::get_insecure_random_bytes(ctx, len)?
            };
            Ok((bytes,))
        })?;
    }

    // Every contract version's `log`, the same bounded function.
    for version in ["0.1.0", "0.2.0"] {
        let mut log = linker.instance(&format!("kofu:certificate/log@{version}"))?;
        log.func_wrap(
            "write",
            |mut store: StoreContextMut<'_, StoreState>, (level, message): (wit::LogLevel, LogMessage)| {
                let level = match level {
                    wit::LogLevel::Debug => LogLevel::Debug,
                    wit::LogLevel::Info => LogLevel::Info,
                    wit::LogLevel::Warn => LogLevel::Warn,
                    wit::LogLevel::Error => LogLevel::Error,
                };
                // An oversized message was neither copied nor transcoded
                // (`LogMessage`); it is charged as if it had been.
                match message {
                    LogMessage::Kept(text) => {
                        charge(&mut store, text.len() as u64)?;
                        store.data_mut().logs.write(level, crate::log::truncated(&text));
                    }
                    LogMessage::Oversized(len) => {
                        charge(&mut store, len as u64)?;
                        store.data_mut().logs.drop_oversized();
                    }
                }
                Ok(())
            },
        )?;
    }

    linker.allow_shadowing(false);
    Ok(())
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// A sleep or poll timeout: granted at once by advancing the plugin's
/// clock, or, when it would end past the time limit, a timeout now rather
/// than at the deadline.
fn sleep(mut store: StoreContextMut<'_, StoreState>, duration: Duration) -> wasmtime::Result<Resource<DynPollable>> {
    let state = store.data_mut();
    if state.time.would_exceed(duration) {
        state.host_refusal = Some(FailureCause::Timeout { limit: state.time.limit });
        return Err(format_err!("a sleep of {duration:?} would end past the evaluation's time limit"));
    }
    state.time.slept = state.time.slept.saturating_add(duration);
    let table = state.ctx().table;
    let ready = table.push(Ready)?;
    wasmtime_wasi::p2::subscribe(table, ready)
}

/// A pollable that is ready as soon as it is made: the plugin's clock has
/// already moved past its deadline.
struct Ready;

impl Pollable for Ready {
    // What `#[async_trait]` expands `async fn ready(&mut self) {}` to,
    // written out so that the sandbox needs no macro crate for one line.
    fn ready<'life0, 'async_trait>(&'life0 mut self) -> Pin<Box<dyn Future<Output = ()> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async {})
    }
}

/// Refuse a call handing over more than `limit` items, before anything is
/// copied; within the limit, charge the copy.
fn check_size(
    store: &mut StoreContextMut<'_, StoreState>,
    call: &'static str,
    size: u64,
    limit: u64,
) -> wasmtime::Result<()> {
    if size > limit {
        store.data_mut().host_refusal = Some(FailureCause::HostCallTooLarge { call, size, limit });
        return Err(format_err!("{call}: {size} is over the limit of {limit}"));
    }
    charge(store, size)
}

/// Take fuel for `bytes` the host copies or makes for the plugin.
fn charge(store: &mut StoreContextMut<'_, StoreState>, bytes: u64) -> wasmtime::Result<()> {
    let cost = bytes / FUEL_PER_BYTE_DIVISOR;
    let left = store.get_fuel()?;
    if cost > left {
        store.set_fuel(0)?;
        return Err(wasmtime::Trap::OutOfFuel.into());
    }
    store.set_fuel(left - cost)?;
    Ok(())
}

fn write(
    mut store: StoreContextMut<'_, StoreState>,
    call: &'static str,
    limit: u64,
    stream: Resource<DynOutputStream>,
    bytes: WasmList<u8>,
    blocking: bool,
) -> wasmtime::Result<(Result<(), StreamError>,)> {
    check_size(&mut store, call, bytes.len() as u64, limit)?;
    let copy = bytes.as_le_slice(store.as_context()).to_vec();
    let table = store.data_mut().ctx().table;
    let result = if blocking {
        HostOutputStream::blocking_write_and_flush(table, stream, copy)
    } else {
        HostOutputStream::write(table, stream, copy)
    };
    match result {
        Ok(()) => Ok((Ok(()),)),
        Err(err) => Ok((Err(io::streams::Host::convert_stream_error(table, err)?),)),
    }
}
