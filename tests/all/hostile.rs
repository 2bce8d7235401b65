//! The hostile-plugin corpus: each case is contained with a clear typed error, and the
//! other steps of the same plan still run.

use plaza::Money;
use plaza::examples;
use plaza::executor::{self, Outcome, QuoteError};
use plaza::sandbox::{Limits, LoadError, Sandbox, StepError};
use plaza_tests::{assert_reconciles, cart, prepare, prepare_in, quote, sandbox};
use serde_json::json;

fn hostile_plan(plugin: &str, mode: &str, on_failure: &str) -> serde_json::Value {
    json!({"id": "p", "on_failure": on_failure, "steps": [
        {"id": "hostile", "plugin": {"name": plugin, "version": "0.1.0"}, "config": {"mode": mode}},
        {"id": "free-shipping", "plugin": {"name": "free-shipping", "version": "1.0.0"}, "config": {"threshold": 0}}
    ]})
}

fn two_lines() -> executor::Cart {
    cart(json!({
        "lines": [
            {"id": "a", "sku": "a", "merchant": "m", "quantity": 1, "unit_price": 5000},
            {"id": "b", "sku": "b", "merchant": "m", "quantity": 2, "unit_price": 2500}
        ],
        "buyer": {"id": "b-1"}, "attribution": {"promoter": "p-1"}, "shipping_fee": 600, "now_ms": 0
    }))
}

/// Run a hostile step and the free-shipping step after it; return the hostile step's error.
fn contained(plugin: &str, mode: &str) -> (StepError, executor::StepReport) {
    contained_in(sandbox(), plugin, mode)
}

fn contained_in(sandbox: &Sandbox, plugin: &str, mode: &str) -> (StepError, executor::StepReport) {
    let plan = prepare_in(sandbox, hostile_plan(plugin, mode, "skip")).unwrap();
    let q = executor::quote(sandbox, &plan, &two_lines()).unwrap();
    let shipping_step = q
        .explanation
        .iter()
        .find(|s| s.step == "free-shipping")
        .unwrap();
    assert_eq!(
        shipping_step.outcome,
        Outcome::Applied,
        "{mode}: the next step still runs"
    );
    assert_eq!(q.shipping.payable, Money(0));
    assert_eq!(
        q.items.payable,
        Money(10000),
        "{mode}: nothing of the failed step applied"
    );
    assert_reconciles(&q);
    let report = q
        .explanation
        .iter()
        .find(|s| s.step == "hostile")
        .unwrap()
        .clone();
    match &report.outcome {
        Outcome::Failed { error } => (error.clone(), report),
        other => panic!("{mode}: expected a failure, got {other:?}"),
    }
}

#[test]
fn an_infinite_loop_runs_out_of_instructions() {
    let (error, report) = contained("hostile", "loop");
    assert_eq!(
        error,
        StepError::OutOfFuel {
            limit: plaza::sandbox::DEFAULT_FUEL
        }
    );
    assert_eq!(report.fuel, plaza::sandbox::DEFAULT_FUEL);
}

#[test]
fn an_infinite_loop_with_unbounded_fuel_hits_the_wall_clock_deadline() {
    let limits = Limits {
        fuel: u64::MAX / 2,
        timeout_ms: 20,
        ..Limits::default()
    };
    let sandbox = Sandbox::new(limits, None).unwrap();
    // Plugins are per engine: load the two this plan needs into this sandbox.
    let plugins: Vec<_> = ["hostile", "free-shipping"]
        .iter()
        .map(|n| sandbox.load(&plaza_tests::component(n)).unwrap())
        .collect();
    let plan: executor::Plan =
        serde_json::from_value(hostile_plan("hostile", "loop", "skip")).unwrap();
    let plan = executor::prepare(&plan, &sandbox, |r| {
        examples::find(&plugins, &r.name, &r.version)
    })
    .unwrap();
    let q = executor::quote(&sandbox, &plan, &two_lines()).unwrap();
    assert_eq!(
        q.explanation[0].outcome,
        Outcome::Failed {
            error: StepError::Timeout { limit_ms: 20 }
        }
    );
    assert_eq!(q.explanation[1].outcome, Outcome::Applied);
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    let (error, _) = contained("hostile", "memory");
    assert_eq!(
        error,
        StepError::MemoryLimit {
            limit: plaza::sandbox::DEFAULT_MAX_MEMORY_BYTES
        }
    );
}

