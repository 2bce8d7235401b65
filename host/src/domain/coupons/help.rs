//! Invite-to-help (助力): `/v1/help-campaigns`.
//!
//! A merchant (or agency) runs a campaign: between two instants a buyer may start an
//! initiation, which has `hours_to_complete` to gather `helpers_required` helpers. Each
//! helper helps once per campaign (helping again is answered with the progress, helping
//! another initiator is refused), never the initiator itself, and only a new customer when
//! the campaign says so. The help that completes an initiation issues the reward, a claim
//! of the campaign's coupon template, in its own transaction: exactly once however many
//! helpers race. The reward is a coupon, never cash per helper or per share.

use super::claims::{self, CLAIMERS, ClaimBuyer, NewClaim, Prepared, Source, TABLES};
use super::templates::conflict;
use crate::domain::page::{self, Page, Position};
use crate::domain::tenants::ANY_ROLE;
use crate::domain::{Error, Plaza, Principal, Role, check_id};
use crate::store::{Table, TxError, TxExt, key, prefix};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most helpers a campaign may require.
pub const MAX_HELPERS: u32 = 100;
/// Longest time an initiation may take, in hours (30 days).
pub const MAX_HOURS: u32 = 720;
/// Claim ids of rewards start with this; checkouts may not use it.
pub const REWARD_PREFIX: &str = "help:";
const HOUR_MS: i64 = 60 * 60 * 1000;

fn hours_default() -> u32 {
    24
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    #[schema(schema_with = crate::shape::id_schema)]
    pub id: String,
    #[schema(schema_with = crate::shape::name_schema)]
    pub name: String,
    /// The caller's coupon template a completed initiation is rewarded with (no channel,
    /// touch or live-room bindings: the reward is claimed by the campaign, not in a room).
    #[schema(schema_with = crate::shape::id_schema)]
    pub template: String,
    #[schema(minimum = 1, maximum = 100)]
    pub helpers_required: u32,
    /// Initiations and helps are taken from this instant …
    pub from_ms: i64,
    /// … until this one (exclusive).
    pub until_ms: i64,
    /// How long an initiation has to gather its helpers (default 24; it never outlives
    /// the campaign).
    #[serde(default = "hours_default")]
    #[schema(minimum = 1, maximum = 720, default = 24)]
    pub hours_to_complete: u32,
    /// Only new customers may help (the checkout's word, as for claims).
    #[serde(default)]
    pub new_helpers_only: bool,
}

/// A stored campaign with its counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Campaign {
    pub owner: String,
    pub id: String,
    pub name: String,
    pub template: String,
    pub helpers_required: u32,
    pub from_ms: i64,
    pub until_ms: i64,
    pub hours_to_complete: u32,
    pub new_helpers_only: bool,
    /// Initiations started.
    pub started: u32,
    /// Initiations completed (rewards issued).
    pub completed: u32,
    pub created_ms: i64,
}

impl Campaign {
    fn open_at(&self, now: i64) -> Result<(), Error> {
        if !(self.from_ms..self.until_ms).contains(&now) {
            return Err(conflict(
                "campaign_closed",
                "this campaign is not running now",
            ));
        }
        Ok(())
    }

