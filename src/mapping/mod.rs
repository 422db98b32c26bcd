//! Turns raw items into entities with a compiled port-app-config mapping.
//!
//! [`compile`] compiles every jq expression of a [`PortAppConfig`] once and collects every compile
//! error as a [`Diagnostic`]. [`CompiledResource::map_item`] then maps one item (an Okta user
//! enriched with `.groups`/`.applications`, or a group with `.users`) into entities.
//!
//! Semantics (Ocean §2 with the fixes of §9):
//! * the selector must yield a boolean as its first output; anything else is a per-item
//!   [`Severity::Error`] problem, never fatal to a batch (W-C2);
//! * a leaf keeps its first output; an error or no output makes it null with a
//!   [`Severity::Warning`] naming the field;
//! * a relation collects **all** outputs (W-C1): `many` relations (and `array` properties) are
//!   always arrays, single relations keep the first output;
//! * identifier and blueprint must be non-empty strings (numbers are stringified), otherwise the
//!   item is skipped with an error problem; wrong-typed icon/team only affect that item (W-C16);
//! * `itemsToParse` applies to every item (W-C3), and an item whose source path cannot be
//!   determined is kept unchanged instead of being dropped.
//!
//! Hot path: expressions that are plain paths, literals, `A // B` or `A + B` of those are
//! evaluated natively on the `serde_json::Value` (module `fast`); the rest go through jaq with the
//! item converted once per item.

mod fast;
pub mod pool;
pub mod project;

use crate::blueprint::{Blueprint, BlueprintSet};
use crate::config::model::{
    Expr, MappingValue, PortAppConfig, ResourceConfig, SearchQuery, SearchRule,
};
use crate::diag::{Diagnostic, Diagnostics};
use crate::jq::{self, Program};
use crate::model::Entity;
use fast::{Cow, Fast, View};
use jaq_json::Val;
use project::Doc;
use serde_json::{Map, Value};
use std::cell::OnceCell;

pub use crate::jq::JqOptions;

/// How bad a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The item produced no entity (skipped or failed).
    Error,
    /// A field became null; the entity was still produced.
    Warning,
}

/// Something that went wrong while mapping one item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The mapping field, dotted: `identifier`, `properties.email`, `relations.groups`,
    /// `selector.query`, `itemsToParse`, ...
    pub field: String,
    /// What went wrong, lowercase.
    pub message: String,
    /// Whether the item was lost or only a field.
    pub severity: Severity,
}

/// One mapped entity.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedEntity {
    /// The entity.
    pub entity: Entity,
    /// Whether the selector accepted the item (always true from [`CompiledResource::map_item`]).
    pub passed_selector: bool,
}

/// The result of mapping one item: zero or more entities (more with `itemsToParse`) and problems.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemMapping {
    /// The entities, in order.
    pub entities: Vec<MappedEntity>,
    /// Everything that went wrong.
    pub problems: Vec<Problem>,
}

/// A port-app-config with every expression compiled.
#[derive(Debug, Clone)]
pub struct CompiledConfig {
    /// The file the config came from.
    pub file: String,
    /// `deleteDependentEntities`.
    pub delete_dependent_entities: bool,
    /// `createMissingRelatedEntities`.
    pub create_missing_related_entities: bool,
    /// `enableMergeEntity`.
    pub enable_merge_entity: bool,
    /// `entityDeletionThreshold`.
    pub entity_deletion_threshold: f64,
    /// The resources, in processing order.
    pub resources: Vec<CompiledResource>,
}

/// One compiled expression: its native form when there is one, else the jaq program.
///
/// Every expression is compiled by jaq (that is what validates it), but the program is kept
/// only when there is no native form: a compiled program carries jaq's whole standard library
/// (about 250 KB), which a mapping of forty plain paths would otherwise hold forty times.
#[derive(Debug, Clone)]
enum CExpr {
    Fast(Fast),
    Jaq(Program),
}

/// How outputs of an expression become one field value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Collect {
    /// First output; none or error → null + warning.
    First,
    /// All outputs as an array (a single array output is taken as is; nulls dropped).
    Many,
    /// First output; more than one → first + warning.
    Single,
    /// Blueprint unknown: 0 → null, 1 → it, n → array.
    Auto,
}

