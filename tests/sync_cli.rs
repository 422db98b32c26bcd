//! `port-okta sync` and `port-okta catalog export`, run as the built binary against okta-sim:
//! the `--json` summary shape, exit codes, `--dry-run` writing nothing, and the sorted export.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TOKEN: &str = "cli-test-token";

fn port_okta(sim_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_port-okta"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env("OKTA_DOMAIN", sim_url)
        .env("OKTA_API_TOKEN", TOKEN)
        .env_remove("OCEAN__INTEGRATION__CONFIG__OKTA_DOMAIN")
        .env_remove("OCEAN__INTEGRATION__CONFIG__OKTA_API_TOKEN")
        .output()
        .unwrap()
}

fn db(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("port-okta-cli-{}-{name}.db", std::process::id()));
    remove(&p);
    p
}

fn remove(p: &Path) {
    for s in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{s}", p.display()));
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

async fn sim(users: usize) -> okta_sim::SimHandle {
    okta_sim::spawn(
        okta_sim::SimConfig {
            users,
            groups: 8,
            apps: 2,
            token: TOKEN.into(),
            ..Default::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_json_summary_dry_run_and_export() {
    let s = sim(80).await;
    let url = s.base_url();
    let path = db("summary");
    let catalog = format!("sqlite:{}", path.display());

    // A dry run on an empty catalog plans every entity and writes nothing.
    let out = tokio::task::block_in_place(|| {
        port_okta(&url, &["sync", "--json", "--dry-run", "--catalog", &catalog])
    });
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let users = s.export()["users"].as_array().unwrap().len();
    assert_eq!(plan["kinds"]["okta-user"]["upserted"], users);
    assert_eq!(plan["plan"]["create"].as_array().unwrap().len(), users + 8);
    assert!(!path.exists(), "a dry run must not create the catalog");

    // The real sync: the documented summary shape.
    let out =
        tokio::task::block_in_place(|| port_okta(&url, &["sync", "--json", "--catalog", &catalog]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    for kind in ["okta-user", "okta-group"] {
        for field in ["upserted", "failed", "deleted"] {
            assert!(summary["kinds"][kind][field].is_u64(), "{kind}.{field} in {summary}");
        }
    }
    assert_eq!(summary["kinds"]["okta-user"]["upserted"], users);
    assert_eq!(summary["kinds"]["okta-group"]["upserted"], 8);
    assert!(summary["okta_requests"].as_u64().unwrap() > 0);
    assert_eq!(summary["okta_429"], 0);
    assert_eq!(summary["deletion"], "done");
    assert!(summary["duration_s"].is_f64() || summary["duration_s"].is_u64());
    assert!(summary.get("plan").is_none());

    // A user deleted in Okta: the dry run names it and deletes nothing.
    let victim = s.export()["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["status"] == "ACTIVE")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let http = reqwest::Client::new();
    for _ in 0..2 {
        let r = http
            .delete(format!("{url}/api/v1/users/{victim}"))
            .header("Authorization", format!("SSWS {TOKEN}"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    let out = tokio::task::block_in_place(|| {
        port_okta(&url, &["sync", "--dry-run", "--catalog", &catalog])
    });
    let stdout = text(&out.stdout);
    assert!(stdout.contains(&format!("- okta-user/{victim}")), "{stdout}");
    let export = tokio::task::block_in_place(|| {
        port_okta(&url, &["catalog", "export", "--catalog", &catalog])
    });
    let entities: Vec<Value> = serde_json::from_slice(&export.stdout).unwrap();
    assert!(
        entities.iter().any(|e| e["identifier"] == victim.as_str()),
        "the dry run deleted nothing"
    );
    assert_eq!(entities.len(), users + 8);
    let keys: Vec<(String, String)> = entities
        .iter()
        .map(|e| {
            (e["blueprint"].as_str().unwrap().into(), e["identifier"].as_str().unwrap().into())
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "export is sorted by blueprint then identifier");
    assert_eq!(
        entities[0].as_object().unwrap().keys().next().map(String::as_str),
        Some("identifier")
    );

    remove(&path);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_exits_1_on_a_partial_listing_and_2_without_credentials() {
    let s = sim(450).await;
    let url = s.base_url();
    let path = db("partial");
    let catalog = format!("sqlite:{}", path.display());
    s.set_faults(
        serde_json::from_value(
            json!({"rules": [{"family": "list_users", "nth": 2, "status": 403}]}),
        )
        .unwrap(),
    );
    let out =
        tokio::task::block_in_place(|| port_okta(&url, &["sync", "--json", "--catalog", &catalog]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let deletion = summary["deletion"].as_str().unwrap();
    assert!(deletion.starts_with("skipped: "), "{deletion}");
    assert!(summary["listing_errors"][0].as_str().unwrap().contains("403"), "{summary}");

    let out = tokio::task::block_in_place(|| {
        Command::new(env!("CARGO_BIN_EXE_port-okta"))
            .args(["sync", "--catalog", &catalog])
            .env_remove("OKTA_DOMAIN")
            .env_remove("OKTA_API_TOKEN")
            .env_remove("OCEAN__INTEGRATION__CONFIG__OKTA_DOMAIN")
            .env_remove("OCEAN__INTEGRATION__CONFIG__OKTA_API_TOKEN")
            .output()
            .unwrap()
    });
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("OKTA_DOMAIN"), "{}", text(&out.stderr));
    remove(&path);
    s.shutdown().await;
}
