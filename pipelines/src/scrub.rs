//! Cleaning a message before anyone sees it: in weir's own logs, on `/health` and on the ops
//! page. Backends echo what they were sent, and an exporter's error can carry their answer, so
//! every message that comes from outside goes through here. It masks the
//! user and password of URLs (`https://user:pw@host` → `https://[REDACTED]@host`), the
//! credentials after `Bearer`/`Basic`, the values of credential-like keys (`token=…`,
//! `password: …`, `api_key`, `sentry_key`, `authorization`, …) and every secret weir knows
//! from its config (the ops token); control characters become spaces, and the result is cut to
//! `MAX_CHARS`.
//!
//! It cannot fail open: if its patterns could not be built, every message is replaced whole.

use std::sync::LazyLock;

use regex::Regex;

/// What replaces a secret, as weir writes it everywhere.
pub const REDACTED: &str = "[REDACTED]";

/// Longest message kept, in characters.
pub const MAX_CHARS: usize = 300;

/// The patterns, compiled once; `None` only if one failed to compile (a test proves they do).
static PATTERNS: LazyLock<Option<[(Regex, &'static str); 3]>> = LazyLock::new(|| {
    let userinfo = Regex::new(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@").ok()?;
    let scheme = Regex::new(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]+").ok()?;
    let keyed = Regex::new(
        r#"(?i)\b((?:access_|refresh_|id_|api_|auth_)?token|api[_-]?key|x-api-key|password|passwd|pwd|secret|client_secret|sentry_key|sentry_secret|authorization|private_key|dsn)(["']?\s*[:=]\s*["']?)[^\s"'&,;]+"#,
    )
    .ok()?;
    Some([
        (userinfo, "${1}[REDACTED]@"),
        (scheme, "${1}${2}[REDACTED]"),
        (keyed, "${1}${2}[REDACTED]"),
    ])
});

/// `message` cleaned by a [`Scrubber`] that knows no config secret: what weir's logs use.
pub fn scrub(message: &str) -> String {
    Scrubber::default().scrub(message)
}

/// `text` with the user and password of every URL in it masked and nothing else changed: for
/// values that are not messages (a config value printed back).
pub fn mask_url_credentials(text: &str) -> String {
    match PATTERNS.as_ref() {
        Some([(userinfo, with), ..]) => userinfo.replace_all(text, *with).into_owned(),
        None => REDACTED.to_owned(),
    }
}

/// Masks secrets in messages; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    /// Exact secrets from the config, longest first.
    secrets: Vec<String>,
}

impl Scrubber {
    /// A scrubber that also masks each of `secrets` wherever it appears (empty ones are
    /// ignored).
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self { secrets }
    }

    /// `message` with secrets masked, control characters turned into spaces, at most
    /// `MAX_CHARS` (300) characters.
    pub fn scrub(&self, message: &str) -> String {
        let Some(patterns) = PATTERNS.as_ref() else {
            return format!("{REDACTED} (message hidden)");
        };
        let mut text: String = message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), REDACTED);
            }
        }
        for (re, with) in patterns {
            if re.is_match(&text) {
                text = re.replace_all(&text, *with).into_owned();
            }
        }
        if text.chars().count() > MAX_CHARS {
            text = text.chars().take(MAX_CHARS - 1).collect();
            text.push('…');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patterns_compile() {
        assert!(PATTERNS.is_some());
    }

    #[test]
    fn credentials_in_messages_are_masked() {
        let s = Scrubber::new(["known-ops-secret-123".to_owned(), String::new()]);
        let cases = [
            (
                "send to https://user:hunter2@loki:3100/x failed",
                "send to https://[REDACTED]@loki:3100/x failed",
            ),
            (
                "dsn http://abcdef0123@sentry.local/1",
                "dsn http://[REDACTED]@sentry.local/1",
            ),
            ("got Bearer eyJhbGciOi.x-y_z=", "got Bearer [REDACTED]"),
            (
                "Authorization: Basic dXNlcjpwdw==",
                "Authorization: [REDACTED] [REDACTED]",
            ),
            (
                "query ?token=abc&x=1 and password: 'pw'",
                "query ?token=[REDACTED]&x=1 and password: '[REDACTED]'",
            ),
            ("{\"api_key\":\"k-123\"}", "{\"api_key\":\"[REDACTED]\"}"),
            ("sentry_key=0123abcd, ok", "sentry_key=[REDACTED], ok"),
            ("echo known-ops-secret-123!", "echo [REDACTED]!"),
            ("line\nbreak\u{1b}[31m", "line break [31m"),
            ("nothing to hide: HTTP 400", "nothing to hide: HTTP 400"),
        ];
        for (input, want) in cases {
            assert_eq!(s.scrub(input), want, "{input}");
        }
    }

    #[test]
    fn url_credentials_alone_are_masked() {
        assert_eq!(
            mask_url_credentials("https://user:pw@loki:3100/x?token=1"),
            "https://[REDACTED]@loki:3100/x?token=1"
        );
        let long = "a".repeat(400);
        assert_eq!(mask_url_credentials(&long), long);
    }

    #[test]
    fn long_messages_are_cut() {
        let out = Scrubber::default().scrub(&"é".repeat(1000));
        assert_eq!(out.chars().count(), MAX_CHARS);
        assert!(out.ends_with('…'));
    }
}
