//! The catalog conformance suite: one set of scenarios, run through the [`Catalog`] trait against
//! every target (the embedded SQLite catalog, the in-memory catalog, and Port's REST client
//! talking to `catalog serve`). A target passes when every scenario passes unchanged.
//!
//! Scenarios: upsert created/updated/unchanged; merge on and off; relations with and without
//! `createMissingRelatedEntities`; stubs filled in later; many relations; ownership-scoped
//! listing and deletion; `deleteDependentEntities`; a rejected entity among many; the resync's
//! stale deletion scoped to the owner and the resynced blueprints, and its threshold refusal;
//! and a dry run (the engine's plan overlay) equal to the real run, writing nothing.

mod common;

use port_okta::blueprint::{Blueprint, BlueprintSchema, BlueprintSet};
use port_okta::catalog::memory::MemoryCatalog;
use port_okta::catalog::sqlite::SqliteCatalog;
use port_okta::catalog::{Catalog, Change, DeleteContext, UpsertOutcome, WriteContext};
use port_okta::config;
use port_okta::engine::plan::PlanCatalog;
use port_okta::engine::{Deletion, ResyncOptions, resync};
use port_okta::mapping::{self, JqOptions};
use port_okta::model::{Entity, EntityKey};
use port_okta::okta::{ClientOptions, OktaClient};
use port_okta::secret::Secret;
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::sync::Arc;

/// A catalog under test; dropping it stops and removes whatever it started.
struct Target {
    catalog: Arc<dyn Catalog>,
    files: Vec<PathBuf>,
    server: Option<port_okta::catalog_api::ServeHandle>,
}

impl Drop for Target {
    fn drop(&mut self) {
        // The catalog (and the server behind it) must be closed before its files go.
        self.catalog = Arc::new(MemoryCatalog::new());
        drop(self.server.take());
        for f in &self.files {
            for s in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{s}", f.display()));
            }
        }
    }
}

fn sqlite(name: &str) -> Target {
    let path = std::env::temp_dir()
        .join(format!("port-okta-conformance-{}-{name}.db", std::process::id()));
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", path.display()));
    }
    Target {
        catalog: Arc::new(SqliteCatalog::open(&path).unwrap()),
        files: vec![path],
        server: None,
    }
}

fn memory(_: &str) -> Target {
    Target { catalog: Arc::new(MemoryCatalog::new()), files: Vec::new(), server: None }
}

/// Port's REST client against `catalog serve` (in this process, on 127.0.0.1:0) over a fresh
/// SQLite file. Port refuses entities of a blueprint it does not have (the embedded catalogs
/// store them unvalidated), so the server starts with the one blueprint a scenario writes without
/// declaring it (`service`).
fn port(name: &str) -> Target {
    let mut t = sqlite(&format!("port-{name}"));
    let path = t.files[0].clone();
    t.catalog = Arc::new(MemoryCatalog::new());
    let config =
        port_okta::catalog_api::ServeConfig::new(path, "conf-id", Secret::new("conf-secret"));
    let server = tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async {
            let server = port_okta::catalog_api::spawn(config, "127.0.0.1:0".parse().unwrap())
                .await
                .unwrap();
            let c = port_okta::port::PortConfig::new(
                &server.base_url(),
                "conf-id",
                Secret::new("conf-secret"),
                "okta-conf",
            );
            let catalog = port_okta::port::PortCatalog::new(c).unwrap();
            catalog.put_blueprints(vec![bp("service", &[])]).await.unwrap();
            (server, catalog)
        })
    });
    t.catalog = Arc::new(server.1);
    t.server = Some(server.0);
    t
}

// ----- fixtures -----------------------------------------------------------------------------

