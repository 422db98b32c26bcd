//! Mapping semantics, and agreement of the native fast path with jaq.

use super::*;
use crate::config;
use serde_json::json;

fn compile_yaml(yaml: &str) -> CompiledConfig {
    let cfg = config::parse_str("test.yml", yaml).unwrap_or_else(|d| panic!("{d}"));
    compile(&cfg, &BlueprintSet::seed(), &JqOptions::default()).unwrap_or_else(|d| panic!("{d}"))
}

fn user_resource(mappings: &str) -> CompiledResource {
    user_resource_with("'true'", mappings)
}

fn user_resource_with(selector: &str, mappings: &str) -> CompiledResource {
    let yaml = format!(
        "resources:\n  - kind: okta-user\n    selector:\n      query: {selector}\n    port:\n      entity:\n        mappings:\n{}",
        mappings.lines().map(|l| format!("          {l}\n")).collect::<String>()
    );
    compile_yaml(&yaml).resources.remove(0)
}

fn fields(m: &ItemMapping) -> Vec<(String, Severity)> {
    m.problems.iter().map(|p| (p.field.clone(), p.severity)).collect()
}

#[test]
fn seed_config_compiles_and_uses_the_fast_path_everywhere() {
    let c =
        compile(&config::builtin_default(), &BlueprintSet::seed(), &JqOptions::default()).unwrap();
    assert_eq!(c.resources.len(), 2);
    let r = &c.resources[0];
    assert_eq!(r.kind(), "okta-user");
    assert!(r.selector.fast().is_some());
    assert!(r.title.as_ref().unwrap().fast().is_some());
    assert!(r.properties.iter().all(|(_, _, e)| e.fast().is_some()));
    assert!(r.relations.iter().all(|(_, _, v)| matches!(v, CValue::Jq(e) if e.fast().is_some())));
    assert_eq!(
        r.literal_blueprint.as_ref().map(|(id, bp)| (id.as_str(), bp.is_some())),
        Some(("okta-user", true))
    );
}

#[test]
fn compile_errors_are_all_collected_with_locations() {
    let yaml = "resources:\n  - kind: okta-user\n    selector:\n      query: 'true'\n    port:\n      entity:\n        mappings:\n          identifier: .id |\n          blueprint: '\"okta-user\"'\n          properties:\n            a: nosuch(1)\n";
    let cfg = config::parse_str("bad.yml", yaml).unwrap();
    let d = compile(&cfg, &BlueprintSet::seed(), &JqOptions::default()).unwrap_err();
    assert_eq!(d.0.len(), 2, "{d}");
    assert_eq!(d.0[0].file, "bad.yml");
    assert_eq!(d.0[0].at.line, 8);
    assert!(d.0[0].path.ends_with("mappings.identifier"), "{}", d.0[0].path);
    assert_eq!(d.0[1].at.line, 11);
    assert!(d.0[1].message.contains("nosuch"), "{}", d.0[1].message);
}

#[test]
fn selector_must_be_boolean_and_is_per_item() {
    let r = user_resource_with(".ok", "identifier: .id\nblueprint: '\"okta-user\"'");
    let m = r.map_item(&json!({"id": "a", "ok": true}));
    assert_eq!(m.entities.len(), 1);
    assert!(m.problems.is_empty());
    let m = r.map_item(&json!({"id": "a", "ok": false}));
    assert!(m.entities.is_empty() && m.problems.is_empty());
    let m = r.map_item_all(&json!({"id": "a", "ok": false}));
    assert_eq!(m.entities.len(), 1);
    assert!(!m.entities[0].passed_selector);
    for bad in [json!({"id": "a", "ok": "yes"}), json!({"id": "a"})] {
        let m = r.map_item(&bad);
        assert!(m.entities.is_empty());
        assert_eq!(fields(&m), vec![("selector.query".to_owned(), Severity::Error)]);
    }
    let r =
        user_resource_with("'.x | error(\"no\")'", "identifier: .id\nblueprint: '\"okta-user\"'");
    let m = r.map_item(&json!({"id": "a"}));
    assert_eq!(fields(&m), vec![("selector.query".to_owned(), Severity::Error)]);
    assert_eq!(m.problems[0].message, "no");
    let r = user_resource_with("'empty'", "identifier: .id\nblueprint: '\"okta-user\"'");
    assert_eq!(
        fields(&r.map_item(&json!({}))),
        vec![("selector.query".to_owned(), Severity::Error)]
    );
}

