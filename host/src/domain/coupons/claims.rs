//! Claims: `POST /v1/coupons/{template}/claims` and the buyer's wallet.

use super::templates::{Template, conflict};
use super::{claim_key, holder_key, template_key, wallet_key};
use crate::domain::attribution::{settings_of, touches};
use crate::domain::page::{Page, Position};
use crate::domain::tenants::TenantKind;
use crate::domain::{Error, Plaza, Principal, Role, check_id};
use crate::executor::cart::Channel;
use crate::store::{Table, Tx, TxError, TxExt, prefix};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who claims for a buyer: the owner's checkout (or admin).
pub(super) const CLAIMERS: &[Role] = &[Role::Admin, Role::Checkout];

/// The buyer a claim is for, as the checkout knows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimBuyer {
    #[schema(schema_with = crate::shape::text_schema)]
    pub id: String,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 128)]
    pub member_tier: Option<String>,
    #[serde(default)]
    pub new_customer: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClaim {
    /// The checkout's id for this claim: claiming again is answered with the first.
    #[schema(schema_with = crate::shape::id_schema)]
    pub claim_id: String,
    pub buyer: ClaimBuyer,
    /// Where the buyer is claiming it.
    #[serde(default)]
    pub channel: Option<Channel>,
}

/// A coupon in a buyer's wallet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = CouponClaim)]
pub struct Claim {
    pub id: String,
    /// The template's owner.
    pub owner: String,
    pub template: String,
    pub buyer: String,
    /// The coupon code a cart presents for it (the template's).
    pub code: String,
    /// The offline code it was claimed with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_code: Option<String>,
    /// 主播券: the livestreamer whose live room it was claimed in (and is redeemed in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_room: Option<String>,
    pub claimed_ms: i64,
    pub valid_from_ms: i64,
    /// Valid before this instant.
    pub valid_until_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimState {
    Available,
    NotYetValid,
    Used,
    Expired,
}

impl Claim {
    /// Its state at `now_ms`, `used` when an order holds it.
    pub fn state_at(&self, now_ms: i64, used: bool) -> ClaimState {
        if used {
            ClaimState::Used
        } else if now_ms >= self.valid_until_ms {
            ClaimState::Expired
        } else if now_ms < self.valid_from_ms {
            ClaimState::NotYetValid
        } else {
            ClaimState::Available
        }
    }
}

/// A claim as the wallet shows it: with its state now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WalletEntry {
    #[serde(flatten)]
    pub claim: Claim,
    pub state: ClaimState,
}

/// Where a claim's unit comes from.
pub(super) enum Source<'a> {
    /// The template's stock.
    Stock,
    /// An offline code, whose unit was taken from stock when its batch was issued.
    Code(&'a str),
}

/// Why a claim transaction gave up.
pub(super) enum Refusal {
    IdTaken,
    Missing,
    Other(Error),
    OutOfStock,
    Limit,
    CodeUsed,
}

pub(super) const TABLES: [Table; 5] = [
    Table::CouponTemplates,
    Table::CouponHolders,
    Table::CouponClaims,
    Table::CouponWallets,
    Table::CouponCodes,
];

