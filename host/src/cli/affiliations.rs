//! `plaza affiliate` (an agency invites a promoter agency to sell its goods, or ends it)
//! and `plaza affiliation` (the promoter agency accepts, or ends it).

use super::ServerArgs;
use crate::client::escape;
use clap::Args;
use serde_json::{Value, json};

#[derive(Args)]
pub(super) struct AffiliateArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The promoter agency's tenant id.
    agency: String,
    /// End the affiliation instead.
    #[arg(long)]
    end: bool,
}

#[derive(Args)]
pub(super) struct AffiliationArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// The agency whose invitation to accept (whose goods the promoters sell).
    upstream: String,
    /// End the affiliation instead.
    #[arg(long)]
    end: bool,
}

/// Invite (or end) from the upstream agency's side.
pub(super) fn affiliate(args: AffiliateArgs) -> anyhow::Result<Value> {
    let path = format!("/v1/plaza/affiliates/{}", escape(&args.agency));
    change(args.server, &path, args.end, &args.agency)
}

/// Accept (or end) from the promoter agency's side.
pub(super) fn affiliation(args: AffiliationArgs) -> anyhow::Result<Value> {
    let path = format!("/v1/plaza/affiliations/{}", escape(&args.upstream));
    change(args.server, &path, args.end, &args.upstream)
}

fn change(server: ServerArgs, path: &str, end: bool, other: &str) -> anyhow::Result<Value> {
    let client = server.client();
    if end {
        client.delete(path)?;
        return Ok(json!({"ended": other}));
    }
    client.put_json(path, &json!({}))
}
