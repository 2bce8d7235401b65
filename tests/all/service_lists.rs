//! Every list pages: plugins, plans, a plan's versions, an order's ledger, a tenant's keys
//! and the tenants come a page at a time with a `limit`, each item exactly once and in a
//! stable order, and `plaza list --all` reads the same items.

use plaza_tests::server::*;
use serde_json::{Value, json};

/// Every item of `path` at `limit` items a page, checking each page's size.
fn walk(api: &Api, path: &str, limit: usize) -> Vec<Value> {
    let pages = pages(api, path, &format!("limit={limit}"));
    let last = pages.len() - 1;
    let mut items = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        let got = page["items"].as_array().unwrap();
        assert!(got.len() <= limit, "{path}: {} items", got.len());
        if i < last {
            assert_eq!(got.len(), limit, "{path}: only a full page has a next");
        }
        items.extend(got.iter().cloned());
    }
    items
}

fn cli_list(server: &Server, key: &str, args: &[&str]) -> Value {
    let mut all = vec!["list", "--server", &server.base, "--key", key];
    all.extend_from_slice(args);
    crate::plaza_cli(&all)
}

#[test]
fn every_list_pages_each_item_exactly_once_in_a_stable_order() {
    let server = Server::start();
    let operator = server.operator();
    let shop = operator.create_tenant("teahouse", "merchant");
    for i in 0..4 {
        operator.create_tenant(&format!("shop-{i}"), "merchant");
    }
    with_demo_plan(&shop);
    for i in 0..11 {
        shop.apply(&budget_plan(&format!("flash-{i:02}"), json!(null)));
    }
    for priority in 1..7 {
        let mut plan = demo_plan();
        plan["steps"][1]["priority"] = json!(priority);
        shop.apply(&plan);
    }
    for _ in 0..4 {
        shop.issue_key("teahouse", "checkout");
    }
    let placed = shop.post(
        "/v1/orders",
        &commit_request("order-1", "teahouse-autumn", &demo_cart()),
    );
    assert_eq!(placed.status, 201, "{}", placed.text);
    for (i, line) in ["l1", "l2", "l3"].iter().enumerate() {
        let refund = shop.post(
            "/v1/orders/order-1/refunds",
            &json!({"refund_id": format!("r-{i}"), "lines": [{"line": line}]}),
        );
        assert_eq!(refund.status, 200, "{}", refund.text);
    }

    let lists = [
        (&shop, "/v1/plugins", 5),
        (&shop, "/v1/plans", 12),
        (&shop, "/v1/plans/teahouse-autumn/versions", 7),
        (&shop, "/v1/orders/order-1/ledger", 0),
        (&shop, "/v1/tenants/teahouse/keys", 5),
        (&operator, "/v1/tenants", 5),
    ];
    for (api, path, expected) in lists {
        let whole = api.get(&format!("{path}?limit=1000"));
        assert_eq!(whole.status, 200, "{path}: {}", whole.text);
        assert!(
            whole.body["next"].is_null(),
            "{path}: one page holds it all"
        );
        let whole = whole.body["items"].as_array().unwrap().clone();
        if expected > 0 {
            assert_eq!(whole.len(), expected, "{path}");
        } else {
            assert!(whole.len() > 6, "{path}: sales, commissions and refunds");
        }
        for limit in [1, 2, 3] {
            assert_eq!(walk(api, path, limit), whole, "{path} by {limit}");
        }
        let default = api.get(path);
        assert_eq!(default.body["items"].as_array().unwrap(), &whole, "{path}");
    }
    let versions: Vec<u64> = walk(&shop, "/v1/plans/teahouse-autumn/versions", 2)
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, (1..=7).collect::<Vec<_>>(), "oldest first");

    let key = shop.key.clone().unwrap();
    let every = cli_list(&server, &key, &["plans", "--all", "--limit", "5"]);
    assert_eq!(every, json!(walk(&shop, "/v1/plans", 1000)));
    let page = cli_list(&server, &key, &["ledger", "order-1", "--limit", "2"]);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let next = page["next"].as_str().unwrap();
    let second = cli_list(
        &server,
        &key,
        &["ledger", "order-1", "--limit", "2", "--after", next],
    );
    assert_eq!(
        second["items"],
        json!(walk(&shop, "/v1/orders/order-1/ledger", 1000)[2..4])
    );
}

#[test]
fn a_list_refuses_a_limit_or_cursor_out_of_range_by_name() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    for bad in [
        "limit=0",
        "limit=1001",
        "after=zz",
        "after=ABCD",
        "after=abc",
    ] {
        let answer = shop.get(&format!("/v1/plans?{bad}"));
        assert_eq!(answer.status, 422, "{bad}: {}", answer.text);
        let field = bad.split('=').next().unwrap();
        assert_eq!(answer.body["error"]["field"], field, "{bad}");
    }
    let unknown = shop.get("/v1/plans?page=2");
    assert_eq!(unknown.status, 400, "{}", unknown.text);
    assert_eq!(unknown.error_type(), "bad_query");
}
