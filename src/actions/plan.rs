//! Turning an [`Action`] into the ordered steps that do it. Pure: no I/O, so a
//! dry run and the real run see the same plan, and a resumed job's journal
//! lines up with the steps it was written for.

use super::{
    Action, ActionError, AddHook, CourseRerun, CourseRun, CreateExportRepo, CreateXmlRepo, PutTeam,
    RerunStudio, RerunXmlCourse, Settings, ShallowCopyRepo,
};
pub use crate::catalog::HookTarget;
use crate::github::types::Permission;
use crate::naming::{Branch, Course, Term};

const GITIGNORE: &str = "\ndrafts/\n";

/// An existing repo known by the names it may have: today's name first, then
/// the double-dash name old orcoursetrion gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoTarget {
    pub org: String,
    pub names: Vec<String>,
}

impl RepoTarget {
    fn run(org: &str, s: &Settings, course: &Course, term: &Term) -> Self {
        RepoTarget {
            org: org.to_string(),
            names: s.names.candidate_repo_names(course, term),
        }
    }
    fn exact(org: &str, name: &str) -> Self {
        RepoTarget {
            org: org.to_string(),
            names: vec![name.to_string()],
        }
    }
    pub fn display(&self) -> String {
        format!(
            "{}/{}",
            self.org,
            self.names.first().map(String::as_str).unwrap_or("?")
        )
    }
}

/// Create a team or bring it up to date: its access to a repo, and exactly
/// these members when they are given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamStep {
    pub org: String,
    pub team: String,
    pub permission: Permission,
    pub members: Option<Vec<String>>,
    /// Also give the team `permission` on this repo of `org`.
    pub repo: Option<String>,
}

/// Copy a repo's files, without its history, into a new repo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyStep {
    pub src: RepoTarget,
    pub dst_org: String,
    pub dst: String,
    pub branch: Option<Branch>,
    /// An XML rerun: the copy is moved from the old term to the new.
    pub retarget: Option<(Term, Term)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    CreateRepo {
        org: String,
        name: String,
        description: Option<String>,
    },
    GrantTeam {
        org: String,
        team: String,
        repo: String,
        /// `None`: GitHub gives the team its own permission attribute (what
        /// orcoursetrion did: pull for the XML deploy team, push for Studio's).
        permission: Option<Permission>,
    },
    AddFile {
        org: String,
        repo: String,
        path: String,
        contents: String,
    },
    RemoveHooks {
        repo: RepoTarget,
    },
    AddHook {
        repo: RepoTarget,
        target: HookTarget,
    },
    PutTeam(TeamStep),
    ShallowCopy(CopyStep),
    /// Give every team with push access to `from` (but `skip`, the deploy
    /// team, which has its own step) push access to `to`.
    CopyTeams {
        from: RepoTarget,
        to_org: String,
        to: String,
        skip: String,
    },
}

impl Step {
    /// One line for a plan listing; never shows a hook URL.
    pub fn describe(&self) -> String {
        match self {
            Step::CreateRepo { org, name, .. } => format!("create private repo {org}/{name}"),
            Step::GrantTeam {
                org,
                team,
                repo,
                permission,
            } => match permission {
                Some(p) => format!("give team \"{team}\" {} access to {org}/{repo}", p.as_str()),
                None => format!("give team \"{team}\" its usual access to {org}/{repo}"),
            },
            Step::AddFile {
                org, repo, path, ..
            } => format!("commit {path} to {org}/{repo}"),
            Step::RemoveHooks { repo } => format!("remove every webhook of {}", repo.display()),
            Step::AddHook { repo, target } => format!(
                "add the {} gitreload webhook to {}",
                target.label(),
                repo.display()
            ),
            Step::PutTeam(t) => {
                let (org, team, permission) = (&t.org, &t.team, t.permission);
                let mut s = format!(
                    "create or update team \"{team}\" in {org} ({} when created)",
                    permission.as_str()
                );
                if let Some(m) = &t.members {
                    if m.is_empty() {
                        s.push_str(", membership set to nobody");
                    } else {
                        s.push_str(&format!(", membership set to exactly {}", m.join(", ")));
                    }
                }
                if let Some(r) = &t.repo {
                    s.push_str(&format!(
                        ", with {} access to {org}/{r}",
                        permission.as_str()
                    ));
                }
                s
            }
            Step::ShallowCopy(c) => format!(
                "copy {}{} into {}/{} without history{}",
                c.src.display(),
                c.branch
                    .as_ref()
                    .map(|b| format!(" (branch {b})"))
                    .unwrap_or_default(),
                c.dst_org,
                c.dst,
                c.retarget
                    .as_ref()
                    .map(|(old, new)| format!(", the course moved from {old} to {new}"))
                    .unwrap_or_default()
            ),
            Step::CopyTeams {
                from, to_org, to, ..
            } => format!(
                "give the course team(s) of {} push access to {to_org}/{to}",
                from.display()
            ),
        }
    }

