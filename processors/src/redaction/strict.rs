//! Strict maps (`strict_maps`): for records a selector picks, a map attribute may hold only
//! listed keys; any other key rejects the record (the audit-metadata rule).
//!
//! Nothing here fails: a check answers "pass, and keep these keys" or names the first
//! violation. Values are never read except the selector's, which is compared to a literal.

use std::collections::HashSet;

use foldhash::fast::RandomState;
use weir_pipeline::otlp::common::v1::{KeyValue, any_value::Value};

use super::config::StrictMapConfig;

/// One compiled strict map.
struct StrictMap {
    name: String,
    when: Option<(String, String)>,
    attribute: String,
    allowed: HashSet<String, RandomState>,
}

/// Every strict map of a processor.
#[derive(Default)]
pub(super) struct StrictMaps(Vec<StrictMap>);

/// Why a record was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Violation {
    /// The strict map's name.
    pub map: String,
    /// The map attribute.
    pub attribute: String,
    /// The offending key (raw: sanitize before showing it), or `None` when the attribute is
    /// not a map at all.
    pub key: Option<String>,
}

impl StrictMaps {
    /// Compiles the config's list.
    pub fn new(cfg: &[StrictMapConfig]) -> Self {
        Self(
            cfg.iter()
                .map(|m| StrictMap {
                    name: m.name.clone().unwrap_or_else(|| m.attribute.clone()),
                    when: m
                        .when
                        .as_ref()
                        .map(|w| (w.attribute.clone(), w.equals.clone())),
                    attribute: m.attribute.clone(),
                    allowed: m.allowed_keys.iter().cloned().collect(),
                })
                .collect(),
        )
    }

    /// True when no strict map is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks one record's attributes. On success `keep` holds the attributes the record may
    /// carry whatever the allowlist says: each matched selector and each checked map.
    pub fn check<'s>(
        &'s self,
        attrs: &[KeyValue],
        keep: &mut Vec<&'s str>,
    ) -> Result<(), Violation> {
        keep.clear();
        for m in &self.0 {
            if let Some((key, equals)) = &m.when {
                if !attrs.iter().any(|kv| kv.key == *key && is_str(kv, equals)) {
                    continue;
                }
                keep.push(key);
            }
            for kv in attrs.iter().filter(|kv| kv.key == m.attribute) {
                let violation = |key: Option<&str>| Violation {
                    map: m.name.clone(),
                    attribute: m.attribute.clone(),
                    key: key.map(str::to_owned),
                };
                match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    None => {}
                    Some(Value::KvlistValue(list)) => {
                        if let Some(bad) = list.values.iter().find(|e| !m.allowed.contains(&e.key))
                        {
                            return Err(violation(Some(&bad.key)));
                        }
                    }
                    Some(_) => return Err(violation(None)),
                }
            }
            keep.push(&m.attribute);
        }
        Ok(())
    }
}

fn is_str(kv: &KeyValue, want: &str) -> bool {
    matches!(
        kv.value.as_ref().and_then(|v| v.value.as_ref()),
        Some(Value::StringValue(s)) if s == want
    )
}
