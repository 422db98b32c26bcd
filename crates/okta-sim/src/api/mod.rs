//! HTTP surface: the request gate (request id, concurrency cap, rate limits, auth, faults,
//! latency, stats) and the routers of each resource.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::state::{Family, FaultHit, ReqCtx, SimState};
use crate::util::{ApiError, ApiResult, build_query, now_ms, request_id};

mod apps;
mod groups;
mod hooks;
mod logs;
mod sim;
mod users;

/// Builds the full router over a state.
pub(crate) fn router(state: SimState) -> Router {
    let api = Router::new()
        .merge(users::routes())
        .merge(groups::routes())
        .merge(apps::routes())
        .merge(logs::routes())
        .merge(hooks::routes())
        .fallback(api_not_found);
    Router::new()
        .nest("/api/v1", api)
        .merge(sim::routes())
        .fallback(api_not_found)
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

async fn api_not_found() -> ApiError {
    ApiError::new(404, "E0000008", "The requested path was not found")
}

struct InflightGuard(SimState);

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.0.inflight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn set_header(h: &mut HeaderMap, name: &'static str, v: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&v.to_string()) {
        h.insert(HeaderName::from_static(name), v);
    }
}

fn http_date() -> String {
    jiff::Timestamp::now().strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// The gate every request passes through. Order: request id → concurrency cap → rate-limit
/// bucket → auth → injected faults → latency → handler → headers and stats.
async fn gate(State(st): State<SimState>, mut req: Request, next: Next) -> Response {
    let rid = request_id();
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let fam = Family::classify(&method, &path);
    let ctx = ReqCtx {
        request_id: rid.clone(),
        uri: req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default(),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
    };
    req.extensions_mut().insert(ctx);
    if fam == Family::Sim {
        let mut resp = next.run(req).await;
        set_header(resp.headers_mut(), "x-okta-request-id", &rid);
        set_header(resp.headers_mut(), "date", http_date());
        return resp;
    }
    let n = st.0.inflight.fetch_add(1, Ordering::SeqCst) + 1;
    let _guard = InflightGuard(st.clone());
    st.0.peak.fetch_max(n, Ordering::SeqCst);
    let cap = st.0.config.concurrency_limit;
    let mut concurrency = false;
    let mut resp = if cap > 0 && n > cap {
        concurrency = true;
        let mut r = ApiError::rate_limited().into_response();
        let h = r.headers_mut();
        set_header(h, "x-rate-limit-limit", 0);
        set_header(h, "x-rate-limit-remaining", 0);
        set_header(h, "x-rate-limit-reset", now_ms() / 1000 + 60);
        r
    } else {
        let rate = st.take_rate(fam);
        let mut r = if !rate.allowed {
            ApiError::rate_limited().into_response()
        } else if !auth_ok(&st, req.headers()) {
            ApiError::invalid_token().into_response()
        } else {
            let uri = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
            let fault = st.fault_for(fam, &method, &uri);
            let latency = st.0.config.latency_ms;
            if latency > 0 {
                tokio::time::sleep(Duration::from_millis(latency)).await;
            }
            match fault {
                Some(FaultHit::Status(s)) => ApiError::for_status(s).into_response(),
                Some(FaultHit::Reset) => reset_response(),
                Some(FaultHit::Slow(ms)) => {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    run_checked(req, next).await
                }
                Some(FaultHit::Redirect(location)) => redirect(&location),
                Some(FaultHit::Hold) => {
                    st.until_faults_change(Duration::from_secs(120)).await;
                    run_checked(req, next).await
                }
                Some(FaultHit::Vanish) => {
                    vanish(&st, &path);
                    run_checked(req, next).await
                }
                Some(page) => {
                    let r = run_checked(req, next).await;
                    page_fault(r, page).await
                }
                None => {
                    let r = run_checked(req, next).await;
                    let keyed = matches!(fam, Family::ListUsers | Family::Groups | Family::Other);
                    if keyed && method == "GET" && st.empty_last_page() {
                        add_trailing_next(r).await
                    } else {
                        r
                    }
                }
            }
        };
        // With rate limiting off there is no limit to report: no headers, so that a client
        // does not pace itself against limits that are not enforced.
        if !rate.unlimited {
            let h = r.headers_mut();
            set_header(h, "x-rate-limit-limit", rate.limit);
            set_header(h, "x-rate-limit-remaining", rate.remaining);
            set_header(h, "x-rate-limit-reset", rate.reset_s);
        }
        r
    };
    let h = resp.headers_mut();
    set_header(h, "x-okta-request-id", &rid);
    set_header(h, "date", http_date());
    st.record(fam, resp.status().as_u16(), concurrency);
    resp
}

async fn run_checked(req: Request, next: Next) -> Response {
    let m = req.method().clone();
    if (m == axum::http::Method::POST || m == axum::http::Method::PUT)
        && !req.headers().contains_key(header::CONTENT_LENGTH)
        && !req.headers().contains_key(header::TRANSFER_ENCODING)
    {
        return ApiError::new(411, "E0000001", "Length Required").into_response();
    }
    next.run(req).await
}

/// A response whose body fails mid-stream: hyper aborts the connection, so the client sees a
/// reset/incomplete message instead of a clean reply.
fn reset_response() -> Response {
    let stream = futures_util::stream::iter(vec![
        Ok::<_, std::io::Error>(bytes_of("[")),
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected connection reset")),
    ]);
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from_static("4096"));
    r
}

