//! YAML text → [`PortAppConfig`], collecting every problem with its line, column and field path.
//!
//! The rules are Ocean's (`PortAppConfig` and the Okta `ResourceConfig` union), with two
//! deliberate differences: unknown keys are errors everywhere (Ocean silently drops them, so a
//! typo such as `includeGroups` would quietly fall back to a default), and scalar coercions are
//! listed explicitly in `docs/configuration.md`.

use super::model::{
    EntityMappings, Expr, MappingValue, PortAppConfig, PortResourceConfig, ResourceConfig,
    SearchQuery, SearchRule, Selector,
};
use super::yaml::{self, Key, Node, NodeKind, Resolved};
use crate::diag::{Diagnostic, Diagnostics, Location};

/// The kinds this integration can export (Ocean's Okta `ResourceConfig` union).
pub const KINDS: [&str; 2] = ["okta-user", "okta-group"];

const TOP_KEYS: &[&str] = &[
    "deleteDependentEntities",
    "createMissingRelatedEntities",
    "enableMergeEntity",
    "entityDeletionThreshold",
    "resources",
];
const RESOURCE_KEYS: &[&str] = &["kind", "selector", "port"];
const USER_SELECTOR_KEYS: &[&str] =
    &["query", "exportEnvVariables", "include_groups", "include_applications", "fields"];
const BASE_SELECTOR_KEYS: &[&str] = &["query", "exportEnvVariables"];
const PORT_KEYS: &[&str] =
    &["entity", "itemsToParse", "itemsToParseName", "itemsToParseTopLevelTransform"];
const ENTITY_KEYS: &[&str] = &["mappings"];
const MAPPING_KEYS: &[&str] =
    &["identifier", "title", "blueprint", "team", "icon", "properties", "relations"];
const QUERY_KEYS: &[&str] = &["combinator", "rules"];
const RULE_KEYS: &[&str] = &["property", "operator", "value"];

/// Parses a port-app-config from YAML text; `file_name` is used in diagnostics only.
pub fn parse_str(file_name: &str, text: &str) -> Result<PortAppConfig, Diagnostics> {
    let mut cx = Cx { file: file_name, diags: Vec::new() };
    // Editors do not show a byte-order mark, so columns are counted without it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let root = match yaml::parse(text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            cx.err(Location { line: 1, col: 1 }, "", "the config is empty".into());
            return Err(Diagnostics(cx.diags));
        }
        Err(e) => {
            cx.err(e.at, "", e.message);
            return Err(Diagnostics(cx.diags));
        }
    };
    let config = cx.config(&root);
    if cx.diags.is_empty()
        && let Some(config) = config
    {
        return Ok(config);
    }
    if cx.diags.is_empty() {
        // Unreachable by construction; never hand back a config we could not build.
        cx.err(root.at, "", "the config could not be read".into());
    }
    // Report in file order; problems at one spot keep the order they were found in.
    cx.diags.sort_by_key(|d| (d.at.line, d.at.col));
    Err(Diagnostics(cx.diags))
}

/// Collects diagnostics while walking the tree.
struct Cx<'f> {
    file: &'f str,
    diags: Vec<Diagnostic>,
}

/// A mapping node's entries, checked for unknown and duplicate keys.
struct Fields<'n> {
    entries: &'n [(Key, Node)],
    at: Location,
    path: String,
}

