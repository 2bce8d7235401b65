//! A rule crate's fixtures: example configurations and carts kept with what the rule must
//! do with them, run in the real sandbox with the production limits (`plaza plugin test`).
//!
//! A fixture is one JSON file in the crate's `fixtures/` folder:
//!
//! ```json
//! {
//!   "about": "满300减30 reached",
//!   "config": {"threshold": 30000, "discount": 3000},
//!   "cart": {"lines": [...], "buyer": {"id": "b-1"}, "now_ms": 1795000000000},
//!   "step": {"lines": ["l1"], "payable": [25000], "shipping": 800,
//!            "threshold_base": "original", "points": 500},
//!   "expect": {"effects": [...]}
//! }
//! ```
//!
//! - `cart` is what a checkout sends to `POST /v1/quote`; `step` (every field optional)
//!   is what the plan's earlier steps left: the lines this step sees (default all), what
//!   each still costs (default list price × quantity), the shipping fee (default the
//!   cart's), what thresholds are judged on (default `current`) and the buyer's usable
//!   points (default 0).
//! - `expect` is `{"effects": [...]}`, `{"error": "part of the message"}`, or, for a
//!   fixture without a cart, `"accepted"` or `{"refused": "part of the message"}`.
//!
//! Every fixture also holds the configuration schema to account: the schema the plugin
//! serves must accept exactly the configurations its `validate` accepts. Where JSON
//! Schema cannot say a rule (one field compared with another), the fixture says so in
//! `schema_cannot_say`, and the schema must then accept what the rule refuses.
//!
//! With `update`, every fixture's `expect` is rewritten to what the rule did, like a
//! snapshot tool; the agreement of schema and rule is never updated away.

use crate::executor::{Cart, Exchange, PointsOffer};
use crate::sandbox::{Plugin, Sandbox, output_size};
use anyhow::{Context as _, bail};
use plaza_plugin_sdk::wire::{StepFields, encode_step};
use plaza_plugin_sdk::{Effect, Money, Ppm, ThresholdBase};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One fixture file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[serde(default)]
    about: Option<String>,
    config: Value,
    #[serde(default)]
    cart: Option<Cart>,
    #[serde(default)]
    step: StepSetup,
    #[serde(default)]
    schema_cannot_say: Option<String>,
    #[serde(default)]
    expect: Option<Expect>,
}

/// What the plan's earlier steps left for this one.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepSetup {
    lines: Option<Vec<String>>,
    payable: Option<Vec<Money>>,
    shipping: Option<Money>,
    threshold_base: Option<Base>,
    points: Option<i64>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Base {
    Original,
    Current,
}

/// What the rule must do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Expect {
    /// The configuration is accepted (a fixture without a cart).
    Accepted,
    /// The configuration is refused with a message containing this.
    Refused(String),
    /// The rule proposes exactly these effects.
    Effects(Vec<Effect>),
    /// The step fails with a message containing this.
    Error(String),
}

/// How one fixture went.
#[derive(Debug, Serialize)]
pub struct Outcome {
    /// The file's name.
    pub fixture: String,
    /// `passed`, `updated` or `failed`.
    pub verdict: &'static str,
    /// Why it failed: the difference, or the disagreement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Instructions the evaluation used, and what share of the limit that is.
    pub fuel: u64,
    pub fuel_used_percent: f64,
    /// Bytes of output (as the host counts them against its limit) and the share.
    pub output_bytes: usize,
    pub output_used_percent: f64,
    /// Log bytes the evaluation wrote.
    pub log_bytes: usize,
    /// What the rule did: accepted or refused the configuration, its effects or error.
    pub actual: Expect,
}

/// Run every fixture in `dir` (sorted by name) against `plugin`, in `sandbox`.
pub fn run_dir(
    sandbox: &Sandbox,
    plugin: &Plugin,
    dir: &Path,
    update: bool,
) -> anyhow::Result<Vec<Outcome>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{} holds no fixtures (*.json)", dir.display());
    }
    let schema = Schema::of(plugin)?;
    files
        .iter()
        .map(|path| run_file(sandbox, plugin, &schema, path, update))
        .collect()
}

