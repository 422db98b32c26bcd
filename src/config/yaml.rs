//! A small YAML tree that remembers where every node was written.
//!
//! Built from yaml-rust2's event parser (which gives a line/column per event) so the config
//! loader can name `file:line:col` for every problem. Only what a mapping needs is modelled:
//! scalars (with their style, so `'true'` and `true` can be told apart), sequences, and
//! mappings whose keys are scalars. Anchors and aliases are resolved by copying; tags are
//! ignored except `!!str`, which forces a string.

use crate::diag::Location;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

/// How deep collections may nest before the file is rejected (keeps the recursive walk safe).
const MAX_DEPTH: usize = 128;

/// Upper bound on nodes created through aliases, against "billion laughs" documents.
const MAX_ALIAS_NODES: usize = 100_000;

/// One YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// Where the node starts (1-based line and column).
    pub at: Location,
    /// What the node is.
    pub kind: NodeKind,
}

/// The shape of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeKind {
    /// A scalar, unresolved: its text and whether it was written plain (unquoted).
    Scalar {
        /// The scalar's value after unescaping.
        text: String,
        /// True for plain scalars, whose type is resolved from the text (`true`, `1.5`, `null`).
        plain: bool,
    },
    /// A sequence, in order.
    Seq(Vec<Node>),
    /// A mapping, entries in file order; duplicate keys are kept for the loader to report.
    Map(Vec<(Key, Node)>),
}

/// A mapping key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key {
    /// The key text.
    pub name: String,
    /// Where the key is written.
    pub at: Location,
}

/// What a scalar means under YAML 1.2's core schema.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Resolved {
    /// `null`, `~`, or nothing.
    Null,
    /// `true` / `false` (any case form the core schema allows).
    Bool(bool),
    /// An integer or float.
    Number(f64),
    /// Anything else, and every quoted scalar.
    Str,
}

impl Node {
    /// Resolves a scalar per YAML 1.2's core schema; `None` for collections.
    pub fn resolved(&self) -> Option<Resolved> {
        match &self.kind {
            NodeKind::Scalar { text, plain: true } => Some(resolve_plain(text)),
            NodeKind::Scalar { plain: false, .. } => Some(Resolved::Str),
            _ => None,
        }
    }

    /// The node as JSON (core-schema scalars; integers stay integers).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => {
                Value::Object(entries.iter().map(|(k, v)| (k.name.clone(), v.to_json())).collect())
            }
            NodeKind::Scalar { text, .. } => match self.resolved() {
                Some(Resolved::Null) => Value::Null,
                Some(Resolved::Bool(b)) => Value::Bool(b),
                Some(Resolved::Number(n)) => text
                    .parse::<i64>()
                    .map(Value::from)
                    .ok()
                    .or_else(|| serde_json::Number::from_f64(n).map(Value::Number))
                    .unwrap_or_else(|| Value::String(text.clone())),
                _ => Value::String(text.clone()),
            },
        }
    }

    /// "a string", "a mapping", … for messages.
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
            NodeKind::Scalar { .. } => match self.resolved() {
                Some(Resolved::Null) => "null",
                Some(Resolved::Bool(_)) => "a boolean",
                Some(Resolved::Number(_)) => "a number",
                _ => "a string",
            },
        }
    }
}

