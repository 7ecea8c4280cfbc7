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

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// The world
// ---------------------------------------------------------------------------

struct OrgRec {
    id: u64,
    login: String,
    created_at: DateTime<Utc>,
}

struct UserRec {
    id: u64,
    login: String,
    bot: bool,
}

struct RepoRec {
    repo: Repo,
    hooks: Vec<(Hook, DateTime<Utc>)>,
    /// Memory content store: (branch, path) → (bytes, sha). Unused with a git root.
    files: BTreeMap<(String, String), (Vec<u8>, String)>,
    issues: BTreeMap<u64, IssueRec>,
    /// lowercase login → permission (admin|maintain|write|triage|read|none).
    permissions: HashMap<String, String>,
}

struct IssueRec {
    id: u64,
    number: u64,
    title: String,
    body: String,
    author: String,
    created_at: DateTime<Utc>,
    reactions: Vec<ReactionRec>,
}

struct CommentRec {
    id: u64,
    repo_id: u64,
    issue: u64,
    body: String,
    author: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    edits: u32,
    reactions: Vec<ReactionRec>,
}

#[derive(Clone)]
struct ReactionRec {
    id: u64,
    user: String,
    content: String,
    created_at: DateTime<Utc>,
}

struct TeamRec {
    id: u64,
    org: String, // lowercase org login
    name: String,
    slug: String,
    description: Option<String>,
    privacy: String,
    permission: String,
    /// lowercase login → (login, role)
    members: BTreeMap<String, (String, String)>,
    /// repo id → permission
    repos: BTreeMap<u64, String>,
    created_at: DateTime<Utc>,
}

struct InstallationRec {
    id: u64,
    account: String,
    created_at: DateTime<Utc>,
}

struct TokenRec {
    installation: u64,
    expires: Instant,
}

struct FaultRule {
    method: String,
    glob: String,
    fault: Fault,
    remaining: usize,
}

/// All state of the fake. One instance behind a std `Mutex`.
struct World {
    next_id: u64,
    orgs: BTreeMap<String, OrgRec>,
    users: BTreeMap<String, UserRec>,
    repos: BTreeMap<u64, RepoRec>,
    teams: BTreeMap<u64, TeamRec>,
    comments: BTreeMap<u64, CommentRec>,
    installations: BTreeMap<u64, InstallationRec>,
    tokens: HashMap<String, TokenRec>,
    personal: HashMap<String, String>,
    manifest_codes: HashSet<String>,
    faults: Vec<FaultRule>,
    log: Vec<Req>,
    jwt_claims: Vec<Value>,
    tokens_issued: usize,
    token_ttl: Duration,
    latency: Duration,
    creator_joins_team: bool,
    client_ids: Vec<String>,
    installation_scope: bool,
    request_seq: u64,
}

impl World {
    fn new() -> World {
        let mut w = World {
            next_id: 1_000_001,
            orgs: BTreeMap::new(),
            users: BTreeMap::new(),
            repos: BTreeMap::new(),
            teams: BTreeMap::new(),
            comments: BTreeMap::new(),
            installations: BTreeMap::new(),
            tokens: HashMap::new(),
            personal: HashMap::new(),
            manifest_codes: HashSet::new(),
            faults: Vec::new(),
            log: Vec::new(),
            jwt_claims: Vec::new(),
            tokens_issued: 0,
            token_ttl: Duration::from_secs(3600),
            latency: Duration::ZERO,
            creator_joins_team: false,
            client_ids: vec![TEST_CLIENT_ID.to_string()],
            installation_scope: false,
            request_seq: 0,
        };
        let id = w.id();
        w.users.insert(
            BOT_LOGIN.to_lowercase(),
            UserRec {
                id,
                login: BOT_LOGIN.to_string(),
                bot: true,
            },
        );
        w
    }

    /// A fresh id, unique across every kind of object.
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn org(&self, login: &str) -> Option<&OrgRec> {
        self.orgs.get(&login.to_lowercase())
    }

    fn add_org(&mut self, login: &str) -> u64 {
        if let Some(o) = self.org(login) {
            return o.id;
        }
        let id = self.id();
        self.orgs.insert(
            login.to_lowercase(),
            OrgRec {
                id,
                login: login.to_string(),
                created_at: Utc::now(),
            },
        );
        id
    }

    fn user(&self, login: &str) -> Option<&UserRec> {
        self.users.get(&login.to_lowercase())
    }

    fn add_user(&mut self, login: &str) -> u64 {
        if let Some(u) = self.user(login) {
            return u.id;
        }
        let id = self.id();
        self.users.insert(
            login.to_lowercase(),
            UserRec {
                id,
                login: login.to_string(),
                bot: false,
            },
        );
        id
    }

    fn repo_id(&self, owner: &str, name: &str) -> Option<u64> {
        self.repos
            .values()
            .find(|r| {
                r.repo.owner.eq_ignore_ascii_case(owner) && r.repo.name.eq_ignore_ascii_case(name)
            })
            .map(|r| r.repo.id)
    }

    fn repo_rec(&self, owner: &str, name: &str) -> Option<&RepoRec> {
        self.repo_id(owner, name).and_then(|id| self.repos.get(&id))
    }

    fn repo_mut(&mut self, owner: &str, name: &str) -> Option<&mut RepoRec> {
        let id = self.repo_id(owner, name)?;
        self.repos.get_mut(&id)
    }

    fn team_id(&self, org: &str, slug: &str) -> Option<u64> {
        let org = org.to_lowercase();
        self.teams
            .values()
            .find(|t| t.org == org && t.slug.eq_ignore_ascii_case(slug))
            .map(|t| t.id)
    }

    fn team_pub(&self, t: &TeamRec) -> Team {
        let members: Vec<String> = t.members.values().map(|(l, _)| l.clone()).collect();
        let maintainers = t
            .members
            .values()
            .filter(|(_, role)| role == "maintainer")
            .map(|(l, _)| l.clone())
            .collect();
        let repos = t
            .repos
            .iter()
            .filter_map(|(id, p)| {
                self.repos
                    .get(id)
                    .map(|r| (r.repo.full_name.clone(), p.clone()))
            })
            .collect();
        Team {
            id: t.id,
            name: t.name.clone(),
            slug: t.slug.clone(),
            description: t.description.clone(),
            privacy: t.privacy.clone(),
            permission: t.permission.clone(),
            members,
            maintainers,
            repos,
        }
    }

    fn insert_team(
        &mut self,
        org: &str,
        name: &str,
        description: Option<String>,
        privacy: &str,
        permission: &str,
    ) -> (u64, String) {
        let id = self.id();
        let slug = slugify(name);
        self.teams.insert(
            id,
            TeamRec {
                id,
                org: org.to_lowercase(),
                name: name.to_string(),
                slug: slug.clone(),
                description,
                privacy: privacy.to_string(),
                permission: permission.to_string(),
                members: BTreeMap::new(),
                repos: BTreeMap::new(),
                created_at: Utc::now(),
            },
        );
        (id, slug)
    }

    fn identity_of_token(&self, token: &str) -> Auth {
        if self.tokens.contains_key(token) {
            Auth::Installation(token.to_string())
        } else if let Some(login) = self.personal.get(token) {
            Auth::Personal(login.clone())
        } else if looks_like_jwt(token) {
            Auth::Jwt
        } else {
            Auth::None
        }
    }

    /// Author association of `login` on a repo of `owner`.
    fn association(&self, repo_id: u64, login: &str) -> &'static str {
        let Some(r) = self.repos.get(&repo_id) else {
            return "NONE";
        };
        if self.user(login).is_some_and(|u| u.bot) {
            return "NONE";
        }
        let lc = login.to_lowercase();
        let org = r.repo.owner.to_lowercase();
        if self
            .teams
            .values()
            .any(|t| t.org == org && t.members.contains_key(&lc))
        {
            return "MEMBER";
        }
        match r.permissions.get(&lc).map(String::as_str) {
            Some("admin" | "maintain" | "write" | "triage") => "COLLABORATOR",
            _ => "NONE",
        }
    }
}

fn looks_like_jwt(t: &str) -> bool {
    t.split('.').count() == 3 && t.starts_with("eyJ")
}

/// GitHub's team slug: lowercase, every run of characters other than
/// ASCII alphanumerics, `_` and `-` becomes one `-`, no dash at either end.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    let mut sep = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        } else {
            sep = true;
        }
    }
    out.trim_matches('-').to_string()
}

// ---------------------------------------------------------------------------
// The server handle
// ---------------------------------------------------------------------------

struct Shared {
    world: Mutex<World>,
    /// `http://127.0.0.1:PORT`
    base: String,
    git_root: Option<tempfile::TempDir>,
    /// Serialises writes into the bare repos.
    git_lock: Mutex<()>,
    jwt_key: jsonwebtoken::DecodingKey,
    started: Instant,
}

impl Shared {
    fn with<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn git_dir(&self, owner: &str, name: &str) -> Option<PathBuf> {
        self.git_root
            .as_ref()
            .map(|root| root.path().join(owner).join(format!("{name}.git")))
    }
}

type S = Arc<Shared>;

/// The fake GitHub server. Cheap to clone; all clones share one world.
#[derive(Clone)]
pub struct FakeGitHub {
    s: S,
}

impl FakeGitHub {
    /// Start a fake without git repositories (contents live in memory).
    pub async fn start() -> FakeGitHub {
        Self::start_inner(false).await
    }

    /// Start a fake whose repositories are also bare git repositories under a
    /// temporary directory owned by the fake; `clone_url` is `file://…`, the
    /// contents API reads and commits there.
    pub async fn start_with_git() -> FakeGitHub {
        Self::start_inner(true).await
    }

