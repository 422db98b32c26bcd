//! Settings from the environment: Ocean's variable names, with short aliases.
//!
//! The environment is passed in as a map ([`Settings::from_env`]), so tests never touch the
//! process environment; [`Settings::from_process_env`] is the thin wrapper `main` uses.
//!
//! Rules, decided once:
//! * every setting has Ocean's name (`OCEAN__…`) and most have a short alias (`OKTA_DOMAIN`);
//!   either may be used; when both are set to *different* values that is an error (we never guess
//!   which one the operator meant);
//! * names match case-insensitively, as pydantic-settings does for Ocean;
//! * an empty value counts as unset; values are trimmed;
//! * every problem is reported at once, each naming the variable;
//! * secrets are [`Secret`] and never appear in `Debug` output or in error messages.

use crate::secret::Secret;
use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU64;

/// Port's API base URL when none is configured.
pub const DEFAULT_PORT_BASE_URL: &str = "https://api.getport.io";
/// The integration identifier when none is configured (Ocean's `my-<type>-integration`).
pub const DEFAULT_INTEGRATION_IDENTIFIER: &str = "my-okta-integration";

/// Everything port-okta reads from the environment, validated and normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Okta base URL (`https://dev-123.okta.com`, or `http://127.0.0.1:PORT` for the
    /// simulator), no trailing `/`; from `OKTA_DOMAIN`.
    pub okta_base_url: Option<String>,
    /// Okta API token (`SSWS` token); from `OKTA_API_TOKEN`.
    pub okta_api_token: Option<Secret>,
    /// Shared secret Okta event hooks must present; from `OKTA_WEBHOOK_SECRET`.
    pub okta_webhook_secret: Option<Secret>,
    /// Port client id; from `PORT_CLIENT_ID`.
    pub port_client_id: Option<String>,
    /// Port client secret; from `PORT_CLIENT_SECRET`.
    pub port_client_secret: Option<Secret>,
    /// Port API base URL, no trailing `/` (default [`DEFAULT_PORT_BASE_URL`]).
    pub port_base_url: String,
    /// The integration identifier: the owner (datasource) of written entities
    /// (default [`DEFAULT_INTEGRATION_IDENTIFIER`]).
    pub integration_identifier: String,
    /// This service's public URL, used to register Okta event hooks; from `BASE_URL`.
    pub base_url: Option<String>,
    /// Minutes between scheduled resyncs; none when unset.
    pub scheduled_resync_interval_minutes: Option<NonZeroU64>,
    /// Whether raw-data examples are sent to Port (default true).
    pub send_raw_data_examples: bool,
    /// Whether jq mappings may read the process environment (`env`, `$ENV`).
    ///
    /// Default **false**, unlike Ocean (W-C15: mappings could read the API token otherwise).
    pub allow_env_jq_access: bool,
    /// Whether missing blueprints (and the integration's empty mapping) are created in Port
    /// (default true).
    pub initialize_port_resources: bool,
    /// Entities per bulk upsert to Port, at most (default 20, Port's limit).
    pub upsert_batch_max_length: usize,
    /// Bytes per bulk upsert body to Port, at most (default 1 MiB).
    pub upsert_batch_max_bytes: usize,
    /// Retries of a failed Port request (default 10, as Ocean).
    pub port_max_retries: u32,
}

/// One problem with one environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// The variable (or variables, `A / B`) at fault.
    pub variable: String,
    /// What is wrong, lowercase; never contains a secret value.
    pub message: String,
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

/// Every problem found in the environment, reported together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingErrors(pub Vec<SettingError>);

impl fmt::Display for SettingErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SettingErrors {}

/// A setting's names: Ocean's first, then the short alias (if any).
struct Var {
    ocean: &'static str,
    alias: Option<&'static str>,
    secret: bool,
}

const OKTA_DOMAIN: Var = Var {
    ocean: "OCEAN__INTEGRATION__CONFIG__OKTA_DOMAIN",
    alias: Some("OKTA_DOMAIN"),
    secret: false,
};
const OKTA_API_TOKEN: Var = Var {
    ocean: "OCEAN__INTEGRATION__CONFIG__OKTA_API_TOKEN",
    alias: Some("OKTA_API_TOKEN"),
    secret: true,
};
const OKTA_WEBHOOK_SECRET: Var = Var {
    ocean: "OCEAN__INTEGRATION__CONFIG__OKTA_WEBHOOK_SECRET",
    alias: Some("OKTA_WEBHOOK_SECRET"),
    secret: true,
};
const PORT_CLIENT_ID: Var =
    Var { ocean: "OCEAN__PORT__CLIENT_ID", alias: Some("PORT_CLIENT_ID"), secret: false };
