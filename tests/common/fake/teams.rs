//! Teams, their repos and their members.

#![allow(unused_imports)]

use super::*;

// ----- teams --------------------------------------------------------------------

pub(crate) async fn list_teams(State(s): State<S>, P(org): P<String>, uri: Uri) -> R {
    let items = s.with(|w| {
        w.org(&org).ok_or_else(not_found)?;
        let lc = org.to_lowercase();
        let mut ts: Vec<&TeamRec> = w.teams.values().filter(|t| t.org == lc).collect();
        ts.sort_by_key(|t| t.name.to_lowercase());
        Ok(ts.into_iter().map(|t| team_json(&s, w, t, false)).collect())
    })?;
    paginate(&s, &uri, items)
}

pub(crate) fn string_list(b: &Value, k: &str) -> Result<Vec<String>, ApiError> {
    match b.get(k) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid("Team", k, "invalid", None))
            })
            .collect(),
        Some(_) => Err(invalid("Team", k, "invalid", None)),
    }
}

pub(crate) async fn create_team(
    State(s): State<S>,
    Extension(who): Who,
    P(org): P<String>,
    JsonObject(b): JsonObject,
) -> R {
    let name = required(&b, "Team", "name")?.to_string();
    let permission = one_of(&b, "Team", "permission", &["pull", "push"])?
        .unwrap_or("pull")
        .to_string();
    let privacy = one_of(&b, "Team", "privacy", &["secret", "closed"])?
        .unwrap_or("secret")
        .to_string();
    let description = str_field(&b, "description").map(str::to_string);
    let maintainers = string_list(&b, "maintainers")?;
    let repo_names = string_list(&b, "repo_names")?;
    s.with(|w| {
        let org_login = w.org(&org).ok_or_else(not_found)?.login.clone();
        let slug = slugify(&name);
        let lc = org.to_lowercase();
        if w.teams
            .values()
            .any(|t| t.org == lc && (t.name.eq_ignore_ascii_case(&name) || t.slug == slug))
        {
            return Err(invalid(
                "Team",
                "name",
                "custom",
                Some("Name must be unique for this org"),
            ));
        }
        let mut members = Vec::new();
        for m in &maintainers {
            let u = w.user(m).ok_or_else(|| {
                invalid(
                    "Team",
                    "maintainers",
                    "invalid",
                    Some(&format!("{m} is not a user")),
                )
            })?;
            members.push(u.login.clone());
        }
        if who.personal
            && w.creator_joins_team
            && !members.iter().any(|m| m.eq_ignore_ascii_case(&who.login))
        {
            members.push(who.login.clone());
        }
        let mut repos = Vec::new();
        for full in &repo_names {
            let (owner, name) = full
                .split_once('/')
                .unwrap_or((org_login.as_str(), full.as_str()));
            if !owner.eq_ignore_ascii_case(&org_login) {
                return Err(invalid(
                    "Team",
                    "repo_names",
                    "invalid",
                    Some(&format!("{full} is not owned by {org_login}")),
                ));
            }
            let id = w.repo_id(owner, name).ok_or_else(|| {
                invalid(
                    "Team",
                    "repo_names",
                    "invalid",
                    Some(&format!("repository {full} not found")),
                )
            })?;
            repos.push(id);
        }
        let (id, _) = w.insert_team(&org_login, &name, description, &privacy, &permission);
        let t = w.teams.get_mut(&id).expect("team");
        for m in members {
            t.members.insert(m.to_lowercase(), (m, "maintainer".into()));
        }
        for r in repos {
            t.repos.insert(r, permission.clone());
        }
        reply(201, team_json(&s, w, &w.teams[&id], true))
    })
}

pub(crate) fn team_of(w: &World, org: &str, slug: &str) -> Result<u64, ApiError> {
    w.team_id(org, slug).ok_or_else(not_found)
}

pub(crate) async fn get_team(State(s): State<S>, P((org, slug)): P2) -> R {
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        reply(200, team_json(&s, w, &w.teams[&id], true))
    })
}

pub(crate) async fn update_team(
    State(s): State<S>,
    P((org, slug)): P2,
    JsonObject(b): JsonObject,
) -> R {
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        one_of(&b, "Team", "permission", &["pull", "push"])?;
        one_of(&b, "Team", "privacy", &["secret", "closed"])?;
        if let Some(n) = str_field(&b, "name") {
            let new_slug = slugify(n);
            let lc = org.to_lowercase();
            if w.teams
                .values()
                .any(|t| t.id != id && t.org == lc && t.slug == new_slug)
            {
                return Err(invalid(
                    "Team",
                    "name",
                    "custom",
                    Some("Name must be unique for this org"),
                ));
            }
        }
        let t = w.teams.get_mut(&id).expect("team");
        if let Some(n) = str_field(&b, "name") {
            t.name = n.to_string();
            t.slug = slugify(n);
        }
        if let Some(d) = b.get("description") {
            t.description = d.as_str().map(str::to_string);
        }
        if let Some(p) = str_field(&b, "privacy") {
            t.privacy = p.to_string();
        }
        if let Some(p) = str_field(&b, "permission") {
            t.permission = p.to_string();
        }
        reply(200, team_json(&s, w, &w.teams[&id], true))
    })
}

pub(crate) async fn delete_team(State(s): State<S>, P((org, slug)): P2) -> R {
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        w.teams.remove(&id);
        no_content()
    })
}