    async fn start_inner(git: bool) -> FakeGitHub {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake GitHub");
        let addr = tcp.local_addr().expect("local addr");
        let git_root = git.then(|| tempfile::tempdir().expect("tempdir for git root"));
        let s = Arc::new(Shared {
            world: Mutex::new(World::new()),
            base: format!("http://{addr}"),
            git_root,
            git_lock: Mutex::new(()),
            jwt_key: jsonwebtoken::DecodingKey::from_rsa_pem(test_app_public_key_pem().as_bytes())
                .expect("fixture public key"),
            started: Instant::now(),
        });
        let app = router(s.clone());
        tokio::spawn(async move {
            let listener = KillListener { inner: tcp };
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<ConnKill>(),
            )
            .await;
        });
        FakeGitHub { s }
    }

    /// `http://127.0.0.1:PORT`: use it as the API base URL.
    pub fn url(&self) -> String {
        self.s.base.clone()
    }

    // ----- auth ---------------------------------------------------------

    /// Accept `token` as a personal access token of `login` (registers the user).
    pub fn add_personal_token(&self, token: &str, login: &str) {
        self.s.with(|w| {
            w.add_user(login);
            w.personal.insert(token.to_string(), login.to_string());
        })
    }

    /// Lifetime of the installation tokens issued from now on (default 1 h).
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.s.with(|w| w.token_ttl = ttl)
    }

    /// How many installation tokens `POST /app/installations/{id}/access_tokens` issued.
    pub fn tokens_issued(&self) -> usize {
        self.s.with(|w| w.tokens_issued)
    }

    /// Claims of every JWT presented to a JWT route, decoded without
    /// verification, in order (also those that were rejected).
    pub fn jwt_claims(&self) -> Vec<Value> {
        self.s.with(|w| w.jwt_claims.clone())
    }

    /// Also accept `client_id` as a JWT `iss` (TEST_CLIENT_ID is accepted already).
    pub fn add_client_id(&self, client_id: &str) {
        self.s.with(|w| w.client_ids.push(client_id.to_string()))
    }

    /// Register an installation of the app on `account_login` (an org,
    /// created if unknown).
    pub fn add_installation(&self, id: u64, account_login: &str) {
        self.s.with(|w| {
            w.add_org(account_login);
            w.installations.insert(
                id,
                InstallationRec {
                    id,
                    account: account_login.to_string(),
                    created_at: Utc::now(),
                },
            );
        })
    }

    /// Mint an installation token directly, without a JWT (not counted in
    /// [`Self::tokens_issued`], not logged). Panics if the installation is unknown.
    pub fn issue_token(&self, installation_id: u64) -> String {
        self.s.with(|w| {
            assert!(
                w.installations.contains_key(&installation_id),
                "unknown installation {installation_id}"
            );
            mint_token(w, installation_id).0
        })
    }

    /// The installation a token was issued for.
    pub fn token_installation(&self, token: &str) -> Option<u64> {
        self.s.with(|w| w.tokens.get(token).map(|t| t.installation))
    }

    /// Make every installation token issued so far expire now.
    pub fn expire_all_tokens(&self) {
        let now = Instant::now();
        self.s
            .with(|w| w.tokens.values_mut().for_each(|t| t.expires = now))
    }

    /// When true, an installation token only reaches `/orgs/{o}/…` and
    /// `/repos/{o}/…` of its installation's account (404 otherwise), as on
    /// GitHub. Default false.
    pub fn set_installation_scope(&self, on: bool) {
        self.s.with(|w| w.installation_scope = on)
    }

    /// Register a single-use code for `POST /app-manifests/{code}/conversions`.
    pub fn add_manifest_code(&self, code: &str) {
        self.s.with(|w| {
            w.manifest_codes.insert(code.to_string());
        })
    }

    // ----- orgs, users, repos ------------------------------------------

    /// Create an organization (idempotent); returns its id.
    pub fn add_org(&self, login: &str) -> u64 {
        self.s.with(|w| w.add_org(login))
    }

    /// Register a user (idempotent); returns its id.
    pub fn add_user(&self, login: &str) -> u64 {
        self.s.with(|w| w.add_user(login))
    }

    /// Create a public, empty repo (and its org if needed; a bare git repo
    /// with a git root); returns its id. Panics if it exists.
    pub fn add_repo(&self, owner: &str, name: &str) -> u64 {
        let (id, dir) = self.s.with(|w| {
            w.add_org(owner);
            assert!(
                w.repo_id(owner, name).is_none(),
                "repo {owner}/{name} exists"
            );
            let repo = new_repo(w, &self.s, owner, name, None, false);
            let id = repo.id;
            let dir = self.s.git_dir(&repo.owner, &repo.name);
            w.repos.insert(id, RepoRec::new(repo));
            (id, dir)
        });
        if let Some(dir) = dir {
            git_init_bare(&dir).expect("git init");
        }
        id
    }

    pub fn repo(&self, owner: &str, name: &str) -> Option<Repo> {
        self.s
            .with(|w| w.repo_rec(owner, name).map(|r| r.repo.clone()))
    }

    /// The repos of `owner`, in creation order.
    pub fn repos(&self, owner: &str) -> Vec<Repo> {
        self.s.with(|w| {
            w.repos
                .values()
                .filter(|r| r.repo.owner.eq_ignore_ascii_case(owner))
                .map(|r| r.repo.clone())
                .collect()
        })
    }

    /// Set `user`'s permission on a repo: admin, maintain, write, triage,
    /// read or none (registers the user). Known users default to read.
    pub fn set_permission(&self, owner: &str, repo: &str, user: &str, permission: &str) {
        self.s.with(|w| {
            w.add_user(user);
            let r = w
                .repo_mut(owner, repo)
                .unwrap_or_else(|| panic!("no repo {owner}/{repo}"));
            r.permissions
                .insert(user.to_lowercase(), permission.to_string());
        })
    }

    // ----- teams -------------------------------------------------------

    /// Create a team (`permission` pull or push, privacy closed); returns its slug.
    pub fn add_team(&self, org: &str, name: &str, permission: &str) -> String {
        self.s.with(|w| {
            w.add_org(org);
            assert!(
                w.team_id(org, &slugify(name)).is_none(),
                "team {name} exists in {org}"
            );
            w.insert_team(org, name, None, "closed", permission).1
        })
    }

    pub fn team(&self, org: &str, slug: &str) -> Option<Team> {
        self.s
            .with(|w| w.team_id(org, slug).map(|id| w.team_pub(&w.teams[&id])))
    }

    /// The teams of `org`, sorted by name.
    pub fn teams(&self, org: &str) -> Vec<Team> {
        self.s.with(|w| {
            let org = org.to_lowercase();
            let mut v: Vec<Team> = w
                .teams
                .values()
                .filter(|t| t.org == org)
                .map(|t| w.team_pub(t))
                .collect();
            v.sort_by_key(|t| t.name.to_lowercase());
            v
        })
    }

    /// Add `user` (registered if unknown) to a team as a member. Panics if
    /// the team does not exist.
    pub fn add_team_member(&self, org: &str, slug: &str, user: &str) {
        self.s.with(|w| {
            w.add_user(user);
            let login = w.user(user).map(|u| u.login.clone()).unwrap_or_default();
            let id = w
                .team_id(org, slug)
                .unwrap_or_else(|| panic!("no team {org}/{slug}"));
            let t = w.teams.get_mut(&id).expect("team");
            t.members
                .insert(login.to_lowercase(), (login, "member".into()));
        })
    }

    /// Give a team access to a repo. Panics if either is missing.
    pub fn add_team_repo(&self, org: &str, slug: &str, owner: &str, repo: &str, permission: &str) {
        self.s.with(|w| {
            let rid = w
                .repo_id(owner, repo)
                .unwrap_or_else(|| panic!("no repo {owner}/{repo}"));
            let id = w
                .team_id(org, slug)
                .unwrap_or_else(|| panic!("no team {org}/{slug}"));
            w.teams
                .get_mut(&id)
                .expect("team")
                .repos
                .insert(rid, permission.to_string());
        })
    }

    /// When true, creating a team with a personal token makes the token's
    /// user a maintainer of it, as GitHub does. Default false.
    pub fn set_creator_joins_team(&self, on: bool) {
        self.s.with(|w| w.creator_joins_team = on)
    }

    // ----- hooks ---------------------------------------------------------

    /// Add an active JSON push hook without secret; returns its id.
    pub fn add_hook(&self, owner: &str, repo: &str, url: &str) -> u64 {
        self.s.with(|w| {
            let id = w.id();
            let r = w
                .repo_mut(owner, repo)
                .unwrap_or_else(|| panic!("no repo {owner}/{repo}"));
            r.hooks.push((
                Hook {
                    id,
                    url: url.to_string(),
                    content_type: "json".into(),
                    secret: None,
                    events: vec!["push".into()],
                    active: true,
                    insecure_ssl: "0".into(),
                },
                Utc::now(),
            ));
            id
        })
    }

    /// The hooks of a repo (empty if the repo does not exist).
    pub fn hooks(&self, owner: &str, repo: &str) -> Vec<Hook> {
        self.s.with(|w| {
            w.repo_rec(owner, repo)
                .map(|r| r.hooks.iter().map(|(h, _)| h.clone()).collect())
                .unwrap_or_default()
        })
    }

    // ----- contents and git ---------------------------------------------

    /// A file of the repo's default branch, decoded (lossy UTF-8). With a git
    /// root this reads the bare repository, so pushed files show too.
    pub fn file(&self, owner: &str, repo: &str, path: &str) -> Option<String> {
        let branch = self.repo(owner, repo)?.default_branch;
        match read_entry(&self.s, owner, repo, &branch, path)? {
            Entry::File { bytes, .. } => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Entry::Dir(_) => None,
        }
    }

    /// Path of a repo's bare git repository. Panics without a git root.
    pub fn git_path(&self, owner: &str, repo: &str) -> PathBuf {
        let (o, r) = self
            .repo(owner, repo)
            .map(|r| (r.owner, r.name))
            .unwrap_or_else(|| (owner.to_string(), repo.to_string()));
        self.s
            .git_dir(&o, &r)
            .expect("FakeGitHub::start_with_git() was not used")
    }

    /// Commit `files` into the bare repo on `branch`, one commit per file
    /// (message `Add {path}` / `Update {path}`), so history exists.
    pub fn seed_git(&self, owner: &str, repo: &str, branch: &str, files: &[(&str, &str)]) {
        let dir = self.git_path(owner, repo);
        let _g = self.s.git_lock.lock().unwrap_or_else(|e| e.into_inner());
        for (path, contents) in files {
            let exists = git_read(&dir, branch, path).is_some();
            let msg = format!("{} {path}", if exists { "Update" } else { "Add" });
            git_commit(
                &dir,
                branch,
                &[(path.to_string(), contents.as_bytes().to_vec())],
                &msg,
                None,
            )
            .unwrap_or_else(|e| panic!("seed_git {owner}/{repo}: {e}"));
        }
        drop(_g);
        let now = Utc::now();
        self.s.with(|w| {
            if let Some(r) = w.repo_mut(owner, repo) {
                r.repo.pushed_at = now;
            }
        });
    }

    /// Subjects of the commits on `branch`, newest first (empty if none).
    pub fn git_log(&self, owner: &str, repo: &str, branch: &str) -> Vec<String> {
        let dir = self.git_path(owner, repo);
        match git(
            &dir,
            &["log", "--format=%s", &format!("refs/heads/{branch}"), "--"],
            None,
            &[],
        ) {
            Ok(out) => String::from_utf8_lossy(&out)
                .lines()
                .map(str::to_string)
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// A file on `branch` of the bare repo (lossy UTF-8).
    pub fn git_file(&self, owner: &str, repo: &str, branch: &str, path: &str) -> Option<String> {
        let dir = self.git_path(owner, repo);
        git_read(&dir, branch, path).map(|(b, _)| String::from_utf8_lossy(&b).into_owned())
    }

    // ----- issues and comments -------------------------------------------

    /// Create issue `number` (registers the author). Panics if the repo is missing.
    pub fn add_issue(
        &self,
        owner: &str,
        repo: &str,
        number: u64,
        title: &str,
        body: &str,
        author: &str,
    ) {
        self.s.with(|w| {
            w.add_user(author);
            let id = w.id();
            let r = w
                .repo_mut(owner, repo)
                .unwrap_or_else(|| panic!("no repo {owner}/{repo}"));
            r.issues.insert(
                number,
                IssueRec {
                    id,
                    number,
                    title: title.into(),
                    body: body.into(),
                    author: author.into(),
                    created_at: Utc::now(),
                    reactions: Vec::new(),
                },
            );
        })
    }

    /// Add a comment by `author` (a user's comment, e.g. for a webhook
    /// fixture); returns its id. Panics if the issue is missing.
    pub fn add_comment(
        &self,
        owner: &str,
        repo: &str,
        issue: u64,
        author: &str,
        body: &str,
    ) -> u64 {
        self.s.with(|w| {
            w.add_user(author);
            let login = w.user(author).map(|u| u.login.clone()).unwrap_or_default();
            let rid = w
                .repo_id(owner, repo)
                .unwrap_or_else(|| panic!("no repo {owner}/{repo}"));
            assert!(
                w.repos[&rid].issues.contains_key(&issue),
                "no issue {owner}/{repo}#{issue}"
            );
            insert_comment(w, rid, issue, &login, body)
        })
    }

    /// The comments of an issue, oldest first.
    pub fn comments(&self, owner: &str, repo: &str, issue: u64) -> Vec<Comment> {
        self.s.with(|w| {
            let Some(rid) = w.repo_id(owner, repo) else {
                return Vec::new();
            };
            w.comments
                .values()
                .filter(|c| c.repo_id == rid && c.issue == issue)
                .map(|c| Comment {
                    id: c.id,
                    issue: c.issue,
                    body: c.body.clone(),
                    author: c.author.clone(),
                    edits: c.edits,
                })
                .collect()
        })
    }

    /// Contents (`+1`, `eyes`, `rocket`, …) of the reactions on a comment, oldest first.
    pub fn comment_reactions(&self, owner: &str, repo: &str, comment_id: u64) -> Vec<String> {
        self.s.with(|w| {
            let rid = w.repo_id(owner, repo);
            w.comments
                .get(&comment_id)
                .filter(|c| Some(c.repo_id) == rid)
                .map(|c| c.reactions.iter().map(|r| r.content.clone()).collect())
                .unwrap_or_default()
        })
    }

    /// Contents of the reactions on an issue, oldest first.
    pub fn issue_reactions(&self, owner: &str, repo: &str, issue: u64) -> Vec<String> {
        self.s.with(|w| {
            w.repo_rec(owner, repo)
                .and_then(|r| r.issues.get(&issue))
                .map(|i| i.reactions.iter().map(|r| r.content.clone()).collect())
                .unwrap_or_default()
        })
    }

    // ----- faults, latency, log -------------------------------------------

    /// Make the next `times` requests matching `method` (`"*"` for any) and
    /// `path_glob` fail with `fault`. In the glob `*` is one path segment and
    /// `**` the rest of the path; matching is case-insensitive. Rules are
    /// consumed in the order they were injected.
    pub fn inject(&self, method: &str, path_glob: &str, fault: Fault, times: usize) {
        self.s.with(|w| {
            w.faults.push(FaultRule {
                method: method.to_uppercase(),
                glob: path_glob.to_string(),
                fault,
                remaining: times,
            })
        })
    }

    /// Forget every injected fault not yet consumed.
    pub fn clear_faults(&self) {
        self.s.with(|w| w.faults.clear())
    }

    /// Delay every request by `latency` (default zero).
    pub fn set_latency(&self, latency: Duration) {
        self.s.with(|w| w.latency = latency)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Req> {
        self.s.with(|w| w.log.clone())
    }

    /// `"METHOD /path"` (with `?query`) of every request except the
    /// installation-token endpoint, in arrival order.
    pub fn calls(&self) -> Vec<String> {
        self.s.with(|w| {
            w.log
                .iter()
                .filter(|r| !is_token_endpoint(&r.method, &r.path))
                .map(Req::call)
                .collect()
        })
    }

    pub fn clear_log(&self) {
        self.s.with(|w| w.log.clear())
    }

    /// Poll `pred` every 10 ms until it holds (true) or `timeout` passes (false).
    pub async fn wait_until(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&FakeGitHub) -> bool,
    ) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if pred(self) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Time since the fake started.
    pub fn uptime(&self) -> Duration {
        self.s.started.elapsed()
    }
}

fn is_token_endpoint(method: &str, path: &str) -> bool {
    method == "POST" && glob_match("/app/installations/*/access_tokens", path)
}

/// `*` matches one segment, `**` the rest (zero or more segments).
fn glob_match(pattern: &str, path: &str) -> bool {
    fn m(p: &[&str], s: &[&str]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((&"**", _)) => true,
            Some((&"*", rest)) => !s.is_empty() && m(rest, &s[1..]),
            Some((lit, rest)) => {
                !s.is_empty() && lit.eq_ignore_ascii_case(s[0]) && m(rest, &s[1..])
            }
        }
    }
    let p: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    let s: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    m(&p, &s)
}

fn mint_token(w: &mut World, installation: u64) -> (String, DateTime<Utc>) {
    let token: String = {
        let mut rng = rand::thread_rng();
        (0..36)
            .map(|_| rng.sample(rand::distributions::Alphanumeric) as char)
            .collect()
    };
    let token = format!("ghs_{token}");
    let ttl = w.token_ttl;
    w.tokens.insert(
        token.clone(),
        TokenRec {
            installation,
            expires: Instant::now() + ttl,
        },
    );
    let expires_at =
        Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_else(|_| chrono::Duration::hours(1));
    (token, expires_at)
}

