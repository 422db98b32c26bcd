//! The write service driven one item at a time, the way live events drive it: a user upserted,
//! the same user no longer passing its selector (its entity deleted), a group deleted in Okta
//! (its entity deleted, and its dependents with `deleteDependentEntities`) — with no writer state
//! growing across 10,000 such calls.

use port_okta::blueprint::BlueprintSet;
use port_okta::catalog::Catalog;
use port_okta::catalog::Change;
use port_okta::catalog::memory::MemoryCatalog;
use port_okta::catalog::sqlite::SqliteCatalog;
use port_okta::config;
use port_okta::engine::write::{BATCH, Outcome, Writer};
use port_okta::mapping::{self, JqOptions};
use port_okta::model::{EntityKey, Item, Raw};
use serde_json::json;
use std::sync::Arc;

const MAPPING: &str = r#"
deleteDependentEntities: true
createMissingRelatedEntities: false
resources:
  - kind: okta-group
    selector:
      query: 'true'
    port:
      entity:
        mappings:
          identifier: .id
          title: .profile.name
          blueprint: '"grp"'
          properties:
            name: .profile.name
  - kind: okta-user
    selector:
      query: '.status == "ACTIVE"'
    port:
      entity:
        mappings:
          identifier: .id
          title: .profile.login
          blueprint: '"usr"'
          properties:
            login: .profile.login
          relations:
            home: .groups[0].id
"#;

const BLUEPRINTS: &str = r#"[
  {"identifier": "grp", "schema": {"properties": {"name": {"type": "string"}}}},
  {"identifier": "usr", "schema": {"properties": {"login": {"type": "string"}}},
   "relations": {"home": {"target": "grp", "required": true, "many": false}}}
]"#;

async fn writer(catalog: Arc<dyn Catalog>, deps: bool) -> Writer {
    let mut cfg = config::parse_str("events.yml", MAPPING).unwrap();
    cfg.delete_dependent_entities = deps;
    let bps = BlueprintSet::parse_str("bps.json", BLUEPRINTS).unwrap();
    catalog.put_blueprints(bps.blueprints.clone()).await.unwrap();
    let compiled = mapping::compile(&cfg, &bps, &JqOptions { allow_env: false }).unwrap();
    Writer::new(catalog, Arc::new(compiled), Arc::new(bps), "okta-events")
}

fn group(id: &str) -> Item {
    let raw = json!({"id": id, "profile": {"name": format!("Group {id}")}});
    Item { kind: "okta-group".into(), okta_id: id.into(), raw: Raw::Value(raw) }
}

fn user(id: &str, status: &str, group: &str) -> Item {
    let raw = json!({"id": id, "status": status, "profile": {"login": format!("{id}@x.io")},
                     "groups": [{"id": group}]});
    Item { kind: "okta-user".into(), okta_id: id.into(), raw: Raw::Value(raw) }
}

fn key(bp: &str, id: &str) -> EntityKey {
    EntityKey { blueprint: bp.into(), identifier: id.into() }
}

fn written(out: &[Outcome]) -> Vec<(EntityKey, Change)> {
    out.iter()
        .filter_map(|o| match o {
            Outcome::Written { key, change, .. } => Some((key.clone(), *change)),
            _ => None,
        })
        .collect()
}

fn deleted(out: &[Outcome]) -> Vec<EntityKey> {
    out.iter()
        .filter_map(|o| match o {
            Outcome::Deleted { key } => Some(key.clone()),
            _ => None,
        })
        .collect()
}

async fn keys(c: &dyn Catalog) -> Vec<String> {
    c.export().await.unwrap().iter().map(|e| e.key().to_string()).collect()
}

