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
use port_okta::mapping::{self, CompiledResource, ItemMapping, JqOptions, Problem, Severity};
use port_okta::model::Entity;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::io::{IsTerminal as _, Read as _, Write};
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
    // The whole input is checked and split into one raw slice per item before anything is
    // written, so bad JSON still exits 2 with nothing on stdout; items are then parsed one by
    // one straight from the input text (only what the mapping reads, when it can).
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    let items: Vec<&str> = match text.trim_start().as_bytes().first() {
        Some(b'[') => match split_array(&text).filter(|items| all_valid(items, workers)) {
            Some(items) => items,
            // Something is wrong: serde_json finds it and says where.
            None => match serde_json::from_str::<Vec<&RawValue>>(&text) {
                Ok(items) => items.into_iter().map(RawValue::get).collect(),
                Err(e) => return Ok(fail(&invalid_json(&input_name, &text, e))),
            },
        },
        _ => match serde_json::from_str::<&RawValue>(&text) {
            Ok(one) if one.get().starts_with('{') => vec![one.get()],
            Ok(other) => {
                let kind = match other.get().as_bytes().first() {
                    Some(b'n') => "null",
                    Some(b't' | b'f') => "a boolean",
                    Some(b'"') => "a string",
                    _ => "a number",
                };
                let message = format!("expected a JSON array of items, found {kind}");
                return Ok(fail(&one(&input_name, Location { line: 1, col: 1 }, message)));
            }
            Err(e) => return Ok(fail(&invalid_json(&input_name, &text, e))),
        },
    };

    let mut out = EntityWriter::new(std::io::stdout().lock());
    let mut stderr = std::io::stderr().lock();
    let mut counts = Counts::default();
    let several = resources.len() > 1;
    // Resource-major, like a resync: each resource of the kind runs over every item in turn.
    for (index, r) in &resources {
        for (b, batch) in items.chunks(BATCH).enumerate() {
            let checks = validate.then_some(&blueprints);
            for (k, mapped) in map_batch(r, batch, workers, checks).into_iter().enumerate() {
                let i = b * BATCH + k;
                let label = || {
                    let mut label =
                        if several { format!("resources[{index}] ") } else { String::new() };
                    label.push_str(&format!("items[{i}]"));
                    if let Some(id) = item_id(items[i]) {
                        label.push_str(&format!(" ({id})"));
                    }
                    label
                };
                if mapped.skipped {
                    let _ = writeln!(
                        stderr,
                        "{}: skipped: the selector did not accept the item",
                        label()
                    );
                }
                for p in &mapped.problems {
                    let sev = match p.severity {
                        Severity::Error => {
                            counts.errors += 1;
                            "error"
                        }
                        Severity::Warning => {
                            counts.warnings += 1;
                            "warning"
                        }
                    };
                    let _ = writeln!(stderr, "{}: {sev}: {}: {}", label(), p.field, p.message);
                }
                for entity in mapped.entities {
                    match entity {
                        Ok(json) => out.push(&json)?,
                        Err(errs) => {
                            counts.invalid += 1;
                            for e in errs {
                                let _ = writeln!(stderr, "{}: invalid: {e}", label());
                            }
                        }
                    }
                }
            }
        }
    }
    out.finish()?;
    let n = out.count;
    let _ = writeln!(
        stderr,
        "{} item(s) → {} entit{} ({} error(s), {} warning(s){})",
        items.len(),
        n,
        if n == 1 { "y" } else { "ies" },
        counts.errors,
        counts.warnings,
        if validate { format!(", {} failed validation", counts.invalid) } else { String::new() }
    );
    Ok(ExitCode::SUCCESS)
}

/// Items mapped at a time: their results are written, in order, before the next batch.
const BATCH: usize = 256;

/// `f` over `items` in order, spread over `workers` threads (contiguous shares).
fn in_parallel<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if workers < 2 || items.len() < 2 * workers {
        return items.iter().map(f).collect();
    }
    let per = items.len().div_ceil(workers);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items[per..]
            .chunks(per)
            .map(|chunk| s.spawn(move || chunk.iter().map(f).collect::<Vec<_>>()))
            .collect();
        let mut all: Vec<R> = items[..per].iter().map(f).collect();
        for h in handles {
            match h.join() {
                Ok(part) => all.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    })
}

