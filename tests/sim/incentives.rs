//! GMV incentive events in the simulated plaza, and their checks:
//! - the platform's `double-12` counts the tea and teaware lines for the merchant and
//!   agencies `c` and `h` (approved at once) over the run's first three days; instant
//!   rewards are kept, post-event rewards come two days after the end;
//! - the merchant's own `shop-anniversary` counts every line for the agencies that
//!   published a live preview (`c` did, `h` did not) over five days, approved by the
//!   merchant; its rewards are claims of coupon `tea30` (and cash), and instant rewards
//!   are clawed back when refunds take GMV back under a threshold: the claims a grant
//!   delivered are revoked (the agencies never buy, so none is ever used).
//!
//! After every step each stored order must count towards exactly the events and
//! participants the rules say (from its commit instant, lines, attribution and the
//! registrations), and each participant's standing must equal its orders' counted GMV net
//! of their refunds, hold each instant reward its GMV earns (or earned, once the event
//! ended), and add up to its ledger; once closed, the standing never moves again, its
//! post-event rewards are those of the tiers its GMV reached, granted once, and a clean
//! run of the timers past the close always closes it.

use super::world::{TENANT, World};
use anyhow::{Context as _, Result, ensure};
use plaza::domain::incentives::accrual::Standing;
use plaza::domain::incentives::{
    Clawback, Entrant, EntrantState, Incentive, OrderIncentive, ParticipantKind, Reward,
    RewardEntry, RewardKind,
};
use plaza::domain::{Error, Order, Plaza, Principal, Role};
use plaza::store::{Table, key, prefix};
use serde_json::json;
use std::sync::Arc;

const DAY_MS: i64 = 24 * 3_600_000;

fn admin(tenant: &str) -> Principal {
    Principal::Member {
        tenant: tenant.into(),
        role: Role::Admin,
    }
}

/// Start both events at `now` and register their participants.
pub(super) async fn set_up(plaza: &Arc<Plaza>, now: i64) -> Result<(), Error> {
    let cash = |amount: i64| json!({"kind": "cash", "amount": amount});
    let units = |units: u32| json!({"kind": "growth_card", "units": units});
    let platform = json!({
        "id": "double-12", "name": "12.12 GMV incentive", "who": ["merchant", "agency"],
        "review": "auto",
        "registration_from_ms": now - DAY_MS, "registration_until_ms": now + 3 * DAY_MS,
        "from_ms": now, "until_ms": now + 3 * DAY_MS, "after_sale_days": 2,
        "conditions": {"categories": ["tea", "teaware"]},
        "tiers": [
            {"gmv": 100_000, "instant": cash(1_000), "post_event": units(1)},
            {"gmv": 400_000, "instant": units(5), "post_event": cash(2_000)},
            {"gmv": 1_500_000, "instant": cash(8_000), "post_event": cash(20_000)},
        ],
        "clawback": "keep",
    });
    let coupons = |count: u32| json!({"kind": "coupon", "template": "tea30", "count": count});
    let own = json!({
        "id": "shop-anniversary", "name": "Anniversary", "who": ["agency"],
        "registration_from_ms": now - DAY_MS, "registration_until_ms": now + DAY_MS,
        "from_ms": now, "until_ms": now + 5 * DAY_MS, "after_sale_days": 1,
        "conditions": {"facts": [{"name": "live_preview", "at_least": 1}]},
        "tiers": [
            {"gmv": 50_000, "instant": coupons(2), "post_event": cash(5_000)},
            {"gmv": 300_000, "instant": cash(3_000), "post_event": coupons(1)},
        ],
    });
    let parse = |v: serde_json::Value| serde_json::from_value(v).expect("a valid event");
    plaza
        .create_incentive(&Principal::Operator, parse(platform))
        .await?;
    for participant in [TENANT, "c", "h"] {
        plaza
            .register_for_incentive(&admin(participant), "double-12")
            .await?;
    }
    let merchant = admin(TENANT);
    plaza.create_incentive(&merchant, parse(own)).await?;
    for (agency, preview) in [("c", 1), ("h", 0)] {
        plaza
            .register_for_incentive(&admin(agency), "shop-anniversary")
            .await?;
        let approve = serde_json::from_value(json!({"approve": true})).expect("a decision");
        plaza
            .review_entrant(&merchant, "shop-anniversary", agency, approve)
            .await?;
        let facts =
            serde_json::from_value(json!({"facts": {"live_preview": preview}})).expect("facts");
        plaza
            .report_facts(&merchant, "shop-anniversary", agency, facts)
            .await?;
    }
    Ok(())
}

