//! The port-app-config: model, YAML loading with located errors, settings from the environment.

pub mod model;
