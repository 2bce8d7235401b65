//! Service providers (服务商): a merchant grants a provider one role; the provider's own
//! key acts for it by naming it in `Plaza-Tenant`, in that role only, until the merchant
//! revokes the grant. Through the real server and sled, and the command line.

use plaza_tests::server::*;
use serde_json::json;

#[test]
fn a_provider_acts_for_a_merchant_in_the_granted_role_until_revoked() {
    let server = Server::start();
    let operator = server.operator();
    let shop = operator.create_tenant("teahouse", "merchant");
    let rival = operator.create_tenant("rival", "merchant");
    let studio = operator.create_tenant("studio", "provider");
    let for_shop = studio.acting_for("teahouse");

    // An empty `Plaza-Tenant` names nobody: the key's own tenant.
    let own = studio.get_with("/v1/plans", &[("plaza-tenant", "")]);
    assert_eq!(own.status, 200, "{}", own.text);
    // Before a grant, the merchant is nobody the provider may see.
    let before = for_shop.get("/v1/plans");
    assert_eq!(before.status, 404, "{}", before.text);
    assert_eq!(before.error_type(), "not_found");

    let granted = shop.put("/v1/grants/studio", &json!({"role": "author"}));
    assert_eq!(granted.status, 200, "{}", granted.text);
    assert_eq!(granted.body["client"], "teahouse");
    assert_eq!(granted.body["role"], "author");

    // As the merchant's author: its plugins, its plans, its quotes.
    assert_eq!(for_shop.upload("threshold-discount").status, 201);
    for_shop.apply(&budget_plan("flash", json!(null)));
    let quote = for_shop.post("/v1/plans/flash/quote", &demo_cart());
    assert_eq!(quote.status, 200, "{}", quote.text);
    assert_eq!(quote.body["total"]["discount"], 1000);
    assert_eq!(
        shop.get("/v1/plans/flash").status,
        200,
        "the merchant's own"
    );
    assert_eq!(shop.get("/v1/plugins/threshold-discount/1.0.0").status, 200);
    assert_eq!(studio.get("/v1/plans").body["items"], json!([]));

    // Never more than the role: no orders, no keys, no grants, no settlements.
    let refused = [
        for_shop.post("/v1/orders", &commit_request("o-1", "flash", &demo_cart())),
        for_shop.post("/v1/tenants/teahouse/keys", &json!({"role": "admin"})),
        for_shop.put("/v1/grants/studio", &json!({"role": "checkout"})),
        for_shop.get("/v1/settlements"),
    ];
    for answer in refused {
        assert_eq!(answer.status, 403, "{}", answer.text);
        assert_eq!(answer.error_type(), "forbidden");
    }
    // A provider key in another role than the grant's is refused; an admin key acts in
    // the granted role.
    let studio_checkout = operator.issue_key("studio", "checkout");
    let wrong_role = studio_checkout.acting_for("teahouse").get("/v1/plans");
    assert_eq!(wrong_role.status, 403, "{}", wrong_role.text);

    // Another merchant, another tenant's key, the operator, a beneficiary: refused.
    assert_eq!(studio.acting_for("rival").get("/v1/plans").status, 404);
    assert_eq!(rival.acting_for("teahouse").get("/v1/plans").status, 404);
    assert_eq!(operator.acting_for("teahouse").get("/v1/plans").status, 403);
    let beneficiary = operator.issue_beneficiary_key("p-1");
    assert_eq!(
        beneficiary.acting_for("teahouse").get("/v1/plans").status,
        403
    );

    // The grant is durable and its role can change: now the provider runs the checkout.
    let server = server.restart();
    let shop = Api::new(&server.base, shop.key.as_deref().unwrap());
    let studio = Api::new(&server.base, studio.key.as_deref().unwrap());
    let for_shop = studio.acting_for("teahouse");
    let changed = shop.put("/v1/grants/studio", &json!({"role": "checkout"}));
    assert_eq!(changed.status, 200, "{}", changed.text);
    let placed = for_shop.post("/v1/orders", &commit_request("o-1", "flash", &demo_cart()));
    assert_eq!(placed.status, 201, "{}", placed.text);
    assert_eq!(for_shop.upload("store-coupon").status, 403);
    let clients = studio.get("/v1/clients");
    assert_eq!(
        clients.body["items"],
        json!([changed.body]),
        "{}",
        clients.text
    );
    assert_eq!(shop.get("/v1/grants").body["items"], json!([changed.body]));

    // Revoked: the very next request is refused; what the provider did stays the merchant's.
    assert_eq!(shop.delete("/v1/grants/studio").status, 204);
    assert_eq!(for_shop.get("/v1/orders/o-1").status, 404);
    assert_eq!(shop.get("/v1/orders/o-1").status, 200);
    assert_eq!(shop.delete("/v1/grants/studio").status, 404);
    assert_eq!(studio.get("/v1/clients").body["items"], json!([]));
}

