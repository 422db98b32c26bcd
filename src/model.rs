//! Plain data shared by every stage: entities, their keys, and diagnostics.
//!
//! Nothing here performs IO or knows about jq, Okta or a catalog backend.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A catalog entity in Port's shape.
///
/// Optional fields are `None` when the mapping does not set them, and are then omitted from the
/// JSON (`{"identifier","title","blueprint","team"?,"icon"?,"properties":{},"relations":{}}`).
/// A mapped field that evaluated to null is `Some(Value::Null)` and is kept as `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// The entity identifier; a string for every ordinary mapping.
    pub identifier: String,
    /// The title, when the mapping sets one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub title: Option<Value>,
    /// The blueprint identifier.
    pub blueprint: String,
    /// The team(s), when the mapping sets `team`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub team: Option<Value>,
    /// The icon, when the mapping sets `icon`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub icon: Option<Value>,
    /// Mapped properties, in mapping order.
    #[serde(default)]
    pub properties: Map<String, Value>,
    /// Mapped relations: a string, an array of strings, null, or a search-query object.
    #[serde(default)]
    pub relations: Map<String, Value>,
}

impl Entity {
    /// The catalog key of this entity.
    pub fn key(&self) -> EntityKey {
        EntityKey { blueprint: self.blueprint.clone(), identifier: self.identifier.clone() }
    }
}

/// The unique key of an entity in a catalog: (blueprint, identifier).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntityKey {
    /// Blueprint identifier.
    pub blueprint: String,
    /// Entity identifier.
    pub identifier: String,
}

impl std::fmt::Display for EntityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.blueprint, self.identifier)
    }
}

/// How a JSON value's type reads in an error message: `null`, `a string`, `an object`, …
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One Okta object as the mapping sees it (a user enriched with `.groups`, `.applications` and
/// `.manager`, or a group with `.users`), with its kind and Okta id.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The kind it is mapped as (`okta-user`, `okta-group`).
    pub kind: String,
    /// Its Okta id (empty when unknown).
    pub okta_id: String,
    /// The object itself.
    pub raw: Raw,
}

/// An item's JSON: text (mapped without building a full value when the mapping allows it) or
/// an already-parsed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    /// JSON text.
    Json(Box<str>),
    /// A parsed value.
    Value(Value),
}
