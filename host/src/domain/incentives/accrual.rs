//! Each participant's standing in an event, kept inside the transactions that move money:
//! a commit adds the order's counted GMV (`accrue`), every change that refunds takes back
//! the refunded part of the counted lines (`on_change`), and the participant's timer
//! grants the post-event rewards (`Close`). Rewards are granted and clawed back in the
//! same transaction as the GMV that moved them, so concurrent commits at a threshold grant
//! its instant reward once: both write the one standing record, and one of them retries.

use super::entrants::{Entrant, EntrantState};
use super::{Clawback, Incentive, ParticipantKind, Reward, participant_key};
use crate::Money;
use crate::domain::coupons;
use crate::domain::order::Order;
use crate::domain::timers::{Handler, Timer};
use crate::store::{Store, StoreError, Table, Tx, TxError, TxExt, key};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an order counts towards one event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderIncentive {
    pub event: String,
    /// The approved participants it counts for.
    pub participants: Vec<String>,
    /// The lines that meet the event's conditions.
    pub lines: Vec<String>,
    /// What the buyer paid for them at commit.
    pub gmv: Money,
}

/// A participant's standing in an event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// GMV net of refunds (fen).
    pub gmv: Money,
    /// Orders counted.
    pub orders: u32,
    /// Per tier: its instant reward is held now.
    pub held: Vec<bool>,
    /// The post-event rewards were granted; nothing changes after.
    pub closed: bool,
    /// Entries in its ledger.
    pub entries: u32,
    /// Per tier: the coupon claims its held instant reward delivered.
    #[serde(default)]
    pub claims: Vec<Vec<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    /// A threshold was crossed.
    Instant,
    /// Refunds took GMV back under a threshold before the event ended.
    Clawback,
    /// After the event and its after-sale window.
    PostEvent,
}

/// One movement in a participant's incentive ledger: what it holds is the sum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RewardEntry {
    pub seq: u32,
    pub at_ms: i64,
    /// The tier (1 for the first).
    pub tier: u32,
    pub kind: RewardKind,
    /// Cash moved (fen, negative when clawed back).
    pub cash: Money,
    /// Growth card units moved (negative when clawed back).
    pub growth_card_units: i64,
    /// Coupons moved: claims delivered, or (negative) claims revoked.
    #[serde(default)]
    pub coupons: i64,
    /// The claims delivered or revoked, in the event owner's wallet of the participant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<String>,
    /// Coupons of a grant that could not be delivered: the template had ended or ran out.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub undelivered: u32,
    /// Claims of a clawback that an order had used: they stay with the participant.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub kept: u32,
    /// The order whose commit or refund moved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The tables a commit or a change to an order writes for its events (a clawback of
/// coupons also writes `Counters`, which every such transaction covers).
pub const ACCRUAL_TABLES: [Table; 6] = [
    Table::Incentives,
    Table::IncentiveStandings,
    Table::IncentiveLedger,
    coupons::granted::TABLES[0],
    coupons::granted::TABLES[1],
    coupons::granted::TABLES[2],
];

fn entry_key(event: &str, participant: &str, seq: u32) -> Vec<u8> {
    key(&[event.as_bytes(), participant.as_bytes(), &seq.to_be_bytes()])
}

/// The events `order` counts towards and for whom, when committed by `tenant` at `now`.
pub(crate) fn counted(
    store: &Store,
    tenant: &str,
    order: &Order,
    now: i64,
) -> Result<Vec<OrderIncentive>, StoreError> {
    let mut out = Vec::new();
    for event in super::all(store)? {
        if !event.running(now) || event.owner.as_deref().is_some_and(|o| o != tenant) {
            continue;
        }
        let c = &event.terms.conditions;
        if !c.channels.is_empty() && !c.channels.contains(&order.cart.channel) {
            continue;
        }
        let (lines, gmv) = counted_lines(&event, order);
        if lines.is_empty() {
            continue;
        }
        let mut participants = Vec::new();
        for (id, kind) in candidates(tenant, order) {
            if !event.terms.who.contains(&kind) || participants.contains(&id) {
                continue;
            }
            let entrant: Option<Entrant> = store.get(
                Table::IncentiveEntrants,
                &participant_key(&event.terms.id, &id),
            )?;
            let meets = entrant.is_some_and(|e| {
                e.kind == kind
                    && e.state == EntrantState::Approved
                    && c.facts
                        .iter()
                        .all(|f| e.facts.get(&f.name).is_some_and(|v| *v >= f.at_least))
            });
            if meets {
                participants.push(id);
            }
        }
        if !participants.is_empty() {
            out.push(OrderIncentive {
                event: event.terms.id.clone(),
                participants,
                lines,
                gmv,
            });
        }
    }
    Ok(out)
}

