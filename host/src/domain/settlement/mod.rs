//! Settlement runs: a merchant pays out every settleable commission share up to a time,
//! one statement per beneficiary. A run is a few short transactions under a durable run
//! record (`run.rs`): `running` while it pays, `done` once every statement is netted.
//!
//! A statement lists the shares the beneficiary received (+) and the shares it paid on out
//! of them (−, an agency in a waterfall), brings forward what its balance with this
//! merchant carried (clawbacks of shares already paid, or an earlier negative statement),
//! and nets it: a positive net is paid out, a negative one is carried into the next
//! statement. Nothing is ever dropped: Σ payouts − Σ carried forward of a run equals the
//! shares the merchant itself paid plus what was brought forward.
//!
//! A run is idempotent by `settlement_id`: the same request again answers the same
//! settlement and pays nothing twice (or, after a crash, finishes it); the same id with
//! another request is refused. A merchant runs one settlement at a time.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

mod balance;
mod run;
mod statements;

pub use balance::{BalanceFigures, BeneficiaryBalance, MerchantBalance};
pub use statements::{Statement, StatementLine};

pub(super) use balance::carry;

use super::idempotency::request_sha256;
use super::{Error, Plaza, Principal, Role, check_id};
use crate::Money;
use crate::store::{Table, key, prefix};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The roles that run and read settlements: what a merchant pays out is its admins' work.
const SETTLING: &[Role] = &[Role::Admin];

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettlementRequest {
    /// Idempotency key of the run within the merchant.
    #[schema(schema_with = crate::shape::id_schema)]
    pub settlement_id: String,
    /// Pay every share that became settleable at or before this time (ms since the Unix
    /// epoch; not in the future).
    #[schema(schema_with = until_schema)]
    pub until_ms: i64,
}

fn until_schema() -> utoipa::openapi::schema::Object {
    crate::shape::integer(0, super::lifecycle::MAX_AT_MS, "ms since the Unix epoch")
}

/// Where a run is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Paying its shares (or stopped by a crash: sending it again finishes it).
    Running,
    /// Every statement netted: the figures are final.
    #[default]
    Done,
}

/// One settlement run, as answered (and replayed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Settlement {
    pub id: String,
    #[serde(default)]
    pub state: RunState,
    pub until_ms: i64,
    pub created_ms: i64,
    /// Shares this run paid.
    pub shares: u64,
    /// Statements it wrote, one per beneficiary.
    pub statements: u64,
    /// What the tenant itself pays in the shares of this run (not what beneficiaries pass
    /// on out of what they received).
    pub commission: Money,
    /// Carried balances brought into its statements.
    pub brought_forward: Money,
    /// Paid out: the sum of the positive statements.
    pub payout: Money,
    /// Carried into the next statements: the sum of the negative ones.
    pub carried_forward: Money,
    /// sha256 of the request: a replay must match it.
    pub request_sha256: String,
}

pub(super) fn settlement_key(tenant: &str, id: &str) -> Vec<u8> {
    key(&[tenant.as_bytes(), id.as_bytes()])
}

/// The merchant's run in progress, if any: tenant → its id.
fn running_key(tenant: &str) -> Vec<u8> {
    tenant.as_bytes().to_vec()
}

impl Plaza {
    /// Run a settlement for the caller's merchant (see the module docs).
    pub async fn settle(
        self: &std::sync::Arc<Self>,
        who: &Principal,
        req: SettlementRequest,
    ) -> Result<(Settlement, bool), Error> {
        let tenant = who.tenant(SETTLING, "run settlements")?.to_owned();
        check_id("settlement_id", &req.settlement_id)?;
        let now = self.now_ms();
        if !(0..=super::lifecycle::MAX_AT_MS).contains(&req.until_ms) || req.until_ms > now {
            return Err(Error::Invalid {
                field: "until_ms".into(),
                message: format!("must be 0 to now ({now}): a run settles only what is past"),
            });
        }
        let request_sha256 = request_sha256(&req);
        let skey = settlement_key(&tenant, &req.settlement_id);
        if let Some(done) = self
            .store
            .get::<Settlement>(Table::Settlements, &skey)?
            .filter(|run| run.state == RunState::Done)
        {
            return self.replay_settlement(done, &request_sha256).await;
        }
        // One run at a time in this process: a run is several transactions, and its
        // close must see every chunk's drafts.
        let _one = self.settling.lock().await;
        let (me, sha) = (self.clone(), request_sha256.clone());
        let ran = tokio::task::spawn_blocking(move || {
            let run = match run::begin(&me.store, &tenant, &req, &sha, now)? {
                Ok(run) => run,
                Err(stop) => return Ok(Err(stop)),
            };
            for due in run::Due::ALL {
                // Each chunk gives way to the quotes and commits running and arriving.
                while me
                    .foreground
                    .background(|| run::chunk(&me.store, &tenant, &run, due))?
                {}
            }
            run::close(&me.store, &tenant, &run).map(Ok)
        })
        .await
        .map_err(|e| Error::Internal(format!("a settlement run panicked: {e}")))??;
        let run = match ran {
            Ok(run) => run,
            Err(run::Stop::Done(done)) => {
                return self.replay_settlement(*done, &request_sha256).await;
            }
            Err(run::Stop::Refused(e)) => return Err(e),
        };
        self.flush().await?;
        self.metrics.settlement(run.shares);
        Ok((run, true))
    }

    /// The answer to a run whose id is taken (made durable first: the run that wrote it
    /// may not have flushed yet).
    async fn replay_settlement(
        &self,
        existing: Settlement,
        request_sha256: &str,
    ) -> Result<(Settlement, bool), Error> {
        if existing.request_sha256 != request_sha256 {
            return Err(Error::conflict(
                "settlement_id_reused",
                format!(
                    "settlement {:?} was run with a different request",
                    existing.id
                ),
            ));
        }
        self.flush().await?;
        Ok((existing, false))
    }

    /// One settlement run of the caller's merchant.
    pub fn settlement(&self, who: &Principal, id: &str) -> Result<Settlement, Error> {
        let tenant = who.tenant(SETTLING, "read settlements")?;
        self.store
            .get(Table::Settlements, &settlement_key(tenant, id))?
            .ok_or_else(|| Error::not_found("settlement", id))
    }

    /// The caller's settlement runs, by id.
    pub fn list_settlements(
        &self,
        who: &Principal,
        at: &super::Position,
    ) -> Result<super::Page<Settlement>, Error> {
        let tenant = who.tenant(SETTLING, "read settlements")?;
        let range = prefix(&[tenant.as_bytes()]);
        Ok(super::page::scan(
            &self.store,
            Table::Settlements,
            &range,
            at,
        )?)
    }
}
