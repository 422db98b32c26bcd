//! The port-app-config loader: bad-config fixtures with their exact diagnostics, the built-in
//! default, and a full example with every key.

use port_okta::config::model::{
    EntityMappings, Expr, MappingValue, PortAppConfig, PortResourceConfig, ResourceConfig,
    SearchQuery, SearchRule, Selector,
};
use port_okta::config::{self, parse_str};
use port_okta::diag::Location;
use std::path::Path;

/// Every `fixtures/configs/bad/*.yml` fails with exactly the diagnostics in its `*.expected`.
///
/// Run with `BLESS=1` to (re)write missing expected files; review them before committing.
#[test]
fn bad_configs_report_the_expected_diagnostics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/configs/bad");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yml"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "fixtures missing: {names:?}");
    let mut failures = Vec::new();
    for name in names {
        let text = std::fs::read_to_string(dir.join(&name)).unwrap();
        let shown = format!("fixtures/configs/bad/{name}");
        let got = match parse_str(&shown, &text) {
            Ok(_) => "<parsed without errors>\n".to_string(),
            Err(d) => {
                for diag in &d.0 {
                    let m = &diag.message;
                    assert!(!m.ends_with('.'), "{name}: trailing period: {m}");
                    assert!(!m.starts_with(char::is_uppercase), "{name}: not lowercase: {m}");
                }
                format!("{d}\n")
            }
        };
        let expected_path = dir.join(name.replace(".yml", ".expected"));
        let expected = match std::fs::read_to_string(&expected_path) {
            Ok(e) => e,
            Err(_) if std::env::var_os("BLESS").is_some() => {
                std::fs::write(&expected_path, &got).unwrap();
                got.clone()
            }
            Err(e) => panic!("{}: {e}", expected_path.display()),
        };
        if got != expected {
            failures.push(format!("== {name}\n-- expected\n{expected}-- got\n{got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_builtin_default_parses() {
    let c = config::builtin_default();
    assert_eq!(c.file, "<built-in>");
    let kinds: Vec<_> = c.resources.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["okta-user", "okta-group"]);
    let user = &c.resources[0];
    assert_eq!(user.selector.query.source, "true");
    assert!(user.selector.include_groups && user.selector.include_applications);
    assert!(user.selector.fields.as_deref().unwrap().starts_with("id,status"));
    assert_eq!(user.port.mappings.blueprint.source, "\"okta-user\"");
    assert_eq!(user.port.mappings.properties.len(), 20);
    assert_eq!(user.port.mappings.relations[0].0, "groups");
    assert_eq!(user.port.items_to_parse_name, "item");
    assert!(user.port.items_to_parse_top_level_transform);
    // Defaults of the top-level flags.
    assert!(c.delete_dependent_entities && c.create_missing_related_entities);
    assert!(c.enable_merge_entity);
    assert_eq!(c.entity_deletion_threshold, 0.9);
}

#[test]
fn the_shipped_resource_file_is_the_builtin_default() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("resources/port-app-config.yml"),
    )
    .unwrap();
    assert_eq!(text, config::builtin_default_text());
}

fn e(source: &str, line: usize, col: usize, path: &str) -> Expr {
    Expr { source: source.into(), at: Location { line, col }, path: path.into() }
}

