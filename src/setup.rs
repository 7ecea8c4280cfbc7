//! Setup mode (SPEC §10): `serve` without App credentials registers a GitHub
//! App through GitHub's App-manifest flow and writes its credentials.
//!
//! 1. `GET /` shows a "Register GitHub App" button: a form that POSTs
//!    `app-manifest.yml` (as JSON, with this server's URLs filled in) to
//!    GitHub's "new App" page, with a random CSRF `state`.
//! 2. GitHub creates the App and sends the browser to `/setup/callback`
//!    with `?code=…&state=…`; we check the state, exchange the code
//!    (`POST /app-manifests/{code}/conversions`) and write the private key and
//!    a `.env`, both mode 0600 and both atomically (temp file + rename).
//! 3. The operator installs the App and restarts `orcoursetrion serve`.
//!
//! Secrets (client secret, webhook secret, private key) are written to disk
//! and nowhere else: not to a page, not to a log.

use std::collections::{HashMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use rand::RngCore;
use serde::Deserialize;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::github::{seg, DEFAULT_API_URL};
use crate::naming::OrgName;

/// The manifest, embedded at build time.
pub const MANIFEST_YAML: &str = include_str!("../app-manifest.yml");
/// Placeholder in [`MANIFEST_YAML`] replaced by the server's public URL.
pub const PUBLIC_URL_PLACEHOLDER: &str = "${PUBLIC_URL}";
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
const API_VERSION: &str = "2022-11-28";

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
}

impl SetupState {
    /// From environment variables: `ORC_GH_API_URL`, `ORC_PUBLIC_URL`, `PORT`,
    /// `ORC_SETUP_ORG`; `.env` and the key in the working directory.
    pub fn from_vars(vars: &HashMap<String, String>) -> SetupState {
        let get = |k: &str| {
            vars.get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let port = get("PORT").unwrap_or_else(|| "8080".to_string());
        SetupState {
            api_url: get("ORC_GH_API_URL").unwrap_or_else(|| DEFAULT_API_URL.to_string()),
            public_url: get("ORC_PUBLIC_URL").unwrap_or_else(|| format!("http://localhost:{port}")),
            env_path: PathBuf::from(".env"),
            key_dir: PathBuf::from("."),
            org: get("ORC_SETUP_ORG"),
        }
    }
}

// ---------------------------------------------------------------------------
// Pure parts

fn manifest_template() -> Result<&'static Value, SetupError> {
    static TEMPLATE: OnceLock<Result<Value, String>> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let v: Value = serde_norway::from_str(MANIFEST_YAML).map_err(|e| e.to_string())?;
            if !v.is_object() {
                return Err("expected a mapping at the top level".into());
            }
            Ok(v)
        })
        .as_ref()
        .map_err(|e| SetupError::Manifest(e.clone()))
}

/// `public_url` checked and without its trailing slash.
fn normalize_public_url(public_url: &str) -> Result<String, SetupError> {
    let bad = || SetupError::PublicUrl(public_url.to_string());
    let u = url::Url::parse(public_url.trim()).map_err(|_| bad())?;
    if !matches!(u.scheme(), "http" | "https")
        || u.host_str().is_none()
        || !u.username().is_empty()
        || u.password().is_some()
        || u.query().is_some()
        || u.fragment().is_some()
    {
        return Err(bad());
    }
    Ok(u.as_str().trim_end_matches('/').to_string())
}

fn substitute(v: &mut Value, base: &str) {
    match v {
        Value::String(s) if s.contains(PUBLIC_URL_PLACEHOLDER) => {
            *s = s.replace(PUBLIC_URL_PLACEHOLDER, base);
        }
        Value::Array(items) => items.iter_mut().for_each(|i| substitute(i, base)),
        Value::Object(map) => map.values_mut().for_each(|i| substitute(i, base)),
        _ => {}
    }
}

