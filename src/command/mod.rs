//! Slash-commands in issue comments: a pure parser, no I/O.
//!
//! This is the bot's whole input surface for humans, so it is strict about
//! what it accepts (typed names from [`crate::naming`]) and generous in how it
//! explains a refusal (the problem, the usage line, a did-you-mean, `/help`).
//!
//! What counts as a command follows what the reader *sees* on GitHub (see
//! [`scan`]). The table ([`table::COMMANDS`]) is the single definition of
//! every command: the parser checks arities and option keys against it, builds
//! each command through its row, and [`help_text`] is generated from it, so
//! the help cannot drift from what is accepted.

mod args;
mod lexer;
/// The one Markdown generator of the property tests, shared by the scanner's
/// and the parser's unit tests and by `tests/fuzz.rs`.
#[cfg(test)]
#[path = "../../tests/common/markdown.rs"]
mod markdown;
mod render;
mod scan;
mod table;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;

pub use args::find_spec;
pub use render::{help_for, help_text, usage};
pub use table::{CommandSpec, COMMANDS};

use crate::actions::{Action, CourseRun, HookTarget};
use crate::naming::{Course, Term};
use crate::text::markdown_code;
use args::{did_you_mean, normalize, parse_command};
use lexer::tokenize;
use scan::{command_lines, command_name_len};

/// `/rerun COURSE NEW_TERM [from OLD_TERM]`: which org and run are meant is
/// found on GitHub when it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rerun {
    pub course: Course,
    pub new_term: Term,
    pub from: Option<Term>,
}

/// `/add-hook COURSE TERM staging|production`: the run's org is found on
/// GitHub when it runs, as for `/release`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRequest {
    pub run: CourseRun,
    pub target: HookTarget,
}

/// A parsed, validated command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/help [COMMAND]`; the topic is the canonical name of a known command.
    Help { topic: Option<String> },
    /// One of orcoursetrion's actions, with its arguments.
    Run(Action),
    /// `/rerun COURSE NEW_TERM [from OLD_TERM]`
    Rerun(Rerun),
    /// `/release COURSE TERM`, in whichever org the run is.
    Release(CourseRun),
    /// `/add-hook COURSE TERM staging|production`, in whichever org the run is.
    AddHook(HookRequest),
    /// `/retry`: the last failed command, run again; what it had
    /// finished is found in place and kept.
    Retry,
    /// `/plan COMMAND …`: a dry run of a mutating command (never of a plan).
    Plan(Box<Command>),
    /// `/status`: the state of every request of this issue.
    Status,
    /// `/courses [COURSE]`: the catalog's runs of a course, or the latest runs.
    Courses { course: Option<Course> },
    /// `/approve`: an approver lets this pending request run.
    Approve,
    /// `/cancel`: the author or an operator withdraws the pending request.
    Cancel,
}

impl Command {
    /// The definition of this command.
    pub fn spec(&self) -> &'static CommandSpec {
        match self {
            Command::Help { .. } => &table::HELP,
            Command::Run(a) => table::action_spec(a),
            Command::Rerun(_) => &table::RERUN,
            Command::Release(_) => &table::RELEASE,
            Command::AddHook(_) => &table::ADD_HOOK,
            Command::Retry => &table::RETRY,
            Command::Plan(_) => &table::PLAN,
            Command::Status => &table::STATUS,
            Command::Courses { .. } => &table::COURSES,
            Command::Approve => &table::APPROVE,
            Command::Cancel => &table::CANCEL,
        }
    }

    /// The canonical name, as in [`COMMANDS`].
    pub fn name(&self) -> &'static str {
        self.spec().name
    }

    /// Whether running it changes GitHub; `/help` and `/plan` do not, so anyone
    /// who can comment may use them.
    pub fn is_mutating(&self) -> bool {
        self.spec().mutating
    }
}

/// `/help TOPIC`: the topic must name a command.
fn help_topic(topic: Option<&str>) -> Result<Command, CommandError> {
    let Some(t) = topic else {
        return Ok(Command::Help { topic: None });
    };
    let topic = t.strip_prefix('/').unwrap_or(t);
    match find_spec(topic) {
        Some(found) => Ok(Command::Help {
            topic: Some(found.name.to_owned()),
        }),
        None => Err(CommandError::new(format!(
            "There is no command {}; {} lists them.",
            code(&format!("/{topic}")),
            code("/help")
        ))
        .with_suggestion(
            did_you_mean(&normalize(topic, '-'), COMMANDS.iter().map(|s| s.name))
                .map(str::to_owned),
        )),
    }
}

/// A user's mistake in a command. Never used for internal failures, so it is
/// always safe and useful to show to the person who wrote the command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", .suggestion.as_ref().map(|s| format!(" Did you mean {}?", code(s))).unwrap_or_default())]
pub struct CommandError {
    /// What is wrong (Markdown), with the usage line or a pointer to `/help`.
    pub message: String,
    /// A corrected spelling to propose: `/rerun-studio` for a command, `description`
    /// for an option key.
    pub suggestion: Option<String>,
}

impl CommandError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        CommandError {
            message: message.into(),
            suggestion: None,
        }
    }

    /// An error about how a known command was used: ends with its usage line.
    pub(crate) fn usage(spec: &CommandSpec, problem: impl fmt::Display) -> Self {
        CommandError::new(format!(
            "{problem}. Usage: {} (see {}).",
            code(&usage(spec)),
            code(&format!("/help {}", spec.name))
        ))
    }

    pub(crate) fn with_suggestion(mut self, s: Option<String>) -> Self {
        self.suggestion = s;
        self
    }
}

/// One command found in a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// 1-based line number in the comment body.
    pub line: usize,
    /// The command line as written, trimmed (and cut where an HTML comment starts).
    pub text: String,
    /// The command, or what is wrong with it.
    pub result: Result<Command, CommandError>,
}

/// User input and names echoed in messages go in code spans (see
/// [`markdown_code`]).
fn code(s: &str) -> String {
    markdown_code(s)
}

/// Parses every command in a comment body, in order.
pub fn parse_comment(body: &str) -> Vec<Invocation> {
    command_lines(body)
        .into_iter()
        .map(|(line, text)| Invocation {
            line,
            text: text.to_owned(),
            result: parse_line(text),
        })
        .collect()
}

/// For an edited comment: the invocations of `current` that `previous` did not
/// already hold, compared by canonical form (or, for ones that do not parse,
/// by their whitespace-normalised text). A multiset difference: a command
/// written twice now and once before runs once.
pub fn new_invocations(previous: &str, current: &str) -> Vec<Invocation> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for inv in parse_comment(previous) {
        *seen.entry(dedup_key(&inv)).or_default() += 1;
    }
    parse_comment(current)
        .into_iter()
        .filter(|inv| match seen.get_mut(&dedup_key(inv)) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .collect()
}

fn dedup_key(inv: &Invocation) -> String {
    match &inv.result {
        Ok(cmd) => cmd.to_string(),
        Err(_) => inv.text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// Parses one command line (starting with `/name`).
fn parse_line(text: &str) -> Result<Command, CommandError> {
    let n = command_name_len(text).ok_or_else(|| CommandError::new("Not a command"))?;
    let args = tokenize(&text[n..]).map_err(|e| CommandError::new(format!("{e}.")))?;
    parse_command(&text[1..n], args, false)
}
