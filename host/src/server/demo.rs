//! `plaza serve --demo`: a demo merchant with the example plugins uploaded and the demo
//! plan active, ready to quote `host/demo/cart.json`. Runs through the same domain calls a
//! real tenant's would; a second start finds it in place and changes nothing.

use crate::domain::{
    AcceptInvite, Error, NewKey, NewPromoter, NewTenant, NewTouch, PartyKind, Plaza, Principal,
    Role, TenantKind, Visibility,
};
use crate::examples;
use anyhow::Context as _;
use std::path::Path;
use std::sync::Arc;

pub const DEMO_TENANT: &str = "demo";
pub const DEMO_PLAN_ID: &str = "teahouse-autumn";
/// The demo admin key is written here, inside the data directory.
pub const DEMO_KEY_FILE: &str = "demo.key";
/// The demo promoter's own key (to read its earnings) is written here.
pub const DEMO_PROMOTER_KEY_FILE: &str = "demo-promoter.key";
/// The demo's promoter agency, which binds the promoter the demo cart names.
pub const DEMO_AGENCY: &str = "demo-agency";
const DEMO_PROMOTER: &str = "p-1001";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

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
    demo_attribution(plaza, data_dir).await?;
    std::fs::write(&key_file, &key).with_context(|| format!("writing {}", key_file.display()))?;
    tracing::info!(key_file = %key_file.display(), plan = DEMO_PLAN_ID, "demo tenant ready");
    Ok(key)
}

/// The attribution behind the demo cart's promoter: an agency binds promoter `p-1001`
/// (invited and accepted), and the demo buyer opened its share link three days before
/// the cart's time, so the host resolves the promoter the cart names.
async fn demo_attribution(plaza: &Arc<Plaza>, data_dir: &Path) -> anyhow::Result<()> {
    let operator = Principal::Operator;
    let agency = NewTenant {
        id: DEMO_AGENCY.into(),
        name: "Demo promoter agency".into(),
        kind: TenantKind::Agency,
    };
    match plaza.create_tenant(&operator, agency).await {
        Ok(_) | Err(Error::Conflict { .. }) => {}
        Err(e) => return Err(anyhow::anyhow!("creating the demo agency: {e}")),
    }
    let agency_admin = Principal::Member {
        tenant: DEMO_AGENCY.into(),
        role: Role::Admin,
    };
    let invited = plaza
        .invite_promoter(
            &agency_admin,
            NewPromoter {
                id: DEMO_PROMOTER.into(),
                kind: PartyKind::Promoter,
                name: "Demo promoter".into(),
            },
        )
        .await;
    match invited {
        Ok(invitation) => {
            let accepted = plaza
                .accept_invite(
                    DEMO_PROMOTER,
                    AcceptInvite {
                        invite_token: invitation.invite_token,
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("accepting the demo invitation: {e}"))?;
            let file = data_dir.join(DEMO_PROMOTER_KEY_FILE);
            std::fs::write(&file, &accepted.key)
                .with_context(|| format!("writing {}", file.display()))?;
        }
        // Bound on an earlier start.
        Err(Error::Conflict { .. }) => {}
        Err(e) => return Err(anyhow::anyhow!("inviting the demo promoter: {e}")),
    }
    let cart = examples::demo_cart();
    let checkout = Principal::Member {
        tenant: DEMO_TENANT.into(),
        role: Role::Checkout,
    };
    plaza
        .record_touch(
            &checkout,
            NewTouch {
                touch_id: "demo-touch-1".into(),
                buyer: cart.buyer.id.clone(),
                promoter: DEMO_PROMOTER.into(),
                share_link: cart.attribution.share_link.clone(),
                channel: Some(cart.channel),
                product: None,
                at_ms: cart.now_ms - 3 * DAY_MS,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("recording the demo touch: {e}"))?;
    Ok(())
}