/// The lines of `order` in the event's categories, and what was paid for them.
fn counted_lines(event: &Incentive, order: &Order) -> (Vec<String>, Money) {
    let categories = &event.terms.conditions.categories;
    let mut lines = Vec::new();
    let mut gmv = Money::ZERO;
    for line in &order.lines {
        let cart_line = order.cart.lines.iter().find(|c| *c.id == *line.id);
        let matches = categories.is_empty()
            || cart_line.is_some_and(|l| l.categories.iter().any(|c| categories.contains(c)));
        if matches && line.payable > Money::ZERO {
            lines.push(line.id.clone());
            gmv += line.payable;
        }
    }
    (lines, gmv)
}

/// Who may count `order`: its merchant, its livestreamer, the agencies in its chain.
fn candidates(tenant: &str, order: &Order) -> Vec<(String, ParticipantKind)> {
    let a = &order.cart.attribution;
    let mut out = vec![(tenant.to_owned(), ParticipantKind::Merchant)];
    out.extend(
        a.livestreamer
            .clone()
            .map(|l| (l, ParticipantKind::Livestreamer)),
    );
    for agency in [&a.promoter_agency, &a.carrying_agency, &a.helper_agency]
        .into_iter()
        .flatten()
    {
        out.push((agency.clone(), ParticipantKind::Agency));
    }
    out
}

/// Add a committed order's GMV to its participants' standings, granting the instant
/// rewards it crosses (inside the commit's transaction).
pub(crate) fn accrue(tx: &mut dyn Tx, order: &Order, now: i64) -> Result<(), TxError> {
    for counted in &order.incentives {
        let Some(event) = tx.get_json::<Incentive>(Table::Incentives, counted.event.as_bytes())?
        else {
            continue;
        };
        for participant in &counted.participants {
            move_gmv(tx, &event, participant, counted.gmv, &order.id, now)?;
        }
    }
    Ok(())
}

/// Take back what a change to an order refunded of its counted lines (inside the
/// change's transaction).
pub(crate) fn on_change(
    tx: &mut dyn Tx,
    before: &Order,
    after: &Order,
    now: i64,
) -> Result<(), TxError> {
    for counted in &after.incentives {
        let refunded = |o: &Order| -> Money {
            (o.lines.iter())
                .filter(|l| counted.lines.contains(&l.id))
                .map(|l| l.refunded)
                .sum()
        };
        let back = refunded(after) - refunded(before);
        if back == Money::ZERO {
            continue;
        }
        let Some(event) = tx.get_json::<Incentive>(Table::Incentives, counted.event.as_bytes())?
        else {
            continue;
        };
        for participant in &counted.participants {
            move_gmv(tx, &event, participant, -back, &after.id, now)?;
        }
    }
    Ok(())
}

/// `participant`'s standing in event `id` and its key, unless it closed (then nothing
/// moves it again).
fn open_standing(
    tx: &mut dyn Tx,
    id: &str,
    participant: &str,
) -> Result<Option<(Vec<u8>, Standing)>, TxError> {
    let key = participant_key(id, participant);
    let standing: Standing = tx
        .get_json(Table::IncentiveStandings, &key)?
        .unwrap_or_default();
    Ok((!standing.closed).then_some((key, standing)))
}

/// Move `participant`'s GMV by `by` (an order's counted GMV, or minus what a change
/// refunded of it) and settle its instant rewards, inside the order's transaction (which
/// covers [`ACCRUAL_TABLES`] and `Counters`). Public for the accrual fuzz target.
pub fn move_gmv(
    tx: &mut dyn Tx,
    event: &Incentive,
    participant: &str,
    by: Money,
    order: &str,
    now: i64,
) -> Result<(), TxError> {
    let id = &event.terms.id;
    let Some((key, mut standing)) = open_standing(tx, id, participant)? else {
        return Ok(());
    };
    // GMV is a sum of bounded orders net of their own refunds: it stays within i64 fen
    // (9.2 × 10¹⁶ yuan) for any event this host can take.
    standing.gmv = standing.gmv.checked_add(by).unwrap_or(Money(i64::MAX));
    if by > Money::ZERO {
        standing.orders = standing.orders.saturating_add(1);
    }
    standing.held.resize(event.terms.tiers.len(), false);
    standing.claims.resize(event.terms.tiers.len(), Vec::new());
    let may_claw = event.terms.clawback == Clawback::ClawBack && now < event.terms.until_ms;
    let mut moves = Vec::new();
    for (i, tier) in event.terms.tiers.iter().enumerate() {
        let Some(reward) = &tier.instant else {
            continue;
        };
        let reached = standing.gmv >= tier.gmv;
        if reached && !standing.held[i] {
            standing.held[i] = true;
            moves.push((i, RewardKind::Instant, reward, 1));
        } else if !reached && standing.held[i] && may_claw {
            standing.held[i] = false;
            moves.push((i, RewardKind::Clawback, reward, -1));
        }
    }
    for (tier, kind, reward, sign) in moves {
        append(
            tx,
            event,
            participant,
            &mut standing,
            (tier, kind, reward, sign),
            Some(order),
            now,
        )?;
    }
    tx.put_json(Table::IncentiveStandings, &key, &standing)
}

