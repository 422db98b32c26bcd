//! Small shared helpers: Okta-shaped ids and timestamps, the Okta error body, query strings.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A 20-character Okta id: a 3-character type prefix (`00u`, `00g`, `0oa`, …) and 17 random
/// characters from `[0-9A-Za-z]`.
pub(crate) fn okta_id(rng: &mut fastrand::Rng, prefix: &str) -> String {
    let mut s = String::with_capacity(20);
    s.push_str(prefix);
    while s.len() < 20 {
        s.push(ALNUM[rng.usize(..ALNUM.len())] as char);
    }
    s
}

/// A random alphanumeric string of `n` characters (thread-local RNG; not deterministic).
pub(crate) fn random_alnum(n: usize) -> String {
    (0..n).map(|_| ALNUM[fastrand::usize(..ALNUM.len())] as char).collect()
}

/// A request id shaped like Okta's `X-Okta-Request-Id` (27 characters).
pub(crate) fn request_id() -> String {
    let mut s = random_alnum(27);
    s.replace_range(14..15, "-");
    s
}

/// A random UUID v4 string (LogEvent `uuid`, hook `eventId`).
pub(crate) fn uuid4() -> String {
    let a = fastrand::u128(..);
    let b = (a & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let h = format!("{b:032x}");
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// The timestamp of a write (`lastUpdated`, `lastMembershipUpdated`, …): now, but always after
/// the previous write's, so two writes in the same millisecond still tell which came later.
pub(crate) fn stamp_ms() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = now_ms();
    let prev = LAST.fetch_max(now, Ordering::Relaxed);
    if prev < now {
        return now;
    }
    LAST.fetch_add(1, Ordering::Relaxed) + 1
}

/// Formats epoch milliseconds the way Okta does: `2013-07-02T21:36:25.344Z`.
pub(crate) fn fmt_ms(ms: i64) -> String {
    let ts = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let dt = jiff::tz::TimeZone::UTC.to_datetime(ts);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.subsec_nanosecond() / 1_000_000
    )
}

/// Parses an ISO-8601 timestamp (with or without fractional seconds) into epoch milliseconds.
pub(crate) fn parse_ts(s: &str) -> Option<i64> {
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(ts.as_millisecond());
    }
    // Okta also accepts a date-time without offset, meaning UTC.
    s.parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|dt| jiff::tz::TimeZone::UTC.to_timestamp(dt).ok())
        .map(|t| t.as_millisecond())
}

/// An Okta API error: rendered as `{errorCode, errorSummary, errorLink, errorId, errorCauses}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Okta error code, e.g. `E0000007`.
    pub code: &'static str,
    /// Human-readable summary.
    pub summary: String,
    /// `errorCauses[].errorSummary` entries.
    pub causes: Vec<String>,
}

impl ApiError {
    /// Builds an error with no causes.
    pub fn new(status: u16, code: &'static str, summary: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            summary: summary.into(),
            causes: Vec::new(),
        }
    }
    /// Adds one `errorCauses` entry.
    pub fn cause(mut self, c: impl Into<String>) -> Self {
        self.causes.push(c.into());
        self
    }
    /// 404 E0000007 for a missing object of `kind` (`User`, `UserGroup`, `AppInstance`, …).
    pub fn not_found(id: &str, kind: &str) -> Self {
        Self::new(404, "E0000007", format!("Not found: Resource not found: {id} ({kind})"))
    }
    /// 400 E0000001 validation error.
    pub fn validation(what: &str, cause: impl Into<String>) -> Self {
        Self::new(400, "E0000001", format!("Api validation failed: {what}")).cause(cause)
    }
    /// 400 E0000031 invalid search criteria.
    pub fn bad_search(cause: impl Into<String>) -> Self {
        Self::new(400, "E0000031", "Invalid search criteria.").cause(cause)
    }
    /// 400 E0000003 body not well-formed.
    pub fn bad_body(cause: impl Into<String>) -> Self {
        Self::new(400, "E0000003", "The request body was not well-formed.").cause(cause)
    }
    /// 401 E0000011.
    pub fn invalid_token() -> Self {
        Self::new(401, "E0000011", "Invalid token provided")
    }
    /// 403 E0000006.
    pub fn forbidden() -> Self {
        Self::new(403, "E0000006", "You do not have permission to perform the requested action")
    }
    /// 429 E0000047.
    pub fn rate_limited() -> Self {
        Self::new(429, "E0000047", "API call exceeded rate limit due to too many requests.")
    }
    /// A generic error for an arbitrary injected status code, with the code Okta uses for it.
    pub fn for_status(status: u16) -> Self {
        match status {
            400 => Self::new(400, "E0000001", "Api validation failed"),
            401 => Self::invalid_token(),
            403 => Self::forbidden(),
            404 => Self::new(404, "E0000007", "Not found: Resource not found"),
            405 => {
                Self::new(405, "E0000022", "The endpoint does not support the provided HTTP method")
            }
            429 => Self::rate_limited(),
            503 => Self::new(503, "E0000010", "Service is in read only mode"),
            504 => Self::new(504, "E0000009", "Internal Server Error"),
            s if s >= 500 => Self::new(s, "E0000009", "Internal Server Error"),
            s => Self::new(s, "E0000001", "Api validation failed"),
        }
    }
    /// The JSON body Okta sends.
    pub fn body(&self) -> serde_json::Value {
        json!({
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": format!("oae{}", random_alnum(22)),
            "errorCauses": self.causes.iter().map(|c| json!({"errorSummary": c})).collect::<Vec<_>>(),
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

/// Result type of API handlers.
pub type ApiResult<T> = Result<T, ApiError>;

/// Decodes `application/x-www-form-urlencoded` query pairs (`+` is a space), keeping order.
pub(crate) fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = q else { return Vec::new() };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (pct_decode(k), pct_decode(v))
        })
        .collect()
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a query component (RFC 3986 unreserved characters pass through).
pub(crate) fn pct_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~') {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// Builds a query string from pairs.
pub(crate) fn build_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", pct_encode(k), pct_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Looks up the first value of `key` in decoded query pairs.
pub(crate) fn qget<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_stamps_strictly_increase_within_a_millisecond() {
        let stamps: Vec<i64> = (0..10_000).map(|_| stamp_ms()).collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]), "every write is later than the one before");
        assert!(stamps[9_999] - now_ms() < 10_000, "stamps stay close to the clock");
    }

    #[test]
    fn ids_and_times() {
        let mut rng = fastrand::Rng::with_seed(1);
        let id = okta_id(&mut rng, "00u");
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("00u"));
        assert_eq!(fmt_ms(1_372_800_985_344), "2013-07-02T21:36:25.344Z");
        assert_eq!(parse_ts("2013-07-02T21:36:25.344Z"), Some(1_372_800_985_344));
        assert_eq!(parse_ts("2013-07-02T21:36:25Z"), Some(1_372_800_985_000));
        assert_eq!(request_id().len(), 27);
        let u = uuid4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn query_round_trip() {
        let q = parse_query(Some("search=status+eq+%22ACTIVE%22&limit=5&x=%ZZ"));
        assert_eq!(q[0], ("search".into(), "status eq \"ACTIVE\"".into()));
        assert_eq!(qget(&q, "limit"), Some("5"));
        assert_eq!(q[2].1, "%ZZ");
        let s = build_query(&q[..2]);
        assert_eq!(parse_query(Some(&s)), q[..2].to_vec());
    }
}
