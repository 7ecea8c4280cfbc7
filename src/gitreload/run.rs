//! Running one command the way an import must run: its stdout and stderr
//! merged into one bounded tail, in its own process group, and the whole
//! group killed when the timeout ends (gitreload killed only the child, so an
//! import's own children outlived it).

use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

/// Output kept per task: the last 64 KiB.
pub const TAIL_BYTES: usize = 64 * 1024;

/// How long a command's leftover children may keep its output open after it
/// exits before the group is killed.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// Every command one gitreload runs carries this variable, set to its task
/// database's path, so that the next start can find and end the commands a
/// killed process left behind (see [`reap`]).
pub const OWNER_VAR: &str = "ORCOURSETRION_GITRELOAD_DB";

/// Ends (SIGKILL) every process that carries `OWNER_VAR={owner}`: commands
/// of a gitreload on the same database that was killed. Only the process
/// holding the database's lock calls this, so none of them is alive work.
/// Returns how many were ended.
pub fn reap(owner: &str) -> usize {
    let needle = format!("{OWNER_VAR}={owner}");
    let me = std::process::id();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut ended = 0;
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ.split(|b| *b == 0).any(|e| e == needle.as_bytes()) {
            if let Ok(pid) = i32::try_from(pid) {
                // SAFETY: kill(2) on a pid we just read; it touches no memory.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
                ended += 1;
            }
        }
    }
    ended
}

/// The last [`TAIL_BYTES`] of what the commands of one task printed.
#[derive(Debug, Default)]
pub struct Tail {
    buf: Vec<u8>,
    cut: bool,
}

impl Tail {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > 2 * TAIL_BYTES {
            self.trim();
        }
    }

    pub fn line(&mut self, text: &str) {
        if !self.buf.is_empty() && !self.buf.ends_with(b"\n") {
            self.buf.push(b'\n');
        }
        self.push(text.as_bytes());
        self.push(b"\n");
    }

    fn trim(&mut self) {
        if self.buf.len() > TAIL_BYTES {
            let drop = self.buf.len() - TAIL_BYTES;
            self.buf.drain(..drop);
            self.cut = true;
        }
    }

    /// The tail as text (a cut multi-byte character is replaced).
    pub fn into_text(mut self) -> String {
        self.trim();
        let text = String::from_utf8_lossy(&self.buf).into_owned();
        if self.cut {
            format!("…{text}")
        } else {
            text
        }
    }
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    /// Killed by a signal it did not get from us.
    Signalled(i32),
    TimedOut(Duration),
    /// It could not be started (a missing interpreter, a missing directory).
    NotStarted(String),
}

impl Ended {
    pub fn succeeded(&self) -> bool {
        matches!(self, Ended::Exited(0))
    }

    pub fn exit_code(&self) -> Option<i32> {
        match self {
            Ended::Exited(c) => Some(*c),
            _ => None,
        }
    }

    /// One line for logs and commit statuses.
    pub fn describe(&self) -> String {
        match self {
            Ended::Exited(c) => format!("exit code {c}"),
            Ended::Signalled(s) => format!("killed by signal {s}"),
            Ended::TimedOut(d) => format!("timed out after {} s", d.as_secs_f64()),
            Ended::NotStarted(why) => format!("could not start: {why}"),
        }
    }
}

/// Kills a process group when dropped, unless it is known to be gone: a
/// task abandoned by shutdown leaves no import behind.
struct Group(Option<i32>);

