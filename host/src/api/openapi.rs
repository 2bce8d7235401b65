//! The OpenAPI document: generated from the handlers and types, then completed by
//! [`Conventions`] with what every operation shares, so no operation can forget it:
//! its path parameters (with the constraints the server enforces) and the error answers
//! its kind of operation can give (authentication, roles, rate limits, bad paths, bodies
//! and queries, unknown resources, internal errors).

use super::{ErrorBody, ops, orders, plans, plugins, tenants};
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder};

#[derive(OpenApi)]
#[openapi(
    info(title = "Plaza", description = "Promotion, pricing and commission rules in a wasm sandbox. \
        Every request but health, readiness and this document carries `Authorization: Bearer <key>` (the metrics take the operator's key). \
        Errors are `{\"error\": {\"type\", \"message\", \"field\"?, \"detail\"?}}`; match on `type`."),
    paths(
        tenants::create, tenants::list, tenants::create_key, tenants::list_keys,
        plugins::upload, plugins::list, plugins::describe, plugins::delete,
        plans::save, plans::list, plans::head, plans::versions, plans::version, plans::activate, plans::rollback,
        plans::diff, plans::budgets, plans::quote,
        orders::commit, orders::list, orders::get, orders::ledger, orders::cancel, orders::refund,
        ops::health, ops::ready, ops::metrics,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth, &Conventions),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// Completes every operation with what all operations of its kind share.
struct Conventions;

/// The id rule of `domain::check_id`: 1–128 characters, no `/`, no whitespace.
const ID_PATTERN: &str = r"^[^/\s]{1,128}$";

fn path_parameter(path: &str, name: &str) -> utoipa::openapi::path::Parameter {
    let (schema, description) = match name {
        "version" if path.starts_with("/v1/plans/") => (
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Int32,
                )))
                .minimum(Some(0))
                .maximum(Some(u32::MAX))
                .build(),
            "A plan version number",
        ),
        "version" => (
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^[0-9A-Za-z.+-]{1,64}$"))
                .build(),
            "A plugin's semantic version",
        ),
        "name" => (
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^[a-z0-9-]{1,64}$"))
                .build(),
            "A plugin's name",
        ),
        _ => (
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(128))
                .pattern(Some(ID_PATTERN))
                .build(),
            "An id: 1–128 characters without '/' or spaces",
        ),
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn error(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

fn complete(path: &str, op: &mut Operation) {
    let names: Vec<&str> = path
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .collect();
    let params = op.parameters.get_or_insert_with(Vec::new);
    for name in &names {
        let declared = params
            .iter()
            .any(|p| p.name == *name && p.parameter_in == ParameterIn::Path);
        if !declared {
            params.push(path_parameter(path, name));
        }
    }
    let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let public = op.security.as_ref().is_some_and(|s| {
        s.iter()
            .all(|r| serde_json::to_value(r).is_ok_and(|v| v == serde_json::json!({})))
    });
    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error(description).into());
    };
    if !public {
        add("401", "`unauthenticated`: no key, or an unknown one");
        add(
            "403",
            "`forbidden`: the key's role may not do this; `quota_exceeded`",
        );
        add(
            "429",
            "`rate_limited` (the tenant is over its request rate) or `busy`; see `Retry-After`",
        );
    }
    if !names.is_empty() {
        add("404", "`not_found`: no such resource the caller may see");
    }
    if !names.is_empty() || has_query {
        add(
            "400",
            "`bad_path` or `bad_query`: a parameter that does not parse",
        );
    }
    if op.request_body.is_some() {
        add("400", "`malformed_json` (or `bad_path`/`bad_query`)");
        add("413", "`body_too_large`");
        add(
            "422",
            "`invalid_body` naming the `field`, or the operation's own refusal",
        );
    }
    add(
        "500",
        "`internal` (logged, not leaked) or `budget_unreadable`",
    );
}

impl utoipa::Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                complete(path, op);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_parameter_is_declared_and_every_keyed_operation_lists_its_errors() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                operations += 1;
                let declared: Vec<&str> = op["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .filter(|p| p["in"] == "path")
                            .map(|p| p["name"].as_str().unwrap())
                            .collect()
                    })
                    .unwrap_or_default();
                for segment in path.split('/') {
                    if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'))
                    {
                        assert!(
                            declared.contains(&name),
                            "{method} {path}: {name} undeclared"
                        );
                    }
                }
                let responses = op["responses"].as_object().unwrap();
                assert!(responses.contains_key("500"), "{method} {path}");
                if !["/healthz", "/readyz", "/openapi.json"].contains(&path.as_str()) {
                    for status in ["401", "403", "429"] {
                        assert!(responses.contains_key(status), "{method} {path}: {status}");
                    }
                }
                if path.contains('{') {
                    assert!(responses.contains_key("404"), "{method} {path}");
                }
            }
        }
        assert!(operations >= 26, "{operations} operations");
        let version = &doc["paths"]["/v1/plans/{plan}/versions/{version}"]["get"]["parameters"];
        let version = version
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "version")
            .unwrap();
        assert_eq!(version["schema"]["type"], "integer");
    }
}
