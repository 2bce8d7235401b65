//! The web console's page loads in a real headless Chromium, against the real server
//! holding 100 plugins (10 of the merchant's own and 90 shared on the plaza by nine other
//! tenants), 50 active plans and 200 orders: each page loaded afresh (a full reload: the
//! HTML, the modules, `GET /v1/me`, the page's API calls and the drawing) until it is
//! ready, 20 times; the median, p95 and worst, in ms since navigation started.
//!
//! Run: `cargo bench -p plaza-tests --bench console` (needs Chromium and its WebDriver:
//! Debian's `chromium` and `chromium-driver`; says so and stops without them)

// The browser test's driver; the benchmark uses only part of it.
#[allow(dead_code)]
#[path = "../console/browser.rs"]
mod browser;

use plaza_tests::server::*;
use serde_json::json;

const LOADS: usize = 20;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Some(why) = browser::unavailable() {
        eprintln!("the console benchmark needs Chromium: {why}");
        return;
    }
    let server = Server::start();
    let operator = server.operator();
    let shop = operator.create_tenant("teahouse", "merchant");
    let names: Vec<&str> = (plaza::examples::EXAMPLE_PLUGINS.iter())
        .map(|(name, _)| *name)
        .collect();
    for name in &names {
        assert_eq!(shop.upload(name).status, 201);
    }
    for n in 0..9 {
        let other = operator.create_tenant(&format!("author-{n}"), "provider");
        for name in &names {
            let bytes = plaza_tests::component(name);
            let up = other.post_bytes("/v1/plugins?visibility=shared", &bytes, "application/wasm");
            assert_eq!(up.status, 201, "{}", up.text);
        }
    }
    let listed = shop.get("/v1/plugins?limit=1000").body["items"]
        .as_array()
        .map_or(0, Vec::len);
    for n in 0..50 {
        let mut plan = demo_plan();
        plan["id"] = json!(format!("plan-{n:02}"));
        plan["steps"][1]["budget"] = json!({"max_orders": 1000, "max_amount": 10_000_000});
        shop.apply(&plan);
    }
    for n in 0..200 {
        let order = commit_request(
            &format!("order-{n:03}"),
            &format!("plan-{:02}", n % 50),
            &demo_cart(),
        );
        assert_eq!(shop.post("/v1/orders", &order).status, 201);
    }
    println!("seeded: {listed} plugins visible to the merchant, 50 plans, 200 orders");

    let b = browser::Browser::start("bench", 1280, 900).await;
    let console = format!("{}/console", server.base);
    b.sign_in(&console, shop.key.as_deref().unwrap()).await;
    b.find("main[data-ready=true]").await;
    let pages = [
        "plugins",
        "plugins/teahouse/threshold-discount/1.0.0",
        "plans",
        "plans/plan-00",
        "simulator/plan-00",
        "orders",
        "orders/order-000",
        "budgets",
    ];
    println!(
        "{:<44} {:>8} {:>8} {:>8}",
        "page (full load until ready)", "median", "p95", "max"
    );
    for page in pages {
        let mut ms = Vec::with_capacity(LOADS);
        b.goto(&format!("{console}#/{page}")).await;
        for _ in 0..LOADS {
            b.client.refresh().await.expect("reloading");
            let ready = b.find("main[data-ready=true]").await;
            let at = ready
                .attr("data-ready-ms")
                .await
                .expect("reading")
                .unwrap_or_default();
            ms.push(at.parse::<f64>().expect("the ready time"));
        }
        ms.sort_by(f64::total_cmp);
        let pick = |percent: usize| ms[(ms.len() - 1) * percent / 100];
        println!(
            "{:<44} {:>8.1} {:>8.1} {:>8.1}",
            format!("#/{page}"),
            pick(50),
            pick(95),
            pick(100)
        );
    }
    b.close().await;
}
