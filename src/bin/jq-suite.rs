//! Runs one of jq's own `.test` files through port-okta's jq engine and prints `passed/total`.
//!
//! Usage: `jq-suite FILE.test [--verbose]`. The format follows jq's `src/jq_test.c`: cases are
//! separated by blank lines (`#` lines are comments); a case is a program, an input and the
//! expected outputs, one JSON value per line. `%%FAIL` cases pass when the program does not
//! compile (the error text is not compared). Outputs are compared in order, numbers by value,
//! objects without regard to key order; an error after all expected outputs is tolerated. Each
//! case runs on its own large-stack thread with a time limit.

use jaq_json::Val;
use port_okta::jq::{JqOptions, Program, from_val, to_val};
use serde_json::Value;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

enum Case {
    Run { line: usize, prog: String, input: String, expected: Vec<String> },
    Fail { line: usize, prog: String },
}

fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut block: Vec<(usize, &str)> = Vec::new();
    let flush = |block: &mut Vec<(usize, &str)>, cases: &mut Vec<Case>| {
        if block.is_empty() {
            return;
        }
        let (line, first) = block[0];
        if first.starts_with("%%FAIL") {
            if let Some((line, prog)) = block.get(1) {
                cases.push(Case::Fail { line: *line, prog: (*prog).to_owned() });
            }
        } else if block.len() >= 2 {
            cases.push(Case::Run {
                line,
                prog: first.to_owned(),
                input: block[1].1.to_owned(),
                expected: block[2..].iter().map(|(_, l)| (*l).to_owned()).collect(),
            });
        }
        block.clear();
    };
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            flush(&mut block, &mut cases);
        } else {
            block.push((i + 1, line));
        }
    }
    flush(&mut block, &mut cases);
    cases
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// A test input as jq reads it: a leading byte order mark is skipped, and what serde_json
/// cannot read (`NaN`, `Infinity`) is read by jaq's JSON reader.
fn read_input(text: &str) -> Result<Val, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match serde_json::from_str::<Value>(text) {
        Ok(v) => to_val(&v).map_err(|e| format!("bad input: {e}")),
        Err(e) => {
            jaq_json::read::parse_single(text.as_bytes()).map_err(|_| format!("bad input: {e}"))
        }
    }
}

/// Ok(()) when the case passes, else why not.
fn run_case(case: &Case) -> Result<(), String> {
    let opts = JqOptions::default();
    match case {
        Case::Fail { prog, .. } => match Program::compile(prog, &opts) {
            Err(_) => Ok(()),
            Ok(_) => Err("compiled, but jq rejects it".into()),
        },
        Case::Run { prog, input, expected, .. } => {
            let p = Program::compile(prog, &opts).map_err(|e| format!("compile error: {e}"))?;
            let input = read_input(input)?;
            let expected: Vec<Value> = expected
                .iter()
                .map(|l| {
                    serde_json::from_str(l).map_err(|e| format!("bad expected value {l}: {e}"))
                })
                .collect::<Result<_, _>>()?;
            // Collect outputs one by one so an error after the expected outputs is tolerated.
            let outs = match p.all_val(input.clone()).and_then(|o| o.iter().map(from_val).collect())
            {
                Ok(outs) => outs,
                Err(e) => {
                    // Tolerate an error that comes after all expected outputs.
                    let limit = expected.len();
                    let firsts = Program::compile(&format!("limit({limit}; {prog})"), &opts)
                        .ok()
                        .and_then(|q| q.all_val(input.clone()).ok())
                        .and_then(|o| o.iter().map(from_val).collect::<Result<Vec<_>, _>>().ok());
                    match firsts {
                        Some(f) if f.len() == limit => f,
                        _ => return Err(format!("error: {e}")),
                    }
                }
            };
            if outs.len() != expected.len() || !outs.iter().zip(&expected).all(|(a, b)| same(a, b))
            {
                let got: Vec<String> = outs.iter().map(|v| v.to_string()).collect();
                let want: Vec<String> = expected.iter().map(|v| v.to_string()).collect();
                return Err(format!("expected {}, got {}", want.join(" "), got.join(" ")));
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "--verbose" || a == "-v");
    let Some(path) = args.iter().find(|a| !a.starts_with('-')) else {
        eprintln!("usage: jq-suite FILE.test [--verbose]");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let cases = parse_cases(&text);
    let total = cases.len();
    let mut passed = 0;
    for case in cases {
        let (line, prog) = match &case {
            Case::Run { line, prog, .. } | Case::Fail { line, prog } => (*line, prog.clone()),
        };
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new().stack_size(1 << 30).spawn(move || {
            let _ = tx.send(run_case(&case));
        });
        let result = match spawned {
            Ok(_) => rx
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| Err("timed out or panicked".into())),
            Err(e) => Err(format!("cannot start a thread: {e}")),
        };
        match result {
            Ok(()) => passed += 1,
            Err(why) if verbose => println!("FAIL {path}:{line}: {prog}\n     {why}"),
            Err(_) => {}
        }
    }
    println!("{path}: {passed}/{total}");
    ExitCode::SUCCESS
}
