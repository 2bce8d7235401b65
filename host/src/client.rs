//! The author's and operator's command line against a running server: upload a plugin,
//! apply a plan from a file, quote a cart from a file, list orders and the other lists. Prints the server's JSON answer;
//! an error answer is printed too and makes the command fail.

use anyhow::Context as _;
use std::path::Path;

/// A running Plaza server and the key to call it with.
#[derive(Debug, Clone)]
pub struct Client {
    pub server: String,
    pub key: String,
    /// The client a service provider's key acts for (the `Plaza-Tenant` header).
    pub act_for: Option<String>,
}

impl Client {
    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into()
    }

    /// `request` with the key, and the client a provider acts for.
    fn authorized<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        let request = request.header("authorization", &format!("Bearer {}", self.key));
        match &self.act_for {
            Some(client) => request.header("plaza-tenant", client),
            None => request,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.trim_end_matches('/'))
    }

    fn finish(response: ureq::http::Response<ureq::Body>) -> anyhow::Result<serde_json::Value> {
        let status = response.status();
        let text = response.into_body().read_to_string()?;
        let value: serde_json::Value =
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        if status.is_success() {
            Ok(value)
        } else {
            anyhow::bail!(
                "server answered {status}: {}",
                serde_json::to_string_pretty(&value)?
            )
        }
    }

    /// POST `body` to `path`.
    pub fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let response = self
            .authorized(Self::agent().post(&self.url(path)))
            .send_json(body)
            .with_context(|| format!("calling {}", self.server))?;
        Self::finish(response)
    }

    /// PUT `body` to `path`.
    pub fn put_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let response = self
            .authorized(Self::agent().put(&self.url(path)))
            .send_json(body)
            .with_context(|| format!("calling {}", self.server))?;
        Self::finish(response)
    }

    /// The tenant's settings at `path`, with `change` applied and saved when it changes
    /// any.
    pub fn settings(
        &self,
        path: &str,
        change: &[(&str, Option<serde_json::Value>)],
    ) -> anyhow::Result<serde_json::Value> {
        let mut settings = self.get(path)?;
        if change.iter().all(|(_, v)| v.is_none()) {
            return Ok(settings);
        }
        for (name, value) in change {
            if let Some(value) = value {
                settings[*name] = value.clone();
            }
        }
        self.put_json(path, &settings)
    }

    /// DELETE `path`.
    pub fn delete(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let response = self
            .authorized(Self::agent().delete(&self.url(path)))
            .call()
            .with_context(|| format!("calling {}", self.server))?;
        Self::finish(response)
    }

    /// GET `path`.
    pub fn get(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let response = self
            .authorized(Self::agent().get(&self.url(path)))
            .call()
            .with_context(|| format!("calling {}", self.server))?;
        Self::finish(response)
    }

    /// One page of the tenant's orders; `query` is the list's query string (filters,
    /// `limit`, `after`).
    pub fn orders(&self, query: &str) -> anyhow::Result<serde_json::Value> {
        self.get(&format!("/v1/orders?{query}"))
    }

    /// One page of a list at `path`.
    pub fn page(
        &self,
        path: &str,
        limit: Option<usize>,
        after: Option<&str>,
    ) -> anyhow::Result<serde_json::Value> {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(limit) = limit {
            query.append_pair("limit", &limit.to_string());
        }
        if let Some(after) = after {
            query.append_pair("after", after);
        }
        self.get(&format!("{path}?{}", query.finish()))
    }

    /// Every item of a list at `path`, following `next` page by page.
    pub fn every_item(
        &self,
        path: &str,
        limit: Option<usize>,
    ) -> anyhow::Result<serde_json::Value> {
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.page(path, limit, after.as_deref())?;
            if let Some(more) = page["items"].as_array() {
                items.extend(more.iter().cloned());
            }
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => return Ok(serde_json::Value::Array(items)),
            }
        }
    }

    /// Upload a component file.
    pub fn upload(&self, file: &Path, shared: bool) -> anyhow::Result<serde_json::Value> {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let visibility = if shared { "shared" } else { "private" };
        let response = self
            .authorized(
                Self::agent().post(&self.url(&format!("/v1/plugins?visibility={visibility}"))),
            )
            .header("content-type", "application/wasm")
            .send(&bytes[..])
            .with_context(|| format!("calling {}", self.server))?;
        Self::finish(response)
    }

    /// Save a plan file as a new version, and activate it if asked.
    pub fn apply(&self, file: &Path, activate: bool) -> anyhow::Result<serde_json::Value> {
        let plan = read_json(file)?;
        let head = self.post_json("/v1/plans", &plan)?;
        if !activate {
            return Ok(head);
        }
        let id = head["id"]
            .as_str()
            .context("server answered without a plan id")?;
        self.post_json(
            &format!("/v1/plans/{id}/activate"),
            &serde_json::json!({ "version": head["latest"] }),
        )
    }

    /// Report an event of `order`.
    pub fn order_event(
        &self,
        order: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        self.post_json(&format!("/v1/orders/{}/events", escape(order)), body)
    }

    /// Quote a cart file through a plan's active version.
    pub fn quote(&self, plan: &str, cart: &Path) -> anyhow::Result<serde_json::Value> {
        self.post_json(&format!("/v1/plans/{plan}/quote"), &read_json(cart)?)
    }
}

/// A path segment, escaped.
pub fn escape(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn read_json(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}
