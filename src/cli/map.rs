//! `port-okta map`: the mapping playground.
//!
//! Reads a JSON array of raw Okta items, maps each through every resource of `--kind` in the
//! mapping, and prints the entities (Port's shape) as a JSON array on stdout. Per-item problems
//! go to stderr and do not change the exit status; a mapping that does not parse or compile,
//! unreadable input, or a kind the mapping lacks exits 2 with every diagnostic.

use anyhow::Context as _;
use port_okta::blueprint::BlueprintSet;
use port_okta::config::{self, PortAppConfig, settings::Settings};
use port_okta::diag::{Diagnostic, Diagnostics, Location};
use port_okta::mapping::{self, JqOptions, Severity};
use port_okta::model::Entity;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `port-okta map`.
#[derive(Debug, clap::Args)]
pub struct MapArgs {
    /// The port-app-config YAML [default: the built-in Okta mapping]
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Which resources to apply: `okta-user` or `okta-group` (every resource of that kind, in order)
    #[arg(long, value_name = "KIND")]
    pub kind: String,
    /// A JSON array of raw Okta items (`-` reads stdin); a single object is taken as one item
    #[arg(long, value_name = "RAW.json")]
    pub input: PathBuf,
    /// Validate each entity against these blueprints; entities that fail go to stderr only
    #[arg(long, value_name = "FILE")]
    pub blueprints: Option<PathBuf>,
}

/// Prints diagnostics to stderr, one per line, and returns exit status 2.
fn fail(diags: &Diagnostics) -> ExitCode {
    let mut err = std::io::stderr().lock();
    for d in &diags.0 {
        let _ = writeln!(err, "{d}");
    }
    ExitCode::from(2)
}

fn one(file: &str, at: Location, message: String) -> Diagnostics {
    Diagnostics(vec![Diagnostic { file: file.to_string(), at, path: String::new(), message }])
}

/// Runs `port-okta map`.
pub fn run(args: MapArgs) -> anyhow::Result<ExitCode> {
    // Only the one setting that matters here; other variables (credentials) are not needed.
    let env: HashMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.eq_ignore_ascii_case("OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS"))
        .collect();
    let settings = Settings::from_env(&env).map_err(|e| anyhow::anyhow!("{e}"))?;

    let config: PortAppConfig = match &args.mapping {
        Some(path) => match config::load_file(path) {
            Ok(c) => c,
            Err(d) => return Ok(fail(&d)),
        },
        None => config::builtin_default(),
    };
    let validate = args.blueprints.is_some();
    let blueprints = match &args.blueprints {
        Some(path) => match BlueprintSet::load_file(path) {
            Ok(b) => b,
            Err(d) => return Ok(fail(&d)),
        },
        None => BlueprintSet::seed(),
    };
    let opts = JqOptions { allow_env: settings.allow_env_jq_access };
    let compiled = match mapping::compile(&config, &blueprints, &opts) {
        Ok(c) => c,
        Err(d) => return Ok(fail(&d)),
    };
    let resources: Vec<_> =
        compiled.resources.iter().enumerate().filter(|(_, r)| r.kind() == args.kind).collect();
    if resources.is_empty() {
        let mut kinds: Vec<&str> = Vec::new();
        for r in &compiled.resources {
            if !kinds.contains(&r.kind()) {
                kinds.push(r.kind());
            }
        }
        let has = if kinds.is_empty() { "no resources".to_string() } else { kinds.join(", ") };
        let hint = match config::suggest(&args.kind, &kinds) {
            Some(s) => format!(", did you mean `{s}`?"),
            None => String::new(),
        };
        let message = format!("kind `{}` is not in the mapping{hint} (it has: {has})", args.kind);
        return Ok(fail(&one(&config.file, Location { line: 1, col: 1 }, message)));
    }

    let (input_name, text) = read_input(&args.input)?;
    let items = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => items,
        Ok(obj @ Value::Object(_)) => vec![obj],
        Ok(other) => {
            let kind = match other {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                _ => "a string",
            };
            let message = format!("expected a JSON array of items, found {kind}");
            return Ok(fail(&one(&input_name, Location { line: 1, col: 1 }, message)));
        }
        Err(e) => {
            let at = Location { line: e.line().max(1), col: e.column().max(1) };
            let full = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
            return Ok(fail(&one(&input_name, at, format!("invalid JSON: {message}"))));
        }
    };

    // Resource-major, like a resync: each resource of the kind runs over every item in turn.
    let mut out: Vec<Entity> = Vec::new();
    let mut stderr = std::io::stderr().lock();
    let (mut errors, mut warnings, mut invalid) = (0usize, 0usize, 0usize);
    let several = resources.len() > 1;
    for (index, r) in &resources {
        for (i, item) in items.iter().enumerate() {
            let mut label = if several { format!("resources[{index}] ") } else { String::new() };
            label.push_str(&format!("items[{i}]"));
            if let Some(id) = item.get("id").and_then(Value::as_str) {
                label.push_str(&format!(" ({id})"));
            }
            let mapped = r.map_item(item);
            if mapped.entities.is_empty() && mapped.problems.is_empty() {
                let _ = writeln!(stderr, "{label}: skipped: the selector did not accept the item");
            }
            for p in &mapped.problems {
                let sev = match p.severity {
                    Severity::Error => {
                        errors += 1;
                        "error"
                    }
                    Severity::Warning => {
                        warnings += 1;
                        "warning"
                    }
                };
                let _ = writeln!(stderr, "{label}: {sev}: {}: {}", p.field, p.message);
            }
            for m in mapped.entities {
                if validate && let Err(errs) = blueprints.validate(&m.entity) {
                    invalid += 1;
                    for e in errs {
                        let _ = writeln!(stderr, "{label}: invalid: {e}");
                    }
                    continue;
                }
                out.push(m.entity);
            }
        }
    }

    let mut stdout = std::io::stdout().lock();
    let json = serde_json::to_string_pretty(&out).context("serialising entities")?;
    if let Err(e) = writeln!(stdout, "{json}").and_then(|()| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e).context("writing to stdout");
    }
    let _ = writeln!(
        stderr,
        "{} item(s) → {} entit{} ({errors} error(s), {warnings} warning(s){})",
        items.len(),
        out.len(),
        if out.len() == 1 { "y" } else { "ies" },
        if validate { format!(", {invalid} failed validation") } else { String::new() }
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads `--input` (a path, or `-` for stdin); returns the name used in messages and the text.
fn read_input(path: &PathBuf) -> anyhow::Result<(String, String)> {
    if path.as_os_str() == "-" {
        let mut stdin = std::io::stdin();
        if stdin.is_terminal() {
            eprintln!("reading items from stdin (end with Ctrl-D)");
        }
        let mut text = String::new();
        stdin.read_to_string(&mut text).context("reading items from stdin")?;
        return Ok(("<stdin>".to_string(), text));
    }
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {name}"))?;
    Ok((name, text))
}
