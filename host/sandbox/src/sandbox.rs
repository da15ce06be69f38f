//! The sandbox: one wasmtime engine and linker, a compiled-plugin cache, and
//! a fresh store and instance for every evaluation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use kofu_model::{Date, Document, DocumentError, Field, Refusal, RequestContext, Resident};
use wasmtime::component::{Component, HasSelf, Instance, Linker, Resource, TypedFunc};
use wasmtime::{
    CallHook, Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, Store, Trap, WasmBacktrace,
};
use wasmtime_wasi::{Deterministic, WasiCtxBuilder};

use crate::bindings::{Certificate, v0_1, wit};
use crate::clock::{FrozenMonotonicClock, IssueDayClock};
use crate::convert;
use crate::error::{EvaluationError, FailureCause, LoadError, Stage};
use crate::lift;
use crate::limits::Limits;
use crate::log::LogEntry;
use crate::plugin::{self, ContentHash, Contract, Exports, Plugin, PluginId};
use crate::state::{Read, RequestData, StoreState, SubjectHandle};

/// Most a manifest may hold, in `lift.rs`'s measure: far above a real one
/// (16 options of 200-character labels).
const MANIFEST_BYTES: usize = 64 << 10;

/// Most a refusal may hold: the kiosk shows at most 400 characters of it.
const REFUSAL_BYTES: usize = 16 << 10;

/// How often the epoch advances; the wall-clock limit is counted in ticks,
/// so an evaluation is stopped between the limit and one tick after it.
/// The ticker wakes up on every tick, loaded or idle: a finer tick costs a
/// loaded server a real share of its context switches, for a precision the
/// 1 s limit does not need.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes behind the plugin's "random" numbers: fixed, so that evaluations
/// replay exactly (a certificate plugin has no use for real entropy).
const RANDOM_BYTES: [u8; 16] = *b"kofu-replayable!";

/// One request for a plugin to evaluate.
pub struct Request {
    /// The subject, with their household, as read from the register.
    pub subject: Arc<Resident>,
    /// Issue date, municipality and every option resolved to a value
    /// (see [`kofu_model::Manifest::resolve_options`]).
    pub context: RequestContext,
}

/// What the plugin decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A validated document, ready to render.
    Document(Document),
    /// A refusal to issue, to show to the resident.
    Refused(Refusal),
}

/// A finished evaluation, with what it needed: the record for the audit.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub outcome: Outcome,
    /// Fields the plugin actually read.
    pub fields_read: Vec<Field>,
    /// Each household member's fields the plugin read.
    pub reads: Vec<Read>,
    pub logs: Vec<LogEntry>,
    pub fuel_used: u64,
}

pub struct Sandbox {
    engine: Engine,
    linker: Linker<StoreState>,
    limits: Limits,
    cache: Mutex<HashMap<ContentHash, Arc<Plugin>>>,
}

