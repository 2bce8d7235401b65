//! The simulated world: one merchant's Plaza on a faulty store, the clients' view of what
//! was acknowledged (the model), and the checks run after every step.

use super::backend::{FaultRates, SimBackend};
use super::model::{ModelOrder, check_order};
use super::{Summary, ops::Pending};
use anyhow::{Context as _, Result, bail, ensure};
use plaza::clock::ManualClock;
use plaza::domain::{
    BreakerConfig, LedgerEntry, NewTenant, Order, Plaza, PoolConfig, Principal, Quotas,
    RecordingSettings, Role, Settings, TenantKind, Visibility,
};
use plaza::metrics::Metrics;
use plaza::sandbox::{ArtifactCache, Limits, Sandbox};
use plaza::store::{Store, Table, key, prefix};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub const TENANT: &str = "shop";
pub const PLAN: &str = "sim";
/// The operator's key (the simulation itself acts as the operator in process).
pub const OPERATOR_KEY: &str = "sim-operator-key";

/// The demo plan with budgets that run out within a run, each released its own way.
pub fn plan() -> serde_json::Value {
    let mut plan: serde_json::Value =
        serde_json::from_str(plaza::examples::DEMO_PLAN).expect("demo plan");
    plan["id"] = PLAN.into();
    let budgets = [
        (
            "autumn-manjian",
            serde_json::json!({"max_amount": 300_000, "max_units": 1_500,
                "max_orders_per_day": 25}),
        ),
        (
            "tea-coupon",
            serde_json::json!({"max_orders_per_coupon": 60, "max_orders_per_buyer": 4,
                "max_units_per_buyer": 12, "release": {"on_cancel": true, "on_refund": false}}),
        ),
        (
            "promoter-commission",
            serde_json::json!({"max_amount": 80_000, "max_orders": 150,
                "max_amount_per_day": 6_000, "release": {"on_cancel": false, "on_refund": true}}),
        ),
    ];
    for step in plan["steps"].as_array_mut().expect("steps") {
        if let Some((_, budget)) = budgets.iter().find(|(id, _)| step["id"] == *id) {
            step["budget"] = budget.clone();
        }
    }
    // A tea towel for every kettle or Yixing teapot, three at most, 300 in stock.
    let steps = plan["steps"].as_array_mut().expect("steps");
    steps.push(serde_json::json!({
        "id": "towel-with-kettle",
        "plugin": {"name": "gift-with-purchase", "version": "1.0.0"},
        "config": {"gift": {"sku": "tea-towel", "value": 1_500}, "min_quantity": 1,
                   "skus": ["kettle", "teapot-yixing"], "repeat": true, "max_sets": 3},
        "budget": {"max_gift_units": 300, "release": {"on_cancel": true, "on_refund": false}}
    }));
    // Members pay part of an order over 50.00 with points.
    steps.push(serde_json::json!({
        "id": "pay-with-points",
        "plugin": {"name": "points-deduction", "version": "1.0.0"},
        "config": {"threshold": 5_000, "max_points": 3_000}
    }));
    plan
}

/// The merchant's points program: a point per yuan paid, 10 points pay 7 fen, at most
/// 20 % of the goods, points valid 20 days.
pub fn points_terms() -> plaza::domain::PointsSettings {
    serde_json::from_value(serde_json::json!({
        "earn_rate_ppm": 10_000,
        "exchange": {"points": 10, "fen": 7},
        "max_share_ppm": 200_000,
        "validity_days": 20,
    }))
    .expect("points settings parse")
}

/// Points granted to buyer `b-{n}` when the run starts.
fn welcome_points(n: u8) -> i64 {
    500 + 700 * i64::from(n)
}

/// The highest each counter may reach, read from [`plan`]'s budgets: (step, counter
/// limit) → most.
fn counter_limits() -> BTreeMap<(String, String), i64> {
    let fields = [
        ("max_amount", "amount"),
        ("max_orders", "orders"),
        ("max_orders_per_buyer", "buyer"),
        ("max_orders_per_coupon", "coupon"),
        ("max_units", "units"),
        ("max_units_per_buyer", "buyer_units"),
        ("max_orders_per_day", "day_orders"),
        ("max_amount_per_day", "day_amount"),
        ("max_gift_units", "gift_units"),
    ];
    let mut limits = BTreeMap::new();
    // Agency h's layer plan (no step of the merchant's plan shares its step's id).
    limits.insert(("pass-on".into(), "amount".into()), super::market::H_BUDGET);
    for step in plan()["steps"].as_array().expect("steps") {
        for (field, limit) in fields {
            if let Some(most) = step["budget"][field].as_i64() {
                let id = step["id"].as_str().expect("a step id").to_owned();
                limits.insert((id, limit.to_owned()), most);
            }
        }
    }
    limits
}

