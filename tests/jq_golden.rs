//! Golden tests: jq 1.8.2's own answers for issue 12's list (literal-preserving numbers,
//! `strftime`'s `%Z`, assignment through null, `mktime`/`fromdate` normalising like `timegm`,
//! glibc's `strptime`, jq 1.8.2 having no `@base32`, `$__loc__`, `input_filename`), recorded
//! from libjq 1.8.2 by `tests/jq-golden/record.py` (see there for the command) into
//! `tests/jq-golden/golden.json`. Each case's outputs are compared as jq's JSON text, so a
//! number must keep its exact spelling; an error must carry jq's message.

use port_okta::jq::{JqOptions, Program, to_val, value};
use serde_json::Value;

#[derive(serde::Deserialize)]
struct Case {
    group: String,
    program: String,
    input: String,
    outputs: Vec<String>,
    error: Option<String>,
}

#[test]
fn engine_agrees_with_recorded_jq_1_8_2() {
    let text = include_str!("jq-golden/golden.json");
    let cases: Vec<Case> = serde_json::from_str(text).expect("golden.json parses");
    assert!(cases.len() > 100, "only {} golden cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let prog = match Program::compile(&c.program, &JqOptions::default()) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("[{}] {}: compile error {e}", c.group, c.program));
                continue;
            }
        };
        let input: Value = serde_json::from_str(&c.input).expect("golden input parses");
        let (outs, err) = prog.outputs_val(to_val(&input).expect("input converts"));
        let got: Vec<String> = outs
            .iter()
            .map(|v| {
                let mut s = String::new();
                value::write_json(&mut s, v, 0);
                s
            })
            .collect();
        let got_err = err.map(|e| e.message);
        if got != c.outputs || got_err != c.error {
            failures.push(format!(
                "[{}] {} on {}: jq gives {:?} then {:?}, we give {:?} then {:?}",
                c.group, c.program, c.input, c.outputs, c.error, got, got_err
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
