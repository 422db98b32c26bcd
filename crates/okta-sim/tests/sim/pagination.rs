//! Pagination: Link headers, completeness, and keyset behaviour under concurrent mutation.

use std::collections::{BTreeSet, HashSet};

use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn link_headers_are_absolute_and_separate() {
    let sim = sim(config()).await;
    let r = sim.get("/api/v1/users?limit=5&search=status+eq+%22ACTIVE%22").await;
    let l = links(r.headers());
    assert_eq!(l.len(), 2, "{l:?}");
    let base = sim.h.base_url();
    assert!(l[0].starts_with(&format!("<{base}/api/v1/users?")) && l[0].ends_with("rel=\"self\""));
    assert!(l[1].ends_with("rel=\"next\""));
    let next = next_link(r.headers()).unwrap();
    assert!(
        next.contains("after=00u") && next.contains("limit=5") && next.contains("search=status"),
        "{next}"
    );
    let page: Vec<Value> = r.json().await.unwrap();
    assert!(next.contains(page[4]["id"].as_str().unwrap()));
    // The last page has only a self link.
    let r = sim.get(&format!("/api/v1/users?after={}", "zzzzzzzzzzzzzzzzzzzz")).await;
    assert_eq!(links(r.headers()).len(), 1);
    assert_eq!(r.json::<Vec<Value>>().await.unwrap().len(), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn listings_equal_the_export() {
    let sim = sim(config()).await;
    let export = sim.get_json("/__sim/export").await;
    let (plain, pages) = sim.crawl("/api/v1/users?limit=17").await;
    assert!(pages > 3);
    let (deprov, _) =
        sim.crawl("/api/v1/users?search=status%20eq%20%22DEPROVISIONED%22&limit=3").await;
    assert!(!deprov.is_empty());
    assert!(plain.iter().all(|u| u["status"] != "DEPROVISIONED"));
    let mut listed: Vec<Value> = plain.into_iter().chain(deprov).collect();
    listed.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    assert_eq!(
        &Value::Array(listed),
        &export["users"],
        "listed users must be the exported objects"
    );
    let (groups, _) = sim.crawl("/api/v1/groups?limit=4").await;
    assert_eq!(&Value::Array(groups.clone()), &export["groups"]);
    for g in &groups {
        let gid = g["id"].as_str().unwrap();
        let (m, _) = sim.crawl(&format!("/api/v1/groups/{gid}/users?limit=25")).await;
        assert_eq!(Value::from(ids(&m)), export["memberships"][gid], "members of {gid}");
    }
    let everyone = groups.iter().find(|g| g["type"] == "BUILT_IN").unwrap();
    assert_eq!(everyone["profile"]["name"], "Everyone");
    assert_eq!(
        export["memberships"][everyone["id"].as_str().unwrap()].as_array().unwrap().len(),
        120
    );
    let (apps, _) = sim.crawl("/api/v1/apps?limit=2").await;
    assert_eq!(&Value::Array(apps.clone()), &export["apps"]);
    for a in &apps {
        let aid = a["id"].as_str().unwrap();
        let (au, _) = sim.crawl(&format!("/api/v1/apps/{aid}/users?limit=7")).await;
        assert_eq!(Value::from(ids(&au)), export["appAssignments"][aid]);
        let (ag, _) = sim.crawl(&format!("/api/v1/apps/{aid}/groups")).await;
        assert_eq!(Value::from(ids(&ag)), export["appGroupAssignments"][aid]);
    }
    // Users' groups agree with memberships.
    let uid = export["users"][0]["id"].as_str().unwrap();
    let (ug, _) = sim.crawl(&format!("/api/v1/users/{uid}/groups?limit=2")).await;
    for g in ids(&ug) {
        assert!(export["memberships"][&g].as_array().unwrap().iter().any(|x| x == uid));
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn crawl_is_complete_under_concurrent_mutation() {
    let mut cfg = config();
    cfg.users = 400;
    let sim = sim(cfg).await;
    let before: BTreeSet<String> = sim.get_json("/__sim/export").await["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] != "DEPROVISIONED")
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    let victims: Vec<String> = before.iter().step_by(37).cloned().collect();
    // Crawl in small pages while another task creates and deletes users between pages.
    let mut url = sim.url("/api/v1/users?limit=13");
    let mut seen: Vec<String> = Vec::new();
    let mut created: HashSet<String> = HashSet::new();
    let mut deleted: HashSet<String> = HashSet::new();
    for i in 0..1000 {
        let r = sim.get(&url).await;
        assert_eq!(r.status(), 200);
        let next = next_link(r.headers());
        let page: Vec<Value> = r.json().await.unwrap();
        seen.extend(ids(&page));
        // Mutate concurrently with the next page request.
        let mutate = async {
            let login = format!("crawl.user{i}@example.com");
            let c = sim
                .post("/api/v1/users?activate=false", Some(json!({"profile": {
                    "login": login, "email": login, "firstName": "Crawl", "lastName": format!("User{i}")}})))
                .await;
            assert_eq!(c.status(), 200);
            let id = c.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
            let mut gone = None;
            if let Some(v) = victims.get(i) {
                assert_eq!(sim.delete(&format!("/api/v1/users/{v}")).await.status(), 204);
                assert_eq!(sim.delete(&format!("/api/v1/users/{v}")).await.status(), 204);
                gone = Some(v.clone());
            }
            (id, gone)
        };
        let Some(n) = next else { break };
        let ((id, gone), r2) = tokio::join!(mutate, sim.get(&n));
        created.insert(id);
        deleted.extend(gone);
        assert_eq!(r2.status(), 200);
        url = n;
    }
    let uniq: HashSet<&String> = seen.iter().collect();
    assert_eq!(uniq.len(), seen.len(), "no user may appear twice");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, seen, "keyset order by id");
    for id in before.iter().filter(|id| !deleted.contains(*id)) {
        assert!(uniq.contains(id), "{id} existed throughout the crawl but was missed");
    }
    for id in &seen {
        assert!(before.contains(id) || created.contains(id), "{id} came from nowhere");
    }
    // After the crawl, deleted users are gone for good.
    for d in &deleted {
        let r = sim.get(&format!("/api/v1/users/{d}")).await;
        assert_eq!(r.status(), 404);
        assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000007");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn limits_are_clamped_and_validated() {
    let sim = sim(config()).await;
    let mut cfg = config();
    cfg.users = 260;
    let big = crate::common::sim(cfg).await;
    let r = big.get("/api/v1/users?limit=100000").await;
    assert!(next_link(r.headers()).is_some());
    assert_eq!(r.json::<Vec<Value>>().await.unwrap().len(), 200, "limit is clamped to 200");
    big.shutdown().await;
    let r = sim.get("/api/v1/users?limit=abc").await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000001");
    let g = sim.get_json("/api/v1/groups?q=Every").await;
    assert_eq!(g[0]["profile"]["name"], "Everyone");
    sim.shutdown().await;
}
