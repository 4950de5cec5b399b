//! The errors a user sees for bad processor settings: values checked when read (patterns, key
//! entries) at their dotted path and line, next to the checks across keys that still run on the
//! rest, and values left unexpanded by `weir validate --skip-env` not checked.

mod common;

use std::collections::HashMap;

use common::config::{GOOD, expect_errors};
use weir::config::{Options, check_str};
use weir_processors::pattern::Pattern;

/// `GOOD` with the processor `id` defined by `settings` (lines indented by four) and named in
/// the traces pipeline. `id:` is on line 7, its first setting on line 8.
fn with_processor(id: &str, settings: &str) -> String {
    GOOD.replace(
        "exporters:\n",
        &format!("processors:\n  {id}:\n{settings}exporters:\n"),
    )
    .replace(
        "      exporters: [debug]",
        &format!("      processors: [{id}]\n      exporters: [debug]"),
    )
}

#[test]
fn a_bad_redaction_pattern_or_key_is_reported_where_it_is_and_the_rest_is_still_checked() {
    let p = "processors.redaction";
    expect_errors(
        &with_processor(
            "redaction",
            "    allowed_keys: [http.route, \"a.*.b\"]\n    \
             blocked_values: [ok, \"(\"]\n    \
             mask: \"\"\n",
        ),
        &[
            (
                &format!("{p}.allowed_keys[1]"),
                8,
                "\"a.*.b\": the only wildcard is a trailing `.*`",
            ),
            (&format!("{p}.blocked_values[1]"), 9, "invalid regex: "),
            (&format!("{p}.mask"), 10, "must not be empty"),
        ],
    );
    // Every bad entry of a list, each at the index and line it was written at.
    expect_errors(
        &with_processor(
            "redaction",
            "    blocked_values:\n      - \"(\"\n      - ok\n      - \"[\"\n      - \"{2,1}\"\n",
        ),
        &[
            (&format!("{p}.blocked_values[0]"), 9, "invalid regex: "),
            (&format!("{p}.blocked_values[2]"), 11, "invalid regex: "),
            (&format!("{p}.blocked_values[3]"), 12, "invalid regex: "),
        ],
    );
    // A pattern that reads but matches the empty string is a problem of the list's entry.
    expect_errors(
        &with_processor("redaction", "    blocked_values: [ok, \"x*\"]\n"),
        &[(
            &format!("{p}.blocked_values[1]"),
            8,
            "\"x*\" matches the empty string",
        )],
    );
}

#[test]
fn a_bad_attributes_pattern_is_reported_at_its_action() {
    expect_errors(
        &with_processor(
            "attributes",
            "    actions:\n      - { key: a, action: delete }\n      \
             - { key: b, pattern: \"(\", action: delete }\n      \
             - { key: c, action: insert }\n",
        ),
        &[
            (
                "processors.attributes.actions[1].pattern",
                10,
                "invalid regex: ",
            ),
            (
                "processors.attributes.actions[2].value",
                11,
                "insert needs value or from_attribute",
            ),
        ],
    );
}

#[test]
fn a_pattern_left_unexpanded_is_not_checked() {
    let text = with_processor(
        "redaction",
        "    blocked_values: [\"${env:WEIR_UNSET_PATTERN}\"]\n",
    );
    // Read as written, the text is not a regex: the check is what `--skip-env` leaves out.
    assert!("${env:WEIR_UNSET_PATTERN}".parse::<Pattern>().is_err());
    let checked = check_str(
        &text,
        "weir.yaml",
        &HashMap::<String, String>::new(),
        Options {
            skip_env: true,
            ..Options::default()
        },
    );
    assert!(checked.result.is_ok(), "{:?}", checked.result.err());
    assert!(
        checked
            .warnings
            .iter()
            .any(|w| w.path == "processors.redaction.blocked_values[0]"
                && w.message.contains("WEIR_UNSET_PATTERN")),
        "{:?}",
        checked.warnings
    );
}

#[test]
fn a_filter_condition_weir_does_not_run_is_reported_at_its_index_without_knock_on_errors() {
    let p = "processors.filter";
    expect_errors(
        &with_processor(
            "filter",
            "    traces:\n      span:\n        - 'name == \"ok\"'\n        - 'Foo(name)'\n    \
             logs:\n      log_record: ['kind == 1']\n",
        ),
        &[
            (&format!("{p}.traces.span[1]"), 11, "Foo(name)"),
            (&format!("{p}.logs.log_record[0]"), 13, "kind == 1"),
        ],
    );
    expect_errors(
        &with_processor("filter", "    error_mode: ignore\n"),
        &[(p, 7, "no conditions")],
    );
}

#[test]
fn tenant_limit_numbers_and_override_ids_are_reported_where_they_are() {
    let p = "processors.tenant_limit";
    expect_errors(
        &with_processor(
            "tenant_limit",
            "    records_per_second: 0\n    requests_burst: 5\n    overrides:\n      \
             'a b': { records_per_second: 5 }\n      \
             big-co: { bytes_per_second: 1000000001 }\n",
        ),
        &[
            (
                &format!("{p}.records_per_second"),
                8,
                "must be at least 1; leave the key out for no limit",
            ),
            (
                &format!("{p}.requests_burst"),
                9,
                "is set but requests_per_second is not",
            ),
            (&format!("{p}.overrides.a b"), 11, "tenant id holds ' '"),
            (
                &format!("{p}.overrides.big-co.bytes_per_second"),
                12,
                "is above 1000000000 per second",
            ),
        ],
    );
}