impl<'n> Fields<'n> {
    fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    fn child(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

impl Cx<'_> {
    fn err(&mut self, at: Location, path: &str, message: String) {
        self.diags.push(Diagnostic {
            file: self.file.to_string(),
            at,
            path: path.to_string(),
            message,
        });
    }

    /// Checks that `node` is a mapping; reports unknown keys (with a hint) and duplicates.
    fn fields<'n>(&mut self, node: &'n Node, path: &str, allowed: &[&str]) -> Option<Fields<'n>> {
        self.fields_explained(node, path, allowed, |_| None)
    }

    /// [`Self::fields`], where `explain` may give a specific reason a key is not allowed here.
    fn fields_explained<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        allowed: &[&str],
        explain: impl Fn(&str) -> Option<String>,
    ) -> Option<Fields<'n>> {
        let entries = self.map_entries(node, path)?;
        for (i, (key, _)) in entries.iter().enumerate() {
            if !allowed.contains(&key.name.as_str()) {
                let message = match (explain(&key.name), suggest(&key.name, allowed)) {
                    (Some(reason), _) => reason,
                    (None, Some(s)) => format!("unknown key `{}`, did you mean `{s}`?", key.name),
                    (None, None) => format!(
                        "unknown key `{}` (expected one of {})",
                        key.name,
                        allowed.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                    ),
                };
                self.err(key.at, &join(path, &key.name), message);
            }
            self.check_duplicate(entries, i, path);
        }
        Some(Fields { entries, at: node.at, path: path.to_string() })
    }

    /// Checks that `node` is a mapping and reports duplicate keys; any key name is allowed.
    fn map_entries<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [(Key, Node)]> {
        match &node.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => {
                self.err(node.at, path, format!("expected a mapping, found {}", node.describe()));
                None
            }
        }
    }

    fn check_duplicate(&mut self, entries: &[(Key, Node)], i: usize, path: &str) {
        let key = &entries[i].0;
        if let Some((first, _)) = entries[..i].iter().find(|(k, _)| k.name == key.name) {
            let message =
                format!("duplicate key `{}` (first set on line {})", key.name, first.at.line);
            self.err(key.at, &join(path, &key.name), message);
        }
    }

    fn missing(&mut self, f: &Fields<'_>, key: &str) {
        self.err(f.at, &f.child(key), format!("missing required field `{key}`"));
    }

    /// A boolean with pydantic v1's coercions (`"yes"`, `"0"`, `1`, …); `default` when absent.
    fn bool_field(&mut self, f: &Fields<'_>, key: &str, default: bool) -> bool {
        let Some(node) = f.get(key) else { return default };
        let path = f.child(key);
        match (node.resolved(), &node.kind) {
            (Some(Resolved::Bool(b)), _) => b,
            (Some(Resolved::Number(n)), _) if n == 0.0 || n == 1.0 => n == 1.0,
            (Some(Resolved::Str), NodeKind::Scalar { text, .. }) => {
                match text.trim().to_ascii_lowercase().as_str() {
                    "1" | "on" | "t" | "true" | "y" | "yes" => true,
                    "0" | "off" | "f" | "false" | "n" | "no" => false,
                    _ => {
                        self.err(node.at, &path, format!("expected a boolean, found {text:?}"));
                        default
                    }
                }
            }
            _ => {
                self.err(node.at, &path, format!("expected a boolean, found {}", node.describe()));
                default
            }
        }
    }

    /// A plain string value (not jq); `None` when absent or null.
    fn string_field(&mut self, f: &Fields<'_>, key: &str) -> Option<String> {
        let node = f.get(key)?;
        match (node.resolved(), &node.kind) {
            (Some(Resolved::Null), _) => None,
            (Some(_), NodeKind::Scalar { text, .. }) => Some(text.clone()),
            _ => {
                let path = f.child(key);
                self.err(node.at, &path, format!("expected a string, found {}", node.describe()));
                None
            }
        }
    }

    /// A jq expression; booleans and numbers written unquoted become their jq text.
    fn expr(&mut self, node: &Node, path: &str) -> Option<Expr> {
        match (node.resolved(), &node.kind) {
            (Some(Resolved::Null), _) => {
                self.err(
                    node.at,
                    path,
                    "expected a jq expression, found null (write 'null' in quotes for jq's null)"
                        .into(),
                );
                None
            }
            (Some(_), NodeKind::Scalar { text, .. }) => {
                Some(Expr { source: text.clone(), at: node.at, path: path.to_string() })
            }
            _ => {
                let message =
                    format!("expected a jq expression (a string), found {}", node.describe());
                self.err(node.at, path, message);
                None
            }
        }
    }

    /// An optional jq field: absent or null means not set.
    fn opt_expr(&mut self, f: &Fields<'_>, key: &str) -> Option<Expr> {
        let node = f.get(key)?;
        if node.resolved() == Some(Resolved::Null) {
            return None;
        }
        self.expr(node, &f.child(key))
    }

    /// A jq expression or a search-query object.
    fn mapping_value(&mut self, node: &Node, path: &str) -> Option<MappingValue> {
        match &node.kind {
            NodeKind::Map(_) => self.search_query(node, path, 0).map(MappingValue::Search),
            NodeKind::Seq(_) => {
                let message = format!(
                    "expected a jq expression or a search query ({{combinator, rules}}), found {}",
                    node.describe()
                );
                self.err(node.at, path, message);
                None
            }
            NodeKind::Scalar { .. } => self.expr(node, path).map(MappingValue::Jq),
        }
    }

    fn search_query(&mut self, node: &Node, path: &str, depth: usize) -> Option<SearchQuery> {
        let f = self.fields(node, path, QUERY_KEYS)?;
        let combinator = match f.get("combinator") {
            Some(n) => self.expr(n, &f.child("combinator")),
            None => {
                self.missing(&f, "combinator");
                None
            }
        };
        let mut rules = Vec::new();
        let mut rules_ok = true;
        match f.get("rules") {
            None => {
                self.missing(&f, "rules");
                rules_ok = false;
            }
            Some(n) => match &n.kind {
                NodeKind::Seq(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let p = format!("{}[{i}]", f.child("rules"));
                        match self.rule(item, &p, depth) {
                            Some(r) => rules.push(r),
                            None => rules_ok = false,
                        }
                    }
                }
                _ => {
                    let message = format!("expected a list of rules, found {}", n.describe());
                    self.err(n.at, &f.child("rules"), message);
                    rules_ok = false;
                }
            },
        }
        let combinator = combinator?;
        rules_ok.then_some(SearchQuery { combinator, rules })
    }

    fn rule(&mut self, node: &Node, path: &str, depth: usize) -> Option<SearchRule> {
        let NodeKind::Map(entries) = &node.kind else {
            let message = format!(
                "expected a rule ({{property, operator, value}}) or a nested query, found {}",
                node.describe()
            );
            self.err(node.at, path, message);
            return None;
        };
        if entries.iter().any(|(k, _)| k.name == "combinator" || k.name == "rules") {
            return self.search_query(node, path, depth + 1).map(SearchRule::Query);
        }
        let f = self.fields(node, path, RULE_KEYS)?;
        let part = |cx: &mut Self, key: &str| match f.get(key) {
            Some(n) => cx.expr(n, &f.child(key)),
            None => {
                cx.missing(&f, key);
                None
            }
        };
        let property = part(self, "property");
        let operator = part(self, "operator");
        let value = part(self, "value");
        Some(SearchRule::Rule { property: property?, operator: operator?, value: value? })
    }

    fn config(&mut self, root: &Node) -> Option<PortAppConfig> {
        let f = self.fields(root, "", TOP_KEYS)?;
        let delete_dependent_entities = self.bool_field(&f, "deleteDependentEntities", true);
        let create_missing_related_entities =
            self.bool_field(&f, "createMissingRelatedEntities", true);
        let enable_merge_entity = self.bool_field(&f, "enableMergeEntity", true);
        let entity_deletion_threshold = self.threshold(&f);
        let mut resources = Vec::new();
        let mut ok = true;
        if let Some(node) = f.get("resources") {
            match &node.kind {
                NodeKind::Seq(items) => {
                    for (i, item) in items.iter().enumerate() {
                        match self.resource(item, &format!("resources[{i}]")) {
                            Some(r) => resources.push(r),
                            None => ok = false,
                        }
                    }
                }
                _ if node.resolved() == Some(Resolved::Null) => {}
                _ => {
                    let message =
                        format!("expected a list of resources, found {}", node.describe());
                    self.err(node.at, "resources", message);
                }
            }
        }
        ok.then_some(PortAppConfig {
            file: self.file.to_string(),
            delete_dependent_entities,
            create_missing_related_entities,
            enable_merge_entity,
            entity_deletion_threshold,
            resources,
        })
    }

    fn threshold(&mut self, f: &Fields<'_>) -> f64 {
        const DEFAULT: f64 = 0.9;
        let key = "entityDeletionThreshold";
        let Some(node) = f.get(key) else { return DEFAULT };
        let path = f.child(key);
        // A quoted number is accepted too, as pydantic's float coercion does.
        let number = match (node.resolved(), &node.kind) {
            (Some(Resolved::Number(n)), _) => Some(n),
            (Some(Resolved::Str), NodeKind::Scalar { text, .. }) => {
                match yaml::resolve_plain(text.trim()) {
                    Resolved::Number(n) => Some(n),
                    _ => None,
                }
            }
            _ => None,
        };
        let Some(value) = number else {
            self.err(node.at, &path, format!("expected a number, found {}", node.describe()));
            return DEFAULT;
        };
        if !(0.0..=1.0).contains(&value) {
            self.err(node.at, &path, format!("must be between 0 and 1, found {value}"));
            return DEFAULT;
        }
        value
    }

    fn resource(&mut self, node: &Node, path: &str) -> Option<ResourceConfig> {
        let f = self.fields(node, path, RESOURCE_KEYS)?;
        let kind = match f.get("kind") {
            None => {
                self.missing(&f, "kind");
                None
            }
            Some(n) => match (n.resolved(), &n.kind) {
                (Some(Resolved::Str), NodeKind::Scalar { text, .. }) => {
                    if KINDS.contains(&text.as_str()) {
                        Some(text.clone())
                    } else {
                        let hint = match suggest(text, &KINDS) {
                            Some(s) => format!(", did you mean `{s}`?"),
                            None => String::new(),
                        };
                        let message = format!(
                            "unknown kind `{text}`{hint} (this integration exports `okta-user` and `okta-group`)"
                        );
                        self.err(n.at, &f.child("kind"), message);
                        None
                    }
                }
                _ => {
                    let message = format!("expected a string, found {}", n.describe());
                    self.err(n.at, &f.child("kind"), message);
                    None
                }
            },
        };
        let selector = match f.get("selector") {
            None => {
                self.missing(&f, "selector");
                None
            }
            Some(n) => self.selector(n, &f.child("selector"), kind.as_deref()),
        };
        let port = match f.get("port") {
            None => {
                self.missing(&f, "port");
                None
            }
            Some(n) => self.port(n, &f.child("port")),
        };
        Some(ResourceConfig { kind: kind?, selector: selector?, port: port? })
    }

    fn selector(&mut self, node: &Node, path: &str, kind: Option<&str>) -> Option<Selector> {
        // The Okta extras exist on the user selector only; with an unknown kind accept them.
        let group = kind == Some("okta-group");
        let allowed = if group { BASE_SELECTOR_KEYS } else { USER_SELECTOR_KEYS };
        let f = self.fields_explained(node, path, allowed, |key| {
            (group && USER_SELECTOR_KEYS.contains(&key))
                .then(|| format!("`{key}` applies to `okta-user` resources only"))
        })?;
        let query = match f.get("query") {
            Some(n) => self.expr(n, &f.child("query")),
            None => {
                self.missing(&f, "query");
                None
            }
        };
        if let Some(n) = f.get("exportEnvVariables") {
            self.string_list(n, &f.child("exportEnvVariables"));
        }
        let include_groups = self.bool_field(&f, "include_groups", true);
        let include_applications = self.bool_field(&f, "include_applications", true);
        let fields = self.string_field(&f, "fields");
        Some(Selector { query: query?, include_groups, include_applications, fields })
    }

    /// Validates a list of strings (accepted for compatibility, unused by this integration).
    fn string_list(&mut self, node: &Node, path: &str) {
        match &node.kind {
            NodeKind::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    if !matches!(item.kind, NodeKind::Scalar { .. }) {
                        let message = format!("expected a string, found {}", item.describe());
                        self.err(item.at, &format!("{path}[{i}]"), message);
                    }
                }
            }
            _ if node.resolved() == Some(Resolved::Null) => {}
            _ => {
                let message = format!("expected a list of strings, found {}", node.describe());
                self.err(node.at, path, message);
            }
        }
    }

    fn port(&mut self, node: &Node, path: &str) -> Option<PortResourceConfig> {
        let f = self.fields(node, path, PORT_KEYS)?;
        let mappings = match f.get("entity") {
            None => {
                self.missing(&f, "entity");
                None
            }
            Some(n) => {
                let entity_path = f.child("entity");
                match self.fields(n, &entity_path, ENTITY_KEYS) {
                    None => None,
                    Some(ef) => match ef.get("mappings") {
                        None => {
                            self.missing(&ef, "mappings");
                            None
                        }
                        Some(m) => self.mappings(m, &ef.child("mappings")),
                    },
                }
            }
        };
        let items_to_parse = self.opt_expr(&f, "itemsToParse");
        let items_to_parse_name = match self.string_field(&f, "itemsToParseName") {
            Some(name) if name.is_empty() => {
                let at = f.get("itemsToParseName").map_or(f.at, |n| n.at);
                self.err(at, &f.child("itemsToParseName"), "must not be empty".into());
                "item".to_string()
            }
            Some(name) => name,
            None => "item".to_string(),
        };
        let items_to_parse_top_level_transform =
            self.bool_field(&f, "itemsToParseTopLevelTransform", true);
        Some(PortResourceConfig {
            mappings: mappings?,
            items_to_parse,
            items_to_parse_name,
            items_to_parse_top_level_transform,
        })
    }

    fn mappings(&mut self, node: &Node, path: &str) -> Option<EntityMappings> {
        if let NodeKind::Seq(_) = node.kind {
            self.err(
                node.at,
                path,
                "expected a mapping, found a list (`mappings` is a single object, not a list)"
                    .into(),
            );
            return None;
        }
        let f = self.fields(node, path, MAPPING_KEYS)?;
        let identifier = match f.get("identifier") {
            Some(n) if n.resolved() != Some(Resolved::Null) => {
                self.mapping_value(n, &f.child("identifier"))
            }
            _ => {
                self.missing(&f, "identifier");
                None
            }
        };
        let blueprint = match f.get("blueprint") {
            Some(n) if n.resolved() != Some(Resolved::Null) => self.expr(n, &f.child("blueprint")),
            _ => {
                self.missing(&f, "blueprint");
                None
            }
        };
        let title = self.opt_expr(&f, "title");
        let icon = self.opt_expr(&f, "icon");
        let team = match f.get("team") {
            Some(n) if n.resolved() != Some(Resolved::Null) => {
                self.mapping_value(n, &f.child("team"))
            }
            _ => None,
        };
        let mut ok = true;
        let mut properties = Vec::new();
        if let Some(n) = f.get("properties") {
            let ppath = f.child("properties");
            if n.resolved() != Some(Resolved::Null)
                && let Some(entries) = self.map_entries(n, &ppath)
            {
                for (i, (key, value)) in entries.iter().enumerate() {
                    self.check_duplicate(entries, i, &ppath);
                    match self.expr(value, &join(&ppath, &key.name)) {
                        Some(e) => properties.push((key.name.clone(), e)),
                        None => ok = false,
                    }
                }
            }
        }
        let mut relations = Vec::new();
        if let Some(n) = f.get("relations") {
            let rpath = f.child("relations");
            if n.resolved() != Some(Resolved::Null)
                && let Some(entries) = self.map_entries(n, &rpath)
            {
                for (i, (key, value)) in entries.iter().enumerate() {
                    self.check_duplicate(entries, i, &rpath);
                    match self.mapping_value(value, &join(&rpath, &key.name)) {
                        Some(v) => relations.push((key.name.clone(), v)),
                        None => ok = false,
                    }
                }
            }
        }
        if !ok {
            return None;
        }
        Some(EntityMappings {
            identifier: identifier?,
            title,
            blueprint: blueprint?,
            team,
            icon,
            properties,
            relations,
        })
    }
}

