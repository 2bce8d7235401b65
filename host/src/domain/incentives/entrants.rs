//! Taking part in an event: a participant registers itself within the registration window
//! (a merchant's or agency's admin for its tenant, a livestreamer with its own beneficiary
//! key); the owner approves or rejects (or the event approves at once), and reports the
//! facts its conditions ask for. Approval schedules the participant's post-event timer in
//! the same transaction.

use super::{INCENTIVE_CLOSE, Incentive, ParticipantKind, incentive_of, invalid, participant_key};
use crate::domain::page::{self, Page, Position};
use crate::domain::tenants::{Principal, TenantKind};
use crate::domain::timers::{self, Timer};
use crate::domain::{Error, Plaza, Role, check_id};
use crate::store::{Table, Tx, TxError, TxExt, prefix};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The largest value of a reported fact.
pub const MAX_FACT: i64 = 1_000_000_000_000;
/// Most facts kept per participant.
pub const MAX_FACTS: usize = 50;

/// How registrations are reviewed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    /// The owner approves or rejects each one.
    #[default]
    Manual,
    /// Approved when registered.
    Auto,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntrantState {
    Pending,
    Approved,
    Rejected,
}

/// A participant's registration with an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Entrant {
    pub event: String,
    pub participant: String,
    pub kind: ParticipantKind,
    pub state: EntrantState,
    pub registered_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_ms: Option<i64>,
    /// Why it was rejected (or approved), as the owner said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the owner reported (`live_preview_published`: 1, `reservations`: 120).
    #[serde(default)]
    pub facts: BTreeMap<String, i64>,
}

/// The owner's decision on a registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub approve: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::shape::optional_text_schema)]
    pub reason: Option<String>,
}

/// Facts about a participant, merged into what was reported before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    /// Each fact's value, 0 to 10¹²: flags as 0 or 1, counts as counts.
    pub facts: BTreeMap<String, i64>,
}

/// The participant `who` is and under which role, for `event`.
fn participant(plaza: &Plaza, who: &Principal) -> Result<(String, ParticipantKind), Error> {
    if let Principal::Beneficiary { id } = who {
        return Ok((id.clone(), ParticipantKind::Livestreamer));
    }
    let tenant = who.tenant(&[Role::Admin], "register for incentive events")?;
    let record = plaza
        .store
        .get::<crate::domain::tenants::Tenant>(Table::Tenants, tenant.as_bytes())?
        .ok_or_else(|| Error::not_found("tenant", tenant))?;
    let kind = match record.kind {
        TenantKind::Merchant => ParticipantKind::Merchant,
        TenantKind::Agency => ParticipantKind::Agency,
        TenantKind::Provider => {
            return Err(Error::conflict(
                "not_eligible",
                "a service provider takes part in no incentive event",
            ));
        }
    };
    Ok((tenant.to_owned(), kind))
}

/// The post-event timer of `participant` in `event`.
pub(super) fn close_timer(event: &Incentive, participant: &str) -> Timer {
    Timer::new(
        event.closes_ms(),
        INCENTIVE_CLOSE,
        &event.terms.id,
        participant,
    )
}

const TABLES: [Table; 2] = [Table::IncentiveEntrants, Table::Timers];

impl Plaza {
    /// Register the caller with `event`. Registering again answers the registration
    /// (`false`).
    pub async fn register_for_incentive(
        &self,
        who: &Principal,
        event: &str,
    ) -> Result<(Entrant, bool), Error> {
        let (participant, kind) = participant(self, who)?;
        let e = incentive_of(&self.store, event)?;
        let key = participant_key(event, &participant);
        if let Some(seen) = self.store.get::<Entrant>(Table::IncentiveEntrants, &key)? {
            return Ok((seen, false));
        }
        if !e.terms.who.contains(&kind) {
            return Err(Error::conflict(
                "not_eligible",
                format!("this event is not open to a {}", kind.as_str()),
            ));
        }
        let now = self.now_ms();
        if !(e.terms.registration_from_ms..e.terms.registration_until_ms).contains(&now) {
            return Err(Error::conflict(
                "registration_closed",
                "this event takes no registrations now",
            ));
        }
        let auto = e.terms.review == Review::Auto;
        let fresh = Entrant {
            event: event.to_owned(),
            participant: participant.clone(),
            kind,
            state: if auto {
                EntrantState::Approved
            } else {
                EntrantState::Pending
            },
            registered_ms: now,
            reviewed_ms: auto.then_some(now),
            reason: None,
            facts: BTreeMap::new(),
        };
        let mut seen = None;
        self.store
            .transact(&TABLES, |tx| {
                seen = tx.get_json::<Entrant>(Table::IncentiveEntrants, &key)?;
                if seen.is_some() {
                    return Ok(());
                }
                if auto {
                    timers::schedule(tx, &close_timer(&e, &participant))?;
                }
                tx.put_json(Table::IncentiveEntrants, &key, &fresh)
            })
            .map_err(Error::from_tx)?;
        if let Some(seen) = seen {
            return Ok((seen, false));
        }
        self.flush().await?;
        Ok((fresh, true))
    }

