//! Turns raw items into entities with a compiled port-app-config mapping.
