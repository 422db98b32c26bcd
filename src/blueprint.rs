//! Blueprints: Port's JSON-schema subset that entities are validated against.
//!
//! Loading (with file:line errors) and entity validation live here; the shipped seed blueprints
//! (`okta-user`, `okta-group`) are built in.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One blueprint, as in Port's `blueprints.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// One property's schema.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PropertySchema {
    /// Display title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `string`, `number`, `boolean`, `object`, `array`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub ty: Option<String>,
    /// `date-time`, `email`, `url`, … (only these three are checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Allowed values.
    #[serde(rename = "enum", default, skip_serializing_if = "Option::is_none")]
    pub enum_values: Option<Vec<Value>>,
}

/// One relation definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// An ordered string-keyed map that keeps file order (serde_json's `preserve_order` map, typed).
pub mod indexmap_like {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
    }

    impl<T: Serialize> Serialize for OrderedMap<T> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for OrderedMap<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
            let mut out = Vec::with_capacity(map.len());
            for (k, v) in map {
                let v = T::deserialize(v).map_err(serde::de::Error::custom)?;
                out.push((k, v));
            }
            Ok(Self(out))
        }
    }
}
