//! The engine: the one place where Okta items, the mapping and the catalog meet.
//!
//! [`write::Writer`] is the single write path (map → validate → upsert, with counters); the
//! full resync ([`resync`]) drives it from Okta listings, and live events will drive the same
//! writer from event hooks. Stale deletion lives in [`resync`] because only a complete,
//! error-free listing may decide that something is gone.

pub mod report;
pub mod resync;
pub mod write;

pub use report::{Deletion, KindReport, ResyncReport};
pub use resync::{ResyncOptions, resync};