#[test]
fn leaves_keep_the_first_output_and_warn_on_failure() {
    let r = user_resource(
        "identifier: .id\ntitle: .names[]\nblueprint: '\"okta-user\"'\nproperties:\n  email: .profile.email\n  city: .profile.city.name\n  none: empty\n  computed: '.n * 2'",
    );
    let m = r.map_item(&json!({"id": "u1", "names": ["a", "b"], "profile": {"email": "e@x", "city": "Paris"}, "n": 2}));
    let e = &m.entities[0].entity;
    assert_eq!(e.title, Some(json!("a")));
    assert_eq!(e.properties["email"], json!("e@x"));
    assert_eq!(e.properties["city"], Value::Null);
    assert_eq!(e.properties["none"], Value::Null);
    assert_eq!(e.properties["computed"], json!(4));
    assert_eq!(
        fields(&m),
        vec![
            ("properties.city".to_owned(), Severity::Warning),
            ("properties.none".to_owned(), Severity::Warning)
        ]
    );
    // Unmapped optional fields stay unset; mapped-but-null ones are null.
    assert_eq!(e.icon, None);
    assert_eq!(e.team, None);
}

#[test]
fn identifier_and_blueprint_rules() {
    let r = user_resource("identifier: .id\nblueprint: .bp");
    let m = r.map_item(&json!({"id": 42, "bp": "okta-user"}));
    assert_eq!(m.entities[0].entity.identifier, "42");
    for (item, field) in [
        (json!({"id": null, "bp": "x"}), "identifier"),
        (json!({"id": "", "bp": "x"}), "identifier"),
        (json!({"id": [1], "bp": "x"}), "identifier"),
        (json!({"id": "a", "bp": ""}), "blueprint"),
        (json!({"id": "a"}), "blueprint"),
    ] {
        let m = r.map_item(&item);
        assert!(m.entities.is_empty(), "{item}");
        assert!(
            fields(&m).contains(&(field.to_owned(), Severity::Error)),
            "{item}: {:?}",
            m.problems
        );
    }
}

#[test]
fn relations_collect_every_output() {
    let r = user_resource(
        "identifier: .id\nblueprint: '\"okta-user\"'\nrelations:\n  groups: .groups[]?.id",
    );
    let rel = |item: Value| r.map_item(&item).entities[0].entity.relations["groups"].clone();
    assert_eq!(
        rel(json!({"id": "u", "groups": [{"id": "g1"}, {"id": "g2"}]})),
        json!(["g1", "g2"])
    );
    assert_eq!(rel(json!({"id": "u", "groups": [{"id": "g1"}]})), json!(["g1"]));
    assert_eq!(rel(json!({"id": "u", "groups": []})), json!([]));
    assert_eq!(rel(json!({"id": "u"})), json!([]));
    assert_eq!(rel(json!({"id": "u", "groups": [{"id": "g1"}, {"x": 1}]})), json!(["g1"]));
    // An expression that builds the array itself is taken as is.
    let r = user_resource(
        "identifier: .id\nblueprint: '\"okta-user\"'\nrelations:\n  groups: '[.groups[]?.id]'",
    );
    let m = r.map_item(&json!({"id": "u", "groups": [{"id": "g1"}, {"id": "g2"}]}));
    assert_eq!(m.entities[0].entity.relations["groups"], json!(["g1", "g2"]));
}

