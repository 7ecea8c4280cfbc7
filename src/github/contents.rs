//! Files of a repo's default branch, through the contents API.

use reqwest::Method;
use serde_json::{json, Value};

use super::api::Committer;
use super::{repo_path, seg, GitHub, GitHubError, Request};

/// `/repos/{owner}/{repo}/contents/{path}`, each segment encoded.
fn contents_url(owner: &str, repo: &str, path: &str) -> String {
    let encoded: Vec<String> = path.split('/').map(seg).collect();
    repo_path(owner, repo, format_args!("/contents/{}", encoded.join("/")))
}

impl GitHub {
    /// Commit one new file to the default branch (`PUT /repos/…/contents/{path}`).
    pub async fn add_file(
        &self,
        owner: &str,
        repo: &str,
        path: &str,
        contents: &str,
        message: &str,
        committer: &Committer,
    ) -> Result<(), GitHubError> {
        use base64::Engine;
        let url = contents_url(owner, repo, path);
        let body = json!({
            "message": message,
            "content": base64::engine::general_purpose::STANDARD.encode(contents),
            "committer": { "name": committer.name, "email": committer.email },
        });
        let (resp, m, p) = self.call(Request::new(Method::PUT, url).json(body)).await?;
        match resp.status {
            200 | 201 => Ok(()),
            404 => Err(GitHubError::repo_not_found(owner, repo)),
            422 if resp.message().contains("sha") => Err(GitHubError::FileExists {
                owner: owner.to_string(),
                repo: repo.to_string(),
                path: path.to_string(),
            }),
            _ => Err(resp.unexpected(&m, &p)),
        }
    }

    /// Whether a file exists on the default branch.
    pub async fn file_exists(
        &self,
        owner: &str,
        repo: &str,
        path: &str,
    ) -> Result<bool, GitHubError> {
        let url = contents_url(owner, repo, path);
        let (resp, m, p) = self.call(Request::get(url)).await?;
        match resp.status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(resp.unexpected(&m, &p)),
        }
    }

    /// A file of the default branch and its blob sha (`GET …/contents/{path}`);
    /// `None` when it is not there or is not a file.
    pub async fn get_file(
        &self,
        owner: &str,
        repo: &str,
        path: &str,
    ) -> Result<Option<(String, String)>, GitHubError> {
        use base64::Engine as _;
        let url = contents_url(owner, repo, path);
        let (resp, m, p) = self.call(Request::get(url)).await?;
        match resp.status {
            200 => {
                let v: Value = resp.json(&m, &p)?;
                let (Some(sha), Some(content)) = (v["sha"].as_str(), v["content"].as_str()) else {
                    return Ok(None);
                };
                let raw: String = content.chars().filter(|c| !c.is_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(raw)
                    .map_err(|_| resp.unexpected(&m, &p))?;
                Ok(Some((
                    sha.to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                )))
            }
            404 => Ok(None),
            _ => Err(resp.unexpected(&m, &p)),
        }
    }

    /// The entries of a folder of the default branch: (name, blob sha, type);
    /// empty when the folder is not there.
    pub async fn list_dir(
        &self,
        owner: &str,
        repo: &str,
        path: &str,
    ) -> Result<Vec<(String, String, String)>, GitHubError> {
        let url = contents_url(owner, repo, path);
        let (resp, m, p) = self.call(Request::get(url)).await?;
        match resp.status {
            200 => {
                let v: Value = resp.json(&m, &p)?;
                let field = |e: &Value, k: &str| e[k].as_str().unwrap_or_default().to_string();
                Ok(v.as_array()
                    .map(|entries| {
                        entries
                            .iter()
                            .map(|e| (field(e, "name"), field(e, "sha"), field(e, "type")))
                            .collect()
                    })
                    .unwrap_or_default())
            }
            404 => Ok(Vec::new()),
            _ => Err(resp.unexpected(&m, &p)),
        }
    }
}
