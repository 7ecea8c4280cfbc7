//! JSON shapes of GitHub's resources.

#![allow(unused_imports)]

use super::*;

// ---------------------------------------------------------------------------
// JSON shapes
// ---------------------------------------------------------------------------

pub(crate) fn user_json(s: &Shared, login: &str, id: u64, kind: &str) -> Value {
    let base = &s.base;
    let html = if kind == "Bot" {
        format!("{HTML_HOST}/apps/{}", login.trim_end_matches("[bot]"))
    } else {
        format!("{HTML_HOST}/{login}")
    };
    let url = format!("{base}/users/{login}");
    json!({
        "login": login,
        "id": id,
        "node_id": node_id(kind, id),
        "avatar_url": format!("https://avatars.github.example/u/{id}?v=4"),
        "gravatar_id": "",
        "url": url,
        "html_url": html,
        "followers_url": format!("{url}/followers"),
        "following_url": format!("{url}/following{{/other_user}}"),
        "gists_url": format!("{url}/gists{{/gist_id}}"),
        "starred_url": format!("{url}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{url}/subscriptions"),
        "organizations_url": format!("{url}/orgs"),
        "repos_url": format!("{url}/repos"),
        "events_url": format!("{url}/events{{/privacy}}"),
        "received_events_url": format!("{url}/received_events"),
        "type": kind,
        "user_view_type": "public",
        "site_admin": false
    })
}

/// The simple-user object of a login (a user, the bot, or an org).
pub(crate) fn login_json(s: &Shared, w: &World, login: &str) -> Value {
    match w.account(login) {
        Some(a) => user_json(s, &a.login, a.id, a.kind.user_type()),
        None => user_json(s, login, 0, "User"),
    }
}

pub(crate) fn org_json(s: &Shared, w: &World, o: &AccountRec) -> Value {
    let url = format!("{}/orgs/{}", s.base, o.login);
    let repos = w
        .repos
        .values()
        .filter(|r| r.repo.owner.eq_ignore_ascii_case(&o.login))
        .count();
    json!({
        "login": o.login,
        "id": o.id,
        "node_id": node_id("Organization", o.id),
        "url": url,
        "repos_url": format!("{url}/repos"),
        "events_url": format!("{url}/events"),
        "hooks_url": format!("{url}/hooks"),
        "issues_url": format!("{url}/issues"),
        "members_url": format!("{url}/members{{/member}}"),
        "public_members_url": format!("{url}/public_members{{/member}}"),
        "avatar_url": format!("https://avatars.github.example/u/{}?v=4", o.id),
        "description": null,
        "name": o.login,
        "company": null,
        "blog": "",
        "location": null,
        "email": null,
        "is_verified": false,
        "has_organization_projects": true,
        "has_repository_projects": true,
        "public_repos": repos,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "html_url": format!("{HTML_HOST}/{}", o.login),
        "created_at": ts(o.created_at),
        "updated_at": ts(o.created_at),
        "archived_at": null,
        "type": "Organization"
    })
}

pub(crate) const REPO_URLS: [(&str, &str); 35] = [
    ("archive_url", "/{archive_format}{/ref}"),
    ("assignees_url", "/assignees{/user}"),
    ("blobs_url", "/git/blobs{/sha}"),
    ("branches_url", "/branches{/branch}"),
    ("collaborators_url", "/collaborators{/collaborator}"),
    ("comments_url", "/comments{/number}"),
    ("commits_url", "/commits{/sha}"),
    ("compare_url", "/compare/{base}...{head}"),
    ("contents_url", "/contents/{+path}"),
    ("contributors_url", "/contributors"),
    ("deployments_url", "/deployments"),
    ("downloads_url", "/downloads"),
    ("events_url", "/events"),
    ("forks_url", "/forks"),
    ("git_commits_url", "/git/commits{/sha}"),
    ("git_refs_url", "/git/refs{/sha}"),
    ("git_tags_url", "/git/tags{/sha}"),
    ("issue_comment_url", "/issues/comments{/number}"),
    ("issue_events_url", "/issues/events{/number}"),
    ("issues_url", "/issues{/number}"),
    ("keys_url", "/keys{/key_id}"),
    ("labels_url", "/labels{/name}"),
    ("languages_url", "/languages"),
    ("merges_url", "/merges"),
    ("milestones_url", "/milestones{/number}"),
    (
        "notifications_url",
        "/notifications{?since,all,participating}",
    ),
    ("pulls_url", "/pulls{/number}"),
    ("releases_url", "/releases{/id}"),
    ("stargazers_url", "/stargazers"),
    ("statuses_url", "/statuses/{sha}"),
    ("subscribers_url", "/subscribers"),
    ("subscription_url", "/subscription"),
    ("tags_url", "/tags"),
    ("teams_url", "/teams"),
    ("trees_url", "/git/trees{/sha}"),
];