fn bp(id: &str, rels: &[(&str, &str, bool, bool)]) -> Blueprint {
    let mut schema: BlueprintSchema = serde_json::from_value(json!({
        "properties": {
            "x": {"type": "number"},
            "y": {"type": "number"},
            "status": {"type": "string", "enum": ["ACTIVE", "SUSPENDED"]}
        }
    }))
    .unwrap();
    schema.required = Vec::new();
    let relations: Map<String, Value> = rels
        .iter()
        .map(|(name, target, required, many)| {
            (name.to_string(), json!({"target": target, "required": required, "many": many}))
        })
        .collect();
    serde_json::from_value(json!({
        "identifier": id, "schema": schema, "relations": relations
    }))
    .unwrap()
}

fn blueprints() -> Vec<Blueprint> {
    vec![
        bp("group", &[]),
        bp("user", &[("groups", "group", false, true), ("manager", "user", false, false)]),
        bp("device", &[("owner", "user", true, false)]),
        bp("note", &[("about", "user", false, false)]),
    ]
}

fn ent(bp: &str, id: &str, props: Value, rels: Value) -> Entity {
    Entity {
        identifier: id.into(),
        title: Some(json!(format!("{bp} {id}"))),
        blueprint: bp.into(),
        team: None,
        icon: None,
        properties: props.as_object().cloned().unwrap_or_default(),
        relations: rels.as_object().cloned().unwrap_or_default(),
    }
}

fn key(bp: &str, id: &str) -> EntityKey {
    EntityKey { blueprint: bp.into(), identifier: id.into() }
}

fn cx(owner: &str, run: &str) -> WriteContext {
    WriteContext {
        owner: owner.into(),
        run_id: run.into(),
        merge: true,
        create_missing_related: false,
    }
}

fn dx(owner: &str, dependents: bool) -> DeleteContext {
    DeleteContext { owner: owner.into(), dependents }
}

async fn put(c: &dyn Catalog, entities: Vec<Entity>, cx: WriteContext) -> Vec<UpsertOutcome> {
    c.upsert(entities.into(), cx).await.unwrap()
}

async fn keys(c: &dyn Catalog) -> Vec<String> {
    c.export().await.unwrap().iter().map(|e| e.key().to_string()).collect()
}

const CREATED: UpsertOutcome = UpsertOutcome::Written(Change::Created);
const UPDATED: UpsertOutcome = UpsertOutcome::Written(Change::Updated);
const UNCHANGED: UpsertOutcome = UpsertOutcome::Written(Change::Unchanged);

// ----- scenarios ----------------------------------------------------------------------------

async fn upsert_created_updated_unchanged(t: Target) {
    let c = &*t.catalog;
    c.put_blueprints(blueprints()).await.unwrap();
    let a = ent("group", "b", json!({"x": 1}), json!({}));
    let b = ent("group", "a", json!({"x": 2}), json!({}));
    assert_eq!(put(c, vec![a.clone(), b.clone()], cx("okta", "r1")).await, [CREATED, CREATED]);
    let mut a2 = a.clone();
    a2.properties.insert("x".into(), json!(3));
    assert_eq!(put(c, vec![a2.clone(), b.clone()], cx("okta", "r2")).await, [UPDATED, UNCHANGED]);
    // Sorted by blueprint, then identifier.
    assert_eq!(c.export().await.unwrap(), vec![b.clone(), a2]);
    let owned = c.owned("okta".into(), vec!["group".into()]).await.unwrap();
    assert_eq!(owned.len(), 2);
    assert!(owned.iter().all(|o| o.run_id == "r2"), "unchanged entities are stamped too");
    // The same entity written by another owner is an update (its ownership moves).
    assert_eq!(put(c, vec![b.clone()], cx("other", "r3")).await, [UPDATED]);
    let stored = c.get(vec![b.key(), key("group", "zz")]).await.unwrap();
    assert_eq!(stored[0].as_ref().unwrap().owner.as_deref(), Some("other"));
    assert!(stored[1].is_none());
}

