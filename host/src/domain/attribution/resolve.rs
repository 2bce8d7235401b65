//! Resolving a cart's chain from the buyer's touches.
//!
//! - Only touches at or before the cart's time and inside the lock window count; under
//!   the product scope, only touches on a product in the cart or on the whole store.
//! - A touch by the buyer itself never counts: nobody earns on their own purchase.
//! - Only a promoter active now is credited; a suspended or unbound one's touches are
//!   passed over (and the next touch in order decides).
//! - First touch takes the earliest counting touch, last touch the latest; ties in time
//!   go by touch id, so the answer never depends on the order touches arrived in.
//! - The winner fills `promoter` (or `creator` or `livestreamer`, by its kind), its agency
//!   fills `promoter_agency`, its link `share_link`. The carrying and helper agencies come from
//!   the plaza: the promoter agency's own pool covering the cart (it carries), else a
//!   pool it joined (that pool's carrier carries, it helps). A livestreamer the touches
//!   did not credit is kept as the cart claims it (unverified).

use super::touches::Touch;
use super::{AttributionSettings, LockScope, TouchModel};
use crate::domain::Error;
use crate::domain::market::Carry;
use crate::domain::promoters::{BindingState, PartyKind, Promoter};
use crate::executor::cart::Attribution;
use crate::executor::{
    AttributionReport, AttributionSource, Cart, Claim, ClaimOutcome, Uncredited,
};
use std::collections::BTreeSet;

/// The cart's attribution as sent, less any party that is the buyer.
pub(super) fn trusted(cart: &Cart) -> AttributionReport {
    let mut resolved = cart.attribution.clone();
    let buyer = cart.buyer.id.as_str();
    let mut own = false;
    for (_, party) in parties_mut(&mut resolved) {
        if party.as_deref() == Some(buyer) {
            *party = None;
            own = true;
        }
    }
    let credited = resolved.promoter.is_some() || resolved.creator.is_some();
    AttributionReport {
        source: AttributionSource::Checkout,
        claims: claims(&cart.attribution, &resolved, ClaimOutcome::Unverified),
        resolved,
        touch: None,
        pool: None,
        locked_until_ms: None,
        uncredited: (own && !credited).then_some(Uncredited::SelfPurchase),
    }
}

/// The touch that credits a buyer, with its active party, if any; and whether a touch by
/// the buyer itself was passed over.
pub(crate) struct Won<'t> {
    pub winner: Option<(&'t Touch, Promoter)>,
    pub own: bool,
}

/// The touch that credits `buyer` at `now_ms` among `touches` (theirs, oldest first) that
/// are inside the window and `count`, by the merchant's model.
pub(crate) fn winner<'t>(
    settings: &AttributionSettings,
    touches: &'t [Touch],
    buyer: &str,
    now_ms: i64,
    count: impl Fn(&Touch) -> bool,
    promoter: impl Fn(&str) -> Result<Option<Promoter>, Error>,
) -> Result<Won<'t>, Error> {
    let from = now_ms.saturating_sub(settings.lock_ms());
    let ordered: Box<dyn Iterator<Item = &Touch>> = match settings.model {
        TouchModel::FirstTouch => Box::new(touches.iter()),
        TouchModel::LastTouch => Box::new(touches.iter().rev()),
    };
    let mut own = false;
    for t in ordered.filter(|t| (from..=now_ms).contains(&t.at_ms) && count(t)) {
        if t.promoter == buyer {
            own = true;
            continue;
        }
        if let Some(p) = promoter(&t.promoter)?
            && p.state == BindingState::Active
        {
            return Ok(Won {
                winner: Some((t, p)),
                own,
            });
        }
    }
    Ok(Won { winner: None, own })
}

