//! What a component kind declares about itself ([`Spec`]): the type name a config uses, the
//! other names it answers to, the signals it takes, the Collector keys weir does not implement,
//! and where its queue settings are. Each component's folder holds its own `SPEC`; the config
//! loader and `weir components` read them, so nothing else lists a kind's properties.
//! Nothing here fails.

use crate::SignalKind;

/// One component kind, as its folder declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The type name used in ids (`otlp_grpc`, `debug`).
    pub name: &'static str,
    /// Other type names read as this kind: the Collector's older names (`otlp`, `otlphttp`,
    /// `prometheusremotewrite`), deprecated there.
    pub aliases: &'static [&'static str],
    /// Signals the kind handles; a pipeline of another signal may not use it, so the
    /// component never sees one.
    pub signals: &'static [SignalKind],
    /// Collector keys (dotted, relative to the component) that weir does not implement.
    pub unsupported: &'static [&'static str],
    /// Where its `sending_queue` is, as keys from the component's root; `None` for a kind
    /// without a queue (called inline, or not an exporter).
    pub queue: Option<&'static [&'static str]>,
}

/// Every signal, for the kinds that take them all.
pub const ALL_SIGNALS: &[SignalKind] = &SignalKind::ALL;

/// The usual place of an exporter's queue: `sending_queue` at its root.
pub const QUEUE_AT_ROOT: Option<&[&str]> = Some(&["sending_queue"]);

impl Spec {
    /// A kind `name` taking every signal, with no alias, no unsupported key and no queue; the
    /// start of a `const` spec (`Spec { signals: .., ..Spec::named("x") }`).
    pub const fn named(name: &'static str) -> Spec {
        Spec {
            name,
            aliases: &[],
            signals: ALL_SIGNALS,
            unsupported: &[],
            queue: None,
        }
    }

    /// True when `name` is this kind's name or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_answers_to_its_name_and_aliases_only() {
        const S: Spec = Spec {
            aliases: &["old"],
            ..Spec::named("new")
        };
        assert!(S.answers_to("new"));
        assert!(S.answers_to("old"));
        assert!(!S.answers_to("other"));
        assert_eq!(S.signals, ALL_SIGNALS);
        assert_eq!(S.queue, None);
    }
}