impl Sandbox {
    pub fn new(limits: Limits) -> Result<Sandbox, LoadError> {
        let engine = Engine::new(&engine_config(&limits)).map_err(|e| LoadError::Engine(plugin::root_message(&e)))?;
        let mut linker = Linker::new(&engine);
        crate::wasi::add_to_linker(&mut linker).map_err(|e| LoadError::Engine(plugin::root_message(&e)))?;
        Certificate::add_to_linker::<_, HasSelf<StoreState>>(&mut linker, |state| state)
            .map_err(|e| LoadError::Engine(plugin::root_message(&e)))?;
        add_v0_1_to_linker(&mut linker).map_err(|e| LoadError::Engine(plugin::root_message(&e)))?;
        crate::wasi::add_bounded_calls(&mut linker).map_err(|e| LoadError::Engine(plugin::root_message(&e)))?;
        spawn_epoch_ticker(&engine)
            .map_err(|e| LoadError::Engine(format!("could not start the wall-clock ticker thread: {e}")))?;
        Ok(Sandbox { engine, linker, limits, cache: Mutex::new(HashMap::new()) })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Validate and compile a component, or return the cached plugin with
    /// the same content hash.
    pub fn load(&self, bytes: &[u8]) -> Result<Arc<Plugin>, LoadError> {
        let hash = ContentHash::of(bytes);
        if let Some(plugin) = self.cache_lock().get(&hash) {
            return Ok(Arc::clone(plugin));
        }
        let plugin = Arc::new(self.compile(bytes, hash)?);
        self.cache_lock().insert(hash, Arc::clone(&plugin));
        Ok(plugin)
    }

    fn cache_lock(&self) -> std::sync::MutexGuard<'_, HashMap<ContentHash, Arc<Plugin>>> {
        // A poisoned lock only means another thread panicked mid-insert of a
        // complete value; the map is still consistent.
        self.cache.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    fn compile(&self, bytes: &[u8], hash: ContentHash) -> Result<Plugin, LoadError> {
        if bytes.len() > self.limits.component_bytes {
            return Err(LoadError::TooLarge { size: bytes.len(), limit: self.limits.component_bytes });
        }
        plugin::check_imports_before_compiling(bytes)?;
        let component = Component::new(&self.engine, bytes).map_err(|err| plugin::not_a_component(bytes, &err))?;
        self.prepare(component, hash)
    }

    /// Compile a component to this engine's native code, to store beside
    /// the component so that other hosts and restarts skip compilation.
    /// The component is validated exactly as [`Sandbox::load`] does.
    pub fn precompile(&self, bytes: &[u8]) -> Result<(Arc<Plugin>, Vec<u8>), LoadError> {
        let plugin = self.load(bytes)?;
        let artifact = plugin.pre.component().serialize().map_err(|e| {
            LoadError::Engine(format!("the compiled plugin cannot be serialised: {}", plugin::root_message(&e)))
        })?;
        Ok((plugin, artifact))
    }

    /// Load a plugin from an artifact of [`Sandbox::precompile`], or return
    /// the cached plugin with this content hash. An artifact from an
    /// incompatible engine (another wasmtime version or configuration) is
    /// refused with an error, and the caller compiles from the component.
    ///
    /// # Safety
    ///
    /// wasmtime runs the artifact as native code without verifying it: the
    /// caller must know that `artifact` is exactly what `precompile` produced
    /// for the component with content hash `hash` (kofu's server stores a
    /// MAC with every artifact and checks it before calling this).
    pub unsafe fn load_precompiled(&self, hash: ContentHash, artifact: &[u8]) -> Result<Arc<Plugin>, LoadError> {
        if let Some(plugin) = self.cache_lock().get(&hash) {
            return Ok(Arc::clone(plugin));
        }
        // SAFETY: the caller guarantees the artifact came from `precompile`.
        let component = unsafe { Component::deserialize(&self.engine, artifact) }.map_err(|e| {
            LoadError::Engine(format!("the precompiled artifact cannot be used: {}", plugin::root_message(&e)))
        })?;
        let plugin = Arc::new(self.prepare(component, hash)?);
        self.cache_lock().insert(hash, Arc::clone(&plugin));
        Ok(plugin)
    }

    /// Check a compiled component's imports and world, and read its manifest.
    fn prepare(&self, component: Component, hash: ContentHash) -> Result<Plugin, LoadError> {
        let imports = plugin::check_imports(&self.engine, &component)?;
        let (pre, exports) = plugin::link(&self.engine, &self.linker, &component)?;
        let unknown = PluginId { kind: "(unnamed plugin)".into(), version: "?".into(), hash };
        let (mut manifest, contract) = self.read_manifest(&pre, exports, &unknown)?;
        manifest.normalize();
        manifest.validate()?;
        let id = PluginId { kind: manifest.kind.clone(), version: manifest.version.clone(), hash };
        Ok(Plugin { id, manifest, contract, pre, exports, imports })
    }

    /// Call `manifest()` in an instance of its own, after checking that the
    /// world's three functions have the types of one contract version.
    fn read_manifest(
        &self,
        pre: &wasmtime::component::InstancePre<StoreState>,
        exports: Exports,
        id: &PluginId,
    ) -> Result<(kofu_model::Manifest, Contract), LoadError> {
        let failed = |err| LoadError::ManifestFailed(Box::new(err));
        let mut store = self.store(None, Date { year: 2000, month: 1, day: 1 }, id, Stage::Manifest).map_err(failed)?;
        let fail = |store: &mut Store<StoreState>, err| failure(store, err, id, Stage::Manifest, &self.limits);
        let instance = pre.instantiate(&mut store).map_err(|e| failed(fail(&mut store, e)))?;
        let wrong = |err: wasmtime::Error, which: &str| LoadError::WrongWorld {
            detail: format!("its `{which}` does not have the world's type ({})", plugin::root_message(&err)),
        };
        check_func(&instance, &mut store, exports).map_err(|e| wrong(e, "check"))?;
        render_func(&instance, &mut store, exports).map_err(|e| wrong(e, "render"))?;
        let current = instance.get_typed_func::<(), (lift::Manifest,)>(&mut store, exports.manifest);
        let (manifest, contract) = match current {
            Ok(func) => {
                let (manifest,) = bounded(&mut store, MANIFEST_BYTES, |store| func.call(store, ()))
                    .map_err(|e| failed(fail(&mut store, e)))?;
                (kofu_model::Manifest::from(manifest), Contract::V0_2)
            }
            Err(current) => {
                let func = instance
                    .get_typed_func::<(), (lift::ManifestV0_1,)>(&mut store, exports.manifest)
                    .map_err(|_| wrong(current, "manifest"))?;
                let (manifest,) = bounded(&mut store, MANIFEST_BYTES, |store| func.call(store, ()))
                    .map_err(|e| failed(fail(&mut store, e)))?;
                (kofu_model::Manifest::from(manifest), Contract::V0_1)
            }
        };
        Ok((manifest, contract))
    }

    /// Run `check` and then `render` for one request, in a store and
    /// instance made for this request alone and dropped at the end.
    pub fn evaluate(&self, plugin: &Plugin, request: &Request) -> Result<Evaluation, EvaluationError> {
        let access = plugin.manifest.field_access(&request.context.options);
        let data = RequestData { subject: Arc::clone(&request.subject), access };
        let id = &plugin.id;
        let mut store = self.store(Some(data), request.context.issue_date, id, Stage::Check)?;
        let context = convert::context(&request.context);
        let fail = |store: &mut Store<StoreState>, err, stage| failure(store, err, id, stage, &self.limits);

        let instance = plugin.pre.instantiate(&mut store).map_err(|e| fail(&mut store, e, Stage::Check))?;
        let check = check_func(&instance, &mut store, plugin.exports).map_err(|e| fail(&mut store, e, Stage::Check))?;
        let subject = store.data_mut().subject_handle().map_err(|e| fail(&mut store, e, Stage::Check))?;
        let (checked,) = bounded(&mut store, REFUSAL_BYTES, |store| check.call(store, (subject, &context)))
            .map_err(|e| fail(&mut store, e, Stage::Check))?;
        let outcome = match checked {
            Err(refusal) => Outcome::Refused(Refusal::from(refusal)),
            Ok(()) => {
                let render = render_func(&instance, &mut store, plugin.exports)
                    .map_err(|e| fail(&mut store, e, Stage::Render))?;
                let subject = store.data_mut().subject_handle().map_err(|e| fail(&mut store, e, Stage::Render))?;
                // A refusal is lifted within the document's budget too: the
                // result is one value, lifted in one go.
                let (rendered,) =
                    bounded(&mut store, self.limits.output_bytes, |store| render.call(store, (subject, &context)))
                        .map_err(|e| fail(&mut store, e, Stage::Render))?;
                match rendered {
                    Err(refusal) => Outcome::Refused(Refusal::from(refusal)),
                    Ok(document) => Outcome::Document(self.accept(document.into(), &mut store, id)?),
                }
            }
        };
        // A denied read traps, so this cannot be reached with a violation
        // today; it keeps the rule "no violation, no outcome" independent of
        // how the host functions report one.
        if let Some(cause) = store.data_mut().violation.take() {
            return Err(error_with(&mut store, id, Stage::Render, cause, None));
        }
        let fuel_used = self.limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let state = store.into_data();
        Ok(Evaluation {
            outcome,
            fields_read: state.fields_read.iter().copied().collect(),
            reads: state.reads.iter().copied().collect(),
            logs: state.logs.finish(),
            fuel_used,
        })
    }

    fn accept(
        &self,
        mut document: Document,
        store: &mut Store<StoreState>,
        id: &PluginId,
    ) -> Result<Document, EvaluationError> {
        document.normalize();
        document.validate(self.limits.output_bytes).map_err(|err| {
            let cause = match err {
                DocumentError::TooLarge { size, limit } => FailureCause::OutputTooLarge { size, limit },
                other => FailureCause::MalformedDocument(other),
            };
            error_with(store, id, Stage::Render, cause, None)
        })?;
        Ok(document)
    }

    fn store(
        &self,
        request: Option<RequestData>,
        issue_date: Date,
        id: &PluginId,
        stage: Stage,
    ) -> Result<Store<StoreState>, EvaluationError> {
        let mut wasi = WasiCtxBuilder::new();
        wasi.wall_clock(IssueDayClock::new(issue_date))
            .monotonic_clock(FrozenMonotonicClock)
            .secure_random(Deterministic::new(RANDOM_BYTES.to_vec()))
            .insecure_random(Deterministic::new(RANDOM_BYTES.to_vec()))
            .insecure_random_seed(0)
            .max_random_size(crate::wasi::MAX_RANDOM_BYTES);
        let limits = &self.limits;
        let state = StoreState::new(wasi.build(), limits.memory_bytes, limits.log_bytes, limits.wall_clock, request);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limiter);
        // The epoch deadline fires only in the plugin's own code; this
        // covers time spent in the host: a call that returns past the
        // deadline ends the evaluation there.
        store.call_hook(|mut store, hook| {
            if matches!(hook, CallHook::ReturningFromHost) {
                let state = store.data_mut();
                if state.time.would_exceed(Duration::ZERO) {
                    state.host_refusal = Some(FailureCause::Timeout { limit: state.time.limit });
                    return Err(Trap::Interrupt.into());
                }
            }
            Ok(())
        });
        store.set_fuel(self.limits.fuel).map_err(|e| failure(&mut store, e, id, stage, &self.limits))?;
        store.set_epoch_deadline(epoch_ticks(self.limits.wall_clock));
        store.epoch_deadline_trap();
        Ok(store)
    }
}

