//! The 二级团 plaza: merchants open products to agencies ([`offers`]), agencies publish
//! pools of them and helper agencies join ([`pools`]), and the carrying chain of a cart
//! is found from those memberships ([`Carry`]).

pub mod affiliations;
pub mod offers;
pub mod orders;
pub mod pools;
pub mod report;

use super::{Error, Page, Plaza, Position, check_id};
use crate::executor::Cart;
use crate::store::{Store, Table, prefix};
use offers::Offer;
use pools::ProductPool;
use serde::de::DeserializeOwned;

/// The step name of the service-rate share an offer pays (`offer:<id>`): a line with one
/// is carried.
pub const OFFER_STEP: &str = "offer:";
/// The step name of a pool's helper rate in a quote's commission (`pool:<carrier>/<pool>`).
pub const POOL_STEP: &str = "pool:";

/// The lines of `order` its plaza pool carried.
pub fn carried_lines(order: &crate::domain::Order) -> Vec<&str> {
    order
        .commissions
        .iter()
        .filter(|c| c.step.starts_with(OFFER_STEP))
        .map(|c| c.line.as_str())
        .collect()
}

/// The most any rate on the plaza may be: 90 % (parts per million).
pub const MAX_RATE_PPM: u32 = 900_000;

fn check_ids(field: &str, ids: &[String]) -> Result<(), Error> {
    ids.iter().try_for_each(|id| check_id(field, id))
}

/// A page of the records under `range` that `keep` keeps, walking the table a chunk at a
/// time from the position.
fn filtered_page<T: DeserializeOwned>(
    store: &Store,
    table: Table,
    range: &[u8],
    at: &Position,
    keep: impl Fn(&T) -> bool,
) -> Result<Page<T>, Error> {
    const CHUNK: usize = 512;
    let mut items = Vec::new();
    let mut after = at.after.clone();
    loop {
        let chunk = store.scan_entries::<T>(table, range, after.as_deref(), CHUNK)?;
        let last = chunk.len() < CHUNK;
        for (k, v) in chunk {
            after = Some(k.clone());
            if keep(&v) {
                items.push((k, v));
                if items.len() > at.limit {
                    return Ok(super::page::of(items, at));
                }
            }
        }
        if last {
            return Ok(super::page::of(items, at));
        }
    }
}

/// Who carries a cart's goods to the promoter's agency: the pool, its carrier, the
/// helper agency when the goods came one hop through the pool, and the offers of the
/// pool that cover the cart's lines at the cart's time.
#[derive(Clone, Debug)]
pub struct Carry {
    pub pool: ProductPool,
    pub helper: Option<String>,
    /// The helper's plan for the pool's goods (its membership's).
    pub helper_plan: Option<String>,
    pub offers: Vec<Offer>,
}

impl Carry {
    pub fn carrier(&self) -> &str {
        &self.pool.carrier
    }

    /// The offer that covers line `i` of `cart`, if any (the first by merchant and id).
    pub fn offer_for(&self, cart: &Cart, i: usize) -> Option<&Offer> {
        self.offers.iter().find(|o| o.covers(&cart.lines[i]))
    }
}

impl Plaza {
    /// The carrying chain for `agency`'s promoter on `merchant`'s `cart`: the agency's own
    /// pool when it carries the goods itself, else a pool it joined (its carrier then
    /// carries, and it helps), else the same for an agency it is affiliated with. The
    /// first by key that covers a line of the cart with an offer still opened to the
    /// carrier at the cart's time; deterministic.
    pub(crate) fn carry(
        &self,
        merchant: &str,
        agency: &str,
        cart: &Cart,
    ) -> Result<Option<Carry>, Error> {
        if let Some(carry) = self.carry_own(merchant, agency, cart)? {
            return Ok(Some(carry));
        }
        // Else the goods of an agency it is affiliated with (one hop: that agency's own
        // pools and memberships, never its affiliations).
        for upstream in self.upstreams(agency)? {
            if let Some(carry) = self.carry_own(merchant, &upstream, cart)? {
                return Ok(Some(carry));
            }
        }
        Ok(None)
    }

    /// [`Plaza::carry`] through `agency`'s own pools and memberships alone.
    fn carry_own(&self, merchant: &str, agency: &str, cart: &Cart) -> Result<Option<Carry>, Error> {
        let own: Vec<ProductPool> = self
            .store
            .scan(Table::Pools, &prefix(&[agency.as_bytes()]))?;
        for pool in own {
            if let Some(carry) = self.covering(merchant, pool, None, None, cart)? {
                return Ok(Some(carry));
            }
        }
        let joined: Vec<pools::Membership> = self
            .store
            .scan(Table::Memberships, &prefix(&[agency.as_bytes()]))?;
        for m in joined {
            let pool = self
                .pool(&m.carrier, &m.pool)?
                .filter(|p| p.visible_to(agency));
            if let Some(pool) = pool
                && let Some(carry) = self.covering(
                    merchant,
                    pool,
                    Some(agency.to_owned()),
                    m.plan.clone(),
                    cart,
                )?
            {
                return Ok(Some(carry));
            }
        }
        Ok(None)
    }

    fn covering(
        &self,
        merchant: &str,
        pool: ProductPool,
        helper: Option<String>,
        helper_plan: Option<String>,
        cart: &Cart,
    ) -> Result<Option<Carry>, Error> {
        let mut offers = Vec::new();
        for item in pool.items.iter().filter(|i| i.merchant == merchant) {
            if let Some(o) = self.offer(&item.merchant, &item.offer)?
                && o.open_to(&pool.carrier, cart.now_ms)
                && cart.lines.iter().any(|l| o.covers(l))
            {
                offers.push(o);
            }
        }
        Ok((!offers.is_empty()).then_some(Carry {
            pool,
            helper,
            helper_plan,
            offers,
        }))
    }
}
