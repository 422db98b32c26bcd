//! The engine: the one place where Okta items, the mapping and the catalog meet.
//!
//! [`write::Writer`] is the write service (item → mapping → validation → upsert, and deletions
//! through the same catalog); it holds no run-wide state and reports what it did as
//! [`write::Outcome`]s. The full resync ([`resync`]) drives it from Okta listings and keeps the
//! run's books; live events drive the same writer one item at a time. A dry run is the resync
//! over [`plan::PlanCatalog`], an overlay that reads the real catalog and writes nothing. Stale
//! deletion lives in [`resync`] because only a complete, error-free listing may decide that
//! something is gone.

pub mod fresh;
pub mod plan;
pub mod report;
pub mod resync;
pub mod write;

pub use report::{Deletion, KindReport, ResyncReport};
pub use resync::{ResyncOptions, resync};