fn run_file(
    sandbox: &Sandbox,
    plugin: &Plugin,
    schema: &Schema,
    path: &Path,
    update: bool,
) -> anyhow::Result<Outcome> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let fixture: Fixture = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a fixture", path.display()))?;
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let ran = run(sandbox, plugin, schema, &fixture).with_context(|| path.display().to_string())?;
    let limits = sandbox.limits_for(plugin.size);
    let mut outcome = Outcome {
        fixture: name,
        verdict: "passed",
        failure: None,
        fuel: ran.fuel,
        fuel_used_percent: percent(ran.fuel, limits.fuel),
        output_bytes: ran.output_bytes,
        output_used_percent: percent(ran.output_bytes as u64, limits.max_output_bytes as u64),
        log_bytes: ran.log_bytes,
        actual: ran.actual.clone(),
    };
    let failure = match (
        ran.disagreement,
        compare(fixture.expect.as_ref(), &ran.actual),
    ) {
        (Some(disagreement), _) => Some(disagreement),
        (None, Some(_)) if update => {
            rewrite(path, &text, &ran.actual)?;
            outcome.verdict = "updated";
            None
        }
        (None, difference) => difference,
    };
    if let Some(failure) = failure {
        outcome.verdict = "failed";
        outcome.failure = Some(match &fixture.about {
            Some(about) => format!("{about}: {failure}"),
            None => failure,
        });
    }
    Ok(outcome)
}

/// Percent of `limit` used, to one decimal (display only).
#[allow(clippy::float_arithmetic, clippy::cast_precision_loss)]
fn percent(used: u64, limit: u64) -> f64 {
    if limit == 0 {
        return 0.0;
    }
    (used as f64 * 1000.0 / limit as f64).round() / 10.0
}

struct Ran {
    actual: Expect,
    /// The schema and the rule disagree about the configuration.
    disagreement: Option<String>,
    fuel: u64,
    output_bytes: usize,
    log_bytes: usize,
}

fn run(sandbox: &Sandbox, plugin: &Plugin, schema: &Schema, f: &Fixture) -> anyhow::Result<Ran> {
    let config = f.config.to_string();
    let by_schema = schema.check(&f.config);
    let by_rule = sandbox
        .validate_config(plugin, &config)
        .map_err(|e| anyhow::anyhow!("validating the configuration failed: {e}"))?;
    let disagreement = agreement(&by_schema, &by_rule, f.schema_cannot_say.as_deref());
    let mut ran = Ran {
        actual: match &by_rule {
            Ok(()) => Expect::Accepted,
            Err(message) => Expect::Refused(message.clone()),
        },
        disagreement,
        fuel: 0,
        output_bytes: 0,
        log_bytes: 0,
    };
    let (Some(cart), Ok(())) = (&f.cart, &by_rule) else {
        return Ok(ran);
    };
    let (cart_bytes, step_bytes) = encode(cart, &f.step, &config)?;
    let evaluation = sandbox.evaluate(plugin, &cart_bytes, &step_bytes);
    ran.fuel = evaluation.fuel;
    ran.log_bytes = evaluation.log.len();
    ran.actual = match evaluation.result {
        Ok(effects) => {
            ran.output_bytes = output_size(&effects);
            Expect::Effects(effects)
        }
        Err(e) => Expect::Error(e.to_string()),
    };
    Ok(ran)
}

/// Whether the schema and the rule agree on a configuration; `None` when they do.
fn agreement(
    by_schema: &Result<(), String>,
    by_rule: &Result<(), String>,
    cannot_say: Option<&str>,
) -> Option<String> {
    match (by_schema, by_rule, cannot_say) {
        (Ok(()), Ok(()), None) | (Err(_), Err(_), None) | (Ok(()), Err(_), Some(_)) => None,
        (Ok(()), Err(refusal), None) => Some(format!(
            "the configuration schema accepts a configuration the rule refuses ({refusal}): \
             say it in the schema (a #[schemars(..)] attribute on the config type), or, \
             where JSON Schema cannot, give the fixture \"schema_cannot_say\""
        )),
        (Err(errors), Ok(()), _) => Some(format!(
            "the configuration schema refuses a configuration the rule accepts: {errors}"
        )),
        (Ok(()), Ok(()), Some(_)) | (Err(_), Err(_), Some(_)) => Some(
            "\"schema_cannot_say\" is stale: the schema and the rule already agree here".into(),
        ),
    }
}

