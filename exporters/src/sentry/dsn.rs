//! A Sentry DSN as the config reads it: parsed once, into the envelope URL and the
//! `X-Sentry-Auth` header the exporter sends, so that building the exporter cannot find a DSN
//! wrong.
//!
//! How it fails: text that is not a DSN (or whose key cannot be sent in a header) fails the
//! reading with a [`DsnError`]; neither the error nor `Debug` repeats the DSN, which holds the
//! project's key.

use std::fmt;
use std::str::FromStr;

use http::HeaderValue;
use reqwest::Url;
use sentry_types::{Auth, Dsn};
use serde::{Deserialize, Deserializer, de};

/// Why a DSN was refused; never repeats the DSN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsnError {
    /// The text is not a DSN.
    #[error("not a Sentry DSN ({0}); expected https://<public key>@<host>/<project id>")]
    NotDsn(String),
    /// The DSN's key cannot be sent in the auth header.
    #[error("the DSN's key is not printable")]
    Key,
}

/// A parsed DSN: where its envelopes go and the header that authenticates them.
#[derive(Clone)]
pub struct SentryDsn {
    /// The DSN as written (trimmed): two equal texts are one target.
    text: String,
    url: Url,
    auth: HeaderValue,
    /// `project <id> at <host>`: how logs name it (without the key).
    name: String,
}

impl SentryDsn {
    /// The DSN as written, trimmed. Holds the project's key: never log it.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The envelope endpoint.
    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    /// The `X-Sentry-Auth` value (marked sensitive).
    pub(crate) fn auth(&self) -> &HeaderValue {
        &self.auth
    }

    /// `project <id> at <host>`.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl FromStr for SentryDsn {
    type Err = DsnError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let dsn = Dsn::from_str(text).map_err(|e| DsnError::NotDsn(e.to_string()))?;
        let client = concat!("weir/", env!("CARGO_PKG_VERSION"));
        let mut pairs = vec![
            ("sentry_key", dsn.public_key().to_owned()),
            ("sentry_version", "7".to_owned()),
            ("sentry_client", client.to_owned()),
        ];
        if let Some(secret) = dsn.secret_key() {
            pairs.push(("sentry_secret", secret.to_owned()));
        }
        let auth = Auth::from_pairs(pairs).map_err(|_| DsnError::Key)?;
        let mut auth = HeaderValue::from_str(&auth.to_string()).map_err(|_| DsnError::Key)?;
        auth.set_sensitive(true);
        Ok(Self {
            text: text.to_owned(),
            url: dsn.envelope_api_url(),
            auth,
            name: format!("project {} at {}", dsn.project_id(), dsn.host()),
        })
    }
}

impl PartialEq for SentryDsn {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Debug for SentryDsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SentryDsn").field(&self.name).finish()
    }
}

impl<'de> Deserialize<'de> for SentryDsn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dsn_gives_its_envelope_url_and_auth_and_never_shows_its_key() {
        let dsn: SentryDsn = "https://secretkey@sentry.example.com/42"
            .parse()
            .expect("dsn");
        assert_eq!(
            dsn.url().as_str(),
            "https://sentry.example.com/api/42/envelope/"
        );
        assert!(dsn.auth().is_sensitive());
        assert_eq!(dsn.name(), "project 42 at sentry.example.com");
        assert!(!format!("{dsn:?}").contains("secretkey"));
        let err = "https://secretkey@"
            .parse::<SentryDsn>()
            .expect_err("no host");
        assert!(err.to_string().starts_with("not a Sentry DSN"), "{err}");
        assert!(!err.to_string().contains("secretkey"), "{err}");
    }
}