#[test]
fn a_full_config_with_every_key_parses_to_the_expected_model() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/configs/good/full.yml");
    let got = config::load_file(&path).unwrap_or_else(|d| panic!("{d}"));
    let m = "resources[0].port.entity.mappings";
    let expected = PortAppConfig {
        file: path.display().to_string(),
        delete_dependent_entities: false,
        create_missing_related_entities: false,
        enable_merge_entity: false,
        entity_deletion_threshold: 0.5,
        resources: vec![
            ResourceConfig {
                kind: "okta-user".into(),
                selector: Selector {
                    query: e(".status == \"ACTIVE\"", 8, 14, "resources[0].selector.query"),
                    include_groups: false,
                    include_applications: false,
                    fields: Some("id,status,profile".into()),
                },
                port: PortResourceConfig {
                    mappings: EntityMappings {
                        identifier: MappingValue::Jq(e(".id", 19, 23, &format!("{m}.identifier"))),
                        title: Some(e(".profile.login", 20, 18, &format!("{m}.title"))),
                        blueprint: e("\"okta-user\"", 21, 22, &format!("{m}.blueprint")),
                        team: Some(MappingValue::Jq(e(
                            ".profile.department",
                            22,
                            17,
                            &format!("{m}.team"),
                        ))),
                        icon: Some(e("\"Okta\"", 23, 17, &format!("{m}.icon"))),
                        properties: vec![
                            (
                                "email".into(),
                                e(".profile.email", 25, 20, &format!("{m}.properties.email")),
                            ),
                            ("active".into(), e("true", 26, 21, &format!("{m}.properties.active"))),
                            ("weight".into(), e("1.5", 27, 21, &format!("{m}.properties.weight"))),
                        ],
                        relations: vec![
                            (
                                "groups".into(),
                                MappingValue::Jq(e(
                                    "[.groups[]?.id]",
                                    29,
                                    21,
                                    &format!("{m}.relations.groups"),
                                )),
                            ),
                            (
                                "manager".into(),
                                MappingValue::Search(SearchQuery {
                                    combinator: e(
                                        "\"and\"",
                                        31,
                                        27,
                                        &format!("{m}.relations.manager.combinator"),
                                    ),
                                    rules: vec![
                                        SearchRule::Rule {
                                            property: e(
                                                "\"login\"",
                                                33,
                                                29,
                                                &format!("{m}.relations.manager.rules[0].property"),
                                            ),
                                            operator: e(
                                                "\"=\"",
                                                34,
                                                29,
                                                &format!("{m}.relations.manager.rules[0].operator"),
                                            ),
                                            value: e(
                                                ".profile.manager",
                                                35,
                                                26,
                                                &format!("{m}.relations.manager.rules[0].value"),
                                            ),
                                        },
                                        SearchRule::Query(SearchQuery {
                                            combinator: e(
                                                "\"or\"",
                                                36,
                                                31,
                                                &format!(
                                                    "{m}.relations.manager.rules[1].combinator"
                                                ),
                                            ),
                                            rules: vec![],
                                        }),
                                    ],
                                }),
                            ),
                        ],
                    },
                    items_to_parse: None,
                    items_to_parse_name: "item".into(),
                    items_to_parse_top_level_transform: true,
                },
            },
            ResourceConfig {
                kind: "okta-group".into(),
                selector: Selector {
                    query: e("true", 40, 14, "resources[1].selector.query"),
                    include_groups: true,
                    include_applications: true,
                    fields: None,
                },
                port: PortResourceConfig {
                    mappings: EntityMappings {
                        identifier: MappingValue::Search(SearchQuery {
                            combinator: e(
                                "\"and\"",
                                48,
                                25,
                                "resources[1].port.entity.mappings.identifier.combinator",
                            ),
                            rules: vec![SearchRule::Rule {
                                property: e(
                                    "\"$identifier\"",
                                    50,
                                    27,
                                    "resources[1].port.entity.mappings.identifier.rules[0].property",
                                ),
                                operator: e(
                                    "\"=\"",
                                    51,
                                    27,
                                    "resources[1].port.entity.mappings.identifier.rules[0].operator",
                                ),
                                value: e(
                                    ".item.id",
                                    52,
                                    24,
                                    "resources[1].port.entity.mappings.identifier.rules[0].value",
                                ),
                            }],
                        }),
                        title: None,
                        blueprint: e(
                            "\"okta-group\"",
                            53,
                            22,
                            "resources[1].port.entity.mappings.blueprint",
                        ),
                        team: None,
                        icon: None,
                        properties: vec![],
                        relations: vec![],
                    },
                    items_to_parse: Some(e(".users", 42, 21, "resources[1].port.itemsToParse")),
                    items_to_parse_name: "member".into(),
                    items_to_parse_top_level_transform: false,
                },
            },
        ],
    };
    assert_eq!(got, expected);
}

#[test]
fn scalars_in_jq_positions_keep_their_text() {
    let text = "resources:\n  - kind: okta-group\n    selector:\n      query: true\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: '\"g\"'\n          properties:\n            n: 42\n            f: false\n";
    let c = parse_str("t.yml", text).unwrap_or_else(|d| panic!("{d}"));
    let r = &c.resources[0];
    assert_eq!(r.selector.query.source, "true");
    assert_eq!(r.port.mappings.properties[0].1.source, "42");
    assert_eq!(r.port.mappings.properties[1].1.source, "false");
}

#[test]
fn booleans_accept_pydantic_coercions() {
    let text = "deleteDependentEntities: 'no'\ncreateMissingRelatedEntities: 0\nenableMergeEntity: \"YES\"\nentityDeletionThreshold: '0.25'\n";
    let c = parse_str("t.yml", text).unwrap_or_else(|d| panic!("{d}"));
    assert!(!c.delete_dependent_entities);
    assert!(!c.create_missing_related_entities);
    assert!(c.enable_merge_entity);
    assert_eq!(c.entity_deletion_threshold, 0.25);
    assert!(c.resources.is_empty());
}

#[test]
fn a_missing_file_is_one_diagnostic() {
    let err = config::load_file(Path::new("fixtures/configs/does-not-exist.yml")).unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert!(err.0[0].message.starts_with("cannot read the file"), "{err}");
}

/// Cheap deterministic generator, so the "fuzz" test is reproducible without a dependency.
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

