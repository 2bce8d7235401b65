//! Product pools (货盘) on the plaza: an agency carries merchants' opened products and
//! publishes them, with the rate it offers helper agencies, to every agency or to named
//! ones; a helper agency joins a pool and carries its goods one hop further, never more.

use super::offers::Offer;
use super::{MAX_RATE_PPM, check_ids, filtered_page};
use crate::domain::tenants::TenantKind;
use crate::domain::{Error, Page, Plaza, Position, Principal, Role, check_id};
use crate::store::{Table, TxError, TxExt, key, prefix};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Most items in one pool.
pub const MAX_POOL_ITEMS: usize = 200;

/// One merchant offer a pool carries.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolItem {
    #[schema(schema_with = crate::shape::id_schema)]
    pub merchant: String,
    #[schema(schema_with = crate::shape::id_schema)]
    pub offer: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPool {
    #[schema(schema_with = crate::shape::name_schema)]
    pub name: String,
    /// Offers opened to this agency (1 to 200).
    #[schema(min_items = 1, max_items = 200)]
    pub items: Vec<PoolItem>,
    /// What this agency passes to a helper agency, of what it received on each line
    /// (parts per million, at most 900,000).
    #[schema(maximum = 900_000)]
    pub helper_rate_ppm: u32,
    /// The agencies it is published to; empty: every agency.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub agencies: Vec<String>,
    /// This agency's plan for the goods of this pool (its own layer's commission).
    #[serde(default)]
    pub plan: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProductPool {
    /// The carrying agency that published it.
    pub carrier: String,
    pub id: String,
    pub name: String,
    pub items: Vec<PoolItem>,
    pub helper_rate_ppm: u32,
    pub agencies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// The merchants and categories of its items when it was saved (for discovery).
    pub merchants: Vec<String>,
    pub categories: Vec<String>,
    pub changed_ms: i64,
}

impl ProductPool {
    pub fn visible_to(&self, agency: &str) -> bool {
        self.carrier == agency
            || self.agencies.is_empty()
            || self.agencies.iter().any(|a| a == agency)
    }

    /// The pool as `agency` sees it: the carrier all of it; any other agency neither the
    /// carrier's own plan nor which other agencies it was published to (only that it was
    /// to this one).
    pub fn seen_by(mut self, agency: &str) -> ProductPool {
        if self.carrier != agency {
            self.plan = None;
            if !self.agencies.is_empty() {
                self.agencies = vec![agency.to_owned()];
            }
        }
        self
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinPool {
    /// The helper agency's plan for the goods of this pool (its own layer's commission).
    #[serde(default)]
    pub plan: Option<String>,
}

/// A helper agency's membership of a pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Membership {
    pub helper: String,
    pub carrier: String,
    pub pool: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    pub joined_ms: i64,
}

/// Filters of the plaza's pool listing.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PoolQuery {
    /// Pools with an item in this category.
    pub category: Option<String>,
    /// Pools with an item of this merchant.
    pub merchant: Option<String>,
    /// Pools offering helpers at least this rate (ppm, at most 900,000).
    #[param(minimum = 0, maximum = 900_000)]
    pub min_rate_ppm: Option<u32>,
    /// Pools whose name contains this text.
    pub text: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    #[param(pattern = "^([0-9a-f]{2}){1,1024}$")]
    pub after: Option<String>,
}

fn pool_key(carrier: &str, id: &str) -> Vec<u8> {
    key(&[carrier.as_bytes(), id.as_bytes()])
}

const AGENCY_ADMIN: &[Role] = &[Role::Admin];

impl Plaza {
    /// Publish (or change) the calling agency's pool `id`. Every item must be a merchant's
    /// offer opened to this agency now: goods received through another agency's pool
    /// cannot be published again (`second_hop`).
    pub async fn save_pool(
        &self,
        who: &Principal,
        id: &str,
        new: NewPool,
    ) -> Result<ProductPool, Error> {
        let carrier = who.tenant(AGENCY_ADMIN, "publish pools")?.to_owned();
        self.tenant_of_kind(&carrier, TenantKind::Agency, "publish pools")?;
        check_id("pool", id)?;
        if !crate::shape::is_name(&new.name) {
            return Err(Error::Invalid {
                field: "name".into(),
                message: "1 to 256 characters, at least one visible".into(),
            });
        }
        if new.items.is_empty() || new.items.len() > MAX_POOL_ITEMS {
            return Err(Error::Invalid {
                field: "items".into(),
                message: format!("1 to {MAX_POOL_ITEMS} offers"),
            });
        }
        check_ids("agencies", &new.agencies)?;
        if let Some(plan) = &new.plan {
            check_id("plan", plan)?;
        }
        if new.helper_rate_ppm > MAX_RATE_PPM {
            return Err(Error::unprocessable(
                "rate_over_cap",
                "helper_rate_ppm",
                format!("at most {MAX_RATE_PPM} ppm (90 %)"),
            ));
        }
        let now = self.now_ms();
        let mut items = new.items;
        items.sort();
        items.dedup();
        let mut merchants = Vec::new();
        let mut categories = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let field = format!("items[{i}]");
            let offer = self.offer(&item.merchant, &item.offer)?;
            match offer {
                Some(o) if o.open_to(&carrier, now) => {
                    merchants.push(o.merchant.clone());
                    categories.extend(o.terms.categories.iter().cloned());
                }
                _ if self.received_through_pool(&carrier, item)? => {
                    return Err(Error::unprocessable(
                        "second_hop",
                        field,
                        format!(
                            "{}'s offer {} reached {carrier} through another agency's pool; goods travel one hop at most",
                            item.merchant, item.offer
                        ),
                    ));
                }
                _ => {
                    return Err(Error::unprocessable(
                        "not_opened",
                        field,
                        format!(
                            "{}'s offer {} is not opened to {carrier}",
                            item.merchant, item.offer
                        ),
                    ));
                }
            }
        }
        merchants.sort();
        merchants.dedup();
        categories.sort();
        categories.dedup();
        let pool = ProductPool {
            carrier: carrier.clone(),
            id: id.to_owned(),
            name: new.name,
            items,
            helper_rate_ppm: new.helper_rate_ppm,
            agencies: new.agencies,
            plan: new.plan,
            merchants,
            categories,
            changed_ms: now,
        };
        self.store
            .put(Table::Pools, &pool_key(&carrier, id), &pool)?;
        self.flush().await?;
        Ok(pool)
    }

    /// Whether `agency` holds `item` only through a pool it joined.
    fn received_through_pool(&self, agency: &str, item: &PoolItem) -> Result<bool, Error> {
        for m in self.memberships_of(agency)? {
            if let Some(pool) = self.pool(&m.carrier, &m.pool)?
                && pool.items.contains(item)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// ProductPool `id` of `carrier`, if stored.
    pub(crate) fn pool(&self, carrier: &str, id: &str) -> Result<Option<ProductPool>, Error> {
        Ok(self.store.get(Table::Pools, &pool_key(carrier, id))?)
    }

    /// One pool, to an agency that may see it.
    pub fn plaza_pool(
        &self,
        who: &Principal,
        carrier: &str,
        id: &str,
    ) -> Result<ProductPool, Error> {
        let agency = who.tenant(AGENCY_ADMIN, "read pools")?;
        self.pool(carrier, id)?
            .filter(|p| p.visible_to(agency))
            .map(|p| p.seen_by(agency))
            .ok_or_else(|| Error::not_found("pool", format!("{carrier}/{id}")))
    }

    /// The pools on the plaza the caller may see (public ones, those published to it, its
    /// own), filtered, by carrier and id.
    pub fn plaza_pools(&self, who: &Principal, q: &PoolQuery) -> Result<Page<ProductPool>, Error> {
        let agency = who.tenant(AGENCY_ADMIN, "read pools")?;
        let at = crate::domain::page::position(q.limit, q.after.as_deref())?;
        if q.min_rate_ppm.is_some_and(|r| r > MAX_RATE_PPM) {
            return Err(Error::Invalid {
                field: "min_rate_ppm".into(),
                message: format!("at most {MAX_RATE_PPM}"),
            });
        }
        let text = q.text.as_deref().map(str::to_lowercase);
        let mut page = filtered_page(&self.store, Table::Pools, &[], &at, |p: &ProductPool| {
            p.visible_to(agency)
                && q.category.as_ref().is_none_or(|c| p.categories.contains(c))
                && q.merchant.as_ref().is_none_or(|m| p.merchants.contains(m))
                && q.min_rate_ppm.is_none_or(|r| p.helper_rate_ppm >= r)
                && text
                    .as_ref()
                    .is_none_or(|t| p.name.to_lowercase().contains(t.as_str()))
        })?;
        page.items = page.items.into_iter().map(|p| p.seen_by(agency)).collect();
        Ok(page)
    }

    /// The offers on the plaza the calling agency may carry (opened to every agency or to
    /// it), by merchant and id.
    pub fn plaza_offers(&self, who: &Principal, at: &Position) -> Result<Page<Offer>, Error> {
        let agency = who.tenant(AGENCY_ADMIN, "read offers")?;
        filtered_page(&self.store, Table::Offers, &[], at, |o: &Offer| {
            o.visible_to(agency)
        })
    }

    /// The calling agency joins `carrier`'s pool `id` as a helper.
    pub async fn join_pool(
        &self,
        who: &Principal,
        carrier: &str,
        id: &str,
        join: JoinPool,
    ) -> Result<(Membership, bool), Error> {
        let helper = who.tenant(AGENCY_ADMIN, "join pools")?.to_owned();
        self.tenant_of_kind(&helper, TenantKind::Agency, "join pools")?;
        let pool = self.plaza_pool(who, carrier, id)?;
        if pool.carrier == helper {
            return Err(Error::unprocessable(
                "own_pool",
                "pool",
                "an agency carries its own pool's goods already",
            ));
        }
        if let Some(plan) = &join.plan {
            check_id("plan", plan)?;
        }
        let membership = Membership {
            helper: helper.clone(),
            carrier: carrier.to_owned(),
            pool: id.to_owned(),
            plan: join.plan,
            joined_ms: self.now_ms(),
        };
        let mine = key(&[helper.as_bytes(), carrier.as_bytes(), id.as_bytes()]);
        let theirs = key(&[carrier.as_bytes(), id.as_bytes(), helper.as_bytes()]);
        let mut earlier = None;
        self.store
            .transact(&[Table::Memberships, Table::PoolMembers], |tx| {
                earlier = tx.get_json::<Membership>(Table::Memberships, &mine)?;
                if earlier.as_ref().is_some_and(|e| e.plan == membership.plan) {
                    return Ok(());
                }
                tx.put_json(Table::Memberships, &mine, &membership)?;
                tx.put_json(Table::PoolMembers, &theirs, &membership)
            })
            .map_err(Error::from_tx)?;
        self.flush().await?;
        match earlier {
            Some(e) if e.plan == membership.plan => Ok((e, false)),
            _ => Ok((membership, true)),
        }
    }

    /// The calling agency leaves `carrier`'s pool `id`.
    pub async fn leave_pool(&self, who: &Principal, carrier: &str, id: &str) -> Result<(), Error> {
        let helper = who.tenant(AGENCY_ADMIN, "leave pools")?.to_owned();
        let mine = key(&[helper.as_bytes(), carrier.as_bytes(), id.as_bytes()]);
        let theirs = key(&[carrier.as_bytes(), id.as_bytes(), helper.as_bytes()]);
        let mut found = false;
        self.store
            .transact(&[Table::Memberships, Table::PoolMembers], |tx| {
                found = tx.get(Table::Memberships, &mine)?.is_some();
                if !found {
                    return Err(TxError::Abort);
                }
                tx.remove(Table::Memberships, &mine)?;
                tx.remove(Table::PoolMembers, &theirs)
            })
            .map_err(|e| match e {
                TxError::Abort if !found => {
                    Error::not_found("membership", format!("{carrier}/{id}"))
                }
                e => Error::from_tx(e),
            })?;
        self.flush().await
    }

    /// The pools `agency` joined, by carrier and pool.
    pub(crate) fn memberships_of(&self, agency: &str) -> Result<Vec<Membership>, Error> {
        Ok(self
            .store
            .scan(Table::Memberships, &prefix(&[agency.as_bytes()]))?)
    }

    /// The calling agency's memberships (a page).
    pub fn list_memberships(
        &self,
        who: &Principal,
        at: &Position,
    ) -> Result<Page<Membership>, Error> {
        let helper = who.tenant(AGENCY_ADMIN, "read memberships")?;
        Ok(crate::domain::page::scan(
            &self.store,
            Table::Memberships,
            &prefix(&[helper.as_bytes()]),
            at,
        )?)
    }

    /// A pool's helper agencies (its carrier's).
    pub fn pool_members(
        &self,
        who: &Principal,
        id: &str,
        at: &Position,
    ) -> Result<Page<Membership>, Error> {
        let carrier = who.tenant(AGENCY_ADMIN, "read pool members")?;
        if self.pool(carrier, id)?.is_none() {
            return Err(Error::not_found("pool", id));
        }
        Ok(crate::domain::page::scan(
            &self.store,
            Table::PoolMembers,
            &prefix(&[carrier.as_bytes(), id.as_bytes()]),
            at,
        )?)
    }
}