/// The elements of a top-level JSON array as raw slices of `text`, found by tracking strings
/// and nesting only (each element is checked on its own by [`all_valid`]); `None` when the
/// text is not shaped like an array of values.
fn split_array(text: &str) -> Option<Vec<&str>> {
    let b = text.as_bytes();
    let ws = |i: &mut usize| {
        while b.get(*i).is_some_and(|c| matches!(c, b' ' | b'\n' | b'\r' | b'\t')) {
            *i += 1;
        }
    };
    let mut i = 0;
    ws(&mut i);
    if b.get(i) != Some(&b'[') {
        return None;
    }
    i += 1;
    ws(&mut i);
    let mut items = Vec::new();
    if b.get(i) == Some(&b']') {
        i += 1;
    } else {
        loop {
            let start = i;
            let mut depth = 0usize;
            while let Some(&c) = b.get(i) {
                match c {
                    // Most of an Okta item is strings: jump to the closing quote.
                    b'"' => loop {
                        i += 1 + memchr::memchr2(b'"', b'\\', b.get(i + 1..)?)?;
                        if b[i] == b'"' {
                            break;
                        }
                        i += 1;
                    },
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' if depth == 0 => break,
                    b']' | b'}' => depth -= 1,
                    b',' if depth == 0 => break,
                    _ => {}
                }
                i += 1;
            }
            let item = text.get(start..i)?.trim_end();
            if item.is_empty() || depth != 0 {
                return None;
            }
            items.push(item);
            match b.get(i) {
                Some(b',') => {
                    i += 1;
                    ws(&mut i);
                }
                Some(b']') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    ws(&mut i);
    (i == b.len()).then_some(items)
}

/// Whether every element is one valid JSON value (checked on `workers` threads).
fn all_valid(items: &[&str], workers: usize) -> bool {
    let per = items.len().div_ceil(workers.max(1)).max(1);
    let chunks: Vec<&[&str]> = items.chunks(per).collect();
    in_parallel(&chunks, workers, |chunk| {
        chunk.iter().all(|t| serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok())
    })
    .into_iter()
    .all(|ok| ok)
}

/// One item mapped by a worker: its problems, and each entity as the pretty JSON it is written
/// as (or the blueprint validation errors that keep it off stdout).
struct Mapped {
    skipped: bool,
    problems: Vec<Problem>,
    entities: Vec<Result<Vec<u8>, Vec<String>>>,
}

/// Map a batch of raw items in order, spread over `workers` threads; entities are validated
/// (when `checks` is given) and rendered on the workers too, so that writing is only copying.
fn map_batch(
    r: &CompiledResource,
    batch: &[&str],
    workers: usize,
    checks: Option<&BlueprintSet>,
) -> Vec<Mapped> {
    let map = |raw: &&str| {
        let m = match r.map_json(raw.as_bytes()) {
            Ok(m) => m,
            // The input was checked whole: an item always parses.
            Err(e) => ItemMapping {
                entities: Vec::new(),
                problems: vec![Problem {
                    field: String::new(),
                    message: format!("invalid item: {e}"),
                    severity: Severity::Error,
                }],
            },
        };
        let skipped = m.entities.is_empty() && m.problems.is_empty();
        let entities = m
            .entities
            .into_iter()
            .map(|e| match checks.map(|b| b.validate(&e.entity)) {
                Some(Err(errs)) => Err(errs.into_iter().map(|e| e.to_string()).collect()),
                _ => render(&e.entity).map_err(|e| vec![format!("serialising the entity: {e}")]),
            })
            .collect();
        Mapped { skipped, problems: m.problems, entities }
    };
    in_parallel(batch, workers, map)
}

/// An entity as `serde_json::to_string_pretty` prints it inside an array: pretty, every line
/// after the first indented by two more spaces.
fn render(entity: &Entity) -> serde_json::Result<Vec<u8>> {
    let pretty = serde_json::to_vec_pretty(entity)?;
    let mut out = Vec::with_capacity(pretty.len() + pretty.len() / 8);
    for &b in &pretty {
        out.push(b);
        if b == b'\n' {
            out.extend_from_slice(b"  ");
        }
    }
    Ok(out)
}

#[derive(Default)]
struct Counts {
    errors: usize,
    warnings: usize,
    invalid: usize,
}

/// The item's `id` when it is a string (for messages), read without parsing the rest.
fn item_id(raw: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Id<'a> {
        #[serde(borrow)]
        id: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_str::<Id>(raw).ok()?.id.map(|c| c.into_owned())
}

/// Where and why `text` is not JSON, worded as a full parse words it (the raw split words a
/// few errors differently, e.g. a trailing comma).
fn invalid_json(input_name: &str, text: &str, e: serde_json::Error) -> Diagnostics {
    let e = serde_json::from_str::<serde_json::Value>(text).err().unwrap_or(e);
    let at = Location { line: e.line().max(1), col: e.column().max(1) };
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    one(input_name, at, format!("invalid JSON: {message}"))
}

/// Writes entities as the JSON array `serde_json::to_string_pretty` gives for all of them,
/// one at a time; a closed pipe stops the output quietly, like before.
struct EntityWriter<W: Write> {
    out: std::io::BufWriter<W>,
    count: usize,
    closed: bool,
}

impl<W: Write> EntityWriter<W> {
    fn new(w: W) -> Self {
        Self { out: std::io::BufWriter::with_capacity(1 << 16, w), count: 0, closed: false }
    }

    fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        if self.closed {
            return Ok(());
        }
        match self.out.write_all(bytes) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            r => r.context("writing to stdout"),
        }
    }

    /// Write one entity rendered by [`render`].
    fn push(&mut self, json: &[u8]) -> anyhow::Result<()> {
        self.write(if self.count == 0 { b"[\n  " } else { b",\n  " })?;
        self.count += 1;
        self.write(json)
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        let tail: &[u8] = if self.count == 0 { b"[]\n" } else { b"\n]\n" };
        self.write(tail)?;
        if self.closed {
            return Ok(());
        }
        match self.out.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            r => r.context("writing to stdout"),
        }
    }
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
    let text = read_file(path).with_context(|| format!("cannot read {name}"))?;
    Ok((name, text))
}

