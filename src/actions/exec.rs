//! Running a plan: one step at a time, each bracketed by journal saves.
//!
//! Before a step runs, the journal marks it in flight; after, it records the
//! outcome. On resume, finished steps are skipped and an in-flight step is
//! *reconciled*: its effect is looked up on GitHub (does the repo / hook /
//! file exist?) before anything is written again. The same reconciliation
//! handles a write whose answer was lost (`GitHubError::InDoubt`).

use std::future::Future;
use std::pin::Pin;

use super::git::{self, GitError};
use super::plan::{CopyStep, Plan, RepoTarget, Step, TeamStep};
use super::{ActionError, ActionResult, Journal, JournalError, Outcome, Settings};
use crate::github::types::{Permission, Repo};
use crate::github::{GitHub, GitHubError};
use crate::naming::team_slug;

/// Told about each step as it starts (`outcome: None`) and ends.
#[derive(Debug, Clone, Copy)]
pub struct StepReport<'a> {
    pub index: usize,
    pub total: usize,
    pub step: &'a Step,
    pub outcome: Option<&'a Outcome>,
}

pub type SaveFuture<'a> = Pin<Box<dyn Future<Output = Result<(), JournalError>> + Send + 'a>>;

/// Where the journal goes after every change (the job store, or nowhere for a
/// one-shot CLI run). An error stops the action before its next write.
pub trait JournalSink: Send {
    fn save<'a>(&'a mut self, journal: &'a Journal, report: StepReport<'a>) -> SaveFuture<'a>;
}

/// For callers that keep the journal only in memory.
pub struct NoJournal;

impl JournalSink for NoJournal {
    fn save<'a>(&'a mut self, _: &'a Journal, _: StepReport<'a>) -> SaveFuture<'a> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Run `plan`, continuing from `journal`. Returns every outcome, those of
/// earlier runs included.
pub async fn execute(
    gh: &GitHub,
    settings: &Settings,
    plan: &Plan,
    journal: &mut Journal,
    sink: &mut dyn JournalSink,
) -> Result<ActionResult, ActionError> {
    let total = plan.steps.len();
    for index in journal.done.len()..total {
        let step = &plan.steps[index];
        let mut in_doubt = plan.reconcile || journal.in_flight == Some(index);
        journal.in_flight = Some(index);
        let report = StepReport {
            index,
            total,
            step,
            outcome: None,
        };
        sink.save(journal, report).await?;
        let outcome = loop {
            match run_step(gh, settings, step, &journal.done, in_doubt, plan.reconcile).await {
                Err(ActionError::GitHub(GitHubError::InDoubt { .. })) if !in_doubt => {
                    tracing::info!(step = index, "write in doubt; reconciling before retrying");
                    in_doubt = true;
                }
                other => break other?,
            }
        };
        tracing::info!(step = index + 1, total, "{}", outcome.summary());
        journal.done.push(outcome);
        journal.in_flight = None;
        let outcome = journal.done.last();
        sink.save(journal, StepReport { outcome, ..report }).await?;
    }
    Ok(ActionResult {
        outcomes: journal.done.clone(),
    })
}

fn repo_created(r: Repo, in_place: bool) -> Outcome {
    Outcome::RepoCreated {
        full_name: r.full_name,
        html_url: r.html_url,
        clone_url: r.clone_url,
        in_place,
    }
}

fn not_found(target: &RepoTarget) -> ActionError {
    let repo = target.names.first().map(String::as_str).unwrap_or_default();
    ActionError::GitHub(GitHubError::repo_not_found(&target.org, repo))
}

