//! Config of the `attributes` and `resource` processors: the Collector's action lists.
//!
//! ```yaml
//! processors:
//!   attributes:
//!     actions:
//!       - { key: deployment.environment, value: production, action: upsert }
//!       - { key: http.client_ip, action: delete }
//!       - { pattern: ^internal\., action: delete }
//!       - { key: db.user, from_attribute: db.system, action: insert }
//!       - { key: http.url, pattern: ^(?P<scheme>[a-z]+)://, action: extract }
//!       - { key: http.status_code, converted_type: int, action: convert }
//!   resource:
//!     attributes:
//!       - { key: service.namespace, value: shop, action: insert }
//! ```
//!
//! Each `pattern` is compiled once, when the config is read (a bad regex fails the reading at
//! its action's index). [`ActionConfig::problems`] is pure and checks what spans several keys:
//! that each action has the fields its kind needs.

use serde::Deserialize;
use serde::de::IgnoredAny;
use weir_pipeline::spec::Spec;

pub use crate::enrich::AttributeValue;
use crate::pattern::Pattern;

/// Collector keys of the `attributes` processor weir does not implement: records are selected
/// with the `filter` processor's conditions instead.
pub const UNSUPPORTED_ATTRIBUTES_KEYS: &[&str] = &["include", "exclude"];

/// The `attributes` processor kind: its name, signals, the Collector keys weir does not implement
/// and where its queue is.
pub const ATTRIBUTES_SPEC: Spec = Spec {
    unsupported: UNSUPPORTED_ATTRIBUTES_KEYS,
    ..Spec::named("attributes")
};

/// Collector keys of the `resource` processor weir does not implement.
pub const UNSUPPORTED_RESOURCE_KEYS: &[&str] = &[];

/// The `resource` processor kind: its name, signals, the Collector keys weir does not implement
/// and where its queue is.
pub const RESOURCE_SPEC: Spec = Spec {
    unsupported: UNSUPPORTED_RESOURCE_KEYS,
    ..Spec::named("resource")
};

/// The `attributes` processor's settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributesConfig {
    /// The edits, run in order on the attributes of every span, log record and metric data
    /// point. Required, not empty.
    #[serde(default)]
    pub actions: Vec<ActionConfig>,
}

/// The `resource` processor's settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    /// The edits, run in order on the resource attributes of every batch. Required, not empty.
    #[serde(default)]
    pub attributes: Vec<ActionConfig>,
}

/// One edit, as the Collector writes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    /// The attribute the action works on. Required, except for `delete` with a `pattern`.
    #[serde(default)]
    pub key: Option<String>,
    /// The value to write (`insert`, `update`, `upsert`): a string, integer, float or boolean.
    #[serde(default)]
    pub value: Option<AttributeValue>,
    /// Take the value from this attribute of the same record instead (`insert`, `update`,
    /// `upsert`); nothing is written when it is absent.
    #[serde(default)]
    pub from_attribute: Option<String>,
    /// Collector key (request metadata), not supported by weir.
    #[serde(default)]
    pub from_context: Option<IgnoredAny>,
    /// A regex: for `delete`, the keys to remove (searched anywhere in the key, as in the
    /// Collector); for `extract`, applied to the string value of `key`, each named group
    /// (`(?P<name>…)`) upserted as an attribute. Compiled when read.
    #[serde(default)]
    pub pattern: Option<Pattern>,
    /// For `convert`: `int`, `double` or `string`. A value that cannot be converted is left as
    /// it is.
    #[serde(default)]
    pub converted_type: Option<ConvertedType>,
    /// `insert`, `update`, `upsert`, `delete`, `extract` or `convert`. (The Collector's `hash`,
    /// an unkeyed hash that guessing reverses, is refused: use `redaction`'s `hashed_keys`.)
    pub action: ActionKind,
}

/// What an action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    /// Add the key where it is absent.
    Insert,
    /// Replace the key's value where it is present.
    Update,
    /// Set the key, replacing any value.
    Upsert,
    /// Remove the key, or every key matching `pattern`.
    Delete,
    /// The Collector's unkeyed hash; refused.
    Hash,
    /// Named groups of `pattern` on the key's string value, upserted as attributes.
    Extract,
    /// Change the value's type.
    Convert,
}

/// The target type of `convert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConvertedType {
    /// A signed 64-bit integer (a string is parsed, a double truncated, a bool is 0 or 1).
    Int,
    /// A float.
    Double,
    /// The value's text.
    String,
}

impl AttributesConfig {
    /// `(key, message)` for each invalid setting; pure (no I/O).
    pub fn problems(&self) -> Vec<(String, String)> {
        list_problems("actions", &self.actions)
    }
}

impl ResourceConfig {
    /// `(key, message)` for each invalid setting; pure (no I/O).
    pub fn problems(&self) -> Vec<(String, String)> {
        list_problems("attributes", &self.attributes)
    }
}

fn list_problems(list: &str, actions: &[ActionConfig]) -> Vec<(String, String)> {
    if actions.is_empty() {
        return vec![(list.into(), "at least one action is required".into())];
    }
    actions
        .iter()
        .enumerate()
        .flat_map(|(i, a)| {
            a.problems()
                .into_iter()
                .map(move |(field, m)| (format!("{list}[{i}].{field}"), m))
        })
        .collect()
}

impl ActionConfig {
    /// `(field, message)` for each problem of this one action.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut problem = |field: &str, m: String| out.push((field.to_owned(), m));
        if self.from_context.is_some() {
            problem("from_context", "not supported by weir: from_context".into());
        }
        if self.key.as_deref() == Some("") {
            problem("key", "must not be empty".into());
        }
        let needs_key = !(self.action == ActionKind::Delete && self.pattern.is_some());
        if needs_key && self.key.is_none() {
            problem("key", format!("is required for {}", self.action.as_str()));
        }
        match self.action {
            ActionKind::Insert | ActionKind::Update | ActionKind::Upsert => {
                match (&self.value, &self.from_attribute) {
                    (None, None) => problem(
                        "value",
                        format!("{} needs value or from_attribute", self.action.as_str()),
                    ),
                    (Some(_), Some(_)) => problem(
                        "from_attribute",
                        "set value or from_attribute, not both".into(),
                    ),
                    _ => {}
                }
            }
            ActionKind::Hash => problem(
                "action",
                "not supported by weir: action hash (an unkeyed hash is reversed by hashing \
                 guesses); list the key in the redaction processor's hashed_keys, which uses \
                 a keyed HMAC"
                    .into(),
            ),
            ActionKind::Extract => match self.pattern.as_ref().map(Pattern::regex) {
                None => problem("pattern", "is required for extract".into()),
                Some(r) if r.capture_names().flatten().next().is_none() => problem(
                    "pattern",
                    "extract needs at least one named group, (?P<name>…)".into(),
                ),
                _ => {}
            },
            ActionKind::Convert => {
                if self.converted_type.is_none() {
                    problem(
                        "converted_type",
                        "is required for convert: int, double or string".into(),
                    );
                }
            }
            ActionKind::Delete => {}
        }
        out
    }
}

impl ActionKind {
    /// The name as written in config.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Insert => "insert",
            ActionKind::Update => "update",
            ActionKind::Upsert => "upsert",
            ActionKind::Delete => "delete",
            ActionKind::Hash => "hash",
            ActionKind::Extract => "extract",
            ActionKind::Convert => "convert",
        }
    }
}