/// `check` and `render` as the host calls them: the same types in every
/// contract version.
type CheckFunc<'a> = TypedFunc<(Resource<SubjectHandle>, &'a wit::RequestContext), (Result<(), lift::Refusal>,)>;
type RenderFunc<'a> =
    TypedFunc<(Resource<SubjectHandle>, &'a wit::RequestContext), (Result<lift::Document, lift::Refusal>,)>;

fn check_func<'a>(
    instance: &Instance,
    store: &mut Store<StoreState>,
    exports: Exports,
) -> wasmtime::Result<CheckFunc<'a>> {
    instance.get_typed_func(store, exports.check)
}

fn render_func<'a>(
    instance: &Instance,
    store: &mut Store<StoreState>,
    exports: Exports,
) -> wasmtime::Result<RenderFunc<'a>> {
    instance.get_typed_func(store, exports.render)
}

/// Make a call whose results are lifted within `limit` bytes; past it, the
/// call fails with `output-too-large` and the host has copied no more than
/// the limit.
fn bounded<R>(
    store: &mut Store<StoreState>,
    limit: usize,
    call: impl FnOnce(&mut Store<StoreState>) -> wasmtime::Result<R>,
) -> wasmtime::Result<R> {
    let budget = lift::Budget::enter(limit);
    let result = call(store);
    let (used, over) = budget.finish();
    if over && result.is_err() {
        store.data_mut().host_refusal.get_or_insert(FailureCause::OutputTooLarge { size: used, limit });
    }
    result
}

