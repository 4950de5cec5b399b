//! What the `debug` exporter of a harness config wrote, read back: its JSON lines
//! ([`Weir::records`]), the spans among them, and the attributes of an OTLP/JSON object. A line
//! that is not JSON, or an attribute list of another shape, panics naming it.

use serde_json::Value;

use super::Weir;

impl Weir {
    /// Every line the debug exporter has written so far, parsed. The exporter flushes a line
    /// before the client is answered, so after a successful export its line is here.
    pub fn records(&self) -> Vec<Value> {
        let text = match std::fs::read_to_string(&self.out_path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => panic!("read {}: {e}", self.out_path.display()),
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("debug output line is not JSON ({e}): {l}"))
            })
            .collect()
    }

    /// The debug records of one signal (`traces`, `metrics`, `logs`).
    pub fn records_of(&self, signal: &str) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r["signal"] == signal)
            .collect()
    }

    /// The spans the JSON `debug` exporter wrote (OTLP/JSON), in order.
    pub fn spans(&self) -> Vec<Value> {
        self.records_of("traces")
            .iter()
            .flat_map(|r| {
                r["data"]["resourceSpans"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .flat_map(|rs| rs["scopeSpans"].as_array().cloned().unwrap_or_default())
            .flat_map(|ss| ss["spans"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// The names of the spans the JSON `debug` exporter wrote, in order.
    pub fn span_names(&self) -> Vec<String> {
        self.spans()
            .iter()
            .map(|s| s["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// The attributes of an OTLP/JSON object (`[{key, value}]`) as (key, typed value) pairs, in
/// order; panics if `attributes` is not such a list.
pub fn attrs(of: &Value) -> Vec<(String, Value)> {
    of["attributes"]
        .as_array()
        .unwrap_or_else(|| panic!("no attributes array in {of}"))
        .iter()
        .map(|kv| {
            let key = kv["key"]
                .as_str()
                .unwrap_or_else(|| panic!("attribute without key: {kv}"));
            (key.to_owned(), kv["value"].clone())
        })
        .collect()
}

/// The typed value of attribute `key` in `of["attributes"]`; panics if absent or repeated.
pub fn attr(of: &Value, key: &str) -> Value {
    let found: Vec<Value> = attrs(of)
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect();
    match found.as_slice() {
        [one] => one.clone(),
        [] => panic!("attribute {key:?} missing in {of}"),
        _ => panic!("attribute {key:?} repeated in {of}"),
    }
}
