//! `plaza points`: member points from the command line — the program's terms, a buyer's
//! account, and grants. (`plaza list points-ledger BUYER` pages through the ledger.)

use super::ServerArgs;
use crate::client::escape;
use clap::Subcommand;
use serde_json::{Value, json};

#[derive(Subcommand)]
pub(super) enum PointsCommand {
    /// Show the points program, or change some of its terms.
    Settings {
        #[command(flatten)]
        server: ServerArgs,
        /// Points earned per fen paid, parts per million (10000: a point per yuan).
        #[arg(long)]
        earn_rate_ppm: Option<u32>,
        /// Points of one exchange unit (with --exchange-fen: what they pay).
        #[arg(long)]
        exchange_points: Option<u32>,
        /// Fen one exchange unit pays.
        #[arg(long)]
        exchange_fen: Option<u32>,
        /// The largest share of an order's goods points may pay, parts per million.
        #[arg(long)]
        max_share_ppm: Option<u32>,
        /// Days points stay usable (0: forever).
        #[arg(long)]
        validity_days: Option<u32>,
    },
    /// Show a buyer's points: balance, held, lots.
    Show {
        #[command(flatten)]
        server: ServerArgs,
        buyer: String,
    },
    /// Grant a buyer points (idempotent by grant id).
    Grant {
        #[command(flatten)]
        server: ServerArgs,
        buyer: String,
        #[arg(long)]
        grant_id: String,
        #[arg(long)]
        points: i64,
        /// When they expire (ms since the epoch) [default: the program's validity].
        #[arg(long)]
        expires_ms: Option<i64>,
        #[arg(long)]
        reason: Option<String>,
    },
}

pub(super) fn points(command: PointsCommand) -> anyhow::Result<Value> {
    match command {
        PointsCommand::Settings {
            server,
            earn_rate_ppm,
            exchange_points,
            exchange_fen,
            max_share_ppm,
            validity_days,
        } => {
            let client = server.client();
            let mut terms = client.get("/v1/settings/points")?;
            let changes = [
                ("earn_rate_ppm", earn_rate_ppm),
                ("max_share_ppm", max_share_ppm),
                ("validity_days", validity_days),
            ];
            let exchange = [("points", exchange_points), ("fen", exchange_fen)];
            let changed = changes.iter().chain(&exchange).any(|(_, v)| v.is_some());
            if !changed {
                return Ok(terms);
            }
            for (name, value) in changes {
                if let Some(value) = value {
                    terms[name] = json!(value);
                }
            }
            for (name, value) in exchange {
                if let Some(value) = value {
                    terms["exchange"][name] = json!(value);
                }
            }
            client.put_json("/v1/settings/points", &terms)
        }
        PointsCommand::Show { server, buyer } => server
            .client()
            .get(&format!("/v1/buyers/{}/points", escape(&buyer))),
        PointsCommand::Grant {
            server,
            buyer,
            grant_id,
            points,
            expires_ms,
            reason,
        } => {
            let mut body = json!({"grant_id": grant_id, "points": points});
            if let Some(at) = expires_ms {
                body["expires_ms"] = json!(at);
            }
            if let Some(reason) = reason {
                body["reason"] = json!(reason);
            }
            let path = format!("/v1/buyers/{}/points/grants", escape(&buyer));
            server.client().post_json(&path, &body)
        }
    }
}
