//! The anti-pyramid rules at plan save, through the real server: a plan whose commission
//! step pays a third upline level or pays on no sold line (for recruiting) is refused
//! before any order meets it, naming the step; a plan within the rules is saved.

use plaza_tests::server::*;
use serde_json::json;

fn plan(mode: &str) -> serde_json::Value {
    json!({"id": "d", "steps": [{
        "id": "dist", "plugin": {"name": "hostile-commission", "version": "0.1.0"},
        "config": {"mode": mode}
    }]})
}

#[test]
fn a_plan_paying_a_third_upline_or_for_recruiting_is_refused_at_save() {
    let server = Server::start();
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("hostile-commission").status, 201);
    for (mode, why) in [
        ("deep-upline", "anti-pyramid rule"),
        ("no-sale", "nothing is paid for recruiting"),
    ] {
        let refused = shop.post("/v1/plans", &plan(mode));
        assert_eq!(refused.status, 422, "{mode}: {}", refused.text);
        assert_eq!(refused.error_type(), "pyramid_refused", "{mode}");
        assert_eq!(refused.body["error"]["detail"]["step"], "dist");
        let violation = refused.body["error"]["detail"]["violation"]
            .as_str()
            .unwrap();
        assert!(violation.contains(why), "{mode}: {violation}");
        assert_eq!(shop.get("/v1/plans/d").status, 404, "{mode}: nothing saved");
    }
    let within = shop.post("/v1/plans", &plan("fixed-and-upline"));
    assert_eq!(within.status, 201, "{}", within.text);
}
