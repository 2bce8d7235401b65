//! Settlement runs: a merchant pays out every settleable commission share up to a time,
//! one statement per beneficiary, in one transaction.
//!
//! A statement lists the shares the beneficiary received (+) and the shares it paid on out
//! of them (−, an agency in a waterfall), brings forward what its balance with this
//! merchant carried (clawbacks of shares already paid, or an earlier negative statement),
//! and nets it: a positive net is paid out, a negative one is carried into the next
//! statement. Nothing is ever dropped: Σ payouts − Σ carried forward of a run equals the
//! shares the merchant itself paid plus what was brought forward.
//!
//! A run is idempotent by `settlement_id`: the same request again answers the same
//! settlement and pays nothing twice; the same id with another request is refused.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

mod balance;
mod statements;

pub use balance::{BalanceFigures, BeneficiaryBalance, MerchantBalance};
pub use statements::{Statement, StatementLine};

pub(super) use balance::carry;

use super::commission::{self, CommissionState, OrderCommission, Side};
use super::idempotency::request_sha256;
use super::{Error, Plaza, Principal, Role, check_id};
use crate::Money;
use crate::store::{Table, TxError, TxExt, key, prefix, time_part};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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

/// One settlement run, as answered (and replayed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Settlement {
    pub id: String,
    pub until_ms: i64,
    pub created_ms: i64,
    /// Shares this run paid.
    pub shares: u64,
    /// Statements it wrote, one per beneficiary.
    pub statements: u64,
    /// What the merchant itself pays in the shares of this run.
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

/// The tables a run writes.
const RUN_TABLES: [Table; 8] = [
    Table::Settlements,
    Table::Carried,
    Table::Statements,
    Table::BeneficiaryStatements,
    Table::Commissions,
    Table::OpenShares,
    Table::Settleable,
    Table::Balances,
];

/// A sum that must stay within the documented bounds of money.
fn sum(total: i128, field: &str) -> Result<Money, Error> {
    i64::try_from(total).map(Money).map_err(|_| Error::Invalid {
        field: field.to_owned(),
        message: "the amounts to settle at once exceed the range of money; settle a shorter period"
            .to_owned(),
    })
}

/// What one beneficiary's statement gathers before it is written.
#[derive(Default)]
struct Gathered {
    lines: Vec<StatementLine>,
    received: i128,
    paid_on: i128,
}

/// Why the run's transaction stopped.
enum Stop {
    Exists(Box<Settlement>),
    Refused(Error),
}

