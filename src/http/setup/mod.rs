//! Setup mode: `serve` without App credentials registers a GitHub
//! App through GitHub's App-manifest flow and writes its credentials.
//!
//! 1. `GET /` shows a "Register GitHub App" button: a form that POSTs
//!    `app-manifest.yml` (as JSON, with this server's URLs filled in) to
//!    GitHub's "new App" page, with a random CSRF `state`.
//! 2. GitHub creates the App and sends the browser to `/setup/callback`
//!    with `?code=…&state=…`; we check the state, exchange the code
//!    (`POST /app-manifests/{code}/conversions`) and write the private key and
//!    a `.env`, both mode 0600 and both atomically (temp file + rename).
//! 3. The page then asks for the shop's settings (requests repos, orgs,
//!    teams, gitreload URLs), checks them as `serve` reads them and adds them
//!    to `.env`; the server leaves setup mode by itself ([`SetupDone`]).
//!
//! Secrets (client secret, webhook secret, private key) are written to disk
//! and nowhere else: not to a page, not to a log.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use rand::RngCore;
use serde::Deserialize;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::github::{convert_manifest, Conversion, DEFAULT_API_URL};
use crate::naming::OrgName;
use crate::text::escape_html;

mod envfile;
mod manifest;
mod pages;
mod settings;

pub use settings::{read_env_file, SetupDone};

use envfile::save;
pub use envfile::update_env;
pub use manifest::{github_web_url, manifest_json};
use manifest::{is_local, new_app_url, normalize_public_url};
use pages::{error_page, page, page_with, INDEX_REFERRER_POLICY};

/// File name of the App's private key inside [`SetupState::key_dir`].
pub const KEY_FILE_NAME: &str = "orcoursetrion-app.pem";
/// Keys written to `.env` after a successful registration.
pub const ENV_KEYS: [&str; 6] = [
    "ORC_APP_ID",
    "ORC_APP_PRIVATE_KEY_PATH",
    "ORC_WEBHOOK_SECRET",
    "ORC_APP_CLIENT_ID",
    "ORC_APP_CLIENT_SECRET",
    "ORC_APP_SLUG",
];

/// GitHub's manifest codes expire after an hour; so do our CSRF states.
const STATE_TTL: Duration = Duration::from_secs(60 * 60);
/// Every `GET /` mints a state: keep only the newest few.
const MAX_STATES: usize = 64;
const MAX_CODE_LEN: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("app-manifest.yml is invalid: {0}")]
    Manifest(String),
    #[error("public URL {0:?}: expected an http(s) URL without credentials, query or fragment (set ORC_PUBLIC_URL)")]
    PublicUrl(String),
    #[error("ORC_SETUP_ORG {0:?}: expected a GitHub organization login")]
    Org(String),
}

/// What setup mode needs to know. Plain data: [`router`] validates it and
/// keeps the run-time state (CSRF states, the outcome) to itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupState {
    /// `ORC_GH_API_URL`; GitHub's web UI is derived from it ([`github_web_url`]).
    pub api_url: String,
    /// Where GitHub (webhooks) and the browser (redirect) reach this server:
    /// `ORC_PUBLIC_URL`, else `http://localhost:PORT`.
    pub public_url: String,
    /// The `.env` to write (`.env` in the working directory).
    pub env_path: PathBuf,
    /// Directory of the private key file ([`KEY_FILE_NAME`]).
    pub key_dir: PathBuf,
    /// `ORC_SETUP_ORG`: register the App under this organization instead of
    /// the signed-in user.
    pub org: Option<String>,
    /// The environment, against which the chosen settings are checked.
    pub vars: HashMap<String, String>,
    pub done: SetupDone,
}

