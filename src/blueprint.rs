//! Blueprints: Port's JSON-schema subset that entities are validated against.
//!
//! Loading reports `file:line:col` and the field path for every problem (a JSON error stops at
//! the first, as JSON parsers do; checks after parsing are all collected). Keys this module does
//! not model (`description`, `mirrorProperties`, `ownership`, a property's `icon`, …) are kept in
//! `extra` maps so a blueprint round-trips unchanged to a catalog.
//!
//! Load-time decisions: a duplicate blueprint identifier, an unknown property `type` and a
//! `required` name that is not a property are errors. A relation whose `target` is not in the
//! file is *not* an error: targets often live in Port already (`_team`, `_user`, other
//! integrations' blueprints).
//!
//! [`Blueprint::validate`] applies the rules Port applies to an upserted entity, so problems
//! show up per entity before a write instead of as a rejected batch.

use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::model::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::path::Path;

/// The property types Port knows.
pub const PROPERTY_TYPES: [&str; 5] = ["string", "number", "boolean", "object", "array"];

/// One blueprint, as in Port's `blueprints.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Blueprint {
    /// Blueprint identifier, e.g. `okta-user`.
    pub identifier: String,
    /// Display title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Icon name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// The property schema.
    #[serde(default)]
    pub schema: BlueprintSchema,
    /// Kept as given; not evaluated.
    #[serde(default, rename = "calculationProperties")]
    pub calculation_properties: Map<String, Value>,
    /// Relations by name, in file order.
    #[serde(default)]
    pub relations: indexmap_like::OrderedMap<Relation>,
    /// Every other key, kept as given (Port blueprints have many more).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `schema`: `{properties, required}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BlueprintSchema {
    /// Properties by name, in file order.
    #[serde(default)]
    pub properties: indexmap_like::OrderedMap<PropertySchema>,
    /// Names of required properties.
    #[serde(default)]
    pub required: Vec<String>,
    /// Every other key, kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One property's schema.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PropertySchema {
    /// Display title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `string`, `number`, `boolean`, `object`, `array` (checked at load).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub ty: Option<String>,
    /// `date-time`, `email`, `url`, … (only these three are checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Allowed values.
    #[serde(rename = "enum", default, skip_serializing_if = "Option::is_none")]
    pub enum_values: Option<Vec<Value>>,
    /// Every other key (`description`, `icon`, `items`, …), kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One relation definition.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Relation {
    /// Display title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Target blueprint identifier.
    pub target: String,
    /// Whether the relation must be set.
    #[serde(default)]
    pub required: bool,
    /// Whether the relation holds many targets (an array).
    #[serde(default)]
    pub many: bool,
    /// Every other key (`description`, …), kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An ordered string-keyed map that keeps file order (serde_json's `preserve_order` map, typed).
pub mod indexmap_like {
    use serde::de::{MapAccess, Visitor};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::fmt;
    use std::marker::PhantomData;

    /// Entries in file order; keys are unique.
    #[derive(Debug, Clone, PartialEq)]
    pub struct OrderedMap<T>(pub Vec<(String, T)>);

    impl<T> Default for OrderedMap<T> {
        fn default() -> Self {
            Self(Vec::new())
        }
    }

    impl<T> OrderedMap<T> {
        /// The value under `key`.
        pub fn get(&self, key: &str) -> Option<&T> {
            self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
        }
        /// Entries in order.
        pub fn iter(&self) -> impl Iterator<Item = (&String, &T)> {
            self.0.iter().map(|(k, v)| (k, v))
        }
        /// Whether `key` is present.
        pub fn contains_key(&self, key: &str) -> bool {
            self.0.iter().any(|(k, _)| k == key)
        }
        /// Number of entries.
        pub fn len(&self) -> usize {
            self.0.len()
        }
        /// Whether there are no entries.
        pub fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    impl<T: Serialize> Serialize for OrderedMap<T> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }

