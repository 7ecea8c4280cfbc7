//! The GitHub REST client: authentication, standard headers, retries,
//! pagination and pacing live here once; `api.rs` holds the typed endpoints.

pub mod api;
mod app_auth;
mod contents;
mod conversation;
mod deliveries;
pub mod error;
mod manifest;
mod pacing;
mod paging;
mod reach;
mod request;
pub mod retry;
mod routing;
pub mod types;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, USER_AGENT};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::clock::{SharedClock, SystemClock};
use crate::secret::Secret;
pub use app_auth::AppCredentials;
use app_auth::TokenCache;
pub use deliveries::{HookDelivery, Redelivery};
pub use error::GitHubError;
pub use manifest::{convert_manifest, Conversion};
pub use pacing::PaceLedger;
pub use request::{Request, Response};
pub use retry::RetryPolicy;
use retry::Verdict;

pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// The REST API version every request asks for.
pub(crate) const API_VERSION: &str = "2022-11-28";
const PER_PAGE: &str = "100";
/// GitHub's guidance: at most 80 content-creating requests a minute.
pub const CONTENT_WRITES_PER_MINUTE: usize = 80;

/// Told about every HTTP exchange with GitHub (metrics, audit log).
pub trait CallObserver: Send + Sync {
    fn on_call(&self, call: &CallRecord<'_>);
}

#[derive(Debug)]
pub struct CallRecord<'a> {
    pub method: &'a str,
    /// Path only: never a query string, never a credential.
    pub path: &'a str,
    /// None when no answer came (timeout, dropped connection).
    pub status: Option<u16>,
    pub elapsed: Duration,
    pub installation: Option<u64>,
}

pub struct ClientConfig {
    pub api_url: String,
    pub user_agent: String,
    pub retry: RetryPolicy,
    pub clock: SharedClock,
    pub observer: Option<Arc<dyn CallObserver>>,
    pub content_writes_per_minute: usize,
    /// Where content-creating calls reserve their slots; None: in memory.
    pub pace_ledger: Option<Arc<dyn PaceLedger>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            api_url: DEFAULT_API_URL.to_string(),
            user_agent: format!("orcoursetrion/{}", env!("CARGO_PKG_VERSION")),
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
            observer: None,
            content_writes_per_minute: CONTENT_WRITES_PER_MINUTE,
            pace_ledger: None,
        }
    }
}

struct Shared {
    http: reqwest::Client,
    api: String,
    user_agent: HeaderValue,
    retry: RetryPolicy,
    clock: SharedClock,
    observer: Option<Arc<dyn CallObserver>>,
    app: Option<AppCredentials>,
    tokens: TokenCache,
    /// Account (lowercase login) → installation, for routed handles.
    accounts: Mutex<HashMap<String, u64>>,
    /// The App's web page (`GET /app`'s `html_url`), for install links.
    app_page: Mutex<Option<String>>,
    pacer: Mutex<HashMap<Option<u64>, VecDeque<DateTime<Utc>>>>,
    content_writes_per_minute: usize,
    pace_ledger: Option<Arc<dyn PaceLedger>>,
    /// Whether GitHub answers at all, for every handle of this App.
    reach: reach::Reach,
}

#[derive(Clone)]
enum Credentials {
    Token(Secret),
    Installation(u64),
    /// Each call uses the installation of the account it touches (the owner
    /// in `/orgs/{org}/…` or `/repos/{owner}/…`), found once and cached;
    /// calls that touch no account use `default`. An installation token
    /// reaches only its own account, so one token for every org is wrong.
    Routed {
        default: u64,
    },
    App,
}

/// A handle on GitHub with one identity. Cheap to clone; handles made from one
/// another (`installation`) share the HTTP pool and the token cache.
#[derive(Clone)]
pub struct GitHub {
    shared: Arc<Shared>,
    creds: Credentials,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("api", &self.shared.api)
            .finish_non_exhaustive()
    }
}

