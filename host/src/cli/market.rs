//! `plaza promoter …`, `plaza touch` and `plaza attribution`: the marketplace's parties
//! and attribution from the command line.

use super::ServerArgs;
use crate::client::{Client, escape};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

#[derive(Subcommand)]
pub(super) enum PromoterCommand {
    /// Invite a promoter or creator to the calling agency (prints the one-time token).
    Invite {
        #[command(flatten)]
        server: ServerArgs,
        id: String,
        /// promoter or creator.
        #[arg(long, default_value = "promoter")]
        kind: String,
        #[arg(long)]
        name: String,
    },
    /// Accept an invitation with its token (prints the promoter's own key, once).
    Accept {
        /// The server's base URL.
        #[arg(long, env = "PLAZA_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
        id: String,
        #[arg(long)]
        token: String,
    },
    /// Suspend one of the agency's promoters.
    Suspend {
        #[command(flatten)]
        server: ServerArgs,
        id: String,
    },
    /// Reinstate a suspended promoter.
    Reinstate {
        #[command(flatten)]
        server: ServerArgs,
        id: String,
    },
    /// Unbind a promoter from the agency.
    Unbind {
        #[command(flatten)]
        server: ServerArgs,
        id: String,
    },
    /// Show one promoter (the agency's key or the promoter's own).
    Show {
        #[command(flatten)]
        server: ServerArgs,
        id: String,
    },
}

pub(super) fn promoter(command: PromoterCommand) -> anyhow::Result<Value> {
    let at = |id: &str| format!("/v1/promoters/{}", escape(id));
    match command {
        PromoterCommand::Invite {
            server,
            id,
            kind,
            name,
        } => server.client().post_json(
            "/v1/promoters",
            &json!({"id": id, "kind": kind, "name": name}),
        ),
        PromoterCommand::Accept { server, id, token } => Client {
            server,
            key: String::new(),
            act_for: None,
        }
        .post_json(
            &format!("{}/accept", at(&id)),
            &json!({ "invite_token": token }),
        ),
        PromoterCommand::Suspend { server, id } => server
            .client()
            .post_json(&format!("{}/suspend", at(&id)), &json!({})),
        PromoterCommand::Reinstate { server, id } => server
            .client()
            .post_json(&format!("{}/reinstate", at(&id)), &json!({})),
        PromoterCommand::Unbind { server, id } => server.client().delete(&at(&id)),
        PromoterCommand::Show { server, id } => server.client().get(&at(&id)),
    }
}

/// Record that a buyer opened a promoter's share link.
#[derive(Args)]
pub(super) struct TouchArgs {
    #[command(flatten)]
    server: ServerArgs,
    #[arg(long)]
    touch_id: String,
    #[arg(long)]
    buyer: String,
    #[arg(long)]
    promoter: String,
    /// The product (SPU) the link opened; absent for the store.
    #[arg(long)]
    product: Option<String>,
    #[arg(long)]
    share_link: Option<String>,
    /// When (ms since the Unix epoch) [default: now].
    #[arg(long)]
    at_ms: Option<i64>,
}

pub(super) fn touch(args: TouchArgs) -> anyhow::Result<Value> {
    let mut body = json!({
        "touch_id": args.touch_id,
        "buyer": args.buyer,
        "promoter": args.promoter,
        "at_ms": args.at_ms.unwrap_or_else(super::now_ms),
    });
    for (name, value) in [("product", args.product), ("share_link", args.share_link)] {
        if let Some(value) = value {
            body[name] = json!(value);
        }
    }
    args.server.client().post_json("/v1/touches", &body)
}

/// Show the tenant's attribution settings, or change them.
#[derive(Args)]
pub(super) struct AttributionArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// touches (the host resolves) or checkout (the cart's attribution as sent).
    #[arg(long)]
    source: Option<String>,
    /// Days a touch locks the buyer (1 to 365).
    #[arg(long)]
    lock_days: Option<u32>,
    /// first_touch or last_touch.
    #[arg(long)]
    model: Option<String>,
    /// store or product.
    #[arg(long)]
    scope: Option<String>,
    /// Whether an order renews the buyer's lock.
    #[arg(long)]
    order_extends_lock: Option<bool>,
}

pub(super) fn attribution(args: AttributionArgs) -> anyhow::Result<Value> {
    let change = [
        ("source", args.source.map(Value::from)),
        ("lock_days", args.lock_days.map(Value::from)),
        ("model", args.model.map(Value::from)),
        ("scope", args.scope.map(Value::from)),
        (
            "order_extends_lock",
            args.order_extends_lock.map(Value::from),
        ),
    ];
    args.server
        .client()
        .settings("/v1/settings/attribution", &change)
}