pub(crate) fn repo_json(s: &Shared, w: &World, rec: &RepoRec) -> Value {
    let r = &rec.repo;
    let api = format!("{}/repos/{}", s.base, r.full_name);
    let owner = login_json(s, w, &r.owner);
    let mut v = json!({
        "id": r.id,
        "node_id": node_id("Repository", r.id),
        "name": r.name,
        "full_name": r.full_name,
        "private": r.private,
        "owner": owner,
        "html_url": r.html_url,
        "description": r.description,
        "fork": false,
        "url": api,
        "git_url": format!("git://github.example/{}.git", r.full_name),
        "ssh_url": format!("git@github.example:{}.git", r.full_name),
    });
    let more = json!({
        "clone_url": r.clone_url,
        "mirror_url": null,
        "hooks_url": format!("{api}/hooks"),
        "svn_url": r.html_url,
        "homepage": null,
        "language": null,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "size": 0,
        "default_branch": r.default_branch,
        "open_issues_count": rec.issues.len(),
        "is_template": false,
        "topics": [],
        "has_issues": true,
        "has_projects": true,
        "has_wiki": true,
        "has_pages": false,
        "has_downloads": true,
        "has_discussions": false,
        "archived": r.archived,
        "disabled": false,
        "visibility": if r.private { "private" } else { "public" },
        "pushed_at": ts(r.pushed_at),
        "created_at": ts(r.created_at),
        "updated_at": ts(r.pushed_at),
        "permissions": {"admin": true, "maintain": true, "push": true, "triage": true, "pull": true},
        "allow_forking": true,
        "web_commit_signoff_required": false,
        "license": null,
        "forks": 0,
        "open_issues": rec.issues.len(),
        "watchers": 0,
        "network_count": 0,
        "subscribers_count": 0,
        "organization": owner
    });
    if let (Value::Object(a), Value::Object(b)) = (&mut v, more) {
        a.extend(b);
        for (k, suffix) in REPO_URLS {
            a.insert(k.to_string(), json!(format!("{api}{suffix}")));
        }
    }
    v
}

pub(crate) fn team_json(s: &Shared, w: &World, t: &TeamRec, full: bool) -> Value {
    let (org_login, org_id) = w
        .org(&t.org)
        .map(|o| (o.login.clone(), o.id))
        .unwrap_or_default();
    let url = format!("{}/organizations/{org_id}/team/{}", s.base, t.id);
    let mut v = json!({
        "id": t.id,
        "node_id": node_id("Team", t.id),
        "url": url,
        "html_url": format!("{HTML_HOST}/orgs/{org_login}/teams/{}", t.slug),
        "name": t.name,
        "slug": t.slug,
        "description": t.description,
        "privacy": t.privacy,
        "notification_setting": "notifications_enabled",
        "permission": t.permission,
        "members_url": format!("{url}/members{{/member}}"),
        "repositories_url": format!("{url}/repos"),
        "parent": null
    });
    if full {
        v["members_count"] = json!(t.members.len());
        v["repos_count"] = json!(t.repos.len());
        v["created_at"] = json!(ts(t.created_at));
        v["updated_at"] = json!(ts(t.created_at));
        if let Some(o) = w.org(&t.org) {
            v["organization"] = org_json(s, w, o);
        }
    }
    v
}

pub(crate) fn hook_json(s: &Shared, full_name: &str, h: &Hook, created: DateTime<Utc>) -> Value {
    let url = format!("{}/repos/{full_name}/hooks/{}", s.base, h.id);
    let mut config =
        json!({"content_type": h.content_type, "insecure_ssl": h.insecure_ssl, "url": h.url});
    if h.secret.is_some() {
        config["secret"] = json!("********");
    }
    json!({
        "type": "Repository",
        "id": h.id,
        "name": "web",
        "active": h.active,
        "events": h.events,
        "config": config,
        "updated_at": ts(created),
        "created_at": ts(created),
        "url": url,
        "test_url": format!("{url}/test"),
        "ping_url": format!("{url}/pings"),
        "deliveries_url": format!("{url}/deliveries"),
        "last_response": {"code": null, "status": "unused", "message": null}
    })
}

pub(crate) fn reactions_rollup(url: String, rs: &[ReactionRec]) -> Value {
    let mut v = json!({"url": url, "total_count": rs.len()});
    for c in REACTIONS {
        v[c] = json!(rs.iter().filter(|r| r.content == c).count());
    }
    v
}

pub(crate) fn reaction_json(s: &Shared, w: &World, r: &ReactionRec) -> Value {
    json!({
        "id": r.id,
        "node_id": node_id("Reaction", r.id),
        "user": login_json(s, w, &r.user),
        "content": r.content,
        "created_at": ts(r.created_at)
    })
}

