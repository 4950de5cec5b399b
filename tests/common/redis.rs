//! A real `redis-server` (Debian package `redis-server`) for the shared-limit tests: started on
//! a free loopback port in a temp dir with persistence off (plain or TLS-only, with any extra
//! arguments such as ACL users), paused (SIGSTOP: it takes
//! connections and answers nothing, as a hung server does) and resumed, killed and started
//! again empty on the same port, killed on drop.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::debian_tool;
use super::peers::free_port;

/// A running `redis-server`.
pub struct Redis {
    child: Child,
    /// Its loopback port.
    pub port: u16,
    /// The extra arguments and whether the port speaks TLS, for a restart.
    args: Vec<String>,
    tls: bool,
    dir: tempfile::TempDir,
}

impl Redis {
    /// Starts `redis-server` on a free port (no RDB, no AOF, in a temp dir) and waits until it
    /// answers PING; panics when it does not within 10 s.
    pub fn start() -> Redis {
        Self::start_with(&[], false)
    }

    /// [`Redis::start`] with more `args` (ACL users, say). With `tls`, the port speaks only
    /// TLS (`args` name the certificate files) and is waited for until it takes connections.
    pub fn start_with(args: &[&str], tls: bool) -> Redis {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let child = spawn(port, &args, tls, dir.path());
        let redis = Redis {
            child,
            port,
            args,
            tls,
            dir,
        };
        redis.wait_up();
        redis
    }

    /// Kills the server (SIGKILL: no goodbye to its clients) and starts a new, empty one on the
    /// same port; waits until it is up.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(self.port, &self.args, self.tls, self.dir.path());
        self.wait_up();
    }

    fn wait_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let up = || match self.tls {
            true => TcpStream::connect(("127.0.0.1", self.port)).is_ok(),
            false => self.answers(),
        };
        while !up() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20)); // polling a condition
        }
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Whether it answers PING (with PONG, or an error such as NOAUTH) within 200 ms, over
    /// plain TCP.
    pub fn answers(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
        let mut first = [0u8; 1];
        s.write_all(b"PING\r\n").is_ok()
            && s.read_exact(&mut first).is_ok()
            && matches!(&first, b"+" | b"-")
    }

    /// Pauses the server (SIGSTOP): connections are taken, nothing is answered.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Resumes a paused server (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("/bin/kill")
            .arg(sig)
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {sig} redis-server");
    }
}

/// `redis-server` on `port` with persistence off in `dir`, plus `args`.
fn spawn(port: u16, args: &[String], tls: bool, dir: &std::path::Path) -> Child {
    let port = port.to_string();
    let listen: [&str; 4] = if tls {
        ["--port", "0", "--tls-port", &port]
    } else {
        ["--port", &port, "--tls-port", "0"]
    };
    Command::new(debian_tool("redis-server", "redis-server"))
        .args(listen)
        .args(["--bind", "127.0.0.1", "--protected-mode", "no"])
        .args(["--save", "", "--appendonly", "no"])
        .args(args)
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server")
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
