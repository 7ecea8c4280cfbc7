//! History-free copy of one branch into another repo with the git CLI
//! (orcoursetrion's `shallow_copy_repo`).
//!
//! The token travels as an HTTP header set through git's environment-based
//! configuration (`GIT_CONFIG_COUNT`/`KEY`/`VALUE`), so it is never in a URL,
//! in argv (visible in `ps`), or in git's own output.

use std::path::Path;
use std::process::Stdio;

use base64::Engine;
use tokio::process::Command;

use crate::github::api::Committer;
use crate::naming::{Branch, Term};
use crate::secret::Secret;

/// git failed, or could not be run. The text is git's own stderr (bounded),
/// which never holds the token: it travels in a header, not in a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("git failed: {0}")]
pub struct GitError(pub String);

pub struct CopyRequest<'a> {
    pub src_url: &'a str,
    pub dst_url: &'a str,
    pub branch: Option<&'a Branch>,
    pub committer: &'a Committer,
    /// Reads the source (its owner's installation token).
    pub src_token: Option<&'a Secret>,
    /// Pushes to the destination (its owner's installation token).
    pub dst_token: Option<&'a Secret>,
    /// An XML rerun: move the course from the old term to the new one.
    pub retarget: Option<(&'a Term, &'a Term)>,
    /// For the commit message, e.g. "mitx/content-mit-6004r-2018_Spring".
    pub source_label: &'a str,
}

fn git(dir: &Path, token: Option<&Secret>) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(t) = token {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("x-access-token:{}", t.expose()));
        cmd.env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "http.extraHeader")
            .env(
                "GIT_CONFIG_VALUE_0",
                format!("Authorization: Basic {basic}"),
            );
    }
    cmd
}