/// One sandbox for every run in the process, with the example plugins' artifacts cached,
/// so an upload loads without a compile worker.
fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("plaza-sim-{}", std::process::id()));
        let cache = ArtifactCache::new(dir).expect("artifact cache");
        let sandbox = Sandbox::new(Limits::default(), Some(cache)).expect("sandbox");
        for (name, bytes) in plaza::examples::EXAMPLE_PLUGINS {
            sandbox
                .load(bytes)
                .unwrap_or_else(|e| panic!("loading {name}: {e}"));
        }
        sandbox
    })
}

fn settings() -> Settings {
    Settings {
        operator_key_sha256: Some(plaza::domain::key_hash(OPERATOR_KEY)),
        compile_timeout: Duration::from_secs(60),
        compile_concurrency: 1,
        // Never started: every upload is in the artifact cache.
        compile_worker: "/nonexistent/plaza-compile-worker".into(),
        compile_memory_bytes: 1 << 30,
        sync_writes: true,
        breaker: BreakerConfig::default(),
        pool: PoolConfig {
            threads: 1,
            ..PoolConfig::default()
        },
        quotas: Quotas::default(),
    }
}

pub struct World {
    pub(super) rng: fastrand::Rng,
    pub(super) backend: Arc<SimBackend>,
    pub(super) plaza: Arc<Plaza>,
    pub(super) clock: ManualClock,
    pub(super) runtime: tokio::runtime::Runtime,
    pub(super) who: Principal,
    rates: FaultRates,
    /// Acknowledged orders, as the model computes them.
    pub(super) model: BTreeMap<String, ModelOrder>,
    /// Requests answered with an error, by order: retried until definite. An order with a
    /// pending request takes no other.
    pub(super) pending: BTreeMap<String, Pending>,
    /// The last run of the timers failed: any due order may or may not have moved.
    pub(super) firing: bool,
    /// A settlement run whose answer was a storage error: it may or may not have paid;
    /// sent again before anything else.
    /// With the books it runs on (`None`: the merchant's; else a plaza agency's).
    pub(super) settling: Option<(Option<String>, plaza::domain::SettlementRequest)>,
    /// The store's orders as last read (kept current through the backend's dirty keys).
    pub(super) stored: BTreeMap<String, Order>,
    /// When the timers last ran through (every due timer fired).
    pub(super) timers_ran_at: Option<i64>,
    /// Each closed incentive standing's GMV when first seen closed, by (event,
    /// participant): it never moves again.
    pub(super) incentive_closed: BTreeMap<(String, String), i64>,
    /// What the stored orders reserve, by counter key.
    reserved: BTreeMap<Vec<u8>, i64>,
    /// The plan's budget limits, by (step, counter limit).
    limits: BTreeMap<(String, String), i64>,
    pub(super) next_id: u64,
    digest: DefaultHasher,
    pub(super) summary: Summary,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

fn open(backend: &Arc<SimBackend>, clock: &ManualClock) -> Result<Arc<Plaza>> {
    open_on(
        Store::with_backend(backend.clone()),
        clock,
        Arc::new(Metrics::new()),
    )
}

/// A host on `store` with the simulation's settings (every example plugin in its artifact
/// cache), reporting to `metrics`.
pub fn open_on(store: Store, clock: &ManualClock, metrics: Arc<Metrics>) -> Result<Arc<Plaza>> {
    let (plaza, _) = Plaza::open(
        store,
        sandbox().clone(),
        metrics,
        settings(),
        Arc::new(clock.clone()),
    )
    .map_err(|e| anyhow::anyhow!("opening Plaza: {e}"))?;
    Ok(plaza)
}

impl World {
    /// A fresh store with the merchant, its plugins and the plan active; faults start
    /// after that.
    pub fn new(seed: u64, rates: FaultRates) -> Result<World> {
        let backend = Arc::new(SimBackend::new(seed));
        let clock = ManualClock::at(1_795_000_000_000);
        let plaza = open(&backend, &clock)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let who = Principal::Member {
            tenant: TENANT.into(),
            role: Role::Admin,
        };
        runtime
            .block_on(async {
                let new = NewTenant {
                    id: TENANT.into(),
                    name: "Simulated tea house".into(),
                    kind: TenantKind::Merchant,
                };
                plaza.create_tenant(&Principal::Operator, new).await?;
                // Recording samples write off the answer's path, on their own time: the
                // simulation keeps every write on its own schedule.
                let off = RecordingSettings {
                    enabled: false,
                    ..RecordingSettings::default()
                };
                plaza.set_recording_settings(&who, off).await?;
                for (_, bytes) in plaza::examples::EXAMPLE_PLUGINS {
                    plaza
                        .upload_plugin(&who, bytes.to_vec(), Visibility::Private)
                        .await?;
                }
                let plan = serde_json::from_value(plan()).expect("the plan parses");
                let (head, _) = plaza.save_plan(&who, plan, None, None).await?;
                plaza.activate(&who, PLAN, Some(head.latest)).await?;
                // The carts' claims are hints: the host attributes them from touches, and
                // carried goods pay through the plaza's layers.
                use plaza::clock::Clock as _;
                super::market::set_up(&plaza, TENANT, &who, clock.now_ms()).await?;
                super::incentives::set_up(&plaza, clock.now_ms()).await?;
                plaza.set_points_settings(&who, points_terms()).await?;
                for n in 0..12 {
                    let grant = plaza::domain::NewPointsGrant {
                        grant_id: format!("welcome-{n}"),
                        points: welcome_points(n),
                        expires_ms: None,
                        reason: None,
                    };
                    plaza.grant_points(&who, &format!("b-{n}"), grant).await?;
                }
                Ok::<_, plaza::domain::Error>(())
            })
            .map_err(|e| anyhow::anyhow!("setting up: {e}"))?;
        backend.take_dirty();
        backend.set_rates(rates);
        Ok(World {
            rng: fastrand::Rng::with_seed(seed ^ 0x5eed_5eed_5eed_5eed),
            backend,
            plaza,
            clock,
            runtime,
            who,
            rates,
            model: BTreeMap::new(),
            pending: BTreeMap::new(),
            firing: false,
            settling: None,
            stored: BTreeMap::new(),
            timers_ran_at: None,
            incentive_closed: BTreeMap::new(),
            reserved: BTreeMap::new(),
            limits: counter_limits(),
            next_id: 0,
            digest: DefaultHasher::new(),
            summary: Summary {
                seed,
                ..Summary::default()
            },
        })
    }

