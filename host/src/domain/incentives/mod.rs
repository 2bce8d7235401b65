//! GMV incentive events (`/v1/incentives`): the platform operator or a merchant runs an
//! event; merchants, livestreamers and agencies register within its registration window
//! (reviewed by the owner, or approved at once); during the event window each approved
//! participant's GMV accumulates from the orders it sold that meet the event's conditions;
//! crossing a tier's threshold grants the tier's instant reward, exactly once, and the
//! post-event rewards follow from GMV net of refunds once the event window and its
//! after-sale window have passed.
//!
//! - **Who counts an order**: the merchant whose order it is, the livestreamer it is
//!   attributed to, and each agency in its chain (promoter agency, carrying agency, helper
//!   agency), each once, when registered under that role and approved before the commit.
//!   A merchant's event counts its own orders only; the platform's counts every merchant's.
//! - **Conditions**: the order's channel, the lines' categories (only matching lines
//!   count), and facts the owner reports per participant ("live preview published": 1,
//!   "reservations": 120): a participant whose facts fall short at the commit does not
//!   count that order. The host's clock decides the windows, never the cart's `now_ms`.
//! - **GMV** is what the buyer paid for the counted lines, net of refunds: the commit adds
//!   it and every refund, cancel, expiry or declined gift takes back the refunded part, in
//!   the same transaction as the order's change ([`accrual`]).
//! - **Instant rewards** are granted when a threshold is crossed; with `claw_back` (the
//!   default) refunds that take the participant back under it before the event ends claw
//!   it back, and crossing again grants it again: a tier's instant reward is held at most
//!   once at any time. With `keep`, a granted reward stays.
//! - **Post-event rewards**: each participant's own timer, due when the event ends plus
//!   its after-sale days, grants the post-event reward of every tier its GMV then reaches;
//!   later refunds change nothing.
//!
//! Every reward is an entry in the participant's incentive ledger (cash in fen, growth card
//! units, or coupon claims), signed, so that what a participant holds is the sum of its
//! ledger. A merchant's own event may reward claims of one of its coupon templates: they
//! are delivered into the participant's wallet in the transaction that earned them, as far
//! as the stock goes (the rest recorded as undelivered), and a clawback revokes the unused
//! ones ([`crate::domain::coupons`]'s granted claims).
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

pub mod accrual;
mod entrants;
mod progress;

pub use accrual::{OrderIncentive, RewardEntry, RewardKind};
pub use entrants::{Decision, Entrant, EntrantState, Facts, Review};
pub use progress::{NextTier, Progress, TierProgress};

use super::page::{self, Page, Position};
use super::tenants::{Principal, TenantKind};
use super::{Error, Plaza, Role, check_id};
use crate::Money;
use crate::executor::cart::Channel;
use crate::store::{Store, StoreError, Table, TxExt, key};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most tiers of one event.
pub const MAX_TIERS: usize = 10;
/// Most channels, categories or fact conditions of one event.
pub const MAX_CONDITIONS: usize = 20;
/// The largest GMV threshold: 10 billion yuan.
pub const MAX_THRESHOLD: Money = Money(1_000_000_000_000);
/// The largest cash reward: 10 million yuan.
pub const MAX_CASH: Money = Money(1_000_000_000);
/// The most growth card units one reward gives.
pub const MAX_UNITS: u32 = 1_000_000;
/// The most coupons one reward gives.
pub const MAX_COUPONS: u32 = 100;
/// The longest event or registration window: a year.
pub const MAX_WINDOW_MS: i64 = 366 * DAY_MS;
/// The longest after-sale wait before post-event rewards: 90 days.
pub const MAX_AFTER_SALE_DAYS: u32 = 90;
/// The timer that grants a participant's post-event rewards.
pub const INCENTIVE_CLOSE: &str = "incentive_close";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Who takes part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantKind {
    /// A merchant tenant: its own orders.
    Merchant,
    /// A livestreamer (its beneficiary id): the orders attributed to it.
    Livestreamer,
    /// An agency tenant: the orders it appears in as promoter, carrying or helper agency.
    Agency,
}

impl ParticipantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantKind::Merchant => "merchant",
            ParticipantKind::Livestreamer => "livestreamer",
            ParticipantKind::Agency => "agency",
        }
    }
}