pub(crate) fn app_json(s: &Shared) -> Value {
    json!({
        "id": TEST_APP_ID,
        "slug": TEST_APP_SLUG,
        "node_id": node_id("Integration", TEST_APP_ID),
        "client_id": TEST_CLIENT_ID,
        "owner": user_json(s, "orcoursetrion-owner", 1, "Organization"),
        "name": TEST_APP_SLUG,
        "description": "orcoursetrion test app (fake GitHub)",
        "external_url": "https://orcoursetrion.example",
        "html_url": format!("{HTML_HOST}/apps/{TEST_APP_SLUG}"),
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "permissions": default_permissions(),
        "events": ["issue_comment", "issues", "push"],
        "installations_count": 0
    })
}

pub(crate) fn default_permissions() -> Value {
    json!({
        "administration": "write",
        "contents": "write",
        "issues": "write",
        "members": "write",
        "metadata": "read",
        "repository_hooks": "write",
        "statuses": "write"
    })
}

pub(crate) fn installation_json(s: &Shared, w: &World, i: &InstallationRec) -> Value {
    let target_id = w.org(&i.account).map(|o| o.id).unwrap_or(0);
    json!({
        "id": i.id,
        "client_id": TEST_CLIENT_ID,
        "account": login_json(s, w, &i.account),
        "repository_selection": "all",
        "access_tokens_url": format!("{}/app/installations/{}/access_tokens", s.base, i.id),
        "repositories_url": format!("{}/installation/repositories", s.base),
        "html_url": format!("{HTML_HOST}/organizations/{}/settings/installations/{}", i.account, i.id),
        "app_id": TEST_APP_ID,
        "app_slug": TEST_APP_SLUG,
        "target_id": target_id,
        "target_type": "Organization",
        "permissions": default_permissions(),
        "events": ["issue_comment", "issues", "push"],
        "created_at": ts(i.created_at),
        "updated_at": ts(i.created_at),
        "single_file_name": null,
        "has_multiple_single_files": false,
        "single_file_paths": [],
        "suspended_by": null,
        "suspended_at": null
    })
}

pub(crate) fn issue_json(s: &Shared, w: &World, rec: &RepoRec, i: &IssueRec) -> Value {
    let api = format!(
        "{}/repos/{}/issues/{}",
        s.base, rec.repo.full_name, i.number
    );
    let comments = w
        .comments
        .values()
        .filter(|c| c.repo_id == rec.repo.id && c.issue == i.number)
        .count();
    json!({
        "id": i.id,
        "node_id": node_id("Issue", i.id),
        "url": api,
        "repository_url": format!("{}/repos/{}", s.base, rec.repo.full_name),
        "labels_url": format!("{api}/labels{{/name}}"),
        "comments_url": format!("{api}/comments"),
        "events_url": format!("{api}/events"),
        "html_url": format!("{}/issues/{}", rec.repo.html_url, i.number),
        "number": i.number,
        "state": i.state,
        "state_reason": null,
        "title": i.title,
        "body": i.body,
        "user": login_json(s, w, &i.author),
        "labels": i.labels.iter()
            .filter_map(|n| rec.labels.iter().find(|l| &l.name == n))
            .map(|l| label_json(s, &rec.repo.full_name, l))
            .collect::<Vec<_>>(),
        "assignee": null,
        "assignees": [],
        "milestone": null,
        "locked": false,
        "active_lock_reason": null,
        "comments": comments,
        "closed_at": null,
        "created_at": ts(i.created_at),
        "updated_at": ts(i.created_at),
        "closed_by": null,
        "author_association": w.association(rec.repo.id, &i.author),
        "reactions": reactions_rollup(format!("{api}/reactions"), &i.reactions)
    })
}

pub(crate) fn comment_json(s: &Shared, w: &World, c: &CommentRec) -> Value {
    let rec = &w.repos[&c.repo_id];
    let api = format!("{}/repos/{}/issues", s.base, rec.repo.full_name);
    let bot = w
        .account(&c.author)
        .is_some_and(|a| a.kind == AccountKind::Bot);
    json!({
        "id": c.id,
        "node_id": node_id("IssueComment", c.id),
        "url": format!("{api}/comments/{}", c.id),
        "html_url": format!("{}/issues/{}#issuecomment-{}", rec.repo.html_url, c.issue, c.id),
        "body": c.body,
        "user": login_json(s, w, &c.author),
        "created_at": ts(c.created_at),
        "updated_at": ts(c.updated_at),
        "issue_url": format!("{api}/{}", c.issue),
        "author_association": w.association(c.repo_id, &c.author),
        "performed_via_github_app": if bot { app_json(s) } else { Value::Null },
        "reactions": reactions_rollup(format!("{api}/comments/{}/reactions", c.id), &c.reactions)
    })
}