const PORT_CLIENT_SECRET: Var =
    Var { ocean: "OCEAN__PORT__CLIENT_SECRET", alias: Some("PORT_CLIENT_SECRET"), secret: true };
const PORT_BASE_URL: Var =
    Var { ocean: "OCEAN__PORT__BASE_URL", alias: Some("PORT_BASE_URL"), secret: false };
const INTEGRATION_IDENTIFIER: Var = Var {
    ocean: "OCEAN__INTEGRATION__IDENTIFIER",
    alias: Some("INTEGRATION_IDENTIFIER"),
    secret: false,
};
const BASE_URL: Var = Var { ocean: "OCEAN__BASE_URL", alias: Some("BASE_URL"), secret: false };
const SCHEDULED_RESYNC_INTERVAL: Var = Var {
    ocean: "OCEAN__SCHEDULED_RESYNC_INTERVAL",
    alias: Some("SCHEDULED_RESYNC_INTERVAL"),
    secret: false,
};
const SEND_RAW_DATA_EXAMPLES: Var = Var {
    ocean: "OCEAN__SEND_RAW_DATA_EXAMPLES",
    alias: Some("SEND_RAW_DATA_EXAMPLES"),
    secret: false,
};
const INITIALIZE_PORT_RESOURCES: Var = Var {
    ocean: "OCEAN__INITIALIZE_PORT_RESOURCES",
    alias: Some("INITIALIZE_PORT_RESOURCES"),
    secret: false,
};
const UPSERT_BATCH_MAX_LENGTH: Var =
    Var { ocean: "OCEAN__UPSERT_ENTITIES_BATCH_MAX_LENGTH", alias: None, secret: false };
const UPSERT_BATCH_MAX_BYTES: Var =
    Var { ocean: "OCEAN__UPSERT_ENTITIES_BATCH_MAX_SIZE_IN_BYTES", alias: None, secret: false };
const PORT_MAX_RETRIES: Var =
    Var { ocean: "OCEAN__PORT__MAX_RETRIES", alias: Some("PORT_MAX_RETRIES"), secret: false };
const ALLOW_ENV_JQ: Var =
    Var { ocean: "OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS", alias: None, secret: false };

/// Reads variables out of the passed-in environment, collecting errors.
struct Reader<'e> {
    env: HashMap<String, Vec<(&'e str, &'e str)>>,
    errors: Vec<SettingError>,
}

impl<'e> Reader<'e> {
    fn new(env: &'e HashMap<String, String>) -> Self {
        let mut by_upper: HashMap<String, Vec<(&str, &str)>> = HashMap::new();
        for (k, v) in env {
            by_upper.entry(k.to_ascii_uppercase()).or_default().push((k.as_str(), v.as_str()));
        }
        for list in by_upper.values_mut() {
            list.sort();
        }
        Self { env: by_upper, errors: Vec::new() }
    }

    fn error(&mut self, variable: &str, message: String) {
        self.errors.push(SettingError { variable: variable.to_string(), message });
    }

    /// All non-empty values under `name` (any case), trimmed, with the spelling used.
    fn values(&self, name: &str) -> Vec<(&'e str, &'e str)> {
        self.env
            .get(name)
            .map(|l| l.iter().map(|(k, v)| (*k, v.trim())).filter(|(_, v)| !v.is_empty()).collect())
            .unwrap_or_default()
    }

    /// The value of `var` and the spelling it came from; a conflict is an error.
    fn get(&mut self, var: &Var) -> Option<(&'e str, &'e str)> {
        let mut found = self.values(var.ocean);
        if let Some(alias) = var.alias {
            found.extend(self.values(alias));
        }
        let (first_name, first_value) = *found.first()?;
        if let Some((other, _)) = found.iter().find(|(_, v)| *v != first_value) {
            let message = if var.secret {
                format!(
                    "`{first_name}` and `{other}` are both set, to different values; set only one"
                )
            } else {
                let other_value = found.iter().find(|(n, _)| n == other).map_or("", |(_, v)| *v);
                format!(
                    "`{first_name}` ({first_value:?}) and `{other}` ({other_value:?}) are both set, to different values; set only one"
                )
            };
            self.error(first_name, message);
            return None;
        }
        Some((first_name, first_value))
    }

    fn string(&mut self, var: &Var) -> Option<String> {
        self.get(var).map(|(_, v)| v.to_string())
    }