/// Append one ledger entry: `sign` × `reward` for `tier` (0-based), delivering or
/// revoking its coupons.
fn append(
    tx: &mut dyn Tx,
    event: &Incentive,
    participant: &str,
    standing: &mut Standing,
    (tier, kind, reward, sign): (usize, RewardKind, &Reward, i64),
    order: Option<&str>,
    now: i64,
) -> Result<(), TxError> {
    let mut entry = RewardEntry {
        seq: standing.entries,
        at_ms: now,
        tier: u32::try_from(tier + 1).unwrap_or(u32::MAX),
        kind,
        cash: Money::ZERO,
        growth_card_units: 0,
        coupons: 0,
        claims: Vec::new(),
        undelivered: 0,
        kept: 0,
        order: order.map(str::to_owned),
    };
    // Rewards are bounded (`MAX_CASH`, `MAX_UNITS`, `MAX_COUPONS`): negating one cannot
    // overflow.
    match reward {
        Reward::Cash { amount } if sign < 0 => entry.cash = -*amount,
        Reward::Cash { amount } => entry.cash = *amount,
        Reward::GrowthCard { units } => entry.growth_card_units = i64::from(*units) * sign,
        Reward::Coupon { template, count } => {
            let owner = event.owner.as_deref().unwrap_or_default();
            if sign > 0 {
                for k in 0..*count {
                    let id = format!(
                        "{}{}:{participant}:{}:{k}",
                        coupons::granted::GRANT_PREFIX,
                        event.terms.id,
                        entry.seq
                    );
                    if coupons::granted::grant(tx, (owner, template), participant, &id, now)? {
                        entry.claims.push(id);
                    } else {
                        entry.undelivered += 1;
                    }
                }
                if kind == RewardKind::Instant {
                    standing.claims[tier].clone_from(&entry.claims);
                }
            } else {
                for id in std::mem::take(&mut standing.claims[tier]) {
                    if coupons::granted::revoke(tx, owner, &id)? {
                        entry.claims.push(id);
                    } else {
                        entry.kept += 1;
                    }
                }
            }
            entry.coupons = i64::try_from(entry.claims.len()).unwrap_or(i64::MAX) * sign;
        }
    }
    standing.entries = standing.entries.saturating_add(1);
    tx.put_json(
        Table::IncentiveLedger,
        &entry_key(&event.terms.id, participant, entry.seq),
        &entry,
    )
}

/// The post-event timer of one participant: the post-event reward of every tier its GMV
/// reaches, once; its standing closes.
#[derive(Debug)]
pub struct Close;

impl Handler for Close {
    fn tables(&self) -> &[Table] {
        &ACCRUAL_TABLES
    }

    fn fire(&self, tx: &mut dyn Tx, timer: &Timer) -> Result<(), TxError> {
        let (id, participant) = (&timer.tenant, &timer.subject);
        let Some(event) = tx.get_json::<Incentive>(Table::Incentives, id.as_bytes())? else {
            return Ok(());
        };
        let Some((key, mut standing)) = open_standing(tx, id, participant)? else {
            return Ok(());
        };
        for (i, tier) in event.terms.tiers.iter().enumerate() {
            if let Some(reward) = &tier.post_event
                && standing.gmv >= tier.gmv
            {
                let movement = (i, RewardKind::PostEvent, reward, 1);
                append(
                    tx,
                    &event,
                    participant,
                    &mut standing,
                    movement,
                    None,
                    timer.due_ms,
                )?;
            }
        }
        standing.closed = true;
        tx.put_json(Table::IncentiveStandings, &key, &standing)
    }
}

/// A participant's ledger, oldest first.
pub(crate) fn ledger(
    store: &Store,
    event: &str,
    participant: &str,
) -> Result<Vec<RewardEntry>, StoreError> {
    let p = crate::store::prefix(&[event.as_bytes(), participant.as_bytes()]);
    store.scan(Table::IncentiveLedger, &p)
}