/// Runs one step. `in_doubt`: it may have been done already (a resumed or
/// lost write, or an adopted repo); look before writing. `adopting`: what is
/// found in place was left by an earlier run of the command, and says so.
async fn run_step(
    gh: &GitHub,
    s: &Settings,
    step: &Step,
    done: &[Outcome],
    in_doubt: bool,
    adopting: bool,
) -> Result<Outcome, ActionError> {
    match step {
        Step::CreateRepo {
            org,
            name,
            description,
        } => {
            if in_doubt {
                if let Some(r) = gh.get_repo(org, name).await? {
                    return Ok(repo_created(r, adopting));
                }
            }
            let r = gh
                .create_repo(org, name, description.as_deref(), true)
                .await?;
            Ok(repo_created(r, false))
        }
        Step::GrantTeam {
            org,
            team,
            repo,
            permission,
        } => {
            grant_team(gh, org, team, repo, *permission).await?;
            Ok(Outcome::TeamGranted {
                team: team.clone(),
                repo: format!("{org}/{repo}"),
            })
        }
        Step::AddFile {
            org,
            repo,
            path,
            contents,
        } => {
            let outcome = |in_place| Outcome::FileAdded {
                repo: format!("{org}/{repo}"),
                path: path.clone(),
                in_place,
            };
            if in_doubt && gh.file_exists(org, repo, path).await? {
                return Ok(outcome(adopting));
            }
            let message = format!("Add {path}");
            gh.add_file(org, repo, path, contents, &message, &s.committer)
                .await?;
            Ok(outcome(false))
        }
        Step::RemoveHooks { repo } => {
            for name in &repo.names {
                let hooks = match gh.list_hooks(&repo.org, name).await {
                    Ok(h) => h,
                    Err(GitHubError::RepoNotFound { .. }) => continue,
                    Err(e) => return Err(e.into()),
                };
                for h in &hooks {
                    gh.delete_hook(&repo.org, name, h.id).await?;
                }
                return Ok(Outcome::HooksRemoved {
                    repo: format!("{}/{name}", repo.org),
                    count: hooks.len() as u32,
                });
            }
            Err(not_found(repo))
        }
        Step::AddHook { repo, target } => {
            let url = s.gitreload(*target).ok_or_else(|| {
                ActionError::NotConfigured(format!(
                    "the {target} gitreload URL is not configured; ask an operator"
                ))
            })?;
            for name in &repo.names {
                let outcome = |in_place| Outcome::HookAdded {
                    repo: format!("{}/{name}", repo.org),
                    target: *target,
                    in_place,
                };
                if in_doubt {
                    match gh.list_hooks(&repo.org, name).await {
                        Ok(hooks) => {
                            if hooks
                                .iter()
                                .any(|h| h.config.url.as_deref() == Some(url.expose()))
                            {
                                return Ok(outcome(adopting));
                            }
                        }
                        Err(GitHubError::RepoNotFound { .. }) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                match gh
                    .create_hook(&repo.org, name, url, s.gitreload_secret.as_ref())
                    .await
                {
                    Ok(_) => return Ok(outcome(false)),
                    Err(GitHubError::RepoNotFound { .. }) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(not_found(repo))
        }
        Step::PutTeam(t) => put_team(gh, t, in_doubt).await,
        Step::ShallowCopy(c) => shallow_copy(gh, s, c, done, in_doubt).await,
        Step::CopyTeams {
            from,
            to_org,
            to,
            skip,
        } => {
            let skip_slug = team_slug(skip);
            for name in &from.names {
                let Some(teams) = gh.list_repo_teams(&from.org, name).await? else {
                    continue;
                };
                let mut copied = Vec::new();
                for t in teams {
                    let can_push =
                        matches!(t.permission.as_deref(), Some("push" | "admin" | "maintain"));
                    if !can_push || t.slug == skip_slug {
                        continue;
                    }
                    gh.add_team_repo(to_org, &t.slug, to_org, to, Some(Permission::Push))
                        .await?;
                    copied.push(t.name);
                }
                return Ok(Outcome::TeamsCopied {
                    repo: format!("{to_org}/{to}"),
                    teams: copied,
                });
            }
            Err(not_found(from))
        }
    }
}

/// Give a team (by name) access to a repo: one PUT by the name's slug, and
/// only if GitHub does not know that slug, a scan for the team's real slug.
async fn grant_team(
    gh: &GitHub,
    org: &str,
    team: &str,
    repo: &str,
    permission: Option<Permission>,
) -> Result<(), ActionError> {
    match gh
        .add_team_repo(org, &team_slug(team), org, repo, permission)
        .await
    {
        Err(GitHubError::TeamNotFound { .. }) => {
            let wanted = team.trim();
            let found = gh
                .list_teams(org)
                .await?
                .into_iter()
                .find(|t| t.name.trim().eq_ignore_ascii_case(wanted))
                .ok_or_else(|| GitHubError::team_not_found(org, team))?;
            gh.add_team_repo(org, &found.slug, org, repo, permission)
                .await?;
            Ok(())
        }
        other => Ok(other?),
    }
}

/// Copies the first of `c.src`'s names that exists into `c.dst`, without its
/// history. In doubt, a course copy that has its course.xml is done: the copy
/// is one commit, pushed at once.
async fn shallow_copy(
    gh: &GitHub,
    s: &Settings,
    c: &CopyStep,
    done: &[Outcome],
    in_doubt: bool,
) -> Result<Outcome, ActionError> {
    let CopyStep {
        src,
        dst_org,
        dst,
        branch,
        retarget,
    } = c;
    let mut src_repo = None;
    for name in &src.names {
        if let Some(r) = gh.get_repo(&src.org, name).await? {
            src_repo = Some(r);
            break;
        }
    }
    let src_repo = src_repo.ok_or_else(|| not_found(src))?;
    let dst_full = format!("{dst_org}/{dst}");
    let copied = Outcome::Copied {
        src: src_repo.full_name.clone(),
        dst: dst_full.clone(),
    };
    // A course copy that got as far as its course.xml is in place: the
    // copy is one commit, pushed at once.
    if in_doubt && retarget.is_some() && gh.file_exists(dst_org, dst, "course.xml").await? {
        return Ok(copied);
    }
    let known = done.iter().find_map(|o| match o {
        Outcome::RepoCreated {
            full_name,
            clone_url: Some(url),
            ..
        } if full_name.eq_ignore_ascii_case(&dst_full) => Some(url.clone()),
        _ => None,
    });
    let dst_url = match known {
        Some(u) => u,
        None => gh
            .get_repo(dst_org, dst)
            .await?
            .and_then(|r| r.clone_url)
            .ok_or_else(|| ActionError::GitHub(GitHubError::repo_not_found(dst_org, dst)))?,
    };
    let src_url = src_repo.clone_url.clone().ok_or_else(|| {
        ActionError::Git(GitError(format!("{} has no clone URL", src_repo.full_name)))
    })?;
    let src_token = gh.token_for_git(&src.org).await?;
    let dst_token = gh.token_for_git(dst_org).await?;
    git::shallow_copy(&git::CopyRequest {
        src_url: &src_url,
        dst_url: &dst_url,
        branch: branch.as_ref(),
        committer: &s.committer,
        src_token: Some(&src_token),
        dst_token: Some(&dst_token),
        retarget: retarget.as_ref().map(|(old, new)| (old, new)),
        source_label: &src_repo.full_name,
    })
    .await?;
    Ok(copied)
}

/// orcoursetrion's put_team: create the team (pull or push) unless it exists,
/// optionally with access to `repo`, and when `members` is given make the
/// membership exactly that list.
///
/// An existing team is addressed by the slug GitHub derives from its name,
/// so updating one costs the refused create, the member list and the
/// membership changes; only if that slug is unknown (a team renamed since)
/// is the team looked up by name.
async fn put_team(gh: &GitHub, t: &TeamStep, in_doubt: bool) -> Result<Outcome, ActionError> {
    let TeamStep {
        org,
        team,
        permission,
        members,
        repo,
    } = t;
    let (permission, members, repo) = (*permission, members.as_deref(), repo.as_deref());
    let existing = if in_doubt {
        gh.find_team(org, team).await?
    } else {
        None
    };
    let (mut slug, mut name, created) = match existing {
        Some(t) => (t.slug, t.name, false),
        None => {
            let repos: Vec<String> = repo.iter().map(|r| format!("{org}/{r}")).collect();
            match gh.create_team(org, team, permission, &repos).await {
                Ok(t) => (t.slug, t.name, true),
                Err(GitHubError::TeamExists { .. }) => (team_slug(team), team.to_string(), false),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let mut looked_up = created || in_doubt;
    if let (Some(r), false) = (repo, created) {
        match gh
            .add_team_repo(org, &slug, org, r, Some(Permission::Push))
            .await
        {
            Err(GitHubError::TeamNotFound { .. }) if !looked_up => {
                (slug, name) = look_up_team(gh, org, team).await?;
                looked_up = true;
                gh.add_team_repo(org, &slug, org, r, Some(Permission::Push))
                    .await?;
            }
            other => other?,
        }
    }
    let mut added = Vec::new();
    let mut removed = Vec::new();
    if let Some(wanted) = members {
        // A team we just created with an installation token is empty; with a
        // personal token GitHub made its owner a maintainer, so look.
        let current = if created && !gh.is_personal_token() {
            Vec::new()
        } else {
            match gh.list_team_members(org, &slug).await {
                Err(GitHubError::TeamNotFound { .. }) if !looked_up => {
                    (slug, name) = look_up_team(gh, org, team).await?;
                    gh.list_team_members(org, &slug).await?
                }
                other => other?,
            }
        };
        for m in wanted {
            if !current.iter().any(|c| c.eq_ignore_ascii_case(m)) {
                gh.add_team_member(org, &slug, m).await?;
                added.push(m.clone());
            }
        }
        for c in &current {
            if !wanted.iter().any(|m| m.eq_ignore_ascii_case(c)) {
                gh.remove_team_member(org, &slug, c).await?;
                removed.push(c.clone());
            }
        }
    }
    Ok(Outcome::TeamPut {
        org: org.to_string(),
        slug,
        name,
        created,
        added,
        removed,
    })
}

/// The slug and name of a team that GitHub says exists but whose slug is not
/// the one its name gives.
async fn look_up_team(gh: &GitHub, org: &str, team: &str) -> Result<(String, String), ActionError> {
    let t = gh
        .find_team(org, team)
        .await?
        .ok_or_else(|| GitHubError::team_not_found(org, team))?;
    Ok((t.slug, t.name))
}
