//! The server handle: start the fake, seed and inspect its world.

#![allow(unused_imports)]

use super::*;

// ---------------------------------------------------------------------------
// The server handle
// ---------------------------------------------------------------------------

pub(crate) struct Shared {
    pub(crate) world: Mutex<World>,
    /// `http://127.0.0.1:PORT`
    pub(crate) base: String,
    pub(crate) git_root: Option<tempfile::TempDir>,
    /// Serialises writes into the bare repos.
    pub(crate) git_lock: Mutex<()>,
    pub(crate) jwt_key: jsonwebtoken::DecodingKey,
    pub(crate) started: Instant,
}

impl Shared {
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        f(&mut self.lock())
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn git_dir(&self, owner: &str, name: &str) -> Option<PathBuf> {
        self.git_root
            .as_ref()
            .map(|root| root.path().join(owner).join(format!("{name}.git")))
    }
}

pub(crate) type S = Arc<Shared>;

/// The fake GitHub server. Cheap to clone; all clones share one world.
#[derive(Clone)]
pub struct FakeGitHub {
    pub(crate) s: S,
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

    pub(crate) async fn start_inner(git: bool) -> FakeGitHub {
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

    /// Uninstall the App from an account (as its owner would).
    pub fn remove_installation(&self, id: u64) {
        self.s.with(|w| {
            w.installations.remove(&id);
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
    /// Sets a repo's description, as its owner would on GitHub.
    pub fn set_description(&self, owner: &str, name: &str, description: &str) {
        self.s.with(|w| {
            let id = w.repo_id(owner, name).expect("repo");
            w.repos.get_mut(&id).expect("repo").repo.description = Some(description.to_string());
        })
    }

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

    /// Archives a repo (its owner did, on GitHub).
    pub fn set_archived(&self, owner: &str, name: &str) {
        self.s.with(|w| {
            w.repo_mut(owner, name)
                .unwrap_or_else(|| panic!("no repo {owner}/{name}"))
                .repo
                .archived = true;
        })
    }

    pub fn repo(&self, owner: &str, name: &str) -> Option<Repo> {
        self.s
            .with(|w| w.repo_rec(owner, name).map(|r| r.repo.clone()))
    }

    /// The repos of `owner`, in creation order.
    /// The names of `owner`'s repos that `keep` keeps.
    pub fn repo_names(&self, owner: &str, keep: impl Fn(&str) -> bool) -> Vec<String> {
        let repos = self.repos(owner).into_iter();
        repos.map(|r| r.name).filter(|n| keep(n)).collect()
    }

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
            let login = w.known_login(user);
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
    /// An issue's title and body.
    pub fn issue(&self, owner: &str, repo: &str, number: u64) -> Option<IssueView> {
        self.s.with(|w| {
            w.repo_rec(owner, repo)
                .and_then(|r| r.issues.get(&number))
                .map(|i| IssueView {
                    title: i.title.clone(),
                    body: i.body.clone(),
                })
        })
    }

    /// Replaces an issue's body (a person edited it); returns the old one.
    pub fn edit_issue(&self, owner: &str, repo: &str, number: u64, body: &str) -> String {
        self.s.with(|w| {
            let i = w
                .repo_mut(owner, repo)
                .and_then(|r| r.issues.get_mut(&number))
                .unwrap_or_else(|| panic!("no issue {owner}/{repo}#{number}"));
            std::mem::replace(&mut i.body, body.to_string())
        })
    }

    /// The names of the labels on an issue.
    pub fn issue_labels(&self, owner: &str, repo: &str, issue: u64) -> Vec<String> {
        self.s.with(|w| {
            w.repo_rec(owner, repo)
                .and_then(|r| r.issues.get(&issue))
                .map(|i| i.labels.clone())
                .unwrap_or_default()
        })
    }

    /// Commits one file to a repo's default branch (as a person would).
    pub fn put_file(&self, owner: &str, repo: &str, path: &str, text: &str) {
        let r = self
            .repo(owner, repo)
            .unwrap_or_else(|| panic!("no repo {owner}/{repo}"));
        let branch = r.default_branch.clone();
        put_file(
            &self.s,
            &r,
            &branch,
            path,
            text.as_bytes().to_vec(),
            None,
            "seed",
            None,
        )
        .unwrap_or_else(|e| panic!("put {path}: {}", e.message));
    }

    /// The labels of a repo.
    pub fn labels(&self, owner: &str, repo: &str) -> Vec<LabelRec> {
        self.s.with(|w| {
            w.repo_rec(owner, repo)
                .map(|r| r.labels.clone())
                .unwrap_or_default()
        })
    }

    /// `open` or `closed`.
    pub fn issue_state(&self, owner: &str, repo: &str, issue: u64) -> Option<String> {
        self.s.with(|w| {
            w.repo_rec(owner, repo)
                .and_then(|r| r.issues.get(&issue))
                .map(|i| i.state.clone())
        })
    }

    /// The commit statuses set on a repo, oldest first.
    pub fn statuses(&self, owner: &str, repo: &str) -> Vec<CommitStatusRec> {
        self.s.with(|w| {
            w.repo_rec(owner, repo)
                .map(|r| r.statuses.clone())
                .unwrap_or_default()
        })
    }

    /// Sets one permission of an installation (e.g. `statuses` to `read`),
    /// as an org owner who accepted fewer permissions would have it.
    pub fn set_installation_permission(&self, id: u64, name: &str, level: &str) {
        self.s.with(|w| {
            let p = w
                .installation_permissions
                .entry(id)
                .or_insert_with(default_permissions);
            p[name] = Value::String(level.to_string());
        })
    }

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

    /// A repo whose `main` branch holds `files` (a fake with git).
    pub fn add_repo_with_files(&self, owner: &str, name: &str, files: &[(&str, &str)]) -> u64 {
        let id = self.add_repo(owner, name);
        self.seed_git(owner, name, "main", files);
        id
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
                    labels: Vec::new(),
                    state: "open".into(),
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
            let login = w.known_login(author);
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

    /// A user edits their comment; returns the body it had.
    pub fn edit_comment(&self, comment_id: u64, body: &str) -> String {
        self.s.with(|w| {
            let c = w.comments.get_mut(&comment_id).expect("comment");
            c.updated_at = Utc::now();
            std::mem::replace(&mut c.body, body.to_string())
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

    /// The [`FakeGitHub::calls`] that `pred` keeps.
    pub fn calls_where(&self, pred: impl Fn(&str) -> bool) -> Vec<String> {
        let mut calls = self.calls();
        calls.retain(|c| pred(c));
        calls
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

    /// Waits (up to `timeout`) until a call to a path ending in `suffix` has
    /// arrived, and asserts that one did; `what` names the moment in the
    /// failure message.
    pub async fn wait_for_call(&self, timeout: Duration, suffix: &str, what: &str) {
        assert!(
            self.wait_until(timeout, |f| f.calls().iter().any(|c| c.ends_with(suffix)))
                .await,
            "{what}: no call to …{suffix} within {timeout:?}"
        );
    }

    /// Time since the fake started.
    pub fn uptime(&self) -> Duration {
        self.s.started.elapsed()
    }
}

pub(crate) fn is_token_endpoint(method: &str, path: &str) -> bool {
    method == "POST" && glob_match("/app/installations/*/access_tokens", path)
}

/// `*` matches one segment, `**` the rest (zero or more segments).
pub(crate) fn glob_match(pattern: &str, path: &str) -> bool {
    pub(crate) fn m(p: &[&str], s: &[&str]) -> bool {
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

pub(crate) fn mint_token(w: &mut World, installation: u64) -> (String, DateTime<Utc>) {
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

pub(crate) fn insert_comment(
    w: &mut World,
    repo_id: u64,
    issue: u64,
    author: &str,
    body: &str,
) -> u64 {
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
    pub(crate) fn new(repo: Repo) -> RepoRec {
        RepoRec {
            repo,
            hooks: Vec::new(),
            files: BTreeMap::new(),
            issues: BTreeMap::new(),
            permissions: HashMap::new(),
            statuses: Vec::new(),
            labels: Vec::new(),
        }
    }
}

/// A new repo record (not inserted). `owner` must be a known org.
pub(crate) fn new_repo(
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
        archived: false,
    }
}
