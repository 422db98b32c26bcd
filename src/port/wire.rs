//! Port's wire format where the client and `catalog serve` must agree byte for byte: the
//! User-Agent and the entity datasource derived from it, the bulk-upsert answer, the datasource
//! search, the token answer and the error body.
//!
//! Extensions that `catalog serve` adds and Port does not send are marked as such; the client
//! reads them when present and falls back to Port's own fields otherwise.

use serde::{Deserialize, Serialize};

/// The integration type in the User-Agent and the datasource (`OCEAN__INTEGRATION__TYPE`).
pub const INTEGRATION_TYPE: &str = "okta";

/// The datasource `catalog serve` gives writes that carry no Ocean User-Agent.
pub const API_DATASOURCE: &str = "port-api";

/// Ocean's User-Agent: `port-ocean/<type>/<version>/<identifier>/exporter`. Port derives the
/// entity datasource from it, so entities Ocean wrote are recognised as ours after a migration.
pub fn user_agent(integration_type: &str, version: &str, identifier: &str) -> String {
    format!("port-ocean/{integration_type}/{version}/{identifier}/exporter")
}

/// The datasource search prefix of an integration type: `port-ocean/<type>/`.
pub fn datasource_prefix(integration_type: &str) -> String {
    format!("port-ocean/{integration_type}/")
}

/// The datasource search suffix of an integration: `/<identifier>/exporter`.
pub fn datasource_suffix(identifier: &str) -> String {
    format!("/{identifier}/exporter")
}

/// The datasource a request's User-Agent gives what it writes: the User-Agent itself when it is
/// Ocean's (`port-ocean/<type>/<version>/<identifier>/<exporter|gitops>`), else
/// [`API_DATASOURCE`].
pub fn datasource_of_user_agent(user_agent: &str) -> String {
    let parts: Vec<&str> = user_agent.split('/').collect();
    let ocean = parts.len() == 5
        && parts[0] == "port-ocean"
        && parts[1..4].iter().all(|p| !p.is_empty())
        && matches!(parts[4], "exporter" | "gitops");
    if ocean { user_agent.to_string() } else { API_DATASOURCE.to_string() }
}

/// The integration identifier of an Ocean datasource; any other datasource is its own owner
/// (the embedded catalog stores a bare identifier when `sync` writes it directly).
pub fn owner_of_datasource(datasource: &str) -> String {
    let parts: Vec<&str> = datasource.split('/').collect();
    if parts.len() == 5 && parts[0] == "port-ocean" {
        parts[3].to_string()
    } else {
        datasource.to_string()
    }
}

/// Whether `datasource` is found by a datasource search with `prefix` and `suffix`. A bare
/// identifier (written by `port-okta sync` straight into the embedded catalog) counts as
/// `port-ocean/okta/-/<identifier>/exporter`, so a catalog file can be served after direct syncs.
pub fn datasource_matches(datasource: &str, prefix: &str, suffix: &str) -> bool {
    if datasource.starts_with(prefix) && datasource.ends_with(suffix) {
        return prefix.len() + suffix.len() <= datasource.len();
    }
    !datasource.contains('/')
        && prefix == datasource_prefix(INTEGRATION_TYPE)
        && suffix == datasource_suffix(datasource)
}

/// `POST /v1/auth/access_token` request (its `Debug` leaves the secret out).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    /// The client id.
    pub client_id: String,
    /// The client secret (sent only to Port's token endpoint).
    pub client_secret: String,
}

/// `POST /v1/auth/access_token` answer (its `Debug` leaves the token out).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenAnswer {
    /// The bearer token.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// `Bearer`.
    pub token_type: String,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

impl std::fmt::Debug for TokenAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenAnswer")
            .field("access_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("token_type", &self.token_type)
            .finish()
    }
}

/// One written entity of a bulk upsert.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BulkEntity {
    /// The entity's index in the request.
    pub index: usize,
    /// Its identifier.
    pub identifier: String,
    /// Whether it was created.
    #[serde(default)]
    pub created: bool,
    /// `catalog serve` extension: the entity was already stored as sent (Port does not say).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unchanged: bool,
}