#[derive(Debug, Clone)]
enum CValue {
    Jq(CExpr),
    Search(CSearch),
}

#[derive(Debug, Clone)]
struct CSearch {
    combinator: CExpr,
    rules: Vec<CRule>,
}

#[derive(Debug, Clone)]
enum CRule {
    Rule { property: Box<CExpr>, operator: Box<CExpr>, value: Box<CExpr> },
    Query(CSearch),
}

/// A compiled `resources[]` entry.
#[derive(Debug, Clone)]
pub struct CompiledResource {
    config: ResourceConfig,
    selector: CExpr,
    items_to_parse: Option<(CExpr, Option<Vec<fast::Seg>>)>,
    identifier: CValue,
    title: Option<CExpr>,
    blueprint: CExpr,
    /// The blueprint when the mapping names it literally.
    literal_blueprint: Option<(String, Option<Blueprint>)>,
    blueprints: BlueprintSet,
    team: Option<CValue>,
    icon: Option<CExpr>,
    properties: Vec<(String, String, CExpr)>,
    relations: Vec<(String, String, CValue)>,
    /// How each property / relation collects outputs, when the blueprint is literal.
    property_modes: Vec<Collect>,
    relation_modes: Vec<Collect>,
    /// What the mapping reads, when every expression has a native form.
    projection: Option<project::Node>,
    /// Some expression goes through jaq: map on a large-stack thread.
    needs_jaq: bool,
}

impl CValue {
    fn exprs<'a>(&'a self, out: &mut Vec<&'a CExpr>) {
        match self {
            CValue::Jq(e) => out.push(e),
            CValue::Search(q) => q.exprs(out),
        }
    }
}

impl CSearch {
    fn exprs<'a>(&'a self, out: &mut Vec<&'a CExpr>) {
        out.push(&self.combinator);
        for r in &self.rules {
            match r {
                CRule::Rule { property, operator, value } => {
                    out.extend([&**property, &**operator, &**value])
                }
                CRule::Query(q) => q.exprs(out),
            }
        }
    }
}

struct Compiler<'a> {
    file: &'a str,
    opts: &'a JqOptions,
    diags: Vec<Diagnostic>,
}

