//! The plugin registry: upload, list, describe and delete plugin versions.
//!
//! A version is named by what the component says of itself (`describe`) and identified by
//! the sha256 of its bytes. The bytes live once per hash in the `blobs` tree; the compiled
//! artifact lives in the sandbox's artifact cache, so a restart loads instead of compiling.
//! A name@version is immutable: uploading different bytes under it is a conflict.

use super::tenants::ANY_ROLE;
use super::{Error, Plaza, Principal, Role, now_ms, read, write};
use crate::executor::plan::{PluginRef, stage_name};
use crate::sandbox::Plugin;
use crate::store::{self, encode, key};
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

impl Plaza {
    /// Load every registered plugin at startup. Returns (plugins, how many were compiled).
    pub(super) fn load_registry(&self) -> Result<(usize, usize), Error> {
        let records: Vec<PluginRecord> = store::scan(&self.store.plugins, b"")?;
        let mut compiled = 0;
        let mut plugins = write(&self.plugins);
        for record in records {
            let bytes = self
                .store
                .blobs
                .get(record.sha256.as_bytes())?
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

    /// Validate, compile and register an uploaded component. Returns the record and
    /// whether it is new (an identical re-upload is accepted and changes nothing).
    pub async fn upload_plugin(
        &self,
        who: &Principal,
        bytes: Vec<u8>,
        visibility: Visibility,
    ) -> Result<(PluginRecord, bool), Error> {
        let owner = who.tenant(AUTHORS, "upload plugins")?.to_owned();
        let _permit = self
            .compiling
            .try_acquire()
            .map_err(|_| Error::Busy("too many plugin uploads compiling; retry shortly"))?;
        let limit = self.settings.compile_timeout;
        let sandbox = self.sandbox.clone();
        let bytes = Arc::new(bytes);
        let job = {
            let bytes = bytes.clone();
            tokio::task::spawn_blocking(move || sandbox.load(&bytes))
        };
        // On timeout the compile finishes on the blocking pool and is dropped; the permit
        // is released now, so a pathological module costs one blocking thread for a while.
        let plugin = tokio::time::timeout(limit, job)
            .await
            .map_err(|_| Error::CompileTimeout {
                limit_ms: limit.as_millis() as u64,
            })?
            .map_err(|e| Error::Internal(format!("compile task: {e}")))??;
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
            uploaded_ms: now_ms(),
        };
        let id = plugin_key(&owner, &record.name, &record.version);
        {
            let _admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
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
            self.store
                .blobs
                .insert(record.sha256.as_bytes(), bytes.as_slice())?;
            self.store.plugins.insert(
                key(&[
                    owner.as_bytes(),
                    record.name.as_bytes(),
                    record.version.as_bytes(),
                ]),
                encode(&record),
            )?;
            write(&self.plugins).insert(
                id,
                Arc::new(Registered {
                    record: record.clone(),
                    plugin,
                }),
            );
        }
        self.store.flush().await?;
        Ok((record, true))
    }

    /// The caller's own plugins and every shared one.
    pub fn list_plugins(&self, who: &Principal) -> Result<Vec<PluginRecord>, Error> {
        let tenant = who.tenant(ANY_ROLE, "list plugins")?;
        let mut list: Vec<PluginRecord> = read(&self.plugins)
            .values()
            .filter(|r| r.record.owner == tenant || r.record.visibility == Visibility::Shared)
            .map(|r| r.record.clone())
            .collect();
        list.sort_by(|a, b| (&a.owner, &a.name, &a.version).cmp(&(&b.owner, &b.name, &b.version)));
        Ok(list)
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
        };
        self.visible(tenant, &reference)
            .map(|r| r.record.clone())
            .ok_or_else(|| Error::not_found("plugin", format!("{name}@{version}")))
    }

    /// Delete one of the caller's plugin versions, unless an active plan uses it.
    pub async fn delete_plugin(
        &self,
        who: &Principal,
        name: &str,
        version: &str,
    ) -> Result<(), Error> {
        let owner = who.tenant(AUTHORS, "delete plugins")?;
        let id = plugin_key(owner, name, version);
        {
            let _admin = self.admin.lock().unwrap_or_else(|e| e.into_inner());
            let Some(registered) = read(&self.plugins).get(&id).cloned() else {
                return Err(Error::not_found("plugin", format!("{name}@{version}")));
            };
            let users: Vec<String> = read(&self.active)
                .iter()
                .filter(|(_, active)| active.plugins.contains(&id))
                .map(|(k, _)| k.replace('\0', "/"))
                .collect();
            if !users.is_empty() {
                return Err(Error::conflict(
                    "plugin_in_use",
                    format!(
                        "{name}@{version} is used by active plan(s) {}; deactivate them first",
                        users.join(", ")
                    ),
                ));
            }
            self.store.plugins.remove(key(&[
                owner.as_bytes(),
                name.as_bytes(),
                version.as_bytes(),
            ]))?;
            let shared_blob = read(&self.plugins)
                .iter()
                .any(|(k, r)| *k != id && r.record.sha256 == registered.record.sha256);
            if !shared_blob {
                self.store
                    .blobs
                    .remove(registered.record.sha256.as_bytes())?;
            }
            write(&self.plugins).remove(&id);
        }
        self.store.flush().await?;
        Ok(())
    }

    /// The plugin `reference` names, as `tenant` may use it: its own (or the named owner's
    /// when shared). Without an owner, the tenant's own plugin, else the only shared one.
    pub(super) fn visible(&self, tenant: &str, reference: &PluginRef) -> Option<Arc<Registered>> {
        let plugins = read(&self.plugins);
        let usable = |r: &&Arc<Registered>| {
            r.record.owner == tenant || r.record.visibility == Visibility::Shared
        };
        if let Some(owner) = &reference.owner {
            return plugins
                .get(&plugin_key(owner, &reference.name, &reference.version))
                .filter(usable)
                .cloned();
        }
        if let Some(own) = plugins.get(&plugin_key(tenant, &reference.name, &reference.version)) {
            return Some(own.clone());
        }
        let mut shared = plugins.values().filter(|r| {
            r.record.visibility == Visibility::Shared
                && r.record.name == reference.name
                && r.record.version == reference.version
        });
        match (shared.next(), shared.next()) {
            (Some(only), None) => Some(only.clone()),
            _ => None,
        }
    }
}