#[test]
fn single_and_unknown_relations() {
    let mut bps = BlueprintSet::seed();
    let user = bps.blueprints.iter_mut().find(|b| b.identifier == "okta-user").unwrap();
    let mut manager = user.relations.0[0].1.clone();
    manager.many = false;
    user.relations.0.push(("manager".into(), manager));
    let yaml = "resources:\n  - kind: okta-user\n    selector:\n      query: 'true'\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: '\"okta-user\"'\n          relations:\n            manager: .m[]\n            other: .o[]\n";
    let cfg = config::parse_str("t.yml", yaml).unwrap();
    let r = compile(&cfg, &bps, &JqOptions::default()).unwrap().resources.remove(0);
    let m = r.map_item(&json!({"id": "u", "m": ["a", "b"], "o": ["x", "y"]}));
    let e = &m.entities[0].entity;
    assert_eq!(e.relations["manager"], json!("a"));
    assert_eq!(e.relations["other"], json!(["x", "y"]));
    assert_eq!(fields(&m), vec![("relations.manager".to_owned(), Severity::Warning)]);
    let m = r.map_item(&json!({"id": "u", "m": [], "o": ["x"]}));
    let e = &m.entities[0].entity;
    assert_eq!(e.relations["manager"], Value::Null);
    assert_eq!(e.relations["other"], json!("x"));
    let m = r.map_item(&json!({"id": "u", "m": [], "o": []}));
    assert_eq!(m.entities[0].entity.relations["other"], Value::Null);
}

#[test]
fn icon_and_team_of_a_wrong_type_only_warn() {
    let r = user_resource("identifier: .id\nblueprint: '\"okta-user\"'\nicon: .icon\nteam: .team");
    let m = r.map_item(&json!({"id": "u", "icon": {"x": 1}, "team": [1]}));
    let e = &m.entities[0].entity;
    assert_eq!(e.icon, Some(Value::Null));
    assert_eq!(e.team, Some(Value::Null));
    assert_eq!(
        fields(&m),
        vec![("icon".to_owned(), Severity::Warning), ("team".to_owned(), Severity::Warning)]
    );
    let m = r.map_item(&json!({"id": "u", "icon": "Okta", "team": ["a", "b"]}));
    assert!(m.problems.is_empty());
    assert_eq!(m.entities[0].entity.team, Some(json!(["a", "b"])));
}

#[test]
fn search_queries() {
    let r = user_resource(
        "identifier: .id\nblueprint: '\"okta-user\"'\nrelations:\n  manager:\n    combinator: '\"and\"'\n    rules:\n      - property: '\"email\"'\n        operator: '\"=\"'\n        value: .managerEmail\n",
    );
    let m = r.map_item(&json!({"id": "u", "managerEmail": "m@x"}));
    assert_eq!(
        m.entities[0].entity.relations["manager"],
        json!({"combinator": "and", "rules": [{"property": "email", "operator": "=", "value": "m@x"}]})
    );
    let r = user_resource(
        "identifier:\n  combinator: '\"and\"'\n  rules:\n    - property: '\"email\"'\n      operator: '\"=\"'\n      value: .email\nblueprint: '\"okta-user\"'",
    );
    let m = r.map_item(&json!({"email": "a@x"}));
    assert!(m.entities.is_empty());
    assert_eq!(m.problems[0].message, "search-query identifiers are not supported yet");
}

#[test]
fn array_properties_collect() {
    let mut bps = BlueprintSet::seed();
    let user = bps.blueprints.iter_mut().find(|b| b.identifier == "okta-user").unwrap();
    let mut tags = user.schema.properties.0[0].1.clone();
    tags.ty = Some("array".into());
    tags.format = None;
    user.schema.properties.0.push(("tags".into(), tags));
    let yaml = "resources:\n  - kind: okta-user\n    selector:\n      query: 'true'\n    port:\n      entity:\n        mappings:\n          identifier: .id\n          blueprint: '\"okta-user\"'\n          properties:\n            tags: .tags[]\n";
    let cfg = config::parse_str("t.yml", yaml).unwrap();
    let r = compile(&cfg, &bps, &JqOptions::default()).unwrap().resources.remove(0);
    let m = r.map_item(&json!({"id": "u", "tags": ["a", "b"]}));
    assert_eq!(m.entities[0].entity.properties["tags"], json!(["a", "b"]));
}

