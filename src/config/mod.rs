//! Configuration from the environment. orcoursetrion's `ORC_*`
//! names are kept; every problem is collected and reported together, by
//! variable name and with what was expected, so one start-up shows them all.
//! Secrets are read into [`Secret`] and never printed.

mod instances;
mod reader;
pub use instances::InstanceSettings;

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use crate::catalog::{CourseKind, HookTarget};
use crate::github::api::Committer;
use crate::github::types::Permission;
use crate::github::DEFAULT_API_URL;
use crate::naming::{Names, OrgName, RepoFullName};
use crate::secret::Secret;
use reader::Reader;

/// Every problem found, one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid configuration ({} problem{}):",
            self.problems.len(),
            if self.problems.len() == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// How we authenticate to GitHub.
#[derive(Debug, Clone)]
pub enum GitHubAuth {
    /// `ORC_GH_OAUTH2_TOKEN`: a personal token, as orcoursetrion used.
    Token(Secret),
    /// `ORC_APP_ID` + `ORC_APP_PRIVATE_KEY`/`_PATH` (+ an installation for the CLI).
    App {
        app_id: String,
        private_key: Secret,
        installation_id: Option<u64>,
    },
}

crate::word_enum::word_enum! {
    /// `ORC_LOG_FORMAT`.
    LogFormat {
        Json => "json",
        Pretty => "pretty",
    }
}

/// What the actions need to know about the shop's conventions
/// (orcoursetrion's `ORC_*` settings).
#[derive(Debug, Clone)]
pub struct Settings {
    pub names: Names,
    /// `ORC_STUDIO_*`.
    pub studio: KindSettings,
    /// `ORC_XML_*`.
    pub xml: KindSettings,
    pub staging_gitreload: Option<Secret>,
    pub production_gitreload: Option<Secret>,
    pub gitreload_secret: Option<Secret>,
    pub committer: Committer,
}

/// What the two kinds of course each have: the org their runs live in, and
/// the team that deploys them.
#[derive(Debug, Clone)]
pub struct KindSettings {
    /// `ORC_STUDIO_ORG` / `ORC_XML_ORG`.
    pub org: String,
    /// `ORC_STUDIO_DEPLOY_TEAM` / `ORC_XML_DEPLOY_TEAM`.
    pub deploy_team: String,
    /// `ORC_STUDIO_DEPLOY_PERMISSION` / `ORC_XML_DEPLOY_PERMISSION`: what the
    /// deploy team gets on new repos; unset, GitHub gives the team its own
    /// permission attribute, as orcoursetrion did.
    pub deploy_permission: Option<Permission>,
}

impl KindSettings {
    /// The deploy team and the permission to send for it.
    pub fn deploy(&self) -> (&str, Option<Permission>) {
        (&self.deploy_team, self.deploy_permission)
    }
}

impl Settings {
    /// The settings of a kind of course.
    pub fn of(&self, kind: CourseKind) -> &KindSettings {
        match kind {
            CourseKind::Studio => &self.studio,
            CourseKind::Xml => &self.xml,
        }
    }

    /// The gitreload URL a hook of `target` points at, if configured.
    pub fn gitreload(&self, target: HookTarget) -> Option<&Secret> {
        match target {
            HookTarget::Staging => self.staging_gitreload.as_ref(),
            HookTarget::Production => self.production_gitreload.as_ref(),
        }
    }

    /// The org that holds the runs of a kind of course.
    pub fn org_of(&self, kind: CourseKind) -> &str {
        &self.of(kind).org
    }
}