impl Compiler<'_> {
    fn expr(&mut self, e: &Expr) -> Option<CExpr> {
        match Program::compile(&e.source, self.opts) {
            Ok(prog) => Some(match fast::parse(&jq::single_quotes(&e.source)) {
                Some(fast) => CExpr::Fast(fast),
                None => CExpr::Jaq(prog),
            }),
            Err(err) => {
                let mut at = e.at;
                if let (Some(line), Some(col)) = (err.line, err.col) {
                    // Point into the expression when it sits on one line of the file.
                    if line == 1 {
                        at.col += col - 1;
                    }
                }
                self.diags.push(Diagnostic {
                    file: self.file.to_owned(),
                    at,
                    path: e.path.clone(),
                    message: format!("jq expression does not compile: {}", err.message),
                });
                None
            }
        }
    }

    fn value(&mut self, v: &MappingValue) -> Option<CValue> {
        match v {
            MappingValue::Jq(e) => self.expr(e).map(CValue::Jq),
            MappingValue::Search(q) => self.search(q).map(CValue::Search),
        }
    }

    fn search(&mut self, q: &SearchQuery) -> Option<CSearch> {
        let combinator = self.expr(&q.combinator);
        let mut rules = Vec::new();
        let mut ok = true;
        for r in &q.rules {
            match r {
                SearchRule::Rule { property, operator, value } => {
                    let (p, o, v) = (self.expr(property), self.expr(operator), self.expr(value));
                    match (p, o, v) {
                        (Some(property), Some(operator), Some(value)) => rules.push(CRule::Rule {
                            property: Box::new(property),
                            operator: Box::new(operator),
                            value: Box::new(value),
                        }),
                        _ => ok = false,
                    }
                }
                SearchRule::Query(q) => match self.search(q) {
                    Some(s) => rules.push(CRule::Query(s)),
                    None => ok = false,
                },
            }
        }
        Some(CSearch { combinator: combinator?, rules }).filter(|_| ok)
    }

    fn resource(
        &mut self,
        r: &ResourceConfig,
        blueprints: &BlueprintSet,
    ) -> Option<CompiledResource> {
        let m = &r.port.mappings;
        let selector = self.expr(&r.selector.query);
        let items_to_parse = r.port.items_to_parse.as_ref().map(|e| {
            let compiled = self.expr(e);
            (compiled, deletion_path(&e.source))
        });
        let identifier = self.value(&m.identifier);
        let title = m.title.as_ref().map(|e| self.expr(e));
        let blueprint = self.expr(&m.blueprint);
        let team = m.team.as_ref().map(|v| self.value(v));
        let icon = m.icon.as_ref().map(|e| self.expr(e));
        let properties: Vec<_> =
            m.properties.iter().map(|(k, e)| (k.clone(), self.expr(e))).collect();
        let relations: Vec<_> =
            m.relations.iter().map(|(k, v)| (k.clone(), self.value(v))).collect();

        let blueprint = blueprint?;
        let literal_blueprint = match blueprint.fast().and_then(Fast::literal) {
            Some(Value::String(id)) => Some((id.clone(), blueprints.get(id).cloned())),
            _ => None,
        };
        let mut resource = CompiledResource {
            config: r.clone(),
            selector: selector?,
            items_to_parse: match items_to_parse {
                Some((Some(e), path)) => Some((e, path)),
                Some((None, _)) => return None,
                None => None,
            },
            identifier: identifier?,
            title: present(title)?,
            blueprint,
            literal_blueprint,
            blueprints: blueprints.clone(),
            team: present(team)?,
            icon: present(icon)?,
            properties: properties
                .into_iter()
                .map(|(k, e)| e.map(|e| (format!("properties.{k}"), k, e)))
                .collect::<Option<_>>()?,
            relations: relations
                .into_iter()
                .map(|(k, v)| v.map(|v| (format!("relations.{k}"), k, v)))
                .collect::<Option<_>>()?,
            projection: None,
            property_modes: Vec::new(),
            relation_modes: Vec::new(),
            needs_jaq: false,
        };
        resource.needs_jaq =
            resource.items_to_parse.as_ref().is_some_and(|(e, _)| e.fast().is_none())
                || resource.exprs().iter().any(|e| e.fast().is_none());
        resource.projection = resource.compute_projection();
        if let Some((_, bp)) = &resource.literal_blueprint {
            resource.property_modes = resource
                .properties
                .iter()
                .map(|(_, k, _)| property_collect(bp.as_ref(), k))
                .collect();
            resource.relation_modes =
                resource.relations.iter().map(|(_, k, _)| many_for(bp.as_ref(), k)).collect();
        }
        Some(resource)
    }
}

/// An optional field: unmapped is fine, mapped-but-failed-to-compile is not.
fn present<T>(x: Option<Option<T>>) -> Option<Option<T>> {
    match x {
        None => Some(None),
        Some(v) => v.map(Some),
    }
}

/// The source path `itemsToParse` reads, when it is a plain path (first pipe segment).
fn deletion_path(source: &str) -> Option<Vec<fast::Seg>> {
    let src = jq::single_quotes(source);
    let head = src.split('|').next()?.trim();
    let f = fast::parse(head)?;
    f.plain_path().map(|segs| segs.into_iter().cloned().collect())
}

/// Compile every expression of `config`; every compile error is reported, with its location.
pub fn compile(
    config: &PortAppConfig,
    blueprints: &BlueprintSet,
    opts: &JqOptions,
) -> Result<CompiledConfig, Diagnostics> {
    let mut c = Compiler { file: &config.file, opts, diags: Vec::new() };
    let resources: Vec<_> = config.resources.iter().map(|r| c.resource(r, blueprints)).collect();
    if !c.diags.is_empty() {
        return Err(Diagnostics(c.diags));
    }
    Ok(CompiledConfig {
        file: config.file.clone(),
        delete_dependent_entities: config.delete_dependent_entities,
        create_missing_related_entities: config.create_missing_related_entities,
        enable_merge_entity: config.enable_merge_entity,
        entity_deletion_threshold: config.entity_deletion_threshold,
        resources: resources.into_iter().flatten().collect(),
    })
}

