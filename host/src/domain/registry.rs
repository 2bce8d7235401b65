//! The plugin registry: upload, list, describe and delete plugin versions, and resolving
//! a plan step's plugin reference.
//!
//! A version is named by what the component says of itself (`describe`) and identified by
//! the sha256 of its bytes. The bytes live once per hash in the blobs table; the compiled
//! artifact lives in the sandbox's artifact cache, so a restart loads instead of compiling.
//! A name@version is immutable: uploading different bytes under it is a conflict.
//!
//! Plan versions pin what they run (owner, name, version, sha256). So that every stored
//! plan version can still be activated, rolled back to and replayed, a plugin version that
//! any stored plan version pins cannot be deleted (409 `plugin_in_use`, naming the plan
//! versions); plan versions are history and are never deleted either.

use super::changes::{self, Change};
use super::page::{self, Page, Position};
use super::tenants::ANY_ROLE;
use super::{Error, Plaza, Principal, Role, read, write};
use crate::executor::Plan;
use crate::executor::plan::{PluginRef, stage_name};
use crate::sandbox::Plugin;
use crate::store::{Table, TxExt, first_part, key};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Only the owner's plans may use it.
    #[default]
    Private,
    /// Listed on the plaza: any tenant's plan may use it (naming the owner).
    Shared,
}

/// A registered plugin version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PluginRecord {
    pub owner: String,
    pub name: String,
    pub version: String,
    pub sha256: String,
    pub size: usize,
    pub visibility: Visibility,
    pub stage: String,
    pub description: String,
    /// JSON Schema of the plugin's configuration, as the plugin describes it.
    #[schema(value_type = Object)]
    pub config_schema: serde_json::Value,
    pub uploaded_ms: i64,
}

/// A registered plugin, compiled and ready.
pub(super) struct Registered {
    pub record: PluginRecord,
    pub plugin: Plugin,
}

pub(super) fn plugin_key(owner: &str, name: &str, version: &str) -> String {
    format!("{owner}\0{name}\0{version}")
}

const AUTHORS: &[Role] = &[Role::Admin, Role::Author];

/// What registering or deleting a plugin writes.
const REGISTRY_TABLES: [Table; 4] = [
    Table::Blobs,
    Table::Plugins,
    changes::TABLES[0],
    changes::TABLES[1],
];

impl Plaza {
    /// Load every registered plugin at startup. Returns (plugins, how many were compiled).
    pub(super) fn load_registry(&self) -> Result<(usize, usize), Error> {
        let records: Vec<PluginRecord> = self.store.scan(Table::Plugins, b"")?;
        let mut compiled = 0;
        let mut plugins = write(&self.plugins);
        for record in records {
            let bytes = self
                .store
                .get_raw(Table::Blobs, record.sha256.as_bytes())?
                .ok_or_else(|| Error::Internal(format!("blob {} missing", record.sha256)))?;
            let plugin = self.sandbox.load(&bytes).map_err(|e| {
                Error::Internal(format!("reloading {}@{}: {e}", record.name, record.version))
            })?;
            if !plugin.from_cache {
                compiled += 1;
                self.metrics.compilations.inc();
            }
            plugins.insert(
                plugin_key(&record.owner, &record.name, &record.version),
                Arc::new(Registered { record, plugin }),
            );
        }
        Ok((plugins.len(), compiled))
    }

    /// Make this host's registry say what the store says of every plugin version (the
    /// change feed was pruned past this host).
    pub(super) async fn reload_registry(&self) -> Result<(), Error> {
        let records: Vec<PluginRecord> = self.store.scan(Table::Plugins, b"")?;
        let stored: std::collections::HashSet<String> = (records.iter())
            .map(|r| plugin_key(&r.owner, &r.name, &r.version))
            .collect();
        for record in records {
            self.install(record).await?;
        }
        let _admin = self.admin.lock().await;
        write(&self.plugins).retain(|id, _| stored.contains(id));
        Ok(())
    }

    /// Make this host's registry say what the store says of one plugin version, which
    /// another host registered or deleted (the change feed).
    pub(super) async fn reload_plugin(
        &self,
        owner: &str,
        name: &str,
        version: &str,
    ) -> Result<(), Error> {
        let id = plugin_key(owner, name, version);
        let record_key = key(&[owner.as_bytes(), name.as_bytes(), version.as_bytes()]);
        let record: Option<PluginRecord> = self.store.get(Table::Plugins, &record_key)?;
        let Some(record) = record else {
            let _admin = self.admin.lock().await;
            write(&self.plugins).remove(&id);
            return Ok(());
        };
        self.install(record).await
    }

