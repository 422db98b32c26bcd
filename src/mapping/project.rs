//! Projection: parse only the parts of an item that a mapping reads.
//!
//! When every expression of a resource has a native form, the paths they read are known at
//! compile time. [`Node`] is the union of those paths; [`parse_doc`] deserializes JSON bytes into
//! a [`Doc`] that keeps exactly those parts (other object keys are skipped without being built;
//! array positions are kept so indices still work) and borrows its strings from the text.
//! Mapping the pruned document gives the same entity as mapping the full value.

use super::fast::{Fast, Seg, View};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};
use std::borrow::Cow;
use std::fmt;

/// Which parts of a value are read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    /// The whole value is needed.
    pub all: bool,
    /// Object keys that are needed, with what is needed below them (a few per object: a
    /// linear scan that compares lengths first beats a tree or a hash here).
    pub keys: Vec<(String, Node)>,
    /// Every element (array) or value (object) is needed, with what is needed below it.
    pub elems: Option<Box<Node>>,
}

impl Node {
    /// Everything.
    pub fn everything() -> Node {
        Node { all: true, ..Node::default() }
    }

    /// Whether the top-level key `k` is read.
    pub fn reads(&self, k: &str) -> bool {
        self.all || self.key(k).is_some()
    }

    /// What is read below the key `k`, when it is read at all (`None` also when everything is
    /// read: ask [`Self::reads`] first).
    pub fn child(&self, k: &str) -> Option<&Node> {
        self.key(k).map(|(_, n)| n)
    }

    /// The position and node of a needed key.
    fn key(&self, k: &str) -> Option<(usize, &Node)> {
        self.keys.iter().enumerate().find(|(_, (key, _))| key == k).map(|(i, (_, n))| (i, n))
    }

    /// Add what `f` reads.
    pub fn add_fast(&mut self, f: &Fast) {
        match f {
            Fast::Lit(_) => {}
            Fast::Path(segs) => self.add_path(segs),
            Fast::Alt(a, b) | Fast::Add(a, b) => {
                self.add_fast(a);
                self.add_fast(b);
            }
            Fast::Collect(a) => self.add_fast(a),
        }
    }

    fn add_path(&mut self, segs: &[(Seg, bool)]) {
        if self.all {
            return;
        }
        let Some(((seg, _), rest)) = segs.split_first() else {
            *self = Node::everything();
            return;
        };
        let child = match seg {
            Seg::Key(k) => match self.keys.iter().position(|(key, _)| key == k) {
                Some(i) => &mut self.keys[i].1,
                None => {
                    self.keys.push((k.clone(), Node::default()));
                    &mut self.keys.last_mut().expect("just pushed").1
                }
            },
            Seg::Index(_) | Seg::Iter => self.elems.get_or_insert_with(Default::default),
        };
        child.add_path(rest);
        // Keys and whole-collection access at one node: keep it simple and take everything.
        if !self.keys.is_empty() && self.elems.is_some() {
            *self = Node::everything();
        }
    }
}

/// A parsed JSON document that borrows its strings from the input text.
///
/// Objects are small vectors in input order (a repeated key keeps its first position and its
/// last value, like `serde_json::Value`); nothing is hashed. The fast path reads it through
/// [`View`], so mapping a `Doc` gives exactly what mapping the equivalent `Value` gives.
#[derive(Debug, Clone, PartialEq)]
pub enum Doc<'a> {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string, borrowed when it has no escapes.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Doc<'a>>),
    /// An object.
    Object(Vec<(Cow<'a, str>, Doc<'a>)>),
}

impl Doc<'_> {
    /// The equivalent `serde_json::Value`.
    pub fn to_value(&self) -> Value {
        match self {
            Doc::Null => Value::Null,
            Doc::Bool(b) => Value::Bool(*b),
            Doc::Number(n) => Value::Number(n.clone()),
            Doc::String(s) => Value::String(s.as_ref().to_owned()),
            Doc::Array(a) => Value::Array(a.iter().map(Doc::to_value).collect()),
            Doc::Object(o) => Value::Object(
                o.iter().map(|(k, v)| (k.as_ref().to_owned(), v.to_value())).collect(),
            ),
        }
    }
}

static DOC_NULL: Doc<'static> = Doc::Null;

impl View for Doc<'_> {
    fn null<'b>() -> &'b Self
    where
        Self: 'b,
    {
        &DOC_NULL
    }
    fn type_name(&self) -> &'static str {
        match self {
            Doc::Null => "null",
            Doc::Bool(_) => "boolean",
            Doc::Number(_) => "number",
            Doc::String(_) => "string",
            Doc::Array(_) => "array",
            Doc::Object(_) => "object",
        }
    }
    fn truthy(&self) -> bool {
        !matches!(self, Doc::Null | Doc::Bool(false))
    }
    fn key(&self, k: &str) -> Option<Option<&Self>> {
        match self {
            Doc::Object(o) => Some(o.iter().find(|(key, _)| key == k).map(|(_, v)| v)),
            _ => None,
        }
    }
    fn elements(&self) -> Option<&[Self]> {
        match self {
            Doc::Array(a) => Some(a),
            _ => None,
        }
    }
    fn object_values(&self) -> Option<impl Iterator<Item = &Self>> {
        match self {
            Doc::Object(o) => Some(o.iter().map(|(_, v)| v)),
            _ => None,
        }
    }
    fn value(&self) -> std::borrow::Cow<'_, Value> {
        Cow::Owned(self.to_value())
    }
}

