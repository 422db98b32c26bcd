//! Okta event-hook deliveries and System Log events, parsed into the [`Event`]s the queue holds.
//!
//! A delivery is a CloudEvents envelope whose `data.events` are System Log `LogEvent`s
//! (`spec/okta-api.md` §6.3). The envelope is validated as a whole (a body that is not one is a
//! 400 with the reason); inside it each event needs a `uuid`, an `eventType` and a `published`
//! time. Targets are read defensively: a target without a usable `type` and `id` is skipped, not
//! a reason to reject the delivery (Ocean rejects all of it, W-O11).

use serde_json::Value;

/// Event types port-okta acts on: Ocean's 13 subscriptions (`spec/ocean-semantics.md` §7.5).
pub const EVENT_TYPES: &[&str] = &[
    "group.lifecycle.create",
    "group.lifecycle.delete",
    "group.profile.update",
    "group.user_membership.add",
    "group.user_membership.remove",
    "user.account.update_profile",
    "user.lifecycle.create",
    "user.lifecycle.deactivate",
    "user.lifecycle.activate",
    "user.lifecycle.delete.initiated",
    "user.lifecycle.reactivate",
    "user.lifecycle.suspend",
    "user.lifecycle.unsuspend",
];

/// What an event's target is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum TargetKind {
    /// An Okta user (`type: "User"`).
    User,
    /// An Okta group (`type: "UserGroup"`).
    Group,
}

/// One object an event is about.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Target {
    /// User or group.
    pub kind: TargetKind,
    /// Its Okta id.
    pub id: String,
}

/// One System Log event, as queued.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    /// The LogEvent `uuid`: the same event through a hook and the System Log is processed once.
    pub uuid: String,
    /// `published` (RFC 3339 with milliseconds): the processing order.
    pub published: String,
    /// `eventType`.
    pub event_type: String,
    /// The users and groups it is about.
    pub targets: Vec<Target>,
}

/// Why a delivery was refused (the 400's reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EnvelopeError(pub String);

/// Parses an event-hook delivery body into the events port-okta acts on (others are counted
/// in `ignored`).
pub fn parse_delivery(body: &[u8]) -> Result<Delivery, EnvelopeError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| EnvelopeError(format!("the body is not JSON: {e}")))?;
    let Some(obj) = v.as_object() else {
        return Err(EnvelopeError("the body is not a JSON object".into()));
    };
    let events = obj
        .get("data")
        .and_then(|d| d.get("events"))
        .ok_or_else(|| EnvelopeError("data.events is missing".into()))?;
    let Some(events) = events.as_array() else {
        return Err(EnvelopeError("data.events is not an array".into()));
    };
    let mut out = Delivery::default();
    for (i, e) in events.iter().enumerate() {
        match parse_log_event(e).map_err(|why| EnvelopeError(format!("data.events[{i}]: {why}")))? {
            Some(ev) => out.events.push(ev),
            None => out.ignored += 1,
        }
    }
    Ok(out)
}

/// The events of one delivery.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delivery {
    /// Events of a type port-okta acts on.
    pub events: Vec<Event>,
    /// Well-formed events of other types.
    pub ignored: usize,
}

/// Parses one LogEvent: `Ok(None)` for an event type port-okta does not act on.
pub fn parse_log_event(e: &Value) -> Result<Option<Event>, String> {
    let Some(obj) = e.as_object() else { return Err("not an object".into()) };
    let text = |k: &str| -> Result<String, String> {
        match obj.get(k) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            Some(_) => Err(format!("{k} is not a non-empty string")),
            None => Err(format!("{k} is missing")),
        }
    };
    let uuid = text("uuid")?;
    let event_type = text("eventType")?;
    let published = text("published")?;
    if published.parse::<jiff::Timestamp>().is_err() {
        return Err(format!("published is not a timestamp: {published:?}"));
    }
    if !EVENT_TYPES.contains(&event_type.as_str()) {
        return Ok(None);
    }
    let mut targets = Vec::new();
    for t in obj.get("target").and_then(Value::as_array).into_iter().flatten() {
        let kind = match t.get("type").and_then(Value::as_str) {
            Some("User") => TargetKind::User,
            Some("UserGroup") => TargetKind::Group,
            _ => continue,
        };
        let Some(id) = t.get("id").and_then(Value::as_str).filter(|s| valid_id(s)) else {
            continue;
        };
        let target = Target { kind, id: id.to_string() };
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    Ok(Some(Event { uuid, published, event_type, targets }))
}

/// An Okta object id as it may appear in a path: short, alphanumeric.
fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(events: Value) -> Vec<u8> {
        json!({"eventType": "com.okta.event_hook", "eventId": "e1", "data": {"events": events}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn reads_targets_and_skips_what_it_cannot_use() {
        let body = envelope(json!([
            {"uuid": "u1", "published": "2026-01-01T00:00:00.000Z", "eventType": "group.user_membership.add",
             "target": [{"type": "User", "id": "00u1"}, {"type": "UserGroup", "id": "00g1"},
                        {"type": "User"}, {"type": "AppInstance", "id": "0oa1"}, {"type": "User", "id": "../x"},
                        {"type": "User", "id": "00u1"}]},
            {"uuid": "u2", "published": "2026-01-01T00:00:01.000Z", "eventType": "user.session.start", "target": null},
            {"uuid": "u3", "published": "2026-01-01T00:00:02.000Z", "eventType": "user.lifecycle.create", "target": null}
        ]));
        let d = parse_delivery(&body).unwrap();
        assert_eq!(d.ignored, 1);
        assert_eq!(d.events.len(), 2);
        assert_eq!(
            d.events[0].targets,
            [
                Target { kind: TargetKind::User, id: "00u1".into() },
                Target { kind: TargetKind::Group, id: "00g1".into() }
            ]
        );
        assert!(d.events[1].targets.is_empty());
    }

    #[test]
    fn refuses_what_is_not_a_delivery_with_a_reason() {
        let cases: [(&[u8], &str); 6] = [
            (b"{not json", "not JSON"),
            (b"[]", "not a JSON object"),
            (b"{}", "data.events is missing"),
            (br#"{"data":{"events":{}}}"#, "not an array"),
            (br#"{"data":{"events":[1]}}"#, "data.events[0]: not an object"),
            (br#"{"data":{"events":[{"uuid":"x","eventType":"user.lifecycle.create","published":"yesterday"}]}}"#, "published is not a timestamp"),
        ];
        for (body, why) in cases {
            let err = parse_delivery(body).unwrap_err().0;
            assert!(err.contains(why), "{err} should say {why}");
        }
    }

    #[test]
    fn never_panics_on_flipped_inserted_or_cut_bytes() {
        let base = envelope(json!([
            {"uuid": "u1", "published": "2026-01-01T00:00:00.000Z", "eventType": "group.user_membership.add",
             "target": [{"type": "User", "id": "00u1"}, {"type": "UserGroup", "id": "00g1"}]}
        ]));
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let mut b = base.clone();
            for _ in 0..rng.usize(1..4) {
                let i = rng.usize(..b.len());
                match rng.u8(..3) {
                    0 => b[i] = rng.u8(..),
                    1 => b.insert(i, rng.u8(..)),
                    _ => b.truncate(i),
                }
                if b.is_empty() {
                    break;
                }
            }
            // Either way is fine; what matters is an answer, not a panic.
            let _ = parse_delivery(&b);
        }
    }
}
