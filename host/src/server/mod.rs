//! Serving the API: open the store and load the registry and plans, bind, serve until
//! shutdown, then let in-flight requests finish and flush the store.
//!
//! [`run`] takes a bound listener and a shutdown future, so tests bind `127.0.0.1:0` and
//! drive the real server.

mod demo;

pub use demo::{DEMO_KEY_FILE, DEMO_PLAN_ID, DEMO_TENANT, bootstrap_demo};

use crate::api::limit::Limiter;
use crate::api::{self, App, AppState};
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::domain::{Plaza, Settings};
use crate::metrics::Metrics;
use crate::sandbox::{ArtifactCache, Sandbox};
use crate::store::Store;
use anyhow::Context as _;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;

/// Open the data directory and load everything: the state a server runs on, on the
/// system clock.
pub fn open(config: &Config) -> anyhow::Result<AppState> {
    open_with_clock(config, Arc::new(SystemClock))
}

/// [`open`] with the host's time from `clock` (tests move a [`crate::clock::ManualClock`]).
pub fn open_with_clock(config: &Config, clock: SharedClock) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let store = Store::open_configured(config.store.as_deref(), &config.data_dir.join("db"))
        .context("opening the store")?;
    let cache = ArtifactCache::new(config.data_dir.join("artifacts"))
        .context("opening the artifact cache")?;
    let sandbox = Sandbox::new(config.limits.clone(), Some(cache))?;
    let settings = Settings {
        operator_key_sha256: config.operator_key.as_deref().map(crate::domain::key_hash),
        compile_timeout: Duration::from_millis(config.compile_timeout_ms),
        compile_concurrency: config.compile_concurrency,
        compile_worker: match &config.compile_worker {
            Some(path) => path.clone(),
            None => {
                std::env::current_exe().context("locating this executable for compile workers")?
            }
        },
        compile_memory_bytes: config.compile_memory_bytes,
        sync_writes: config.sync_writes,
        breaker: config.breaker.clone(),
        pool: config.pool.clone(),
        quotas: config.quotas.clone(),
    };
    let (plaza, startup) = Plaza::open(
        store,
        sandbox,
        Arc::new(Metrics::new()),
        settings,
        clock.clone(),
    )
    .map_err(|e| anyhow::anyhow!("loading the store: {e}"))?;
    tracing::info!(
        plugins = startup.plugins,
        compiled = startup.compiled,
        active_plans = startup.active_plans,
        millis = startup.millis,
        "loaded"
    );
    Ok(Arc::new(App {
        limiter: Limiter::new(&config.rate_limit, clock),
        plaza,
        startup,
        draining: AtomicBool::new(false),
    }))
}

/// Serve `state` on `listener` until `shutdown` resolves; then stop accepting, let
/// in-flight requests finish (up to the grace period) and flush the store.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let router = api::app(state.clone(), config.max_body_bytes);
    let draining = state.clone();
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        shutdown.await;
        draining.draining.store(true, Ordering::Relaxed);
        let _ = stopped_tx.send(());
    });
    let grace = Duration::from_millis(config.shutdown_grace_ms);
    let ticker = tokio::spawn(fire_timers(
        state.clone(),
        Duration::from_millis(config.timer_tick_ms.max(1)),
    ));
    let follower = tokio::spawn(follow_changes(state.clone()));
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        result = &mut server => result?,
        _ = async {
            let _ = stopped_rx.await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!("in-flight requests outlived the shutdown grace period"),
    }
    ticker.abort();
    let _ = ticker.await;
    follower.abort();
    let _ = follower.await;
    state.plaza.store.flush().await?;
    Ok(())
}

/// Fire due timers every `tick` until the server drains. What is due is the host clock's
/// call, so a test moves its manual clock and the next tick fires what became due.
async fn fire_timers(state: AppState, tick: Duration) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !state.draining.load(Ordering::Relaxed) {
        interval.tick().await;
        match state.plaza.fire_due_timers().await {
            Ok(fired) if fired.fired > 0 => tracing::info!(fired = fired.fired, "timers fired"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "firing timers"),
        }
    }
}

/// Follow the change feed until the server drains: what other hosts on the same database
/// changed in their memory (plans, plugins, coupon templates) reaches this one's.
async fn follow_changes(state: AppState) {
    let every = Duration::from_millis(crate::domain::FOLLOW_MS);
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !state.draining.load(Ordering::Relaxed) {
        interval.tick().await;
        match state.plaza.follow_changes().await {
            Ok(n) if n > 0 => tracing::info!(changes = n, "followed other hosts' changes"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "following the change feed"),
        }
    }
}

/// `plaza serve`: open, bootstrap the demo if asked, bind and serve until Ctrl-C or
/// SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let state = open(&config)?;
    if config.demo {
        bootstrap_demo(&state.plaza, &config.data_dir).await?;
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    tracing::info!(address = %listener.local_addr()?, "serving");
    run(listener, state, &config, shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