#[test]
fn items_to_parse() {
    let yaml = "resources:\n  - kind: okta-user\n    selector:\n      query: 'true'\n    port:\n      itemsToParse: .file.content\n      entity:\n        mappings:\n          identifier: .item.id\n          blueprint: '\"okta-user\"'\n          properties:\n            parent: .name\n            rest: .file\n";
    let r = compile_yaml(yaml).resources.remove(0);
    let item = json!({"name": "p", "file": {"content": [{"id": "a"}, {"id": "b"}], "size": 2}});
    let m = r.map_item(&item);
    assert!(m.problems.is_empty(), "{:?}", m.problems);
    let ids: Vec<_> = m.entities.iter().map(|e| e.entity.identifier.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(m.entities[0].entity.properties["parent"], json!("p"));
    assert_eq!(m.entities[0].entity.properties["rest"], json!({"size": 2}));
    let m = r.map_item(&json!({"file": {"content": "x"}}));
    assert!(m.entities.is_empty());
    assert_eq!(fields(&m), vec![("itemsToParse".to_owned(), Severity::Error)]);

    // No deletable path: the item is kept unchanged (not dropped), with a custom name.
    let yaml = "resources:\n  - kind: okta-user\n    selector:\n      query: 'true'\n    port:\n      itemsToParse: '[.a[] | select(. > 1)]'\n      itemsToParseName: n\n      entity:\n        mappings:\n          identifier: '.n | tostring'\n          blueprint: '\"okta-user\"'\n          properties:\n            a: .a\n";
    let r = compile_yaml(yaml).resources.remove(0);
    let m = r.map_item(&json!({"a": [1, 2, 3]}));
    let ids: Vec<_> = m.entities.iter().map(|e| e.entity.identifier.as_str()).collect();
    assert_eq!(ids, ["2", "3"]);
    assert_eq!(m.entities[0].entity.properties["a"], json!([1, 2, 3]));
}

#[test]
fn delete_path_handles_missing_steps() {
    let mut o = json!({"a": {"b": [1, 2, 3]}, "c": 1}).as_object().unwrap().clone();
    delete_path(
        &mut o,
        &[fast::Seg::Key("a".into()), fast::Seg::Key("b".into()), fast::Seg::Index(-1)],
    );
    assert_eq!(Value::Object(o.clone()), json!({"a": {"b": [1, 2]}, "c": 1}));
    delete_path(&mut o, &[fast::Seg::Key("x".into()), fast::Seg::Key("y".into())]);
    delete_path(&mut o, &[fast::Seg::Key("c".into())]);
    assert_eq!(Value::Object(o), json!({"a": {"b": [1, 2]}}));
}

/// A tiny deterministic generator (xorshift) for the fast/jaq agreement test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
}

fn gen_value(rng: &mut Rng, depth: u32) -> Value {
    let leaf = [
        json!(null),
        json!(false),
        json!(true),
        json!(0),
        json!(7),
        json!(-3),
        json!(2.5),
        json!(""),
        json!("x"),
        json!("abc"),
    ];
    if depth == 0 || rng.next().is_multiple_of(3) {
        return rng.pick(&leaf).clone();
    }
    if rng.next().is_multiple_of(2) {
        let n = rng.next() % 4;
        Value::Array((0..n).map(|_| gen_value(rng, depth - 1)).collect())
    } else {
        let keys = ["a", "b", "id", "x-y"];
        let n = rng.next() % 4;
        Value::Object(
            (0..n).map(|_| (rng.pick(&keys).to_string(), gen_value(rng, depth - 1))).collect(),
        )
    }
}

