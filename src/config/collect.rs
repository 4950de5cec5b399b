//! Reading a section with every error, not only serde's first: after an error at a key, that
//! key is taken out (a key inside a list's item alone, an item of a list for an error in the
//! item itself, a whole list when that list is inside another) and the value read again, so
//! the other keys are still checked, and once the rest reads, the section's own checks run on
//! it too. Values left unexpanded by `--skip-env`
//! (the "unchecked" paths) are taken out the same way, without an error.
//!
//! Stops at an error that taking a key out cannot get past (a required key missing, the value
//! as a whole of the wrong type) and fails with every error found until then.

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde_yaml_ng::Value;

use super::components::FieldError;
use super::suggest;

/// Attempts per value before giving up on finding more errors in it.
const MAX_READS: usize = 64;

/// The paths whose values were not expanded and are not checked (`weir validate --skip-env`),
/// seen from one section.
#[derive(Debug, Clone, Copy)]
pub struct Unchecked<'a> {
    paths: Option<&'a BTreeSet<String>>,
    base: &'a str,
}

impl<'a> Unchecked<'a> {
    /// Nothing is unchecked.
    pub const NONE: Unchecked<'static> = Unchecked {
        paths: None,
        base: "",
    };

    /// `paths` (full dotted paths) seen from the section at `base`.
    pub fn new(paths: &'a BTreeSet<String>, base: &'a str) -> Self {
        Self {
            paths: Some(paths),
            base,
        }
    }

    /// True when `path` (relative to the section) is, or is inside, an unchecked value.
    pub fn contains(&self, path: &str) -> bool {
        let Some(paths) = self.paths else {
            return false;
        };
        let full = join(self.base, path);
        paths.iter().any(|p| covers(p, &full))
    }
}

/// A section read as far as it goes: the value (once it reads), the errors, and the keys taken
/// out on the way (their defaults are not what the user wrote, so their checks are skipped).
pub struct Read<'a, T> {
    value: Option<T>,
    errors: Vec<FieldError>,
    taken_out: Vec<String>,
    unchecked: Unchecked<'a>,
}

impl<T> Read<'_, T> {
    /// The section wrapped by `wrap`, or every error: the reading's and those `problems` finds
    /// in what was read, except at keys taken out or unchecked, and except a problem of the
    /// section as a whole once a key was taken out (the section read is not the one written:
    /// a `filter` whose only list was refused has "no conditions" only as a knock-on).
    pub fn finish<U>(
        self,
        problems: impl FnOnce(&T) -> Vec<FieldError>,
        wrap: impl FnOnce(T) -> U,
    ) -> Result<U, Vec<FieldError>> {
        let mut errors = self.errors;
        let Some(value) = self.value else {
            return Err(errors);
        };
        errors.extend(
            problems(&value)
                .into_iter()
                .filter(|(p, _)| !self.taken_out.iter().any(|o| covers(o, p)))
                .filter(|(p, _)| !p.is_empty() || self.taken_out.is_empty())
                .filter(|(p, _)| !self.unchecked.contains(p)),
        );
        if errors.is_empty() {
            Ok(wrap(value))
        } else {
            Err(errors)
        }
    }

    /// What was read (when anything was) and the errors, for a caller that checks the rest
    /// itself.
    pub fn partial(self) -> (Option<T>, Vec<FieldError>) {
        (self.value, self.errors)
    }

    /// The section, or every error found reading it.
    pub fn plain(self) -> Result<T, Vec<FieldError>> {
        self.finish(|_| Vec::new(), |t| t)
    }
}

/// Reads `value` (null means "all defaults") as a `T`, collecting every error.
pub fn read<'a, T: DeserializeOwned>(value: Value, unchecked: Unchecked<'a>) -> Read<'a, T> {
    let mut value = match value {
        Value::Null => Value::Mapping(Default::default()),
        v => v,
    };
    let mut errors = Vec::new();
    let mut taken_out: Vec<String> = Vec::new();
    let mut thinned = Thinned::default();
    for _ in 0..MAX_READS {
        let (at, message) = match serde_path_to_error::deserialize(value.clone()) {
            Ok(t) => {
                taken_out.extend(thinned.lists());
                return Read {
                    value: Some(t),
                    errors,
                    taken_out,
                    unchecked,
                };
            }
            Err(e) => describe(e),
        };
        // `at` counts items in the list as it is now; `path` as written.
        let path = thinned.as_written(&at);
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next());
        // What the error is about: a missing key is about that key, not its parent.
        let about = missing.map_or_else(|| path.clone(), |k| join(&path, k));
        if !taken_out.iter().any(|o| covers(o, &about)) && !unchecked.contains(&about) {
            errors.push((path.clone(), suggest::serde_message(&message)));
        }
        if missing.is_none() && thinned.take_item(&mut value, &at) {
            continue;
        }
        // The key holding the error: a key inside a list's item (`actions[1].pattern`) alone,
        // a whole list for an error in an item of a list inside another (`a[0].b[1]`).
        let key = holding_key(&at).to_owned();
        if missing.is_some() || key.is_empty() || key.contains('?') || !remove_at(&mut value, &key)
        {
            break;
        }
        taken_out.push(thinned.as_written(&key));
    }
    taken_out.extend(thinned.lists());
    Read {
        value: None,
        errors,
        taken_out,
        unchecked,
    }
}