    fn same_as(&self, new: &NewCampaign) -> bool {
        (&self.id, &self.name, &self.template, self.helpers_required)
            == (&new.id, &new.name, &new.template, new.helpers_required)
            && (
                self.from_ms,
                self.until_ms,
                self.hours_to_complete,
                self.new_helpers_only,
            ) == (
                new.from_ms,
                new.until_ms,
                new.hours_to_complete,
                new.new_helpers_only,
            )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInitiation {
    /// The buyer starting it (their tier and new-customer facts decide the reward's
    /// bindings when it completes).
    pub buyer: ClaimBuyer,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHelp {
    pub helper: ClaimBuyer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InitiationState {
    InProgress,
    Completed,
    Expired,
}

/// An initiation and its progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Initiation {
    pub campaign: String,
    pub initiator: ClaimBuyer,
    pub started_ms: i64,
    /// Helps are taken until this instant (exclusive).
    pub expires_ms: i64,
    pub helpers_required: u32,
    /// Helper ids, in the order they helped.
    pub helpers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_ms: Option<i64>,
    /// The reward: a claim in the initiator's wallet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
}

/// An initiation with its state now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Progress {
    #[serde(flatten)]
    pub initiation: Initiation,
    pub state: InitiationState,
    /// Helpers still needed.
    pub needed: u32,
}

impl Initiation {
    fn progress(self, now: i64) -> Progress {
        let helped = u32::try_from(self.helpers.len()).unwrap_or(u32::MAX);
        let state = match (self.completed_ms, now >= self.expires_ms) {
            (Some(_), _) => InitiationState::Completed,
            (None, true) => InitiationState::Expired,
            (None, false) => InitiationState::InProgress,
        };
        Progress {
            needed: self.helpers_required.saturating_sub(helped),
            initiation: self,
            state,
        }
    }
}

fn campaign_key(owner: &str, campaign: &str) -> Vec<u8> {
    key(&[owner.as_bytes(), campaign.as_bytes()])
}

fn initiation_key(owner: &str, campaign: &str, buyer: &str) -> Vec<u8> {
    key(&[owner.as_bytes(), campaign.as_bytes(), buyer.as_bytes()])
}

/// The reward claim's id: one per campaign and initiator.
fn reward_id(campaign: &str, initiator: &str) -> String {
    format!("{REWARD_PREFIX}{campaign}:{initiator}")
}

fn invalid(field: &str, message: &str) -> Error {
    Error::Invalid {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

const HELP_TABLES: [Table; 8] = [
    Table::HelpCampaigns,
    Table::HelpInitiations,
    Table::HelpHelpers,
    TABLES[0],
    TABLES[1],
    TABLES[2],
    TABLES[3],
    TABLES[4],
];

impl Plaza {
    /// Start a campaign (the owner's admin). The same campaign again answers the stored
    /// one (`false`); another under its id is refused (`campaign_exists`).
    pub async fn create_campaign(
        &self,
        who: &Principal,
        new: NewCampaign,
    ) -> Result<(Campaign, bool), Error> {
        let owner = who.tenant(&[Role::Admin], "run help campaigns")?;
        self.coupon_owner(owner)?;
        check_id("id", &new.id)?;
        check_id("template", &new.template)?;
        if !crate::shape::is_name(&new.name) {
            return Err(invalid("name", "must be 1-256 characters, not all spaces"));
        }
        if !(1..=MAX_HELPERS).contains(&new.helpers_required) {
            return Err(invalid("helpers_required", "must be 1 to 100"));
        }
        if !(1..=MAX_HOURS).contains(&new.hours_to_complete) {
            return Err(invalid("hours_to_complete", "must be 1 to 720"));
        }
        if new.from_ms >= new.until_ms {
            return Err(invalid("until_ms", "must be after from_ms"));
        }
        let t = self.template_of(owner, &new.template)?;
        let b = &t.bindings;
        let placed = b.channel.is_some()
            || b.livestreamer.is_some()
            || b.promoter.is_some()
            || b.share_link.is_some()
            || !t.live_rooms.is_empty();
        if placed {
            return Err(Error::Unprocessable {
                kind: "template_bound",
                field: "template".into(),
                message:
                    "a reward's template may not be bound to a channel, a party or a live room"
                        .into(),
            });
        }
        let fresh = Campaign {
            owner: owner.to_owned(),
            id: new.id.clone(),
            name: new.name.clone(),
            template: new.template.clone(),
            helpers_required: new.helpers_required,
            from_ms: new.from_ms,
            until_ms: new.until_ms,
            hours_to_complete: new.hours_to_complete,
            new_helpers_only: new.new_helpers_only,
            started: 0,
            completed: 0,
            created_ms: self.now_ms(),
        };
        let ckey = campaign_key(owner, &new.id);
        let mut stored = None;
        self.store
            .transact(&[Table::HelpCampaigns], |tx| {
                stored = tx.get_json::<Campaign>(Table::HelpCampaigns, &ckey)?;
                if stored.is_none() {
                    tx.put_json(Table::HelpCampaigns, &ckey, &fresh)?;
                }
                Ok(())
            })
            .map_err(Error::from_tx)?;
        match stored {
            Some(c) if c.same_as(&new) => Ok((c, false)),
            Some(_) => Err(conflict("campaign_exists", "another campaign has this id")),
            None => {
                self.flush().await?;
                Ok((fresh, true))
            }
        }
    }

    pub fn campaign(&self, who: &Principal, id: &str) -> Result<Campaign, Error> {
        let owner = who.tenant(ANY_ROLE, "read help campaigns")?;
        self.campaign_of(owner, id)
    }

    /// The owner's campaign `id` (any text: what is not an id is no campaign).
    fn campaign_of(&self, owner: &str, id: &str) -> Result<Campaign, Error> {
        self.store
            .get(Table::HelpCampaigns, &campaign_key(owner, id))?
            .ok_or_else(|| Error::not_found("help campaign", id))
    }

    pub fn list_campaigns(&self, who: &Principal, at: &Position) -> Result<Page<Campaign>, Error> {
        let owner = who.tenant(ANY_ROLE, "read help campaigns")?;
        let p = prefix(&[owner.as_bytes()]);
        Ok(page::scan(&self.store, Table::HelpCampaigns, &p, at)?)
    }

    /// An initiation's progress (the owner's checkout or admin).
    pub fn initiation(
        &self,
        who: &Principal,
        campaign: &str,
        buyer: &str,
    ) -> Result<Progress, Error> {
        let owner = who.tenant(CLAIMERS, "read help campaigns")?;
        let i: Initiation = self
            .store
            .get(
                Table::HelpInitiations,
                &initiation_key(owner, campaign, buyer),
            )?
            .ok_or_else(|| Error::not_found("initiation", buyer))?;
        Ok(i.progress(self.now_ms()))
    }

    /// Start an initiation for `new.buyer` (the owner's checkout or admin): one per buyer
    /// per campaign; starting again answers it (`false`).
    pub async fn initiate(
        &self,
        who: &Principal,
        campaign: &str,
        new: NewInitiation,
    ) -> Result<(Progress, bool), Error> {
        let owner = who.tenant(CLAIMERS, "start help initiations")?;
        let c = self.campaign_of(owner, campaign)?;
        let buyer = &new.buyer;
        check_id("buyer.id", &buyer.id)?;
        let ikey = initiation_key(owner, campaign, &buyer.id);
        let now = self.now_ms();
        if let Some(i) = self
            .store
            .get::<Initiation>(Table::HelpInitiations, &ikey)?
        {
            return Ok((i.progress(now), false));
        }
        c.open_at(now)?;
        // The reward must still be there to be had.
        let t = self.template_of(owner, &c.template)?;
        t.open_at(now)?;
        if t.left() == 0 {
            return Err(conflict(
                "out_of_stock",
                "every unit of the reward is taken",
            ));
        }
        let fresh = Initiation {
            campaign: campaign.to_owned(),
            initiator: buyer.clone(),
            started_ms: now,
            expires_ms: now
                .saturating_add(i64::from(c.hours_to_complete) * HOUR_MS)
                .min(c.until_ms),
            helpers_required: c.helpers_required,
            helpers: Vec::new(),
            completed_ms: None,
            claim: None,
        };
        let ckey = campaign_key(owner, campaign);
        let mut again = None;
        self.store
            .transact(&[Table::HelpCampaigns, Table::HelpInitiations], |tx| {
                again = tx.get_json::<Initiation>(Table::HelpInitiations, &ikey)?;
                if again.is_some() {
                    return Ok(());
                }
                let Some(mut c) = tx.get_json::<Campaign>(Table::HelpCampaigns, &ckey)? else {
                    return Err(TxError::Abort);
                };
                c.started = c.started.saturating_add(1);
                tx.put_json(Table::HelpCampaigns, &ckey, &c)?;
                tx.put_json(Table::HelpInitiations, &ikey, &fresh)
            })
            .map_err(|e| match e {
                TxError::Abort => Error::not_found("help campaign", campaign),
                e => Error::from_tx(e),
            })?;
        if let Some(i) = again {
            return Ok((i.progress(now), false));
        }
        self.flush().await?;
        Ok((fresh.progress(now), true))
    }

    /// `new.helper` helps `initiator`'s initiation (the owner's checkout or admin). The
    /// help that completes it issues the reward claim in the same transaction. The same
    /// helper again answers the progress (`false`).
    pub async fn help(
        &self,
        who: &Principal,
        campaign: &str,
        initiator: &str,
        new: NewHelp,
    ) -> Result<(Progress, bool), Error> {
        let owner = who.tenant(CLAIMERS, "record helps")?;
        let c = self.campaign_of(owner, campaign)?;
        check_id("initiator", initiator)?;
        let helper = &new.helper;
        check_id("helper.id", &helper.id)?;
        let ikey = initiation_key(owner, campaign, initiator);
        let hkey = initiation_key(owner, campaign, &helper.id);
        let now = self.now_ms();
        let stored: Initiation = self
            .store
            .get(Table::HelpInitiations, &ikey)?
            .ok_or_else(|| Error::not_found("initiation", initiator))?;
        if stored.helpers.contains(&helper.id) {
            return Ok((stored.progress(now), false));
        }
        c.open_at(now)?;
        if helper.id == initiator {
            return Err(conflict(
                "own_initiation",
                "an initiator cannot help itself",
            ));
        }
        if c.new_helpers_only && !helper.new_customer {
            return Err(conflict("not_eligible", "only new customers may help"));
        }
        // The reward this help would issue if it completes the initiation.
        let reward = NewClaim {
            claim_id: reward_id(campaign, initiator),
            buyer: stored.initiator.clone(),
            channel: None,
        };
        let prepared = self.prepare_claim(owner, &c.template, &reward, &Source::Stock, now);
        let ckey = campaign_key(owner, campaign);
        let mut refusal: Option<Error> = None;
        let mut unrewardable = false;
        let mut answer = None;
        let outcome = self.store.transact(&HELP_TABLES, |tx| {
            refusal = None;
            unrewardable = false;
            answer = None;
            let mut refuse = |e: Error| {
                refusal = Some(e);
                Err(TxError::Abort)
            };
            let Some(mut i) = tx.get_json::<Initiation>(Table::HelpInitiations, &ikey)? else {
                return refuse(Error::not_found("initiation", initiator));
            };
            if i.helpers.contains(&helper.id) {
                answer = Some((i, false));
                return Ok(());
            }
            if tx.get_json::<String>(Table::HelpHelpers, &hkey)?.is_some() {
                return refuse(conflict(
                    "already_helped",
                    "this helper helped another initiation of this campaign",
                ));
            }
            if i.completed_ms.is_some() {
                return refuse(conflict("already_complete", "this initiation is complete"));
            }
            if now >= i.expires_ms {
                return refuse(conflict(
                    "initiation_expired",
                    "this initiation ran out of time",
                ));
            }
            i.helpers.push(helper.id.clone());
            tx.put_json(Table::HelpHelpers, &hkey, &initiator.to_owned())?;
            if i.helpers.len() >= i.helpers_required as usize {
                let fresh = match &prepared {
                    Ok(Prepared::Fresh(claim)) => claim,
                    Ok(Prepared::Again(_)) => {
                        return refuse(Error::Internal("a reward without a completion".into()));
                    }
                    Err(_) => {
                        unrewardable = true;
                        return Err(TxError::Abort);
                    }
                };
                match claims::store_claim(tx, fresh, &Source::Stock, now)? {
                    Ok(_) => {}
                    Err(r) => return refuse(claims::refused(r, &c.template)),
                }
                i.completed_ms = Some(now);
                i.claim = Some(fresh.id.clone());
                let Some(mut c) = tx.get_json::<Campaign>(Table::HelpCampaigns, &ckey)? else {
                    return refuse(Error::not_found("help campaign", campaign));
                };
                c.completed = c.completed.saturating_add(1);
                tx.put_json(Table::HelpCampaigns, &ckey, &c)?;
            }
            tx.put_json(Table::HelpInitiations, &ikey, &i)?;
            answer = Some((i, true));
            Ok(())
        });
        match (outcome, refusal) {
            (Ok(()), _) => {}
            (Err(TxError::Abort), Some(e)) => return Err(e),
            (Err(TxError::Abort), None) if unrewardable => {
                // The help would complete the initiation, but its reward cannot be claimed
                // (the template ended or ran out, the initiator's limit …): say why.
                return Err(prepared
                    .err()
                    .unwrap_or_else(|| Error::Internal("a reward refusal went missing".into())));
            }
            (Err(e), _) => return Err(Error::from_tx(e)),
        }
        let (i, counted) = answer.ok_or_else(|| Error::Internal("a help went missing".into()))?;
        if counted {
            self.flush().await?;
        }
        Ok((i.progress(now), counted))
    }
}
