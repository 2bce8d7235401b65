//! A settlement run's work, in short transactions: sled commits every transaction under a
//! lock that every read of the process waits for, so one transaction over a month of
//! shares would stall every quote on the host for seconds (measured: 5.8 s for 100,000
//! shares) and hold the whole run in memory.
//!
//! 1. **Begin**: the run's record is written `running` (one run of a merchant at a time).
//! 2. **Chunks**: each transaction pays the next [`CHUNK`] due shares (whole orders, so an
//!    order's shares are settled together) and adds them to their beneficiaries' draft
//!    statements, line by line.
//! 3. **Close**: one transaction nets every draft against what its beneficiary carries,
//!    moves the balances on, and marks the run `done`.
//!
//! Every step is idempotent: a run killed at any point is finished by sending it again (the
//! same request resumes where the store says it stopped). Blocking: run off the async
//! workers.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::super::Error;
use super::super::commission::{self, CommissionState, OrderCommission, Side};
use super::balance::{self, Balance};
use super::statements::{Statement, StatementLine, line_key, statement_key};
use super::{RunState, Settlement, SettlementRequest, running_key, settlement_key};
use crate::Money;
use crate::store::{Store, StoreError, Table, Tx, TxError, TxExt, prefix, time_part};
use std::collections::BTreeMap;

/// Shares one chunk pays (rounded up to whole orders): a chunk's transaction is what a
/// quote reading the store may wait for (measured: 256 shares, quotes' p99 9.7 ms).
pub const CHUNK: usize = 128;

/// Why a run stops before it pays.
pub(super) enum Stop {
    /// The run is done: its answer, to replay.
    Done(Box<Settlement>),
    Refused(Error),
}

fn internal(e: TxError, what: &str) -> Error {
    match e {
        TxError::Store(e) => Error::Store(e),
        TxError::Abort => Error::Internal(format!("{what} aborted without a reason")),
    }
}

/// Write the run `running`, or find it: a run of this id already running is resumed.
pub(super) fn begin(
    store: &Store,
    tenant: &str,
    req: &SettlementRequest,
    request_sha256: &str,
    now: i64,
) -> Result<Result<Settlement, Stop>, Error> {
    let skey = settlement_key(tenant, &req.settlement_id);
    let mut outcome = None;
    store
        .transact(&[Table::Settlements, Table::RunningSettlements], |tx| {
            if let Some(run) = tx.get_json::<Settlement>(Table::Settlements, &skey)? {
                outcome = Some(if run.request_sha256 != request_sha256 {
                    Err(Stop::Refused(Error::conflict(
                        "settlement_id_reused",
                        format!("settlement {:?} was run with a different request", run.id),
                    )))
                } else if run.state == RunState::Done {
                    Err(Stop::Done(Box::new(run)))
                } else {
                    Ok(run)
                });
                return Ok(());
            }
            if let Some(other) =
                tx.get_json::<String>(Table::RunningSettlements, &running_key(tenant))?
            {
                outcome = Some(Err(Stop::Refused(Error::conflict(
                    "settlement_running",
                    format!("settlement {other:?} is still running: send it again to finish it"),
                ))));
                return Ok(());
            }
            let run = Settlement {
                id: req.settlement_id.clone(),
                state: RunState::Running,
                until_ms: req.until_ms,
                created_ms: now,
                shares: 0,
                statements: 0,
                commission: Money::ZERO,
                brought_forward: Money::ZERO,
                payout: Money::ZERO,
                carried_forward: Money::ZERO,
                request_sha256: request_sha256.to_owned(),
            };
            tx.put_json(Table::Settlements, &skey, &run)?;
            tx.put_json(Table::RunningSettlements, &running_key(tenant), &run.id)?;
            outcome = Some(Ok(run));
            Ok(())
        })
        .map_err(|e| internal(e, "beginning a settlement"))?;
    Ok(outcome.expect("the transaction decided"))
}

/// Which index of due shares a chunk reads.
#[derive(Clone, Copy, Debug)]
pub(super) enum Due {
    /// The shares of the tenant's own orders that its own books pay.
    Own,
    /// The shares of merchants' orders that the tenant pays as a plaza layer.
    Layered,
}

impl Due {
    /// Both, in the order a run pays them.
    pub(super) const ALL: [Due; 2] = [Due::Own, Due::Layered];

    fn table(self) -> Table {
        match self {
            Due::Own => Table::Settleable,
            Due::Layered => Table::LayerSettleable,
        }
    }