/// What a tier gives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reward {
    /// Cash, in fen (1 to 1,000,000,000).
    Cash { amount: Money },
    /// Growth card (成长卡) units (1 to 1,000,000).
    GrowthCard { units: u32 },
    /// Claims (1 to 100) of a coupon template of the merchant running the event, into the
    /// participant's wallet (a merchant's own event only; not a 主播券 template).
    Coupon {
        #[schema(schema_with = crate::shape::id_schema)]
        template: String,
        #[schema(minimum = 1, maximum = 100)]
        count: u32,
    },
}

/// One threshold of cumulative GMV and what reaching it gives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Cumulative GMV (fen) that reaches the tier; tiers rise strictly.
    pub gmv: Money,
    /// Granted when the threshold is crossed during the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instant: Option<Reward>,
    /// Granted after the event and its after-sale window, on GMV net of refunds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_event: Option<Reward>,
}

/// A fact the owner reports per participant must be at least this.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FactCondition {
    #[schema(schema_with = crate::shape::id_schema)]
    pub name: String,
    pub at_least: i64,
}

/// Which orders and participants count. Empty lists ask nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Orders from these channels count.
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// Lines in one of these categories count.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Facts a participant must have when an order is committed for it to count.
    #[serde(default)]
    pub facts: Vec<FactCondition>,
}

/// What happens to an instant reward when refunds take GMV back under its threshold
/// before the event ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Clawback {
    /// It is clawed back (and granted again if the threshold is crossed again).
    #[default]
    ClawBack,
    /// It stays granted.
    Keep,
}

fn after_sale_default() -> u32 {
    7
}

/// An event as its owner describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncentive {
    /// Unique across the platform.
    #[schema(schema_with = crate::shape::id_schema)]
    pub id: String,
    #[schema(schema_with = crate::shape::name_schema)]
    pub name: String,
    /// Who may register (a merchant's own event: livestreamers and agencies).
    pub who: Vec<ParticipantKind>,
    /// Registrations wait for the owner's review (`manual`, the default) or are approved
    /// at once (`auto`).
    #[serde(default)]
    pub review: Review,
    /// Registrations are taken from this instant …
    pub registration_from_ms: i64,
    /// … until this one (exclusive; at the latest the event's end).
    pub registration_until_ms: i64,
    /// Orders committed from this instant …
    pub from_ms: i64,
    /// … until this one (exclusive) count.
    pub until_ms: i64,
    /// Days after the event's end before post-event rewards are granted (default 7,
    /// at most 90): refunds until then lower GMV.
    #[serde(default = "after_sale_default")]
    #[schema(minimum = 0, maximum = 90, default = 7)]
    pub after_sale_days: u32,
    #[serde(default)]
    pub conditions: Conditions,
    /// 1 to 10 tiers, thresholds rising, each with an instant reward, a post-event reward
    /// or both.
    pub tiers: Vec<Tier>,
    #[serde(default)]
    pub clawback: Clawback,
}

/// A stored event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Incentive {
    /// The merchant running it; absent for the platform's own events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    pub created_ms: i64,
    #[serde(flatten)]
    pub terms: NewIncentive,
}

impl Incentive {
    /// When post-event rewards are granted.
    pub fn closes_ms(&self) -> i64 {
        let wait = i64::from(self.terms.after_sale_days) * DAY_MS;
        self.terms.until_ms.saturating_add(wait)
    }

    /// Orders committed at `now` count.
    pub fn running(&self, now: i64) -> bool {
        (self.terms.from_ms..self.terms.until_ms).contains(&now)
    }

