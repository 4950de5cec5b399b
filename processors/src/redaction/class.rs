//! What the rules decide for a key ([`KeyClass`]), in a module of its own because both the
//! rules that decide it ([`super::rules`]) and the per-thread memo of their verdicts
//! ([`super::memo`]) name it. Nothing here fails.

/// What happens to an attribute with a given key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum KeyClass {
    /// Left exactly as it is.
    Ignored,
    /// The value is replaced by its keyed hash.
    Hashed,
    /// The value is masked whatever the allowlist says.
    Blocked,
    /// The value stays, scanned for blocked values.
    Allowed,
    /// Top-level only: the value is masked (removed on metric data points).
    NotAllowed,
}
