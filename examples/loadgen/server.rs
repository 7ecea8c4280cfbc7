//! The server under load: the release binary as a child process, its
//! readiness, and what `/proc` says about it.

use super::*;

/// The running server's pid, so a panic here (the release profile aborts,
/// no destructor runs) does not leave it behind.
pub(crate) static SERVER_PID: AtomicU32 = AtomicU32::new(0);

pub(crate) fn kill_server_on_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let pid = SERVER_PID.swap(0, Ordering::SeqCst);
        if pid != 0 {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        default(info);
    }));
}

pub(crate) fn server_binary(args: &Args) -> PathBuf {
    if let Some(p) = &args.server {
        return p.clone();
    }
    let exe = std::env::current_exe().expect("path of this example");
    // target/release/examples/loadgen -> target/release/orcoursetrion
    exe.parent()
        .and_then(Path::parent)
        .expect("the example lives in <target>/<profile>/examples/")
        .join("orcoursetrion")
}

pub(crate) fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

pub(crate) struct Server {
    pub(crate) child: Child,
    port: u16,
}

impl Server {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// SIGTERM (what Fly and Docker send) and wait for a clean exit.
    pub(crate) fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill -TERM");
        assert!(status.success(), "kill -TERM failed");
        let asked = Instant::now();
        let exit = loop {
            if let Some(exit) = self.child.try_wait().expect("wait for the server") {
                break exit;
            }
            assert!(
                asked.elapsed() < STOP_TIMEOUT,
                "server still running {STOP_TIMEOUT:?} after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        SERVER_PID.store(0, Ordering::SeqCst);
        assert!(exit.success(), "server exited with {exit}");
    }

    /// SIGKILL: no task gets to finish anything.
    pub(crate) fn kill9(mut self) {
        self.child.kill().expect("SIGKILL the server");
        let _ = self.child.wait();
        SERVER_PID.store(0, Ordering::SeqCst);
    }
}

pub(crate) fn spawn(bin: &Path, dir: &Path, db: &Path, args: &Args) -> Server {
    let port = free_port();
    let key = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/test-app-key.pem");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .expect("server log file");
    let child = Command::new(bin)
        .arg("serve")
        // No inherited ORC_* and no .env from the caller's directory.
        .env_clear()
        .current_dir(dir)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PORT", port.to_string())
        .env("ORC_APP_ID", "4242")
        .env("ORC_APP_PRIVATE_KEY_PATH", &key)
        .env("ORC_WEBHOOK_SECRET", SECRET)
        .env(
            "ORC_REQUESTS_REPOS",
            if args.with_job {
                "mitx-staff/course-requests"
            } else {
                "nobody/none"
            },
        )
        .env("ORC_GH_API_URL", "http://127.0.0.1:9")
        .env("ORC_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("ORC_LOG_FORMAT", "json")
        .env("RUST_LOG", &args.rust_log)
        // The runtime's size, when the caller sets it (tokio reads it).
        .envs(std::env::var_os("TOKIO_WORKER_THREADS").map(|v| ("TOKIO_WORKER_THREADS", v)))
        .env("ORC_REDELIVER_EVERY", "off")
        .env("ORC_LOG_SPANS", if args.spans { "true" } else { "false" })
        .env("ORC_DURABILITY", &args.durability)
        .env(
            "ORC_KEEP_BODIES",
            if args.keep_bodies { "true" } else { "false" },
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup log fd"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({e}); build it first with `cargo build --release`",
                bin.display()
            )
        });
    SERVER_PID.store(child.id(), Ordering::SeqCst);
    Server { child, port }
}

/// Spawn and poll `/readyz` every 1 ms; returns the server and the time from
/// spawn to the first 200.
pub(crate) async fn start_ready(
    bin: &Path,
    dir: &Path,
    db: &Path,
    args: &Args,
) -> (Server, Duration) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .expect("http client");
    let started = Instant::now();
    let mut server = spawn(bin, dir, db, args);
    let url = server.url("/readyz");
    loop {
        if let Ok(r) = http.get(&url).send().await {
            if r.status() == 200 {
                return (server, started.elapsed());
            }
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            panic!("server exited with {status} before it was ready:\n{log}");
        }
        assert!(
            started.elapsed() < READY_TIMEOUT,
            "server not ready after {READY_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// `VmRSS` / `VmHWM` of a process in KiB.
pub(crate) fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// User + system CPU time of a process.
pub(crate) fn proc_cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    // Fields after the `(comm)`, which may hold spaces; utime and stime are
    // fields 14 and 15 (1-based), in clock ticks (100 Hz on Linux).
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    Duration::from_millis((f[11] + f[12]) * 10)
}

/// Bytes a process made the storage layer write (`write_bytes` of
/// `/proc/PID/io`: what reaches the disk, WAL and checkpoints included).
pub(crate) fn proc_write_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|l| l.strip_prefix("write_bytes:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}