async fn merge_on_and_off(t: Target) {
    let c = &*t.catalog;
    c.put_blueprints(blueprints()).await.unwrap();
    let mut first = ent("user", "u", json!({"x": 1, "y": 2}), json!({"manager": "m"}));
    first.icon = Some(json!("Okta"));
    let m = ent("user", "m", json!({}), json!({}));
    put(c, vec![m, first], cx("okta", "r1")).await;
    let mut partial = ent("user", "u", json!({"x": 5}), json!({}));
    partial.title = None;
    assert_eq!(put(c, vec![partial.clone()], cx("okta", "r2")).await, [UPDATED]);
    let got = c.get(vec![key("user", "u")]).await.unwrap()[0].clone().unwrap().entity;
    assert_eq!(Value::Object(got.properties), json!({"x": 5, "y": 2}));
    assert_eq!(Value::Object(got.relations), json!({"manager": "m"}));
    assert_eq!(got.title, Some(json!("user u")), "merge keeps an unset title");
    assert_eq!(got.icon, Some(json!("Okta")));
    let replace = WriteContext { merge: false, ..cx("okta", "r3") };
    assert_eq!(put(c, vec![partial], replace).await, [UPDATED]);
    let got = c.get(vec![key("user", "u")]).await.unwrap()[0].clone().unwrap().entity;
    assert_eq!(Value::Object(got.properties), json!({"x": 5}));
    assert!(got.relations.is_empty() && got.title.is_none() && got.icon.is_none());
}

async fn missing_related_refused_then_stubbed_then_filled(t: Target) {
    let c = &*t.catalog;
    c.put_blueprints(blueprints()).await.unwrap();
    let u = ent("user", "u1", json!({}), json!({"groups": ["g1", "g2"]}));
    assert_eq!(
        put(c, vec![u.clone()], cx("okta", "r1")).await,
        [UpsertOutcome::MissingRelated(key("group", "g1"))]
    );
    assert!(keys(c).await.is_empty(), "a refused entity writes nothing, not even stubs");
    // A target in the same batch counts as present; the other one becomes a stub.
    let g1 = ent("group", "g1", json!({}), json!({}));
    let stubbing = WriteContext { create_missing_related: true, ..cx("okta", "r2") };
    assert_eq!(put(c, vec![u, g1], stubbing.clone()).await, [CREATED, CREATED]);
    assert_eq!(keys(c).await, ["group/g1", "group/g2", "user/u1"]);
    let stub = c.get(vec![key("group", "g2")]).await.unwrap()[0].clone().unwrap();
    assert!(stub.entity.properties.is_empty() && stub.entity.title.is_none());
    // The stub is filled in later by the real entity: an update, with its fields.
    let g2 = ent("group", "g2", json!({"x": 7}), json!({}));
    assert_eq!(put(c, vec![g2.clone()], stubbing).await, [UPDATED]);
    let filled = c.get(vec![key("group", "g2")]).await.unwrap()[0].clone().unwrap().entity;
    assert_eq!(filled, g2);
}

async fn many_relations(t: Target) {
    let c = &*t.catalog;
    c.put_blueprints(blueprints()).await.unwrap();
    let groups: Vec<Entity> =
        (0..300).map(|i| ent("group", &format!("g{i:03}"), json!({}), json!({}))).collect();
    let ids: Vec<String> = groups.iter().map(|g| g.identifier.clone()).collect();
    put(c, groups, cx("okta", "r1")).await;
    let u = ent("user", "u", json!({}), json!({"groups": ids}));
    assert_eq!(put(c, vec![u.clone()], cx("okta", "r1")).await, [CREATED]);
    let got = c.get(vec![u.key()]).await.unwrap()[0].clone().unwrap().entity;
    assert_eq!(got.relations["groups"].as_array().unwrap().len(), 300);
    assert_eq!(got, u);
    // One missing target among many refuses the entity.
    let mut bad = u.clone();
    bad.relations["groups"].as_array_mut().unwrap().push(json!("nope"));
    assert_eq!(
        put(c, vec![bad], cx("okta", "r2")).await,
        [UpsertOutcome::MissingRelated(key("group", "nope"))]
    );
}

