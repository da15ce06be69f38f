//! Hostile plugins: each is contained with its own clear error, naming the
//! plugin and its version, and a well-behaved plugin renders correctly right
//! after, in the same process and the same sandbox.

mod common;

use std::time::Duration;

use common::{certifier, issue, load, request};
use kofu_certify::{CertifyError, Stamp};
use kofu_model::{DocumentError, Field};
use kofu_sandbox::{EvaluationError, FailureCause, Limits, LoadError, Sandbox, Stage};
use kofu_tests::{component, fixture, guests, normalize, pdf_text};

/// Evaluate a hostile plugin that loads fine but must fail in render.
fn failure_of(path: &str) -> EvaluationError {
    let plugin = load(path);
    let req = request(&plugin, fixture("yamada-taro"), &[]);
    match certifier().certify(&plugin, &req, &Stamp::preview()) {
        Err(CertifyError::Evaluation(err)) => {
            assert_eq!(err.stage, Stage::Render, "{err}");
            let message = err.to_string();
            assert!(message.contains(&plugin.manifest().kind), "error does not name the plugin: {message}");
            assert!(message.contains(&plugin.manifest().version), "error does not name the version: {message}");
            err
        }
        Err(other) => panic!("{path}: expected an evaluation error, got {other}"),
        Ok(_) => panic!("{path}: a hostile plugin produced an outcome"),
    }
}

/// A well-behaved plugin still works afterwards, in the same sandbox.
fn good_plugin_still_renders() {
    let plugin = load(guests::RESIDENCE);
    let yamada = fixture("yamada-taro");
    let certificate = issue(&plugin, &request(&plugin, yamada.clone(), &[]), "TEST-AFTER");
    let text = normalize(&pdf_text(certificate.pdf(), None));
    assert!(text.contains(&normalize(&yamada.name)));
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let err = failure_of(guests::INFINITE_LOOP);
    assert_eq!(err.cause, FailureCause::FuelExhausted { budget: Limits::default().fuel });
    assert!(err.to_string().contains("instruction budget"), "{err}");
    good_plugin_still_renders();
}

#[test]
fn infinite_loop_hits_the_wall_clock_when_fuel_is_plentiful() {
    let limits = Limits { fuel: u64::MAX / 2, wall_clock: Duration::from_millis(50), ..Limits::default() };
    let sandbox = Sandbox::new(limits).expect("sandbox");
    let plugin = sandbox.load(&component(guests::INFINITE_LOOP)).expect("load");
    let req = request(&plugin, fixture("yamada-taro"), &[]);
    let err = sandbox.evaluate(&plugin, &req).expect_err("must time out");
    assert_eq!(err.cause, FailureCause::Timeout { limit: Duration::from_millis(50) });
    assert!(err.to_string().contains("50 ms"), "{err}");
    good_plugin_still_renders();
}

#[test]
fn memory_bomb_hits_the_memory_cap() {
    let err = failure_of(guests::MEMORY_BOMB);
    assert_eq!(err.cause, FailureCause::MemoryLimit { limit: Limits::default().memory_bytes });
    good_plugin_still_renders();
}

#[test]
fn deep_recursion_overflows_the_stack() {
    let err = failure_of(guests::DEEP_RECURSION);
    assert_eq!(err.cause, FailureCause::StackOverflow);
    assert!(err.backtrace.is_some(), "a stack overflow should carry a backtrace");
    good_plugin_still_renders();
}

#[test]
fn huge_output_is_refused() {
    let err = failure_of(guests::HUGE_OUTPUT);
    match err.cause {
        FailureCause::OutputTooLarge { size, limit } => {
            assert_eq!(limit, Limits::default().output_bytes);
            assert!(size > limit);
        }
        other => panic!("expected OutputTooLarge, got {other:?}"),
    }
    good_plugin_still_renders();
}

#[test]
fn panic_is_reported_with_its_message() {
    let err = failure_of(guests::PANIC);
    match &err.cause {
        FailureCause::Panic { message: Some(message) } => {
            assert!(message.contains("template bug: 世帯主 is missing"), "{message}")
        }
        other => panic!("expected a panic with its message, got {other:?}"),
    }
    assert!(err.backtrace.is_some());
    good_plugin_still_renders();
}

