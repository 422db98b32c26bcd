//! `serve` end to end: okta-sim delivers real event hooks (and keeps a real System Log) to the
//! service, which writes the embedded catalog. Each test waits for outcomes with bounded polls,
//! never fixed sleeps.

mod common;

use common::*;
use port_okta::catalog::Catalog;
use port_okta::catalog::sqlite::SqliteCatalog;
use port_okta::events::queue::{EventQueue, SqliteQueue};
use port_okta::events::serve::{LiveEvents, Resyncs, Running, ServeOptions, start};
use port_okta::model::Entity;
use port_okta::secret::Secret;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "hook-secret-for-tests";

/// A free loopback port (the hook's URI must be known before the service starts).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The queue file of a test, removed with it.
struct QueueFile(PathBuf);

impl QueueFile {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir()
            .join(format!("port-okta-serve-{}-{name}-q.db", std::process::id()));
        remove_db(&p);
        Self(p)
    }
}

impl Drop for QueueFile {
    fn drop(&mut self) {
        remove_db(&self.0);
    }
}

/// A service over `env`'s org and catalog, stopped when dropped (tasks abort) or by `stop`.
struct Svc {
    running: Option<Running>,
    url: String,
    catalog: Arc<dyn Catalog>,
}

impl Svc {
    async fn start(env: &Env, queue: &QueueFile, live: LiveEvents, resyncs: Resyncs) -> Self {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let catalog: Arc<dyn Catalog> = Arc::new(SqliteCatalog::open(&env.db).unwrap());
        let opts = ServeOptions {
            listen: format!("127.0.0.1:{port}").parse().unwrap(),
            okta: env.client(),
            catalog: catalog.clone(),
            config: Arc::new(env.config.clone()),
            blueprints: Arc::new(env.blueprints.clone()),
            owner: "okta-e2e".into(),
            queue: Arc::new(SqliteQueue::open(&queue.0).unwrap()),
            secret: Some(Secret::new(SECRET)),
            base_url: Some(url.clone()),
            live,
            poll_interval: Duration::from_millis(200),
            resyncs,
            max_body: 64 * 1024,
            concurrency: 4,
            resync_request_poll: Duration::from_secs(60),
        };
        let running = start(opts).await.expect("serve starts");
        Self { running: Some(running), url, catalog }
    }

    fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    async fn entities(&self) -> Vec<Entity> {
        self.catalog.export().await.unwrap()
    }

    async fn entity(&self, id: &str) -> Option<Entity> {
        self.entities().await.into_iter().find(|e| e.identifier == id)
    }

    async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.unwrap();
        }
    }
}

