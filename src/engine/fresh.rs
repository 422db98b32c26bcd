//! Which Okta objects live events re-read, and when: so a resync never overwrites an event's
//! fresher copy with the older copy it read before.
//!
//! The event worker marks an object *before* it reads it from Okta. A resync that started reading
//! Okta before that mark holds a copy at most as new as the event's, so it leaves the object's
//! entity alone (and never counts it as stale).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Marks kept at most this long (longer than any resync).
const KEEP: Duration = Duration::from_secs(24 * 3600);

/// Okta ids re-read by live events, with when.
#[derive(Debug, Default)]
pub struct Freshness {
    marks: Mutex<HashMap<String, Instant>>,
}

impl Freshness {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `okta_id` is about to be re-read (or deleted) by an event.
    pub fn mark(&self, okta_id: &str) {
        let now = Instant::now();
        let mut marks = self.marks.lock().unwrap_or_else(|e| e.into_inner());
        if marks.len() > 100_000 {
            marks.retain(|_, t| now.duration_since(*t) < KEEP);
        }
        marks.insert(okta_id.to_string(), now);
    }

    /// Whether an event re-read `okta_id` at or after `since`.
    pub fn touched_since(&self, okta_id: &str, since: Instant) -> bool {
        let marks = self.marks.lock().unwrap_or_else(|e| e.into_inner());
        marks.get(okta_id).is_some_and(|t| *t >= since)
    }

    /// Forgets marks older than `before`.
    pub fn forget_before(&self, before: Instant) {
        let mut marks = self.marks.lock().unwrap_or_else(|e| e.into_inner());
        marks.retain(|_, t| *t >= before);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_counts_from_its_time_on() {
        let f = Freshness::new();
        let before = Instant::now();
        f.mark("00u1");
        let after = Instant::now();
        assert!(f.touched_since("00u1", before));
        assert!(!f.touched_since("00u2", before));
        f.forget_before(after + Duration::from_secs(1));
        assert!(!f.touched_since("00u1", before));
    }
}
