//! Per-evaluation store state and the host side of the plugin's imports.
//!
//! The `subject` capability is checked on every call: the field must be
//! declared by the manifest and, when an option gates it, unlocked by the
//! request's options. A violation traps the plugin on the spot (a trap is
//! not something WebAssembly can catch), and is remembered here so the
//! failure names the field.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kofu_model::{Field, FieldAccess, Resident};
use wasmtime::component::{Resource, ResourceTable};
use wasmtime::{ResourceLimiter, format_err};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::kofu::certificate::{log, resident};
use crate::bindings::wit;
use crate::convert;
use crate::error::FailureCause;
use crate::log::{LogLevel, LogSink};

/// The host-side value behind a `subject` handle: a position in the
/// request subject's household order (`None` is the subject itself). It holds
/// no resident id: there is nothing a plugin could forge.
pub struct SubjectHandle {
    slot: Option<usize>,
}

/// The resident data of one request and what the plugin may read of it.
pub(crate) struct RequestData {
    pub subject: Arc<Resident>,
    pub access: FieldAccess,
}

pub(crate) struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: MemoryCap,
    /// `None` while the manifest is read: no resident data exists then.
    request: Option<RequestData>,
    pub logs: LogSink,
    pub fields_read: BTreeSet<Field>,
    /// Which member's which field was handed out: the values the plugin
    /// may legitimately print (see `kofu_certify`'s binding check).
    pub reads: BTreeSet<Read>,
    pub violation: Option<FailureCause>,
    pub time: TimeBudget,
    /// Why a host call refused to go on (a sleep past the deadline, a copy
    /// over its limit): the trap it returned is explained by this.
    pub host_refusal: Option<FailureCause>,
}

/// One field of one household member handed to the plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Read {
    /// A position in the household order; `None` is the subject.
    pub member: Option<usize>,
    pub field: Field,
}

/// The evaluation's time: real time since the store was made plus the time
/// the plugin asked to sleep. Sleeps never wait (`wasi.rs`); they advance the
/// plugin's monotonic clock instead, and count against the limit as if they
/// had waited.
pub(crate) struct TimeBudget {
    pub started: Instant,
    pub limit: Duration,
    /// Sum of every sleep and poll timeout granted: the plugin's monotonic
    /// clock, which is therefore deterministic (it starts at 0).
    pub slept: Duration,
}

impl TimeBudget {
    /// Whether `more` time asked for on top of what is used would go past
    /// the limit.
    pub fn would_exceed(&self, more: Duration) -> bool {
        self.started.elapsed().saturating_add(self.slept).saturating_add(more) > self.limit
    }
}

/// Most resources (subject handles, pollables, streams) one evaluation may
/// hold in the host's table at once: far above what a plugin needs (a
/// household's handles, a few pollables), and a bound on host memory a
/// plugin could otherwise fill with one cheap call after another.
const MAX_TABLE_ENTRIES: usize = 4_096;

impl StoreState {
    pub fn new(
        wasi: WasiCtx,
        memory_limit: usize,
        log_budget: usize,
        time_limit: Duration,
        request: Option<RequestData>,
    ) -> StoreState {
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_TABLE_ENTRIES);
        StoreState {
            wasi,
            table,
            limiter: MemoryCap { limit: memory_limit, hit: false },
            request,
            logs: LogSink::new(log_budget),
            fields_read: BTreeSet::new(),
            reads: BTreeSet::new(),
            violation: None,
            time: TimeBudget { started: Instant::now(), limit: time_limit, slept: Duration::ZERO },
            host_refusal: None,
        }
    }

    /// A handle to the request's subject, to pass to `check` and `render`.
    pub fn subject_handle(&mut self) -> wasmtime::Result<Resource<SubjectHandle>> {
        Ok(self.table.push(SubjectHandle { slot: None })?)
    }

    /// The resident behind `handle`, if the plugin may read `field`.
    fn read(&mut self, handle: &Resource<SubjectHandle>, field: Field) -> wasmtime::Result<&Resident> {
        // Disjoint borrows: the answer borrows `request` while the read is
        // recorded in `fields_read` or the denial in `violation`.
        let StoreState { table, request, fields_read, reads, violation, .. } = self;
        let slot = table.get(handle)?.slot;
        match request.as_ref() {
            Some(request) if request.access.allows(field) => {
                fields_read.insert(field);
                reads.insert(Read { member: slot, field });
                request.subject.member(slot).ok_or_else(|| format_err!("stale subject handle"))
            }
            // No request (while the manifest is read): nothing is readable.
            Some(request) => Err(deny(violation, field, request.access.is_declared(field))),
            None => Err(deny(violation, field, false)),
        }
    }
}

