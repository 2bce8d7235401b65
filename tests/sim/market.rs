//! The plaza around the simulated merchant, so that the host attributes carts from stored
//! touches and some orders pay through layers of other tenants:
//! - the merchant opens its teaware to carrying agency `c` at a 10 % service rate;
//! - `c` publishes a pool of it to helper agency `h` at a 30 % helper rate, and its own
//!   plan passes `h` another 10 % of what `c` received;
//! - `h` joins with its own plan, paying its promoter half of what `h` received, out of a
//!   budget that runs out (its reservations are made and given back with the orders');
//! - promoter `p-2` belongs to `h`, `p-3` to promoter agency `pb`, affiliated with `h`
//!   (their buyers' teaware pays through every layer), `p-4` to agency `pa`, which carries
//!   nothing (its buyers pay the merchant's plan alone);
//! - buyer `b-i` opened promoter `p-(i mod 5)`'s link when the run starts (`b-0`, `b-1`,
//!   `b-5`, `b-6`, `b-10` and `b-11` none), so the carts' own claims are only hints;
//! - the merchant's `tea-coupon` step gives claimed coupons only (template `tea30`, code
//!   TEA30, given back on cancel and full refund), and each buyer holds
//!   [`CLAIMS_PER_BUYER`] claims of it, `cl-b-i-k`.

use plaza::domain::{Error, NewTenant, Plaza, Principal, Role, TenantKind, Visibility};
use serde_json::{Value, json};
use std::sync::Arc;

fn admin(tenant: &str) -> Principal {
    Principal::Member {
        tenant: tenant.into(),
        role: Role::Admin,
    }
}

fn parse<T: serde::de::DeserializeOwned>(request: Value) -> T {
    serde_json::from_value(request).expect("a valid request")
}

/// Claims of `tea30` each buyer holds.
pub(super) const CLAIMS_PER_BUYER: u8 = 3;

/// The id of buyer `buyer`'s claim `k`.
pub(super) fn claim_id(buyer: u8, k: u8) -> String {
    format!("cl-b-{buyer}-{k}")
}

/// The money budget of `h`'s step: its layer runs out now and then, and refunds give back.
pub(super) const H_BUDGET: i64 = 30_000;

/// A plan of one agency-waterfall step passing on parts of what `from` received.
fn waterfall(id: &str, config: Value) -> Value {
    json!({"id": id, "steps": [{
        "id": "pass-on",
        "plugin": {"name": "agency-waterfall", "version": "1.1.0"},
        "config": config,
    }]})
}

/// Set the plaza up around `merchant` (whose admin is `who`) at `now_ms`.
pub(super) async fn set_up(
    plaza: &Arc<Plaza>,
    merchant: &str,
    who: &Principal,
    now_ms: i64,
) -> Result<(), Error> {
    for id in ["c", "h", "pa", "pb"] {
        let new = NewTenant {
            id: id.into(),
            name: format!("Agency {id}"),
            kind: TenantKind::Agency,
        };
        plaza.create_tenant(&Principal::Operator, new).await?;
    }
    let (_, component) = plaza::examples::EXAMPLE_PLUGINS
        .iter()
        .find(|(name, _)| *name == "agency-waterfall")
        .expect("the example plugins include agency-waterfall");
    let plans = [
        (
            "c",
            waterfall(
                "c-plan",
                json!({"from": "carrying_agency", "helper_agency": 100_000}),
            ),
        ),
        (
            "h",
            waterfall(
                "h-plan",
                json!({"from": "helper_agency", "promoter": 500_000}),
            ),
        ),
    ];
    let mut plans = plans;
    plans[1].1["steps"][0]["budget"] = json!({"max_amount": H_BUDGET});
    for (agency, plan) in plans {
        let id = plan["id"].as_str().expect("an id").to_owned();
        let agency = admin(agency);
        plaza
            .upload_plugin(&agency, component.to_vec(), Visibility::Private)
            .await?;
        let (head, _) = plaza.save_plan(&agency, parse(plan), None, None).await?;
        plaza.activate(&agency, &id, Some(head.latest)).await?;
    }
    let offer = json!({"categories": ["teaware"], "service_rate_ppm": 100_000, "agencies": ["c"]});
    plaza.save_offer(who, "teaware", parse(offer)).await?;
    let pool = json!({
        "name": "Autumn teaware",
        "items": [{"merchant": merchant, "offer": "teaware"}],
        "helper_rate_ppm": 300_000,
        "agencies": ["h"],
        "plan": "c-plan",
    });
    plaza.save_pool(&admin("c"), "autumn", parse(pool)).await?;
    plaza
        .join_pool(&admin("h"), "c", "autumn", parse(json!({"plan": "h-plan"})))
        .await?;
    // Promoter agency pb sells h's goods.
    plaza.invite_affiliate(&admin("h"), "pb").await?;
    plaza.accept_affiliation(&admin("pb"), "h").await?;
    for (promoter, agency) in [("p-2", "h"), ("p-3", "pb"), ("p-4", "pa")] {
        let invite = json!({"id": promoter, "kind": "promoter", "name": promoter});
        let invitation = plaza.invite_promoter(&admin(agency), parse(invite)).await?;
        let accept = json!({"invite_token": invitation.invite_token});
        plaza.accept_invite(promoter, parse(accept)).await?;
    }
    for buyer in 0..12 {
        let promoter = buyer % 5;
        if promoter < 2 {
            continue;
        }
        let touch = json!({
            "touch_id": format!("t-b-{buyer}"),
            "buyer": format!("b-{buyer}"),
            "promoter": format!("p-{promoter}"),
            "at_ms": now_ms,
        });
        plaza.record_touch(who, parse(touch)).await?;
    }
    let template = json!({
        "id": "tea30", "name": "30 off", "plan": super::world::PLAN, "step": "tea-coupon",
        "code": "TEA30", "stock": 1000, "per_buyer": CLAIMS_PER_BUYER,
        "validity": {"days_from_claim": {"days": 365}},
    });
    plaza.create_template(who, parse(template)).await?;
    for buyer in 0..12 {
        for k in 0..CLAIMS_PER_BUYER {
            let claim =
                json!({"claim_id": claim_id(buyer, k), "buyer": {"id": format!("b-{buyer}")}});
            plaza.claim_coupon(who, "tea30", parse(claim)).await?;
        }
    }
    Ok(())
}
