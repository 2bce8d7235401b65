//! The OpenAPI document: generated from the handlers and types, then completed by
//! [`Conventions`] with what every operation shares, so no operation can forget it:
//! its path parameters (with the constraints the server enforces) and the error answers
//! its kind of operation can give (authentication, roles, rate limits, bad paths, bodies
//! and queries, unknown resources, internal errors).

use super::samples::Samples;
use super::{
    ErrorBody, affiliations, coupons, grants, help, incentives, market, ops, orders, plans, plaza,
    plugins, points, settings, settlements, shadow, tenants,
};
use crate::domain::MAX_IDEMPOTENCY_KEY;
use crate::shape;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, Object, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder};

#[derive(OpenApi)]
#[openapi(
    info(title = "Plaza", description = include_str!("contract.md")),
    paths(
        tenants::create, tenants::list, tenants::create_key, tenants::list_keys, tenants::me,
        plugins::upload, plugins::list, plugins::describe, plugins::delete, plugins::stats,
        plans::save, plans::list, plans::head, plans::versions, plans::version, plans::activate, plans::cancel_schedule, plans::rollback,
        plans::diff, plans::budgets, plans::quote,
        orders::commit, orders::list, orders::get, orders::ledger, orders::parties, orders::event, orders::cancel, orders::accept_gift, orders::decline_gift, orders::refund,
        settlements::run, settlements::list, settlements::get, settlements::statements,
        settlements::balance, settlements::beneficiary_statements, settlements::create_key,
        settlements::report,
        settings::get_orders, settings::set_orders,
        shadow::get_settings, shadow::set_settings, shadow::list, shadow::shadow,
        shadow::set_live, shadow::live_report,
        market::invite, market::list, market::get, market::accept, market::suspend, market::reinstate,
        market::unbind, market::record_touch, market::touch, market::buyer_touches,
        market::get_settings, market::set_settings,
        plaza::save_offer, plaza::list_offers, plaza::plaza_offers, plaza::save_pool, plaza::pool_members,
        plaza::plaza_pools, plaza::plaza_pool, plaza::join, plaza::leave, plaza::memberships, plaza::report,
        plaza::orders, plaza::order,
        affiliations::invite, affiliations::end_affiliate, affiliations::affiliates,
        affiliations::accept, affiliations::end_affiliation, affiliations::affiliations,
        coupons::create, coupons::list, coupons::get, coupons::end, coupons::claim, coupons::codes,
        coupons::claim_code, coupons::get_claim, coupons::wallet, coupons::move_stock, coupons::usable, help::create, help::list, help::get,
        help::initiate, help::progress, help::help,
        points::get_settings, points::set_settings, points::account, points::ledger, points::grant,
        grants::grant, grants::revoke, grants::list, grants::clients,
        incentives::create, incentives::list, incentives::get, incentives::register,
        incentives::registrations, incentives::review, incentives::facts, incentives::progress,
        ops::health, ops::ready, ops::metrics,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth, &Conventions, &Samples),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

/// The document as served: generated once, with its links.
pub fn document() -> serde_json::Value {
    static DOCUMENT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOCUMENT
        .get_or_init(|| {
            let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
            super::links::add(&mut doc);
            doc
        })
        .clone()
}

/// The document as `/openapi.json` sends it, serialized once, and its ETag.
pub fn served() -> &'static (axum::body::Bytes, String) {
    static SERVED: std::sync::OnceLock<(axum::body::Bytes, String)> = std::sync::OnceLock::new();
    SERVED.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let body = serde_json::to_vec(&document()).unwrap_or_default();
        let etag = super::conditional::etag(&Sha256::digest(&body));
        (body.into(), etag)
    })
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
            components.add_security_scheme(
                "plaza_tenant",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                    "Plaza-Tenant",
                    "With a service provider's key: the client (merchant or agency) it acts \
                     for, in the role the client granted (`/v1/grants`); a client that \
                     granted the key's tenant nothing is `404 not_found`. Absent or empty: \
                     the key's own tenant.",
                ))),
            );
        }
    }
}