    fn secret(&mut self, var: &Var) -> Option<Secret> {
        self.get(var).map(|(_, v)| Secret::new(v))
    }

    fn bool(&mut self, var: &Var, default: bool) -> bool {
        let Some((name, v)) = self.get(var) else { return default };
        match parse_bool(v) {
            Some(b) => b,
            None => {
                self.error(name, format!("expected true or false, found {v:?}"));
                default
            }
        }
    }

    /// A whole number in `min..=max`, or `default` when unset.
    fn number(&mut self, var: &Var, default: u64, min: u64, max: u64) -> u64 {
        let Some((name, v)) = self.get(var) else { return default };
        match v.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => n,
            _ => {
                self.error(
                    name,
                    format!("expected a whole number from {min} to {max}, found {v:?}"),
                );
                default
            }
        }
    }

    fn url(&mut self, var: &Var, allow_path: bool) -> Option<String> {
        let (name, v) = self.get(var)?;
        match normalize_url(v, None, allow_path) {
            Ok(url) => Some(url),
            Err(why) => {
                self.error(name, why);
                None
            }
        }
    }
}

/// pydantic v1's boolean words, case-insensitive.
fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "on" | "t" | "true" | "y" | "yes" => Some(true),
        "0" | "off" | "f" | "false" | "n" | "no" => Some(false),
        _ => None,
    }
}

impl Settings {
    /// Reads the settings from `env` (variable name → value), reporting every problem at once.
    pub fn from_env(env: &HashMap<String, String>) -> Result<Settings, SettingErrors> {
        let mut r = Reader::new(env);
        let okta_base_url = match r.get(&OKTA_DOMAIN) {
            None => None,
            Some((name, v)) => match normalize_okta_domain(v) {
                Ok(url) => Some(url),
                Err(why) => {
                    r.error(name, why);
                    None
                }
            },
        };
        let okta_api_token = r.secret(&OKTA_API_TOKEN);
        let okta_webhook_secret = r.secret(&OKTA_WEBHOOK_SECRET);
        let port_client_id = r.string(&PORT_CLIENT_ID);
        let port_client_secret = r.secret(&PORT_CLIENT_SECRET);
        let port_base_url =
            r.url(&PORT_BASE_URL, true).unwrap_or_else(|| DEFAULT_PORT_BASE_URL.to_string());
        let integration_identifier = r
            .string(&INTEGRATION_IDENTIFIER)
            .unwrap_or_else(|| DEFAULT_INTEGRATION_IDENTIFIER.to_string());
        let base_url = r.url(&BASE_URL, true);
        let scheduled_resync_interval_minutes = match r.get(&SCHEDULED_RESYNC_INTERVAL) {
            None => None,
            Some((name, v)) => match v.parse::<u64>().ok().and_then(NonZeroU64::new) {
                Some(n) => Some(n),
                None => {
                    r.error(
                        name,
                        format!("expected a positive whole number of minutes, found {v:?}"),
                    );
                    None
                }
            },
        };
        let send_raw_data_examples = r.bool(&SEND_RAW_DATA_EXAMPLES, true);
        let allow_env_jq_access = r.bool(&ALLOW_ENV_JQ, false);
        let initialize_port_resources = r.bool(&INITIALIZE_PORT_RESOURCES, true);
        let upsert_batch_max_length = r.number(&UPSERT_BATCH_MAX_LENGTH, 20, 1, 20) as usize;
        let upsert_batch_max_bytes =
            r.number(&UPSERT_BATCH_MAX_BYTES, 1 << 20, 1024, 1 << 20) as usize;
        let port_max_retries = r.number(&PORT_MAX_RETRIES, 10, 0, 50) as u32;
        if !r.errors.is_empty() {
            return Err(SettingErrors(r.errors));
        }
        Ok(Settings {
            okta_base_url,
            okta_api_token,
            okta_webhook_secret,
            port_client_id,
            port_client_secret,
            port_base_url,
            integration_identifier,
            base_url,
            scheduled_resync_interval_minutes,
            send_raw_data_examples,
            allow_env_jq_access,
            initialize_port_resources,
            upsert_batch_max_length,
            upsert_batch_max_bytes,
            port_max_retries,
        })
    }

    /// [`Settings::from_env`] over the process environment (variables that are not valid UTF-8
    /// are skipped).
    pub fn from_process_env() -> Result<Settings, SettingErrors> {
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self::from_env(&env)
    }