/// Team named as `org/team-slug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRef {
    pub org: String,
    pub slug: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub api_url: String,
    pub auth: Option<GitHubAuth>,
    pub settings: Settings,
    pub webhook_secrets: Vec<Secret>,
    /// `ORC_API_TOKEN`: the bearer token of `/api/*`; unset, the API is off.
    pub api_token: Option<Secret>,
    /// `ORC_CHECKLISTS` (a YAML file), else the shipped `docs/checklists.yml`.
    pub checklists: crate::checklist::Checklists,
    /// `ORC_DATABASE_URL`: a secret, since a postgres:// URL may hold a password.
    pub database_url: Secret,
    pub port: u16,
    pub log_format: LogFormat,
    /// `ORC_LOG_SPANS`: also log each span as it closes, with its busy and
    /// idle time (a profile; a line per span, so for measuring only).
    pub log_spans: bool,
    pub requests_repos: Vec<RepoFullName>,
    pub operators_team: Option<TeamRef>,
    pub require_approval: bool,
    pub approvers_team: Option<TeamRef>,
    pub workers: usize,
    pub limits: Limits,
    pub instances: InstanceSettings,
}

/// Bounds on what strangers and careless users can make the server do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `ORC_UNAUTH_BODY_BYTES`: memory all unauthenticated bodies may hold at once.
    pub unauth_body_bytes: usize,
    /// `ORC_HEADER_TIMEOUT_S`: time to send a request's headers.
    pub header_timeout: Duration,
    /// `ORC_MAX_CONNECTIONS`: connections served at once.
    pub max_connections: usize,
    /// `ORC_MAX_COMMANDS`: commands run from one comment.
    pub max_commands: usize,
}