#[test]
fn runaway_recursion_is_stopped() {
    // Rust plugins keep their stack frames in linear memory, below the data (stack-first
    // layout, 64 KiB): overflowing it walks below address 0 and traps as an out-of-bounds
    // access before it can touch the heap. (Recursion on the native wasm stack would hit
    // `max_wasm_stack` and report `StackOverflow`.)
    let (error, _) = contained("hostile", "recursion");
    assert!(
        matches!(&error, StepError::Trap { message } if message.starts_with("out-of-bounds memory access")),
        "{error:?}"
    );
}

#[test]
fn a_panic_traps_and_its_message_reaches_the_log() {
    let (error, report) = contained("hostile", "panic");
    assert!(matches!(error, StepError::Trap { .. }), "{error:?}");
    assert!(
        report.log.contains("panicked on purpose"),
        "log: {:?}",
        report.log
    );
}

#[test]
fn huge_output_is_refused() {
    let (error, _) = contained("hostile", "huge-output");
    assert!(
        matches!(error, StepError::OutputTooLarge { limit: 20_480, .. }),
        "{error:?}"
    );
    let (error, _) = contained("hostile", "many-effects");
    assert!(
        matches!(error, StepError::TooManyEffects { count: 1000, .. }),
        "{error:?}"
    );
}

#[test]
fn six_megabytes_of_notes_never_reach_the_host() {
    // Under contract 0.2 the plugin encodes its answer in its own memory: 6 MiB of notes
    // and their 6 MiB encoding pass the 10 MiB memory limit before the answer exists. An
    // answer that merely claims to be that long is refused unread (`hostile_wire`).
    let (error, _) = contained("hostile", "huge-strings");
    assert_eq!(
        error,
        StepError::MemoryLimit {
            limit: plaza::sandbox::DEFAULT_MAX_MEMORY_BYTES
        }
    );
    assert!(Limits::default().max_lift_bytes() < 1 << 20);
}

#[test]
fn a_plugin_error_is_reported() {
    let (error, _) = contained("hostile", "error");
    assert_eq!(
        error,
        StepError::PluginError {
            message: "hostile plugin refused on purpose".into()
        }
    );
}

#[test]
fn a_negative_discount_breaks_the_invariants_and_nothing_of_the_step_applies() {
    let (error, _) = contained("hostile", "negative-line");
    let StepError::InvariantBroken { violations } = error else {
        panic!("{error:?}")
    };
    assert_eq!(violations.len(), 1);
    assert!(
        violations[0].contains("negative discount"),
        "{violations:?}"
    );
}

#[test]
fn a_discount_larger_than_the_line_is_clipped_to_zero_payable() {
    let plan = prepare(hostile_plan("hostile", "negative-line", "skip"));
    let one_line = cart(
        json!({"lines": [{"id": "a", "sku": "a", "merchant": "m", "quantity": 1, "unit_price": 5000}],
                               "buyer": {"id": "b"}, "now_ms": 0}),
    );
    let q = quote(&plan, &one_line).unwrap();
    assert_eq!(q.lines[0].payable, Money(0));
    assert_eq!(q.explanation[0].outcome, Outcome::Applied);
    assert!(
        q.explanation[0].clipped[0].contains("clipped to ¥50.00"),
        "{:?}",
        q.explanation[0].clipped
    );
    assert_reconciles(&q);
}

#[test]
fn commission_over_ninety_percent_is_refused() {
    let (error, _) = contained("hostile-commission", "over-rate");
    let StepError::InvariantBroken { violations } = error else {
        panic!()
    };
    assert!(
        violations[0].contains("1500000 ppm exceeds"),
        "{violations:?}"
    );
}

#[test]
fn a_waterfall_level_passing_on_more_than_it_received_is_refused() {
    let (error, _) = contained("hostile-commission", "over-waterfall");
    let StepError::InvariantBroken { violations } = error else {
        panic!()
    };
    assert!(
        violations[0].contains("carrying_agency received"),
        "{violations:?}"
    );
}

