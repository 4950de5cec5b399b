//! The secrets `weir loadgen` plants in its records and `weir sink` looks for in what arrives:
//! defined once here, so the two always agree. Each is a value a redaction must mask (an email,
//! a bearer token under an authorization header key, a card number, a password).
//!
//! Nothing here fails.

/// One planted secret: the attribute key it travels under and the value that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Secret {
    /// The attribute key the secret is sent under.
    pub key: &'static str,
    /// The attribute value; contains [`Secret::needle`].
    pub value: &'static str,
    /// The part of the value that must not reach a backend.
    pub needle: &'static str,
}

/// Every planted secret, in the order `--sensitive N` takes them (cycling past the end).
pub const SECRETS: [Secret; 4] = [
    Secret {
        key: "user.email",
        value: "jane.doe@example.com",
        needle: "jane.doe@example.com",
    },
    Secret {
        key: "http.request.header.authorization",
        value: "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsb2FkZ2VuIn0.wGk8mZyQh3lTq0sR7uVx",
        needle: "eyJzdWIiOiJsb2FkZ2VuIn0",
    },
    Secret {
        key: "payment.card.number",
        value: "4111 1111 1111 1111",
        needle: "4111 1111 1111 1111",
    },
    Secret {
        key: "password",
        value: "hunter2-Lo4dgen-s3cret",
        needle: "hunter2-Lo4dgen-s3cret",
    },
];

/// Whether `text` still contains one of the planted secrets.
pub fn contains_secret(text: &str) -> bool {
    SECRETS.iter().any(|s| text.contains(s.needle))
}

/// The `i`-th planted secret (cycling), and the key to send it under: the secret's own key the
/// first time round, then suffixed (`password.2`) so that every key of a record is distinct.
pub fn nth(i: usize) -> (String, &'static str) {
    let secret = &SECRETS[i % SECRETS.len()];
    let round = i / SECRETS.len();
    let key = if round == 0 {
        secret.key.to_owned()
    } else {
        format!("{}.{}", secret.key, round + 1)
    };
    (key, secret.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_carries_its_needle_and_is_detected() {
        for s in SECRETS {
            assert!(s.value.contains(s.needle), "{s:?}");
            assert!(contains_secret(&format!("prefix {} suffix", s.value)));
        }
        assert!(!contains_secret("[REDACTED]"));
        assert!(!contains_secret("jane.doe@example.org"));
    }

    #[test]
    fn keys_stay_distinct_past_one_round() {
        let keys: Vec<String> = (0..9).map(|i| nth(i).0).collect();
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "{keys:?}");
        assert_eq!(nth(4).0, "user.email.2");
    }
}
