//! The HTTP API: JSON over HTTP on axum. A thin layer: each handler authenticates the
//! caller, parses its input strictly (unknown fields refused, the offending field named)
//! and calls one [`Plaza`] method.
//!
//! [`app`] builds the router, so tests can drive it directly; `server` serves it.

mod affiliations;
mod conditional;
mod console;
mod coupons;
mod error;
mod extract;
mod grants;
mod help;
mod incentives;
pub mod limit;
mod links;
mod market;
mod openapi;
mod ops;
mod orders;
mod plans;
mod plaza;
mod plugins;
mod points;
mod samples;
mod settings;
mod settlements;
mod shadow;
mod strict;
mod tenants;

pub use error::{ApiError, ErrorBody, ErrorInfo};
pub use extract::{Body, Caller, PathParams};
pub use openapi::document as openapi_document;

use crate::domain::{Plaza, Startup};
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;
use tower_http::trace::TraceLayer;

/// What every handler shares.
#[derive(Debug)]
pub struct App {
    pub plaza: Arc<Plaza>,
    /// Per-tenant request rates.
    pub limiter: limit::Limiter,
    /// What loading the store found, reported by `/readyz`.
    pub startup: Startup,
    /// Set at shutdown: `/readyz` answers 503 so balancers stop sending new work while
    /// in-flight requests finish.
    pub draining: AtomicBool,
}

pub type AppState = Arc<App>;

/// 201 for what a call created, 200 for an identical repeat that created nothing.
fn created_or_ok(created: bool) -> axum::http::StatusCode {
    if created {
        axum::http::StatusCode::CREATED
    } else {
        axum::http::StatusCode::OK
    }
}

/// A `Location` header for a created resource, from its path segments (each escaped).
fn location(segments: &[&str]) -> axum::http::HeaderMap {
    let mut path = String::new();
    for segment in segments {
        path.push('/');
        path.extend(percent_encoding::utf8_percent_encode(segment, SEGMENT));
    }
    let mut headers = axum::http::HeaderMap::new();
    if let Ok(value) = axum::http::HeaderValue::from_str(&path) {
        headers.insert(axum::http::header::LOCATION, value);
    }
    headers
}

/// What a path segment must escape (RFC 3986: everything but unreserved characters and a
/// few sub-delimiters).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'@');