/// Completes every operation with what all operations of its kind share.
struct Conventions;

fn pattern_schema(pattern: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .build()
}

fn path_parameter(path: &str, name: &str) -> Parameter {
    let (schema, description) = match name {
        "version" if path.starts_with("/v1/plans/") => {
            let version = shape::integer(0, u32::MAX.into(), "0 to 4,294,967,295");
            (version, "A plan version number")
        }
        "version" => (
            pattern_schema(r"^[0-9A-Za-z.+-]{1,64}$"),
            "A plugin's semantic version",
        ),
        "name" => (pattern_schema(r"^[a-z0-9-]{1,64}$"), "A plugin's name"),
        _ => (shape::id_schema(), "An id"),
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema))
        .example(super::samples::path_example(path, name))
        .build()
}

/// The schema of a header parameter the server checks the same way everywhere.
fn header_schema(name: &str) -> Option<Object> {
    match name {
        "Idempotency-Key" => Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(MAX_IDEMPOTENCY_KEY))
                .pattern(Some(r"^[\x21-\x7e]+$"))
                .description(Some("1–128 visible ASCII characters"))
                .build(),
        ),
        "If-Match" => Some(pattern_schema(super::plans::IF_MATCH_PATTERN)),
        _ => None,
    }
}

/// The roles an operation declares (the scopes of its `bearer` requirement); empty for a
/// public one.
fn roles(op: &Operation) -> Vec<String> {
    let value = serde_json::to_value(&op.security).unwrap_or_default();
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["bearer"].as_array())
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect()
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
    for (media_type, content) in op.request_body.iter_mut().flat_map(|b| &mut b.content) {
        if media_type != "application/json" {
            let binary = ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
                .description(Some("A WebAssembly component"));
            content.schema = Some(binary.build().into());
        }
    }
    let params = op.parameters.get_or_insert_with(Vec::new);
    for p in params.iter_mut() {
        if p.parameter_in == ParameterIn::Header
            && let Some(schema) = header_schema(&p.name)
        {
            p.schema = Some(schema.into());
        }
    }
    for name in &names {
        let declared = params
            .iter()
            .any(|p| p.name == *name && p.parameter_in == ParameterIn::Path);
        if !declared {
            params.push(path_parameter(path, name));
        }
    }
    let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let roles = roles(op);
    // A provider's key acts for a client in the role the client granted.
    let granted: Vec<&String> = roles
        .iter()
        .filter(|r| *r == "author" || *r == "checkout")
        .collect();
    let providers_act = !granted.is_empty();
    if providers_act {
        let provider =
            SecurityRequirement::new("bearer", granted).add("plaza_tenant", Vec::<String>::new());
        op.security.get_or_insert_with(Vec::new).push(provider);
    }
    let needs = format!(
        "`forbidden`: this needs the role {}; or `quota_exceeded`",
        roles.join(" or ")
    );
    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error(description).into());
    };
    if !roles.is_empty() {
        add("401", "`unauthenticated`: no key, or an unknown one");
        add("403", &needs);
        add(
            "429",
            "`rate_limited` (the tenant is over its request rate on the host that answered: each host of several counts its own) or `busy`; see `Retry-After`",
        );
    }
    if !names.is_empty() {
        add("404", "`not_found`: no such resource the caller may see");
    }
    if providers_act {
        add(
            "404",
            "`not_found`: `Plaza-Tenant` names no client that granted the caller's tenant",
        );
    }
    if !names.is_empty() || has_query {
        add(
            "400",
            "`bad_path` or `bad_query`: a parameter that does not parse",
        );
    }
    if has_query {
        add(
            "422",
            "`invalid` naming the `field`: a parameter out of range (a `limit`, a cursor)",
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

/// An externally tagged enum's variant (an object whose one property, required, is the
/// variant's name) admits no other property: serde refuses a second key.
fn close_variants(schema: &mut utoipa::openapi::Schema) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{AdditionalProperties, Schema};
    let Schema::OneOf(one_of) = schema else {
        return;
    };
    for item in &mut one_of.items {
        if let RefOr::T(Schema::Object(variant)) = item
            && variant.properties.len() == 1
            && variant.required.len() == 1
            && variant.properties.contains_key(&variant.required[0])
        {
            variant.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
        }
    }
}

/// An answer that flattens a request type refusing unknown fields (a stored event: its
/// terms and who runs it) is one closed object, not `allOf` a closed part and its own
/// fields, which the closed part would call unexpected: merge the parts, wherever the
/// answer appears (its own component, or inline in a page of them).
fn merge_closed_parts(
    schemas: &mut std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::Schema>,
    >,
) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{Object, Schema};
    let closed_refs: std::collections::BTreeMap<String, Object> = (schemas.iter())
        .filter_map(|(name, s)| match s {
            RefOr::T(Schema::Object(o)) if closed(o) => {
                Some((format!("#/components/schemas/{name}"), o.clone()))
            }
            _ => None,
        })
        .collect();
    for schema in schemas.values_mut() {
        if let RefOr::T(schema) = schema {
            merge_in(schema, &closed_refs);
        }
    }
}

