//! Statements: what one settlement run pays one beneficiary, line by line, and reading
//! them back (a merchant's runs, a beneficiary's statements across merchants). A statement
//! is a record of its totals; its lines are records of their own beside it (a run adds
//! them a chunk at a time), read back with it.
#![warn(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::super::commission::{OrderCommission, Side};
use super::super::page::{self, Page, Position};
use super::super::{Error, Plaza, Principal};
use super::{SETTLING, Settlement, settlement_key};
use crate::Money;
use crate::store::{Store, StoreError, Table, key, prefix, time_part};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One share on a statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatementLine {
    /// The merchant whose order it is on, when not the ledger's own (a layer's share).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant: Option<String>,
    pub order: String,
    pub line: String,
    pub step: String,
    /// The share's number within its order.
    pub share: u32,
    /// Whether the beneficiary received the share or paid it on.
    pub side: Side,
    /// The beneficiary's party in the share (`promoter`, `carrying_agency` …).
    pub party: String,
    /// Who is on the other side (the payer of a received share, the payee of one paid on).
    pub counterparty: String,
    /// Signed as the balance sees it: received +, paid on −.
    pub amount: Money,
}

impl StatementLine {
    pub(super) fn of(
        (merchant, order): (&str, &str),
        index: u32,
        share: &OrderCommission,
        side: Side,
    ) -> Self {
        let (party, counterparty) = match side {
            Side::Received => (&share.payee_party, &share.payer),
            Side::PaidOn => (&share.payer_party, &share.payee),
        };
        StatementLine {
            merchant: share.ledger.as_ref().map(|_| merchant.to_owned()),
            order: order.to_owned(),
            line: share.line.clone(),
            step: share.step.clone(),
            share: index,
            side,
            party: party.clone(),
            counterparty: counterparty.clone(),
            amount: side.signed(share.settled),
        }
    }
}

/// What one settlement run pays one beneficiary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Statement {
    pub settlement: String,
    /// The tenant whose books pay it: a merchant, or a plaza agency for the shares its
    /// layers pass on.
    pub merchant: String,
    pub beneficiary: String,
    pub created_ms: i64,
    pub until_ms: i64,
    /// Its lines (stored beside it, one record each).
    #[serde(default)]
    pub lines: Vec<StatementLine>,
    /// How many lines it has.
    #[serde(default)]
    pub line_count: u32,
    /// Shares received.
    pub received: Money,
    /// Shares paid on out of them (an agency's part of a waterfall).
    pub paid_on: Money,
    /// What its balance with the merchant carried in (clawbacks are negative).
    pub brought_forward: Money,
    /// `received − paid_on + brought_forward`: may be negative.
    pub net: Money,
    /// Paid out: the net when positive.
    pub payout: Money,
    /// Carried into the next statement: the net when negative.
    pub carried_forward: Money,
}

pub(super) fn statement_key(tenant: &str, settlement: &str, beneficiary: &str) -> Vec<u8> {
    key(&[
        tenant.as_bytes(),
        settlement.as_bytes(),
        beneficiary.as_bytes(),
    ])
}

/// Line `seq` of a statement.
pub(super) fn line_key(tenant: &str, settlement: &str, beneficiary: &str, seq: u32) -> Vec<u8> {
    key(&[
        tenant.as_bytes(),
        settlement.as_bytes(),
        beneficiary.as_bytes(),
        &seq.to_be_bytes(),
    ])
}

/// The beneficiary's index of its statements: beneficiary \0 merchant \0 time \0 run.
pub(super) fn by_beneficiary_key(
    beneficiary: &str,
    tenant: &str,
    at_ms: i64,
    settlement: &str,
) -> Vec<u8> {
    key(&[
        beneficiary.as_bytes(),
        tenant.as_bytes(),
        &time_part(at_ms),
        settlement.as_bytes(),
    ])
}

impl Statement {
    /// An empty statement of `run` for `beneficiary`, before any line.
    pub(super) fn draft(run: &Settlement, tenant: &str, beneficiary: &str) -> Statement {
        Statement {
            settlement: run.id.clone(),
            merchant: tenant.to_owned(),
            beneficiary: beneficiary.to_owned(),
            created_ms: run.created_ms,
            until_ms: run.until_ms,
            lines: Vec::new(),
            line_count: 0,
            received: Money::ZERO,
            paid_on: Money::ZERO,
            brought_forward: Money::ZERO,
            net: Money::ZERO,
            payout: Money::ZERO,
            carried_forward: Money::ZERO,
        }
    }

