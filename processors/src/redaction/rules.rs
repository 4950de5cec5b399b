//! The compiled rules: which class a key is in, how a string is scanned for blocked values,
//! and the keyed hash. Built once per processor; nothing here compiles or allocates per record
//! unless a value actually changes.
//!
//! Keys are classified in this order, first match wins: ignored, hashed, blocked, allowed,
//! otherwise not allowed. Keys named in the config are classified once, at build time, into
//! one hash map; other keys cost one lookup per `.`-prefix (for `service.*`-style rules), one
//! `RegexSet` search for blocked key patterns and one for blocked values in the key itself,
//! once per worker thread (see [`super::memo`]).
//!
//! Failure: the patterns arrive compiled and the key entries checked (see
//! [`super::RedactionConfig`]); [`Rules::new`] fails only when the patterns of one list, each
//! valid, do not compile together into one set (the regex crate's size limit), with the list's
//! key and why.

use std::collections::HashMap;

use foldhash::fast::RandomState;
use regex::{Regex, RegexSet};
use ring::hmac;

use super::class::KeyClass;
use super::config::RedactionConfig;
use super::defaults;
use super::keys::{KeyEntry, KeyRule};
use super::memo::{MAX_KEYS, Memo, Verdict};
use super::sanitizers::Sanitizers;
use super::summary::{COUNT_KEY, KEYS_KEY};
use crate::pattern::Pattern;

/// The class of a key the config names, at the top level of an attribute list and inside a
/// nested map or log body (where the allowlist does not apply). Such a key is the operator's
/// own text, so it is not scanned for secrets itself.
#[derive(Debug, Clone, Copy)]
struct Known {
    top: KeyClass,
    nested: KeyClass,
}

/// Error building the rules: the config key at fault and why.
pub(super) type RuleError = (String, String);

/// Every key and value rule of one processor.
pub(super) struct Rules {
    exact: HashMap<Box<str>, Known, RandomState>,
    /// `prefix.` → class of the list it came from (ignored, hashed or allowed).
    prefixes: HashMap<Box<str>, KeyClass, RandomState>,
    /// Length of the longest prefix, to stop looking early.
    longest_prefix: usize,
    allow_all: bool,
    blocked_keys: RegexSet,
    /// The value scanner, also used on keys that the config does not name.
    pub values: ValueScanner,
    hasher: Option<hmac::Key>,
    /// The placeholder.
    pub mask: Box<str>,
    /// The placeholder in metric names: `mask` without the characters an instrument name
    /// cannot hold (`REDACTED` for `[REDACTED]`).
    pub name_mask: Box<str>,
    /// `redact_all_types`: integer and double values are scanned too.
    pub all_types: bool,
    /// `url_sanitizer` and `db_sanitizer`, by attribute key.
    pub sanitizers: Sanitizers,
}

/// `mask` reduced to the characters of an OpenTelemetry instrument name (`[A-Za-z0-9_.\-/]`,
/// starting with a letter); `REDACTED` when nothing usable is left.
fn name_mask(mask: &str) -> Box<str> {
    let kept: String = mask
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))
        .skip_while(|c| !c.is_ascii_alphabetic())
        .collect();
    if kept.is_empty() {
        "REDACTED".into()
    } else {
        kept.into()
    }
}

