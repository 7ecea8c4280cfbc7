//! Repository contents, backed by git when the fake has it.

#![allow(unused_imports)]

use super::*;

// ----- contents -----------------------------------------------------------------

pub(crate) enum Entry {
    File { bytes: Vec<u8>, sha: String },
    Dir(Vec<DirEnt>),
}

pub(crate) struct DirEnt {
    pub(crate) name: String,
    pub(crate) kind: &'static str,
    pub(crate) sha: String,
    pub(crate) size: usize,
}

/// Git-style blob id for the memory store (SHA-256 based, 40 hex digits:
/// opaque like GitHub's).
pub(crate) fn blob_sha(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(format!("blob {}\0", bytes.len()));
    h.update(bytes);
    h.finalize()
        .iter()
        .take(20)
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn random_sha() -> String {
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| format!("{:02x}", rng.gen::<u8>()))
        .collect()
}

/// A file or directory of a repo on `branch` (git root or memory store).
pub(crate) fn read_entry(
    s: &Shared,
    owner: &str,
    repo: &str,
    branch: &str,
    path: &str,
) -> Option<Entry> {
    let path = path.trim_matches('/');
    let (repo, files) = s.with(|w| {
        let r = w.repo_rec(owner, repo)?;
        let files = if s.git_root.is_some() {
            BTreeMap::new()
        } else {
            r.files
                .iter()
                .filter(|((b, _), _)| b == branch)
                .map(|((_, p), v)| (p.clone(), v.clone()))
                .collect()
        };
        Some((r.repo.clone(), files))
    })?;
    if let Some(dir) = s.git_dir(&repo.owner, &repo.name) {
        return git_entry(&dir, branch, path);
    }
    if let Some((bytes, sha)) = files.get(path) {
        return Some(Entry::File {
            bytes: bytes.clone(),
            sha: sha.clone(),
        });
    }
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    };
    let mut children: BTreeMap<String, DirEnt> = BTreeMap::new();
    for (p, (bytes, sha)) in files.range(prefix.clone()..) {
        let Some(rest) = p.strip_prefix(&prefix) else {
            break;
        };
        let ent = match rest.split_once('/') {
            Some((d, _)) => DirEnt {
                name: d.into(),
                kind: "dir",
                sha: blob_sha(format!("{prefix}{d}").as_bytes()),
                size: 0,
            },
            None => DirEnt {
                name: rest.into(),
                kind: "file",
                sha: sha.clone(),
                size: bytes.len(),
            },
        };
        children.entry(ent.name.clone()).or_insert(ent);
    }
    (!children.is_empty()).then(|| Entry::Dir(children.into_values().collect()))
}

