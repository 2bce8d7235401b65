//! Touches: a buyer opened a promoter's share link. Recorded by the merchant's checkout,
//! idempotent by touch id, kept per buyer in time order for resolution.

use super::{AttributionSettings, TouchModel};
use crate::domain::commit::CHECKOUT as CHECKOUT_ROLES;
use crate::domain::promoters::BindingState;
use crate::domain::{Error, Plaza, Principal, check_id};
use crate::executor::cart::Channel;
use crate::store::{Store, StoreError, Table, TxError, TxExt, key, time_part};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// How far ahead of the host's clock a touch's time may be (clock skew between systems).
pub const FUTURE_SKEW_MS: i64 = 5 * 60 * 1000;
/// Touches of one buyer read per resolution at most: the lock window's earliest ones
/// (first touch) or latest (last touch) decide, so a flood of touches costs no more.
const MAX_SCANNED: usize = 1000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTouch {
    /// The checkout's id for this touch: recording it again is answered with the first.
    #[schema(schema_with = crate::shape::id_schema)]
    pub touch_id: String,
    /// The buyer who opened the link.
    #[schema(schema_with = crate::shape::text_schema)]
    pub buyer: String,
    /// The registered, active promoter or creator whose link it was.
    #[schema(schema_with = crate::shape::id_schema)]
    pub promoter: String,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 128)]
    pub share_link: Option<String>,
    #[serde(default)]
    pub channel: Option<Channel>,
    /// The product (SPU) the link opened; absent for a link to the store.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 128)]
    pub product: Option<String>,
    /// When the buyer opened it (ms since the Unix epoch; not in the future).
    pub at_ms: i64,
}

/// A stored touch: what was recorded, and when Plaza stored it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Touch {
    pub touch_id: String,
    pub buyer: String,
    pub promoter: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    pub at_ms: i64,
    /// When Plaza stored it (host clock).
    pub recorded_ms: i64,
}

impl Touch {
    pub fn of(new: NewTouch, recorded_ms: i64) -> Touch {
        Touch {
            touch_id: new.touch_id,
            buyer: new.buyer,
            promoter: new.promoter,
            share_link: new.share_link,
            channel: new.channel,
            product: new.product,
            at_ms: new.at_ms,
            recorded_ms,
        }
    }

    /// Whether `new` records the same touch (its time of recording aside).
    fn same_as(&self, new: &NewTouch) -> bool {
        *self == Touch::of(new.clone(), self.recorded_ms)
    }
}

/// The per-buyer index's prefix: the buyer id hashed, so that no id can reach into
/// another buyer's range.
fn buyer_prefix(tenant: &str, buyer: &str) -> Vec<u8> {
    let hash: [u8; 32] = Sha256::digest(buyer.as_bytes()).into();
    let mut k = key(&[tenant.as_bytes(), &hash]);
    k.push(0);
    k
}

fn buyer_key(tenant: &str, t: &Touch) -> Vec<u8> {
    let mut k = buyer_prefix(tenant, &t.buyer);
    k.extend_from_slice(&time_part(t.at_ms));
    k.push(0);
    k.extend_from_slice(t.touch_id.as_bytes());
    k
}

/// Write `touch` and its index entry in a transaction.
pub(crate) fn put(
    tx: &mut dyn crate::store::Tx,
    tenant: &str,
    touch: &Touch,
) -> Result<(), TxError> {
    let id = key(&[tenant.as_bytes(), touch.touch_id.as_bytes()]);
    tx.put_json(Table::Touches, &id, touch)?;
    tx.put_json(Table::BuyerTouches, &buyer_key(tenant, touch), touch)
}

/// `buyer`'s touches at or before `now_ms` and inside the lock window, oldest first (at
/// most [`MAX_SCANNED`]: the earliest for first touch, the latest for last).
pub(crate) fn in_window(
    store: &Store,
    tenant: &str,
    buyer: &str,
    now_ms: i64,
    settings: &AttributionSettings,
) -> Result<Vec<Touch>, StoreError> {
    let from = now_ms.saturating_sub(settings.lock_ms());
    let range = buyer_prefix(tenant, buyer);
    let mut after = range.clone();
    after.extend_from_slice(&time_part(from.saturating_sub(1)));
    after.push(0xff);
    let mut found = std::collections::VecDeque::new();
    let mut cursor = Some(after);
    while let Some(at) = cursor.take() {
        let page = store.scan_entries::<Touch>(Table::BuyerTouches, &range, Some(&at), 256)?;
        let full = page.len() == 256;
        for (k, t) in page {
            if t.at_ms > now_ms {
                return Ok(found.into());
            }
            found.push_back(t);
            if found.len() > MAX_SCANNED {
                match settings.model {
                    TouchModel::FirstTouch => return Ok(found.into()),
                    TouchModel::LastTouch => drop(found.pop_front()),
                }
            }
            cursor = Some(k);
        }
        if !full {
            cursor = None;
        }
    }
    Ok(found.into())
}