impl Rules {
    /// Compiles `cfg`; the config must already be free of [`RedactionConfig::problems`] for
    /// hashing to be set up.
    pub fn new(cfg: &RedactionConfig) -> Result<Self, RuleError> {
        let blocked_keys = compile_set(
            "blocked_key_patterns",
            defaults::BLOCKED_KEY_PATTERNS,
            &cfg.blocked_key_patterns,
        )?;
        let values = ValueScanner::new(cfg)?;
        let allowed: Vec<&str> = match &cfg.allowed_keys {
            Some(list) => list.iter().map(KeyEntry::as_str).collect(),
            None => defaults::ALLOWED_KEYS.to_vec(),
        };
        let allowed = allowed
            .into_iter()
            .chain(cfg.extra_allowed_keys.iter().map(KeyEntry::as_str))
            .chain([COUNT_KEY, KEYS_KEY]);
        let lists: [(KeyClass, Vec<&str>); 3] = [
            (
                KeyClass::Ignored,
                cfg.ignored_keys.iter().map(KeyEntry::as_str).collect(),
            ),
            (
                KeyClass::Hashed,
                cfg.hashed_keys.iter().map(KeyEntry::as_str).collect(),
            ),
            (KeyClass::Allowed, allowed.collect()),
        ];
        let mut prefixes: HashMap<Box<str>, KeyClass, RandomState> = HashMap::default();
        let mut names = Vec::new();
        for (class, list) in &lists {
            for entry in list {
                match KeyRule::of(entry) {
                    KeyRule::Exact(k) => names.push(k),
                    KeyRule::Prefix(p) => {
                        let slot = prefixes.entry(p.into()).or_insert(*class);
                        *slot = (*slot).min(*class);
                    }
                }
            }
        }
        let hasher = match (&cfg.hash_function, &cfg.hash_key) {
            (Some(_), Some(key)) => Some(hmac::Key::new(hmac::HMAC_SHA256, key.0.as_bytes())),
            _ => None,
        };
        let mut rules = Rules {
            exact: HashMap::default(),
            longest_prefix: prefixes.keys().map(|p| p.len()).max().unwrap_or(0),
            prefixes,
            allow_all: cfg.allow_all_keys,
            blocked_keys,
            values,
            hasher,
            mask: cfg.mask().into(),
            name_mask: name_mask(cfg.mask()),
            all_types: cfg.redact_all_types,
            sanitizers: Sanitizers::new(&cfg.url_sanitizer, &cfg.db_sanitizer),
        };
        let mut exact: HashMap<Box<str>, Known, RandomState> = HashMap::default();
        for name in names {
            let listed = |class: KeyClass| {
                lists.iter().any(|(c, l)| *c == class && l.contains(&name))
                    || rules.prefix_class_in(name, class)
            };
            let flags = [KeyClass::Ignored, KeyClass::Hashed, KeyClass::Allowed].map(listed);
            let known = Known {
                top: rules.decide(name, flags, true),
                nested: rules.decide(name, flags, false),
            };
            exact.insert(name.into(), known);
        }
        rules.exact = exact;
        Ok(rules)
    }

    /// The class of `key` (at the top level of an attribute list when `top`; inside a map or
    /// log body, where the allowlist does not apply, otherwise) and whether the key itself
    /// holds a blocked value. Keys the config names come from the build-time map, others from
    /// `memo`, which this fills.
    pub fn classify(&self, key: &str, top: bool, memo: &mut Memo) -> (KeyClass, bool) {
        if let Some(k) = self.exact.get(key) {
            return (if top { k.top } else { k.nested }, false);
        }
        let v = match memo.keys.get(key) {
            Some(v) => *v,
            None => {
                let v = self.verdict(key);
                if memo.keys.len() >= MAX_KEYS {
                    memo.keys.clear();
                }
                memo.keys.insert(key.into(), v);
                v
            }
        };
        (if top { v.top } else { v.nested }, v.key_has_secret)
    }

    /// Masks every blocked value in `s`, asking the memo first; returns whether `s` changed.
    pub fn scan(&self, s: &mut String, memo: &mut Memo) -> bool {
        if memo.is_clean(s) {
            return false;
        }
        let changed = self.values.mask_in_place(s);
        if !changed {
            memo.saw_clean(s);
        }
        changed
    }

    /// Searches the patterns for a key the config does not name.
    fn verdict(&self, key: &str) -> Verdict {
        let by_prefix = self.prefix_class(key);
        let flags =
            [KeyClass::Ignored, KeyClass::Hashed, KeyClass::Allowed].map(|c| by_prefix == Some(c));
        Verdict {
            top: self.decide(key, flags, true),
            nested: self.decide(key, flags, false),
            key_has_secret: self.values.needs_masking(key),
        }
    }

    /// The class of `key` given whether it is listed as `[ignored, hashed, allowed]`.
    fn decide(&self, key: &str, [ignored, hashed, allowed]: [bool; 3], top: bool) -> KeyClass {
        if ignored {
            return KeyClass::Ignored;
        }
        if hashed {
            return KeyClass::Hashed;
        }
        if top && !self.allow_all && !allowed {
            return KeyClass::NotAllowed; // masked either way: no need to search patterns
        }
        if self.blocked_keys.is_match(key) {
            KeyClass::Blocked
        } else {
            KeyClass::Allowed
        }
    }

    /// True when a prefix rule of `class` covers `key`.
    fn prefix_class_in(&self, key: &str, class: KeyClass) -> bool {
        key.match_indices('.')
            .any(|(i, _)| self.prefixes.get(&key[..=i]) == Some(&class))
    }

    /// The strongest class among the prefix rules `key` falls under.
    fn prefix_class(&self, key: &str) -> Option<KeyClass> {
        if self.prefixes.is_empty() {
            return None;
        }
        let mut best: Option<KeyClass> = None;
        for (i, b) in key.bytes().enumerate() {
            if i >= self.longest_prefix {
                break;
            }
            if b == b'.'
                && let Some(c) = self.prefixes.get(&key[..=i])
            {
                best = Some(best.map_or(*c, |b| b.min(*c)));
            }
        }
        best
    }

