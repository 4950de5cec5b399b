//! Test support: the error a config reading gives, as the config loader shows it (the dotted
//! path of the value at fault, then the message).

use serde::de::DeserializeOwned;

/// `path: message` of reading `yaml` as a `T`; panics when it reads.
pub(crate) fn read_error<T: DeserializeOwned>(yaml: &str) -> String {
    // The loader reads a section from its YAML value, as here: the messages carry no position.
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(yaml).expect("YAML");
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(_) => panic!("{yaml} reads"),
        Err(e) => format!("{}: {}", e.path(), e.inner()),
    }
}
