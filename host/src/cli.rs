//! The `plaza` command line: serve the API, act on a running server (upload, apply,
//! quote), or quote locally without a server (demo, eval).

use crate::client::Client;
use crate::config::Config;
use crate::executor::{self, Cart, Plan};
use crate::sandbox::{ArtifactCache, Limits, Plugin, Sandbox};
use crate::{examples, server};
use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

mod affiliations;
mod coupons;
mod gifts;
mod grants;
mod help;
mod incentives;
mod market;
mod plans;
mod plaza;
mod points;
mod scaffold;
mod shadow;

#[derive(Parser)]
#[command(
    name = "plaza",
    version,
    about = "Promotion, pricing and commission rules in a wasm sandbox"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API on the embedded sled store.
    Serve(ServeArgs),
    /// Who the key stands for on a running server: its tenant and role, or its
    /// beneficiary.
    Whoami {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Upload a plugin component to a running server.
    Upload {
        #[command(flatten)]
        server: ServerArgs,
        /// The component (`target/plaza-plugins/components/<name>.wasm`).
        file: PathBuf,
        /// List it on the plaza for other tenants' plans.
        #[arg(long)]
        shared: bool,
    },
    /// Save a plan file as the plan's next version on a running server.
    Apply {
        #[command(flatten)]
        server: ServerArgs,
        /// Plan JSON file.
        file: PathBuf,
        /// Make the new version active.
        #[arg(long)]
        activate: bool,
    },
    /// Make a plan version active, now or at a time (`--at-ms`); deactivate a plan
    /// (no `--version`); or cancel its scheduled activation.
    Activate(plans::ActivateArgs),
    /// Quote a cart file through a plan's active version on a running server.
    Quote {
        #[command(flatten)]
        server: ServerArgs,
        /// The plan id.
        #[arg(long)]
        plan: String,
        /// Cart JSON file.
        #[arg(long)]
        cart: PathBuf,
    },
    /// Report what happened to an order (paid, shipped, received) on a running server;
    /// sending the same event id again is answered with the event as first applied.
    Event {
        #[command(flatten)]
        server: ServerArgs,
        /// The order id.
        order: String,
        /// paid, shipped or received.
        #[arg(long = "type")]
        kind: String,
        /// The event's idempotency key within the order.
        #[arg(long)]
        event_id: String,
        /// When it happened (ms since the Unix epoch) [default: now].
        #[arg(long)]
        at_ms: Option<i64>,
    },
    /// Show the tenant's order settings on a running server, or change them.
    Settings {
        #[command(flatten)]
        server: ServerArgs,
        /// A placed order unpaid this long expires (ms, a minute to 7 days).
        #[arg(long)]
        payment_timeout_ms: Option<i64>,
        /// A received order completes this long after receipt (ms, 0 to 90 days).
        #[arg(long)]
        after_sale_ms: Option<i64>,
        /// The merchant's time zone, minutes east of UTC (480: UTC+8), for daily hours.
        #[arg(long, allow_hyphen_values = true)]
        utc_offset_minutes: Option<i32>,
        /// A gift order's recipients have this long to accept (ms, an hour to 7 days).
        #[arg(long)]
        gift_accept_ms: Option<i64>,
    },
    /// An agency's promoters and creators: invite, accept, suspend, reinstate, unbind, show.
    #[command(subcommand)]
    Promoter(market::PromoterCommand),
    /// Record that a buyer opened a promoter's share link.
    Touch(market::TouchArgs),
    /// A merchant's offers to agencies on the plaza.
    #[command(subcommand)]
    Offer(plaza::OfferCommand),
    /// An agency's pools on the plaza: publish, join, leave, find.
    #[command(subcommand)]
    Pool(plaza::PoolCommand),
    /// Show the tenant's attribution settings, or change them.
    Attribution(market::AttributionArgs),
    /// Grant a service provider access in one role (author or checkout), or revoke it.
    Grant(grants::GrantArgs),
    /// Invite a promoter agency to sell the agency's goods on the plaza, or end it.
    Affiliate(affiliations::AffiliateArgs),
    /// Accept an agency's invitation to sell its goods, or end the affiliation.
    Affiliation(affiliations::AffiliationArgs),
    /// Claimed coupons: templates, claims, offline codes, a buyer's wallet.
    #[command(subcommand)]
    Coupon(coupons::CouponCommand),
    /// Invite-to-help (助力) campaigns: start one, initiations, helps, progress.
    #[command(subcommand)]
    HelpCampaign(help::HelpCommand),
    /// Member points: the program's terms, a buyer's account, grants.
    #[command(subcommand)]
    Points(points::PointsCommand),
    /// Gift orders (送礼): a recipient accepted (perhaps switching SKU) or declined.
    #[command(subcommand)]
    Gift(gifts::GiftCommand),
    /// GMV incentive events: start one, register, review, report facts, progress.
    #[command(subcommand)]
    Incentive(incentives::IncentiveCommand),
    /// Show which quotes are kept for shadow runs, or change it.
    Recording(shadow::RecordingArgs),
    /// Run a candidate plan version over the plan's recorded carts and report the
    /// difference it would have made (nothing is written). Also `plaza replay`.
    #[command(alias = "replay")]
    Shadow(shadow::ShadowArgs),
    /// Run a candidate version next to live traffic on the recorded quotes (`--version`),
    /// stop it (`--off`), or show what it would have changed so far.
    LiveShadow(shadow::LiveShadowArgs),
    /// Write rules: scaffold a rule crate anywhere (`new`), build and check it (`build`), run
    /// its fixtures in the sandbox (`test`).
    #[command(subcommand)]
    Plugin(scaffold::PluginCommand),
    /// Pay out every settleable commission share up to a time (a settlement run; running
    /// the same id again answers the same run and pays nothing twice).
    Settle {
        #[command(flatten)]
        server: ServerArgs,
        /// The run's idempotency key.
        #[arg(long)]
        settlement_id: String,
        /// Settle shares that became settleable at or before (ms since the Unix epoch)
        /// [default: now].
        #[arg(long)]
        until_ms: Option<i64>,
    },
    /// Show one settlement run.
    Settlement {
        #[command(flatten)]
        server: ServerArgs,
        id: String,
    },
    /// A beneficiary's balance: pending, settleable, carried and paid out, by merchant.
    Balance {
        #[command(flatten)]
        server: ServerArgs,
        beneficiary: String,
    },
    /// The merchant's report over a range: GMV, refunds, discount cost by step and funder,
    /// commission by party and beneficiary.
    Report {
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        range: Range,
    },
    /// Each party's gross received, paid on and net kept on one order.
    Parties {
        #[command(flatten)]
        server: ServerArgs,
        order: String,
    },
    /// Issue a beneficiary its own key (the operator's), to read its balance and
    /// statements across merchants.
    BeneficiaryKey {
        #[command(flatten)]
        server: ServerArgs,
        beneficiary: String,
        /// A label for people.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List orders on a running server, oldest first, one page at a time.
    Orders {
        #[command(flatten)]
        server: ServerArgs,
        /// Only orders with this status (placed, partially_refunded, refunded, cancelled).
        #[arg(long)]
        status: Option<String>,
        /// Only this buyer's orders.
        #[arg(long)]
        buyer: Option<String>,
        /// Only orders attributed to this promoter.
        #[arg(long)]
        promoter: Option<String>,
        /// Only orders priced by this plan.
        #[arg(long)]
        plan: Option<String>,
        /// Placed at or after (ms since the Unix epoch).
        #[arg(long)]
        from_ms: Option<i64>,
        /// Placed before (ms since the Unix epoch).
        #[arg(long)]
        until_ms: Option<i64>,
        /// Orders per page.
        #[arg(long)]
        limit: Option<usize>,
        /// The `next` cursor of the previous page.
        #[arg(long)]
        after: Option<String>,
    },
    /// List plugins, plans, a plan's versions, an order's ledger, a tenant's keys or the
    /// tenants on a running server, one page at a time (or every page with `--all`).
    List {
        #[command(flatten)]
        server: ServerArgs,
        #[command(subcommand)]
        what: Listing,
        /// Items per page.
        #[arg(long, global = true)]
        limit: Option<usize>,
        /// The `next` cursor of the previous page.
        #[arg(long, global = true)]
        after: Option<String>,
        /// Follow `next` to the end and print every item.
        #[arg(long, global = true)]
        all: bool,
    },
    /// Print the API's OpenAPI document (what `/openapi.json` serves), to generate a client.
    Openapi,
    /// Quote the demo cart through the demo plan locally, without a server, and print it.
    Demo,
    /// Quote a cart through a plan file locally, without a server.
    Eval {
        /// Plan JSON file.
        #[arg(long)]
        plan: PathBuf,
        /// Cart JSON file.
        #[arg(long)]
        cart: PathBuf,
        /// Plugin components to load (default: the example plugins).
        #[arg(long = "plugin")]
        plugins: Vec<PathBuf>,
        /// Directory for compiled plugin artifacts.
        #[arg(long)]
        cache: Option<PathBuf>,
    },
    /// Compile one component from stdin to stdout under memory and CPU limits (the server
    /// runs this; see `plaza::sandbox::worker`).
    #[command(hide = true)]
    CompileWorker {
        /// The worker's arguments, as JSON.
        args: String,
    },
}

/// The lists `plaza list` reads.
#[derive(Subcommand)]
enum Listing {
    /// The tenant's plugins and every shared one.
    Plugins,
    /// The tenant's plans.
    Plans,
    /// One plan's versions.
    Versions { plan: String },
    /// One order's ledger entries.
    Ledger { order: String },
    /// A tenant's keys (its admin's or the operator's).
    Keys { tenant: String },
    /// Every tenant (the operator's).
    Tenants,
    /// The quotes kept for shadow runs.
    Recordings,
    /// The tenant's settlement runs.
    Settlements,
    /// The statements of one settlement run.
    SettlementStatements { settlement: String },
    /// A beneficiary's statements (from every merchant with its own key).
    Statements { beneficiary: String },
    /// The agency's promoters and creators.
    Promoters,
    /// A buyer's touches at the merchant, oldest first.
    Touches { buyer: String },
    /// The merchant's offers.
    Offers,
    /// The offers an agency may carry.
    PlazaOffers,
    /// The pools an agency joined.
    Memberships,
    /// The helper agencies of one of the agency's pools.
    PoolMembers { pool: String },
    /// The orders an agency carried or helped with, as it sees them.
    PlazaOrders,
    /// The service providers the tenant granted access.
    Grants,
    /// The tenants that granted the calling provider access.
    Clients,
    /// The promoter agencies an agency invited to sell its goods.
    Affiliates,
    /// The agencies whose goods an agency's promoters sell.
    Affiliations,
    /// The tenant's coupon templates.
    Coupons,
    /// The tenant's invite-to-help campaigns.
    HelpCampaigns,
    /// A buyer's points ledger with the merchant, oldest first.
    PointsLedger { buyer: String },
}

impl Listing {
    fn path(&self) -> String {
        use crate::client::escape;
        match self {
            Listing::Plugins => "/v1/plugins".into(),
            Listing::Plans => "/v1/plans".into(),
            Listing::Versions { plan } => format!("/v1/plans/{}/versions", escape(plan)),
            Listing::Ledger { order } => format!("/v1/orders/{}/ledger", escape(order)),
            Listing::Keys { tenant } => format!("/v1/tenants/{}/keys", escape(tenant)),
            Listing::Tenants => "/v1/tenants".into(),
            Listing::Recordings => "/v1/recordings".into(),
            Listing::Settlements => "/v1/settlements".into(),
            Listing::SettlementStatements { settlement } => {
                format!("/v1/settlements/{}/statements", escape(settlement))
            }
            Listing::Statements { beneficiary } => {
                format!("/v1/beneficiaries/{}/statements", escape(beneficiary))
            }
            Listing::Promoters => "/v1/promoters".into(),
            Listing::Touches { buyer } => format!("/v1/buyers/{}/touches", escape(buyer)),
            Listing::Offers => "/v1/offers".into(),
            Listing::PlazaOffers => "/v1/plaza/offers".into(),
            Listing::Memberships => "/v1/memberships".into(),
            Listing::PoolMembers { pool } => format!("/v1/pools/{}/members", escape(pool)),
            Listing::PlazaOrders => "/v1/plaza/orders".into(),
            Listing::Grants => "/v1/grants".into(),
            Listing::Clients => "/v1/clients".into(),
            Listing::Affiliates => "/v1/plaza/affiliates".into(),
            Listing::Affiliations => "/v1/plaza/affiliations".into(),
            Listing::Coupons => "/v1/coupons".into(),
            Listing::HelpCampaigns => "/v1/help-campaigns".into(),
            Listing::PointsLedger { buyer } => {
                format!("/v1/buyers/{}/points/ledger", escape(buyer))
            }
        }
    }
}

#[derive(Args)]
struct ServeArgs {
    /// TOML configuration file; flags and environment variables override it.
    #[arg(long, env = "PLAZA_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "PLAZA_LISTEN")]
    listen: Option<SocketAddr>,
    /// Data directory (sled store and compiled artifacts) [default: plaza-data].
    #[arg(long, env = "PLAZA_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The store: a `postgres://…` connection string for PostgreSQL [default: sled in the
    /// data directory].
    #[arg(long, env = "PLAZA_STORE", hide_env_values = true)]
    store: Option<String>,
    /// The operator key, which creates tenants.
    #[arg(long, env = "PLAZA_OPERATOR_KEY", hide_env_values = true)]
    operator_key: Option<String>,
    /// Set up a demo tenant with the example plugins and the demo plan active; its admin
    /// key is written to `<data-dir>/demo.key`.
    #[arg(long)]
    demo: bool,
}

#[derive(Args)]
struct ServerArgs {
    /// The server's base URL.
    #[arg(long, env = "PLAZA_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// API key.
    #[arg(long, env = "PLAZA_KEY", hide_env_values = true)]
    key: String,
    /// With a service provider's key: the client (merchant or agency) to act for, in the
    /// role it granted.
    #[arg(long = "for", env = "PLAZA_TENANT")]
    act_for: Option<String>,
}

impl ServerArgs {
    fn client(self) -> Client {
        Client {
            server: self.server,
            key: self.key,
            act_for: self.act_for,
        }
    }
}

/// Parse the arguments and run the command.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::CompileWorker { args } => {
            let args: crate::sandbox::worker::WorkerArgs =
                serde_json::from_str(&args).context("compile worker arguments")?;
            std::process::exit(crate::sandbox::worker::run(&args));
        }
        Command::Serve(args) => serve(args),
        Command::Upload {
            server,
            file,
            shared,
        } => print(server.client().upload(&file, shared)?),
        Command::Apply {
            server,
            file,
            activate,
        } => print(server.client().apply(&file, activate)?),
        Command::Activate(args) => print(plans::activate(args)?),
        Command::Quote { server, plan, cart } => print(server.client().quote(&plan, &cart)?),
        Command::Whoami { server } => print(server.client().get("/v1/me")?),
        Command::Settings {
            server,
            payment_timeout_ms,
            after_sale_ms,
            utc_offset_minutes,
            gift_accept_ms,
        } => print(server.client().settings(
            "/v1/settings/orders",
            &[
                ("payment_timeout_ms", payment_timeout_ms.map(Into::into)),
                ("after_sale_ms", after_sale_ms.map(Into::into)),
                ("utc_offset_minutes", utc_offset_minutes.map(Into::into)),
                ("gift_accept_ms", gift_accept_ms.map(Into::into)),
            ],
        )?),
        Command::Promoter(command) => print(market::promoter(command)?),
        Command::Touch(args) => print(market::touch(args)?),
        Command::Offer(command) => print(plaza::offer(command)?),
        Command::Pool(command) => print(plaza::pool(command)?),
        Command::Attribution(args) => print(market::attribution(args)?),
        Command::Grant(args) => print(grants::grant(args)?),
        Command::Affiliate(args) => print(affiliations::affiliate(args)?),
        Command::Affiliation(args) => print(affiliations::affiliation(args)?),
        Command::Coupon(command) => print(coupons::coupon(command)?),
        Command::HelpCampaign(command) => print(help::help_campaign(command)?),
        Command::Points(command) => print(points::points(command)?),
        Command::Gift(command) => print(gifts::gift(command)?),
        Command::Incentive(command) => print(incentives::incentive(command)?),
        Command::Plugin(command) => print(scaffold::plugin(command)?),
        Command::Recording(args) => print(shadow::recording(args)?),
        Command::Shadow(args) => print(shadow::shadow(args)?),
        Command::LiveShadow(args) => print(shadow::live_shadow(args)?),
        Command::Settle {
            server,
            settlement_id,
            until_ms,
        } => {
            let until_ms = until_ms.unwrap_or_else(now_ms);
            let body = serde_json::json!({"settlement_id": settlement_id, "until_ms": until_ms});
            print(server.client().post_json("/v1/settlements", &body)?)
        }
        Command::Settlement { server, id } => {
            let path = format!("/v1/settlements/{}", crate::client::escape(&id));
            print(server.client().get(&path)?)
        }
        Command::Balance {
            server,
            beneficiary,
        } => {
            let who = crate::client::escape(&beneficiary);
            print(
                server
                    .client()
                    .get(&format!("/v1/beneficiaries/{who}/balance"))?,
            )
        }
        Command::Report { server, range } => {
            let path = format!("/v1/reports/summary?{}", range.query());
            print(server.client().get(&path)?)
        }
        Command::Parties { server, order } => {
            let order = crate::client::escape(&order);
            print(
                server
                    .client()
                    .get(&format!("/v1/orders/{order}/parties"))?,
            )
        }
        Command::BeneficiaryKey {
            server,
            beneficiary,
            name,
        } => {
            let who = crate::client::escape(&beneficiary);
            let body = serde_json::json!({ "name": name });
            print(
                server
                    .client()
                    .post_json(&format!("/v1/beneficiaries/{who}/keys"), &body)?,
            )
        }
        Command::Event {
            server,
            order,
            kind,
            event_id,
            at_ms,
        } => {
            let at_ms = at_ms.unwrap_or_else(now_ms);
            let body = serde_json::json!({"event_id": event_id, "type": kind, "at_ms": at_ms});
            print(server.client().order_event(&order, &body)?)
        }
        Command::Orders {
            server,
            status,
            buyer,
            promoter,
            plan,
            from_ms,
            until_ms,
            limit,
            after,
        } => {
            let mut query = form_urlencoded::Serializer::new(String::new());
            for (name, value) in [
                ("status", status),
                ("buyer", buyer),
                ("promoter", promoter),
                ("plan", plan),
                ("from_ms", from_ms.map(|v| v.to_string())),
                ("until_ms", until_ms.map(|v| v.to_string())),
                ("limit", limit.map(|v| v.to_string())),
                ("after", after),
            ] {
                if let Some(value) = value {
                    query.append_pair(name, &value);
                }
            }
            print(server.client().orders(&query.finish())?)
        }
        Command::List {
            server,
            what,
            limit,
            after,
            all,
        } => {
            let client = server.client();
            let path = what.path();
            if all {
                print(client.every_item(&path, limit)?)
            } else {
                print(client.page(&path, limit, after.as_deref())?)
            }
        }
        Command::Openapi => print(crate::api::openapi_document()),
        Command::Demo => {
            let sandbox = Sandbox::new(Limits::default(), None)?;
            let plugins = examples::load_examples(&sandbox)?;
            print_quote(
                &sandbox,
                &plugins,
                &examples::demo_plan(),
                &examples::demo_cart(),
            )
        }
        Command::Eval {
            plan,
            cart,
            plugins,
            cache,
        } => {
            let cache = cache.map(ArtifactCache::new).transpose()?;
            let sandbox = Sandbox::new(Limits::default(), cache)?;
            let plugins = if plugins.is_empty() {
                examples::load_examples(&sandbox)?
            } else {
                plugins
                    .iter()
                    .map(|path| {
                        let bytes = std::fs::read(path)
                            .with_context(|| format!("reading {}", path.display()))?;
                        sandbox
                            .load(&bytes)
                            .with_context(|| format!("loading {}", path.display()))
                    })
                    .collect::<anyhow::Result<_>>()?
            };
            let plan: Plan = read_json(&plan)?;
            let cart: Cart = read_json(&cart)?;
            print_quote(&sandbox, &plugins, &plan, &cart)
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sled=warn,cranelift=warn,wasmtime=warn".into()),
        )
        .init();
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    if let Some(store) = args.store {
        config.store = Some(store);
    }
    if let Some(key) = args.operator_key {
        config.operator_key = Some(key);
    }
    config.demo |= args.demo;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(server::serve(config))
}

