//! port-okta keeps a software catalog in step with an Okta organisation.
//!
//! The data path is one line: the Okta client ([`okta`]) lists raw items, the mapping
//! ([`mapping`], jq through [`jq`]) turns each item into [`model::Entity`] values, and a
//! [`catalog`] (the embedded SQLite catalog, or Port's REST API) stores them. The
//! [`engine`] is the only place where those three meet: full resyncs and, later, live
//! events go through its write service, which writes to any [`catalog::Catalog`] chosen at run
//! time (`Arc<dyn Catalog>`).
//!
//! Vocabulary: an *item* is one raw JSON object as Okta returns it (enriched with the
//! memberships the mapping can see: `.groups`, `.applications`, `.users`); an *entity* is
//! what the catalog stores, keyed by (blueprint, identifier); a *kind* is a `resources[]`
//! entry of the port-app-config; the *owner* (datasource) of an entity is the integration
//! identifier that wrote it.

pub mod blueprint;
pub mod catalog;
pub mod catalog_api;
pub mod config;
pub mod diag;
pub mod engine;
pub mod events;
pub mod jq;
pub mod mapping;
pub mod model;
pub mod okta;
pub mod port;
pub mod secret;
pub mod telemetry;
