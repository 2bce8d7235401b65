//! # Plaza plugin SDK
//!
//! Write a promotion, pricing or commission rule in plain Rust; Plaza runs it, compiled to
//! WebAssembly, in a sandbox on every cart.
//!
//! ## Core concepts
//!
//! - A **rule** sees one cart ([`Input`]: lines, buyer (with the points they may spend),
//!   channel, attribution, coupon codes, the request time), the pipeline state so far
//!   (what each line still costs, shipping) and its own configuration, and **proposes**
//!   [`Effect`]s: discounts, commission shares, gifts, points to spend, notes.
//! - The host **disposes**: it clips a discount to what is still payable, allocates
//!   order discounts across lines exactly to the fen, refuses commission over 90 % of its
//!   base, holds a points deduction to the buyer's balance and the merchant's exchange rate
//!   and share, and explains every decision. A rule never needs to defend against those
//!   mistakes itself, but the explanation will show them.
//! - A rule belongs to one [`Stage`]; a plan runs stages in the order item price → store
//!   promotion → coupon → points → shipping → commission.
//! - Money is [`Money`] (integer fen) and rates are [`Ppm`] (parts per million). Never
//!   floats.
//! - A rule has no clock, randomness, files or network. The request time is `cart.now_ms`.
//!   It may [`log`] a little (1 KiB per evaluation by default).
//!
//! ## Writing a rule
//!
//! ```
//! use plaza_plugin_sdk::prelude::*;
//!
//! /// Take a fixed amount off every order that spends at least `threshold`.
//! pub struct SpendAndSave;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! #[serde(deny_unknown_fields)]
//! pub struct Config {
//!     /// Spend at least this much (fen).
//!     threshold: Money,
//!     /// Take this much off (fen).
//!     #[schemars(range(min = 1))]
//!     discount: Money,
//! }
//!
//! impl Rule for SpendAndSave {
//!     type Config = Config;
//!     const STAGE: Stage = Stage::StorePromotion;
//!     const DESCRIPTION: &'static str = "满减: a fixed discount over a threshold";
//!
//!     fn validate(config: &Config) -> Result<(), String> {
//!         if config.discount > config.threshold {
//!             return Err("discount exceeds threshold".into());
//!         }
//!         Ok(())
//!     }
//!
//!     fn evaluate(config: &Config, input: &Input) -> Result<Vec<Effect>, String> {
//!         if input.threshold_amount() < config.threshold {
//!             return Ok(vec![]);
//!         }
//!         Ok(vec![Effect::order_discount(config.discount, "满300减30")])
//!     }
//! }
//!
//! // Exports the rule when built for wasm; a no-op in native builds.
//! plaza_plugin_sdk::export_rule!(SpendAndSave);
//!
//! // Test it natively, no wasm needed:
//! use plaza_plugin_sdk::testing::{cart, line};
//! let input = cart().line(line("sku-1", Money::yuan(200), 2)).input();
//! let effects = plaza_plugin_sdk::testing::run::<SpendAndSave>(
//!     r#"{"threshold": 30000, "discount": 3000}"#,
//!     &input,
//! ).unwrap();
//! assert_eq!(effects, vec![Effect::order_discount(Money(3000), "满300减30")]);
//! ```
//!
//! ## Building and uploading
//!
//! A plugin is a `cdylib` crate depending on this SDK, built for `wasm32-unknown-unknown`
//! (the `build` feature of this crate does it: its `build` module when enabled); the
//! module is what you upload to Plaza. The contract it implements is `plaza:rules@0.2.0`, described in [`wire`]. The
//! host still runs components built against `plaza:rules@0.1.0` (`wit/plaza-rules.wit`,
//! frozen).

#![warn(missing_docs)]

pub mod arena;
mod contract;
#[doc(hidden)]
pub mod guest;
mod helpers;
mod money;
pub mod testing;
mod texts;
mod view;
pub mod wire;

#[cfg(feature = "build")]
pub mod build;

pub use money::{MAX_COMMISSION_RATE, MAX_UNIT_PRICE, Money, Ppm, allocate};
pub use schemars;

pub use contract::{
    Channel, Commission, Descriptor, Effect, Gift, LineAdjustment, OrderAdjustment, Party,
    Pipeline, PointsDeduction, Share, ShippingAdjustment, Stage, StepContext, ThresholdBase,
};
pub use texts::{Texts, TextsIter};
pub use view::{Attribution, Buyer, Cart, Input, Line};

