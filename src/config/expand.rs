//! `${env:VAR}` and `${env:VAR:-default}` expansion in scalar values, after parsing (so an
//! environment value can never inject YAML structure). `$$` is a literal `$`; `${VAR}` is read
//! as `${env:VAR}`, as in the Collector.
//!
//! Failures are messages for the loader to place at the value's path: an unclosed `${`, a bad
//! variable name, an unknown provider (`${file:…}`), or a variable that is unset and has no
//! default (weir refuses to start with a silently empty value). When unset variables are
//! allowed (`weir validate --skip-env`), such a value is left as written and the variables and
//! its path are listed instead, for warnings.

use std::collections::HashMap;

use serde_yaml_ng::Value;

/// Where variables come from: the process environment, or a map in tests.
pub trait Env {
    /// The value of `name`, when set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// Variables that were not set, each with the path of a value that uses it, in file order.
pub type Unset = Vec<(String, String)>;

/// Expands every string scalar under `value`; each failure is pushed as `(path, message)`. With
/// `unset`, a value using a variable that is not set is left as written and listed there instead.
pub fn expand_tree(
    value: &mut Value,
    path: &str,
    env: &dyn Env,
    errors: &mut Vec<(String, String)>,
    mut unset: Option<&mut Unset>,
) {
    match value {
        Value::String(s) => match (expand_str(s, env), unset) {
            (Ok(Some(new)), _) => *value = new,
            (Ok(None), _) => {}
            (Err(Failure::Unset(names)), Some(unset)) => {
                unset.extend(names.into_iter().map(|n| (n, path.to_owned())));
            }
            (Err(f), _) => errors.push((path.to_owned(), f.message())),
        },
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                let key = match k {
                    Value::String(s) => s.clone(),
                    other => format!("{other:?}"),
                };
                let child = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                expand_tree(v, &child, env, errors, unset.as_deref_mut());
            }
        }
        Value::Sequence(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                expand_tree(
                    v,
                    &format!("{path}[{i}]"),
                    env,
                    errors,
                    unset.as_deref_mut(),
                );
            }
        }
        Value::Tagged(t) => expand_tree(&mut t.value, path, env, errors, unset),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Why a value cannot be expanded.
#[derive(Debug, PartialEq)]
enum Failure {
    /// Malformed: what is wrong.
    Bad(String),
    /// Well-formed, but these variables are unset and have no default.
    Unset(Vec<String>),
}

impl Failure {
    fn message(&self) -> String {
        match self {
            Failure::Bad(m) => m.clone(),
            Failure::Unset(names) => {
                let name = names.first().map(String::as_str).unwrap_or_default();
                format!(
                    "environment variable {name} is not set and \"${{env:{name}}}\" has no default (write ${{env:{name}:-value}})"
                )
            }
        }
    }
}

/// The expansion of `s`: `None` when it holds no `$`. A value that is exactly one reference is
/// re-read as a YAML scalar, so `${env:PORT}` can fill a number field.
fn expand_str(s: &str, env: &dyn Env) -> Result<Option<Value>, Failure> {
    if !s.contains('$') {
        return Ok(None);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut references = 0;
    let mut literal = false;
    let mut unset = Vec::new();
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        literal |= at > 0;
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            literal = true;
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| Failure::Bad(format!("unclosed \"${{\" in {s:?}")))?;
            match resolve(&body[..end], env).map_err(Failure::Bad)? {
                Resolved::Value(v) => out.push_str(&v),
                Resolved::Unset(name) => unset.push(name),
            }
            references += 1;
            rest = &body[end + 1..];
        } else {
            out.push('$');
            literal = true;
            rest = after;
        }
    }
    literal |= !rest.is_empty();
    out.push_str(rest);
    if !unset.is_empty() {
        return Err(Failure::Unset(unset));
    }
    if references == 1
        && !literal
        && let Ok(v @ (Value::Bool(_) | Value::Number(_))) = serde_yaml_ng::from_str::<Value>(&out)
    {
        return Ok(Some(v));
    }
    Ok(Some(Value::String(out)))
}

/// What a well-formed reference stands for.
enum Resolved {
    /// The variable's value, or the default.
    Value(String),
    /// The variable (named) is unset and there is no default.
    Unset(String),
}

