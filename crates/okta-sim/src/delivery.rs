//! Event hook verification and delivery.
//!
//! Mutations push eligible LogEvents onto an unbounded channel; one worker task drains it,
//! batches what is already queued, and spawns one delivery task per (hook, batch) into a
//! `JoinSet` that it owns. Aborting the worker on shutdown drops the set, which aborts every
//! delivery still sleeping or in flight, so nothing outlives [`crate::SimHandle::shutdown`].

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinSet;

use crate::model::Hook;
use crate::state::{DeliveryFaults, ReqCtx, SimState};
use crate::util::{fmt_ms, now_ms, uuid4};

/// Outcome of one HTTP attempt.
enum Attempt {
    Ok(reqwest::Response),
    Retryable(String),
    Fatal(String),
}

fn request(st: &SimState, h: &Hook, method: reqwest::Method) -> reqwest::RequestBuilder {
    let mut rb =
        st.0.http
            .request(method, &h.uri)
            .timeout(Duration::from_millis(st.0.config.hook_timeout_ms))
            .header("Accept", "application/json")
            .header("User-Agent", "Okta Event Hooks (okta-sim)");
    for (k, v) in &h.headers {
        rb = rb.header(k, v);
    }
    if let Some((k, v)) = &h.auth {
        rb = rb.header(k, v);
    }
    rb
}

async fn attempt(rb: reqwest::RequestBuilder) -> Attempt {
    match rb.send().await {
        Ok(r) if r.status().is_success() => Attempt::Ok(r),
        Ok(r) if r.status().is_server_error() => {
            Attempt::Retryable(format!("HTTP {}", r.status().as_u16()))
        }
        Ok(r) => Attempt::Fatal(format!("HTTP {}", r.status().as_u16())),
        Err(e) if e.is_timeout() => Attempt::Retryable("timed out".into()),
        Err(e) => Attempt::Retryable(format!("connection error: {e}")),
    }
}

/// Performs the one-time verification GET. `Ok(())` only when the endpoint echoes the challenge.
pub(crate) async fn verify(st: &SimState, h: &Hook) -> Result<(), String> {
    let challenge = format!("{}{}", uuid4(), uuid4()).replace('-', "");
    let mut last = String::new();
    for _ in 0..2 {
        let rb = request(st, h, reqwest::Method::GET)
            .header("x-okta-verification-challenge", &challenge);
        match attempt(rb).await {
            Attempt::Ok(r) => {
                let body: Value = r.json().await.unwrap_or(Value::Null);
                return if body.get("verification").and_then(Value::as_str)
                    == Some(challenge.as_str())
                {
                    Ok(())
                } else {
                    Err("The endpoint did not return the verification value".into())
                };
            }
            Attempt::Fatal(e) => return Err(format!("Verification request failed: {e}")),
            Attempt::Retryable(e) => last = e,
        }
    }
    Err(format!("Verification request failed: {last}"))
}

async fn deliver(st: SimState, h: Hook, body: Arc<String>, delay_ms: u64) {
    if delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    }
    let mut last = String::new();
    for i in 0..2 {
        if i > 0 {
            st.hook_stat("retried");
        }
        st.hook_stat("attempts");
        let rb = request(&st, &h, reqwest::Method::POST)
            .header("Content-Type", "application/json")
            .body(body.as_ref().clone());
        match attempt(rb).await {
            Attempt::Ok(_) => {
                st.hook_stat("succeeded");
                return;
            }
            Attempt::Fatal(e) => {
                last = e;
                break;
            }
            Attempt::Retryable(e) => last = e,
        }
    }
    st.hook_stat("failed");
    let ctx = ReqCtx {
        request_id: crate::util::request_id(),
        uri: h.uri.clone(),
        user_agent: String::new(),
    };
    st.emit_with(
        &ctx,
        "event_hook.delivery",
        "Event hook delivery failed",
        vec![json!({"id": h.id, "type": "EventHook", "alternateId": h.uri, "displayName": h.name, "detailEntry": null})],
        "FAILURE",
        Some(&last),
    );
}

/// One planned delivery: a hook, the envelope, and how many copies to send.
struct Job {
    hook: Hook,
    body: Arc<String>,
    copies: usize,
}

