//! Typed GitHub endpoints with orcoursetrion's error meanings. Each function is
//! one REST call (or one paginated listing) so call counts stay visible.

use reqwest::Method;
use serde_json::{json, Value};

use super::types::{Hook, Permission, Repo, Team};
use super::{repo_path, seg, GitHub, GitHubError, Request, Response};
use crate::naming::team_slug;
use crate::secret::Secret;

/// A commit status to set (see [`GitHub::create_status`]).
#[derive(Debug, Clone, Copy)]
pub struct CommitStatus<'a> {
    pub state: &'a str,
    pub description: &'a str,
    pub context: &'a str,
}

/// Who signs commits made through the contents API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committer {
    pub name: String,
    pub email: String,
}

fn is_already_exists(resp: &Response) -> bool {
    // Repos say "name already exists on this account"; teams say "Name must
    // be unique for this org".
    let msg = resp.message().to_ascii_lowercase();
    resp.status == 422 && (msg.contains("already exist") || msg.contains("must be unique"))
}

impl GitHub {
    pub(super) async fn call(
        &self,
        req: Request,
    ) -> Result<(Response, Method, String), GitHubError> {
        let method = req.method.clone();
        let path = req.path.clone();
        let resp = self.send(req).await?;
        Ok((resp, method, path))
    }

    /// A call whose answer carries nothing we need: done when its status is
    /// one of `ok`, an error naming the call otherwise.
    pub(super) async fn call_ok(&self, req: Request, ok: &[u16]) -> Result<(), GitHubError> {
        let (resp, m, p) = self.call(req).await?;
        if ok.contains(&resp.status) {
            return Ok(());
        }
        Err(resp.unexpected(&m, &p))
    }

    /// [`call_ok`](Self::call_ok), with a 404 that is `missing` (a repo or
    /// team that is not there, or not the installation's to see).
    pub(super) async fn call_ok_or(
        &self,
        req: Request,
        ok: &[u16],
        missing: GitHubError,
    ) -> Result<(), GitHubError> {
        let (resp, m, p) = self.call(req).await?;
        match resp.status {
            s if ok.contains(&s) => Ok(()),
            404 => Err(missing),
            _ => Err(resp.unexpected(&m, &p)),
        }
    }

    /// A create: the new thing on 201; on GitHub's "already exists" 422, the
    /// error `exists` makes, so the caller can adopt or report it.
    async fn create<T: serde::de::DeserializeOwned>(
        &self,
        req: Request,
        exists: impl FnOnce() -> GitHubError,
    ) -> Result<T, GitHubError> {
        let (resp, m, p) = self.call(req).await?;
        match resp.status {
            201 => resp.json(&m, &p),
            422 if is_already_exists(&resp) => Err(exists()),
            _ => Err(resp.unexpected(&m, &p)),
        }
    }

    /// `POST /orgs/{org}/repos`: no existence check first, the 422 says it exists.
    pub async fn create_repo(
        &self,
        org: &str,
        name: &str,
        description: Option<&str>,
        private: bool,
    ) -> Result<Repo, GitHubError> {
        let mut body = json!({ "name": name, "private": private });
        if let Some(d) = description {
            body["description"] = Value::String(d.to_string());
        }
        let req = Request::new(Method::POST, format!("/orgs/{}/repos", seg(org))).json(body);
        self.create(req, || GitHubError::RepoExists {
            owner: org.to_string(),
            repo: name.to_string(),
        })
        .await
    }

    /// One resource; `None` on 404.
    async fn get_one<T: serde::de::DeserializeOwned>(
        &self,
        path: String,
    ) -> Result<Option<T>, GitHubError> {
        let (resp, m, p) = self.call(Request::get(path)).await?;
        match resp.status {
            200 => resp.json(&m, &p).map(Some),
            404 => Ok(None),
            _ => Err(resp.unexpected(&m, &p)),
        }
    }

    /// `GET /repos/{owner}/{repo}`; `None` when it does not exist.
    pub async fn get_repo(&self, owner: &str, repo: &str) -> Result<Option<Repo>, GitHubError> {
        self.get_one(repo_path(owner, repo, "")).await
    }