/// The item being mapped: a `serde_json::Value`, or a projected [`Doc`] parsed from JSON text.
#[derive(Clone, Copy)]
enum Input<'a> {
    Value(&'a Value),
    Doc(&'a Doc<'a>),
}

/// Per-item evaluation state: the item and, lazily, its jaq form (converted at most once).
struct Item<'a> {
    input: Input<'a>,
    val: OnceCell<Result<Val, jq::EvalError>>,
}

impl<'a> Item<'a> {
    fn new(input: Input<'a>) -> Self {
        Self { input, val: OnceCell::new() }
    }

    fn val(&self) -> Result<Val, jq::EvalError> {
        self.val
            .get_or_init(|| match self.input {
                Input::Value(v) => jq::to_val(v),
                Input::Doc(d) => jq::to_val(&d.to_value()),
            })
            .clone()
    }
}

/// An output of a fast expression, owned, with its number literals spelled as jq prints them.
fn owned<V: View>(v: Cow<'_, V>) -> Value {
    let mut v = v.into_owned();
    jq::value::canonicalize_numbers(&mut v);
    v
}

/// Every output of a fast expression, as owned values.
fn fast_all<V: View>(f: &Fast, input: &V) -> Result<Vec<Value>, String> {
    let mut out = Vec::with_capacity(1);
    f.eval(input, &mut out).map_err(|e| e.0)?;
    Ok(out.into_iter().map(owned).collect())
}

/// The first output of a fast expression, owned.
fn fast_first<V: View>(f: &Fast, input: &V) -> Result<Option<Value>, String> {
    Ok(f.first(input).map_err(|e| e.0)?.map(owned))
}

impl CExpr {
    /// The native form, when there is one.
    fn fast(&self) -> Option<&Fast> {
        match self {
            CExpr::Fast(f) => Some(f),
            CExpr::Jaq(_) => None,
        }
    }

    /// The first output, or an error message (no output is an error here).
    fn first(&self, item: &Item<'_>) -> Result<Value, String> {
        let first = match (self, item.input) {
            (CExpr::Fast(f), Input::Value(v)) => fast_first(f, v)?,
            (CExpr::Fast(f), Input::Doc(d)) => fast_first(f, d)?,
            (CExpr::Jaq(prog), _) => {
                let input = item.val().map_err(|e| e.message)?;
                match prog.first_val(input).map_err(|e| e.message)? {
                    Some(v) => Some(jq::from_val(&v).map_err(|e| e.message)?),
                    None => None,
                }
            }
        };
        first.ok_or_else(|| "the expression yielded no output".to_owned())
    }

