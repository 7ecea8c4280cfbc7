//! Typed GitHub errors that keep orcoursetrion's meanings (repo exists, repo
//! does not exist, team not found, unexpected status) and always carry what
//! GitHub said and the `x-github-request-id` an operator needs to ask GitHub.

use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum GitHubError {
    #[error("repository {owner}/{repo} already exists")]
    RepoExists { owner: String, repo: String },

    #[error("repository {owner}/{repo} does not exist")]
    RepoNotFound { owner: String, repo: String },

    #[error("team {team:?} not found in organization {org}")]
    TeamNotFound { org: String, team: String },

    #[error("user {login} does not exist on GitHub; check the spelling")]
    UserNotFound { login: String },

    #[error("team {team:?} already exists in organization {org}")]
    TeamExists { org: String, team: String },

    #[error("file {path} already exists in {owner}/{repo}")]
    FileExists {
        owner: String,
        repo: String,
        path: String,
    },

    /// Any status the caller did not expect: GitHub's own message is kept.
    #[error("GitHub answered {status} to {method} {path}: {message}{}", fmt_request_id(.request_id))]
    Status {
        method: String,
        path: String,
        status: u16,
        message: String,
        request_id: Option<String>,
    },

    /// A write that may or may not have happened (a 5xx, a timeout or a dropped
    /// connection after the request left). The caller reconciles by reading
    /// GitHub's state instead of blindly repeating the write.
    #[error("{method} {path} may or may not have taken effect: {detail}")]
    InDoubt {
        method: String,
        path: String,
        detail: String,
    },

    /// The request never got an answer after every retry.
    #[error("could not reach GitHub for {method} {path}: {detail}")]
    Transport {
        method: String,
        path: String,
        detail: String,
    },

    /// Still rate limited after the waits this call allows; the job should be
    /// retried later rather than fail.
    #[error(
        "GitHub rate limit still in force for {method} {path} (retry in {retry_after_secs} s)"
    )]
    RateLimited {
        method: String,
        path: String,
        retry_after_secs: u64,
    },

    /// The App is not installed on the account a call touches.
    #[error("the App is not installed on {account}{}", .install_url.as_ref().map(|u| format!("; an owner of {account} can install it at {u}")).unwrap_or_default())]
    NotInstalled {
        account: String,
        install_url: Option<String>,
    },

    /// App authentication failed (bad key, wrong app id, unknown installation).
    #[error("GitHub App authentication failed: {0}")]
    Auth(String),

    #[error("unexpected response to {method} {path}: {detail}")]
    InvalidResponse {
        method: String,
        path: String,
        detail: String,
    },
}

fn fmt_request_id(id: &Option<String>) -> String {
    match id {
        Some(id) => format!(" (request id {id})"),
        None => String::new(),
    }
}

impl GitHubError {
    pub fn repo_not_found(owner: &str, repo: &str) -> GitHubError {
        GitHubError::RepoNotFound {
            owner: owner.to_owned(),
            repo: repo.to_owned(),
        }
    }

    pub fn team_not_found(org: &str, team: &str) -> GitHubError {
        GitHubError::TeamNotFound {
            org: org.to_owned(),
            team: team.to_owned(),
        }
    }

    /// Whether the worker should try the whole job again later: GitHub was
    /// unavailable, slow (408), rate limited past our in-call retries (403
    /// rate limits come back as `RateLimited`, 429 as a status), or refused a
    /// token that a later attempt renews (401). Every other 4xx (a 404, a 422,
    /// a repo that exists, a team that isn't there) is final: asking again
    /// gets the same answer. This is the one place that decides.
    pub fn is_transient(&self) -> bool {
        match self {
            GitHubError::Transport { .. }
            | GitHubError::InDoubt { .. }
            | GitHubError::RateLimited { .. } => true,
            GitHubError::Status { status, .. } => {
                *status >= 500 || matches!(*status, 401 | 408 | 429)
            }
            _ => false,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            GitHubError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            GitHubError::Status { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }
}
