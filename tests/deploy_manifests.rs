//! The deployment files in `deploy/`: every Kubernetes manifest passes the Kubernetes schemas
//! (`kubernetes-validate --strict`, from the test venv's `tests/python/requirements.txt`) for
//! the oldest and newest Kubernetes they target; the weir config in each ConfigMap passes
//! `weir validate` (the StatefulSet's with its durable queues too); the pods keep the promises README's "Running a
//! tier" makes (grace period covers the preStop sleep and the drain, memory requests equal
//! limits, probes on `/health/live` and `/health/ready`, listeners on explicit addresses, the
//! ops token from a Secret); the systemd unit reloads with SIGHUP.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::Deserialize;
use serde_yaml_ng::Value;

/// The oldest Kubernetes the manifests target (the preStop `sleep` action is there from
/// 1.30), and the newest the installed schemas know (kubernetes-validate's default).
const KUBERNETES_VERSIONS: [Option<&str>; 2] = [Some("1.30.0"), None];

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

/// Every `*.yaml` under `deploy/kubernetes`, sorted.
fn manifests() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read deploy/kubernetes") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&deploy().join("kubernetes"), &mut out);
    out.sort();
    assert!(out.len() >= 9, "the manifests are there: {out:?}");
    out
}

/// Every document of every manifest, with its file.
fn documents() -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    for path in manifests() {
        let text = std::fs::read_to_string(&path).expect("read manifest");
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let value = Value::deserialize(doc).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            out.push((path.clone(), value));
        }
    }
    out
}

fn of_kind<'a>(docs: &'a [(PathBuf, Value)], kind: &str) -> Vec<&'a (PathBuf, Value)> {
    docs.iter().filter(|(_, d)| d["kind"] == kind).collect()
}

/// `kubernetes-validate` beside the test venv's Python.
fn kubernetes_validate() -> PathBuf {
    let python = common::python();
    let tool = python.with_file_name("kubernetes-validate");
    assert!(
        tool.exists(),
        "{} is missing: run ./scripts/test (it installs tests/python/requirements.txt)",
        tool.display()
    );
    tool
}

/// Runs kubernetes-validate --strict on `files` for `version`: (success, output).
fn validate(files: &[PathBuf], version: Option<&str>) -> (bool, String) {
    let mut cmd = Command::new(kubernetes_validate());
    cmd.arg("--strict").arg("--no-warn");
    if let Some(v) = version {
        cmd.args(["--kubernetes-version", v]);
    }
    let out = cmd.args(files).output().expect("run kubernetes-validate");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn every_manifest_passes_the_kubernetes_schemas() {
    let files = manifests();
    for version in KUBERNETES_VERSIONS {
        let (ok, text) = validate(&files, version);
        assert!(ok, "kubernetes-validate ({version:?}):\n{text}");
        // Each file was checked (a file the tool skipped would not say "passed").
        for f in &files {
            let name = f.file_name().and_then(|n| n.to_str()).expect("name");
            assert!(text.contains(name), "{name} not validated:\n{text}");
        }
    }
    // The check can fail: a misspelt field is refused under --strict.
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.yaml");
    let text = std::fs::read_to_string(deploy().join("kubernetes/deployment.yaml"))
        .expect("read deployment");
    let misspelt = text.replace(
        "terminationGracePeriodSeconds",
        "terminationGracePeriodSecond",
    );
    assert_ne!(text, misspelt);
    std::fs::write(&bad, misspelt).expect("write");
    let (ok, text) = validate(&[bad], KUBERNETES_VERSIONS[0]);
    assert!(!ok, "a misspelt field must fail validation:\n{text}");
}

/// The environment the pods give weir, with stand-in values.
const POD_ENV: [(&str, &str); 3] = [
    ("POD_IP", "10.1.2.3"),
    ("WEIR_OPS_TOKEN", "0123456789abcdef0123456789abcdef"),
    ("REDIS_PASSWORD", "stand-in"),
];

/// Each ConfigMap's `weir.yaml`, by ConfigMap name.
fn weir_configs(docs: &[(PathBuf, Value)]) -> Vec<(String, String)> {
    of_kind(docs, "ConfigMap")
        .into_iter()
        .map(|(path, d)| {
            let name = d["metadata"]["name"].as_str().expect("name").to_owned();
            let config = d["data"]["weir.yaml"]
                .as_str()
                .unwrap_or_else(|| panic!("{path:?}: no data.weir.yaml"))
                .to_owned();
            (name, config)
        })
        .collect()
}

#[test]
fn the_configmaps_pipelines_pass_weir_validate() {
    let docs = documents();
    let configs = weir_configs(&docs);
    assert_eq!(configs.len(), 2, "the Deployment's and the StatefulSet's");
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, config) in configs {
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, &config).expect("write config");
        let out = Command::new(env!("CARGO_BIN_EXE_weir"))
            .arg("validate")
            .arg(&file)
            .envs(POD_ENV)
            .output()
            .expect("run weir validate");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "ConfigMap {name}: weir validate:\n{text}"
        );
    }
}

