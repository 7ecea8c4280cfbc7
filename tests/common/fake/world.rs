//! The in-memory world: orgs, users, repos, teams, installations, tokens and faults.

#![allow(unused_imports)]

use super::*;

// ---------------------------------------------------------------------------
// The world
// ---------------------------------------------------------------------------

/// A user or an organization. On GitHub both share one namespace of
/// logins, compared case-insensitively, so the fake keeps them in one map.
pub(crate) struct AccountRec {
    pub(crate) id: u64,
    pub(crate) login: String,
    pub(crate) kind: AccountKind,
    pub(crate) created_at: DateTime<Utc>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccountKind {
    User,
    Bot,
    Org,
}

impl AccountKind {
    /// The `type` GitHub gives a user object (`owner`, `user`, `sender`).
    pub(crate) fn user_type(self) -> &'static str {
        match self {
            AccountKind::User => "User",
            AccountKind::Bot => "Bot",
            AccountKind::Org => "Organization",
        }
    }
}

pub(crate) struct RepoRec {
    pub(crate) repo: Repo,
    pub(crate) hooks: Vec<(Hook, DateTime<Utc>)>,
    /// Memory content store: (branch, path) → (bytes, sha). Unused with a git root.
    pub(crate) files: BTreeMap<(String, String), (Vec<u8>, String)>,
    pub(crate) issues: BTreeMap<u64, IssueRec>,
    /// lowercase login → permission (admin|maintain|write|triage|read|none).
    pub(crate) permissions: HashMap<String, String>,
    /// Commit statuses, oldest first.
    pub(crate) statuses: Vec<CommitStatusRec>,
    pub(crate) labels: Vec<LabelRec>,
}

pub(crate) struct IssueRec {
    pub(crate) id: u64,
    pub(crate) number: u64,
    pub(crate) title: String,
    pub(crate) body: String,
    pub(crate) author: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) reactions: Vec<ReactionRec>,
    /// Names of the labels on the issue.
    pub(crate) labels: Vec<String>,
    /// `open` or `closed`.
    pub(crate) state: String,
}

pub(crate) struct CommentRec {
    pub(crate) id: u64,
    pub(crate) repo_id: u64,
    pub(crate) issue: u64,
    pub(crate) body: String,
    pub(crate) author: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) edits: u32,
    pub(crate) reactions: Vec<ReactionRec>,
}

#[derive(Clone)]
pub(crate) struct ReactionRec {
    pub(crate) id: u64,
    pub(crate) user: String,
    pub(crate) content: String,
    pub(crate) created_at: DateTime<Utc>,
}

pub(crate) struct TeamRec {
    pub(crate) id: u64,
    pub(crate) org: String, // lowercase org login
    pub(crate) name: String,
    pub(crate) slug: String,
    pub(crate) description: Option<String>,
    pub(crate) privacy: String,
    pub(crate) permission: String,
    /// lowercase login → (login, role)
    pub(crate) members: BTreeMap<String, (String, String)>,
    /// repo id → permission
    pub(crate) repos: BTreeMap<u64, String>,
    pub(crate) created_at: DateTime<Utc>,
}

pub(crate) struct InstallationRec {
    pub(crate) id: u64,
    pub(crate) account: String,
    pub(crate) created_at: DateTime<Utc>,
}

pub(crate) struct TokenRec {
    pub(crate) installation: u64,
    pub(crate) expires: Instant,
}

pub(crate) struct FaultRule {
    pub(crate) method: String,
    pub(crate) glob: String,
    pub(crate) fault: Fault,
    pub(crate) remaining: usize,
}

/// All state of the fake. One instance behind a std `Mutex`.
pub(crate) struct World {
    pub(crate) next_id: u64,
    /// Lowercase login → account.
    pub(crate) accounts: BTreeMap<String, AccountRec>,
    pub(crate) repos: BTreeMap<u64, RepoRec>,
    pub(crate) teams: BTreeMap<u64, TeamRec>,
    pub(crate) comments: BTreeMap<u64, CommentRec>,
    pub(crate) installations: BTreeMap<u64, InstallationRec>,
    pub(crate) tokens: HashMap<String, TokenRec>,
    pub(crate) personal: HashMap<String, String>,
    pub(crate) manifest_codes: HashSet<String>,
    pub(crate) faults: Vec<FaultRule>,
    pub(crate) log: Vec<Req>,
    pub(crate) jwt_claims: Vec<Value>,
    pub(crate) tokens_issued: usize,
    pub(crate) token_ttl: Duration,
    pub(crate) latency: Duration,
    pub(crate) creator_joins_team: bool,
    pub(crate) client_ids: Vec<String>,
    pub(crate) installation_scope: bool,
    pub(crate) request_seq: u64,
    /// Installation id → permissions that differ from the App's defaults.
    pub(crate) installation_permissions: HashMap<u64, Value>,
    /// The App's webhook delivery log (deliveries.rs).
    pub(crate) hook_deliveries: Vec<HookDeliveryRec>,
    pub(crate) app_webhook: Option<AppWebhook>,
    pub(crate) refuse_redeliveries: usize,
    pub(crate) redelivery_requests: Vec<u64>,
}

