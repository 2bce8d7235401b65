//! Tenants (merchants, agencies and service providers), their API keys and roles, and authenticating a key.
//!
//! Keys are 32 random bytes shown once at creation; the store keeps only their sha256
//! (a key has full entropy, so a plain hash is enough and a lookup is one `get`).

use super::idempotency::{IdempotencyKey, Replay};
use super::order_settings::OrderSettings;
use super::page::{self, Page, Position};
use super::{Error, Plaza, check_id};
use crate::store::{Table, TxError, TxExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TenantKind {
    /// 商家: sells products, runs its own promotions.
    Merchant,
    /// 机构: carries others' products, composes plans for helpers and promoters.
    Agency,
    /// 服务商: authors plugins and plans, or runs the checkout, for the merchants and
    /// agencies that grant it access (`/v1/grants`).
    Provider,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub kind: TenantKind,
    pub created_ms: i64,
    /// Payment timeout and after-sale window (`/v1/settings/orders`).
    #[serde(default)]
    pub orders: OrderSettings,
    /// Where attribution comes from and how touches lock (`/v1/settings/attribution`).
    #[serde(default)]
    pub attribution: super::attribution::AttributionSettings,
    /// The member points program (`/v1/settings/points`).
    #[serde(default)]
    pub points: super::points::PointsSettings,
    /// Which quotes are kept for shadow runs (`/v1/settings/recording`).
    #[serde(default)]
    pub recording: super::recording::RecordingSettings,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    #[schema(schema_with = crate::shape::id_schema)]
    pub id: String,
    #[schema(schema_with = crate::shape::name_schema)]
    pub name: String,
    pub kind: TenantKind,
}

/// What a tenant's key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything in the tenant, including issuing keys.
    Admin,
    /// Plugins and plans; may quote.
    Author,
    /// The checkout system: quote, commit and manage orders.
    Checkout,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Author => "author",
            Role::Checkout => "checkout",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    pub role: Role,
    /// A label for people ("checkout-prod"), at most 128 characters.
    #[serde(default)]
    #[schema(schema_with = crate::shape::label_schema)]
    pub name: String,
}

/// A stored key: never the key itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyRecord {
    /// The first 12 hex digits of the key's hash: names the key without revealing it.
    pub id: String,
    pub tenant: String,
    pub role: Role,
    pub name: String,
    pub created_ms: i64,
}

/// A freshly issued key: the only time the secret is shown.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct IssuedKey {
    /// The secret, shown once; absent when this answers a retry (same Idempotency-Key) of
    /// an issue that already happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(flatten)]
    pub record: KeyRecord,
}

/// Who is calling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// The platform operator: manages tenants, sees no tenant's data.
    Operator,
    Member {
        tenant: String,
        role: Role,
    },
    /// A promoter, creator or agency reading what it earns, from every merchant.
    Beneficiary {
        id: String,
    },
}

impl Principal {
    /// The caller's tenant, if its role is one of `roles`.
    pub fn tenant(&self, roles: &[Role], action: &'static str) -> Result<&str, Error> {
        match self {
            Principal::Member { tenant, role } if roles.contains(role) => Ok(tenant),
            Principal::Member { role, .. } => Err(Error::Forbidden {
                role: role.as_str(),
                action,
            }),
            Principal::Operator => Err(Error::Forbidden {
                role: "operator",
                action,
            }),
            Principal::Beneficiary { .. } => Err(Error::Forbidden {
                role: "beneficiary",
                action,
            }),
        }
    }

    /// The operator, or an admin of `tenant` itself. Another tenant's key sees no such
    /// tenant.
    fn admin_of(&self, tenant: &str, action: &'static str) -> Result<(), Error> {
        match self {
            Principal::Member { tenant: own, .. } if own != tenant => {
                Err(Error::not_found("tenant", tenant))
            }
            Principal::Member { .. } | Principal::Beneficiary { .. } => {
                self.tenant(&[Role::Admin], action).map(|_| ())
            }
            Principal::Operator => Ok(()),
        }
    }

