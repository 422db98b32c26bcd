//! Port's entity search, the subset `catalog serve` answers: `combinator` `and`/`or` over nested
//! queries and rules on `$identifier`, `$blueprint`, `$datasource`, `$title`, `$team`, `$icon`
//! and properties, with `=`, `!=`, `in`, `notIn`, `contains`, `doesNotContains`; and the
//! `relatedTo` rule (`blueprint`, `value`, `required`, `direction`).
//!
//! A query is parsed once (an unknown operator or field is a 400 naming where it is), the rows it
//! can match are narrowed by its top-level `$blueprint` and `$identifier` rules, and every
//! candidate is checked against the whole query.

use super::store::Row;
use crate::catalog::rules::{Blueprints, relation_targets};
use crate::model::EntityKey;
use crate::port::wire;
use serde_json::Value;
use std::collections::HashSet;

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// Every part matches.
    All(Vec<Query>),
    /// Some part matches.
    Any(Vec<Query>),
    /// A rule on a field.
    Field {
        /// The field.
        field: Field,
        /// The operator.
        op: Op,
        /// The value.
        value: Value,
    },
    /// `relatedTo`.
    Related(Related),
}

/// A field a rule reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// `$identifier`.
    Identifier,
    /// `$blueprint`.
    Blueprint,
    /// `$datasource`.
    Datasource,
    /// `$title`.
    Title,
    /// `$team`.
    Team,
    /// `$icon`.
    Icon,
    /// A property.
    Property(String),
}

/// A rule's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
    /// `in`.
    In,
    /// `notIn`.
    NotIn,
    /// `contains`.
    Contains,
    /// `doesNotContains`.
    NotContains,
}

/// A `relatedTo` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Related {
    /// The blueprint of the entities named.
    pub blueprint: String,
    /// Their identifiers.
    pub ids: Vec<String>,
    /// Only required relations (`true`), only optional ones (`false`), or any.
    pub required: Option<bool>,
    /// Entities the named ones point at (`upstream`), entities pointing at them
    /// (`downstream`), or both (no `direction`).
    pub upstream: bool,
    /// See `upstream`.
    pub downstream: bool,
    /// Keys the named entities point at (filled in by [`Query::prepare`]).
    pub targets: HashSet<EntityKey>,
}

fn err(path: &str, msg: impl std::fmt::Display) -> String {
    if path.is_empty() { msg.to_string() } else { format!("{path}: {msg}") }
}

/// Parses a search body (`{"combinator", "rules"}`).
pub fn parse(v: &Value) -> Result<Query, String> {
    parse_at(v, "")
}

