//! `accrual`: an arbitrary event (up to four tiers, each reward cash, growth cards or
//! coupons of a template with a small stock, either clawback policy) and an arbitrary run
//! of orders, refunds, coupon uses, time and the close, through the host's own accumulator
//! (`move_gmv` and the `Close` timer) over an in-memory transaction. After every move:
//! - the standing's GMV and order count are the run's, until it closes; then nothing moves;
//! - each tier's instant reward is held as a small reference model says (with `claw_back`,
//!   held iff reached while the event runs; with `keep`, once reached, held), and its
//!   ledger alternates grant and clawback, a grant first;
//! - every entry moves exactly its tier's reward; a clawback revokes the claims its grant
//!   delivered except those an order used; a grant delivers what the stock allows;
//! - the template's counts, the stored claims, the wallet and the ledger's coupons agree,
//!   and a revoked claim is marked used;
//! - the close grants the post-event reward of exactly the tiers its GMV reached.

use arbitrary::{Result, Unstructured};
use plaza::Money;
use plaza::domain::coupons::{Claim, Template};
use plaza::domain::incentives::accrual::{Close, Standing, move_gmv};
use plaza::domain::incentives::{
    Clawback, Conditions, Incentive, MAX_CASH, MAX_COUPONS, MAX_UNITS, NewIncentive,
    ParticipantKind, Review, Reward, RewardEntry, RewardKind, Tier,
};
use plaza::domain::timers::{Handler, Timer};
use plaza::store::{Table, Tx, TxError, key, prefix};
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::BTreeMap;

const OWNER: &str = "shop";
const EVENT: &str = "ev";
const WHO: &str = "p-1";
const TEMPLATE: &str = "fans";
const START: i64 = 1_795_000_000_000;
const DAY: i64 = 86_400_000;

/// One transaction's worth of tables, in memory: every move commits.
#[derive(Default)]
struct MapTx(BTreeMap<(&'static str, Vec<u8>), Vec<u8>>);

impl Tx for MapTx {
    fn get(&mut self, table: Table, key: &[u8]) -> std::result::Result<Option<Vec<u8>>, TxError> {
        Ok(self.0.get(&(table.name(), key.to_vec())).cloned())
    }
    fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> std::result::Result<(), TxError> {
        self.0.insert((table.name(), key.to_vec()), value.to_vec());
        Ok(())
    }
    fn remove(&mut self, table: Table, key: &[u8]) -> std::result::Result<(), TxError> {
        self.0.remove(&(table.name(), key.to_vec()));
        Ok(())
    }
}

impl MapTx {
    fn read<T: DeserializeOwned>(&self, table: Table, key: &[u8]) -> Option<T> {
        let bytes = self.0.get(&(table.name(), key.to_vec()))?;
        Some(serde_json::from_slice(bytes).expect("a stored record decodes"))
    }

    fn all<T: DeserializeOwned>(&self, table: Table, under: &[u8]) -> Vec<T> {
        (self.0.range((table.name(), under.to_vec())..))
            .take_while(|((t, k), _)| *t == table.name() && k.starts_with(under))
            .map(|(_, v)| serde_json::from_slice(v).expect("a stored record decodes"))
            .collect()
    }

    fn used(&self, claim: &str) -> i64 {
        let k = used_key(claim);
        (self.0.get(&(Table::Counters.name(), k))).map_or(0, |b| {
            i64::from_be_bytes(b.as_slice().try_into().expect("8 bytes"))
        })
    }
}

/// The counter that marks a claim of the owner used (the key Plaza documents).
fn used_key(claim: &str) -> Vec<u8> {
    key(&[OWNER.as_bytes(), b"", b"claim", claim.as_bytes()])
}

pub fn check(data: &[u8]) {
    let _ = run(&mut Unstructured::new(data));
}

fn reward(u: &mut Unstructured<'_>) -> Result<Option<Reward>> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => None,
        1 => Some(Reward::Cash {
            amount: Money(u.int_in_range(1..=MAX_CASH.0)?),
        }),
        2 => Some(Reward::GrowthCard {
            units: u.int_in_range(1..=MAX_UNITS)?,
        }),
        _ => Some(Reward::Coupon {
            template: TEMPLATE.into(),
            count: u.int_in_range(1..=MAX_COUPONS.min(4))?,
        }),
    })
}