    /// Put a stored plugin version in this host's registry, compiled (or from the artifact
    /// cache); nothing to do when the registry holds those bytes already.
    async fn install(&self, record: PluginRecord) -> Result<(), Error> {
        let id = plugin_key(&record.owner, &record.name, &record.version);
        if read(&self.plugins)
            .get(&id)
            .is_some_and(|r| r.record.sha256 == record.sha256)
        {
            return Ok(());
        }
        let bytes = self
            .store
            .get_raw(Table::Blobs, record.sha256.as_bytes())?
            .ok_or_else(|| Error::Internal(format!("blob {} missing", record.sha256)))?;
        let plugin = self.compile(&bytes).await?;
        if !plugin.from_cache {
            self.metrics.compilations.inc();
        }
        let _admin = self.admin.lock().await;
        write(&self.plugins).insert(id, Arc::new(Registered { record, plugin }));
        Ok(())
    }

    /// Validate, compile and register an uploaded component. Returns the record and
    /// whether it is new (an identical re-upload is accepted and changes nothing).
    pub async fn upload_plugin(
        &self,
        who: &Principal,
        bytes: Vec<u8>,
        visibility: Visibility,
    ) -> Result<(PluginRecord, bool), Error> {
        let owner = who.tenant(AUTHORS, "upload plugins")?.to_owned();
        let plugin = self.compile(&bytes).await?;
        if !plugin.from_cache {
            self.metrics.compilations.inc();
        }
        let d = &plugin.descriptor;
        let config_schema = serde_json::from_str(&d.config_schema)
            .unwrap_or_else(|_| serde_json::Value::String(d.config_schema.clone()));
        let record = PluginRecord {
            owner: owner.clone(),
            name: d.name.clone(),
            version: d.version.clone(),
            sha256: plugin.sha256.clone(),
            size: plugin.size,
            visibility,
            stage: stage_name(d.stage).to_owned(),
            description: d.description.clone(),
            config_schema,
            uploaded_ms: self.now_ms(),
        };
        let id = plugin_key(&owner, &record.name, &record.version);
        let _admin = self.admin.lock().await;
        if let Some(existing) = read(&self.plugins).get(&id) {
            if existing.record.sha256 == record.sha256 {
                return Ok((existing.record.clone(), false));
            }
            return Err(Error::conflict(
                "plugin_version_exists",
                format!(
                    "{}@{} is already registered with other contents (sha256 {}); publish a new version",
                    record.name, record.version, existing.record.sha256
                ),
            ));
        }
        self.check_plugin_quota(&owner, record.size)?;
        let record_key = key(&[
            owner.as_bytes(),
            record.name.as_bytes(),
            record.version.as_bytes(),
        ]);
        let change = Change::Plugin {
            owner: owner.clone(),
            name: record.name.clone(),
            version: record.version.clone(),
        };
        self.store
            .transact(&REGISTRY_TABLES, |tx| {
                tx.put(Table::Blobs, record.sha256.as_bytes(), &bytes)?;
                tx.put_json(Table::Plugins, &record_key, &record)?;
                changes::record(tx, &self.host, change.clone())
            })
            .map_err(Error::from_tx)?;
        self.flush().await?;
        write(&self.plugins).insert(
            id,
            Arc::new(Registered {
                record: record.clone(),
                plugin,
            }),
        );
        Ok((record, true))
    }

    /// The caller's own plugins and every shared one.
    /// The caller's plugins and every shared one, by owner, name and version.
    pub fn list_plugins(
        &self,
        who: &Principal,
        at: &Position,
    ) -> Result<Page<PluginRecord>, Error> {
        let tenant = who.tenant(ANY_ROLE, "list plugins")?;
        let list: Vec<(Vec<u8>, PluginRecord)> = read(&self.plugins)
            .values()
            .filter(|r| r.record.owner == tenant || r.record.visibility == Visibility::Shared)
            .map(|r| {
                let r = &r.record;
                let sort = key(&[r.owner.as_bytes(), r.name.as_bytes(), r.version.as_bytes()]);
                (sort, r.clone())
            })
            .collect();
        Ok(page::of(list, at))
    }

    /// One plugin version the caller may see: its own, or a shared one of `owner`.
    pub fn plugin_info(
        &self,
        who: &Principal,
        owner: Option<&str>,
        name: &str,
        version: &str,
    ) -> Result<PluginRecord, Error> {
        let tenant = who.tenant(ANY_ROLE, "read plugins")?;
        let reference = PluginRef {
            name: name.to_owned(),
            version: version.to_owned(),
            owner: owner.map(str::to_owned),
            sha256: None,
        };
        self.resolve(tenant, &reference)
            .ok()
            .map(|r| r.record.clone())
            .ok_or_else(|| Error::not_found("plugin", format!("{name}@{version}")))
    }