fn parse_at(v: &Value, path: &str) -> Result<Query, String> {
    let Some(obj) = v.as_object() else {
        return Err(err(path, "expected an object with `combinator` and `rules`"));
    };
    if obj.contains_key("rules") || obj.contains_key("combinator") {
        let combinator = obj.get("combinator").and_then(Value::as_str).unwrap_or("and");
        let rules = obj
            .get("rules")
            .and_then(Value::as_array)
            .ok_or_else(|| err(path, "`rules` must be an array"))?;
        let parts = rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                parse_at(
                    r,
                    &format!(
                        "{}rules[{i}]",
                        if path.is_empty() { String::new() } else { format!("{path}.") }
                    ),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        return match combinator {
            "and" => Ok(Query::All(parts)),
            "or" => Ok(Query::Any(parts)),
            other => Err(err(path, format!("unknown combinator `{other}` (expected and, or)"))),
        };
    }
    let op = obj.get("operator").and_then(Value::as_str).unwrap_or_default();
    if op == "relatedTo" {
        let blueprint = obj
            .get("blueprint")
            .and_then(Value::as_str)
            .ok_or_else(|| err(path, "relatedTo needs a `blueprint`"))?;
        let ids = match obj.get("value") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(String::from).collect(),
            _ => return Err(err(path, "relatedTo needs a `value`: an identifier or a list")),
        };
        let required = match obj.get("required") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return Err(err(path, "`required` must be true or false")),
        };
        let (upstream, downstream) = match obj.get("direction").and_then(Value::as_str) {
            None => (true, true),
            Some("upstream") => (true, false),
            Some("downstream") => (false, true),
            Some(d) => {
                return Err(err(
                    path,
                    format!("unknown direction `{d}` (expected upstream, downstream)"),
                ));
            }
        };
        return Ok(Query::Related(Related {
            blueprint: blueprint.to_string(),
            ids,
            required,
            upstream,
            downstream,
            targets: HashSet::new(),
        }));
    }
    let op = match op {
        "=" => Op::Eq,
        "!=" => Op::Ne,
        "in" => Op::In,
        "notIn" => Op::NotIn,
        "contains" => Op::Contains,
        "doesNotContains" => Op::NotContains,
        "" => return Err(err(path, "a rule needs an `operator`")),
        other => {
            return Err(err(
                path,
                format!(
                    "operator `{other}` is not supported (=, !=, in, notIn, contains, doesNotContains, relatedTo)"
                ),
            ));
        }
    };
    let property = obj
        .get("property")
        .and_then(Value::as_str)
        .ok_or_else(|| err(path, "a rule needs a `property`"))?;
    let field = match property {
        "$identifier" => Field::Identifier,
        "$blueprint" => Field::Blueprint,
        "$datasource" => Field::Datasource,
        "$title" => Field::Title,
        "$team" => Field::Team,
        "$icon" => Field::Icon,
        p if p.starts_with('$') => {
            return Err(err(path, format!("property `{p}` is not supported")));
        }
        p => Field::Property(p.to_string()),
    };
    let value = obj.get("value").cloned().unwrap_or(Value::Null);
    if matches!(op, Op::In | Op::NotIn) && !value.is_array() {
        return Err(err(path, "`in` and `notIn` need a list `value`"));
    }
    Ok(Query::Field { field, op, value })
}

/// Which rows a query can match, from its top-level `and` rules.
#[derive(Debug, Default, PartialEq)]
pub struct Scope {
    /// Only this blueprint.
    pub blueprint: Option<String>,
    /// Only these identifiers.
    pub ids: Option<Vec<String>>,
}

impl Query {
    /// The narrowest scope the query's top level allows.
    pub fn scope(&self) -> Scope {
        let mut scope = Scope::default();
        let parts: Vec<&Query> = match self {
            Query::All(parts) => parts.iter().collect(),
            other => vec![other],
        };
        for part in parts {
            match part {
                Query::Field { field: Field::Blueprint, op: Op::Eq, value: Value::String(bp) } => {
                    scope.blueprint = Some(bp.clone())
                }
                Query::Field { field: Field::Identifier, op: Op::Eq, value: Value::String(id) } => {
                    scope.ids = Some(vec![id.clone()])
                }
                Query::Field { field: Field::Identifier, op: Op::In, value: Value::Array(ids) } => {
                    scope.ids =
                        Some(ids.iter().filter_map(Value::as_str).map(String::from).collect())
                }
                _ => {}
            }
        }
        scope
    }

    /// The `relatedTo` rules, mutably (to fill in their targets).
    pub fn related_mut(&mut self) -> Vec<&mut Related> {
        match self {
            Query::All(parts) | Query::Any(parts) => {
                parts.iter_mut().flat_map(Query::related_mut).collect()
            }
            Query::Related(r) => vec![r],
            Query::Field { .. } => Vec::new(),
        }
    }

    /// Whether `row` matches.
    pub fn matches(&self, row: &Row, blueprints: &Blueprints) -> bool {
        match self {
            Query::All(parts) => parts.iter().all(|p| p.matches(row, blueprints)),
            Query::Any(parts) => parts.iter().any(|p| p.matches(row, blueprints)),
            Query::Field { field, op, value } => {
                let actual = field_value(field, row);
                compare(actual.as_ref(), *op, value)
            }
            Query::Related(r) => {
                (r.upstream && r.targets.contains(&row.entity.key()))
                    || (r.downstream && points_at(row, r, blueprints))
            }
        }
    }
}