/// The manifest GitHub receives: `app-manifest.yml` as JSON with `url`,
/// `hook_attributes.url` (`{public_url}/webhook`) and `redirect_url`
/// (`{public_url}/setup/callback`) filled in.
pub fn manifest_json(public_url: &str) -> Result<Value, SetupError> {
    let base = normalize_public_url(public_url)?;
    let mut m = manifest_template()?.clone();
    substitute(&mut m, &base);
    let obj = m
        .as_object_mut()
        .ok_or_else(|| SetupError::Manifest("expected a mapping at the top level".into()))?;
    obj.insert("url".into(), Value::String(base.clone()));
    obj.insert(
        "redirect_url".into(),
        Value::String(format!("{base}/setup/callback")),
    );
    let hook = obj
        .entry("hook_attributes")
        .or_insert_with(|| Value::Object(Default::default()));
    let hook = hook
        .as_object_mut()
        .ok_or_else(|| SetupError::Manifest("hook_attributes must be a mapping".into()))?;
    hook.insert("url".into(), Value::String(format!("{base}/webhook")));
    Ok(m)
}

/// GitHub's web UI for an API base URL: `https://api.github.com` →
/// `https://github.com`, `https://ghe.host/api/v3` → `https://ghe.host`,
/// `https://api.acme.ghe.com` → `https://acme.ghe.com`; anything else (a
/// test server) is its own web UI.
pub fn github_web_url(api_url: &str) -> String {
    let trimmed = api_url.trim().trim_end_matches('/');
    let Ok(u) = url::Url::parse(trimmed) else {
        return trimmed.to_string();
    };
    let Some(host) = u.host_str() else {
        return trimmed.to_string();
    };
    let origin = |host: &str| match u.port() {
        Some(p) => format!("{}://{host}:{p}", u.scheme()),
        None => format!("{}://{host}", u.scheme()),
    };
    let host_lc = host.to_ascii_lowercase();
    if host_lc == "api.github.com" {
        return "https://github.com".to_string();
    }
    if let Some(rest) = host_lc.strip_prefix("api.") {
        if rest.ends_with(".ghe.com") {
            return origin(rest);
        }
    }
    let path = u.path().trim_end_matches('/');
    if let Some(prefix) = path.strip_suffix("/api/v3") {
        return format!("{}{prefix}", origin(host));
    }
    trimmed.to_string()
}

/// GitHub's "register a new App" page, for the user or an organization.
fn new_app_url(web: &str, org: Option<&str>, state: &str) -> String {
    match org {
        Some(org) => format!(
            "{web}/organizations/{}/settings/apps/new?state={state}",
            seg(org)
        ),
        None => format!("{web}/settings/apps/new?state={state}"),
    }
}

