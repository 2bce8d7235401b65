//! Plaza's end-to-end tests: real plugins built from `plugins/`, loaded into the real
//! sandbox, run through the real executor, and the real server over HTTP on its sled
//! store. One binary, a module per area.

mod anti_pyramid;
mod attribution;
mod author_journey;
mod change_feed;
mod composed;
mod coupon_redemption;
mod coupons;
mod daily_hours;
mod day_budgets;
mod examples;
mod fixtures;
mod free_gifts;
mod fuzz_corpus;
mod gift_orders;
mod help_campaigns;
mod hostile;
mod hostile_wire;
mod incentive_coupons;
mod incentives;
mod legacy;
mod live_room_coupons;
mod money_paths;
mod order_lifecycle;
mod plaza_affiliations;
mod plaza_isolation;
mod plaza_layers;
mod plaza_ledgers;
mod plaza_pools;
mod points;
mod properties;
mod providers;
mod refund_kinds;
mod reports;
mod scheduled_activation;
mod service_compile;
mod service_concurrency;
mod service_contract;
mod service_durability;
mod service_hardening;
mod service_input;
mod service_isolation;
mod service_lifecycle;
mod service_lists;
mod service_orders;
mod settlement;
mod settlement_durability;
mod settlement_model;
mod several_hosts;
mod shadow;
mod simulation;
mod snapshot;
mod store_postgres;
mod unit_budgets;
mod usable_coupons;

/// Run the `plaza` command line with `args` and parse what it prints as JSON; it must
/// succeed.
fn plaza_cli(args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plaza-e2e"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