fn event(u: &mut Unstructured<'_>) -> Result<Incentive> {
    let mut tiers = Vec::new();
    let mut gmv = 0;
    for _ in 0..u.int_in_range(1..=4)? {
        gmv += u.int_in_range(1..=200_000i64)?;
        let (instant, post_event) = (reward(u)?, reward(u)?);
        let instant = match (&instant, &post_event) {
            (None, None) => Some(Reward::Cash { amount: Money(1) }),
            _ => instant,
        };
        tiers.push(Tier {
            gmv: Money(gmv),
            instant,
            post_event,
        });
    }
    Ok(Incentive {
        owner: Some(OWNER.into()),
        created_ms: START,
        terms: NewIncentive {
            id: EVENT.into(),
            name: "fuzzed".into(),
            who: vec![ParticipantKind::Agency],
            review: Review::default(),
            registration_from_ms: START,
            registration_until_ms: START + DAY,
            from_ms: START,
            until_ms: START + DAY,
            after_sale_days: u.int_in_range(0..=2)?,
            conditions: Conditions::default(),
            tiers,
            clawback: if u.arbitrary()? {
                Clawback::ClawBack
            } else {
                Clawback::Keep
            },
        },
    })
}

/// What the run did, by its own account.
#[derive(Default)]
struct Model {
    gmv: i64,
    orders: u32,
    /// Per tier: its instant reward is held.
    held: Vec<bool>,
    /// The standing when it closed.
    closed: Option<Standing>,
    /// Ledger entries checked so far.
    seen: usize,
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let e = event(u)?;
    let mut tx = MapTx::default();
    tx.put(
        Table::Incentives,
        EVENT.as_bytes(),
        &serde_json::to_vec(&e).expect("an event encodes"),
    )
    .expect("in memory");
    let template = json!({
        "owner": OWNER, "id": TEMPLATE, "name": "fans", "plan": "p", "step": "s",
        "code": "FANS", "stock": u.int_in_range(1..=6u32)?, "per_buyer": 1,
        "validity": {"days_from_claim": {"days": 30}}, "bindings": {}, "on_refund": "return",
        "issued": 0, "claimed": 0, "created_ms": START,
        "ended_ms": if u.ratio(1, 8)? { Some(START) } else { None },
    });
    let t: Template = serde_json::from_value(template).expect("a template");
    tx.put(
        Table::CouponTemplates,
        &key(&[OWNER.as_bytes(), TEMPLATE.as_bytes()]),
        &serde_json::to_vec(&t).expect("a template encodes"),
    )
    .expect("in memory");
    let mut model = Model {
        held: vec![false; e.terms.tiers.len()],
        ..Model::default()
    };
    let mut orders: Vec<(i64, i64)> = Vec::new();
    let mut now = START;
    for _ in 0..u.int_in_range(1..=40)? {
        match u.int_in_range(0..=4u8)? {
            0 if now < e.terms.until_ms => {
                let amount = u.int_in_range(1..=300_000i64)?;
                orders.push((amount, 0));
                model.move_by(&e, amount, true, now);
                move_gmv(&mut tx, &e, WHO, Money(amount), "o", now).expect("in memory");
            }
            1 if !orders.is_empty() => {
                let i = u.choose_index(orders.len())?;
                let (paid, refunded) = orders[i];
                if paid == refunded {
                    continue;
                }
                let part = u.int_in_range(1..=paid - refunded)?;
                orders[i].1 += part;
                model.move_by(&e, -part, false, now);
                move_gmv(&mut tx, &e, WHO, Money(-part), "o", now).expect("in memory");
            }
            2 => {
                // An order uses one of the participant's claims.
                let claims: Vec<Claim> = tx.all(Table::CouponClaims, &prefix(&[OWNER.as_bytes()]));
                if let Some(c) = claims.first() {
                    tx.put(Table::Counters, &used_key(&c.id), &1i64.to_be_bytes())
                        .expect("in memory");
                }
            }
            3 => now += u.int_in_range(0..=DAY / 2)?,
            _ if now >= e.closes_ms() => {
                let timer = Timer::new(e.closes_ms(), "incentive_close", EVENT, WHO);
                Close.fire(&mut tx, &timer).expect("in memory");
            }
            _ => continue,
        }
        model.check(&e, &tx);
    }
    Ok(())
}

impl Model {
    /// The reference model of one move of GMV at `now`.
    fn move_by(&mut self, e: &Incentive, by: i64, commit: bool, now: i64) {
        if self.closed.is_some() {
            return;
        }
        self.gmv += by;
        self.orders += u32::from(commit);
        let claws = e.terms.clawback == Clawback::ClawBack && now < e.terms.until_ms;
        for (held, tier) in self.held.iter_mut().zip(&e.terms.tiers) {
            let reached = self.gmv >= tier.gmv.0;
            if tier.instant.is_some() {
                *held = reached || (*held && !claws);
            }
        }
    }

