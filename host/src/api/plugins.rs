//! `/v1/plugins`: upload a component (the body is the `.wasm` file), list, describe,
//! delete.

use super::extract::{Paging, query, raw};
use super::{ApiError, AppState, Caller, ErrorBody, PathParams};
use crate::domain::plugin_stats::PluginUsage;
use crate::domain::{Page, PageQuery, PluginRecord, Visibility};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// `private` (default) or `shared` on the plaza.
    #[serde(default)]
    visibility: Visibility,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DescribeParams {
    /// The owning tenant, for another tenant's shared plugin.
    owner: Option<String>,
}

#[utoipa::path(post, path = "/v1/plugins", operation_id = "upload_plugin", tag = "plugins", security(("bearer" = ["admin", "author"])), params(UploadParams),
    request_body(description = "The component's bytes", content(
        (Vec<u8> = "application/wasm"), (Vec<u8> = "application/octet-stream"))),
    responses(
        (status = 201, body = PluginRecord, description = "Registered"),
        (status = 200, body = PluginRecord, description = "The same bytes were already registered"),
        (status = 409, body = ErrorBody, description = "name@version exists with other bytes"),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn upload(
    State(app): State<AppState>,
    Caller(who): Caller,
    uri: Uri,
    req: Request,
) -> Result<(StatusCode, HeaderMap, Json<PluginRecord>), ApiError> {
    let params: UploadParams = query(&uri)?;
    let bytes = raw(req, &()).await?;
    let (record, created) = app
        .plaza
        .upload_plugin(&who, bytes.to_vec(), params.visibility)
        .await?;
    let location = super::location(&["v1", "plugins", &record.name, &record.version]);
    Ok((super::created_or_ok(created), location, Json(record)))
}

#[utoipa::path(get, path = "/v1/plugins", operation_id = "list_plugins", tag = "plugins", security(("bearer" = ["admin", "author", "checkout"])), params(PageQuery),
    responses((status = 200, body = Page<PluginRecord>, description = "Own plugins and every shared one, by owner, name and version")))]
pub async fn list(
    State(app): State<AppState>,
    Caller(who): Caller,
    Paging(at): Paging,
) -> Result<Json<Page<PluginRecord>>, ApiError> {
    Ok(Json(app.plaza.list_plugins(&who, &at)?))
}

#[utoipa::path(get, path = "/v1/plugins/{name}/{version}", operation_id = "get_plugin", tag = "plugins", security(("bearer" = ["admin", "author", "checkout"])), params(DescribeParams),
    responses((status = 200, body = PluginRecord), (status = 404, body = ErrorBody)))]
pub async fn describe(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams((name, version)): PathParams<(String, String)>,
    uri: Uri,
) -> Result<Json<PluginRecord>, ApiError> {
    let params: DescribeParams = query(&uri)?;
    Ok(Json(app.plaza.plugin_info(
        &who,
        params.owner.as_deref(),
        &name,
        &version,
    )?))
}

#[utoipa::path(delete, path = "/v1/plugins/{name}/{version}", operation_id = "delete_plugin", tag = "plugins", security(("bearer" = ["admin", "author"])),
    responses((status = 204), (status = 409, body = ErrorBody, description = "An active plan uses it")))]
pub async fn delete(
    State(app): State<AppState>,
    Caller(who): Caller,
    PathParams((name, version)): PathParams<(String, String)>,
) -> Result<StatusCode, ApiError> {
    app.plaza.delete_plugin(&who, &name, &version).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/plugin-stats", operation_id = "plugin_stats", tag = "plugins", security(("bearer" = ["admin", "author"])),
    responses((status = 200, body = Vec<PluginUsage>, description = "Each plugin the tenant's quotes ran on the host that answered, since it started: runs, failures by kind, fuel and latency (per host, like `/metrics`)")))]
pub async fn stats(
    State(app): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<Vec<PluginUsage>>, ApiError> {
    Ok(Json(app.plaza.plugin_stats(&who)?))
}