/// The imports of `kofu:certificate@0.1.0`: `resident` and `log` under their
/// old names (`adapter.rs`); its `types` hold no functions.
fn add_v0_1_to_linker(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    v0_1::kofu::certificate::resident::add_to_linker::<_, HasSelf<StoreState>>(linker, |state| state)?;
    v0_1::kofu::certificate::log::add_to_linker::<_, HasSelf<StoreState>>(linker, |state| state)?;
    linker.instance("kofu:certificate/types@0.1.0")?;
    Ok(())
}

fn epoch_ticks(limit: Duration) -> u64 {
    (limit.as_micros() / EPOCH_TICK.as_micros()).max(1) as u64 + 1
}

/// Bytes of each linear memory and table reset in place (see
/// [`engine_config`]): about what the bundled plugins touch per evaluation.
const KEEP_RESIDENT_MEMORY: usize = 2 << 20;
const KEEP_RESIDENT_TABLE: usize = 64 << 10;

fn engine_config(limits: &Limits) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.consume_fuel(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(limits.stack_bytes);
    config.cranelift_opt_level(OptLevel::Speed);
    // Same inputs, same outputs, on every host: no NaN-bit or relaxed-SIMD
    // differences between machines.
    config.cranelift_nan_canonicalization(true);
    config.relaxed_simd_deterministic(true);

    let instances = limits.max_concurrent.max(1);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(instances)
        .total_core_instances(instances * 16)
        .total_memories(instances * 2)
        .total_tables(instances * 8)
        .max_core_instances_per_component(16)
        .max_memories_per_component(2)
        .max_tables_per_component(8)
        .max_memory_size(limits.memory_bytes)
        // A slot's memory is reset to its initial image before it is used
        // again either way (invariant 2; the environment-probe test checks
        // it). Up to these sizes the reset is a memset instead of an
        // madvise, whose TLB shootdowns across cores and page faults on the
        // next use are a visible share of a loaded server's profile.
        .linear_memory_keep_resident(KEEP_RESIDENT_MEMORY)
        .table_keep_resident(KEEP_RESIDENT_TABLE)
        // Which pages to reset: without the scan, the lowest
        // `KEEP_RESIDENT_MEMORY` bytes, every time. A bundled plugin's
        // memory starts with its 1 MiB stack, of which it writes a few
        // pages, so each evaluation cleared about 1.1 MB, a third of its
        // time. With Linux's PAGEMAP_SCAN (6.7 and later; `Auto` falls back
        // to the memset where it is missing) only the pages present in
        // memory are reset: every page the guest wrote is among them, and a
        // page it never wrote is still the image's or zero.
        .pagemap_scan(wasmtime::Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// Advance the engine's epoch until the engine is gone. Without the ticker,
/// wall-clock limits would never fire, so a sandbox is not built without it.
fn spawn_epoch_ticker(engine: &Engine) -> std::io::Result<()> {
    let weak = engine.weak();
    thread::Builder::new().name("kofu-epoch".into()).spawn(move || {
        while let Some(engine) = weak.upgrade() {
            engine.increment_epoch();
            drop(engine);
            thread::sleep(EPOCH_TICK);
        }
    })?;
    Ok(())
}

fn error_with(
    store: &mut Store<StoreState>,
    id: &PluginId,
    stage: Stage,
    cause: FailureCause,
    backtrace: Option<String>,
) -> EvaluationError {
    let logs = std::mem::take(&mut store.data_mut().logs).finish();
    let fields_read = store.data().fields_read.iter().copied().collect();
    EvaluationError { plugin: id.clone(), stage, cause, backtrace, logs, fields_read }
}

/// Most frames a backtrace shows; recursion repeats are folded first.
const BACKTRACE_FRAMES: usize = 24;

/// One line per frame, innermost first, runs of the same function folded
/// (a stack overflow is thousands of one frame).
fn format_backtrace(backtrace: &WasmBacktrace) -> String {
    let mut lines: Vec<(String, usize)> = Vec::new();
    for frame in backtrace.frames() {
        let module = frame.module().name().unwrap_or("<plugin>");
        let function = match frame.func_name() {
            // `{:#}` drops the hash suffix Rust adds to symbol names.
            Some(name) => format!("{:#}", rustc_demangle::demangle(name)),
            None => format!("<wasm function {}>", frame.func_index()),
        };
        let line = format!("{module}!{function}");
        match lines.last_mut() {
            Some((last, count)) if *last == line => *count += 1,
            _ => lines.push((line, 1)),
        }
    }
    let shown = lines.len().min(BACKTRACE_FRAMES);
    let mut out: Vec<String> = lines[..shown]
        .iter()
        .map(|(line, count)| if *count > 1 { format!("{line} (× {count})") } else { line.clone() })
        .collect();
    if lines.len() > shown {
        out.push(format!("… {} more frames", lines.len() - shown));
    }
    out.join("\n")
}

/// Explain a trap or error from inside the sandbox.
fn failure(
    store: &mut Store<StoreState>,
    err: wasmtime::Error,
    id: &PluginId,
    stage: Stage,
    limits: &Limits,
) -> EvaluationError {
    let backtrace = err.downcast_ref::<WasmBacktrace>().map(format_backtrace);
    let state = store.data_mut();
    let cause = if let Some(cause) = state.violation.take() {
        cause
    } else if let Some(cause) = state.host_refusal.take() {
        cause
    } else if state.limiter.hit {
        FailureCause::MemoryLimit { limit: limits.memory_bytes }
    } else {
        match err.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => FailureCause::FuelExhausted { budget: limits.fuel },
            Some(Trap::Interrupt) => FailureCause::Timeout { limit: limits.wall_clock },
            Some(Trap::StackOverflow) => FailureCause::StackOverflow,
            Some(Trap::UnreachableCodeReached) => FailureCause::Panic { message: state.logs.panic_message() },
            Some(trap) => FailureCause::Trap { message: trap.to_string() },
            None => match state.logs.panic_message() {
                Some(message) => FailureCause::Panic { message: Some(message) },
                None => FailureCause::Trap { message: plugin::root_message(&err) },
            },
        }
    };
    error_with(store, id, stage, cause, backtrace)
}
