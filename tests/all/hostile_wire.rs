//! Hostile contract 0.2 modules written by hand: answers and allocations that lie about
//! where they are or how long, exports of the wrong shape, imports, and a log buffer that
//! points anywhere. Each one ends in its typed error and the host reads nothing it should
//! not.

use plaza::sandbox::{Limits, LoadError, StepError};
use plaza_plugin_sdk::wire::{LOG_CAPACITY, encode_answer, pack};
use plaza_tests::sandbox;

const DESCRIPTOR: &str = r#"{"name":"wat-rule","version":"0.1.0","stage":"store_promotion","description":"hand-written","config_schema":"{}"}"#;

/// Where the template keeps things in its memory (four 64 KiB pages).
const VALIDATED: u32 = 512;
const NO_EFFECTS: u32 = 1024;
const NOT_JSON: u32 = 1536;
const LOG_AT: u32 = 2048;
const LYING: u32 = 8192;

/// The answer with no effects, as the SDK encodes it.
fn no_effects() -> Vec<u8> {
    encode_answer(&Ok(vec![]))
}

/// An answer header that claims 1000 effects in 24 bytes.
fn lying_answer() -> Vec<u8> {
    let mut bytes = no_effects();
    bytes[8..12].copy_from_slice(&1000u32.to_le_bytes());
    bytes
}

/// The parts of a module a case replaces; the defaults make a well-behaved rule.
struct Module {
    imports: &'static str,
    alloc: String,
    evaluate_signature: &'static str,
    evaluate: String,
    log_at: u32,
    log_header: (u32, u32),
    log_text: &'static str,
    leave_out: Option<&'static str>,
}

impl Default for Module {
    fn default() -> Self {
        Module {
            imports: "",
            alloc: bump_alloc(),
            evaluate_signature: "(param i32 i32 i32 i32) (result i64)",
            evaluate: answer(NO_EFFECTS, no_effects().len() as u32),
            log_at: LOG_AT,
            log_header: (0, 0),
            log_text: "",
            leave_out: None,
        }
    }
}

fn bump_alloc() -> String {
    "(local.set 1 (global.get $next))
     (global.set $next (i32.and (i32.add (i32.add (global.get $next) (local.get 0)) (i32.const 7)) (i32.const -8)))
     (local.get 1)"
        .into()
}

fn answer(ptr: u32, len: u32) -> String {
    format!("(i64.const {})", pack(ptr, len))
}

/// Bytes as a WAT string literal.
fn literal(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

impl Module {
    fn wasm(&self) -> Vec<u8> {
        let export = |name: &'static str| {
            if self.leave_out == Some(name) {
                String::new()
            } else {
                format!("(export \"{name}\")")
            }
        };
        let (len, truncated) = self.log_header;
        let mut header = len.to_le_bytes().to_vec();
        header.extend(truncated.to_le_bytes());
        let text = format!(
            r#"(module
              {imports}
              (memory {memory} 4)
              (global $next (mut i32) (i32.const 65536))
              (global {log} i32 (i32.const {log_at}))
              (func {marker})
              (func {alloc} (param i32) (result i32) (local i32) {alloc_body})
              (func {describe} (result i64) {describe_answer})
              (func {validate} (param i32 i32) (result i64) {validate_answer})
              (func {evaluate} {evaluate_signature} {evaluate_body})
              (data (i32.const 0) "{descriptor}")
              (data (i32.const {VALIDATED}) "{{\"Ok\":null}}")
              (data (i32.const {NO_EFFECTS}) "{no_effects}")
              (data (i32.const {NOT_JSON}) "not json")
              (data (i32.const {LYING}) "{lying}")
              (data (i32.const {LOG_AT}) "{header}{log_text}"))"#,
            imports = self.imports,
            memory = export("memory"),
            log = export("plaza_log"),
            log_at = self.log_at,
            marker = export("plaza_rules_0_2"),
            alloc = export("plaza_alloc"),
            alloc_body = self.alloc,
            describe = export("plaza_describe"),
            describe_answer = answer(0, DESCRIPTOR.len() as u32),
            validate = export("plaza_validate"),
            validate_answer = answer(VALIDATED, "{\"Ok\":null}".len() as u32),
            evaluate = export("plaza_evaluate"),
            evaluate_signature = self.evaluate_signature,
            evaluate_body = self.evaluate,
            descriptor = literal(DESCRIPTOR.as_bytes()),
            no_effects = literal(&no_effects()),
            lying = literal(&lying_answer()),
            header = literal(&header),
            log_text = literal(self.log_text.as_bytes()),
        );
        wat::parse_str(&text).expect("the case is valid WebAssembly text")
    }

    /// Load the module and evaluate it once on a small input.
    fn evaluate(&self) -> plaza::sandbox::Evaluation {
        let plugin = sandbox().load(&self.wasm()).expect("the case loads");
        sandbox().evaluate(&plugin, b"cart bytes", b"step bytes")
    }
}

#[test]
fn the_well_behaved_template_loads_and_answers() {
    // The baseline every case below departs from: without it, a refusal could be the
    // template's own fault.
    let module = Module {
        log_header: (6, 0),
        log_text: "hello\n",
        ..Module::default()
    };
    let plugin = sandbox().load(&module.wasm()).unwrap();
    assert_eq!(plugin.contract(), "0.2");
    let evaluation = sandbox().evaluate(&plugin, b"cart bytes", b"step bytes");
    assert_eq!(evaluation.result, Ok(vec![]));
    assert_eq!(evaluation.log, "hello\n");
    assert!(evaluation.fuel > 0);
}

