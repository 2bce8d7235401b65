//! Coupon templates: `/v1/coupons`.

use super::rooms::{LiveRoom, NewLiveRoom};
use super::template_key;
use crate::domain::changes::{self, Change};
use crate::domain::page::{self, Page, Position};
use crate::domain::tenants::{ANY_ROLE, TenantKind};
use crate::domain::{Error, Plaza, Principal, Role, check_id};
use crate::executor::cart::Channel;
use crate::store::{Table, TxError, TxExt, prefix};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most units of stock a template may have.
pub const MAX_STOCK: u32 = 10_000_000;
/// Most claims of one template one buyer may hold.
pub const MAX_PER_BUYER: u32 = 100;
/// Longest validity counted from the claim, in days.
pub const MAX_VALID_DAYS: u32 = 365;

/// How long a claim is valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Validity {
    /// From `from_ms` until `until_ms` (exclusive) for every claim; claimable until then.
    Between { from_ms: i64, until_ms: i64 },
    /// From the claim for `days` days.
    DaysFromClaim {
        #[schema(minimum = 1, maximum = 365)]
        days: u32,
    },
}

/// Who may claim. Every binding given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Bindings {
    /// Only a buyer in this channel (the checkout's word).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    /// 主播券: only a buyer who visited this livestreamer's live room inside the
    /// merchant's lock window (a stored touch of the registered livestreamer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub livestreamer: Option<String>,
    /// Only a buyer who opened this promoter's (or creator's) link inside the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoter: Option<String>,
    /// Only a buyer who opened this share link inside the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 128)]
    pub share_link: Option<String>,
    /// Only members of this tier (the checkout's word).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 128)]
    pub member_tier: Option<String>,
    /// Only new customers (the checkout's word).
    #[serde(default)]
    pub new_customers_only: bool,
}

/// What a refund or cancel of the order that used a claim does with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnRefund {
    /// The claim is the buyer's to use again (while it is valid).
    #[default]
    Return,
    /// The claim stays used.
    Keep,
}

fn one() -> u32 {
    1
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTemplate {
    #[schema(schema_with = crate::shape::id_schema)]
    pub id: String,
    #[schema(schema_with = crate::shape::name_schema)]
    pub name: String,
    /// The caller's plan whose step gives the coupon its value.
    #[schema(schema_with = crate::shape::id_schema)]
    pub plan: String,
    /// That step's id.
    #[schema(schema_with = crate::shape::id_schema)]
    pub step: String,
    /// The coupon code the step's rule is configured to match: a claim presents it.
    #[schema(schema_with = crate::shape::text_schema)]
    pub code: String,
    /// Units that can be handed out in all (claims, and codes when issued).
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub stock: u32,
    /// Claims one buyer may hold (default 1).
    #[serde(default = "one")]
    #[schema(minimum = 1, maximum = 100, default = 1)]
    pub per_buyer: u32,
    pub validity: Validity,
    #[serde(default)]
    pub bindings: Bindings,
    /// 主播券: the stock split over livestreamers' live rooms. A buyer claims it only in
    /// one of these rooms (by their stored touches), taking a unit of that room's stock
    /// and of `stock`, and redeems it only in that room. Not with `bindings.livestreamer`.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub live_rooms: Vec<NewLiveRoom>,
    #[serde(default)]
    pub on_refund: OnRefund,
}

/// A stored template with what it has handed out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Template {
    /// The merchant or agency that owns it.
    pub owner: String,
    pub id: String,
    pub name: String,
    pub plan: String,
    pub step: String,
    pub code: String,
    pub stock: u32,
    pub per_buyer: u32,
    pub validity: Validity,
    pub bindings: Bindings,
    /// 主播券: each live room's stock and claims.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub live_rooms: Vec<LiveRoom>,
    pub on_refund: OnRefund,
    /// Units of stock taken: claims made from stock, and codes issued.
    pub issued: u32,
    /// Claims made, from stock or by code.
    pub claimed: u32,
    pub created_ms: i64,
    /// Claiming ended (claims made stay valid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_ms: Option<i64>,
}

impl Template {
    /// Stock not yet handed out.
    pub fn left(&self) -> u32 {
        self.stock.saturating_sub(self.issued)
    }