    pub(super) fn operator(&self, action: &'static str) -> Result<(), Error> {
        match self {
            Principal::Operator => Ok(()),
            _ => self.tenant(&[], action).map(|_| ()),
        }
    }
}

/// Every role of a tenant.
pub const ANY_ROLE: &[Role] = &[Role::Admin, Role::Author, Role::Checkout];

/// A new API key and its hash: 32 random bytes, shown once.
pub(super) fn new_secret() -> Result<(String, [u8; 32]), Error> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| Error::Internal(e.to_string()))?;
    let key = format!("pz_{}", hex::encode(secret));
    let hash = key_hash(&key);
    Ok((key, hash))
}

/// Who a key stands for (`GET /v1/me`): what a client shows once it signed in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Whoami {
    /// `operator`, `member` (a tenant's key) or `beneficiary`.
    pub kind: String,
    /// The tenant a member's key acts for (a provider's client, with `Plaza-Tenant`).
    pub tenant: Option<String>,
    pub tenant_name: Option<String>,
    pub tenant_kind: Option<TenantKind>,
    pub role: Option<Role>,
    /// The promoter, creator or agency a beneficiary key reads for.
    pub beneficiary: Option<String>,
}

/// sha256 of a key.
pub fn key_hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl Plaza {
    /// Change `tenant`'s stored record in one transaction and make it durable.
    pub(super) async fn update_tenant(
        &self,
        tenant: &str,
        mut change: impl FnMut(&mut Tenant),
    ) -> Result<(), Error> {
        let key = tenant.as_bytes();
        let mut missing = false;
        let outcome = self.store.transact(&[Table::Tenants], |tx| {
            let Some(mut record) = tx.get_json::<Tenant>(Table::Tenants, key)? else {
                missing = true;
                return Err(TxError::Abort);
            };
            change(&mut record);
            tx.put_json(Table::Tenants, key, &record)
        });
        match outcome {
            Ok(()) => {}
            Err(TxError::Abort) if missing => return Err(Error::not_found("tenant", tenant)),
            Err(e) => return Err(Error::from_tx(e)),
        }
        self.flush().await
    }

    /// The principal a bearer key stands for.
    pub fn authenticate(&self, key: &str) -> Result<Principal, Error> {
        let hash = key_hash(key);
        if self.settings.operator_key_sha256 == Some(hash) {
            return Ok(Principal::Operator);
        }
        if let Some(record) = self.store.get::<KeyRecord>(Table::Keys, &hash)? {
            return Ok(Principal::Member {
                tenant: record.tenant,
                role: record.role,
            });
        }
        let record: super::beneficiary::BeneficiaryKey = self
            .store
            .get(Table::BeneficiaryKeys, &hash)?
            .ok_or(Error::Unauthenticated)?;
        Ok(Principal::Beneficiary {
            id: record.beneficiary,
        })
    }

    /// Who `who` is: its tenant's name and kind and its role, or its beneficiary.
    pub fn whoami(&self, who: &Principal) -> Result<Whoami, Error> {
        let mut me = Whoami {
            kind: "operator".into(),
            tenant: None,
            tenant_name: None,
            tenant_kind: None,
            role: None,
            beneficiary: None,
        };
        match who {
            Principal::Operator => {}
            Principal::Member { tenant, role } => {
                let record: Tenant = (self.store.get(Table::Tenants, tenant.as_bytes())?)
                    .ok_or_else(|| Error::not_found("tenant", tenant))?;
                me.kind = "member".into();
                me.tenant = Some(record.id);
                me.tenant_name = Some(record.name);
                me.tenant_kind = Some(record.kind);
                me.role = Some(*role);
            }
            Principal::Beneficiary { id } => {
                me.kind = "beneficiary".into();
                me.beneficiary = Some(id.clone());
            }
        }
        Ok(me)
    }

    /// Create a tenant; durable before it returns.
    pub async fn create_tenant(&self, who: &Principal, new: NewTenant) -> Result<Tenant, Error> {
        who.operator("create tenants")?;
        check_id("id", &new.id)?;
        if !crate::shape::is_name(&new.name) {
            return Err(Error::Invalid {
                field: "name".into(),
                message: "must be 1-256 characters, not all of them spaces".into(),
            });
        }
        let tenant = Tenant {
            id: new.id,
            name: new.name,
            kind: new.kind,
            created_ms: self.now_ms(),
            orders: OrderSettings::default(),
            attribution: Default::default(),
            points: Default::default(),
            recording: Default::default(),
        };
        if !self
            .store
            .insert_new(Table::Tenants, tenant.id.as_bytes(), &tenant)?
        {
            return Err(Error::conflict(
                "tenant_exists",
                format!("tenant {:?} already exists", tenant.id),
            ));
        }
        self.flush().await?;
        Ok(tenant)
    }

    /// Every tenant, by id (the operator's).
    pub fn list_tenants(&self, who: &Principal, at: &Position) -> Result<Page<Tenant>, Error> {
        who.operator("list tenants")?;
        Ok(page::scan(&self.store, Table::Tenants, b"", at)?)
    }

    /// Issue a key for `tenant`: by the operator, or by the tenant's own admin.
    ///
    /// With an idempotency key, a retry creates no second key: it answers the first key's
    /// record (`false`), without the secret, which exists only in the first answer (the
    /// store keeps its hash alone).
    pub async fn create_key(
        &self,
        who: &Principal,
        tenant: &str,
        new: NewKey,
        idempotency: Option<IdempotencyKey>,
    ) -> Result<(IssuedKey, bool), Error> {
        who.admin_of(tenant, "issue keys")?;
        if !crate::shape::is_label(&new.name) {
            return Err(Error::Invalid {
                field: "name".into(),
                message: format!(
                    "must be at most {} characters",
                    crate::shape::MAX_TEXT_CHARS
                ),
            });
        }
        if !self.store.contains(Table::Tenants, tenant.as_bytes())? {
            return Err(Error::not_found("tenant", tenant));
        }
        let replay = Replay::new(tenant, "keys.create", idempotency, &new);
        if let Some(record) = self.replayed::<KeyRecord>(&replay).await? {
            return Ok((IssuedKey { key: None, record }, false));
        }
        let (key, hash) = new_secret()?;
        let record = KeyRecord {
            id: hex::encode(&hash[..6]),
            tenant: tenant.to_owned(),
            role: new.role,
            name: new.name,
            created_ms: self.now_ms(),
        };
        let mut first = None;
        self.store
            .transact(&[Table::Keys, Table::Idempotency], |tx| {
                first = replay.earlier(tx)?;
                if first.is_some() {
                    return Ok(());
                }
                tx.put_json(Table::Keys, &hash, &record)?;
                replay.record(tx, &record)
            })
            .map_err(Error::from_tx)?;
        if first.is_some() {
            // A concurrent retry got there first: answer as its replay does.
            return Ok(self
                .replayed::<KeyRecord>(&replay)
                .await?
                .map(|record| (IssuedKey { key: None, record }, false))
                .expect("the earlier request's answer is stored"));
        }
        self.flush().await?;
        Ok((
            IssuedKey {
                key: Some(key),
                record,
            },
            true,
        ))
    }

    /// The keys of `tenant` (admins only).
    /// A tenant's keys, oldest first. Keys are stored by their hash (that is how a request
    /// finds its key), so this reads every key record: listing keys is a rare admin task.
    pub fn list_keys(
        &self,
        who: &Principal,
        tenant: &str,
        at: &Position,
    ) -> Result<Page<KeyRecord>, Error> {
        who.admin_of(tenant, "list keys")?;
        let keys: Vec<KeyRecord> = self.store.scan(Table::Keys, b"")?;
        let keys = keys
            .into_iter()
            .filter(|k| k.tenant == tenant)
            .map(|k| {
                let mut sort = k.created_ms.to_be_bytes().to_vec();
                sort.extend_from_slice(k.id.as_bytes());
                (sort, k)
            })
            .collect();
        Ok(page::of(keys, at))
    }
}