fn closed(o: &utoipa::openapi::schema::Object) -> bool {
    use utoipa::openapi::schema::AdditionalProperties;
    matches!(
        o.additional_properties.as_deref(),
        Some(AdditionalProperties::FreeForm(false))
    )
}

/// Merge `schema` if it is such an `allOf`, else look inside its properties and items.
fn merge_in(
    schema: &mut utoipa::openapi::Schema,
    closed_refs: &std::collections::BTreeMap<String, utoipa::openapi::schema::Object>,
) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{AdditionalProperties, ArrayItems, Object, Schema};
    match schema {
        Schema::AllOf(all) => {
            let parts: Option<Vec<Object>> = (all.items.iter())
                .map(|item| match item {
                    RefOr::Ref(r) => closed_refs.get(&r.ref_location).cloned(),
                    RefOr::T(Schema::Object(o)) => Some(o.clone()),
                    _ => None,
                })
                .collect();
            let Some(mut parts) = parts.filter(|p| p.iter().any(closed)) else {
                return;
            };
            let mut merged = parts.remove(0);
            for part in parts {
                merged.properties.extend(part.properties);
                merged.required.extend(part.required);
            }
            merged.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            merged.description.clone_from(&all.description);
            *schema = Schema::Object(merged);
        }
        Schema::Object(o) => {
            for property in o.properties.values_mut() {
                if let RefOr::T(inner) = property {
                    merge_in(inner, closed_refs);
                }
            }
        }
        Schema::Array(a) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items
                && let RefOr::T(inner) = items.as_mut()
            {
                merge_in(inner, closed_refs);
            }
        }
        _ => {}
    }
}