async fn run(mut cmd: Command, what: &str, token: Option<&Secret>) -> Result<(), GitError> {
    let out = cmd
        .output()
        .await
        .map_err(|e| GitError(format!("{what}: cannot run git: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let mut stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if let Some(t) = token {
        if !t.is_empty() {
            stderr = stderr.replace(t.expose(), "***");
        }
    }
    let stderr: String = stderr.chars().take(500).collect();
    Err(GitError(format!("{what}: {stderr}")))
}

/// Clone one branch at depth 1, drop its history, commit the tree as a single
/// commit, and force-push it to the destination's `main`.
pub async fn shallow_copy(req: &CopyRequest<'_>) -> Result<(), GitError> {
    for url in [req.src_url, req.dst_url] {
        if url.starts_with('-') {
            return Err(GitError("a repository URL may not start with '-'".into()));
        }
    }
    let tmp = tempfile::tempdir().map_err(|e| GitError(format!("temp dir: {e}")))?;
    let work = tmp.path().join("copy");
    let mut clone = git(tmp.path(), req.src_token);
    clone.args([
        "clone",
        "--quiet",
        "--depth",
        "1",
        "--single-branch",
        "--no-tags",
    ]);
    if let Some(b) = req.branch {
        clone.args(["--branch", b.as_str()]);
    }
    clone.arg("--").arg(req.src_url).arg(&work);
    run(clone, "clone", req.src_token).await?;

    tokio::fs::remove_dir_all(work.join(".git"))
        .await
        .map_err(|e| GitError(format!("removing history: {e}")))?;

    if let Some((old, new)) = req.retarget {
        retarget_course(&work, old, new)?;
    }
    let mut init = git(&work, None);
    init.args(["init", "--quiet", "-b", "main"]);
    run(init, "init", None).await?;
    let mut add = git(&work, None);
    add.args(["add", "--all"]);
    run(add, "add", None).await?;
    let mut commit = git(&work, None);
    let mut message = format!(
        "Initial commit: copy of {}{} without history",
        req.source_label,
        req.branch.map(|b| format!(" ({b})")).unwrap_or_default()
    );
    if let Some((old, new)) = req.retarget {
        message.push_str(&format!(
            ", rerun as {new} (was {old})\n\ncourse.xml's url_name, course/{old}.xml and policies/{old}/ now name {new}."
        ));
    }
    commit
        .env("GIT_AUTHOR_NAME", &req.committer.name)
        .env("GIT_AUTHOR_EMAIL", &req.committer.email)
        .env("GIT_COMMITTER_NAME", &req.committer.name)
        .env("GIT_COMMITTER_EMAIL", &req.committer.email)
        .args([
            "-c",
            "commit.gpgsign=false",
            "commit",
            "--quiet",
            "--allow-empty",
            "-m",
        ])
        .arg(&message);
    run(commit, "commit", None).await?;
    let mut push = git(&work, req.dst_token);
    push.args(["push", "--quiet", "--force", "--"])
        .arg(req.dst_url)
        .arg("HEAD:refs/heads/main");
    run(push, "push", req.dst_token).await?;
    Ok(())
}

/// Moves an XML course export from term `old` to term `new`, as edX reads it:
/// `course.xml`'s `url_name`, `course/{old}.xml` → `course/{new}.xml`, and
/// `policies/{old}/` → `policies/{new}/` with its `policy.json` key
/// `course/{old}` renamed. Terms are validated names, so they are safe path
/// segments. Whatever of these the course does not have is left alone.
pub fn retarget_course(dir: &Path, old: &Term, new: &Term) -> Result<(), GitError> {
    let io = |what: &str, e: std::io::Error| GitError(format!("rerun as {new}: {what}: {e}"));
    let (old, new) = (old.as_str(), new.as_str());
    let course_xml = dir.join("course.xml");
    if course_xml.is_file() {
        let text = std::fs::read_to_string(&course_xml).map_err(|e| io("course.xml", e))?;
        let text = text
            .replace(
                &format!("url_name=\"{old}\""),
                &format!("url_name=\"{new}\""),
            )
            .replace(&format!("url_name='{old}'"), &format!("url_name='{new}'"));
        std::fs::write(&course_xml, text).map_err(|e| io("course.xml", e))?;
    }
    let run_xml = dir.join("course").join(format!("{old}.xml"));
    if run_xml.is_file() {
        std::fs::rename(&run_xml, dir.join("course").join(format!("{new}.xml")))
            .map_err(|e| io("course/", e))?;
    }
    let policies = dir.join("policies").join(old);
    if policies.is_dir() {
        let moved = dir.join("policies").join(new);
        std::fs::rename(&policies, &moved).map_err(|e| io("policies/", e))?;
        let policy = moved.join("policy.json");
        if policy.is_file() {
            let text = std::fs::read_to_string(&policy).map_err(|e| io("policy.json", e))?;
            let text = text.replace(&format!("\"course/{old}\""), &format!("\"course/{new}\""));
            std::fs::write(&policy, text).map_err(|e| io("policy.json", e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_xml_course_moves_to_the_new_term() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::write(
            d.join("course.xml"),
            "<course url_name=\"2018_Spring\" org=\"MITx\" course=\"6.004r\"/>\n",
        )
        .unwrap();
        std::fs::create_dir_all(d.join("course")).unwrap();
        std::fs::write(d.join("course/2018_Spring.xml"), "<course/>").unwrap();
        std::fs::create_dir_all(d.join("policies/2018_Spring")).unwrap();
        std::fs::write(
            d.join("policies/2018_Spring/policy.json"),
            "{\"course/2018_Spring\": {\"start\": \"2018-02-01\"}}",
        )
        .unwrap();
        let (old, new) = (
            Term::parse("2018_Spring").unwrap(),
            Term::parse("2019_Spring").unwrap(),
        );
        retarget_course(d, &old, &new).expect("retarget");
        assert!(std::fs::read_to_string(d.join("course.xml"))
            .unwrap()
            .contains("url_name=\"2019_Spring\""));
        assert!(d.join("course/2019_Spring.xml").is_file());
        assert!(!d.join("course/2018_Spring.xml").exists());
        let policy = std::fs::read_to_string(d.join("policies/2019_Spring/policy.json")).unwrap();
        assert_eq!(
            policy,
            "{\"course/2019_Spring\": {\"start\": \"2018-02-01\"}}"
        );
        assert!(!d.join("policies/2018_Spring").exists());
        // A course with none of these is left as it is.
        let empty = tempfile::tempdir().expect("tempdir");
        retarget_course(empty.path(), &old, &new).expect("nothing to do");
    }
}