fn is_local(public_url: &str) -> bool {
    match url::Url::parse(public_url) {
        Ok(u) => match u.host() {
            Some(url::Host::Domain(d)) => {
                let d = d.to_ascii_lowercase();
                d == "localhost" || d.ends_with(".localhost")
            }
            Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified() || ip.is_private(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.is_unspecified(),
            None => true,
        },
        Err(_) => true,
    }
}

/// Escape for HTML text and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A manifest code as GitHub issues them: ASCII letters and digits.
fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= MAX_CODE_LEN
        && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

// ---------------------------------------------------------------------------
// .env

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

fn valid_key(k: &str) -> bool {
    let mut bytes = k.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Quote `value` so that dotenvy reads it back unchanged: single quotes (no
/// escapes, no `$` substitution) when possible, else double quotes with
/// `\\`, `\"`, `\$` and `\n` escaped. Other control characters cannot be
/// written faithfully and are refused.
pub fn quote_env_value(value: &str) -> io::Result<String> {
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(invalid(
            "a .env value cannot hold control characters other than newline and tab",
        ));
    }
    // dotenvy treats a backslash inside single quotes as escaping the next
    // character when it joins lines, so values with one go in double quotes.
    if !value.contains(['\'', '\\', '\n']) {
        return Ok(format!("'{value}'"));
    }
    let mut out = String::with_capacity(value.len() + 8);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

#[derive(Clone, Copy)]
enum Lex {
    Complete,
    Escape,
    Strong,
    StrongEscape,
    Weak,
    WeakEscape,
    WhiteSpace,
}

/// Split `.env` text into logical entries the way dotenvy reads them: a
/// quoted value may run over several lines. Each entry keeps its text,
/// newlines included, so unchanged entries are written back byte for byte.
fn env_entries(text: &str) -> Vec<&str> {
    let mut entries = Vec::new();
    let mut start = 0;
    let mut state = Lex::Complete;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let entry_so_far = &text[start..pos + line.len()];
        pos += line.len();
        if entry_so_far.trim_start().starts_with('#') {
            entries.push(entry_so_far);
            start = pos;
            state = Lex::Complete;
            continue;
        }
        let mut comment = false;
        for c in line.chars() {
            state = match state {
                Lex::WhiteSpace if c == '#' => {
                    comment = true;
                    break;
                }
                Lex::WhiteSpace | Lex::Complete => match c {
                    '\\' => Lex::Escape,
                    '"' => Lex::Weak,
                    '\'' => Lex::Strong,
                    c if c.is_whitespace() && c != '\n' && c != '\r' => Lex::WhiteSpace,
                    _ => Lex::Complete,
                },
                Lex::Escape => Lex::Complete,
                Lex::Weak => match c {
                    '\\' => Lex::WeakEscape,
                    '"' => Lex::Complete,
                    _ => Lex::Weak,
                },
                Lex::WeakEscape => Lex::Weak,
                Lex::Strong => match c {
                    '\\' => Lex::StrongEscape,
                    '\'' => Lex::Complete,
                    _ => Lex::Strong,
                },
                Lex::StrongEscape => Lex::Strong,
            };
        }
        if comment || matches!(state, Lex::Complete | Lex::WhiteSpace) {
            entries.push(&text[start..pos]);
            start = pos;
            state = Lex::Complete;
        }
    }
    if start < text.len() {
        // An unterminated quote: keep the rest as it is.
        entries.push(&text[start..]);
    }
    entries
}

/// The key an entry assigns (`KEY=…` or `export KEY=…`), if any.
fn entry_key(entry: &str) -> Option<&str> {
    let s = entry.trim_start();
    let key_len = |s: &str| {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(s.len())
    };
    let first_ok = |s: &str| s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    if !first_ok(s) {
        return None;
    }
    let n = key_len(s);
    let (mut key, mut rest) = s.split_at(n);
    if key == "export" && !rest.trim_start().starts_with('=') {
        let r = rest.trim_start();
        if !first_ok(r) {
            return None;
        }
        let n = key_len(r);
        (key, rest) = r.split_at(n);
    }
    rest.trim_start().starts_with('=').then_some(key)
}

/// `existing` with each of `updates` set (first assignment replaced, later
/// ones dropped, missing ones appended) and each of `disable` replaced by a
/// comment that names it but not its value. Everything else is kept as is.
pub fn render_env(
    existing: &str,
    updates: &[(&str, &str)],
    disable: &[(&str, &str)],
) -> io::Result<String> {
    for (k, _) in updates.iter().chain(disable) {
        if !valid_key(k) {
            return Err(invalid(format!("{k:?} is not a valid variable name")));
        }
    }
    let lines: Vec<(&str, String)> = updates
        .iter()
        .map(|(k, v)| Ok((*k, format!("{k}={}\n", quote_env_value(v)?))))
        .collect::<io::Result<_>>()?;
    let existing = existing.strip_prefix('\u{feff}').unwrap_or(existing);
    let mut out = String::with_capacity(existing.len() + 512);
    let mut written = vec![false; lines.len()];
    for entry in env_entries(existing) {
        let key = entry_key(entry);
        if let Some(i) = key.and_then(|k| lines.iter().position(|(lk, _)| *lk == k)) {
            if !written[i] {
                out.push_str(&lines[i].1);
                written[i] = true;
            }
        } else if let Some((k, why)) = key.and_then(|k| disable.iter().find(|(d, _)| *d == k)) {
            out.push_str(&format!("# {k} removed by orcoursetrion setup: {why}\n"));
        } else {
            out.push_str(entry);
            if !entry.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    if written.iter().any(|w| !w) {
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str("# Written by orcoursetrion setup\n");
        for (i, (_, line)) in lines.iter().enumerate() {
            if !written[i] {
                out.push_str(line);
            }
        }
    }
    Ok(out)
}

/// Write `contents` to `path` with mode 0600: into a new temp file beside it,
/// synced, then renamed over it, so a crash leaves the old file or the new
/// one, never half of either.
pub fn write_private_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| invalid(format!("{} is not a file path", path.display())))?
        .to_string_lossy()
        .into_owned();
    let mut attempt = 0;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!(
            ".{name}.tmp-{}-{:016x}",
            std::process::id(),
            rand::rngs::OsRng.next_u64()
        ));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 8 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let result = (|| {
        // The mode above is filtered by the umask, which only removes bits;
        // set it again in case the file system ignored it.
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Set `updates` in the `.env` at `path` (created if missing), keeping every
/// other line; the file ends up mode 0600, written atomically.
pub fn write_env(path: &Path, updates: &[(&str, &str)]) -> io::Result<()> {
    update_env(path, updates, &[])
}

/// [`write_env`], also replacing the assignments of `disable` (name, reason)
/// by a comment.
pub fn update_env(
    path: &Path,
    updates: &[(&str, &str)],
    disable: &[(&str, &str)],
) -> io::Result<()> {
    let existing = match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| invalid(format!("{} is not UTF-8", path.display())))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let text = render_env(&existing, updates, disable)?;
    write_private_file(path, text.as_bytes())
}

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

/// The setup-mode server: `GET /`, `GET /setup/callback`, `GET /healthz`
/// (and `POST /webhook` answering 503 until the server restarts).
pub fn router(state: SetupState) -> Router {
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
        .route("/healthz", get(healthz))
        .route("/webhook", post(webhook))
        .with_state(app)
}

/// Referrer policy of the setup page: its form's POST to GitHub must carry a
/// real `Origin` (under `no-referrer` browsers send `Origin: null`).
const INDEX_REFERRER_POLICY: &str = "strict-origin-when-cross-origin";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    page_with(status, title, body, "no-referrer")
}

fn page_with(
    status: StatusCode,
    title: &str,
    body: &str,
    referrer_policy: &'static str,
) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · orcoursetrion</title>\n<style>\n\
         body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #1f2328; }}\n\
         code, pre {{ background: #f6f8fa; padding: 0.1rem 0.3rem; border-radius: 4px; }}\n\
         pre {{ padding: 0.8rem; overflow-x: auto; }}\n\
         dt {{ font-weight: 600; }}\n\
         button {{ font-size: 1.1rem; padding: 0.6rem 1.2rem; background: #1f883d; color: #fff; border: 0; border-radius: 6px; cursor: pointer; }}\n\
         .warn {{ background: #fff8c5; border: 1px solid #d4a72c; padding: 0.6rem 0.8rem; border-radius: 6px; }}\n\
         .err {{ background: #ffebe9; border: 1px solid #cf222e; padding: 0.6rem 0.8rem; border-radius: 6px; }}\n\
         .ok {{ background: #dafbe1; border: 1px solid #1a7f37; padding: 0.6rem 0.8rem; border-radius: 6px; }}\n\
         </style>\n</head>\n<body>\n<h1>{title}</h1>\n{body}\n</body>\n</html>\n",
        title = escape_html(title),
    );
    let mut resp = (status, html).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The callback URL carries the code: result pages never send it on as a
    // Referer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(referrer_policy),
    );
    resp
}

fn error_page(status: StatusCode, title: &str, message: &str, hint: &str) -> Response {
    let body = format!(
        "<p class=\"err\">{}</p>\n<p>{hint}</p>\n<p><a href=\"/\">Back to setup</a></p>",
        escape_html(message)
    );
    page(status, title, &body)
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
         <li>Then restart <code>orcoursetrion serve</code>: it reads the App's credentials from \
         <code>{env}</code> and leaves setup mode.</li>\n\
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

async fn index(State(app): State<Arc<App>>) -> Response {
    if let Some(r) = &app.runtime().registered {
        return page(
            StatusCode::OK,
            "orcoursetrion setup",
            &registered_body(&app, r),
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

/// GitHub's answer to the conversion. No `Debug`: it holds the secrets.
#[derive(Deserialize)]
struct Conversion {
    id: u64,
    slug: String,
    client_id: String,
    client_secret: String,
    webhook_secret: Option<String>,
    pem: String,
    html_url: String,
    owner: Option<Owner>,
}

#[derive(Deserialize)]
struct Owner {
    login: String,
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
    let mut body = registered_body(&app, &r);
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
    let url = format!(
        "{}/app-manifests/{code}/conversions",
        app.cfg.api_url.trim().trim_end_matches('/')
    );
    let resp = http
        .post(&url)
        .header(header::ACCEPT, "application/vnd.github+json")
        .header("X-GitHub-Api-Version", API_VERSION)
        .header(
            header::USER_AGENT,
            format!("orcoursetrion/{}", env!("CARGO_PKG_VERSION")),
        )
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot reach GitHub at {}: {}",
                app.cfg.api_url,
                e.without_url()
            )
        })?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("GitHub's answer was cut short: {}", e.without_url()))?;
    if !status.is_success() {
        let message = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(300).collect());
        return Err(format!("GitHub answered {status}: {message}"));
    }
    // serde's message may quote a value: report only where it went wrong.
    let conv: Conversion = serde_json::from_slice(&body).map_err(|e| {
        format!(
            "GitHub's answer is not an App with credentials ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        )
    })?;
    if !conv.html_url.starts_with("https://") && !conv.html_url.starts_with("http://") {
        return Err("GitHub's answer has no usable html_url".into());
    }
    Ok(conv)
}

/// The private key, then `.env` (which points at it).
fn save(cfg: &SetupState, conv: &Conversion) -> io::Result<()> {
    let key_dir = match cfg.key_dir.as_os_str().is_empty() {
        true => Path::new("."),
        false => cfg.key_dir.as_path(),
    };
    if !key_dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(key_dir)?;
    }
    let key_dir = fs::canonicalize(key_dir)?;
    let key_path = key_dir.join(KEY_FILE_NAME);
    write_private_file(&key_path, conv.pem.as_bytes())?;
    if let Some(parent) = cfg.env_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
    }
    let id = conv.id.to_string();
    let key_path = key_path.to_string_lossy();
    let mut updates = vec![
        ("ORC_APP_ID", id.as_str()),
        ("ORC_APP_PRIVATE_KEY_PATH", key_path.as_ref()),
    ];
    if let Some(ws) = &conv.webhook_secret {
        updates.push(("ORC_WEBHOOK_SECRET", ws.as_str()));
    }
    updates.extend([
        ("ORC_APP_CLIENT_ID", conv.client_id.as_str()),
        ("ORC_APP_CLIENT_SECRET", conv.client_secret.as_str()),
        ("ORC_APP_SLUG", conv.slug.as_str()),
    ]);
    // An inline key would win over the path (config.rs): it belongs to
    // another App, so it goes.
    update_env(
        &cfg.env_path,
        &updates,
        &[(
            "ORC_APP_PRIVATE_KEY",
            "ORC_APP_PRIVATE_KEY_PATH points at the new App's key",
        )],
    )
}

async fn healthz() -> &'static str {
    "ok (setup mode)\n"
}

async fn webhook() -> (StatusCode, &'static str) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "orcoursetrion is in setup mode: restart it once the App's credentials are saved\n",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read_back(text: &str) -> HashMap<String, String> {
        dotenvy::from_read_iter(text.as_bytes())
            .map(|r| r.expect("dotenvy parses what we wrote"))
            .collect()
    }

    #[test]
    fn web_url_from_api_url() {
        assert_eq!(
            github_web_url("https://api.github.com"),
            "https://github.com"
        );
        assert_eq!(
            github_web_url("https://api.github.com/"),
            "https://github.com"
        );
        assert_eq!(
            github_web_url("https://ghe.example.edu/api/v3"),
            "https://ghe.example.edu"
        );
        assert_eq!(
            github_web_url("https://ghe.example.edu/api/v3/"),
            "https://ghe.example.edu"
        );
        assert_eq!(
            github_web_url("https://ghe.example.edu:8443/api/v3"),
            "https://ghe.example.edu:8443"
        );
        assert_eq!(
            github_web_url("https://api.acme.ghe.com"),
            "https://acme.ghe.com"
        );
        assert_eq!(
            github_web_url("http://127.0.0.1:4000"),
            "http://127.0.0.1:4000"
        );
        assert_eq!(github_web_url("not a url"), "not a url");
    }

    #[test]
    fn new_app_urls_for_user_and_org() {
        assert_eq!(
            new_app_url("https://github.com", None, "s1"),
            "https://github.com/settings/apps/new?state=s1"
        );
        assert_eq!(
            new_app_url("https://ghe.example.edu", Some("mitodl"), "s2"),
            "https://ghe.example.edu/organizations/mitodl/settings/apps/new?state=s2"
        );
    }

    #[test]
    fn manifest_fills_in_the_public_url() {
        let m = manifest_json("https://orc.example.edu/").expect("manifest");
        assert_eq!(m["url"], "https://orc.example.edu");
        assert_eq!(
            m["hook_attributes"]["url"],
            "https://orc.example.edu/webhook"
        );
        assert_eq!(m["hook_attributes"]["active"], true);
        assert_eq!(m["redirect_url"], "https://orc.example.edu/setup/callback");
        assert_eq!(m["public"], false);
        assert!(!m.to_string().contains(PUBLIC_URL_PLACEHOLDER), "{m}");

        let m = manifest_json("https://proxy.example.edu/orc").expect("manifest with a path");
        assert_eq!(
            m["hook_attributes"]["url"],
            "https://proxy.example.edu/orc/webhook"
        );
    }

    #[test]
    fn manifest_permissions_and_events_follow_the_spec() {
        let m = manifest_json("http://localhost:8080").expect("manifest");
        let perms = m["default_permissions"].as_object().expect("permissions");
        for (k, v) in [
            ("administration", "write"),
            ("contents", "write"),
            ("issues", "write"),
            ("members", "write"),
            ("repository_hooks", "write"),
            ("metadata", "read"),
        ] {
            assert_eq!(perms.get(k).and_then(Value::as_str), Some(v), "{k}");
        }
        assert!(!perms.contains_key("pull_requests"));
        let events: Vec<&str> = m["default_events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(events, ["issue_comment", "issues", "push"]);
        // Delivered to every App; not subscribable in a manifest.
        assert!(!events.contains(&"installation"));
        assert!(m["name"].as_str().is_some_and(|n| !n.is_empty()));
    }

    #[test]
    fn manifest_rejects_unusable_public_urls() {
        for bad in [
            "",
            "localhost:8080",
            "ftp://x.example",
            "https://user:pw@x.example",
            "https://x.example/?a=1",
            "https://x.example/#f",
        ] {
            assert!(
                matches!(manifest_json(bad), Err(SetupError::PublicUrl(_))),
                "{bad:?}"
            );
        }
    }

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

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn local_public_urls_are_flagged() {
        assert!(is_local("http://localhost:8080"));
        assert!(is_local("http://127.0.0.1:8080"));
        assert!(is_local("http://192.168.1.4:8080"));
        assert!(!is_local("https://orc.fly.dev"));
    }

    #[test]
    fn quoting_prefers_single_quotes() {
        assert_eq!(quote_env_value("4242").expect("q"), "'4242'");
        assert_eq!(
            quote_env_value("/data/orcoursetrion-app.pem").expect("q"),
            "'/data/orcoursetrion-app.pem'"
        );
        assert_eq!(
            quote_env_value("it's $HOME\\x").expect("q"),
            r#""it's \$HOME\\x""#
        );
        assert!(quote_env_value("a\rb").is_err());
        assert!(quote_env_value("a\0b").is_err());
    }

    #[test]
    fn new_env_gets_every_key() {
        let text = render_env("", &[("ORC_APP_ID", "4242"), ("ORC_APP_SLUG", "orc")], &[])
            .expect("render");
        let vars = read_back(&text);
        assert_eq!(vars["ORC_APP_ID"], "4242");
        assert_eq!(vars["ORC_APP_SLUG"], "orc");
        assert!(
            text.starts_with("# Written by orcoursetrion setup\n"),
            "{text}"
        );
    }

    #[test]
    fn existing_lines_are_kept_and_keys_replaced_once() {
        let existing = "\u{feff}# my settings\n\
                        ORC_REQUESTS_REPOS=mitodl/course-requests\n\
                        export ORC_APP_ID=111\n\
                        ORC_GH_NAME=\"Multi\nline\"   # trailing comment\n\
                        \n\
                        ORC_APP_ID = 222\n\
                        ORC_APP_PRIVATE_KEY=\"-----BEGIN RSA PRIVATE KEY-----\nsecretstuff\n-----END RSA PRIVATE KEY-----\"\n\
                        ORC_EDX_ORG=MITx";
        let text = render_env(
            existing,
            &[("ORC_APP_ID", "4242"), ("ORC_APP_SLUG", "orc")],
            &[("ORC_APP_PRIVATE_KEY", "replaced")],
        )
        .expect("render");
        assert!(
            text.starts_with(
                "# my settings\nORC_REQUESTS_REPOS=mitodl/course-requests\nORC_APP_ID='4242'\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("ORC_GH_NAME=\"Multi\nline\"   # trailing comment\n"),
            "{text}"
        );
        assert_eq!(text.matches("ORC_APP_ID").count(), 1, "{text}");
        assert!(!text.contains("secretstuff"), "{text}");
        assert!(
            text.contains("# ORC_APP_PRIVATE_KEY removed by orcoursetrion setup: replaced\n"),
            "{text}"
        );
        assert!(text.contains("ORC_EDX_ORG=MITx\n"), "{text}");
        let vars = read_back(&text);
        assert_eq!(vars["ORC_APP_ID"], "4242");
        assert_eq!(vars["ORC_APP_SLUG"], "orc");
        assert_eq!(vars["ORC_GH_NAME"], "Multi\nline");
        assert_eq!(vars["ORC_REQUESTS_REPOS"], "mitodl/course-requests");
        assert_eq!(vars["ORC_EDX_ORG"], "MITx");
        assert!(!vars.contains_key("ORC_APP_PRIVATE_KEY"));
        // Writing the same values again changes nothing.
        let again = render_env(
            &text,
            &[("ORC_APP_ID", "4242"), ("ORC_APP_SLUG", "orc")],
            &[],
        )
        .expect("render");
        assert_eq!(again, text);
    }

    #[test]
    fn entry_keys() {
        assert_eq!(entry_key("A=1\n"), Some("A"));
        assert_eq!(entry_key("  export  B_2 = x"), Some("B_2"));
        assert_eq!(entry_key("export=1"), Some("export"));
        assert_eq!(entry_key("# A=1"), None);
        assert_eq!(entry_key("1A=1"), None);
        assert_eq!(entry_key("A 1"), None);
    }

    #[test]
    fn invalid_keys_are_refused() {
        assert!(render_env("", &[("A-B", "x")], &[]).is_err());
        assert!(render_env("", &[("", "x")], &[]).is_err());
    }

    #[test]
    fn write_env_is_0600_and_atomic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".env");
        fs::write(&path, "KEEP=me\n").expect("seed");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        write_env(&path, &[("ORC_APP_ID", "4242")]).expect("write");
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let vars: HashMap<String, String> = dotenvy::from_path_iter(&path)
            .expect("open")
            .map(|r| r.expect("parse"))
            .collect();
        assert_eq!(vars["KEEP"], "me");
        assert_eq!(vars["ORC_APP_ID"], "4242");
        // No temp file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from(".env")]);
    }

    #[test]
    fn write_env_creates_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new.env");
        write_env(&path, &[("A", "1")]).expect("write");
        assert_eq!(
            fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o600
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_value_reads_back_unchanged(v in "[^\\p{Cc}]{0,40}|[ -~\\n\\t'\"\\\\$#]{0,40}") {
            let text = render_env("OTHER='x'\n", &[("ORC_VALUE", &v)], &[]).expect("render");
            let vars = read_back(&text);
            prop_assert_eq!(&vars["ORC_VALUE"], &v);
            prop_assert_eq!(&vars["OTHER"], "x");
        }

        #[test]
        fn existing_entries_survive_an_update(a in "[ -~\\n\\t'\"\\\\$#]{0,30}", b in "[ -~\\n'\"\\\\]{0,30}") {
            let first = render_env("", &[("A", &a), ("B", &b)], &[]).expect("render");
            let second = render_env(&first, &[("C", "c")], &[]).expect("render");
            let vars = read_back(&second);
            prop_assert_eq!(&vars["A"], &a);
            prop_assert_eq!(&vars["B"], &b);
            prop_assert_eq!(&vars["C"], "c");
        }
    }
}