fn insert_comment(w: &mut World, repo_id: u64, issue: u64, author: &str, body: &str) -> u64 {
    let id = w.id();
    let now = Utc::now();
    w.comments.insert(
        id,
        CommentRec {
            id,
            repo_id,
            issue,
            body: body.to_string(),
            author: author.to_string(),
            created_at: now,
            updated_at: now,
            edits: 0,
            reactions: Vec::new(),
        },
    );
    id
}

impl RepoRec {
    fn new(repo: Repo) -> RepoRec {
        RepoRec {
            repo,
            hooks: Vec::new(),
            files: BTreeMap::new(),
            issues: BTreeMap::new(),
            permissions: HashMap::new(),
        }
    }
}

/// A new repo record (not inserted). `owner` must be a known org.
fn new_repo(
    w: &mut World,
    s: &Shared,
    owner: &str,
    name: &str,
    description: Option<String>,
    private: bool,
) -> Repo {
    let owner = w
        .org(owner)
        .map(|o| o.login.clone())
        .unwrap_or_else(|| owner.to_string());
    let id = w.id();
    let now = Utc::now();
    let clone_url = match s.git_dir(&owner, name) {
        Some(dir) => format!("file://{}", dir.display()),
        None => format!("{HTML_HOST}/{owner}/{name}.git"),
    };
    Repo {
        id,
        full_name: format!("{owner}/{name}"),
        html_url: format!("{HTML_HOST}/{owner}/{name}"),
        owner,
        name: name.to_string(),
        description,
        private,
        default_branch: "main".into(),
        clone_url,
        created_at: now,
        pushed_at: now,
    }
}

// ---------------------------------------------------------------------------
// A listener whose connections can be killed from a handler (Fault::Drop)
// ---------------------------------------------------------------------------

/// Connect info handed to every request: flipping it kills the connection.
#[derive(Clone, Debug)]
struct ConnKill(Arc<AtomicBool>);

struct KillListener {
    inner: tokio::net::TcpListener,
}

impl Listener for KillListener {
    type Io = KillStream;
    type Addr = ConnKill;

    async fn accept(&mut self) -> (KillStream, ConnKill) {
        loop {
            match self.inner.accept().await {
                Ok((io, _)) => {
                    let _ = io.set_nodelay(true);
                    let kill = Arc::new(AtomicBool::new(false));
                    return (
                        KillStream {
                            io,
                            kill: kill.clone(),
                        },
                        ConnKill(kill),
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<ConnKill> {
        Ok(ConnKill(Arc::new(AtomicBool::new(false))))
    }
}

impl Connected<IncomingStream<'_, KillListener>> for ConnKill {
    fn connect_info(stream: IncomingStream<'_, KillListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP stream that fails every read and write once its flag is set, so
/// hyper drops the connection without writing a response.
struct KillStream {
    io: tokio::net::TcpStream,
    kill: Arc<AtomicBool>,
}

fn killed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "fake GitHub dropped the connection",
    )
}

impl AsyncRead for KillStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------------------
// Errors and responses
// ---------------------------------------------------------------------------

/// A GitHub-style error: `{"message", "documentation_url", "status", "errors"?}`.
#[derive(Debug)]
struct ApiError {
    status: u16,
    message: String,
    errors: Option<Value>,
}

impl ApiError {
    fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            errors: None,
        }
    }

    fn with_errors(mut self, errors: Value) -> ApiError {
        self.errors = Some(errors);
        self
    }
}

fn not_found() -> ApiError {
    ApiError::new(404, "Not Found")
}

/// 422 "Validation Failed" with one error.
fn invalid(resource: &str, field: &str, code: &str, message: Option<&str>) -> ApiError {
    let mut e = json!({"resource": resource, "field": field, "code": code});
    if let Some(m) = message {
        e["message"] = json!(m);
    }
    ApiError::new(422, "Validation Failed").with_errors(json!([e]))
}

fn error_body(status: u16, message: &str, errors: Option<&Value>) -> Value {
    let mut v =
        json!({"message": message, "documentation_url": DOCS, "status": status.to_string()});
    if let Some(e) = errors {
        v["errors"] = e.clone();
    }
    v
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            Json(error_body(self.status, &self.message, self.errors.as_ref())),
        )
            .into_response()
    }
}

type R = Result<Response, ApiError>;

fn reply(status: u16, v: Value) -> R {
    Ok((StatusCode::from_u16(status).expect("status"), Json(v)).into_response())
}

fn no_content() -> R {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Parse a request body: empty → `{}`, bad JSON → 400 like GitHub.
fn body_json(bytes: &Bytes) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let v: Value =
        serde_json::from_slice(bytes).map_err(|_| ApiError::new(400, "Problems parsing JSON"))?;
    if !v.is_object() {
        return Err(ApiError::new(400, "Problems parsing JSON"));
    }
    Ok(v)
}

fn str_field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn parse_id(s: &str) -> Result<u64, ApiError> {
    s.parse().map_err(|_| not_found())
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn node_id(kind: &str, id: u64) -> String {
    let s = format!("0{}:{kind}{id}", kind.len());
    B64.encode(s)
}

/// Query string pairs, undecoded.
fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect()
}

fn query_get(uri: &Uri, key: &str) -> Option<String> {
    query_pairs(uri.query())
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// One page of `items` per `per_page` (default 30, max 100) and `page`,
/// with GitHub's `Link` header.
fn paginate(s: &Shared, uri: &Uri, items: Vec<Value>) -> R {
    paginate_map(s, uri, items, |page, _| Value::Array(page))
}

/// Like [`paginate`], the page wrapped by `wrap(page, total_count)`.
fn paginate_map(
    s: &Shared,
    uri: &Uri,
    items: Vec<Value>,
    wrap: impl FnOnce(Vec<Value>, usize) -> Value,
) -> R {
    let pairs = query_pairs(uri.query());
    let num = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let per_page = num("per_page").filter(|&n| n > 0).unwrap_or(30).min(100);
    let page = num("page").filter(|&n| n > 0).unwrap_or(1);
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let link_to = |n: usize| {
        let mut q: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        q.push(format!("page={n}"));
        format!("<{}{}?{}>", s.base, uri.path(), q.join("&"))
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to((page - 1).min(last))));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", link_to(1)));
    }
    let mut resp = (StatusCode::OK, Json(wrap(slice, total))).into_response();
    if !links.is_empty() {
        resp.headers_mut().insert(
            "link",
            HeaderValue::from_str(&links.join(", ")).expect("link header"),
        );
    }
    Ok(resp)
}

// ---------------------------------------------------------------------------
// The gate: logging, faults, latency, auth, GitHub headers
// ---------------------------------------------------------------------------

/// Who the request acts as; inserted into the request extensions by [`gate`].
#[derive(Clone, Debug)]
struct Identity {
    /// Login of the acting user (`BOT_LOGIN` for installation tokens); empty for JWT.
    login: String,
    /// Set for installation tokens.
    installation: Option<u64>,
    personal: bool,
}

enum RouteAuth {
    None,
    Jwt,
    Token,
}

fn route_auth(path: &str) -> RouteAuth {
    if path.starts_with("/app-manifests/") {
        RouteAuth::None
    } else if path == "/app"
        || path.starts_with("/app/")
        || glob_match("/orgs/*/installation", path)
        || glob_match("/repos/*/*/installation", path)
        || glob_match("/users/*/installation", path)
    {
        RouteAuth::Jwt
    } else {
        RouteAuth::Token
    }
}

fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn bearer(h: &HeaderMap) -> Option<String> {
    let v = header_str(h, "authorization")?;
    let (scheme, tok) = v.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
        .then(|| tok.trim().to_string())
}

async fn gate(
    State(s): State<S>,
    ConnectInfo(conn): ConnectInfo<ConnKill>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let token = bearer(&parts.headers);

    // Log on arrival, pick a fault.
    let (idx, request_id, fault, latency, used) = s.with(|w| {
        w.request_seq += 1;
        let seq = w.request_seq;
        let request_id = {
            let mut rng = rand::thread_rng();
            format!(
                "{:04X}:{:04X}:{:06X}:{:06X}:{:08X}",
                rng.gen::<u16>(),
                rng.gen::<u16>(),
                seq,
                rng.gen::<u32>() & 0xFF_FFFF,
                seq
            )
        };
        let auth = token
            .as_deref()
            .map(|t| w.identity_of_token(t))
            .unwrap_or(Auth::None);
        let body =
            if bytes.is_empty() {
                None
            } else {
                Some(serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                    Value::String(String::from_utf8_lossy(&bytes).into_owned())
                }))
            };
        w.log.push(Req {
            method: method.clone(),
            path: path.clone(),
            query: parts.uri.query().map(str::to_string),
            body,
            status: 0,
            auth,
            user_agent: header_str(&parts.headers, "user-agent"),
            accept: header_str(&parts.headers, "accept"),
            api_version: header_str(&parts.headers, "x-github-api-version"),
            request_id: request_id.clone(),
            at: Instant::now(),
        });
        let idx = w.log.len() - 1;
        let fault = w
            .faults
            .iter_mut()
            .find(|f| {
                f.remaining > 0
                    && (f.method == "*" || f.method == method)
                    && glob_match(&f.glob, &path)
            })
            .map(|f| {
                f.remaining -= 1;
                f.fault.clone()
            });
        w.faults.retain(|f| f.remaining > 0);
        (idx, request_id, fault, w.latency, seq)
    });

    let mut delay = latency;
    if let Some(Fault::Latency(d)) = &fault {
        delay += *d;
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let mut reset = Utc::now().timestamp() as u64 + 3600 - (s.started.elapsed().as_secs() % 3600);
    let mut remaining = RATE_LIMIT - 1 - (used % (RATE_LIMIT - 1000));
    let mut retry_after = None;
    let mut dropped = false;
    let mut resp = match fault {
        Some(Fault::Status(code)) => {
            let msg = StatusCode::from_u16(code)
                .ok()
                .and_then(|c| c.canonical_reason())
                .unwrap_or("Server Error");
            ApiError::new(code, msg).into_response()
        }
        Some(Fault::SecondaryLimit { retry_after: ra }) => {
            retry_after = ra;
            ApiError::new(403, secondary_message(&request_id)).into_response()
        }
        Some(Fault::TooMany { retry_after: ra }) => {
            retry_after = ra;
            ApiError::new(429, secondary_message(&request_id)).into_response()
        }
        Some(Fault::PrimaryLimit { reset_in }) => {
            remaining = 0;
            reset = Utc::now().timestamp() as u64 + reset_in;
            let who = match s.with(|w| token.as_deref().map(|t| w.identity_of_token(t))) {
                Some(Auth::Installation(t)) => {
                    format!("installation ID {}", s.with(|w| w.tokens[&t].installation))
                }
                Some(Auth::Personal(l)) => format!(
                    "user ID {}",
                    s.with(|w| w.user(&l).map(|u| u.id).unwrap_or(0))
                ),
                _ => "this client".to_string(),
            };
            ApiError::new(
                403,
                format!(
                    "API rate limit exceeded for {who}. If you reach out to GitHub Support for help, please include the request ID {request_id}."
                ),
            )
            .into_response()
        }
        Some(Fault::Drop) => {
            conn.0.store(true, Ordering::SeqCst);
            dropped = true;
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Some(Fault::Latency(_) | Fault::DropAfter) | None => {
            if fault == Some(Fault::DropAfter) {
                dropped = true;
            }
            match authenticate(&s, &path, &parts.headers, token.as_deref()) {
                Err(e) => e.into_response(),
                Ok(id) => {
                    let mut req = Request::from_parts(parts, Body::from(bytes));
                    if let Some(id) = id {
                        req.extensions_mut().insert(id);
                    }
                    let resp = next.run(req).await;
                    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
                        not_found().into_response()
                    } else {
                        resp
                    }
                }
            }
        }
    };

    let h = resp.headers_mut();
    let mut set = |k: &'static str, v: String| {
        h.insert(
            HeaderName::from_static(k),
            HeaderValue::from_str(&v).expect("header value"),
        );
    };
    set("x-github-request-id", request_id);
    set("x-github-media-type", "github.v3; format=json".into());
    set("x-github-api-version-selected", "2022-11-28".into());
    set("x-ratelimit-limit", RATE_LIMIT.to_string());
    set("x-ratelimit-remaining", remaining.to_string());
    set("x-ratelimit-reset", reset.to_string());
    set("x-ratelimit-used", (RATE_LIMIT - remaining).to_string());
    set("x-ratelimit-resource", "core".into());
    if let Some(ra) = retry_after {
        set("retry-after", ra.to_string());
    }
    let status = if dropped {
        conn.0.store(true, Ordering::SeqCst);
        0
    } else {
        resp.status().as_u16()
    };
    s.with(|w| {
        if let Some(r) = w.log.get_mut(idx) {
            r.status = status;
        }
    });
    resp
}

fn secondary_message(request_id: &str) -> String {
    format!(
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID {request_id}."
    )
}