/// The system clock's time (the command line's default for "now").
/// The orders a report covers, by the time they were placed.
#[derive(Args)]
struct Range {
    /// Orders placed at or after (ms since the Unix epoch).
    #[arg(long)]
    from_ms: Option<i64>,
    /// Orders placed before (ms since the Unix epoch).
    #[arg(long)]
    until_ms: Option<i64>,
}

impl Range {
    /// As a query string (either end may be absent).
    fn query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [("from_ms", self.from_ms), ("until_ms", self.until_ms)] {
            if let Some(value) = value {
                query.append_pair(name, &value.to_string());
            }
        }
        query.finish()
    }
}

fn now_ms() -> i64 {
    use crate::clock::Clock as _;
    crate::clock::SystemClock.now_ms()
}

fn print(value: serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

fn read_json<T: serde::de::DeserializeOwned>(path: &PathBuf) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn print_quote(
    sandbox: &Sandbox,
    plugins: &[Plugin],
    plan: &Plan,
    cart: &Cart,
) -> anyhow::Result<()> {
    let prepared = executor::prepare(plan, sandbox, |r| {
        examples::find(plugins, &r.name, &r.version)
    })?;
    let quote = executor::quote(sandbox, &prepared, cart)?;
    println!("{}", serde_json::to_string_pretty(&quote)?);
    Ok(())
}