/// What the rules say `order` counts towards.
fn expected(order: &Order, events: &[Incentive], entrants: &[Entrant]) -> Vec<OrderIncentive> {
    let a = &order.cart.attribution;
    let mut candidates = vec![(TENANT.to_owned(), ParticipantKind::Merchant)];
    candidates.extend(
        a.livestreamer
            .clone()
            .map(|l| (l, ParticipantKind::Livestreamer)),
    );
    for agency in [&a.promoter_agency, &a.carrying_agency, &a.helper_agency]
        .into_iter()
        .flatten()
    {
        candidates.push((agency.clone(), ParticipantKind::Agency));
    }
    let mut out = Vec::new();
    for e in events {
        let t = &e.terms;
        let window = (t.from_ms..t.until_ms).contains(&order.created_ms);
        let mine = e.owner.as_deref().is_none_or(|o| o == TENANT);
        let channel =
            t.conditions.channels.is_empty() || t.conditions.channels.contains(&order.cart.channel);
        if !(window && mine && channel) {
            continue;
        }
        let (mut lines, mut gmv) = (Vec::new(), plaza::Money::ZERO);
        for line in order
            .lines
            .iter()
            .filter(|l| l.payable > plaza::Money::ZERO)
        {
            let cart_line = order.cart.lines.iter().find(|c| *c.id == *line.id);
            let category = t.conditions.categories.is_empty()
                || cart_line.is_some_and(|c| {
                    c.categories
                        .iter()
                        .any(|k| t.conditions.categories.contains(k))
                });
            if category {
                lines.push(line.id.clone());
                gmv += line.payable;
            }
        }
        let mut participants: Vec<String> = Vec::new();
        for (id, kind) in &candidates {
            let approved = entrants.iter().any(|n| {
                n.event == t.id
                    && n.participant == *id
                    && n.kind == *kind
                    && n.state == EntrantState::Approved
                    && t.conditions
                        .facts
                        .iter()
                        .all(|f| n.facts.get(&f.name).is_some_and(|v| *v >= f.at_least))
            });
            if approved && t.who.contains(kind) && !participants.contains(id) {
                participants.push(id.clone());
            }
        }
        if !lines.is_empty() && !participants.is_empty() {
            out.push(OrderIncentive {
                event: t.id.clone(),
                participants,
                lines,
                gmv,
            });
        }
    }
    out
}

/// What an order still counts towards `counted`: its GMV less what was refunded of the
/// counted lines.
fn net(order: &Order, counted: &OrderIncentive) -> i64 {
    let refunded: i64 = (order.lines.iter())
        .filter(|l| counted.lines.contains(&l.id))
        .map(|l| l.refunded.0)
        .sum();
    counted.gmv.0 - refunded
}

impl World {
    fn table<T: serde::de::DeserializeOwned>(&self, table: Table) -> Result<Vec<T>> {
        (self.backend.entries(table).into_iter())
            .map(|(_, v)| Ok(serde_json::from_slice(&v)?))
            .collect()
    }