    /// Whether this step changes anything on GitHub (all do today; kept so a
    /// read-only step can be added without touching the dry-run rule).
    pub fn writes(&self) -> bool {
        true
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub title: String,
    pub steps: Vec<Step>,
    /// Look before every write: the command is finishing what an earlier
    /// run of it left (an adopted repo), so any step may be done already.
    pub reconcile: bool,
}

impl Plan {
    /// The dry-run listing.
    pub fn render(&self) -> String {
        let mut out = format!("Plan for {}:\n", self.title);
        for (i, s) in self.steps.iter().enumerate() {
            out.push_str(&format!("  {}. {}\n", i + 1, s.describe()));
        }
        out
    }
}

fn new_repo_steps(
    org: &str,
    (deploy_team, permission): (&str, Option<Permission>),
    name: &str,
    description: &Option<String>,
) -> Vec<Step> {
    vec![
        Step::CreateRepo {
            org: org.to_string(),
            name: name.to_string(),
            description: description.clone(),
        },
        Step::GrantTeam {
            org: org.to_string(),
            team: deploy_team.to_string(),
            repo: name.to_string(),
            permission,
        },
    ]
}

fn gitignore(org: &str, repo: &str) -> Step {
    Step::AddFile {
        org: org.to_string(),
        repo: repo.to_string(),
        path: ".gitignore".to_string(),
        contents: GITIGNORE.to_string(),
    }
}

/// Build the plan of an action. Pure; fails only on missing settings.
pub fn plan(action: &Action, s: &Settings) -> Result<Plan, ActionError> {
    let n = &s.names;
    let (title, steps) = match action {
        Action::CreateExportRepo(CreateExportRepo {
            course,
            term,
            description,
        }) => {
            let name = n.new_repo_name(course, term)?;
            let org = &s.studio.org;
            let mut steps = new_repo_steps(org, s.studio.deploy(), &name, description);
            steps.push(gitignore(org, &name));
            steps.push(Step::AddFile {
                org: org.clone(),
                repo: name.clone(),
                path: "course.xml".to_string(),
                contents: format!(
                    "<course url_name=\"{}\" org=\"{}\" course=\"{}\"/>\n",
                    term.as_str(),
                    n.edx_org(),
                    course.as_str()
                ),
            });
            (format!("create_export_repo {course} {term}"), steps)
        }
        Action::RerunStudio(RerunStudio {
            run:
                CourseRerun {
                    course,
                    term,
                    new_term,
                },
            description,
        }) => {
            let org = &s.studio.org;
            let name = n.new_repo_name(course, new_term)?;
            // The new run first; the old run's hooks go last, so a failure
            // on the way leaves production as it was.
            let mut steps = new_repo_steps(org, s.studio.deploy(), &name, description);
            steps.push(gitignore(org, &name));
            steps.push(Step::RemoveHooks {
                repo: RepoTarget::run(org, s, course, term),
            });
            (format!("rerun_studio {course} {term} → {new_term}"), steps)
        }
        Action::ReleaseStudio(CourseRun { course, term })
        | Action::ReleaseXml(CourseRun { course, term }) => {
            let (org, verb) = if matches!(action, Action::ReleaseStudio(_)) {
                (&s.studio.org, "release_studio")
            } else {
                (&s.xml.org, "release_xml")
            };
            (
                format!("{verb} {course} {term}"),
                vec![Step::AddHook {
                    repo: RepoTarget::run(org, s, course, term),
                    target: HookTarget::Production,
                }],
            )
        }
        Action::CreateXmlRepo(CreateXmlRepo {
            course,
            term,
            team,
            members,
            description,
        }) => {
            let org = &s.xml.org;
            let name = n.new_repo_name(course, term)?;
            let team = team
                .as_ref()
                .map(|t| t.as_str().to_string())
                .unwrap_or_else(|| n.team_name(course, term));
            let mut steps = new_repo_steps(org, s.xml.deploy(), &name, description);
            steps.push(Step::PutTeam(TeamStep {
                org: org.clone(),
                team,
                permission: Permission::Push,
                members: members
                    .as_ref()
                    .map(|m| m.iter().map(|l| l.as_str().to_string()).collect()),
                repo: Some(name.clone()),
            }));
            steps.push(Step::AddHook {
                repo: RepoTarget::exact(org, &name),
                target: HookTarget::Staging,
            });
            (format!("create_xml_repo {course} {term}"), steps)
        }
        Action::RerunXml(CourseRun { course, term }) => (
            format!("rerun_xml {course} {term}"),
            vec![Step::RemoveHooks {
                repo: RepoTarget::run(&s.xml.org, s, course, term),
            }],
        ),
        Action::PutTeam(PutTeam {
            org,
            team,
            read_only,
            members,
        }) => (
            format!("put_team {org} {team}"),
            vec![Step::PutTeam(TeamStep {
                org: org.as_str().to_string(),
                team: team.as_str().to_string(),
                permission: Permission::from_read_only(*read_only),
                members: members
                    .as_ref()
                    .map(|m| m.iter().map(|l| l.as_str().to_string()).collect()),
                repo: None,
            })],
        ),
        Action::ShallowCopyRepo(ShallowCopyRepo { src, dst, branch }) => (
            format!("shallow_copy_repo {src} → {dst}"),
            vec![Step::ShallowCopy(CopyStep {
                src: RepoTarget::exact(src.owner().as_str(), src.name()),
                dst_org: dst.owner().to_string(),
                dst: dst.name().to_string(),
                branch: branch.clone(),
                retarget: None,
            })],
        ),
        Action::RerunXmlCourse(RerunXmlCourse {
            course,
            term,
            new_term,
        }) => {
            let org = &s.xml.org;
            let old = RepoTarget::run(org, s, course, term);
            let name = n.new_repo_name(course, new_term)?;
            // Build the new run completely, then take the old one's hooks off.
            let mut steps = new_repo_steps(org, s.xml.deploy(), &name, &None);
            steps.push(Step::ShallowCopy(CopyStep {
                src: old.clone(),
                dst_org: org.clone(),
                dst: name.clone(),
                branch: None,
                retarget: Some((term.clone(), new_term.clone())),
            }));
            steps.push(Step::CopyTeams {
                from: old.clone(),
                to_org: org.clone(),
                to: name.clone(),
                skip: s.xml.deploy_team.clone(),
            });
            steps.push(Step::AddHook {
                repo: RepoTarget::exact(org, &name),
                target: HookTarget::Staging,
            });
            steps.push(Step::RemoveHooks { repo: old });
            (format!("rerun {course} {term} → {new_term} (xml)"), steps)
        }
        Action::AddHook(AddHook {
            course,
            term,
            target,
            kind,
        }) => (
            format!("add_hook {course} {term} {target}"),
            vec![Step::AddHook {
                repo: RepoTarget::run(s.org_of(*kind), s, course, term),
                target: *target,
            }],
        ),
    };
    Ok(Plan {
        title,
        steps,
        reconcile: false,
    })
}
