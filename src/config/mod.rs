//! The port-app-config: model, YAML loading with located errors, settings from the environment.
//!
//! Loading is pure: [`parse_str`] turns text into a [`PortAppConfig`] or into *every* problem
//! found, each with `file:line:col`, the field path and a lowercase message. jq expressions are
//! kept as located [`model::Expr`] text; compiling them is the mapping module's job, which reports
//! its errors at the same locations.

mod load;
pub mod model;
pub mod settings;
mod yaml;

use crate::diag::{Diagnostic, Diagnostics, Location};
pub use load::{KINDS, parse_str, suggest};
pub use model::PortAppConfig;
use std::path::Path;

/// The shipped default mapping (`resources/port-app-config.yml`).
const BUILTIN: &str = include_str!("../../resources/port-app-config.yml");

/// The file name diagnostics use for the built-in default mapping.
pub const BUILTIN_FILE: &str = "<built-in>";

/// Reads and parses a port-app-config file; the path as given names the file in diagnostics.
pub fn load_file(path: &Path) -> Result<PortAppConfig, Diagnostics> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse_str(&name, &text),
        Err(e) => Err(Diagnostics(vec![Diagnostic {
            file: name,
            at: Location { line: 1, col: 1 },
            path: String::new(),
            message: format!("cannot read the file: {e}"),
        }])),
    }
}

/// The built-in default mapping, parsed (file name `<built-in>`).
pub fn builtin_default() -> PortAppConfig {
    match parse_str(BUILTIN_FILE, BUILTIN) {
        Ok(config) => config,
        // The shipped file is tested to parse; failing here is a build defect, not user input.
        Err(d) => panic!("the built-in port-app-config does not parse:\n{d}"),
    }
}

/// The built-in default mapping as JSON: what an integration object's `config` holds.
pub fn builtin_default_json() -> serde_json::Value {
    match yaml_to_json(BUILTIN) {
        Ok(v) => v,
        // The shipped file is tested to parse; failing here is a build defect, not user input.
        Err(e) => panic!("the built-in port-app-config does not parse: {e}"),
    }
}

/// A YAML document (a mapping file) as JSON, e.g. to store it as an integration's `config`.
pub fn yaml_to_json(text: &str) -> Result<serde_json::Value, String> {
    match yaml::parse(text) {
        Ok(Some(node)) => Ok(node.to_json()),
        Ok(None) => Ok(serde_json::Value::Null),
        Err(e) => Err(format!("{}:{}: {}", e.at.line, e.at.col, e.message)),
    }
}

/// The built-in default mapping's YAML text.
pub fn builtin_default_text() -> &'static str {
    BUILTIN
}
