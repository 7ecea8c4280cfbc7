//! Git plumbing on the bare repositories.

#![allow(unused_imports)]

use super::*;

// ---------------------------------------------------------------------------
// Git plumbing on the bare repositories
// ---------------------------------------------------------------------------

/// Run git in `dir`; stdout on success.
pub(crate) fn git(
    dir: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, &str)],
) -> Result<Vec<u8>, String> {
    use std::io::Write;
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot run git: {e}"))?;
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(data)
            .map_err(|e| format!("git stdin: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("git: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

pub(crate) fn git_init_bare(dir: &Path) -> Result<(), String> {
    let parent = dir.parent().expect("repo dir has a parent");
    std::fs::create_dir_all(parent).map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
    let dir_s = dir.to_str().ok_or("non-UTF-8 git path")?;
    git(
        parent,
        &["init", "--bare", "-q", "-b", "main", dir_s],
        None,
        &[],
    )
    .map(|_| ())
}

/// Look up `branch:path` with one `git cat-file --batch`.
pub(crate) fn git_object(dir: &Path, spec: &str) -> Option<(String, String, Vec<u8>)> {
    let out = git(
        dir,
        &["cat-file", "--batch"],
        Some(format!("{spec}\n").as_bytes()),
        &[],
    )
    .ok()?;
    let nl = out.iter().position(|&c| c == b'\n')?;
    let header = String::from_utf8_lossy(&out[..nl]).to_string();
    let mut parts = header.split(' ');
    let (sha, kind, size) = (parts.next()?, parts.next()?, parts.next()?);
    let size: usize = size.parse().ok()?;
    let body = out.get(nl + 1..nl + 1 + size)?.to_vec();
    Some((sha.to_string(), kind.to_string(), body))
}

/// A file's bytes and blob sha on `branch`.
pub(crate) fn git_read(dir: &Path, branch: &str, path: &str) -> Option<(Vec<u8>, String)> {
    match git_object(
        dir,
        &format!("refs/heads/{branch}:{}", path.trim_matches('/')),
    )? {
        (sha, kind, body) if kind == "blob" => Some((body, sha)),
        _ => None,
    }
}

pub(crate) fn git_entry(dir: &Path, branch: &str, path: &str) -> Option<Entry> {
    let spec = format!("refs/heads/{branch}:{path}");
    let (sha, kind, body) = git_object(dir, &spec)?;
    if kind == "blob" {
        return Some(Entry::File { bytes: body, sha });
    }
    if kind != "tree" {
        return None;
    }
    let out = git(dir, &["ls-tree", "-l", &spec], None, &[]).ok()?;
    let ents = String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|line| {
            let (meta, name) = line.split_once('\t')?;
            let f: Vec<&str> = meta.split_whitespace().collect();
            let kind = match *f.get(1)? {
                "blob" => "file",
                "tree" => "dir",
                _ => "submodule",
            };
            Some(DirEnt {
                name: name.to_string(),
                kind,
                sha: f.get(2)?.to_string(),
                size: f.get(3)?.parse().unwrap_or(0),
            })
        })
        .collect::<Vec<_>>();
    (!ents.is_empty()).then_some(Entry::Dir(ents))
}

/// Commit `files` on top of `branch` (or as its first commit) with git
/// plumbing and a temporary index; returns the commit sha.
pub(crate) fn git_commit(
    dir: &Path,
    branch: &str,
    files: &[(String, Vec<u8>)],
    message: &str,
    author: Option<(String, String)>,
) -> Result<String, String> {
    let tmp = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let index = tmp.path().join("index");
    let index = index.to_str().ok_or("non-UTF-8 temp path")?.to_string();
    let (name, email) =
        author.unwrap_or_else(|| ("Fake GitHub".into(), "fake@github.example".into()));
    let env = [
        ("GIT_INDEX_FILE", index.as_str()),
        ("GIT_AUTHOR_NAME", name.as_str()),
        ("GIT_AUTHOR_EMAIL", email.as_str()),
        ("GIT_COMMITTER_NAME", name.as_str()),
        ("GIT_COMMITTER_EMAIL", email.as_str()),
    ];
    let trim = |v: Vec<u8>| String::from_utf8_lossy(&v).trim().to_string();
    let parent = git(
        dir,
        &[
            "rev-parse",
            "--verify",
            "-q",
            &format!("refs/heads/{branch}^{{commit}}"),
        ],
        None,
        &[],
    )
    .ok()
    .map(trim);
    if let Some(p) = &parent {
        git(dir, &["read-tree", p], None, &env)?;
    }
    for (path, bytes) in files {
        let blob = trim(git(
            dir,
            &["hash-object", "-w", "--stdin"],
            Some(bytes),
            &env,
        )?);
        let info = format!("100644,{blob},{}", path.trim_matches('/'));
        git(
            dir,
            &["update-index", "--add", "--cacheinfo", &info],
            None,
            &env,
        )?;
    }
    let tree = trim(git(dir, &["write-tree"], None, &env)?);
    let mut args = vec!["commit-tree", tree.as_str(), "-m", message];
    if let Some(p) = &parent {
        args.extend(["-p", p.as_str()]);
    }
    let commit = trim(git(dir, &args, None, &env)?);
    git(
        dir,
        &["update-ref", &format!("refs/heads/{branch}"), &commit],
        None,
        &[],
    )?;
    Ok(commit)
}
