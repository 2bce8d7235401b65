//! `plaza serve --demo`: a demo merchant with the example plugins uploaded and the demo
//! plan active, ready to quote `host/demo/cart.json`. Runs through the same domain calls a
//! real tenant's would; a second start finds it in place and changes nothing.

use crate::domain::{NewKey, NewTenant, Plaza, Principal, Role, TenantKind, Visibility};
use crate::examples;
use anyhow::Context as _;
use std::path::Path;
use std::sync::Arc;

pub const DEMO_TENANT: &str = "demo";
pub const DEMO_PLAN_ID: &str = "teahouse-autumn";
/// The demo admin key is written here, inside the data directory.
pub const DEMO_KEY_FILE: &str = "demo.key";

/// Set up the demo tenant if it is not there yet. Returns its admin key.
pub async fn bootstrap_demo(plaza: &Arc<Plaza>, data_dir: &Path) -> anyhow::Result<String> {
    let key_file = data_dir.join(DEMO_KEY_FILE);
    if let Ok(key) = std::fs::read_to_string(&key_file)
        && plaza.authenticate(key.trim()).is_ok()
    {
        tracing::info!(key_file = %key_file.display(), "demo tenant in place");
        return Ok(key.trim().to_owned());
    }
    let operator = Principal::Operator;
    match plaza
        .create_tenant(
            &operator,
            NewTenant {
                id: DEMO_TENANT.into(),
                name: "Demo tea house".into(),
                kind: TenantKind::Merchant,
            },
        )
        .await
    {
        Ok(_) | Err(crate::domain::Error::Conflict { .. }) => {}
        Err(e) => return Err(anyhow::anyhow!("creating the demo tenant: {e}")),
    }
    let (issued, _) = plaza
        .create_key(
            &operator,
            DEMO_TENANT,
            NewKey {
                role: Role::Admin,
                name: "demo".into(),
            },
            None,
        )
        .await
        .map_err(|e| anyhow::anyhow!("issuing the demo key: {e}"))?;
    let key = issued.key.expect("a new key shows its secret");
    let admin = Principal::Member {
        tenant: DEMO_TENANT.into(),
        role: Role::Admin,
    };
    for (name, bytes) in examples::EXAMPLE_PLUGINS {
        plaza
            .upload_plugin(&admin, bytes.to_vec(), Visibility::Private)
            .await
            .map_err(|e| anyhow::anyhow!("uploading {name}: {e}"))?;
    }
    let head = plaza
        .save_plan(&admin, examples::demo_plan(), None, None)
        .await
        .map_err(|e| anyhow::anyhow!("saving the demo plan: {e}"))?;
    plaza
        .activate(&admin, DEMO_PLAN_ID, Some(head.0.latest))
        .await
        .map_err(|e| anyhow::anyhow!("activating the demo plan: {e}"))?;
    std::fs::write(&key_file, &key).with_context(|| format!("writing {}", key_file.display()))?;
    tracing::info!(key_file = %key_file.display(), plan = DEMO_PLAN_ID, "demo tenant ready");
    Ok(key)
}