/// Checks User-Agent, API version and credentials for the route kind.
fn authenticate(
    s: &Shared,
    path: &str,
    h: &HeaderMap,
    token: Option<&str>,
) -> Result<Option<Identity>, ApiError> {
    if header_str(h, "user-agent").is_none_or(|ua| ua.trim().is_empty()) {
        return Err(ApiError::new(
            403,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.",
        ));
    }
    if let Some(v) = header_str(h, "x-github-api-version") {
        if v != "2022-11-28" {
            return Err(ApiError::new(
                400,
                format!("API version '{v}' is not supported."),
            ));
        }
    }
    match route_auth(path) {
        RouteAuth::None => Ok(None),
        RouteAuth::Jwt => {
            let Some(tok) = token else {
                return Err(ApiError::new(401, "A JSON web token could not be decoded"));
            };
            if looks_like_jwt(tok) {
                if let Some(claims) = jwt_payload(tok) {
                    s.with(|w| w.jwt_claims.push(claims));
                }
            }
            verify_jwt(s, tok).map_err(|m| ApiError::new(401, m))?;
            Ok(Some(Identity {
                login: String::new(),
                installation: None,
                personal: false,
            }))
        }
        RouteAuth::Token => {
            let bad = || ApiError::new(401, "Bad credentials");
            let Some(tok) = token else {
                return Err(ApiError::new(401, "Requires authentication"));
            };
            s.with(|w| {
                if let Some(t) = w.tokens.get(tok) {
                    if Instant::now() >= t.expires {
                        return Err(bad());
                    }
                    let inst = t.installation;
                    if w.installation_scope {
                        let account = w
                            .installations
                            .get(&inst)
                            .map(|i| i.account.clone())
                            .unwrap_or_default();
                        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
                        if let [first, owner, ..] = segs.as_slice() {
                            if (*first == "orgs" || *first == "repos")
                                && !owner.eq_ignore_ascii_case(&account)
                            {
                                return Err(not_found());
                            }
                        }
                    }
                    Ok(Some(Identity {
                        login: BOT_LOGIN.to_string(),
                        installation: Some(inst),
                        personal: false,
                    }))
                } else if let Some(login) = w.personal.get(tok) {
                    Ok(Some(Identity {
                        login: login.clone(),
                        installation: None,
                        personal: true,
                    }))
                } else {
                    Err(bad())
                }
            })
        }
    }
}

