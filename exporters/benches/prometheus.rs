//! Cost of turning one request of 512 metric data points into Prometheus series
//! (`weir_pipeline::test_util::realistic`: sums, gauges and histograms of ten buckets with an
//! exemplar, every point its own series, under a resource with service and instance ids).
//!
//! - `translate`: `shared::prom` alone (names, labels, points) into a sink that counts,
//!   with the default settings of both exporters.
//! - `scrape_ingest`: what the `prometheus` exporter's `export` does: translate and update the
//!   page. Every request updates the same series, as a steady flow does.
//! - `scrape_render`: one scrape of the resulting page (text 0.0.4, and OpenMetrics with
//!   exemplars); throughput is the request's data points.
//! - `remote_write`: the `prometheusremotewrite` exporter's bodies: translate, encode the
//!   `WriteRequest`, snappy.
//!
//! Criterion reports time per request and data points per second. Run:
//! `cargo bench -p weir-exporters --bench prometheus`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use weir_exporters::bench::{ScrapePage, remote_write_bodies};
use weir_exporters::prometheus::PrometheusConfig;
use weir_exporters::remote_write::{RemoteWriteConfig, RemoteWriteExporter};
use weir_exporters::shared::prom::{Settings, Skipped, Translator};
use weir_pipeline::test_util::realistic::{self, RECORDS_PER_REQUEST};
use weir_pipeline::{Signal, SignalKind};

fn bench(c: &mut Criterion) {
    weir_exporters::install_crypto_provider();
    let resources = realistic::metrics(RECORDS_PER_REQUEST, 0);
    let bundle = realistic::bundle(Signal::Metrics(resources.clone()));
    assert_eq!(bundle.kind(), SignalKind::Metrics);
    let mut group = c.benchmark_group("prometheus");
    group.throughput(Throughput::Elements(RECORDS_PER_REQUEST as u64));

    let translator = Translator::new(Settings::default());
    group.bench_function("translate", |b| {
        b.iter(|| {
            let (mut points, mut skipped) = (0usize, Skipped::default());
            translator.translate(
                "default",
                black_box(&resources),
                0,
                &mut skipped,
                &mut |_| points += 1,
            );
            points
        })
    });

    let cfg: PrometheusConfig = serde_yaml_ng::from_str("{}").expect("valid config");
    assert_eq!(cfg.problems(), [], "the benchmark's config is valid");
    let page = ScrapePage::new("prometheus", &cfg);
    group.bench_function("scrape_ingest", |b| {
        b.iter(|| page.ingest(black_box(&bundle)))
    });
    assert!(
        page.render(false)
            .contains("http_server_request_duration_00_seconds_bucket")
    );
    for (name, open_metrics) in [
        ("scrape_render_text", false),
        ("scrape_render_openmetrics", true),
    ] {
        group.bench_function(name, |b| b.iter(|| page.render(black_box(open_metrics))));
    }

    let cfg: RemoteWriteConfig =
        serde_yaml_ng::from_str("{ endpoint: 'http://127.0.0.1:9090/api/v1/write' }")
            .expect("valid config");
    let exporter = RemoteWriteExporter::new("prometheusremotewrite", &cfg).expect("exporter");
    group.bench_function("remote_write", |b| {
        b.iter(|| remote_write_bodies(&exporter, black_box(&bundle)).expect("encoded"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