#[test]
fn fast_path_agrees_with_jaq() {
    let exprs = [
        ".",
        ".a",
        ".a.b",
        ".a?",
        ".a.b?",
        ".[0]",
        ".[-1]",
        ".a[1]",
        ".[\"x-y\"]",
        ".\"x-y\".a",
        ".a[]",
        ".a[]?",
        ".[]?.id",
        ".a[]?.b",
        ".a[]?.b?",
        ".a // .b",
        ".a.b // \"d\"",
        ".a // .b // .id",
        ".a + .b",
        ".a + \" \" + .b",
        ".a // .b + .id // .x",
        "\"lit\"",
        "true",
        "null",
        "12",
        "(.a // .b)",
        ".id + 1",
        ".a[0] + .a[1]",
        ".a.b.id // false // 3",
        ".[1]?",
        ".a[-2]",
        "[.a[]?.b]",
        "[.a[]]",
        "[.a[]?]",
        "[]",
        "[.a // .b]",
        "[.[]?.id] + [.x]",
        "([.a[]?] // \"none\")",
    ];
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let opts = JqOptions::default();
    let mut checked = 0;
    for src in exprs {
        let prog = Program::compile(src, &opts).unwrap();
        let numeric = src.contains("[0]") || src.contains("[1]") || src.contains("[-");
        let fast = fast::parse(src).unwrap_or_else(|| panic!("{src} should have a fast form"));
        for _ in 0..400 {
            let input = gen_value(&mut rng, 3);
            let mut outs = Vec::new();
            let f = fast
                .eval(&input, &mut outs)
                .map(|_| outs.into_iter().map(Cow::into_owned).collect::<Vec<_>>());
            let j = prog.all(&input);
            // The same expression on the borrowed document parsed from the JSON text.
            let text = serde_json::to_vec(&input).unwrap();
            let doc = project::parse_doc(&text, &project::Node::everything()).unwrap();
            let mut douts = Vec::new();
            let d = fast
                .eval(&doc, &mut douts)
                .map(|_| douts.into_iter().map(Cow::into_owned).collect::<Vec<_>>());
            assert_eq!(d, f, "{src} on the Doc of {input}");
            assert_eq!(
                fast.first(&doc).map(|o| o.map(Cow::into_owned)),
                fast.first(&input).map(|o| o.map(Cow::into_owned)),
                "first of {src} on the Doc of {input}"
            );
            // `first` agrees with the first of all outputs (or the error).
            match (fast.first(&input), &f) {
                (Ok(x), Ok(all)) => {
                    assert_eq!(x.map(Cow::into_owned).as_ref(), all.first(), "{src} on {input}")
                }
                (Err(_), Err(_)) => {}
                (Ok(Some(_)), Err(_)) if fast.is_stream() => {}
                (x, y) => panic!("{src} on {input}: first {x:?} vs all {y:?}"),
            }
            match (&f, &j) {
                // jaq indexes objects with numbers as null; jq (and the fast path) raise, which
                // `?` turns into no output.
                (Ok(a), Ok(b)) if numeric && a.len() < b.len() => {}
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{src} on {input}"),
                (Err(_), Err(_)) => {}
                // jaq indexes objects with numbers as null; jq (and the fast path) raise.
                (Err(e), Ok(_)) if e.0.starts_with("Cannot index object with number (") => {}
                _ => panic!("{src} on {input}: fast {f:?} vs jaq {j:?}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, exprs.len() * 400);
}

#[test]
fn parse_item_prunes_without_changing_the_result() {
    let c =
        compile(&config::builtin_default(), &BlueprintSet::seed(), &JqOptions::default()).unwrap();
    let r = &c.resources[0];
    assert!(r.projection.is_some());
    let item = json!({
        "id": "00u1", "status": "ACTIVE", "credentials": {"provider": {"type": "OKTA"}},
        "profile": {"login": "a@x", "firstName": "A", "lastName": null, "costCenter": "x"},
        "groups": [{"id": "g1", "profile": {"name": "n"}}, {"id": "g2"}],
        "_links": {"self": {"href": "h"}}
    });
    let bytes = serde_json::to_vec(&item).unwrap();
    let pruned = r.parse_item(&bytes).unwrap();
    assert!(pruned.get("_links").is_none() && pruned.get("credentials").is_none());
    assert_eq!(r.map_item(&pruned), r.map_item(&item));
    assert_eq!(r.map_json(&bytes).unwrap(), r.map_item(&item));
    // A mapping with a jaq-only expression parses everything.
    let r = user_resource(
        "identifier: .id\nblueprint: '\"okta-user\"'\ntitle: '.profile | keys | join(\",\")'",
    );
    assert!(r.projection.is_none());
    assert_eq!(r.parse_item(&bytes).unwrap(), item);
    assert_eq!(r.map_json(&bytes).unwrap(), r.map_item(&item));
}

#[test]
fn map_json_agrees_with_map_item_on_text_edge_cases() {
    let r = user_resource(
        "identifier: .id\nblueprint: '\"okta-user\"'\ntitle: .profile.displayName // .profile.firstName + \" \" + .profile.lastName\nproperties:\n  first: .profile.firstName\n  tags: .tags\n  n: .n\n  third: .list[2]\n  last: .list[-1]\n  all: .profile\nrelations:\n  groups: .groups[]?.id",
    );
    assert!(r.projection.is_some());
    let texts: [&[u8]; 7] = [
        // Escapes (owned strings), a repeated key (last value wins), numbers of every kind.
        br#"{"id":"u\u00e9\n1","profile":{"firstName":"A\"b","lastName":"C","firstName":"Z"},"n":-1.5e3,"list":[1,2,18446744073709551615],"groups":[{"id":"g1"},{"x":1},{"id":"g\/2"}]}"#,
        br#"{"id":"u2","profile":null,"groups":"not an array","tags":["a",null,{"k":[true]}]}"#,
        br#"{"id":"u3","profile":{"displayName":false,"firstName":null,"lastName":"L"},"list":[]}"#,
        br#"{"id":42,"groups":{"a":{"id":"ga"},"b":{"id":"gb"}},"n":0}"#,
        br#"{"profile":{"firstName":1,"lastName":"x"}}"#,
        br#"[1,2]"#,
        br#"{"id":"u4","profile":{"displayName":"D","z":{"deep":[1,{"a":"\ud83d\ude00"}]}}}"#,
    ];
    for text in texts {
        let item: Value = serde_json::from_slice(text).unwrap();
        assert_eq!(
            r.map_json(text).unwrap(),
            r.map_item(&item),
            "{}",
            String::from_utf8_lossy(text)
        );
    }
    assert!(r.map_json(br#"{"id":"u","n":1"#).is_err());
    assert!(r.map_json(br#"{"id":"u"} trailing"#).is_err());
}

#[test]
fn deep_values_built_by_a_mapping_do_not_crash() {
    let r = user_resource(
        "identifier: .id\nblueprint: '\"okta-user\"'\nproperties:\n  deep: 'reduce range(100000) as $_ ([]; [.])'\n  text: 'reduce range(100000) as $_ ([]; [.]) | tojson | length'",
    );
    assert!(r.needs_jaq);
    let m = r.map_item(&json!({"id": "u"}));
    let e = &m.entities[0].entity;
    assert_eq!(e.properties["deep"], Value::Null);
    assert!(e.properties["text"].is_number());
    assert_eq!(fields(&m), vec![("properties.deep".to_owned(), Severity::Warning)]);
}

#[test]
fn fast_path_errors_read_like_jq_1_8() {
    let msg = |src: &str, input: Value| fast::parse(src).unwrap().first(&input).unwrap_err().0;
    assert_eq!(msg(".a", json!(1)), r#"Cannot index number with string ("a")"#);
    assert_eq!(msg(".[0]", json!({})), "Cannot index object with number (0)");
    assert_eq!(msg(".a[]", json!({"a": 123})), "Cannot iterate over number (123)");
}

/// Issue 12: jq 1.8.2 keeps a number's literal text until arithmetic touches it, on every path
/// through the engine (native on a `Value`, native on the projected document, jaq).
#[test]
fn number_literals_survive_into_entity_json() {
    let r = user_resource(
        "identifier: .id\nblueprint: '\"okta-user\"'\nproperties:\n  fte: .profile.fte\n  big: .profile.big\n  exp: .profile.exp\n  text: .profile.fte | tostring\n  interp: '\"\\(.profile.fte)\"'\n  sum: .profile.fte + 1\n  lit: '2.50'\n  native_sum: .profile.fte + .profile.fte\n  raw: .profile",
    );
    let json = br#"{"id":1.0,"profile":{"fte":1.0,"big":100000000000000000001,"exp":1e2}}"#;
    let want = r#"{"fte":1.0,"big":100000000000000000001,"exp":1E+2,"text":"1.0","interp":"1.0","sum":2,"lit":2.50,"native_sum":2,"raw":{"fte":1.0,"big":100000000000000000001,"exp":1E+2}}"#;
    let by_doc = r.map_json(json).unwrap();
    let value: Value = serde_json::from_slice(json).unwrap();
    let by_value = r.map_item(&value);
    for m in [by_doc, by_value] {
        assert!(m.problems.is_empty(), "{:?}", m.problems);
        let e = &m.entities[0].entity;
        assert_eq!(serde_json::to_string(&e.properties).unwrap(), want);
        // A number identifier is stringified like jq's `tostring`.
        assert_eq!(e.identifier, "1.0");
    }
}
