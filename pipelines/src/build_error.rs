//! [`BuildError`]: why a component could not be built from its settings — the one error every
//! component constructor returns, naming the component and the setting at fault and keeping
//! the cause as its source. What validation checks never gets here; what does is I/O (a file
//! that cannot be read, an address that cannot be bound) and what only the running system can
//! tell (no host name, no crypto provider).

use std::fmt;

use crate::BoxError;

/// Why a component could not be built. Shown as `<id>: <key>: <cause>` (`<id>: <cause>` when no
/// single setting is at fault); whoever shows it says what kind of component it is.
#[derive(Debug)]
pub struct BuildError {
    /// The component id (`loki`, `otlp_grpc/tempo`).
    pub id: String,
    /// The setting at fault, dotted from the component's root (`tls.ca_file`); `None` when no
    /// single setting is.
    pub key: Option<String>,
    /// What failed.
    pub source: BoxError,
}

impl BuildError {
    /// Setting `key` of component `id` cannot be used: `source` says why (a message or an
    /// error).
    pub fn at(id: &str, key: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self {
            id: id.to_owned(),
            key: Some(key.into()),
            source: source.into(),
        }
    }

    /// Component `id` cannot be built, for a reason no single setting holds.
    pub fn whole(id: &str, source: impl Into<BoxError>) -> Self {
        Self {
            id: id.to_owned(),
            key: None,
            source: source.into(),
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{}: {key}: {}", self.id, self.source),
            None => write!(f, "{}: {}", self.id, self.source),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;

    #[test]
    fn shows_the_id_and_key_once_and_keeps_the_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = BuildError::at("otlp_grpc/tempo", "tls.ca_file", io);
        assert_eq!(e.to_string(), "otlp_grpc/tempo: tls.ca_file: no such file");
        let cause = e.source().expect("a source");
        assert!(cause.downcast_ref::<std::io::Error>().is_some());
        let whole = BuildError::whole("enrich", "no host name");
        assert_eq!(whole.to_string(), "enrich: no host name");
        assert_eq!(whole.key, None);
    }
}