/// Create or update one file with the contents API's rules; returns
/// (created, blob sha, commit sha).
#[allow(clippy::too_many_arguments)]
pub(crate) fn put_file(
    s: &Shared,
    repo: &Repo,
    branch: &str,
    path: &str,
    bytes: Vec<u8>,
    sha: Option<&str>,
    message: &str,
    author: Option<(String, String)>,
) -> Result<(bool, String, String), ApiError> {
    let check = |current: Option<&str>| -> Result<(), ApiError> {
        match (current, sha) {
            (Some(_), None) => Err(ApiError::new(
                422,
                "Invalid request.\n\n\"sha\" wasn't supplied.",
            )),
            (Some(cur), Some(given)) if cur != given => {
                Err(ApiError::new(409, format!("{path} does not match {given}")))
            }
            _ => Ok(()),
        }
    };
    if let Some(dir) = s.git_dir(&repo.owner, &repo.name) {
        let _g = s.git_lock.lock().unwrap_or_else(|e| e.into_inner());
        let has_commits = git(&dir, &["rev-parse", "--verify", "-q", "HEAD"], None, &[]).is_ok();
        if has_commits
            && git(
                &dir,
                &[
                    "rev-parse",
                    "--verify",
                    "-q",
                    &format!("refs/heads/{branch}"),
                ],
                None,
                &[],
            )
            .is_err()
        {
            return Err(ApiError::new(404, format!("Branch {branch} not found")));
        }
        let current = git_read(&dir, branch, path).map(|(_, sha)| sha);
        check(current.as_deref())?;
        let commit = git_commit(&dir, branch, &[(path.to_string(), bytes)], message, author)
            .map_err(|e| ApiError::new(500, e))?;
        let blob = git_read(&dir, branch, path)
            .map(|(_, sha)| sha)
            .unwrap_or_default();
        return Ok((current.is_none(), blob, commit));
    }
    s.with(|w| {
        let r = w.repo_mut(&repo.owner, &repo.name).ok_or_else(not_found)?;
        let branch_known =
            branch == r.repo.default_branch || r.files.keys().any(|(b, _)| b == branch);
        if !branch_known {
            return Err(ApiError::new(404, format!("Branch {branch} not found")));
        }
        let key = (branch.to_string(), path.to_string());
        let current = r.files.get(&key).map(|(_, sha)| sha.clone());
        check(current.as_deref())?;
        let blob = blob_sha(&bytes);
        r.files.insert(key, (bytes, blob.clone()));
        r.repo.pushed_at = Utc::now();
        Ok((current.is_none(), blob, random_sha()))
    })
}

pub(crate) fn content_json(
    s: &Shared,
    repo: &Repo,
    branch: &str,
    path: &str,
    kind: &str,
    sha: &str,
    size: usize,
) -> Value {
    let api = format!("{}/repos/{}", s.base, repo.full_name);
    let url = format!("{api}/contents/{path}?ref={branch}");
    let (html, git_url, download) = if kind == "dir" {
        (
            format!("{}/tree/{branch}/{path}", repo.html_url),
            format!("{api}/git/trees/{sha}"),
            Value::Null,
        )
    } else {
        (
            format!("{}/blob/{branch}/{path}", repo.html_url),
            format!("{api}/git/blobs/{sha}"),
            json!(format!(
                "https://raw.github.example/{}/{branch}/{path}",
                repo.full_name
            )),
        )
    };
    json!({
        "type": kind,
        "size": size,
        "name": path.rsplit('/').next().unwrap_or(path),
        "path": path,
        "sha": sha,
        "url": url,
        "git_url": git_url,
        "html_url": html,
        "download_url": download,
        "_links": {"self": url, "git": git_url, "html": html}
    })
}

/// Base64 with a newline every 60 characters, like GitHub's `content`.
pub(crate) fn wrapped_b64(bytes: &[u8]) -> String {
    let enc = B64.encode(bytes);
    let mut out = String::with_capacity(enc.len() + enc.len() / 60 + 1);
    for chunk in enc.as_bytes().chunks(60) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ascii"));
        out.push('\n');
    }
    out
}

pub(crate) async fn contents_get(s: S, owner: String, repo: String, path: String, uri: Uri) -> R {
    let path = path.trim_matches('/').to_string();
    let repo = s
        .with(|w| w.repo_rec(&owner, &repo).map(|r| r.repo.clone()))
        .ok_or_else(not_found)?;
    let branch = query_get(&uri, "ref").unwrap_or_else(|| repo.default_branch.clone());
    let (s2, r2, b2, p2) = (s.clone(), repo.clone(), branch.clone(), path.clone());
    let entry = tokio::task::spawn_blocking(move || read_entry(&s2, &r2.owner, &r2.name, &b2, &p2))
        .await
        .expect("read task");
    match entry {
        None if path.is_empty() => Err(ApiError::new(404, "This repository is empty.")),
        None => Err(not_found()),
        Some(Entry::File { bytes, sha }) => {
            let mut v = content_json(&s, &repo, &branch, &path, "file", &sha, bytes.len());
            v["content"] = json!(wrapped_b64(&bytes));
            v["encoding"] = json!("base64");
            reply(200, v)
        }
        Some(Entry::Dir(ents)) => {
            let list = ents
                .iter()
                .map(|e| {
                    let p = if path.is_empty() {
                        e.name.clone()
                    } else {
                        format!("{path}/{}", e.name)
                    };
                    content_json(&s, &repo, &branch, &p, e.kind, &e.sha, e.size)
                })
                .collect();
            reply(200, Value::Array(list))
        }
    }
}