fn resolve(reference: &str, env: &dyn Env) -> Result<Resolved, String> {
    let spec = match reference.split_once(':') {
        Some(("env", spec)) => spec,
        Some((provider, rest)) if is_name(provider) && !rest.starts_with('-') => {
            return Err(format!(
                "not supported by weir: config provider {provider:?} in \"${{{reference}}}\"; only env is"
            ));
        }
        _ => reference,
    };
    let (name, default) = match spec.split_once(":-") {
        Some((n, d)) => (n, Some(d)),
        None => (spec, None),
    };
    if !is_name(name) {
        return Err(format!(
            "bad variable name {name:?} in \"${{{reference}}}\"; use letters, digits and _ (not first a digit), with an optional :-default"
        ));
    }
    Ok(match (env.var(name), default) {
        (Some(v), _) => Resolved::Value(v),
        (None, Some(d)) => Resolved::Value(d.to_owned()),
        (None, None) => Resolved::Unset(name.to_owned()),
    })
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> HashMap<String, String> {
        HashMap::from([
            ("PORT".to_owned(), "4317".to_owned()),
            ("HOST".to_owned(), "weir".to_owned()),
        ])
    }

    fn ex(s: &str) -> Result<Option<Value>, String> {
        expand_str(s, &env()).map_err(|f| f.message())
    }

    #[test]
    fn expands_references_defaults_and_escapes() {
        assert_eq!(ex("plain"), Ok(None));
        assert_eq!(
            ex("${env:HOST}:${env:PORT}"),
            Ok(Some(Value::String("weir:4317".into())))
        );
        assert_eq!(ex("${HOST}"), Ok(Some(Value::String("weir".into()))));
        assert_eq!(ex("${NOPE:-x}"), Ok(Some(Value::String("x".into()))));
        assert_eq!(
            ex("${env:MISSING:-0.0.0.0:4318}"),
            Ok(Some(Value::String("0.0.0.0:4318".into())))
        );
        assert_eq!(
            ex("${env:MISSING:-}"),
            Ok(Some(Value::String(String::new())))
        );
        assert_eq!(ex("cost $$5"), Ok(Some(Value::String("cost $5".into()))));
        assert_eq!(ex("$HOST"), Ok(Some(Value::String("$HOST".into()))));
    }

    #[test]
    fn a_lone_reference_becomes_a_number_or_bool() {
        assert_eq!(ex("${env:PORT}"), Ok(Some(Value::Number(4317.into()))));
        assert_eq!(ex("${env:X:-true}"), Ok(Some(Value::Bool(true))));
        assert_eq!(ex("p${env:PORT}"), Ok(Some(Value::String("p4317".into()))));
    }

    #[test]
    fn bad_references_are_named() {
        assert!(ex("${env:PORT").expect_err("unclosed").contains("unclosed"));
        assert!(
            ex("${env:1BAD:-x}")
                .expect_err("name")
                .contains("bad variable name \"1BAD\"")
        );
        assert!(
            ex("${env:MISSING}")
                .expect_err("unset")
                .contains("MISSING is not set")
        );
        assert!(
            ex("${file:/etc/x}")
                .expect_err("provider")
                .contains("not supported by weir")
        );
    }

    #[test]
    fn tree_expansion_reports_paths() {
        let mut v: Value =
            serde_yaml_ng::from_str("a:\n  b: [ok, '${env:NOPE}']\n  c: ${env:PORT}\n")
                .expect("yaml");
        let mut errors = Vec::new();
        expand_tree(&mut v, "", &env(), &mut errors, None);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, "a.b[1]");
        assert_eq!(v["a"]["c"], Value::Number(4317.into()));
    }

    #[test]
    fn unset_variables_can_be_listed_instead_of_refused() {
        let mut v: Value = serde_yaml_ng::from_str(
            "a: '${env:NOPE}:${env:PORT}:${NOR}'\nb: ['${env:NOPE}', '${env:1BAD}']\n",
        )
        .expect("yaml");
        let (mut errors, mut unset) = (Vec::new(), Unset::new());
        expand_tree(&mut v, "", &env(), &mut errors, Some(&mut unset));
        let listed = |n: &str, p: &str| (n.to_owned(), p.to_owned());
        assert_eq!(
            unset,
            [
                listed("NOPE", "a"),
                listed("NOR", "a"),
                listed("NOPE", "b[0]")
            ]
        );
        assert_eq!(
            v["a"],
            Value::String("${env:NOPE}:${env:PORT}:${NOR}".into())
        );
        assert_eq!(errors.len(), 1, "a malformed reference is still an error");
        assert_eq!(errors[0].0, "b[1]");
    }
}
