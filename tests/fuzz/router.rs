//! The HTTP API in process (`tower::ServiceExt::oneshot` on the real router over the real
//! domain, on an in-memory store): arbitrary methods, paths, queries, headers and bodies,
//! a few requests per input. Every answer is a success or a typed JSON error
//! (`{"error": {"type": …}}`), never a 500 and never a panic.
//!
//! The world (a merchant with the demo plugins and an active plan, a second tenant, keys
//! of each role) lives across inputs, as a server's would; it starts again every few
//! thousand inputs so what the requests wrote stays small.

use crate::sim::{FaultRates, World};
use arbitrary::{Result, Unstructured};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use plaza::domain::{NewKey, NewTenant, Principal, Role, TenantKind};
use std::sync::Mutex;
use tower::ServiceExt;

struct Harness {
    world: World,
    router: axum::Router,
    /// Bearer tokens a request may carry: each role of the merchant, the other tenant's
    /// admin, a beneficiary's key, the operator, and nonsense.
    tokens: Vec<String>,
    inputs: u32,
}

const RESTART_EVERY: u32 = 5_000;

fn harness() -> Harness {
    let world = World::new(0, FaultRates::NONE).expect("the simulated world starts");
    let plaza = world.plaza().clone();
    let tokens = world.block_on(async {
        plaza
            .create_tenant(
                &Principal::Operator,
                NewTenant {
                    id: "other".into(),
                    name: "Another shop".into(),
                    kind: TenantKind::Agency,
                },
            )
            .await?;
        let mut tokens = vec![crate::sim::OPERATOR_KEY.to_owned(), "not-a-key".to_owned()];
        for (tenant, role) in [
            ("shop", Role::Admin),
            ("shop", Role::Checkout),
            ("shop", Role::Author),
            ("other", Role::Admin),
        ] {
            let admin = Principal::Member {
                tenant: tenant.into(),
                role: Role::Admin,
            };
            let new = NewKey {
                role,
                name: format!("{tenant}-key"),
            };
            let (issued, _) = plaza.create_key(&admin, tenant, new, None).await?;
            tokens.push(issued.key.expect("a new key shows its secret"));
        }
        let (issued, _) = plaza
            .create_beneficiary_key(&Principal::Operator, "p-1001", Default::default(), None)
            .await?;
        tokens.push(issued.key.expect("a new key shows its secret"));
        Ok::<_, plaza::domain::Error>(tokens)
    });
    let tokens = tokens.expect("keys are issued");
    let state = std::sync::Arc::new(plaza::api::App {
        plaza,
        limiter: plaza::api::limit::Limiter::new(
            &Default::default(),
            std::sync::Arc::new(world.clock().clone()),
        ),
        startup: Default::default(),
        draining: false.into(),
    });
    let router = plaza::api::app(state, plaza::config::DEFAULT_MAX_BODY_BYTES);
    Harness {
        world,
        router,
        tokens,
        inputs: 0,
    }
}

