//! Static resource attributes and the host name.

use weir_pipeline::otlp::metrics::v1::ResourceMetrics;

use super::*;

fn cfg(yaml: &str) -> EnrichConfig {
    let cfg: EnrichConfig = serde_yaml_ng::from_str(yaml).expect("parses");
    assert_eq!(cfg.problems(), vec![]);
    cfg
}

#[test]
fn insert_upsert_update_follow_the_collector() {
    let (e, _) = enrich(&cfg("
request_id: { enabled: false }
attributes:
  - { key: deployment.environment, value: prod, action: insert }
  - { key: service.namespace, value: shop, action: insert }
  - { key: weir.collector.id, value: weir-0, action: upsert }
  - { key: cloud.region, value: eu-1, action: upsert }
  - { key: team, value: core, action: update }
  - { key: absent, value: x, action: update }
  - { key: shard, value: 3, action: insert }
"));
    let mut batch = spans_batch(
        ctx(None),
        resource(vec![
            kv("service.namespace", "app-set"),
            kv("cloud.region", "old"),
            kv("team", "old"),
        ]),
        vec![],
    );
    run(&e, &mut batch);
    let attrs = &resource_of(&batch).expect("resource").attributes;
    let text: Vec<(&str, &str)> = attrs
        .iter()
        .filter(|kv| kv.key != "shard")
        .map(|kv| {
            (
                kv.key.as_str(),
                values(std::slice::from_ref(kv), &kv.key)[0],
            )
        })
        .collect();
    assert_eq!(
        text,
        [
            ("service.namespace", "app-set"),
            ("cloud.region", "eu-1"),
            ("team", "core"),
            ("deployment.environment", "prod"),
            ("weir.collector.id", "weir-0"),
        ]
    );
    let shard = attrs.iter().find(|kv| kv.key == "shard").expect("shard");
    assert_eq!(
        shard.value.as_ref().and_then(|v| v.value.clone()),
        Some(Value::IntValue(3))
    );
}

#[test]
fn a_missing_resource_is_created_only_to_add_something() {
    let (e, _) = enrich(&cfg(
        "{ request_id: { enabled: false }, attributes: [{ key: a, value: x, action: update }] }",
    ));
    let mut batch = logs_batch(ctx(None), None, vec![]);
    run(&e, &mut batch);
    assert!(
        resource_of(&batch).is_none(),
        "update of nothing adds nothing"
    );

    let (e, _) = enrich(&cfg("attributes: [{ key: a, value: x, action: insert }]"));
    let mut batch = Batch::new(ctx(None), Signal::Metrics(vec![ResourceMetrics::default()]));
    run(&e, &mut batch);
    let res = resource_of(&batch).expect("created");
    assert_eq!(
        values(&res.attributes, "a"),
        ["x"],
        "metrics get static attributes"
    );
}

#[test]
fn host_name_is_inserted_once_read_at_build_time() {
    let c = cfg("add_host_name: true");
    let metrics = Metrics::new();
    let mut reads = 0;
    let e = Enrich::build(ID, &c, &metrics, || {
        reads += 1;
        Some("node-a".into())
    })
    .expect("builds");
    let mut with = logs_batch(
        ctx(None),
        resource(vec![kv("host.name", "app-host")]),
        vec![],
    );
    let mut without = logs_batch(ctx(None), None, vec![]);
    run(&e, &mut with);
    run(&e, &mut without);
    assert_eq!(reads, 1);
    let host =
        |b: &Batch| values(&resource_of(b).expect("resource").attributes, "host.name").join(",");
    assert_eq!(
        host(&with),
        "app-host",
        "the application's host name is kept"
    );
    assert_eq!(host(&without), "node-a");

    let c = cfg("{ add_host_name: true, host_name_key: weir.host }");
    let e = Enrich::build(ID, &c, &metrics, || Some("node-b".into())).expect("builds");
    let mut batch = spans_batch(ctx(None), None, vec![]);
    run(&e, &mut batch);
    let attrs = &resource_of(&batch).expect("resource").attributes;
    assert_eq!(values(attrs, "weir.host"), ["node-b"]);
}

#[test]
fn no_readable_host_name_refuses_to_build() {
    let err = Enrich::build(ID, &cfg("add_host_name: true"), &Metrics::new(), || None)
        .err()
        .expect("refused");
    assert_eq!(err.key.as_deref(), Some("add_host_name"));
    assert!(
        err.to_string()
            .starts_with("enrich/test: add_host_name: no host name")
    );
}

#[test]
fn the_real_host_name_is_readable_here() {
    // Linux always has /proc/sys/kernel/hostname, so `add_host_name` works on weir's platform.
    let name = super::super::resource::host_name().expect("a host name");
    assert!(!name.is_empty() && name.trim() == name);
}
