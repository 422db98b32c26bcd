//! The event hook's lifecycle in Okta: found by its URI, created when missing, reconciled when
//! it drifted, verified until this service answers Okta's challenge.
//!
//! The hook is `<OCEAN__BASE_URL>/integration/webhook`, subscribed to the event types port-okta
//! acts on, with the webhook secret as its `Authorization` header. Okta never returns that
//! header's value, so the hook's secret is known only by a fingerprint (SHA-256) kept in the
//! queue's database: a changed secret, changed event types or an inactive hook is put right
//! (Ocean only checks that a hook with the URI exists, W-O12), and a hook whose channel changed is
//! verified again. Verification is retried with backoff until this server is reachable.

use super::envelope::EVENT_TYPES;
use super::queue::EventQueue;
use crate::okta::{OktaClient, OktaError};
use crate::secret::Secret;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// The queue state key of the secret fingerprint last set on the hook.
const FINGERPRINT: &str = "eventhook.secret.pbkdf2";

/// What was done to the hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookAction {
    /// It was created.
    Created,
    /// It existed and was changed (activated, re-subscribed, new secret).
    Updated,
    /// It existed as wanted.
    Unchanged,
}

/// The hook's URI for a public base URL.
pub fn hook_uri(base_url: &str) -> String {
    format!("{}/integration/webhook", base_url.trim_end_matches('/'))
}

/// What the queue keeps to tell whether the secret changed since the hook was last set: a
/// slow, salted derivation (PBKDF2-HMAC-SHA256, 100,000 rounds), so a copy of the queue file
/// does not make a weak secret quick to guess.
fn fingerprint(secret: Option<&Secret>) -> String {
    let mut out = [0u8; 32];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(100_000).unwrap_or(std::num::NonZeroU32::MIN),
        b"port-okta event hook secret",
        secret.map_or(&b""[..], |s| s.expose().as_bytes()),
        &mut out,
    );
    out.iter().map(|b| format!("{b:02x}")).collect()
}

fn desired(uri: &str, secret: Option<&Secret>) -> Value {
    let mut config = json!({"uri": uri, "headers": []});
    if let Some(s) = secret {
        config["authScheme"] =
            json!({"type": "HEADER", "key": "Authorization", "value": s.expose()});
    }
    json!({
        "name": format!("port-okta {uri}"),
        "description": "Event hook for the port-okta integration",
        "events": {"type": "EVENT_TYPE", "items": EVENT_TYPES},
        "channel": {"type": "HTTP", "version": "1.0.0", "config": config},
    })
}

/// Finds, creates or reconciles the hook; returns what was done and the hook's id. Does not
/// verify (see [`verify_until_reachable`]).
pub async fn ensure(
    client: &OktaClient,
    queue: &dyn EventQueue,
    base_url: &str,
    secret: Option<&Secret>,
) -> Result<(HookAction, String, bool), OktaError> {
    let uri = hook_uri(base_url);
    let hooks = client.send_json(Method::GET, "/api/v1/eventHooks", None).await?;
    let existing =
        hooks.as_array().into_iter().flatten().find(|h| {
            h.pointer("/channel/config/uri").and_then(Value::as_str) == Some(uri.as_str())
        });
    let print = fingerprint(secret);
    let known = queue.state(FINGERPRINT.into()).await.ok().flatten();
    let want = desired(&uri, secret);
    let Some(hook) = existing else {
        let created = client.send_json(Method::POST, "/api/v1/eventHooks", Some(&want)).await?;
        let _ = queue.set_state(FINGERPRINT.into(), print).await;
        let id = created.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        tracing::info!(hook = %id, %uri, "event hook created");
        return Ok((HookAction::Created, id, true));
    };
    let id = hook.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    let mut items: Vec<&str> = hook
        .pointer("/events/items")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    items.sort_unstable();
    let mut wanted: Vec<&str> = EVENT_TYPES.to_vec();
    wanted.sort_unstable();
    let channel_changed = known.as_deref() != Some(print.as_str());
    let mut action = HookAction::Unchanged;
    if items != wanted || channel_changed {
        client.send_json(Method::PUT, &format!("/api/v1/eventHooks/{id}"), Some(&want)).await?;
        let _ = queue.set_state(FINGERPRINT.into(), print).await;
        action = HookAction::Updated;
    }
    if hook.get("status").and_then(Value::as_str) != Some("ACTIVE") {
        client
            .send_json(Method::POST, &format!("/api/v1/eventHooks/{id}/lifecycle/activate"), None)
            .await?;
        action = HookAction::Updated;
    }
    let unverified = hook.get("verificationStatus").and_then(Value::as_str) != Some("VERIFIED");
    tracing::info!(hook = %id, %uri, ?action, "event hook reconciled");
    Ok((action, id, channel_changed || unverified))
}

/// Asks Okta to verify the hook (Okta then calls this service's `GET /integration/webhook`),
/// retrying with backoff (1 s doubling to a minute) until it succeeds or `stop` fires.
pub async fn verify_until_reachable(
    client: &OktaClient,
    id: &str,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> bool {
    let mut wait = Duration::from_secs(1);
    loop {
        let path = format!("/api/v1/eventHooks/{id}/lifecycle/verify");
        match client.send_json(Method::POST, &path, None).await {
            Ok(h) if h.get("verificationStatus").and_then(Value::as_str) == Some("VERIFIED") => {
                tracing::info!(hook = %id, "event hook verified");
                return true;
            }
            Ok(h) => {
                tracing::warn!(hook = %id, status = ?h.get("verificationStatus"), "event hook not verified yet")
            }
            Err(e) => {
                tracing::warn!(hook = %id, error = %e, "event hook verification failed; retrying")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return false,
        }
        if *stop.borrow() {
            return false;
        }
        wait = (wait * 2).min(Duration::from_secs(60));
    }
}