    /// Deserialises entry by entry (not through a `Value`), so a parser's line/column and a
    /// path tracker see into the values; a repeated key is an error.
    impl<'de, T: Deserialize<'de>> Deserialize<'de> for OrderedMap<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<T>(PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
                type Value = OrderedMap<T>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    let mut out: Vec<(String, T)> = Vec::new();
                    while let Some(key) = map.next_key::<String>()? {
                        if out.iter().any(|(k, _)| *k == key) {
                            return Err(serde::de::Error::custom(format_args!(
                                "duplicate key `{key}`"
                            )));
                        }
                        let value = map.next_value::<T>()?;
                        out.push((key, value));
                    }
                    Ok(OrderedMap(out))
                }
            }
            d.deserialize_map(V(PhantomData))
        }
    }
}

/// Every known blueprint, looked up by identifier.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BlueprintSet {
    /// The blueprints, in file order.
    pub blueprints: Vec<Blueprint>,
}

/// The shipped seed blueprints.
const SEED: &str = include_str!("../resources/blueprints.json");

impl BlueprintSet {
    /// The blueprint with this identifier.
    pub fn get(&self, id: &str) -> Option<&Blueprint> {
        self.blueprints.iter().find(|b| b.identifier == id)
    }

    /// The shipped seed blueprints (`okta-user`, `okta-group`).
    pub fn seed() -> Self {
        match Self::parse_str("<built-in>", SEED) {
            Ok(set) => set,
            // The shipped file is tested to load; failing here is a build defect, not user input.
            Err(d) => panic!("the built-in blueprints.json does not load:\n{d}"),
        }
    }

    /// Reads and checks a `blueprints.json` file (a JSON array of blueprints).
    pub fn load_file(path: &Path) -> Result<BlueprintSet, Diagnostics> {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse_str(&name, &text),
            Err(e) => Err(Diagnostics(vec![Diagnostic {
                file: name,
                at: Location { line: 1, col: 1 },
                path: String::new(),
                message: format!("cannot read the file: {e}"),
            }])),
        }
    }

    /// Parses and checks blueprints JSON text; `file_name` is used in diagnostics only.
    pub fn parse_str(file_name: &str, text: &str) -> Result<BlueprintSet, Diagnostics> {
        let mut de = serde_json::Deserializer::from_str(text);
        let parsed = serde_path_to_error::deserialize::<_, Vec<Blueprint>>(&mut de)
            .map_err(|e| (segments(e.path()), e.into_inner()))
            .and_then(|v| de.end().map(|()| v).map_err(|e| (Vec::new(), e)));
        let blueprints = match parsed {
            Ok(b) => b,
            Err((path, inner)) => {
                // A data error (wrong type, duplicate key) is best shown at the start of the value
                // at fault; a syntax error where the parser stopped.
                let at = match inner.classify() {
                    serde_json::error::Category::Data => locate(text, &path),
                    _ => None,
                }
                .unwrap_or(Location { line: inner.line().max(1), col: inner.column().max(1) });
                return Err(Diagnostics(vec![Diagnostic {
                    file: file_name.to_string(),
                    at,
                    path: show_path(&path),
                    message: json_message(&inner),
                }]));
            }
        };
        let mut diags = Vec::new();
        let mut at = |path: Vec<Seg>, message: String| {
            diags.push(Diagnostic {
                file: file_name.to_string(),
                at: locate(text, &path).unwrap_or(Location { line: 1, col: 1 }),
                path: show_path(&path),
                message,
            });
        };
        for (i, bp) in blueprints.iter().enumerate() {
            if let Some(first) = blueprints[..i].iter().position(|b| b.identifier == bp.identifier)
            {
                at(
                    vec![Seg::Index(i), Seg::key("identifier")],
                    format!(
                        "duplicate blueprint identifier `{}` (also at [{first}])",
                        bp.identifier
                    ),
                );
            }
            for (name, prop) in bp.schema.properties.iter() {
                if let Some(ty) = &prop.ty
                    && !PROPERTY_TYPES.contains(&ty.as_str())
                {
                    at(
                        vec![
                            Seg::Index(i),
                            Seg::key("schema"),
                            Seg::key("properties"),
                            Seg::key(name),
                            Seg::key("type"),
                        ],
                        format!(
                            "unknown property type `{ty}` (expected one of {})",
                            PROPERTY_TYPES.join(", ")
                        ),
                    );
                }
            }
            for (j, name) in bp.schema.required.iter().enumerate() {
                if !bp.schema.properties.contains_key(name) {
                    at(
                        vec![
                            Seg::Index(i),
                            Seg::key("schema"),
                            Seg::key("required"),
                            Seg::Index(j),
                        ],
                        format!(
                            "`{name}` is required but is not a property of `{}`",
                            bp.identifier
                        ),
                    );
                }
            }
        }
        if diags.is_empty() {
            Ok(BlueprintSet { blueprints })
        } else {
            diags.sort_by_key(|d| (d.at.line, d.at.col));
            Err(Diagnostics(diags))
        }
    }

    /// Validates `entity` against its blueprint; an unknown blueprint is one error.
    pub fn validate(&self, entity: &Entity) -> Result<(), Vec<ValidationError>> {
        match self.get(&entity.blueprint) {
            Some(bp) => bp.validate(entity),
            None => Err(vec![ValidationError {
                entity: entity.key().to_string(),
                field: "blueprint".into(),
                message: format!("unknown blueprint `{}`", entity.blueprint),
            }]),
        }
    }
}