    /// Net the statement against what its beneficiary carried in.
    pub(super) fn net(&mut self, carried: Money) -> Result<(), Error> {
        let net = i128::from(self.received.0) - i128::from(self.paid_on.0) + i128::from(carried.0);
        let net = i64::try_from(net).map(Money).map_err(|_| Error::Invalid {
            field: "until_ms".into(),
            message: "one beneficiary's statement would exceed the range of money; settle a shorter period"
                .into(),
        })?;
        self.brought_forward = carried;
        self.net = net;
        self.payout = net.max(Money::ZERO);
        self.carried_forward = net.min(Money::ZERO);
        Ok(())
    }
}

/// A stored statement with its lines read back beside it.
fn with_lines(store: &Store, mut statement: Statement) -> Result<Statement, StoreError> {
    let lines = prefix(&[
        statement.merchant.as_bytes(),
        statement.settlement.as_bytes(),
        statement.beneficiary.as_bytes(),
    ]);
    statement.lines = store.scan(Table::StatementLines, &lines)?;
    Ok(statement)
}

impl Plaza {
    /// The statements of one of the caller's runs, by beneficiary.
    pub fn settlement_statements(
        &self,
        who: &Principal,
        id: &str,
        at: &Position,
    ) -> Result<Page<Statement>, Error> {
        let tenant = who.tenant(SETTLING, "read settlements")?;
        if !self
            .store
            .contains(Table::Settlements, &settlement_key(tenant, id))?
        {
            return Err(Error::not_found("settlement", id));
        }
        let range = prefix(&[tenant.as_bytes(), id.as_bytes()]);
        let page = page::scan(&self.store, Table::Statements, &range, at)?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|s| with_lines(&self.store, s))
                .collect::<Result<_, _>>()?,
            next: page.next,
        })
    }

    /// `beneficiary`'s statements, by merchant and then oldest first: from every merchant
    /// (its own key) or from the caller's merchant alone.
    pub fn beneficiary_statements(
        &self,
        who: &Principal,
        beneficiary: &str,
        at: &Position,
    ) -> Result<Page<Statement>, Error> {
        let merchant = who.beneficiary_scope(beneficiary, "read beneficiary statements")?;
        let range = match merchant {
            Some(m) => prefix(&[beneficiary.as_bytes(), m.as_bytes()]),
            None => prefix(&[beneficiary.as_bytes()]),
        };
        let whose = prefix(&[beneficiary.as_bytes()]);
        let keys = self.store.scan_keys(
            Table::BeneficiaryStatements,
            &range,
            at.after.as_deref(),
            at.limit + 1,
        )?;
        let more = keys.len() > at.limit;
        let mut items = Vec::with_capacity(keys.len().min(at.limit));
        for k in keys.iter().take(at.limit) {
            let (tenant, run) = statement_subject(&whose, k)?;
            let statement = self
                .store
                .get(
                    Table::Statements,
                    &statement_key(&tenant, &run, beneficiary),
                )?
                .ok_or_else(|| {
                    Error::Internal(format!("statement {run} is indexed but missing"))
                })?;
            items.push(statement);
        }
        let next = more.then(|| page::cursor(&keys[at.limit - 1]));
        Ok(Page { items, next })
    }
}

/// The merchant and run a beneficiary's statement index key names.
fn statement_subject(whose: &[u8], k: &[u8]) -> Result<(String, String), Error> {
    let corrupt = || Error::Internal("a statement index entry is malformed".into());
    let rest = k.get(whose.len()..).ok_or_else(corrupt)?;
    let end = rest.iter().position(|b| *b == 0).ok_or_else(corrupt)?;
    let tenant = String::from_utf8(rest[..end].to_vec()).map_err(|_| corrupt())?;
    let run = rest.get(end + 10..).ok_or_else(corrupt)?;
    let run = String::from_utf8(run.to_vec()).map_err(|_| corrupt())?;
    Ok((tenant, run))
}
