//! Promoters (推客) and creators (达人): parties registered on the platform and bound to
//! one promoter agency. The agency invites (the answer carries a one-time invite token),
//! the promoter accepts with that token and gets a key of its own to read its earnings;
//! the agency may suspend, reinstate and unbind it. Only an active promoter is credited
//! with new touches and orders.
//!
//! A promoter's id is platform-wide (it is the beneficiary id its balances and statements
//! are filed under): one agency binds it at a time; once unbound, another may invite it.

use super::beneficiary::BeneficiaryKey;
use super::tenants::{TenantKind, key_hash, new_secret};
use super::{Error, Plaza, Principal, Role, check_id};
use crate::store::{Table, TxError, TxExt, key, prefix};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    /// 推客: shares links in private scenes.
    Promoter,
    /// 达人: a creator carrying goods to an audience.
    Creator,
    /// 主播: sells in a live room; a buyer's visit there is a touch of theirs (channel
    /// `live_room`), and a cart inside its window credits them as the livestreamer.
    Livestreamer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BindingState {
    Invited,
    Active,
    Suspended,
    Unbound,
}

impl BindingState {
    fn as_str(self) -> &'static str {
        match self {
            BindingState::Invited => "invited",
            BindingState::Active => "active",
            BindingState::Suspended => "suspended",
            BindingState::Unbound => "unbound",
        }
    }
}

/// A promoter or creator and its binding to a promoter agency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Promoter {
    pub id: String,
    pub kind: PartyKind,
    pub name: String,
    /// The promoter agency it is (or was last) bound to.
    pub agency: String,
    pub state: BindingState,
    pub invited_ms: i64,
    pub changed_ms: i64,
}

/// The stored record: the promoter and the hash of its open invite.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Record {
    #[serde(flatten)]
    promoter: Promoter,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    invite_sha256: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPromoter {
    #[schema(schema_with = crate::shape::id_schema)]
    pub id: String,
    pub kind: PartyKind,
    #[schema(schema_with = crate::shape::name_schema)]
    pub name: String,
}

/// An invitation: the token is shown this once, for the promoter to accept with.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Invitation {
    pub invite_token: String,
    #[serde(flatten)]
    pub promoter: Promoter,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvite {
    pub invite_token: String,
}

/// An accepted invitation: the promoter's own key, shown this once.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Acceptance {
    pub key: String,
    pub key_record: BeneficiaryKey,
    pub promoter: Promoter,
}

/// A binding change an agency makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Suspend,
    Reinstate,
    Unbind,
}

const AGENCY: &[Role] = &[Role::Admin];

impl Plaza {
    /// The calling agency's admin invites `new.id`. Inviting again while the invitation is
    /// open replaces its token; a promoter bound to another agency is refused.
    pub async fn invite_promoter(
        &self,
        who: &Principal,
        new: NewPromoter,
    ) -> Result<Invitation, Error> {
        let agency = self.agency(who, "invite promoters")?;
        check_id("id", &new.id)?;
        if !crate::shape::is_name(&new.name) {
            return Err(Error::Invalid {
                field: "name".into(),
                message: "1 to 256 characters, at least one visible".into(),
            });
        }
        let (token, hash) = new_secret()?;
        let now = self.now_ms();
        let promoter = Promoter {
            id: new.id.clone(),
            kind: new.kind,
            name: new.name,
            agency: agency.clone(),
            state: BindingState::Invited,
            invited_ms: now,
            changed_ms: now,
        };
        let mut refused = None;
        let outcome = self
            .store
            .transact(&[Table::Promoters, Table::AgencyPromoters], |tx| {
                // Free (never seen, or unbound), or this agency's own open invitation.
                let taken = tx
                    .get_json::<Record>(Table::Promoters, new.id.as_bytes())?
                    .map(|r| r.promoter)
                    .filter(|p| {
                        p.state != BindingState::Unbound
                            && (p.agency != agency || p.state != BindingState::Invited)
                    });
                if let Some(p) = taken {
                    refused = Some(Error::conflict(
                        "promoter_bound",
                        format!(
                            "{} is {} with an agency; it must be unbound first",
                            new.id,
                            p.state.as_str()
                        ),
                    ));
                    return Err(TxError::Abort);
                }
                put(tx, &promoter, Some(hex::encode(hash)))
            });
        finish(outcome, refused)?;
        self.flush().await?;
        Ok(Invitation {
            invite_token: token,
            promoter,
        })
    }

    /// The promoter accepts its invitation with the token (no key needed: the token is the
    /// credential) and is issued its own key.
    pub async fn accept_invite(&self, id: &str, accept: AcceptInvite) -> Result<Acceptance, Error> {
        check_id("promoter", id)?;
        let offered = hex::encode(key_hash(&accept.invite_token));
        let (key, key_hash) = new_secret()?;
        let now = self.now_ms();
        let key_record = BeneficiaryKey {
            id: hex::encode(&key_hash[..6]),
            beneficiary: id.to_owned(),
            name: "accepted invitation".into(),
            created_ms: now,
        };
        let mut refused = None;
        let mut accepted = None;
        let outcome = self.store.transact(
            &[
                Table::Promoters,
                Table::AgencyPromoters,
                Table::BeneficiaryKeys,
            ],
            |tx| {
                let record = tx.get_json::<Record>(Table::Promoters, id.as_bytes())?;
                let Some(mut record) = record.filter(|r| {
                    r.promoter.state == BindingState::Invited
                        && r.invite_sha256.as_deref() == Some(offered.as_str())
                }) else {
                    // An unknown id, a used invite and a wrong token look the same.
                    refused = Some(Error::conflict(
                        "invite_invalid",
                        "no open invitation for this promoter with that token",
                    ));
                    return Err(TxError::Abort);
                };
                record.promoter.state = BindingState::Active;
                record.promoter.changed_ms = now;
                put(tx, &record.promoter, None)?;
                tx.put_json(Table::BeneficiaryKeys, &key_hash, &key_record)?;
                accepted = Some(record.promoter);
                Ok(())
            },
        );
        finish(outcome, refused)?;
        self.flush().await?;
        Ok(Acceptance {
            key,
            key_record,
            promoter: accepted.expect("an accepted transaction sets it"),
        })
    }