impl utoipa::Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            merge_closed_parts(&mut components.schemas);
            for schema in components.schemas.values_mut() {
                if let utoipa::openapi::RefOr::T(schema) = schema {
                    close_variants(schema);
                }
            }
        }
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

    /// Parameter `name` of the operation at `method path`.
    fn parameter<'a>(
        doc: &'a serde_json::Value,
        path: &str,
        method: &str,
        name: &str,
    ) -> &'a serde_json::Value {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
    }

    #[test]
    fn every_path_parameter_is_declared_and_every_keyed_operation_lists_its_errors() {
        let doc = document();
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
                if ![
                    "/healthz",
                    "/readyz",
                    "/openapi.json",
                    "/v1/promoters/{promoter}/accept",
                ]
                .contains(&path.as_str())
                {
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
        let version = parameter(
            &doc,
            "/v1/plans/{plan}/versions/{version}",
            "get",
            "version",
        );
        assert_eq!(version["schema"]["type"], "integer");
    }

    /// The bounds the document states are the server's own constants.
    #[test]
    fn the_document_states_the_bounds_the_server_checks() {
        use crate::executor::cart::{MAX_LINES, MAX_QUANTITY};
        use crate::executor::plan::{MAX_BUDGET_AMOUNT, MAX_BUDGET_COUNT, MAX_STEPS};
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["Cart"]["properties"]["lines"]["maxItems"],
            MAX_LINES
        );
        assert_eq!(schemas["Cart"]["properties"]["lines"]["minItems"], 1);
        let line = &schemas["CartLine"]["properties"];
        assert_eq!(line["quantity"]["maximum"], MAX_QUANTITY);
        assert_eq!(line["unit_price"]["maximum"], crate::MAX_UNIT_PRICE.0);
        assert_eq!(line["sku"]["maxLength"], crate::shape::MAX_TEXT_CHARS);
        assert_eq!(
            schemas["Plan"]["properties"]["steps"]["maxItems"],
            MAX_STEPS
        );
        let budget = &schemas["Budget"]["properties"];
        assert_eq!(budget["max_orders"]["maximum"], MAX_BUDGET_COUNT);
        assert_eq!(budget["max_amount"]["maximum"], MAX_BUDGET_AMOUNT.0);
        let id = serde_json::to_value(shape::id_schema()).unwrap();
        assert_eq!(schemas["CommitRequest"]["properties"]["order_id"], id);
        let after = parameter(&doc, "/v1/orders", "get", "after");
        assert_eq!(
            after["schema"]["pattern"],
            crate::domain::page::CURSOR_PATTERN
        );
        let key = parameter(&doc, "/v1/plans", "post", "Idempotency-Key");
        assert_eq!(key["schema"]["maxLength"], MAX_IDEMPOTENCY_KEY);
    }

    #[test]
    fn an_enum_variant_admits_only_its_own_key() {
        let doc = document();
        let validity = &doc["components"]["schemas"]["Validity"]["oneOf"];
        let variants = validity.as_array().unwrap();
        assert_eq!(variants.len(), 2);
        for v in variants {
            assert_eq!(v["additionalProperties"], false, "{v}");
        }
        // A body with both keys is refused, as the schema now says.
        let both = serde_json::json!({
            "between": {"from_ms": 0, "until_ms": 1},
            "days_from_claim": {"days": 1}
        });
        assert!(serde_json::from_value::<crate::domain::coupons::Validity>(both).is_err());
    }

    #[test]
    fn a_stored_event_is_one_closed_object_with_its_terms_and_owner() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        let listed = &schemas["Page_Incentive"]["properties"]["items"]["items"];
        assert_eq!(
            listed, &schemas["Incentive"],
            "a page lists the same object"
        );
        let event = &schemas["Incentive"];
        assert!(event.get("allOf").is_none(), "{event}");
        assert_eq!(event["additionalProperties"], false, "{event}");
        for field in ["id", "tiers", "owner", "created_ms"] {
            assert!(event["properties"].get(field).is_some(), "{field}: {event}");
        }
        let required = event["required"].as_array().unwrap();
        assert!(required.contains(&"created_ms".into()) && required.contains(&"tiers".into()));
    }

    #[test]
    fn operation_ids_are_unique_and_every_keyed_operation_names_its_roles() {
        let doc = document();
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap();
                assert!(ids.insert(id.to_owned()), "{id} twice");
                // Accepting an invitation: the invite token is the credential.
                let public = ["/healthz", "/readyz", "/v1/promoters/{promoter}/accept"]
                    .contains(&path.as_str());
                let roles = &op["security"][0]["bearer"];
                assert_eq!(roles.is_array(), !public, "{method} {path}");
                if !public {
                    assert!(!roles.as_array().unwrap().is_empty(), "{method} {path}");
                }
            }
        }
    }
}
