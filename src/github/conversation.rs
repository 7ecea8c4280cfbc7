//! The bot's side of the conversation: comments, reactions, and who the
//! people it talks to are (users, their permission on the requests repo).

use reqwest::Method;
use serde_json::{json, Value};

use super::types::{Comment, Reaction, ReactionItem, RepoRole};
use super::{repo_path, seg, GitHub, GitHubError, Request};

impl GitHub {
    pub async fn create_comment(
        &self,
        owner: &str,
        repo: &str,
        issue: u64,
        body: &str,
    ) -> Result<Comment, GitHubError> {
        let path = repo_path(owner, repo, format_args!("/issues/{issue}/comments"));
        let (resp, m, p) = self
            .call(Request::new(Method::POST, path).json(json!({ "body": body })))
            .await?;
        match resp.status {
            201 => resp.json(&m, &p),
            _ => Err(resp.unexpected(&m, &p)),
        }
    }

    pub async fn update_comment(
        &self,
        owner: &str,
        repo: &str,
        comment_id: u64,
        body: &str,
    ) -> Result<(), GitHubError> {
        let path = repo_path(owner, repo, format_args!("/issues/comments/{comment_id}"));
        self.call_ok(
            Request::new(Method::PATCH, path).json(json!({ "body": body })),
            &[200],
        )
        .await
    }

    pub async fn list_issue_comments(
        &self,
        owner: &str,
        repo: &str,
        issue: u64,
    ) -> Result<Vec<Comment>, GitHubError> {
        let path = repo_path(owner, repo, format_args!("/issues/{issue}/comments"));
        self.get_all(&path).await
    }

    pub async fn get_comment(
        &self,
        owner: &str,
        repo: &str,
        comment_id: u64,
    ) -> Result<Option<Comment>, GitHubError> {
        let path = repo_path(owner, repo, format_args!("/issues/comments/{comment_id}"));
        let (resp, m, p) = self.call(Request::get(path)).await?;
        match resp.status {
            200 => resp.json(&m, &p).map(Some),
            404 => Ok(None),
            _ => Err(resp.unexpected(&m, &p)),
        }
    }

    pub async fn list_comment_reactions(
        &self,
        owner: &str,
        repo: &str,
        comment_id: u64,
    ) -> Result<Vec<ReactionItem>, GitHubError> {
        let path = repo_path(
            owner,
            repo,
            format_args!("/issues/comments/{comment_id}/reactions"),
        );
        self.get_all(&path).await
    }

    /// Removes one of our own reactions; one already gone (404) is fine.
    pub async fn delete_comment_reaction(
        &self,
        owner: &str,
        repo: &str,
        comment_id: u64,
        reaction_id: u64,
    ) -> Result<(), GitHubError> {
        let path = repo_path(
            owner,
            repo,
            format_args!("/issues/comments/{comment_id}/reactions/{reaction_id}"),
        );
        self.call_ok(
            Request::new(Method::DELETE, path).replayable(true),
            &[204, 404],
        )
        .await
    }

    /// React to a comment; GitHub answers 200 for a reaction we already left,
    /// so this is safe to repeat. Returns the reaction, whose user is us.
    pub async fn add_comment_reaction(
        &self,
        owner: &str,
        repo: &str,
        comment_id: u64,
        content: Reaction,
    ) -> Result<ReactionItem, GitHubError> {
        let path = repo_path(
            owner,
            repo,
            format_args!("/issues/comments/{comment_id}/reactions"),
        );
        self.post_reaction(path, content).await
    }

    /// A reaction POST, safe to repeat (GitHub answers 200 for one we left).
    async fn post_reaction(
        &self,
        path: String,
        content: Reaction,
    ) -> Result<ReactionItem, GitHubError> {
        let (resp, m, p) = self
            .call(
                Request::new(Method::POST, path)
                    .json(json!({ "content": content.as_str() }))
                    .replayable(true),
            )
            .await?;
        match resp.status {
            200 | 201 => resp.json(&m, &p),
            _ => Err(resp.unexpected(&m, &p)),
        }
    }