impl SetupState {
    /// From environment variables: `ORC_GH_API_URL`, `ORC_PUBLIC_URL`, `PORT`,
    /// `ORC_SETUP_ORG`, `ORC_ENV_FILE` (default `.env`; the key goes beside it).
    pub fn from_vars(vars: &HashMap<String, String>) -> SetupState {
        let get = |k: &str| {
            vars.get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let port = get("PORT").unwrap_or_else(|| "8080".to_string());
        let env_path = PathBuf::from(get("ORC_ENV_FILE").unwrap_or_else(|| ".env".to_string()));
        let key_dir = env_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        SetupState {
            api_url: get("ORC_GH_API_URL").unwrap_or_else(|| DEFAULT_API_URL.to_string()),
            public_url: get("ORC_PUBLIC_URL").unwrap_or_else(|| format!("http://localhost:{port}")),
            env_path,
            key_dir,
            org: get("ORC_SETUP_ORG"),
            vars: vars.clone(),
            done: SetupDone::default(),
        }
    }
}

// ---------------------------------------------------------------------------
// Pure parts

/// A manifest code as GitHub issues them: ASCII letters and digits.
fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_CODE_LEN
        && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

// ---------------------------------------------------------------------------
// .env

// ---------------------------------------------------------------------------
// The router

struct Registered {
    slug: String,
    html_url: String,
    owner: Option<String>,
}

#[derive(Default)]
struct Runtime {
    states: VecDeque<(String, Instant)>,
    registered: Option<Registered>,
    /// The settings form's CSRF token, from registration until it is saved.
    settings_token: Option<String>,
}

struct App {
    cfg: SetupState,
    web_url: String,
    /// The manifest JSON and the org, validated once.
    prepared: Result<(String, Option<String>), SetupError>,
    http: Result<reqwest::Client, String>,
    runtime: Mutex<Runtime>,
    /// One code exchange at a time: two callbacks must not both write `.env`.
    exchange: tokio::sync::Mutex<()>,
}

impl App {
    fn runtime(&self) -> MutexGuard<'_, Runtime> {
        self.runtime.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn new_state(&self) -> String {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let state = hex::encode(bytes);
        let mut rt = self.runtime();
        let now = Instant::now();
        rt.states
            .retain(|(_, t)| now.duration_since(*t) < STATE_TTL);
        while rt.states.len() >= MAX_STATES {
            rt.states.pop_front();
        }
        rt.states.push_back((state.clone(), now));
        state
    }

    /// Whether `given` is a live state; compared in constant time against each.
    fn known_state(&self, given: &str) -> bool {
        let rt = self.runtime();
        let now = Instant::now();
        let mut found = subtle::Choice::from(0u8);
        for (s, t) in &rt.states {
            let live = subtle::Choice::from(u8::from(now.duration_since(*t) < STATE_TTL));
            found |= s.as_bytes().ct_eq(given.as_bytes()) & live;
        }
        found.into()
    }
}

/// The setup-mode routes: `GET /`, `GET /setup/callback` (and `POST /webhook`
/// answering 503 until the server restarts).
pub(super) fn routes(state: SetupState) -> Router {
    let prepared = (|| {
        let manifest = manifest_json(&state.public_url)?;
        let org = match state
            .org
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty())
        {
            Some(o) => Some(
                OrgName::parse(o)
                    .map_err(|_| SetupError::Org(o.to_string()))?
                    .to_string(),
            ),
            None => None,
        };
        Ok((manifest.to_string(), org))
    })();
    if let Err(e) = &prepared {
        tracing::error!(error = %e, "setup mode cannot offer registration");
    }
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string());
    let app = Arc::new(App {
        web_url: github_web_url(&state.api_url),
        cfg: state,
        prepared,
        http,
        runtime: Mutex::new(Runtime::default()),
        exchange: tokio::sync::Mutex::new(()),
    });
    Router::new()
        .route("/", get(index))
        .route("/setup/callback", get(callback))
        .route("/setup/settings", post(settings::save_settings))
        .route("/webhook", post(webhook))
        .with_state(app)
}

fn key_path(cfg: &SetupState) -> PathBuf {
    cfg.key_dir.join(KEY_FILE_NAME)
}

fn registered_body(app: &App, r: &Registered) -> String {
    let install = format!("{}/installations/new", r.html_url.trim_end_matches('/'));
    let owner = r
        .owner
        .as_deref()
        .map(|o| format!(" (owned by <code>{}</code>)", escape_html(o)))
        .unwrap_or_default();
    format!(
        "<p class=\"ok\">App <strong>{slug}</strong> registered{owner}.</p>\n\
         <ol>\n\
         <li>Install it on your organization: <a href=\"{install}\">{install_text}</a>.</li>\n\
         <li>Then choose the settings below: once they are saved, the server leaves setup mode.</li>\n\
         </ol>\n\
         <p>The App id, client id and secrets are in <code>{env}</code> and its private key in \
         <code>{key}</code>, both readable by their owner only. Keep them out of version control.</p>",
        slug = escape_html(&r.slug),
        install = escape_html(&install),
        install_text = escape_html(&install),
        env = escape_html(&app.cfg.env_path.display().to_string()),
        key = escape_html(&key_path(&app.cfg).display().to_string()),
    )
}