    /// The Okta base URL and API token, or an error naming each variable that is missing.
    pub fn okta_credentials(&self) -> Result<(&str, &Secret), SettingErrors> {
        let mut missing = Vec::new();
        if self.okta_base_url.is_none() {
            missing.push(SettingError {
                variable: "OKTA_DOMAIN".into(),
                message: "not set (the Okta org, e.g. dev-123456.okta.com; Ocean's name is OCEAN__INTEGRATION__CONFIG__OKTA_DOMAIN)".into(),
            });
        }
        if self.okta_api_token.is_none() {
            missing.push(SettingError {
                variable: "OKTA_API_TOKEN".into(),
                message: "not set (an Okta API token; Ocean's name is OCEAN__INTEGRATION__CONFIG__OKTA_API_TOKEN)".into(),
            });
        }
        match (&self.okta_base_url, &self.okta_api_token) {
            (Some(url), Some(token)) => Ok((url, token)),
            _ => Err(SettingErrors(missing)),
        }
    }
}

/// Normalises `OKTA_DOMAIN`: a bare host (`dev-123.okta.com`, https implied), or an
/// `http(s)://host[:port]` base URL; no path, query or credentials; trailing `/` dropped.
pub fn normalize_okta_domain(value: &str) -> Result<String, String> {
    normalize_url(value, Some("https"), false).map_err(|why| {
        format!("{why} (expected the Okta org's host, e.g. dev-123456.okta.com, or a base URL such as http://127.0.0.1:8080)")
    })
}

/// Validates and normalises an `http(s)` URL. With `default_scheme`, a value without `://` gets
/// that scheme. Without `allow_path`, any path other than `/` is an error. The host is
/// lowercased and a trailing `/` is removed.
fn normalize_url(
    value: &str,
    default_scheme: Option<&str>,
    allow_path: bool,
) -> Result<String, String> {
    let value = value.trim();
    let (scheme, rest) = match value.split_once("://") {
        Some((s, rest)) => (s.to_ascii_lowercase(), rest),
        None => match default_scheme {
            Some(s) => (s.to_string(), value),
            None => return Err(format!("{value:?} is not a URL (expected http:// or https://)")),
        },
    };
    if scheme != "http" && scheme != "https" {
        return Err(format!("unsupported scheme `{scheme}` in {value:?} (expected http or https)"));
    }
    if rest.contains(['?', '#']) {
        return Err(format!("{value:?} has a query or fragment"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(format!("{value:?} contains credentials; remove the `user@` part"));
    }
    let path = path.trim_end_matches('/');
    if !path.is_empty() && !allow_path {
        return Err(format!("{value:?} has a path (`{path}`)"));
    }
    if path.contains(char::is_whitespace) {
        return Err(format!("{value:?} contains whitespace"));
    }
    let (host, port) = split_host_port(authority).map_err(|why| format!("{value:?}: {why}"))?;
    let host = host.to_ascii_lowercase();
    let mut out = format!("{scheme}://{host}");
    if let Some(port) = port {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(path);
    Ok(out)
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    if authority.is_empty() {
        return Err("no host".into());
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest.find(']').ok_or("unclosed `[` in the host")?;
        let ip = &rest[..end];
        if ip.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("`{ip}` is not an IPv6 address"));
        }
        let after = &rest[end + 1..];
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("unexpected text after `]`")?),
        };
        (&authority[..end + 2], port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(format!("`{p}` is not a valid port")),
        },
    };
    if !host.starts_with('[') && !valid_host_name(host) {
        return Err(format!("`{host}` is not a valid host name"));
    }
    Ok((host, port))
}

/// A DNS name or an IPv4 address: dot-separated labels of letters, digits and inner hyphens.
fn valid_host_name(host: &str) -> bool {
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return true;
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
        // A name made only of digits and dots that is not a valid IPv4 address (`1.2.3.999`).
        && !host.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_normalisation_cases() {
        let n = |v| normalize_url(v, None, true);
        assert_eq!(n("https://api.getport.io/").unwrap(), "https://api.getport.io");
        assert_eq!(n("https://proxy.example/port/").unwrap(), "https://proxy.example/port");
        assert_eq!(n("http://[::1]:8080").unwrap(), "http://[::1]:8080");
        assert!(n("api.getport.io").is_err());
        assert!(n("ftp://x.example").is_err());
        assert!(n("https://x.example:0").is_err());
        assert!(n("https://x.example:99999").is_err());
        assert!(n("https://[zz]").is_err());
        assert!(n("https://1.2.3.999").is_err());
    }
}
