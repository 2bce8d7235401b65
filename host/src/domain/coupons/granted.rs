//! Claims the host grants as rewards (an incentive event's coupon reward), inside the
//! transaction that earned them, and takes back when the reward is clawed back.
//!
//! A granted claim takes a unit of the template's stock like any claim, but no buyer
//! limit or binding applies: the owner promised it to the participant. It lands in the
//! participant's wallet under a host claim id (`incentive:…`, which checkouts may not
//! use). Revoking an unused claim removes it, gives its unit back to the stock and marks
//! it used, so that an order that quoted it before the revocation cannot commit it; a
//! claim an order used stays with its holder.

use super::claims::Claim;
use super::redeem::use_key;
use super::templates::Template;
use super::{claim_key, template_key, wallet_key};
use crate::domain::{Error, Plaza};
use crate::store::{Table, Tx, TxError, TxExt};

/// Claim ids starting with this are the host's (incentive rewards).
pub const GRANT_PREFIX: &str = "incentive:";

/// The tables a grant or revocation writes (with `Counters`, which a revocation reads and
/// writes and every transaction that claws back covers already).
pub(crate) const TABLES: [Table; 3] = [
    Table::CouponTemplates,
    Table::CouponClaims,
    Table::CouponWallets,
];

impl Plaza {
    /// Whether `owner`'s template `id` may be granted as a reward, or why not.
    pub(crate) fn grantable(&self, owner: &str, id: &str) -> Result<(), Error> {
        let t = self.template_of(owner, id)?;
        if !t.live_rooms.is_empty() {
            return Err(Error::Invalid {
                field: "template".into(),
                message: "a 主播券 template's stock belongs to its live rooms".into(),
            });
        }
        Ok(())
    }
}

/// Grant claim `id` of `owner`'s `template` to `holder` at `now`; false (nothing written)
/// when the template is gone, no longer open or out of stock.
pub(crate) fn grant(
    tx: &mut dyn Tx,
    (owner, template): (&str, &str),
    holder: &str,
    id: &str,
    now: i64,
) -> Result<bool, TxError> {
    let tkey = template_key(owner, template);
    let Some(mut t) = tx.get_json::<Template>(Table::CouponTemplates, &tkey)? else {
        return Ok(false);
    };
    if t.open_at(now).is_err() || t.left() == 0 || !t.live_rooms.is_empty() {
        return Ok(false);
    }
    let (valid_from_ms, valid_until_ms) = t.valid_for_claim_at(now);
    let claim = Claim {
        id: id.to_owned(),
        owner: owner.to_owned(),
        template: template.to_owned(),
        buyer: holder.to_owned(),
        code: t.code.clone(),
        offline_code: None,
        live_room: None,
        claimed_ms: now,
        valid_from_ms,
        valid_until_ms,
    };
    t.issued += 1;
    t.claimed += 1;
    tx.put_json(Table::CouponTemplates, &tkey, &t)?;
    tx.put_json(Table::CouponClaims, &claim_key(owner, id), &claim)?;
    tx.put_json(Table::CouponWallets, &wallet_key(owner, holder, id), &id)?;
    Ok(true)
}

/// Take back granted claim `id` of `owner`: true when it was unused (removed, its unit
/// back in stock), false when an order used it (it stays).
pub(crate) fn revoke(tx: &mut dyn Tx, owner: &str, id: &str) -> Result<bool, TxError> {
    let used = use_key(owner, id);
    if tx.counter(&used)? > 0 {
        return Ok(false);
    }
    let ckey = claim_key(owner, id);
    let Some(claim) = tx.get_json::<Claim>(Table::CouponClaims, &ckey)? else {
        return Ok(false);
    };
    // Marked used for good: an order that quoted it before now finds it taken.
    tx.set_counter(&used, 1)?;
    tx.remove(Table::CouponClaims, &ckey)?;
    tx.remove(Table::CouponWallets, &wallet_key(owner, &claim.buyer, id))?;
    let tkey = template_key(owner, &claim.template);
    if let Some(mut t) = tx.get_json::<Template>(Table::CouponTemplates, &tkey)? {
        t.issued = t.issued.saturating_sub(1);
        t.claimed = t.claimed.saturating_sub(1);
        tx.put_json(Table::CouponTemplates, &tkey, &t)?;
    }
    Ok(true)
}