    /// The owner approves or rejects a pending registration, until the event ends. The
    /// same decision again answers the registration unchanged.
    pub async fn review_entrant(
        &self,
        who: &Principal,
        event: &str,
        participant: &str,
        decision: Decision,
    ) -> Result<Entrant, Error> {
        let e = self.owned_incentive(who, event)?;
        if let Some(reason) = &decision.reason
            && !crate::shape::is_text(reason)
        {
            return Err(invalid("reason", "1 to 128 characters"));
        }
        let now = self.now_ms();
        if now >= e.terms.until_ms {
            return Err(Error::conflict("incentive_over", "the event has ended"));
        }
        let state = if decision.approve {
            EntrantState::Approved
        } else {
            EntrantState::Rejected
        };
        self.change_entrant(event, participant, |entrant, tx| {
            if entrant.state == state {
                return Ok(Ok(false));
            }
            if entrant.state != EntrantState::Pending {
                return Ok(Err(Error::conflict(
                    "already_reviewed",
                    "this registration was reviewed the other way",
                )));
            }
            entrant.state = state;
            entrant.reviewed_ms = Some(now);
            entrant.reason.clone_from(&decision.reason);
            if decision.approve {
                timers::schedule(tx, &close_timer(&e, participant))?;
            }
            Ok(Ok(true))
        })
        .await
    }

    /// The owner reports facts about a registered participant.
    pub async fn report_facts(
        &self,
        who: &Principal,
        event: &str,
        participant: &str,
        facts: Facts,
    ) -> Result<Entrant, Error> {
        self.owned_incentive(who, event)?;
        for (name, value) in &facts.facts {
            check_id("facts", name)?;
            if !(0..=MAX_FACT).contains(value) {
                return Err(invalid(
                    format!("facts.{name}"),
                    format!("must be 0 to {MAX_FACT}"),
                ));
            }
        }
        self.change_entrant(event, participant, |entrant, _| {
            let before = entrant.facts.clone();
            entrant.facts.extend(facts.facts.clone());
            if entrant.facts.len() > MAX_FACTS {
                let message = format!("at most {MAX_FACTS} per participant");
                return Ok(Err(invalid("facts", message)));
            }
            Ok(Ok(entrant.facts != before))
        })
        .await
    }

    /// Read, change and write a registration in one transaction; `change` says whether it
    /// changed anything.
    async fn change_entrant(
        &self,
        event: &str,
        participant: &str,
        change: impl Fn(&mut Entrant, &mut dyn Tx) -> Result<Result<bool, Error>, TxError>,
    ) -> Result<Entrant, Error> {
        let key = participant_key(event, participant);
        let mut refused = None;
        let mut done = None;
        let outcome = self.store.transact(&TABLES, |tx| {
            refused = None;
            let Some(mut entrant) = tx.get_json::<Entrant>(Table::IncentiveEntrants, &key)? else {
                refused = Some(Error::not_found("registration", participant));
                return Err(TxError::Abort);
            };
            match change(&mut entrant, tx)? {
                Ok(true) => tx.put_json(Table::IncentiveEntrants, &key, &entrant)?,
                Ok(false) => {}
                Err(e) => {
                    refused = Some(e);
                    return Err(TxError::Abort);
                }
            }
            done = Some(entrant);
            Ok(())
        });
        match (outcome, refused) {
            (Ok(()), _) => {}
            (Err(TxError::Abort), Some(e)) => return Err(e),
            (Err(e), _) => return Err(Error::from_tx(e)),
        }
        self.flush().await?;
        Ok(done.expect("a committed change leaves its registration"))
    }

    /// An event's registrations, the owner's view.
    pub fn list_entrants(
        &self,
        who: &Principal,
        event: &str,
        at: &Position,
    ) -> Result<Page<Entrant>, Error> {
        self.owned_incentive(who, event)?;
        let p = prefix(&[event.as_bytes()]);
        Ok(page::scan(&self.store, Table::IncentiveEntrants, &p, at)?)
    }
}
