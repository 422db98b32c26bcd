//! Bulk upserts: entities packed into calls of at most N entities and B bytes per blueprint, the
//! calls sent concurrently under one client-wide bound, and Port's per-entity answers read back
//! by index.

use super::http::{PortHttp, PortStats, Req};
use super::wire::{BulkAnswer, BulkError};
use crate::catalog::{CatalogError, Change, UpsertOutcome, WriteContext};
use crate::model::{Entity, EntityKey};
use reqwest::Method;
use std::sync::Arc;

/// One bulk call's entities: their indices in the caller's batch and their JSON.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// The blueprint of every entity in it.
    pub blueprint: String,
    /// (index in the batch, entity JSON).
    pub entities: Vec<(usize, bytes::Bytes)>,
}

/// `{"entities":[` + `]}`.
const ENVELOPE: usize = 15;

impl Chunk {
    fn body(&self) -> bytes::Bytes {
        let size = ENVELOPE + self.entities.iter().map(|(_, j)| j.len() + 1).sum::<usize>();
        let mut body = Vec::with_capacity(size);
        body.extend_from_slice(b"{\"entities\":[");
        for (i, (_, json)) in self.entities.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(json);
        }
        body.extend_from_slice(b"]}");
        body.into()
    }
}

/// The entities of a batch in levels: an entity comes after every other entity of the batch
/// its relations name (matched by identifier, as Ocean's sorter does), so a relation target in
/// the same batch is written first — one batch means the same as one embedded-catalog call.
/// Entities in a cycle share the last level.
pub fn levels(entities: &[Entity]) -> Vec<Vec<usize>> {
    let mut by_id: std::collections::HashMap<&str, Vec<usize>> = Default::default();
    for (i, e) in entities.iter().enumerate() {
        by_id.entry(e.identifier.as_str()).or_default().push(i);
    }
    let names = |e: &Entity| -> Vec<usize> {
        let mut out = Vec::new();
        for v in e.relations.values() {
            let ids: Vec<&str> = match v {
                serde_json::Value::String(s) => vec![s.as_str()],
                serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
                _ => Vec::new(),
            };
            for id in ids {
                out.extend(by_id.get(id).into_iter().flatten().copied());
            }
        }
        out
    };
    let deps: Vec<Vec<usize>> = entities
        .iter()
        .enumerate()
        .map(|(i, e)| names(e).into_iter().filter(|&j| j != i).collect())
        .collect();
    let mut level: Vec<Option<usize>> = vec![None; entities.len()];
    let mut out: Vec<Vec<usize>> = Vec::new();
    // Bounded: each pass places at least one entity or stops.
    loop {
        let current = out.len();
        let placed: Vec<usize> = (0..entities.len())
            .filter(|&i| level[i].is_none())
            .filter(|&i| deps[i].iter().all(|&j| level[j].is_some_and(|l| l < current)))
            .collect();
        if placed.is_empty() {
            break;
        }
        for &i in &placed {
            level[i] = Some(current);
        }
        out.push(placed);
    }
    let rest: Vec<usize> = (0..entities.len()).filter(|&i| level[i].is_none()).collect();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// Packs the entities at `indices` into bulk calls: grouped by blueprint (first-seen order), at
/// most `max_len` entities and `max_bytes` of body each. An entity larger than `max_bytes` on its
/// own gets a call of its own (Port answers 413 and it is reported refused).
pub fn chunks(
    entities: &[Entity],
    indices: &[usize],
    max_len: usize,
    max_bytes: usize,
) -> Vec<Chunk> {
    let mut order: Vec<String> = Vec::new();
    let mut by_bp: std::collections::HashMap<&str, Vec<usize>> = Default::default();
    for &i in indices {
        let e = &entities[i];
        by_bp
            .entry(e.blueprint.as_str())
            .or_insert_with(|| {
                order.push(e.blueprint.clone());
                Vec::new()
            })
            .push(i);
    }
    let mut out = Vec::new();
    for bp in order {
        let mut cur = Chunk { blueprint: bp.clone(), entities: Vec::new() };
        let mut size = ENVELOPE;
        for &i in &by_bp[bp.as_str()] {
            let json: bytes::Bytes = serde_json::to_vec(&entities[i]).unwrap_or_default().into();
            let full = cur.entities.len() >= max_len.max(1) || size + json.len() + 1 > max_bytes;
            if full && !cur.entities.is_empty() {
                out.push(std::mem::replace(
                    &mut cur,
                    Chunk { blueprint: bp.clone(), entities: Vec::new() },
                ));
                size = ENVELOPE;
            }
            size += json.len() + 1;
            cur.entities.push((i, json));
        }
        if !cur.entities.is_empty() {
            out.push(cur);
        }
    }
    out
}

/// Sends one chunk; returns (index, outcome) for each of its entities. A 413 splits the chunk
/// in halves; another refusal of the whole call (4xx other than 401/403/408/429) refuses each of
/// its entities with Port's message; anything else is an error of the whole upsert.
pub async fn send(
    http: Arc<PortHttp>,
    chunk: Chunk,
    cx: WriteContext,
    user_agent: String,
) -> Result<Vec<(usize, UpsertOutcome)>, CatalogError> {
    let mut pending = vec![chunk];
    let mut out = Vec::new();
    // Bounded: every split halves a chunk, so at most 2n - 1 calls for n entities.
    while let Some(chunk) = pending.pop() {
        let req = Req::new(
            Method::POST,
            &["blueprints", &chunk.blueprint, "entities", "bulk"],
            &user_agent,
        )
        .query("upsert", "true")
        .query("merge", cx.merge.to_string())
        .query("create_missing_related_entities", cx.create_missing_related.to_string())
        .query("validation_only", "false")
        .query("ocean_info_event_type", "resync")
        .query("ocean_info_resync_id", cx.run_id.clone())
        .raw_json(chunk.body());
        PortStats::add(&http.stats().upsert_calls, 1);
        match http.send(&req).await {
            Ok(answer) => {
                let answer: BulkAnswer = answer.parse(&req)?;
                out.extend(read_answer(&chunk, answer, http.stats()));
            }
            Err(CatalogError::Http { status: 413, .. }) if chunk.entities.len() > 1 => {
                let mut first = chunk;
                let second = first.entities.split_off(first.entities.len() / 2);
                tracing::info!(blueprint = %first.blueprint, entities = first.entities.len() + second.len(), "port refused a bulk as too large (413); splitting it");
                pending.push(Chunk { blueprint: first.blueprint.clone(), entities: second });
                pending.push(first);
            }
            Err(e @ CatalogError::Http { status, .. }) if refuses_entities(status) => {
                let why = e.to_string();
                PortStats::add(&http.stats().refused, chunk.entities.len() as u64);
                out.extend(
                    chunk.entities.iter().map(|(i, _)| (*i, UpsertOutcome::Rejected(why.clone()))),
                );
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Whether a status refusing a whole bulk is about its entities (so each is refused and the
/// run goes on) rather than about the service or the credentials.
fn refuses_entities(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 401 | 403 | 408 | 429)
}

/// Port's answer for each entity of `chunk`, by index; an index in neither list failed.
fn read_answer(
    chunk: &Chunk,
    answer: BulkAnswer,
    stats: &PortStats,
) -> Vec<(usize, UpsertOutcome)> {
    let mut by_index: Vec<Option<UpsertOutcome>> = vec![None; chunk.entities.len()];
    for e in answer.entities {
        if let Some(slot) = by_index.get_mut(e.index) {
            let change = match (e.created, e.unchanged) {
                (true, _) => Change::Created,
                (false, true) => Change::Unchanged,
                (false, false) => Change::Updated,
            };
            *slot = Some(UpsertOutcome::Written(change));
        }
    }
    for e in answer.errors {
        if let Some(slot) = by_index.get_mut(e.index) {
            *slot = Some(refusal(e));
        }
    }
    chunk
        .entities
        .iter()
        .zip(by_index)
        .map(|((i, _), outcome)| {
            let outcome = outcome.unwrap_or_else(|| {
                UpsertOutcome::Rejected("Port's bulk answer has no result for this entity".into())
            });
            let counter = if outcome.is_ok() { &stats.upserted } else { &stats.refused };
            PortStats::add(counter, 1);
            (*i, outcome)
        })
        .collect()
}

/// A refused entity: a missing related entity (Port's 404 `not_found`) or Port's reason.
fn refusal(e: BulkError) -> UpsertOutcome {
    if e.status_code == 404 && e.error == "not_found" {
        let target = e.related.unwrap_or_else(|| EntityKey {
            blueprint: String::new(),
            identifier: format!("(Port: {})", e.message),
        });
        return UpsertOutcome::MissingRelated(target);
    }
    // Port's message as it is: the engine reports it with the entity.
    UpsertOutcome::Rejected(e.message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ent(bp: &str, id: &str, pad: usize) -> Entity {
        serde_json::from_value(json!({
            "identifier": id, "blueprint": bp, "properties": {"pad": "x".repeat(pad)}
        }))
        .unwrap()
    }

    #[test]
    fn chunks_hold_at_most_n_entities_and_b_bytes_per_blueprint() {
        let mut batch: Vec<Entity> = (0..45).map(|i| ent("u", &format!("u{i}"), 10)).collect();
        batch.insert(3, ent("g", "g0", 10));
        let all: Vec<usize> = (0..batch.len()).collect();
        let c = chunks(&batch, &all, 20, 1 << 20);
        let sizes: Vec<(String, usize)> =
            c.iter().map(|c| (c.blueprint.clone(), c.entities.len())).collect();
        let expect = [("u", 20), ("u", 20), ("u", 5), ("g", 1)];
        assert_eq!(sizes, expect.map(|(b, n)| (b.to_string(), n)));
        assert_eq!(c[3].entities[0].0, 3, "indices are the caller's");
        // 300-byte entities under a 1,000-byte limit: three fit (15 + 3 × ~340 > 1000 → two).
        let big: Vec<Entity> = (0..5).map(|i| ent("u", &format!("b{i}"), 300)).collect();
        for c in chunks(&big, &[0, 1, 2, 3, 4], 20, 1000) {
            assert!(c.body().len() <= 1000, "{}", c.body().len());
            assert!(serde_json::from_slice::<serde_json::Value>(&c.body()).is_ok());
        }
        // An entity over the limit alone still gets a call of its own.
        let huge = vec![ent("u", "h", 5000), ent("u", "s", 1)];
        assert_eq!(chunks(&huge, &[0, 1], 20, 1000).len(), 2);
    }

    #[test]
    fn relation_targets_in_the_batch_come_first() {
        let e = |id: &str, rels: serde_json::Value| -> Entity {
            serde_json::from_value(json!({"identifier": id, "blueprint": "b", "relations": rels}))
                .unwrap()
        };
        let batch = vec![
            e("dev", json!({"owner": "new"})),
            e("new", json!({"manager": "keep", "groups": ["g-outside"]})),
            e("keep", json!({})),
            e("a", json!({"peer": "b"})),
            e("b", json!({"peer": "a"})),
            e("self", json!({"me": "self"})),
        ];
        assert_eq!(levels(&batch), vec![vec![2, 5], vec![1], vec![0], vec![3, 4]]);
    }

    #[test]
    fn answers_are_read_by_index_and_a_missing_index_failed() {
        let batch: Vec<Entity> = (0..4).map(|i| ent("u", &format!("u{i}"), 1)).collect();
        let chunk = chunks(&batch, &[0, 1, 2, 3], 20, 1 << 20).remove(0);
        let answer: BulkAnswer = serde_json::from_value(json!({
            "entities": [{"index": 2, "identifier": "u2", "created": true},
                         {"index": 0, "identifier": "u0", "created": false, "unchanged": true}],
            "errors": [{"index": 3, "identifier": "u3", "statusCode": 404, "error": "not_found",
                        "message": "nope", "related": {"blueprint": "g", "identifier": "g9"}}]
        }))
        .unwrap();
        let out = read_answer(&chunk, answer, &PortStats::default());
        assert_eq!(out[0], (0, UpsertOutcome::Written(Change::Unchanged)));
        assert!(matches!(&out[1], (1, UpsertOutcome::Rejected(m)) if m.contains("no result")));
        assert_eq!(out[2], (2, UpsertOutcome::Written(Change::Created)));
        let g9 = EntityKey { blueprint: "g".into(), identifier: "g9".into() };
        assert_eq!(out[3], (3, UpsertOutcome::MissingRelated(g9)));
    }
}
