//! Rendering a snapshot as the Prometheus text format 0.0.4 or OpenMetrics 1.0.
//!
//! The two differ where Prometheus' parsers care: OpenMetrics names a counter family without
//! `_total` in `# TYPE`, and ends with `# EOF`. Label values are escaped; nothing here fails.

use std::fmt::Write as _;

use super::{FamilySnapshot, MetricKind, Sample, histogram::BUCKETS, process};

/// Which exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Prometheus,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// The content type to answer with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// OpenMetrics when an `Accept` header asks for it, else the classic text format.
    pub fn from_accept(accept: Option<&str>) -> Self {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }
}

/// The families in `format`, without process metrics or build info.
pub fn text(families: &[FamilySnapshot], format: Format) -> String {
    let mut out = String::new();
    for f in families {
        family(&mut out, f, format);
    }
    out
}

/// Everything `/metrics` serves: the families, weir's build info, the process metrics, and for
/// OpenMetrics the closing `# EOF`.
pub fn exposition(families: &[FamilySnapshot], format: Format, version: &str) -> String {
    exposition_with_target(families, format, version, &[])
}

/// [`exposition`] with `target_info` carrying `target` (this process's resource attributes,
/// `service.telemetry.resource`) as labels, dots and other characters a label name cannot hold
/// written as `_`; no `target_info` when `target` is empty.
pub fn exposition_with_target(
    families: &[FamilySnapshot],
    format: Format,
    version: &str,
    target: &[(String, String)],
) -> String {
    let mut out = text(families, format);
    let _ = writeln!(out, "# HELP weir_build_info weir's version; always 1.");
    let _ = writeln!(out, "# TYPE weir_build_info gauge");
    let _ = writeln!(out, "weir_build_info{{version=\"{}\"}} 1", escape(version));
    if !target.is_empty() {
        let kind = if format == Format::OpenMetrics {
            "info"
        } else {
            "gauge"
        };
        let family = if format == Format::OpenMetrics {
            "target"
        } else {
            "target_info"
        };
        let _ = writeln!(
            out,
            "# HELP {family} This weir's resource attributes; always 1."
        );
        let _ = writeln!(out, "# TYPE {family} {kind}");
        let labels: Vec<String> = target
            .iter()
            .map(|(k, v)| {
                let name: String = k
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                format!("{name}=\"{}\"", escape(v))
            })
            .collect();
        let _ = writeln!(out, "target_info{{{}}} 1", labels.join(","));
    }
    process::render(&mut out, format == Format::OpenMetrics);
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

fn family(out: &mut String, f: &FamilySnapshot, format: Format) {
    let name = f.def.name;
    let type_name = match (format, f.def.kind) {
        (Format::OpenMetrics, MetricKind::Counter) => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    };
    let _ = writeln!(out, "# HELP {type_name} {}", f.def.help);
    let _ = writeln!(out, "# TYPE {type_name} {}", f.def.kind.as_str());
    for (values, sample) in &f.series {
        let labels = labels(f.def.labels, values);
        match sample {
            Sample::Value(v) => {
                let _ = writeln!(out, "{name}{} {v}", braces(&labels));
            }
            Sample::Histogram {
                buckets,
                sum,
                count,
            } => {
                for (i, c) in buckets.iter().enumerate() {
                    let le = BUCKETS.get(i).map_or("+Inf".to_owned(), |b| b.to_string());
                    let mut l = labels.clone();
                    l.push(format!("le=\"{le}\""));
                    let _ = writeln!(out, "{name}_bucket{} {c}", braces(&l));
                }
                let _ = writeln!(out, "{name}_sum{} {sum}", braces(&labels));
                let _ = writeln!(out, "{name}_count{} {count}", braces(&labels));
            }
        }
    }
}

fn labels(names: &[&str], values: &[String]) -> Vec<String> {
    names
        .iter()
        .zip(values)
        .map(|(n, v)| format!("{n}=\"{}\"", escape(v)))
        .collect()
}

fn braces(labels: &[String]) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", labels.join(","))
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Metrics, catalogue};

    #[test]
    fn open_metrics_names_counter_families_without_total_and_ends_with_eof() {
        let m = Metrics::new();
        m.counter(catalogue::HTTP_REQUESTS, &["/v1/traces", "200"])
            .add(2);
        m.histogram(catalogue::HTTP_REQUEST_DURATION, &["/v1/traces"])
            .observe(0.002);
        let om = exposition(&m.snapshot(), Format::OpenMetrics, "1.2.3");
        assert!(om.contains("# TYPE weir_http_requests counter\n"), "{om}");
        assert!(om.contains("weir_http_requests_total{route=\"/v1/traces\",status=\"200\"} 2\n"));
        assert!(om.contains(
            "weir_http_request_duration_seconds_bucket{route=\"/v1/traces\",le=\"0.0025\"} 1\n"
        ));
        assert!(om.contains("weir_http_request_duration_seconds_count{route=\"/v1/traces\"} 1\n"));
        assert!(om.contains("weir_build_info{version=\"1.2.3\"} 1\n"));
        assert!(om.ends_with("# EOF\n"));
        let with = exposition_with_target(
            &m.snapshot(),
            Format::Prometheus,
            "1.2.3",
            &[("service.instance.id".into(), "pod-\"1\"".into())],
        );
        assert!(
            with.contains(
                "# TYPE target_info gauge\ntarget_info{service_instance_id=\"pod-\\\"1\\\"\"} 1\n"
            ),
            "{with}"
        );
        let text = exposition(&m.snapshot(), Format::Prometheus, "1.2.3");
        assert!(!text.contains("target_info"));
        assert!(text.contains("# TYPE weir_http_requests_total counter\n"));
        assert!(!text.contains("# EOF"));
        assert!(
            text.contains("# TYPE process_cpu_seconds_total counter\n"),
            "{text}"
        );
        assert!(text.contains("process_open_fds "));
    }

    #[test]
    fn accept_header_picks_the_format() {
        assert_eq!(Format::from_accept(None), Format::Prometheus);
        assert_eq!(
            Format::from_accept(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"
            )),
            Format::OpenMetrics
        );
        assert_eq!(Format::from_accept(Some("text/plain")), Format::Prometheus);
    }
}