/// One refused entity of a bulk upsert.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkError {
    /// The entity's index in the request.
    pub index: usize,
    /// Its identifier (`unknown` when it has none).
    #[serde(default)]
    pub identifier: String,
    /// The HTTP status this entity alone would have had.
    #[serde(default)]
    pub status_code: u16,
    /// Port's error code (`not_found` for a missing related entity).
    #[serde(default)]
    pub error: String,
    /// Port's message.
    #[serde(default)]
    pub message: String,
    /// `catalog serve` extension: the missing related entity of a `not_found`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related: Option<crate::model::EntityKey>,
}

/// The bulk-upsert answer (`200`, or `207` when some entities were refused).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct BulkAnswer {
    /// Always true.
    #[serde(default)]
    pub ok: bool,
    /// Entities written.
    #[serde(default)]
    pub entities: Vec<BulkEntity>,
    /// Entities refused.
    #[serde(default)]
    pub errors: Vec<BulkError>,
}

/// `POST /v1/blueprints/entities/datasource-entities` request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasourceQuery {
    /// `port-ocean/<type>/`.
    pub datasource_prefix: String,
    /// `/<identifier>/exporter`.
    pub datasource_suffix: String,
    /// Page size.
    #[serde(default)]
    pub limit: Option<usize>,
    /// Only entities last updated before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// The cursor of the previous page's `next`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// A page of the datasource search; `E` is Port's entity JSON, or as much of it as a reader
/// needs.
#[derive(Debug, Serialize, Deserialize)]
pub struct DatasourcePage<E> {
    /// Entities.
    #[serde(default = "Vec::new")]
    pub entities: Vec<E>,
    /// The next page's cursor; absent or null on the last page.
    #[serde(default)]
    pub next: Option<String>,
}

/// Port's error body: `{"ok": false, "error": "<code>", "message": "<text>"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Always false.
    #[serde(default)]
    pub ok: bool,
    /// The error code (`not_found`, `unauthorized`, `invalid_request`, …).
    #[serde(default)]
    pub error: String,
    /// What went wrong.
    #[serde(default)]
    pub message: String,
}

/// `catalog serve` extension fields on an entity it returns: the datasource that last wrote it
/// and the `ocean_info_resync_id` of that write.
pub mod ext {
    /// The datasource that last wrote the entity.
    pub const DATASOURCE: &str = "datasource";
    /// The resync that last wrote it.
    pub const RESYNC_ID: &str = "resyncId";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agent_is_oceans_and_names_its_datasource() {
        let ua = user_agent("okta", "0.1.0", "my-okta-integration");
        assert_eq!(ua, "port-ocean/okta/0.1.0/my-okta-integration/exporter");
        assert_eq!(datasource_of_user_agent(&ua), ua);
        assert_eq!(owner_of_datasource(&ua), "my-okta-integration");
        assert_eq!(datasource_of_user_agent("curl/8.0"), API_DATASOURCE);
        assert_eq!(datasource_of_user_agent("port-ocean/okta//x/exporter"), API_DATASOURCE);
    }

    #[test]
    fn datasource_search_matches_prefix_and_suffix_only() {
        let (p, s) = (datasource_prefix("okta"), datasource_suffix("okta-prod"));
        // An entity Ocean's Okta integration 0.1.197 wrote is ours after a migration.
        assert!(datasource_matches("port-ocean/okta/0.1.197/okta-prod/exporter", &p, &s));
        assert!(!datasource_matches("port-ocean/okta/0.1.197/other-prod/exporter", &p, &s));
        assert!(!datasource_matches("port-ocean/github/1.0/okta-prod/exporter", &p, &s));
        assert!(!datasource_matches("port-ocean/okta/1/x-okta-prod/exporter", &p, &s));
        assert!(datasource_matches("okta-prod", &p, &s), "a direct sync's bare owner");
        assert!(!datasource_matches("okta-prod", &datasource_prefix("github"), &s));
    }
}
