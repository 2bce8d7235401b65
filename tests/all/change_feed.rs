//! The change feed between two hosts on one store (two `Plaza`s in this process sharing a
//! store, each with its own memory): a host the feed was pruned past reloads everything
//! from the store, and an entry a host cannot apply is passed over, counted, and never
//! holds back the entries after it.

use plaza::clock::ManualClock;
use plaza::domain::{NewTenant, Plaza, Principal, Role, TenantKind, Visibility};
use plaza::metrics::Metrics;
use plaza::store::{Store, Table, key};
use plaza_tests::component;
use plaza_tests::sim::open_on;
use serde_json::{Value, json};
use std::sync::Arc;

const SHOP: &str = "teahouse";

fn who(role: Role) -> Principal {
    Principal::Member {
        tenant: SHOP.into(),
        role,
    }
}

fn shipping_plan() -> Value {
    json!({"id": "ship", "steps": [{
        "id": "free-shipping", "plugin": {"name": "free-shipping", "version": "1.0.0"},
        "config": {"threshold": 100}}]})
}

async fn upload(host: &Arc<Plaza>, plugin: &str) {
    let admin = who(Role::Admin);
    let bytes = component(plugin);
    (host.upload_plugin(&admin, bytes, Visibility::Private).await).unwrap();
}

/// Save and activate `plan` on `host`.
async fn activate(host: &Arc<Plaza>, plan: Value) {
    let plan = serde_json::from_value(plan).unwrap();
    let (head, _) = host
        .save_plan(&who(Role::Admin), plan, None, None)
        .await
        .unwrap();
    host.activate(&who(Role::Admin), &head.id, Some(head.latest))
        .await
        .unwrap();
}

/// What `host` takes off shipping for a ¥200 cart with ¥8 shipping under plan `ship`
/// (`None`: the host has no such active plan).
async fn shipping_discount(host: &Arc<Plaza>) -> Option<i64> {
    let cart = serde_json::from_value(json!({
        "lines": [{"id": "l1", "sku": "tea", "merchant": SHOP, "quantity": 1,
                   "unit_price": 20000}],
        "buyer": {"id": "b-1"}, "shipping_fee": 800, "now_ms": 1_795_000_000_000i64}))
    .unwrap();
    let quote = host
        .quote(&who(Role::Checkout), "ship", None, cart)
        .await
        .ok()?;
    Some(
        serde_json::to_value(&quote).unwrap()["total"]["discount"]
            .as_i64()
            .unwrap(),
    )
}

/// Two hosts on one fresh store: host A set up the merchant before host B opened.
fn two_hosts(
    rt: &tokio::runtime::Runtime,
) -> (
    tempfile::TempDir,
    Store,
    Arc<Plaza>,
    Arc<Plaza>,
    Arc<Metrics>,
) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let clock = ManualClock::at(1_795_000_000_000);
    let a = open_on(store.clone(), &clock, Arc::new(Metrics::new())).unwrap();
    rt.block_on(async {
        let new = NewTenant {
            id: SHOP.into(),
            name: "Tea house".into(),
            kind: TenantKind::Merchant,
        };
        a.create_tenant(&Principal::Operator, new).await.unwrap();
    });
    let metrics = Arc::new(Metrics::new());
    let b = open_on(store.clone(), &clock, metrics.clone()).unwrap();
    (dir, store, a, b, metrics)
}

fn feed_end(store: &Store) -> i64 {
    store.counter(&key(&[b"", b"changes"])).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_host_the_feed_was_pruned_past_reloads_everything_from_the_store() {
    let rt = runtime();
    let (_dir, store, a, b, _) = two_hosts(&rt);
    rt.block_on(async {
        // On host A: a plugin, then a plan that uses it.
        upload(&a, "free-shipping").await;
        activate(&a, shipping_plan()).await;
        assert_eq!(shipping_discount(&a).await, Some(800));
        assert_eq!(shipping_discount(&b).await, None, "B has not followed yet");
        // Every entry but the last (the activation) pruned before B read them: without
        // the plugin's entry B could not prepare the plan, and would pass over it.
        let end = feed_end(&store);
        assert!(end >= 2, "the upload and the activation: {end}");
        for seq in 1..end {
            store.remove(Table::Changes, &seq.to_be_bytes()).unwrap();
        }
        b.follow_changes().await.unwrap();
        assert_eq!(
            shipping_discount(&b).await,
            Some(800),
            "B reloaded the registry"
        );
    });
}

#[test]
fn an_entry_a_host_cannot_apply_is_passed_over_and_counted() {
    let rt = runtime();
    let (_dir, store, a, b, b_metrics) = two_hosts(&rt);
    rt.block_on(async {
        // An entry naming a plan no store holds, as from a host that wrote it wrongly.
        let end = feed_end(&store);
        let bad = json!({"host": "elsewhere", "change": {"kind": "plan", "tenant": SHOP,
                         "plan": "never-saved"}});
        store
            .put(Table::Changes, &(end + 1).to_be_bytes(), &bad)
            .unwrap();
        store
            .put_raw(
                Table::Counters,
                &key(&[b"", b"changes"]),
                &(end + 1).to_be_bytes(),
            )
            .unwrap();
        // Then good ones after it.
        upload(&a, "free-shipping").await;
        activate(&a, shipping_plan()).await;
        let applied = b.follow_changes().await.unwrap();
        assert_eq!(applied, 2, "the upload and the activation");
        assert_eq!(shipping_discount(&b).await, Some(800));
        assert_eq!(b_metrics.changes_skipped.get(), 1);
        // And nothing is applied twice.
        assert_eq!(b.follow_changes().await.unwrap(), 0);
    });
}
