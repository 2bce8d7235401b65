//! `plaza coupon`: a merchant's or agency's claimed coupons from the command line —
//! define a template, claim one for a buyer (from stock or with an offline code), issue a
//! batch of codes, move a 主播券's stock between live rooms, end claiming, read a
//! template, a claim or a buyer's wallet, and ask which claims a cart can use.

use super::ServerArgs;
use crate::client::escape;
use clap::Subcommand;
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Subcommand)]
pub(super) enum CouponCommand {
    /// Define a template from a JSON file (`POST /v1/coupons`).
    Create {
        #[command(flatten)]
        server: ServerArgs,
        file: PathBuf,
    },
    /// Show a template with what it has handed out.
    Show {
        #[command(flatten)]
        server: ServerArgs,
        template: String,
    },
    /// End claiming a template (claims made stay valid).
    End {
        #[command(flatten)]
        server: ServerArgs,
        template: String,
    },
    /// Claim one for a buyer: from the template's stock, or with `--code`.
    Claim {
        #[command(flatten)]
        server: ServerArgs,
        /// The template (ignored with `--code`, which names its own).
        #[arg(required_unless_present = "code")]
        template: Option<String>,
        /// An offline code to claim instead.
        #[arg(long)]
        code: Option<String>,
        #[arg(long)]
        claim_id: String,
        #[arg(long)]
        buyer: String,
        /// Where the buyer claims it (e.g. live_room).
        #[arg(long)]
        channel: Option<String>,
        #[arg(long)]
        member_tier: Option<String>,
        #[arg(long)]
        new_customer: bool,
    },
    /// Issue a batch of offline codes, each taking one unit of stock.
    Codes {
        #[command(flatten)]
        server: ServerArgs,
        template: String,
        #[arg(long)]
        batch_id: String,
        #[arg(long)]
        count: u32,
    },
    /// Move unclaimed stock of a 主播券 from one live room to another.
    Move {
        #[command(flatten)]
        server: ServerArgs,
        template: String,
        #[arg(long)]
        move_id: String,
        /// The livestreamer whose room gives the units.
        #[arg(long)]
        from: String,
        /// The livestreamer whose room takes them (a new room if it has none).
        #[arg(long)]
        to: String,
        #[arg(long)]
        units: u32,
    },
    /// The buyer's claims usable on a cart (a JSON file), with why not, and the best
    /// combination.
    Usable {
        #[command(flatten)]
        server: ServerArgs,
        plan: String,
        cart: PathBuf,
    },
    /// Show one claim and its state now.
    ShowClaim {
        #[command(flatten)]
        server: ServerArgs,
        claim: String,
    },
    /// A buyer's claims of the caller's coupons (every page).
    Wallet {
        #[command(flatten)]
        server: ServerArgs,
        buyer: String,
    },
}

pub(super) fn coupon(command: CouponCommand) -> anyhow::Result<Value> {
    match command {
        CouponCommand::Create { server, file } => {
            server.client().post_json("/v1/coupons", &json_file(&file)?)
        }
        CouponCommand::Usable { server, plan, cart } => {
            let path = format!("/v1/plans/{}/usable-coupons", escape(&plan));
            server.client().post_json(&path, &json_file(&cart)?)
        }
        CouponCommand::Show { server, template } => server
            .client()
            .get(&format!("/v1/coupons/{}", escape(&template))),
        CouponCommand::End { server, template } => server
            .client()
            .delete(&format!("/v1/coupons/{}", escape(&template))),
        CouponCommand::Claim {
            server,
            template,
            code,
            claim_id,
            buyer,
            channel,
            member_tier,
            new_customer,
        } => {
            let mut body = json!({
                "claim_id": claim_id,
                "buyer": {"id": buyer, "new_customer": new_customer},
            });
            if let Some(tier) = member_tier {
                body["buyer"]["member_tier"] = json!(tier);
            }
            if let Some(channel) = channel {
                body["channel"] = json!(channel);
            }
            let path = match (code, template) {
                (Some(code), _) => format!("/v1/coupon-codes/{}/claims", escape(&code)),
                (None, Some(t)) => format!("/v1/coupons/{}/claims", escape(&t)),
                (None, None) => anyhow::bail!("name a template or a --code"),
            };
            server.client().post_json(&path, &body)
        }
        CouponCommand::Codes {
            server,
            template,
            batch_id,
            count,
        } => {
            let path = format!("/v1/coupons/{}/codes", escape(&template));
            let body = json!({"batch_id": batch_id, "count": count});
            server.client().post_json(&path, &body)
        }
        CouponCommand::Move {
            server,
            template,
            move_id,
            from,
            to,
            units,
        } => {
            let path = format!("/v1/coupons/{}/stock-moves", escape(&template));
            let body = json!({"move_id": move_id, "from": from, "to": to, "units": units});
            server.client().post_json(&path, &body)
        }
        CouponCommand::ShowClaim { server, claim } => server
            .client()
            .get(&format!("/v1/coupon-claims/{}", escape(&claim))),
        CouponCommand::Wallet { server, buyer } => {
            let path = format!("/v1/buyers/{}/coupons", escape(&buyer));
            server.client().every_item(&path, None)
        }
    }
}

pub(super) fn json_file(file: &std::path::Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{} is not JSON: {e}", file.display()))
}
