//! The table of chat commands: one row per command, holding its syntax, its
//! help and the function that builds it. The parser, `/help` and the
//! canonical rendering all read this table, so they cannot drift apart; the
//! `match`es over [`Action`] below are exhaustive, so the compiler names any
//! action that has no row.
//!
//! Adding a chat command for an action: its row here, its arm in
//! [`action_spec`] and [`render_action`]; the struct and the plan live in
//! `actions/`.

use super::args::Args;
use super::render::Line;
use super::{Command, CommandError, HookRequest, Rerun};
use crate::actions::{
    Action, AddHook, CourseRerun, CourseRun, CreateExportRepo, CreateXmlRepo, HookTarget, PutTeam,
    RerunStudio, RerunXmlCourse, ShallowCopyRepo,
};
use crate::naming::{parse_members, Course, OrgName, TeamName, Term};

/// How a row's command is built from its words.
#[derive(Debug, Clone, Copy)]
pub enum Parser {
    /// From arguments already checked against the row (arity, option keys).
    Args(fn(&Args) -> Result<Command, CommandError>),
    /// `/plan`: the words are another command.
    Plan,
}

/// The definition of one command. Positionals in `[brackets]` are optional.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Canonical, dashed, lowercase name (without the slash).
    pub name: &'static str,
    /// Positional argument placeholders, in order; `[X]` marks an optional one.
    pub positional: &'static [&'static str],
    /// `key=value` options: key and what it means.
    pub options: &'static [(&'static str, &'static str)],
    /// An option that may also be written as a bare keyword after the
    /// positionals (`from OLD_TERM` for `from=OLD_TERM`): key and value name.
    pub keyword_option: Option<(&'static str, &'static str)>,
    /// One sentence for the help.
    pub summary: &'static str,
    /// A complete, valid command line (the tests parse every one).
    pub example: &'static str,
    /// Whether it changes anything on GitHub (needs permission; can be planned).
    pub mutating: bool,
    pub parse: Parser,
}

const DESCRIPTION: (&str, &str) = ("description", "the GitHub repository's description");
const MEMBERS: (&str, &str) = (
    "members",
    "GitHub logins separated by commas; replaces the team's membership",
);

const fn row(
    name: &'static str,
    positional: &'static [&'static str],
    options: &'static [(&'static str, &'static str)],
    summary: &'static str,
    example: &'static str,
    parse: fn(&Args) -> Result<Command, CommandError>,
) -> CommandSpec {
    CommandSpec {
        name,
        positional,
        options,
        keyword_option: None,
        summary,
        example,
        mutating: true,
        parse: Parser::Args(parse),
    }
}

pub static HELP: CommandSpec = CommandSpec {
    mutating: false,
    ..row(
        "help",
        &["[COMMAND]"],
        &[],
        "Show this help, or the help of one command.",
        "/help create-xml-repo",
        |a| super::help_topic(a.pos.first().map(String::as_str)),
    )
};

pub static CREATE_EXPORT_REPO: CommandSpec = row(
    "create-export-repo",
    &["COURSE", "TERM"],
    &[DESCRIPTION],
    "Create a Studio course run's export repository in the Studio \
        organization, with the Studio deploy team, a `.gitignore` and a `course.xml`.",
    "/create-export-repo 6.004r 2018_Spring description=\"Computation Structures\"",
    |a| {
        Ok(Command::Run(Action::CreateExportRepo(CreateExportRepo {
            course: a.positional(0, Course::parse)?,
            term: a.positional(1, Term::parse)?,
            description: a.description(),
        })))
    },
);

pub static RERUN_STUDIO: CommandSpec = row(
    "rerun-studio",
    &["COURSE", "TERM", "NEW_TERM"],
    &[DESCRIPTION],
    "Rerun a Studio course: remove the webhooks of the TERM run's repository \
        and create the NEW_TERM run's export repository.",
    "/rerun-studio 6.004r 2018_Spring 2019_Spring",
    |a| {
        Ok(Command::Run(Action::RerunStudio(RerunStudio {
            run: CourseRerun {
                course: a.positional(0, Course::parse)?,
                term: a.positional(1, Term::parse)?,
                new_term: a.positional(2, Term::parse)?,
            },
            description: a.description(),
        })))
    },
);

fn course_run(a: &Args) -> Result<CourseRun, CommandError> {
    Ok(CourseRun {
        course: a.positional(0, Course::parse)?,
        term: a.positional(1, Term::parse)?,
    })
}

pub static RELEASE_STUDIO: CommandSpec = row(
    "release-studio",
    &["COURSE", "TERM"],
    &[],
    "Release a Studio course run to production: add the production \
        gitreload webhook.",
    "/release-studio 6.004r 2018_Spring",
    |a| Ok(Command::Run(Action::ReleaseStudio(course_run(a)?))),
);