    /// Every output, or an error message.
    fn all(&self, item: &Item<'_>) -> Result<Vec<Value>, String> {
        match (self, item.input) {
            (CExpr::Fast(f), Input::Value(v)) => fast_all(f, v),
            (CExpr::Fast(f), Input::Doc(d)) => fast_all(f, d),
            (CExpr::Jaq(prog), _) => {
                let input = item.val().map_err(|e| e.message)?;
                let vals = prog.all_val(input).map_err(|e| e.message)?;
                vals.iter().map(jq::from_val).collect::<Result<Vec<_>, _>>().map_err(|e| e.message)
            }
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

struct Out {
    problems: Vec<Problem>,
}

impl Out {
    fn warn(&mut self, field: &str, message: String) {
        self.problems.push(Problem {
            field: field.to_owned(),
            message,
            severity: Severity::Warning,
        });
    }

    fn error(&mut self, field: &str, message: String) {
        self.problems.push(Problem { field: field.to_owned(), message, severity: Severity::Error });
    }

    /// A leaf: first output, null (with a warning) on error or no output.
    fn leaf(&mut self, field: &str, e: &CExpr, item: &Item<'_>) -> Value {
        match e.first(item) {
            Ok(v) => v,
            Err(msg) => {
                self.warn(field, msg);
                Value::Null
            }
        }
    }

    fn collect(&mut self, field: &str, e: &CExpr, item: &Item<'_>, how: Collect) -> Value {
        if how == Collect::First {
            return self.leaf(field, e, item);
        }
        let outs = match e.all(item) {
            Ok(v) => v,
            Err(msg) => {
                self.warn(field, msg);
                return Value::Null;
            }
        };
        match how {
            Collect::Many => {
                let mut outs: Vec<Value> = outs.into_iter().filter(|v| !v.is_null()).collect();
                if outs.len() == 1 && outs[0].is_array() {
                    return outs.pop().unwrap_or(Value::Null);
                }
                Value::Array(outs)
            }
            Collect::Single => {
                let n = outs.len();
                let mut it = outs.into_iter();
                match it.next() {
                    None => {
                        self.warn(field, "the expression yielded no output".into());
                        Value::Null
                    }
                    Some(v) => {
                        if n > 1 {
                            self.warn(
                                field,
                                format!("{n} outputs for a single relation; kept the first"),
                            );
                        }
                        v
                    }
                }
            }
            Collect::Auto | Collect::First => match outs.len() {
                0 => Value::Null,
                1 => outs.into_iter().next().unwrap_or(Value::Null),
                _ => Value::Array(outs),
            },
        }
    }

    fn search(&mut self, field: &str, q: &CSearch, item: &Item<'_>) -> Value {
        let mut obj = Map::new();
        obj.insert(
            "combinator".into(),
            self.leaf(&format!("{field}.combinator"), &q.combinator, item),
        );
        let rules = q
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| match r {
                CRule::Rule { property, operator, value } => {
                    let f = format!("{field}.rules[{i}]");
                    let mut rule = Map::new();
                    rule.insert(
                        "property".into(),
                        self.leaf(&format!("{f}.property"), property, item),
                    );
                    rule.insert(
                        "operator".into(),
                        self.leaf(&format!("{f}.operator"), operator, item),
                    );
                    rule.insert("value".into(), self.leaf(&format!("{f}.value"), value, item));
                    Value::Object(rule)
                }
                CRule::Query(q) => self.search(&format!("{field}.rules[{i}]"), q, item),
            })
            .collect();
        obj.insert("rules".into(), Value::Array(rules));
        Value::Object(obj)
    }

    /// identifier / blueprint: a non-empty string (numbers are stringified).
    fn key_string(&mut self, field: &str, v: Value) -> Option<String> {
        match v {
            Value::String(s) if !s.is_empty() => Some(s),
            Value::String(_) => {
                self.error(field, format!("{field} is empty; item skipped"));
                None
            }
            // Like jq's `tostring`: the number's (canonical) literal text.
            Value::Number(n) => Some(jq::value::canonical_literal(n.as_str()).into_owned()),
            other => {
                self.error(
                    field,
                    format!("{field} must be a string, got {}; item skipped", type_name(&other)),
                );
                None
            }
        }
    }
}

fn many_for(blueprint: Option<&Blueprint>, relation: &str) -> Collect {
    match blueprint {
        None => Collect::Auto,
        Some(b) => match b.relations.get(relation) {
            Some(r) if r.many => Collect::Many,
            Some(_) => Collect::Single,
            None => Collect::Auto,
        },
    }
}

fn property_collect(blueprint: Option<&Blueprint>, property: &str) -> Collect {
    let is_array = blueprint
        .and_then(|b| b.schema.properties.get(property))
        .is_some_and(|p| p.ty.as_deref() == Some("array"));
    if is_array { Collect::Many } else { Collect::First }
}

impl CompiledResource {
    fn compute_projection(&self) -> Option<project::Node> {
        if self.items_to_parse.is_some() {
            return None;
        }
        let mut node = project::Node::default();
        for e in self.exprs() {
            node.add_fast(e.fast()?);
        }
        Some(node)
    }

    /// Every expression of the entity mapping (not `itemsToParse`).
    fn exprs(&self) -> Vec<&CExpr> {
        let mut exprs = vec![&self.selector, &self.blueprint];
        self.identifier.exprs(&mut exprs);
        exprs.extend(self.title.iter().chain(self.icon.iter()));
        if let Some(t) = &self.team {
            t.exprs(&mut exprs);
        }
        exprs.extend(self.properties.iter().map(|(_, _, e)| e));
        for (_, _, v) in &self.relations {
            v.exprs(&mut exprs);
        }
        exprs
    }

    /// Parse one item from JSON text into the value [`Self::map_item`] expects.
    ///
    /// When every expression of the mapping has a native form, only the parts the mapping reads
    /// are built (the rest is skipped while parsing), so mapping the result gives the same
    /// entities as mapping the full item. Otherwise the full item is parsed.
    pub fn parse_item(&self, json: &[u8]) -> Result<Value, serde_json::Error> {
        match &self.projection {
            Some(node) => project::parse(json, node),
            None => serde_json::from_slice(json),
        }
    }

    /// Map one item given as JSON text, like [`Self::map_item`] on the parsed item.
    ///
    /// When every expression has a native form, the text is parsed into a [`Doc`] that holds
    /// only what the mapping reads and borrows its strings from `json`, and the expressions are
    /// evaluated on it directly: the fastest way through the engine. Otherwise the item is
    /// parsed in full and mapped with [`Self::map_item`].
    pub fn map_json(&self, json: &[u8]) -> Result<ItemMapping, serde_json::Error> {
        match &self.projection {
            Some(node) => {
                let doc = project::parse_doc(json, node)?;
                let mut result = ItemMapping::default();
                self.map_one(Input::Doc(&doc), false, &mut result);
                Ok(result)
            }
            None => Ok(self.map_item(&serde_json::from_slice(json)?)),
        }
    }

    /// The kind (`okta-user`, `okta-group`).
    pub fn kind(&self) -> &str {
        &self.config.kind
    }

    /// The resource config this was compiled from.
    pub fn config(&self) -> &ResourceConfig {
        &self.config
    }

    /// Whether the mapping may read the item's top-level `key` (always true when some
    /// expression goes through jaq, which may read anything).
    pub fn reads(&self, key: &str) -> bool {
        self.projection.as_ref().is_none_or(|p| p.reads(key))
    }

    /// What the mapping reads, when every expression has a native form (`None`: it may read
    /// anything).
    pub fn projection(&self) -> Option<&project::Node> {
        self.projection.as_ref()
    }

    /// Whether some expression goes through jaq (and so needs a large stack, see [`pool`]).
    pub fn needs_jaq(&self) -> bool {
        self.needs_jaq
    }

    /// The blueprint, when the mapping names it literally (`'"okta-user"'`).
    pub fn literal_blueprint(&self) -> Option<&str> {
        self.literal_blueprint.as_ref().map(|(id, _)| id.as_str())
    }

    /// Whether the identifier is exactly the item's Okta id (`.id`), so the entity key of an
    /// item is known even when its mapping fails.
    pub fn identifier_is_okta_id(&self) -> bool {
        let CValue::Jq(e) = &self.identifier else { return false };
        e.fast()
            .and_then(Fast::plain_path)
            .is_some_and(|p| matches!(p[..], [fast::Seg::Key(k)] if k == "id"))
    }

    /// The entity key `item` maps to, from the identifier and blueprint expressions alone (the
    /// selector and the other fields are not evaluated): how the entity of an object deleted in
    /// Okta is found from a stub such as `{"id": "00u1"}`.
    pub fn key_of(&self, item: &Value) -> Result<crate::model::EntityKey, String> {
        let run = || {
            let it = Item::new(Input::Value(item));
            let mut out = Out { problems: Vec::new() };
            let mut field = |name: &str, e: &CExpr| -> Result<String, String> {
                let v = e.first(&it)?;
                out.key_string(name, v).ok_or_else(|| {
                    out.problems.pop().map_or_else(|| format!("{name} is invalid"), |p| p.message)
                })
            };
            let CValue::Jq(id) = &self.identifier else {
                return Err("search-query identifiers are not supported yet".to_string());
            };
            let identifier = field("identifier", id)?;
            let blueprint = match &self.literal_blueprint {
                Some((bp, _)) => bp.clone(),
                None => field("blueprint", &self.blueprint)?,
            };
            Ok(crate::model::EntityKey { blueprint, identifier })
        };
        if !self.needs_jaq || pool::on_large_stack() {
            return run();
        }
        pool::spawn_large(run)
            .unwrap_or_else(|_| Err("internal error while evaluating the mapping".into()))
    }

    /// Map one item for a resync: entities rejected by the selector are left out.
    pub fn map_item(&self, item: &Value) -> ItemMapping {
        self.map(item, false)
    }

    /// Map one item for a live event: entities rejected by the selector are returned too, with
    /// `passed_selector = false`.
    pub fn map_item_all(&self, item: &Value) -> ItemMapping {
        self.map(item, true)
    }

    fn map(&self, item: &Value, parse_all: bool) -> ItemMapping {
        // jaq needs a large stack: on a pool worker (or a `pool::spawn_large` thread) map here,
        // elsewhere on a large-stack thread of its own.
        if !self.needs_jaq || pool::on_large_stack() {
            return self.map_here(item, parse_all);
        }
        pool::spawn_large(|| self.map_here(item, parse_all)).unwrap_or_else(|_| internal_error())
    }

    fn map_here(&self, item: &Value, parse_all: bool) -> ItemMapping {
        let mut result = ItemMapping::default();
        match &self.items_to_parse {
            None => self.map_one(Input::Value(item), parse_all, &mut result),
            Some((expr, path)) => {
                let it = Item::new(Input::Value(item));
                let mut out = Out { problems: Vec::new() };
                let arr = match expr.first(&it) {
                    Ok(Value::Array(a)) => Some(a),
                    Ok(other) => {
                        out.error(
                            "itemsToParse",
                            format!("itemsToParse must yield an array, got {}", type_name(&other)),
                        );
                        None
                    }
                    Err(msg) => {
                        out.error("itemsToParse", msg);
                        None
                    }
                };
                result.problems.append(&mut out.problems);
                let Some(arr) = arr else { return result };
                let Value::Object(obj) = item else {
                    result.problems.push(Problem {
                        field: "itemsToParse".into(),
                        message: format!(
                            "itemsToParse needs an object item, got {}",
                            type_name(item)
                        ),
                        severity: Severity::Error,
                    });
                    return result;
                };
                let mut base = obj.clone();
                if let Some(path) =
                    path.as_ref().filter(|_| self.config.port.items_to_parse_top_level_transform)
                {
                    delete_path(&mut base, path);
                }
                let name = &self.config.port.items_to_parse_name;
                for element in arr {
                    let mut copy = base.clone();
                    copy.insert(name.clone(), element);
                    self.map_one(Input::Value(&Value::Object(copy)), parse_all, &mut result);
                }
            }
        }
        result
    }

    fn map_one(&self, input: Input<'_>, parse_all: bool, result: &mut ItemMapping) {
        let item = Item::new(input);
        let mut out = Out { problems: Vec::new() };
        let entity = self.entity(&item, parse_all, &mut out);
        result.problems.append(&mut out.problems);
        if let Some(e) = entity {
            result.entities.push(e);
        }
    }

    fn entity(&self, item: &Item<'_>, parse_all: bool, out: &mut Out) -> Option<MappedEntity> {
        let passed = match self.selector.first(item) {
            Ok(Value::Bool(b)) => b,
            Ok(other) => {
                out.error(
                    "selector.query",
                    format!("selector must yield a boolean, got {}", type_name(&other)),
                );
                return None;
            }
            Err(msg) => {
                out.error("selector.query", msg);
                return None;
            }
        };
        if !passed && !parse_all {
            return None;
        }

        let identifier = match &self.identifier {
            CValue::Jq(e) => {
                let v = out.leaf("identifier", e, item);
                if v.is_null() {
                    out.error("identifier", "identifier is null; item skipped".into());
                    return None;
                }
                out.key_string("identifier", v)?
            }
            CValue::Search(_) => {
                out.error("identifier", "search-query identifiers are not supported yet".into());
                return None;
            }
        };
        let (blueprint_id, bp_owned);
        let blueprint: Option<&Blueprint> = match &self.literal_blueprint {
            Some((id, bp)) => {
                blueprint_id = id.clone();
                bp.as_ref()
            }
            None => {
                let v = out.leaf("blueprint", &self.blueprint, item);
                if v.is_null() {
                    out.error("blueprint", "blueprint is null; item skipped".into());
                    return None;
                }
                blueprint_id = out.key_string("blueprint", v)?;
                bp_owned = self.blueprints.get(&blueprint_id);
                bp_owned
            }
        };

        let title = self.title.as_ref().map(|e| out.leaf("title", e, item));
        let icon = self.icon.as_ref().map(|e| match out.leaf("icon", e, item) {
            v @ (Value::String(_) | Value::Null) => v,
            other => {
                out.warn(
                    "icon",
                    format!("icon must be a string, got {}; set to null", type_name(&other)),
                );
                Value::Null
            }
        });
        let team = self.team.as_ref().map(|t| match t {
            CValue::Jq(e) => match out.leaf("team", e, item) {
                v @ (Value::String(_) | Value::Null) => v,
                Value::Array(a) if a.iter().all(Value::is_string) => Value::Array(a),
                other => {
                    out.warn(
                        "team",
                        format!(
                            "team must be a string or an array of strings, got {}; set to null",
                            type_name(&other)
                        ),
                    );
                    Value::Null
                }
            },
            CValue::Search(q) => out.search("team", q, item),
        });
        let mut properties = Map::with_capacity(self.properties.len());
        let literal = self.literal_blueprint.is_some();
        for (i, (field, name, e)) in self.properties.iter().enumerate() {
            let how =
                if literal { self.property_modes[i] } else { property_collect(blueprint, name) };
            properties.insert(name.clone(), out.collect(field, e, item, how));
        }
        let mut relations = Map::with_capacity(self.relations.len());
        for (i, (field, name, v)) in self.relations.iter().enumerate() {
            let value = match v {
                CValue::Jq(e) => {
                    let how =
                        if literal { self.relation_modes[i] } else { many_for(blueprint, name) };
                    out.collect(field, e, item, how)
                }
                CValue::Search(q) => out.search(field, q, item),
            };
            relations.insert(name.clone(), value);
        }
        Some(MappedEntity {
            entity: Entity {
                identifier,
                title,
                blueprint: blueprint_id,
                team,
                icon,
                properties,
                relations,
            },
            passed_selector: passed,
        })
    }
}

/// The result of a mapping that panicked.
pub fn internal_error() -> ItemMapping {
    ItemMapping {
        entities: Vec::new(),
        problems: vec![Problem {
            field: String::new(),
            message: "internal error while evaluating the mapping; item skipped".into(),
            severity: Severity::Error,
        }],
    }
}

/// Remove a plain path from an object (missing steps leave it unchanged).
fn delete_path(obj: &mut Map<String, Value>, path: &[fast::Seg]) {
    let Some((last, init)) = path.split_last() else { return };
    let mut cur: &mut Value = match init.first() {
        None => {
            if let fast::Seg::Key(k) = last {
                obj.shift_remove(k);
            }
            return;
        }
        Some(fast::Seg::Key(k)) => match obj.get_mut(k) {
            Some(v) => v,
            None => return,
        },
        Some(_) => return,
    };
    for seg in &init[1..] {
        cur = match (seg, cur) {
            (fast::Seg::Key(k), Value::Object(o)) => match o.get_mut(k) {
                Some(v) => v,
                None => return,
            },
            (fast::Seg::Index(i), Value::Array(a)) => {
                let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                match usize::try_from(idx).ok().and_then(|i| a.get_mut(i)) {
                    Some(v) => v,
                    None => return,
                }
            }
            _ => return,
        };
    }
    match (last, cur) {
        (fast::Seg::Key(k), Value::Object(o)) => {
            o.shift_remove(k);
        }
        (fast::Seg::Index(i), Value::Array(a)) => {
            let idx = if *i < 0 { a.len() as i64 + i } else { *i };
            if let Some(i) = usize::try_from(idx).ok().filter(|i| *i < a.len()) {
                a.remove(i);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