impl Plaza {
    /// Run a settlement for the caller's merchant (see the module docs).
    pub async fn settle(
        &self,
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
        if let Some(existing) = self.store.get::<Settlement>(Table::Settlements, &skey)? {
            return self.replay_settlement(existing, &request_sha256).await;
        }
        // What is due: read outside the transaction, checked again inside it.
        let range = prefix(&[tenant.as_bytes()]);
        let mut end = range.clone();
        end.extend_from_slice(&time_part(req.until_ms));
        end.push(0xff);
        let due: Vec<Vec<u8>> = self
            .store
            .scan_keys(Table::Settleable, &range, None, usize::MAX)?
            .into_iter()
            .take_while(|k| *k < end)
            .collect();
        // Beneficiaries whose balance with this merchant carries something.
        let carried = self
            .store
            .scan_keys(Table::Carried, &range, None, usize::MAX)?;
        let mut stop = None;
        let mut done = None;
        let outcome = self.store.transact(&RUN_TABLES, |tx| {
            stop = None;
            if let Some(existing) = tx.get_json::<Settlement>(Table::Settlements, &skey)? {
                stop = Some(Stop::Exists(Box::new(existing)));
                return Err(TxError::Abort);
            }
            let mut by_beneficiary: BTreeMap<String, Gathered> = BTreeMap::new();
            let mut shares = 0u64;
            let mut commission = 0i128;
            for k in &due {
                if tx.get(Table::Settleable, k)?.is_none() {
                    continue;
                }
                let (order, index) = settleable_subject(&range, k)?;
                let skey = commission::share_key(&tenant, &order, index);
                let Some(mut share) = tx.get_json::<OrderCommission>(Table::Commissions, &skey)?
                else {
                    tx.remove(Table::Settleable, k)?;
                    continue;
                };
                if share.state != CommissionState::Settleable {
                    continue;
                }
                let paid = share.left();
                share.state = CommissionState::Settled;
                share.settlement = Some(req.settlement_id.clone());
                share.settled = paid;
                commission::put_share(tx, &tenant, &order, index, &share)?;
                shares += 1;
                if !share.payer_has_balance() {
                    commission += i128::from(paid.0);
                }
                let received = by_beneficiary.entry(share.payee.clone()).or_default();
                received.received += i128::from(paid.0);
                received
                    .lines
                    .push(StatementLine::of(&order, index, &share, Side::Received));
                if share.payer_has_balance() {
                    let paying = by_beneficiary.entry(share.payer.clone()).or_default();
                    paying.paid_on += i128::from(paid.0);
                    paying
                        .lines
                        .push(StatementLine::of(&order, index, &share, Side::PaidOn));
                }
            }
            for k in &carried {
                let beneficiary = String::from_utf8_lossy(&k[range.len()..]).into_owned();
                by_beneficiary.entry(beneficiary).or_default();
            }
            let mut run = Settlement {
                id: req.settlement_id.clone(),
                until_ms: req.until_ms,
                created_ms: now,
                shares,
                statements: 0,
                commission: Money::ZERO,
                brought_forward: Money::ZERO,
                payout: Money::ZERO,
                carried_forward: Money::ZERO,
                request_sha256: request_sha256.clone(),
            };
            let mut totals = [0i128; 3];
            for (beneficiary, gathered) in by_beneficiary {
                let statement =
                    match self.write_statement(tx, &tenant, &run, &beneficiary, gathered) {
                        Ok(Some(statement)) => statement,
                        Ok(None) => continue,
                        Err(e) => {
                            stop = Some(Stop::Refused(e));
                            return Err(TxError::Abort);
                        }
                    };
                run.statements += 1;
                totals[0] += i128::from(statement.brought_forward.0);
                totals[1] += i128::from(statement.payout.0);
                totals[2] += i128::from(statement.carried_forward.0);
            }
            let sums = (|| -> Result<_, Error> {
                Ok((
                    sum(commission, "until_ms")?,
                    sum(totals[0], "until_ms")?,
                    sum(totals[1], "until_ms")?,
                    sum(totals[2], "until_ms")?,
                ))
            })();
            match sums {
                Ok((c, b, p, f)) => {
                    run.commission = c;
                    run.brought_forward = b;
                    run.payout = p;
                    run.carried_forward = f;
                }
                Err(e) => {
                    stop = Some(Stop::Refused(e));
                    return Err(TxError::Abort);
                }
            }
            tx.put_json(Table::Settlements, &skey, &run)?;
            done = Some(run);
            Ok(())
        });
        match (outcome, stop) {
            (Ok(()), _) => {}
            (Err(TxError::Abort), Some(Stop::Exists(existing))) => {
                return self.replay_settlement(*existing, &request_sha256).await;
            }
            (Err(TxError::Abort), Some(Stop::Refused(e))) => return Err(e),
            (Err(e), _) => return Err(Error::from_tx(e)),
        }
        self.flush().await?;
        let run = done.expect("a committed run leaves its settlement");
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

/// The order and share index a settleable index key names.
fn settleable_subject(range: &[u8], k: &[u8]) -> Result<(String, u32), TxError> {
    // tenant \0 time (8) \0 order \0 index (4)
    let corrupt = || {
        TxError::Store(crate::store::StoreError::Corrupt {
            key: crate::store::show_key(k),
            message: "not a settleable share entry".into(),
        })
    };
    let rest = k.get(range.len() + 9..).ok_or_else(corrupt)?;
    let split = rest.len().checked_sub(5).ok_or_else(corrupt)?;
    let order = String::from_utf8(rest[..split].to_vec()).map_err(|_| corrupt())?;
    let index: [u8; 4] = rest[split + 1..].try_into().map_err(|_| corrupt())?;
    Ok((order, u32::from_be_bytes(index)))
}