    /// Check every stored order's counting and every participant's standing and ledger.
    pub(super) fn check_incentives(&mut self, now: i64) -> Result<()> {
        let events: Vec<Incentive> = self.table(Table::Incentives)?;
        let entrants: Vec<Entrant> = self.table(Table::IncentiveEntrants)?;
        for order in self.stored.values() {
            let want = expected(order, &events, &entrants);
            ensure!(
                order.incentives == want,
                "order {} counts towards {:?}, the rules say {want:?}",
                order.id,
                order.incentives
            );
        }
        for entrant in &entrants {
            let event = (events.iter())
                .find(|e| e.terms.id == entrant.event)
                .context("a registration for no event")?;
            self.check_standing(event, &entrant.participant, now)
                .with_context(|| format!("{} in {}", entrant.participant, entrant.event))?;
        }
        // The coupon's stock counts the buyers' claims and the rewards' claims held now.
        let claims: Vec<plaza::domain::coupons::Claim> = self.table(Table::CouponClaims)?;
        let templates: Vec<plaza::domain::coupons::Template> =
            self.table(Table::CouponTemplates)?;
        for t in &templates {
            let held = claims.iter().filter(|c| c.template == t.id).count();
            ensure!(
                t.claimed as usize == held && t.issued == t.claimed,
                "template {}: issued {}, claimed {}, {held} claims stored",
                t.id,
                t.issued,
                t.claimed
            );
        }
        Ok(())
    }

    fn check_standing(&mut self, event: &Incentive, participant: &str, now: i64) -> Result<()> {
        let t = &event.terms;
        let (id, k) = (
            t.id.as_str(),
            key(&[t.id.as_bytes(), participant.as_bytes()]),
        );
        let standing: Standing = match self.backend.read(Table::IncentiveStandings, &k) {
            Some(bytes) => serde_json::from_slice(&bytes)?,
            None => Standing::default(),
        };
        let (mut gmv, mut orders) = (0, 0);
        for order in self.stored.values() {
            for counted in &order.incentives {
                if counted.event == id && counted.participants.iter().any(|p| p == participant) {
                    gmv += net(order, counted);
                    orders += 1;
                }
            }
        }
        let entries: Vec<RewardEntry> = (self.backend)
            .scan_all(
                Table::IncentiveLedger,
                &prefix(&[id.as_bytes(), participant.as_bytes()]),
            )
            .into_iter()
            .map(|(_, v)| serde_json::from_slice(&v))
            .collect::<Result<_, _>>()?;
        ensure!(
            entries.len() == standing.entries as usize
                && entries.iter().enumerate().all(|(i, e)| e.seq as usize == i),
            "{} entries counted, ledger {entries:?}",
            standing.entries
        );
        ensure!(
            standing.orders == orders,
            "{} orders counted, {orders} stored",
            standing.orders
        );
        let closes = event.closes_ms();
        let pair = (id.to_owned(), participant.to_owned());
        if standing.closed {
            ensure!(now >= closes, "closed before {closes}");
            // Refunds after the close change nothing; before it, they lowered GMV.
            let frozen = *self.incentive_closed.entry(pair).or_insert(standing.gmv.0);
            ensure!(
                standing.gmv.0 == frozen && frozen >= gmv,
                "closed at {frozen} fen, now {}, its orders net {gmv}",
                standing.gmv.0
            );
        } else {
            ensure!(
                standing.gmv.0 == gmv,
                "GMV {} fen, its orders net {gmv}",
                standing.gmv.0
            );
            ensure!(
                self.timers_ran_at.is_none_or(|at| at < closes),
                "the timers ran past {closes} and left it open"
            );
        }
        for (i, tier) in t.tiers.iter().enumerate() {
            let n = u32::try_from(i + 1)?;
            let of = |kind: RewardKind| {
                entries
                    .iter()
                    .filter(move |e| e.tier == n && e.kind == kind)
            };
            // Instant grants and clawbacks alternate, a grant first.
            let moves: Vec<RewardKind> = (entries.iter())
                .filter(|e| e.tier == n && e.kind != RewardKind::PostEvent)
                .map(|e| e.kind)
                .collect();
            let alternate = moves.iter().enumerate().all(|(j, k)| {
                *k == if j % 2 == 0 {
                    RewardKind::Instant
                } else {
                    RewardKind::Clawback
                }
            });
            let held = moves.len() % 2 == 1;
            ensure!(alternate, "tier {n}: instant moves {moves:?}");
            ensure!(
                standing.held.get(i).copied().unwrap_or(false) == held,
                "tier {n}: held {:?}, ledger {moves:?}",
                standing.held
            );
            let reached = standing.gmv >= tier.gmv;
            match tier.instant {
                None => ensure!(moves.is_empty(), "tier {n}: no instant reward, {moves:?}"),
                Some(_) if now < t.until_ms && t.clawback == Clawback::ClawBack => {
                    ensure!(
                        held == reached,
                        "tier {n}: held {held} at {}",
                        standing.gmv.0
                    );
                }
                // Kept, or the event ended: GMV only falls from then on.
                Some(_) => ensure!(held || !reached, "tier {n}: reached, not held"),
            }
            if t.clawback == Clawback::Keep {
                ensure!(
                    of(RewardKind::Clawback).count() == 0,
                    "tier {n}: clawed back"
                );
            }
            let post = of(RewardKind::PostEvent).count();
            let due = standing.closed && reached && tier.post_event.is_some();
            ensure!(
                post == usize::from(due),
                "tier {n}: {post} post-event rewards"
            );
            for e in entries.iter().filter(|e| e.tier == n) {
                let (reward, sign) = match e.kind {
                    RewardKind::Instant => (&tier.instant, 1),
                    RewardKind::Clawback => (&tier.instant, -1),
                    RewardKind::PostEvent => (&tier.post_event, 1),
                };
                let moved = match reward {
                    Some(Reward::Cash { amount }) => (amount.0 * sign, 0, 0),
                    Some(Reward::GrowthCard { units }) => (0, i64::from(*units) * sign, 0),
                    // The stock never runs out and no claim is ever used.
                    Some(Reward::Coupon { count, .. }) => (0, 0, i64::from(*count) * sign),
                    None => (0, 0, 0),
                };
                ensure!(
                    (e.cash.0, e.growth_card_units, e.coupons) == moved
                        && moved != (0, 0, 0)
                        && usize::try_from(e.coupons.abs()) == Ok(e.claims.len())
                        && e.undelivered == 0
                        && e.kept == 0,
                    "tier {n}: {e:?} moves {moved:?}"
                );
            }
        }
        self.check_claims(participant, &entries)
    }

