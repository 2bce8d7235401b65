//! The web console in a real headless Chromium against the real server: the main flow
//! (sign in, upload, compose a two-step plan through the generated forms, simulate and
//! read the explanation, activate, an order committed through the API shows with its
//! ledger), the errors a person must see (a wrong key, a refused configuration, a hostile
//! plugin's failure), and a second tenant who sees none of it. Screenshots of every page
//! are kept in `target/console-screenshots/`.

mod browser;

use browser::Browser;
use plaza_tests::server::*;
use serde_json::{Value, json};

fn cart(quantity: u32) -> Value {
    json!({
        "lines": [{"id": "l1", "sku": "longjing-250g", "merchant": "m-teahouse", "categories": ["tea"],
                   "quantity": quantity, "unit_price": 12800}],
        "buyer": {"id": "b-42"},
        "channel": "mini_program",
        "shipping_fee": 1200,
        "now_ms": 1_795_000_000_000_i64
    })
}

/// A component written where the browser's file chooser can read it.
fn component_file(dir: &std::path::Path, name: &str) -> String {
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, plaza_tests::component(name)).expect("writing the component");
    path.to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_composes_simulates_and_activates_a_plan_in_the_browser() {
    if browser::skipped() {
        return;
    }
    let server = Server::start();
    let operator = server.operator();
    let shop = operator.create_tenant("teahouse", "merchant");
    let rival = operator.create_tenant("rival", "agency");
    let files = tempfile::tempdir().expect("a temporary directory");
    let b = Browser::start("merchant", 1280, 900).await;
    let console = format!("{}/console", server.base);

    // A wrong key is refused, with a message, and nothing is kept.
    b.goto(&console).await;
    b.fill("#key", "not-a-key").await;
    b.click("form.signin button[type=submit]").await;
    b.text_with("form.signin [role=status]", "not valid").await;
    b.shot("wrong-key").await;
    let kept = b
        .client
        .execute("return sessionStorage.getItem('plaza.key')", vec![])
        .await;
    assert_eq!(kept.expect("reading session storage"), Value::Null);

    // Sign in: the header names the tenant and the key's role.
    b.fill("#key", shop.key.as_deref().unwrap()).await;
    b.click("form.signin button[type=submit]").await;
    b.text_with("#who", "teahouse").await;
    b.text_with("#who", "admin").await;

    // Upload two plugins through the page; each lands on its descriptor.
    for name in ["threshold-discount", "free-shipping"] {
        b.goto(&format!("{console}#/plugins")).await;
        b.find("#upload-file")
            .await
            .send_keys(&component_file(files.path(), name))
            .await
            .expect("choosing the file");
        b.click("#upload-submit").await;
        b.text_with("main h1", &format!("{name}@1.0.0")).await;
    }
    b.text_with("main", "JSON Schema").await;
    b.shot("plugin").await;
    b.goto(&format!("{console}#/plugins")).await;
    b.text_with("main", "free-shipping").await;
    b.shot("plugins").await;

    // Compose a two-step plan through the generated forms.
    b.goto(&format!("{console}#/plans")).await;
    b.fill("#new-plan-id", "autumn").await;
    b.click("form.inline button[type=submit]").await;
    b.find("#add-step-plugin").await;
    for name in ["threshold-discount", "free-shipping"] {
        b.select("#add-step-plugin", &format!("teahouse/{name}@1.0.0"))
            .await;
        b.click("#add-step").await;
    }
    let tiers = "li.step[data-plugin=threshold-discount]";
    b.click(&format!("{tiers} fieldset[data-path=tiers] > div > button"))
        .await;
    b.fill(
        &format!("{tiers} [data-path='tiers.0.threshold'] > input"),
        "3000",
    )
    .await;
    b.fill(
        &format!("{tiers} [data-path='tiers.0.discount'] > input"),
        "30000",
    )
    .await;
    b.text_with(
        &format!("{tiers} [data-path='tiers.0.discount'] output"),
        "¥300.00",
    )
    .await;
    b.fill(
        "li.step[data-plugin=free-shipping] [data-path=threshold] > input",
        "9900",
    )
    .await;

    // A configuration the plugin refuses: its message on the field, and nothing saved.
    b.click("#save-plan").await;
    let refusal = b
        .text_with(&format!("{tiers} .field-error"), "exceeds")
        .await;
    assert!(refusal.contains("¥300.00"), "{refusal}");
    b.shot("refused-config").await;
    assert_eq!(shop.get("/v1/plans/autumn").status, 404);

    b.fill(
        &format!("{tiers} [data-path='tiers.0.threshold'] > input"),
        "30000",
    )
    .await;
    b.fill(
        &format!("{tiers} [data-path='tiers.0.discount'] > input"),
        "3000",
    )
    .await;
    b.click("#save-plan").await;
    b.text_with("#plan-status", "Saved as version 1").await;
    b.shot("plan-saved").await;
    let saved = shop.get("/v1/plans/autumn/versions/1").body;
    assert_eq!(
        saved["steps"][0]["config"],
        json!({"mode": "tiers", "tiers": [{"threshold": 30000, "discount": 3000}]})
    );
    assert_eq!(saved["steps"][1]["config"], json!({"threshold": 9900}));

    // Simulate a cart against version 1 (not active yet) and read the explanation.
    b.goto(&format!("{console}#/simulator/autumn")).await;
    b.find("#sim-version option[value='1']").await;
    b.fill(
        ".cart-editor tbody tr td:nth-child(2) input",
        "longjing-250g",
    )
    .await;
    b.fill(".cart-editor tbody tr td:nth-child(3) input", "m-teahouse")
        .await;
    b.fill(".cart-editor tbody tr td:nth-child(5) input", "3")
        .await;
    b.fill(".cart-editor tbody tr td:nth-child(6) input", "128.00")
        .await;
    b.fill("#cart-shipping", "12.00").await;
    b.click("#quote").await;
    b.text_with("#quote-result", "¥354.00").await;
    b.text_with(".outcome[data-step=threshold-discount-1]", "applied")
        .await;
    b.text_with(".outcome[data-step=free-shipping-1]", "applied")
        .await;
    b.shot("simulated").await;
    b.fill(".cart-editor tbody tr td:nth-child(5) input", "1")
        .await;
    b.click("#quote").await;
    b.text_with(".outcome[data-step=threshold-discount-1]", "not applied")
        .await;
    b.text_with(".why[data-step=threshold-discount-1]", "threshold not met")
        .await;
    b.shot("not-applied").await;

    // Activate version 1; a commit through the API uses it.
    b.goto(&format!("{console}#/plans/autumn")).await;
    b.click("button.activate").await;
    b.text_with("#plan-state", "Version 1 is active").await;
    b.shot("activated").await;
    let placed = shop.post("/v1/orders", &commit_request("order-1", "autumn", &cart(3)));
    assert_eq!(placed.status, 201, "{}", placed.text);

    // The order and its ledger in the console.
    b.goto(&format!("{console}#/orders")).await;
    b.click("a[href='#/orders/order-1']").await;
    let ledger = b.text_with("#order-ledger", "sale").await;
    assert!(ledger.contains("¥354.00"), "{ledger}");
    b.shot("order").await;

    // A hostile plugin's failure is explained in the page.
    let hostile = shop.upload("hostile");
    assert_eq!(hostile.status, 201, "{}", hostile.text);
    let version = hostile.body["version"].as_str().unwrap().to_owned();
    shop.apply(&json!({"id": "trap", "steps": [
        {"id": "boom", "plugin": {"name": "hostile", "version": version}, "config": {"mode": "panic"}}]}));
    b.goto(&format!("{console}#/simulator/trap")).await;
    b.find("#sim-plan option[value=trap]").await;
    b.click("#quote").await;
    b.text_with(".outcome[data-step=boom]", "failed").await;
    b.text_with(".why[data-step=boom]", "crashed").await;
    b.shot("hostile").await;

    // The plugins page tells how the quotes ran each plugin, failures by kind.
    b.goto(&format!("{console}#/plugins")).await;
    let stats = b.text_with("main", "How your quotes ran them").await;
    assert!(stats.contains("teahouse/hostile@"), "{stats}");
    b.text_with("main .outcome.failed", "crashed ×1").await;
    b.shot("plugin-stats").await;

    // Another tenant signs in: none of the merchant's plugins, plans or orders.
    b.click("#signout").await;
    b.fill("#key", rival.key.as_deref().unwrap()).await;
    b.click("form.signin button[type=submit]").await;
    b.text_with("#who", "rival").await;
    for page in ["plugins", "plans", "orders"] {
        b.goto(&format!("{console}#/{page}")).await;
        b.find(&format!("main[data-page={page}][data-ready=true]"))
            .await;
        let text = b.page_text().await;
        for private in ["threshold-discount", "autumn", "order-1"] {
            assert!(
                !text.contains(private),
                "rival's {page} page shows {private}"
            );
        }
    }
    b.goto(&format!("{console}#/orders/order-1")).await;
    b.text_with("main .error", "order").await;
    b.shot("other-tenant").await;

    // 简体中文.
    b.select("#lang", "zh").await;
    b.text_with("nav", "方案").await;
    b.shot("zh").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_fits_a_phone_width_window() {
    if browser::skipped() {
        return;
    }
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    let b = Browser::start("phone", 390, 844).await;
    b.sign_in(
        &format!("{}/console", server.base),
        shop.key.as_deref().unwrap(),
    )
    .await;
    for page in ["plugins", "plans/teahouse-autumn", "simulator", "orders"] {
        b.goto(&format!("{}/console#/{page}", server.base)).await;
        let section = page.split('/').next().unwrap_or(page);
        b.find(&format!("main[data-page={section}][data-ready=true]"))
            .await;
        let overflow = b
            .client
            .execute(
                "return document.documentElement.scrollWidth - window.innerWidth",
                vec![],
            )
            .await
            .expect("measuring");
        assert!(
            overflow.as_i64().unwrap() <= 0,
            "{page} is wider than the window by {overflow}px"
        );
        b.shot(&page.replace('/', "-")).await;
    }
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agency_joins_a_pool_on_the_plaza_with_its_own_plan() {
    if browser::skipped() {
        return;
    }
    let server = Server::start();
    let operator = server.operator();
    let shop = operator.create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    let carrier = operator.create_tenant("c", "agency");
    let helper = operator.create_tenant("h", "agency");
    let offer = json!({"spus": ["teapot-yixing"], "service_rate_ppm": 100_000, "agencies": ["c"]});
    assert_eq!(shop.put("/v1/offers/teaware", &offer).status, 200);
    let pool = json!({"name": "Autumn tea picks", "items": [{"merchant": "teahouse", "offer": "teaware"}],
                      "helper_rate_ppm": 300_000, "agencies": []});
    assert_eq!(carrier.put("/v1/pools/autumn", &pool).status, 200);
    assert_eq!(helper.upload("promoter-commission").status, 201);
    helper.apply(&json!({"id": "helpers", "steps": [{"id": "c", "plugin": {"name": "promoter-commission", "version": "1.0.0"},
                         "config": {"default_rate": 50_000}}]}));

    let b = Browser::start("agency", 1280, 900).await;
    let console = format!("{}/console", server.base);
    b.sign_in(&console, helper.key.as_deref().unwrap()).await;
    b.text_with("#who", "Agency").await;
    b.goto(&format!("{console}#/market")).await;
    let pools = b.text_with("main", "Autumn tea picks").await;
    assert!(pools.contains("30%"), "the helper rate: {pools}");
    b.text_with("main", "You have not joined a pool").await;
    b.shot("pools").await;
    b.select("main table select", "helpers").await;
    b.click("main table button.primary").await;
    b.text_with("main", "joined").await;
    b.shot("joined").await;
    let memberships = helper.get("/v1/memberships").body;
    assert_eq!(memberships["items"][0]["plan"], "helpers", "{memberships}");
    assert_eq!(memberships["items"][0]["pool"], "autumn");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promoter_reads_its_balance_and_statement_with_its_own_key() {
    use plaza::clock::{Clock as _, ManualClock};
    use plaza::domain::order_settings::DEFAULT_AFTER_SALE_MS;
    if browser::skipped() {
        return;
    }
    const T0: i64 = 1_800_000_000_000;
    let clock = ManualClock::at(T0);
    let server = Server::start_with_clock(|c| c.timer_tick_ms = 5, clock.clone());
    let operator = server.operator();
    let shop = operator.create_tenant("teahouse", "merchant");
    shop.trust_checkout_attribution();
    assert_eq!(shop.upload("agency-waterfall").status, 201);
    shop.apply(&json!({"id": "w", "steps": [{
        "id": "waterfall", "plugin": {"name": "agency-waterfall", "version": "1.1.0"},
        "config": {"carrying_agency": 200_000, "helper_agency": 500_000, "promoter": 800_000}}]}));
    // Two units at ¥100.00: 20 % to the carrier, half of that to the helper, 80 % of the
    // helper's to the promoter: ¥16.00 for p-1.
    let cart = json!({"lines": [{"id": "l1", "sku": "tea", "merchant": "teahouse", "quantity": 2, "unit_price": 10_000}],
        "buyer": {"id": "b-1"}, "now_ms": T0,
        "attribution": {"carrying_agency": "ag-1", "helper_agency": "ag-2", "promoter": "p-1"}});
    assert_eq!(
        shop.post("/v1/orders", &commit_request("o-1", "w", &cart))
            .status,
        201
    );
    for kind in ["paid", "shipped", "received"] {
        let event = json!({"event_id": kind, "type": kind, "at_ms": T0});
        assert_eq!(shop.post("/v1/orders/o-1/events", &event).status, 200);
    }
    let promoter = operator.issue_beneficiary_key("p-1");
    let b = Browser::start("promoter", 1280, 900).await;
    let console = format!("{}/console", server.base);
    b.sign_in(&console, promoter.key.as_deref().unwrap()).await;
    b.text_with("#who", "p-1").await;
    // Owed, not yet settleable: the after-sale window is open.
    let pending = b.text_with("main", "Earnings of p-1").await;
    assert!(pending.contains("¥16.00"), "{pending}");
    b.text_with("main", "No statements yet").await;
    b.shot("pending").await;

    // The window closes (the clock moves; the host's timer completes the order) and the
    // merchant settles: the statement shows, paid out.
    clock.advance(DEFAULT_AFTER_SALE_MS + 1);
    while shop.get("/v1/orders/o-1").body["state"] != "completed" {
        tokio::task::yield_now().await;
    }
    let run = json!({"settlement_id": "s-1", "until_ms": clock.now_ms()});
    assert_eq!(shop.post("/v1/settlements", &run).status, 201);
    b.client.refresh().await.expect("reloading");
    let statement = b
        .text_with("main section.card:last-of-type table", "s-1")
        .await;
    assert!(
        statement.contains("teahouse") && statement.contains("¥16.00"),
        "{statement}"
    );
    b.shot("settled").await;
    b.close().await;
}
