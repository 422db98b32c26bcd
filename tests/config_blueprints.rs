//! Blueprints: loading (with located errors, unknown keys kept) and entity validation rules.

use port_okta::blueprint::{Blueprint, BlueprintSet};
use port_okta::model::Entity;
use serde_json::{Value, json};
use std::path::Path;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/configs/blueprints").join(name)
}

fn load_err(name: &str) -> String {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    match BlueprintSet::parse_str(name, &text) {
        Ok(_) => panic!("{name} should not load"),
        Err(d) => d.to_string(),
    }
}

#[test]
fn the_seed_loads() {
    let set = BlueprintSet::seed();
    let ids: Vec<_> = set.blueprints.iter().map(|b| b.identifier.as_str()).collect();
    assert_eq!(ids, ["okta-user", "okta-group"]);
    let user = set.get("okta-user").unwrap();
    assert_eq!(user.schema.required, ["login", "email"]);
    assert!(user.relations.get("groups").unwrap().many);
    assert!(set.get("nope").is_none());
}

#[test]
fn a_json_syntax_error_names_line_and_column() {
    assert_eq!(
        load_err("bad-syntax.json"),
        "bad-syntax.json:6:36: [0].schema.properties.email: trailing comma"
    );
}

#[test]
fn a_wrong_type_names_the_field_path() {
    assert_eq!(
        load_err("bad-type.json"),
        "bad-type.json:6:46: [0].schema.properties.status.enum: invalid type: string \"ACTIVE\", expected a sequence"
    );
}

#[test]
fn checks_after_parsing_are_all_reported_with_locations() {
    assert_eq!(
        load_err("bad-semantics.json"),
        "bad-semantics.json:6:25: [0].schema.properties.age.type: unknown property type `integer` (expected one of string, number, boolean, object, array)\n\
         bad-semantics.json:8:20: [0].schema.required[0]: `email` is required but is not a property of `okta-user`\n\
         bad-semantics.json:12:19: [1].identifier: duplicate blueprint identifier `okta-user` (also at [0])"
    );
}

#[test]
fn trailing_garbage_and_wrong_top_level_are_errors() {
    let e = BlueprintSet::parse_str("x.json", "[] []").unwrap_err().to_string();
    assert_eq!(e, "x.json:1:4: trailing characters");
    let e = BlueprintSet::parse_str("x.json", "{\"identifier\": \"a\"}").unwrap_err().to_string();
    assert!(e.starts_with("x.json:1:1: invalid type: map, expected a sequence"), "{e}");
    let e = BlueprintSet::parse_str("x.json", "[{\"relations\": {\"a\": {\"target\": \"b\"}, \"a\": {\"target\": \"c\"}}, \"identifier\": \"x\"}]")
        .unwrap_err()
        .to_string();
    assert!(e.contains("[0].relations: duplicate key `a`"), "{e}");
}

#[test]
fn a_missing_file_is_one_diagnostic() {
    let e = BlueprintSet::load_file(&fixture("nope.json")).unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert!(e.0[0].message.starts_with("cannot read the file"));
}

#[test]
fn unknown_keys_are_kept_and_round_trip() {
    let path = fixture("extra-keys.json");
    let set = BlueprintSet::load_file(&path).unwrap();
    let original: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let again = serde_json::to_value(&set.blueprints).unwrap();
    assert_eq!(again, original);
    let bp = &set.blueprints[0];
    assert_eq!(bp.extra["description"], "a service");
    assert_eq!(bp.schema.properties.get("readme").unwrap().extra["icon"], "Book");
    assert_eq!(bp.relations.get("team").unwrap().extra["description"], "owner");
}

fn user() -> Blueprint {
    BlueprintSet::seed().get("okta-user").unwrap().clone()
}

fn entity(properties: Value, relations: Value) -> Entity {
    Entity {
        identifier: "00u1".into(),
        title: Some(json!("Ada")),
        blueprint: "okta-user".into(),
        team: None,
        icon: None,
        properties: properties.as_object().unwrap().clone(),
        relations: relations.as_object().unwrap().clone(),
    }
}