/// Append a message to this evaluation's log. The host keeps the first 1 KiB (by default)
/// and marks the log truncated after that. In native tests the message goes to stderr.
pub fn log(message: &str) {
    #[cfg(target_arch = "wasm32")]
    guest::append(message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[plugin log] {message}");
}

/// Everything a rule author needs in scope.
pub mod prelude {
    pub use crate::{
        Cart, Channel, Effect, Input, Line, Money, Party, Ppm, Rule, Share, Stage, log,
    };
}

/// A rule: configuration in, proposed effects out.
///
/// The configuration type is the one source of truth for the configuration: serde parses
/// it, and its JSON Schema (what plan authors and the console's forms see) is derived from
/// it with [`schemars`] — `#[serde(deny_unknown_fields)]` becomes
/// `additionalProperties: false`, `#[schemars(range(min = 1))]` a `minimum`, and so on.
/// [`Rule::validate`] is left with what a schema cannot say (one field compared with
/// another).
pub trait Rule {
    /// The rule's configuration, parsed from the plan step's JSON.
    type Config: serde::de::DeserializeOwned + schemars::JsonSchema;
    /// Stable name, kebab-case; `None` (the default) takes the crate's name.
    const NAME: Option<&'static str> = None;
    /// Semantic version of this rule; `None` (the default) takes the crate's version.
    const VERSION: Option<&'static str> = None;
    /// The stage the rule runs in.
    const STAGE: Stage;
    /// One line for people browsing plugins.
    const DESCRIPTION: &'static str;

    /// JSON Schema of [`Rule::Config`], shown to plan authors: derived from the type.
    fn config_schema() -> String {
        schemars::schema_for!(Self::Config).as_value().to_string()
    }

    /// Check a parsed configuration when a plan is saved. Parsing already succeeded.
    fn validate(config: &Self::Config) -> Result<(), String> {
        let _ = config;
        Ok(())
    }

    /// Propose effects for one cart. `Err` fails this step with the message shown in the
    /// explanation; it never fails the buyer's whole quote unless the plan says so.
    fn evaluate(config: &Self::Config, input: &Input<'_>) -> Result<Vec<Effect>, String>;
}

/// The crate a rule is built from: where its name and version come from unless the rule
/// names them. Made by [`package!`] in the rule's own crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Package {
    /// `CARGO_PKG_NAME`.
    pub name: &'static str,
    /// `CARGO_PKG_VERSION`.
    pub version: &'static str,
}

/// The [`Package`] of the crate this is written in.
#[macro_export]
macro_rules! package {
    () => {
        $crate::Package {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        }
    };
}

/// The descriptor the host reads at upload.
pub fn describe<R: Rule>(package: Package) -> Descriptor {
    Descriptor {
        name: R::NAME.unwrap_or(package.name).to_owned(),
        version: R::VERSION.unwrap_or(package.version).to_owned(),
        stage: R::STAGE,
        description: R::DESCRIPTION.to_owned(),
        config_schema: R::config_schema(),
    }
}

/// Parse and validate a configuration, as the host's `validate-config` call does.
pub fn validate_config<R: Rule>(config: &str) -> Result<(), String> {
    let parsed = parse_config::<R>(config)?;
    R::validate(&parsed)
}

/// Parse the configuration and evaluate, as the host's `evaluate` call does.
pub fn evaluate<R: Rule>(input: &Input<'_>) -> Result<Vec<Effect>, String> {
    let config = parse_config::<R>(input.config)?;
    R::evaluate(&config, input)
}

fn parse_config<R: Rule>(config: &str) -> Result<R::Config, String> {
    serde_json::from_str(config).map_err(|e| format!("invalid configuration: {e}"))
}

/// Export a [`Rule`] as the plugin's contract 0.2 exports (see [`wire`]). Expands to
/// nothing in native builds, so the same crate can be unit-tested with [`testing`].
#[macro_export]
macro_rules! export_rule {
    ($rule:ty) => {
        #[cfg(target_arch = "wasm32")]
        // The ABI glue: the only place it lives.
        #[allow(unsafe_code)]
        const _: () = {
            #[unsafe(export_name = "plaza_log")]
            static PLAZA_LOG: $crate::guest::LogBuffer = $crate::guest::LogBuffer::new();

            #[unsafe(export_name = "plaza_rules_0_2")]
            extern "C" fn plaza_rules_0_2() {}

            #[unsafe(export_name = "plaza_alloc")]
            extern "C" fn plaza_alloc(len: i32) -> i32 {
                $crate::guest::alloc(len)
            }

            #[unsafe(export_name = "plaza_describe")]
            extern "C" fn plaza_describe() -> i64 {
                $crate::guest::describe::<$rule>(&PLAZA_LOG, $crate::package!())
            }

            #[unsafe(export_name = "plaza_validate")]
            extern "C" fn plaza_validate(ptr: i32, len: i32) -> i64 {
                // SAFETY: the host passes bytes it wrote at a `plaza_alloc` address.
                unsafe { $crate::guest::validate::<$rule>(&PLAZA_LOG, ptr, len) }
            }

            #[unsafe(export_name = "plaza_evaluate")]
            extern "C" fn plaza_evaluate(
                cart: i32,
                cart_len: i32,
                step: i32,
                step_len: i32,
            ) -> i64 {
                // SAFETY: the host passes bytes it wrote at `plaza_alloc` addresses.
                unsafe {
                    $crate::guest::evaluate::<$rule>(&PLAZA_LOG, (cart, cart_len), (step, step_len))
                }
            }
        };
    };
}
