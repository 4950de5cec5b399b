//! The translation keys both Prometheus exporters share, spelled as in the Collector:
//! `translation_strategy` (with the deprecated `add_metric_suffixes`) and
//! `resource_to_telemetry_conversion`.
//!
//! An unknown strategy is a deserialisation error that lists the four valid ones.

use serde::Deserialize;

/// How OTLP metric and attribute names become Prometheus names (the Collector's and Prometheus'
/// `translation_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum TranslationStrategy {
    /// `http.server.duration` (unit `s`) becomes `http_server_duration_seconds`: characters
    /// other than `[a-zA-Z0-9:_]` become `_`, and unit and type suffixes are added. The default,
    /// and the only strategy whose names every Prometheus version accepts.
    #[default]
    UnderscoreEscapingWithSuffixes,
    /// Escaped as above, without unit or `_total` suffixes.
    UnderscoreEscapingWithoutSuffixes,
    /// Names kept as they are (UTF-8, `http.server.duration_seconds`), with suffixes. Needs a
    /// backend that takes UTF-8 names (Prometheus 3, Mimir); a scraper that does not ask for
    /// them (`escaping=allow-utf-8`) is served underscore-escaped names.
    #[serde(rename = "NoUTF8EscapingWithSuffixes")]
    NoUtf8EscapingWithSuffixes,
    /// Names passed through unchanged, without suffixes.
    NoTranslation,
}

impl TranslationStrategy {
    /// True when names are escaped to the classic `[a-zA-Z_:][a-zA-Z0-9_:]*` form.
    pub fn escapes(self) -> bool {
        matches!(
            self,
            Self::UnderscoreEscapingWithSuffixes | Self::UnderscoreEscapingWithoutSuffixes
        )
    }

    /// True when unit suffixes, `_total` and `_ratio` are added.
    pub fn adds_suffixes(self) -> bool {
        matches!(
            self,
            Self::UnderscoreEscapingWithSuffixes | Self::NoUtf8EscapingWithSuffixes
        )
    }

    /// The strategy in effect: `translation_strategy` when set, else the deprecated
    /// `add_metric_suffixes` (escaping, with or without suffixes), as in the Collector.
    pub fn resolve(explicit: Option<Self>, add_metric_suffixes: bool) -> Self {
        match explicit {
            Some(s) => s,
            None if add_metric_suffixes => Self::UnderscoreEscapingWithSuffixes,
            None => Self::UnderscoreEscapingWithoutSuffixes,
        }
    }
}

/// `resource_to_telemetry_conversion`: copy resource attributes onto every series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResourceToTelemetry {
    /// Every resource attribute becomes a label of every series of that resource (a data
    /// point's own attribute of the same name wins). Off by default: resource attributes are on
    /// `target_info`, joined on `job` and `instance`.
    pub enabled: bool,
    /// With `enabled`, leave out `service.name`, `service.namespace` and
    /// `service.instance.id`, which are already `job` and `instance`.
    pub exclude_service_attributes: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_parse_by_their_collector_names() {
        let parse = |s: &str| serde_yaml_ng::from_str::<TranslationStrategy>(s);
        assert_eq!(
            parse("NoUTF8EscapingWithSuffixes").ok(),
            Some(TranslationStrategy::NoUtf8EscapingWithSuffixes)
        );
        assert_eq!(
            parse("NoTranslation").ok(),
            Some(TranslationStrategy::NoTranslation)
        );
        let err = parse("Underscores").expect_err("unknown").to_string();
        assert!(err.contains("UnderscoreEscapingWithSuffixes"), "{err}");
    }

    #[test]
    fn add_metric_suffixes_only_counts_without_a_strategy() {
        use TranslationStrategy::*;
        assert_eq!(
            TranslationStrategy::resolve(None, true),
            UnderscoreEscapingWithSuffixes
        );
        assert_eq!(
            TranslationStrategy::resolve(None, false),
            UnderscoreEscapingWithoutSuffixes
        );
        assert_eq!(
            TranslationStrategy::resolve(Some(NoTranslation), true),
            NoTranslation
        );
        assert!(!NoTranslation.escapes() && !NoTranslation.adds_suffixes());
        assert!(NoUtf8EscapingWithSuffixes.adds_suffixes());
    }
}