/// serde_json's message without its " at line L column C" suffix (the diagnostic has those).
fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    full.strip_suffix(&suffix).unwrap_or(&full).to_string()
}

/// One step of a path into a JSON document.
#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

impl Seg {
    fn key(k: &str) -> Seg {
        Seg::Key(k.to_string())
    }
}

/// The known prefix of a path-to-error path (it ends in `?` where the parser had not yet read
/// a key).
fn segments(path: &serde_path_to_error::Path) -> Vec<Seg> {
    use serde_path_to_error::Segment;
    let mut out = Vec::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push(Seg::Index(*index)),
            Segment::Map { key } => out.push(Seg::Key(key.clone())),
            _ => break,
        }
    }
    out
}

fn show_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
        }
    }
    out
}

/// Finds where the value at `path` starts in already-valid JSON `text`.
fn locate(text: &str, path: &[Seg]) -> Option<Location> {
    let mut s = Scan { b: text.as_bytes(), i: 0 };
    s.ws();
    for seg in path {
        match seg {
            Seg::Index(want) => {
                s.expect(b'[')?;
                let mut n = 0;
                loop {
                    s.ws();
                    if s.peek()? == b']' {
                        return None;
                    }
                    if n == *want {
                        break;
                    }
                    s.skip_value()?;
                    s.ws();
                    if s.peek()? == b',' {
                        s.i += 1;
                    }
                    n += 1;
                }
            }
            Seg::Key(want) => {
                s.expect(b'{')?;
                loop {
                    s.ws();
                    if s.peek()? == b'}' {
                        return None;
                    }
                    let key: String = serde_json::from_slice(s.string_slice()?).ok()?;
                    s.ws();
                    s.expect(b':')?;
                    s.ws();
                    if key == *want {
                        break;
                    }
                    s.skip_value()?;
                    s.ws();
                    if s.peek()? == b',' {
                        s.i += 1;
                    }
                }
            }
        }
    }
    s.ws();
    let before = &text[..s.i];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some(Location { line, col })
}

/// A minimal scanner over valid JSON, used only to find positions.
struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.i += 1;
        }
    }
    fn expect(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.peek()? == c).then(|| self.i += 1)
    }
    /// The bytes of a string token including its quotes.
    fn string_slice(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        self.expect(b'"')?;
        loop {
            match self.peek()? {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return Some(&self.b[start..self.i]);
                }
                _ => self.i += 1,
            }
        }
    }
    fn skip_value(&mut self) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'"' => self.string_slice().map(|_| ()),
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string_slice()?;
                            continue;
                        }
                        c if c == open => depth += 1,
                        c if c == close => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return Some(());
                            }
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => depth = depth.checked_sub(1)?,
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
                ) {
                    self.i += 1;
                }
                Some(())
            }
        }
    }
}

/// One reason an entity does not fit its blueprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The entity's key, `blueprint/identifier`.
    pub entity: String,
    /// The field, e.g. `properties.status` or `relations.groups`.
    pub field: String,
    /// What is wrong, lowercase.
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.entity, self.field, self.message)
    }
}

impl std::error::Error for ValidationError {}