/// The registered page with the settings form (while it is not saved).
fn registered_page_body(app: &App, r: &Registered) -> String {
    let mut body = registered_body(app, r);
    if let Some(token) = app.runtime().settings_token.clone() {
        let mut values = app.cfg.vars.clone();
        values.extend(read_env_file(&app.cfg.env_path));
        body.push('\n');
        body.push_str(&settings::form(&token, &values, &[]));
    }
    body
}

async fn index(State(app): State<Arc<App>>) -> Response {
    let registered = app.runtime().registered.as_ref().map(|r| Registered {
        slug: r.slug.clone(),
        html_url: r.html_url.clone(),
        owner: r.owner.clone(),
    });
    if let Some(r) = registered {
        return page(
            StatusCode::OK,
            "orcoursetrion setup",
            &registered_page_body(&app, &r),
        );
    }
    let (manifest, org) = match &app.prepared {
        Ok(p) => p,
        Err(e) => {
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "orcoursetrion setup",
                &e.to_string(),
                "Fix the configuration and restart <code>orcoursetrion serve</code>.",
            )
        }
    };
    let state = app.new_state();
    let action = new_app_url(&app.web_url, org.as_deref(), &state);
    let base = normalize_public_url(&app.cfg.public_url).unwrap_or_default();
    let owner = match org {
        Some(o) => format!("the organization <code>{}</code>", escape_html(o)),
        None => "your personal account (set <code>ORC_SETUP_ORG</code> to register it under an organization)".into(),
    };
    let warn = if is_local(&base) {
        format!(
            "<p class=\"warn\">GitHub cannot deliver webhooks to <code>{}</code>. Registration works from this \
             browser, but set <code>ORC_PUBLIC_URL</code> to an address GitHub can reach (or change the App's \
             webhook URL later) before relying on slash-commands.</p>\n",
            escape_html(&base)
        )
    } else {
        String::new()
    };
    let pretty = serde_json::from_str::<Value>(manifest)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| manifest.clone());
    let body = format!(
        "<p>No GitHub App credentials are configured (<code>ORC_APP_ID</code> and \
         <code>ORC_APP_PRIVATE_KEY</code> or <code>ORC_APP_PRIVATE_KEY_PATH</code>), so orcoursetrion is in \
         <strong>setup mode</strong>: it serves this page and nothing else.</p>\n\
         <p>The button below takes you to GitHub with orcoursetrion's App manifest. GitHub shows the App's \
         settings; pick a name and click <em>Create GitHub App</em>. GitHub then sends you back here, and \
         orcoursetrion saves the App's credentials to <code>{env}</code> and its private key to \
         <code>{key}</code> (both mode 0600).</p>\n\
         {warn}\
         <dl>\n<dt>Registered under</dt><dd>{owner}</dd>\n\
         <dt>GitHub</dt><dd><code>{web}</code></dd>\n\
         <dt>Webhook URL</dt><dd><code>{base}/webhook</code></dd>\n\
         <dt>Callback URL</dt><dd><code>{base}/setup/callback</code></dd>\n</dl>\n\
         <form method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"manifest\" value=\"{manifest_attr}\">\n\
         <button type=\"submit\">Register GitHub App</button>\n</form>\n\
         <details><summary>Manifest sent to GitHub</summary>\n<pre>{pretty}</pre>\n</details>",
        env = escape_html(&app.cfg.env_path.display().to_string()),
        key = escape_html(&key_path(&app.cfg).display().to_string()),
        web = escape_html(&app.web_url),
        base = escape_html(&base),
        action = escape_html(&action),
        manifest_attr = escape_html(manifest),
        pretty = escape_html(&pretty),
    );
    page_with(
        StatusCode::OK,
        "orcoursetrion setup",
        &body,
        INDEX_REFERRER_POLICY,
    )
}