    /// Whether a user (or org) of that login exists (`GET /users/{login}`).
    pub async fn user_exists(&self, login: &str) -> Result<bool, GitHubError> {
        let (resp, m, p) = self
            .call(Request::get(format!("/users/{}", seg(login))))
            .await?;
        match resp.status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(resp.unexpected(&m, &p)),
        }
    }

    /// A user's role on a repo; no collaborator (404) is no access.
    pub async fn collaborator_permission(
        &self,
        owner: &str,
        repo: &str,
        user: &str,
    ) -> Result<RepoRole, GitHubError> {
        let path = repo_path(
            owner,
            repo,
            format_args!("/collaborators/{}/permission", seg(user)),
        );
        let (resp, m, p) = self.call(Request::get(path)).await?;
        match resp.status {
            200 => {
                let v: Value = resp.json(&m, &p)?;
                Ok(RepoRole::parse(
                    v.get("permission")
                        .and_then(Value::as_str)
                        .unwrap_or("none"),
                ))
            }
            404 => Ok(RepoRole::None),
            _ => Err(resp.unexpected(&m, &p)),
        }
    }

    /// React to an issue itself (an issue form's request has no comment).
    pub async fn add_issue_reaction(
        &self,
        owner: &str,
        repo: &str,
        issue: u64,
        content: Reaction,
    ) -> Result<ReactionItem, GitHubError> {
        let path = repo_path(owner, repo, format_args!("/issues/{issue}/reactions"));
        self.post_reaction(path, content).await
    }

    /// `POST /repos/{owner}/{repo}/labels`; a label that exists (422
    /// `already_exists`) is fine.
    pub async fn create_label(
        &self,
        owner: &str,
        repo: &str,
        name: &str,
        color: &str,
        description: &str,
    ) -> Result<(), GitHubError> {
        let path = repo_path(owner, repo, "/labels");
        let body = json!({ "name": name, "color": color, "description": description });
        let (resp, m, p) = self
            .call(Request::new(Method::POST, path).json(body))
            .await?;
        let exists = || {
            resp.json::<Value>(&m, &p).ok().is_some_and(|v| {
                v["errors"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|x| x["code"] == "already_exists"))
            })
        };
        match resp.status {
            201 => Ok(()),
            422 if exists() => Ok(()),
            _ => Err(resp.unexpected(&m, &p)),
        }
    }

    /// Adds labels to an issue (`POST …/issues/{n}/labels`); it keeps the others.
    pub async fn add_issue_labels(
        &self,
        owner: &str,
        repo: &str,
        issue: u64,
        labels: &[&str],
    ) -> Result<(), GitHubError> {
        let path = repo_path(owner, repo, format_args!("/issues/{issue}/labels"));
        self.call_ok(
            Request::new(Method::POST, path)
                .json(json!({ "labels": labels }))
                .replayable(true),
            &[200],
        )
        .await
    }

    /// Removes a label from an issue; one that is not there (404) is done.
    pub async fn remove_issue_label(
        &self,
        owner: &str,
        repo: &str,
        issue: u64,
        label: &str,
    ) -> Result<(), GitHubError> {
        let path = repo_path(
            owner,
            repo,
            format_args!("/issues/{issue}/labels/{}", seg(label)),
        );
        self.call_ok(Request::new(Method::DELETE, path), &[200, 404])
            .await
    }

    /// Closes an issue (`PATCH …/issues/{n}` with `state: closed`).
    pub async fn close_issue(
        &self,
        owner: &str,
        repo: &str,
        issue: u64,
    ) -> Result<(), GitHubError> {
        let path = repo_path(owner, repo, format_args!("/issues/{issue}"));
        self.call_ok(
            Request::new(Method::PATCH, path)
                .json(json!({ "state": "closed", "state_reason": "completed" }))
                .replayable(true),
            &[200],
        )
        .await
    }
}
