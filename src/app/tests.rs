//! Start-up failures as the user reads them: the component named once, with the setting at
//! fault.

use std::collections::HashMap;

use weir_pipeline::Metrics;

use super::StartError;
use crate::config::load_str;

/// The error starting weir with the config `text` fails with.
async fn start_error(text: &str) -> StartError {
    let config = load_str(text, "weir.yaml", &HashMap::new()).expect("valid");
    match super::start(&config, Metrics::new()).await {
        Ok(_) => panic!("started with a component that cannot be built"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn an_exporter_that_cannot_be_built_is_named_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-such-dir").join("out.log");
    let text = format!(
        "\
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
exporters:
  debug/file:
    path: {}
service:
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [debug/file]
",
        missing.display()
    );
    let e = start_error(&text).await;
    let shown = e.to_string();
    assert!(
        shown.starts_with("exporter debug/file: path: cannot open "),
        "{shown}"
    );
    assert_eq!(shown.matches("debug/file").count(), 1, "{shown}");
    let cause = std::error::Error::source(&e).expect("the build error");
    assert!(
        std::error::Error::source(cause).is_some(),
        "the OS error is kept"
    );
}

#[tokio::test]
async fn a_receiver_whose_tokens_file_cannot_be_read_names_the_setting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("tokens.yaml");
    let text = format!(
        "\
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
    tenant:
      from: [token]
      tokens_file: {}
exporters:
  debug: {{}}
service:
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [debug]
",
        missing.display()
    );
    let shown = start_error(&text).await.to_string();
    assert!(
        shown.starts_with("receiver otlp: tenant.tokens_file: tokens file "),
        "{shown}"
    );
    assert_eq!(shown.matches("otlp").count(), 1, "{shown}");
}