/// Whether `row` has a relation (of the kind `r` asks for) to one of `r`'s entities.
fn points_at(row: &Row, r: &Related, blueprints: &Blueprints) -> bool {
    let Some(bp) = blueprints.get(&row.entity.blueprint) else { return false };
    bp.relations.iter().any(|(name, rel)| {
        rel.target == r.blueprint
            && r.required.is_none_or(|req| req == rel.required)
            && row.entity.relations.get(name.as_str()).is_some_and(|v| match v {
                Value::String(s) => r.ids.contains(s),
                Value::Array(a) => {
                    a.iter().any(|x| x.as_str().is_some_and(|s| r.ids.iter().any(|i| i == s)))
                }
                _ => false,
            })
    })
}

/// The keys `rows` (the entities a `relatedTo` names) point at through relations of its kind.
pub fn targets_of(rows: &[Row], r: &Related, blueprints: &Blueprints) -> HashSet<EntityKey> {
    let mut out = HashSet::new();
    for row in rows {
        let Some(bp) = blueprints.get(&row.entity.blueprint) else { continue };
        let wanted = |name: &str| {
            bp.relations
                .get(name)
                .is_some_and(|rel| r.required.is_none_or(|req| req == rel.required))
        };
        let mut only = row.entity.clone();
        only.relations.retain(|name, _| wanted(name));
        out.extend(relation_targets(&only, bp));
    }
    out
}

/// The datasource a search sees: a direct sync's bare owner reads as Ocean's form.
pub fn effective_datasource(ds: &str) -> String {
    if ds.contains('/') || ds == wire::API_DATASOURCE {
        ds.to_string()
    } else {
        format!(
            "{}-{}",
            wire::datasource_prefix(wire::INTEGRATION_TYPE),
            wire::datasource_suffix(ds)
        )
    }
}

fn field_value(field: &Field, row: &Row) -> Option<Value> {
    let e = &row.entity;
    match field {
        Field::Identifier => Some(Value::String(e.identifier.clone())),
        Field::Blueprint => Some(Value::String(e.blueprint.clone())),
        Field::Datasource => {
            row.datasource.as_deref().map(|d| Value::String(effective_datasource(d)))
        }
        Field::Title => e.title.clone(),
        Field::Team => e.team.clone(),
        Field::Icon => e.icon.clone(),
        Field::Property(p) => e.properties.get(p).cloned(),
    }
}

fn contains(actual: Option<&Value>, value: &Value) -> bool {
    match (actual, value) {
        (Some(Value::String(a)), Value::String(v)) => a.contains(v.as_str()),
        (Some(Value::Array(a)), v) => a.contains(v),
        _ => false,
    }
}

