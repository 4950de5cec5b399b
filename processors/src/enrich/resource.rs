//! Static resource attributes (`attributes`, `add_host_name`): insert, upsert or update, in
//! config order, on the resource of every batch, as the Collector's `resource` processor does.
//!
//! The attributes are built once; applying them clones the ones that are added. The host name
//! is read once, when the processor is built ([`host_name`]); applying never fails.

use weir_pipeline::otlp::common::v1::{AnyValue, KeyValue};
use weir_pipeline::otlp::resource::v1::Resource;

use super::config::{Action, AttributeValue, EnrichConfig};

/// The resource edits of one processor, in order.
#[derive(Debug, Clone, Default)]
pub(super) struct ResourceEdits {
    edits: Vec<(Action, KeyValue)>,
}

impl ResourceEdits {
    /// The edits `cfg` asks for, with `host` as the host name when `add_host_name` is set.
    /// Entries without a value or with an action weir does not run are skipped (the config's
    /// `problems` reports them before this is built).
    pub(super) fn new(cfg: &EnrichConfig, host: Option<&str>) -> Self {
        let mut edits: Vec<(Action, KeyValue)> = cfg
            .attributes
            .iter()
            .filter(|a| a.action.is_supported())
            .filter_map(|a| Some((a.action, kv(&a.key, a.value.as_ref()?.to_any_value()))))
            .collect();
        if let Some(host) = host {
            let value = AttributeValue::String(host.to_owned()).to_any_value();
            edits.push((Action::Insert, kv(&cfg.host_name_key, value)));
        }
        Self { edits }
    }

    /// True when there is nothing to apply.
    pub(super) fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// Applies every edit to `resource`, creating it when an attribute is to be added.
    pub(super) fn apply(&self, resource: &mut Option<Resource>) {
        for (action, edit) in &self.edits {
            let attrs = resource.as_mut().map(|r| &mut r.attributes);
            let existing = attrs.and_then(|a| a.iter_mut().find(|kv| kv.key == edit.key));
            match (action, existing) {
                (Action::Upsert | Action::Update, Some(kv)) => kv.value.clone_from(&edit.value),
                (Action::Insert | Action::Upsert, None) => resource
                    .get_or_insert_with(Resource::default)
                    .attributes
                    .push(edit.clone()),
                _ => {}
            }
        }
    }
}

/// This machine's host name: `$HOSTNAME`, else `/etc/hostname`, else
/// `/proc/sys/kernel/hostname`, trimmed; `None` when none is set and non-empty.
pub(super) fn host_name() -> Option<String> {
    let from_file = |path: &str| std::fs::read_to_string(path).ok();
    let sources: [&dyn Fn() -> Option<String>; 3] = [
        &|| std::env::var("HOSTNAME").ok(),
        &|| from_file("/etc/hostname"),
        &|| from_file("/proc/sys/kernel/hostname"),
    ];
    sources
        .iter()
        .filter_map(|read| read())
        .map(|h| h.trim().to_owned())
        .find(|h| !h.is_empty())
}

fn kv(key: &str, value: AnyValue) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(value),
        ..Default::default()
    }
}
