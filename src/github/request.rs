//! One request to GitHub and its answer, with the error it means.

use super::*;

/// One request. Writes that may not be repeated blindly (creating a repo, a
/// hook, a comment) set `replayable: false`: an ambiguous failure then comes
/// back as `InDoubt` for the caller to reconcile.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub replayable: bool,
}

impl Request {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        let replayable = method != Method::POST;
        Request {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            replayable,
        }
    }
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    pub fn query(mut self, k: &str, v: impl Into<String>) -> Self {
        self.query.push((k.to_string(), v.into()));
        self
    }
    pub fn replayable(mut self, yes: bool) -> Self {
        self.replayable = yes;
        self
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
    pub request_id: Option<String>,
    /// Whether an earlier attempt of this call may have been applied.
    pub after_doubt: bool,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json<T: DeserializeOwned>(&self, method: &Method, path: &str) -> Result<T, GitHubError> {
        serde_json::from_slice(&self.body).map_err(|e| GitHubError::InvalidResponse {
            method: method.to_string(),
            path: path.to_string(),
            detail: e.to_string(),
        })
    }

    /// GitHub's `message`, plus the `errors[].message`/`code` details it gives on 422.
    pub fn message(&self) -> String {
        let Ok(v) = serde_json::from_slice::<Value>(&self.body) else {
            return String::from_utf8_lossy(&self.body)
                .chars()
                .take(300)
                .collect();
        };
        let mut msg = v
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(errors) = v.get("errors").and_then(Value::as_array) {
            let details: Vec<String> = errors
                .iter()
                .filter_map(|e| {
                    e.get("message")
                        .or_else(|| e.get("code"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .or_else(|| e.as_str().map(str::to_string))
                })
                .collect();
            if !details.is_empty() {
                msg = format!("{msg} ({})", details.join("; "));
            }
        }
        msg
    }

    /// The error for a status the caller did not expect.
    pub fn unexpected(&self, method: &Method, path: &str) -> GitHubError {
        GitHubError::Status {
            method: method.to_string(),
            path: path.to_string(),
            status: self.status,
            // GitHub's text may quote what we sent (a hook URL with its
            // password): it is redacted before it goes anywhere.
            message: crate::secret::redact(&self.message()).into_owned(),
            request_id: self.request_id.clone(),
        }
    }
}