fn compare(actual: Option<&Value>, op: Op, value: &Value) -> bool {
    let null = Value::Null;
    let a = actual.unwrap_or(&null);
    let list = value.as_array().map(Vec::as_slice).unwrap_or_default();
    match op {
        Op::Eq => a == value,
        Op::Ne => a != value,
        Op::In => {
            list.contains(a) || a.as_array().is_some_and(|xs| xs.iter().any(|x| list.contains(x)))
        }
        Op::NotIn => !compare(actual, Op::In, value),
        Op::Contains => contains(actual, value),
        Op::NotContains => !contains(actual, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(bp: &str, id: &str, props: Value, rels: Value, ds: &str) -> Row {
        Row {
            entity: serde_json::from_value(json!({
                "identifier": id, "blueprint": bp, "title": format!("T {id}"),
                "properties": props, "relations": rels
            }))
            .unwrap(),
            datasource: Some(ds.into()),
            run_id: None,
            updated_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    fn bps() -> Blueprints {
        let user: crate::blueprint::Blueprint = serde_json::from_value(json!({
            "identifier": "user", "schema": {"properties": {}},
            "relations": {"groups": {"target": "group", "many": true},
                          "laptop": {"target": "device", "required": true}}
        }))
        .unwrap();
        [("user".to_string(), user)].into_iter().collect()
    }

    #[test]
    fn rules_and_combinators() {
        let ds = "port-ocean/okta/0.1.0/okta-prod/exporter";
        let r = row("user", "u1", json!({"status": "ACTIVE", "tags": ["a", "b"]}), json!({}), ds);
        let yes = |q: Value| parse(&q).unwrap().matches(&r, &bps());
        assert!(yes(json!({"combinator": "and", "rules": [
            {"property": "$blueprint", "operator": "=", "value": "user"},
            {"property": "$identifier", "operator": "in", "value": ["u0", "u1"]},
            {"property": "$datasource", "operator": "contains", "value": "port-ocean/okta/"},
            {"property": "$datasource", "operator": "contains", "value": "/okta-prod/exporter"},
            {"property": "status", "operator": "=", "value": "ACTIVE"},
            {"property": "tags", "operator": "contains", "value": "b"},
            {"property": "$title", "operator": "!=", "value": "x"}]})));
        assert!(!yes(json!({"combinator": "and", "rules": [
            {"property": "$identifier", "operator": "=", "value": "u1"},
            {"property": "status", "operator": "=", "value": "SUSPENDED"}]})));
        assert!(yes(json!({"combinator": "or", "rules": [
            {"property": "status", "operator": "=", "value": "SUSPENDED"},
            {"combinator": "and", "rules": [{"property": "$identifier", "operator": "notIn", "value": ["x"]}]}]})));
        // A direct sync's bare owner is found by Ocean's datasource rules.
        let bare = row("user", "u2", json!({}), json!({}), "okta-prod");
        let q = parse(&json!({"combinator": "and", "rules": [
            {"property": "$datasource", "operator": "contains", "value": "/okta-prod/exporter"}]}))
        .unwrap();
        assert!(q.matches(&bare, &bps()));
    }

    #[test]
    fn related_to_follows_required_relations_both_ways() {
        let u = row("user", "u1", json!({}), json!({"groups": ["g1"], "laptop": "d1"}), "x");
        let rel = |v: Value| {
            let mut q = parse(&v).unwrap();
            let targets = targets_of(std::slice::from_ref(&u), &q.related_mut()[0].clone(), &bps());
            q.related_mut()[0].targets = targets;
            q
        };
        let required = json!({"operator": "relatedTo", "blueprint": "device", "value": ["d1"], "required": true});
        assert!(rel(required).matches(&u, &bps()), "u1 requires d1");
        let optional =
            json!({"operator": "relatedTo", "blueprint": "group", "value": "g1", "required": true});
        assert!(!rel(optional).matches(&u, &bps()), "groups is not required");
        let up = json!({"operator": "relatedTo", "blueprint": "user", "value": "u1", "direction": "upstream"});
        let g1 = row("group", "g1", json!({}), json!({}), "x");
        assert!(rel(up).matches(&g1, &bps()), "u1 points at g1");
    }

    #[test]
    fn bad_queries_name_where() {
        let e = parse(
            &json!({"combinator": "and", "rules": [{"property": "a", "operator": "~", "value": 1}]}),
        );
        assert_eq!(
            e.unwrap_err(),
            "rules[0]: operator `~` is not supported (=, !=, in, notIn, contains, doesNotContains, relatedTo)"
        );
        let e = parse(&json!({"combinator": "xor", "rules": []}));
        assert!(e.unwrap_err().contains("unknown combinator `xor`"));
        let e = parse(
            &json!({"rules": [{"combinator": "and", "rules": [{"property": "$nope", "operator": "="}]}]}),
        );
        assert_eq!(e.unwrap_err(), "rules[0].rules[0]: property `$nope` is not supported");
    }

    #[test]
    fn scope_narrows_by_top_level_blueprint_and_identifiers() {
        let q = parse(&json!({"combinator": "and", "rules": [
            {"property": "$blueprint", "operator": "=", "value": "user"},
            {"property": "$identifier", "operator": "in", "value": ["a", "b"]}]}))
        .unwrap();
        assert_eq!(
            q.scope(),
            Scope { blueprint: Some("user".into()), ids: Some(vec!["a".into(), "b".into()]) }
        );
        let any = parse(&json!({"combinator": "or", "rules": [
            {"property": "$blueprint", "operator": "=", "value": "user"}]}))
        .unwrap();
        assert_eq!(any.scope(), Scope::default(), "an or does not narrow");
    }
}