const ROUTES: &[&str] = &[
    "/v1/tenants",
    "/v1/tenants/{}/keys",
    "/v1/plugins",
    "/v1/plugins/{}/{}",
    "/v1/plans",
    "/v1/plans/{}",
    "/v1/plans/{}/versions",
    "/v1/plans/{}/versions/{}",
    "/v1/plans/{}/activate",
    "/v1/plans/{}/scheduled-activation",
    "/v1/plans/{}/rollback",
    "/v1/plans/{}/diff",
    "/v1/plans/{}/budgets",
    "/v1/plans/{}/quote",
    "/v1/orders",
    "/v1/orders/{}",
    "/v1/orders/{}/ledger",
    "/v1/orders/{}/cancel",
    "/v1/orders/{}/gift/{}/accept",
    "/v1/orders/{}/gift/{}/decline",
    "/v1/orders/{}/refunds",
    "/v1/orders/{}/events",
    "/v1/orders/{}/parties",
    "/v1/settlements",
    "/v1/settlements/{}",
    "/v1/settlements/{}/statements",
    "/v1/beneficiaries/{}/balance",
    "/v1/beneficiaries/{}/statements",
    "/v1/beneficiaries/{}/keys",
    "/v1/reports/summary",
    "/v1/settings/orders",
    "/v1/settings/attribution",
    "/v1/promoters",
    "/v1/promoters/{}",
    "/v1/promoters/{}/accept",
    "/v1/promoters/{}/suspend",
    "/v1/promoters/{}/reinstate",
    "/v1/touches",
    "/v1/touches/{}",
    "/v1/buyers/{}/touches",
    "/v1/offers",
    "/v1/offers/{}",
    "/v1/coupons",
    "/v1/coupons/{}",
    "/v1/coupons/{}/claims",
    "/v1/coupons/{}/codes",
    "/v1/coupons/{}/stock-moves",
    "/v1/plans/{}/usable-coupons",
    "/v1/incentives",
    "/v1/incentives/{}",
    "/v1/incentives/{}/registrations",
    "/v1/incentives/{}/registrations/{}/review",
    "/v1/incentives/{}/facts/{}",
    "/v1/incentives/{}/progress/{}",
    "/v1/help-campaigns",
    "/v1/help-campaigns/{}",
    "/v1/help-campaigns/{}/initiations",
    "/v1/help-campaigns/{}/initiations/{}",
    "/v1/help-campaigns/{}/initiations/{}/helps",
    "/v1/coupon-codes/{}/claims",
    "/v1/coupon-claims/{}",
    "/v1/buyers/{}/coupons",
    "/v1/settings/points",
    "/v1/buyers/{}/points",
    "/v1/buyers/{}/points/ledger",
    "/v1/buyers/{}/points/grants",
    "/v1/plaza/affiliates",
    "/v1/plaza/affiliates/{}",
    "/v1/plaza/affiliations",
    "/v1/plaza/affiliations/{}",
    "/v1/pools/{}",
    "/v1/pools/{}/members",
    "/v1/plaza/offers",
    "/v1/plaza/pools",
    "/v1/plaza/pools/{}/{}",
    "/v1/plaza/pools/{}/{}/members",
    "/v1/memberships",
    "/v1/plaza/report",
    "/v1/plaza/orders",
    "/v1/plaza/orders/{}/{}",
    "/v1/grants",
    "/v1/grants/{}",
    "/v1/clients",
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
];

const SEGMENTS: &[&str] = &[
    "shop",
    "other",
    "sim",
    "demo",
    "o-1",
    "o-2",
    "1",
    "0",
    "2",
    "4294967296",
    "-1",
    "threshold-discount",
    "1.0.0",
    "%2F",
    "..",
    "%00",
    "%E5%95%86",
    "a%20b",
    "p-1001",
    "s-1",
    "t-1",
    "b-42",
    "pool-1",
    "studio",
];

const QUERIES: &[&str] = &[
    "",
    "?limit=1",
    "?limit=0",
    "?limit=100000",
    "?cursor=zz",
    "?version=1",
    "?version=x",
    "?from=1&to=2",
    "?status=placed",
    "?buyer=b-1",
    "?unknown=1",
    "?limit=1&limit=2",
    "?from_ms=0&until_ms=1795000000000",
    "?from_ms=x",
];

const METHODS: &[Method] = &[
    Method::GET,
    Method::POST,
    Method::DELETE,
    Method::PUT,
    Method::PATCH,
    Method::HEAD,
    Method::OPTIONS,
];

