//! `GET /api/v1/logs`: the System Log, with Okta's polling semantics (no `until`, ascending:
//! `next` is always present, even on an empty page) and bounded semantics (`since`+`until`:
//! finite, no `next` on the last page).

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::Value;

use super::{list_response, parse_limit};
use crate::query::{self, Dialect};
use crate::state::{LogRec, SimState};
use crate::util::{ApiError, ApiResult, now_ms, parse_query, parse_ts, qget};

pub(super) fn routes() -> Router<SimState> {
    Router::new().route("/logs", get(list_logs))
}

const DAY_MS: i64 = 24 * 3600 * 1000;

fn cursor(r: &LogRec) -> String {
    format!("{}_{}", r.published, r.seq)
}

fn parse_cursor(s: &str) -> ApiResult<u64> {
    s.rsplit('_').next().and_then(|x| x.parse().ok()).ok_or_else(|| {
        ApiError::new(400, "E0000029", "Invalid paging request").cause("after: invalid cursor")
    })
}

fn parse_time(pairs: &[(String, String)], k: &str) -> ApiResult<Option<i64>> {
    match qget(pairs, k) {
        None | Some("") => Ok(None),
        Some(s) => parse_ts(s).map(Some).ok_or_else(|| {
            ApiError::new(400, "E0000030", "Bad request. Invalid date format.")
                .cause(format!("{k}: {s}"))
        }),
    }
}

async fn list_logs(State(st): State<SimState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let pairs = parse_query(raw.as_deref());
    let limit = parse_limit(&pairs, 100, 1, 1000)?;
    let since = parse_time(&pairs, "since")?;
    let until = parse_time(&pairs, "until")?;
    let after = qget(&pairs, "after").filter(|s| !s.is_empty()).map(parse_cursor).transpose()?;
    if after.is_some() && since.is_some() {
        return Err(ApiError::validation("after", "after and since are mutually exclusive"));
    }
    let desc = qget(&pairs, "sortOrder").is_some_and(|o| o.eq_ignore_ascii_case("DESCENDING"));
    let now = now_ms();
    if since.is_some_and(|s| s < now - 180 * DAY_MS) {
        return Err(ApiError::new(400, "E0000053", "Invalid filter")
            .cause("since: must be within the last 180 days"));
    }
    let expr = qget(&pairs, "filter").map(|f| query::parse(f, Dialect::Logs)).transpose()?;
    let keywords: Vec<String> = qget(&pairs, "q")
        .map(|q| q.split_whitespace().take(10).map(str::to_lowercase).collect())
        .unwrap_or_default();
    let matches = |ev: &Value| {
        expr.as_ref().is_none_or(|e| query::eval(e, true, &|p| query::json_path(ev, p)))
            && (keywords.is_empty() || {
                let text = ev.to_string().to_lowercase();
                keywords.iter().all(|k| text.contains(k))
            })
    };
    let polling = until.is_none() && !desc;
    let until_ms = until.unwrap_or(now);
    let since_ms = since.unwrap_or(until_ms - 7 * DAY_MS).max(now - 90 * DAY_MS);
    let logs = st.0.logs.read().unwrap_or_else(|e| e.into_inner());
    // Window of records (by position), then the page within it.
    let in_window = |r: &&LogRec| r.published >= since_ms && (polling || r.published < until_ms);
    let mut page: Vec<Arc<Value>> = Vec::new();
    let next;
    if !desc {
        let start = after.unwrap_or(0) as usize;
        let mut last_seen: Option<&LogRec> = None;
        let mut more = false;
        for r in logs.iter().skip(start).filter(|r| after.is_some() || in_window(r)) {
            if !polling && r.published >= until_ms {
                break;
            }
            if !matches(&r.event) {
                last_seen = Some(r);
                continue;
            }
            if page.len() == limit {
                more = true;
                break;
            }
            page.push(r.event.clone());
            last_seen = Some(r);
        }
        next = if polling {
            // Always a next link: after the last returned event, or past everything scanned.
            let pos = if more {
                logs.iter()
                    .find(|r| Arc::ptr_eq(&r.event, page.last().unwrap_or(&r.event)))
                    .map(cursor)
            } else {
                last_seen.map(cursor).or_else(|| logs.last().map(cursor))
            };
            Some(pos.unwrap_or_else(|| format!("{}_{}", now, after.unwrap_or(0))))
        } else if more {
            logs.iter().find(|r| page.last().is_some_and(|p| Arc::ptr_eq(&r.event, p))).map(cursor)
        } else {
            None
        };
    } else {
        let end = after.map(|a| a.saturating_sub(1) as usize).unwrap_or(logs.len());
        let mut more = false;
        let mut last: Option<&LogRec> = None;
        for r in logs[..end.min(logs.len())].iter().rev().filter(in_window) {
            if r.published >= until_ms || !matches(&r.event) {
                continue;
            }
            if page.len() == limit {
                more = true;
                break;
            }
            page.push(r.event.clone());
            last = Some(r);
        }
        next = if more { last.map(cursor) } else { None };
    }
    drop(logs);
    let items: Vec<String> = page.iter().map(|e| e.to_string()).collect();
    // `after` replaces `since` in the next link (they are mutually exclusive).
    let carry: Vec<(String, String)> = if next.is_some() {
        pairs.iter().filter(|(k, _)| k != "since").cloned().collect()
    } else {
        pairs.clone()
    };
    let mut resp = list_response(&st, "/api/v1/logs", &carry, &items, next);
    if carry.len() != pairs.len() {
        // The self link must still show the request as made.
        let base = st.base_url();
        let q = crate::util::build_query(&pairs);
        let links: Vec<_> =
            resp.headers().get_all(axum::http::header::LINK).iter().cloned().collect();
        let h = resp.headers_mut();
        h.remove(axum::http::header::LINK);
        if let Ok(v) =
            axum::http::HeaderValue::from_str(&format!("<{base}/api/v1/logs?{q}>; rel=\"self\""))
        {
            h.append(axum::http::header::LINK, v);
        }
        for l in links.into_iter().skip(1) {
            h.append(axum::http::header::LINK, l);
        }
    }
    Ok(resp)
}
