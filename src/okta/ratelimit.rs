//! Header-driven pacing: one state per Okta rate-limit bucket, fed by `X-Rate-Limit-*`.
//!
//! Okta tells every response how much of its bucket is left and when the window resets (epoch
//! seconds, server clock). We keep using a bucket only while its remaining budget stays above
//! `(1 - share) × limit`; below that, requests wait for the reset instead of running into 429.
//! Requests in flight are counted so that a burst of concurrent calls cannot overshoot.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the rate-limit headers of one response said.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateHeaders {
    /// `X-Rate-Limit-Limit` (0 on a concurrency 429).
    pub limit: u64,
    /// `X-Rate-Limit-Remaining`.
    pub remaining: u64,
    /// `X-Rate-Limit-Reset` minus the server's `Date` (or the local clock without `Date`).
    pub reset_in: Duration,
}

impl RateHeaders {
    /// Reads the headers; `None` when the limit headers are absent or unparsable.
    ///
    /// Duplicate `X-Rate-Limit-Reset` values (a known Okta bug) resolve to the earliest.
    pub fn parse(headers: &reqwest::header::HeaderMap) -> Option<Self> {
        let num = |name: &str| -> Option<u64> {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|v| v.trim().parse::<u64>().ok())
                .min()
        };
        let limit = num("x-rate-limit-limit")?;
        let remaining = num("x-rate-limit-remaining")?;
        let reset = num("x-rate-limit-reset")?;
        let now = headers
            .get(reqwest::header::DATE)
            .and_then(|d| d.to_str().ok())
            .and_then(parse_http_date)
            .unwrap_or_else(|| {
                SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
            });
        // Okta's windows are a minute long; a reset claimed more than an hour out is capped.
        let reset_in = Duration::from_secs(reset.saturating_sub(now).min(3600));
        Some(Self { limit, remaining, reset_in })
    }
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) into epoch seconds.
pub fn parse_http_date(s: &str) -> Option<u64> {
    let ts: jiff::Timestamp = jiff::fmt::rfc2822::parse(s).ok()?.timestamp();
    u64::try_from(ts.as_second()).ok()
}

#[derive(Debug)]
struct Bucket {
    limit: u64,
    remaining: u64,
    resets_at: Instant,
    in_flight: u64,
    /// The server answered without rate-limit headers: nothing to pace on.
    headerless: bool,
}

/// The pacing state of every bucket seen so far.
#[derive(Debug)]
pub struct Pacer {
    share: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// What the caller must do before sending.
#[derive(Debug, PartialEq)]
pub enum Permit {
    /// Send now (the request is counted as in flight in its bucket).
    Go,
    /// Wait this long, then ask again.
    Wait(Duration),
}

impl Pacer {
    /// A pacer that uses at most `share` (0 < share ≤ 1) of every bucket.
    pub fn new(share: f64) -> Self {
        Self { share: share.clamp(0.01, 1.0), buckets: Mutex::new(HashMap::new()) }
    }

    /// Asks to send one request in `bucket`.
    pub fn acquire(&self, bucket: &str, now: Instant) -> Permit {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let Some(b) = buckets.get_mut(bucket) else {
            // Unknown bucket: the first response will tell us its size.
            buckets.insert(
                bucket.to_string(),
                Bucket { limit: 0, remaining: 0, resets_at: now, in_flight: 1, headerless: false },
            );
            return Permit::Go;
        };
        if b.limit == 0 {
            // Still learning the bucket: allow a small probe concurrency only.
            if b.headerless || b.in_flight < 2 {
                b.in_flight += 1;
                return Permit::Go;
            }
            return Permit::Wait(Duration::from_millis(20));
        }
        if now >= b.resets_at {
            b.remaining = b.limit;
            b.resets_at = now + Duration::from_secs(60);
        }
        let floor = ((1.0 - self.share) * b.limit as f64).ceil() as u64;
        if b.remaining.saturating_sub(b.in_flight) > floor {
            b.in_flight += 1;
            Permit::Go
        } else {
            Permit::Wait(b.resets_at.saturating_duration_since(now) + jitter())
        }
    }

    /// Records a response in `bucket` (with its headers, when it had them).
    pub fn release(&self, bucket: &str, headers: Option<RateHeaders>, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let Some(b) = buckets.get_mut(bucket) else { return };
        b.in_flight = b.in_flight.saturating_sub(1);
        if headers.is_none() && b.limit == 0 {
            b.headerless = true;
        }
        if let Some(h) = headers
            && h.limit > 0
        {
            let resets_at = now + h.reset_in;
            // Keep the most pessimistic view within one window: responses arrive out of order.
            if b.limit != h.limit || resets_at > b.resets_at + Duration::from_secs(1) {
                b.remaining = h.remaining;
            } else {
                b.remaining = b.remaining.min(h.remaining);
            }
            b.limit = h.limit;
            b.resets_at = resets_at;
        }
    }