/// The chain from `touches` (the buyer's, oldest first, inside the window).
pub(super) fn from_touches(
    cart: &Cart,
    settings: &AttributionSettings,
    touches: &[Touch],
    promoter: impl Fn(&str) -> Result<Option<Promoter>, Error>,
    carry: impl Fn(&str) -> Result<Option<Carry>, Error>,
) -> Result<(AttributionReport, Option<Carry>), Error> {
    let products: BTreeSet<&str> = cart
        .lines
        .iter()
        .map(|l| l.spu.as_deref().unwrap_or(&l.sku))
        .collect();
    let counts = |t: &Touch| match (settings.scope, &t.product) {
        (LockScope::Store, _) | (LockScope::Product, None) => true,
        (LockScope::Product, Some(p)) => products.contains(p.as_str()),
    };
    let Won { winner, own } = winner(
        settings,
        touches,
        &cart.buyer.id,
        cart.now_ms,
        counts,
        &promoter,
    )?;
    let mut resolved = Attribution {
        livestreamer: cart
            .attribution
            .livestreamer
            .clone()
            .filter(|l| *l != cart.buyer.id),
        ..Attribution::default()
    };
    let mut carried = None;
    let (touch, locked_until_ms, uncredited) = match &winner {
        Some((t, p)) => {
            match p.kind {
                PartyKind::Promoter => resolved.promoter = Some(p.id.clone()),
                PartyKind::Creator => resolved.creator = Some(p.id.clone()),
                PartyKind::Livestreamer => resolved.livestreamer = Some(p.id.clone()),
            }
            if p.agency != cart.buyer.id {
                resolved.promoter_agency = Some(p.agency.clone());
                carried = carry(&p.agency)?;
            }
            if let Some(c) = &carried {
                resolved.carrying_agency = Some(c.carrier().to_owned());
                resolved.helper_agency = c.helper.clone();
            }
            resolved.share_link = t.share_link.clone();
            let until = t.at_ms.saturating_add(settings.lock_ms());
            (Some(t.touch_id.clone()), Some(until), None)
        }
        None if own => (None, None, Some(Uncredited::SelfPurchase)),
        None => (None, None, Some(Uncredited::NoTouchInWindow)),
    };
    let mut claimed = claims(&cart.attribution, &resolved, ClaimOutcome::Confirmed);
    // A livestreamer the touches did not decide is the cart's word alone.
    let live = matches!(&winner, Some((_, p)) if p.kind == PartyKind::Livestreamer);
    for c in &mut claimed {
        if c.field == "livestreamer" && c.outcome == ClaimOutcome::Confirmed && !live {
            c.outcome = ClaimOutcome::Unverified;
        }
    }
    let pool = carried
        .as_ref()
        .map(|c| format!("{}/{}", c.carrier(), c.pool.id));
    let report = AttributionReport {
        source: AttributionSource::Touches,
        resolved,
        touch,
        pool,
        locked_until_ms,
        uncredited,
        claims: claimed,
    };
    Ok((report, carried))
}

/// Each claimed party against the resolved one: the same is `same`, another is
/// overridden, none is ignored.
fn claims(claimed: &Attribution, resolved: &Attribution, same: ClaimOutcome) -> Vec<Claim> {
    parties(claimed)
        .into_iter()
        .zip(parties(resolved))
        .filter_map(|((field, claim), (_, got))| {
            let claim = claim.as_ref()?;
            let outcome = match got {
                Some(got) if got == claim => same,
                Some(_) => ClaimOutcome::Overridden,
                None => ClaimOutcome::Ignored,
            };
            Some(Claim {
                field: field.into(),
                claimed: claim.clone(),
                outcome,
            })
        })
        .collect()
}

fn parties(a: &Attribution) -> [(&'static str, &Option<String>); 7] {
    [
        ("promoter", &a.promoter),
        ("promoter_agency", &a.promoter_agency),
        ("creator", &a.creator),
        ("livestreamer", &a.livestreamer),
        ("carrying_agency", &a.carrying_agency),
        ("helper_agency", &a.helper_agency),
        ("share_link", &a.share_link),
    ]
}

fn parties_mut(a: &mut Attribution) -> [(&'static str, &mut Option<String>); 6] {
    [
        ("promoter", &mut a.promoter),
        ("promoter_agency", &mut a.promoter_agency),
        ("creator", &mut a.creator),
        ("livestreamer", &mut a.livestreamer),
        ("carrying_agency", &mut a.carrying_agency),
        ("helper_agency", &mut a.helper_agency),
    ]
}