    fn check(&mut self, e: &Incentive, tx: &MapTx) {
        let standing: Standing = (tx.read(
            Table::IncentiveStandings,
            &key(&[EVENT.as_bytes(), WHO.as_bytes()]),
        ))
        .unwrap_or_default();
        let ledger: Vec<RewardEntry> = tx.all(
            Table::IncentiveLedger,
            &prefix(&[EVENT.as_bytes(), WHO.as_bytes()]),
        );
        assert_eq!(ledger.len(), standing.entries as usize, "{ledger:?}");
        assert!(ledger.iter().enumerate().all(|(i, l)| l.seq as usize == i));
        if let Some(closed) = &self.closed {
            assert_eq!(&standing, closed, "a closed standing moved");
            return;
        }
        assert_eq!((standing.gmv.0, standing.orders), (self.gmv, self.orders));
        let tiers = &e.terms.tiers;
        for i in 0..tiers.len() {
            let n = u32::try_from(i + 1).expect("a few tiers");
            let moves: Vec<&RewardEntry> = (ledger.iter())
                .filter(|l| l.tier == n && l.kind != RewardKind::PostEvent)
                .collect();
            let alternate = moves
                .iter()
                .enumerate()
                .all(|(j, m)| m.kind == [RewardKind::Instant, RewardKind::Clawback][j % 2]);
            assert!(alternate, "tier {n}: {moves:?}");
            let held = moves.len() % 2 == 1;
            assert_eq!(held, self.held[i], "tier {n}: {moves:?} at {}", self.gmv);
            assert_eq!(standing.held.get(i).copied().unwrap_or(false), held);
            if !held {
                assert!(standing.claims.get(i).is_none_or(Vec::is_empty));
            }
        }
        for (j, l) in ledger.iter().enumerate().skip(self.seen) {
            let tier = &tiers[l.tier as usize - 1];
            let (reward, sign) = match l.kind {
                RewardKind::Instant => (&tier.instant, 1),
                RewardKind::Clawback => (&tier.instant, -1),
                RewardKind::PostEvent => (&tier.post_event, 1),
            };
            let moved = (l.cash.0, l.growth_card_units);
            match reward.as_ref().expect("an entry of a reward") {
                Reward::Cash { amount } => assert_eq!(moved, (amount.0 * sign, 0), "{l:?}"),
                Reward::GrowthCard { units } => {
                    assert_eq!(moved, (0, i64::from(*units) * sign), "{l:?}");
                }
                Reward::Coupon { count, .. } => {
                    assert_eq!(moved, (0, 0), "{l:?}");
                    let claims = i64::try_from(l.claims.len()).expect("a few");
                    assert_eq!(l.coupons, claims * sign, "{l:?}");
                    if sign > 0 {
                        assert_eq!(l.claims.len() + l.undelivered as usize, *count as usize);
                    } else {
                        let granted = (ledger[..j].iter().rev())
                            .find(|g| g.tier == l.tier && g.kind == RewardKind::Instant)
                            .expect("a clawback follows a grant");
                        assert_eq!(l.claims.len() + l.kept as usize, granted.claims.len());
                        for c in &l.claims {
                            assert!(granted.claims.contains(c), "{l:?} of {granted:?}");
                            assert_eq!(tx.used(c), 1, "revoked {c} is marked used");
                        }
                    }
                }
            }
            if l.kind == RewardKind::PostEvent {
                assert!(standing.closed && standing.gmv >= tier.gmv, "{l:?}");
            }
        }
        self.seen = ledger.len();
        // The template, the claims, the wallet and the ledger agree.
        let t: Template = (tx.read(
            Table::CouponTemplates,
            &key(&[OWNER.as_bytes(), TEMPLATE.as_bytes()]),
        ))
        .expect("the template");
        let claims: Vec<Claim> = tx.all(Table::CouponClaims, &prefix(&[OWNER.as_bytes()]));
        let wallet: Vec<String> = tx.all(
            Table::CouponWallets,
            &prefix(&[OWNER.as_bytes(), WHO.as_bytes()]),
        );
        assert!(t.issued == t.claimed && t.claimed as usize == claims.len() && t.issued <= t.stock);
        assert_eq!(wallet.len(), claims.len());
        if ledger[self.seen.min(ledger.len())..]
            .iter()
            .any(|l| l.undelivered > 0)
        {
            assert!(
                t.left() == 0 || t.ended_ms.is_some(),
                "undelivered with stock left"
            );
        }
        let held: i64 = ledger.iter().map(|l| l.coupons).sum();
        assert_eq!(held, i64::try_from(claims.len()).expect("a few"));
        if standing.closed {
            let posts: Vec<u32> = (ledger.iter())
                .filter(|l| l.kind == RewardKind::PostEvent)
                .map(|l| l.tier)
                .collect();
            let due: Vec<u32> = (tiers.iter().zip(1..))
                .filter(|(t, _)| t.post_event.is_some() && standing.gmv >= t.gmv)
                .map(|(_, n)| n)
                .collect();
            assert_eq!(posts, due);
            self.closed = Some(standing);
        }
    }
}
