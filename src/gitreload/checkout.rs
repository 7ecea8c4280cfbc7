//! The course checkouts under `REPODIR`: what gitreload checks before it
//! queues a push (a checkout exists, its branch is the pushed one), and the
//! commands that run on them.
//!
//! Every git call here runs with `GIT_CEILING_DIRECTORIES` at the checkout's
//! parent (so a missing checkout is never mistaken for the repo around
//! `REPODIR`), without any `GIT_DIR` from our environment, and with
//! `safe.directory=*` on the command line: gitreload's GitPython read the
//! files as whichever user it ran as, and the checkouts usually belong to the
//! LMS's user.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::run::{self, Ended, Tail};

/// Why a checkout cannot take a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutError {
    /// No git checkout at the path.
    NotARepo,
    /// HEAD is detached, so there is no branch to compare the push with.
    Detached,
    /// The checkout has no `origin` remote to import from.
    NoOrigin,
}

/// A checkout that can take a push.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub dir: PathBuf,
    /// `refs/heads/…`, what a push's `ref` is compared with.
    pub branch_ref: String,
    /// The origin URL as configured (it may hold credentials: never log it).
    pub origin_url: String,
}

/// How long a quick inspection may take.
const INSPECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `git` set up to look at `dir` only.
pub fn git(dir: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-c")
        .arg("safe.directory=*")
        .arg("-C")
        .arg(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env("GIT_TERMINAL_PROMPT", "0");
    if let Some(parent) = dir.parent() {
        c.env("GIT_CEILING_DIRECTORIES", parent);
    }
    c
}

/// Runs a short git query; its trimmed stdout when it exits 0.
async fn query(dir: &Path, args: &[&str]) -> Option<String> {
    let mut c = tokio::process::Command::from(git(dir));
    c.args(args).kill_on_drop(true);
    let out = tokio::time::timeout(INSPECT_TIMEOUT, c.output())
        .await
        .ok()?
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Looks at `dir` as gitreload did: a repository there (not above it), on a
/// branch, with an origin.
pub async fn inspect(dir: &Path) -> Result<Checkout, CheckoutError> {
    if !dir.is_dir() {
        return Err(CheckoutError::NotARepo);
    }
    // A checkout (`.git` directory or file) or a bare repository, at `dir` itself.
    let at_dir = dir.join(".git").exists()
        || query(dir, &["rev-parse", "--is-bare-repository"])
            .await
            .is_some_and(|b| b == "true");
    if !at_dir {
        return Err(CheckoutError::NotARepo);
    }
    let Some(branch_ref) = query(dir, &["symbolic-ref", "-q", "HEAD"]).await else {
        return match query(dir, &["rev-parse", "--git-dir"]).await {
            Some(_) => Err(CheckoutError::Detached),
            None => Err(CheckoutError::NotARepo),
        };
    };
    let origin_url = query(dir, &["config", "--get", "remote.origin.url"])
        .await
        .ok_or(CheckoutError::NoOrigin)?;
    Ok(Checkout {
        dir: dir.to_path_buf(),
        branch_ref,
        origin_url,
    })
}

/// gitreload's "get latest": `git fetch --all`, `git reset --hard
/// origin/<branch>`, `git clean -xdf`, stopping at the first that fails.
pub async fn get_latest(dir: &Path, owner: &str, timeout: Duration, tail: &mut Tail) -> Ended {
    let started = tokio::time::Instant::now();
    let branch = match query(dir, &["rev-parse", "--abbrev-ref", "HEAD"]).await {
        Some(b) if b != "HEAD" => b,
        _ => {
            tail.line("cannot find the checked-out branch (detached HEAD?)");
            return Ended::NotStarted("no current branch".into());
        }
    };
    let target = format!("origin/{branch}");
    let steps: [&[&str]; 3] = [
        &["fetch", "--all"],
        &["reset", "--hard", &target],
        &["clean", "-xdf"],
    ];
    let mut last = Ended::Exited(0);
    for args in steps {
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Ended::TimedOut(timeout);
        }
        tail.line(&format!("$ git {}", args.join(" ")));
        let mut cmd = git(dir);
        cmd.args(args);
        last = run::run(cmd, owner, left, tail).await;
        if !last.succeeded() {
            return match last {
                Ended::TimedOut(_) => Ended::TimedOut(timeout),
                other => other,
            };
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(dir: &Path, script: &str) {
        let ok = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .expect("sh")
            .success();
        assert!(ok, "{script}");
    }

    #[tokio::test]
    async fn a_checkout_is_found_only_at_its_own_path() {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path();
        sh(
            root,
            "git init -q -b main . && git commit -q --allow-empty -m x",
        );
        std::fs::create_dir(root.join("plain")).expect("mkdir");
        // Inside a repo, but not one: gitreload's Repo(path) said no as well.
        assert_eq!(
            inspect(&root.join("plain")).await.err(),
            Some(CheckoutError::NotARepo)
        );
        assert_eq!(
            inspect(&root.join("missing")).await.err(),
            Some(CheckoutError::NotARepo)
        );
        sh(
            root,
            "git init -q -b live c && cd c && git commit -q --allow-empty -m x",
        );
        assert_eq!(
            inspect(&root.join("c")).await.err(),
            Some(CheckoutError::NoOrigin)
        );
        sh(
            &root.join("c"),
            "git remote add origin https://u:p@example.com/c.git",
        );
        let c = inspect(&root.join("c")).await.expect("checkout");
        assert_eq!(c.branch_ref, "refs/heads/live");
        assert_eq!(c.origin_url, "https://u:p@example.com/c.git");
        sh(&root.join("c"), "git checkout -q --detach");
        assert_eq!(
            inspect(&root.join("c")).await.err(),
            Some(CheckoutError::Detached)
        );
    }
}
