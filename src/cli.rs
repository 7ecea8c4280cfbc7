//! The `orcoursetrion` command line: orcoursetrion's subcommands with their old
//! flags (underscore names, and dashed spellings as aliases), `--dry-run`, and
//! `serve` for the GitHub App.

use clap::{Parser, Subcommand};

use crate::actions::{self, Action, ActionError, NoJournal};
use crate::config::{Config, GitHubAuth};
use crate::github::AppCredentials;
use crate::github::{ClientConfig, GitHub, GitHubError};

#[derive(Debug, Parser)]
#[command(
    name = "orcoursetrion",
    version,
    about = "Provision edX course repositories on GitHub (CLI and GitHub App)",
    after_help = "Configuration comes from ORC_* environment variables (and an optional .env file); see the README."
)]
pub struct Cli {
    /// Print the plan and its checks (read calls only); change nothing.
    #[arg(long = "dry-run", alias = "dry_run", global = true)]
    pub dry_run: bool,

    #[command(subcommand)]
    pub command: CliCommand,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Run the GitHub App server (webhooks, queue, workers); setup mode without credentials.
    Serve,
    /// Check this set-up: configuration, the App on GitHub, its installations,
    /// the requests repos, the teams, the database. Exit 0 when all is ✓.
    Doctor,
    /// Print the `X-Hub-Signature-256` of standard input under the first
    /// ORC_WEBHOOK_SECRET, to send a webhook by hand (the secret never goes in argv).
    Sign,
    /// Run on an LMS host in place of MIT's gitreload: import a course when
    /// its repo is pushed. Reads gitreload's settings (REPODIR, VIRTUAL_ENV,
    /// EDX_PLATFORM, …) and ORC_GITRELOAD_SECRET; see the README.
    Gitreload {
        /// Port to listen on (else PORT, else 5000, as gitreload).
        #[arg(long)]
        port: Option<u16>,
        /// Accept pushes without a signature when ORC_GITRELOAD_SECRET is not
        /// set, trusting the network as gitreload did (for migrating).
        #[arg(long = "allow-unsigned")]
        allow_unsigned: bool,
    },
    /// The course catalog in the database (ORC_DATABASE_URL).
    Catalog {
        #[command(subcommand)]
        action: CatalogCommand,
    },
    /// Print a shell completion script: `orcoursetrion completions bash > …`.
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
    /// orcoursetrion's actions, with their old names and flags.
    #[command(flatten)]
    Action(Action),
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Fill the catalog from GitHub: scan both orgs for repos named with
    /// ORC_COURSE_PREFIX, and say which ones could not be placed. With
    /// --dry-run, print what it found and store nothing.
    Import,
}

/// `orcoursetrion catalog import`: what it found, stored unless `dry_run`.
pub async fn catalog_import(
    config: &Config,
    dry_run: bool,
    client: ClientConfig,
) -> Result<String, CliError> {
    let gh = github_from_config(config, client).await?;
    let scan = actions::scan_catalog(&gh, &config.settings).await?;
    if !dry_run {
        let store = crate::store::Store::open(config.database_url.expose())
            .await
            .map_err(|e| CliError::Config(format!("cannot open the database: {e}")))?;
        for run in &scan.runs {
            store
                .upsert_run(run)
                .await
                .map_err(|e| CliError::Config(format!("cannot store {}: {e}", run.course_key)))?;
        }
        store.close().await;
    }
    let mut out = format!(
        "{} {} course run(s):",
        if dry_run { "Found" } else { "Imported" },
        scan.runs.len()
    );
    for r in &scan.runs {
        out.push_str(&format!(
            "\n  {} {} ({}, {})",
            r.course_key, r.repo, r.kind, r.state
        ));
    }
    if !scan.unplaced.is_empty() {
        out.push_str(&format!("\nCould not place {}:", scan.unplaced.len()));
        for (repo, why) in &scan.unplaced {
            out.push_str(&format!("\n  {repo}: {why}"));
        }
    }
    Ok(out)
}