    /// Marks `bucket` exhausted until `reset_in` from now (after a 429).
    pub fn exhausted(&self, bucket: &str, reset_in: Duration, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = buckets.get_mut(bucket)
            && b.limit > 0
        {
            b.remaining = 0;
            b.resets_at = now + reset_in;
        }
    }
}

fn jitter() -> Duration {
    Duration::from_millis(fastrand::u64(50..250))
}

/// The rate-limit bucket family of an API path, as Okta groups them.
///
/// Ids are replaced by `{id}` so that every user page shares one bucket and so on; buckets that
/// Okta shares across paths (`/groups` and `/groups/{id}/users`) are learned from the headers
/// anyway, this only decides which state a request waits on.
pub fn bucket_of(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let mut out = String::new();
    for (i, seg) in path.split('/').filter(|s| !s.is_empty()).enumerate() {
        out.push('/');
        // /api/v1/<collection>/<id>/<sub>: the 4th segment and ids after sub-collections vary.
        if i >= 3 && i % 2 == 1 {
            out.push_str("{id}");
        } else {
            out.push_str(seg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_families() {
        assert_eq!(bucket_of("/api/v1/users?limit=200"), "/api/v1/users");
        assert_eq!(bucket_of("/api/v1/users/00u1"), "/api/v1/users/{id}");
        assert_eq!(bucket_of("/api/v1/groups/00g1/users?after=x"), "/api/v1/groups/{id}/users");
        assert_eq!(bucket_of("/api/v1/apps/0oa1/users"), "/api/v1/apps/{id}/users");
        assert_eq!(bucket_of("/api/v1/logs"), "/api/v1/logs");
    }

    fn headers(limit: u64, remaining: u64, reset_in: u64) -> Option<RateHeaders> {
        Some(RateHeaders { limit, remaining, reset_in: Duration::from_secs(reset_in) })
    }

    #[test]
    fn stops_at_the_share_and_waits_for_the_reset() {
        let p = Pacer::new(0.5);
        let t0 = Instant::now();
        assert_eq!(p.acquire("b", t0), Permit::Go);
        p.release("b", headers(10, 9, 30), t0);
        // 9 remaining, floor 5: four more may go.
        for _ in 0..4 {
            assert_eq!(p.acquire("b", t0), Permit::Go);
        }
        match p.acquire("b", t0) {
            Permit::Wait(d) => assert!(d >= Duration::from_secs(30)),
            Permit::Go => panic!("must wait once half the bucket is used"),
        }
        // After the reset the bucket is fresh again.
        assert_eq!(p.acquire("b", t0 + Duration::from_secs(31)), Permit::Go);
    }

    #[test]
    fn in_flight_requests_count_against_the_budget() {
        let p = Pacer::new(1.0);
        let t0 = Instant::now();
        assert_eq!(p.acquire("b", t0), Permit::Go);
        p.release("b", headers(3, 2, 60), t0);
        assert_eq!(p.acquire("b", t0), Permit::Go);
        assert_eq!(p.acquire("b", t0), Permit::Go);
        assert!(matches!(p.acquire("b", t0), Permit::Wait(_)));
    }

    #[test]
    fn a_429_empties_the_bucket() {
        let p = Pacer::new(1.0);
        let t0 = Instant::now();
        assert_eq!(p.acquire("b", t0), Permit::Go);
        p.release("b", headers(100, 90, 60), t0);
        p.exhausted("b", Duration::from_secs(5), t0);
        assert!(matches!(p.acquire("b", t0), Permit::Wait(_)));
        assert_eq!(p.acquire("b", t0 + Duration::from_secs(6)), Permit::Go);
    }

    #[test]
    fn parses_headers_against_the_server_clock() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-rate-limit-limit", "600".parse().unwrap());
        h.insert("x-rate-limit-remaining", "599".parse().unwrap());
        h.append("x-rate-limit-reset", "1609459260".parse().unwrap());
        h.append("x-rate-limit-reset", "1609459230".parse().unwrap());
        h.insert("date", "Fri, 01 Jan 2021 00:00:00 GMT".parse().unwrap());
        let r = RateHeaders::parse(&h).unwrap();
        assert_eq!(r.limit, 600);
        assert_eq!(r.remaining, 599);
        assert_eq!(r.reset_in, Duration::from_secs(30));
        assert_eq!(parse_http_date("Fri, 01 Jan 2021 00:00:00 GMT"), Some(1_609_459_200));
        h.remove("x-rate-limit-reset");
        h.insert("x-rate-limit-reset", u64::MAX.to_string().parse().unwrap());
        let far = RateHeaders::parse(&h).unwrap();
        assert_eq!(far.reset_in, Duration::from_secs(3600), "a reset ages away is capped");
    }
}
