//! The engine: the one place where Okta items, the mapping and the catalog meet.