#[derive(Debug, Deserialize)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
}

const START_AGAIN: &str = "Start again from the <a href=\"/\">setup page</a>.";

async fn callback(State(app): State<Arc<App>>, Query(q): Query<CallbackParams>) -> Response {
    let state_ok = q.state.as_deref().is_some_and(|s| app.known_state(s));
    if !state_ok {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Unknown request",
            "This link does not come from a registration started on this server (its state is missing, unknown or expired).",
            START_AGAIN,
        );
    }
    let Some(code) = q.code.as_deref().filter(|c| valid_code(c)) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid code",
            "GitHub's code is missing or malformed (expected up to 100 letters and digits).",
            START_AGAIN,
        );
    };
    let _one_at_a_time = app.exchange.lock().await;
    if let Some(r) = &app.runtime().registered {
        let body = format!(
            "<p class=\"warn\">An App was registered already by this server; restart it to use it.</p>\n{}",
            registered_body(&app, r)
        );
        return page(StatusCode::CONFLICT, "Already registered", &body);
    }
    let conv = match convert(&app, code).await {
        Ok(c) => c,
        Err(message) => {
            tracing::warn!(error = %message, "GitHub App manifest conversion failed");
            return error_page(
                StatusCode::BAD_GATEWAY,
                "GitHub did not complete the registration",
                &message,
                "Manifest codes work once and expire after an hour. If GitHub created the App anyway, delete it \
                 (or generate its keys yourself) before registering again from the <a href=\"/\">setup page</a>.",
            );
        }
    };
    match save(&app.cfg, &conv) {
        Ok(()) => {}
        Err(e) => {
            tracing::error!(error = %e, app_id = conv.id, slug = %conv.slug, "cannot save the GitHub App credentials");
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Cannot save the credentials",
                &format!("GitHub App {} (id {}) was created, but saving its credentials failed: {e}", conv.slug, conv.id),
                "Fix the problem, then delete the App on GitHub and register again: GitHub shows its secrets once.",
            );
        }
    }
    tracing::info!(
        app_id = conv.id,
        slug = %conv.slug,
        env = %app.cfg.env_path.display(),
        "GitHub App registered; credentials written (restart to leave setup mode)"
    );
    let r = Registered {
        slug: conv.slug,
        html_url: conv.html_url,
        owner: conv.owner.map(|o| o.login),
    };
    let mut token = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut token);
    app.runtime().settings_token = Some(hex::encode(token));
    let mut body = registered_page_body(&app, &r);
    if conv.webhook_secret.is_none() {
        body.push_str(
            "\n<p class=\"warn\">GitHub returned no webhook secret: set one in the App's settings and put it in \
             <code>ORC_WEBHOOK_SECRET</code>, or webhooks will be refused.</p>",
        );
    }
    let mut rt = app.runtime();
    rt.states.clear();
    rt.registered = Some(r);
    drop(rt);
    page(StatusCode::OK, "GitHub App registered", &body)
}

/// `POST {api}/app-manifests/{code}/conversions`, no authentication.
async fn convert(app: &App, code: &str) -> Result<Conversion, String> {
    let http = app
        .http
        .as_ref()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    convert_manifest(http, &app.cfg.api_url, code).await
}

async fn webhook() -> (StatusCode, &'static str) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "orcoursetrion is in setup mode: it takes webhooks once the App is registered and its settings saved\n",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_vars_defaults() {
        let s = SetupState::from_vars(&HashMap::from([("PORT".to_string(), "9000".to_string())]));
        assert_eq!(s.public_url, "http://localhost:9000");
        assert_eq!(s.api_url, DEFAULT_API_URL);
        assert_eq!(s.env_path, PathBuf::from(".env"));
        assert_eq!(s.org, None);
    }

    #[test]
    fn codes_are_short_alphanumerics() {
        assert!(valid_code("a1B2c3"));
        assert!(valid_code(&"a".repeat(100)));
        assert!(!valid_code(&"a".repeat(101)));
        assert!(!valid_code(""));
        assert!(!valid_code("abc/../x"));
        assert!(!valid_code("abc%2F"));
        assert!(!valid_code("ab-c"));
    }
}
