//! `weir loadgen`'s command line and the checks clap cannot make, turning the flags into a
//! [`Plan`].
//!
//! How it fails: clap refuses malformed flags itself (exit 2); [`LoadgenArgs::plan`] returns an
//! [`ArgsError`] for combinations it cannot run (more sensitive attributes than attributes, a
//! negative rate, an endpoint that is not an `http://` or `https://` URL), which the command
//! also turns into exit 2.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use http::{HeaderName, HeaderValue, Uri};

/// `weir loadgen`: sends pre-built OTLP requests at a collector and reports what it answered.
#[derive(Debug, Clone, Args)]
pub struct LoadgenArgs {
    /// Where to send: `http://host:port` or `https://host:port` (OTLP/HTTP appends
    /// `/v1/<signal>` to the URL's path).
    #[arg(long, default_value = "http://127.0.0.1:4317")]
    pub endpoint: String,
    /// Transport and encoding (the `OTEL_EXPORTER_OTLP_PROTOCOL` values).
    #[arg(long, value_enum, default_value = "grpc")]
    pub protocol: Protocol,
    /// Body compression, applied once when the requests are built.
    #[arg(long, value_enum, default_value = "none")]
    pub compression: Compression,
    /// Which signal to send.
    #[arg(long, value_enum, default_value = "traces")]
    pub signal: SignalArg,
    /// Spans, log records or metric data points per request.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    pub records_per_request: u32,
    /// Attributes per record, the sensitive ones included.
    #[arg(long, default_value_t = 10)]
    pub attributes: u32,
    /// How many of a record's attributes carry a planted secret.
    #[arg(long, default_value_t = 1)]
    pub sensitive: u32,
    /// Tenants `tenant-0` … `tenant-(N-1)`; each request belongs to one of them.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub tenants: u32,
    /// Requests in flight.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,
    /// TCP connections the requests are spread over. Over HTTP/1.1 a connection carries one
    /// request at a time, so at most this many are in flight there.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,
    /// Records per second over all workers; 0 sends as fast as the concurrency allows.
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// How long to send (humantime, e.g. `30s`); 10s when neither this nor `--count` is given.
    #[arg(long, value_parser = humantime::parse_duration, conflicts_with = "count")]
    pub duration: Option<Duration>,
    /// Stop after this many requests instead of after a duration.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Extra request header `K=V`, repeatable.
    #[arg(long = "header", value_name = "K=V", value_parser = parse_header)]
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Also write the summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
}

/// The OTLP transports and encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// OTLP/gRPC.
    #[value(name = "grpc")]
    Grpc,
    /// OTLP/HTTP with protobuf bodies.
    #[value(name = "http/protobuf")]
    HttpProtobuf,
    /// OTLP/HTTP with OTLP/JSON bodies.
    #[value(name = "http/json")]
    HttpJson,
}

impl Protocol {
    /// The name as given on the command line and written in the summary.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
        }
    }
}

/// Body compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Compression {
    /// Bodies as encoded.
    None,
    /// gzip.
    Gzip,
}

/// The signal to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignalArg {
    /// Spans.
    Traces,
    /// Log records.
    Logs,
    /// Metric data points.
    Metrics,
}

impl SignalArg {
    /// The name as given on the command line, also the OTLP/HTTP path segment.
    pub fn name(self) -> &'static str {
        match self {
            SignalArg::Traces => "traces",
            SignalArg::Logs => "logs",
            SignalArg::Metrics => "metrics",
        }
    }
}

/// When to stop sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// After this many requests.
    Count(u64),
    /// Once this long has passed since the first request.
    Duration(Duration),
}

/// The endpoint, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `https` when true, `http` otherwise.
    pub tls: bool,
    /// Host name or address, without brackets.
    pub host: String,
    /// The port (80 or 443 when the URL has none).
    pub port: u16,
    /// The URL's path without a trailing `/` (empty for the root).
    pub base_path: String,
}