    /// Whether it can be claimed at `now_ms`, or the refusal.
    pub(super) fn open_at(&self, now_ms: i64) -> Result<(), Error> {
        if self.ended_ms.is_some() {
            return Err(conflict("template_ended", "claiming this coupon has ended"));
        }
        if let Validity::Between { until_ms, .. } = self.validity
            && now_ms >= until_ms
        {
            return Err(conflict(
                "template_expired",
                "this coupon is no longer valid",
            ));
        }
        Ok(())
    }

    /// The validity of a claim made at `now_ms`: (from, until).
    pub(super) fn valid_for_claim_at(&self, now_ms: i64) -> (i64, i64) {
        match self.validity {
            Validity::Between { from_ms, until_ms } => (from_ms, until_ms),
            Validity::DaysFromClaim { days } => (
                now_ms,
                now_ms.saturating_add(i64::from(days) * crate::domain::attribution::DAY_MS),
            ),
        }
    }

    fn of(owner: &str, new: NewTemplate, now_ms: i64) -> Template {
        let live_rooms = (new.live_rooms.iter())
            .map(|r| LiveRoom {
                livestreamer: r.livestreamer.clone(),
                stock: r.stock,
                issued: 0,
            })
            .collect();
        Template {
            owner: owner.to_owned(),
            id: new.id,
            name: new.name,
            plan: new.plan,
            step: new.step,
            code: new.code,
            stock: new.stock,
            per_buyer: new.per_buyer,
            validity: new.validity,
            bindings: new.bindings,
            live_rooms,
            on_refund: new.on_refund,
            issued: 0,
            claimed: 0,
            created_ms: now_ms,
            ended_ms: None,
        }
    }

    /// Whether `new` asks for this template (its counts and times aside; a template whose
    /// stock was moved between rooms is no longer the one defined).
    fn same_as(&self, new: &NewTemplate) -> bool {
        let mut again = Template::of(&self.owner, new.clone(), self.created_ms);
        again.issued = self.issued;
        again.claimed = self.claimed;
        again.ended_ms = self.ended_ms;
        for (room, stored) in again.live_rooms.iter_mut().zip(&self.live_rooms) {
            room.issued = stored.issued;
        }
        *self == again
    }
}

pub(super) fn conflict(kind: &'static str, message: &str) -> Error {
    Error::Conflict {
        kind,
        message: message.to_owned(),
    }
}