fn check_line(c: &actions::Check) -> String {
    match &c.outcome {
        actions::CheckOutcome::Passed => format!("✓ {}", c.what),
        actions::CheckOutcome::Failed(why) => format!("✗ {}: {why}", c.what),
        actions::CheckOutcome::AlreadyDone => format!("✅ {}", c.what),
        actions::CheckOutcome::Adopted { .. } => format!("✓ {}", c.what),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A check before changes failed; nothing was written.
    #[error("not started, nothing was changed: {0}")]
    Refused(String),
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Action(#[from] ActionError),
}

impl CliError {
    /// The one exit-code rule: 2 for bad input or configuration (the person
    /// at the keyboard can fix it), 1 for GitHub or I/O failing.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Refused(_) | CliError::Config(_) => 2,
            CliError::Action(e) if e.is_user_error() => 2,
            CliError::Action(ActionError::NotConfigured(_)) => 2,
            CliError::Action(_) => 1,
        }
    }
}

/// The completion script of `shell` for this CLI. Built in memory, so that
/// a closed pipe (`| head`) is the caller's error to ignore, not a panic.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "orcoursetrion", &mut out);
    out
}

impl From<GitHubError> for CliError {
    fn from(e: GitHubError) -> Self {
        CliError::Action(ActionError::GitHub(e))
    }
}

/// A GitHub handle from the configuration, acting where the CLI's writes go:
/// a personal token, an App installation named by `ORC_APP_INSTALLATION_ID`,
/// or else, as the server does, the installation of each account a call
/// touches.
pub async fn github_from_config(config: &Config, client: ClientConfig) -> Result<GitHub, CliError> {
    match &config.auth {
        Some(GitHubAuth::Token(t)) => Ok(GitHub::with_token(client, t.clone())?),
        Some(GitHubAuth::App {
            app_id,
            private_key,
            installation_id,
        }) => {
            let app = AppCredentials::from_pem(app_id.clone(), private_key)?;
            let gh = GitHub::app(client, app)?;
            Ok(match installation_id {
                Some(id) => gh.installation(*id),
                None => gh.routed_via(&config.settings.xml.org).await?,
            })
        }
        None => Err(CliError::Config(
            "ORC_GH_OAUTH2_TOKEN: not set (or set ORC_APP_ID and ORC_APP_PRIVATE_KEY_PATH, as setup writes them)".into(),
        )),
    }
}

/// Run one action from the CLI and return what to print on success: the
/// created repo's html_url (as orcoursetrion did), a hook count, or a line.
pub async fn run_action(
    config: &Config,
    action: &Action,
    dry_run: bool,
    client: ClientConfig,
) -> Result<String, CliError> {
    let plan = actions::plan(action, &config.settings)?;
    if dry_run {
        // The plan and its checks: all of them when GitHub can be asked
        // (read calls only), else those the configuration answers.
        let mut out = plan.render().trim_end().to_string();
        let checks = match github_from_config(config, client).await {
            Ok(gh) => actions::preflight(&gh, &config.settings, action, &[]).await?,
            Err(e) => {
                out.push_str(&format!(
                    "\n(GitHub cannot be asked: {e}; only the checks that need no GitHub call)"
                ));
                actions::config_checks(&config.settings, action)
            }
        };
        if !checks.is_empty() {
            out.push_str("\nChecks:");
            for c in &checks {
                out.push_str(&format!("\n  {}", check_line(c)));
            }
        }
        return Ok(out);
    }
    let gh = github_from_config(config, client).await?;
    // The CLI keeps no record of the repos it made, so it never adopts one.
    let checks = actions::preflight(&gh, &config.settings, action, &[]).await?;
    match actions::verdict(&checks) {
        actions::Verdict::Refused => {
            let failed: Vec<String> = checks
                .iter()
                .filter(|c| !c.passed())
                .map(check_line)
                .collect();
            return Err(CliError::Refused(failed.join("; ")));
        }
        actions::Verdict::AlreadyDone => return Ok("already done: nothing to change".to_string()),
        actions::Verdict::Go { .. } => {}
    }
    let mut journal = actions::Journal::default();
    let result =
        actions::execute(&gh, &config.settings, &plan, &mut journal, &mut NoJournal).await?;
    // What orcoursetrion printed: the created repo's URL, else how many
    // hooks were removed, else what was done.
    Ok(match (result.created_repo_url(), result.hooks_removed()) {
        (Some(url), _) => url.to_string(),
        (None, Some(n)) => n.to_string(),
        (None, None) => result
            .outcomes
            .iter()
            .map(|o| o.summary())
            .collect::<Vec<_>>()
            .join("\n"),
    })
}