    /// Whether `who` runs this event.
    fn owned_by(&self, who: &Principal) -> bool {
        match (who, &self.owner) {
            (Principal::Operator, None) => true,
            (
                Principal::Member {
                    tenant,
                    role: Role::Admin,
                },
                Some(owner),
            ) => owner == tenant,
            _ => false,
        }
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

impl NewIncentive {
    fn check(&self, merchant_owned: bool) -> Result<(), Error> {
        check_id("id", &self.id)?;
        if !crate::shape::is_name(&self.name) {
            return Err(invalid("name", "must be 1-256 characters, not all spaces"));
        }
        let mut who = self.who.clone();
        who.sort();
        who.dedup();
        if who.is_empty() || who.len() != self.who.len() {
            return Err(invalid("who", "name each kind of participant once"));
        }
        if merchant_owned && who.contains(&ParticipantKind::Merchant) {
            return Err(invalid(
                "who",
                "a merchant's event is for livestreamers and agencies",
            ));
        }
        let span = |from: i64, until: i64| until.checked_sub(from).unwrap_or(i64::MAX);
        if !(1..=MAX_WINDOW_MS).contains(&span(self.from_ms, self.until_ms)) {
            return Err(invalid("until_ms", "must be after from_ms, within a year"));
        }
        let registration = span(self.registration_from_ms, self.registration_until_ms);
        if !(1..=MAX_WINDOW_MS).contains(&registration)
            || self.registration_until_ms > self.until_ms
        {
            return Err(invalid(
                "registration_until_ms",
                "must be after registration_from_ms, within a year, and no later than until_ms",
            ));
        }
        if self.after_sale_days > MAX_AFTER_SALE_DAYS {
            return Err(invalid("after_sale_days", "must be 0 to 90"));
        }
        self.check_conditions()?;
        self.check_tiers(merchant_owned)
    }

    /// The coupon templates its rewards grant, with where each is named.
    fn coupon_templates(&self) -> impl Iterator<Item = (String, &str)> {
        (self.tiers.iter().enumerate()).flat_map(|(i, tier)| {
            [("instant", &tier.instant), ("post_event", &tier.post_event)]
                .into_iter()
                .filter_map(move |(field, reward)| match reward {
                    Some(Reward::Coupon { template, .. }) => {
                        Some((format!("tiers[{i}].{field}.template"), template.as_str()))
                    }
                    _ => None,
                })
        })
    }

    fn check_conditions(&self) -> Result<(), Error> {
        let c = &self.conditions;
        let counts = [
            ("conditions.channels", c.channels.len()),
            ("conditions.categories", c.categories.len()),
            ("conditions.facts", c.facts.len()),
        ];
        if let Some((field, _)) = counts.iter().find(|(_, n)| *n > MAX_CONDITIONS) {
            return Err(invalid(*field, format!("at most {MAX_CONDITIONS}")));
        }
        for (i, category) in c.categories.iter().enumerate() {
            if !crate::shape::is_text(category) {
                return Err(invalid(
                    format!("conditions.categories[{i}]"),
                    "1 to 128 characters",
                ));
            }
        }
        for (i, fact) in c.facts.iter().enumerate() {
            check_id(&format!("conditions.facts[{i}].name"), &fact.name)?;
            if !(0..=entrants::MAX_FACT).contains(&fact.at_least) {
                return Err(invalid(
                    format!("conditions.facts[{i}].at_least"),
                    format!("must be 0 to {}", entrants::MAX_FACT),
                ));
            }
        }
        Ok(())
    }

    fn check_tiers(&self, merchant_owned: bool) -> Result<(), Error> {
        if !(1..=MAX_TIERS).contains(&self.tiers.len()) {
            return Err(invalid("tiers", format!("1 to {MAX_TIERS} tiers")));
        }
        let mut floor = Money::ZERO;
        for (i, tier) in self.tiers.iter().enumerate() {
            if tier.gmv <= floor || tier.gmv > MAX_THRESHOLD {
                return Err(invalid(
                    format!("tiers[{i}].gmv"),
                    format!(
                        "must rise above the tier before (or 0), up to {} fen",
                        MAX_THRESHOLD.0
                    ),
                ));
            }
            floor = tier.gmv;
            if tier.instant.is_none() && tier.post_event.is_none() {
                return Err(invalid(
                    format!("tiers[{i}]"),
                    "give an instant reward, a post-event one or both",
                ));
            }
            let rewards = [("instant", &tier.instant), ("post_event", &tier.post_event)];
            for (field, reward) in rewards {
                let in_bounds = match reward {
                    None => true,
                    Some(Reward::Cash { amount }) => (1..=MAX_CASH.0).contains(&amount.0),
                    Some(Reward::GrowthCard { units }) => (1..=MAX_UNITS).contains(units),
                    Some(Reward::Coupon { template, count }) => {
                        if !merchant_owned {
                            return Err(invalid(
                                format!("tiers[{i}].{field}"),
                                "coupons are the rewards of a merchant's own event",
                            ));
                        }
                        check_id(&format!("tiers[{i}].{field}.template"), template)?;
                        (1..=MAX_COUPONS).contains(count)
                    }
                };
                if !in_bounds {
                    return Err(invalid(
                        format!("tiers[{i}].{field}"),
                        format!(
                            "cash 1 to {} fen, growth cards 1 to {MAX_UNITS} units, \
                             coupons 1 to {MAX_COUPONS}",
                            MAX_CASH.0
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The event `id` (any text: what is not an id is no event).
pub(super) fn incentive_of(store: &Store, id: &str) -> Result<Incentive, Error> {
    store
        .get(Table::Incentives, id.as_bytes())?
        .ok_or_else(|| Error::not_found("incentive", id))
}

/// Every stored event (a platform has a handful running at a time).
pub(super) fn all(store: &Store) -> Result<Vec<Incentive>, StoreError> {
    store.scan(Table::Incentives, &[])
}

/// Where `participant`'s registration, standing and ledger of `event` are kept.
pub(super) fn participant_key(event: &str, participant: &str) -> Vec<u8> {
    key(&[event.as_bytes(), participant.as_bytes()])
}

impl Plaza {
    /// Start an event: the operator (a platform event) or a merchant's admin. The same
    /// event again answers the stored one (`false`); another under its id is refused.
    pub async fn create_incentive(
        &self,
        who: &Principal,
        new: NewIncentive,
    ) -> Result<(Incentive, bool), Error> {
        let owner = match who {
            Principal::Operator => None,
            _ => {
                let tenant = who.tenant(&[Role::Admin], "run incentive events")?;
                self.tenant_of_kind(tenant, TenantKind::Merchant, "run incentive events")?;
                Some(tenant.to_owned())
            }
        };
        new.check(owner.is_some())?;
        if let Some(owner) = &owner {
            for (field, template) in new.coupon_templates() {
                self.grantable(owner, template).map_err(|e| match e {
                    Error::Invalid { message, .. } => invalid(field, message),
                    Error::NotFound { .. } => {
                        invalid(field, "no coupon template of yours has this id")
                    }
                    e => e,
                })?;
            }
        }
        let fresh = Incentive {
            owner,
            created_ms: self.now_ms(),
            terms: new,
        };
        let id = fresh.terms.id.clone();
        let mut stored = None;
        self.store
            .transact(&[Table::Incentives], |tx| {
                stored = tx.get_json::<Incentive>(Table::Incentives, id.as_bytes())?;
                if stored.is_none() {
                    tx.put_json(Table::Incentives, id.as_bytes(), &fresh)?;
                }
                Ok(())
            })
            .map_err(Error::from_tx)?;
        match stored {
            Some(s) if s.owner == fresh.owner && s.terms == fresh.terms => Ok((s, false)),
            Some(_) => Err(Error::conflict(
                "incentive_exists",
                "another event has this id",
            )),
            None => {
                self.flush().await?;
                Ok((fresh, true))
            }
        }
    }

    /// An event: every event is public, so that participants find it.
    pub fn incentive(&self, _who: &Principal, id: &str) -> Result<Incentive, Error> {
        incentive_of(&self.store, id)
    }

    pub fn list_incentives(
        &self,
        _who: &Principal,
        at: &Position,
    ) -> Result<Page<Incentive>, Error> {
        Ok(page::scan(&self.store, Table::Incentives, &[], at)?)
    }

    /// The event `id`, if `who` runs it.
    fn owned_incentive(&self, who: &Principal, id: &str) -> Result<Incentive, Error> {
        if !matches!(who, Principal::Operator) {
            who.tenant(&[Role::Admin], "manage incentive events")?;
        }
        let event = incentive_of(&self.store, id)?;
        if !event.owned_by(who) {
            // Events are public, their management is not: to anyone but the owner, there
            // is no such event of theirs.
            return Err(Error::not_found("incentive event of yours", id));
        }
        Ok(event)
    }
}