/// Parse `json` into a [`Doc`], keeping only what `node` needs.
pub fn parse_doc<'a>(json: &'a [u8], node: &Node) -> Result<Doc<'a>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let v = Prune(Some(node)).deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// Parse `json` into a `serde_json::Value`, keeping only what `node` needs.
pub fn parse(json: &[u8], node: &Node) -> Result<Value, serde_json::Error> {
    parse_doc(json, node).map(|d| d.to_value())
}

/// The key under which serde_json passes a number's text to a visitor.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// What to keep of the value being parsed (`None`: all of it).
struct Prune<'n>(Option<&'n Node>);

impl<'de> DeserializeSeed<'de> for Prune<'_> {
    type Value = Doc<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Doc<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Prune<'_> {
    type Value = Doc<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Doc<'de>, E> {
        Ok(Doc::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Doc<'de>, E> {
        Ok(Doc::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Doc<'de>, E> {
        Ok(Doc::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Doc<'de>, E> {
        Ok(Number::from_f64(v).map_or(Doc::Null, Doc::Number))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Doc<'de>, E> {
        Ok(Doc::String(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Doc<'de>, E> {
        Ok(Doc::String(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Doc<'de>, E> {
        Ok(Doc::String(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Doc<'de>, E> {
        Ok(Doc::Null)
    }
    fn visit_none<E>(self) -> Result<Doc<'de>, E> {
        Ok(Doc::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Doc<'de>, A::Error> {
        let mut out = Vec::new();
        let child = match self.0 {
            None => Some(None),
            Some(n) if n.all => Some(None),
            Some(n) => n.elems.as_deref().map(Some),
        };
        match child {
            Some(child) => {
                while let Some(v) = seq.next_element_seed(Prune(child))? {
                    out.push(v);
                }
            }
            // Only keys are read below here: elements are not needed, but the type is.
            None => while seq.next_element::<IgnoredAny>()?.is_some() {},
        }
        Ok(Doc::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc<'de>, A::Error> {
        let node = self.0.filter(|n| !n.all);
        // A pruned object keeps at most its needed keys: sized for them, a member record that
        // keeps only `id` takes one slot, not the four a growing vector starts with.
        let mut out: Vec<(Cow<'de, str>, Doc<'de>)> = match node {
            Some(n) if n.elems.is_none() => Vec::with_capacity(n.keys.len()),
            _ => Vec::new(),
        };
        let mut first = true;
        // Needed keys already seen, by position in `node.keys` (a repeated key is rare, but
        // its last value wins); other keys are checked against `out`.
        let mut seen = 0u64;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            // serde_json (`arbitrary_precision`) hands a number over as a one-key map holding
            // its literal text.
            if std::mem::take(&mut first) && key == NUMBER_TOKEN {
                let text: String = map.next_value()?;
                return Ok(Doc::Number(Number::from_string_unchecked(text)));
            }
            let (child, slot) = match node {
                None => (Some(None), None),
                Some(n) => match n.key(&key) {
                    Some((i, child)) => {
                        (Some(Some(child)), u32::try_from(i).ok().filter(|i| *i < 64))
                    }
                    None => (n.elems.as_deref().map(Some), None),
                },
            };
            let Some(child) = child else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let v = map.next_value_seed(Prune(child))?;
            let repeated = match slot {
                Some(i) => {
                    let bit = 1u64 << i;
                    let repeated = seen & bit != 0;
                    seen |= bit;
                    repeated
                }
                None => true,
            };
            let earlier = if repeated { out.iter_mut().find(|(k, _)| *k == key) } else { None };
            match earlier {
                Some(entry) => entry.1 = v,
                None => out.push((key, v)),
            }
        }
        Ok(Doc::Object(out))
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_exactly_what_paths_read() {
        let mut n = Node::default();
        for src in [".id", ".profile.a // .profile.b", ".groups[]?.id", ".x[0].y", "\"lit\""] {
            n.add_fast(&super::super::fast::parse(src).unwrap());
        }
        let json = br#"{"id":"u","skip":{"deep":[1,2]},"profile":{"a":null,"b":{"k":1},"c":3},"groups":[{"id":"g","n":1},{"n":2},"s"],"x":[{"y":1,"z":2}],"e\u0041":1}"#;
        let v = parse(json, &n).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id":"u","profile":{"a":null,"b":{"k":1}},"groups":[{"id":"g"},{},"s"],"x":[{"y":1}]})
        );
        assert!(parse(b"[1,2", &n).is_err());
        assert!(parse(b"{} x", &n).is_err());
    }
}
