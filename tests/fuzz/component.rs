//! Loading untrusted modules: generated ones (`wasm-smith`, free or shaped to the 0.2
//! contract's exports), raw mutated bytes, and a well-formed guest whose answers, log and
//! allocations are arbitrary. Each ends in a typed load refusal or a loaded plugin, never
//! a host panic or a hang; a plugin that loads is evaluated on the demo cart, and effects
//! it returns go through `dispose`, which refuses or accepts them without panicking.

use arbitrary::{Arbitrary, Result, Unstructured};
use plaza::executor::dispose::{Context, Waterfall, dispose};
use plaza::sandbox::Plugin;
use plaza_plugin_sdk::wire::{encode_answer, pack};
use plaza_plugin_sdk::{Effect, ThresholdBase};

/// The 0.2 contract's exports, for generators asked to match them.
const EXPORTS: &str = r#"(module
  (memory (export "memory") 1)
  (global (export "plaza_log") i32 (i32.const 0))
  (func (export "plaza_rules_0_2"))
  (func (export "plaza_alloc") (param i32) (result i32) unreachable)
  (func (export "plaza_describe") (result i64) unreachable)
  (func (export "plaza_validate") (param i32 i32) (result i64) unreachable)
  (func (export "plaza_evaluate") (param i32 i32 i32 i32) (result i64) unreachable))"#;

const STAGES: [&str; 7] = [
    "item_price",
    "store_promotion",
    "coupon",
    "points",
    "shipping",
    "commission",
    "nonsense",
];

pub fn check(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(mode) = u.int_in_range(0..=3u8) else {
        return;
    };
    let bytes = match mode {
        0 => Ok(u.take_rest().to_vec()),
        1 => generated(&mut u, None),
        2 => generated(
            &mut u,
            Some(wat::parse_str(EXPORTS).expect("the exports parse")),
        ),
        _ => guest(&mut u),
    };
    let Ok(bytes) = bytes else { return };
    match crate::sandbox().load(&bytes) {
        Ok(plugin) => evaluate(&plugin),
        Err(refusal) => {
            let _ = refusal.to_string();
        }
    }
}

fn generated(u: &mut Unstructured<'_>, exports: Option<Vec<u8>>) -> Result<Vec<u8>> {
    let mut config = wasm_smith::Config::arbitrary(u)?;
    config.max_funcs = config.max_funcs.min(16);
    config.max_instructions = config.max_instructions.min(200);
    config.max_types = config.max_types.min(32);
    config.max_imports = config.max_imports.min(4);
    config.max_data_segments = config.max_data_segments.min(8);
    config.max_element_segments = config.max_element_segments.min(8);
    config.max_memory32_bytes = config.max_memory32_bytes.min(64 << 20);
    config.max_nesting_depth = config.max_nesting_depth.min(8);
    config.max_type_size = config.max_type_size.min(200);
    config.threads_enabled = false;
    config.shared_everything_threads_enabled = false;
    if exports.is_some() {
        config.available_imports = None;
        config.module_shape = None;
    }
    config.exports = exports;
    Ok(wasm_smith::Module::new(config, u)?.to_bytes())
}

/// Bytes as a WAT string literal.
fn literal(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// A guest that follows the contract's shape but answers whatever the input says: its
/// descriptor, its allocator's pointers, its answer's place and bytes, and its log.
fn guest(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let stage = *u.choose(&STAGES)?;
    let descriptor = format!(
        r#"{{"name":"fuzz-rule","version":"1.0.0","stage":"{stage}","description":"generated","config_schema":"{{}}"}}"#
    );
    let answer = if u.arbitrary()? {
        let mut effects = Vec::new();
        for _ in 0..u.int_in_range(0..=4)? {
            effects.push(super::dispose::effect(u, 3)?);
        }
        encode_answer(&Ok(effects))
    } else {
        let len = u.int_in_range(0..=256)?;
        u.bytes(len)?.to_vec()
    };
    const ANSWER_AT: u32 = 4096;
    let answer_len = u32::try_from(answer.len()).expect("a short answer");
    // Mostly where the answer really is; now and then anywhere.
    let (ptr, len) = if u.ratio(3, 4)? {
        (ANSWER_AT, answer_len)
    } else {
        (u.arbitrary()?, u.arbitrary()?)
    };
    let alloc = if u.ratio(3, 4)? {
        "(global.get $next) (global.set $next (i32.and (i32.add (i32.add (global.get $next) (local.get 0)) (i32.const 7)) (i32.const -8)))".to_owned()
    } else {
        format!("(i32.const {})", u.arbitrary::<i32>()?)
    };
    let log_at: u32 = if u.ratio(3, 4)? { 2048 } else { u.arbitrary()? };
    let log_header: [u8; 8] = u.arbitrary()?;
    let text = format!(
        r#"(module
          (memory (export "memory") 1 4)
          (global $next (mut i32) (i32.const 65536))
          (global (export "plaza_log") i32 (i32.const {log_at}))
          (func (export "plaza_rules_0_2"))
          (func (export "plaza_alloc") (param i32) (result i32) {alloc})
          (func (export "plaza_describe") (result i64) (i64.const {describe}))
          (func (export "plaza_validate") (param i32 i32) (result i64) (i64.const {validated}))
          (func (export "plaza_evaluate") (param i32 i32 i32 i32) (result i64) (i64.const {answer}))
          (data (i32.const 0) "{descriptor_bytes}")
          (data (i32.const 1024) "{{\"Ok\":null}}")
          (data (i32.const 2048) "{log}")
          (data (i32.const {ANSWER_AT}) "{answer_bytes}"))"#,
        describe = pack(0, u32::try_from(descriptor.len()).expect("short")),
        validated = pack(1024, 11),
        answer = pack(ptr, len),
        descriptor_bytes = literal(descriptor.as_bytes()),
        log = literal(&log_header),
        answer_bytes = literal(&answer),
    );
    Ok(wat::parse_str(&text).expect("the generated guest is valid WebAssembly text"))
}

/// Evaluate a plugin that loaded on the demo cart, every line in view, and judge its
/// effects as the executor would.
fn evaluate(plugin: &Plugin) {
    let cart = plaza::examples::demo_cart();
    let bytes = cart.encode();
    let visible: Vec<usize> = (0..cart.lines.len()).collect();
    let payable: Vec<plaza::Money> = cart.lines.iter().map(|l| l.original()).collect();
    let step = super::whole_cart_step(&cart, ThresholdBase::Original, "{}");
    let evaluation = crate::sandbox().evaluate(plugin, &bytes, &step);
    let effects: Vec<Effect> = match evaluation.result {
        Ok(effects) => effects,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    let ids: Vec<&str> = cart.lines.iter().map(|l| &*l.id).collect();
    let waterfall = Waterfall::default();
    let cx = Context {
        step: "fuzz",
        stage: plugin.descriptor.stage,
        visible: &visible,
        payable: &payable,
        shipping: cart.shipping_fee,
        line_ids: &ids,
        waterfall: &waterfall,
        presented: &cart.coupon_codes,
        buyer: &cart.buyer.id,
        payers: None,
        points: cart.points.as_ref(),
        points_spent: plaza::executor::points::Spent::default(),
    };
    let _ = dispose(&cx, effects);
}
