//! `${env:VAR}` and `${env:VAR:-default}` expansion in scalar values, after parsing (so an
//! environment value can never inject YAML structure). `$$` is a literal `$`; `${VAR}` is read
//! as `${env:VAR}`, as in the Collector.
//!
//! Failures are messages for the loader to place at the value's path: an unclosed `${`, a bad
//! variable name, an unknown provider (`${file:…}`), or a variable that is unset and has no
//! default (weir refuses to start with a silently empty value).

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

/// Expands every string scalar under `value`; each failure is pushed as `(path, message)`.
pub fn expand_tree(
    value: &mut Value,
    path: &str,
    env: &dyn Env,
    errors: &mut Vec<(String, String)>,
) {
    match value {
        Value::String(s) => match expand_str(s, env) {
            Ok(Some(new)) => *value = new,
            Ok(None) => {}
            Err(msg) => errors.push((path.to_owned(), msg)),
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
                expand_tree(v, &child, env, errors);
            }
        }
        Value::Sequence(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                expand_tree(v, &format!("{path}[{i}]"), env, errors);
            }
        }
        Value::Tagged(t) => expand_tree(&mut t.value, path, env, errors),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The expansion of `s`: `None` when it holds no `$`. A value that is exactly one reference is
/// re-read as a YAML scalar, so `${env:PORT}` can fill a number field.
fn expand_str(s: &str, env: &dyn Env) -> Result<Option<Value>, String> {
    if !s.contains('$') {
        return Ok(None);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut references = 0;
    let mut literal = false;
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
                .ok_or_else(|| format!("unclosed \"${{\" in {s:?}"))?;
            out.push_str(&resolve(&body[..end], env)?);
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
    if references == 1
        && !literal
        && let Ok(v @ (Value::Bool(_) | Value::Number(_))) = serde_yaml_ng::from_str::<Value>(&out)
    {
        return Ok(Some(v));
    }
    Ok(Some(Value::String(out)))
}

fn resolve(reference: &str, env: &dyn Env) -> Result<String, String> {
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
    match (env.var(name), default) {
        (Some(v), _) => Ok(v),
        (None, Some(d)) => Ok(d.to_owned()),
        (None, None) => Err(format!(
            "environment variable {name} is not set and \"${{{reference}}}\" has no default (write ${{env:{name}:-value}})"
        )),
    }
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
        expand_str(s, &env())
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
        expand_tree(&mut v, "", &env(), &mut errors);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, "a.b[1]");
        assert_eq!(v["a"]["c"], Value::Number(4317.into()));
    }
}
