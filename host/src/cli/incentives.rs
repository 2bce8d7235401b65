//! `plaza incentive`: GMV incentive events from the command line — start one, list or show
//! them, register, review a registration, report facts, and read a participant's progress.

use super::ServerArgs;
use crate::client::escape;
use clap::Subcommand;
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Subcommand)]
pub(super) enum IncentiveCommand {
    /// Start an event from a JSON file (`POST /v1/incentives`): the operator's key runs a
    /// platform event, a merchant admin's its own.
    Create {
        #[command(flatten)]
        server: ServerArgs,
        file: PathBuf,
    },
    /// List every event.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show an event's terms.
    Show {
        #[command(flatten)]
        server: ServerArgs,
        event: String,
    },
    /// Register the caller (a merchant's or agency's admin, a livestreamer's own key).
    Register {
        #[command(flatten)]
        server: ServerArgs,
        event: String,
    },
    /// List an event's registrations (its owner).
    Registrations {
        #[command(flatten)]
        server: ServerArgs,
        event: String,
    },
    /// Approve or reject a registration (the event's owner).
    Review {
        #[command(flatten)]
        server: ServerArgs,
        event: String,
        participant: String,
        /// Reject instead of approving.
        #[arg(long)]
        reject: bool,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Report facts about a participant, as `name=value` (the event's owner).
    Facts {
        #[command(flatten)]
        server: ServerArgs,
        event: String,
        participant: String,
        #[arg(required = true)]
        facts: Vec<String>,
    },
    /// Show where a participant stands: GMV, tiers, what the next needs, rewards.
    Progress {
        #[command(flatten)]
        server: ServerArgs,
        event: String,
        participant: String,
    },
}

pub(super) fn incentive(command: IncentiveCommand) -> anyhow::Result<Value> {
    match command {
        IncentiveCommand::Create { server, file } => {
            let body = super::coupons::json_file(&file)?;
            server.client().post_json("/v1/incentives", &body)
        }
        IncentiveCommand::List { server } => server.client().get("/v1/incentives"),
        IncentiveCommand::Show { server, event } => server
            .client()
            .get(&format!("/v1/incentives/{}", escape(&event))),
        IncentiveCommand::Register { server, event } => server.client().post_json(
            &format!("/v1/incentives/{}/registrations", escape(&event)),
            &json!({}),
        ),
        IncentiveCommand::Registrations { server, event } => server
            .client()
            .get(&format!("/v1/incentives/{}/registrations", escape(&event))),
        IncentiveCommand::Review {
            server,
            event,
            participant,
            reject,
            reason,
        } => {
            let mut body = json!({"approve": !reject});
            if let Some(reason) = reason {
                body["reason"] = json!(reason);
            }
            let path = format!(
                "/v1/incentives/{}/registrations/{}/review",
                escape(&event),
                escape(&participant)
            );
            server.client().post_json(&path, &body)
        }
        IncentiveCommand::Facts {
            server,
            event,
            participant,
            facts,
        } => {
            let mut reported = serde_json::Map::new();
            for fact in facts {
                let Some((name, value)) = fact.split_once('=') else {
                    anyhow::bail!("a fact is name=value, not {fact:?}");
                };
                let value: i64 = value
                    .parse()
                    .map_err(|_| anyhow::anyhow!("fact {name:?}: {value:?} is not a number"))?;
                reported.insert(name.to_owned(), json!(value));
            }
            let path = format!(
                "/v1/incentives/{}/facts/{}",
                escape(&event),
                escape(&participant)
            );
            server.client().put_json(&path, &json!({"facts": reported}))
        }
        IncentiveCommand::Progress {
            server,
            event,
            participant,
        } => server.client().get(&format!(
            "/v1/incentives/{}/progress/{}",
            escape(&event),
            escape(&participant)
        )),
    }
}
