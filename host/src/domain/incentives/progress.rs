//! Where a participant stands: `GET /v1/incentives/{event}/progress/{participant}`, for
//! the event's owner and the participant itself.

use super::accrual::{self, RewardEntry, Standing};
use super::entrants::{Entrant, EntrantState};
use super::{ParticipantKind, Reward, incentive_of, participant_key};
use crate::Money;
use crate::domain::tenants::Principal;
use crate::domain::{Error, Plaza};
use crate::store::Table;
use serde::Serialize;
use utoipa::ToSchema;

/// One tier as the participant stands with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct TierProgress {
    /// 1 for the first.
    pub tier: u32,
    pub gmv: Money,
    pub reached: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instant: Option<Reward>,
    /// Its instant reward is held now.
    pub instant_held: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_event: Option<Reward>,
}

/// The next tier and what reaching it needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct NextTier {
    pub tier: u32,
    pub gmv: Money,
    /// GMV still needed (fen).
    pub needs: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Progress {
    pub event: String,
    pub participant: String,
    pub kind: ParticipantKind,
    pub state: EntrantState,
    /// GMV counted, net of refunds (fen).
    pub gmv: Money,
    /// Orders counted.
    pub orders: u32,
    pub tiers: Vec<TierProgress>,
    /// Absent when every tier is reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<NextTier>,
    /// Cash held from the event: the sum of the ledger's cash.
    pub cash: Money,
    /// Growth card units held: the sum of the ledger's units.
    pub growth_card_units: i64,
    /// Coupons held from the event: the sum of the ledger's coupons.
    pub coupons: i64,
    /// The post-event rewards were granted: the standing no longer moves.
    pub closed: bool,
    /// Every grant and clawback, oldest first.
    pub ledger: Vec<RewardEntry>,
}

impl Plaza {
    pub fn incentive_progress(
        &self,
        who: &Principal,
        event: &str,
        participant: &str,
    ) -> Result<Progress, Error> {
        let e = incentive_of(&self.store, event)?;
        let key = participant_key(event, participant);
        let entrant: Option<Entrant> = self.store.get(Table::IncentiveEntrants, &key)?;
        let is_self = entrant.as_ref().is_some_and(|en| match who {
            Principal::Beneficiary { id } => {
                en.kind == ParticipantKind::Livestreamer && id == participant
            }
            Principal::Member { tenant, .. } => {
                en.kind != ParticipantKind::Livestreamer && tenant == participant
            }
            Principal::Operator => false,
        });
        let entrant = match entrant {
            Some(en) if is_self || e.owned_by(who) => en,
            _ => return Err(Error::not_found("registration", participant)),
        };
        let standing: Standing = self
            .store
            .get(Table::IncentiveStandings, &key)?
            .unwrap_or_default();
        let ledger = accrual::ledger(&self.store, event, participant)?;
        let tiers: Vec<TierProgress> = (e.terms.tiers.iter().enumerate())
            .map(|(i, t)| TierProgress {
                tier: u32::try_from(i + 1).unwrap_or(u32::MAX),
                gmv: t.gmv,
                reached: standing.gmv >= t.gmv,
                instant: t.instant.clone(),
                instant_held: standing.held.get(i).copied().unwrap_or(false),
                post_event: t.post_event.clone(),
            })
            .collect();
        let next = tiers.iter().find(|t| !t.reached).map(|t| NextTier {
            tier: t.tier,
            gmv: t.gmv,
            needs: t.gmv - standing.gmv.max(Money::ZERO),
        });
        Ok(Progress {
            event: event.to_owned(),
            participant: participant.to_owned(),
            kind: entrant.kind,
            state: entrant.state,
            gmv: standing.gmv,
            orders: standing.orders,
            tiers,
            next,
            cash: ledger.iter().map(|l| l.cash).sum(),
            growth_card_units: ledger.iter().map(|l| l.growth_card_units).sum(),
            coupons: ledger.iter().map(|l| l.coupons).sum(),
            closed: standing.closed,
            ledger,
        })
    }
}
