//! What a resync did, in the shape `port-okta sync --json` prints.

use serde::Serialize;
use serde_json::{Map, Value, json};

/// Counters of one kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KindReport {
    /// Entities now in the catalog as mapped (created + updated + unchanged).
    pub upserted: u64,
    /// Items or entities that could not be written (mapping, validation or catalog errors).
    pub failed: u64,
    /// Stale entities deleted (or, in a dry run, that would be).
    pub deleted: u64,
    /// Of `upserted`: newly created.
    pub created: u64,
    /// Of `upserted`: changed.
    pub updated: u64,
    /// Of `upserted`: already as mapped.
    pub unchanged: u64,
    /// Items the selector left out.
    pub filtered: u64,
    /// Okta items read for this kind.
    pub items: u64,
}

/// Whether stale entities were deleted.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Deletion {
    /// Deletion ran (possibly deleting nothing).
    #[default]
    Done,
    /// Deletion did not run, and why.
    Skipped(String),
}

impl Deletion {
    /// `done` or `skipped: <reason>`.
    pub fn as_text(&self) -> String {
        match self {
            Self::Done => "done".into(),
            Self::Skipped(why) => format!("skipped: {why}"),
        }
    }
}

/// One problem worth showing the operator (bounded sample; counts are in the kind reports).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// The kind.
    pub kind: String,
    /// The Okta id or entity key of the item, when known.
    pub item: String,
    /// The field, e.g. `properties.email`.
    pub field: String,
    /// What went wrong.
    pub message: String,
}

/// The outcome of one resync.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResyncReport {
    /// Per kind, in config order (a kind configured twice is summed).
    pub kinds: Vec<(String, KindReport)>,
    /// HTTP requests sent to Okta.
    pub okta_requests: u64,
    /// 429 answers from Okta.
    pub okta_429: u64,
    /// Whether stale deletion ran.
    pub deletion: Deletion,
    /// Wall time in seconds.
    pub duration_s: f64,
    /// Listing errors (any of them blocks deletion).
    pub listing_errors: Vec<String>,
    /// A sample of per-item problems (the first 100).
    pub problems: Vec<Problem>,
    /// Problems in total (the sample is capped).
    pub problem_count: u64,
    /// In a dry run: the planned changes as entity keys.
    pub plan: Option<Plan>,
    /// Stale entities deleted after a direct Okta read confirmed their object is gone (404).
    pub verified_deletes: u64,
    /// Direct Okta reads made to confirm stale entities before deleting them.
    pub verify_reads: u64,
    /// Stale entities kept because Okta still has their object (the listing missed it) or the
    /// confirming read failed, as `blueprint/identifier`.
    pub kept_after_verification: Vec<String>,
    /// Earlier runs that never finished (killed mid-way), as `run_id (pid N, started T)`.
    pub interrupted_runs: Vec<String>,
}

/// The changes a dry run found, as `blueprint/identifier` strings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    /// Entities that would be created.
    pub create: Vec<String>,
    /// Entities that would change.
    pub update: Vec<String>,
    /// Entities that would be deleted.
    pub delete: Vec<String>,
}

impl ResyncReport {
    /// The kind report for `kind` (created on first use).
    pub fn kind_mut(&mut self, kind: &str) -> &mut KindReport {
        if let Some(i) = self.kinds.iter().position(|(k, _)| k == kind) {
            return &mut self.kinds[i].1;
        }
        self.kinds.push((kind.to_string(), KindReport::default()));
        &mut self.kinds.last_mut().expect("just pushed").1
    }

    /// True when every listing completed and no item failed.
    pub fn is_success(&self) -> bool {
        self.listing_errors.is_empty() && self.kinds.iter().all(|(_, k)| k.failed == 0)
    }

    /// The `--json` summary:
    /// `{"kinds":{"okta-user":{"upserted":n,"failed":n,"deleted":n,…},…},"okta_requests":n,
    /// "okta_429":n,"deletion":"done|skipped: <reason>","duration_s":x, …}`.
    pub fn to_json(&self) -> Value {
        let mut kinds = Map::new();
        for (name, k) in &self.kinds {
            kinds.insert(name.clone(), serde_json::to_value(k).unwrap_or(Value::Null));
        }
        let mut out = json!({
            "kinds": kinds,
            "okta_requests": self.okta_requests,
            "okta_429": self.okta_429,
            "deletion": self.deletion.as_text(),
            "duration_s": (self.duration_s * 1000.0).round() / 1000.0,
            "listing_errors": self.listing_errors,
            "problem_count": self.problem_count,
            "problems": self.problems,
            "verified_deletes": self.verified_deletes,
            "verify_reads": self.verify_reads,
            "kept_after_verification": self.kept_after_verification,
            "interrupted_runs": self.interrupted_runs,
        });
        if let Some(plan) = &self.plan {
            out["plan"] = serde_json::to_value(plan).unwrap_or(Value::Null);
        }
        out
    }
}
