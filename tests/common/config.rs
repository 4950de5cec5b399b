//! The config tests' shared parts: a config that loads, loading text as `weir.yaml`, and the
//! check that a config is refused with exactly the errors listed (path, line, words).

use std::collections::HashMap;

use weir::config::{self, ConfigErrors};

pub const GOOD: &str = "\
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
exporters:
  debug: {}
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
";

pub fn load(text: &str) -> Result<config::Config, ConfigErrors> {
    let env = HashMap::from([("WEIR_TEST_PORT".to_owned(), "4999".to_owned())]);
    config::load_str(text, "weir.yaml", &env)
}

/// Loads `text`, expects exactly the errors listed as (path, line, words in the message).
pub fn expect_errors(text: &str, want: &[(&str, usize, &str)]) {
    let errors = load(text).expect_err("config should be refused");
    let shown = errors.to_string();
    assert_eq!(errors.errors.len(), want.len(), "{shown}");
    for ((path, line, words), got) in want.iter().zip(&errors.errors) {
        assert_eq!(got.path, *path, "{shown}");
        assert_eq!(got.position.map(|p| p.0), Some(*line), "{shown}");
        assert!(
            got.message.contains(words),
            "{:?} should contain {words:?}",
            got.message
        );
        assert!(shown.contains(&format!("weir.yaml:{line}:")), "{shown}");
    }
}