#[test]
fn truncated_and_mangled_configs_never_panic() {
    let full = config::builtin_default_text();
    let chars: Vec<(usize, char)> = full.char_indices().collect();
    // Every truncation point.
    for &(i, _) in &chars {
        let _ = parse_str("cut.yml", &full[..i]);
    }
    // Random single-character damage.
    let mut rng = Lcg(7);
    let junk = ['{', '}', '[', ']', ':', '-', '\'', '"', '\n', ' ', '\t', '&', '*', '!', '#', '|'];
    for _ in 0..2000 {
        let mut s: Vec<char> = full.chars().collect();
        for _ in 0..=rng.below(3) {
            let at = rng.below(s.len());
            match rng.below(3) {
                0 => s[at] = junk[rng.below(junk.len())],
                1 => s.insert(at, junk[rng.below(junk.len())]),
                _ => {
                    s.remove(at);
                }
            }
        }
        let text: String = s.into_iter().collect();
        if let Err(d) = parse_str("mangled.yml", &text) {
            assert!(!d.0.is_empty());
        }
    }
}

#[test]
fn a_json_config_as_exported_from_port_loads() {
    let text = r#"{"createMissingRelatedEntities": false, "resources": [{"kind": "okta-group",
        "selector": {"query": "true"}, "port": {"entity": {"mappings": {"identifier": ".id",
        "blueprint": "\"okta-group\"", "relations": {"members": ".users[]?.id"}}}}}]}"#;
    let c = parse_str("config.json", text).unwrap_or_else(|d| panic!("{d}"));
    assert!(!c.create_missing_related_entities);
    assert_eq!(c.resources[0].port.mappings.blueprint.source, "\"okta-group\"");
    assert_eq!(c.resources[0].port.mappings.blueprint.at, Location { line: 3, col: 22 });
}

#[test]
fn null_means_unset_for_optional_leaves_and_str_tags_force_text() {
    let text = "resources:\n  - kind: okta-group\n    selector:\n      query: !!str true\n    port:\n      itemsToParse: ~\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: '\"g\"'\n          title:\n          team: null\n";
    let c = parse_str("t.yml", text).unwrap_or_else(|d| panic!("{d}"));
    let r = &c.resources[0];
    assert_eq!(r.selector.query.source, "true");
    assert!(r.port.items_to_parse.is_none());
    assert!(r.port.mappings.title.is_none() && r.port.mappings.team.is_none());
    let err = parse_str("t.yml", &text.replace("team: null", "properties: {x: null}")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "t.yml:12:27: resources[0].port.entity.mappings.properties.x: expected a jq expression, found null (write 'null' in quotes for jq's null)"
    );
}

#[test]
fn crlf_line_endings_and_a_byte_order_mark_are_fine() {
    let text = config::builtin_default_text().replace('\n', "\r\n");
    let crlf = parse_str("crlf.yml", &text).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(crlf.resources.len(), 2);
    let bom = format!("\u{feff}{}", config::builtin_default_text());
    let c = parse_str("bom.yml", &bom).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(c.resources, config::builtin_default().resources.clone());
}

#[test]
fn anchors_and_aliases_resolve() {
    let text = "resources:\n  - kind: okta-group\n    selector: &sel\n      query: 'true'\n    port:\n      entity:\n        mappings: &m\n          identifier: .id\n          blueprint: '\"okta-group\"'\n  - kind: okta-group\n    selector: *sel\n    port:\n      entity:\n        mappings: *m\n";
    let c = parse_str("a.yml", text).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(c.resources.len(), 2);
    let source = |i: usize| match &c.resources[i].port.mappings.identifier {
        MappingValue::Jq(e) => e.source.clone(),
        MappingValue::Search(_) => panic!("not jq"),
    };
    assert_eq!(source(1), source(0));
    assert_eq!(c.resources[1].selector.query.source, "true");
}

#[test]
fn threshold_type_errors() {
    for (value, message) in [
        ("'high'", "expected a number, found a string"),
        ("[]", "expected a number, found a list"),
        ("true", "expected a number, found a boolean"),
        (".nan", "must be between 0 and 1, found NaN"),
        ("-.inf", "must be between 0 and 1, found -inf"),
    ] {
        let text = format!("entityDeletionThreshold: {value}\n");
        let err = parse_str("t.yml", &text).unwrap_err();
        assert_eq!(err.0.len(), 1, "{value}");
        assert_eq!(err.0[0].message, message, "{value}");
    }
    let c = parse_str("t.yml", "entityDeletionThreshold: 0\n").unwrap();
    assert_eq!(c.entity_deletion_threshold, 0.0);
    let c = parse_str("t.yml", "entityDeletionThreshold: 1\n").unwrap();
    assert_eq!(c.entity_deletion_threshold, 1.0);
}
