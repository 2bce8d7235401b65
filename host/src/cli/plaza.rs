//! `plaza offer`, `plaza pool` and `plaza pools`: the 二级团 plaza from the command line.

use super::ServerArgs;
use crate::client::escape;
use clap::Subcommand;
use serde_json::{Value, json};

#[derive(Subcommand)]
pub(super) enum OfferCommand {
    /// Open products (by SPU or category) to agencies at a service rate (a merchant).
    Save {
        #[command(flatten)]
        server: ServerArgs,
        id: String,
        #[arg(long = "spu")]
        spus: Vec<String>,
        #[arg(long = "category")]
        categories: Vec<String>,
        /// What the merchant pays the carrying agency (ppm of a carried line's payable).
        #[arg(long)]
        rate_ppm: u32,
        /// Open only to these agencies (default: every agency).
        #[arg(long = "agency")]
        agencies: Vec<String>,
    },
}

#[derive(Subcommand)]
pub(super) enum PoolCommand {
    /// Publish a pool of offers opened to the calling agency.
    Save {
        #[command(flatten)]
        server: ServerArgs,
        id: String,
        #[arg(long)]
        name: String,
        /// An offer, as MERCHANT/OFFER.
        #[arg(long = "item", required = true)]
        items: Vec<String>,
        /// What the agency passes to a helper agency (ppm of what it received).
        #[arg(long)]
        helper_rate_ppm: u32,
        /// Publish only to these agencies (default: every agency).
        #[arg(long = "agency")]
        agencies: Vec<String>,
    },
    /// Join another agency's pool (CARRIER/POOL) as a helper.
    Join {
        #[command(flatten)]
        server: ServerArgs,
        pool: String,
    },
    /// Leave a pool (CARRIER/POOL).
    Leave {
        #[command(flatten)]
        server: ServerArgs,
        pool: String,
    },
    /// What the plaza brought the calling agency, per pool: orders, GMV, commission.
    Report {
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        range: super::Range,
    },
    /// One order the calling agency carried or helped with (MERCHANT/ORDER).
    Order {
        #[command(flatten)]
        server: ServerArgs,
        order: String,
    },
    /// The pools on the plaza the calling agency may see.
    Find {
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long)]
        category: Option<String>,
        #[arg(long)]
        merchant: Option<String>,
        #[arg(long)]
        min_rate_ppm: Option<u32>,
        #[arg(long)]
        text: Option<String>,
    },
}

pub(super) fn offer(command: OfferCommand) -> anyhow::Result<Value> {
    let OfferCommand::Save {
        server,
        id,
        spus,
        categories,
        rate_ppm,
        agencies,
    } = command;
    let body = json!({"spus": spus, "categories": categories, "service_rate_ppm": rate_ppm, "agencies": agencies});
    server
        .client()
        .put_json(&format!("/v1/offers/{}", escape(&id)), &body)
}

/// `CARRIER/POOL` as a path (each part escaped).
fn pool_path(pool: &str) -> anyhow::Result<String> {
    let (carrier, id) = pool
        .split_once('/')
        .ok_or_else(|| anyhow::anyhow!("name the pool as CARRIER/POOL"))?;
    Ok(format!(
        "/v1/plaza/pools/{}/{}",
        escape(carrier),
        escape(id)
    ))
}

pub(super) fn pool(command: PoolCommand) -> anyhow::Result<Value> {
    match command {
        PoolCommand::Save {
            server,
            id,
            name,
            items,
            helper_rate_ppm,
            agencies,
        } => {
            let items = items
                .iter()
                .map(|i| {
                    let (merchant, offer) = i
                        .split_once('/')
                        .ok_or_else(|| anyhow::anyhow!("name an item as MERCHANT/OFFER"))?;
                    Ok(json!({"merchant": merchant, "offer": offer}))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let body = json!({"name": name, "items": items, "helper_rate_ppm": helper_rate_ppm, "agencies": agencies});
            server
                .client()
                .put_json(&format!("/v1/pools/{}", escape(&id)), &body)
        }
        PoolCommand::Join { server, pool } => server
            .client()
            .post_json(&format!("{}/members", pool_path(&pool)?), &json!({})),
        PoolCommand::Leave { server, pool } => {
            server
                .client()
                .delete(&format!("{}/members", pool_path(&pool)?))?;
            Ok(json!({"left": pool}))
        }
        PoolCommand::Report { server, range } => server
            .client()
            .get(&format!("/v1/plaza/report?{}", range.query())),
        PoolCommand::Order { server, order } => {
            let (merchant, id) = order
                .split_once('/')
                .ok_or_else(|| anyhow::anyhow!("name the order as MERCHANT/ORDER"))?;
            let path = format!("/v1/plaza/orders/{}/{}", escape(merchant), escape(id));
            server.client().get(&path)
        }
        PoolCommand::Find {
            server,
            category,
            merchant,
            min_rate_ppm,
            text,
        } => {
            let mut query = form_urlencoded::Serializer::new(String::new());
            for (name, value) in [
                ("category", category),
                ("merchant", merchant),
                ("min_rate_ppm", min_rate_ppm.map(|r| r.to_string())),
                ("text", text),
            ] {
                if let Some(value) = value {
                    query.append_pair(name, &value);
                }
            }
            server
                .client()
                .get(&format!("/v1/plaza/pools?{}", query.finish()))
        }
    }
}
