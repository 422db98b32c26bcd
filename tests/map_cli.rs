//! `port-okta map`, run as the built binary: stdout JSON, stderr problems, exit statuses.

use serde_json::Value;
use std::io::Write as _;
use std::process::{Command, Output, Stdio};

fn root() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

fn map(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_port-okta"))
        .current_dir(root())
        .arg("map")
        .args(args)
        .env_remove("OCEAN__ALLOW_ENVIRONMENT_VARIABLES_JQ_ACCESS")
        .output()
        .unwrap()
}

fn stdout_json(o: &Output) -> Vec<Value> {
    let text = String::from_utf8(o.stdout.clone()).unwrap();
    match serde_json::from_str(&text) {
        Ok(Value::Array(a)) => a,
        other => panic!("stdout is not a JSON array: {other:?}\n{text}"),
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn maps_the_sample_users_with_the_builtin_mapping() {
    let o = map(&["--kind", "okta-user", "--input", "fixtures/okta/users.sample.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let entities = stdout_json(&o);
    let ids: Vec<_> = entities.iter().map(|e| e["identifier"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "00u1adaLOVELACE00697",
            "00u2graceHOPPER0697",
            "00u3katJOHNSON00697",
            "00u4alanTURING0697",
            "00u5margaretHAMI697"
        ]
    );
    let ada = &entities[0];
    assert_eq!(ada["blueprint"], "okta-user");
    assert_eq!(ada["title"], "Ada Lovelace");
    assert_eq!(ada["properties"]["email"], "ada.lovelace@acme.example");
    assert_eq!(ada["properties"]["status"], "ACTIVE");
    assert_eq!(
        ada["relations"]["groups"],
        serde_json::json!(["00g1emaKYZTWRYYRRTSK", "00g2engABCDEFGHIJ697"])
    );
    // The mapping sets neither team nor icon: they are omitted, not null.
    let keys: Vec<_> = ada.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["identifier", "title", "blueprint", "properties", "relations"]);
    // No displayName: the title falls back to first + last name.
    assert_eq!(entities[2]["title"], "Katherine Johnson");
    // A deprovisioned user with no groups maps to an empty array.
    assert_eq!(entities[3]["relations"]["groups"], serde_json::json!([]));
    assert!(stderr(&o).contains("5 item(s) → 5 entities"), "{}", stderr(&o));
}

#[test]
fn maps_the_sample_groups() {
    let o = map(&["--kind", "okta-group", "--input", "fixtures/okta/groups.sample.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let entities = stdout_json(&o);
    assert_eq!(entities.len(), 4);
    assert_eq!(entities[0]["properties"]["type"], "BUILT_IN");
    assert_eq!(entities[1]["title"], "Engineering");
    assert_eq!(
        entities[1]["relations"]["members"],
        serde_json::json!(["00u1adaLOVELACE00697", "00u2graceHOPPER0697"])
    );
    assert_eq!(entities[2]["properties"]["description"], Value::Null);
}

#[test]
fn blueprint_validation_keeps_invalid_entities_off_stdout() {
    // The seed blueprints with a status enum that leaves PROVISIONED out.
    let mut blueprints: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/resources/blueprints.json", root())).unwrap(),
    )
    .unwrap();
    blueprints[0]["schema"]["properties"]["status"]["enum"] =
        serde_json::json!(["ACTIVE", "SUSPENDED", "DEPROVISIONED"]);
    let path =
        std::env::temp_dir().join(format!("port-okta-map-cli-strict-{}.json", std::process::id()));
    std::fs::write(&path, blueprints.to_string()).unwrap();
    let o = map(&[
        "--kind",
        "okta-user",
        "--input",
        "fixtures/okta/users.sample.json",
        "--blueprints",
        path.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout_json(&o).len(), 4);
    let err = stderr(&o);
    assert!(
        err.contains("items[4] (00u5margaretHAMI697): invalid: okta-user/00u5margaretHAMI697: properties.status: \"PROVISIONED\" is not one of"),
        "{err}"
    );
    assert!(err.contains("1 failed validation"), "{err}");
}

#[test]
fn per_item_problems_go_to_stderr_and_exit_zero() {
    let o = map(&[
        "--mapping",
        "fixtures/configs/playground.yml",
        "--kind",
        "okta-user",
        "--input",
        "fixtures/okta/users.sample.json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let entities = stdout_json(&o);
    // Alan is deprovisioned: the selector skips him.
    assert_eq!(entities.len(), 4);
    assert_eq!(entities[0]["team"], "Engineering");
    assert_eq!(entities[0]["icon"], "Okta");
    assert_eq!(entities[0]["title"], "ADA LOVELACE");
    let err = stderr(&o);
    assert!(err.contains("items[3] (00u4alanTURING0697): skipped"), "{err}");
    // Katherine has no displayName: `null | ascii_upcase` fails, the title becomes null.
    assert_eq!(entities[2]["title"], Value::Null);
    assert!(err.contains("items[2] (00u3katJOHNSON00697): warning: title: "), "{err}");
}

#[test]
fn a_mapping_that_does_not_compile_exits_2_with_every_location() {
    let o = map(&[
        "--mapping",
        "fixtures/configs/jq-error.yml",
        "--kind",
        "okta-user",
        "--input",
        "fixtures/okta/users.sample.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    let lines: Vec<_> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with(
            "fixtures/configs/jq-error.yml:9:28: resources[0].port.entity.mappings.identifier: "
        ),
        "{err}"
    );
    assert!(
        lines[1].starts_with(
            "fixtures/configs/jq-error.yml:11:28: resources[0].port.entity.mappings.title: "
        ),
        "{err}"
    );
}

#[test]
fn a_mapping_that_does_not_parse_exits_2_with_every_diagnostic() {
    let o = map(&[
        "--mapping",
        "fixtures/configs/bad/many-errors.yml",
        "--kind",
        "okta-user",
        "--input",
        "fixtures/okta/users.sample.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let expected =
        std::fs::read_to_string(format!("{}/fixtures/configs/bad/many-errors.expected", root()))
            .unwrap();
    assert_eq!(stderr(&o), expected);
}

#[test]
fn a_kind_missing_from_the_mapping_exits_2() {
    let o = map(&["--kind", "okta-app", "--input", "fixtures/okta/users.sample.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "<built-in>:1:1: kind `okta-app` is not in the mapping (it has: okta-user, okta-group)\n"
    );
    let o = map(&["--kind", "okta-users", "--input", "fixtures/okta/users.sample.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "<built-in>:1:1: kind `okta-users` is not in the mapping, did you mean `okta-user`? (it has: okta-user, okta-group)\n"
    );
}

#[test]
fn bad_input_json_exits_2_with_line_and_column() {
    let dir = std::env::temp_dir().join(format!("port-okta-map-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "[\n  {\"id\": \"00u1\",}\n]\n").unwrap();
    let o = map(&["--kind", "okta-user", "--input", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), format!("{}:2:17: invalid JSON: trailing comma\n", bad.display()));
    let scalar = dir.join("scalar.json");
    std::fs::write(&scalar, "42").unwrap();
    let o = map(&["--kind", "okta-user", "--input", scalar.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected a JSON array of items, found a number"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reads_stdin_and_accepts_a_single_object() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_port-okta"))
        .current_dir(root())
        .args(["map", "--kind", "okta-group", "--input", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"id": "00g9", "profile": {"name": "Ops"}, "users": [{"id": "00u9"}]}"#)
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let entities = stdout_json(&o);
    assert_eq!(entities.len(), 1);
    assert_eq!(entities[0]["identifier"], "00g9");
    assert_eq!(entities[0]["relations"]["members"], serde_json::json!(["00u9"]));
}

#[test]
fn every_resource_of_the_kind_runs_in_order() {
    let o = map(&[
        "--mapping",
        "fixtures/configs/two-user-resources.yml",
        "--kind",
        "okta-user",
        "--input",
        "fixtures/okta/users.sample.json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let titles: Vec<_> =
        stdout_json(&o).iter().map(|e| e["title"].as_str().unwrap().to_string()).collect();
    assert_eq!(
        titles,
        [
            "ada.lovelace@acme.example",
            "grace.hopper@acme.example",
            "inactive: katherine.johnson@acme.example",
            "inactive: alan.turing@acme.example",
            "inactive: margaret.hamilton@acme.example"
        ]
    );
    let err = stderr(&o);
    assert!(
        err.contains("resources[2] items[0] (00u1adaLOVELACE00697): skipped: the selector did not accept the item"),
        "{err}"
    );
}

#[test]
fn unreadable_files_exit_2() {
    let o = map(&["--kind", "okta-user", "--input", "fixtures/okta/nope.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error: cannot read fixtures/okta/nope.json"), "{}", stderr(&o));
    let o = map(&[
        "--mapping",
        "fixtures/configs/nope.yml",
        "--kind",
        "okta-user",
        "--input",
        "fixtures/okta/users.sample.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("fixtures/configs/nope.yml:1:1: cannot read the file"),
        "{}",
        stderr(&o)
    );
}

/// Entities are written one by one as they are mapped; the text is still exactly the pretty
/// JSON array of all of them (what `map` printed when it collected them first).
#[test]
fn streamed_output_is_the_pretty_array_of_all_entities() {
    for args in [
        &["--kind", "okta-user", "--input", "fixtures/okta/users.sample.json"][..],
        &["--kind", "okta-group", "--input", "fixtures/okta/groups.sample.json"][..],
    ] {
        let o = map(args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let text = String::from_utf8(o.stdout.clone()).unwrap();
        let entities = stdout_json(&o);
        assert!(entities.len() > 1);
        assert_eq!(text, serde_json::to_string_pretty(&entities).unwrap() + "\n");
    }
    // Nothing mapped: an empty array.
    let dir = std::env::temp_dir().join(format!("port-okta-map-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.json");
    std::fs::write(&empty, "[]").unwrap();
    let o = map(&["--kind", "okta-user", "--input", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8(o.stdout).unwrap(), "[]\n");
    let _ = std::fs::remove_dir_all(&dir);
}