    /// The order as the store holds it (as of the last check).
    pub(super) fn stored_order(&self, id: &str) -> Option<&Order> {
        self.stored.get(id)
    }

    /// The running Plaza (replaced by each restart).
    pub fn plaza(&self) -> &Arc<Plaza> {
        &self.plaza
    }

    /// The host's clock.
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// Run `work` on the world's runtime.
    pub fn block_on<F: std::future::Future>(&self, work: F) -> F::Output {
        self.runtime.block_on(work)
    }

    /// Record a step's request and answer in the run's digest.
    pub(super) fn trace(&mut self, what: impl Hash + std::fmt::Debug) {
        if std::env::var_os("SIM_DEBUG").is_some() {
            eprintln!("step {} t={}: {what:?}", self.summary.steps, {
                use plaza::clock::Clock as _;
                self.clock.now_ms()
            });
        }
        what.hash(&mut self.digest);
    }

    /// If the process died, start it again over what was flushed.
    pub(super) fn recover(&mut self) -> Result<()> {
        if !self.backend.is_dead() {
            return Ok(());
        }
        self.summary.restarts += 1;
        self.backend.restart();
        // Starting reads the whole store; a host that fails to start is simply started
        // again, so faults rest while it does.
        self.backend.set_rates(FaultRates::NONE);
        self.plaza = open(&self.backend, &self.clock)?;
        self.backend.set_rates(self.rates);
        self.trace("restart");
        Ok(())
    }