fn jwt_payload(tok: &str) -> Option<Value> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mid = tok.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(mid.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Verifies an app JWT like GitHub: RS256 signature by the app key, `iss` the
/// app id (number or string) or a client id, `exp` in the future and at most
/// 660 s after `iat`, `iat` at most 60 s in the future.
fn verify_jwt(s: &Shared, tok: &str) -> Result<Value, String> {
    use jsonwebtoken::{errors::ErrorKind, Algorithm, Validation};
    if !looks_like_jwt(tok) {
        return Err("A JSON web token could not be decoded".into());
    }
    let header = jsonwebtoken::decode_header(tok)
        .map_err(|e| format!("A JSON web token could not be decoded: {e}"))?;
    if header.alg != Algorithm::RS256 {
        return Err(format!(
            "A JSON web token could not be decoded: algorithm must be RS256, not {:?}",
            header.alg
        ));
    }
    let mut v = Validation::new(Algorithm::RS256);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims = HashSet::new();
    let data = jsonwebtoken::decode::<Value>(tok, &s.jwt_key, &v).map_err(|e| match e.kind() {
        ErrorKind::InvalidSignature => {
            "A JSON web token could not be decoded: signature verification failed".to_string()
        }
        _ => format!("A JSON web token could not be decoded: {e}"),
    })?;
    let c = data.claims;
    let now = Utc::now().timestamp();
    let iss_ok = match c.get("iss") {
        Some(Value::Number(n)) => n.as_u64() == Some(TEST_APP_ID),
        Some(Value::String(x)) => {
            *x == TEST_APP_ID.to_string() || s.with(|w| w.client_ids.contains(x))
        }
        _ => false,
    };
    if !iss_ok {
        return Err(format!(
            "'Issuer' claim ('iss') must be the app ID ({TEST_APP_ID}) or client ID; got {}",
            c.get("iss")
                .map(Value::to_string)
                .unwrap_or_else(|| "nothing".into())
        ));
    }
    let int = |k: &str| {
        c.get(k)
            .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
    };
    let Some(iat) = int("iat") else {
        return Err("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued".into());
    };
    let Some(exp) = int("exp") else {
        return Err("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires".into());
    };
    if iat > now + 60 {
        return Err(format!(
            "'Issued at' claim ('iat') is in the future ({} s ahead)",
            iat - now
        ));
    }
    if exp <= now {
        return Err(format!(
            "'Expiration time' claim ('exp') is in the past: the JWT expired {} s ago",
            now - exp
        ));
    }
    if exp - iat > 660 {
        return Err(format!("'Expiration time' claim ('exp') is too far in the future: exp - iat = {} s > 600 s (+60 s skew)", exp - iat));
    }
    Ok(c)
}

// ---------------------------------------------------------------------------
// JSON shapes
// ---------------------------------------------------------------------------

fn user_json(s: &Shared, login: &str, id: u64, kind: &str) -> Value {
    let base = &s.base;
    let html = if kind == "Bot" {
        format!("{HTML_HOST}/apps/{}", login.trim_end_matches("[bot]"))
    } else {
        format!("{HTML_HOST}/{login}")
    };
    let url = format!("{base}/users/{login}");
    json!({
        "login": login,
        "id": id,
        "node_id": node_id(kind, id),
        "avatar_url": format!("https://avatars.github.example/u/{id}?v=4"),
        "gravatar_id": "",
        "url": url,
        "html_url": html,
        "followers_url": format!("{url}/followers"),
        "following_url": format!("{url}/following{{/other_user}}"),
        "gists_url": format!("{url}/gists{{/gist_id}}"),
        "starred_url": format!("{url}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{url}/subscriptions"),
        "organizations_url": format!("{url}/orgs"),
        "repos_url": format!("{url}/repos"),
        "events_url": format!("{url}/events{{/privacy}}"),
        "received_events_url": format!("{url}/received_events"),
        "type": kind,
        "user_view_type": "public",
        "site_admin": false
    })
}

/// The simple-user object of a login (a user, the bot, or an org).
fn login_json(s: &Shared, w: &World, login: &str) -> Value {
    if let Some(u) = w.user(login) {
        user_json(s, &u.login, u.id, if u.bot { "Bot" } else { "User" })
    } else if let Some(o) = w.org(login) {
        user_json(s, &o.login, o.id, "Organization")
    } else {
        user_json(s, login, 0, "User")
    }
}

fn org_json(s: &Shared, w: &World, o: &OrgRec) -> Value {
    let url = format!("{}/orgs/{}", s.base, o.login);
    let repos = w
        .repos
        .values()
        .filter(|r| r.repo.owner.eq_ignore_ascii_case(&o.login))
        .count();
    json!({
        "login": o.login,
        "id": o.id,
        "node_id": node_id("Organization", o.id),
        "url": url,
        "repos_url": format!("{url}/repos"),
        "events_url": format!("{url}/events"),
        "hooks_url": format!("{url}/hooks"),
        "issues_url": format!("{url}/issues"),
        "members_url": format!("{url}/members{{/member}}"),
        "public_members_url": format!("{url}/public_members{{/member}}"),
        "avatar_url": format!("https://avatars.github.example/u/{}?v=4", o.id),
        "description": null,
        "name": o.login,
        "company": null,
        "blog": "",
        "location": null,
        "email": null,
        "is_verified": false,
        "has_organization_projects": true,
        "has_repository_projects": true,
        "public_repos": repos,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "html_url": format!("{HTML_HOST}/{}", o.login),
        "created_at": ts(o.created_at),
        "updated_at": ts(o.created_at),
        "archived_at": null,
        "type": "Organization"
    })
}

const REPO_URLS: [(&str, &str); 35] = [
    ("archive_url", "/{archive_format}{/ref}"),
    ("assignees_url", "/assignees{/user}"),
    ("blobs_url", "/git/blobs{/sha}"),
    ("branches_url", "/branches{/branch}"),
    ("collaborators_url", "/collaborators{/collaborator}"),
    ("comments_url", "/comments{/number}"),
    ("commits_url", "/commits{/sha}"),
    ("compare_url", "/compare/{base}...{head}"),
    ("contents_url", "/contents/{+path}"),
    ("contributors_url", "/contributors"),
    ("deployments_url", "/deployments"),
    ("downloads_url", "/downloads"),
    ("events_url", "/events"),
    ("forks_url", "/forks"),
    ("git_commits_url", "/git/commits{/sha}"),
    ("git_refs_url", "/git/refs{/sha}"),
    ("git_tags_url", "/git/tags{/sha}"),
    ("issue_comment_url", "/issues/comments{/number}"),
    ("issue_events_url", "/issues/events{/number}"),
    ("issues_url", "/issues{/number}"),
    ("keys_url", "/keys{/key_id}"),
    ("labels_url", "/labels{/name}"),
    ("languages_url", "/languages"),
    ("merges_url", "/merges"),
    ("milestones_url", "/milestones{/number}"),
    (
        "notifications_url",
        "/notifications{?since,all,participating}",
    ),
    ("pulls_url", "/pulls{/number}"),
    ("releases_url", "/releases{/id}"),
    ("stargazers_url", "/stargazers"),
    ("statuses_url", "/statuses/{sha}"),
    ("subscribers_url", "/subscribers"),
    ("subscription_url", "/subscription"),
    ("tags_url", "/tags"),
    ("teams_url", "/teams"),
    ("trees_url", "/git/trees{/sha}"),
];

fn repo_json(s: &Shared, w: &World, rec: &RepoRec) -> Value {
    let r = &rec.repo;
    let api = format!("{}/repos/{}", s.base, r.full_name);
    let owner = login_json(s, w, &r.owner);
    let mut v = json!({
        "id": r.id,
        "node_id": node_id("Repository", r.id),
        "name": r.name,
        "full_name": r.full_name,
        "private": r.private,
        "owner": owner,
        "html_url": r.html_url,
        "description": r.description,
        "fork": false,
        "url": api,
        "git_url": format!("git://github.example/{}.git", r.full_name),
        "ssh_url": format!("git@github.example:{}.git", r.full_name),
    });
    let more = json!({
        "clone_url": r.clone_url,
        "mirror_url": null,
        "hooks_url": format!("{api}/hooks"),
        "svn_url": r.html_url,
        "homepage": null,
        "language": null,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "size": 0,
        "default_branch": r.default_branch,
        "open_issues_count": rec.issues.len(),
        "is_template": false,
        "topics": [],
        "has_issues": true,
        "has_projects": true,
        "has_wiki": true,
        "has_pages": false,
        "has_downloads": true,
        "has_discussions": false,
        "archived": false,
        "disabled": false,
        "visibility": if r.private { "private" } else { "public" },
        "pushed_at": ts(r.pushed_at),
        "created_at": ts(r.created_at),
        "updated_at": ts(r.pushed_at),
        "permissions": {"admin": true, "maintain": true, "push": true, "triage": true, "pull": true},
        "allow_forking": true,
        "web_commit_signoff_required": false,
        "license": null,
        "forks": 0,
        "open_issues": rec.issues.len(),
        "watchers": 0,
        "network_count": 0,
        "subscribers_count": 0,
        "organization": owner
    });
    if let (Value::Object(a), Value::Object(b)) = (&mut v, more) {
        a.extend(b);
        for (k, suffix) in REPO_URLS {
            a.insert(k.to_string(), json!(format!("{api}{suffix}")));
        }
    }
    v
}

fn team_json(s: &Shared, w: &World, t: &TeamRec, full: bool) -> Value {
    let (org_login, org_id) = w
        .org(&t.org)
        .map(|o| (o.login.clone(), o.id))
        .unwrap_or_default();
    let url = format!("{}/organizations/{org_id}/team/{}", s.base, t.id);
    let mut v = json!({
        "id": t.id,
        "node_id": node_id("Team", t.id),
        "url": url,
        "html_url": format!("{HTML_HOST}/orgs/{org_login}/teams/{}", t.slug),
        "name": t.name,
        "slug": t.slug,
        "description": t.description,
        "privacy": t.privacy,
        "notification_setting": "notifications_enabled",
        "permission": t.permission,
        "members_url": format!("{url}/members{{/member}}"),
        "repositories_url": format!("{url}/repos"),
        "parent": null
    });
    if full {
        v["members_count"] = json!(t.members.len());
        v["repos_count"] = json!(t.repos.len());
        v["created_at"] = json!(ts(t.created_at));
        v["updated_at"] = json!(ts(t.created_at));
        if let Some(o) = w.org(&t.org) {
            v["organization"] = org_json(s, w, o);
        }
    }
    v
}

fn hook_json(s: &Shared, full_name: &str, h: &Hook, created: DateTime<Utc>) -> Value {
    let url = format!("{}/repos/{full_name}/hooks/{}", s.base, h.id);
    let mut config =
        json!({"content_type": h.content_type, "insecure_ssl": h.insecure_ssl, "url": h.url});
    if h.secret.is_some() {
        config["secret"] = json!("********");
    }
    json!({
        "type": "Repository",
        "id": h.id,
        "name": "web",
        "active": h.active,
        "events": h.events,
        "config": config,
        "updated_at": ts(created),
        "created_at": ts(created),
        "url": url,
        "test_url": format!("{url}/test"),
        "ping_url": format!("{url}/pings"),
        "deliveries_url": format!("{url}/deliveries"),
        "last_response": {"code": null, "status": "unused", "message": null}
    })
}

fn reactions_rollup(url: String, rs: &[ReactionRec]) -> Value {
    let mut v = json!({"url": url, "total_count": rs.len()});
    for c in REACTIONS {
        v[c] = json!(rs.iter().filter(|r| r.content == c).count());
    }
    v
}

fn reaction_json(s: &Shared, w: &World, r: &ReactionRec) -> Value {
    json!({
        "id": r.id,
        "node_id": node_id("Reaction", r.id),
        "user": login_json(s, w, &r.user),
        "content": r.content,
        "created_at": ts(r.created_at)
    })
}

fn app_json(s: &Shared) -> Value {
    json!({
        "id": TEST_APP_ID,
        "slug": TEST_APP_SLUG,
        "node_id": node_id("Integration", TEST_APP_ID),
        "client_id": TEST_CLIENT_ID,
        "owner": user_json(s, "orcoursetrion-owner", 1, "Organization"),
        "name": TEST_APP_SLUG,
        "description": "orcoursetrion test app (fake GitHub)",
        "external_url": "https://orcoursetrion.example",
        "html_url": format!("{HTML_HOST}/apps/{TEST_APP_SLUG}"),
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "permissions": default_permissions(),
        "events": ["issue_comment", "issues", "push"],
        "installations_count": 0
    })
}

fn default_permissions() -> Value {
    json!({
        "administration": "write",
        "contents": "write",
        "issues": "write",
        "members": "write",
        "metadata": "read",
        "repository_hooks": "write"
    })
}

fn installation_json(s: &Shared, w: &World, i: &InstallationRec) -> Value {
    let target_id = w.org(&i.account).map(|o| o.id).unwrap_or(0);
    json!({
        "id": i.id,
        "client_id": TEST_CLIENT_ID,
        "account": login_json(s, w, &i.account),
        "repository_selection": "all",
        "access_tokens_url": format!("{}/app/installations/{}/access_tokens", s.base, i.id),
        "repositories_url": format!("{}/installation/repositories", s.base),
        "html_url": format!("{HTML_HOST}/organizations/{}/settings/installations/{}", i.account, i.id),
        "app_id": TEST_APP_ID,
        "app_slug": TEST_APP_SLUG,
        "target_id": target_id,
        "target_type": "Organization",
        "permissions": default_permissions(),
        "events": ["issue_comment", "issues", "push"],
        "created_at": ts(i.created_at),
        "updated_at": ts(i.created_at),
        "single_file_name": null,
        "has_multiple_single_files": false,
        "single_file_paths": [],
        "suspended_by": null,
        "suspended_at": null
    })
}

fn issue_json(s: &Shared, w: &World, rec: &RepoRec, i: &IssueRec) -> Value {
    let api = format!(
        "{}/repos/{}/issues/{}",
        s.base, rec.repo.full_name, i.number
    );
    let comments = w
        .comments
        .values()
        .filter(|c| c.repo_id == rec.repo.id && c.issue == i.number)
        .count();
    json!({
        "id": i.id,
        "node_id": node_id("Issue", i.id),
        "url": api,
        "repository_url": format!("{}/repos/{}", s.base, rec.repo.full_name),
        "labels_url": format!("{api}/labels{{/name}}"),
        "comments_url": format!("{api}/comments"),
        "events_url": format!("{api}/events"),
        "html_url": format!("{}/issues/{}", rec.repo.html_url, i.number),
        "number": i.number,
        "state": "open",
        "state_reason": null,
        "title": i.title,
        "body": i.body,
        "user": login_json(s, w, &i.author),
        "labels": [],
        "assignee": null,
        "assignees": [],
        "milestone": null,
        "locked": false,
        "active_lock_reason": null,
        "comments": comments,
        "closed_at": null,
        "created_at": ts(i.created_at),
        "updated_at": ts(i.created_at),
        "closed_by": null,
        "author_association": w.association(rec.repo.id, &i.author),
        "reactions": reactions_rollup(format!("{api}/reactions"), &i.reactions)
    })
}

fn comment_json(s: &Shared, w: &World, c: &CommentRec) -> Value {
    let rec = &w.repos[&c.repo_id];
    let api = format!("{}/repos/{}/issues", s.base, rec.repo.full_name);
    let bot = w.user(&c.author).is_some_and(|u| u.bot);
    json!({
        "id": c.id,
        "node_id": node_id("IssueComment", c.id),
        "url": format!("{api}/comments/{}", c.id),
        "html_url": format!("{}/issues/{}#issuecomment-{}", rec.repo.html_url, c.issue, c.id),
        "body": c.body,
        "user": login_json(s, w, &c.author),
        "created_at": ts(c.created_at),
        "updated_at": ts(c.updated_at),
        "issue_url": format!("{api}/{}", c.issue),
        "author_association": w.association(c.repo_id, &c.author),
        "performed_via_github_app": if bot { app_json(s) } else { Value::Null },
        "reactions": reactions_rollup(format!("{api}/comments/{}/reactions", c.id), &c.reactions)
    })
}

// ---------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------

/// Every route of the fake. Add new ones here.
fn router(s: S) -> Router {
    Router::new()
        // The app (JWT) and the manifest flow (no auth).
        .route("/app", get(get_app))
        .route("/app/installations", get(list_installations))
        .route("/app/installations/{id}", get(get_installation))
        .route(
            "/app/installations/{id}/access_tokens",
            post(create_access_token),
        )
        .route("/orgs/{org}/installation", get(get_org_installation))
        .route(
            "/repos/{owner}/{repo}/installation",
            get(get_repo_installation),
        )
        .route(
            "/app-manifests/{code}/conversions",
            post(manifest_conversion),
        )
        .route("/installation/repositories", get(list_installation_repos))
        // Users and orgs.
        .route("/users/{user}", get(get_user))
        .route("/orgs/{org}", get(get_org))
        // Repos.
        .route("/orgs/{org}/repos", get(list_org_repos).post(create_repo))
        .route("/repos/{owner}/{repo}", get(get_repo).delete(delete_repo))
        .route(
            "/repos/{owner}/{repo}/collaborators/{user}/permission",
            get(get_permission),
        )
        // Teams.
        .route("/orgs/{org}/teams", get(list_teams).post(create_team))
        .route(
            "/orgs/{org}/teams/{slug}",
            get(get_team).patch(update_team).delete(delete_team),
        )
        .route("/orgs/{org}/teams/{slug}/repos", get(list_team_repos))
        .route("/repos/{owner}/{repo}/teams", get(list_repo_teams))
        .route(
            "/orgs/{org}/teams/{slug}/repos/{owner}/{repo}",
            get(check_team_repo)
                .put(put_team_repo)
                .delete(delete_team_repo),
        )
        .route("/orgs/{org}/teams/{slug}/members", get(list_team_members))
        .route(
            "/orgs/{org}/teams/{slug}/memberships/{user}",
            get(get_membership)
                .put(put_membership)
                .delete(delete_membership),
        )
        // Hooks.
        .route(
            "/repos/{owner}/{repo}/hooks",
            get(list_hooks).post(create_hook),
        )
        .route(
            "/repos/{owner}/{repo}/hooks/{id}",
            get(get_hook).delete(delete_hook),
        )
        // Contents.
        .route("/repos/{owner}/{repo}/contents", get(get_contents_root))
        .route(
            "/repos/{owner}/{repo}/contents/{*path}",
            get(get_contents).put(put_contents),
        )
        // Issues, comments, reactions.
        .route("/repos/{owner}/{repo}/issues/{number}", get(get_issue))
        .route(
            "/repos/{owner}/{repo}/issues/{number}/comments",
            get(list_comments).post(create_comment),
        )
        .route(
            "/repos/{owner}/{repo}/issues/{number}/reactions",
            get(list_issue_reactions).post(create_issue_reaction),
        )
        .route(
            "/repos/{owner}/{repo}/issues/comments/{id}",
            get(get_comment)
                .patch(update_comment)
                .delete(delete_comment),
        )
        .route(
            "/repos/{owner}/{repo}/issues/comments/{id}/reactions",
            get(list_comment_reactions).post(create_comment_reaction),
        )
        .route(
            "/repos/{owner}/{repo}/issues/comments/{id}/reactions/{reaction_id}",
            axum::routing::delete(delete_comment_reaction),
        )
        .fallback(|| async { not_found() })
        .layer(middleware::from_fn_with_state(s.clone(), gate))
        .with_state(s)
}

type Who = Extension<Identity>;

// ----- app, installations, manifest ----------------------------------------

async fn get_app(State(s): State<S>) -> R {
    reply(200, app_json(&s))
}

async fn list_installations(State(s): State<S>, uri: Uri) -> R {
    let items = s.with(|w| {
        w.installations
            .values()
            .map(|i| installation_json(&s, w, i))
            .collect()
    });
    paginate(&s, &uri, items)
}

async fn get_installation(State(s): State<S>, P(id): P<String>) -> R {
    let id = parse_id(&id)?;
    let v = s.with(|w| {
        w.installations
            .get(&id)
            .map(|i| installation_json(&s, w, i))
    });
    reply(200, v.ok_or_else(not_found)?)
}

async fn get_org_installation(State(s): State<S>, P(org): P<String>) -> R {
    let v = s.with(|w| {
        w.installations
            .values()
            .find(|i| i.account.eq_ignore_ascii_case(&org))
            .map(|i| installation_json(&s, w, i))
    });
    reply(200, v.ok_or_else(not_found)?)
}

async fn get_repo_installation(State(s): State<S>, P((owner, repo)): P<(String, String)>) -> R {
    let v = s.with(|w| {
        w.repo_id(&owner, &repo)?;
        w.installations
            .values()
            .find(|i| i.account.eq_ignore_ascii_case(&owner))
            .map(|i| installation_json(&s, w, i))
    });
    reply(200, v.ok_or_else(not_found)?)
}

async fn create_access_token(State(s): State<S>, P(id): P<String>, body: Bytes) -> R {
    let id = parse_id(&id)?;
    let b = body_json(&body)?;
    s.with(|w| {
        if !w.installations.contains_key(&id) {
            return Err(not_found());
        }
        w.tokens_issued += 1;
        let (token, expires_at) = mint_token(w, id);
        let permissions = b
            .get("permissions")
            .cloned()
            .unwrap_or_else(default_permissions);
        reply(
            201,
            json!({
                "token": token,
                "expires_at": ts(expires_at),
                "permissions": permissions,
                "repository_selection": "all"
            }),
        )
    })
}

async fn manifest_conversion(State(s): State<S>, P(code): P<String>) -> R {
    if !s.with(|w| w.manifest_codes.remove(&code)) {
        return Err(not_found());
    }
    let mut v = app_json(&s);
    v["client_secret"] = json!(MANIFEST_CLIENT_SECRET);
    v["webhook_secret"] = json!(MANIFEST_WEBHOOK_SECRET);
    v["pem"] = json!(test_app_private_key_pem());
    reply(201, v)
}

async fn list_installation_repos(State(s): State<S>, Extension(who): Who, uri: Uri) -> R {
    let Some(inst) = who.installation else {
        return Err(ApiError::new(
            403,
            "You must authenticate with an installation access token in order to list repositories for an installation.",
        ));
    };
    let items = s.with(|w| {
        let account = w
            .installations
            .get(&inst)
            .map(|i| i.account.clone())
            .unwrap_or_default();
        w.repos
            .values()
            .filter(|r| r.repo.owner.eq_ignore_ascii_case(&account))
            .map(|r| repo_json(&s, w, r))
            .collect()
    });
    paginate_map(
        &s,
        &uri,
        items,
        |page, total| json!({"total_count": total, "repository_selection": "all", "repositories": page}),
    )
}

// ----- users, orgs ------------------------------------------------------------

async fn get_user(State(s): State<S>, P(user): P<String>) -> R {
    let v = s.with(|w| {
        if let Some(u) = w.user(&user) {
            Some(user_json(
                &s,
                &u.login,
                u.id,
                if u.bot { "Bot" } else { "User" },
            ))
        } else {
            w.org(&user).map(|o| org_json(&s, w, o))
        }
    });
    reply(200, v.ok_or_else(not_found)?)
}

async fn get_org(State(s): State<S>, P(org): P<String>) -> R {
    let v = s.with(|w| w.org(&org).map(|o| org_json(&s, w, o)));
    reply(200, v.ok_or_else(not_found)?)
}

// ----- repos --------------------------------------------------------------------

async fn list_org_repos(State(s): State<S>, P(org): P<String>, uri: Uri) -> R {
    let kind = query_get(&uri, "type").unwrap_or_else(|| "all".into());
    let sort = query_get(&uri, "sort").unwrap_or_else(|| "created".into());
    let items = s.with(|w| {
        w.org(&org).ok_or_else(not_found)?;
        let mut recs: Vec<&RepoRec> = w
            .repos
            .values()
            .filter(|r| r.repo.owner.eq_ignore_ascii_case(&org))
            .filter(|r| match kind.as_str() {
                "public" => !r.repo.private,
                "private" => r.repo.private,
                "forks" => false,
                _ => true,
            })
            .collect();
        let asc = match query_get(&uri, "direction").as_deref() {
            Some("asc") => true,
            Some("desc") => false,
            _ => sort == "full_name",
        };
        match sort.as_str() {
            "full_name" => recs.sort_by_key(|r| r.repo.full_name.to_lowercase()),
            "pushed" | "updated" => recs.sort_by_key(|r| (r.repo.pushed_at, r.repo.id)),
            _ => recs.sort_by_key(|r| r.repo.id),
        }
        if !asc {
            recs.reverse();
        }
        Ok(recs.into_iter().map(|r| repo_json(&s, w, r)).collect())
    })?;
    paginate(&s, &uri, items)
}

/// GitHub replaces characters other than `[A-Za-z0-9._-]` in repo names by `-`.
fn sanitize_repo_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

async fn create_repo(State(s): State<S>, P(org): P<String>, body: Bytes) -> R {
    let b = body_json(&body)?;
    let name = str_field(&b, "name")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid("Repository", "name", "missing_field", None))?;
    let name = sanitize_repo_name(name);
    let private = match str_field(&b, "visibility") {
        Some("private" | "internal") => true,
        Some("public") => false,
        _ => b.get("private").and_then(Value::as_bool).unwrap_or(false),
    };
    let description = str_field(&b, "description").map(str::to_string);
    let auto_init = b.get("auto_init").and_then(Value::as_bool).unwrap_or(false);
    let team_id = b.get("team_id").and_then(Value::as_u64);
    let (repo, dir) = s.with(|w| {
        w.org(&org).ok_or_else(not_found)?;
        if w.repo_id(&org, &name).is_some() {
            return Err(
                ApiError::new(422, "Repository creation failed.").with_errors(json!([{
                    "resource": "Repository",
                    "code": "custom",
                    "field": "name",
                    "message": "name already exists on this account"
                }])),
            );
        }
        let repo = new_repo(w, &s, &org, &name, description, private);
        if let Some(t) = team_id.and_then(|t| w.teams.get_mut(&t)) {
            t.repos.insert(repo.id, "pull".into());
        }
        let dir = s.git_dir(&repo.owner, &repo.name);
        w.repos.insert(repo.id, RepoRec::new(repo.clone()));
        Ok((repo, dir))
    })?;
    if let Some(dir) = dir {
        tokio::task::spawn_blocking(move || git_init_bare(&dir))
            .await
            .expect("git init task")
            .map_err(|e| ApiError::new(500, e))?;
    }
    if auto_init {
        let readme = match &repo.description {
            Some(d) => format!("# {}\n{d}\n", repo.name),
            None => format!("# {}\n", repo.name),
        };
        let s2 = s.clone();
        let r2 = repo.clone();
        tokio::task::spawn_blocking(move || {
            put_file(
                &s2,
                &r2,
                "main",
                "README.md",
                readme.into_bytes(),
                None,
                "Initial commit",
                None,
            )
        })
        .await
        .expect("auto_init task")?;
    }
    let v = s.with(|w| repo_json(&s, w, &w.repos[&repo.id]));
    reply(201, v)
}