impl Group {
    fn kill(&mut self) {
        if let Some(pgid) = self.0.take() {
            // SAFETY: kill(2) with a negative pid signals the group we created
            // (process_group(0) made the child its leader); it touches no memory.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

fn status_of(status: ExitStatus) -> Ended {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(c), _) => Ended::Exited(c),
        (None, Some(s)) => Ended::Signalled(s),
        (None, None) => Ended::Exited(-1),
    }
}

/// Runs `cmd` to its end or to `timeout`, appending what it prints to `tail`.
/// `owner` marks it as this gitreload's (see [`OWNER_VAR`]).
pub async fn run(mut cmd: Command, owner: &str, timeout: Duration, tail: &mut Tail) -> Ended {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let (mut reader, writer) = match std::io::pipe() {
        Ok(p) => p,
        Err(e) => return Ended::NotStarted(format!("cannot make a pipe: {e}")),
    };
    let writer2 = match writer.try_clone() {
        Ok(w) => w,
        Err(e) => return Ended::NotStarted(format!("cannot make a pipe: {e}")),
    };
    cmd.stdin(Stdio::null())
        .stdout(writer2)
        .stderr(writer)
        .env(OWNER_VAR, owner)
        .process_group(0);
    // SAFETY: prctl(2) is async-signal-safe and touches no memory of ours.
    // The command dies with us if we are killed (its own children are then
    // found by `reap` at the next start).
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(true);
    let spawned = cmd.spawn();
    // The parent's copies of the write end must close, or the reader never
    // sees the end of the output.
    drop(cmd);
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            let why = format!("{program}: {e}");
            tail.line(&format!("cannot run {why}"));
            return Ended::NotStarted(why);
        }
    };
    let mut group = Group(child.id().and_then(|p| i32::try_from(p).ok()));
    let mut drain = tokio::task::spawn_blocking(move || {
        let mut tail = Tail::default();
        let mut chunk = [0u8; 8192];
        loop {
            match reader.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => tail.push(&chunk[..n]),
            }
        }
        tail
    });
    let ended = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => status_of(status),
        Ok(Err(e)) => Ended::NotStarted(format!("{program}: {e}")),
        Err(_) => {
            group.kill();
            let _ = child.wait().await;
            Ended::TimedOut(timeout)
        }
    };
    let out = match tokio::time::timeout(DRAIN_GRACE, &mut drain).await {
        Ok(out) => out,
        Err(_) => {
            // Its children still hold the output open: end them.
            group.kill();
            drain.await
        }
    };
    group.kill();
    if let Ok(out) = out {
        tail.push(&out.buf);
    }
    if let Ended::TimedOut(d) = &ended {
        tail.line(&format!(
            "killed after {} s (the timeout): its whole process group was ended",
            d.as_secs_f64()
        ));
    }
    ended
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `script` under `sh -c` with `timeout`: how it ended, and its tail.
    async fn sh(script: &str, timeout: Duration) -> (Ended, Tail) {
        let mut c = Command::new("sh");
        c.arg("-c").arg(script);
        let mut tail = Tail::default();
        let end = run(c, "test", timeout, &mut tail).await;
        (end, tail)
    }

    #[tokio::test]
    async fn stdout_and_stderr_are_merged_in_order() {
        let script = "echo one; echo two >&2; echo three; exit 3";
        let (end, tail) = sh(script, Duration::from_secs(10)).await;
        assert_eq!(end, Ended::Exited(3));
        assert_eq!(tail.into_text(), "one\ntwo\nthree\n");
    }

    #[tokio::test]
    async fn the_tail_keeps_the_last_64_kib() {
        let script = "head -c 300000 /dev/zero | tr '\\0' a; echo END";
        let (end, tail) = sh(script, Duration::from_secs(10)).await;
        assert!(end.succeeded());
        let text = tail.into_text();
        assert!(text.ends_with("aaaEND\n"));
        assert!(text.starts_with('…'));
        assert_eq!(text.len(), TAIL_BYTES + '…'.len_utf8());
    }

    #[tokio::test]
    async fn a_timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().expect("tmp");
        let pidfile = dir.path().join("child.pid");
        let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let (end, tail) = sh(&script, Duration::from_millis(1500)).await;
        assert!(matches!(end, Ended::TimedOut(_)), "{end:?}");
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .expect("pid")
            .trim()
            .parse()
            .expect("number");
        // Gone, or a zombie waiting for its reaper. SIGKILL was sent to the
        // group; on a loaded machine the kernel may take a moment to act on it.
        let alive = || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat
                .rsplit(')')
                .next()
                .unwrap_or_default()
                .trim()
                .chars()
                .next();
            state.is_some_and(|c| c != 'Z' && c != 'X')
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while alive() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!alive(), "the grandchild {pid} outlived the timeout");
        assert!(tail.into_text().contains("killed after 1.5 s"));
    }

    #[tokio::test]
    async fn a_missing_program_is_a_failure_with_a_reason() {
        let mut tail = Tail::default();
        let end = run(
            Command::new("/nonexistent/bin/python"),
            "test",
            Duration::from_secs(1),
            &mut tail,
        )
        .await;
        assert!(matches!(end, Ended::NotStarted(_)));
        assert!(tail.into_text().contains("/nonexistent/bin/python"));
    }
}