fn ok_props() -> Value {
    json!({
        "login": "ada@example.com",
        "email": "ada@example.com",
        "status": "ACTIVE",
        "created": "2024-01-02T03:04:05.000Z",
        "department": null
    })
}

fn problems(props: Value, rels: Value) -> Vec<String> {
    match user().validate(&entity(props, rels)) {
        Ok(()) => vec![],
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

fn with(key: &str, value: Value) -> Value {
    let mut p = ok_props();
    p[key] = value;
    p
}

#[test]
fn a_valid_entity_passes() {
    assert_eq!(problems(ok_props(), json!({"groups": ["00g1", "00g2"]})), Vec::<String>::new());
    assert_eq!(problems(ok_props(), json!({"groups": []})), Vec::<String>::new());
    assert_eq!(problems(ok_props(), json!({"groups": null})), Vec::<String>::new());
    assert_eq!(problems(ok_props(), json!({})), Vec::<String>::new());
    let search = json!({"combinator": "and", "rules": [{"property": "$identifier", "operator": "=", "value": "x"}]});
    assert_eq!(problems(ok_props(), json!({"groups": search})), Vec::<String>::new());
}

#[test]
fn property_types() {
    assert_eq!(
        problems(with("login", json!(42)), json!({})),
        ["okta-user/00u1: properties.login: expected a string, found a number 42"]
    );
    let mut bp = user();
    let mut add = |name: &str, ty: &str| {
        bp.schema.properties.0.push((
            name.into(),
            port_okta::blueprint::PropertySchema { ty: Some(ty.into()), ..Default::default() },
        ));
    };
    add("n", "number");
    add("b", "boolean");
    add("o", "object");
    add("a", "array");
    let good = with("n", json!(1.5));
    let mut good = good;
    good["b"] = json!(false);
    good["o"] = json!({"k": 1});
    good["a"] = json!([1, "x"]);
    assert_eq!(bp.validate(&entity(good, json!({}))), Ok(()));
    let mut bad = ok_props();
    bad["n"] = json!("1");
    bad["b"] = json!("true");
    bad["o"] = json!([]);
    bad["a"] = json!({});
    let errs: Vec<_> =
        bp.validate(&entity(bad, json!({}))).unwrap_err().iter().map(|e| e.field.clone()).collect();
    assert_eq!(errs, ["properties.n", "properties.b", "properties.o", "properties.a"]);
}

#[test]
fn enum_values() {
    assert_eq!(
        problems(with("status", json!("ACTIVE2")), json!({})),
        [
            "okta-user/00u1: properties.status: \"ACTIVE2\" is not one of [\"STAGED\", \"PROVISIONED\", \"ACTIVE\", \"RECOVERY\", \"INACTIVE\", \"PASSWORD_EXPIRED\", …]"
        ]
    );
    for status in ["STAGED", "PROVISIONED", "RECOVERY", "DEPROVISIONED"] {
        assert_eq!(
            problems(with("status", json!(status)), json!({})),
            Vec::<String>::new(),
            "{status}"
        );
    }
    assert_eq!(problems(with("status", Value::Null), json!({})), Vec::<String>::new());
}

#[test]
fn formats() {
    assert_eq!(
        problems(with("created", json!("2024-01-02")), json!({})),
        ["okta-user/00u1: properties.created: \"2024-01-02\" is not a valid date-time"]
    );
    assert_eq!(
        problems(with("email", json!("not-an-email")), json!({})),
        ["okta-user/00u1: properties.email: \"not-an-email\" is not a valid email"]
    );
    let mut bp = user();
    bp.schema.properties.0.push((
        "home".into(),
        port_okta::blueprint::PropertySchema {
            ty: Some("string".into()),
            format: Some("url".into()),
            ..Default::default()
        },
    ));
    let good = with("home", json!("https://example.com"));
    assert_eq!(bp.validate(&entity(good, json!({}))), Ok(()));
    let bad = with("home", json!("example.com"));
    let e = bp.validate(&entity(bad, json!({}))).unwrap_err();
    assert_eq!(e[0].message, "\"example.com\" is not a valid url");
}

#[test]
fn required_properties() {
    let mut p = ok_props();
    p.as_object_mut().unwrap().remove("email");
    p["login"] = Value::Null;
    assert_eq!(
        problems(p, json!({})),
        [
            "okta-user/00u1: properties.login: required property is null",
            "okta-user/00u1: properties.email: required property is missing"
        ]
    );
}

#[test]
fn unknown_properties_and_relations() {
    assert_eq!(
        problems(with("nickname", json!("ada")), json!({"manager": "00u2"})),
        [
            "okta-user/00u1: properties.nickname: `nickname` is not a property of blueprint `okta-user`",
            "okta-user/00u1: relations.manager: `manager` is not a relation of blueprint `okta-user`"
        ]
    );
}

#[test]
fn relation_shapes() {
    assert_eq!(
        problems(ok_props(), json!({"groups": "00g1"})),
        [
            "okta-user/00u1: relations.groups: `many` relation to `okta-group` expects an array of identifiers, found a string \"00g1\""
        ]
    );
    assert_eq!(
        problems(ok_props(), json!({"groups": ["00g1", 7]})),
        [
            "okta-user/00u1: relations.groups: expected an array of identifiers (strings), found an element 7"
        ]
    );
    let mut bp = user();
    bp.relations.0.push((
        "manager".into(),
        port_okta::blueprint::Relation { target: "okta-user".into(), ..Default::default() },
    ));
    bp.relations.0.push((
        "org".into(),
        port_okta::blueprint::Relation {
            target: "org".into(),
            required: true,
            ..Default::default()
        },
    ));
    let fine = bp.validate(&entity(ok_props(), json!({"manager": "00u2", "org": "acme"})));
    assert_eq!(fine, Ok(()));
    let fine = bp.validate(&entity(ok_props(), json!({"manager": null, "org": "acme"})));
    assert_eq!(fine, Ok(()));
    let errs: Vec<_> = bp
        .validate(&entity(ok_props(), json!({"manager": ["00u2"], "org": null})))
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        [
            "okta-user/00u1: relations.manager: relation to `okta-user` expects one identifier (a string) or null, found an array [\"00u2\"]",
            "okta-user/00u1: relations.org: required relation is null"
        ]
    );
    let errs = bp.validate(&entity(ok_props(), json!({}))).unwrap_err();
    assert_eq!(errs[0].to_string(), "okta-user/00u1: relations.org: required relation is missing");
}

#[test]
fn the_set_rejects_an_unknown_blueprint() {
    let mut e = entity(ok_props(), json!({}));
    e.blueprint = "okta-app".into();
    let errs = BlueprintSet::seed().validate(&e).unwrap_err();
    assert_eq!(errs[0].to_string(), "okta-app/00u1: blueprint: unknown blueprint `okta-app`");
    e.blueprint = "okta-user".into();
    assert_eq!(BlueprintSet::seed().validate(&e), Ok(()));
}

#[test]
fn truncated_blueprint_files_never_panic() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("resources/blueprints.json"),
    )
    .unwrap();
    for (i, _) in text.char_indices() {
        let r = BlueprintSet::parse_str("cut.json", &text[..i]);
        assert!(r.is_err() || i == 0 || text[i..].trim().is_empty());
    }
}

#[test]
fn odd_property_values_never_panic() {
    use port_okta::blueprint::{is_email, is_rfc3339, is_url};
    let alphabet: Vec<char> = "0123456789-:T.Z+zé@/\u{1F600} a".chars().collect();
    let mut state = 7_u64;
    for _ in 0..20_000 {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let len = (state >> 59) as usize + 16;
        let s: String = (0..len)
            .map(|k| alphabet[(state.rotate_left(k as u32 * 5) as usize) % alphabet.len()])
            .collect();
        let _ = (is_rfc3339(&s), is_email(&s), is_url(&s));
    }
}