    /// The merchant, order and share a due key names, and the key's part that names the
    /// order. Own: tenant \0 time (8) \0 order \0 share (4); layered: ledger \0 time (8)
    /// \0 merchant \0 order \0 share (4).
    fn subject<'k>(
        self,
        tenant: &str,
        range: &[u8],
        k: &'k [u8],
    ) -> Result<(&'k [u8], String, String, u32), StoreError> {
        let corrupt = || StoreError::Corrupt {
            key: crate::store::show_key(k),
            message: "not a settleable share entry".into(),
        };
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| corrupt());
        let rest = k.get(range.len() + 9..).ok_or_else(corrupt)?;
        let split = rest.len().checked_sub(5).ok_or_else(corrupt)?;
        let (merchant, order) = match self {
            Due::Own => (tenant.to_owned(), text(&rest[..split])?),
            Due::Layered => {
                let end = rest[..split]
                    .iter()
                    .position(|b| *b == 0)
                    .ok_or_else(corrupt)?;
                (text(&rest[..end])?, text(&rest[end + 1..split])?)
            }
        };
        let index: [u8; 4] = rest[split + 1..].try_into().map_err(|_| corrupt())?;
        Ok((
            &k[..k.len() - 4],
            merchant,
            order,
            u32::from_be_bytes(index),
        ))
    }
}

/// Pay the next due shares of `run` from the `due` index; false when none is left.
pub(super) fn chunk(
    store: &Store,
    tenant: &str,
    run: &Settlement,
    due: Due,
) -> Result<bool, Error> {
    let range = prefix(&[tenant.as_bytes()]);
    let mut end = range.clone();
    end.extend_from_slice(&time_part(run.until_ms));
    end.push(0xff);
    let whole = |k: &[u8]| due.subject(tenant, &range, k).map(|s| s.0.to_vec());
    // Up to CHUNK keys, then on to the end of the last one's order.
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let batch = store.scan_keys(due.table(), &range, after.as_deref(), CHUNK)?;
        let full = batch.len() == CHUNK;
        for k in batch {
            if k >= end {
                return pay(store, tenant, run, (due, &range), keys);
            }
            if keys.len() >= CHUNK {
                let last = keys.last().expect("full");
                if whole(last)? != whole(&k)? {
                    return pay(store, tenant, run, (due, &range), keys);
                }
            }
            after = Some(k.clone());
            keys.push(k);
        }
        if !full {
            return pay(store, tenant, run, (due, &range), keys);
        }
    }
}

/// The tables a chunk writes.
const CHUNK_TABLES: [Table; 10] = [
    Table::Settlements,
    Table::Statements,
    Table::StatementLines,
    Table::Commissions,
    Table::OpenShares,
    Table::Settleable,
    Table::Balances,
    Table::Carried,
    Table::LayerOpenShares,
    Table::LayerSettleable,
];

fn pay(
    store: &Store,
    tenant: &str,
    run: &Settlement,
    (due, range): (Due, &[u8]),
    keys: Vec<Vec<u8>>,
) -> Result<bool, Error> {
    if keys.is_empty() {
        return Ok(false);
    }
    let skey = settlement_key(tenant, &run.id);
    store
        .transact(&CHUNK_TABLES, |tx| {
            let Some(mut current) = tx.get_json::<Settlement>(Table::Settlements, &skey)? else {
                return Err(TxError::Abort);
            };
            let mut drafts: BTreeMap<String, Statement> = BTreeMap::new();
            let mut commission = i128::from(current.commission.0);
            for k in &keys {
                if tx.get(due.table(), k)?.is_none() {
                    continue;
                }
                let (_, merchant, order, index) = due.subject(tenant, range, k)?;
                let at = commission::share_key(&merchant, &order, index);
                let Some(mut share) = tx.get_json::<OrderCommission>(Table::Commissions, &at)?
                else {
                    tx.remove(due.table(), k)?;
                    continue;
                };
                if share.state != CommissionState::Settleable {
                    continue;
                }
                share.state = CommissionState::Settled;
                share.settlement = Some(run.id.clone());
                share.settled = share.left();
                commission::put_share(tx, &merchant, &order, index, &share)?;
                let line = |side| StatementLine::of((&merchant, &order), index, &share, side);
                current.shares += 1;
                if !share.payer_has_balance() {
                    commission += i128::from(share.settled.0);
                }
                let settled = share.settled;
                add_line(
                    tx,
                    (tenant, run),
                    &mut drafts,
                    &share.payee,
                    line(Side::Received),
                    settled,
                )?;
                if share.payer_has_balance() {
                    add_line(
                        tx,
                        (tenant, run),
                        &mut drafts,
                        &share.payer,
                        line(Side::PaidOn),
                        settled,
                    )?;
                }
            }
            current.commission = Money(i64::try_from(commission).map_err(|_| {
                TxError::Store(StoreError::Backend(
                    "a settlement's commission left the range of money".into(),
                ))
            })?);
            for (beneficiary, draft) in &drafts {
                tx.put_json(
                    Table::Statements,
                    &statement_key(tenant, &run.id, beneficiary),
                    draft,
                )?;
            }
            tx.put_json(Table::Settlements, &skey, &current)
        })
        .map_err(|e| internal(e, "a settlement chunk"))?;
    Ok(true)
}