async fn owned_and_delete_are_scoped_to_the_owner(t: Target) {
    let c = &*t.catalog;
    c.put_blueprints(blueprints()).await.unwrap();
    put(c, vec![ent("group", "mine", json!({}), json!({}))], cx("okta", "r1")).await;
    put(c, vec![ent("group", "theirs", json!({}), json!({}))], cx("github", "r1")).await;
    put(c, vec![ent("user", "me", json!({}), json!({}))], cx("okta", "r1")).await;
    let owned = c.owned("okta".into(), vec!["group".into()]).await.unwrap();
    let owned: Vec<String> = owned.iter().map(|o| o.key.to_string()).collect();
    assert_eq!(owned, ["group/mine"], "other owners and other blueprints are not listed");
    let deleted = c
        .delete(
            vec![key("group", "mine"), key("group", "theirs"), key("group", "ghost")],
            dx("okta", true),
        )
        .await
        .unwrap();
    assert_eq!(deleted, [key("group", "mine")]);
    assert_eq!(keys(c).await, ["group/theirs", "user/me"]);
}

async fn delete_dependents_follows_required_relations(t: Target) {
    let c = &*t.catalog;
    c.put_blueprints(blueprints()).await.unwrap();
    put(
        c,
        vec![
            ent("user", "u1", json!({}), json!({})),
            ent("user", "u2", json!({}), json!({})),
            ent("device", "d1", json!({}), json!({"owner": "u1"})),
            ent("note", "n1", json!({}), json!({"about": "u1"})),
        ],
        cx("okta", "r1"),
    )
    .await;
    // A dependent owned by someone else goes too (Port's delete_dependents).
    put(c, vec![ent("device", "d2", json!({}), json!({"owner": "u1"}))], cx("mdm", "r1")).await;
    put(c, vec![ent("device", "d3", json!({}), json!({"owner": "u2"}))], cx("okta", "r1")).await;
    assert_eq!(
        c.dependents(vec![key("user", "u1")]).await.unwrap(),
        [key("device", "d1"), key("device", "d2")]
    );
    let without = c.delete(vec![key("user", "u2")], dx("okta", false)).await.unwrap();
    assert_eq!(without, [key("user", "u2")]);
    let with = c.delete(vec![key("user", "u1")], dx("okta", true)).await.unwrap();
    assert_eq!(with, [key("device", "d1"), key("device", "d2"), key("user", "u1")]);
    // Optional relations do not cascade; without dependents d3 keeps its dangling relation.
    assert_eq!(keys(c).await, ["device/d3", "note/n1"]);
}

async fn a_rejected_entity_among_many(t: Target) {
    let c = &*t.catalog;
    c.put_blueprints(blueprints()).await.unwrap();
    let mut batch: Vec<Entity> = (0..20)
        .map(|i| ent("user", &format!("u{i:02}"), json!({"status": "ACTIVE"}), json!({})))
        .collect();
    batch[7].properties.insert("status".into(), json!("ON_FIRE"));
    let out = put(c, batch, cx("okta", "r1")).await;
    assert_eq!(out.iter().filter(|o| **o == CREATED).count(), 19);
    match &out[7] {
        UpsertOutcome::Rejected(why) => {
            assert!(why.contains("properties.status") && why.contains("ON_FIRE"), "{why}")
        }
        other => panic!("u07 must be rejected, got {other:?}"),
    }
    let all = keys(c).await;
    assert_eq!(all.len(), 19);
    assert!(!all.contains(&"user/u07".to_string()));
}