/// A 302 to `location` (Okta APIs never redirect; a client must not follow it with its token).
fn redirect(location: &str) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::FOUND;
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The `vanish` fault: the group or user named by the path (`/api/v1/groups/{id}/…`,
/// `/api/v1/users/{id}/…`) is deleted, as if someone deleted it in the admin console just now.
fn vanish(st: &SimState, path: &str) {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut org = st.org_write();
    match segs.as_slice() {
        ["api", "v1", "groups", id, ..] => {
            org.remove_group(id);
        }
        ["api", "v1", "users", id, ..] => {
            org.remove_user(id);
        }
        _ => {}
    }
}

/// Page faults on a successful list response: the body and `Link` headers a misbehaving
/// server (or proxy) could send.
async fn page_fault(r: Response, hit: FaultHit) -> Response {
    if r.status() != StatusCode::OK {
        return r;
    }
    let (mut parts, body) = r.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 256 << 20).await else {
        return ApiError::for_status(500).into_response();
    };
    let links: Vec<String> = parts
        .headers
        .get_all(header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect();
    let url_of = |l: &str| l.trim_start_matches('<').split('>').next().unwrap_or("").to_owned();
    let self_url = links.iter().find(|l| l.ends_with("rel=\"self\"")).map(|l| url_of(l));
    let mut keep: Vec<String> = links.clone();
    let mut out = bytes.to_vec();
    match hit {
        FaultHit::EmptyWithNext => out = b"[]".to_vec(),
        FaultHit::Empty => {
            out = b"[]".to_vec();
            keep.retain(|l| !l.ends_with("rel=\"next\""));
        }
        FaultHit::NoLink => keep.clear(),
        FaultHit::Cycle => {
            if let Some(self_url) = &self_url {
                let (path, q) = self_url.split_once('?').unwrap_or((self_url, ""));
                let pairs: Vec<(String, String)> = crate::util::parse_query(Some(q))
                    .into_iter()
                    .filter(|(k, _)| k != "after")
                    .collect();
                let first = if pairs.is_empty() {
                    path.to_owned()
                } else {
                    format!("{path}?{}", build_query(&pairs))
                };
                keep.retain(|l| !l.ends_with("rel=\"next\""));
                keep.push(format!("<{first}>; rel=\"next\""));
            }
        }
        FaultHit::Hide(ids) => {
            if let Ok(items) = serde_json::from_slice::<Vec<Value>>(&bytes) {
                let shown: Vec<Value> = items
                    .into_iter()
                    .filter(|v| {
                        let id = v.get("id").and_then(Value::as_str).unwrap_or("");
                        !ids.iter().any(|h| h == id)
                    })
                    .collect();
                out = serde_json::to_vec(&shown).unwrap_or(out);
            }
        }
        _ => {}
    }
    parts.headers.remove(header::LINK);
    parts.headers.remove(header::CONTENT_LENGTH);
    for l in keep {
        if let Ok(v) = HeaderValue::from_str(&l) {
            parts.headers.append(header::LINK, v);
        }
    }
    Response::from_parts(parts, Body::from(out))
}

/// The `emptyLastPage` fault: a final, non-empty page of an id-keyed listing gets a `next`
/// link (`after` = its last id) that leads to an empty page.
async fn add_trailing_next(r: Response) -> Response {
    let ls: Vec<String> = r
        .headers()
        .get_all(header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect();
    let Some(self_url) = ls
        .iter()
        .find(|l| l.ends_with("rel=\"self\""))
        .map(|l| l.trim_start_matches('<').split('>').next().unwrap_or("").to_owned())
    else {
        return r;
    };
    if r.status() != StatusCode::OK || ls.iter().any(|l| l.ends_with("rel=\"next\"")) {
        return r;
    }
    let (mut parts, body) = r.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 256 << 20).await else {
        return ApiError::for_status(500).into_response();
    };
    let last = serde_json::from_slice::<Vec<Value>>(&bytes).ok().and_then(|v| {
        v.last().and_then(|x| x.get("id")).and_then(Value::as_str).map(str::to_owned)
    });
    if let Some(last) = last {
        let (path, q) = self_url.split_once('?').unwrap_or((&self_url, ""));
        let mut pairs: Vec<(String, String)> = vec![("after".into(), last)];
        pairs.extend(crate::util::parse_query(Some(q)).into_iter().filter(|(k, _)| k != "after"));
        if let Ok(v) =
            HeaderValue::from_str(&format!("<{path}?{}>; rel=\"next\"", build_query(&pairs)))
        {
            parts.headers.append(header::LINK, v);
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn bytes_of(s: &'static str) -> axum::body::Bytes {
    axum::body::Bytes::from_static(s.as_bytes())
}

fn auth_ok(st: &SimState, h: &HeaderMap) -> bool {
    let Some(v) = h.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    // `SSWS <token>`. Okta's Python SDK 3.x sends `SSWS<token>` with no space (it concatenates
    // the mode and the token); it works against real orgs, so the space is optional here too.
    v.strip_prefix("SSWS")
        .is_some_and(|tok| !tok.trim().is_empty() && tok.trim() == st.0.config.token)
}

/// Parses `limit`: default `def`, clamped to `max`; values below `min` become `min`.
pub(crate) fn parse_limit(
    pairs: &[(String, String)],
    def: usize,
    min: usize,
    max: usize,
) -> ApiResult<usize> {
    match crate::util::qget(pairs, "limit") {
        None | Some("") => Ok(def),
        Some(s) => match s.trim().parse::<i64>() {
            Ok(n) if n < 1 => Ok(def),
            Ok(n) => Ok((n as usize).clamp(min, max)),
            Err(_) => {
                Err(ApiError::validation("limit", format!("limit: '{s}' is not a valid number")))
            }
        },
    }
}

/// A JSON array response with Okta `Link` headers (separate `self` and `next` lines).
/// One keyset page: up to `limit` items, and the cursor (the last item's id) when more remain.
pub(crate) fn keyset_page<T>(
    mut it: impl Iterator<Item = T>,
    limit: usize,
    cursor: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let page: Vec<T> = it.by_ref().take(limit).collect();
    let next =
        if page.len() == limit && it.next().is_some() { page.last().map(cursor) } else { None };
    (page, next)
}

pub(crate) fn list_response(
    st: &SimState,
    path: &str,
    pairs: &[(String, String)],
    items: &[impl AsRef<str>],
    next_after: Option<String>,
) -> Response {
    let total: usize = items.iter().map(|i| i.as_ref().len() + 1).sum();
    let mut body = String::with_capacity(total + 2);
    body.push('[');
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(it.as_ref());
    }
    body.push(']');
    let base = st.base_url();
    let q = build_query(pairs);
    let self_link = if q.is_empty() {
        format!("<{base}{path}>; rel=\"self\"")
    } else {
        format!("<{base}{path}?{q}>; rel=\"self\"")
    };
    let mut resp = Response::new(Body::from(body));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&self_link) {
        h.append(header::LINK, v);
    }
    if let Some(after) = next_after {
        let mut np: Vec<(String, String)> = vec![("after".into(), after)];
        np.extend(pairs.iter().filter(|(k, _)| k != "after").cloned());
        let next = format!("<{base}{path}?{}>; rel=\"next\"", build_query(&np));
        if let Ok(v) = HeaderValue::from_str(&next) {
            h.append(header::LINK, v);
        }
    }
    resp
}

/// A single JSON object response.
pub(crate) fn json_response(status: StatusCode, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// Parses a JSON request body, or fails with Okta's E0000003.
pub(crate) fn parse_body(bytes: &[u8]) -> ApiResult<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_body("The request body was empty"));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_body(e.to_string()))
}