impl Target {
    /// `host:port` as the `Host` header and `:authority` carry it.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The request path for `signal` over `protocol`.
    pub fn path(&self, protocol: Protocol, signal: SignalArg) -> String {
        match (protocol, signal) {
            (Protocol::Grpc, SignalArg::Traces) => {
                "/opentelemetry.proto.collector.trace.v1.TraceService/Export".into()
            }
            (Protocol::Grpc, SignalArg::Logs) => {
                "/opentelemetry.proto.collector.logs.v1.LogsService/Export".into()
            }
            (Protocol::Grpc, SignalArg::Metrics) => {
                "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export".into()
            }
            (_, signal) => format!("{}/v1/{}", self.base_path, signal.name()),
        }
    }
}

/// Everything a run needs, checked.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where to send.
    pub target: Target,
    /// The endpoint as given, for messages.
    pub endpoint: String,
    /// Transport and encoding.
    pub protocol: Protocol,
    /// Body compression.
    pub compression: Compression,
    /// The signal.
    pub signal: SignalArg,
    /// Records per request (at least 1).
    pub records: usize,
    /// Attributes per record.
    pub attributes: usize,
    /// Attributes per record that carry a secret (at most `attributes`).
    pub sensitive: usize,
    /// Number of tenants (at least 1).
    pub tenants: usize,
    /// Requests in flight.
    pub concurrency: usize,
    /// TCP connections.
    pub connections: usize,
    /// Records per second; `None` for as fast as possible.
    pub rate: Option<f64>,
    /// When to stop.
    pub stop: Stop,
    /// Extra headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Where to write the JSON summary.
    pub summary_json: Option<PathBuf>,
}

/// A combination of flags that cannot run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArgsError {
    /// `--sensitive` above `--attributes`.
    #[error("--sensitive {sensitive} is more than --attributes {attributes}")]
    TooManySensitive {
        /// `--sensitive`.
        sensitive: u32,
        /// `--attributes`.
        attributes: u32,
    },
    /// `--rate` negative or not a number.
    #[error("--rate must be a number of records per second, 0 or more (got {0})")]
    Rate(String),
    /// `--endpoint` unusable.
    #[error("--endpoint {endpoint:?}: {why}")]
    Endpoint {
        /// As given.
        endpoint: String,
        /// What is wrong.
        why: &'static str,
    },
}

/// The default `--duration`.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);

impl LoadgenArgs {
    /// Checks what clap could not and returns the plan.
    pub fn plan(&self) -> Result<Plan, ArgsError> {
        if self.sensitive > self.attributes {
            return Err(ArgsError::TooManySensitive {
                sensitive: self.sensitive,
                attributes: self.attributes,
            });
        }
        if !self.rate.is_finite() || self.rate < 0.0 {
            return Err(ArgsError::Rate(self.rate.to_string()));
        }
        let stop = match (self.count, self.duration) {
            (Some(n), _) => Stop::Count(n),
            (None, Some(d)) => Stop::Duration(d),
            (None, None) => Stop::Duration(DEFAULT_DURATION),
        };
        Ok(Plan {
            target: parse_target(&self.endpoint)?,
            endpoint: self.endpoint.clone(),
            protocol: self.protocol,
            compression: self.compression,
            signal: self.signal,
            records: self.records_per_request as usize,
            attributes: self.attributes as usize,
            sensitive: self.sensitive as usize,
            tenants: self.tenants as usize,
            concurrency: self.concurrency as usize,
            connections: self.connections as usize,
            rate: (self.rate > 0.0).then_some(self.rate),
            stop,
            headers: self.headers.clone(),
            summary_json: self.summary_json.clone(),
        })
    }
}

fn parse_target(endpoint: &str) -> Result<Target, ArgsError> {
    let bad = |why| ArgsError::Endpoint {
        endpoint: endpoint.to_owned(),
        why,
    };
    let uri: Uri = endpoint.parse().map_err(|_| bad("not a URL"))?;
    let tls = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => return Err(bad("the scheme must be http:// or https://")),
    };
    let authority = uri.authority().ok_or(bad("no host"))?;
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok(Target {
        tls,
        host: host.to_owned(),
        port: authority.port_u16().unwrap_or(if tls { 443 } else { 80 }),
        base_path: uri.path().trim_end_matches('/').to_owned(),
    })
}