/// Add a share's `line` (it settled `settled`) to `beneficiary`'s draft statement (read on
/// first use in this chunk).
fn add_line(
    tx: &mut dyn Tx,
    (tenant, run): (&str, &Settlement),
    drafts: &mut BTreeMap<String, Statement>,
    beneficiary: &str,
    line: StatementLine,
    settled: Money,
) -> Result<(), TxError> {
    let side = line.side;
    if !drafts.contains_key(beneficiary) {
        let k = statement_key(tenant, &run.id, beneficiary);
        let draft = tx
            .get_json::<Statement>(Table::Statements, &k)?
            .unwrap_or_else(|| Statement::draft(run, tenant, beneficiary));
        drafts.insert(beneficiary.to_owned(), draft);
    }
    let draft = drafts.get_mut(beneficiary).expect("inserted above");
    let add = |total: Money| {
        total.checked_add(settled).ok_or_else(|| {
            TxError::Store(StoreError::Backend(
                "a statement left the range of money".into(),
            ))
        })
    };
    match side {
        Side::Received => draft.received = add(draft.received)?,
        Side::PaidOn => draft.paid_on = add(draft.paid_on)?,
    }
    tx.put_json(
        Table::StatementLines,
        &line_key(tenant, &run.id, beneficiary, draft.line_count),
        &line,
    )?;
    draft.line_count += 1;
    Ok(())
}

/// The tables closing a run writes.
const CLOSE_TABLES: [Table; 6] = [
    Table::Settlements,
    Table::RunningSettlements,
    Table::Statements,
    Table::BeneficiaryStatements,
    Table::Balances,
    Table::Carried,
];

/// Net every draft statement of `run` (and every balance that carries something) and mark
/// the run done: its answer.
pub(super) fn close(store: &Store, tenant: &str, run: &Settlement) -> Result<Settlement, Error> {
    let drafts = prefix(&[tenant.as_bytes(), run.id.as_bytes()]);
    let mut beneficiaries: Vec<String> = store
        .scan_keys(Table::Statements, &drafts, None, usize::MAX)?
        .into_iter()
        .map(|k| String::from_utf8_lossy(&k[drafts.len()..]).into_owned())
        .collect();
    let range = prefix(&[tenant.as_bytes()]);
    for k in store.scan_keys(Table::Carried, &range, None, usize::MAX)? {
        beneficiaries.push(String::from_utf8_lossy(&k[range.len()..]).into_owned());
    }
    beneficiaries.sort();
    beneficiaries.dedup();
    let skey = settlement_key(tenant, &run.id);
    let mut refused = None;
    let mut closed = None;
    let outcome = store.transact(&CLOSE_TABLES, |tx| {
        refused = None;
        let Some(mut current) = tx.get_json::<Settlement>(Table::Settlements, &skey)? else {
            return Err(TxError::Abort);
        };
        if current.state == RunState::Done {
            closed = Some(current);
            return Ok(());
        }
        let mut totals = [0i128; 3];
        for beneficiary in &beneficiaries {
            let k = statement_key(tenant, &run.id, beneficiary);
            let draft = tx.get_json::<Statement>(Table::Statements, &k)?;
            let mut held: Balance = balance::read(tx, tenant, beneficiary)?;
            if draft.is_none() && held.carried.0 == 0 {
                continue;
            }
            let mut statement =
                draft.unwrap_or_else(|| Statement::draft(&current, tenant, beneficiary));
            if let Err(e) = statement.net(held.carried) {
                refused = Some(e);
                return Err(TxError::Abort);
            }
            held.carried = statement.carried_forward;
            let Some(paid) = held.paid_out.checked_add(statement.payout) else {
                refused = Some(Error::Internal(
                    "a balance exceeds the range of money".into(),
                ));
                return Err(TxError::Abort);
            };
            held.paid_out = paid;
            balance::write(tx, tenant, beneficiary, &held)?;
            tx.put_json(Table::Statements, &k, &statement)?;
            tx.put(
                Table::BeneficiaryStatements,
                &super::statements::by_beneficiary_key(
                    beneficiary,
                    tenant,
                    current.created_ms,
                    &run.id,
                ),
                &[],
            )?;
            current.statements += 1;
            totals[0] += i128::from(statement.brought_forward.0);
            totals[1] += i128::from(statement.payout.0);
            totals[2] += i128::from(statement.carried_forward.0);
        }
        let sum = |v: i128| {
            i64::try_from(v).map(Money).map_err(|_| {
                TxError::Store(StoreError::Backend(
                    "a settlement's totals left the range of money".into(),
                ))
            })
        };
        current.brought_forward = sum(totals[0])?;
        current.payout = sum(totals[1])?;
        current.carried_forward = sum(totals[2])?;
        current.state = RunState::Done;
        tx.put_json(Table::Settlements, &skey, &current)?;
        tx.remove(Table::RunningSettlements, &running_key(tenant))?;
        closed = Some(current);
        Ok(())
    });
    match (outcome, refused) {
        (Ok(()), _) => Ok(closed.expect("a closed run")),
        (Err(TxError::Abort), Some(e)) => Err(e),
        (Err(e), _) => Err(internal(e, "closing a settlement")),
    }
}
