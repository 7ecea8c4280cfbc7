//! Repositories and collaborator permissions.

#![allow(unused_imports)]

use super::*;

// ----- repos --------------------------------------------------------------------

pub(crate) async fn list_org_repos(State(s): State<S>, P(org): P<String>, uri: Uri) -> R {
    let kind = query_get(&uri, "type").unwrap_or_else(|| "all".into());
    let sort = query_get(&uri, "sort").unwrap_or_else(|| "created".into());
    let items = s.with(|w| {
        w.org(&org).ok_or_else(not_found)?;
        let mut recs: Vec<&RepoRec> = w
            .repos
            .values()
            .filter(|r| r.repo.owner.eq_ignore_ascii_case(&org))
            .filter(|r| match kind.as_str() {
                "public" => !r.repo.private,
                "private" => r.repo.private,
                "forks" => false,
                _ => true,
            })
            .collect();
        let asc = match query_get(&uri, "direction").as_deref() {
            Some("asc") => true,
            Some("desc") => false,
            _ => sort == "full_name",
        };
        match sort.as_str() {
            "full_name" => recs.sort_by_key(|r| r.repo.full_name.to_lowercase()),
            "pushed" | "updated" => recs.sort_by_key(|r| (r.repo.pushed_at, r.repo.id)),
            _ => recs.sort_by_key(|r| r.repo.id),
        }
        if !asc {
            recs.reverse();
        }
        Ok(recs.into_iter().map(|r| repo_json(&s, w, r)).collect())
    })?;
    paginate(&s, &uri, items)
}

/// GitHub replaces characters other than `[A-Za-z0-9._-]` in repo names by `-`.
pub(crate) fn sanitize_repo_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

pub(crate) async fn create_repo(
    State(s): State<S>,
    P(org): P<String>,
    JsonObject(b): JsonObject,
) -> R {
    let name = required(&b, "Repository", "name")?;
    let name = sanitize_repo_name(name);
    let private = match str_field(&b, "visibility") {
        Some("private" | "internal") => true,
        Some("public") => false,
        _ => b.get("private").and_then(Value::as_bool).unwrap_or(false),
    };
    let description = str_field(&b, "description").map(str::to_string);
    let auto_init = b.get("auto_init").and_then(Value::as_bool).unwrap_or(false);
    let team_id = b.get("team_id").and_then(Value::as_u64);
    let (repo, dir) = s.with(|w| {
        w.org(&org).ok_or_else(not_found)?;
        if w.repo_id(&org, &name).is_some() {
            return Err(
                ApiError::new(422, "Repository creation failed.").with_errors(json!([{
                    "resource": "Repository",
                    "code": "custom",
                    "field": "name",
                    "message": "name already exists on this account"
                }])),
            );
        }
        let repo = new_repo(w, &s, &org, &name, description, private);
        if let Some(t) = team_id.and_then(|t| w.teams.get_mut(&t)) {
            t.repos.insert(repo.id, "pull".into());
        }
        let dir = s.git_dir(&repo.owner, &repo.name);
        w.repos.insert(repo.id, RepoRec::new(repo.clone()));
        Ok((repo, dir))
    })?;
    if let Some(dir) = dir {
        tokio::task::spawn_blocking(move || git_init_bare(&dir))
            .await
            .expect("git init task")
            .map_err(|e| ApiError::new(500, e))?;
    }
    if auto_init {
        let readme = match &repo.description {
            Some(d) => format!("# {}\n{d}\n", repo.name),
            None => format!("# {}\n", repo.name),
        };
        let s2 = s.clone();
        let r2 = repo.clone();
        tokio::task::spawn_blocking(move || {
            put_file(
                &s2,
                &r2,
                "main",
                "README.md",
                readme.into_bytes(),
                None,
                "Initial commit",
                None,
            )
        })
        .await
        .expect("auto_init task")?;
    }
    let v = s.with(|w| repo_json(&s, w, &w.repos[&repo.id]));
    reply(201, v)
}

pub(crate) async fn get_repo(State(s): State<S>, P((owner, repo)): P2) -> R {
    let v = s.with(|w| w.repo_rec(&owner, &repo).map(|r| repo_json(&s, w, r)));
    reply(200, v.ok_or_else(not_found)?)
}

pub(crate) async fn delete_repo(State(s): State<S>, P((owner, repo)): P2) -> R {
    let dir = s.with(|w| {
        let id = w.repo_id(&owner, &repo).ok_or_else(not_found)?;
        let rec = w.repos.remove(&id).expect("repo");
        for t in w.teams.values_mut() {
            t.repos.remove(&id);
        }
        w.comments.retain(|_, c| c.repo_id != id);
        Ok(s.git_dir(&rec.repo.owner, &rec.repo.name))
    })?;
    if let Some(dir) = dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    no_content()
}

pub(crate) async fn get_permission(State(s): State<S>, P((owner, repo, user)): P3) -> R {
    s.with(|w| {
        let rec = w.repo_rec(&owner, &repo).ok_or_else(not_found)?;
        let u = w.user(&user).ok_or_else(|| ApiError::new(404, format!("{user} is not a user")))?;
        let role = rec.permissions.get(&user.to_lowercase()).cloned().unwrap_or_else(|| "read".into());
        let permission = match role.as_str() {
            "admin" => "admin",
            "maintain" | "write" => "write",
            "triage" | "read" => "read",
            _ => "none",
        };
        let rank = ["none", "read", "triage", "write", "maintain", "admin"].iter().position(|r| *r == role).unwrap_or(0);
        let mut user_v = user_json(&s, &u.login, u.id, u.kind.user_type());
        user_v["permissions"] = json!({
            "admin": rank >= 5, "maintain": rank >= 4, "push": rank >= 3, "triage": rank >= 2, "pull": rank >= 1
        });
        user_v["role_name"] = json!(role);
        reply(200, json!({"permission": permission, "role_name": role, "user": user_v}))
    })
}