#[test]
fn reading_an_undeclared_field_traps() {
    let err = failure_of(guests::UNDECLARED_FIELD);
    assert_eq!(err.cause, FailureCause::UndeclaredField { field: Field::MyNumber, declared_but_locked: false });
    assert!(err.to_string().contains("`my-number`"), "{err}");
    good_plugin_still_renders();
}

#[test]
fn option_gates_are_enforced_by_the_host() {
    let plugin = load(guests::LOCKED_FIELD);
    let yamada = fixture("yamada-taro");
    let closed = request(&plugin, yamada.clone(), &[]);
    let err = certifier().sandbox().evaluate(&plugin, &closed).expect_err("household is locked");
    assert_eq!(err.cause, FailureCause::UndeclaredField { field: Field::Household, declared_but_locked: true });
    assert!(err.to_string().contains("only readable when the option unlocking it is chosen"), "{err}");

    let open = request(&plugin, yamada.clone(), &[("include-household", "true")]);
    let evaluation = certifier().sandbox().evaluate(&plugin, &open).expect("household is unlocked");
    assert!(evaluation.fields_read.contains(&Field::Household));
    let kofu_sandbox::Outcome::Document(document) = evaluation.outcome else { panic!("refused") };
    let text: String = document
        .blocks
        .iter()
        .filter_map(|block| match block {
            kofu_model::Block::KeyValues(rows) => Some(rows.iter().map(|r| r.value.clone()).collect::<String>()),
            _ => None,
        })
        .collect();
    for member in &yamada.household {
        assert!(text.contains(&member.name), "{} missing", member.name);
    }
    good_plugin_still_renders();
}

#[test]
fn malformed_document_is_rejected() {
    let err = failure_of(guests::MALFORMED_DOCUMENT);
    match &err.cause {
        FailureCause::MalformedDocument(DocumentError::Invalid { place, problem }) => {
            assert!(place.contains("table"), "{place}");
            assert!(problem.contains("3 cells") && problem.contains("2 columns"), "{problem}");
        }
        other => panic!("expected a malformed document, got {other:?}"),
    }
    good_plugin_still_renders();
}

fn load_error(path: &str) -> LoadError {
    match certifier().sandbox().load(&component(path)) {
        Err(err) => err,
        Ok(plugin) => panic!("{path} loaded as {}", plugin.id()),
    }
}

#[test]
fn forbidden_import_is_rejected_at_load_naming_it() {
    match load_error(guests::FORBIDDEN_IMPORT) {
        LoadError::ForbiddenImport { imports } => {
            assert!(imports.iter().any(|i| i.starts_with("wasi:sockets/")), "{imports:?}");
            assert!(imports.iter().all(|i| i.starts_with("wasi:")), "{imports:?}");
        }
        other => panic!("expected a forbidden import, got {other}"),
    }
    good_plugin_still_renders();
}

#[test]
fn filesystem_access_is_rejected_at_load_naming_it() {
    match load_error(guests::FILESYSTEM) {
        LoadError::ForbiddenImport { imports } => {
            assert!(imports.iter().any(|i| i.starts_with("wasi:filesystem/")), "{imports:?}");
            assert!(!imports.iter().any(|i| i.starts_with("wasi:sockets/")), "{imports:?}");
        }
        other => panic!("expected a forbidden import, got {other}"),
    }
}

#[test]
fn invalid_manifest_is_rejected_at_load() {
    let err = load_error(guests::BAD_MANIFEST);
    assert!(matches!(err, LoadError::InvalidManifest(kofu_model::ManifestError::BadKind(_))), "{err}");
    assert!(err.to_string().contains("Residence Certificate!"), "{err}");
    good_plugin_still_renders();
}

