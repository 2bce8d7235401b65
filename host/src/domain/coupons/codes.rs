//! Codes for offline distribution: `POST /v1/coupons/{template}/codes` issues a batch
//! (each code takes one unit of the template's stock), `POST
//! /v1/coupon-codes/{code}/claims` claims one, once.
//!
//! A code is 16 characters of Crockford's base32: 15 random ones (75 bits, so guessing
//! one of a million issued codes takes ~2^55 tries) and a check character (the value
//! mod 37, Crockford's check symbols), so a mistyped character or a swap of two
//! neighbours is refused as a bad code before any lookup.

use super::claims::{CLAIMERS, Claim, NewClaim, Source};
use super::template_key;
use super::templates::{Template, conflict};
use crate::domain::{Error, Plaza, Principal, Role, check_id};
use crate::store::{Table, Tx, TxError, TxExt, key};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most codes one batch may hold.
pub const MAX_BATCH: u32 = 10_000;
const RANDOM_CHARS: usize = 15;
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CHECK_SYMBOLS: &[u8; 37] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCodeBatch {
    /// The caller's id for this batch: issuing it again answers the first.
    #[schema(schema_with = crate::shape::id_schema)]
    pub batch_id: String,
    #[schema(minimum = 1, maximum = 10_000)]
    pub count: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CodeBatch {
    pub owner: String,
    pub template: String,
    pub batch_id: String,
    pub codes: Vec<String>,
    pub created_ms: i64,
}

/// A code as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct CodeRecord {
    template: String,
    batch: String,
    #[serde(default)]
    claim: Option<String>,
}

fn code_key(owner: &str, code: &str) -> Vec<u8> {
    key(&[owner.as_bytes(), code.as_bytes()])
}

fn batch_key(owner: &str, template: &str, batch: &str) -> Vec<u8> {
    key(&[owner.as_bytes(), template.as_bytes(), batch.as_bytes()])
}

fn check_symbol(random: &[u8]) -> u8 {
    let mut value: u128 = 0;
    for c in random {
        let digit = ALPHABET.iter().position(|a| a == c).unwrap_or(0);
        value = value * 32 + digit as u128;
    }
    CHECK_SYMBOLS[(value % 37) as usize]
}

/// A fresh code.
fn new_code() -> Result<String, Error> {
    let mut bytes = [0u8; RANDOM_CHARS];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(e.to_string()))?;
    let mut code: Vec<u8> = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b % 32)])
        .collect();
    code.push(check_symbol(&code));
    Ok(String::from_utf8(code).expect("ASCII"))
}

/// `typed` as a well-formed code (upper case, hyphens and spaces dropped, Crockford's
/// look-alikes read as digits), or `None`.
pub fn normalize(typed: &str) -> Option<String> {
    let mut out = Vec::with_capacity(RANDOM_CHARS + 1);
    for c in typed.chars().filter(|c| *c != '-' && *c != ' ') {
        let c = match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        out.push(u8::try_from(c).ok()?);
    }
    let (random, check) = out.split_at_checked(RANDOM_CHARS)?;
    let ok = check.len() == 1
        && random.iter().all(|c| ALPHABET.contains(c))
        && check[0] == check_symbol(random);
    ok.then(|| String::from_utf8(out).expect("ASCII"))
}

/// Mark `code` (of `template`) claimed by `claim` inside a claim's transaction: false
/// when it was claimed already.
pub(super) fn take(
    tx: &mut dyn Tx,
    owner: &str,
    code: &str,
    template: &str,
    claim: &str,
) -> Result<bool, TxError> {
    let k = code_key(owner, code);
    let Some(mut record) = tx.get_json::<CodeRecord>(Table::CouponCodes, &k)? else {
        return Ok(false);
    };
    if record.template != template || record.claim.is_some() {
        return Ok(false);
    }
    record.claim = Some(claim.to_owned());
    tx.put_json(Table::CouponCodes, &k, &record)?;
    Ok(true)
}