    /// Every repo of an org (paginated).
    pub async fn list_org_repos(&self, org: &str) -> Result<Vec<Repo>, GitHubError> {
        self.get_all(&format!("/orgs/{}/repos", seg(org))).await
    }

    /// `GET /orgs/{org}/teams/{slug}`; `None` on 404.
    pub async fn get_team(&self, org: &str, slug: &str) -> Result<Option<Team>, GitHubError> {
        self.get_one(format!("/orgs/{}/teams/{}", seg(org), seg(slug)))
            .await
    }

    /// Every team of an org (paginated).
    pub async fn list_teams(&self, org: &str) -> Result<Vec<Team>, GitHubError> {
        self.get_all(&format!("/orgs/{}/teams", seg(org))).await
    }

    /// Find a team by its name as people type it (orcoursetrion compared names
    /// ignoring case and surrounding spaces): one GET by the derived slug, and
    /// only if that misses, a scan of the org's teams.
    pub async fn find_team(&self, org: &str, name: &str) -> Result<Option<Team>, GitHubError> {
        let wanted = name.trim();
        if let Some(t) = self.get_team(org, &team_slug(wanted)).await? {
            if t.name.trim().eq_ignore_ascii_case(wanted) || t.slug == team_slug(wanted) {
                return Ok(Some(t));
            }
        }
        Ok(self
            .list_teams(org)
            .await?
            .into_iter()
            .find(|t| t.name.trim().eq_ignore_ascii_case(wanted)))
    }

    /// `POST /orgs/{org}/teams`, optionally granting `permission` on `repos`
    /// (full names) in the same call.
    pub async fn create_team(
        &self,
        org: &str,
        name: &str,
        permission: Permission,
        repos: &[String],
    ) -> Result<Team, GitHubError> {
        let body = json!({
            "name": name,
            "privacy": "closed",
            "permission": permission.as_str(),
            "repo_names": repos,
        });
        let req = Request::new(Method::POST, format!("/orgs/{}/teams", seg(org)))
            .json(body)
            .replayable(false);
        self.create(req, || GitHubError::TeamExists {
            org: org.to_string(),
            team: name.to_string(),
        })
        .await
    }

    /// `PUT /orgs/{org}/teams/{slug}/repos/{owner}/{repo}`. A 404 means the
    /// team (or repo) is not there.
    pub async fn add_team_repo(
        &self,
        org: &str,
        slug: &str,
        owner: &str,
        repo: &str,
        permission: Option<Permission>,
    ) -> Result<(), GitHubError> {
        let path = format!(
            "/orgs/{}/teams/{}/repos/{}/{}",
            seg(org),
            seg(slug),
            seg(owner),
            seg(repo)
        );
        self.call_ok_or(
            // No permission: GitHub uses the team's own permission attribute.
            Request::new(Method::PUT, path).json(match permission {
                Some(p) => json!({ "permission": p.as_str() }),
                None => json!({}),
            }),
            &[204, 200],
            GitHubError::team_not_found(org, slug),
        )
        .await
    }

    /// Logins of a team's members (paginated).
    pub async fn list_team_members(
        &self,
        org: &str,
        slug: &str,
    ) -> Result<Vec<String>, GitHubError> {
        #[derive(serde::Deserialize)]
        struct Member {
            login: String,
        }
        let path = format!("/orgs/{}/teams/{}/members", seg(org), seg(slug));
        match self.get_all_or_404::<Member>(&path).await? {
            Some(ms) => Ok(ms.into_iter().map(|m| m.login).collect()),
            None => Err(GitHubError::team_not_found(org, slug)),
        }
    }

    /// `PUT /orgs/{org}/teams/{slug}/memberships/{user}` (idempotent).
    pub async fn add_team_member(
        &self,
        org: &str,
        slug: &str,
        user: &str,
    ) -> Result<(), GitHubError> {
        let req = Request::new(Method::PUT, membership_path(org, slug, user))
            .json(json!({ "role": "member" }));
        // Callers reach this with a team they just made or listed, so a 404
        // means the login is unknown.
        let unknown = GitHubError::UserNotFound {
            login: user.to_string(),
        };
        self.call_ok_or(req, &[200, 201], unknown).await
    }

