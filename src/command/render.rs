//! Writing commands and help: the canonical command line (what edit
//! de-duplication compares, and what replies echo) and `/help`, both from the
//! table.

use std::fmt;

use super::lexer::{members_arg, quoted, quoted_positional};
use super::table::{self, CommandSpec, COMMANDS};
use super::{code, Command};
use crate::naming::Login;

/// A canonical command line being written: words are quoted only where the
/// lexer would not read them back as one word.
pub(super) struct Line(String);

impl Line {
    pub(super) fn words(&mut self, words: &[&str]) {
        for w in words {
            self.0.push(' ');
            self.0.push_str(&quoted_positional(w));
        }
    }

    pub(super) fn opt(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.0.push_str(&format!(" {key}={}", quoted(v)));
        }
    }

    pub(super) fn members(&mut self, members: Option<&[Login]>) {
        self.opt("members", members.map(members_arg).as_deref());
    }
}

impl Command {
    /// The command without its leading slash (shared by `/plan`).
    fn body(&self) -> String {
        let mut l = Line(self.spec().name.to_owned());
        match self {
            Command::Help { topic } => {
                if let Some(t) = topic {
                    l.words(&[t]);
                }
            }
            Command::Run(action) => table::render_action(action, &mut l),
            Command::Rerun(r) => {
                l.words(&[r.course.as_str(), r.new_term.as_str()]);
                if let Some(from) = &r.from {
                    l.0.push_str(&format!(" from {from}"));
                }
            }
            Command::Release(r) => l.words(&[r.course.as_str(), r.term.as_str()]),
            Command::AddHook(h) => l.words(&[
                h.run.course.as_str(),
                h.run.term.as_str(),
                h.target.as_str(),
            ]),
            Command::Retry | Command::Status | Command::Approve | Command::Cancel => {}
            Command::Courses { course } => {
                if let Some(c) = course {
                    l.words(&[c.as_str()]);
                }
            }
            Command::Plan(inner) => {
                l.0.push(' ');
                l.0.push_str(&inner.body());
            }
        }
        l.0
    }
}

impl fmt::Display for Command {
    /// The canonical command line: dashed name, canonical option spelling and
    /// order, quoting only where needed. Two spellings of the same command
    /// render the same, which is what edit de-duplication relies on; and the
    /// line parses back to the same command.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.body())
    }
}

/// The usage line of a command: `/name POS1 POS2 [key=…]`.
pub fn usage(spec: &CommandSpec) -> String {
    let mut s = format!("/{}", spec.name);
    for p in spec.positional {
        s.push(' ');
        s.push_str(p);
    }
    for (key, _) in spec.options {
        s.push_str(&format!(" [{key}=…]"));
    }
    s
}

/// The help of one command (for `/help COMMAND`).
pub fn help_for(spec: &CommandSpec) -> String {
    let mut s = format!("**{}**\n\n{}", code(&usage(spec)), spec.summary);
    if !spec.mutating {
        s.push_str(" Anyone who can comment may use it.");
    }
    s.push('\n');
    if !spec.options.is_empty() {
        s.push('\n');
        for (key, meaning) in spec.options {
            s.push_str(&format!("- {}: {meaning}\n", code(&format!("{key}=…"))));
        }
    }
    s.push_str(&format!("\nExample: {}\n", code(spec.example)));
    s
}

/// The full help, generated from [`COMMANDS`].
pub fn help_text() -> String {
    let mut s = String::from(
        "### Commands\n\n\
        Write each command on a line of its own, starting with `/`; a comment may \
        hold several, which run in order. Arguments are words, `\"quoted words\"` \
        or `key=value` options (`key=\"quoted value\"`). Command names may also be \
        written with underscores (`/create_xml_repo`). Commands in code blocks, \
        quotes and HTML comments are ignored. Editing a comment runs only the \
        commands it did not hold before.\n\n\
        A COURSE is like `6.004r`, a TERM like `2018_Spring`.\n\n",
    );
    for spec in COMMANDS.iter().copied() {
        s.push_str(&format!("- {}", code(&usage(spec))));
        s.push_str(&format!(" — {}", spec.summary));
        if !spec.mutating {
            s.push_str(" *(changes nothing)*");
        }
        s.push('\n');
        for (key, meaning) in spec.options {
            s.push_str(&format!("  - {}: {meaning}\n", code(&format!("{key}=…"))));
        }
        s.push_str(&format!("  - example: {}\n", code(spec.example)));
    }
    s
}
