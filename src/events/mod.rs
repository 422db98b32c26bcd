//! Live events: Okta event hooks and the System Log, through a durable queue, into the catalog.
//!
//! - [`envelope`]: deliveries and LogEvents parsed into [`envelope::Event`]s;
//! - [`queue`]: the durable queue (SQLite; behind a trait);
//! - [`server`]: the webhook endpoint (authenticate, limit, validate, queue, acknowledge),
//!   `/health`, `/ready`, `/metrics`;
//! - [`worker`]: drains the queue, re-reads each target from Okta, writes through the engine's
//!   write service;
//! - [`poller`]: System Log catch-up into the same queue;
//! - [`hooks`]: the event hook's registration, reconciliation and verification in Okta;
//! - [`serve`]: all of it, plus the resync scheduler, as one running service.

pub mod envelope;
pub mod hooks;
pub mod metrics;
pub mod poller;
pub mod queue;
pub mod serve;
pub mod server;
pub mod worker;