/// A sequence of writes and deletes, applied to the plan overlay and then for real: the plan's
/// outcomes and final state equal the real ones, and planning changed nothing.
async fn dry_run_plans_exactly_the_real_run(t: Target) {
    let c = t.catalog.clone();
    c.put_blueprints(blueprints()).await.unwrap();
    put(
        &*c,
        vec![
            ent("user", "keep", json!({"x": 1}), json!({})),
            ent("user", "change", json!({"x": 1}), json!({})),
            ent("user", "gone", json!({}), json!({})),
            ent("device", "dg", json!({}), json!({"owner": "gone"})),
        ],
        cx("okta", "r0"),
    )
    .await;
    let before = c.export().await.unwrap();
    let stubbing = WriteContext { create_missing_related: true, ..cx("okta", "r1") };
    let writes = vec![
        ent("user", "keep", json!({"x": 1}), json!({})),
        ent("user", "change", json!({"x": 2}), json!({"groups": ["new-group"]})),
        ent("user", "new", json!({}), json!({"manager": "keep"})),
        ent("device", "dn", json!({}), json!({"owner": "new"})),
        ent("user", "bad", json!({"status": "NOPE"}), json!({})),
    ];
    let later = vec![ent("group", "new-group", json!({"x": 9}), json!({}))];
    let doomed = vec![key("user", "gone"), key("user", "nobody")];

    let plan = PlanCatalog::new(c.clone());
    plan.put_blueprints(blueprints()).await.unwrap();
    let p1 = put(&plan, writes.clone(), stubbing.clone()).await;
    let p2 = put(&plan, later.clone(), stubbing.clone()).await;
    let p3 = plan.dependents(vec![key("user", "new")]).await.unwrap();
    let p4 = plan.delete(doomed.clone(), dx("okta", true)).await.unwrap();
    let planned = plan.export().await.unwrap();
    assert_eq!(c.export().await.unwrap(), before, "a plan writes nothing");
    assert!(plan.existed_before(&key("user", "change")));
    assert!(!plan.existed_before(&key("group", "new-group")), "a stub made by the plan is new");

    let r1 = put(&*c, writes, stubbing.clone()).await;
    let r2 = put(&*c, later, stubbing).await;
    let r3 = c.dependents(vec![key("user", "new")]).await.unwrap();
    let r4 = c.delete(doomed, dx("okta", true)).await.unwrap();
    assert_eq!((p1, p2, p3, p4), (r1, r2, r3, r4));
    assert_eq!(planned, c.export().await.unwrap());
}

// ----- engine scenarios: a resync of a small simulated org into the target -------------------

const TOKEN: &str = "conformance-token";

