//! Offers: a merchant opens products (by SPU or category) to agencies on the plaza, at a
//! service rate it pays the agency that carries them, to every agency or to named ones,
//! inside an optional time window.

use super::{MAX_RATE_PPM, check_ids};
use crate::domain::tenants::{Tenant, TenantKind};
use crate::domain::{Error, Page, Plaza, Position, Principal, Role, check_id};
use crate::executor::cart::CartLine;
use crate::store::{Table, key, prefix};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOffer {
    /// Products opened by SPU (a line's `spu`, or its `sku` when it has none).
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub spus: Vec<String>,
    /// Products opened by category.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub categories: Vec<String>,
    /// What the merchant pays the carrying agency, of each carried line's payable (parts
    /// per million, at most 900,000).
    #[schema(maximum = 900_000)]
    pub service_rate_ppm: u32,
    /// The agencies it is opened to; empty: every agency.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub agencies: Vec<String>,
    /// Opened from this time (ms since the Unix epoch).
    #[serde(default)]
    pub from_ms: Option<i64>,
    /// Opened until this time.
    #[serde(default)]
    pub until_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Offer {
    pub merchant: String,
    pub id: String,
    #[serde(flatten)]
    pub terms: OfferTerms,
    pub changed_ms: i64,
}

/// An offer's terms as saved (the body of its last save).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OfferTerms {
    pub spus: Vec<String>,
    pub categories: Vec<String>,
    pub service_rate_ppm: u32,
    pub agencies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<i64>,
}

impl Offer {
    /// Whether `agency` may carry it at `at_ms`.
    pub fn open_to(&self, agency: &str, at_ms: i64) -> bool {
        let t = &self.terms;
        (t.agencies.is_empty() || t.agencies.iter().any(|a| a == agency))
            && t.from_ms.is_none_or(|f| f <= at_ms)
            && t.until_ms.is_none_or(|u| at_ms < u)
    }

    /// Whether it is visible to `agency` at all (window aside).
    pub fn visible_to(&self, agency: &str) -> bool {
        self.terms.agencies.is_empty() || self.terms.agencies.iter().any(|a| a == agency)
    }

    /// Whether it covers a line of a cart its merchant quotes.
    pub fn covers(&self, line: &CartLine) -> bool {
        let spu = line.spu.as_deref().unwrap_or(&line.sku);
        self.terms.spus.iter().any(|s| s == spu)
            || line
                .categories
                .iter()
                .any(|c| self.terms.categories.contains(c))
    }
}

fn offer_key(merchant: &str, id: &str) -> Vec<u8> {
    key(&[merchant.as_bytes(), id.as_bytes()])
}

impl Plaza {
    /// Open (or change) the calling merchant's offer `id`.
    pub async fn save_offer(
        &self,
        who: &Principal,
        id: &str,
        new: NewOffer,
    ) -> Result<Offer, Error> {
        let merchant = who.tenant(&[Role::Admin], "open products to agencies")?;
        self.tenant_of_kind(merchant, TenantKind::Merchant, "open products to agencies")?;
        check_id("offer", id)?;
        if new.spus.is_empty() && new.categories.is_empty() {
            return Err(Error::Invalid {
                field: "spus".into(),
                message: "name at least one SPU or category".into(),
            });
        }
        for (field, texts) in [("spus", &new.spus), ("categories", &new.categories)] {
            if let Some(bad) = texts.iter().find(|t| !crate::shape::is_text(t)) {
                return Err(Error::Invalid {
                    field: field.into(),
                    message: format!("{bad:?} is not 1 to 128 characters"),
                });
            }
        }
        check_ids("agencies", &new.agencies)?;
        if new.service_rate_ppm > MAX_RATE_PPM {
            return Err(Error::unprocessable(
                "rate_over_cap",
                "service_rate_ppm",
                format!("at most {MAX_RATE_PPM} ppm (90 %)"),
            ));
        }
        if let (Some(from), Some(until)) = (new.from_ms, new.until_ms)
            && until <= from
        {
            return Err(Error::Invalid {
                field: "until_ms".into(),
                message: "must be after from_ms".into(),
            });
        }
        let offer = Offer {
            merchant: merchant.to_owned(),
            id: id.to_owned(),
            terms: OfferTerms {
                spus: new.spus,
                categories: new.categories,
                service_rate_ppm: new.service_rate_ppm,
                agencies: new.agencies,
                from_ms: new.from_ms,
                until_ms: new.until_ms,
            },
            changed_ms: self.now_ms(),
        };
        self.store
            .put(Table::Offers, &offer_key(merchant, id), &offer)?;
        self.flush().await?;
        Ok(offer)
    }

    /// The calling merchant's offers, by id.
    pub fn list_offers(&self, who: &Principal, at: &Position) -> Result<Page<Offer>, Error> {
        let merchant = who.tenant(&[Role::Admin], "read offers")?;
        let range = prefix(&[merchant.as_bytes()]);
        Ok(crate::domain::page::scan(
            &self.store,
            Table::Offers,
            &range,
            at,
        )?)
    }

    /// Offer `id` of `merchant`, if stored.
    pub(crate) fn offer(&self, merchant: &str, id: &str) -> Result<Option<Offer>, Error> {
        Ok(self.store.get(Table::Offers, &offer_key(merchant, id))?)
    }

    /// The tenant `id`, which must be of `kind` for `action`.
    pub(crate) fn tenant_of_kind(
        &self,
        id: &str,
        kind: TenantKind,
        action: &'static str,
    ) -> Result<Tenant, Error> {
        let tenant = self
            .store
            .get::<Tenant>(Table::Tenants, id.as_bytes())?
            .ok_or_else(|| Error::not_found("tenant", id))?;
        if tenant.kind != kind {
            let (kind, wanted) = match kind {
                TenantKind::Merchant => ("not_a_merchant", "a merchant"),
                TenantKind::Agency => ("not_an_agency", "an agency"),
                TenantKind::Provider => ("not_a_provider", "a service provider"),
            };
            return Err(Error::conflict(
                kind,
                format!("only {wanted} may {action}; {id} is not"),
            ));
        }
        Ok(tenant)
    }
}