/// Bodies a real client sends, for mutation: the demo cart, plan, an order, refunds (by
/// units, amount, shipping, all), a tenant, a key, an activation, an order event, order
/// settings, a settlement run, an invitation and its acceptance, a touch, attribution
/// settings, an offer, a pool, a membership, a grant, a coupon template, a claim, a
/// batch of codes, a 主播券 split over live rooms and a move of its stock, a help
/// campaign, an initiation and a help, points settings and a points grant.
fn templates() -> Vec<serde_json::Value> {
    let cart: serde_json::Value = serde_json::from_str(plaza::examples::DEMO_CART).expect("cart");
    let plan: serde_json::Value = serde_json::from_str(plaza::examples::DEMO_PLAN).expect("plan");
    vec![
        serde_json::json!({"order_id": "o-1", "plan": "sim", "cart": cart.clone()}),
        cart,
        plan,
        serde_json::json!({"refund_id": "r-1", "lines": [{"line": "l1", "quantity": 1}]}),
        serde_json::json!({"refund_id": "r-2", "lines": [{"line": "l2", "amount": 100}], "shipping": 200}),
        serde_json::json!({"refund_id": "r-3", "all": true}),
        serde_json::json!({"id": "t-new", "name": "New shop", "kind": "merchant"}),
        serde_json::json!({"role": "checkout", "name": "till"}),
        serde_json::json!({"version": 1}),
        serde_json::json!({"version": 1, "at_ms": 1_900_000_000_000i64}),
        serde_json::json!({"event_id": "e-1", "type": "paid", "at_ms": 1_795_000_000_000i64}),
        serde_json::json!({"payment_timeout_ms": 1_800_000, "after_sale_ms": 604_800_000}),
        serde_json::json!({"settlement_id": "s-1", "until_ms": 1_795_000_000_000i64}),
        serde_json::json!({"id": "p-1001", "kind": "promoter", "name": "Lin"}),
        serde_json::json!({"invite_token": "pz_00"}),
        serde_json::json!({"touch_id": "t-1", "buyer": "b-42", "promoter": "p-1001", "at_ms": 1_795_000_000_000i64}),
        serde_json::json!({"source": "touches", "lock_days": 30, "model": "last_touch", "scope": "product", "order_extends_lock": true}),
        serde_json::json!({"spus": ["teapot-yixing"], "categories": ["tea"], "service_rate_ppm": 100_000, "agencies": ["other"]}),
        serde_json::json!({"name": "Pool", "items": [{"merchant": "shop", "offer": "o-1"}], "helper_rate_ppm": 300_000, "plan": "sim"}),
        serde_json::json!({"plan": "sim"}),
        serde_json::json!({"role": "author"}),
        serde_json::json!({"id": "c-1", "name": "Coupon", "plan": "sim", "step": "tea-coupon", "code": "TEA30", "stock": 3, "per_buyer": 2, "validity": {"days_from_claim": {"days": 7}}, "bindings": {"channel": "live_room", "new_customers_only": true}, "on_refund": "keep"}),
        serde_json::json!({"claim_id": "cl-1", "buyer": {"id": "b-42", "member_tier": "gold", "new_customer": true}, "channel": "live_room"}),
        serde_json::json!({"batch_id": "batch-1", "count": 2}),
        serde_json::json!({"id": "live", "name": "Live", "plan": "sim", "step": "tea-coupon", "code": "TEA30", "stock": 10, "validity": {"between": {"from_ms": 0, "until_ms": 1}}, "live_rooms": [{"livestreamer": "l-1", "stock": 6}, {"livestreamer": "l-2", "stock": 4}]}),
        serde_json::json!({"move_id": "m-1", "from": "l-1", "to": "l-2", "units": 3}),
        serde_json::json!({"id": "five", "name": "Five friends", "template": "c-1", "helpers_required": 5, "from_ms": 0, "until_ms": 1_900_000_000_000i64, "hours_to_complete": 24, "new_helpers_only": true}),
        serde_json::json!({"buyer": {"id": "b-42", "new_customer": true}}),
        serde_json::json!({"helper": {"id": "b-43", "new_customer": true}}),
        serde_json::json!({"earn_rate_ppm": 10_000, "exchange": {"points": 100, "fen": 100}, "max_share_ppm": 300_000, "validity_days": 365}),
        serde_json::json!({"grant_id": "g-1", "points": 500, "expires_ms": 1_900_000_000_000i64, "reason": "welcome"}),
    ]
}

/// A JSON value to put somewhere: the edges of numbers and texts.
fn value(u: &mut Unstructured<'_>) -> Result<serde_json::Value> {
    use serde_json::json;
    Ok(match u.int_in_range(0..=9)? {
        0 => json!(null),
        1 => json!(u.arbitrary::<i64>()?),
        2 => json!(*u.choose(&[
            0i64,
            -1,
            1,
            i64::MAX,
            i64::MIN,
            99_999,
            100_000,
            4_294_967_296
        ])?),
        3 => json!(u.arbitrary::<f64>()?),
        4 => json!(u.arbitrary::<String>()?),
        5 => json!("x".repeat(u.int_in_range(0..=300)?)),
        6 => json!([]),
        7 => json!({}),
        8 => json!(u.arbitrary::<bool>()?),
        _ => json!(u.int_in_range(0..=10)?),
    })
}

