//! The document's links: how the answer of one operation feeds the next, so a client (or
//! a stateful tester) can walk the flows merchants run — save a plan, activate it, quote
//! a cart, commit the order, refund it and read its ledger — and the admin flows around
//! them.

use serde_json::{Value, json};

/// One link: from `source`'s `status` answer to operation `target`, with its parameters
/// and (merged into whatever else the request carries) its body.
struct Link {
    source: &'static str,
    status: &'static str,
    target: &'static str,
    parameters: &'static [(&'static str, &'static str)],
    body: Option<fn() -> Value>,
    description: &'static str,
}

const ORDER: &[(&str, &str)] = &[("order", "$response.body#/id")];
const PLAN_OF_BODY: &[(&str, &str)] = &[("plan", "$response.body#/id")];
const PLAN_OF_PATH: &[(&str, &str)] = &[("plan", "$request.path.plan")];

const LINKS: &[Link] = &[
    Link {
        source: "save_plan",
        status: "201",
        target: "activate_plan",
        parameters: PLAN_OF_BODY,
        body: Some(|| json!({"version": "$response.body#/latest"})),
        description: "Activate the version just saved",
    },
    Link {
        source: "save_plan",
        status: "201",
        target: "get_plan",
        parameters: PLAN_OF_BODY,
        body: None,
        description: "The plan's history",
    },
    Link {
        source: "save_plan",
        status: "201",
        target: "list_plan_versions",
        parameters: PLAN_OF_BODY,
        body: None,
        description: "The plan's versions",
    },
    Link {
        source: "activate_plan",
        status: "200",
        target: "quote",
        parameters: PLAN_OF_PATH,
        body: None,
        description: "Quote a cart through the plan now active",
    },
    Link {
        source: "quote",
        status: "200",
        target: "commit_order",
        parameters: &[],
        body: Some(|| {
            json!({
                "plan": "$request.path.plan",
                "cart": "$request.body",
                "expected_payable": "$response.body#/total/payable",
            })
        }),
        description: "Commit the quoted cart at the price the buyer was shown",
    },
    Link {
        source: "commit_order",
        status: "201",
        target: "get_order",
        parameters: ORDER,
        body: None,
        description: "The order",
    },
    Link {
        source: "commit_order",
        status: "201",
        target: "list_order_ledger",
        parameters: ORDER,
        body: None,
        description: "The order's money movements",
    },
    Link {
        source: "commit_order",
        status: "201",
        target: "refund_order",
        parameters: ORDER,
        body: Some(|| json!({"lines": [{"line": "$response.body#/lines/0/id"}]})),
        description: "Refund the order's first line",
    },
    Link {
        source: "commit_order",
        status: "201",
        target: "cancel_order",
        parameters: ORDER,
        body: None,
        description: "Cancel the order",
    },
    Link {
        source: "refund_order",
        status: "200",
        target: "list_order_ledger",
        parameters: &[("order", "$request.path.order")],
        body: None,
        description: "The ledger after the refund",
    },
    Link {
        source: "create_tenant",
        status: "201",
        target: "create_key",
        parameters: &[("tenant", "$response.body#/id")],
        body: None,
        description: "Issue the new tenant's first key",
    },
    Link {
        source: "create_key",
        status: "201",
        target: "list_keys",
        parameters: &[("tenant", "$request.path.tenant")],
        body: None,
        description: "The tenant's keys",
    },
    Link {
        source: "upload_plugin",
        status: "201",
        target: "get_plugin",
        parameters: &[
            ("name", "$response.body#/name"),
            ("version", "$response.body#/version"),
        ],
        body: None,
        description: "The plugin's descriptor and configuration schema",
    },
];

/// Adds [`LINKS`] to the responses they start from, in the document as JSON (utoipa's
/// link type spells its fields in snake case, which no OpenAPI reader understands).
pub fn add(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            for link in LINKS.iter().filter(|l| l.source == id) {
                let response = &mut op["responses"][link.status];
                if !response.is_object() {
                    continue;
                }
                let mut built = json!({
                    "operationId": link.target,
                    "description": link.description,
                });
                if !link.parameters.is_empty() {
                    let parameters: serde_json::Map<String, Value> = link
                        .parameters
                        .iter()
                        .map(|(name, expression)| ((*name).to_owned(), json!(expression)))
                        .collect();
                    built["parameters"] = Value::Object(parameters);
                }
                if let Some(body) = link.body {
                    built["requestBody"] = body();
                }
                response["links"][link.target] = built;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_link_starts_from_a_declared_answer_and_names_a_real_operation() {
        let doc = super::super::openapi::document();
        let mut operations = std::collections::BTreeMap::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                operations.insert(op["operationId"].as_str().unwrap().to_owned(), op.clone());
            }
        }
        for link in LINKS {
            let source = &operations[link.source];
            let declared = &source["responses"][link.status]["links"][link.target];
            assert_eq!(declared["operationId"], link.target, "{}", link.source);
            if link.body.is_some() {
                assert!(declared["requestBody"].is_object(), "{}", link.source);
            }
            let target = &operations[link.target];
            for (name, _) in link.parameters {
                let params = target["parameters"].as_array().unwrap();
                assert!(
                    params.iter().any(|p| p["name"] == *name),
                    "{} has no parameter {name}",
                    link.target
                );
            }
        }
    }
}
