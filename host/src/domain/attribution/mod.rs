//! Attribution, the host's job: which promoter (and agency) brought a sale. A merchant's
//! checkout records touches (a buyer opened a promoter's share link); at quote and commit
//! the host resolves the chain from the stored touches, the promoters' bindings and the
//! cart's time, under the merchant's settings, and reports what became of each party the
//! cart claimed. The rules are in `resolve.rs`.

pub(crate) mod resolve;
pub(crate) mod touches;

pub use touches::{NewTouch, Touch};

use super::tenants::{ANY_ROLE, Tenant};
use super::{Error, Plaza, Principal, Role};
use crate::executor::{AttributionReport, AttributionSource, Cart};
use crate::store::{Store, StoreError, Table, TxError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub(crate) const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Lock windows a merchant may choose, in days.
pub const LOCK_DAYS: (u32, u32) = (1, 365);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TouchModel {
    /// The earliest touch inside the window wins: a later promoter cannot take the buyer.
    #[default]
    FirstTouch,
    /// The latest touch inside the window wins.
    LastTouch,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LockScope {
    /// A touch on any product (or the store) locks the buyer for the whole store.
    #[default]
    Store,
    /// A touch on a product counts only for carts with that product (a store-wide touch
    /// still counts for every cart).
    Product,
}

/// A merchant's attribution settings (`/v1/settings/attribution`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AttributionSettings {
    pub source: AttributionSource,
    /// How long a touch locks the buyer to its promoter (days, 1 to 365; default 30).
    #[schema(minimum = 1, maximum = 365)]
    pub lock_days: u32,
    pub model: TouchModel,
    pub scope: LockScope,
    /// An order credited to a promoter renews the buyer's lock from the order's time.
    pub order_extends_lock: bool,
}

impl Default for AttributionSettings {
    fn default() -> Self {
        AttributionSettings {
            source: AttributionSource::Touches,
            lock_days: 30,
            model: TouchModel::FirstTouch,
            scope: LockScope::Store,
            order_extends_lock: false,
        }
    }
}

impl AttributionSettings {
    pub fn lock_ms(&self) -> i64 {
        i64::from(self.lock_days) * DAY_MS
    }
}

/// `tenant`'s attribution settings (the defaults until it saves its own).
pub(crate) fn settings_of(store: &Store, tenant: &str) -> Result<AttributionSettings, StoreError> {
    Ok(store
        .get::<Tenant>(Table::Tenants, tenant.as_bytes())?
        .map(|t| t.attribution)
        .unwrap_or_default())
}

/// A cart with its attribution resolved.
pub(super) struct Attributed {
    /// The cart as the plan should see it.
    pub cart: Cart,
    pub report: AttributionReport,
    /// The plaza pool carrying the goods, when the promoter's agency carries or helps.
    pub carry: Option<crate::domain::market::Carry>,
    /// The livestreamer whose live room the buyer is in, as the merchant's attribution
    /// source decides it: a winning touch of a livestreamer, or the checkout's word when
    /// the merchant trusts it. A livestreamer the cart names without a touch is not one.
    pub live_room: Option<String>,
    /// The touch an order of this cart writes to renew the buyer's lock, when the
    /// merchant's settings say orders extend it.
    pub extension: Option<Touch>,
}

/// Resolve `cart`'s attribution for `tenant`. Deterministic: the same cart, stored
/// touches and bindings give the same answer.
pub(super) fn attribute(plaza: &Plaza, tenant: &str, cart: Cart) -> Result<Attributed, Error> {
    attribute_with(plaza, tenant, &settings_of(&plaza.store, tenant)?, cart)
}

/// [`attribute`] under `settings`, the tenant's, already read.
pub(super) fn attribute_with(
    plaza: &Plaza,
    tenant: &str,
    settings: &AttributionSettings,
    mut cart: Cart,
) -> Result<Attributed, Error> {
    let (report, winner, carry) = match settings.source {
        AttributionSource::Checkout => (resolve::trusted(&cart), None, None),
        AttributionSource::Touches => {
            let found =
                touches::in_window(&plaza.store, tenant, &cart.buyer.id, cart.now_ms, settings)?;
            let (report, carry) = resolve::from_touches(
                &cart,
                settings,
                &found,
                |id| plaza.promoter_record(id),
                |agency| plaza.carry(tenant, agency, &cart),
            )?;
            let winner = report
                .touch
                .as_ref()
                .and_then(|id| found.into_iter().find(|t| t.touch_id == *id));
            (report, winner, carry)
        }
    };
    cart.attribution = report.resolved.clone();
    let live_room = match settings.source {
        AttributionSource::Checkout => report.resolved.livestreamer.clone(),
        AttributionSource::Touches => winner
            .as_ref()
            .map(|w| &w.promoter)
            .filter(|p| report.resolved.livestreamer.as_ref() == Some(*p))
            .cloned(),
    };
    let extension = winner
        .filter(|_| settings.order_extends_lock)
        .map(|won| Touch {
            touch_id: String::new(),
            buyer: cart.buyer.id.clone(),
            at_ms: cart.now_ms,
            ..won
        });
    Ok(Attributed {
        cart,
        report,
        carry,
        live_room,
        extension,
    })
}

/// The livestreamer whose live room `buyer` is in at `now_ms` for `tenant`: the party the
/// buyer's stored touches credit by the merchant's model (every touch counting, as for a
/// cart of the whole store), when it is a livestreamer. Decided by touches whatever the
/// merchant's attribution source.
pub(crate) fn live_room(
    plaza: &Plaza,
    tenant: &str,
    buyer: &str,
    now_ms: i64,
) -> Result<Option<String>, Error> {
    let settings = settings_of(&plaza.store, tenant)?;
    let found = touches::in_window(&plaza.store, tenant, buyer, now_ms, &settings)?;
    let won = resolve::winner(
        &settings,
        &found,
        buyer,
        now_ms,
        |_| true,
        |id| plaza.promoter_record(id),
    )?;
    Ok(won
        .winner
        .filter(|(_, p)| p.kind == crate::domain::promoters::PartyKind::Livestreamer)
        .map(|(_, p)| p.id))
}

/// The touch id an order's lock renewal is stored under (checkouts may not use it).
pub(super) fn extension_id(order: &str) -> String {
    format!("{ORDER_TOUCH_PREFIX}{order}")
}

/// Touch ids with this prefix are the host's own (lock renewals by orders).
pub const ORDER_TOUCH_PREFIX: &str = "order:";

/// Write an order's lock renewal inside the order's transaction.
pub(super) fn put_extension(
    tx: &mut dyn crate::store::Tx,
    tenant: &str,
    order: &str,
    mut touch: Touch,
    now: i64,
) -> Result<(), TxError> {
    touch.touch_id = extension_id(order);
    touch.recorded_ms = now;
    touches::put(tx, tenant, &touch)
}

impl Plaza {
    pub fn attribution_settings(&self, who: &Principal) -> Result<AttributionSettings, Error> {
        let tenant = who.tenant(ANY_ROLE, "read attribution settings")?;
        Ok(settings_of(&self.store, tenant)?)
    }

    /// Save the caller's attribution settings (its admin's). They apply to quotes and
    /// orders from now on; an order keeps the attribution it was committed with.
    pub async fn set_attribution_settings(
        &self,
        who: &Principal,
        settings: AttributionSettings,
    ) -> Result<AttributionSettings, Error> {
        let tenant = who.tenant(&[Role::Admin], "change attribution settings")?;
        let (least, most) = LOCK_DAYS;
        if !(least..=most).contains(&settings.lock_days) {
            return Err(Error::Invalid {
                field: "lock_days".into(),
                message: format!("must be {least} to {most}"),
            });
        }
        self.update_tenant(tenant, |t| t.attribution = settings)
            .await?;
        Ok(settings)
    }
}