/// Resolves a plain scalar's text: null, bool, number, or string.
pub(crate) fn resolve_plain(text: &str) -> Resolved {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Number(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Number(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Number(f64::NAN),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(v) = i64::from_str_radix(hex, 16) {
            return Resolved::Number(v as f64);
        }
        return Resolved::Str;
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(v) = i64::from_str_radix(oct, 8) {
            return Resolved::Number(v as f64);
        }
        return Resolved::Str;
    }
    if looks_numeric(text)
        && let Ok(v) = text.parse::<f64>()
    {
        return Resolved::Number(v);
    }
    Resolved::Str
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` without a regex engine.
fn looks_numeric(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - s;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    i == b.len()
}

/// A YAML problem: where, and what.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct YamlError {
    /// Where the problem is.
    pub at: Location,
    /// What is wrong, lowercase.
    pub message: String,
}

/// Parses the first document of `text`. `Ok(None)` for an empty stream.
pub(crate) fn parse(text: &str) -> Result<Option<Node>, YamlError> {
    let mut b = Builder { parser: Parser::new_from_str(text), anchors: Vec::new(), alias_nodes: 0 };
    b.document()
}

struct Builder<'a> {
    parser: Parser<std::str::Chars<'a>>,
    anchors: Vec<(usize, Node)>,
    alias_nodes: usize,
}

fn loc(m: &Marker) -> Location {
    Location { line: m.line().max(1), col: m.col() + 1 }
}

fn scan_error(e: &ScanError) -> YamlError {
    YamlError { at: loc(e.marker()), message: format!("invalid YAML: {}", e.info()) }
}

impl Builder<'_> {
    fn next(&mut self) -> Result<(Event, Marker), YamlError> {
        self.parser.next_token().map_err(|e| scan_error(&e))
    }

    fn document(&mut self) -> Result<Option<Node>, YamlError> {
        let (ev, _) = self.next()?;
        if ev != Event::StreamStart {
            return Err(YamlError {
                at: Location { line: 1, col: 1 },
                message: "invalid YAML".into(),
            });
        }
        let (ev, _) = self.next()?;
        match ev {
            Event::StreamEnd => return Ok(None),
            Event::DocumentStart => {}
            _ => {
                return Err(YamlError {
                    at: Location { line: 1, col: 1 },
                    message: "invalid YAML: expected a document".into(),
                });
            }
        }
        let (ev, mark) = self.next()?;
        let node = self.node(ev, mark, 0)?;
        let (ev, _) = self.next()?;
        if ev != Event::DocumentEnd {
            return Err(YamlError {
                at: node.at,
                message: "invalid YAML: unexpected content".into(),
            });
        }
        let (ev, mark) = self.next()?;
        match ev {
            Event::StreamEnd => Ok(Some(node)),
            _ => Err(YamlError {
                at: loc(&mark),
                message: "the file holds more than one YAML document; a config is one document"
                    .into(),
            }),
        }
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
    }

    fn node(&mut self, ev: Event, mark: Marker, depth: usize) -> Result<Node, YamlError> {
        let at = loc(&mark);
        if depth > MAX_DEPTH {
            return Err(YamlError {
                at,
                message: format!("nesting deeper than {MAX_DEPTH} levels is not supported"),
            });
        }
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let forced_str = tag
                    .as_ref()
                    .is_some_and(|t| t.suffix == "str" || t.suffix == "tag:yaml.org,2002:str");
                let plain = style == TScalarStyle::Plain && !forced_str;
                let node = Node { at, kind: NodeKind::Scalar { text, plain } };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (ev, mark) = self.next()?;
                    if ev == Event::SequenceEnd {
                        break;
                    }
                    items.push(self.node(ev, mark, depth + 1)?);
                }
                let node = Node { at, kind: NodeKind::Seq(items) };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::MappingStart(anchor, _) => {
                let mut entries = Vec::new();
                loop {
                    let (ev, mark) = self.next()?;
                    if ev == Event::MappingEnd {
                        break;
                    }
                    let key_node = self.node(ev, mark, depth + 1)?;
                    let key = match key_node.kind {
                        NodeKind::Scalar { text, .. } => Key { name: text, at: key_node.at },
                        _ => {
                            return Err(YamlError {
                                at: key_node.at,
                                message: "mapping keys must be plain strings".into(),
                            });
                        }
                    };
                    let (ev, mark) = self.next()?;
                    let value = self.node(ev, mark, depth + 1)?;
                    entries.push((key, value));
                }
                // A block mapping's start event is reported after its first key (at the colon);
                // name the first key instead, which is where a reader looks.
                let at = match entries.first() {
                    Some((k, _)) if (k.at.line, k.at.col) < (at.line, at.col) => k.at,
                    _ => at,
                };
                let node = Node { at, kind: NodeKind::Map(entries) };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::Alias(id) => {
                let found = self.anchors.iter().rev().find(|(a, _)| *a == id).map(|(_, n)| n);
                match found {
                    Some(n) => {
                        self.alias_nodes = self.alias_nodes.saturating_add(count_nodes(n));
                        if self.alias_nodes > MAX_ALIAS_NODES {
                            return Err(YamlError {
                                at,
                                message: "aliases expand to too many nodes".into(),
                            });
                        }
                        let mut n = n.clone();
                        n.at = at;
                        Ok(n)
                    }
                    None => Err(YamlError { at, message: "invalid YAML: unknown alias".into() }),
                }
            }
            _ => Err(YamlError { at, message: "invalid YAML: unexpected event".into() }),
        }
    }
}

fn count_nodes(n: &Node) -> usize {
    match &n.kind {
        NodeKind::Scalar { .. } => 1,
        NodeKind::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        NodeKind::Map(entries) => {
            1 + entries.iter().map(|(_, v)| 1 + count_nodes(v)).sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(text: &str) -> NodeKind {
        NodeKind::Scalar { text: text.into(), plain: true }
    }

    #[test]
    fn resolves_core_schema_scalars() {
        assert_eq!(resolve_plain(""), Resolved::Null);
        assert_eq!(resolve_plain("~"), Resolved::Null);
        assert_eq!(resolve_plain("True"), Resolved::Bool(true));
        assert_eq!(resolve_plain("false"), Resolved::Bool(false));
        assert_eq!(resolve_plain("yes"), Resolved::Str);
        assert_eq!(resolve_plain("0.9"), Resolved::Number(0.9));
        assert_eq!(resolve_plain("1"), Resolved::Number(1.0));
        assert_eq!(resolve_plain("-1e3"), Resolved::Number(-1000.0));
        assert_eq!(resolve_plain(".5"), Resolved::Number(0.5));
        assert_eq!(resolve_plain("0x1F"), Resolved::Number(31.0));
        assert_eq!(resolve_plain("inf"), Resolved::Str);
        assert_eq!(resolve_plain("nan"), Resolved::Str);
        assert_eq!(resolve_plain(".id"), Resolved::Str);
        assert_eq!(resolve_plain("1.2.3"), Resolved::Str);
        assert_eq!(resolve_plain("e5"), Resolved::Str);
    }

    #[test]
    fn records_positions() {
        let doc = "a: 1\nb:\n  - x\n  - 'y'\n";
        let node = parse(doc).unwrap().unwrap();
        let NodeKind::Map(entries) = &node.kind else { panic!("not a map") };
        assert_eq!(entries[0].0.name, "a");
        assert_eq!(entries[0].0.at, Location { line: 1, col: 1 });
        assert_eq!(entries[0].1.at, Location { line: 1, col: 4 });
        let NodeKind::Seq(items) = &entries[1].1.kind else { panic!("not a seq") };
        assert_eq!(items[0].kind, scalar("x"));
        assert_eq!(items[0].at, Location { line: 3, col: 5 });
        assert_eq!(items[1].kind, NodeKind::Scalar { text: "y".into(), plain: false });
        assert_eq!(items[1].at, Location { line: 4, col: 5 });
    }

    #[test]
    fn resolves_aliases_and_rejects_deep_nesting() {
        let node = parse("a: &x [1]\nb: *x\n").unwrap().unwrap();
        let NodeKind::Map(entries) = &node.kind else { panic!("not a map") };
        assert!(matches!(&entries[1].1.kind, NodeKind::Seq(v) if v.len() == 1));
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn empty_stream_and_multiple_documents() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("# only a comment\n").unwrap(), None);
        let err = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(err.message.contains("more than one"), "{err:?}");
    }
}