impl Plaza {
    /// Issue a batch of codes (the owner's admin), taking `count` units of stock.
    /// Issuing the same batch again answers the first (`false`).
    pub async fn issue_codes(
        &self,
        who: &Principal,
        template: &str,
        new: NewCodeBatch,
    ) -> Result<(CodeBatch, bool), Error> {
        let owner = who.tenant(&[Role::Admin], "issue coupon codes")?.to_owned();
        check_id("template", template)?;
        check_id("batch_id", &new.batch_id)?;
        if !(1..=MAX_BATCH).contains(&new.count) {
            return Err(Error::Invalid {
                field: "count".into(),
                message: "must be 1 to 10000".into(),
            });
        }
        let now = self.now_ms();
        if !self.template_of(&owner, template)?.live_rooms.is_empty() {
            return Err(conflict(
                "live_room_coupon",
                "a coupon split over live rooms is claimed in a live room, not by code",
            ));
        }
        let bkey = batch_key(&owner, template, &new.batch_id);
        if let Some(b) = self.store.get::<CodeBatch>(Table::CouponBatches, &bkey)? {
            return same_batch(b, &new);
        }
        let codes = (0..new.count)
            .map(|_| new_code())
            .collect::<Result<Vec<_>, _>>()?;
        let fresh = CodeBatch {
            owner: owner.clone(),
            template: template.to_owned(),
            batch_id: new.batch_id.clone(),
            codes,
            created_ms: now,
        };
        let tkey = template_key(&owner, template);
        let tables = [
            Table::CouponTemplates,
            Table::CouponBatches,
            Table::CouponCodes,
        ];
        let (mut refusal, mut again) = (None, None);
        let outcome = self.store.transact(&tables, |tx| {
            (refusal, again) = (None, None);
            if let Some(b) = tx.get_json::<CodeBatch>(Table::CouponBatches, &bkey)? {
                again = Some(b);
                return Ok(());
            }
            let Some(mut t) = tx.get_json::<Template>(Table::CouponTemplates, &tkey)? else {
                refusal = Some(Error::not_found("coupon template", template));
                return Err(TxError::Abort);
            };
            if let Err(e) = t.open_at(now) {
                refusal = Some(e);
                return Err(TxError::Abort);
            }
            if t.left() < new.count {
                let left = t.left();
                refusal = Some(conflict(
                    "out_of_stock",
                    &format!("{left} units of this coupon are left"),
                ));
                return Err(TxError::Abort);
            }
            t.issued += new.count;
            for code in &fresh.codes {
                let k = code_key(&owner, code);
                if tx.get(Table::CouponCodes, &k)?.is_some() {
                    refusal = Some(Error::Internal("a fresh code was issued before".into()));
                    return Err(TxError::Abort);
                }
                let record = CodeRecord {
                    template: template.to_owned(),
                    batch: new.batch_id.clone(),
                    claim: None,
                };
                tx.put_json(Table::CouponCodes, &k, &record)?;
            }
            tx.put_json(Table::CouponTemplates, &tkey, &t)?;
            tx.put_json(Table::CouponBatches, &bkey, &fresh)
        });
        match (outcome, refusal) {
            (Ok(()), _) => {}
            (Err(TxError::Abort), Some(e)) => return Err(e),
            (Err(e), _) => return Err(Error::from_tx(e)),
        }
        if let Some(b) = again {
            return same_batch(b, &new);
        }
        self.flush().await?;
        Ok((fresh, true))
    }

    /// Claim the coupon of an offline code for a buyer (the owner's checkout or admin).
    pub async fn claim_code(
        &self,
        who: &Principal,
        typed: &str,
        new: NewClaim,
    ) -> Result<(Claim, bool), Error> {
        let owner = who.tenant(CLAIMERS, "claim coupon codes")?.to_owned();
        super::claims::check_checkout_claim_id(&new.claim_id)?;
        let code = normalize(typed).ok_or_else(|| Error::Unprocessable {
            kind: "bad_code",
            field: "code".into(),
            message: "not a coupon code (16 characters with a valid check character)".into(),
        })?;
        let record: CodeRecord = self
            .store
            .get(Table::CouponCodes, &code_key(&owner, &code))?
            .ok_or_else(|| Error::not_found("coupon code", &code))?;
        if record.claim.as_ref().is_some_and(|c| *c != new.claim_id) {
            return Err(conflict("code_used", "this code was claimed already"));
        }
        self.claim_from(&owner, &record.template, new, Source::Code(&code))
            .await
    }
}

fn same_batch(b: CodeBatch, new: &NewCodeBatch) -> Result<(CodeBatch, bool), Error> {
    if usize::try_from(new.count).is_ok_and(|n| n == b.codes.len()) {
        Ok((b, false))
    } else {
        Err(conflict(
            "batch_id_taken",
            "another batch has this batch_id",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_survives_typing_and_one_wrong_or_swapped_character_is_refused() {
        for _ in 0..200 {
            let code = new_code().unwrap();
            assert_eq!(code.len(), 16);
            assert_eq!(normalize(&code).as_deref(), Some(code.as_str()));
            let typed = format!("{}-{}", &code[..8], &code[8..]).to_lowercase();
            assert_eq!(normalize(&typed).as_deref(), Some(code.as_str()));
            let mut wrong = code.clone().into_bytes();
            wrong[3] = if wrong[3] == b'7' { b'8' } else { b'7' };
            assert_eq!(normalize(std::str::from_utf8(&wrong).unwrap()), None);
            let mut swapped = code.clone().into_bytes();
            if swapped[4] != swapped[5] {
                swapped.swap(4, 5);
                assert_eq!(normalize(std::str::from_utf8(&swapped).unwrap()), None);
            }
        }
        assert_eq!(normalize("short"), None);
    }
}
