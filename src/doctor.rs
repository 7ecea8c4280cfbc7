//! `orcoursetrion doctor`: is this set-up able to work? A checklist of ✓
//! and ✗ lines, each ✗ with the fix. It reads only: the configuration, the
//! App on GitHub (`GET /app`, its installations, the requests repos, the
//! teams) and the database. `serve` runs it once at start-up, into the log.

use crate::config::{Config, GitHubAuth, TeamRef};
use crate::github::{AppCredentials, ClientConfig, GitHub, GitHubError};
use crate::naming::team_slug;
use crate::secret::redact_url;
use crate::store::Store;

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub what: String,
    /// `None`: fine. `Some`: what to do about it.
    pub fix: Option<String>,
}

impl Finding {
    fn ok(what: impl Into<String>) -> Self {
        Finding {
            what: what.into(),
            fix: None,
        }
    }
    fn bad(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Finding {
            what: what.into(),
            fix: Some(fix.into()),
        }
    }
    pub fn is_ok(&self) -> bool {
        self.fix.is_none()
    }
}

/// The latest findings, shared with the status page (`GET /`).
#[derive(Debug, Clone, Default)]
pub struct Report(std::sync::Arc<std::sync::RwLock<Option<Vec<Finding>>>>);

impl Report {
    pub fn set(&self, findings: Vec<Finding>) {
        if let Ok(mut r) = self.0.write() {
            *r = Some(findings);
        }
    }

    /// How many checks passed and how many did not; `None` before the first run.
    pub fn counts(&self) -> Option<(usize, usize)> {
        let r = self.0.read().ok()?;
        let f = r.as_ref()?;
        let ok = f.iter().filter(|f| f.is_ok()).count();
        Some((ok, f.len() - ok))
    }
}

