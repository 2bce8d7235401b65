//! Service providers (服务商): a tenant of kind `provider` authors plugins and plans, or
//! runs the checkout, for the merchants and agencies that granted it access.
//!
//! A grant names the provider and the one role it may act in (`author` or `checkout`;
//! never `admin`: a provider does not issue a client's keys, settle its money or grant
//! others). The provider's own key acts for a client by naming it in the `Plaza-Tenant`
//! header; each such request looks the grant up, so a revocation takes effect on the
//! provider's next request. Everything the provider does there is the client's own: its
//! plugins, plans and orders, under the client's limits.

use super::page::{self, Page, Position};
use super::tenants::{ANY_ROLE, Principal, Role, Tenant, TenantKind};
use super::{Error, Plaza, check_id};
use crate::store::{Table, TxError, TxExt, key, prefix};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The header a provider's key names its client in.
pub const ACT_FOR_HEADER: &str = "plaza-tenant";

/// What a client granted a provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Grant {
    /// The merchant or agency that granted access.
    pub client: String,
    pub provider: String,
    /// The role the provider acts in for the client.
    pub role: Role,
    pub granted_ms: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGrant {
    /// `author` (plugins and plans) or `checkout` (quotes and orders).
    pub role: Role,
}

fn grant_key(client: &str, provider: &str) -> Vec<u8> {
    key(&[client.as_bytes(), provider.as_bytes()])
}

fn client_key(provider: &str, client: &str) -> Vec<u8> {
    key(&[provider.as_bytes(), client.as_bytes()])
}

impl Plaza {
    /// The principal a bearer key stands for, acting for `client` when it names one (the
    /// `Plaza-Tenant` header). Naming a tenant the key may not act for is `not_found`,
    /// whether or not that tenant exists.
    pub fn authenticate_for(&self, key: &str, client: Option<&str>) -> Result<Principal, Error> {
        let principal = self.authenticate(key)?;
        let Some(client) = client else {
            return Ok(principal);
        };
        // The operator and beneficiaries act for no tenant.
        let own = principal.tenant(ANY_ROLE, "act for a tenant")?;
        if own == client {
            return Ok(principal);
        }
        let grant: Grant = self
            .store
            .get(Table::Grants, &grant_key(client, own))?
            .ok_or_else(|| Error::not_found("grant", client))?;
        // A provider's admin key acts in the granted role; any other key only in that role.
        principal.tenant(
            &[Role::Admin, grant.role],
            "act for a client in another role",
        )?;
        Ok(Principal::Member {
            tenant: grant.client,
            role: grant.role,
        })
    }

    /// Grant provider `provider` access to the calling tenant in one role (or change the
    /// role); durable before it returns.
    pub async fn grant(
        &self,
        who: &Principal,
        provider: &str,
        new: NewGrant,
    ) -> Result<Grant, Error> {
        let client = who.tenant(&[Role::Admin], "grant providers access")?;
        check_id("provider", provider)?;
        if new.role == Role::Admin {
            return Err(Error::Invalid {
                field: "role".into(),
                message: "a provider acts as `author` or `checkout`, never `admin`".into(),
            });
        }
        let own: Tenant = self
            .store
            .get(Table::Tenants, client.as_bytes())?
            .ok_or_else(|| Error::not_found("tenant", client))?;
        if own.kind == TenantKind::Provider {
            return Err(Error::conflict(
                "provider_cannot_grant",
                "a service provider acts for clients; it grants no access of its own",
            ));
        }
        self.tenant_of_kind(provider, TenantKind::Provider, "be granted access")?;
        let grant = Grant {
            client: client.to_owned(),
            provider: provider.to_owned(),
            role: new.role,
            granted_ms: self.now_ms(),
        };
        self.store
            .transact(&[Table::Grants, Table::ProviderClients], |tx| {
                tx.put_json(Table::Grants, &grant_key(client, provider), &grant)?;
                tx.put_json(
                    Table::ProviderClients,
                    &client_key(provider, client),
                    &grant,
                )
            })
            .map_err(Error::from_tx)?;
        self.flush().await?;
        Ok(grant)
    }

    /// Revoke provider `provider`'s access to the calling tenant: its next request for the
    /// tenant is refused.
    pub async fn revoke_grant(&self, who: &Principal, provider: &str) -> Result<(), Error> {
        let client = who.tenant(&[Role::Admin], "revoke providers' access")?;
        let mut missing = false;
        self.store
            .transact(&[Table::Grants, Table::ProviderClients], |tx| {
                let at = grant_key(client, provider);
                if tx.get(Table::Grants, &at)?.is_none() {
                    missing = true;
                    return Err(TxError::Abort);
                }
                tx.remove(Table::Grants, &at)?;
                tx.remove(Table::ProviderClients, &client_key(provider, client))
            })
            .map_err(|e| match e {
                TxError::Abort if missing => Error::not_found("grant", provider),
                e => Error::from_tx(e),
            })?;
        self.flush().await
    }

    /// The providers the calling tenant granted access, by provider id.
    pub fn list_grants(&self, who: &Principal, at: &Position) -> Result<Page<Grant>, Error> {
        let client = who.tenant(&[Role::Admin], "read grants")?;
        Ok(page::scan(
            &self.store,
            Table::Grants,
            &prefix(&[client.as_bytes()]),
            at,
        )?)
    }

    /// The tenants that granted the calling provider access, by client id.
    pub fn list_clients(&self, who: &Principal, at: &Position) -> Result<Page<Grant>, Error> {
        let provider = who.tenant(&[Role::Admin, Role::Author, Role::Checkout], "read clients")?;
        Ok(page::scan(
            &self.store,
            Table::ProviderClients,
            &prefix(&[provider.as_bytes()]),
            at,
        )?)
    }
}