    /// The coupon claims `participant`'s ledger moved: a clawback revokes the claims its
    /// tier's last grant delivered; a revoked claim is gone and marked used for good, every
    /// other claim is in the participant's wallet.
    fn check_claims(&self, participant: &str, entries: &[RewardEntry]) -> Result<()> {
        let mut revoked = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            if e.kind != RewardKind::Clawback {
                continue;
            }
            let granted = (entries[..i].iter().rev())
                .find(|g| g.tier == e.tier && g.kind == RewardKind::Instant)
                .context("a clawback without a grant")?;
            ensure!(
                e.claims == granted.claims,
                "clawback {e:?} of grant {granted:?}"
            );
            revoked.extend(e.claims.iter().cloned());
        }
        for id in entries.iter().flat_map(|e| &e.claims) {
            let claim = self.backend.read(
                Table::CouponClaims,
                &key(&[TENANT.as_bytes(), id.as_bytes()]),
            );
            let wallet = key(&[TENANT.as_bytes(), participant.as_bytes(), id.as_bytes()]);
            let in_wallet = self.backend.read(Table::CouponWallets, &wallet).is_some();
            let used = key(&[TENANT.as_bytes(), b"", b"claim", id.as_bytes()]);
            let used = (self.backend.read(Table::Counters, &used))
                .map(|b| i64::from_be_bytes(b.try_into().unwrap_or_default()));
            if revoked.contains(id) {
                ensure!(
                    claim.is_none() && !in_wallet && used == Some(1),
                    "revoked claim {id}: stored {}, in the wallet {in_wallet}, used {used:?}",
                    claim.is_some()
                );
            } else {
                let claim: plaza::domain::coupons::Claim =
                    serde_json::from_slice(&claim.with_context(|| format!("claim {id}"))?)?;
                ensure!(
                    claim.buyer == participant && claim.template == "tea30" && in_wallet,
                    "claim {claim:?}, in the wallet {in_wallet}"
                );
            }
        }
        Ok(())
    }
}