/// The router: every route, the body limit, tracing and request metrics.
pub fn app(state: AppState, max_body_bytes: usize) -> Router {
    // An upload may be a large plugin (a JavaScript rule carries its engine); a little more
    // than the largest lets the sandbox refuse one just over its limit itself, naming it.
    let large = state.plaza.sandbox.limits().large.max_module_bytes;
    let upload_bytes = max_body_bytes.max(large.saturating_add(64 * 1024));
    let api = Router::new()
        .route("/v1/me", get(tenants::me))
        .route("/v1/tenants", post(tenants::create).get(tenants::list))
        .route(
            "/v1/tenants/{tenant}/keys",
            post(tenants::create_key).get(tenants::list_keys),
        )
        .route(
            "/v1/plugins",
            post(plugins::upload)
                .layer(DefaultBodyLimit::max(upload_bytes))
                .get(plugins::list),
        )
        .route("/v1/plugin-stats", get(plugins::stats))
        .route(
            "/v1/plugins/{name}/{version}",
            get(plugins::describe).delete(plugins::delete),
        )
        .route("/v1/plans", post(plans::save).get(plans::list))
        .route("/v1/plans/{plan}", get(plans::head))
        .route("/v1/plans/{plan}/versions", get(plans::versions))
        .route("/v1/plans/{plan}/versions/{version}", get(plans::version))
        .route("/v1/plans/{plan}/activate", post(plans::activate))
        .route(
            "/v1/plans/{plan}/scheduled-activation",
            axum::routing::delete(plans::cancel_schedule),
        )
        .route("/v1/plans/{plan}/rollback", post(plans::rollback))
        .route("/v1/plans/{plan}/diff", get(plans::diff))
        .route("/v1/plans/{plan}/budgets", get(plans::budgets))
        .route("/v1/plans/{plan}/quote", post(plans::quote))
        .route("/v1/plans/{plan}/usable-coupons", post(coupons::usable))
        .route("/v1/orders", post(orders::commit).get(orders::list))
        .route("/v1/orders/{order}", get(orders::get))
        .route("/v1/orders/{order}/ledger", get(orders::ledger))
        .route("/v1/orders/{order}/parties", get(orders::parties))
        .route("/v1/orders/{order}/events", post(orders::event))
        .route("/v1/orders/{order}/cancel", post(orders::cancel))
        .route(
            "/v1/orders/{order}/gift/{recipient}/accept",
            post(orders::accept_gift),
        )
        .route(
            "/v1/orders/{order}/gift/{recipient}/decline",
            post(orders::decline_gift),
        )
        .route("/v1/orders/{order}/refunds", post(orders::refund))
        .route(
            "/v1/settlements",
            post(settlements::run).get(settlements::list),
        )
        .route("/v1/settlements/{settlement}", get(settlements::get))
        .route(
            "/v1/settlements/{settlement}/statements",
            get(settlements::statements),
        )
        .route(
            "/v1/beneficiaries/{beneficiary}/balance",
            get(settlements::balance),
        )
        .route(
            "/v1/beneficiaries/{beneficiary}/statements",
            get(settlements::beneficiary_statements),
        )
        .route(
            "/v1/beneficiaries/{beneficiary}/keys",
            post(settlements::create_key),
        )
        .route("/v1/reports/summary", get(settlements::report))
        .route(
            "/v1/settings/orders",
            get(settings::get_orders).put(settings::set_orders),
        )
        .route(
            "/v1/settings/recording",
            get(shadow::get_settings).put(shadow::set_settings),
        )
        .route("/v1/recordings", get(shadow::list))
        .route("/v1/plans/{plan}/shadow", post(shadow::shadow))
        .route(
            "/v1/plans/{plan}/live-shadow",
            get(shadow::live_report).put(shadow::set_live),
        )
        .route(
            "/v1/settings/points",
            get(points::get_settings).put(points::set_settings),
        )
        .route("/v1/buyers/{buyer}/points", get(points::account))
        .route("/v1/buyers/{buyer}/points/ledger", get(points::ledger))
        .route("/v1/buyers/{buyer}/points/grants", post(points::grant))
        .route("/v1/promoters", post(market::invite).get(market::list))
        .route(
            "/v1/promoters/{promoter}",
            get(market::get).delete(market::unbind),
        )
        .route("/v1/promoters/{promoter}/accept", post(market::accept))
        .route("/v1/promoters/{promoter}/suspend", post(market::suspend))
        .route(
            "/v1/promoters/{promoter}/reinstate",
            post(market::reinstate),
        )
        .route("/v1/touches", post(market::record_touch))
        .route("/v1/touches/{touch}", get(market::touch))
        .route("/v1/buyers/{buyer}/touches", get(market::buyer_touches))
        .route(
            "/v1/settings/attribution",
            get(market::get_settings).put(market::set_settings),
        )
        .route("/v1/offers", get(plaza::list_offers))
        .route("/v1/offers/{offer}", put(plaza::save_offer))
        .route("/v1/pools/{pool}", put(plaza::save_pool))
        .route("/v1/pools/{pool}/members", get(plaza::pool_members))
        .route("/v1/plaza/offers", get(plaza::plaza_offers))
        .route("/v1/plaza/pools", get(plaza::plaza_pools))
        .route("/v1/plaza/pools/{carrier}/{pool}", get(plaza::plaza_pool))
        .route(
            "/v1/plaza/pools/{carrier}/{pool}/members",
            post(plaza::join).delete(plaza::leave),
        )
        .route("/v1/memberships", get(plaza::memberships))
        .route("/v1/plaza/report", get(plaza::report))
        .route("/v1/plaza/orders", get(plaza::orders))
        .route("/v1/plaza/orders/{merchant}/{order}", get(plaza::order))
        .route("/v1/plaza/affiliates", get(affiliations::affiliates))
        .route(
            "/v1/plaza/affiliates/{agency}",
            put(affiliations::invite).delete(affiliations::end_affiliate),
        )
        .route("/v1/plaza/affiliations", get(affiliations::affiliations))
        .route(
            "/v1/plaza/affiliations/{upstream}",
            put(affiliations::accept).delete(affiliations::end_affiliation),
        )
        .route("/v1/coupons", get(coupons::list).post(coupons::create))
        .route(
            "/v1/coupons/{template}",
            get(coupons::get).delete(coupons::end),
        )
        .route("/v1/coupons/{template}/claims", post(coupons::claim))
        .route("/v1/coupons/{template}/codes", post(coupons::codes))
        .route(
            "/v1/coupons/{template}/stock-moves",
            post(coupons::move_stock),
        )
        .route("/v1/coupon-codes/{code}/claims", post(coupons::claim_code))
        .route("/v1/coupon-claims/{claim}", get(coupons::get_claim))
        .route("/v1/help-campaigns", get(help::list).post(help::create))
        .route("/v1/help-campaigns/{campaign}", get(help::get))
        .route(
            "/v1/help-campaigns/{campaign}/initiations",
            post(help::initiate),
        )
        .route(
            "/v1/help-campaigns/{campaign}/initiations/{buyer}",
            get(help::progress),
        )
        .route(
            "/v1/help-campaigns/{campaign}/initiations/{buyer}/helps",
            post(help::help),
        )
        .route("/v1/buyers/{buyer}/coupons", get(coupons::wallet))
        .route("/v1/grants", get(grants::list))
        .route(
            "/v1/grants/{provider}",
            put(grants::grant).delete(grants::revoke),
        )
        .route("/v1/clients", get(grants::clients))
        .route(
            "/v1/incentives",
            post(incentives::create).get(incentives::list),
        )
        .route("/v1/incentives/{event}", get(incentives::get))
        .route(
            "/v1/incentives/{event}/registrations",
            post(incentives::register).get(incentives::registrations),
        )
        .route(
            "/v1/incentives/{event}/registrations/{participant}/review",
            post(incentives::review),
        )
        .route(
            "/v1/incentives/{event}/facts/{participant}",
            put(incentives::facts),
        )
        .route(
            "/v1/incentives/{event}/progress/{participant}",
            get(incentives::progress),
        )
        .route("/healthz", get(ops::health))
        .route("/readyz", get(ops::ready))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .route("/console", get(console::index))
        .route("/console/", get(console::index))
        .route("/console/{*path}", get(console::asset))
        .route_layer(middleware::from_fn_with_state(state.clone(), track))
        .route_layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("", MatchedPath::as_str);
            tracing::info_span!("request", method = %req.method(), route)
        }));
    api.fallback(ops::not_found)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

/// Request count and latency by route and status.
async fn track(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let response = next.run(req).await;
    app.plaza.metrics.request(
        method.as_str(),
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
