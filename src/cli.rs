//! The `orcoursetrion` command line: orcoursetrion's subcommands with their old
//! flags (underscore names, and dashed spellings as aliases), `--dry-run`, and
//! `serve` for the GitHub App.

use clap::{Parser, Subcommand};

use crate::actions::{self, Action, ActionError, NoJournal};
use crate::app_auth::AppCredentials;
use crate::config::{Config, GitHubAuth};
use crate::github::{ClientConfig, GitHub, GitHubError};
use crate::naming::{Course, Login, NameError, OrgName, RepoFullName, TeamName, Term};

#[derive(Debug, Parser)]
#[command(
    name = "orcoursetrion",
    version,
    about = "Provision edX course repositories on GitHub (CLI and GitHub App)",
    after_help = "Configuration comes from ORC_* environment variables (and an optional .env file); see the README."
)]
pub struct Cli {
    /// Print the plan of steps and make no GitHub call.
    #[arg(long = "dry-run", alias = "dry_run", global = true)]
    pub dry_run: bool,

    #[command(subcommand)]
    pub command: CliCommand,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CourseTerm {
    /// Course to work on (e.g. 6.004r)
    #[arg(short = 'c', long)]
    pub course: String,
    /// Term of the course (e.g. 2018_Spring)
    #[arg(short = 't', long)]
    pub term: String,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Run the GitHub App server (webhooks, queue, workers); setup mode without credentials.
    Serve,
    /// Create a Studio export repo with the studio deploy team, .gitignore and course.xml.
    #[command(name = "create_export_repo", visible_alias = "create-export-repo")]
    CreateExportRepo {
        #[command(flatten)]
        run: CourseTerm,
        /// Description of the repository
        #[arg(short = 'd', long)]
        description: Option<String>,
    },
    /// Remove the webhooks of a Studio run and create the repo of its new term.
    #[command(name = "rerun_studio", visible_alias = "rerun-studio")]
    RerunStudio {
        #[command(flatten)]
        run: CourseTerm,
        /// The new term (e.g. 2019_Spring)
        #[arg(short = 'n', long = "new-term", alias = "new_term")]
        new_term: String,
        #[arg(short = 'd', long)]
        description: Option<String>,
    },
    /// Add the production gitreload webhook to a Studio run.
    #[command(name = "release_studio", visible_alias = "release-studio")]
    ReleaseStudio {
        #[command(flatten)]
        run: CourseTerm,
    },
    /// Create an XML course repo with the xml deploy team, a course team and the staging webhook.
    #[command(name = "create_xml_repo", visible_alias = "create-xml-repo")]
    CreateXmlRepo {
        #[command(flatten)]
        run: CourseTerm,
        /// Team to give push access (default: the repo name)
        #[arg(short = 'g', long)]
        team: Option<String>,
        /// Usernames that replace the team's membership (none given: membership untouched)
        #[arg(short = 'm', long = "member", alias = "members", num_args = 0..)]
        member: Option<Vec<String>>,
        #[arg(short = 'd', long)]
        description: Option<String>,
    },
    /// Remove every webhook of an XML run; prints how many.
    #[command(name = "rerun_xml", visible_alias = "rerun-xml")]
    RerunXml {
        #[command(flatten)]
        run: CourseTerm,
    },
    /// Add the production gitreload webhook to an XML run.
    #[command(name = "release_xml", visible_alias = "release-xml")]
    ReleaseXml {
        #[command(flatten)]
        run: CourseTerm,
    },
    /// Create or update a team; with -m, its membership becomes exactly those users.
    #[command(name = "put_team", visible_alias = "put-team")]
    PutTeam {
        /// Organization of the team
        #[arg(short = 'o', long)]
        org: String,
        /// Team name
        #[arg(short = 'g', long)]
        team: String,
        /// Pull (read-only) access when the team is created; push otherwise
        #[arg(short = 'r', long = "read_only", alias = "read-only")]
        read_only: bool,
        #[arg(short = 'm', long = "member", alias = "members", num_args = 0..)]
        member: Option<Vec<String>>,
    },
    /// Copy one branch of a repo into another repo without history (overwrites its main).
    #[command(name = "shallow_copy_repo", visible_alias = "shallow-copy-repo")]
    ShallowCopyRepo {
        /// Source repo as OWNER/NAME
        #[arg(short = 's', long)]
        src: String,
        /// Destination repo as OWNER/NAME (must exist)
        #[arg(long)]
        dst: String,
        /// Branch of the source to copy (default: its default branch)
        #[arg(short = 'b', long)]
        branch: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Action(#[from] ActionError),
}

impl From<GitHubError> for CliError {
    fn from(e: GitHubError) -> Self {
        CliError::Action(ActionError::GitHub(e))
    }
}

fn course_term(run: &CourseTerm) -> Result<(Course, Term), NameError> {
    Ok((Course::parse(&run.course)?, Term::parse(&run.term)?))
}

fn members(list: &Option<Vec<String>>) -> Result<Option<Vec<Login>>, NameError> {
    list.as_ref()
        .map(|ms| {
            ms.iter()
                .map(|m| Login::parse(m))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()
}

/// Validate every argument into an [`Action`]; nothing reaches GitHub before this.
pub fn to_action(cmd: &CliCommand) -> Result<Option<Action>, NameError> {
    Ok(Some(match cmd {
        CliCommand::Serve => return Ok(None),
        CliCommand::CreateExportRepo { run, description } => {
            let (course, term) = course_term(run)?;
            Action::CreateExportRepo {
                course,
                term,
                description: description.clone(),
            }
        }
        CliCommand::RerunStudio {
            run,
            new_term,
            description,
        } => {
            let (course, term) = course_term(run)?;
            Action::RerunStudio {
                course,
                term,
                new_term: Term::parse(new_term)?,
                description: description.clone(),
            }
        }
        CliCommand::ReleaseStudio { run } => {
            let (course, term) = course_term(run)?;
            Action::ReleaseStudio { course, term }
        }
        CliCommand::CreateXmlRepo {
            run,
            team,
            member,
            description,
        } => {
            let (course, term) = course_term(run)?;
            Action::CreateXmlRepo {
                course,
                term,
                team: team.as_deref().map(TeamName::parse).transpose()?,
                members: members(member)?,
                description: description.clone(),
            }
        }
        CliCommand::RerunXml { run } => {
            let (course, term) = course_term(run)?;
            Action::RerunXml { course, term }
        }
        CliCommand::ReleaseXml { run } => {
            let (course, term) = course_term(run)?;
            Action::ReleaseXml { course, term }
        }
        CliCommand::PutTeam {
            org,
            team,
            read_only,
            member,
        } => Action::PutTeam {
            org: OrgName::parse(org)?,
            team: TeamName::parse(team)?,
            read_only: *read_only,
            members: members(member)?,
        },
        CliCommand::ShallowCopyRepo { src, dst, branch } => {
            if let Some(b) = branch {
                crate::git::validate_branch(b).map_err(|_| NameError {
                    what: "branch",
                    value: b.clone(),
                    rule: "letters, digits, '-', '_', '.', '/'; not starting with '-', no '..'",
                })?;
            }
            Action::ShallowCopyRepo {
                src: RepoFullName::parse(src)?,
                dst: RepoFullName::parse(dst)?,
                branch: branch.clone(),
            }
        }
    }))
}

/// A GitHub handle from the configuration, acting where the CLI's writes go.
pub fn github_from_config(config: &Config, client: ClientConfig) -> Result<GitHub, CliError> {
    match &config.auth {
        Some(GitHubAuth::Token(t)) => Ok(GitHub::with_token(client, t.clone())?),
        Some(GitHubAuth::App {
            app_id,
            private_key,
            installation_id,
        }) => {
            let id = installation_id.ok_or_else(|| {
                CliError::Config(
                    "ORC_APP_INSTALLATION_ID: required to run actions from the CLI with App credentials (or set ORC_GH_OAUTH2_TOKEN)".into(),
                )
            })?;
            let app = AppCredentials::from_pem(app_id.clone(), private_key)?;
            Ok(GitHub::app(client, app)?.installation(id))
        }
        None => Err(CliError::Config(
            "ORC_GH_OAUTH2_TOKEN: not set (or set ORC_APP_ID, ORC_APP_PRIVATE_KEY and ORC_APP_INSTALLATION_ID)".into(),
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
        return Ok(plan.render().trim_end().to_string());
    }
    let gh = github_from_config(config, client)?;
    let mut journal = actions::Journal::default();
    let result =
        actions::execute(&gh, &config.settings, &plan, &mut journal, &mut NoJournal).await?;
    Ok(match action {
        Action::RerunXml { .. } => result.hooks_removed().unwrap_or(0).to_string(),
        _ => match result.created_repo_url() {
            Some(url) => url.to_string(),
            None => result
                .outcomes
                .iter()
                .map(|o| o.summary())
                .collect::<Vec<_>>()
                .join("\n"),
        },
    })
}
