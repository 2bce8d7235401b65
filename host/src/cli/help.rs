//! `plaza help-campaign`: invite-to-help (助力) from the command line — start a campaign,
//! start a buyer's initiation, record a help, and read a campaign or an initiation.

use super::ServerArgs;
use crate::client::escape;
use clap::Subcommand;
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Subcommand)]
pub(super) enum HelpCommand {
    /// Start a campaign from a JSON file (`POST /v1/help-campaigns`).
    Create {
        #[command(flatten)]
        server: ServerArgs,
        file: PathBuf,
    },
    /// Show a campaign with its counts.
    Show {
        #[command(flatten)]
        server: ServerArgs,
        campaign: String,
    },
    /// Start a buyer's initiation.
    Initiate {
        #[command(flatten)]
        server: ServerArgs,
        campaign: String,
        #[arg(long)]
        buyer: String,
        #[arg(long)]
        member_tier: Option<String>,
        #[arg(long)]
        new_customer: bool,
    },
    /// Record that a helper helped an initiation.
    RecordHelp {
        #[command(flatten)]
        server: ServerArgs,
        campaign: String,
        /// The initiating buyer.
        initiator: String,
        #[arg(long)]
        helper: String,
        #[arg(long)]
        new_customer: bool,
    },
    /// Show an initiation's progress.
    Progress {
        #[command(flatten)]
        server: ServerArgs,
        campaign: String,
        buyer: String,
    },
}

pub(super) fn help_campaign(command: HelpCommand) -> anyhow::Result<Value> {
    match command {
        HelpCommand::Create { server, file } => {
            let body = super::coupons::json_file(&file)?;
            server.client().post_json("/v1/help-campaigns", &body)
        }
        HelpCommand::Show { server, campaign } => server
            .client()
            .get(&format!("/v1/help-campaigns/{}", escape(&campaign))),
        HelpCommand::Initiate {
            server,
            campaign,
            buyer,
            member_tier,
            new_customer,
        } => {
            let mut body = json!({"buyer": {"id": buyer, "new_customer": new_customer}});
            if let Some(tier) = member_tier {
                body["buyer"]["member_tier"] = json!(tier);
            }
            let path = format!("/v1/help-campaigns/{}/initiations", escape(&campaign));
            server.client().post_json(&path, &body)
        }
        HelpCommand::RecordHelp {
            server,
            campaign,
            initiator,
            helper,
            new_customer,
        } => {
            let path = format!(
                "/v1/help-campaigns/{}/initiations/{}/helps",
                escape(&campaign),
                escape(&initiator)
            );
            let body = json!({"helper": {"id": helper, "new_customer": new_customer}});
            server.client().post_json(&path, &body)
        }
        HelpCommand::Progress {
            server,
            campaign,
            buyer,
        } => server.client().get(&format!(
            "/v1/help-campaigns/{}/initiations/{}",
            escape(&campaign),
            escape(&buyer)
        )),
    }
}
