//! Key-list entries of the `redaction` processor (`allowed_keys`, `extra_allowed_keys`,
//! `ignored_keys`, `hashed_keys`): an exact key, or every key under a prefix when the entry
//! ends in `.*`. Checked once, when the config is read.
//!
//! How it fails: an empty entry, a lone `*` or `.*`, or a wildcard anywhere but a trailing
//! `.*` fails the reading with a [`KeyEntryError`] saying what to write instead; the config
//! loader reports it at the entry, with file and line.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, de};

/// Why a key-list entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyEntryError(String);

/// One checked key-list entry.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyEntry(String);

impl KeyEntry {
    /// The entry as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for KeyEntry {
    type Err = KeyEntryError;

    fn from_str(entry: &str) -> Result<Self, Self::Err> {
        check(entry).map_err(KeyEntryError)?;
        Ok(Self(entry.to_owned()))
    }
}

impl fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<'de> Deserialize<'de> for KeyEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(de::Error::custom)
    }
}

/// What a checked entry covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyRule<'a> {
    /// The whole key.
    Exact(&'a str),
    /// Everything after this prefix (which ends in `.`).
    Prefix(&'a str),
}

impl<'a> KeyRule<'a> {
    /// The rule of an entry that passed [`check`] (a [`KeyEntry`], or a built-in entry).
    pub(super) fn of(entry: &'a str) -> Self {
        match entry.strip_suffix('*') {
            Some(prefix) if prefix.ends_with('.') => KeyRule::Prefix(prefix),
            _ => KeyRule::Exact(entry),
        }
    }
}

/// Why `entry` is not a key-list entry, if it is not.
pub(super) fn check(entry: &str) -> Result<(), String> {
    if entry.is_empty() {
        return Err("empty key".into());
    }
    if entry == "*" || entry == ".*" {
        return Err("to keep every key, set allow_all_keys: true".into());
    }
    match entry.strip_suffix('*') {
        Some(prefix) if prefix.ends_with('.') && !prefix.contains('*') => Ok(()),
        _ if entry.contains('*') => Err(format!(
            "{entry:?}: the only wildcard is a trailing `.*` (as in `service.*`)"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_exact_keys_or_prefixes_and_other_wildcards_are_refused() {
        let exact: KeyEntry = "http.route".parse().expect("valid");
        assert_eq!(KeyRule::of(exact.as_str()), KeyRule::Exact("http.route"));
        let prefix: KeyEntry = "service.*".parse().expect("valid");
        assert_eq!(KeyRule::of(prefix.as_str()), KeyRule::Prefix("service."));
        for (bad, says) in [
            ("", "empty key"),
            ("*", "allow_all_keys"),
            (".*", "allow_all_keys"),
            ("a.*.b", "only wildcard"),
            ("a*", "only wildcard"),
        ] {
            let err = bad.parse::<KeyEntry>().expect_err(bad).to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