#[test]
fn an_answer_claiming_gigabytes_is_refused_before_the_host_reads_it() {
    for len in [
        u32::MAX,
        1 << 30,
        Limits::default().max_lift_bytes() as u32 + 1,
    ] {
        let module = Module {
            evaluate: answer(NO_EFFECTS, len),
            ..Module::default()
        };
        assert_eq!(
            module.evaluate().result,
            Err(StepError::OutputOverCopyLimit {
                limit: Limits::default().max_lift_bytes()
            }),
            "{len}"
        );
    }
}

#[test]
fn an_answer_outside_memory_is_invalid_output() {
    // Inside the copy limit but past the four pages, and wrapping past 4 GiB.
    for ptr in [4 * 65536 - 4, u32::MAX - 8] {
        let module = Module {
            evaluate: answer(ptr, 64),
            ..Module::default()
        };
        let result = module.evaluate().result;
        assert!(
            matches!(&result, Err(StepError::InvalidOutput { message }) if message.contains("outside memory")),
            "{ptr}: {result:?}"
        );
    }
}

#[test]
fn an_answer_not_in_the_contracts_layout_is_invalid_output() {
    for (ptr, len) in [
        (NOT_JSON, 8),
        (VALIDATED, 11),
        (0, DESCRIPTOR.len() as u32),
        (LYING, lying_answer().len() as u32),
        (NO_EFFECTS, no_effects().len() as u32 - 1),
    ] {
        let module = Module {
            evaluate: answer(ptr, len),
            ..Module::default()
        };
        let result = module.evaluate().result;
        assert!(
            matches!(&result, Err(StepError::InvalidOutput { .. })),
            "{ptr}: {result:?}"
        );
    }
}

#[test]
fn an_allocator_giving_room_outside_memory_is_invalid_output() {
    for ptr in [-1i32, -16, 4 * 65536 - 4] {
        let module = Module {
            alloc: format!("(i32.const {ptr})"),
            ..Module::default()
        };
        let result = module.evaluate().result;
        assert!(
            matches!(&result, Err(StepError::InvalidOutput { message }) if message.contains("plaza_alloc returned room outside memory")),
            "{ptr}: {result:?}"
        );
    }
}

#[test]
fn a_trap_keeps_the_log_written_before_it() {
    let module = Module {
        evaluate: "(unreachable)".into(),
        log_header: (14, 0),
        log_text: "about to trap\n",
        ..Module::default()
    };
    let evaluation = module.evaluate();
    assert!(matches!(evaluation.result, Err(StepError::Trap { .. })));
    assert_eq!(evaluation.log, "about to trap\n");
}

#[test]
fn a_log_header_that_lies_is_clipped_or_ignored() {
    // A length past the buffer's capacity: the host reads the capacity, no more.
    let lying = Module {
        log_header: (u32::MAX, 1),
        log_text: "the start of a log",
        ..Module::default()
    };
    let evaluation = lying.evaluate();
    assert_eq!(evaluation.result, Ok(vec![]));
    assert!(evaluation.log.starts_with("the start of a log"));
    assert!(evaluation.log.len() <= LOG_CAPACITY);
    assert!(evaluation.log_truncated);
    // A buffer past the end of memory is no log, and not an error.
    for at in [4 * 65536 - 4, u32::MAX] {
        let outside = Module {
            log_at: at,
            ..Module::default()
        };
        let evaluation = outside.evaluate();
        assert_eq!(evaluation.result, Ok(vec![]), "{at}");
        assert_eq!(evaluation.log, "");
    }
}

#[test]
fn a_module_with_an_import_is_refused_at_load() {
    let module = Module {
        imports: r#"(import "env" "now" (func (result i64)))"#,
        ..Module::default()
    };
    assert_eq!(
        sandbox().load(&module.wasm()).unwrap_err(),
        LoadError::ForbiddenImport {
            import: "env::now".into()
        }
    );
}

#[test]
fn a_missing_export_is_a_contract_mismatch_naming_it() {
    for name in [
        "memory",
        "plaza_log",
        "plaza_rules_0_2",
        "plaza_alloc",
        "plaza_describe",
        "plaza_validate",
        "plaza_evaluate",
    ] {
        let module = Module {
            leave_out: Some(name),
            ..Module::default()
        };
        let error = sandbox().load(&module.wasm()).unwrap_err();
        assert!(
            matches!(&error, LoadError::ContractMismatch { message } if message.contains(name)),
            "{name}: {error:?}"
        );
    }
}

#[test]
fn a_mistyped_export_is_a_contract_mismatch_at_load() {
    for (signature, body) in [
        ("(param i32 i32 i32 i32) (result i32)", "(i32.const 0)"),
        ("(param i32 i32) (result i64)", "(i64.const 0)"),
        ("(param i64 i32 i32 i32) (result i64)", "(i64.const 0)"),
        ("(param i32 i32 i32 i32)", ""),
    ] {
        let module = Module {
            evaluate_signature: signature,
            evaluate: body.into(),
            ..Module::default()
        };
        let error = sandbox().load(&module.wasm()).unwrap_err();
        assert!(
            matches!(&error, LoadError::ContractMismatch { message } if message.contains("plaza_evaluate")),
            "{signature}: {error:?}"
        );
    }
}