/// A number of seconds in a duration written as `30s`.
fn seconds(text: &str) -> u64 {
    humantime::parse_duration(text)
        .map(|d: Duration| d.as_secs())
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

#[test]
fn the_pods_keep_the_tiers_promises() {
    let docs = documents();
    let configs = weir_configs(&docs);
    let workloads: Vec<_> = of_kind(&docs, "Deployment")
        .into_iter()
        .chain(of_kind(&docs, "StatefulSet"))
        .filter(|(_, d)| d["metadata"]["name"] == "weir")
        .collect();
    assert_eq!(workloads.len(), 2, "a Deployment and a StatefulSet of weir");
    for (path, w) in workloads {
        let pod = &w["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        // The config it mounts.
        let cm = pod["volumes"]
            .as_sequence()
            .and_then(|v| v.iter().find(|v| v["name"] == "config"))
            .and_then(|v| v["configMap"]["name"].as_str())
            .unwrap_or_else(|| panic!("{path:?}: a config volume"));
        let (_, config) = configs
            .iter()
            .find(|(n, _)| n == cm)
            .unwrap_or_else(|| panic!("{path:?}: ConfigMap {cm} is among the manifests"));
        let config: Value = serde_yaml_ng::from_str(config).expect("config parses");
        let drain = config["service"]["drain_timeout"]
            .as_str()
            .map_or(30, seconds);
        let pre_stop = c["lifecycle"]["preStop"]["sleep"]["seconds"]
            .as_u64()
            .unwrap_or_else(|| panic!("{path:?}: a preStop sleep"));
        let grace = pod["terminationGracePeriodSeconds"]
            .as_u64()
            .expect("grace");
        assert!(
            grace >= pre_stop + drain,
            "{path:?}: terminationGracePeriodSeconds {grace} < preStop {pre_stop} + drain_timeout {drain}"
        );
        let res = &c["resources"];
        assert_eq!(
            res["requests"]["memory"], res["limits"]["memory"],
            "{path:?}"
        );
        assert_eq!(
            c["readinessProbe"]["httpGet"]["path"], "/health/ready",
            "{path:?}"
        );
        assert_eq!(
            c["livenessProbe"]["httpGet"]["path"], "/health/live",
            "{path:?}"
        );
        // Every listener on an explicit address: 0.0.0.0 or the pod IP.
        for proto in ["grpc", "http"] {
            let e = config["receivers"]["otlp"]["protocols"][proto]["endpoint"]
                .as_str()
                .expect("endpoint");
            assert!(e.starts_with("0.0.0.0:"), "{path:?}: {proto} endpoint {e}");
        }
        let admin = config["service"]["admin"]["endpoint"]
            .as_str()
            .expect("admin");
        assert!(
            admin.starts_with("${env:POD_IP}:"),
            "{path:?}: admin {admin}"
        );
        let env = c["env"].as_sequence().expect("env");
        let from = |name: &str| {
            env.iter()
                .find(|e| e["name"] == name)
                .map(|e| &e["valueFrom"])
        };
        assert_eq!(
            from("POD_IP").map(|v| &v["fieldRef"]["fieldPath"]),
            Some(&Value::from("status.podIP")),
            "{path:?}"
        );
        assert!(
            from("WEIR_OPS_TOKEN").is_some_and(|v| v["secretKeyRef"]["name"] == "weir-ops"),
            "{path:?}: the ops token comes from a Secret"
        );
    }
}

#[test]
fn the_systemd_unit_reloads_with_sighup_and_outwaits_the_drain() {
    let unit = std::fs::read_to_string(deploy().join("systemd/weir.service")).expect("unit");
    let value = |key: &str| {
        unit.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key}= in the unit"))
    };
    assert_eq!(value("ExecReload"), "/bin/kill -HUP $MAINPID");
    assert!(value("ExecStart").ends_with("weir run --config /etc/weir/weir.yaml"));
    assert!(value("ExecStartPre").ends_with("weir validate /etc/weir/weir.yaml"));
    assert!(
        seconds(&format!("{}s", value("TimeoutStopSec"))) > 30,
        "above the default drain"
    );
}