/// Replace, add or remove one node somewhere in `node`.
fn mutate(u: &mut Unstructured<'_>, node: &mut serde_json::Value) -> Result<()> {
    let descend = u.ratio(2, 3)?;
    match node {
        serde_json::Value::Object(map) if descend && !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = u.choose(&keys)?.clone();
            if u.ratio(1, 8)? {
                map.remove(&key);
            } else if u.ratio(1, 8)? {
                map.insert(u.arbitrary()?, value(u)?);
            } else {
                mutate(u, map.get_mut(&key).expect("a key of this map"))?;
            }
        }
        serde_json::Value::Array(items) if descend && !items.is_empty() => {
            let i = u.choose_index(items.len())?;
            if u.ratio(1, 8)? {
                let copy = items[i].clone();
                items.push(copy);
            } else {
                mutate(u, &mut items[i])?;
            }
        }
        _ => *node = value(u)?,
    }
    Ok(())
}

fn request(u: &mut Unstructured<'_>, tokens: &[String]) -> Result<Option<Request<Body>>> {
    let method = u.choose(METHODS)?.clone();
    let path = if u.ratio(1, 10)? {
        u.arbitrary::<String>()?
    } else {
        let mut path = String::new();
        for (i, part) in u.choose(ROUTES)?.split("{}").enumerate() {
            if i > 0 {
                path.push_str(u.choose(SEGMENTS)?);
            }
            path.push_str(part);
        }
        path + u.choose(QUERIES)?
    };
    let mut builder = Request::builder().method(method).uri(path);
    match u.int_in_range(0..=9)? {
        0 => {}
        1 => builder = builder.header(header::AUTHORIZATION, u.arbitrary::<String>()?),
        _ => {
            builder = builder.header(
                header::AUTHORIZATION,
                format!("Bearer {}", u.choose(tokens)?),
            );
        }
    }
    if u.ratio(3, 4)? {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    } else if u.arbitrary()? {
        builder = builder.header(header::CONTENT_TYPE, u.arbitrary::<String>()?);
    }
    if u.ratio(1, 4)? {
        builder = builder.header("idempotency-key", u.arbitrary::<String>()?);
    }
    if u.ratio(1, 8)? {
        builder = builder.header(header::IF_MATCH, u.arbitrary::<String>()?);
    }
    if u.ratio(1, 8)? {
        builder = builder.header("plaza-tenant", *u.choose(SEGMENTS)?);
    }
    let body = match u.int_in_range(0..=5)? {
        0 => Vec::new(),
        1 => u.arbitrary::<Vec<u8>>()?,
        _ => {
            let mut doc = u.choose(&templates())?.clone();
            for _ in 0..u.int_in_range(0..=3)? {
                mutate(u, &mut doc)?;
            }
            serde_json::to_vec(&doc).expect("JSON writes")
        }
    };
    // A request the HTTP layer itself could not carry (a bad URI or header) is not one
    // Plaza ever sees.
    Ok(builder.body(Body::from(body)).ok())
}

pub fn check(data: &[u8]) {
    static HARNESS: Mutex<Option<Harness>> = Mutex::new(None);
    let mut guard = HARNESS.lock().unwrap_or_else(|e| e.into_inner());
    if guard.as_ref().is_none_or(|h| h.inputs >= RESTART_EVERY) {
        *guard = Some(harness());
    }
    let h = guard.as_mut().expect("a harness");
    h.inputs += 1;
    let mut u = Unstructured::new(data);
    for _ in 0..4 {
        let Ok(Some(req)) = request(&mut u, &h.tokens) else {
            return;
        };
        let described = format!("{} {}", req.method(), req.uri());
        let head = req.method() == Method::HEAD;
        let router = h.router.clone();
        let (status, body) = h.world.block_on(async move {
            let response = router.oneshot(req).await.expect("the router is infallible");
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("the body reads");
            (status, body)
        });
        assert!(
            status.as_u16() < 500 || status == StatusCode::SERVICE_UNAVAILABLE,
            "{described} answered {status}: {}",
            String::from_utf8_lossy(&body)
        );
        if status.is_client_error() || status.is_server_error() {
            if head {
                continue;
            }
            let error: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
                panic!(
                    "{described} answered {status} with a body that is not JSON ({e}): {}",
                    String::from_utf8_lossy(&body)
                )
            });
            assert!(
                error["error"]["type"].is_string(),
                "{described} answered {status} without a typed error: {error}"
            );
        }
    }
}