/// The closest of `candidates` to `word`, if close enough to be a likely typo.
///
/// Compares case-insensitively with `_` and `-` removed first (so `includeGroups` finds
/// `include_groups`), then by edit distance.
pub fn suggest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let norm = |s: &str| -> String {
        s.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect()
    };
    let w = norm(word);
    let mut best: Option<(usize, &'c str)> = None;
    for c in candidates {
        let d = levenshtein(&w, &norm(c));
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let (d, c) = best?;
    let limit = (w.chars().count().max(c.len()) / 3).max(1);
    (d <= limit).then_some(c)
}

/// Edit distance counting insertions, deletions, substitutions and adjacent transpositions
/// (optimal string alignment), so `qurey` is one edit from `query`.
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(suggest("includeGroups", USER_SELECTOR_KEYS), Some("include_groups"));
        assert_eq!(suggest("qurey", USER_SELECTOR_KEYS), Some("query"));
        assert_eq!(suggest("identifer", MAPPING_KEYS), Some("identifier"));
        assert_eq!(suggest("okta-users", &KINDS), Some("okta-user"));
        assert_eq!(suggest("completely-different", MAPPING_KEYS), None);
    }

    #[test]
    fn levenshtein_basics() {
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("same", "same"), 0);
        assert_eq!(levenshtein("qurey", "query"), 1);
    }
}
