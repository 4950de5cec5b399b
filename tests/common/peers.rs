//! Real servers built from pinned Go modules (the OpenTelemetry Collector, VictoriaLogs,
//! VictoriaMetrics, Jaeger), run by the tests on loopback.
//!
//! `scripts/peers` builds each one listed in `tests/peers/peers.txt` into
//! `${WEIR_PEERS_DIR:-$HOME/.cache/weir-peers}/<name>@<version>-<source hash>/<binary>`;
//! [`binary`] finds it there by the same rule. When it is missing, a test prints that it is
//! skipped and why and returns early, except under `CI=true`, where a missing peer fails the
//! test: CI must run against the real thing.
//!
//! [`Peer::start`] runs a binary with its files in a fresh temp dir, its output kept in a log,
//! and returns once its readiness URL answers 200 (polled, bounded by [`READY_DEADLINE`]); the
//! process is killed on drop and its log printed when the test failed.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::tests_path;

/// How long a peer may take to answer its readiness URL after it was started.
pub const READY_DEADLINE: Duration = Duration::from_secs(60);

/// How long a test waits for data to show up at a peer (or in weir's counters).
pub const DATA_DEADLINE: Duration = Duration::from_secs(30);

/// Pause between two polls of something that is not there yet.
const POLL: Duration = Duration::from_millis(100);

/// One line of `tests/peers/peers.txt`.
struct Listed {
    version: String,
    binary: String,
}

fn listed(name: &str) -> Listed {
    let manifest = tests_path("peers/peers.txt");
    let text = std::fs::read_to_string(&manifest)
        .unwrap_or_else(|e| panic!("read {}: {e}", manifest.display()));
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&name))
        .map(|fields| Listed {
            version: fields[1].to_owned(),
            binary: fields[2].to_owned(),
        })
        .unwrap_or_else(|| panic!("no peer {name} in {}", manifest.display()))
}

/// The first 12 hex digits of the SHA-256 of the module's `go.mod`, `go.sum` and `*.go` files,
/// concatenated in byte order of their names: what `scripts/peers` computes.
fn source_hash(module: &Path) -> String {
    let mut go_files: Vec<String> = std::fs::read_dir(module)
        .unwrap_or_else(|e| panic!("read {}: {e}", module.display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".go"))
        .collect();
    go_files.sort();
    let mut hasher = Sha256::new();
    for name in ["go.mod".to_owned(), "go.sum".to_owned()]
        .iter()
        .chain(&go_files)
    {
        let path = module.join(name);
        hasher.update(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hex[..12].to_owned()
}

/// The cache `scripts/peers` builds into.
fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WEIR_PEERS_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    Path::new(&home).join(".cache/weir-peers")
}

/// Where `scripts/peers` puts peer `name`'s binary.
pub fn binary_path(name: &str) -> PathBuf {
    let listed = listed(name);
    let hash = source_hash(&tests_path(&format!("peers/{name}")));
    cache_dir()
        .join(format!("{name}@{}-{hash}", listed.version))
        .join(listed.binary)
}

fn go_available() -> bool {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|dir| dir.join("go").is_file()))
        .unwrap_or(false);
    on_path || Path::new("/usr/local/go/bin/go").is_file()
}

/// Peer `name`'s binary, or `None` after printing why the calling test is skipped. Under
/// `CI=true` a missing binary panics instead: CI runs `scripts/peers` before the tests.
pub fn binary(name: &str) -> Option<PathBuf> {
    let path = binary_path(name);
    if path.is_file() {
        return Some(path);
    }
    let why = if go_available() {
        format!("{} is not built: run ./scripts/peers", path.display())
    } else {
        format!(
            "{} is not built and there is no `go` to build it with (scripts/peers needs Go)",
            path.display()
        )
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("peer {name}: {why} (CI=true: a missing peer fails the test)");
    }
    eprintln!("SKIPPED: this test needs the real {name}: {why}");
    None
}

/// A loopback port nobody listened on a moment ago, for a peer whose config needs a fixed one.
/// Picked at random below the kernel's ephemeral range (32768–60999 by default), from which
/// every `bind(…:0)` and outgoing connection of the other tests draws: a port taken from that
/// range could be handed to someone else before the peer binds it.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, RandomState};
    let random = RandomState::new();
    for attempt in 0u32..1000 {
        let port = 20_000 + (random.hash_one(attempt) % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral loopback port")
        .port()
}

/// The status code of `GET http://{addr}{path}` over plain HTTP/1.0, or `None` when there is
/// no answer (yet).
pub fn http_status(addr: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// A running peer; killed on drop.
pub struct Peer {
    name: String,
    child: Option<Child>,
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl Peer {
    /// Writes `files` (name, contents) into a fresh temp dir, where `{DIR}` in contents and in
    /// `args` stands for that dir, runs `bin args` there with stdout and stderr in a log, and
    /// waits until `GET http://{ready_addr}{ready_path}` answers 200. Panics with the log when
    /// the peer exits first or is not ready within [`READY_DEADLINE`].
    pub fn start(
        name: &str,
        bin: &Path,
        args: &[&str],
        files: &[(&str, &str)],
        ready: (&str, &str),
    ) -> Peer {
        Self::start_with_env(name, bin, args, files, &[], ready)
    }

    /// [`Peer::start`] with `env` added to the peer's environment.
    pub fn start_with_env(
        name: &str,
        bin: &Path,
        args: &[&str],
        files: &[(&str, &str)],
        env: &[(&str, &str)],
        (ready_addr, ready_path): (&str, &str),
    ) -> Peer {
        let dir = tempfile::tempdir().expect("create temp dir");
        let here = dir.path().to_str().expect("temp path is UTF-8").to_owned();
        for (file, contents) in files {
            let path = dir.path().join(file);
            std::fs::write(&path, contents.replace("{DIR}", &here))
                .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        }
        let log = dir.path().join(format!("{name}.log"));
        let out = File::create(&log).expect("create peer log");
        let err = out.try_clone().expect("clone log handle");
        let child = Command::new(bin)
            .args(args.iter().map(|a| a.replace("{DIR}", &here)))
            .envs(env.iter().copied())
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
        let mut peer = Peer {
            name: name.to_owned(),
            child: Some(child),
            dir,
            log,
        };
        peer.wait_ready(ready_addr, ready_path);
        peer
    }

    fn wait_ready(&mut self, addr: &str, path: &str) {
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            if http_status(addr, path) == Some(200) {
                return;
            }
            let child = self.child.as_mut().expect("peer is running");
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "{} exited ({status}) before it was ready; its log:\n{}",
                    self.name,
                    self.log()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "{} did not answer 200 on http://{addr}{path} within {READY_DEADLINE:?}; \
                     its log:\n{}",
                    self.name,
                    self.log()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// The temp dir the peer runs in (its config, data and output files).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Everything the peer has written to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|e| format!("(no log: {e})"))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "---- {} log ----\n{}\n---- end of {} log ----",
                self.name,
                self.log(),
                self.name
            );
        }
    }
}

/// Polls `check` until it returns `Some`, at most [`DATA_DEADLINE`]; then panics with `what`
/// and the last state `check` described through `last`.
pub async fn eventually<T>(what: &str, mut check: impl AsyncFnMut(&mut String) -> Option<T>) -> T {
    let deadline = Instant::now() + DATA_DEADLINE;
    let mut last = String::new();
    loop {
        if let Some(found) = check(&mut last).await {
            return found;
        }
        if Instant::now() > deadline {
            panic!("{what}: not within {DATA_DEADLINE:?}; last seen: {last}");
        }
        tokio::time::sleep(POLL).await;
    }
}
