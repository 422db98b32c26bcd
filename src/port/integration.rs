//! The integration object in Port: created with the default mapping when it does not exist,
//! its `config` (the port-app-config) read at each resync, its resync state, and the raw data
//! examples Port's jq playground shows.

use super::PortCatalog;
use super::http::Req;
use crate::catalog::CatalogError;
use reqwest::Method;
use serde_json::{Map, Value, json};

/// Raw examples sent per kind, at most.
pub const EXAMPLES_PER_KIND: usize = 25;
/// One example's JSON, at most (bigger ones are left out).
pub const EXAMPLE_MAX_BYTES: usize = 32 * 1024;
/// All of a kind's examples, at most.
pub const EXAMPLES_MAX_BYTES: usize = 256 * 1024;

/// Keys whose values are never sent as examples (case-insensitive substrings).
const SECRET_KEYS: [&str; 7] =
    ["password", "secret", "token", "credential", "apikey", "api_key", "recovery"];

/// What stands in for a secret value.
pub const MASK: &str = "********";

/// An item made fit to be an example: `_links` removed and secret-looking values masked, at any
/// depth.
pub fn sanitize(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                if k == "_links" {
                    continue;
                }
                let lower = k.to_ascii_lowercase();
                if SECRET_KEYS.iter().any(|s| lower.contains(s)) {
                    out.insert(k.clone(), Value::String(MASK.into()));
                } else {
                    out.insert(k.clone(), sanitize(v));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sanitize).collect()),
        other => other.clone(),
    }
}

/// At most [`EXAMPLES_PER_KIND`] sanitized items, each at most [`EXAMPLE_MAX_BYTES`], together
/// at most [`EXAMPLES_MAX_BYTES`].
pub fn examples(items: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut total = 0;
    for item in items {
        if out.len() == EXAMPLES_PER_KIND {
            break;
        }
        let clean = sanitize(item);
        let size = clean.to_string().len();
        if size > EXAMPLE_MAX_BYTES || total + size > EXAMPLES_MAX_BYTES {
            continue;
        }
        total += size;
        out.push(clean);
    }
    out
}

impl PortCatalog {
    fn integration_req(&self, method: Method, tail: &[&str]) -> Req {
        let id = self.config.integration_identifier.as_str();
        let mut segments = vec!["integration", id];
        segments.extend_from_slice(tail);
        Req::new(method, &segments, &self.user_agent(id))
    }

    /// The integration's mapping (its `config`). An integration that does not exist is created
    /// with `default_config`; one whose config is empty gets `default_config` (as Ocean does
    /// when it initialises its resources).
    pub async fn integration_config(&self, default_config: &Value) -> Result<Value, CatalogError> {
        self.read_integration_config(default_config, true).await
    }

    /// As [`PortCatalog::integration_config`], but without `create` nothing is written: a
    /// missing integration or an empty mapping reads as `default_config` (for dry runs).
    pub async fn read_integration_config(
        &self,
        default_config: &Value,
        create: bool,
    ) -> Result<Value, CatalogError> {
        let get = self.integration_req(Method::GET, &[]);
        let integration = match self.http.call::<Value>(&get).await {
            Ok(v) => v["integration"].clone(),
            Err(CatalogError::Http { status: 404, .. }) if !create => {
                tracing::info!(integration = %self.config.integration_identifier, "the integration does not exist in Port; a dry run uses the default mapping and creates nothing");
                return Ok(default_config.clone());
            }
            Err(CatalogError::Http { status: 404, .. }) => {
                let body = json!({
                    "installationId": self.config.integration_identifier,
                    "installationAppType": super::wire::INTEGRATION_TYPE,
                    "version": self.config.version,
                    "config": default_config,
                });
                let post = Req::new(
                    Method::POST,
                    &["integration"],
                    &self.user_agent(&self.config.integration_identifier),
                )
                .json(&body);
                match self.http.call::<Value>(&post).await {
                    Ok(v) => {
                        tracing::info!(integration = %self.config.integration_identifier, "created the integration in Port with the default mapping");
                        v["integration"].clone()
                    }
                    // Created meanwhile by someone else: read theirs.
                    Err(CatalogError::Http { status: 409, .. }) => {
                        self.http.call::<Value>(&get).await?["integration"].clone()
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        let config = integration.get("config").cloned().unwrap_or(Value::Null);
        let empty = match &config {
            Value::Null => true,
            Value::Object(m) => m.is_empty(),
            _ => false,
        };
        if empty && !create {
            return Ok(default_config.clone());
        }
        if empty && self.config.initialize_resources {
            let patch = self
                .integration_req(Method::PATCH, &["config"])
                .json(&json!({ "config": default_config }));
            self.http.send(&patch).await?;
            tracing::info!(integration = %self.config.integration_identifier, "the integration's mapping was empty; set it to the default mapping");
            return Ok(default_config.clone());
        }
        Ok(config)
    }

    /// PATCHes the resync state (Ocean's body, `intervalInMinuets` spelling included); a failure
    /// is logged, never fatal (as in Ocean).
    pub(super) async fn resync_state(&self, integration: &str, body: Value) {
        let req = Req::new(
            Method::PATCH,
            &["integration", integration, "resync-state"],
            &self.user_agent(integration),
        )
        .json(&body);
        if let Err(e) = self.http.send(&req).await {
            tracing::warn!(error = %e, status = %body["status"], "could not update the resync state in Port");
        }
    }

    /// `GET …/resync-request`: the last resync requested in Port (`request.updatedAt`), if any.
    pub(super) async fn last_resync_request(&self) -> Result<Option<String>, CatalogError> {
        let req = self.integration_req(Method::GET, &["resync-request"]);
        let answer: Value = self.http.call(&req).await?;
        Ok(answer.pointer("/request/updatedAt").and_then(Value::as_str).map(String::from))
    }

    /// POSTs a kind's raw data examples; a failure is logged, never fatal.
    pub(super) async fn send_examples(&self, kind: &str, items: &[Value]) {
        let examples = examples(items);
        if examples.is_empty() {
            return;
        }
        let req = self
            .integration_req(Method::POST, &["kinds", kind, "examples"])
            .json(&json!({ "examples": examples }));
        if let Err(e) = self.http.send(&req).await {
            tracing::warn!(kind, error = %e, "could not send raw data examples to Port");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_lose_links_and_secrets_and_are_capped() {
        let user = json!({
            "id": "00u1", "_links": {"self": {"href": "x"}},
            "credentials": {"password": {}, "provider": {"type": "OKTA"}},
            "profile": {"login": "a@x.io", "apiToken": "t0k", "nested": [{"_links": 1, "ok": 2}]}
        });
        let clean = sanitize(&user);
        assert_eq!(
            clean,
            json!({"id": "00u1", "credentials": MASK,
                   "profile": {"login": "a@x.io", "apiToken": MASK, "nested": [{"ok": 2}]}})
        );
        let many: Vec<Value> = (0..40).map(|i| json!({"id": i})).collect();
        assert_eq!(examples(&many).len(), EXAMPLES_PER_KIND);
        let big = json!({"id": "x".repeat(EXAMPLE_MAX_BYTES)});
        assert_eq!(examples(&[big, json!({"id": 1})]), vec![json!({"id": 1})]);
        let medium: Vec<Value> = (0..25).map(|_| json!({"b": "y".repeat(20_000)})).collect();
        let sent = examples(&medium);
        assert!(
            sent.len() < 25
                && serde_json::to_string(&sent).unwrap().len() <= EXAMPLES_MAX_BYTES + 64
        );
    }
}