    /// Bring the view of the store up to date and check every invariant.
    pub(super) fn check(&mut self) -> Result<()> {
        let now = {
            use plaza::clock::Clock as _;
            self.clock.now_ms()
        };
        for okey in self.backend.take_dirty() {
            let id = String::from_utf8(okey[TENANT.len() + 1..].to_vec())?;
            if let Some(old) = self.stored.remove(&id) {
                reservations(&old, |k, n| *self.reserved.entry(k).or_default() -= n);
            }
            if let Some(bytes) = self.backend.read(Table::Orders, &okey) {
                let mut order: Order = serde_json::from_slice(&bytes)?;
                // Its commission shares are stored beside it.
                order.commissions = (0..order.commission_shares)
                    .map(|i| {
                        let k = plaza::domain::commission::share_key(TENANT, &id, i);
                        let bytes = self
                            .backend
                            .read(Table::Commissions, &k)
                            .with_context(|| format!("order {id}: share {i} is missing"))?;
                        Ok(serde_json::from_slice(&bytes)?)
                    })
                    .collect::<Result<_>>()?;
                check_order(&order, &self.ledger(&id)?)
                    .with_context(|| format!("order {id} as stored"))?;
                reservations(&order, |k, n| *self.reserved.entry(k).or_default() += n);
                self.stored.insert(id.clone(), order);
            }
            match (self.model.get(&id), self.stored.get(&id)) {
                (Some(expected), Some(stored)) => {
                    let stored = ModelOrder::of(stored);
                    // A change in doubt may or may not have landed.
                    let mut changed = expected.clone();
                    let landed = match self.pending.get(&id) {
                        Some(Pending::Refund(req)) => changed.refund(req).is_ok(),
                        Some(Pending::Cancel) => changed.cancel().is_ok(),
                        Some(Pending::Decline(recipient)) => changed.decline(recipient).is_ok(),
                        Some(Pending::Event(req, sent)) => {
                            // Sent first at `sent`, retried since: it landed at one of
                            // its attempts, on either side of a payment deadline.
                            let mut later = expected.clone();
                            let _ = later.event(req, now);
                            if later == stored {
                                changed = later;
                            } else {
                                let _ = changed.event(req, *sent);
                            }
                            changed != *expected
                        }
                        _ => false,
                    };
                    if self.firing {
                        // Each timer fires in its own transaction: a batch in doubt may
                        // have fired an order's gift deadline and not its other one.
                        let mut lifecycle = expected.clone();
                        lifecycle.fire_lifecycle(now);
                        let mut gift = expected.clone();
                        gift.fire_gift(now);
                        changed = expected.clone();
                        changed.fire_due(now);
                        if let Some(partly) = [lifecycle, gift].into_iter().find(|m| *m == stored) {
                            changed = partly;
                        }
                    }
                    if let Some((ledger, _)) = &self.settling {
                        changed = expected.clone();
                        changed.settle(ledger.as_deref());
                    }
                    let landed = landed || self.firing || self.settling.is_some();
                    if !(landed && changed == stored) {
                        expected.matches(&stored).with_context(|| {
                            format!("order {id}: the store differs from the model")
                        })?;
                    }
                }
                (Some(_), None) => bail!("acknowledged order {id} is not in the store"),
                (None, Some(_)) => ensure!(
                    self.pending.contains_key(&id),
                    "order {id} is stored but was never acknowledged nor left in doubt"
                ),
                (None, None) => {}
            }
        }
        self.check_counters()?;
        self.check_points()?;
        self.check_incentives(now)
    }

