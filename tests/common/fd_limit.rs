//! weir run under a file descriptor limit, set by util-linux's `prlimit` (the tests forbid
//! `unsafe`, so no `pre_exec`); panics, naming the package, when `prlimit` is missing.

use std::process::Command;

use super::{Weir, debian_tool};

impl Weir {
    /// As [`Weir::start`], with weir's file descriptor limit (soft and hard) set to `nofile`
    /// by util-linux's `prlimit`.
    pub fn start_with_fd_limit(config_yaml: &str, nofile: u32) -> Weir {
        let dir = tempfile::tempdir().expect("create temp dir");
        let out_path = dir.path().join("out.jsonl");
        let config_path = dir.path().join("weir.yaml");
        let out = out_path.to_str().expect("temp path is UTF-8");
        std::fs::write(&config_path, config_yaml.replace("{OUT}", out)).expect("write config");
        let mut command = Command::new(debian_tool("prlimit", "util-linux"));
        command
            .arg(format!("--nofile={nofile}:{nofile}"))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_weir"))
            .arg("run")
            .arg("--config")
            .arg(&config_path);
        Self::spawn(command, dir, out_path)
    }
}