pub static CREATE_XML_REPO: CommandSpec = row(
    "create-xml-repo",
    &["COURSE", "TERM"],
    &[
        (
            "team",
            "the course team given push access (default: the repository's name)",
        ),
        MEMBERS,
        DESCRIPTION,
    ],
    "Create an XML course run's repository in the XML organization, with the \
        XML deploy team, the course team and the staging gitreload webhook.",
    "/create-xml-repo 6.004r 2018_Spring members=alice,bob",
    |a| {
        Ok(Command::Run(Action::CreateXmlRepo(CreateXmlRepo {
            course: a.positional(0, Course::parse)?,
            term: a.positional(1, Term::parse)?,
            team: a.option("team", TeamName::parse)?,
            members: a.option("members", parse_members)?,
            description: a.description(),
        })))
    },
);

pub static RERUN_XML: CommandSpec = row(
    "rerun-xml",
    &["COURSE", "TERM"],
    &[],
    "Rerun an XML course: remove the webhooks of the TERM run's repository.",
    "/rerun-xml 6.004r 2018_Spring",
    |a| Ok(Command::Run(Action::RerunXml(course_run(a)?))),
);

pub static RELEASE_XML: CommandSpec = row(
    "release-xml",
    &["COURSE", "TERM"],
    &[],
    "Release an XML course run to production: add the production \
        gitreload webhook.",
    "/release-xml 6.004r 2018_Spring",
    |a| Ok(Command::Run(Action::ReleaseXml(course_run(a)?))),
);

pub static PUT_TEAM: CommandSpec = row(
    "put-team",
    &["ORG", "TEAM"],
    &[
        (
            "read_only",
            "`true` gives a new team pull access instead of push \
            (ignored when the team exists; default `false`)",
        ),
        MEMBERS,
    ],
    "Create a team in an organization, or update its membership.",
    "/put-team mitx \"6.004 staff\" members=alice,bob",
    |a| {
        Ok(Command::Run(Action::PutTeam(PutTeam {
            org: a.positional(0, OrgName::parse)?,
            team: a.positional(1, TeamName::parse)?,
            read_only: a.bool_option("read_only")?.unwrap_or(false),
            members: a.option("members", parse_members)?,
        })))
    },
);

pub static RERUN: CommandSpec = CommandSpec {
    keyword_option: Some(("from", "OLD_TERM")),
    ..row(
        "rerun",
        &["COURSE", "NEW_TERM"],
        &[(
            "from",
            "the run to rerun, also written `from OLD_TERM` \
            (default: the course's latest run)",
        )],
        "Rerun a course in a new term: find its organization and run, retire \
            the old run's webhooks and create the new run (for XML courses a \
            history-free copy with the same team and the staging webhook).",
        "/rerun 6.004r 2019_Spring from 2018_Spring",
        |a| {
            Ok(Command::Rerun(Rerun {
                course: a.positional(0, Course::parse)?,
                new_term: a.positional(1, Term::parse)?,
                from: a.option("from", Term::parse)?,
            }))
        },
    )
};

pub static RELEASE: CommandSpec = row(
    "release",
    &["COURSE", "TERM"],
    &[],
    "Release a course run to production, whichever organization \
        (Studio or XML) it is in.",
    "/release 6.004r 2018_Spring",
    |a| Ok(Command::Release(course_run(a)?)),
);

pub static ADD_HOOK: CommandSpec = row(
    "add-hook",
    &["COURSE", "TERM", "HOOK"],
    &[],
    "Add the `staging` or `production` gitreload webhook to a course run, \
        whichever organization it is in (nothing changes if it is there).",
    "/add-hook 6.004r 2018_Spring staging",
    |a| {
        let run = course_run(a)?;
        let word = a
            .pos
            .get(2)
            .map(|w| w.to_ascii_lowercase())
            .unwrap_or_default();
        let target = word.parse::<HookTarget>().map_err(|_| {
            a.usage_error(format!(
                "Bad HOOK: expected `staging` or `production`, got {}",
                super::code(&word)
            ))
        })?;
        Ok(Command::AddHook(HookRequest { run, target }))
    },
);

pub static RETRY: CommandSpec = row(
    "retry",
    &[],
    &[],
    "Run this issue's last failed command again: the steps it finished are \
        kept, and the missing ones run.",
    "/retry",
    |_| Ok(Command::Retry),
);

pub static STATUS: CommandSpec = CommandSpec {
    mutating: false,
    ..row(
        "status",
        &[],
        &[],
        "Show the state of every request of this issue: who asked, where it \
            is, and its answer.",
        "/status",
        |_| Ok(Command::Status),
    )
};

pub static COURSES: CommandSpec = CommandSpec {
    mutating: false,
    ..row(
        "courses",
        &["[COURSE]"],
        &[],
        "List the catalog's runs of a course, or the latest runs, with their \
            repos and states.",
        "/courses 6.004r",
        |a| {
            let course = if a.pos.is_empty() {
                None
            } else {
                Some(a.positional(0, Course::parse)?)
            };
            Ok(Command::Courses { course })
        },
    )
};

/// Who may approve is checked when it runs (the approvers team, never the
/// request's author), so the row is open to anyone: a refusal is a reply.
pub static APPROVE: CommandSpec = CommandSpec {
    mutating: false,
    ..row(
        "approve",
        &[],
        &[],
        "Approve this issue's pending request, which then runs (approvers \
            only, and not the request's author).",
        "/approve",
        |_| Ok(Command::Approve),
    )
};