#[test]
fn bad_grants_are_refused_and_change_nothing() {
    let server = Server::start();
    let operator = server.operator();
    let shop = operator.create_tenant("teahouse", "merchant");
    operator.create_tenant("rival", "merchant");
    let studio = operator.create_tenant("studio", "provider");
    let checkout = operator.issue_key("teahouse", "checkout");
    let cases = [
        (
            shop.put("/v1/grants/rival", &json!({"role": "author"})),
            409,
            "not_a_provider",
        ),
        (
            shop.put("/v1/grants/nobody", &json!({"role": "author"})),
            404,
            "not_found",
        ),
        (
            shop.put("/v1/grants/studio", &json!({"role": "admin"})),
            422,
            "invalid",
        ),
        (
            shop.put("/v1/grants/studio", &json!({"role": "owner"})),
            422,
            "invalid_body",
        ),
        (
            studio.put("/v1/grants/studio", &json!({"role": "author"})),
            409,
            "provider_cannot_grant",
        ),
        (
            checkout.put("/v1/grants/studio", &json!({"role": "author"})),
            403,
            "forbidden",
        ),
        (checkout.get("/v1/grants"), 403, "forbidden"),
    ];
    for (answer, status, kind) in cases {
        assert_eq!(answer.status, status, "{}", answer.text);
        assert_eq!(answer.error_type(), kind, "{}", answer.text);
    }
    assert_eq!(shop.get("/v1/grants").body["items"], json!([]));
    assert_eq!(studio.get("/v1/clients").body["items"], json!([]));
}

#[test]
fn the_command_line_grants_and_a_provider_acts_with_for() {
    let server = Server::start();
    let operator = server.operator();
    let shop = operator.create_tenant("teahouse", "merchant");
    let studio = operator.create_tenant("studio", "provider");
    let base = server.base.clone();
    let shop_key = shop.key.clone().unwrap();
    let studio_key = studio.key.clone().unwrap();
    let granted = crate::plaza_cli(&[
        "grant", "--server", &base, "--key", &shop_key, "studio", "--role", "author",
    ]);
    assert_eq!(granted["role"], "author");
    let clients = crate::plaza_cli(&["list", "--server", &base, "--key", &studio_key, "clients"]);
    assert_eq!(clients["items"][0]["client"], "teahouse");
    let plans = crate::plaza_cli(&[
        "list",
        "--server",
        &base,
        "--key",
        &studio_key,
        "--for",
        "teahouse",
        "plans",
    ]);
    assert_eq!(plans["items"], json!([]));
    let revoked = crate::plaza_cli(&[
        "grant", "--server", &base, "--key", &shop_key, "studio", "--revoke",
    ]);
    assert_eq!(revoked["revoked"], "studio");
    let grants = crate::plaza_cli(&["list", "--server", &base, "--key", &shop_key, "grants"]);
    assert_eq!(grants["items"], json!([]));
}
