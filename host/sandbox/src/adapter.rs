//! Plugins built against `kofu:certificate@0.1.0`: their `resident` import
//! is the current one under its old name, every call handed to the same
//! host function (so the same capability check). Their exports differ only
//! in the manifest, which has no page maximum (`lift::ManifestV0_1`).

use wasmtime::component::Resource;

use crate::bindings::kofu::certificate::resident::HostSubject as Current;
use crate::bindings::v0_1::kofu::certificate::resident;
use crate::bindings::wit;
use crate::state::{StoreState, SubjectHandle};

type Subject = Resource<SubjectHandle>;

impl resident::Host for StoreState {}

impl resident::HostSubject for StoreState {
    fn name(&mut self, this: Subject) -> wasmtime::Result<String> {
        Current::name(self, this)
    }

    fn name_kana(&mut self, this: Subject) -> wasmtime::Result<String> {
        Current::name_kana(self, this)
    }

    fn birth_date(&mut self, this: Subject) -> wasmtime::Result<wit::Date> {
        Current::birth_date(self, this)
    }

    fn sex(&mut self, this: Subject) -> wasmtime::Result<wit::Sex> {
        Current::sex(self, this)
    }

    fn address(&mut self, this: Subject) -> wasmtime::Result<String> {
        Current::address(self, this)
    }

    fn address_since(&mut self, this: Subject) -> wasmtime::Result<wit::Date> {
        Current::address_since(self, this)
    }

    fn resident_since(&mut self, this: Subject) -> wasmtime::Result<wit::Date> {
        Current::resident_since(self, this)
    }

    fn previous_address(&mut self, this: Subject) -> wasmtime::Result<Option<String>> {
        Current::previous_address(self, this)
    }

    fn household_head(&mut self, this: Subject) -> wasmtime::Result<String> {
        Current::household_head(self, this)
    }

    fn relationship(&mut self, this: Subject) -> wasmtime::Result<String> {
        Current::relationship(self, this)
    }

    fn registered_domicile(&mut self, this: Subject) -> wasmtime::Result<Option<wit::RegisteredDomicile>> {
        Current::registered_domicile(self, this)
    }

    fn my_number(&mut self, this: Subject) -> wasmtime::Result<Option<String>> {
        Current::my_number(self, this)
    }

    fn residency(&mut self, this: Subject) -> wasmtime::Result<wit::Residency> {
        Current::residency(self, this)
    }

    fn seal_registration(&mut self, this: Subject) -> wasmtime::Result<Option<wit::SealRegistration>> {
        Current::seal_registration(self, this)
    }

    fn tax_records(&mut self, this: Subject) -> wasmtime::Result<Vec<wit::TaxYear>> {
        Current::tax_records(self, this)
    }

    fn household(&mut self, this: Subject) -> wasmtime::Result<Vec<Subject>> {
        Current::household(self, this)
    }

    fn drop(&mut self, this: Subject) -> wasmtime::Result<()> {
        Current::drop(self, this)
    }
}

impl crate::bindings::v0_1::kofu::certificate::log::Host for StoreState {
    fn write(&mut self, level: wit::LogLevel, message: String) -> wasmtime::Result<()> {
        crate::bindings::kofu::certificate::log::Host::write(self, level, message)
    }
}