/// Items taken out of lists that are not inside another list (`blocked_values[1]`), so that
/// every bad item of a list is reported: the items after one taken out move up, and their
/// errors are given back the index they were written at.
#[derive(Default)]
struct Thinned(Vec<(String, Vec<usize>)>);

impl Thinned {
    /// Takes out the item an error at `at` (`list[i]`, counted as the list is now) is in,
    /// when `list` is a key path without lists; false otherwise (nothing changed).
    fn take_item(&mut self, value: &mut Value, at: &str) -> bool {
        let Some((list, index)) = at
            .strip_suffix(']')
            .and_then(|a| a.rsplit_once('['))
            .and_then(|(l, i)| Some((l, i.parse::<usize>().ok()?)))
        else {
            return false;
        };
        if list.is_empty() || list.contains(['[', '?']) {
            return false;
        }
        let mut node = Some(&mut *value);
        for step in list.split('.') {
            node = node.and_then(|n| n.as_mapping_mut()?.get_mut(step));
        }
        let Some(items) = node.and_then(Value::as_sequence_mut) else {
            return false;
        };
        if index >= items.len() {
            return false;
        }
        items.remove(index);
        let written = self.written_index(list, index);
        match self.0.iter_mut().find(|(l, _)| l == list) {
            Some((_, taken)) => {
                taken.push(written);
                taken.sort_unstable();
            }
            None => self.0.push((list.to_owned(), vec![written])),
        }
        true
    }

    /// `at` with the index of a thinned list given back as written.
    fn as_written(&self, at: &str) -> String {
        for (list, _) in &self.0 {
            let Some(rest) = at
                .strip_prefix(list.as_str())
                .and_then(|r| r.strip_prefix('['))
            else {
                continue;
            };
            let Some((index, tail)) = rest.split_once(']') else {
                continue;
            };
            if let Ok(i) = index.parse::<usize>() {
                return format!("{list}[{}]{tail}", self.written_index(list, i));
            }
        }
        at.to_owned()
    }

    /// The index as written of item `now` of `list`.
    fn written_index(&self, list: &str, now: usize) -> usize {
        let taken = self.0.iter().find(|(l, _)| l == list).map(|(_, t)| t);
        taken
            .into_iter()
            .flatten()
            .fold(now, |i, &t| if t <= i { i + 1 } else { i })
    }

    /// The lists items were taken out of: what is read there is not what was written.
    fn lists(&self) -> impl Iterator<Item = String> + '_ {
        self.0.iter().map(|(l, _)| l.clone())
    }
}

/// The dotted path and message of a serde error, pointing an unknown key's error at the key.
fn describe(e: serde_path_to_error::Error<serde_yaml_ng::Error>) -> FieldError {
    let mut path = e.path().to_string();
    if path == "." {
        path.clear();
    }
    let message = e.inner().to_string();
    if let Some(key) = message
        .strip_prefix("unknown field `")
        .and_then(|r| r.split('`').next())
    {
        if path.is_empty() {
            path = key.to_owned();
        } else if !path.ends_with(key) {
            path = format!("{path}.{key}");
        }
    }
    (path, message)
}

/// The part of an error's `path` that can be taken out: `path` without its trailing list
/// indices (an item cannot be taken out of a list without renumbering the others).
fn holding_key(path: &str) -> &str {
    let mut key = path;
    while let Some(open) = key.strip_suffix(']').and_then(|k| k.rfind('[')) {
        key = &key[..open];
    }
    key
}

