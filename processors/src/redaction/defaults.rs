//! weir's built-in rules: the default allowlist, and the key and value patterns that are always
//! on (a user's `blocked_key_patterns` and `blocked_values` are added to them).
//!
//! Nothing here fails: the patterns are compiled when a processor is built, and a unit test
//! compiles every one of them.

/// The default allowlist: OpenTelemetry semantic-convention keys a backend needs to name,
/// route and group telemetry, and nothing that usually carries user data (`url.full`,
/// `url.query`, `client.address`, `user_agent.original`, `db.query.text`, `process.command_line`
/// are absent on purpose). Entries ending in `.*` are prefixes.
pub const ALLOWED_KEYS: &[&str] = &[
    // Who sent it.
    "service.*",
    "telemetry.*",
    "deployment.*",
    "tenant.id",
    // Where it ran: host, container, Kubernetes and cloud ids (not labels or annotations).
    "host.name",
    "host.id",
    "host.arch",
    "host.type",
    "host.image.id",
    "host.image.name",
    "os.type",
    "os.name",
    "os.version",
    "process.pid",
    "process.executable.name",
    "process.runtime.name",
    "process.runtime.version",
    "container.id",
    "container.name",
    "container.image.name",
    "container.image.tag",
    "k8s.cluster.name",
    "k8s.cluster.uid",
    "k8s.namespace.name",
    "k8s.node.name",
    "k8s.node.uid",
    "k8s.pod.name",
    "k8s.pod.uid",
    "k8s.container.name",
    "k8s.container.restart_count",
    "k8s.deployment.name",
    "k8s.deployment.uid",
    "k8s.replicaset.name",
    "k8s.replicaset.uid",
    "k8s.statefulset.name",
    "k8s.daemonset.name",
    "k8s.job.name",
    "k8s.cronjob.name",
    "cloud.provider",
    "cloud.platform",
    "cloud.region",
    "cloud.availability_zone",
    "cloud.account.id",
    "cloud.resource_id",
    // What the request was (route templates, not raw URLs).
    "http.request.method",
    "http.route",
    "http.response.status_code",
    "http.method",
    "http.status_code",
    "url.path",
    "url.scheme",
    "network.protocol.name",
    "network.protocol.version",
    "server.*",
    "rpc.*",
    "db.system",
    "db.system.name",
    "db.operation.name",
    "messaging.system",
    "messaging.operation.name",
    "error.type",
    "exception.type",
    "exception.message",
    "exception.stacktrace",
    "exception.escaped",
    "code.*",
    "event.name",
    "otel.status_code",
    "otel.status_description",
    // The request ids weir's `enrich` promotes (trace and span ids are fields, not attributes).
    "request.id",
    "weir.request.id",
];

/// Key patterns always masked (case-insensitive searches): payment and identity fields and the
/// usual credential and PII names. Token patterns need a separator so `gen_ai.usage.input_tokens`
/// stays a number; key patterns name the kind of key so `policy_key` stays readable.
pub const BLOCKED_KEY_PATTERNS: &[&str] = &[
    r"(?i)passw(?:or)?d|passphrase",
    r"(?i)secret",
    r"(?i)(?:^|[._\-])token(?:$|[._\-])|(?:access|refresh|id|auth|bearer|session|api|csrf|xsrf|oauth)[._\-]?token",
    r"(?i)authorization|cookie",
    r"(?i)api[._\-]?key|private[._\-]?key|access[._\-]?key|signing[._\-]?key|encryption[._\-]?key",
    r"(?i)credential",
    r"(?i)stripe[._\-]?customer[._\-]?id|payment[._\-]?reference|card[._\-]?number",
    r"(?i)(?:^|[._\-])(?:cvv|cvc|iban|ssn)(?:$|[._\-])",
    r"(?i)scheduler[._\-]?metadata",
    r"(?i)e[._\-]?mail|user[._\-]?name",
];

/// Value patterns always masked where they match. Written ASCII-only (`(?-u:\b)`) so the lazy
/// DFA never falls back to a slower engine on non-ASCII text.
pub const BLOCKED_VALUES: &[&str] = &[
    // Private-key blocks, to the END line or the end of the string when truncated.
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)",
    // Credentials in URLs: scheme://user:PASSWORD@host keeps the user.
    r"(?i)[a-z][a-z0-9+.\-]*://[^/\s:@]+:(?P<secret>[^/\s@]+)@",
    // JWTs (header and payload are base64url JSON, so they start with `eyJ`).
    r"eyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*",
    // HTTP credentials: keeps the scheme word.
    r"(?i)(?-u:\b)bearer\s+(?P<secret>[A-Za-z0-9\-._~+/]+=*)",
    // Basic credentials hold a digit, `+`, `/` or padding, which prose after "basic" does not.
    r"(?i)(?-u:\b)basic\s+(?P<secret>[A-Za-z0-9+/]*[0-9+/][A-Za-z0-9+/]*={0,2}|[A-Za-z0-9+/]{4,}={1,2})",
    // Cloud and SaaS keys with a recognisable shape.
    r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?-u:\b)",
    r"(?-u:\b)AIza[0-9A-Za-z_\-]{35}",
    r"(?-u:\b)(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}",
    r"(?-u:\b)xox[abposr]-[A-Za-z0-9\-]{10,}",
    r"(?-u:\b)(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}",
    // JSON-style "password": "…" inside a string (a logged request body).
    r#"(?i)"[a-z0-9_.\-]*(?:passw(?:or)?d|secret|token|api[_\-]?key|apikey|private[_\-]?key|credentials?|authorization)"\s*:\s*"(?P<secret>(?:[^"\\]|\\.)*)""#,
    // name=value and name: value pairs (query strings, form bodies, key=value log lines).
    r#"(?i)(?-u:\b)(?:[a-z0-9]+[_.\-])*(?:passw(?:or)?d|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key|credentials?)["']?\s*[:=]\s*["']?(?P<secret>[^\s"'&,;}#]+)"#,
    r"(?i)(?-u:\b)(?:key|sig|signature|auth|session[_\-]?id|code_verifier)=(?P<secret>[^\s&#]+)",
    // Email addresses.
    r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
    // Payment card numbers (Visa, Mastercard, Amex, Diners, Discover), spaces or dashes allowed.
    r"(?-u:\b)(?:4[0-9]{3}|5[1-5][0-9]{2}|2[2-7][0-9]{2}|3[47][0-9]{2}|3[068][0-9]{2}|6011|65[0-9]{2})(?:[ \-]?[0-9]){9,15}(?-u:\b)",
];

/// Seed 002's audit-metadata allowlist, for a `strict_maps` entry (used by the docs' example
/// and tests; not applied unless configured).
pub const AUDIT_METADATA_KEYS: &[&str] = &[
    "reason",
    "policy_key",
    "old_value",
    "new_value",
    "status_from",
    "status_to",
    "error_code",
    "request_scope",
    "idempotency_key_hash",
    "provider_ref",
    "allocation_id",
    "node_id",
];