/// The next id of a counter shared by every kind of object.
fn fresh(next: &mut u64) -> u64 {
    *next += 1;
    *next
}

impl World {
    pub(crate) fn new() -> World {
        let mut w = World {
            next_id: 1_000_001,
            accounts: BTreeMap::new(),
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
            installation_scope: true,
            request_seq: 0,
            installation_permissions: HashMap::new(),
            hook_deliveries: Vec::new(),
            app_webhook: None,
            refuse_redeliveries: 0,
            redelivery_requests: Vec::new(),
        };
        w.add_account(BOT_LOGIN, AccountKind::Bot);
        w
    }

    /// A fresh id, unique across every kind of object.
    pub(crate) fn id(&mut self) -> u64 {
        fresh(&mut self.next_id)
    }

    pub(crate) fn org(&self, login: &str) -> Option<&AccountRec> {
        self.account(login).filter(|a| a.kind == AccountKind::Org)
    }

    /// A user or a bot, not an organization.
    pub(crate) fn user(&self, login: &str) -> Option<&AccountRec> {
        self.account(login).filter(|a| a.kind != AccountKind::Org)
    }

    pub(crate) fn account(&self, login: &str) -> Option<&AccountRec> {
        self.accounts.get(&login.to_lowercase())
    }

    pub(crate) fn add_org(&mut self, login: &str) -> u64 {
        self.add_account(login, AccountKind::Org)
    }

    pub(crate) fn add_user(&mut self, login: &str) -> u64 {
        self.add_account(login, AccountKind::User)
    }

    /// Adding a login that exists returns its id and leaves its kind.
    fn add_account(&mut self, login: &str, kind: AccountKind) -> u64 {
        let next = &mut self.next_id;
        self.accounts
            .entry(login.to_lowercase())
            .or_insert_with(|| AccountRec {
                id: fresh(next),
                login: login.to_string(),
                kind,
                created_at: Utc::now(),
            })
            .id
    }

    /// `login` as GitHub spells it, registered first if it is new.
    pub(crate) fn known_login(&mut self, login: &str) -> String {
        self.add_user(login);
        self.user(login)
            .map(|u| u.login.clone())
            .unwrap_or_default()
    }

    pub(crate) fn repo_id(&self, owner: &str, name: &str) -> Option<u64> {
        self.repos
            .values()
            .find(|r| {
                r.repo.owner.eq_ignore_ascii_case(owner) && r.repo.name.eq_ignore_ascii_case(name)
            })
            .map(|r| r.repo.id)
    }

    pub(crate) fn repo_rec(&self, owner: &str, name: &str) -> Option<&RepoRec> {
        self.repo_id(owner, name).and_then(|id| self.repos.get(&id))
    }

    pub(crate) fn repo_mut(&mut self, owner: &str, name: &str) -> Option<&mut RepoRec> {
        let id = self.repo_id(owner, name)?;
        self.repos.get_mut(&id)
    }

    pub(crate) fn team_id(&self, org: &str, slug: &str) -> Option<u64> {
        let org = org.to_lowercase();
        self.teams
            .values()
            .find(|t| t.org == org && t.slug.eq_ignore_ascii_case(slug))
            .map(|t| t.id)
    }

    pub(crate) fn team_pub(&self, t: &TeamRec) -> Team {
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

    pub(crate) fn insert_team(
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

    pub(crate) fn identity_of_token(&self, token: &str) -> Auth {
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
    pub(crate) fn association(&self, repo_id: u64, login: &str) -> &'static str {
        let Some(r) = self.repos.get(&repo_id) else {
            return "NONE";
        };
        if self.user(login).is_some_and(|u| u.kind == AccountKind::Bot) {
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

pub(crate) fn looks_like_jwt(t: &str) -> bool {
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
