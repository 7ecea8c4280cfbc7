//! The import's result on GitHub, as a commit status on the pushed commit
//! (`gitreload/{host}`), posted with the App's installation for the repo's
//! owner. A status is a courtesy: a failing call is logged and never fails
//! or delays the import.

use super::settings::StatusCredentials;
use crate::github::api::CommitStatus;
use crate::github::{AppCredentials, ClientConfig, GitHub, GitHubError};

/// GitHub's statuses: pending, then success or failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusState {
    Pending,
    Success,
    Failure,
}

impl StatusState {
    fn as_str(self) -> &'static str {
        match self {
            StatusState::Pending => "pending",
            StatusState::Success => "success",
            StatusState::Failure => "failure",
        }
    }
}

/// GitHub shows about 140 characters of a description.
const DESCRIPTION_CHARS: usize = 140;

/// Posts commit statuses for one host.
#[derive(Debug, Clone)]
pub struct Statuses {
    app: GitHub,
    context: String,
}

impl Statuses {
    pub fn new(
        creds: &StatusCredentials,
        host: &str,
        client: ClientConfig,
    ) -> Result<Statuses, GitHubError> {
        let client = ClientConfig {
            api_url: creds.api_url.clone(),
            ..client
        };
        let app = GitHub::app(
            client,
            AppCredentials::from_pem(creds.app_id.clone(), &creds.private_key)?,
        )?;
        Ok(Statuses {
            app,
            context: format!("gitreload/{host}"),
        })
    }

    /// Sets the status of `owner/repo@sha`; logs, and swallows, a failure.
    pub async fn set(&self, owner: &str, repo: &str, sha: &str, state: StatusState, text: &str) {
        let description: String = text.chars().take(DESCRIPTION_CHARS).collect();
        let status = CommitStatus {
            state: state.as_str(),
            description: &description,
            context: &self.context,
        };
        let result = async {
            let gh = self.app.routed_via(owner).await?;
            gh.create_status(owner, repo, sha, &status).await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(owner, repo, sha, state = state.as_str(), error = %e,
                "could not set the commit status (the import is not affected)");
        }
    }
}
