//! Catalog targets: the embedded SQLite catalog (default) and, later, Port's REST API.
