//! The Okta REST client: SSWS auth, Link pagination, rate-limit pacing, retries.
