//! `plaza`: the host's command line.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use plaza::examples;
use plaza::executor::{self, Cart, Plan};
use plaza::sandbox::{ArtifactCache, Limits, Plugin, Sandbox};
use std::path::PathBuf;

// Every evaluation creates and drops a store and its instance records: a fast allocator
// shows in quote latency (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "plaza",
    version,
    about = "Promotion, pricing and commission rules in a wasm sandbox"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Quote the demo cart through the demo plan with the example plugins, and print it.
    Demo,
    /// Quote a cart through a plan.
    Quote {
        /// Plan JSON file.
        #[arg(long)]
        plan: PathBuf,
        /// Cart JSON file.
        #[arg(long)]
        cart: PathBuf,
        /// Plugin components to load (default: the example plugins).
        #[arg(long = "plugin")]
        plugins: Vec<PathBuf>,
        /// Directory for compiled plugin artifacts.
        #[arg(long)]
        cache: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo => {
            let sandbox = Sandbox::new(Limits::default(), None)?;
            let plugins = examples::load_examples(&sandbox)?;
            print_quote(
                &sandbox,
                &plugins,
                &examples::demo_plan(),
                &examples::demo_cart(),
            )
        }
        Command::Quote {
            plan,
            cart,
            plugins,
            cache,
        } => {
            let cache = cache.map(ArtifactCache::new).transpose()?;
            let sandbox = Sandbox::new(Limits::default(), cache)?;
            let plugins = if plugins.is_empty() {
                examples::load_examples(&sandbox)?
            } else {
                plugins
                    .iter()
                    .map(|path| {
                        let bytes = std::fs::read(path)
                            .with_context(|| format!("reading {}", path.display()))?;
                        sandbox
                            .load(&bytes)
                            .with_context(|| format!("loading {}", path.display()))
                    })
                    .collect::<anyhow::Result<_>>()?
            };
            let plan: Plan = read_json(&plan)?;
            let cart: Cart = read_json(&cart)?;
            print_quote(&sandbox, &plugins, &plan, &cart)
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &PathBuf) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn print_quote(
    sandbox: &Sandbox,
    plugins: &[Plugin],
    plan: &Plan,
    cart: &Cart,
) -> anyhow::Result<()> {
    let prepared = executor::prepare(plan, sandbox, |name, version| {
        examples::find(plugins, name, version)
    })?;
    let quote = executor::quote(sandbox, &prepared, cart)?;
    println!("{}", serde_json::to_string_pretty(&quote)?);
    Ok(())
}