#[test]
fn a_third_upline_level_is_refused() {
    let (error, _) = contained("hostile-commission", "deep-upline");
    let StepError::InvariantBroken { violations } = error else {
        panic!()
    };
    assert!(violations[0].contains("upline level 3"), "{violations:?}");
}

#[test]
fn commission_not_tied_to_a_sale_is_refused() {
    let (error, _) = contained("hostile-commission", "no-sale");
    let StepError::InvariantBroken { violations } = error else {
        panic!()
    };
    assert!(
        violations[0].contains("nothing is paid for recruiting"),
        "{violations:?}"
    );
}

#[test]
fn a_log_flood_is_truncated_to_the_limit() {
    let plan = prepare(hostile_plan("hostile", "log-flood", "skip"));
    let q = quote(&plan, &two_lines()).unwrap();
    let report = &q.explanation[0];
    assert!(report.log_truncated);
    assert!(report.log.len() <= plaza::sandbox::DEFAULT_MAX_LOG_BYTES);
    assert!(report.log.starts_with("flooding the log, line 0000"));
}

#[test]
fn every_evaluation_gets_a_fresh_instance() {
    let plan = prepare(hostile_plan("hostile", "counter", "skip"));
    for _ in 0..3 {
        let q = quote(&plan, &two_lines()).unwrap();
        assert_eq!(q.notes[0].text, "evaluation 1");
    }
}

#[test]
fn a_fail_closed_plan_fails_the_quote() {
    let plan = prepare(hostile_plan("hostile", "panic", "fail_closed"));
    let err = quote(&plan, &two_lines()).unwrap_err();
    assert!(
        matches!(err, QuoteError::StepFailed { ref step, error: StepError::Trap { .. } } if step == "hostile"),
        "{err:?}"
    );
}

#[test]
fn a_component_importing_wasi_is_refused_at_load() {
    let bytes = plaza_tests::component("hostile-import");
    let err = sandbox().load(&bytes).unwrap_err();
    assert_eq!(
        err,
        LoadError::ForbiddenImport {
            import: "wasi:clocks/wall-clock@0.2.0".into()
        }
    );
}

/// `module` with a custom section of `size` zero bytes: still valid, only bigger.
fn padded(module: &[u8], size: usize) -> Vec<u8> {
    let mut bytes = module.to_vec();
    bytes.push(0); // custom section id
    let mut len = size as u32 + 2;
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        bytes.push(if len == 0 { byte } else { byte | 0x80 });
        if len == 0 {
            break;
        }
    }
    bytes.extend_from_slice(&[1, b'x']);
    bytes.extend_from_slice(&vec![0u8; size]);
    bytes
}

#[test]
fn a_module_over_the_size_limit_runs_in_the_large_lane_and_past_its_limit_is_refused() {
    let module = plaza_tests::component("free-shipping");
    let limits = plaza::sandbox::Limits::default();
    let big = sandbox()
        .load(&padded(&module, limits.max_module_bytes))
        .unwrap();
    assert!(
        big.large,
        "over the ordinary limit: the large plugins' lane"
    );
    let small = sandbox().load(&module).unwrap();
    assert!(!small.large);
    assert_eq!(big.descriptor, small.descriptor);

    let bytes = padded(&module, limits.large.max_module_bytes);
    assert_eq!(
        sandbox().load(&bytes).unwrap_err(),
        LoadError::TooLarge {
            size: bytes.len(),
            limit: limits.large.max_module_bytes
        }
    );
}

#[test]
fn bytes_that_are_not_wasm_are_refused() {
    assert_eq!(
        sandbox().load(b"#!/bin/sh\nrm -rf /\n").unwrap_err(),
        LoadError::NotWasm
    );
    assert_eq!(sandbox().load(b"").unwrap_err(), LoadError::NotWasm);
    // An empty core module is WebAssembly but not a rule: it lacks contract 0.2's exports.
    assert!(matches!(
        sandbox().load(b"\0asm\x01\0\0\0").unwrap_err(),
        LoadError::ContractMismatch { message } if message.contains("plaza_rules_0_2")
    ));
    let mut truncated = plaza_tests::component("free-shipping");
    truncated.truncate(truncated.len() / 2);
    assert!(matches!(
        sandbox().load(&truncated).unwrap_err(),
        LoadError::Invalid { .. }
    ));
}