fn invalid(field: &str, message: &str) -> Error {
    Error::Invalid {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

/// A checkout's claim id may not be one the host gives rewards.
pub(super) fn check_checkout_claim_id(id: &str) -> Result<(), Error> {
    if id.starts_with(super::help::REWARD_PREFIX) || id.starts_with(super::granted::GRANT_PREFIX) {
        return Err(invalid(
            "claim_id",
            "claim ids starting with help: or incentive: are the host's (rewards)",
        ));
    }
    Ok(())
}

fn check_claim(new: &NewClaim) -> Result<(), Error> {
    check_id("claim_id", &new.claim_id)?;
    if !crate::shape::is_text(&new.buyer.id) {
        return Err(invalid("buyer.id", "must be 1-128 characters"));
    }
    if (new.buyer.member_tier.as_deref()).is_some_and(|t| !crate::shape::is_text(t)) {
        return Err(invalid("buyer.member_tier", "must be 1-128 characters"));
    }
    Ok(())
}

impl Plaza {
    /// Why `new` may not claim `t` now, if it may not. Touch bindings are decided by the
    /// buyer's stored touches inside the owner's lock window.
    fn ineligible(&self, t: &Template, new: &NewClaim, now: i64) -> Result<Option<String>, Error> {
        let b = &t.bindings;
        if let Some(channel) = b.channel
            && new.channel != Some(channel)
        {
            return Ok(Some(format!("only in the {} channel", channel.as_str())));
        }
        if let Some(tier) = &b.member_tier
            && new.buyer.member_tier.as_ref() != Some(tier)
        {
            return Ok(Some(format!("only for {tier} members")));
        }
        if b.new_customers_only && !new.buyer.new_customer {
            return Ok(Some("only for new customers".into()));
        }
        if b.livestreamer.is_none() && b.promoter.is_none() && b.share_link.is_none() {
            return Ok(None);
        }
        let settings = settings_of(&self.store, &t.owner)?;
        let found = touches::in_window(&self.store, &t.owner, &new.buyer.id, now, &settings)?;
        if let Some(live) = &b.livestreamer
            && !found.iter().any(|x| x.promoter == *live)
        {
            return Ok(Some(format!("only in {live}'s live room")));
        }
        if let Some(p) = &b.promoter
            && !found.iter().any(|x| x.promoter == *p)
        {
            return Ok(Some(format!("only through {p}'s link")));
        }
        if let Some(link) = &b.share_link
            && !found.iter().any(|x| x.share_link.as_ref() == Some(link))
        {
            return Ok(Some("only through its share link".into()));
        }
        Ok(None)
    }

    /// Claim one of template `template` for `new.buyer` (the owner's checkout or admin).
    /// Stock, the buyer's limit and the bindings are checked, and the claim stored, in
    /// one transaction. Claiming again under the same id answers the first (`false`).
    pub async fn claim_coupon(
        &self,
        who: &Principal,
        template: &str,
        new: NewClaim,
    ) -> Result<(Claim, bool), Error> {
        let owner = who.tenant(CLAIMERS, "claim coupons")?.to_owned();
        check_id("template", template)?;
        check_checkout_claim_id(&new.claim_id)?;
        self.claim_from(&owner, template, new, Source::Stock).await
    }

    pub(super) async fn claim_from(
        &self,
        owner: &str,
        template: &str,
        new: NewClaim,
        source: Source<'_>,
    ) -> Result<(Claim, bool), Error> {
        let now = self.now_ms();
        let fresh = match self.prepare_claim(owner, template, &new, &source, now)? {
            Prepared::Again(claim) => return Ok((claim, false)),
            Prepared::Fresh(claim) => claim,
        };
        let mut refusal = None;
        let mut again = None;
        let outcome = self.store.transact(&TABLES, |tx| {
            refusal = None;
            again = None;
            match store_claim(tx, &fresh, &source, now)? {
                Ok(stored) => {
                    again = stored;
                    Ok(())
                }
                Err(r) => {
                    refusal = Some(r);
                    Err(TxError::Abort)
                }
            }
        });
        match (outcome, refusal) {
            (Ok(()), _) => {}
            (Err(TxError::Abort), Some(r)) => return Err(refused(r, template)),
            (Err(e), _) => return Err(Error::from_tx(e)),
        }
        if let Some(c) = again {
            return Ok((c, false));
        }
        self.flush().await?;
        Ok((fresh, true))
    }

    /// The claim `new` would store at `now` (checked against the template, its bindings
    /// and its live rooms), or the same claim stored already.
    pub(super) fn prepare_claim(
        &self,
        owner: &str,
        template: &str,
        new: &NewClaim,
        source: &Source<'_>,
        now: i64,
    ) -> Result<Prepared, Error> {
        check_claim(new)?;
        let t = self.template_of(owner, template)?;
        let stored =
            (self.store).get::<Claim>(Table::CouponClaims, &claim_key(owner, &new.claim_id))?;
        if let Some(claim) =
            same_claim(stored, template, &new.buyer.id).map_err(|r| refused(r, template))?
        {
            return Ok(Prepared::Again(claim));
        }
        t.open_at(now)?;
        if let Some(why) = self.ineligible(&t, new, now)? {
            return Err(conflict("not_eligible", &why));
        }
        let live_room = match t.live_rooms.is_empty() {
            true => None,
            false => Some(self.live_room_of(&t, &new.buyer.id, now)?.ok_or_else(|| {
                conflict(
                    "not_eligible",
                    "only in the live room of one of its livestreamers",
                )
            })?),
        };
        let (valid_from_ms, valid_until_ms) = t.valid_for_claim_at(now);
        let offline_code = match source {
            Source::Stock => None,
            Source::Code(code) => Some((*code).to_owned()),
        };
        Ok(Prepared::Fresh(Claim {
            id: new.claim_id.clone(),
            owner: owner.to_owned(),
            template: template.to_owned(),
            buyer: new.buyer.id.clone(),
            code: t.code.clone(),
            offline_code,
            live_room,
            claimed_ms: now,
            valid_from_ms,
            valid_until_ms,
        }))
    }

    /// One claim (the owner's keys).
    pub fn coupon_claim(&self, who: &Principal, claim: &str) -> Result<WalletEntry, Error> {
        let owner = who.tenant(CLAIMERS, "read coupon claims")?;
        let claim: Claim = self
            .store
            .get(Table::CouponClaims, &claim_key(owner, claim))?
            .ok_or_else(|| Error::not_found("coupon claim", claim))?;
        self.entry(owner, claim, self.now_ms())
    }

    /// The buyer's claims of the caller's coupons, by claim id, each with its state now.
    pub fn wallet(
        &self,
        who: &Principal,
        buyer: &str,
        at: &Position,
    ) -> Result<Page<WalletEntry>, Error> {
        let owner = who.tenant(CLAIMERS, "read wallets")?;
        check_id("buyer", buyer)?;
        let p = prefix(&[owner.as_bytes(), buyer.as_bytes()]);
        let ids: Page<String> =
            crate::domain::page::scan(&self.store, Table::CouponWallets, &p, at)?;
        let now = self.now_ms();
        let mut items = Vec::with_capacity(ids.items.len());
        for id in &ids.items {
            let claim: Claim = self
                .store
                .get(Table::CouponClaims, &claim_key(owner, id))?
                .ok_or_else(|| Error::Internal(format!("wallet entry {id} has no claim")))?;
            items.push(self.entry(owner, claim, now)?);
        }
        Ok(Page {
            items,
            next: ids.next,
        })
    }

    fn entry(&self, owner: &str, claim: Claim, now: i64) -> Result<WalletEntry, Error> {
        let used = self
            .store
            .counter(&super::redeem::use_key(owner, &claim.id))?
            > 0;
        let state = claim.state_at(now, used);
        Ok(WalletEntry { claim, state })
    }

    /// Whether `owner` may own coupons: a merchant or an agency.
    pub(super) fn coupon_owner(&self, owner: &str) -> Result<(), Error> {
        let tenant: crate::domain::Tenant = self
            .store
            .get(Table::Tenants, owner.as_bytes())?
            .ok_or_else(|| Error::not_found("tenant", owner))?;
        if tenant.kind == TenantKind::Provider {
            return Err(conflict(
                "not_a_merchant",
                "coupons belong to merchants and agencies",
            ));
        }
        Ok(())
    }
}

/// `stored` (the claim under a new claim's id), when it is the same claim (same template
/// and buyer): claiming again answers it. A different claim under the id is refused.
fn same_claim(
    stored: Option<Claim>,
    template: &str,
    buyer: &str,
) -> Result<Option<Claim>, Refusal> {
    match stored {
        Some(c) if c.template == template && c.buyer == buyer => Ok(Some(c)),
        Some(_) => Err(Refusal::IdTaken),
        None => Ok(None),
    }
}

/// A claim to store, or the same claim stored already.
pub(super) enum Prepared {
    Fresh(Claim),
    Again(Claim),
}

/// Inside a transaction over [`TABLES`]: take a unit for `fresh` from `source` (and its
/// live room's stock), count it against the buyer's limit and store it. `Ok(Some(c))`
/// when the same claim was stored already (nothing written).
pub(super) fn store_claim(
    tx: &mut dyn Tx,
    fresh: &Claim,
    source: &Source<'_>,
    now: i64,
) -> Result<Result<Option<Claim>, Refusal>, TxError> {
    let (owner, template) = (fresh.owner.as_str(), fresh.template.as_str());
    let ckey = claim_key(owner, &fresh.id);
    let stored = tx.get_json::<Claim>(Table::CouponClaims, &ckey)?;
    match same_claim(stored, template, &fresh.buyer) {
        Ok(Some(c)) => return Ok(Ok(Some(c))),
        Ok(None) => {}
        Err(r) => return Ok(Err(r)),
    }
    let tkey = template_key(owner, template);
    let Some(mut t) = tx.get_json::<Template>(Table::CouponTemplates, &tkey)? else {
        return Ok(Err(Refusal::Missing));
    };
    let room = fresh.live_room.as_deref();
    if let Err(e) = t
        .open_at(now)
        .and_then(|()| room.map_or(Ok(()), |r| t.take_room(r)))
    {
        return Ok(Err(Refusal::Other(e)));
    }
    match source {
        Source::Stock if t.left() == 0 => return Ok(Err(Refusal::OutOfStock)),
        Source::Stock => t.issued += 1,
        Source::Code(code) => {
            if !super::codes::take(tx, owner, code, template, &fresh.id)? {
                return Ok(Err(Refusal::CodeUsed));
            }
        }
    }
    let hkey = holder_key(owner, template, &fresh.buyer);
    let held: u32 = tx.get_json(Table::CouponHolders, &hkey)?.unwrap_or(0);
    if held >= t.per_buyer {
        return Ok(Err(Refusal::Limit));
    }
    t.claimed += 1;
    tx.put_json(Table::CouponHolders, &hkey, &(held + 1))?;
    tx.put_json(Table::CouponTemplates, &tkey, &t)?;
    tx.put_json(Table::CouponClaims, &ckey, fresh)?;
    let wkey = wallet_key(owner, &fresh.buyer, &fresh.id);
    tx.put_json(Table::CouponWallets, &wkey, &fresh.id)?;
    Ok(Ok(None))
}

pub(super) fn refused(r: Refusal, template: &str) -> Error {
    match r {
        Refusal::IdTaken => conflict("claim_id_taken", "another claim has this claim_id"),
        Refusal::Missing => Error::not_found("coupon template", template),
        Refusal::Other(e) => e,
        Refusal::OutOfStock => conflict("out_of_stock", "every unit of this coupon is taken"),
        Refusal::Limit => conflict(
            "claim_limit_reached",
            "the buyer holds as many of this coupon as one buyer may",
        ),
        Refusal::CodeUsed => conflict("code_used", "this code was claimed already"),
    }
}
