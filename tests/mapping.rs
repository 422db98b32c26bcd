//! Golden test: the shipped default mapping over hand-written Okta items, against hand-written
//! expected entities (`fixtures/mapping/*.expected.json`).
//!
//! Each expected entry is `{"entities": [...], "problems": [{"field", "severity"}]}` for the item
//! at the same position. Items are shaped as the resync gives them: users with `groups` (full
//! group objects) and `applications` (app links), groups with `users` (member user objects).

use port_okta::blueprint::BlueprintSet;
use port_okta::mapping::{self, JqOptions, Severity};
use serde_json::{Value, json};

fn load(name: &str) -> Value {
    let path = format!("{}/fixtures/mapping/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn check(kind: &str, items: &str, expected: &str) {
    let config = port_okta::config::builtin_default();
    let compiled = mapping::compile(&config, &BlueprintSet::seed(), &JqOptions::default()).unwrap();
    let resource = compiled.resources.iter().find(|r| r.kind() == kind).unwrap();
    let items = load(items);
    let expected = load(expected);
    let (items, expected) = (items.as_array().unwrap(), expected.as_array().unwrap());
    assert_eq!(items.len(), expected.len());
    for (i, (item, want)) in items.iter().zip(expected).enumerate() {
        let got = resource.map_item(item);
        let got_json = json!({
            "entities": got.entities.iter().map(|e| {
                assert!(e.passed_selector);
                serde_json::to_value(&e.entity).unwrap()
            }).collect::<Vec<_>>(),
            "problems": got.problems.iter().map(|p| json!({
                "field": p.field,
                "severity": match p.severity { Severity::Error => "error", Severity::Warning => "warning" },
            })).collect::<Vec<_>>(),
        });
        assert_eq!(
            &got_json,
            want,
            "{kind} item {i}: got\n{}",
            serde_json::to_string_pretty(&got_json).unwrap()
        );
        // The pruned parse gives the same result as the full item.
        let bytes = serde_json::to_vec(item).unwrap();
        assert_eq!(
            resource.map_item(&resource.parse_item(&bytes).unwrap()),
            got,
            "{kind} item {i} pruned"
        );
        // A live event (parse_all) yields the same entities here: the selector is `true`.
        assert_eq!(resource.map_item_all(item), got);
    }
}

#[test]
fn seed_mapping_of_users() {
    check("okta-user", "users.json", "users.expected.json");
}

#[test]
fn seed_mapping_of_groups() {
    check("okta-group", "groups.json", "groups.expected.json");
}