/// The cart and step as the executor encodes them.
fn encode(cart: &Cart, setup: &StepSetup, config: &str) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let mut cart = cart.clone();
    cart.validate().map_err(|e| anyhow::anyhow!("cart: {e}"))?;
    if let Some(balance) = setup.points {
        cart.points = Some(PointsOffer {
            balance,
            exchange: Exchange { points: 1, fen: 1 },
            max_share: Ppm::ONE,
        });
    }
    let visible: Vec<u32> = match &setup.lines {
        None => (0..cart.lines.len()).map(|i| i as u32).collect(),
        Some(ids) => ids
            .iter()
            .map(|id| {
                let at = cart.lines.iter().position(|l| *l.id == **id);
                at.map(|i| i as u32)
                    .with_context(|| format!("step.lines: no line {id:?}"))
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let payable: Vec<i64> = match &setup.payable {
        Some(p) if p.len() != visible.len() => {
            bail!(
                "step.payable: {} amounts for {} lines",
                p.len(),
                visible.len()
            )
        }
        Some(p) => p.iter().map(|m| m.0).collect(),
        None => {
            let line = |i: &u32| &cart.lines[*i as usize];
            // A validated cart's amounts fit (`cart::MAX_CART_TOTAL`).
            visible
                .iter()
                .map(|i| line(i).unit_price.times(line(i).quantity).0)
                .collect()
        }
    };
    let shipping = setup.shipping.unwrap_or(cart.shipping_fee).0;
    let mut step = Vec::new();
    encode_step(
        &StepFields {
            visible: &visible,
            payable: &payable,
            shipping,
            order_total: payable.iter().sum::<i64>() + shipping,
            threshold_base: match setup.threshold_base {
                Some(Base::Original) => ThresholdBase::Original,
                Some(Base::Current) | None => ThresholdBase::Current,
            },
            config,
        },
        &mut step,
    );
    Ok((cart.encode(), step))
}

/// The difference between what the fixture expects and what happened; `None` when they match.
fn compare(expected: Option<&Expect>, actual: &Expect) -> Option<String> {
    let Some(expected) = expected else {
        return Some("no \"expect\" yet: run `plaza plugin test --update` to record it".into());
    };
    match (expected, actual) {
        (Expect::Refused(want), Expect::Refused(got))
        | (Expect::Error(want), Expect::Error(got))
            if got.contains(want.as_str()) =>
        {
            None
        }
        (a, b) if a == b => None,
        _ => Some(diff(expected, actual)),
    }
}

/// A line diff of the expected and actual answers, as pretty JSON.
fn diff(expected: &Expect, actual: &Expect) -> String {
    let pretty = |e: &Expect| serde_json::to_string_pretty(e).unwrap_or_default() + "\n";
    let (old, new) = (pretty(expected), pretty(actual));
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .header("expected", "actual")
        .to_string()
}

/// Write `actual` as the fixture's `expect`, keeping everything else as it was.
fn rewrite(path: &Path, text: &str, actual: &Expect) -> anyhow::Result<()> {
    let mut fixture: serde_json::Map<String, Value> = serde_json::from_str(text)?;
    fixture.insert("expect".into(), serde_json::to_value(actual)?);
    let mut out = serde_json::to_string_pretty(&fixture)?;
    out.push('\n');
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

/// The plugin's configuration schema, ready to check configurations against.
struct Schema(jsonschema::Validator);

impl Schema {
    fn of(plugin: &Plugin) -> anyhow::Result<Schema> {
        let schema: Value = serde_json::from_str(&plugin.descriptor.config_schema)
            .context("the plugin's configuration schema is not JSON")?;
        let validator = jsonschema::validator_for(&schema)
            .map_err(|e| anyhow::anyhow!("the plugin's configuration schema is invalid: {e}"))?;
        Ok(Schema(validator))
    }

    /// `Err` lists where and why the schema refuses `config`.
    fn check(&self, config: &Value) -> Result<(), String> {
        let errors: Vec<String> = self
            .0
            .iter_errors(config)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}