    /// Every points account equals the sum of its ledger and holds what the stored
    /// orders hold; no order gives back more than it spent.
    fn check_points(&self) -> Result<()> {
        use plaza::domain::points::{Account, Entry};
        let mut held: BTreeMap<String, i64> = BTreeMap::new();
        for order in self.stored.values() {
            let Some(p) = &order.points else { continue };
            ensure!(
                (0..=p.used).contains(&p.returned),
                "order {}: {} points back of {}",
                order.id,
                p.returned,
                p.used
            );
            if order.status == plaza::domain::OrderStatus::Cancelled {
                ensure!(
                    p.returned == p.used,
                    "order {} cancelled with points kept",
                    order.id
                );
            }
            if !p.redeemed {
                *held.entry(order.cart.buyer.id.clone()).or_default() += p.used - p.returned;
            }
        }
        for (k, v) in self.backend.entries(Table::PointsAccounts) {
            let account: Account = serde_json::from_slice(&v)?;
            let buyer = String::from_utf8(k[TENANT.len() + 1..].to_vec())?;
            let entries: Vec<Entry> = self
                .backend
                .scan_all(
                    Table::PointsLedger,
                    &prefix(&[TENANT.as_bytes(), buyer.as_bytes()]),
                )
                .into_iter()
                .map(|(_, v)| serde_json::from_slice(&v))
                .collect::<Result<_, _>>()?;
            let points: i64 = entries.iter().map(|e| e.points).sum();
            let held_sum: i64 = entries.iter().map(|e| e.held).sum();
            let lots: i64 = account.lots.iter().map(|l| l.left).sum();
            ensure!(
                account.balance >= 0 && account.held >= 0,
                "points of {buyer} below zero: {account:?}"
            );
            ensure!(
                (account.balance, account.held) == (points, held_sum) && lots == account.balance,
                "points of {buyer}: {account:?}, ledger {points}/{held_sum}, lots {lots}"
            );
            ensure!(
                account.entries == entries.len() as u64,
                "points of {buyer}: {} entries counted, {} stored",
                account.entries,
                entries.len()
            );
            let orders_hold = held.remove(&buyer).unwrap_or_default();
            ensure!(
                account.held == orders_hold,
                "points of {buyer}: {} held, the stored orders hold {orders_hold}",
                account.held
            );
        }
        ensure!(
            held.values().all(|h| *h == 0),
            "orders hold points no account holds: {held:?}"
        );
        Ok(())
    }

    fn check_counters(&self) -> Result<()> {
        let mut stored = BTreeMap::new();
        for (k, v) in self.backend.entries(Table::Counters) {
            let value = i64::from_be_bytes(v.as_slice().try_into()?);
            let parts: Vec<String> = k
                .split(|b| *b == 0)
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            if let [_, empty, kind, _] = parts.as_slice()
                && empty.is_empty()
                && kind == "claim"
            {
                ensure!(
                    value <= 1,
                    "claim {} used {value} times",
                    plaza::store::show_key(&k)
                );
            }
            if let [_, _, step, limit, ..] = parts.as_slice()
                && let Some(&max) = self.limits.get(&(step.clone(), limit.clone()))
            {
                ensure!(
                    value <= max,
                    "counter {} at {value}, over its limit {max}",
                    plaza::store::show_key(&k)
                );
            }
            ensure!(
                value >= 0,
                "counter {} at {value}",
                plaza::store::show_key(&k)
            );
            if value != 0 {
                stored.insert(k, value);
            }
        }
        let mut expected: BTreeMap<Vec<u8>, i64> = self
            .reserved
            .iter()
            .filter(|(_, v)| **v != 0)
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        // The change feed's counter numbers its entries, consecutively to the last; it keeps
        // the last `KEEP` of them.
        let feed = self.backend.entries(Table::Changes);
        let numbers: Vec<i64> = (feed.iter())
            .map(|(k, _)| Ok(i64::from_be_bytes(k.as_slice().try_into()?)))
            .collect::<Result<_>>()?;
        if let Some(&last) = numbers.last() {
            let first = (last - plaza::domain::CHANGES_KEPT).max(0) + 1;
            ensure!(
                numbers.iter().copied().eq(first..=last),
                "the change feed holds {numbers:?}, not {first} to {last}"
            );
            expected.insert(key(&[b"", b"changes"]), last);
        }
        // A reward claim a clawback revoked is marked used for good.
        for (_, v) in self.backend.entries(Table::IncentiveLedger) {
            let entry: plaza::domain::incentives::RewardEntry = serde_json::from_slice(&v)?;
            if entry.kind == plaza::domain::incentives::RewardKind::Clawback {
                for claim in &entry.claims {
                    expected.insert(
                        key(&[TENANT.as_bytes(), b"", b"claim", claim.as_bytes()]),
                        1,
                    );
                }
            }
        }
        if stored != expected {
            let show = |m: &BTreeMap<Vec<u8>, i64>| {
                m.iter()
                    .map(|(k, v)| format!("{}={v}", plaza::store::show_key(k)))
                    .collect::<Vec<_>>()
            };
            bail!(
                "counters {:?}, the stored orders reserve {:?}",
                show(&stored),
                show(&expected)
            );
        }
        Ok(())
    }

