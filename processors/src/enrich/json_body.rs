//! Reading the trace-context fields of a log body that is a JSON object, in one streaming pass:
//! only top-level keys are compared, every other value is skipped without being built, and
//! string values are borrowed from the body (copied only when they hold escapes).
//!
//! A body that is not exactly one JSON object gives `None`; nothing here panics.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::keys::{Candidate, Found, Keys, Role};

/// The candidates of the configured keys among the top-level fields of the JSON object `text`.
pub(super) fn scan<'a>(text: &'a str, keys: &Keys) -> Option<Found<'a>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let found = Object { keys }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(found)
}

/// The top-level object.
struct Object<'k> {
    keys: &'k Keys,
}

impl<'de> DeserializeSeed<'de> for Object<'_> {
    type Value = Found<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Found<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Object<'_> {
    type Value = Found<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found<'de>, A::Error> {
        let mut found = Found::default();
        let mut at = 0;
        while let Some(role) = map.next_key_seed(Key { keys: self.keys })? {
            match role {
                Some(role) => found.offer(role, at, map.next_value_seed(Field)?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            at += 1;
        }
        Ok(found)
    }
}

/// A key, classified without being copied.
struct Key<'k> {
    keys: &'k Keys,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Option<(Role, usize)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for Key<'_> {
    type Value = Option<(Role, usize)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.keys.classify(v))
    }
}

/// The value of a trace-context key: a string, or [`Candidate::Other`] for anything else
/// (which is consumed without being built).
struct Field;

impl<'de> DeserializeSeed<'de> for Field {
    type Value = Candidate<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Candidate<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Field {
    type Value = Candidate<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: Error>(self, v: &'de str) -> Result<Candidate<'de>, E> {
        Ok(Candidate::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<Candidate<'de>, E> {
        Ok(Candidate::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_bool<E: Error>(self, _: bool) -> Result<Candidate<'de>, E> {
        Ok(Candidate::Other)
    }

    fn visit_i64<E: Error>(self, _: i64) -> Result<Candidate<'de>, E> {
        Ok(Candidate::Other)
    }

    fn visit_u64<E: Error>(self, _: u64) -> Result<Candidate<'de>, E> {
        Ok(Candidate::Other)
    }

    fn visit_f64<E: Error>(self, _: f64) -> Result<Candidate<'de>, E> {
        Ok(Candidate::Other)
    }

    fn visit_unit<E: Error>(self) -> Result<Candidate<'de>, E> {
        Ok(Candidate::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Candidate<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Candidate::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Candidate<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Candidate::Other)
    }
}