    /// `DELETE /orgs/{org}/teams/{slug}/memberships/{user}`; a 404 (already
    /// gone) counts as done.
    pub async fn remove_team_member(
        &self,
        org: &str,
        slug: &str,
        user: &str,
    ) -> Result<(), GitHubError> {
        let path = membership_path(org, slug, user);
        self.call_ok(Request::new(Method::DELETE, path), &[204, 200, 404])
            .await
    }

    /// Whether `user` is an active member of the team (`GET …/memberships/{user}`).
    pub async fn is_team_member(
        &self,
        org: &str,
        slug: &str,
        user: &str,
    ) -> Result<bool, GitHubError> {
        let path = membership_path(org, slug, user);
        let (resp, m, p) = self.call(Request::get(path)).await?;
        match resp.status {
            200 => {
                let v: Value = resp.json(&m, &p)?;
                Ok(v.get("state").and_then(Value::as_str) == Some("active"))
            }
            404 => Ok(false),
            _ => Err(resp.unexpected(&m, &p)),
        }
    }

    /// Teams with access to a repo (paginated); `None` when the repo is missing.
    pub async fn list_repo_teams(
        &self,
        owner: &str,
        repo: &str,
    ) -> Result<Option<Vec<Team>>, GitHubError> {
        self.get_all_or_404(&repo_path(owner, repo, "/teams")).await
    }

    /// A repo's hooks (paginated); `RepoNotFound` on 404.
    pub async fn list_hooks(&self, owner: &str, repo: &str) -> Result<Vec<Hook>, GitHubError> {
        let path = repo_path(owner, repo, "/hooks");
        self.get_all_or_404(&path)
            .await?
            .ok_or_else(|| GitHubError::repo_not_found(owner, repo))
    }

    /// Add a JSON, push-only hook; `secret` signs its deliveries.
    pub async fn create_hook(
        &self,
        owner: &str,
        repo: &str,
        url: &Secret,
        secret: Option<&Secret>,
    ) -> Result<Hook, GitHubError> {
        let mut config =
            json!({ "url": url.expose(), "content_type": "json", "insecure_ssl": "0" });
        if let Some(s) = secret {
            config["secret"] = Value::String(s.expose().to_string());
        }
        let body = json!({ "name": "web", "active": true, "events": ["push"], "config": config });
        let (resp, m, p) = self
            .call(Request::new(Method::POST, repo_path(owner, repo, "/hooks")).json(body))
            .await?;
        match resp.status {
            201 => resp.json(&m, &p),
            404 => Err(GitHubError::repo_not_found(owner, repo)),
            _ => Err(resp.unexpected(&m, &p)),
        }
    }

    /// `POST /repos/{owner}/{repo}/statuses/{sha}`: a commit status under
    /// `context` (`state` is pending, success, failure or error). GitHub keeps
    /// descriptions short, so the caller passes one line.
    pub async fn create_status(
        &self,
        owner: &str,
        repo: &str,
        sha: &str,
        status: &CommitStatus<'_>,
    ) -> Result<(), GitHubError> {
        let body = json!({
            "state": status.state,
            "description": status.description,
            "context": status.context,
        });
        let path = repo_path(owner, repo, format_args!("/statuses/{}", seg(sha)));
        self.call_ok_or(
            Request::new(Method::POST, path).json(body),
            &[201],
            GitHubError::repo_not_found(owner, repo),
        )
        .await
    }

    /// `DELETE /repos/{owner}/{repo}/hooks/{id}`; a 404 (already gone) is done.
    pub async fn delete_hook(&self, owner: &str, repo: &str, id: u64) -> Result<(), GitHubError> {
        let path = repo_path(owner, repo, format_args!("/hooks/{id}"));
        self.call_ok(Request::new(Method::DELETE, path), &[204, 404])
            .await
    }

    // ---- issues, comments, reactions, permissions (the chat bot) ----
}

/// `/orgs/{org}/teams/{slug}/memberships/{user}`.
fn membership_path(org: &str, slug: &str, user: &str) -> String {
    format!(
        "/orgs/{}/teams/{}/memberships/{}",
        seg(org),
        seg(slug),
        seg(user)
    )
}
