//! Affiliations: a promoter agency (推客机构) whose promoters sell another agency's goods.
//! The upstream agency (it carries the goods in its own pool, or helps with a pool it
//! joined) invites the promoter agency; the promoter agency accepts; either ends it.
//!
//! When an active affiliation exists, a cart whose winning promoter belongs to the
//! promoter agency is carried as the upstream agency's goods would be (its own pool, else
//! a pool it joined): the promoter agency is credited as `promoter_agency`, and the
//! helper's (or carrier's) plan pays it and its promoter. The promoter agency's own pools
//! and memberships go first; its affiliations are tried by upstream id, and never further
//! (an upstream's own affiliations do not count: one hop).

use super::super::page::{self, Page, Position};
use crate::domain::tenants::TenantKind;
use crate::domain::{Error, Plaza, Principal, Role, check_id};
use crate::store::{Table, TxError, TxExt, key, prefix};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AffiliationState {
    /// The upstream agency invited; the promoter agency has not accepted.
    Invited,
    /// The promoter agency's promoters sell the upstream agency's goods.
    Active,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Affiliation {
    /// The agency whose goods are sold (it carries them, or helps with them).
    pub upstream: String,
    /// The promoter agency whose promoters sell them.
    pub agency: String,
    pub state: AffiliationState,
    pub invited_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_ms: Option<i64>,
}

/// upstream \0 agency: the upstream's list.
fn affiliate_key(upstream: &str, agency: &str) -> Vec<u8> {
    key(&[upstream.as_bytes(), agency.as_bytes()])
}

/// agency \0 upstream: the promoter agency's list.
fn affiliation_key(agency: &str, upstream: &str) -> Vec<u8> {
    key(&[agency.as_bytes(), upstream.as_bytes()])
}

const TABLES: [Table; 2] = [Table::Affiliates, Table::Affiliations];

impl Plaza {
    /// The calling agency's admin, its tenant an agency.
    fn agency_admin<'a>(&self, who: &'a Principal, action: &'static str) -> Result<&'a str, Error> {
        let agency = who.tenant(&[Role::Admin], action)?;
        self.tenant_of_kind(agency, TenantKind::Agency, action)?;
        Ok(agency)
    }

    /// Write `a` under both agencies.
    async fn put_affiliation(&self, a: &Affiliation) -> Result<(), Error> {
        self.store
            .transact(&TABLES, |tx| {
                tx.put_json(Table::Affiliates, &affiliate_key(&a.upstream, &a.agency), a)?;
                tx.put_json(
                    Table::Affiliations,
                    &affiliation_key(&a.agency, &a.upstream),
                    a,
                )
            })
            .map_err(Error::from_tx)?;
        self.flush().await
    }

    /// The calling (upstream) agency invites promoter agency `agency` to sell its goods.
    /// Inviting again changes nothing. Whether it was created.
    pub async fn invite_affiliate(
        &self,
        who: &Principal,
        agency: &str,
    ) -> Result<(Affiliation, bool), Error> {
        let upstream = self.agency_admin(who, "invite promoter agencies")?;
        check_id("agency", agency)?;
        if agency == upstream {
            return Err(Error::unprocessable(
                "own_agency",
                "agency",
                "an agency's own promoters sell its goods already",
            ));
        }
        self.tenant_of_kind(agency, TenantKind::Agency, "sell another agency's goods")?;
        let k = affiliate_key(upstream, agency);
        if let Some(existing) = self.store.get::<Affiliation>(Table::Affiliates, &k)? {
            self.flush().await?;
            return Ok((existing, false));
        }
        let invited = Affiliation {
            upstream: upstream.to_owned(),
            agency: agency.to_owned(),
            state: AffiliationState::Invited,
            invited_ms: self.now_ms(),
            accepted_ms: None,
        };
        self.put_affiliation(&invited).await?;
        Ok((invited, true))
    }

    /// The calling promoter agency accepts `upstream`'s invitation (accepting again
    /// changes nothing).
    pub async fn accept_affiliation(
        &self,
        who: &Principal,
        upstream: &str,
    ) -> Result<Affiliation, Error> {
        let agency = self.agency_admin(who, "accept affiliations")?;
        let mut a: Affiliation = self
            .store
            .get(Table::Affiliations, &affiliation_key(agency, upstream))?
            .ok_or_else(|| Error::not_found("affiliation", upstream))?;
        if a.state == AffiliationState::Invited {
            a.state = AffiliationState::Active;
            a.accepted_ms = Some(self.now_ms());
            self.put_affiliation(&a).await?;
        } else {
            self.flush().await?;
        }
        Ok(a)
    }

    /// End the affiliation between the calling agency and `other`, from either side:
    /// `upstream` true when the caller is the upstream agency.
    pub async fn end_affiliation(
        &self,
        who: &Principal,
        other: &str,
        upstream: bool,
    ) -> Result<(), Error> {
        let me = self.agency_admin(who, "end affiliations")?;
        let (up, agency) = if upstream { (me, other) } else { (other, me) };
        let mut missing = false;
        self.store
            .transact(&TABLES, |tx| {
                let k = affiliate_key(up, agency);
                if tx.get(Table::Affiliates, &k)?.is_none() {
                    missing = true;
                    return Err(TxError::Abort);
                }
                tx.remove(Table::Affiliates, &k)?;
                tx.remove(Table::Affiliations, &affiliation_key(agency, up))
            })
            .map_err(|e| match e {
                TxError::Abort if missing => Error::not_found("affiliation", other),
                e => Error::from_tx(e),
            })?;
        self.flush().await
    }

    /// The calling agency's affiliations: as the upstream (`upstream` true: the promoter
    /// agencies it invited) or as the promoter agency (the agencies whose goods it sells).
    pub fn list_affiliations(
        &self,
        who: &Principal,
        upstream: bool,
        at: &Position,
    ) -> Result<Page<Affiliation>, Error> {
        let me = self.agency_admin(who, "read affiliations")?;
        let table = if upstream {
            Table::Affiliates
        } else {
            Table::Affiliations
        };
        Ok(page::scan(
            &self.store,
            table,
            &prefix(&[me.as_bytes()]),
            at,
        )?)
    }

    /// The agencies whose goods `agency`'s promoters sell (active affiliations), by id.
    pub(crate) fn upstreams(&self, agency: &str) -> Result<Vec<String>, Error> {
        let all: Vec<Affiliation> = self
            .store
            .scan(Table::Affiliations, &prefix(&[agency.as_bytes()]))?;
        Ok(all
            .into_iter()
            .filter(|a| a.state == AffiliationState::Active)
            .map(|a| a.upstream)
            .collect())
    }
}