pub(crate) fn team_repo_json(s: &Shared, w: &World, rec: &RepoRec, permission: &str) -> Value {
    let mut v = repo_json(s, w, rec);
    let rank = ["pull", "triage", "push", "maintain", "admin"]
        .iter()
        .position(|p| *p == permission)
        .unwrap_or(0);
    v["permissions"] = json!({"admin": rank >= 4, "maintain": rank >= 3, "push": rank >= 2, "triage": rank >= 1, "pull": true});
    v["role_name"] = json!(match permission {
        "pull" => "read",
        "push" => "write",
        p => p,
    });
    v
}

pub(crate) async fn list_team_repos(State(s): State<S>, P((org, slug)): P2, uri: Uri) -> R {
    let items = s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        Ok(w.teams[&id]
            .repos
            .iter()
            .filter_map(|(rid, p)| w.repos.get(rid).map(|r| team_repo_json(&s, w, r, p)))
            .collect())
    })?;
    paginate(&s, &uri, items)
}

/// `GET /repos/{owner}/{repo}/teams`: teams with access, each with its
/// `permission` on this repo (as GitHub answers).
pub(crate) async fn list_repo_teams(State(s): State<S>, P((owner, repo)): P2, uri: Uri) -> R {
    let items = s.with(|w| {
        let rid = w.repo_id(&owner, &repo).ok_or_else(not_found)?;
        Ok(w.teams
            .values()
            .filter_map(|t| {
                t.repos.get(&rid).map(|p| {
                    let mut v = team_json(&s, w, t, false);
                    v["permission"] = Value::String(p.clone());
                    v
                })
            })
            .collect::<Vec<Value>>())
    })?;
    paginate(&s, &uri, items)
}

pub(crate) async fn check_team_repo(
    State(s): State<S>,
    P((org, slug, owner, repo)): P4,
    headers: HeaderMap,
) -> R {
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        let rid = w.repo_id(&owner, &repo).ok_or_else(not_found)?;
        let p = w.teams[&id].repos.get(&rid).ok_or_else(not_found)?;
        if header_str(&headers, "accept").is_some_and(|a| a.contains("repository+json")) {
            reply(200, team_repo_json(&s, w, &w.repos[&rid], p))
        } else {
            no_content()
        }
    })
}

pub(crate) async fn put_team_repo(
    State(s): State<S>,
    P((org, slug, owner, repo)): P4,
    JsonObject(b): JsonObject,
) -> R {
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        let rid = w.repo_id(&owner, &repo).ok_or_else(not_found)?;
        if !owner.eq_ignore_ascii_case(&org) {
            return Err(invalid(
                "TeamRepository",
                "repository",
                "custom",
                Some("Repository must be owned by the team's organization"),
            ));
        }
        let permission = str_field(&b, "permission")
            .map(str::to_string)
            .unwrap_or_else(|| w.teams[&id].permission.clone());
        if !["pull", "triage", "push", "maintain", "admin"].contains(&permission.as_str()) {
            return Err(invalid("TeamRepository", "permission", "invalid", None));
        }
        w.teams
            .get_mut(&id)
            .expect("team")
            .repos
            .insert(rid, permission);
        no_content()
    })
}

pub(crate) async fn delete_team_repo(State(s): State<S>, P((org, slug, owner, repo)): P4) -> R {
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        let rid = w.repo_id(&owner, &repo).ok_or_else(not_found)?;
        w.teams.get_mut(&id).expect("team").repos.remove(&rid);
        no_content()
    })
}

pub(crate) async fn list_team_members(State(s): State<S>, P((org, slug)): P2, uri: Uri) -> R {
    let role = query_get(&uri, "role").unwrap_or_else(|| "all".into());
    let items = s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        Ok(w.teams[&id]
            .members
            .values()
            .filter(|(_, r)| role == "all" || *r == role)
            .map(|(l, _)| login_json(&s, w, l))
            .collect())
    })?;
    paginate(&s, &uri, items)
}

pub(crate) fn membership_json(s: &Shared, w: &World, team: u64, login: &str, role: &str) -> Value {
    let org_id = w.org(&w.teams[&team].org).map(|o| o.id).unwrap_or(0);
    json!({
        "url": format!("{}/organizations/{org_id}/team/{team}/memberships/{login}", s.base),
        "role": role,
        "state": "active"
    })
}

pub(crate) async fn get_membership(State(s): State<S>, P((org, slug, user)): P3) -> R {
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        let (login, role) = w.teams[&id]
            .members
            .get(&user.to_lowercase())
            .cloned()
            .ok_or_else(not_found)?;
        reply(200, membership_json(&s, w, id, &login, &role))
    })
}

pub(crate) async fn put_membership(
    State(s): State<S>,
    P((org, slug, user)): P3,
    JsonObject(b): JsonObject,
) -> R {
    let role = one_of(&b, "TeamMember", "role", &["member", "maintainer"])?
        .unwrap_or("member")
        .to_string();
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        let login = w
            .user(&user)
            .filter(|u| u.kind != AccountKind::Bot)
            .ok_or_else(not_found)?
            .login
            .clone();
        w.teams
            .get_mut(&id)
            .expect("team")
            .members
            .insert(login.to_lowercase(), (login.clone(), role.clone()));
        reply(200, membership_json(&s, w, id, &login, &role))
    })
}

pub(crate) async fn delete_membership(State(s): State<S>, P((org, slug, user)): P3) -> R {
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        w.user(&user).ok_or_else(not_found)?;
        w.teams
            .get_mut(&id)
            .expect("team")
            .members
            .remove(&user.to_lowercase());
        no_content()
    })
}
