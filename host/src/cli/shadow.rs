//! `plaza recording` and `plaza shadow`: which quotes are kept for shadow runs, and a
//! candidate plan version run over them (`plaza list recordings` lists what is kept).

use super::ServerArgs;
use crate::client::escape;
use clap::Args;
use serde_json::{Value, json};

#[derive(Args)]
pub(super) struct RecordingArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Keep a sample of quotes (true) or stop (false).
    #[arg(long)]
    enabled: Option<bool>,
    /// Record one quote in this many (1 to 10000).
    #[arg(long)]
    every: Option<u32>,
    /// Carts kept, the oldest overwritten (1 to 10000).
    #[arg(long)]
    keep: Option<u32>,
    /// Replay no cart older than this (ms, an hour to 30 days).
    #[arg(long)]
    keep_ms: Option<i64>,
}

pub(super) fn recording(args: RecordingArgs) -> anyhow::Result<Value> {
    args.server.client().settings(
        "/v1/settings/recording",
        &[
            ("enabled", args.enabled.map(Into::into)),
            ("every", args.every.map(Into::into)),
            ("keep", args.keep.map(Into::into)),
            ("keep_ms", args.keep_ms.map(Into::into)),
        ],
    )
}

#[derive(Args)]
pub(super) struct ShadowArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The plan whose recorded carts to replay.
    #[arg(long)]
    plan: String,
    /// The candidate version (a stored one).
    #[arg(long)]
    version: u32,
    /// Only carts quoted at or after (ms since the Unix epoch).
    #[arg(long)]
    from_ms: Option<i64>,
    /// Only carts quoted before (ms since the Unix epoch).
    #[arg(long)]
    to_ms: Option<i64>,
}

pub(super) fn shadow(args: ShadowArgs) -> anyhow::Result<Value> {
    let mut body = json!({ "version": args.version });
    if let Some(from) = args.from_ms {
        body["from_ms"] = from.into();
    }
    if let Some(to) = args.to_ms {
        body["to_ms"] = to.into();
    }
    let path = format!("/v1/plans/{}/shadow", escape(&args.plan));
    args.server.client().post_json(&path, &body)
}

#[derive(Args)]
pub(super) struct LiveShadowArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The plan.
    #[arg(long)]
    plan: String,
    /// Run this stored version in shadow next to the active one from now on.
    #[arg(long, conflicts_with = "off")]
    version: Option<u32>,
    /// Stop the shadow.
    #[arg(long)]
    off: bool,
}

/// Set or stop the plan's live shadow; with neither, show what it would have changed.
pub(super) fn live_shadow(args: LiveShadowArgs) -> anyhow::Result<Value> {
    let path = format!("/v1/plans/{}/live-shadow", escape(&args.plan));
    let client = args.server.client();
    match (args.version, args.off) {
        (Some(v), _) => client.put_json(&path, &json!({ "version": v })),
        (None, true) => client.put_json(&path, &json!({ "version": null })),
        (None, false) => client.get(&path),
    }
}