pub static CANCEL: CommandSpec = CommandSpec {
    mutating: false,
    ..row(
        "cancel",
        &[],
        &[],
        "Cancel this issue's pending request (its author or an operator).",
        "/cancel",
        |_| Ok(Command::Cancel),
    )
};

pub static PLAN: CommandSpec = CommandSpec {
    name: "plan",
    positional: &["COMMAND", "[ARGS…]"],
    options: &[],
    keyword_option: None,
    summary: "Dry run: show the steps a command would take, and change nothing.",
    example: "/plan create-xml-repo 6.004r 2018_Spring",
    mutating: false,
    parse: Parser::Plan,
};

/// Actions that only the CLI runs: a history-free copy of any repo the
/// installation can read is not for chat, and the full XML rerun is reached
/// through `/rerun`. Their rows give them a name and a rendering; they are
/// not in [`COMMANDS`], so the parser and `/help` never offer them.
pub static SHALLOW_COPY_REPO: CommandSpec = row(
    "shallow-copy-repo",
    &["SRC", "DST"],
    &[("branch", "the branch to copy")],
    "Copy one branch of a repo into another without history (CLI only).",
    "/shallow-copy-repo a/b c/d",
    |_| Err(CommandError::new("This action runs from the CLI only.")),
);
pub static RERUN_XML_COURSE: CommandSpec = row(
    "rerun-xml-course",
    &["COURSE", "TERM", "NEW_TERM"],
    &[],
    "The full XML rerun (reached through `/rerun`).",
    "/rerun 6.004r 2019_Spring",
    |_| Err(CommandError::new("Use /rerun for this.")),
);

/// Every chat command, in the order the help lists them.
pub static COMMANDS: &[&CommandSpec] = &[
    &HELP,
    &CREATE_EXPORT_REPO,
    &RERUN_STUDIO,
    &RELEASE_STUDIO,
    &CREATE_XML_REPO,
    &RERUN_XML,
    &RELEASE_XML,
    &PUT_TEAM,
    &RERUN,
    &RELEASE,
    &ADD_HOOK,
    &RETRY,
    &STATUS,
    &COURSES,
    &APPROVE,
    &CANCEL,
    &PLAN,
];

/// The row of an action.
pub fn action_spec(a: &Action) -> &'static CommandSpec {
    match a {
        Action::CreateExportRepo(_) => &CREATE_EXPORT_REPO,
        Action::RerunStudio(_) => &RERUN_STUDIO,
        Action::ReleaseStudio(_) => &RELEASE_STUDIO,
        Action::CreateXmlRepo(_) => &CREATE_XML_REPO,
        Action::RerunXml(_) => &RERUN_XML,
        Action::ReleaseXml(_) => &RELEASE_XML,
        Action::PutTeam(_) => &PUT_TEAM,
        Action::ShallowCopyRepo(_) => &SHALLOW_COPY_REPO,
        Action::RerunXmlCourse(_) => &RERUN_XML_COURSE,
        Action::AddHook(_) => &ADD_HOOK,
    }
}

/// Writes an action's arguments in canonical form (after its name).
pub(super) fn render_action(a: &Action, l: &mut Line) {
    match a {
        Action::CreateExportRepo(CreateExportRepo {
            course,
            term,
            description,
        }) => {
            l.words(&[course.as_str(), term.as_str()]);
            l.opt("description", description.as_deref());
        }
        Action::RerunStudio(RerunStudio { run, description }) => {
            l.words(&[
                run.course.as_str(),
                run.term.as_str(),
                run.new_term.as_str(),
            ]);
            l.opt("description", description.as_deref());
        }
        Action::ReleaseStudio(r) | Action::RerunXml(r) | Action::ReleaseXml(r) => {
            l.words(&[r.course.as_str(), r.term.as_str()])
        }
        // The round-trip property test (render, then parse) catches a field
        // that an arm leaves out.
        Action::CreateXmlRepo(r) => {
            l.words(&[r.course.as_str(), r.term.as_str()]);
            l.opt("team", r.team.as_ref().map(TeamName::as_str));
            l.members(r.members.as_deref());
            l.opt("description", r.description.as_deref());
        }
        Action::PutTeam(PutTeam {
            org,
            team,
            read_only,
            members,
        }) => {
            l.words(&[org.as_str(), team.as_str()]);
            if *read_only {
                l.opt("read_only", Some("true"));
            }
            l.members(members.as_deref());
        }
        Action::ShallowCopyRepo(ShallowCopyRepo { src, dst, branch }) => {
            l.words(&[&src.to_string(), &dst.to_string()]);
            l.opt("branch", branch.as_ref().map(|b| b.as_str()));
        }
        Action::RerunXmlCourse(RerunXmlCourse {
            course,
            term,
            new_term,
        }) => l.words(&[course.as_str(), term.as_str(), new_term.as_str()]),
        Action::AddHook(AddHook {
            course,
            term,
            target,
            ..
        }) => l.words(&[course.as_str(), term.as_str(), target.as_str()]),
    }
}