    /// Suspend, reinstate or unbind one of the calling agency's promoters.
    pub async fn change_promoter(
        &self,
        who: &Principal,
        id: &str,
        change: Change,
    ) -> Result<Promoter, Error> {
        let agency = self.agency(who, "manage promoters")?;
        let now = self.now_ms();
        let mut refused = None;
        let mut changed = None;
        let outcome = self
            .store
            .transact(&[Table::Promoters, Table::AgencyPromoters], |tx| {
                let Some(mut record) = tx
                    .get_json::<Record>(Table::Promoters, id.as_bytes())?
                    .filter(|r| {
                        r.promoter.agency == agency && r.promoter.state != BindingState::Unbound
                    })
                else {
                    refused = Some(Error::not_found("promoter", id));
                    return Err(TxError::Abort);
                };
                let from = record.promoter.state;
                let to = match (change, from) {
                    (Change::Suspend, BindingState::Active) => BindingState::Suspended,
                    (Change::Reinstate, BindingState::Suspended) => BindingState::Active,
                    (Change::Unbind, _) => BindingState::Unbound,
                    _ => {
                        refused = Some(Error::conflict(
                            "promoter_state",
                            format!("the promoter is {}", from.as_str()),
                        ));
                        return Err(TxError::Abort);
                    }
                };
                record.promoter.state = to;
                record.promoter.changed_ms = now;
                if to == BindingState::Unbound {
                    tx.remove(
                        Table::AgencyPromoters,
                        &key(&[agency.as_bytes(), id.as_bytes()]),
                    )?;
                    tx.put_json(Table::Promoters, id.as_bytes(), &record)?;
                } else {
                    put(tx, &record.promoter, record.invite_sha256.clone())?;
                }
                changed = Some(record.promoter);
                Ok(())
            });
        finish(outcome, refused)?;
        self.flush().await?;
        Ok(changed.expect("a committed change sets it"))
    }

    /// One promoter: to the agency that binds it, or to the promoter's own key.
    pub fn promoter(&self, who: &Principal, id: &str) -> Result<Promoter, Error> {
        let found = self.promoter_record(id)?;
        let visible = match who {
            Principal::Beneficiary { id: own } => own == id,
            _ => {
                let tenant = who.tenant(AGENCY, "read promoters")?;
                found
                    .as_ref()
                    .is_some_and(|p| p.agency == tenant && p.state != BindingState::Unbound)
            }
        };
        match found {
            Some(p) if visible => Ok(p),
            _ => Err(Error::not_found("promoter", id)),
        }
    }

    /// The calling agency's promoters, by id.
    pub fn list_promoters(
        &self,
        who: &Principal,
        at: &super::Position,
    ) -> Result<super::Page<Promoter>, Error> {
        let agency = who.tenant(AGENCY, "read promoters")?;
        let range = prefix(&[agency.as_bytes()]);
        Ok(super::page::scan(
            &self.store,
            Table::AgencyPromoters,
            &range,
            at,
        )?)
    }

    /// The stored promoter `id`, whatever its state.
    pub(super) fn promoter_record(&self, id: &str) -> Result<Option<Promoter>, Error> {
        Ok(self
            .store
            .get::<Record>(Table::Promoters, id.as_bytes())?
            .map(|r| r.promoter))
    }

    /// The caller's tenant, which must be an agency, for `action`.
    fn agency(&self, who: &Principal, action: &'static str) -> Result<String, Error> {
        let tenant = who.tenant(AGENCY, action)?;
        self.tenant_of_kind(tenant, TenantKind::Agency, action)?;
        Ok(tenant.to_owned())
    }
}

/// Write the promoter and its agency's index entry.
fn put(tx: &mut dyn crate::store::Tx, p: &Promoter, invite: Option<String>) -> Result<(), TxError> {
    let record = Record {
        promoter: p.clone(),
        invite_sha256: invite,
    };
    tx.put_json(Table::Promoters, p.id.as_bytes(), &record)?;
    tx.put_json(
        Table::AgencyPromoters,
        &key(&[p.agency.as_bytes(), p.id.as_bytes()]),
        p,
    )
}

/// A transaction's outcome, with the refusal it gave up for.
fn finish(outcome: Result<(), TxError>, refused: Option<Error>) -> Result<(), Error> {
    match (outcome, refused) {
        (Ok(()), _) => Ok(()),
        (Err(TxError::Abort), Some(refused)) => Err(refused),
        (Err(e), _) => Err(Error::from_tx(e)),
    }
}