impl Plaza {
    /// Record a touch (the merchant's checkout or admin). Returns it and whether this call
    /// stored it.
    pub async fn record_touch(
        &self,
        who: &Principal,
        new: NewTouch,
    ) -> Result<(Touch, bool), Error> {
        let tenant = who.tenant(CHECKOUT_ROLES, "record touches")?.to_owned();
        check_id("touch_id", &new.touch_id)?;
        if new.touch_id.starts_with(super::ORDER_TOUCH_PREFIX) {
            return Err(Error::Invalid {
                field: "touch_id".into(),
                message: format!(
                    "ids starting {:?} are the host's own (an order renewing a lock)",
                    super::ORDER_TOUCH_PREFIX
                ),
            });
        }
        for (field, text) in [
            ("buyer", Some(&new.buyer)),
            ("share_link", new.share_link.as_ref()),
            ("product", new.product.as_ref()),
        ] {
            if let Some(text) = text
                && !crate::shape::is_text(text)
            {
                return Err(Error::Invalid {
                    field: field.into(),
                    message: format!("must be 1 to {} characters", crate::shape::MAX_TEXT_CHARS),
                });
            }
        }
        let now = self.now_ms();
        if !(0..=now.saturating_add(FUTURE_SKEW_MS)).contains(&new.at_ms) {
            return Err(Error::Invalid {
                field: "at_ms".into(),
                message: format!("must be 0 to the host's time ({now}) plus 5 minutes"),
            });
        }
        match self.promoter_record(&new.promoter)? {
            Some(p) if p.state == BindingState::Active => {}
            Some(_) => {
                return Err(Error::unprocessable(
                    "promoter_not_active",
                    "promoter",
                    format!("{} is not an active promoter", new.promoter),
                ));
            }
            None => {
                return Err(Error::unprocessable(
                    "unknown_promoter",
                    "promoter",
                    format!("no promoter {} is registered", new.promoter),
                ));
            }
        }
        let id = key(&[tenant.as_bytes(), new.touch_id.as_bytes()]);
        let touch = Touch::of(new.clone(), now);
        let mut earlier = None;
        self.store
            .transact(&[Table::Touches, Table::BuyerTouches], |tx| {
                earlier = tx.get_json::<Touch>(Table::Touches, &id)?;
                if earlier.is_some() {
                    return Ok(());
                }
                put(tx, &tenant, &touch)
            })
            .map_err(Error::from_tx)?;
        if let Some(earlier) = earlier {
            if !earlier.same_as(&new) {
                return Err(Error::conflict(
                    "touch_id_reused",
                    format!("touch {} was recorded with another body", new.touch_id),
                ));
            }
            return Ok((earlier, false));
        }
        self.flush().await?;
        Ok((touch, true))
    }

    pub fn touch(&self, who: &Principal, id: &str) -> Result<Touch, Error> {
        let tenant = who.tenant(CHECKOUT_ROLES, "read touches")?;
        self.store
            .get::<Touch>(Table::Touches, &key(&[tenant.as_bytes(), id.as_bytes()]))?
            .ok_or_else(|| Error::not_found("touch", id))
    }

    /// A buyer's touches in time order.
    pub fn buyer_touches(
        &self,
        who: &Principal,
        buyer: &str,
        at: &crate::domain::Position,
    ) -> Result<crate::domain::Page<Touch>, Error> {
        let tenant = who.tenant(CHECKOUT_ROLES, "read touches")?;
        // A path segment: an id (a buyer whose id has spaces or '/' is read through the
        // quotes and orders that name it).
        check_id("buyer", buyer)?;
        let range = buyer_prefix(tenant, buyer);
        Ok(crate::domain::page::scan(
            &self.store,
            Table::BuyerTouches,
            &range,
            at,
        )?)
    }
}