/// Builds the deliveries of a batch of events (applying the drop/duplicate faults).
fn plan(st: &SimState, batch: &[Arc<Value>], faults: &DeliveryFaults) -> Vec<Job> {
    let mut jobs = Vec::new();
    if batch.is_empty() {
        return jobs;
    }
    let seed = st.fault_seed();
    let hooks: Vec<Hook> = st
        .hooks()
        .values()
        .filter(|h| h.status == "ACTIVE" && h.verification_status == "VERIFIED")
        .cloned()
        .collect();
    for h in hooks {
        let events: Vec<&Value> = batch
            .iter()
            .map(AsRef::as_ref)
            .filter(|e| {
                e.get("eventType")
                    .and_then(Value::as_str)
                    .is_some_and(|t| h.items.iter().any(|i| i == t))
            })
            .collect();
        if events.is_empty() {
            continue;
        }
        // Deterministic per (seed, hook, event): the same deliveries are dropped or doubled in
        // every run.
        let first = events[0].get("uuid").and_then(Value::as_str).unwrap_or("").as_bytes();
        let roll =
            |what: &str| crate::state::draw(seed, &[what.as_bytes(), h.id.as_bytes(), first]);
        if faults.drop > 0.0 && roll("drop") < faults.drop {
            st.hook_stat("dropped");
            continue;
        }
        let envelope = json!({
            "eventType": "com.okta.event_hook",
            "eventTypeVersion": "1.0",
            "cloudEventsVersion": "0.1",
            "source": format!("{}/api/v1/eventHooks/{}", st.base_url(), h.id),
            "eventId": uuid4(),
            "eventTime": fmt_ms(now_ms()),
            "contentType": "application/json",
            "data": {"events": events},
        });
        let copies = if faults.duplicate > 0.0 && roll("duplicate") < faults.duplicate {
            st.hook_stat("duplicated");
            2
        } else {
            1
        };
        jobs.push(Job { hook: h, body: Arc::new(envelope.to_string()), copies });
    }
    jobs
}

/// Spawns deliveries: concurrently, or one after another when `sequential` (reordering must be
/// observable, so a swapped pair is sent in order by a single task).
fn dispatch(
    st: &SimState,
    tasks: &mut JoinSet<()>,
    jobs: Vec<Job>,
    delay_ms: u64,
    sequential: bool,
) {
    if sequential {
        let st = st.clone();
        tasks.spawn(async move {
            for j in jobs {
                for _ in 0..j.copies {
                    deliver(st.clone(), j.hook.clone(), j.body.clone(), delay_ms).await;
                }
            }
        });
        return;
    }
    for j in jobs {
        for _ in 0..j.copies {
            tasks.spawn(deliver(st.clone(), j.hook.clone(), j.body.clone(), delay_ms));
        }
    }
}

/// The delivery worker. Runs until the channel closes or the task is aborted.
pub(crate) async fn run(st: SimState, mut rx: UnboundedReceiver<Arc<Value>>) {
    let mut tasks = JoinSet::new();
    let mut held: Option<Arc<Value>> = None;
    loop {
        let next = if held.is_some() {
            match tokio::time::timeout(Duration::from_secs(2), rx.recv()).await {
                Ok(Some(e)) => Some(e),
                Ok(None) => break,
                Err(_) => None,
            }
        } else {
            match rx.recv().await {
                Some(e) => Some(e),
                None => break,
            }
        };
        while tasks.try_join_next().is_some() {}
        let timed_out = next.is_none();
        let mut batch = Vec::new();
        if let Some(e) = next {
            batch.push(e);
            while let Ok(e) = rx.try_recv() {
                batch.push(e);
            }
        }
        let faults = st.delivery_faults();
        if faults.reorder {
            // Pairwise swap, one event per delivery so the order is observable.
            let mut out = Vec::new();
            for e in batch {
                match held.take() {
                    None => held = Some(e),
                    Some(h) => {
                        out.push(e);
                        out.push(h);
                    }
                }
            }
            if timed_out {
                out.extend(held.take());
            }
            let jobs: Vec<Job> =
                out.iter().flat_map(|e| plan(&st, std::slice::from_ref(e), &faults)).collect();
            dispatch(&st, &mut tasks, jobs, faults.delay_ms, true);
        } else {
            if let Some(h) = held.take() {
                batch.insert(0, h);
            }
            let jobs = plan(&st, &batch, &faults);
            dispatch(&st, &mut tasks, jobs, faults.delay_ms, false);
        }
    }
    while tasks.join_next().await.is_some() {}
}
