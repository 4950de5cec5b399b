//! "Did you mean": the closest of the names weir knows to a misspelt one (a component kind, a
//! component id, a key), by edit distance with adjacent transpositions.
//!
//! Nothing here fails: when no name is close enough, there is no suggestion.

/// The name in `known` closest to `word`, when one is close enough to be a likely misspelling:
/// at most one edit for names up to five characters, two up to eight, three beyond. Ties go to
/// the first in `known`.
pub fn closest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = match word.chars().count() {
        0 => return None,
        1..=5 => 1,
        6..=8 => 2,
        _ => 3,
    };
    known
        .into_iter()
        .filter(|k| *k != word)
        .map(|k| (strsim::damerau_levenshtein(word, k), k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// `; did you mean "x"?` for the closest name in `known`, or nothing.
pub fn did_you_mean<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, known)
        .map(|k| format!("; did you mean {k:?}?"))
        .unwrap_or_default()
}

/// ` (did you mean "x"?)` for the closest name in `known`, or nothing: for the middle of a
/// message.
pub fn hint<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, known)
        .map(|k| format!(" (did you mean {k:?}?)"))
        .unwrap_or_default()
}

/// serde's "unknown field `x`, expected one of `a`, `b`" (or "unknown variant …") with the
/// closest expected name added; other messages as they are.
pub fn serde_message(message: &str) -> String {
    let Some((word, expected)) = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split_once('`'))
    else {
        return message.to_owned();
    };
    // The names serde lists, each between backticks, after "expected".
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    format!("{message}{}", did_you_mean(word, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_and_far_ones_are_not() {
        let kinds = ["debug", "otlp", "otlphttp", "loki"];
        assert_eq!(closest("otlphtp", kinds), Some("otlphttp"));
        assert_eq!(closest("otlp_http", kinds), Some("otlphttp"));
        assert_eq!(closest("debgu", kinds), Some("debug"));
        assert_eq!(closest("kafka", kinds), None);
        assert_eq!(
            closest("otlp", kinds),
            None,
            "the same name is no suggestion"
        );
        assert_eq!(closest("", kinds), None);
        assert_eq!(
            closest("otlp/tempoo", ["otlp/tempo", "otlp/loki"]),
            Some("otlp/tempo")
        );
    }

    #[test]
    fn serde_unknown_fields_and_variants_get_the_closest_expected_name() {
        assert_eq!(
            serde_message("unknown field `endpiont`, expected one of `endpoint`, `tls`"),
            "unknown field `endpiont`, expected one of `endpoint`, `tls`; did you mean \"endpoint\"?"
        );
        assert_eq!(
            serde_message(
                "unknown variant `detialed`, expected one of `basic`, `normal`, `detailed`"
            ),
            "unknown variant `detialed`, expected one of `basic`, `normal`, `detailed`; did you mean \"detailed\"?"
        );
        assert_eq!(
            serde_message("unknown field `zzz`, expected `endpoint` or `tls`"),
            "unknown field `zzz`, expected `endpoint` or `tls`"
        );
        assert_eq!(
            serde_message("invalid type: string"),
            "invalid type: string"
        );
    }
}
