//! `plaza grant`: a merchant or agency grants a service provider one role, changes it, or
//! revokes it. The provider then acts for it with `--for <client>` on any command.

use super::ServerArgs;
use crate::client::escape;
use clap::Args;
use serde_json::{Value, json};

#[derive(Args)]
pub(super) struct GrantArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The service provider's tenant id.
    provider: String,
    /// The role it acts in: author (plugins and plans) or checkout (quotes and orders).
    #[arg(long, default_value = "author", conflicts_with = "revoke")]
    role: String,
    /// Revoke the provider's access instead.
    #[arg(long)]
    revoke: bool,
}

pub(super) fn grant(args: GrantArgs) -> anyhow::Result<Value> {
    let path = format!("/v1/grants/{}", escape(&args.provider));
    let client = args.server.client();
    if args.revoke {
        client.delete(&path)?;
        return Ok(json!({"revoked": args.provider}));
    }
    client.put_json(&path, &json!({ "role": args.role }))
}
