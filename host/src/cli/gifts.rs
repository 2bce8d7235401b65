//! `plaza gift`: a gift order's (送礼) recipients from the command line — one accepted
//! (perhaps switching to another SKU of the same SPU at the same price), or declined (its
//! units refunded to the sender).

use super::ServerArgs;
use crate::client::escape;
use clap::Subcommand;
use serde_json::{Value, json};

#[derive(Subcommand)]
pub(super) enum GiftCommand {
    /// The recipient accepted their gift.
    Accept {
        #[command(flatten)]
        server: ServerArgs,
        order: String,
        recipient: String,
        /// Another SKU for one of their lines, as LINE=SKU:SPU:UNIT_PRICE (repeatable).
        #[arg(long)]
        switch: Vec<String>,
    },
    /// The recipient declined their gift: its units are refunded to the sender.
    Decline {
        #[command(flatten)]
        server: ServerArgs,
        order: String,
        recipient: String,
    },
}

pub(super) fn gift(command: GiftCommand) -> anyhow::Result<Value> {
    match command {
        GiftCommand::Accept {
            server,
            order,
            recipient,
            switch,
        } => {
            let switch =
                (switch.iter().map(|s| parse_switch(s))).collect::<anyhow::Result<Vec<_>>>()?;
            let path = format!(
                "/v1/orders/{}/gift/{}/accept",
                escape(&order),
                escape(&recipient)
            );
            server
                .client()
                .post_json(&path, &json!({ "switch": switch }))
        }
        GiftCommand::Decline {
            server,
            order,
            recipient,
        } => {
            let path = format!(
                "/v1/orders/{}/gift/{}/decline",
                escape(&order),
                escape(&recipient)
            );
            server.client().post_json(&path, &json!({}))
        }
    }
}

/// `LINE=SKU:SPU:UNIT_PRICE` as a switch.
fn parse_switch(s: &str) -> anyhow::Result<Value> {
    let bad = || anyhow::anyhow!("--switch {s:?}: expected LINE=SKU:SPU:UNIT_PRICE");
    let (line, rest) = s.split_once('=').ok_or_else(bad)?;
    let mut parts = rest.split(':');
    let (Some(sku), Some(spu), Some(price), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let unit_price: i64 = price.parse().map_err(|_| bad())?;
    Ok(json!({"line": line, "sku": sku, "spu": spu, "unit_price": unit_price}))
}