fn deny(violation: &mut Option<FailureCause>, field: Field, declared_but_locked: bool) -> wasmtime::Error {
    *violation = Some(FailureCause::UndeclaredField { field, declared_but_locked });
    format_err!("capability violation: field `{field}` is not readable by this plugin in this request")
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Caps linear memory and remembers whether the cap was hit, so that the
/// resulting trap (Rust aborts on allocation failure) can be explained.
pub(crate) struct MemoryCap {
    limit: usize,
    pub hit: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = desired <= self.limit;
        self.hit |= !allowed;
        Ok(allowed)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl resident::Host for StoreState {}

impl resident::HostSubject for StoreState {
    fn name(&mut self, this: Resource<SubjectHandle>) -> wasmtime::Result<String> {
        Ok(self.read(&this, Field::Name)?.name.clone())
    }

    fn name_kana(&mut self, this: Resource<SubjectHandle>) -> wasmtime::Result<String> {
        Ok(self.read(&this, Field::NameKana)?.name_kana.clone())
    }

    fn birth_date(&mut self, this: Resource<SubjectHandle>) -> wasmtime::Result<wit::Date> {
        Ok(convert::date(self.read(&this, Field::BirthDate)?.birth_date))
    }

    fn sex(&mut self, this: Resource<SubjectHandle>) -> wasmtime::Result<wit::Sex> {
        Ok(convert::sex(self.read(&this, Field::Sex)?.sex))
    }

    fn address(&mut self, this: Resource<SubjectHandle>) -> wasmtime::Result<String> {
        Ok(self.read(&this, Field::Address)?.address.clone())
    }

    fn address_since(&mut self, this: Resource<SubjectHandle>) -> wasmtime::Result<wit::Date> {
        Ok(convert::date(self.read(&this, Field::AddressSince)?.address_since))
    }

    fn resident_since(&mut self, this: Resource<SubjectHandle>) -> wasmtime::Result<wit::Date> {
        Ok(convert::date(self.read(&this, Field::ResidentSince)?.resident_since))
    }

    fn previous_address(&mut self, this: Resource<SubjectHandle>) -> wasmtime::Result<Option<String>> {
        Ok(self.read(&this, Field::PreviousAddress)?.previous_address.clone())
    }

    fn household_head(&mut self, this: Resource<SubjectHandle>) -> wasmtime::Result<String> {
        Ok(self.read(&this, Field::HouseholdHead)?.household_head.clone())
    }

    fn relationship(&mut self, this: Resource<SubjectHandle>) -> wasmtime::Result<String> {
        Ok(self.read(&this, Field::Relationship)?.relationship.clone())
    }

    fn registered_domicile(
        &mut self,
        this: Resource<SubjectHandle>,
    ) -> wasmtime::Result<Option<wit::RegisteredDomicile>> {
        let person = self.read(&this, Field::RegisteredDomicile)?;
        Ok(person.registered_domicile.as_ref().map(convert::domicile))
    }

    fn my_number(&mut self, this: Resource<SubjectHandle>) -> wasmtime::Result<Option<String>> {
        Ok(self.read(&this, Field::MyNumber)?.my_number.clone())
    }

    fn residency(&mut self, this: Resource<SubjectHandle>) -> wasmtime::Result<wit::Residency> {
        Ok(convert::residency(&self.read(&this, Field::Residency)?.residency))
    }

    fn seal_registration(&mut self, this: Resource<SubjectHandle>) -> wasmtime::Result<Option<wit::SealRegistration>> {
        Ok(self.read(&this, Field::SealRegistration)?.seal.as_ref().map(convert::seal))
    }

    fn tax_records(&mut self, this: Resource<SubjectHandle>) -> wasmtime::Result<Vec<wit::TaxYear>> {
        Ok(self.read(&this, Field::TaxRecords)?.tax.iter().map(convert::tax_year).collect())
    }

    fn household(&mut self, this: Resource<SubjectHandle>) -> wasmtime::Result<Vec<Resource<SubjectHandle>>> {
        // Every member's household is the subject's household: the same
        // members, reached only through a handle the request started from.
        self.read(&this, Field::Household)?;
        let order = self.request.as_ref().map(|r| r.subject.household_order()).unwrap_or_default();
        order.into_iter().map(|slot| Ok(self.table.push(SubjectHandle { slot })?)).collect()
    }

    fn drop(&mut self, this: Resource<SubjectHandle>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl wit::Host for StoreState {}

impl log::Host for StoreState {
    fn write(&mut self, level: wit::LogLevel, message: String) -> wasmtime::Result<()> {
        let level = match level {
            wit::LogLevel::Debug => LogLevel::Debug,
            wit::LogLevel::Info => LogLevel::Info,
            wit::LogLevel::Warn => LogLevel::Warn,
            wit::LogLevel::Error => LogLevel::Error,
        };
        self.logs.write(level, message);
        Ok(())
    }
}