fn parse_header(raw: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = raw
        .split_once('=')
        .ok_or_else(|| format!("{raw:?} is not K=V"))?;
    let name = HeaderName::try_from(name.trim()).map_err(|e| format!("header name: {e}"))?;
    let value = HeaderValue::try_from(value.trim()).map_err(|e| format!("header value: {e}"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Result<LoadgenArgs, clap::Error> {
        let argv = ["weir", "loadgen"].iter().chain(args);
        match Cli::try_parse_from(argv)?.command {
            Some(Command::Loadgen(a)) => Ok(*a),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn defaults_follow_the_interface() {
        let plan = parse(&[])
            .expect("defaults parse")
            .plan()
            .expect("defaults run");
        assert_eq!(plan.target.authority(), "127.0.0.1:4317");
        assert_eq!(plan.protocol, Protocol::Grpc);
        assert_eq!(plan.compression, Compression::None);
        assert_eq!(plan.signal, SignalArg::Traces);
        assert_eq!(
            (plan.records, plan.attributes, plan.sensitive, plan.tenants),
            (512, 10, 1, 1)
        );
        assert_eq!((plan.concurrency, plan.connections), (16, 4));
        assert_eq!(plan.rate, None);
        assert_eq!(plan.stop, Stop::Duration(DEFAULT_DURATION));
    }

    #[test]
    fn count_with_duration_is_refused_by_the_parser() {
        let err = parse(&["--count", "5", "--duration", "1s"]).expect_err("exclusive");
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn zero_records_per_request_and_zero_tenants_are_refused() {
        for args in [
            ["--records-per-request", "0"],
            ["--tenants", "0"],
            ["--count", "0"],
            ["--concurrency", "0"],
        ] {
            let err = parse(&args).expect_err("zero is refused");
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn protocols_durations_and_headers_parse() {
        let a = parse(&[
            "--protocol",
            "http/json",
            "--duration",
            "1m 30s",
            "--header",
            "Authorization=Bearer x",
            "--rate",
            "1000",
        ])
        .expect("parses");
        let plan = a.plan().expect("runs");
        assert_eq!(plan.protocol, Protocol::HttpJson);
        assert_eq!(plan.stop, Stop::Duration(Duration::from_secs(90)));
        assert_eq!(plan.headers[0].0, "authorization");
        assert_eq!(plan.headers[0].1, "Bearer x");
        assert_eq!(plan.rate, Some(1000.0));
        assert!(parse(&["--header", "no-equals"]).is_err());
        assert!(parse(&["--protocol", "http"]).is_err());
    }

    #[test]
    fn plans_refuse_what_cannot_run() {
        let sensitive = parse(&["--attributes", "2", "--sensitive", "3"]).expect("parses");
        assert!(matches!(
            sensitive.plan(),
            Err(ArgsError::TooManySensitive { .. })
        ));
        let rate = parse(&["--rate=-5"]).expect("parses");
        assert!(matches!(rate.plan(), Err(ArgsError::Rate(_))));
        for endpoint in ["127.0.0.1:4317", "ftp://h:1", "http://"] {
            let a = parse(&["--endpoint", endpoint]).expect("parses");
            assert!(
                matches!(a.plan(), Err(ArgsError::Endpoint { .. })),
                "{endpoint}"
            );
        }
    }

    #[test]
    fn http_paths_append_the_signal_to_the_base_path() {
        let a = parse(&["--endpoint", "https://collector:4318/otlp/"]).expect("parses");
        let t = a.plan().expect("runs").target;
        assert!(t.tls);
        assert_eq!(
            t.path(Protocol::HttpProtobuf, SignalArg::Logs),
            "/otlp/v1/logs"
        );
        assert_eq!(
            t.path(Protocol::Grpc, SignalArg::Metrics),
            "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
        );
        let v6 = parse(&["--endpoint", "http://[::1]:9"]).expect("parses");
        assert_eq!(v6.plan().expect("runs").target.authority(), "[::1]:9");
    }
}
