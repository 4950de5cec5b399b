//! Strict maps: the audit-metadata allowlist.

use weir_pipeline::otlp::logs::v1::LogRecord;
use weir_pipeline::otlp::trace::v1::Span;

use super::*;
use crate::redaction::defaults::AUDIT_METADATA_KEYS;

fn audit_yaml() -> String {
    format!(
        "strict_maps:\n  - name: audit\n    when: {{ attribute: event.domain, equals: audit }}\n    \
         attribute: metadata\n    allowed_keys: [{}]\n",
        AUDIT_METADATA_KEYS.join(", ")
    )
}

fn audit_log(metadata: Vec<KeyValue>) -> LogRecord {
    LogRecord {
        body: Some(s("policy changed")),
        attributes: vec![
            kv("event.domain", s("audit")),
            kv("metadata", map(metadata)),
        ],
        ..Default::default()
    }
}

#[test]
fn known_keys_pass_unchanged() {
    let (p, m) = build(&audit_yaml());
    let metadata = vec![
        kv("reason", s("quota exceeded")),
        kv("policy_key", s("max-nodes")),
        kv("old_value", s("3")),
        kv("new_value", s("5")),
        kv("idempotency_key_hash", s("9f86d081884c7d65")),
        kv("node_id", i(12)),
    ];
    let mut b = logs(vec![], vec![audit_log(metadata)]);
    let before = b.signal().clone();
    pass(&p, &mut b);
    assert_eq!(
        *b.signal(),
        before,
        "event.domain and metadata kept, nothing masked"
    );
    assert_eq!(counted(&m, "strict_map"), 0);
}

#[test]
fn an_unknown_key_rejects_the_record_and_is_named_in_the_message() {
    let (p, m) = build(&audit_yaml());
    let good = audit_log(vec![kv("reason", s("ok"))]);
    let bad = audit_log(vec![
        kv("reason", s("ok")),
        kv("customer_password", s("hunter2-do-not-leak")),
    ]);
    let mut b = logs(vec![], vec![good.clone(), bad]);
    let Outcome::Pass { rejected, message } = p.process(&mut b) else {
        panic!("pass expected")
    };
    assert_eq!(rejected, 1);
    let message = message.expect("message");
    assert!(message.contains("\"customer_password\""), "{message}");
    assert!(message.contains("strict map \"audit\""), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert_eq!(records(&b).len(), 1);
    assert_eq!(*records(&b)[0], good);
    assert_eq!(counted(&m, "strict_map"), 1);
}

#[test]
fn a_key_shown_in_the_message_has_its_secrets_masked() {
    let (p, _) = build(&audit_yaml());
    let mut b = logs(
        vec![],
        vec![audit_log(vec![kv("mail bob@example.org", s("x"))])],
    );
    let Outcome::Pass { message, .. } = p.process(&mut b) else {
        panic!("pass expected")
    };
    let message = message.expect("message");
    assert!(message.contains(&format!("\"mail {M}\"")), "{message}");
    assert!(!message.contains("bob@"), "{message}");
}

#[test]
fn a_value_that_is_not_a_map_is_rejected_and_empty_containers_are_removed() {
    let (p, _) = build(&audit_yaml());
    let span = Span {
        attributes: vec![
            kv("event.domain", s("audit")),
            kv("metadata", s("{\"x\":1}")),
        ],
        ..Default::default()
    };
    let mut b = traces(vec![], vec![span]);
    let Outcome::Pass { rejected, message } = p.process(&mut b) else {
        panic!("pass expected")
    };
    assert_eq!(rejected, 1);
    assert!(
        message
            .expect("message")
            .contains("\"metadata\" is not a map")
    );
    assert!(b.is_empty(), "the resource left with no span is removed");
}

#[test]
fn records_the_selector_does_not_pick_follow_the_allowlist() {
    let (p, _) = build(&audit_yaml());
    let mut record = audit_log(vec![kv("anything", s("x"))]);
    record.attributes[0] = kv("event.domain", s("billing"));
    let mut b = logs(vec![], vec![record]);
    pass(&p, &mut b);
    let a = &records(&b)[0].attributes;
    assert_eq!(get_str(a, "event.domain"), M);
    assert_eq!(get_str(a, "metadata"), M);
}

#[test]
fn strict_map_values_are_still_scanned() {
    let (p, _) = build(&audit_yaml());
    let mut b = logs(
        vec![],
        vec![audit_log(vec![kv("old_value", s("bob@example.org"))])],
    );
    pass(&p, &mut b);
    let metadata = get(&records(&b)[0].attributes, "metadata");
    assert_eq!(metadata, &map(vec![kv("old_value", s(M))]));
}