async fn get_repo(State(s): State<S>, P((owner, repo)): P<(String, String)>) -> R {
    let v = s.with(|w| w.repo_rec(&owner, &repo).map(|r| repo_json(&s, w, r)));
    reply(200, v.ok_or_else(not_found)?)
}

async fn delete_repo(State(s): State<S>, P((owner, repo)): P<(String, String)>) -> R {
    let dir = s.with(|w| {
        let id = w.repo_id(&owner, &repo).ok_or_else(not_found)?;
        let rec = w.repos.remove(&id).expect("repo");
        for t in w.teams.values_mut() {
            t.repos.remove(&id);
        }
        w.comments.retain(|_, c| c.repo_id != id);
        Ok(s.git_dir(&rec.repo.owner, &rec.repo.name))
    })?;
    if let Some(dir) = dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    no_content()
}

async fn get_permission(
    State(s): State<S>,
    P((owner, repo, user)): P<(String, String, String)>,
) -> R {
    s.with(|w| {
        let rec = w.repo_rec(&owner, &repo).ok_or_else(not_found)?;
        let u = w.user(&user).ok_or_else(|| ApiError::new(404, format!("{user} is not a user")))?;
        let role = rec.permissions.get(&user.to_lowercase()).cloned().unwrap_or_else(|| "read".into());
        let permission = match role.as_str() {
            "admin" => "admin",
            "maintain" | "write" => "write",
            "triage" | "read" => "read",
            _ => "none",
        };
        let rank = ["none", "read", "triage", "write", "maintain", "admin"].iter().position(|r| *r == role).unwrap_or(0);
        let mut user_v = user_json(&s, &u.login, u.id, if u.bot { "Bot" } else { "User" });
        user_v["permissions"] = json!({
            "admin": rank >= 5, "maintain": rank >= 4, "push": rank >= 3, "triage": rank >= 2, "pull": rank >= 1
        });
        user_v["role_name"] = json!(role);
        reply(200, json!({"permission": permission, "role_name": role, "user": user_v}))
    })
}

// ----- teams --------------------------------------------------------------------

async fn list_teams(State(s): State<S>, P(org): P<String>, uri: Uri) -> R {
    let items = s.with(|w| {
        w.org(&org).ok_or_else(not_found)?;
        let lc = org.to_lowercase();
        let mut ts: Vec<&TeamRec> = w.teams.values().filter(|t| t.org == lc).collect();
        ts.sort_by_key(|t| t.name.to_lowercase());
        Ok(ts.into_iter().map(|t| team_json(&s, w, t, false)).collect())
    })?;
    paginate(&s, &uri, items)
}

fn string_list(b: &Value, k: &str) -> Result<Vec<String>, ApiError> {
    match b.get(k) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid("Team", k, "invalid", None))
            })
            .collect(),
        Some(_) => Err(invalid("Team", k, "invalid", None)),
    }
}

async fn create_team(State(s): State<S>, Extension(who): Who, P(org): P<String>, body: Bytes) -> R {
    let b = body_json(&body)?;
    let name = str_field(&b, "name")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid("Team", "name", "missing_field", None))?
        .to_string();
    let permission = str_field(&b, "permission").unwrap_or("pull").to_string();
    if permission != "pull" && permission != "push" {
        return Err(invalid(
            "Team",
            "permission",
            "invalid",
            Some("permission must be pull or push"),
        ));
    }
    let privacy = str_field(&b, "privacy").unwrap_or("secret").to_string();
    if privacy != "secret" && privacy != "closed" {
        return Err(invalid(
            "Team",
            "privacy",
            "invalid",
            Some("privacy must be secret or closed"),
        ));
    }
    let description = str_field(&b, "description").map(str::to_string);
    let maintainers = string_list(&b, "maintainers")?;
    let repo_names = string_list(&b, "repo_names")?;
    s.with(|w| {
        let org_login = w.org(&org).ok_or_else(not_found)?.login.clone();
        let slug = slugify(&name);
        let lc = org.to_lowercase();
        if w.teams
            .values()
            .any(|t| t.org == lc && (t.name.eq_ignore_ascii_case(&name) || t.slug == slug))
        {
            return Err(invalid(
                "Team",
                "name",
                "custom",
                Some("Name must be unique for this org"),
            ));
        }
        let mut members = Vec::new();
        for m in &maintainers {
            let u = w.user(m).ok_or_else(|| {
                invalid(
                    "Team",
                    "maintainers",
                    "invalid",
                    Some(&format!("{m} is not a user")),
                )
            })?;
            members.push(u.login.clone());
        }
        if who.personal
            && w.creator_joins_team
            && !members.iter().any(|m| m.eq_ignore_ascii_case(&who.login))
        {
            members.push(who.login.clone());
        }
        let mut repos = Vec::new();
        for full in &repo_names {
            let (owner, name) = full
                .split_once('/')
                .unwrap_or((org_login.as_str(), full.as_str()));
            if !owner.eq_ignore_ascii_case(&org_login) {
                return Err(invalid(
                    "Team",
                    "repo_names",
                    "invalid",
                    Some(&format!("{full} is not owned by {org_login}")),
                ));
            }
            let id = w.repo_id(owner, name).ok_or_else(|| {
                invalid(
                    "Team",
                    "repo_names",
                    "invalid",
                    Some(&format!("repository {full} not found")),
                )
            })?;
            repos.push(id);
        }
        let (id, _) = w.insert_team(&org_login, &name, description, &privacy, &permission);
        let t = w.teams.get_mut(&id).expect("team");
        for m in members {
            t.members.insert(m.to_lowercase(), (m, "maintainer".into()));
        }
        for r in repos {
            t.repos.insert(r, permission.clone());
        }
        reply(201, team_json(&s, w, &w.teams[&id], true))
    })
}

fn team_of(w: &World, org: &str, slug: &str) -> Result<u64, ApiError> {
    w.team_id(org, slug).ok_or_else(not_found)
}

async fn get_team(State(s): State<S>, P((org, slug)): P<(String, String)>) -> R {
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        reply(200, team_json(&s, w, &w.teams[&id], true))
    })
}

async fn update_team(State(s): State<S>, P((org, slug)): P<(String, String)>, body: Bytes) -> R {
    let b = body_json(&body)?;
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        if let Some(p) = str_field(&b, "permission") {
            if p != "pull" && p != "push" {
                return Err(invalid(
                    "Team",
                    "permission",
                    "invalid",
                    Some("permission must be pull or push"),
                ));
            }
        }
        if let Some(p) = str_field(&b, "privacy") {
            if p != "secret" && p != "closed" {
                return Err(invalid(
                    "Team",
                    "privacy",
                    "invalid",
                    Some("privacy must be secret or closed"),
                ));
            }
        }
        if let Some(n) = str_field(&b, "name") {
            let new_slug = slugify(n);
            let lc = org.to_lowercase();
            if w.teams
                .values()
                .any(|t| t.id != id && t.org == lc && t.slug == new_slug)
            {
                return Err(invalid(
                    "Team",
                    "name",
                    "custom",
                    Some("Name must be unique for this org"),
                ));
            }
        }
        let t = w.teams.get_mut(&id).expect("team");
        if let Some(n) = str_field(&b, "name") {
            t.name = n.to_string();
            t.slug = slugify(n);
        }
        if let Some(d) = b.get("description") {
            t.description = d.as_str().map(str::to_string);
        }
        if let Some(p) = str_field(&b, "privacy") {
            t.privacy = p.to_string();
        }
        if let Some(p) = str_field(&b, "permission") {
            t.permission = p.to_string();
        }
        reply(200, team_json(&s, w, &w.teams[&id], true))
    })
}

async fn delete_team(State(s): State<S>, P((org, slug)): P<(String, String)>) -> R {
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        w.teams.remove(&id);
        no_content()
    })
}

fn team_repo_json(s: &Shared, w: &World, rec: &RepoRec, permission: &str) -> Value {
    let mut v = repo_json(s, w, rec);
    let rank = ["pull", "triage", "push", "maintain", "admin"]
        .iter()
        .position(|p| *p == permission)
        .unwrap_or(0);
    v["permissions"] = json!({"admin": rank >= 4, "maintain": rank >= 3, "push": rank >= 2, "triage": rank >= 1, "pull": true});
    v["role_name"] = json!(match permission {
        "pull" => "read",
        "push" => "write",
        p => p,
    });
    v
}

async fn list_team_repos(State(s): State<S>, P((org, slug)): P<(String, String)>, uri: Uri) -> R {
    let items = s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        Ok(w.teams[&id]
            .repos
            .iter()
            .filter_map(|(rid, p)| w.repos.get(rid).map(|r| team_repo_json(&s, w, r, p)))
            .collect())
    })?;
    paginate(&s, &uri, items)
}

/// `GET /repos/{owner}/{repo}/teams`: teams with access, each with its
/// `permission` on this repo (as GitHub answers).
async fn list_repo_teams(State(s): State<S>, P((owner, repo)): P<(String, String)>, uri: Uri) -> R {
    let items = s.with(|w| {
        let rid = w.repo_id(&owner, &repo).ok_or_else(not_found)?;
        Ok(w.teams
            .values()
            .filter_map(|t| {
                t.repos.get(&rid).map(|p| {
                    let mut v = team_json(&s, w, t, false);
                    v["permission"] = Value::String(p.clone());
                    v
                })
            })
            .collect::<Vec<Value>>())
    })?;
    paginate(&s, &uri, items)
}

async fn check_team_repo(
    State(s): State<S>,
    P((org, slug, owner, repo)): P<(String, String, String, String)>,
    headers: HeaderMap,
) -> R {
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        let rid = w.repo_id(&owner, &repo).ok_or_else(not_found)?;
        let p = w.teams[&id].repos.get(&rid).ok_or_else(not_found)?;
        if header_str(&headers, "accept").is_some_and(|a| a.contains("repository+json")) {
            reply(200, team_repo_json(&s, w, &w.repos[&rid], p))
        } else {
            no_content()
        }
    })
}

async fn put_team_repo(
    State(s): State<S>,
    P((org, slug, owner, repo)): P<(String, String, String, String)>,
    body: Bytes,
) -> R {
    let b = body_json(&body)?;
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        let rid = w.repo_id(&owner, &repo).ok_or_else(not_found)?;
        if !owner.eq_ignore_ascii_case(&org) {
            return Err(invalid(
                "TeamRepository",
                "repository",
                "custom",
                Some("Repository must be owned by the team's organization"),
            ));
        }
        let permission = str_field(&b, "permission")
            .map(str::to_string)
            .unwrap_or_else(|| w.teams[&id].permission.clone());
        if !["pull", "triage", "push", "maintain", "admin"].contains(&permission.as_str()) {
            return Err(invalid("TeamRepository", "permission", "invalid", None));
        }
        w.teams
            .get_mut(&id)
            .expect("team")
            .repos
            .insert(rid, permission);
        no_content()
    })
}

async fn delete_team_repo(
    State(s): State<S>,
    P((org, slug, owner, repo)): P<(String, String, String, String)>,
) -> R {
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        let rid = w.repo_id(&owner, &repo).ok_or_else(not_found)?;
        w.teams.get_mut(&id).expect("team").repos.remove(&rid);
        no_content()
    })
}

async fn list_team_members(State(s): State<S>, P((org, slug)): P<(String, String)>, uri: Uri) -> R {
    let role = query_get(&uri, "role").unwrap_or_else(|| "all".into());
    let items = s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        Ok(w.teams[&id]
            .members
            .values()
            .filter(|(_, r)| role == "all" || *r == role)
            .map(|(l, _)| login_json(&s, w, l))
            .collect())
    })?;
    paginate(&s, &uri, items)
}

fn membership_json(s: &Shared, w: &World, team: u64, login: &str, role: &str) -> Value {
    let org_id = w.org(&w.teams[&team].org).map(|o| o.id).unwrap_or(0);
    json!({
        "url": format!("{}/organizations/{org_id}/team/{team}/memberships/{login}", s.base),
        "role": role,
        "state": "active"
    })
}

async fn get_membership(
    State(s): State<S>,
    P((org, slug, user)): P<(String, String, String)>,
) -> R {
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        let (login, role) = w.teams[&id]
            .members
            .get(&user.to_lowercase())
            .cloned()
            .ok_or_else(not_found)?;
        reply(200, membership_json(&s, w, id, &login, &role))
    })
}