impl Config {
    /// Read the process environment (after an optional `.env`).
    pub fn from_env() -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_vars(&vars)
    }

    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let mut r = Reader {
            vars,
            problems: Vec::new(),
        };

        let api_url = r
            .or("ORC_GH_API_URL", DEFAULT_API_URL)
            .trim_end_matches('/')
            .to_string();
        match url::Url::parse(&api_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.username().is_empty() && u.password().is_none() => {}
            _ => r.problem(
                "ORC_GH_API_URL",
                "expected an http(s) URL without credentials, e.g. https://api.github.com or https://ghe.example.edu/api/v3",
            ),
        }

        let token = r.opt("ORC_GH_OAUTH2_TOKEN").map(Secret::new);
        let app_id = r.opt("ORC_APP_ID");
        let key_inline = r.opt("ORC_APP_PRIVATE_KEY");
        let key_path = r.opt("ORC_APP_PRIVATE_KEY_PATH");
        let installation_id = match r.opt("ORC_APP_INSTALLATION_ID") {
            None => None,
            Some(v) => match v.parse::<u64>() {
                Ok(id) => Some(id),
                Err(_) => {
                    r.problem(
                        "ORC_APP_INSTALLATION_ID",
                        format!("expected a number, got {v:?}"),
                    );
                    None
                }
            },
        };
        let key_path_given = key_path.is_some();
        let private_key = match (key_inline, key_path) {
            (Some(k), _) => Some(Secret::new(k.replace("\\n", "\n"))),
            (None, Some(path)) => match std::fs::read_to_string(&path) {
                Ok(k) => Some(Secret::new(k)),
                Err(e) => {
                    r.problem(
                        "ORC_APP_PRIVATE_KEY_PATH",
                        format!("cannot read {path}: {e}"),
                    );
                    None
                }
            },
            (None, None) => None,
        };
        let auth = match (app_id, private_key, token) {
            (Some(app_id), Some(private_key), _) => {
                if !private_key.expose().contains("PRIVATE KEY-----") {
                    r.problem(
                        "ORC_APP_PRIVATE_KEY",
                        "expected a PEM private key (-----BEGIN RSA PRIVATE KEY----- …)",
                    );
                }
                Some(GitHubAuth::App {
                    app_id,
                    private_key,
                    installation_id,
                })
            }
            // An unreadable key path is reported already, once.
            (Some(_), None, _) if key_path_given => None,
            (Some(_), None, _) => {
                r.problem("ORC_APP_PRIVATE_KEY", "ORC_APP_ID is set but neither ORC_APP_PRIVATE_KEY nor ORC_APP_PRIVATE_KEY_PATH is");
                None
            }
            (None, Some(_), _) => {
                r.problem("ORC_APP_ID", "a private key is set but ORC_APP_ID is not");
                None
            }
            (None, None, Some(t)) => Some(GitHubAuth::Token(t)),
            (None, None, None) => None,
        };

        let names = match Names::new(
            &r.or("ORC_COURSE_PREFIX", "content-mit"),
            &r.or("ORC_EDX_ORG", "MITx"),
        ) {
            Ok(n) => Some(n),
            Err(e) => {
                r.problem("ORC_COURSE_PREFIX/ORC_EDX_ORG", e);
                None
            }
        };
        let org = |r: &mut Reader, name: &str, default: &str| -> String {
            let v = r.or(name, default);
            if let Err(e) = OrgName::parse(&v) {
                r.problem(name, e);
            }
            v
        };
        let studio = KindSettings {
            org: org(&mut r, "ORC_STUDIO_ORG", "MITx-Studio2LMS"),
            deploy_team: r.or("ORC_STUDIO_DEPLOY_TEAM", "mitx-studio-export"),
            deploy_permission: r.permission("ORC_STUDIO_DEPLOY_PERMISSION"),
        };
        let xml = KindSettings {
            org: org(&mut r, "ORC_XML_ORG", "mitx"),
            deploy_team: r.or("ORC_XML_DEPLOY_TEAM", "mitx-content-deployment"),
            deploy_permission: r.permission("ORC_XML_DEPLOY_PERMISSION"),
        };
        let staging_gitreload = r.url("ORC_STAGING_GITRELOAD");
        let production_gitreload = r.url("ORC_PRODUCTION_GITRELOAD");
        // A comma list on an LMS host (`orcoursetrion gitreload` accepts each,
        // for rotation); the hooks the App adds are signed with the first.
        // A comma list on an LMS host, for rotation; new hooks get the first.
        let gitreload_secret = r
            .opt("ORC_GITRELOAD_SECRET")
            .and_then(|v| Secret::list(&v).into_iter().next());
        let committer = Committer {
            name: r.or("ORC_GH_NAME", "Orcoursetrion"),
            email: r.or("ORC_GH_EMAIL", "orcoursetrion@example.com"),
        };
        if !committer.email.contains('@') {
            r.problem(
                "ORC_GH_EMAIL",
                format!("expected an e-mail address, got {:?}", committer.email),
            );
        }

        let webhook_secrets = r
            .opt("ORC_WEBHOOK_SECRET")
            .map(|v| Secret::list(&v))
            .unwrap_or_default();
        let checklists = crate::checklist::Checklists::load(r.opt("ORC_CHECKLISTS").as_deref())
            .unwrap_or_else(|e| {
                r.problem("ORC_CHECKLISTS", e);
                Default::default()
            });
        let api_token = r.opt("ORC_API_TOKEN").map(Secret::new);
        if api_token.as_ref().is_some_and(|t| t.expose().len() < 16) {
            r.problem(
                "ORC_API_TOKEN",
                "too short: use at least 16 random characters (e.g. `openssl rand -hex 24`)",
            );
        }
        let database_url = instances::database_url(&mut r);
        let port = match r.opt("PORT") {
            None => 8080,
            Some(v) => v.parse::<u16>().unwrap_or_else(|_| {
                r.problem("PORT", format!("expected a port number, got {v:?}"));
                8080
            }),
        };
        let log_format = r.word("ORC_LOG_FORMAT", LogFormat::Pretty, LogFormat::ALL);
        let log_spans = r.bool("ORC_LOG_SPANS", false);
        let mut requests_repos = Vec::new();
        if let Some(v) = r.opt("ORC_REQUESTS_REPOS") {
            for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                match RepoFullName::parse(item) {
                    Ok(repo) => requests_repos.push(repo),
                    Err(e) => r.problem("ORC_REQUESTS_REPOS", e),
                }
            }
        }
        let operators_team = r.team_ref("ORC_OPERATORS_TEAM");
        let require_approval = r.bool("ORC_REQUIRE_APPROVAL", false);
        let approvers_team = r.team_ref("ORC_APPROVERS_TEAM");
        if require_approval && approvers_team.is_none() {
            // Nobody could approve: every gated request would wait for ever.
            r.problem(
                "ORC_APPROVERS_TEAM",
                "ORC_REQUIRE_APPROVAL is true, so name the team whose members approve (ORG/TEAM-SLUG)",
            );
        }
        let workers = r.number("ORC_WORKERS", 4, 1..=64) as usize;
        let instances = instances::read(&mut r);
        let limits = Limits {
            unauth_body_bytes: r.number(
                "ORC_UNAUTH_BODY_BYTES",
                64 * 1024 * 1024,
                1024 * 1024..=4 * 1024 * 1024 * 1024,
            ) as usize,
            header_timeout: Duration::from_secs(r.number("ORC_HEADER_TIMEOUT_S", 10, 1..=300)),
            max_connections: r.number("ORC_MAX_CONNECTIONS", 1024, 1..=65_536) as usize,
            max_commands: r.number("ORC_MAX_COMMANDS", 10, 1..=100) as usize,
        };

        if !r.problems.is_empty() {
            return Err(ConfigError {
                problems: r.problems,
            });
        }
        let names = names.ok_or_else(|| ConfigError {
            problems: vec!["ORC_COURSE_PREFIX: invalid".into()],
        })?;
        Ok(Config {
            api_url,
            auth,
            settings: Settings {
                names,
                studio,
                xml,
                staging_gitreload,
                production_gitreload,
                gitreload_secret,
                committer,
            },
            webhook_secrets,
            api_token,
            checklists,
            database_url,
            port,
            log_format,
            log_spans,
            requests_repos,
            operators_team,
            require_approval,
            approvers_team,
            workers,
            limits,
            instances,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_follow_orcoursetrion() {
        let c = Config::from_vars(&vars(&[("ORC_GH_OAUTH2_TOKEN", "t")])).expect("config");
        assert_eq!(c.api_url, "https://api.github.com");
        assert_eq!(c.settings.studio.org, "MITx-Studio2LMS");
        assert_eq!(c.settings.xml.org, "mitx");
        assert!(matches!(c.auth, Some(GitHubAuth::Token(_))));
        assert_eq!(c.port, 8080);
    }

    #[test]
    fn every_problem_is_reported_at_once_by_name_without_secrets() {
        let err = Config::from_vars(&vars(&[
            ("ORC_GH_API_URL", "ftp://x"),
            ("ORC_STAGING_GITRELOAD", "not a url with password hunter2"),
            ("PORT", "eighty"),
            ("ORC_LOG_FORMAT", "xml"),
            ("ORC_APP_ID", "12"),
            ("ORC_REQUESTS_REPOS", "ok/repo,bad"),
        ]))
        .expect_err("invalid");
        let text = err.to_string();
        for name in [
            "ORC_GH_API_URL",
            "ORC_STAGING_GITRELOAD",
            "PORT",
            "ORC_LOG_FORMAT",
            "ORC_APP_PRIVATE_KEY",
            "ORC_REQUESTS_REPOS",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(err.problems.len(), 6, "{text}");
    }

    #[test]
    fn approval_needs_an_approvers_team() {
        let err =
            Config::from_vars(&vars(&[("ORC_REQUIRE_APPROVAL", "true")])).expect_err("refused");
        assert!(err.to_string().contains("ORC_APPROVERS_TEAM"));
        let on = Config::from_vars(&vars(&[
            ("ORC_REQUIRE_APPROVAL", "true"),
            ("ORC_APPROVERS_TEAM", "mitx/course-approvers"),
        ]))
        .expect("approval on");
        assert!(on.require_approval);
        assert!(Config::from_vars(&vars(&[("ORC_REQUIRE_APPROVAL", "false")])).is_ok());
    }

    #[test]
    fn webhook_secrets_are_a_comma_list_for_rotation() {
        let c = Config::from_vars(&vars(&[("ORC_WEBHOOK_SECRET", "old, new")])).expect("config");
        assert_eq!(c.webhook_secrets.len(), 2);
        assert_eq!(c.webhook_secrets[1].expose(), "new");
    }
}