/// A short JSON rendering of a value for messages.
fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= 60 {
        s
    } else {
        format!("{}…", s.chars().take(57).collect::<String>())
    }
}

impl Blueprint {
    /// Checks `entity` the way Port checks an upsert: property types, `enum`, the `date-time`,
    /// `email` and `url` formats, required properties present and non-null, no unknown
    /// properties or relations, relation shapes (`many` → array of identifiers, single →
    /// identifier or null; a search-query object is accepted for either) and required relations.
    /// Null is accepted for any property or relation that is not required.
    pub fn validate(&self, entity: &Entity) -> Result<(), Vec<ValidationError>> {
        let key = entity.key().to_string();
        let mut errors = Vec::new();
        let mut err = |field: String, message: String| {
            errors.push(ValidationError { entity: key.clone(), field, message });
        };
        if entity.blueprint != self.identifier {
            err(
                "blueprint".into(),
                format!("entity is for `{}`, not `{}`", entity.blueprint, self.identifier),
            );
        }
        if entity.identifier.is_empty() {
            err("identifier".into(), "must not be empty".into());
        }
        for (name, value) in &entity.properties {
            let field = format!("properties.{name}");
            let Some(schema) = self.schema.properties.get(name) else {
                err(
                    field,
                    format!("`{name}` is not a property of blueprint `{}`", self.identifier),
                );
                continue;
            };
            if value.is_null() {
                continue;
            }
            if let Some(problem) = check_property(schema, value) {
                err(field, problem);
            }
        }
        for name in &self.schema.required {
            match entity.properties.get(name) {
                None => err(format!("properties.{name}"), "required property is missing".into()),
                Some(Value::Null) => {
                    err(format!("properties.{name}"), "required property is null".into());
                }
                Some(_) => {}
            }
        }
        for (name, value) in &entity.relations {
            let field = format!("relations.{name}");
            let Some(rel) = self.relations.get(name) else {
                err(
                    field,
                    format!("`{name}` is not a relation of blueprint `{}`", self.identifier),
                );
                continue;
            };
            let is_search = |v: &Value| v.get("combinator").is_some() && v.get("rules").is_some();
            match value {
                Value::Null if rel.required => err(field, "required relation is null".into()),
                Value::Null => {}
                v if is_search(v) => {}
                Value::Array(items) if rel.many => {
                    if let Some(bad) = items.iter().find(|v| !v.is_string()) {
                        err(
                            field,
                            format!(
                                "expected an array of identifiers (strings), found an element {}",
                                show(bad)
                            ),
                        );
                    }
                }
                v if rel.many => err(
                    field,
                    format!(
                        "`many` relation to `{}` expects an array of identifiers, found {} {}",
                        rel.target,
                        crate::model::json_type(v),
                        show(v)
                    ),
                ),
                Value::String(_) => {}
                v => err(
                    field,
                    format!(
                        "relation to `{}` expects one identifier (a string) or null, found {} {}",
                        rel.target,
                        crate::model::json_type(v),
                        show(v)
                    ),
                ),
            }
        }
        for (name, rel) in self.relations.iter() {
            if rel.required && !entity.relations.contains_key(name) {
                err(format!("relations.{name}"), "required relation is missing".into());
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// The first problem with a non-null property value, if any.
fn check_property(schema: &PropertySchema, value: &Value) -> Option<String> {
    if let Some(ty) = schema.ty.as_deref() {
        let ok = match ty {
            "string" => value.is_string(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "object" => value.is_object(),
            "array" => value.is_array(),
            _ => true,
        };
        if !ok {
            return Some(format!(
                "expected a {ty}, found {} {}",
                crate::model::json_type(value),
                show(value)
            ));
        }
    }
    if let Some(allowed) = &schema.enum_values
        && !allowed.contains(value)
    {
        const SHOWN: usize = 6;
        let mut list: Vec<String> = allowed.iter().take(SHOWN).map(show).collect();
        if allowed.len() > SHOWN {
            list.push("…".into());
        }
        return Some(format!("{} is not one of [{}]", show(value), list.join(", ")));
    }
    if let (Some(format), Value::String(s)) = (schema.format.as_deref(), value) {
        let ok = match format {
            "date-time" => is_rfc3339(s),
            "email" => is_email(s),
            "url" => is_url(s),
            _ => true,
        };
        if !ok {
            return Some(format!("{} is not a valid {format}", show(value)));
        }
    }
    None
}

/// RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, a real calendar date and time.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    // Bytes only: the input may hold any characters after the ASCII-checked prefix.
    let rest = &b[i..];
    let two = |x: u8, y: u8| {
        (x.is_ascii_digit() && y.is_ascii_digit()).then(|| (x - b'0') * 10 + (y - b'0'))
    };
    let offset_ok = matches!(rest, b"Z" | b"z")
        || matches!(rest, [b'+' | b'-', h1, h2, b':', m1, m2]
            if two(*h1, *h2).is_some_and(|h| h < 24) && two(*m1, *m2).is_some_and(|m| m < 60));
    if !offset_ok {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<i16>().unwrap_or(-1);
    let (y, mo, d) = (num(0..4), num(5..7), num(8..10));
    let (h, mi, sec) = (num(11..13), num(14..16), num(17..19));
    let date_ok = (1..=12).contains(&mo)
        && d >= 1
        && i8::try_from(d).is_ok_and(|d| jiff::civil::Date::new(y, mo as i8, d).is_ok());
    date_ok && (0..24).contains(&h) && (0..60).contains(&mi) && (0..=60).contains(&sec)
}

/// A pragmatic email check (ajv's "fast" email format): `local@label.label…`.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    const LOCAL_EXTRA: &str = "!#$%&'*+/=?^_`{|}~-";
    let local_ok = !local.is_empty()
        && local.split('.').all(|part| {
            !part.is_empty()
                && part.chars().all(|c| c.is_ascii_alphanumeric() || LOCAL_EXTRA.contains(c))
        });
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    local_ok && domain_ok
}

/// A URL: `scheme://` followed by a non-empty authority, no whitespace.
pub fn is_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else { return false };
    let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    scheme_ok && !host.is_empty() && !s.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_values_by_path() {
        let text = "[\n  {\"a\": 1, \"b\": {\"c\": [true, \"x\"]}},\n  {\"identifier\": \"y\"}\n]";
        let at = |p: Vec<Seg>| locate(text, &p).unwrap();
        assert_eq!(
            at(vec![Seg::Index(0), Seg::key("b"), Seg::key("c"), Seg::Index(1)]),
            Location { line: 2, col: 30 }
        );
        assert_eq!(at(vec![Seg::Index(1), Seg::key("identifier")]), Location { line: 3, col: 18 });
        assert_eq!(locate(text, &[Seg::Index(5)]), None);
    }

    #[test]
    fn rfc3339() {
        for ok in [
            "2013-06-24T16:39:18.000Z",
            "2024-02-29T00:00:00Z",
            "2024-01-01t10:00:00+05:30",
            "2024-01-01T23:59:60Z",
        ] {
            assert!(is_rfc3339(ok), "{ok}");
        }
        for bad in [
            "2013-06-24",
            "2013-06-24T16:39:18",
            "2023-02-29T00:00:00Z",
            "2013-13-01T00:00:00Z",
            "2013-06-24 16:39:18Z",
            "2013-06-24T25:00:00Z",
            "2013-06-24T16:39:18.Z",
            "2013-06-24T16:39:18+0530",
            "2013-06-24T16:39:18+é:00",
            "2013-06-24T16:39:18.5ééé",
            "2013-06-24T16:39:18+24:00",
            "yesterday",
        ] {
            assert!(!is_rfc3339(bad), "{bad}");
        }
    }

    #[test]
    fn email_and_url() {
        assert!(is_email("ada.lovelace@example.com"));
        assert!(is_email("a+tag@sub.example.co"));
        assert!(!is_email("ada@localhost"));
        assert!(!is_email("ada example.com"));
        assert!(!is_email("@example.com"));
        assert!(!is_email("a..b@example.com"));
        assert!(is_url("https://example.com/x?y"));
        assert!(is_url("http://127.0.0.1:8080"));
        assert!(!is_url("example.com"));
        assert!(!is_url("https://"));
        assert!(!is_url("https://exa mple.com"));
    }
}