    /// The order's ledger as (kind, amount, seq).
    fn ledger(&self, order: &str) -> Result<Vec<(String, i64, u32)>> {
        let range = prefix(&[TENANT.as_bytes(), order.as_bytes()]);
        self.backend
            .scan_all(Table::Ledger, &range)
            .into_iter()
            .map(|(_, v)| {
                let e: LedgerEntry = serde_json::from_slice(&v)?;
                let kind = serde_json::to_value(e.kind)?
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                Ok((kind, e.amount.0, e.seq))
            })
            .collect()
    }

    /// End the run: a last crash, every request left in doubt retried until definite (no
    /// more faults), and the whole store compared with the model.
    pub fn finish(mut self) -> Result<Summary> {
        self.backend.kill();
        self.recover()?;
        self.check()?;
        self.backend.set_rates(FaultRates::NONE);
        self.rates = FaultRates::NONE;
        while let Some(id) = self.pending.keys().next().cloned() {
            self.retry(&id)?;
            self.check()?;
        }
        if self.firing {
            self.fire_timers()?;
            self.check()?;
        }
        if let Some((ledger, req)) = self.settling.clone() {
            self.send_settle(ledger, req)?;
            self.check()?;
        }
        let all: BTreeSet<String> = self.stored.keys().cloned().collect();
        let acknowledged: BTreeSet<String> = self.model.keys().cloned().collect();
        ensure!(
            all == acknowledged,
            "stored and acknowledged orders differ: {:?}",
            all.symmetric_difference(&acknowledged).collect::<Vec<_>>()
        );
        let fresh = self.backend.entries(Table::Orders).len();
        ensure!(fresh == all.len(), "{fresh} orders in the store");
        for (_, v) in self.backend.entries(Table::IncentiveLedger) {
            let entry: plaza::domain::incentives::RewardEntry = serde_json::from_slice(&v)?;
            match entry.kind {
                plaza::domain::incentives::RewardKind::Clawback => {
                    self.summary.incentive_clawbacks += 1;
                    self.summary.incentive_claims_revoked += entry.claims.len() as u64;
                }
                _ => self.summary.incentive_rewards += 1,
            }
        }
        self.summary.faults = self.backend.counts();
        self.summary.digest = self.digest.finish();
        Ok(self.summary)
    }
}

/// Each counter change `order` still holds: (counter key, amount).
fn reservations(order: &Order, mut add: impl FnMut(Vec<u8>, i64)) {
    for r in &order.reservations {
        // A layer's budget is on its own tenant's plan.
        let (tenant, plan) = r
            .layer
            .as_ref()
            .map_or((TENANT, order.plan.id.as_str()), |l| {
                (l.tenant.as_str(), l.plan.as_str())
            });
        let counter = |limit: &str, subject: Option<&str>| {
            let mut parts: Vec<&[u8]> = vec![
                tenant.as_bytes(),
                plan.as_bytes(),
                r.step.as_bytes(),
                limit.as_bytes(),
            ];
            parts.extend(subject.map(str::as_bytes));
            key(&parts)
        };
        add(counter("amount", None), r.amount.0 - r.released.0);
        if let Some(day) = &r.day {
            add(counter("day_amount", Some(day)), r.amount.0 - r.released.0);
        }
        if !r.counts_released {
            for (limit, subject) in &r.counts {
                add(counter(limit, subject.as_deref()), 1);
            }
            let units = i64::try_from(r.units).expect("units fit i64");
            for (limit, subject) in &r.unit_counts {
                add(counter(limit, subject.as_deref()), units);
            }
            if r.gift_units > 0 {
                let gifts = i64::try_from(r.gift_units).expect("gift units fit i64");
                add(counter("gift_units", None), gifts);
            }
        }
    }
    // A claimed coupon's use, while the order holds it (the key Plaza documents: the
    // merchant, an empty part, `claim`, the claim id).
    for c in order.claims.iter().filter(|c| !c.returned) {
        add(
            key(&[TENANT.as_bytes(), b"", b"claim", c.claim.as_bytes()]),
            1,
        );
    }
}