    /// The lower-case hex HMAC-SHA256 of `bytes`; `None` when hashing is not configured.
    pub fn hash(&self, bytes: &[u8]) -> Option<String> {
        let key = self.hasher.as_ref()?;
        Some(const_hex::encode(hmac::sign(key, bytes).as_ref()))
    }
}

/// The built-in patterns and `extra` as one set; fails only past the regex crate's size limit.
fn compile_set(name: &str, builtin: &[&str], extra: &[Pattern]) -> Result<RegexSet, RuleError> {
    RegexSet::new(
        builtin
            .iter()
            .copied()
            .chain(extra.iter().map(Pattern::as_str)),
    )
    .map_err(|e| together(name, &e))
}

/// The error of patterns that compile alone but not together.
fn together(name: &str, e: &regex::Error) -> RuleError {
    (
        name.to_owned(),
        format!("patterns do not compile together: {e}"),
    )
}

/// One blocked-value pattern and the capture group it masks (0: the whole match).
struct ValuePattern {
    re: Regex,
    group: usize,
}

/// Finds and masks blocked values inside strings.
pub(super) struct ValueScanner {
    set: RegexSet,
    patterns: Vec<ValuePattern>,
    /// `^(?:a|b|…)$` of `allowed_values`.
    allowed: Option<Regex>,
    mask: Box<str>,
}

/// Rounds of masking before giving up on a string whose matches keep shifting (a mask next
/// to other text can form a new match; each round masks strictly more).
const MAX_ROUNDS: usize = 4;

impl ValueScanner {
    fn new(cfg: &RedactionConfig) -> Result<Self, RuleError> {
        let set = compile_set(
            "blocked_values",
            defaults::BLOCKED_VALUES,
            &cfg.blocked_values,
        )?;
        let built_in = defaults::BLOCKED_VALUES
            .iter()
            .map(|p| Regex::new(p).map_err(|e| together("blocked_values", &e)));
        let listed = cfg.blocked_values.iter().map(|p| Ok(p.regex().clone()));
        let mut patterns = Vec::new();
        for re in built_in.chain(listed) {
            let re = re?;
            let group = re
                .capture_names()
                .position(|n| n == Some("secret"))
                .unwrap_or(0);
            patterns.push(ValuePattern { re, group });
        }
        let allowed = if cfg.allowed_values.is_empty() {
            None
        } else {
            let joined: Vec<String> = cfg
                .allowed_values
                .iter()
                .map(|p| format!("(?:{p})"))
                .collect();
            let re = Regex::new(&format!("^(?:{})$", joined.join("|")))
                .map_err(|e| together("allowed_values", &e))?;
            Some(re)
        };
        Ok(Self {
            set,
            patterns,
            allowed,
            mask: cfg.mask().into(),
        })
    }

    /// True when `s` holds something to mask (and is not an allowed value).
    pub fn needs_masking(&self, s: &str) -> bool {
        self.set.is_match(s) && !self.allowed.as_ref().is_some_and(|a| a.is_match(s))
    }

    /// Masks every blocked value in `s`; returns whether `s` changed.
    pub fn mask_in_place(&self, s: &mut String) -> bool {
        self.mask_in_place_with(s, &self.mask)
    }

    /// Masks every blocked value in `s` with `mask`; returns whether `s` changed.
    pub fn mask_in_place_with(&self, s: &mut String, mask: &str) -> bool {
        if !self.needs_masking(s) {
            return false;
        }
        let mut changed = false;
        for _ in 0..MAX_ROUNDS {
            let mut round = false;
            for i in self.set.matches(s).iter() {
                if let Some(new) = self.patterns[i].masked(s, mask) {
                    *s = new;
                    round = true;
                }
            }
            if !round {
                break;
            }
            changed = true;
        }
        changed
    }
}

#[cfg(test)]
#[test]
fn name_masks_hold_only_name_characters() {
    assert_eq!(&*name_mask("[REDACTED]"), "REDACTED");
    assert_eq!(&*name_mask("<hidden-1>"), "hidden-1");
    assert_eq!(&*name_mask("***"), "REDACTED");
    assert_eq!(&*name_mask("_x y"), "xy");
}

impl ValuePattern {
    /// `s` with every match (or its `secret` group) replaced by `mask`; `None` when every
    /// such part already is the mask.
    fn masked(&self, s: &str, mask: &str) -> Option<String> {
        let mut out = String::new();
        let mut last = 0;
        let mut changed = false;
        for caps in self.re.captures_iter(s) {
            let Some(m) = caps.get(self.group) else {
                continue;
            };
            if m.as_str() == mask || m.start() < last {
                continue;
            }
            if !changed {
                out.reserve(s.len());
                changed = true;
            }
            out.push_str(&s[last..m.start()]);
            out.push_str(mask);
            last = m.end();
        }
        changed.then(|| {
            out.push_str(&s[last..]);
            out
        })
    }
}
