//! `plaza activate`: make a plan version active now or at a time, deactivate a plan, or
//! cancel its scheduled activation.

use super::ServerArgs;
use crate::client::escape;
use clap::Args;
use serde_json::{Value, json};

#[derive(Args)]
pub(super) struct ActivateArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The plan id.
    plan: String,
    /// The version to make active; without it the plan is deactivated.
    #[arg(long)]
    version: Option<u32>,
    /// Do it at this time (ms since the epoch) instead of now.
    #[arg(long)]
    at_ms: Option<i64>,
    /// Cancel the plan's scheduled activation instead.
    #[arg(long, conflicts_with_all = ["version", "at_ms"])]
    cancel_scheduled: bool,
}

pub(super) fn activate(args: ActivateArgs) -> anyhow::Result<Value> {
    let client = args.server.client();
    let plan = escape(&args.plan);
    if args.cancel_scheduled {
        return client.delete(&format!("/v1/plans/{plan}/scheduled-activation"));
    }
    let mut body = json!({"version": args.version});
    if let Some(at) = args.at_ms {
        body["at_ms"] = json!(at);
    }
    client.post_json(&format!("/v1/plans/{plan}/activate"), &body)
}
