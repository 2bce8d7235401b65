//! A buyer's points account with one merchant, as plain data: lots of points (each from a
//! grant or an order, each with its expiry), what unpaid orders hold, and the operations
//! that move points, each recorded as a ledger [`Entry`].
//!
//! - `balance` is what the buyer may spend: the sum of the lots' `left`, never negative.
//! - `held` is what placed, unpaid orders reserved: out of the balance, not yet spent.
//! - Every operation writes entries whose `points` add up to the change of `balance` and
//!   whose `held` add up to the change of `held`: the ledger reconciles with the account.
//!
//! An order spends from the lots that expire soonest; what it gives back returns to the
//! lots it came from (a lot that expired meanwhile expires again at once).
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Points from one source, spent before later-expiring ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lot {
    /// `grant:<id>` or `order:<id>`.
    pub source: String,
    /// Points left to spend.
    pub left: i64,
    /// When what is left expires (ms since the epoch); never when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<i64>,
}

/// Points an order took from one lot, and what it gave back to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Taken {
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<i64>,
    pub points: i64,
    pub returned: i64,
}

/// What moved the points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// The merchant granted points.
    Grant,
    /// A completed order earned points.
    Earn,
    /// An order placed with points held them.
    Reserve,
    /// The order was paid: what it held is spent.
    Redeem,
    /// An unpaid order was cancelled or expired: what it held is back.
    Release,
    /// A paid order was refunded: its points come back in proportion.
    Return,
    /// A refund after completion took back points the order had earned.
    Reverse,
    /// A lot's time ran out.
    Expire,
}

/// One line of the points ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Entry {
    /// Position in the buyer's ledger with this merchant, from 1.
    pub seq: u64,
    pub at_ms: i64,
    pub kind: EntryKind,
    /// Change of the spendable balance.
    pub points: i64,
    /// Change of what unpaid orders hold.
    pub held: i64,
    /// The grant or order that moved them (`grant:<id>` or `order:<id>`).
    pub source: String,
    /// The balance and the held points after this entry.
    pub balance: i64,
    pub held_after: i64,
    /// Points a [`EntryKind::Reverse`] should have taken back but the buyer had already
    /// spent: recorded, never silently dropped.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unrecovered: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// The account: see the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub balance: i64,
    pub held: i64,
    /// Lots with points left, soonest-expiring first.
    pub lots: Vec<Lot>,
    /// Ledger entries written so far.
    pub entries: u64,
}

impl Account {
    /// What the buyer may spend at `now` (lots expired by then left out).
    pub fn usable(&self, now: i64) -> i64 {
        self.lots
            .iter()
            .filter(|l| !expired(l.expires_ms, now))
            .map(|l| l.left)
            .sum()
    }

    fn entry(
        &mut self,
        at_ms: i64,
        kind: EntryKind,
        points: i64,
        held: i64,
        source: &str,
    ) -> Entry {
        self.balance += points;
        self.held += held;
        self.entries += 1;
        Entry {
            seq: self.entries,
            at_ms,
            kind,
            points,
            held,
            source: source.to_owned(),
            balance: self.balance,
            held_after: self.held,
            unrecovered: 0,
        }
    }

    /// Expire every lot whose time ran out by `now`.
    pub fn expire_due(&mut self, now: i64, out: &mut Vec<Entry>) {
        let due: Vec<Lot> = self
            .lots
            .extract_if(.., |l| expired(l.expires_ms, now))
            .collect();
        for lot in due {
            out.push(self.entry(now, EntryKind::Expire, -lot.left, 0, &lot.source));
        }
    }

    /// Add `points` (> 0) to the lot of `source` (a new one unless it exists with the same
    /// expiry).
    pub fn credit(
        &mut self,
        now: i64,
        kind: EntryKind,
        source: &str,
        points: i64,
        expires_ms: Option<i64>,
        out: &mut Vec<Entry>,
    ) {
        self.add_to_lot(source, points, expires_ms);
        out.push(self.entry(now, kind, points, 0, source));
        self.expire_due(now, out);
    }

    fn add_to_lot(&mut self, source: &str, points: i64, expires_ms: Option<i64>) {
        match (self.lots.iter_mut()).find(|l| l.source == source && l.expires_ms == expires_ms) {
            Some(lot) => lot.left += points,
            None => {
                let at = self
                    .lots
                    .partition_point(|l| order_key(l.expires_ms) <= order_key(expires_ms));
                self.lots.insert(
                    at,
                    Lot {
                        source: source.to_owned(),
                        left: points,
                        expires_ms,
                    },
                );
            }
        }
    }

    /// Hold `points` (> 0) for the order `source` from the soonest-expiring lots; `None`
    /// (and nothing changed) when fewer are usable at `now`.
    pub fn reserve(
        &mut self,
        now: i64,
        source: &str,
        points: i64,
        out: &mut Vec<Entry>,
    ) -> Option<Vec<Taken>> {
        self.expire_due(now, out);
        if self.balance < points {
            return None;
        }
        let mut taken = Vec::new();
        let mut still = points;
        for lot in &mut self.lots {
            if still == 0 {
                break;
            }
            let part = lot.left.min(still);
            lot.left -= part;
            still -= part;
            taken.push(Taken {
                source: lot.source.clone(),
                expires_ms: lot.expires_ms,
                points: part,
                returned: 0,
            });
        }
        self.lots.retain(|l| l.left > 0);
        out.push(self.entry(now, EntryKind::Reserve, -points, points, source));
        Some(taken)
    }

    /// The order `source` was paid: the `points` it holds are spent.
    pub fn redeem(&mut self, now: i64, source: &str, points: i64, out: &mut Vec<Entry>) {
        out.push(self.entry(now, EntryKind::Redeem, 0, -points, source));
    }

    /// Give `points` back from what `taken` holds (the latest-expiring lots first): out of
    /// the held points while `held`, else as a refund's return.
    pub fn give_back(
        &mut self,
        now: i64,
        source: &str,
        taken: &mut [Taken],
        points: i64,
        held: bool,
        out: &mut Vec<Entry>,
    ) {
        let mut still = points;
        for t in taken.iter_mut().rev() {
            let part = (t.points - t.returned).min(still);
            if part > 0 {
                t.returned += part;
                still -= part;
                self.add_to_lot(&t.source, part, t.expires_ms);
            }
        }
        let given = points - still;
        let (kind, held_change) = if held {
            (EntryKind::Release, -given)
        } else {
            (EntryKind::Return, 0)
        };
        out.push(self.entry(now, kind, given, held_change, source));
        self.expire_due(now, out);
    }

    /// Take back `points` the order `source` earned, from that order's lot as far as it
    /// still holds them; the rest is recorded as unrecovered.
    pub fn reverse(&mut self, now: i64, source: &str, points: i64, out: &mut Vec<Entry>) {
        let mut back = 0;
        for lot in self.lots.iter_mut().filter(|l| l.source == source) {
            let part = lot.left.min(points - back);
            lot.left -= part;
            back += part;
        }
        self.lots.retain(|l| l.left > 0);
        let mut entry = self.entry(now, EntryKind::Reverse, -back, 0, source);
        entry.unrecovered = points - back;
        out.push(entry);
    }
}

fn expired(expires_ms: Option<i64>, now: i64) -> bool {
    expires_ms.is_some_and(|at| at <= now)
}

/// Lots sort by expiry, never-expiring last.
fn order_key(expires_ms: Option<i64>) -> (bool, i64) {
    (expires_ms.is_none(), expires_ms.unwrap_or(0))
}

#[cfg(test)]
#[path = "account_tests.rs"]
mod tests;