/// Polls `check` every 50 ms for at most 30 s.
/// Changes user `uid`'s title in Okta and waits until its entity in the catalog has it.
async fn retitle_until_written(env: &Env, svc: &Svc, uid: &str, title: &str) {
    let profile = json!({"profile": {"title": title}});
    env.api(Method::POST, &format!("/api/v1/users/{uid}"), Some(profile)).await;
    eventually(&format!("the profile update to {title:?} written"), || async {
        svc.entity(uid).await.is_some_and(|e| e.properties["title"] == title)
    })
    .await;
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..600 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

async fn hook_verified(env: &Env) -> bool {
    let hooks =
        env.api(Method::GET, "/api/v1/eventHooks", None).await.json::<Value>().await.unwrap();
    hooks.as_array().unwrap().iter().any(|h| h["verificationStatus"] == "VERIFIED")
}

async fn ready(svc: &Svc) -> bool {
    svc.running().ready.load(std::sync::atomic::Ordering::Acquire)
}

fn new_user(login: &str, password: bool) -> Value {
    let mut body = json!({"profile": {"firstName": "Live", "lastName": login, "email": login, "login": login}});
    if password {
        body["credentials"] = json!({"password": {"value": "Correct-Horse-9"}});
    }
    body
}

/// Creates a user in the org (active, with a password unless `password` is false); its id.
async fn create_user(env: &Env, login: &str, activate: bool, password: bool) -> String {
    let path = format!("/api/v1/users?activate={activate}");
    let u: Value =
        env.api(Method::POST, &path, Some(new_user(login, password))).await.json().await.unwrap();
    u["id"].as_str().unwrap().to_string()
}

async fn status_of(svc: &Svc, id: &str) -> Option<Value> {
    svc.entity(id).await.map(|e| e.properties["status"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_type_lands_through_hooks() {
    let env = Env::start("every", 60, 5, 2).await;
    let q = QueueFile::new("every");
    let svc = Svc::start(&env, &q, LiveEvents::Hooks, Resyncs::Scheduled(None)).await;
    eventually("first resync and a verified hook", || async {
        ready(&svc).await && hook_verified(&env).await
    })
    .await;

    // user.lifecycle.create (STAGED), then activate, profile update, suspend, unsuspend, deactivate.
    let uid = create_user(&env, "live.one@x.io", false, true).await;
    eventually("created user", || async { status_of(&svc, &uid).await == Some(json!("STAGED")) })
        .await;
    env.api(Method::POST, &format!("/api/v1/users/{uid}/lifecycle/activate?sendEmail=false"), None)
        .await;
    eventually("activated", || async { status_of(&svc, &uid).await == Some(json!("ACTIVE")) })
        .await;
    retitle_until_written(&env, &svc, &uid, "Chief Tester").await;
    env.api(Method::POST, &format!("/api/v1/users/{uid}/lifecycle/suspend"), None).await;
    eventually("suspended", || async { status_of(&svc, &uid).await == Some(json!("SUSPENDED")) })
        .await;
    env.api(Method::POST, &format!("/api/v1/users/{uid}/lifecycle/unsuspend"), None).await;
    eventually("unsuspended", || async { status_of(&svc, &uid).await == Some(json!("ACTIVE")) })
        .await;

    // A user without a password is PROVISIONED; reactivate re-sends its activation.
    let pid = create_user(&env, "live.two@x.io", true, false).await;
    env.api(
        Method::POST,
        &format!("/api/v1/users/{pid}/lifecycle/reactivate?sendEmail=false"),
        None,
    )
    .await;
    eventually("provisioned user", || async {
        status_of(&svc, &pid).await == Some(json!("PROVISIONED"))
    })
    .await;

    // Groups: create, rename, membership add and remove, delete.
    let g: Value = env
        .api(
            Method::POST,
            "/api/v1/groups",
            Some(json!({"profile": {"name": "Live group", "description": "d"}})),
        )
        .await
        .json()
        .await
        .unwrap();
    let gid = g["id"].as_str().unwrap().to_string();
    eventually("created group", || async { svc.entity(&gid).await.is_some() }).await;
    env.api(
        Method::PUT,
        &format!("/api/v1/groups/{gid}"),
        Some(json!({"profile": {"name": "Renamed live group", "description": "d"}})),
    )
    .await;
    eventually("renamed group", || async {
        svc.entity(&gid).await.is_some_and(|e| e.properties["name"] == "Renamed live group")
    })
    .await;
    env.api(Method::PUT, &format!("/api/v1/groups/{gid}/users/{uid}"), None).await;
    eventually("membership added on both sides", || async {
        let (user, group) = (svc.entity(&uid).await, svc.entity(&gid).await);
        user.is_some_and(|u| ids(&u.relations["groups"]).contains(&gid))
            && group.is_some_and(|g| ids(&g.relations["members"]).contains(&uid))
    })
    .await;
    env.api(Method::DELETE, &format!("/api/v1/groups/{gid}/users/{uid}"), None).await;
    eventually("membership removed on both sides", || async {
        let (user, group) = (svc.entity(&uid).await, svc.entity(&gid).await);
        user.is_some_and(|u| !ids(&u.relations["groups"]).contains(&gid))
            && group.is_some_and(|g| !ids(&g.relations["members"]).contains(&uid))
    })
    .await;
    env.api(Method::DELETE, &format!("/api/v1/groups/{gid}"), None).await;
    eventually("deleted group", || async { svc.entity(&gid).await.is_none() }).await;

    // Deactivate keeps the user (DEPROVISIONED); the second delete removes it.
    env.api(Method::POST, &format!("/api/v1/users/{uid}/lifecycle/deactivate"), None).await;
    eventually("deactivated", || async {
        status_of(&svc, &uid).await == Some(json!("DEPROVISIONED"))
    })
    .await;
    env.api(Method::DELETE, &format!("/api/v1/users/{uid}"), None).await;
    eventually("deleted user", || async { svc.entity(&uid).await.is_none() }).await;

    let metrics = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/metrics", svc.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for t in port_okta::events::envelope::EVENT_TYPES {
        assert!(
            metrics.contains(&format!("port_okta_events_processed_total{{type=\"{t}\"}}")),
            "{t} not processed:\n{metrics}"
        );
    }
    assert_catalog_equals_org(&svc.entities().await, &env.export().await);
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_reordered_and_dropped_deliveries_converge() {
    let env = Env::start("faulty", 80, 6, 2).await;
    let q = QueueFile::new("faulty");
    let svc = Svc::start(&env, &q, LiveEvents::Both, Resyncs::Scheduled(None)).await;
    eventually("first resync and a verified hook", || async {
        ready(&svc).await && hook_verified(&env).await
    })
    .await;
    env.faults(json!({"seed": 5, "delivery": {"duplicate": 0.5, "drop": 0.4, "reorder": true}}))
        .await;
    let org = env.export().await;
    let group =
        org["groups"].as_array().unwrap().iter().find(|g| g["type"] == "OKTA_GROUP").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
    let mut created = Vec::new();
    for i in 0..6 {
        let id = create_user(&env, &format!("burst{i}@x.io"), true, true).await;
        env.api(Method::PUT, &format!("/api/v1/groups/{group}/users/{id}"), None).await;
        env.api(
            Method::POST,
            &format!("/api/v1/users/{id}"),
            Some(json!({"profile": {"title": format!("t{i}")}})),
        )
        .await;
        created.push(id);
    }
    env.api(Method::POST, &format!("/api/v1/users/{}/lifecycle/deactivate", created[0]), None)
        .await;
    env.api(Method::DELETE, &format!("/api/v1/users/{}", created[0]), None).await;
    eventually("catalog equals the org", || async {
        let org = env.export().await;
        let entities = svc.entities().await;
        std::panic::catch_unwind(|| assert_catalog_equals_org(&entities, &org)).is_ok()
    })
    .await;
    let stats = env.sim().stats();
    assert!(stats.hook_deliveries.get("dropped").copied().unwrap_or(0) > 0, "{stats:?}");
    assert!(stats.hook_deliveries.get("duplicated").copied().unwrap_or(0) > 0, "{stats:?}");
    let metrics = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/metrics", svc.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let from_log =
        metrics.lines().find(|l| l.starts_with("port_okta_events_received_total{source=\"log\"}"));
    assert!(
        from_log.is_some_and(|l| !l.ends_with(" 0")),
        "dropped deliveries were caught up from the System Log:\n{metrics}"
    );
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_unauthenticated_oversize_and_malformed_requests_change_nothing() {
    let env = Env::start("forged", 30, 3, 1).await;
    let q = QueueFile::new("forged");
    let svc = Svc::start(&env, &q, LiveEvents::Hooks, Resyncs::Scheduled(None)).await;
    eventually("first resync", || async { ready(&svc).await }).await;
    let before = svc.entities().await;
    let victim = before.iter().find(|e| e.blueprint == "okta-user").unwrap().identifier.clone();
    let forged = json!({"eventType": "com.okta.event_hook", "data": {"events": [{
        "uuid": "forged-1", "published": "2026-01-01T00:00:00.000Z",
        "eventType": "user.lifecycle.delete.initiated",
        "target": [{"type": "User", "id": victim}]}]}});
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let hook = format!("{}/integration/webhook", svc.url);
    let send = |auth: Option<&str>, body: Vec<u8>| {
        let mut r = http.post(&hook).header("Content-Type", "application/json").body(body);
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        r.send()
    };
    let forged_bytes = forged.to_string().into_bytes();
    assert_eq!(send(None, forged_bytes.clone()).await.unwrap().status(), 401);
    assert_eq!(
        send(Some("wrong-secret-for-tests"), forged_bytes.clone()).await.unwrap().status(),
        401
    );
    assert_eq!(
        send(Some(&format!("{SECRET}x")), forged_bytes.clone()).await.unwrap().status(),
        401
    );
    assert_eq!(send(Some(&SECRET[1..]), forged_bytes).await.unwrap().status(), 401);
    let oversize = format!("{{\"data\":{{\"events\":[]}},\"pad\":\"{}\"}}", "x".repeat(70 * 1024));
    assert_eq!(send(Some(SECRET), oversize.into_bytes()).await.unwrap().status(), 413);
    // Far over the limit, and more than the socket buffers hold: the sender still reads the 413
    // (the service reads what it refuses, up to a bound, instead of resetting the connection).
    let huge = format!("{{\"data\":{{\"events\":[]}},\"pad\":\"{}\"}}", "x".repeat(3 << 20));
    assert_eq!(send(Some(SECRET), huge.into_bytes()).await.unwrap().status(), 413);
    for bad in [&b"{"[..], b"[]", b"{\"data\":{}}", b"{\"data\":{\"events\":[{\"uuid\":1}]}}"] {
        assert_eq!(
            send(Some(SECRET), bad.to_vec()).await.unwrap().status(),
            400,
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    // The verification GET needs the secret too.
    let get = http.get(&hook).header("x-okta-verification-challenge", "c").send().await.unwrap();
    assert_eq!(get.status(), 401);
    let queue = SqliteQueue::open(&q.0).unwrap();
    assert!(queue.list(None, 10).await.unwrap().is_empty(), "nothing was queued");
    assert_eq!(svc.entities().await, before, "nothing changed");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resync_racing_a_profile_update_keeps_the_newer_profile() {
    // 300 users: the plain listing is requests 1-2, the DEPROVISIONED listing request 3. Holding
    // request 3 stops the resync with every plain user read (and queued) but not yet written.
    let env = Env::start("race", 300, 6, 2).await;
    let org = env.export().await;
    let user = org["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["status"] == "ACTIVE" && u["profile"]["managerId"].is_null())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.faults(json!({"rules": [{"family": "list_users", "nth": 3, "action": "hold"}]})).await;
    let q = QueueFile::new("race");
    let svc = Svc::start(&env, &q, LiveEvents::Hooks, Resyncs::Scheduled(None)).await;
    eventually("the resync is held and the hook verified", || async {
        env.sim().stats().in_flight >= 1 && hook_verified(&env).await
    })
    .await;
    retitle_until_written(&env, &svc, &user, "Newer title").await;
    env.faults(json!({})).await;
    eventually("the resync finished", || async { ready(&svc).await }).await;
    let e = svc.entity(&user).await.unwrap();
    assert_eq!(e.properties["title"], "Newer title", "the resync's older copy must not win");
    assert_catalog_equals_org(&svc.entities().await, &env.export().await);
    svc.stop().await;
}

/// A `port-okta serve` child process on `port`, killed (SIGKILL) when dropped.
struct ServeChild(std::process::Child);

impl ServeChild {
    fn start(env: &Env, queue: &QueueFile, port: u16) -> Self {
        let child = env
            .command()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--live-events", "hooks"])
            .args(["--catalog", &format!("sqlite:{}", env.db.display())])
            .args(["--queue", &queue.0.display().to_string()])
            .args(["--mapping", "examples/full/port-app-config.yml"])
            .args(["--blueprints", "examples/full/blueprints.json"])
            .env("OKTA_WEBHOOK_SECRET", SECRET)
            .env("OCEAN__BASE_URL", format!("http://127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        Self(child)
    }

    fn kill9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        self.kill9();
    }
}

async fn get_ok(url: &str) -> bool {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    http.get(url).send().await.is_ok_and(|r| r.status().is_success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_after_acknowledging_events_loses_none_of_them() {
    let env = Env::start("kill9serve", 40, 4, 1).await;
    let q = QueueFile::new("kill9serve");
    let port = free_port();
    let mut child = ServeChild::start(&env, &q, port);
    let base = format!("http://127.0.0.1:{port}");
    eventually("ready with a verified hook", || async {
        get_ok(&format!("{base}/ready")).await && hook_verified(&env).await
    })
    .await;
    // The worker's reads of users wait until the test lets go: events are acknowledged and
    // queued, and none can be processed.
    env.faults(json!({"rules": [{"family": "get_user", "action": "hold"}]})).await;
    let mut created = Vec::new();
    for i in 0..3 {
        created.push(create_user(&env, &format!("k{i}@x.io"), true, true).await);
    }
    let queue = SqliteQueue::open(&q.0).unwrap();
    eventually("6 events acknowledged and queued (create + activate per user)", || async {
        queue.depth().await.unwrap().pending >= 6
    })
    .await;
    let acknowledged = queue.list(Some("pending".into()), 100).await.unwrap();
    child.kill9();
    env.faults(json!({})).await;
    let catalog = SqliteCatalog::open(&env.db).unwrap();
    let in_catalog = |id: String| {
        let catalog = &catalog;
        async move { catalog.export().await.unwrap().iter().any(|e| e.identifier == id) }
    };
    for id in &created {
        assert!(!in_catalog(id.clone()).await, "not processed before the kill");
    }
    let _child = ServeChild::start(&env, &q, port);
    eventually("every acknowledged event processed after the restart", || async {
        let mut all = true;
        for id in &created {
            all &= in_catalog(id.clone()).await;
        }
        all && queue.depth().await.unwrap().pending == 0
    })
    .await;
    let done = queue.list(Some("done".into()), 1000).await.unwrap();
    for e in &acknowledged {
        assert!(done.iter().any(|d| d.event.uuid == e.event.uuid), "{} lost", e.event.uuid);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_exits_0() {
    let env = Env::start("sigterm", 20, 3, 1).await;
    let q = QueueFile::new("sigterm");
    let port = free_port();
    let mut child = ServeChild::start(&env, &q, port);
    eventually("ready", || async { get_ok(&format!("http://127.0.0.1:{port}/ready")).await }).await;
    let pid = child.0.id().to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = tokio::task::block_in_place(|| child.0.wait()).unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_is_parked_without_blocking_the_queue() {
    use port_okta::engine::fresh::Freshness;
    use port_okta::engine::write::Writer;
    use port_okta::events::envelope::{Event, Target, TargetKind};
    use port_okta::events::metrics::Metrics;
    use port_okta::events::queue::Source;
    use port_okta::events::worker::{PARK_AFTER, Worker};
    use port_okta::okta::live::LiveReader;
    let env = Env::start("poison", 20, 3, 1).await;
    assert!(env.sync().await.is_success());
    let org = env.export().await;
    let users: Vec<String> = org["users"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    // Every read of the first user fails; the second user is fine.
    let path = format!("/api/v1/users/{}", users[0]);
    env.faults(json!({"rules": [{"family": "get_user", "path": path, "status": 403}]})).await;
    let q = QueueFile::new("poison");
    let queue: Arc<dyn EventQueue> = Arc::new(SqliteQueue::open(&q.0).unwrap());
    let event = |uuid: &str, user: &str| Event {
        uuid: uuid.into(),
        published: "2026-01-01T00:00:00.000Z".into(),
        event_type: "user.account.update_profile".into(),
        targets: vec![Target { kind: TargetKind::User, id: user.into() }],
    };
    queue.push(vec![event("poison", &users[0])], Source::Hook).await.unwrap();
    let catalog: Arc<dyn Catalog> = Arc::new(SqliteCatalog::open(&env.db).unwrap());
    let writer = Writer::new(
        catalog,
        Arc::new(env.config.clone()),
        Arc::new(env.blueprints.clone()),
        "okta-e2e",
    );
    let metrics = Arc::new(Metrics::default());
    let reader = Arc::new(LiveReader::new(env.client()));
    let mut worker =
        Worker::new(queue.clone(), reader, writer, Arc::new(Freshness::new()), metrics.clone());
    worker.set_backoff_base(Duration::from_millis(1));
    // Bounded: PARK_AFTER attempts, each after its (tiny) backoff.
    for _ in 0..(PARK_AFTER * 50) {
        worker.process_batch().await.unwrap();
        if queue.depth().await.unwrap().parked == 1 {
            break;
        }
        // The healthy event arrives while the poison one is being retried.
        queue.push(vec![event("healthy", &users[1])], Source::Hook).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let parked = queue.list(Some("parked".into()), 10).await.unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].event.uuid, "poison");
    assert_eq!(parked[0].attempts, PARK_AFTER);
    assert!(parked[0].last_error.as_deref().is_some_and(|e| e.contains("403")), "{parked:?}");
    let done = queue.list(Some("done".into()), 10).await.unwrap();
    assert_eq!(done.iter().map(|e| e.event.uuid.as_str()).collect::<Vec<_>>(), ["healthy"]);
    let text = metrics.render(None, &port_okta::okta::ClientStats::default(), 0);
    assert!(
        text.contains("port_okta_events_parked_total{type=\"user.account.update_profile\"} 1"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drifted_hook_is_reconciled_and_verified() {
    let env = Env::start("drift", 20, 3, 1).await;
    let port = free_port();
    let uri = format!("http://127.0.0.1:{port}/integration/webhook");
    // A hook with our URI that someone deactivated and cut down to one event type.
    let created: Value = env
        .api(
            Method::POST,
            "/api/v1/eventHooks",
            Some(json!({"name": "old", "events": {"type": "EVENT_TYPE", "items": ["user.lifecycle.create"]},
                        "channel": {"type": "HTTP", "version": "1.0.0", "config": {"uri": uri, "headers": []}}})),
        )
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    env.api(Method::POST, &format!("/api/v1/eventHooks/{id}/lifecycle/deactivate"), None).await;
    let q = QueueFile::new("drift");
    let _child = ServeChild::start(&env, &q, port);
    eventually("the hook is active, verified and subscribed to every event type", || async {
        let h: Value = env
            .api(Method::GET, &format!("/api/v1/eventHooks/{id}"), None)
            .await
            .json()
            .await
            .unwrap();
        let items = h["events"]["items"].as_array().map_or(0, Vec::len);
        h["status"] == "ACTIVE"
            && h["verificationStatus"] == "VERIFIED"
            && items == port_okta::events::envelope::EVENT_TYPES.len()
    })
    .await;
    let hooks: Value = env.api(Method::GET, "/api/v1/eventHooks", None).await.json().await.unwrap();
    assert_eq!(hooks.as_array().unwrap().len(), 1, "reconciled, not duplicated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_public_url_the_system_log_carries_the_changes() {
    let env = Env::start("pollonly", 40, 4, 1).await;
    let q = QueueFile::new("pollonly");
    let port = free_port();
    let catalog: Arc<dyn Catalog> = Arc::new(SqliteCatalog::open(&env.db).unwrap());
    let running = start(ServeOptions {
        listen: format!("127.0.0.1:{port}").parse().unwrap(),
        okta: env.client(),
        catalog: catalog.clone(),
        config: Arc::new(env.config.clone()),
        blueprints: Arc::new(env.blueprints.clone()),
        owner: "okta-e2e".into(),
        queue: Arc::new(SqliteQueue::open(&q.0).unwrap()),
        secret: None,
        base_url: None,
        live: LiveEvents::Poll,
        poll_interval: Duration::from_millis(100),
        resyncs: Resyncs::Scheduled(None),
        max_body: 1 << 20,
        concurrency: 2,
        resync_request_poll: Duration::from_secs(60),
    })
    .await
    .unwrap();
    let svc = Svc { running: Some(running), url: format!("http://127.0.0.1:{port}"), catalog };
    eventually("first resync", || async { ready(&svc).await }).await;
    let id = create_user(&env, "polled@x.io", true, true).await;
    eventually("the new user, from the System Log", || async { svc.entity(&id).await.is_some() })
        .await;
    let hooks: Value = env.api(Method::GET, "/api/v1/eventHooks", None).await.json().await.unwrap();
    assert!(hooks.as_array().unwrap().is_empty(), "no hook without a public URL");
    svc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_keep_flowing_while_a_resync_fails() {
    let env = Env::start("resyncfail", 40, 4, 1).await;
    // Every groups listing fails: the resync at start cannot complete.
    env.faults(json!({"rules": [{"family": "groups", "path": "/api/v1/groups", "status": 500}]}))
        .await;
    let q = QueueFile::new("resyncfail");
    let svc = Svc::start(&env, &q, LiveEvents::Hooks, Resyncs::Scheduled(None)).await;
    eventually("the hook verified", || async { hook_verified(&env).await }).await;
    eventually("the failed resync is counted", || async {
        let text = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(format!("{}/metrics", svc.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.contains("port_okta_resyncs_total{outcome=\"partial\"}")
    })
    .await;
    let id = create_user(&env, "during.failure@x.io", true, true).await;
    eventually("the event is processed", || async { svc.entity(&id).await.is_some() }).await;
    assert!(get_ok(&format!("{}/health", svc.url)).await, "serve stays up");
    svc.stop().await;
}
