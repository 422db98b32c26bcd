//! The port-app-config model (Ocean's `PortAppConfig`), after parsing and defaulting.
//!
//! Every jq expression is an [`Expr`]: its source text plus where it was written, so a compile
//! error can name file, line and field. Compiling is the mapping module's job.

use crate::diag::Location;

/// A jq expression as the user wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// The jq source text (before Ocean's single-quote rewrite).
    pub source: String,
    /// Where the expression starts in the file.
    pub at: Location,
    /// The field path, e.g. `resources[1].port.entity.mappings.properties.email`.
    pub path: String,
}

/// The whole mapping configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct PortAppConfig {
    /// The file the config came from (`<built-in>` for the shipped default).
    pub file: String,
    /// `deleteDependentEntities` (default true).
    pub delete_dependent_entities: bool,
    /// `createMissingRelatedEntities` (default true).
    pub create_missing_related_entities: bool,
    /// `enableMergeEntity` (default true).
    pub enable_merge_entity: bool,
    /// `entityDeletionThreshold`, 0..=1 (default 0.9).
    pub entity_deletion_threshold: f64,
    /// `resources`, in processing order.
    pub resources: Vec<ResourceConfig>,
}

/// One `resources[]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceConfig {
    /// `kind`: `okta-user` or `okta-group`.
    pub kind: String,
    /// `selector`.
    pub selector: Selector,
    /// `port`.
    pub port: PortResourceConfig,
}

/// `selector`: the query plus the Okta extras.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// `query`: must evaluate to a boolean.
    pub query: Expr,
    /// `include_groups` (default true): attach the user's groups as `.groups`.
    pub include_groups: bool,
    /// `include_applications` (default true): attach the user's app links as `.applications`.
    pub include_applications: bool,
    /// `fields`: Okta field projection for the user list, passed to Okta as-is.
    pub fields: Option<String>,
}

/// `port`.
#[derive(Debug, Clone, PartialEq)]
pub struct PortResourceConfig {
    /// `port.entity.mappings`.
    pub mappings: EntityMappings,
    /// `port.itemsToParse`.
    pub items_to_parse: Option<Expr>,
    /// `port.itemsToParseName` (default `item`).
    pub items_to_parse_name: String,
    /// `port.itemsToParseTopLevelTransform` (default true).
    pub items_to_parse_top_level_transform: bool,
}

/// `port.entity.mappings`.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityMappings {
    /// `identifier`: jq, or a search query.
    pub identifier: MappingValue,
    /// `title`.
    pub title: Option<Expr>,
    /// `blueprint`: jq (a literal is written `'"okta-user"'`).
    pub blueprint: Expr,
    /// `team`: jq, or a search query.
    pub team: Option<MappingValue>,
    /// `icon`.
    pub icon: Option<Expr>,
    /// `properties`, in file order.
    pub properties: Vec<(String, Expr)>,
    /// `relations`, in file order.
    pub relations: Vec<(String, MappingValue)>,
}

/// A mapping leaf that may also be a search-query object.
#[derive(Debug, Clone, PartialEq)]
pub enum MappingValue {
    /// A jq expression.
    Jq(Expr),
    /// A search query whose every leaf is itself jq.
    Search(SearchQuery),
}

/// `{combinator, rules}`; each leaf string is a jq expression.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// `combinator`, e.g. `'"and"'`.
    pub combinator: Expr,
    /// `rules`.
    pub rules: Vec<SearchRule>,
}

/// One search rule, or a nested query.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchRule {
    /// `{property, operator, value}`.
    Rule {
        /// `property`, e.g. `'"$identifier"'`.
        property: Expr,
        /// `operator`, e.g. `'"="'`.
        operator: Expr,
        /// `value`, e.g. `.id`.
        value: Expr,
    },
    /// A nested `{combinator, rules}`.
    Query(SearchQuery),
}
