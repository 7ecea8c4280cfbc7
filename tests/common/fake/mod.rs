//! A stateful, in-memory fake of the parts of GitHub's REST API (2022-11-28)
//! that orcoursetrion uses, served by axum on `127.0.0.1:0`.
//!
//! * Seed and inspect the world with the sync methods on [`FakeGitHub`].
//! * Every request is logged ([`FakeGitHub::requests`], [`FakeGitHub::calls`]).
//! * Faults can be injected per route ([`FakeGitHub::inject`]).
//! * Adding a route: one line in [`router`], one handler below it; handlers
//!   lock the [`World`] with `s.with(|w| …)` and never hold the lock across
//!   an `.await`.
//!
//! Auth: installation tokens issued by `POST /app/installations/{id}/access_tokens`
//! (which checks the app JWT against the fixture public key) or personal
//! tokens registered with [`FakeGitHub::add_personal_token`]. `/app/*` routes
//! (and `/orgs/{org}/installation`, `/repos/{o}/{r}/installation`) need the JWT.
//! `/app-manifests/{code}/conversions` needs nothing. Requests without a
//! `User-Agent` header get GitHub's 403.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    io,
    path::{Path, PathBuf},
    pin::Pin,
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, MutexGuard,
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    body::{Body, Bytes},
    extract::{connect_info::Connected, ConnectInfo, Path as P, Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    serve::{IncomingStream, Listener},
    Extension, Json, Router,
};
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{
    test_app_private_key_pem, test_app_public_key_pem, TEST_APP_ID, TEST_APP_SLUG, TEST_CLIENT_ID,
};

/// Login of the app's bot user: the author of everything done with an
/// installation token.
pub const BOT_LOGIN: &str = "orcoursetrion-test[bot]";
/// Host used in `html_url`s (`https://github.example/{owner}/{repo}`).
pub const HTML_HOST: &str = "https://github.example";
/// `client_secret` returned by the manifest conversion.
pub const MANIFEST_CLIENT_SECRET: &str = "fake-client-secret-0123456789abcdef";
/// `webhook_secret` returned by the manifest conversion.
pub const MANIFEST_WEBHOOK_SECRET: &str = "fake-webhook-secret-0123456789";

const DOCS: &str = "https://docs.github.com/rest";
const RATE_LIMIT: u64 = 5000;
const REACTIONS: [&str; 8] = [
    "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes",
];

mod apps;
mod conn;
mod contents;
mod deliveries;
mod gate;
mod git;
mod handle;
mod hooks;
mod issues;
mod labels;
mod repos;
mod respond;
mod shapes;
mod statuses;
mod teams;
mod world;

pub(crate) use apps::*;
pub(crate) use conn::*;
pub(crate) use contents::*;
pub use deliveries::*;
pub(crate) use gate::*;
pub(crate) use git::*;
pub use handle::*;
pub(crate) use hooks::*;
pub(crate) use issues::*;
pub use labels::*;
pub(crate) use repos::*;
pub(crate) use respond::*;
pub(crate) use shapes::*;
pub use statuses::*;
pub(crate) use teams::*;
pub use world::*;

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/// An issue as a test reads it.
#[derive(Clone, Debug)]
pub struct IssueView {
    pub title: String,
    pub body: String,
}

/// A repository as the fake holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Repo {
    pub id: u64,
    pub owner: String,
    pub name: String,
    /// `owner/name`, with the casing they were created with.
    pub full_name: String,
    pub description: Option<String>,
    pub private: bool,
    pub default_branch: String,
    /// `file://{root}/{owner}/{name}.git` with a git root, else an https URL.
    pub clone_url: String,
    pub html_url: String,
    pub created_at: DateTime<Utc>,
    pub pushed_at: DateTime<Utc>,
    pub archived: bool,
}

/// A team as the fake holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    pub id: u64,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    /// `secret` or `closed`.
    pub privacy: String,
    /// `pull` or `push`.
    pub permission: String,
    /// Logins of all members (maintainers included), sorted case-insensitively.
    pub members: Vec<String>,
    /// Logins of the members whose role is `maintainer`.
    pub maintainers: Vec<String>,
    /// Repo full name (`org/repo`) → permission (`pull`, `triage`, `push`, `maintain`, `admin`).
    pub repos: BTreeMap<String, String>,
}

impl Team {
    /// Its members and its permission on `repo` (`org/repo`): what a course
    /// team is checked for.
    pub fn access(&self, repo: &str) -> (Vec<&str>, Option<&str>) {
        let members = self.members.iter().map(String::as_str).collect();
        (members, self.repos.get(repo).map(String::as_str))
    }
}

/// A repository webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    pub id: u64,
    pub url: String,
    pub content_type: String,
    pub secret: Option<String>,
    pub events: Vec<String>,
    pub active: bool,
    /// `"0"` or `"1"`.
    pub insecure_ssl: String,
}

/// An issue comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: u64,
    /// The issue number.
    pub issue: u64,
    pub body: String,
    pub author: String,
    /// How many times it was PATCHed.
    pub edits: u32,
}

/// What a request presented as credentials (whether it was accepted shows
/// in [`Req::status`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// A token this fake issued (possibly expired).
    Installation(String),
    /// A registered personal token; holds its user's login.
    Personal(String),
    /// Something shaped like a JWT (three dot-separated parts).
    Jwt,
    /// Nothing, or an unknown token.
    None,
}

/// One logged request.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    /// The path as sent (percent-encoded).
    pub path: String,
    pub query: Option<String>,
    /// The JSON body; a body that is not JSON is kept as a JSON string.
    pub body: Option<Value>,
    /// Response status; 0 while in flight and when no response was sent
    /// ([`Fault::Drop`], [`Fault::DropAfter`]).
    pub status: u16,
    pub auth: Auth,
    pub user_agent: Option<String>,
    pub accept: Option<String>,
    /// `X-GitHub-Api-Version`.
    pub api_version: Option<String>,
    /// `x-github-request-id` of the response.
    pub request_id: String,
    /// Arrival time.
    pub at: Instant,
}

impl Req {
    /// `"METHOD /path"` plus `?query` when there is one.
    pub fn call(&self) -> String {
        match &self.query {
            Some(q) => format!("{} {}?{}", self.method, self.path, q),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

/// A fault injected on a route with [`FakeGitHub::inject`].
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this status and a GitHub-style error body.
    Status(u16),
    /// Answer with this status and this `message` in GitHub's error body
    /// (nothing guarantees what GitHub's text holds).
    Message(u16, String),
    /// 403 "You have exceeded a secondary rate limit…", with `retry-after`
    /// when `Some`.
    SecondaryLimit { retry_after: Option<u64> },
    /// 403 "API rate limit exceeded…" with `x-ratelimit-remaining: 0` and
    /// `x-ratelimit-reset` = now + `reset_in` seconds.
    PrimaryLimit { reset_in: u64 },
    /// 429, with `retry-after` when `Some`.
    TooMany { retry_after: Option<u64> },
    /// Wait, then handle the request normally.
    Latency(Duration),
    /// Close the connection without answering (the client sees a
    /// connection error, not a status).
    Drop,
    /// Handle the request normally (its side effects happen), then close the
    /// connection instead of sending the response: "the call worked but the
    /// client never heard".
    DropAfter,
}