/// Reads a file whole, its two halves on two threads (a large input's page faults and copies
/// then overlap); falls back to one read if the file changes size meanwhile.
fn read_file(path: &PathBuf) -> std::io::Result<String> {
    use std::io::{Seek as _, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = usize::try_from(f.metadata()?.len()).unwrap_or(usize::MAX);
    if len < (1 << 24) {
        let mut text = String::new();
        f.read_to_string(&mut text)?;
        return Ok(text);
    }
    let mut buf = vec![0u8; len];
    let (head, tail) = buf.split_at_mut(len / 2);
    let mid = head.len() as u64;
    let tail_read = std::thread::scope(|s| {
        let t = s.spawn(move || -> std::io::Result<()> {
            let mut g = std::fs::File::open(path)?;
            g.seek(SeekFrom::Start(mid))?;
            g.read_exact(tail)
        });
        let h = f.read_exact(head);
        h.and(t.join().unwrap_or_else(|_| Err(std::io::Error::other("reader thread panicked"))))
    });
    let mut rest = Vec::new();
    if tail_read.is_err()
        || f.seek(SeekFrom::Start(len as u64)).and_then(|_| f.read_to_end(&mut rest))? > 0
    {
        return std::fs::read_to_string(path);
    }
    String::from_utf8(buf)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_array_finds_top_level_elements_whatever_the_strings_hold() {
        let text =
            " [ {\"a\":\"x]\\\"},\",\"b\":[1,{\"c\":\"\\\\\"}]} ,\n 1.50 , \"s,]\" ,[2,[3]] ]\n";
        assert_eq!(
            split_array(text),
            Some(vec![r#"{"a":"x]\"},","b":[1,{"c":"\\"}]}"#, "1.50", r#""s,]""#, "[2,[3]]"])
        );
        assert_eq!(split_array("[]"), Some(vec![]));
        // Not an array of values: left to serde_json, which says where.
        for bad in ["[1,]", "[1 2]", "[1", "{}", "[\"open]", "[1] x", "[,]"] {
            assert_eq!(split_array(bad).filter(|i| all_valid(i, 2)), None, "{bad}");
        }
    }
}