pub(crate) async fn get_contents_root(State(s): State<S>, P((owner, repo)): P2, uri: Uri) -> R {
    contents_get(s, owner, repo, String::new(), uri).await
}

pub(crate) async fn get_contents(State(s): State<S>, P((owner, repo, path)): P3, uri: Uri) -> R {
    contents_get(s, owner, repo, path, uri).await
}

pub(crate) async fn put_contents(
    State(s): State<S>,
    Extension(who): Who,
    P((owner, repo, path)): P3,
    JsonObject(b): JsonObject,
) -> R {
    let path = path.trim_matches('/').to_string();
    let message = str_field(&b, "message")
        .ok_or_else(|| ApiError::new(422, "Invalid request.\n\n\"message\" wasn't supplied."))?
        .to_string();
    let content = str_field(&b, "content")
        .ok_or_else(|| ApiError::new(422, "Invalid request.\n\n\"content\" wasn't supplied."))?;
    let compact: String = content.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = B64
        .decode(compact)
        .map_err(|_| ApiError::new(422, "content is not valid Base64"))?;
    let sha = str_field(&b, "sha").map(str::to_string);
    let person = |k: &str| {
        b.get(k).and_then(|p| {
            Some((
                str_field(p, "name")?.to_string(),
                str_field(p, "email")?.to_string(),
            ))
        })
    };
    let author = person("committer")
        .or_else(|| person("author"))
        .or_else(|| {
            let id = s.with(|w| w.user(&who.login).map(|u| u.id).unwrap_or(0));
            Some((
                who.login.clone(),
                format!("{id}+{}@users.noreply.github.example", who.login),
            ))
        });
    let repo = s
        .with(|w| w.repo_rec(&owner, &repo).map(|r| r.repo.clone()))
        .ok_or_else(not_found)?;
    let branch = str_field(&b, "branch")
        .map(str::to_string)
        .unwrap_or_else(|| repo.default_branch.clone());
    let (s2, r2, b2, p2, m2) = (
        s.clone(),
        repo.clone(),
        branch.clone(),
        path.clone(),
        message.clone(),
    );
    let a2 = author.clone();
    let size = bytes.len();
    let (created, blob, commit) = tokio::task::spawn_blocking(move || {
        put_file(&s2, &r2, &b2, &p2, bytes, sha.as_deref(), &m2, a2)
    })
    .await
    .expect("put task")?;
    s.with(|w| {
        if let Some(r) = w.repo_mut(&repo.owner, &repo.name) {
            r.repo.pushed_at = Utc::now();
        }
    });
    let (name, email) = author.unwrap_or_default();
    let now = ts(Utc::now());
    let api = format!("{}/repos/{}", s.base, repo.full_name);
    let person = json!({"name": name, "email": email, "date": now});
    let v = json!({
        "content": content_json(&s, &repo, &branch, &path, "file", &blob, size),
        "commit": {
            "sha": commit,
            "node_id": B64.encode(format!("commit:{commit}")),
            "url": format!("{api}/git/commits/{commit}"),
            "html_url": format!("{}/commit/{commit}", repo.html_url),
            "author": person,
            "committer": person,
            "message": message,
            "tree": {"url": format!("{api}/git/trees/{commit}"), "sha": commit},
            "parents": [],
            "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null}
        }
    });
    reply(if created { 201 } else { 200 }, v)
}