/// Takes the key at dotted `path` (whose steps may index lists: `a[1].b`) out of `value`;
/// false when there is no such key.
pub fn remove_at(value: &mut Value, path: &str) -> bool {
    let (parent, key) = match path.rsplit_once('.') {
        Some((p, k)) => (Some(p), k),
        None => (None, path),
    };
    let mut at = value;
    for step in parent.into_iter().flat_map(|p| p.split('.')) {
        let mut parts = step.split('[');
        let name = parts.next().unwrap_or_default();
        let Some(v) = at.as_mapping_mut().and_then(|m| m.get_mut(name)) else {
            return false;
        };
        at = v;
        for index in parts {
            let item = index
                .strip_suffix(']')
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| at.as_sequence_mut()?.get_mut(i));
            match item {
                Some(v) => at = v,
                None => return false,
            }
        }
    }
    at.as_mapping_mut().is_some_and(|m| m.remove(key).is_some())
}

/// True when `inner` is `outer` or inside it (`a.b` covers `a.b`, `a.b.c` and `a.b[0]`).
pub fn covers(outer: &str, inner: &str) -> bool {
    inner
        .strip_prefix(outer)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// `base.rest`, or either alone when the other is empty.
pub fn join(base: &str, rest: &str) -> String {
    match (base.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_owned(),
        (_, true) => base.to_owned(),
        _ => format!("{base}.{rest}"),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Section {
        name: String,
        #[serde(default)]
        port: u16,
        #[serde(default)]
        level: Option<Level>,
        #[serde(default)]
        tags: Vec<u8>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Level {
        Info,
    }

    fn yaml(s: &str) -> Value {
        serde_yaml_ng::from_str(s).expect("yaml")
    }

    #[test]
    fn every_key_error_is_found_and_the_checks_run_on_the_rest() {
        let read: Read<Section> = read(
            yaml("name: ''\nport: x\nlevle: info\ntags: [1, 300]\n"),
            Unchecked::NONE,
        );
        let errors = read
            .finish(
                |s| {
                    let mut out = vec![("port".to_owned(), "default port".to_owned())];
                    if s.name.is_empty() {
                        out.push(("name".into(), "required".into()));
                    }
                    out
                },
                |s| s,
            )
            .expect_err("errors");
        let mut paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(paths, ["levle", "name", "port", "tags[1]"], "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|(p, m)| p == "levle" && m.contains("did you mean \"level\"")),
            "{errors:?}"
        );
    }

    #[test]
    fn every_bad_item_of_a_list_is_found_at_the_index_it_was_written_at() {
        let unchecked = BTreeSet::from(["s.tags[5]".to_owned()]);
        let (value, errors) = read::<Section>(
            yaml("name: n\ntags: [1, 300, -1, 2, 256, x, 3]\n"),
            Unchecked::new(&unchecked, "s"),
        )
        .partial();
        let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["tags[1]", "tags[2]", "tags[4]"], "{errors:?}");
        assert_eq!(value.expect("the rest reads").tags, [1, 2, 3]);
        let problems = read::<Section>(yaml("name: n\ntags: [300, 1]\n"), Unchecked::NONE)
            .finish(|_| vec![("tags[0]".into(), "a knock-on".into())], |s| s)
            .expect_err("errors");
        assert_eq!(
            problems.len(),
            1,
            "what is read of a thinned list is not checked"
        );
    }

    #[test]
    fn an_error_inside_a_list_item_takes_out_only_its_key() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Item {
            #[serde(default)]
            port: u16,
            #[serde(default)]
            level: Option<Level>,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct List {
            items: Vec<Item>,
        }
        let errors = read::<List>(
            yaml("items: [{port: x}, {level: loud}, {port: 1}]\n"),
            Unchecked::NONE,
        )
        .finish(
            |l| vec![("items[2].port".into(), format!("{} items", l.items.len()))],
            |l| l,
        )
        .expect_err("errors");
        let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["items[0].port", "items[1].level", "items[2].port"]);
        assert_eq!(errors[2].1, "3 items", "the items stay");
        assert_eq!(holding_key("a.b[1][2]"), "a.b");
        assert_eq!(holding_key("a[1].b"), "a[1].b");
    }

    #[test]
    fn a_missing_required_key_stops_the_reading() {
        let errors = read::<Section>(yaml("port: x\n"), Unchecked::NONE)
            .plain()
            .expect_err("errors");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[1].1.contains("missing field `name`"), "{errors:?}");
    }

    #[test]
    fn unchecked_values_are_taken_out_without_an_error() {
        let paths = BTreeSet::from(["c.s.port".to_owned(), "c.s.name".to_owned()]);
        let unchecked = Unchecked::new(&paths, "c.s");
        let errors = read::<Section>(
            yaml("name: ${env:N}\nport: ${env:P}\nlevel: loud\n"),
            unchecked,
        )
        .finish(|_| vec![("name".into(), "not a name".into())], |s| s)
        .expect_err("level");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, "level");
        assert!(unchecked.contains("port") && !unchecked.contains("portal"));
    }
}