    /// Delete one of the caller's plugin versions, unless a stored plan version (of any
    /// tenant) pins it.
    pub async fn delete_plugin(
        &self,
        who: &Principal,
        name: &str,
        version: &str,
    ) -> Result<(), Error> {
        let owner = who.tenant(AUTHORS, "delete plugins")?;
        let id = plugin_key(owner, name, version);
        let _admin = self.admin.lock().await;
        let Some(registered) = read(&self.plugins).get(&id).cloned() else {
            return Err(Error::not_found("plugin", format!("{name}@{version}")));
        };
        let users = self.plan_versions_pinning(&registered.record)?;
        if !users.is_empty() {
            return Err(Error::conflict(
                "plugin_in_use",
                format!(
                    "{name}@{version} is pinned by stored plan version(s) {}; plan versions are kept for rollback and replay, so the plugin is kept too",
                    users.join(", ")
                ),
            ));
        }
        let shared_blob = read(&self.plugins)
            .iter()
            .any(|(k, r)| *k != id && r.record.sha256 == registered.record.sha256);
        let record_key = key(&[owner.as_bytes(), name.as_bytes(), version.as_bytes()]);
        let change = Change::Plugin {
            owner: owner.to_owned(),
            name: name.to_owned(),
            version: version.to_owned(),
        };
        self.store
            .transact(&REGISTRY_TABLES, |tx| {
                tx.remove(Table::Plugins, &record_key)?;
                if !shared_blob {
                    tx.remove(Table::Blobs, registered.record.sha256.as_bytes())?;
                }
                changes::record(tx, &self.host, change.clone())
            })
            .map_err(Error::from_tx)?;
        self.flush().await?;
        write(&self.plugins).remove(&id);
        Ok(())
    }

    /// Every stored plan version (`tenant/plan@version`) with a step that runs `record`.
    fn plan_versions_pinning(&self, record: &PluginRecord) -> Result<Vec<String>, Error> {
        let versions: Vec<(Vec<u8>, Plan)> =
            self.store
                .scan_entries(Table::PlanVersions, b"", None, usize::MAX)?;
        Ok(versions
            .into_iter()
            .filter(|(_, plan)| {
                plan.steps.iter().any(|s| {
                    let p = &s.plugin;
                    p.name == record.name
                        && p.version == record.version
                        && p.owner.as_deref().is_none_or(|o| o == record.owner)
                        && p.sha256.as_deref().is_none_or(|h| h == record.sha256)
                })
            })
            .map(|(k, plan)| {
                let tenant = first_part(&k);
                format!("{tenant}/{}@{}", plan.id, plan.version)
            })
            .collect())
    }

    /// The plugin `reference` names, as `tenant` may use it.
    ///
    /// With an owner: that owner's plugin, if it is the tenant's own or shared. Without:
    /// the tenant's own, else the only shared one (several tenants sharing the same
    /// name@version make the reference ambiguous: name the owner). With a sha256: only
    /// those bytes.
    pub(super) fn resolve(
        &self,
        tenant: &str,
        reference: &PluginRef,
    ) -> Result<Arc<Registered>, ResolveError> {
        let plugins = read(&self.plugins);
        let usable = |r: &&Arc<Registered>| {
            r.record.owner == tenant || r.record.visibility == Visibility::Shared
        };
        let found = if let Some(owner) = &reference.owner {
            plugins
                .get(&plugin_key(owner, &reference.name, &reference.version))
                .filter(usable)
                .cloned()
        } else if let Some(own) =
            plugins.get(&plugin_key(tenant, &reference.name, &reference.version))
        {
            Some(own.clone())
        } else {
            let shared: Vec<&Arc<Registered>> = plugins
                .values()
                .filter(|r| {
                    r.record.visibility == Visibility::Shared
                        && r.record.name == reference.name
                        && r.record.version == reference.version
                })
                .collect();
            if shared.len() > 1 {
                let mut owners: Vec<String> =
                    shared.iter().map(|r| r.record.owner.clone()).collect();
                owners.sort();
                return Err(ResolveError::Ambiguous { owners });
            }
            shared.first().map(|r| (*r).clone())
        };
        let found = found.ok_or(ResolveError::Unknown)?;
        match &reference.sha256 {
            Some(sha) if *sha != found.record.sha256 => Err(ResolveError::ContentChanged {
                pinned: sha.clone(),
                registered: found.record.sha256.clone(),
            }),
            _ => Ok(found),
        }
    }
}

/// Why a plugin reference does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ResolveError {
    Unknown,
    Ambiguous { owners: Vec<String> },
    ContentChanged { pinned: String, registered: String },
}