/// The checklist as text: `✓ what`, or `✗ what: fix`.
pub fn render(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| match &f.fix {
            None => format!("✓ {}", f.what),
            Some(fix) => format!("✗ {}: {fix}", f.what),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs every check. Never fails: what cannot be checked is a ✗ that says why.
pub async fn diagnose(config: &Config, client: ClientConfig) -> Vec<Finding> {
    let mut out = settings(config);
    match github(config, client, &mut out) {
        Some(gh) => on_github(config, &gh, &mut out).await,
        None => out.push(Finding::bad(
            "GitHub App credentials",
            "set ORC_APP_ID and ORC_APP_PRIVATE_KEY_PATH (or register the App: \
             `orcoursetrion serve` without credentials starts the setup page)",
        )),
    }
    database(config, &mut out).await;
    out
}

/// What the configuration alone answers.
fn settings(config: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    out.push(if config.requests_repos.is_empty() {
        Finding::bad(
            "requests repos are set",
            "set ORC_REQUESTS_REPOS=owner/name: until then every comment is ignored",
        )
    } else {
        let list: Vec<String> = config
            .requests_repos
            .iter()
            .map(ToString::to_string)
            .collect();
        Finding::ok(format!("requests repos: {}", list.join(", ")))
    });
    out.push(if config.webhook_secrets.is_empty() {
        Finding::bad(
            "a webhook secret is set",
            "set ORC_WEBHOOK_SECRET to the App's webhook secret: until then every delivery gets 401",
        )
    } else {
        Finding::ok("a webhook secret is set")
    });
    let s = &config.settings;
    for (name, var, url, why) in [
        (
            "staging",
            "ORC_STAGING_GITRELOAD",
            s.staging_gitreload.as_ref(),
            "every new XML run gets this hook",
        ),
        (
            "production",
            "ORC_PRODUCTION_GITRELOAD",
            s.production_gitreload.as_ref(),
            "a release adds this hook",
        ),
    ] {
        out.push(match url {
            Some(u) => Finding::ok(format!(
                "the {name} gitreload URL is {}",
                redact_url(u.expose())
            )),
            None => Finding::bad(
                format!("the {name} gitreload URL is set"),
                format!("set {var}: {why}"),
            ),
        });
    }
    out
}

/// An App handle, once the key parses.
fn github(config: &Config, client: ClientConfig, out: &mut Vec<Finding>) -> Option<GitHub> {
    let Some(GitHubAuth::App {
        app_id,
        private_key,
        ..
    }) = &config.auth
    else {
        return None;
    };
    let made = AppCredentials::from_pem(app_id.clone(), private_key)
        .and_then(|app| GitHub::app(client, app));
    match made {
        Ok(gh) => {
            out.push(Finding::ok("the App's private key parses"));
            Some(gh)
        }
        Err(e) => {
            out.push(Finding::bad(
                "the App's private key parses",
                format!("{e}; point ORC_APP_PRIVATE_KEY_PATH at the .pem GitHub gave"),
            ));
            None
        }
    }
}

async fn on_github(config: &Config, gh: &GitHub, out: &mut Vec<Finding>) {
    let app = match gh.app_info().await {
        Ok(a) => {
            out.push(Finding::ok(format!(
                "GitHub accepts the App's JWT (App {})",
                a.slug
            )));
            a
        }
        Err(e) => {
            out.push(Finding::bad(
                "GitHub accepts the App's JWT",
                format!("{e}; check ORC_APP_ID and that the key is this App's"),
            ));
            return;
        }
    };
    let installed = match gh.installed_accounts().await {
        Ok(list) => list,
        Err(e) => {
            out.push(Finding::bad(
                "the App's installations can be listed",
                e.to_string(),
            ));
            return;
        }
    };
    out.push(Finding::ok(format!(
        "installed on: {}",
        if installed.is_empty() {
            "nothing yet".to_string()
        } else {
            installed.join(", ")
        }
    )));
    let install_at = app
        .html_url
        .as_deref()
        .map(|u| format!("{u}/installations/new"))
        .unwrap_or_else(|| "the App's page on GitHub".into());
    let s = &config.settings;
    let mut needed: Vec<(String, &str)> = vec![
        (s.studio.org.clone(), "the Studio org"),
        (s.xml.org.clone(), "the XML org"),
    ];
    for r in &config.requests_repos {
        needed.push((r.owner().to_string(), "a requests repo's owner"));
    }
    let mut seen = Vec::new();
    for (account, role) in needed {
        if seen
            .iter()
            .any(|a: &String| a.eq_ignore_ascii_case(&account))
        {
            continue;
        }
        seen.push(account.clone());
        let here = installed.iter().any(|a| a.eq_ignore_ascii_case(&account));
        out.push(if here {
            Finding::ok(format!("installed on {account} ({role})"))
        } else {
            Finding::bad(
                format!("installed on {account} ({role})"),
                format!("an owner of {account} installs the App at {install_at}"),
            )
        });
    }
    // The rest goes through each account's own installation.
    let routed = gh.for_accounts(0);
    for r in &config.requests_repos {
        let what = format!("the requests repo {r} is reachable");
        out.push(match routed.get_repo(r.owner().as_str(), r.name()).await {
            Ok(Some(_)) => Finding::ok(what),
            Ok(None) => Finding::bad(
                what,
                "check ORC_REQUESTS_REPOS, and that the App's installation includes this repo",
            ),
            Err(e) => Finding::bad(what, unreachable(&e)),
        });
    }
    let mut teams = vec![
        (
            TeamRef {
                org: s.studio.org.clone(),
                slug: team_slug(&s.studio.deploy_team),
            },
            "ORC_STUDIO_DEPLOY_TEAM",
        ),
        (
            TeamRef {
                org: s.xml.org.clone(),
                slug: team_slug(&s.xml.deploy_team),
            },
            "ORC_XML_DEPLOY_TEAM",
        ),
    ];
    if let Some(t) = &config.operators_team {
        teams.push((t.clone(), "ORC_OPERATORS_TEAM"));
    }
    if let Some(t) = &config.approvers_team {
        teams.push((t.clone(), "ORC_APPROVERS_TEAM"));
    }
    for (t, var) in teams {
        let what = format!("team {}/{} exists", t.org, t.slug);
        out.push(match routed.get_team(&t.org, &t.slug).await {
            Ok(Some(_)) => Finding::ok(what),
            Ok(None) => Finding::bad(
                what,
                format!(
                    "create the team in {}, or set {var} to one that exists",
                    t.org
                ),
            ),
            Err(e) => Finding::bad(what, unreachable(&e)),
        });
    }
}

fn unreachable(e: &GitHubError) -> String {
    match e {
        GitHubError::NotInstalled { .. } => format!("{e}"),
        e => format!("GitHub said: {e}"),
    }
}

async fn database(config: &Config, out: &mut Vec<Finding>) {
    // A SQLite URL is a path; any other may hold a password.
    let shown = if config.database_url.expose().starts_with("sqlite:") {
        config.database_url.expose().to_string()
    } else {
        redact_url(config.database_url.expose())
    };
    let what = format!("the database {shown} opens");
    match Store::open(config.database_url.expose()).await {
        Ok(store) => {
            match store.schema_version().await {
                Ok((at, newest)) if at == newest => {
                    out.push(Finding::ok(format!("{what}, schema at version {at}")))
                }
                Ok((at, newest)) => out.push(Finding::bad(
                    format!("{what}, schema at version {newest}"),
                    format!("it is at {at}: start `serve` once to migrate it"),
                )),
                Err(e) => out.push(Finding::bad(what, e.to_string())),
            }
            store.close().await;
        }
        Err(e) => out.push(Finding::bad(
            what,
            format!("{e}; check ORC_DATABASE_URL and that its folder is writable"),
        )),
    }
}