fn invalid(field: &str, message: &str) -> Error {
    Error::Invalid {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

/// Who may define templates: a merchant's or an agency's admin.
const OWNERS: &[Role] = &[Role::Admin];

impl Plaza {
    fn check_template(&self, owner: &str, new: &NewTemplate) -> Result<(), Error> {
        check_id("id", &new.id)?;
        check_id("plan", &new.plan)?;
        check_id("step", &new.step)?;
        if !crate::shape::is_name(&new.name) {
            return Err(invalid("name", "must be 1-256 characters, not all spaces"));
        }
        if !crate::shape::is_text(&new.code) {
            return Err(invalid("code", "must be 1-128 characters"));
        }
        if !(1..=MAX_STOCK).contains(&new.stock) {
            return Err(invalid("stock", "must be 1 to 10000000"));
        }
        if !(1..=MAX_PER_BUYER).contains(&new.per_buyer) {
            return Err(invalid("per_buyer", "must be 1 to 100"));
        }
        match new.validity {
            Validity::Between { from_ms, until_ms } if from_ms >= until_ms => {
                return Err(invalid("validity", "from_ms must be before until_ms"));
            }
            Validity::DaysFromClaim { days } if !(1..=MAX_VALID_DAYS).contains(&days) => {
                return Err(invalid("validity.days", "must be 1 to 365"));
            }
            _ => {}
        }
        let b = &new.bindings;
        for (field, text) in [
            ("bindings.share_link", &b.share_link),
            ("bindings.member_tier", &b.member_tier),
        ] {
            if text.as_deref().is_some_and(|t| !crate::shape::is_text(t)) {
                return Err(invalid(field, "must be 1-128 characters"));
            }
        }
        if let Some(id) = &b.livestreamer {
            self.check_livestreamer("bindings.livestreamer", id)?;
        }
        if let Some(id) = &b.promoter {
            check_id("bindings.promoter", id)?;
            self.promoter_record(id)?
                .ok_or_else(|| Error::not_found("party", id))?;
        }
        self.check_rooms(&new.live_rooms)?;
        if !new.live_rooms.is_empty() && b.livestreamer.is_some() {
            return Err(invalid(
                "live_rooms",
                "a coupon is bound to one livestreamer or split over live rooms, not both",
            ));
        }
        let touches = b.livestreamer.is_some()
            || b.promoter.is_some()
            || b.share_link.is_some()
            || !new.live_rooms.is_empty();
        if touches
            && self
                .tenant_of_kind(owner, TenantKind::Merchant, "bind coupons to touches")
                .is_err()
        {
            return Err(Error::Unprocessable {
                kind: "binding_needs_touches",
                field: "bindings".into(),
                message: "livestreamer, promoter and share-link bindings are decided by a merchant's touches".into(),
            });
        }
        // The step must be one of the plan's (its latest version).
        let head = self.head(owner, &new.plan)?;
        let latest = self.load_version(owner, &new.plan, head.latest)?;
        if !latest.steps.iter().any(|s| s.id == new.step) {
            return Err(Error::not_found("step", &new.step));
        }
        Ok(())
    }

    /// Define a template (the caller's admin, a merchant or an agency). Defining the same
    /// template again answers the stored one (`false`); a different one under its id is
    /// refused (`template_exists`).
    pub async fn create_template(
        &self,
        who: &Principal,
        new: NewTemplate,
    ) -> Result<(Template, bool), Error> {
        let owner = who.tenant(OWNERS, "define coupons")?;
        self.coupon_owner(owner)?;
        self.check_template(owner, &new)?;
        let key = template_key(owner, &new.id);
        let fresh = Template::of(owner, new.clone(), self.now_ms());
        let mut stored = None;
        let tables = [
            Table::CouponTemplates,
            changes::TABLES[0],
            changes::TABLES[1],
        ];
        self.store
            .transact(&tables, |tx| {
                stored = tx.get_json::<Template>(Table::CouponTemplates, &key)?;
                if stored.is_none() {
                    tx.put_json(Table::CouponTemplates, &key, &fresh)?;
                    let owner = owner.to_owned();
                    changes::record(tx, &self.host, Change::Templates { owner })?;
                }
                Ok(())
            })
            .map_err(Error::from_tx)?;
        match stored {
            Some(t) if t.same_as(&new) => Ok((t, false)),
            Some(_) => Err(conflict(
                "template_exists",
                "a different coupon template has this id",
            )),
            None => {
                self.flush().await?;
                super::redeem::bind(&mut crate::domain::write(&self.coupon_steps), &fresh);
                Ok((fresh, true))
            }
        }
    }

    pub fn template(&self, who: &Principal, id: &str) -> Result<Template, Error> {
        let owner = who.tenant(ANY_ROLE, "read coupons")?;
        self.template_of(owner, id)
    }

    pub(super) fn template_of(&self, owner: &str, id: &str) -> Result<Template, Error> {
        self.store
            .get(Table::CouponTemplates, &template_key(owner, id))?
            .ok_or_else(|| Error::not_found("coupon template", id))
    }

    pub fn list_templates(&self, who: &Principal, at: &Position) -> Result<Page<Template>, Error> {
        let owner = who.tenant(ANY_ROLE, "read coupons")?;
        let p = prefix(&[owner.as_bytes()]);
        Ok(page::scan(&self.store, Table::CouponTemplates, &p, at)?)
    }

    /// End claiming (the owner's admin or checkout): claims made stay valid. Ending an
    /// ended template changes nothing.
    pub async fn end_template(&self, who: &Principal, id: &str) -> Result<Template, Error> {
        let owner = who.tenant(OWNERS, "end coupons")?;
        let key = template_key(owner, id);
        let now = self.now_ms();
        let mut ended = None;
        self.store
            .transact(&[Table::CouponTemplates], |tx| {
                let Some(mut t) = tx.get_json::<Template>(Table::CouponTemplates, &key)? else {
                    return Err(TxError::Abort);
                };
                if t.ended_ms.is_none() {
                    t.ended_ms = Some(now);
                    tx.put_json(Table::CouponTemplates, &key, &t)?;
                }
                ended = Some(t);
                Ok(())
            })
            .map_err(|e| match e {
                TxError::Abort => Error::not_found("coupon template", id),
                e => Error::from_tx(e),
            })?;
        self.flush().await?;
        ended.ok_or_else(|| Error::Internal("an ended template went missing".into()))
    }
}
