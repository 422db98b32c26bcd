//! Projection: parse only the parts of an item that a mapping reads.
//!
//! When every expression of a resource has a native form, the paths they read are known at
//! compile time. [`Node`] is the union of those paths; [`parse`] deserializes JSON bytes into a
//! `serde_json::Value` that keeps exactly those parts (other object keys are skipped without
//! being built; array positions are kept so indices still work). Mapping the pruned value gives
//! the same entity as mapping the full one.

use super::fast::{Fast, Seg};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Which parts of a value are read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    /// The whole value is needed.
    pub all: bool,
    /// Object keys that are needed, with what is needed below them.
    pub keys: BTreeMap<String, Node>,
    /// Every element (array) or value (object) is needed, with what is needed below it.
    pub elems: Option<Box<Node>>,
}

impl Node {
    /// Everything.
    pub fn everything() -> Node {
        Node { all: true, ..Node::default() }
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
            Seg::Key(k) => self.keys.entry(k.clone()).or_default(),
            Seg::Index(_) | Seg::Iter => self.elems.get_or_insert_with(Default::default),
        };
        child.add_path(rest);
        // Keys and whole-collection access at one node: keep it simple and take everything.
        if !self.keys.is_empty() && self.elems.is_some() {
            *self = Node::everything();
        }
    }
}

/// Parse `json`, keeping only what `node` needs.
pub fn parse(json: &[u8], node: &Node) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let v = Prune(node).deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

struct Prune<'a>(&'a Node);

impl<'de> DeserializeSeed<'de> for Prune<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.0.all {
            serde::Deserialize::deserialize(d)
        } else {
            d.deserialize_any(PruneVisitor(self.0))
        }
    }
}

struct PruneVisitor<'a>(&'a Node);

impl<'de> Visitor<'de> for PruneVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        match &self.0.elems {
            Some(child) => {
                while let Some(v) = seq.next_element_seed(Prune(child))? {
                    out.push(v);
                }
            }
            // Only keys are read below here: elements are not needed, but the type is.
            None => while seq.next_element::<IgnoredAny>()?.is_some() {},
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let child = self.0.keys.get(key.as_ref()).or(self.0.elems.as_deref());
            match child {
                Some(child) => {
                    let v = map.next_value_seed(Prune(child))?;
                    out.insert(key.into_owned(), v);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v)))
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