async fn put_membership(
    State(s): State<S>,
    P((org, slug, user)): P<(String, String, String)>,
    body: Bytes,
) -> R {
    let b = body_json(&body)?;
    let role = str_field(&b, "role").unwrap_or("member").to_string();
    if role != "member" && role != "maintainer" {
        return Err(invalid(
            "TeamMember",
            "role",
            "invalid",
            Some("role must be member or maintainer"),
        ));
    }
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        let login = w
            .user(&user)
            .filter(|u| !u.bot)
            .ok_or_else(not_found)?
            .login
            .clone();
        w.teams
            .get_mut(&id)
            .expect("team")
            .members
            .insert(login.to_lowercase(), (login.clone(), role.clone()));
        reply(200, membership_json(&s, w, id, &login, &role))
    })
}

async fn delete_membership(
    State(s): State<S>,
    P((org, slug, user)): P<(String, String, String)>,
) -> R {
    s.with(|w| {
        let id = team_of(w, &org, &slug)?;
        w.user(&user).ok_or_else(not_found)?;
        w.teams
            .get_mut(&id)
            .expect("team")
            .members
            .remove(&user.to_lowercase());
        no_content()
    })
}

// ----- hooks --------------------------------------------------------------------

async fn list_hooks(State(s): State<S>, P((owner, repo)): P<(String, String)>, uri: Uri) -> R {
    let items = s.with(|w| {
        let r = w.repo_rec(&owner, &repo).ok_or_else(not_found)?;
        Ok(r.hooks
            .iter()
            .map(|(h, t)| hook_json(&s, &r.repo.full_name, h, *t))
            .collect())
    })?;
    paginate(&s, &uri, items)
}

async fn create_hook(State(s): State<S>, P((owner, repo)): P<(String, String)>, body: Bytes) -> R {
    let b = body_json(&body)?;
    if str_field(&b, "name").is_some_and(|n| n != "web") {
        return Err(invalid("Hook", "name", "invalid", Some("name must be web")));
    }
    let config = b.get("config").cloned().unwrap_or(Value::Null);
    let url = str_field(&config, "url")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::new(422, "Validation Failed").with_errors(json!([{"resource": "Hook", "code": "custom", "message": "Config must contain url"}])))?
        .to_string();
    let content_type = str_field(&config, "content_type")
        .unwrap_or("form")
        .to_string();
    if content_type != "json" && content_type != "form" {
        return Err(invalid(
            "Hook",
            "content_type",
            "invalid",
            Some("content_type must be json or form"),
        ));
    }
    let insecure_ssl = match config.get("insecure_ssl") {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".into(),
    };
    let secret = str_field(&config, "secret")
        .filter(|x| !x.is_empty())
        .map(str::to_string);
    let events: Vec<String> = match b.get("events") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => vec!["push".into()],
    };
    let active = b.get("active").and_then(Value::as_bool).unwrap_or(true);
    s.with(|w| {
        w.repo_id(&owner, &repo).ok_or_else(not_found)?;
        let id = w.id();
        let r = w.repo_mut(&owner, &repo).expect("repo");
        if r.hooks.iter().any(|(h, _)| h.url == url) {
            return Err(ApiError::new(422, "Validation Failed").with_errors(json!([{
                "resource": "Hook", "code": "custom", "message": "Hook already exists on this repository"
            }])));
        }
        let hook = Hook { id, url, content_type, secret, events, active, insecure_ssl };
        let now = Utc::now();
        r.hooks.push((hook.clone(), now));
        reply(201, hook_json(&s, &r.repo.full_name, &hook, now))
    })
}

async fn get_hook(State(s): State<S>, P((owner, repo, id)): P<(String, String, String)>) -> R {
    let id = parse_id(&id)?;
    s.with(|w| {
        let r = w.repo_rec(&owner, &repo).ok_or_else(not_found)?;
        let (h, t) = r
            .hooks
            .iter()
            .find(|(h, _)| h.id == id)
            .ok_or_else(not_found)?;
        reply(200, hook_json(&s, &r.repo.full_name, h, *t))
    })
}

async fn delete_hook(State(s): State<S>, P((owner, repo, id)): P<(String, String, String)>) -> R {
    let id = parse_id(&id)?;
    s.with(|w| {
        let r = w.repo_mut(&owner, &repo).ok_or_else(not_found)?;
        let before = r.hooks.len();
        r.hooks.retain(|(h, _)| h.id != id);
        if r.hooks.len() == before {
            return Err(not_found());
        }
        no_content()
    })
}

// ----- issues, comments, reactions ------------------------------------------------

async fn get_issue(State(s): State<S>, P((owner, repo, number)): P<(String, String, String)>) -> R {
    let n = parse_id(&number)?;
    s.with(|w| {
        let r = w.repo_rec(&owner, &repo).ok_or_else(not_found)?;
        let i = r.issues.get(&n).ok_or_else(not_found)?;
        reply(200, issue_json(&s, w, r, i))
    })
}

/// The repo id of an existing issue.
fn issue_of(w: &World, owner: &str, repo: &str, number: &str) -> Result<(u64, u64), ApiError> {
    let n = parse_id(number)?;
    let r = w.repo_rec(owner, repo).ok_or_else(not_found)?;
    r.issues.get(&n).ok_or_else(not_found)?;
    Ok((r.repo.id, n))
}

async fn list_comments(
    State(s): State<S>,
    P((owner, repo, number)): P<(String, String, String)>,
    uri: Uri,
) -> R {
    let items = s.with(|w| {
        let (rid, n) = issue_of(w, &owner, &repo, &number)?;
        Ok(w.comments
            .values()
            .filter(|c| c.repo_id == rid && c.issue == n)
            .map(|c| comment_json(&s, w, c))
            .collect())
    })?;
    paginate(&s, &uri, items)
}

async fn create_comment(
    State(s): State<S>,
    Extension(who): Who,
    P((owner, repo, number)): P<(String, String, String)>,
    body: Bytes,
) -> R {
    let b = body_json(&body)?;
    let text = str_field(&b, "body")
        .ok_or_else(|| invalid("IssueComment", "body", "missing_field", None))?
        .to_string();
    s.with(|w| {
        let (rid, n) = issue_of(w, &owner, &repo, &number)?;
        let id = insert_comment(w, rid, n, &who.login, &text);
        reply(201, comment_json(&s, w, &w.comments[&id]))
    })
}

/// An existing comment of the repo.
fn comment_of(w: &World, owner: &str, repo: &str, id: &str) -> Result<u64, ApiError> {
    let id = parse_id(id)?;
    let rid = w.repo_id(owner, repo).ok_or_else(not_found)?;
    w.comments
        .get(&id)
        .filter(|c| c.repo_id == rid)
        .ok_or_else(not_found)?;
    Ok(id)
}

async fn get_comment(State(s): State<S>, P((owner, repo, id)): P<(String, String, String)>) -> R {
    s.with(|w| {
        let id = comment_of(w, &owner, &repo, &id)?;
        reply(200, comment_json(&s, w, &w.comments[&id]))
    })
}

async fn update_comment(
    State(s): State<S>,
    P((owner, repo, id)): P<(String, String, String)>,
    body: Bytes,
) -> R {
    let b = body_json(&body)?;
    let text = str_field(&b, "body")
        .ok_or_else(|| invalid("IssueComment", "body", "missing_field", None))?
        .to_string();
    s.with(|w| {
        let id = comment_of(w, &owner, &repo, &id)?;
        let c = w.comments.get_mut(&id).expect("comment");
        c.body = text;
        c.edits += 1;
        c.updated_at = Utc::now();
        reply(200, comment_json(&s, w, &w.comments[&id]))
    })
}

async fn delete_comment(
    State(s): State<S>,
    P((owner, repo, id)): P<(String, String, String)>,
) -> R {
    s.with(|w| {
        let id = comment_of(w, &owner, &repo, &id)?;
        w.comments.remove(&id);
        no_content()
    })
}

fn reaction_content(b: &Value) -> Result<String, ApiError> {
    let c = str_field(b, "content")
        .ok_or_else(|| invalid("Reaction", "content", "missing_field", None))?;
    if !REACTIONS.contains(&c) {
        return Err(invalid("Reaction", "content", "invalid", None));
    }
    Ok(c.to_string())
}

/// Add a reaction to `list` unless `user` already reacted with `content`:
/// 201 with the new one, or 200 with the existing one.
fn add_reaction(s: &Shared, w: &mut World, target: ReactionTarget, user: &str, content: &str) -> R {
    let id = w.id();
    let list = match target {
        ReactionTarget::Comment(c) => &mut w.comments.get_mut(&c).expect("comment").reactions,
        ReactionTarget::Issue(r, n) => {
            &mut w
                .repos
                .get_mut(&r)
                .expect("repo")
                .issues
                .get_mut(&n)
                .expect("issue")
                .reactions
        }
    };
    if let Some(existing) = list
        .iter()
        .find(|r| r.user.eq_ignore_ascii_case(user) && r.content == content)
        .cloned()
    {
        return reply(200, reaction_json(s, w, &existing));
    }
    let r = ReactionRec {
        id,
        user: user.to_string(),
        content: content.to_string(),
        created_at: Utc::now(),
    };
    list.push(r.clone());
    reply(201, reaction_json(s, w, &r))
}

enum ReactionTarget {
    Comment(u64),
    Issue(u64, u64),
}

fn reactions_page(s: &Shared, w: &World, list: &[ReactionRec], uri: &Uri) -> Vec<Value> {
    let want = query_get(uri, "content");
    list.iter()
        .filter(|r| want.as_deref().is_none_or(|c| r.content == c))
        .map(|r| reaction_json(s, w, r))
        .collect()
}

async fn create_comment_reaction(
    State(s): State<S>,
    Extension(who): Who,
    P((owner, repo, id)): P<(String, String, String)>,
    body: Bytes,
) -> R {
    let content = reaction_content(&body_json(&body)?)?;
    s.with(|w| {
        let id = comment_of(w, &owner, &repo, &id)?;
        add_reaction(&s, w, ReactionTarget::Comment(id), &who.login, &content)
    })
}

async fn list_comment_reactions(
    State(s): State<S>,
    P((owner, repo, id)): P<(String, String, String)>,
    uri: Uri,
) -> R {
    let items = s.with(|w| {
        let id = comment_of(w, &owner, &repo, &id)?;
        Ok(reactions_page(&s, w, &w.comments[&id].reactions, &uri))
    })?;
    paginate(&s, &uri, items)
}

async fn delete_comment_reaction(
    State(s): State<S>,
    P((owner, repo, id, reaction)): P<(String, String, String, String)>,
) -> R {
    let reaction = parse_id(&reaction)?;
    s.with(|w| {
        let id = comment_of(w, &owner, &repo, &id)?;
        let list = &mut w.comments.get_mut(&id).expect("comment").reactions;
        let before = list.len();
        list.retain(|r| r.id != reaction);
        if list.len() == before {
            return Err(not_found());
        }
        no_content()
    })
}

async fn create_issue_reaction(
    State(s): State<S>,
    Extension(who): Who,
    P((owner, repo, number)): P<(String, String, String)>,
    body: Bytes,
) -> R {
    let content = reaction_content(&body_json(&body)?)?;
    s.with(|w| {
        let (rid, n) = issue_of(w, &owner, &repo, &number)?;
        add_reaction(&s, w, ReactionTarget::Issue(rid, n), &who.login, &content)
    })
}

async fn list_issue_reactions(
    State(s): State<S>,
    P((owner, repo, number)): P<(String, String, String)>,
    uri: Uri,
) -> R {
    let items = s.with(|w| {
        let (rid, n) = issue_of(w, &owner, &repo, &number)?;
        Ok(reactions_page(
            &s,
            w,
            &w.repos[&rid].issues[&n].reactions,
            &uri,
        ))
    })?;
    paginate(&s, &uri, items)
}

// ----- contents -----------------------------------------------------------------

enum Entry {
    File { bytes: Vec<u8>, sha: String },
    Dir(Vec<DirEnt>),
}

struct DirEnt {
    name: String,
    kind: &'static str,
    sha: String,
    size: usize,
}

/// Git-style blob id for the memory store (SHA-256 based, 40 hex digits:
/// opaque like GitHub's).
fn blob_sha(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(format!("blob {}\0", bytes.len()));
    h.update(bytes);
    h.finalize()
        .iter()
        .take(20)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random_sha() -> String {
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| format!("{:02x}", rng.gen::<u8>()))
        .collect()
}

/// A file or directory of a repo on `branch` (git root or memory store).
fn read_entry(s: &Shared, owner: &str, repo: &str, branch: &str, path: &str) -> Option<Entry> {
    let path = path.trim_matches('/');
    let (repo, files) = s.with(|w| {
        let r = w.repo_rec(owner, repo)?;
        let files = if s.git_root.is_some() {
            BTreeMap::new()
        } else {
            r.files
                .iter()
                .filter(|((b, _), _)| b == branch)
                .map(|((_, p), v)| (p.clone(), v.clone()))
                .collect()
        };
        Some((r.repo.clone(), files))
    })?;
    if let Some(dir) = s.git_dir(&repo.owner, &repo.name) {
        return git_entry(&dir, branch, path);
    }
    if let Some((bytes, sha)) = files.get(path) {
        return Some(Entry::File {
            bytes: bytes.clone(),
            sha: sha.clone(),
        });
    }
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    };
    let mut children: BTreeMap<String, DirEnt> = BTreeMap::new();
    for (p, (bytes, sha)) in files.range(prefix.clone()..) {
        let Some(rest) = p.strip_prefix(&prefix) else {
            break;
        };
        let ent = match rest.split_once('/') {
            Some((d, _)) => DirEnt {
                name: d.into(),
                kind: "dir",
                sha: blob_sha(format!("{prefix}{d}").as_bytes()),
                size: 0,
            },
            None => DirEnt {
                name: rest.into(),
                kind: "file",
                sha: sha.clone(),
                size: bytes.len(),
            },
        };
        children.entry(ent.name.clone()).or_insert(ent);
    }
    (!children.is_empty()).then(|| Entry::Dir(children.into_values().collect()))
}