/// One cycle of events for group `g{n}` and user `u{n}`, checking what each call reports and
/// what the catalog holds after it.
async fn cycle(w: &mut Writer, catalog: &dyn Catalog, n: usize) {
    let (g, u) = (format!("g{n}"), format!("u{n}"));
    let out = w.event_item(group(&g)).await.unwrap();
    assert_eq!(written(&out), [(key("grp", &g), Change::Created)]);
    let out = w.event_item(user(&u, "ACTIVE", &g)).await.unwrap();
    assert_eq!(written(&out), [(key("usr", &u), Change::Created)]);
    assert_eq!(keys(catalog).await, [format!("grp/{g}"), format!("usr/{u}")]);
    let out = w.event_item(user(&u, "SUSPENDED", &g)).await.unwrap();
    assert_eq!(deleted(&out), [key("usr", &u)], "no longer selected: deleted");
    assert!(written(&out).is_empty());
    assert_eq!(keys(catalog).await, [format!("grp/{g}")]);
    w.event_item(user(&u, "ACTIVE", &g)).await.unwrap();
    let out = w.gone("okta-group", &g).await.unwrap();
    assert_eq!(
        deleted(&out),
        [key("grp", &g), key("usr", &u)],
        "the group and the user whose required relation pointed at it"
    );
    assert!(keys(catalog).await.is_empty());
}

async fn events_scenario(catalog: Arc<dyn Catalog>) {
    let mut w = writer(catalog.clone(), true).await;
    cycle(&mut w, &*catalog, 1).await;

    // Without deleteDependentEntities only the group goes.
    let mut w = writer(catalog.clone(), false).await;
    w.event_item(group("g2")).await.unwrap();
    w.event_item(user("u2", "ACTIVE", "g2")).await.unwrap();
    let gone = w.gone("okta-group", "g2").await.unwrap();
    assert_eq!(deleted(&gone), [key("grp", "g2")]);
    assert_eq!(keys(&*catalog).await, ["usr/u2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_items_upsert_deselect_and_delete_in_sqlite() {
    let path = std::env::temp_dir().join(format!("port-okta-events-{}.db", std::process::id()));
    struct Remove(std::path::PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            for s in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{s}", self.0.display()));
            }
        }
    }
    let _cleanup = Remove(path.clone());
    events_scenario(Arc::new(SqliteCatalog::open(&path).unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_items_upsert_deselect_and_delete_in_memory() {
    events_scenario(Arc::new(MemoryCatalog::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_event_calls_hold_no_writer_state() {
    let catalog: Arc<dyn Catalog> = Arc::new(MemoryCatalog::new());
    let mut w = writer(catalog.clone(), true).await;
    let mut calls = 0;
    for n in 0..2_000 {
        cycle(&mut w, &*catalog, n).await;
        calls += 5;
        assert_eq!(w.pending(), 0, "an event is written before the call returns");
        assert!(w.held() <= BATCH, "the writer holds at most one batch");
    }
    assert_eq!(calls, 10_000);
    assert!(keys(&*catalog).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_over_the_jq_time_limit_is_an_item_error() {
    // A title that takes seconds of jq work; the limit is far below it.
    let slow = MAPPING.replace(
        "title: .profile.login",
        "title: 'reduce range(30000000) as $i (0; . + 1) | tostring'",
    );
    let mut cfg = config::parse_str("slow.yml", &slow).unwrap();
    cfg.delete_dependent_entities = true;
    let bps = BlueprintSet::parse_str("bps.json", BLUEPRINTS).unwrap();
    let compiled = mapping::compile(&cfg, &bps, &JqOptions { allow_env: false }).unwrap();
    let catalog: Arc<dyn Catalog> = Arc::new(MemoryCatalog::new());
    catalog.put_blueprints(bps.blueprints.clone()).await.unwrap();
    let mut w = Writer::new(catalog.clone(), Arc::new(compiled), Arc::new(bps), "okta-events");
    w.set_jq_time_limit(std::time::Duration::from_millis(50));
    w.event_item(group("g1")).await.unwrap();
    let out = w.event_item(user("u1", "ACTIVE", "g1")).await.unwrap();
    let failed: Vec<&str> = out
        .iter()
        .filter_map(|o| match o {
            Outcome::ItemFailed { okta_id, problems, .. } if okta_id == "u1" => {
                Some(problems[0].message.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1, "{out:?}");
    assert!(failed[0].contains("took longer than"), "{}", failed[0]);
    assert_eq!(keys(&*catalog).await, ["grp/g1"], "the slow item wrote nothing");
}
