//! Reading a buyer's points (`GET /v1/buyers/{buyer}/points` and its ledger) and the
//! merchant's grants (`POST /v1/buyers/{buyer}/points/grants`: sign-in rewards,
//! compensation), idempotent by grant id.

use super::account::{Entry, EntryKind, Lot};
use super::orders::{MAX_BALANCE, TABLES, load, save, schedule_expiry};
use super::{account_of, settings_of};
use crate::domain::idempotency::request_sha256;
use crate::domain::lifecycle::MAX_AT_MS;
use crate::domain::page::{Page, Position};
use crate::domain::{Error, Plaza, Principal, Role, check_id};
use crate::executor::points::MAX_POINTS;
use crate::store::{Table, TxError, TxExt, key, prefix};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who reads a buyer's points: the merchant's checkout (or admin).
const READERS: &[Role] = &[Role::Admin, Role::Checkout];

/// A buyer's points with the caller, now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PointsAccount {
    pub buyer: String,
    /// Points the buyer may spend now.
    pub balance: i64,
    /// Points placed, unpaid orders hold.
    pub held: i64,
    /// Where the balance sits, soonest-expiring first.
    pub lots: Vec<Lot>,
    /// Ledger entries so far.
    pub entries: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPointsGrant {
    /// The caller's id for this grant: granting again is answered with the first.
    #[schema(schema_with = crate::shape::id_schema)]
    pub grant_id: String,
    /// 1 to 10¹².
    #[schema(minimum = 1, maximum = 1_000_000_000_000i64)]
    pub points: i64,
    /// When they expire (ms since the epoch, in the future); the program's validity from
    /// now when absent.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 253_402_300_799_999i64)]
    pub expires_ms: Option<i64>,
    /// Why (shown to the merchant's staff).
    #[serde(default)]
    #[schema(schema_with = crate::shape::optional_text_schema)]
    pub reason: Option<String>,
}

/// A grant as made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]

pub struct PointsGrant {
    pub grant_id: String,
    pub buyer: String,
    pub points: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub at_ms: i64,
    /// Its entry in the buyer's ledger.
    pub entry: u64,
    /// sha256 of the request: a replay must match it.
    pub request_sha256: String,
}

impl Plaza {
    /// `buyer`'s points with the caller, as they stand now.
    pub fn points_account(&self, who: &Principal, buyer: &str) -> Result<PointsAccount, Error> {
        let tenant = who.tenant(READERS, "read points")?;
        check_id("buyer", buyer)?;
        let account = account_of(&self.store, tenant, buyer)?;
        let now = self.now_ms();
        Ok(PointsAccount {
            buyer: buyer.to_owned(),
            balance: account.usable(now),
            held: account.held,
            lots: (account.lots.into_iter())
                .filter(|l| l.expires_ms.is_none_or(|at| at > now))
                .collect(),
            entries: account.entries,
        })
    }

    /// A page of `buyer`'s points ledger with the caller, oldest first.
    pub fn points_ledger(
        &self,
        who: &Principal,
        buyer: &str,
        at: &Position,
    ) -> Result<Page<Entry>, Error> {
        let tenant = who.tenant(READERS, "read points")?;
        check_id("buyer", buyer)?;
        let p = prefix(&[tenant.as_bytes(), buyer.as_bytes()]);
        Ok(crate::domain::page::scan(
            &self.store,
            Table::PointsLedger,
            &p,
            at,
        )?)
    }

    /// Grant `buyer` points. Returns the grant and whether this call made it.
    pub async fn grant_points(
        &self,
        who: &Principal,
        buyer: &str,
        new: NewPointsGrant,
    ) -> Result<(PointsGrant, bool), Error> {
        let tenant = who.tenant(&[Role::Admin], "grant points")?.to_owned();
        check_id("buyer", buyer)?;
        check_id("grant_id", &new.grant_id)?;
        if !(1..=MAX_POINTS).contains(&new.points) {
            return Err(Error::Invalid {
                field: "points".into(),
                message: format!("must be 1 to {MAX_POINTS}"),
            });
        }
        if let Some(reason) = &new.reason
            && !crate::shape::is_text(reason)
        {
            return Err(Error::Invalid {
                field: "reason".into(),
                message: "must be 1 to 128 characters without control characters".into(),
            });
        }
        let now = self.now_ms();
        if let Some(at) = new.expires_ms
            && !(now + 1..=MAX_AT_MS).contains(&at)
        {
            return Err(Error::Invalid {
                field: "expires_ms".into(),
                message: format!("must be after now ({now}) and at most {MAX_AT_MS}"),
            });
        }
        let sha = request_sha256(&new);
        let expires_ms = match new.expires_ms {
            Some(at) => Some(at),
            None => settings_of(&self.store, &tenant)?.expiry(now),
        };
        let grant_key = key(&[tenant.as_bytes(), buyer.as_bytes(), new.grant_id.as_bytes()]);
        let tables = [&TABLES[..], &[Table::PointsGrants, Table::Timers]].concat();
        let mut refused = None;
        let mut answer = None;
        let outcome = self.store.transact(&tables, |tx| {
            refused = None;
            if let Some(seen) = tx.get_json::<PointsGrant>(Table::PointsGrants, &grant_key)? {
                if seen.request_sha256 != sha {
                    refused = Some(Error::conflict(
                        "grant_id_reused",
                        format!("grant {:?} was made with a different request", new.grant_id),
                    ));
                    return Err(TxError::Abort);
                }
                answer = Some((seen, false));
                return Ok(());
            }
            let mut account = load(tx, &tenant, buyer)?;
            if account.balance > MAX_BALANCE - new.points {
                refused = Some(Error::conflict(
                    "points_balance_full",
                    format!("an account holds at most {MAX_BALANCE} points"),
                ));
                return Err(TxError::Abort);
            }
            let mut out = Vec::new();
            let source = format!("grant:{}", new.grant_id);
            account.credit(
                now,
                EntryKind::Grant,
                &source,
                new.points,
                expires_ms,
                &mut out,
            );
            save(tx, &tenant, buyer, &account, &out)?;
            schedule_expiry(tx, &tenant, buyer, expires_ms)?;
            let grant = PointsGrant {
                grant_id: new.grant_id.clone(),
                buyer: buyer.to_owned(),
                points: new.points,
                expires_ms,
                reason: new.reason.clone(),
                at_ms: now,
                entry: out.first().map_or(0, |e| e.seq),
                request_sha256: sha.clone(),
            };
            tx.put_json(Table::PointsGrants, &grant_key, &grant)?;
            answer = Some((grant, true));
            Ok(())
        });
        match (outcome, refused) {
            (Ok(()), _) => {}
            (Err(TxError::Abort), Some(e)) => return Err(e),
            (Err(e), _) => return Err(Error::from_tx(e)),
        }
        self.flush_if_sync().await?;
        Ok(answer.expect("a committed grant leaves its answer"))
    }
}