#[test]
fn component_for_another_world_is_rejected() {
    let err = load_error(guests::OTHER_WORLD);
    assert!(matches!(err, LoadError::WrongWorld { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("kofu:certificate/certificate") && message.contains("greet"), "{message}");
    good_plugin_still_renders();
}

#[test]
fn core_modules_and_garbage_are_not_components() {
    let core_module = b"\0asm\x01\0\0\0";
    let err = certifier().sandbox().load(core_module).expect_err("core module");
    assert!(err.to_string().contains("core WebAssembly module, not a component"), "{err}");
    let err = certifier().sandbox().load(b"%PDF-1.7 not wasm").expect_err("garbage");
    assert!(matches!(err, LoadError::NotAComponent { .. }), "{err}");
}

#[test]
fn oversized_components_are_rejected_before_compiling() {
    let sandbox = Sandbox::new(Limits { component_bytes: 1024, ..Limits::default() }).expect("sandbox");
    let err = sandbox.load(&component(guests::RESIDENCE)).expect_err("too large");
    assert!(matches!(err, LoadError::TooLarge { limit: 1024, .. }), "{err}");
}

/// Evaluate the host-calls guest with `attack`, timing it.
fn host_calls(attack: &str) -> (Result<kofu_sandbox::Evaluation, EvaluationError>, Duration) {
    let plugin = load(guests::HOST_CALLS);
    let req = request(&plugin, fixture("yamada-taro"), &[("attack", attack)]);
    let started = std::time::Instant::now();
    let result = certifier().sandbox().evaluate(&plugin, &req);
    (result, started.elapsed())
}

/// Generous against a loaded 2-core machine: the limit is 1 s, and the
/// sleeps asked for are 12 s, 1 hour and for ever.
const ENDS_WITHIN: Duration = Duration::from_secs(5);

#[test]
fn sleeping_past_the_time_limit_is_a_timeout_wherever_it_sleeps() {
    let limit = Limits::default().wall_clock;
    for (attack, stage) in [
        ("sleep-check-long", Stage::Check),
        ("sleep-check-forever", Stage::Check),
        ("sleep-render-long", Stage::Render),
        ("sleep-render-forever", Stage::Render),
        // A thousand 1 ms sleeps: each is short, together they pass 1 s.
        ("sleep-loop", Stage::Render),
        // A raw poll on a pollable that never fires.
        ("poll-forever", Stage::Render),
    ] {
        let (result, took) = host_calls(attack);
        let err = result.expect_err(attack);
        assert_eq!((err.stage, &err.cause), (stage, &FailureCause::Timeout { limit }), "{attack}: {err}");
        assert_eq!(err.cause.slug(), "timeout");
        assert!(took < ENDS_WITHIN, "{attack} took {took:?}");
        assert!(err.to_string().contains("sleep"), "{attack}: the message names the cause: {err}");
    }
    good_plugin_still_renders();
}

#[test]
fn a_brief_sleep_is_granted_without_waiting() {
    let (result, took) = host_calls("sleep-brief");
    let evaluation = result.expect("a 10 ms sleep is within the limit");
    assert!(matches!(evaluation.outcome, kofu_sandbox::Outcome::Document(_)));
    // The plugin's clock moved; the host did not wait for it.
    assert!(took < ENDS_WITHIN, "took {took:?}");
}

#[test]
fn a_blocking_read_of_stdin_ends_at_once() {
    let (result, took) = host_calls("stdin");
    let evaluation = result.expect("stdin is closed: the read ends");
    assert!(matches!(evaluation.outcome, kofu_sandbox::Outcome::Document(_)));
    assert!(took < ENDS_WITHIN, "took {took:?}");
}

#[test]
fn a_sleep_in_the_manifest_fails_the_load_with_a_timeout() {
    let started = std::time::Instant::now();
    let err = certifier().sandbox().load(&component(guests::SLEEPY_MANIFEST)).expect_err("must time out");
    assert!(started.elapsed() < ENDS_WITHIN, "took {:?}", started.elapsed());
    match err {
        LoadError::ManifestFailed(failure) => {
            assert_eq!(failure.stage, Stage::Manifest);
            assert_eq!(failure.cause, FailureCause::Timeout { limit: Limits::default().wall_clock });
        }
        other => panic!("expected a manifest timeout, got {other}"),
    }
}

#[test]
fn large_copies_into_the_host_are_refused_before_copying() {
    for (attack, call, size, limit) in [
        ("random", "get-random-bytes", 30u64 << 20, 64u64 << 10),
        ("stdout", "wasi:io/streams.output-stream.write", 16 << 20, 64 << 10),
        ("poll-list", "wasi:io/poll.poll", 4 << 20, 1024),
    ] {
        let (result, took) = host_calls(attack);
        let err = result.expect_err(attack);
        assert_eq!(err.cause, FailureCause::HostCallTooLarge { call, size, limit }, "{attack}: {err}");
        assert_eq!(err.cause.slug(), "host-call-too-large");
        assert!(took < ENDS_WITHIN, "{attack} took {took:?}");
    }
    good_plugin_still_renders();
}

#[test]
fn huge_log_messages_are_charged_and_not_kept() {
    // 200 messages of 16 MiB: the host reads each in place, keeps none of
    // it, and charges the read, so the budget runs out after a few.
    let (result, took) = host_calls("log");
    let err = result.expect_err("the reads are charged");
    assert_eq!(err.cause, FailureCause::FuelExhausted { budget: Limits::default().fuel }, "{err}");
    assert!(took < ENDS_WITHIN, "took {took:?}");
    assert!(err.logs.iter().map(|entry| entry.message.len()).sum::<usize>() <= Limits::default().log_bytes + 200);
    assert!(
        err.logs.last().is_some_and(|entry| entry.message.contains("further log messages dropped")),
        "{:?}",
        err.logs
    );
}

#[test]
fn a_plugin_near_its_fuel_budget_still_issues() {
    let (result, _) = host_calls("spin");
    let evaluation = result.expect("spin stays within its fuel");
    assert!(matches!(evaluation.outcome, kofu_sandbox::Outcome::Document(_)));
    assert!(evaluation.fuel_used > Limits::default().fuel / 2, "spin used {} fuel", evaluation.fuel_used);
}

#[test]
fn forbidden_imports_are_found_before_compiling() {
    // Cut off after its imports, the component could not be compiled: the
    // answer names the imports all the same, so they were read first.
    let mut bytes = component(guests::FILESYSTEM);
    bytes.truncate(bytes.len() * 3 / 4);
    match certifier().sandbox().load(&bytes).expect_err("forbidden") {
        LoadError::ForbiddenImport { imports } => {
            assert!(imports.iter().any(|i| i.starts_with("wasi:filesystem/")), "{imports:?}")
        }
        other => panic!("expected a forbidden import, got {other}"),
    }
}

#[test]
fn aliasing_lists_are_not_lifted_past_the_output_limit() {
    // 65,536 rows, each the same list of 65,536 one-byte cells: lifted
    // whole, 4 Gi strings. The host charges every list before it allocates
    // for it, and stops at the rows list (512 KiB of items).
    let err = failure_of(guests::ALIASING_DOCUMENT);
    let limit = Limits::default().output_bytes;
    match err.cause {
        FailureCause::OutputTooLarge { size, limit: reported } => {
            assert_eq!(reported, limit);
            assert!(size > limit && size < 1 << 20, "stopped at {size} bytes");
        }
        other => panic!("expected OutputTooLarge, got {other:?}"),
    }
    assert!(err.to_string().contains("output limit"), "{err}");
    good_plugin_still_renders();
}

#[test]
fn an_oversized_refusal_is_not_lifted() {
    // Two messages of 16 MiB (the same bytes): refused before either is
    // copied; the refusal budget is 16 KiB.
    let plugin = load(guests::ALIASING_DOCUMENT);
    let req = request(&plugin, fixture("yamada-taro"), &[("attack", "refusal")]);
    match certifier().certify(&plugin, &req, &Stamp::preview()) {
        Err(CertifyError::Evaluation(err)) => {
            assert_eq!(err.stage, Stage::Check, "{err}");
            match err.cause {
                FailureCause::OutputTooLarge { size, limit } => {
                    assert_eq!(limit, 16 << 10);
                    assert!(size > 16 << 20 && size < 17 << 20, "stopped at {size} bytes");
                }
                other => panic!("expected OutputTooLarge, got {other:?}"),
            }
        }
        Err(other) => panic!("expected an evaluation error, got {other}"),
        Ok(_) => panic!("an oversized refusal came out"),
    }
    good_plugin_still_renders();
}