async fn sim() -> okta_sim::SimHandle {
    let cfg = okta_sim::SimConfig {
        users: 40,
        groups: 5,
        apps: 2,
        seed: 11,
        token: TOKEN.into(),
        ..okta_sim::SimConfig::default()
    };
    okta_sim::spawn(cfg, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

/// Stops the simulator even when an assertion fails.
struct SimGuard(Option<okta_sim::SimHandle>);

impl Drop for SimGuard {
    fn drop(&mut self) {
        drop(self.0.take());
    }
}

async fn run(
    sim: &okta_sim::SimHandle,
    c: Arc<dyn Catalog>,
    threshold: f64,
    dry_run: bool,
) -> port_okta::engine::ResyncReport {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cfg = config::load_file(&root.join("examples/full/port-app-config.yml")).unwrap();
    cfg.entity_deletion_threshold = threshold;
    let bps = BlueprintSet::load_file(&root.join("examples/full/blueprints.json")).unwrap();
    let compiled = mapping::compile(&cfg, &bps, &JqOptions { allow_env: false }).unwrap();
    let client =
        OktaClient::new(&sim.base_url(), Secret::new(TOKEN), ClientOptions::default()).unwrap();
    let opts = ResyncOptions { dry_run, concurrency: 2, ..ResyncOptions::new("okta-conf") };
    resync(&client, Arc::new(compiled), Arc::new(bps), c, &opts, &|_| {}).await.unwrap()
}

async fn delete_users(sim: &okta_sim::SimHandle, n: usize) -> Vec<String> {
    common::delete_active_users(sim, TOKEN, n).await
}

async fn stale_deletion_is_scoped_to_owner_and_resynced_blueprints(t: Target) {
    let guard = SimGuard(Some(sim().await));
    let sim = guard.0.as_ref().unwrap();
    let c = t.catalog.clone();
    assert!(run(sim, c.clone(), 0.9, false).await.is_success());
    // Someone else's entity in our blueprint, and ours in a blueprint the mapping never writes.
    let foreign =
        ent("okta-user", "foreign", json!({"login": "f@x.io", "email": "f@x.io"}), json!({}));
    assert_eq!(put(&*c, vec![foreign], cx("someone-else", "x")).await, [CREATED]);
    put(&*c, vec![ent("service", "svc", json!({}), json!({}))], cx("okta-conf", "x")).await;
    let victims = delete_users(sim, 2).await;
    let report = run(sim, c.clone(), 0.9, false).await;
    assert_eq!(report.deletion, Deletion::Done, "{:?}", report.to_json());
    let all = keys(&*c).await;
    for v in &victims {
        assert!(!all.contains(&format!("okta-user/{v}")), "{v} is stale and ours");
    }
    assert!(all.contains(&"okta-user/foreign".to_string()), "not ours: kept");
    assert!(all.contains(&"service/svc".to_string()), "not a resynced blueprint: kept");
}

async fn deletion_over_the_threshold_is_refused(t: Target) {
    let guard = SimGuard(Some(sim().await));
    let sim = guard.0.as_ref().unwrap();
    let c = t.catalog.clone();
    assert!(run(sim, c.clone(), 0.9, false).await.is_success());
    let before = keys(&*c).await;
    let victims = delete_users(sim, 3).await;
    let report = run(sim, c.clone(), 0.01, false).await;
    match &report.deletion {
        Deletion::Skipped(why) => assert!(why.contains("entityDeletionThreshold"), "{why}"),
        Deletion::Done => panic!("3 of ~45 is over a 0.01 threshold"),
    }
    let after = keys(&*c).await;
    for v in &victims {
        assert!(after.contains(&format!("okta-user/{v}")));
    }
    assert_eq!(after, before);
}

async fn a_dry_run_resync_plans_the_real_one(t: Target) {
    let guard = SimGuard(Some(sim().await));
    let sim = guard.0.as_ref().unwrap();
    let c = t.catalog.clone();
    assert!(run(sim, c.clone(), 0.9, false).await.is_success());
    delete_users(sim, 2).await;
    let before = c.export().await.unwrap();
    let dry = run(sim, c.clone(), 0.9, true).await;
    assert_eq!(c.export().await.unwrap(), before, "a dry run writes nothing");
    let real = run(sim, c.clone(), 0.9, false).await;
    let plan = dry.plan.clone().unwrap();
    assert_eq!(plan.delete.len(), 2);
    for (k, d) in &dry.kinds {
        let r = &real.kinds.iter().find(|(rk, _)| rk == k).unwrap().1;
        assert_eq!(
            (d.created, d.updated, d.unchanged, d.deleted),
            (r.created, r.updated, r.unchanged, r.deleted),
            "{k}"
        );
    }
}

macro_rules! conformance {
    ($target:ident) => {
        mod $target {
            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        super::$name(super::$target(stringify!($name))).await;
                    }
                };
            }

            case!(upsert_created_updated_unchanged);
            case!(merge_on_and_off);
            case!(missing_related_refused_then_stubbed_then_filled);
            case!(many_relations);
            case!(owned_and_delete_are_scoped_to_the_owner);
            case!(delete_dependents_follows_required_relations);
            case!(a_rejected_entity_among_many);
            case!(dry_run_plans_exactly_the_real_run);
            case!(stale_deletion_is_scoped_to_owner_and_resynced_blueprints);
            case!(deletion_over_the_threshold_is_refused);
            case!(a_dry_run_resync_plans_the_real_one);
        }
    };
}

conformance!(sqlite);
conformance!(memory);
conformance!(port);