impl GitHub {
    fn build(
        config: ClientConfig,
        app: Option<AppCredentials>,
        creds: Credentials,
    ) -> Result<Self, GitHubError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| GitHubError::Auth(format!("cannot build HTTP client: {e}")))?;
        let user_agent = HeaderValue::from_str(&config.user_agent)
            .map_err(|_| GitHubError::Auth("user agent is not a valid header".into()))?;
        let api = config.api_url.trim_end_matches('/').to_string();
        Ok(GitHub {
            shared: Arc::new(Shared {
                http,
                api,
                user_agent,
                retry: config.retry,
                clock: config.clock,
                observer: config.observer,
                app,
                tokens: TokenCache::default(),
                accounts: Mutex::new(HashMap::new()),
                app_page: Mutex::new(None),
                pacer: Mutex::new(HashMap::new()),
                content_writes_per_minute: config.content_writes_per_minute.max(1),
                pace_ledger: config.pace_ledger,
                reach: reach::Reach::default(),
            }),
            creds,
        })
    }

    /// Personal-token mode (`ORC_GH_OAUTH2_TOKEN`), as orcoursetrion's CLI used.
    pub fn with_token(config: ClientConfig, token: Secret) -> Result<Self, GitHubError> {
        Self::build(config, None, Credentials::Token(token))
    }

    /// App mode: this handle speaks as the App itself (JWT); use
    /// [`GitHub::installation`] for a handle acting inside one installation.
    pub fn app(config: ClientConfig, app: AppCredentials) -> Result<Self, GitHubError> {
        Self::build(config, Some(app), Credentials::App)
    }

    /// A handle acting as one installation; shares pool and token cache.
    pub fn installation(&self, id: u64) -> GitHub {
        GitHub {
            shared: self.shared.clone(),
            creds: Credentials::Installation(id),
        }
    }

    fn as_app(&self) -> GitHub {
        GitHub {
            shared: self.shared.clone(),
            creds: Credentials::App,
        }
    }

    /// True for a user's personal token: GitHub then makes that user a
    /// maintainer of any team it creates, which exclusive membership must undo.
    pub fn is_personal_token(&self) -> bool {
        matches!(self.creds, Credentials::Token(_))
    }

    pub fn installation_id(&self) -> Option<u64> {
        match self.creds {
            Credentials::Installation(id) | Credentials::Routed { default: id } => Some(id),
            _ => None,
        }
    }

    pub fn api_url(&self) -> &str {
        &self.shared.api
    }

    pub fn clock(&self) -> &SharedClock {
        &self.shared.clock
    }

    /// A token usable outside the REST client (git over HTTPS) for the repos
    /// of `owner`, never put in a URL.
    pub async fn token_for_git(&self, owner: &str) -> Result<Secret, GitHubError> {
        match &self.creds {
            Credentials::Token(t) => Ok(t.clone()),
            Credentials::Installation(id) => self.installation_token(*id).await,
            Credentials::Routed { .. } => {
                let id = self.installation_for(owner).await?;
                self.installation_token(id).await
            }
            Credentials::App => Err(GitHubError::Auth(
                "the App itself cannot push; use an installation".into(),
            )),
        }
    }

    async fn installation_token(&self, id: u64) -> Result<Secret, GitHubError> {
        if self.shared.app.is_none() {
            return Err(GitHubError::Auth("no App credentials configured".into()));
        }
        let me = self.as_app();
        self.shared
            .tokens
            .get_or_fetch(id, &self.shared.clock, move || {
                Box::pin(async move { me.fetch_installation_token(id).await })
            })
            .await
            .map_err(|e| match e {
                GitHubError::Auth(m) => GitHubError::Auth(m),
                other => GitHubError::Auth(format!("installation {id}: {other}")),
            })
    }

    async fn fetch_installation_token(
        &self,
        id: u64,
    ) -> Result<(Secret, DateTime<Utc>), GitHubError> {
        let path = format!("/app/installations/{id}/access_tokens");
        let req = Request::new(Method::POST, path.clone()).replayable(true);
        let resp = self.send(req).await?;
        if resp.status != 201 && resp.status != 200 {
            return Err(resp.unexpected(&Method::POST, &path));
        }
        #[derive(serde::Deserialize)]
        struct TokenResp {
            token: String,
            expires_at: DateTime<Utc>,
        }
        let t: TokenResp = resp.json(&Method::POST, &path)?;
        Ok((Secret::new(t.token), t.expires_at))
    }

    async fn authorization(&self, installation: Option<u64>) -> Result<HeaderValue, GitHubError> {
        let value = match (&self.creds, installation) {
            (Credentials::Token(t), _) => format!("Bearer {}", t.expose()),
            (Credentials::Installation(_) | Credentials::Routed { .. }, Some(id)) => {
                let t = Box::pin(self.installation_token(id)).await?;
                format!("Bearer {}", t.expose())
            }
            (Credentials::Installation(_) | Credentials::Routed { .. }, None) => {
                return Err(GitHubError::Auth("no installation for this call".into()))
            }
            (Credentials::App, _) => {
                let app = self
                    .shared
                    .app
                    .as_ref()
                    .ok_or_else(|| GitHubError::Auth("no App credentials configured".into()))?;
                format!("Bearer {}", app.jwt(self.shared.clock.now())?.expose())
            }
        };
        let mut v = HeaderValue::from_str(&value)
            .map_err(|_| GitHubError::Auth("credential is not a valid header value".into()))?;
        v.set_sensitive(true);
        Ok(v)
    }

    fn url_for(&self, path: &str) -> Result<String, GitHubError> {
        if path.starts_with("http://") || path.starts_with("https://") {
            // Pagination links: follow only links back to our API, so a token
            // is never sent to another host.
            if path.starts_with(&format!("{}/", self.shared.api)) {
                Ok(path.to_string())
            } else {
                Err(GitHubError::InvalidResponse {
                    method: "GET".into(),
                    path: "(pagination)".into(),
                    detail: "a Link header pointed outside the configured API URL".into(),
                })
            }
        } else {
            Ok(format!("{}{}", self.shared.api, path))
        }
    }

    /// Send with the standard headers and the retry policy. Error statuses that
    /// are final come back as `Ok(Response)` so each endpoint maps its own
    /// meanings (404 → repo does not exist, 422 → exists, …).
    pub fn send(
        &self,
        req: Request,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Response, GitHubError>> + Send + '_>,
    > {
        // Boxed: fetching an installation token is itself a `send`, and the
        // recursion needs a named, `Send` future type.
        Box::pin(self.send_inner(req))
    }

    async fn send_inner(&self, req: Request) -> Result<Response, GitHubError> {
        let url = self.url_for(&req.path)?;
        let path_only = req.path.split('?').next().unwrap_or("").to_string();
        let log_path = path_only
            .strip_prefix(&self.shared.api)
            .unwrap_or(&path_only)
            .to_string();
        let method_s = req.method.to_string();
        let retry = &self.shared.retry;
        let mut after_doubt = false;
        let mut reauthed = false;
        let mut attempt = 0u32;
        let mut installation = self.installation_of_call(&log_path).await?;
        self.pace(&req.method, installation).await;
        loop {
            attempt += 1;
            let auth = self.authorization(installation).await?;
            let mut builder = self
                .shared
                .http
                .request(req.method.clone(), &url)
                .header(USER_AGENT, self.shared.user_agent.clone())
                .header(ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", API_VERSION)
                .header(AUTHORIZATION, auth)
                .timeout(retry.timeout);
            if !req.query.is_empty() {
                builder = builder.query(&req.query);
            }
            if let Some(body) = &req.body {
                builder = builder.json(body);
            }
            let started = Instant::now();
            let outcome = match builder.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    resp.bytes().await.map(|body| (status, headers, body))
                }
                Err(e) => Err(e),
            };
            let status = outcome.as_ref().ok().map(|(s, _, _)| *s);
            if let Some(obs) = &self.shared.observer {
                obs.on_call(&CallRecord {
                    method: &method_s,
                    path: &log_path,
                    status,
                    elapsed: started.elapsed(),
                    installation,
                });
            }
            let (status, headers, body) = match outcome {
                Ok(ok) => {
                    self.shared.reach.answered();
                    ok
                }
                Err(e) => {
                    // A refused connection never reached GitHub; anything later might have.
                    let in_doubt = !e.is_connect();
                    let detail = reach::describe_transport_error(&e);
                    tracing::warn!(method = %method_s, path = %log_path, attempt, %detail, "GitHub call failed");
                    if in_doubt && !req.replayable {
                        return Err(GitHubError::InDoubt {
                            method: method_s,
                            path: log_path,
                            detail,
                        });
                    }
                    after_doubt |= in_doubt;
                    if attempt >= retry.max_attempts {
                        self.shared.reach.unreachable(Instant::now());
                        return Err(GitHubError::Transport {
                            method: method_s,
                            path: log_path,
                            detail,
                        });
                    }
                    self.shared.clock.sleep(retry.backoff(attempt)).await;
                    continue;
                }
            };
            let request_id = headers
                .get("x-github-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let response = Response {
                status,
                headers,
                body,
                request_id,
                after_doubt,
            };
            if status == 401 && !reauthed {
                if let Some(id) = installation {
                    // The cached token was revoked or expired early: fetch a new
                    // one once (and, routed, find the account's installation again).
                    self.shared.tokens.invalidate(id);
                    if let Some(owner) = routing::owner_of(&log_path) {
                        self.forget_account(owner);
                        installation = self.installation_of_call(&log_path).await?;
                    }
                    reauthed = true;
                    attempt -= 1;
                    continue;
                }
            }
            let now = self.shared.clock.now();
            match retry.classify_status(status, &response.headers, &response.body, attempt, now) {
                Verdict::Done => return Ok(response),
                Verdict::GiveUpRateLimited { after } => {
                    return Err(GitHubError::RateLimited {
                        method: method_s,
                        path: log_path,
                        retry_after_secs: after.as_secs(),
                    })
                }
                Verdict::Retry { after, in_doubt } => {
                    tracing::warn!(method = %method_s, path = %log_path, status, attempt, wait_ms = after.as_millis() as u64, "GitHub asked us to retry");
                    if in_doubt && !req.replayable {
                        return Err(GitHubError::InDoubt {
                            method: method_s,
                            path: log_path,
                            detail: format!("GitHub answered {status}: {}", response.message()),
                        });
                    }
                    after_doubt |= in_doubt;
                    if attempt >= retry.max_attempts {
                        if in_doubt {
                            return Ok(response);
                        }
                        return Err(GitHubError::RateLimited {
                            method: method_s,
                            path: log_path,
                            retry_after_secs: after.as_secs(),
                        });
                    }
                    self.shared.clock.sleep(after).await;
                }
            }
        }
    }
}

/// `/repos/{owner}/{repo}` and then `rest` (empty, or starting with `/`),
/// the owner and name percent-encoded by [`seg`].
pub(crate) fn repo_path(owner: &str, repo: &str, rest: impl std::fmt::Display) -> String {
    format!("/repos/{}/{}{rest}", seg(owner), seg(repo))
}

/// Percent-encode one path segment (names are validated already; this is the
/// second line of defence so no name can change the path's shape).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seg_encodes_everything_but_unreserved() {
        assert_eq!(
            seg("content-mit-6004r-2018_Spring"),
            "content-mit-6004r-2018_Spring"
        );
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
        assert_eq!(seg(".."), "..");
    }
}