/// Create or update one file with the contents API's rules; returns
/// (created, blob sha, commit sha).
#[allow(clippy::too_many_arguments)]
fn put_file(
    s: &Shared,
    repo: &Repo,
    branch: &str,
    path: &str,
    bytes: Vec<u8>,
    sha: Option<&str>,
    message: &str,
    author: Option<(String, String)>,
) -> Result<(bool, String, String), ApiError> {
    let check = |current: Option<&str>| -> Result<(), ApiError> {
        match (current, sha) {
            (Some(_), None) => Err(ApiError::new(
                422,
                "Invalid request.\n\n\"sha\" wasn't supplied.",
            )),
            (Some(cur), Some(given)) if cur != given => {
                Err(ApiError::new(409, format!("{path} does not match {given}")))
            }
            _ => Ok(()),
        }
    };
    if let Some(dir) = s.git_dir(&repo.owner, &repo.name) {
        let _g = s.git_lock.lock().unwrap_or_else(|e| e.into_inner());
        let has_commits = git(&dir, &["rev-parse", "--verify", "-q", "HEAD"], None, &[]).is_ok();
        if has_commits
            && git(
                &dir,
                &[
                    "rev-parse",
                    "--verify",
                    "-q",
                    &format!("refs/heads/{branch}"),
                ],
                None,
                &[],
            )
            .is_err()
        {
            return Err(ApiError::new(404, format!("Branch {branch} not found")));
        }
        let current = git_read(&dir, branch, path).map(|(_, sha)| sha);
        check(current.as_deref())?;
        let commit = git_commit(&dir, branch, &[(path.to_string(), bytes)], message, author)
            .map_err(|e| ApiError::new(500, e))?;
        let blob = git_read(&dir, branch, path)
            .map(|(_, sha)| sha)
            .unwrap_or_default();
        return Ok((current.is_none(), blob, commit));
    }
    s.with(|w| {
        let r = w.repo_mut(&repo.owner, &repo.name).ok_or_else(not_found)?;
        let branch_known =
            branch == r.repo.default_branch || r.files.keys().any(|(b, _)| b == branch);
        if !branch_known {
            return Err(ApiError::new(404, format!("Branch {branch} not found")));
        }
        let key = (branch.to_string(), path.to_string());
        let current = r.files.get(&key).map(|(_, sha)| sha.clone());
        check(current.as_deref())?;
        let blob = blob_sha(&bytes);
        r.files.insert(key, (bytes, blob.clone()));
        r.repo.pushed_at = Utc::now();
        Ok((current.is_none(), blob, random_sha()))
    })
}

fn content_json(
    s: &Shared,
    repo: &Repo,
    branch: &str,
    path: &str,
    kind: &str,
    sha: &str,
    size: usize,
) -> Value {
    let api = format!("{}/repos/{}", s.base, repo.full_name);
    let url = format!("{api}/contents/{path}?ref={branch}");
    let (html, git_url, download) = if kind == "dir" {
        (
            format!("{}/tree/{branch}/{path}", repo.html_url),
            format!("{api}/git/trees/{sha}"),
            Value::Null,
        )
    } else {
        (
            format!("{}/blob/{branch}/{path}", repo.html_url),
            format!("{api}/git/blobs/{sha}"),
            json!(format!(
                "https://raw.github.example/{}/{branch}/{path}",
                repo.full_name
            )),
        )
    };
    json!({
        "type": kind,
        "size": size,
        "name": path.rsplit('/').next().unwrap_or(path),
        "path": path,
        "sha": sha,
        "url": url,
        "git_url": git_url,
        "html_url": html,
        "download_url": download,
        "_links": {"self": url, "git": git_url, "html": html}
    })
}

/// Base64 with a newline every 60 characters, like GitHub's `content`.
fn wrapped_b64(bytes: &[u8]) -> String {
    let enc = B64.encode(bytes);
    let mut out = String::with_capacity(enc.len() + enc.len() / 60 + 1);
    for chunk in enc.as_bytes().chunks(60) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ascii"));
        out.push('\n');
    }
    out
}

async fn contents_get(s: S, owner: String, repo: String, path: String, uri: Uri) -> R {
    let path = path.trim_matches('/').to_string();
    let repo = s
        .with(|w| w.repo_rec(&owner, &repo).map(|r| r.repo.clone()))
        .ok_or_else(not_found)?;
    let branch = query_get(&uri, "ref").unwrap_or_else(|| repo.default_branch.clone());
    let (s2, r2, b2, p2) = (s.clone(), repo.clone(), branch.clone(), path.clone());
    let entry = tokio::task::spawn_blocking(move || read_entry(&s2, &r2.owner, &r2.name, &b2, &p2))
        .await
        .expect("read task");
    match entry {
        None if path.is_empty() => Err(ApiError::new(404, "This repository is empty.")),
        None => Err(not_found()),
        Some(Entry::File { bytes, sha }) => {
            let mut v = content_json(&s, &repo, &branch, &path, "file", &sha, bytes.len());
            v["content"] = json!(wrapped_b64(&bytes));
            v["encoding"] = json!("base64");
            reply(200, v)
        }
        Some(Entry::Dir(ents)) => {
            let list = ents
                .iter()
                .map(|e| {
                    let p = if path.is_empty() {
                        e.name.clone()
                    } else {
                        format!("{path}/{}", e.name)
                    };
                    content_json(&s, &repo, &branch, &p, e.kind, &e.sha, e.size)
                })
                .collect();
            reply(200, Value::Array(list))
        }
    }
}

async fn get_contents_root(
    State(s): State<S>,
    P((owner, repo)): P<(String, String)>,
    uri: Uri,
) -> R {
    contents_get(s, owner, repo, String::new(), uri).await
}

async fn get_contents(
    State(s): State<S>,
    P((owner, repo, path)): P<(String, String, String)>,
    uri: Uri,
) -> R {
    contents_get(s, owner, repo, path, uri).await
}

async fn put_contents(
    State(s): State<S>,
    Extension(who): Who,
    P((owner, repo, path)): P<(String, String, String)>,
    body: Bytes,
) -> R {
    let b = body_json(&body)?;
    let path = path.trim_matches('/').to_string();
    let message = str_field(&b, "message")
        .ok_or_else(|| ApiError::new(422, "Invalid request.\n\n\"message\" wasn't supplied."))?
        .to_string();
    let content = str_field(&b, "content")
        .ok_or_else(|| ApiError::new(422, "Invalid request.\n\n\"content\" wasn't supplied."))?;
    let compact: String = content.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = B64
        .decode(compact)
        .map_err(|_| ApiError::new(422, "content is not valid Base64"))?;
    let sha = str_field(&b, "sha").map(str::to_string);
    let person = |k: &str| {
        b.get(k).and_then(|p| {
            Some((
                str_field(p, "name")?.to_string(),
                str_field(p, "email")?.to_string(),
            ))
        })
    };
    let author = person("committer")
        .or_else(|| person("author"))
        .or_else(|| {
            let id = s.with(|w| w.user(&who.login).map(|u| u.id).unwrap_or(0));
            Some((
                who.login.clone(),
                format!("{id}+{}@users.noreply.github.example", who.login),
            ))
        });
    let repo = s
        .with(|w| w.repo_rec(&owner, &repo).map(|r| r.repo.clone()))
        .ok_or_else(not_found)?;
    let branch = str_field(&b, "branch")
        .map(str::to_string)
        .unwrap_or_else(|| repo.default_branch.clone());
    let (s2, r2, b2, p2, m2) = (
        s.clone(),
        repo.clone(),
        branch.clone(),
        path.clone(),
        message.clone(),
    );
    let a2 = author.clone();
    let size = bytes.len();
    let (created, blob, commit) = tokio::task::spawn_blocking(move || {
        put_file(&s2, &r2, &b2, &p2, bytes, sha.as_deref(), &m2, a2)
    })
    .await
    .expect("put task")?;
    s.with(|w| {
        if let Some(r) = w.repo_mut(&repo.owner, &repo.name) {
            r.repo.pushed_at = Utc::now();
        }
    });
    let (name, email) = author.unwrap_or_default();
    let now = ts(Utc::now());
    let api = format!("{}/repos/{}", s.base, repo.full_name);
    let person = json!({"name": name, "email": email, "date": now});
    let v = json!({
        "content": content_json(&s, &repo, &branch, &path, "file", &blob, size),
        "commit": {
            "sha": commit,
            "node_id": B64.encode(format!("commit:{commit}")),
            "url": format!("{api}/git/commits/{commit}"),
            "html_url": format!("{}/commit/{commit}", repo.html_url),
            "author": person,
            "committer": person,
            "message": message,
            "tree": {"url": format!("{api}/git/trees/{commit}"), "sha": commit},
            "parents": [],
            "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null}
        }
    });
    reply(if created { 201 } else { 200 }, v)
}

// ---------------------------------------------------------------------------
// Git plumbing on the bare repositories
// ---------------------------------------------------------------------------

/// Run git in `dir`; stdout on success.
fn git(
    dir: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, &str)],
) -> Result<Vec<u8>, String> {
    use std::io::Write;
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot run git: {e}"))?;
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(data)
            .map_err(|e| format!("git stdin: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("git: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn git_init_bare(dir: &Path) -> Result<(), String> {
    let parent = dir.parent().expect("repo dir has a parent");
    std::fs::create_dir_all(parent).map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
    let dir_s = dir.to_str().ok_or("non-UTF-8 git path")?;
    git(
        parent,
        &["init", "--bare", "-q", "-b", "main", dir_s],
        None,
        &[],
    )
    .map(|_| ())
}

/// Look up `branch:path` with one `git cat-file --batch`.
fn git_object(dir: &Path, spec: &str) -> Option<(String, String, Vec<u8>)> {
    let out = git(
        dir,
        &["cat-file", "--batch"],
        Some(format!("{spec}\n").as_bytes()),
        &[],
    )
    .ok()?;
    let nl = out.iter().position(|&c| c == b'\n')?;
    let header = String::from_utf8_lossy(&out[..nl]).to_string();
    let mut parts = header.split(' ');
    let (sha, kind, size) = (parts.next()?, parts.next()?, parts.next()?);
    let size: usize = size.parse().ok()?;
    let body = out.get(nl + 1..nl + 1 + size)?.to_vec();
    Some((sha.to_string(), kind.to_string(), body))
}

/// A file's bytes and blob sha on `branch`.
fn git_read(dir: &Path, branch: &str, path: &str) -> Option<(Vec<u8>, String)> {
    match git_object(
        dir,
        &format!("refs/heads/{branch}:{}", path.trim_matches('/')),
    )? {
        (sha, kind, body) if kind == "blob" => Some((body, sha)),
        _ => None,
    }
}

fn git_entry(dir: &Path, branch: &str, path: &str) -> Option<Entry> {
    let spec = format!("refs/heads/{branch}:{path}");
    let (sha, kind, body) = git_object(dir, &spec)?;
    if kind == "blob" {
        return Some(Entry::File { bytes: body, sha });
    }
    if kind != "tree" {
        return None;
    }
    let out = git(dir, &["ls-tree", "-l", &spec], None, &[]).ok()?;
    let ents = String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|line| {
            let (meta, name) = line.split_once('\t')?;
            let f: Vec<&str> = meta.split_whitespace().collect();
            let kind = match *f.get(1)? {
                "blob" => "file",
                "tree" => "dir",
                _ => "submodule",
            };
            Some(DirEnt {
                name: name.to_string(),
                kind,
                sha: f.get(2)?.to_string(),
                size: f.get(3)?.parse().unwrap_or(0),
            })
        })
        .collect::<Vec<_>>();
    (!ents.is_empty()).then_some(Entry::Dir(ents))
}

/// Commit `files` on top of `branch` (or as its first commit) with git
/// plumbing and a temporary index; returns the commit sha.
fn git_commit(
    dir: &Path,
    branch: &str,
    files: &[(String, Vec<u8>)],
    message: &str,
    author: Option<(String, String)>,
) -> Result<String, String> {
    let tmp = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let index = tmp.path().join("index");
    let index = index.to_str().ok_or("non-UTF-8 temp path")?.to_string();
    let (name, email) =
        author.unwrap_or_else(|| ("Fake GitHub".into(), "fake@github.example".into()));
    let env = [
        ("GIT_INDEX_FILE", index.as_str()),
        ("GIT_AUTHOR_NAME", name.as_str()),
        ("GIT_AUTHOR_EMAIL", email.as_str()),
        ("GIT_COMMITTER_NAME", name.as_str()),
        ("GIT_COMMITTER_EMAIL", email.as_str()),
    ];
    let trim = |v: Vec<u8>| String::from_utf8_lossy(&v).trim().to_string();
    let parent = git(
        dir,
        &[
            "rev-parse",
            "--verify",
            "-q",
            &format!("refs/heads/{branch}^{{commit}}"),
        ],
        None,
        &[],
    )
    .ok()
    .map(trim);
    if let Some(p) = &parent {
        git(dir, &["read-tree", p], None, &env)?;
    }
    for (path, bytes) in files {
        let blob = trim(git(
            dir,
            &["hash-object", "-w", "--stdin"],
            Some(bytes),
            &env,
        )?);
        let info = format!("100644,{blob},{}", path.trim_matches('/'));
        git(
            dir,
            &["update-index", "--add", "--cacheinfo", &info],
            None,
            &env,
        )?;
    }
    let tree = trim(git(dir, &["write-tree"], None, &env)?);
    let mut args = vec!["commit-tree", tree.as_str(), "-m", message];
    if let Some(p) = &parent {
        args.extend(["-p", p.as_str()]);
    }
    let commit = trim(git(dir, &args, None, &env)?);
    git(
        dir,
        &["update-ref", &format!("refs/heads/{branch}"), &commit],
        None,
        &[],
    )?;
    Ok(commit)
}
