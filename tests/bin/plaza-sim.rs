//! Runs the deterministic simulation of the money domain over many seeds (see
//! `plaza_tests::sim`). A failing seed prints its error and replays with `--seed N`.
//!
//! ```text
//! plaza-sim [--seed N | --seeds FROM..TO] [--steps STEPS] [--no-faults]
//! ```
//!
//! `SIM_DEBUG=1` prints every step's request and answer as the digest takes them.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use plaza_tests::sim::{self, FaultRates};

fn usage() -> ! {
    eprintln!("usage: plaza-sim [--seed N | --seeds FROM..TO] [--steps STEPS] [--no-faults]");
    std::process::exit(2);
}

fn main() {
    let mut seeds = 0..100u64;
    let mut steps = 10_000u64;
    let mut rates = FaultRates::DEFAULT;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--seed" => {
                let seed: u64 = value().parse().unwrap_or_else(|_| usage());
                seeds = seed..seed + 1;
            }
            "--seeds" => {
                let range = value();
                let (from, to) = range.split_once("..").unwrap_or_else(|| usage());
                seeds = from.parse().unwrap_or_else(|_| usage())
                    ..to.parse().unwrap_or_else(|_| usage());
            }
            "--steps" => steps = value().parse().unwrap_or_else(|_| usage()),
            "--no-faults" => rates = FaultRates::NONE,
            _ => usage(),
        }
    }
    let started = std::time::Instant::now();
    let (mut total, mut failed) = (0u64, 0u64);
    for seed in seeds {
        match sim::run(seed, steps, rates) {
            Ok(summary) => {
                total += summary.steps;
                println!("{summary:?}");
            }
            Err(e) => {
                failed += 1;
                println!("FAILED seed {seed}: {e:#}");
            }
        }
    }
    println!(
        "{total} steps clean, {failed} seeds failed, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
