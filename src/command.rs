//! Slash-commands in issue comments (SPEC §5): a pure parser, no I/O.
//!
//! This is the bot's whole input surface for humans, so it is strict about
//! what it accepts (typed names from [`crate::naming`]) and generous in how it
//! explains a refusal (the problem, the usage line, a did-you-mean, `/help`).
//!
//! What counts as a command follows what the reader *sees* on GitHub: a line
//! that begins with `/name`, but not inside code (fenced or indented), a block
//! quote (someone quoting a command is not asking to run it again) or an HTML
//! comment (hidden text must not trigger side effects).
//!
//! [`COMMANDS`] is the single definition of every command; the parser checks
//! arities and option keys against it and [`help_text`] is generated from it,
//! so the help cannot drift from what is accepted.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::naming::{
    markdown_code, parse_members, Course, Login, NameError, OrgName, TeamName, Term,
};

/// The definition of one command. Positionals in `[brackets]` are optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// Canonical, dashed, lowercase name (without the slash).
    pub name: &'static str,
    /// Positional argument placeholders, in order; `[X]` marks an optional one.
    pub positional: &'static [&'static str],
    /// `key=value` options: key and what it means.
    pub options: &'static [(&'static str, &'static str)],
    /// One sentence for the help.
    pub summary: &'static str,
    /// A complete, valid command line (the tests parse every one).
    pub example: &'static str,
    /// Whether it changes anything on GitHub (needs permission; can be planned).
    pub mutating: bool,
}

const DESCRIPTION: (&str, &str) = ("description", "the GitHub repository's description");
const MEMBERS: (&str, &str) = (
    "members",
    "GitHub logins separated by commas; replaces the team's membership",
);

/// Every command the bot understands, in the order the help lists them.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "help",
        positional: &["[COMMAND]"],
        options: &[],
        summary: "Show this help, or the help of one command.",
        example: "/help create-xml-repo",
        mutating: false,
    },
    CommandSpec {
        name: "create-export-repo",
        positional: &["COURSE", "TERM"],
        options: &[DESCRIPTION],
        summary: "Create a Studio course run's export repository in the Studio \
            organization, with the Studio deploy team, a `.gitignore` and a `course.xml`.",
        example: "/create-export-repo 6.004r 2018_Spring description=\"Computation Structures\"",
        mutating: true,
    },
    CommandSpec {
        name: "rerun-studio",
        positional: &["COURSE", "TERM", "NEW_TERM"],
        options: &[DESCRIPTION],
        summary: "Rerun a Studio course: remove the webhooks of the TERM run's repository \
            and create the NEW_TERM run's export repository.",
        example: "/rerun-studio 6.004r 2018_Spring 2019_Spring",
        mutating: true,
    },
    CommandSpec {
        name: "release-studio",
        positional: &["COURSE", "TERM"],
        options: &[],
        summary: "Release a Studio course run to production: add the production \
            gitreload webhook.",
        example: "/release-studio 6.004r 2018_Spring",
        mutating: true,
    },
    CommandSpec {
        name: "create-xml-repo",
        positional: &["COURSE", "TERM"],
        options: &[
            (
                "team",
                "the course team given push access (default: the repository's name)",
            ),
            MEMBERS,
            DESCRIPTION,
        ],
        summary: "Create an XML course run's repository in the XML organization, with the \
            XML deploy team, the course team and the staging gitreload webhook.",
        example: "/create-xml-repo 6.004r 2018_Spring members=alice,bob",
        mutating: true,
    },
    CommandSpec {
        name: "rerun-xml",
        positional: &["COURSE", "TERM"],
        options: &[],
        summary: "Rerun an XML course: remove the webhooks of the TERM run's repository.",
        example: "/rerun-xml 6.004r 2018_Spring",
        mutating: true,
    },
    CommandSpec {
        name: "release-xml",
        positional: &["COURSE", "TERM"],
        options: &[],
        summary: "Release an XML course run to production: add the production \
            gitreload webhook.",
        example: "/release-xml 6.004r 2018_Spring",
        mutating: true,
    },
    CommandSpec {
        name: "put-team",
        positional: &["ORG", "TEAM"],
        options: &[
            (
                "read_only",
                "`true` gives a new team pull access instead of push \
                (ignored when the team exists; default `false`)",
            ),
            MEMBERS,
        ],
        summary: "Create a team in an organization, or update its membership.",
        example: "/put-team mitx-xml \"6.004 staff\" members=alice,bob",
        mutating: true,
    },
    CommandSpec {
        name: "rerun",
        positional: &["COURSE", "NEW_TERM"],
        options: &[(
            "from",
            "the run to rerun, also written `from OLD_TERM` \
            (default: the course's latest run)",
        )],
        summary: "Rerun a course in a new term: find its organization and run, retire \
            the old run's webhooks and create the new run (for XML courses a \
            history-free copy with the same team and the staging webhook).",
        example: "/rerun 6.004r 2019_Spring from 2018_Spring",
        mutating: true,
    },
    CommandSpec {
        name: "release",
        positional: &["COURSE", "TERM"],
        options: &[],
        summary: "Release a course run to production, whichever organization \
            (Studio or XML) it is in.",
        example: "/release 6.004r 2018_Spring",
        mutating: true,
    },
    CommandSpec {
        name: "plan",
        positional: &["COMMAND", "[ARGS…]"],
        options: &[],
        summary: "Dry run: show the steps a command would take, and change nothing.",
        example: "/plan create-xml-repo 6.004r 2018_Spring",
        mutating: false,
    },
];

/// A parsed, validated command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", content = "args", rename_all = "kebab-case")]
pub enum Command {
    /// `/help [COMMAND]`; the topic is the canonical name of a known command.
    Help { topic: Option<String> },
    /// `/create-export-repo COURSE TERM [description=…]`
    CreateExportRepo {
        course: Course,
        term: Term,
        description: Option<String>,
    },
    /// `/rerun-studio COURSE TERM NEW_TERM [description=…]`
    RerunStudio {
        course: Course,
        term: Term,
        new_term: Term,
        description: Option<String>,
    },
    /// `/release-studio COURSE TERM`
    ReleaseStudio { course: Course, term: Term },
    /// `/create-xml-repo COURSE TERM [team=…] [members=…] [description=…]`
    CreateXmlRepo {
        course: Course,
        term: Term,
        team: Option<TeamName>,
        members: Option<Vec<Login>>,
        description: Option<String>,
    },
    /// `/rerun-xml COURSE TERM`
    RerunXml { course: Course, term: Term },
    /// `/release-xml COURSE TERM`
    ReleaseXml { course: Course, term: Term },
    /// `/put-team ORG TEAM [read_only=…] [members=…]`
    PutTeam {
        org: OrgName,
        team: TeamName,
        read_only: bool,
        members: Option<Vec<Login>>,
    },
    /// `/rerun COURSE NEW_TERM [from OLD_TERM]`
    Rerun {
        course: Course,
        new_term: Term,
        from: Option<Term>,
    },
    /// `/release COURSE TERM`
    Release { course: Course, term: Term },
    /// `/plan COMMAND …`: a dry run of a mutating command (never of a plan).
    Plan(Box<Command>),
}

impl Command {
    /// The canonical name, as in [`COMMANDS`].
    pub fn name(&self) -> &'static str {
        match self {
            Command::Help { .. } => "help",
            Command::CreateExportRepo { .. } => "create-export-repo",
            Command::RerunStudio { .. } => "rerun-studio",
            Command::ReleaseStudio { .. } => "release-studio",
            Command::CreateXmlRepo { .. } => "create-xml-repo",
            Command::RerunXml { .. } => "rerun-xml",
            Command::ReleaseXml { .. } => "release-xml",
            Command::PutTeam { .. } => "put-team",
            Command::Rerun { .. } => "rerun",
            Command::Release { .. } => "release",
            Command::Plan(_) => "plan",
        }
    }

    /// The definition of this command.
    pub fn spec(&self) -> &'static CommandSpec {
        let name = self.name();
        COMMANDS
            .iter()
            .find(|s| s.name == name)
            .expect("every Command variant has an entry in COMMANDS (tested)")
    }

    /// Whether running it changes GitHub; `/help` and `/plan` do not, so anyone
    /// who can comment may use them.
    pub fn is_mutating(&self) -> bool {
        self.spec().mutating
    }
}

/// Quotes a value for the canonical command line when the tokenizer would not
/// read it back as one word.
fn quoted(s: &str) -> String {
    if !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\\')
    {
        return s.to_owned();
    }
    always_quoted(s)
}

fn always_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A positional value: also quoted if it would otherwise read as `key=value`.
fn quoted_positional(s: &str) -> String {
    if option_key_len(s).is_some() {
        always_quoted(s)
    } else {
        quoted(s)
    }
}

fn members_arg(members: &[Login]) -> String {
    members
        .iter()
        .map(Login::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

impl Command {
    /// Writes the command without its leading slash (shared by `/plan`).
    fn write_body(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        let opt = |f: &mut fmt::Formatter<'_>, key: &str, v: &Option<String>| match v {
            Some(v) => write!(f, " {key}={}", quoted(v)),
            None => Ok(()),
        };
        match self {
            Command::Help { topic } => {
                if let Some(t) = topic {
                    write!(f, " {}", quoted_positional(t))?;
                }
            }
            Command::CreateExportRepo {
                course,
                term,
                description,
            } => {
                write!(f, " {course} {term}")?;
                opt(f, "description", description)?;
            }
            Command::RerunStudio {
                course,
                term,
                new_term,
                description,
            } => {
                write!(f, " {course} {term} {new_term}")?;
                opt(f, "description", description)?;
            }
            Command::ReleaseStudio { course, term }
            | Command::RerunXml { course, term }
            | Command::ReleaseXml { course, term }
            | Command::Release { course, term } => write!(f, " {course} {term}")?,
            Command::CreateXmlRepo {
                course,
                term,
                team,
                members,
                description,
            } => {
                write!(f, " {course} {term}")?;
                opt(f, "team", &team.as_ref().map(|t| t.to_string()))?;
                opt(f, "members", &members.as_deref().map(members_arg))?;
                opt(f, "description", description)?;
            }
            Command::PutTeam {
                org,
                team,
                read_only,
                members,
            } => {
                write!(f, " {org} {}", quoted_positional(team.as_str()))?;
                if *read_only {
                    write!(f, " read_only=true")?;
                }
                opt(f, "members", &members.as_deref().map(members_arg))?;
            }
            Command::Rerun {
                course,
                new_term,
                from,
            } => {
                write!(f, " {course} {new_term}")?;
                if let Some(from) = from {
                    write!(f, " from {from}")?;
                }
            }
            Command::Plan(inner) => {
                write!(f, " ")?;
                inner.write_body(f)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Command {
    /// The canonical command line: dashed name, canonical option spelling and
    /// order, quoting only where needed. Two spellings of the same command
    /// render the same, which is what edit de-duplication relies on; and the
    /// line parses back to the same command.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/")?;
        self.write_body(f)
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
    fn new(message: impl Into<String>) -> Self {
        CommandError {
            message: message.into(),
            suggestion: None,
        }
    }

    /// An error about how a known command was used: ends with its usage line.
    fn usage(spec: &CommandSpec, problem: impl fmt::Display) -> Self {
        CommandError::new(format!(
            "{problem}. Usage: {} (see {}).",
            code(&usage(spec)),
            code(&format!("/help {}", spec.name))
        ))
    }

    fn with_suggestion(mut self, s: Option<String>) -> Self {
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

// ---------------------------------------------------------------------------
// Markdown rendering helpers.

/// User input and names echoed in messages go in code spans (see
/// [`markdown_code`]).
fn code(s: &str) -> String {
    markdown_code(s)
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
    for spec in COMMANDS {
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

// ---------------------------------------------------------------------------
// Finding command lines.

/// Splits a comment into the command lines a reader sees, with their 1-based
/// line numbers. Each returned text starts with `/` and has any trailing HTML
/// comment cut off.
fn command_lines(body: &str) -> Vec<(usize, &str)> {
    let body = body.strip_prefix('\u{FEFF}').unwrap_or(body);
    let mut out = Vec::new();
    // Open fence: its character and length.
    let mut fence: Option<(char, usize)> = None;
    let mut in_comment = false;
    for (i, line) in body.lines().enumerate() {
        let (indent, rest) = indentation(line);
        if let Some((ch, len)) = fence {
            if indent < 4 && closes_fence(rest, ch, len) {
                fence = None;
            }
            continue;
        }
        if in_comment {
            // The rest of a line after `-->` is text, but it does not start the
            // line, so it cannot be a command; it may open another comment.
            if let Some(end) = line.find("-->") {
                in_comment = false;
                scan_comments(&line[end + 3..], &mut in_comment);
            }
            continue;
        }
        if indent >= 4 || rest.starts_with('>') {
            // Indented code, or a block quote: never commands, and HTML in
            // them does not open a comment that outlives them.
            continue;
        }
        if let Some(open) = opens_fence(rest) {
            fence = Some(open);
            continue;
        }
        let cut = scan_comments(rest, &mut in_comment);
        let visible = rest[..cut].trim_end();
        if command_name_len(visible).is_some() {
            out.push((i + 1, visible));
        }
    }
    out
}

/// Leading indentation in columns (a tab advances to the next multiple of 4)
/// and the rest of the line.
fn indentation(line: &str) -> (usize, &str) {
    let mut col = 0;
    for (i, c) in line.char_indices() {
        match c {
            ' ' => col += 1,
            '\t' => col += 4 - col % 4,
            _ => return (col, &line[i..]),
        }
    }
    (col, "")
}

/// A fence opener: three or more backticks or tildes; a backtick fence's info
/// string may not contain a backtick (that would be inline code).
fn opens_fence(rest: &str) -> Option<(char, usize)> {
    let ch = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = rest.chars().take_while(|c| *c == ch).count();
    if len < 3 {
        return None;
    }
    if ch == '`' && rest[len..].contains('`') {
        return None;
    }
    Some((ch, len))
}

/// A fence closer: at least as many of the same character, then only spaces.
fn closes_fence(rest: &str, ch: char, len: usize) -> bool {
    let n = rest.chars().take_while(|c| *c == ch).count();
    n >= len && rest[n * ch.len_utf8()..].trim().is_empty()
}

/// Scans a line that starts outside an HTML comment; returns the byte offset
/// where the first comment starts (the line's length if none) and leaves
/// `in_comment` set if the line ends inside one. `<!--` inside an inline code
/// span is literal, so code spans are skipped.
fn scan_comments(line: &str, in_comment: &mut bool) -> usize {
    let b = line.as_bytes();
    let mut first = None;
    let mut i = 0;
    while i < b.len() {
        if *in_comment {
            match find_bytes(&b[i..], b"-->") {
                Some(end) => {
                    *in_comment = false;
                    i += end + 3;
                }
                None => break,
            }
        } else if b[i] == b'`' {
            let run = b[i..].iter().take_while(|c| **c == b'`').count();
            i += run + matching_backticks(&b[i + run..], run).unwrap_or(0);
        } else if b[i..].starts_with(b"<!--") {
            first.get_or_insert(i);
            *in_comment = true;
            i += 4;
        } else {
            i += 1;
        }
    }
    first.unwrap_or(line.len())
}

/// Byte search, so that scanning can step through a line byte by byte without
/// caring about UTF-8 boundaries (the markers are ASCII).
fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The length up to and including the next run of exactly `run` backticks.
fn matching_backticks(b: &[u8], run: usize) -> Option<usize> {
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'`' {
            let n = b[i..].iter().take_while(|c| **c == b'`').count();
            if n == run {
                return Some(i + n);
            }
            i += n;
        } else {
            i += 1;
        }
    }
    None
}

/// If `line` starts with `/name` followed by whitespace or its end, the byte
/// length of `/name`. `/etc/passwd` and `/ foo` are not commands.
fn command_name_len(line: &str) -> Option<usize> {
    let rest = line.strip_prefix('/')?;
    let mut chars = rest.char_indices();
    chars.next().filter(|(_, c)| c.is_ascii_alphabetic())?;
    for (i, c) in chars {
        if c.is_whitespace() {
            return Some(i + 1);
        }
        if !(c.is_ascii_alphabetic() || c == '_' || c == '-') {
            return None;
        }
    }
    Some(line.len())
}

/// The canonical spelling of a command or option name: lowercase, and the
/// given separator for both `_` and `-`.
fn normalize(name: &str, sep: char) -> String {
    name.chars()
        .map(|c| match c {
            '_' | '-' => sep,
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// The definition of a command by any accepted spelling (`Rerun_Studio`,
/// `/rerun-studio`, …).
pub fn find_spec(name: &str) -> Option<&'static CommandSpec> {
    let name = normalize(name.strip_prefix('/').unwrap_or(name), '-');
    COMMANDS.iter().find(|s| s.name == name)
}

/// The closest candidate to `input`, if close enough to be a plausible typo.
fn did_you_mean<'a>(input: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .filter_map(|c| {
            let d = strsim::levenshtein(input, c);
            let jw = strsim::jaro_winkler(input, c);
            (d <= 3 || jw >= 0.8).then_some((d, jw, c))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, c)| c)
}

fn unknown_command(name: &str) -> CommandError {
    let norm = normalize(name, '-');
    CommandError::new(format!(
        "Unknown command {}; {} lists the commands.",
        code(&format!("/{name}")),
        code("/help")
    ))
    .with_suggestion(did_you_mean(&norm, COMMANDS.iter().map(|s| s.name)).map(|s| format!("/{s}")))
}

// ---------------------------------------------------------------------------
// Tokens.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    Word(String),
    Opt { key: String, value: String },
}

/// If `s` starts with `key=` (`[A-Za-z][A-Za-z0-9_-]*=`), the length of `key`.
fn option_key_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if !b.first()?.is_ascii_alphabetic() {
        return None;
    }
    let n = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b'-')
        .count();
    (b.get(n) == Some(&b'=')).then_some(n)
}

/// Splits arguments: whitespace-separated words, where `"…"` groups words (with
/// `\"` and `\\` escapes inside), and an unquoted leading `key=` makes an option.
fn tokenize(s: &str) -> Result<Vec<Arg>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let key = option_key_len(rest).map(|n| {
            let k = rest[..n].to_owned();
            rest = &rest[n + 1..];
            k
        });
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let mut end = rest.len();
        while let Some((i, c)) = chars.next() {
            if c.is_whitespace() {
                end = i;
                break;
            }
            if c != '"' {
                value.push(c);
                continue;
            }
            let mut closed = false;
            while let Some((_, q)) = chars.next() {
                match q {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => match chars.clone().next() {
                        Some((_, e @ ('"' | '\\'))) => {
                            value.push(e);
                            chars.next();
                        }
                        _ => value.push('\\'),
                    },
                    q => value.push(q),
                }
            }
            if !closed {
                return Err(format!(
                    "Unterminated quote in {}: close it with `\"`",
                    code(&rest[i..])
                ));
            }
        }
        out.push(match key {
            Some(key) => Arg::Opt { key, value },
            None => Arg::Word(value),
        });
        rest = rest[end..].trim_start();
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Parsing.

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

fn parse_command(name: &str, args: Vec<Arg>, in_plan: bool) -> Result<Command, CommandError> {
    let spec = find_spec(name).ok_or_else(|| unknown_command(name))?;
    if spec.name == "plan" {
        if in_plan {
            return Err(CommandError::new(format!(
                "{} cannot plan another {}; write the command to plan after it.",
                code("/plan"),
                code("/plan")
            )));
        }
        return parse_plan(spec, args);
    }
    let mut a = Args::collect(spec, args)?;
    let cmd = match spec.name {
        "help" => Command::Help {
            topic: match a.pos.pop() {
                None => None,
                Some(t) => {
                    let topic = t.strip_prefix('/').unwrap_or(&t);
                    let Some(found) = find_spec(topic) else {
                        return Err(CommandError::new(format!(
                            "There is no command {}; {} lists them.",
                            code(&format!("/{topic}")),
                            code("/help")
                        ))
                        .with_suggestion(
                            did_you_mean(&normalize(topic, '-'), COMMANDS.iter().map(|s| s.name))
                                .map(str::to_owned),
                        ));
                    };
                    Some(found.name.to_owned())
                }
            },
        },
        "create-export-repo" => Command::CreateExportRepo {
            course: a.positional(0, Course::parse)?,
            term: a.positional(1, Term::parse)?,
            description: a.description(),
        },
        "rerun-studio" => Command::RerunStudio {
            course: a.positional(0, Course::parse)?,
            term: a.positional(1, Term::parse)?,
            new_term: a.positional(2, Term::parse)?,
            description: a.description(),
        },
        "release-studio" => Command::ReleaseStudio {
            course: a.positional(0, Course::parse)?,
            term: a.positional(1, Term::parse)?,
        },
        "create-xml-repo" => Command::CreateXmlRepo {
            course: a.positional(0, Course::parse)?,
            term: a.positional(1, Term::parse)?,
            team: a.option("team", TeamName::parse)?,
            members: a.option("members", parse_members)?,
            description: a.description(),
        },
        "rerun-xml" => Command::RerunXml {
            course: a.positional(0, Course::parse)?,
            term: a.positional(1, Term::parse)?,
        },
        "release-xml" => Command::ReleaseXml {
            course: a.positional(0, Course::parse)?,
            term: a.positional(1, Term::parse)?,
        },
        "put-team" => Command::PutTeam {
            org: a.positional(0, OrgName::parse)?,
            team: a.positional(1, TeamName::parse)?,
            read_only: a.bool_option("read_only")?.unwrap_or(false),
            members: a.option("members", parse_members)?,
        },
        "rerun" => Command::Rerun {
            course: a.positional(0, Course::parse)?,
            new_term: a.positional(1, Term::parse)?,
            from: a.option("from", Term::parse)?,
        },
        "release" => Command::Release {
            course: a.positional(0, Course::parse)?,
            term: a.positional(1, Term::parse)?,
        },
        other => {
            // COMMANDS and this match are kept in step by the tests; should they
            // drift, the user still gets an answer rather than a panic.
            return Err(unknown_command(other));
        }
    };
    Ok(cmd)
}

fn parse_plan(spec: &'static CommandSpec, args: Vec<Arg>) -> Result<Command, CommandError> {
    let mut args = args.into_iter();
    let Some(Arg::Word(inner)) = args.next() else {
        return Err(CommandError::usage(spec, "Missing the COMMAND to plan"));
    };
    let name = inner.strip_prefix('/').unwrap_or(&inner);
    let inner_spec = find_spec(name).ok_or_else(|| unknown_command(name))?;
    if inner_spec.name != "plan" && !inner_spec.mutating {
        return Err(CommandError::new(format!(
            "{} changes nothing, so there is nothing to plan; send it without {}.",
            code(&format!("/{}", inner_spec.name)),
            code("/plan")
        )));
    }
    let inner = parse_command(name, args.collect(), true)?;
    Ok(Command::Plan(Box::new(inner)))
}

/// A command's arguments after checking them against its [`CommandSpec`].
struct Args {
    spec: &'static CommandSpec,
    pos: Vec<String>,
    opts: Vec<(&'static str, String)>,
}

impl Args {
    fn collect(spec: &'static CommandSpec, args: Vec<Arg>) -> Result<Args, CommandError> {
        let mut pos = Vec::new();
        let mut opts: Vec<(&'static str, String)> = Vec::new();
        let mut args = args.into_iter().peekable();
        while let Some(arg) = args.next() {
            let (key, value) = match arg {
                // `/rerun COURSE NEW_TERM from OLD_TERM`: a literal `from` after
                // the positionals is the `from=` option in prose.
                Arg::Word(w)
                    if spec.name == "rerun"
                        && !pos.is_empty()
                        && w.eq_ignore_ascii_case("from") =>
                {
                    if pos.len() < spec.positional.len() {
                        return Err(CommandError::usage(
                            spec,
                            format!("Missing NEW_TERM before {}", code("from")),
                        ));
                    }
                    match args.next() {
                        Some(Arg::Word(t)) => ("from".to_owned(), t),
                        _ => {
                            return Err(CommandError::usage(
                                spec,
                                format!("{} needs the OLD_TERM after it", code("from")),
                            ))
                        }
                    }
                }
                Arg::Word(w) => {
                    pos.push(w);
                    continue;
                }
                Arg::Opt { key, value } => (key, value),
            };
            let norm = normalize(&key, '_');
            let Some((canon, _)) = spec.options.iter().find(|(k, _)| *k == norm) else {
                let problem = if spec.options.is_empty() {
                    format!(
                        "{} takes no options, got {}",
                        code(&format!("/{}", spec.name)),
                        code(&format!("{key}="))
                    )
                } else {
                    format!("Unknown option {}", code(&format!("{key}=")))
                };
                return Err(CommandError::usage(spec, problem).with_suggestion(
                    did_you_mean(&norm, spec.options.iter().map(|(k, _)| *k))
                        .map(|k| format!("{k}=")),
                ));
            };
            if opts.iter().any(|(k, _)| k == canon) {
                return Err(CommandError::usage(
                    spec,
                    format!("Option {} is given twice", code(&format!("{canon}="))),
                ));
            }
            opts.push((canon, value));
        }
        let required = spec
            .positional
            .iter()
            .filter(|p| !p.starts_with('['))
            .count();
        if pos.len() < required {
            let missing = spec.positional[pos.len()..required].join(" ");
            return Err(CommandError::usage(spec, format!("Missing {missing}")));
        }
        if pos.len() > spec.positional.len() {
            let extra = &pos[spec.positional.len()..];
            let what = if extra.len() == 1 {
                "argument"
            } else {
                "arguments"
            };
            let shown: Vec<String> = extra.iter().map(|e| code(e)).collect();
            return Err(CommandError::usage(
                spec,
                format!("Unexpected extra {what} {}", shown.join(" ")),
            ));
        }
        Ok(Args { spec, pos, opts })
    }

    /// `placeholder` is a positional's name (`COURSE`) or an option (`members=`).
    fn bad_value(&self, placeholder: &str, e: NameError) -> CommandError {
        let what = if placeholder.ends_with('=') {
            code(placeholder)
        } else {
            placeholder.to_owned()
        };
        CommandError::usage(self.spec, format!("Bad {what}: {}", e.to_markdown()))
    }

    fn positional<T>(
        &self,
        i: usize,
        parse: fn(&str) -> Result<T, NameError>,
    ) -> Result<T, CommandError> {
        let value = self.pos.get(i).map(String::as_str).unwrap_or_default();
        let placeholder = self.spec.positional.get(i).copied().unwrap_or("argument");
        parse(value).map_err(|e| self.bad_value(placeholder, e))
    }

    fn raw_option(&self, key: &str) -> Option<&str> {
        self.opts
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    fn option<T>(
        &self,
        key: &str,
        parse: fn(&str) -> Result<T, NameError>,
    ) -> Result<Option<T>, CommandError> {
        self.raw_option(key)
            .map(|v| parse(v).map_err(|e| self.bad_value(&format!("{key}="), e)))
            .transpose()
    }

    /// A blank description is no description.
    fn description(&self) -> Option<String> {
        self.raw_option("description")
            .filter(|d| !d.trim().is_empty())
            .map(str::to_owned)
    }

    fn bool_option(&self, key: &str) -> Result<Option<bool>, CommandError> {
        let Some(v) = self.raw_option(key) else {
            return Ok(None);
        };
        match v.to_ascii_lowercase().as_str() {
            "true" | "yes" => Ok(Some(true)),
            "false" | "no" => Ok(Some(false)),
            _ => Err(CommandError::usage(
                self.spec,
                format!(
                    "Bad {}: expected `true` or `false`, got {}",
                    code(&format!("{key}=")),
                    code(v)
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn course(s: &str) -> Course {
        Course::parse(s).expect("valid course in test")
    }
    fn term(s: &str) -> Term {
        Term::parse(s).expect("valid term in test")
    }
    fn login(s: &str) -> Login {
        Login::parse(s).expect("valid login in test")
    }

    /// The single command in `body`, which must parse.
    fn one(body: &str) -> Command {
        let invs = parse_comment(body);
        assert_eq!(invs.len(), 1, "{body:?} -> {invs:?}");
        invs[0]
            .result
            .clone()
            .unwrap_or_else(|e| panic!("{body:?}: {e}"))
    }

    /// The error of the single command in `body`, which must not parse.
    fn err(body: &str) -> CommandError {
        let invs = parse_comment(body);
        assert_eq!(invs.len(), 1, "{body:?} -> {invs:?}");
        invs[0].result.clone().expect_err(body)
    }

    fn names(body: &str) -> Vec<&'static str> {
        parse_comment(body)
            .into_iter()
            .map(|i| i.result.map(|c| c.name()).unwrap_or("ERROR"))
            .collect()
    }

    // --- each command's happy path

    #[test]
    fn help() {
        assert_eq!(one("/help"), Command::Help { topic: None });
        assert_eq!(
            one("/help rerun_Studio"),
            Command::Help {
                topic: Some("rerun-studio".into())
            }
        );
        assert_eq!(
            one("/help /plan"),
            Command::Help {
                topic: Some("plan".into())
            }
        );
        let e = err("/help rerun-stuido");
        assert_eq!(e.suggestion.as_deref(), Some("rerun-studio"));
        assert!(err("/help a b")
            .message
            .contains("Unexpected extra argument `b`"));
        assert!(err("/help x=1").message.contains("takes no options"));
    }

    #[test]
    fn create_export_repo() {
        assert_eq!(
            one("/create-export-repo 6.004r 2018_Spring"),
            Command::CreateExportRepo {
                course: course("6.004r"),
                term: term("2018_Spring"),
                description: None
            }
        );
        assert_eq!(
            one(
                r#"/create-export-repo DevOps.001 Spring_2030 description="My awesome class repo""#
            ),
            Command::CreateExportRepo {
                course: course("DevOps.001"),
                term: term("Spring_2030"),
                description: Some("My awesome class repo".into())
            }
        );
        // A blank description is none at all.
        assert_eq!(
            one(r#"/create-export-repo a b description="  ""#),
            Command::CreateExportRepo {
                course: course("a"),
                term: term("b"),
                description: None
            }
        );
    }

    #[test]
    fn rerun_studio() {
        assert_eq!(
            one("/rerun-studio 6.004r 2018_Spring 2019_Spring description=x"),
            Command::RerunStudio {
                course: course("6.004r"),
                term: term("2018_Spring"),
                new_term: term("2019_Spring"),
                description: Some("x".into())
            }
        );
    }

    #[test]
    fn two_argument_commands() {
        let (c, t) = (course("6.004r"), term("2018_Spring"));
        let cases = [
            (
                "release-studio",
                Command::ReleaseStudio {
                    course: c.clone(),
                    term: t.clone(),
                },
            ),
            (
                "rerun-xml",
                Command::RerunXml {
                    course: c.clone(),
                    term: t.clone(),
                },
            ),
            (
                "release-xml",
                Command::ReleaseXml {
                    course: c.clone(),
                    term: t.clone(),
                },
            ),
            (
                "release",
                Command::Release {
                    course: c.clone(),
                    term: t.clone(),
                },
            ),
        ];
        for (name, expected) in cases {
            assert_eq!(one(&format!("/{name} 6.004r 2018_Spring")), expected);
            assert!(expected.is_mutating());
            assert_eq!(expected.name(), name);
        }
    }

    #[test]
    fn create_xml_repo() {
        assert_eq!(
            one("/create-xml-repo 6.004r 2018_Spring members=alice,bob"),
            Command::CreateXmlRepo {
                course: course("6.004r"),
                term: term("2018_Spring"),
                team: None,
                members: Some(vec![login("alice"), login("bob")]),
                description: None
            }
        );
        assert_eq!(
            one(
                r#"/create-xml-repo 6.004r 2018_Spring team="6.004 Staff" members="alice, bob carol" description="Computation \"Structures\"""#
            ),
            Command::CreateXmlRepo {
                course: course("6.004r"),
                term: term("2018_Spring"),
                team: Some(TeamName::parse("6.004 Staff").unwrap()),
                members: Some(vec![login("alice"), login("bob"), login("carol")]),
                description: Some("Computation \"Structures\"".into())
            }
        );
    }

    #[test]
    fn put_team() {
        assert_eq!(
            one(r#"/put-team mitx-xml "6.004 staff""#),
            Command::PutTeam {
                org: OrgName::parse("mitx-xml").unwrap(),
                team: TeamName::parse("6.004 staff").unwrap(),
                read_only: false,
                members: None
            }
        );
        for (v, expected) in [
            ("true", true),
            ("TRUE", true),
            ("yes", true),
            ("false", false),
            ("no", false),
        ] {
            let Command::PutTeam { read_only, .. } = one(&format!("/put-team o t read_only={v}"))
            else {
                panic!("not put-team");
            };
            assert_eq!(read_only, expected, "{v}");
        }
        // Option keys are case-insensitive and `-`/`_` alike.
        assert!(matches!(
            one("/put-team o t Read-Only=true members=a"),
            Command::PutTeam {
                read_only: true,
                members: Some(_),
                ..
            }
        ));
        let e = err("/put-team o t read_only=maybe");
        assert!(
            e.message
                .contains("expected `true` or `false`, got `maybe`"),
            "{e}"
        );
        assert!(err("/put-team -o t")
            .message
            .contains("Bad ORG: organization `-o` is invalid"));
        assert!(err("/put-team o a/b")
            .message
            .contains("Bad TEAM: team `a/b` is invalid"));
    }

    #[test]
    fn rerun() {
        let expected = Command::Rerun {
            course: course("6.004r"),
            new_term: term("2019_Spring"),
            from: Some(term("2018_Spring")),
        };
        assert_eq!(one("/rerun 6.004r 2019_Spring from 2018_Spring"), expected);
        assert_eq!(one("/rerun 6.004r 2019_Spring FROM 2018_Spring"), expected);
        assert_eq!(one("/rerun 6.004r 2019_Spring from=2018_Spring"), expected);
        assert_eq!(
            one("/rerun 6.004r 2019_Spring"),
            Command::Rerun {
                course: course("6.004r"),
                new_term: term("2019_Spring"),
                from: None
            }
        );
        // A course may be called `from`; only later `from`s are the keyword.
        assert!(matches!(
            one("/rerun from 2019_Spring"),
            Command::Rerun { .. }
        ));
        assert!(err("/rerun 6.004r 2019_Spring from")
            .message
            .contains("`from` needs the OLD_TERM"));
        assert!(err("/rerun 6.004r from 2018_Spring")
            .message
            .contains("Missing NEW_TERM"));
        assert!(
            err("/rerun 6.004r 2019_Spring from 2018_Spring from=2017_Fall")
                .message
                .contains("given twice")
        );
        assert!(err("/rerun 6.004r 2019_Spring from 2018.Spring")
            .message
            .contains("Bad `from=`: term `2018.Spring` is invalid"));
    }

    #[test]
    fn aliases_and_case() {
        for line in [
            "/create_xml_repo 6.004r 2018_Spring",
            "/CREATE-XML-REPO 6.004r 2018_Spring",
            "/Create_Xml-Repo 6.004r 2018_Spring",
        ] {
            assert_eq!(one(line).name(), "create-xml-repo", "{line}");
        }
        assert_eq!(find_spec("/Put_Team").map(|s| s.name), Some("put-team"));
        assert_eq!(find_spec("nope"), None);
    }

    // --- lexical details

    #[test]
    fn quoting() {
        assert_eq!(
            tokenize(r#"a "b c" k=v k2="x \"y\" \\ \z" "p=q" a"b c"d"#).unwrap(),
            vec![
                Arg::Word("a".into()),
                Arg::Word("b c".into()),
                Arg::Opt {
                    key: "k".into(),
                    value: "v".into()
                },
                Arg::Opt {
                    key: "k2".into(),
                    value: r#"x "y" \ \z"#.into()
                },
                Arg::Word("p=q".into()),
                Arg::Word("ab cd".into()),
            ]
        );
        assert_eq!(tokenize(r"a\b").unwrap(), vec![Arg::Word(r"a\b".into())]);
        assert_eq!(
            tokenize("k=").unwrap(),
            vec![Arg::Opt {
                key: "k".into(),
                value: "".into()
            }]
        );
        assert_eq!(tokenize("=x").unwrap(), vec![Arg::Word("=x".into())]);
        assert!(tokenize(r#"a "b c"#).is_err());
        assert!(tokenize(r#"a "b c\""#).is_err());
        let e = err(r#"/create-export-repo a b description="oops"#);
        assert!(e.message.starts_with("Unterminated quote"), "{e}");
    }

    #[test]
    fn line_endings_and_spaces() {
        let body =
            "/help   \r\n/release 6.004r 2018_Spring \t\r\n   /rerun-xml  6.004r   2018_Spring\r\n";
        let invs = parse_comment(body);
        assert_eq!(invs.len(), 3);
        assert_eq!(invs[0].text, "/help");
        assert_eq!(invs[1].text, "/release 6.004r 2018_Spring");
        assert_eq!(invs[2].text, "/rerun-xml  6.004r   2018_Spring");
        assert_eq!(invs.iter().map(|i| i.line).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(invs.iter().all(|i| i.result.is_ok()));
        assert_eq!(names("\u{FEFF}/help"), ["help"]);
    }

    #[test]
    fn several_commands_in_order() {
        let body = "Please set this up:\n\n/create-xml-repo 6.004r 2018_Spring members=alice\n\nand then\n\n/release-xml 6.004r 2018_Spring\n/frob\nthanks!";
        let invs = parse_comment(body);
        assert_eq!(invs.iter().map(|i| i.line).collect::<Vec<_>>(), [3, 7, 8]);
        assert_eq!(names(body), ["create-xml-repo", "release-xml", "ERROR"]);
    }

    #[test]
    fn not_commands() {
        for body in [
            "/etc/passwd",
            "/ help",
            "/",
            "/123",
            "/help.",
            "/he1p",
            "see /help",
            "- /help",
            "* /help",
            "1. /help",
            "`/help`",
            "//help",
            "\\/help",
        ] {
            assert!(parse_comment(body).is_empty(), "{body:?}");
        }
    }

    #[test]
    fn fenced_code_is_ignored() {
        let body = "```\n/help\n```\n/release a b";
        assert_eq!(names(body), ["release"]);
        let body = "```rust title=\"x\"\n/help\n```\n/release a b";
        assert_eq!(names(body), ["release"]);
        let body = "~~~\n/help\n~~~\n/release a b";
        assert_eq!(names(body), ["release"]);
        let body = "   ```\n/help\n   ```\n/release a b";
        assert_eq!(names(body), ["release"]);
        // A fence closes only with at least as many of the same character.
        let body = "````\n/help\n```\n/help\n~~~~\n/help\n````\n/release a b";
        assert_eq!(names(body), ["release"]);
        let body = "~~~\n/help\n```\n/help\n~~~\n/release a b";
        assert_eq!(names(body), ["release"]);
        // A closing fence has nothing after it but spaces.
        let body = "```\n/help\n``` x\n/help\n```  \n/release a b";
        assert_eq!(names(body), ["release"]);
        // An unclosed fence runs to the end.
        assert!(parse_comment("```\n/help\n/release a b").is_empty());
        // Backticks in the info string: inline code, not a fence.
        assert_eq!(names("``` `x`\n/release a b"), ["release"]);
        // Two backticks are not a fence.
        assert_eq!(names("``\n/release a b"), ["release"]);
        // Indented 4 spaces: not a fence closer, still inside.
        assert!(parse_comment("```\n/help\n    ```\n/help").is_empty());
        assert_eq!(
            names("```\r\n/help\r\n```\r\n/release a b\r\n"),
            ["release"]
        );
    }

    #[test]
    fn indented_code_is_ignored() {
        assert!(parse_comment("    /help").is_empty());
        assert!(parse_comment("\t/help").is_empty());
        assert!(parse_comment("  \t/help").is_empty());
        assert_eq!(names("   /help"), ["help"]);
    }

    #[test]
    fn quotes_are_ignored() {
        let body =
            "> /create-xml-repo 6.004r 2018_Spring\n>/help\n  > > /help\n\nDone.\n/release a b";
        assert_eq!(names(body), ["release"]);
    }

    #[test]
    fn html_comments_are_ignored() {
        assert!(parse_comment("<!-- /help -->").is_empty());
        assert!(parse_comment("<!--\n/help\n/release a b\n-->").is_empty());
        assert_eq!(names("<!--\n/help\n--> text\n/release a b"), ["release"]);
        assert_eq!(
            names("<!-- a --> <!-- b\n/help\n-->\n/release a b"),
            ["release"]
        );
        assert_eq!(names("text <!-- x --> more\n/release a b"), ["release"]);
        // The rest of a command line after `<!--` is hidden, so not an argument.
        let invs = parse_comment("/release a b <!-- c -->");
        assert_eq!(invs[0].text, "/release a b");
        assert!(invs[0].result.is_ok());
        let invs = parse_comment("/release a b <!-- c\n/help\n-->\n/help");
        assert_eq!(invs.len(), 2);
        assert_eq!(invs[1].line, 4);
        // `<!--` in inline code is literal.
        assert_eq!(names("use `<!--` for comments\n/help"), ["help"]);
        assert_eq!(names("use ``a`<!--`` for comments\n/help"), ["help"]);
        // ... but an unmatched backtick does not hide a real comment.
        assert!(parse_comment("a ` <!--\n/help").is_empty());
        // In a fence or in indented code, `<!--` is code.
        assert_eq!(names("```\n<!--\n```\n/help"), ["help"]);
        assert_eq!(names("    <!--\n/help"), ["help"]);
        // In a quote, it does not outlive the quote.
        assert_eq!(names("> <!--\n/help"), ["help"]);
        // Multi-byte characters around the markers (found by proptest).
        assert!(parse_comment("😀<!--\n/help").is_empty());
        assert_eq!(names("-->¡\n/help"), ["help"]);
        assert_eq!(names("<!-- é -->é<!--é-->\n/help"), ["help"]);
        assert_eq!(one("/put-team a 😀").to_string(), "/put-team a 😀");
    }

    // --- errors

    #[test]
    fn unknown_command_suggests() {
        let e = err("/rerun-stuido 6.004r 2018_Spring 2019_Spring");
        assert_eq!(e.suggestion.as_deref(), Some("/rerun-studio"));
        assert!(e.message.contains("`/rerun-stuido`"), "{e}");
        assert!(e.message.contains("`/help`"), "{e}");
        assert!(
            e.to_string().ends_with("Did you mean `/rerun-studio`?"),
            "{e}"
        );
        assert_eq!(err("/relase a b").suggestion.as_deref(), Some("/release"));
        assert_eq!(
            err("/create_xml_rep a b").suggestion.as_deref(),
            Some("/create-xml-repo")
        );
        assert_eq!(err("/hlep").suggestion.as_deref(), Some("/help"));
        let e = err("/frobnicate-everything");
        assert_eq!(e.suggestion, None);
        assert!(e.to_string().contains("`/help`"));
        // Commands that come later are unknown for now, not silently ignored.
        assert!(err("/approve").message.contains("Unknown command"));
    }

    #[test]
    fn missing_and_extra_arguments() {
        let e = err("/rerun-studio 6.004r 2018_Spring");
        assert_eq!(
            e.message,
            "Missing NEW_TERM. Usage: `/rerun-studio COURSE TERM NEW_TERM [description=…]` \
             (see `/help rerun-studio`)."
        );
        assert!(err("/release").message.starts_with("Missing COURSE TERM."));
        let e = err("/release a b c d");
        assert!(
            e.message.starts_with("Unexpected extra arguments `c` `d`."),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_the_rule() {
        let e = err(r#"/create-xml-repo "6 004" 2018_Spring"#);
        assert_eq!(
            e.message,
            "Bad COURSE: course `6 004` is invalid: 1-64 characters from letters, digits, \
             '.', '_', '-', starting with a letter or digit (`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`). \
             Usage: `/create-xml-repo COURSE TERM [team=…] [members=…] [description=…]` \
             (see `/help create-xml-repo`)."
        );
        let e = err("/create-xml-repo 6.004r 2018.Spring");
        assert!(
            e.message
                .contains("Bad TERM: term `2018.Spring` is invalid"),
            "{e}"
        );
        let e = err("/create-xml-repo 6.004r 2018_Spring members=alice,-bob");
        assert!(
            e.message
                .contains("Bad `members=`: GitHub login `-bob` is invalid"),
            "{e}"
        );
        let e = err("/create-xml-repo 6.004r 2018_Spring members=");
        assert!(
            e.message
                .contains("Bad `members=`: members (empty) is invalid"),
            "{e}"
        );
        // A mention in a bad value is shown as code, so it pings no one.
        let e = err("/put-team o @org/team");
        assert!(e.message.contains("team `@org/team` is invalid"), "{e}");
    }

    #[test]
    fn option_errors() {
        let e = err("/create-xml-repo 6.004r 2018_Spring descripton=x");
        assert_eq!(e.suggestion.as_deref(), Some("description="));
        assert!(
            e.message.starts_with("Unknown option `descripton=`."),
            "{e}"
        );
        let e = err("/create-xml-repo 6.004r 2018_Spring member=alice");
        assert_eq!(e.suggestion.as_deref(), Some("members="));
        let e = err("/create-xml-repo 6.004r 2018_Spring color=red");
        assert_eq!(e.suggestion, None);
        let e = err("/release 6.004r 2018_Spring description=x");
        assert!(
            e.message
                .starts_with("`/release` takes no options, got `description=`."),
            "{e}"
        );
        let e = err("/create-xml-repo a b team=x Team=y");
        assert!(
            e.message.starts_with("Option `team=` is given twice."),
            "{e}"
        );
    }

    #[test]
    fn echoed_input_is_code() {
        let e = err("/release a b ```@everyone```");
        assert!(e.message.contains("```` ```@everyone``` ````"), "{e}");
    }

    // --- /plan

    #[test]
    fn plan() {
        let inner = Command::CreateXmlRepo {
            course: course("6.004r"),
            term: term("2018_Spring"),
            team: None,
            members: None,
            description: None,
        };
        let expected = Command::Plan(Box::new(inner.clone()));
        assert_eq!(one("/plan create-xml-repo 6.004r 2018_Spring"), expected);
        assert_eq!(one("/plan /create_xml_repo 6.004r 2018_Spring"), expected);
        assert_eq!(
            expected.to_string(),
            "/plan create-xml-repo 6.004r 2018_Spring"
        );
        assert!(!expected.is_mutating());
        assert!(inner.is_mutating());
        assert!(err("/plan /plan x").message.contains("cannot plan another"));
        assert!(err("/plan plan x").message.contains("cannot plan another"));
        assert!(err("/plan help").message.contains("changes nothing"));
        assert!(err("/plan")
            .message
            .starts_with("Missing the COMMAND to plan."));
        assert!(err("/plan k=v")
            .message
            .starts_with("Missing the COMMAND to plan."));
        assert_eq!(
            err("/plan relase a b").suggestion.as_deref(),
            Some("/release")
        );
        let e = err("/plan release a");
        assert!(e.message.contains("Usage: `/release COURSE TERM`"), "{e}");
    }

    // --- edits

    #[test]
    fn edits_run_only_new_commands() {
        let before = "/create-xml-repo 6.004r 2018_Spring\n";
        assert!(new_invocations(before, before).is_empty());
        // Re-spelled, re-spaced or moved: the same command.
        let respelled = "Hi!\n\n/create_xml_repo   6.004r 2018_Spring  \n";
        assert!(new_invocations(before, respelled).is_empty());
        // Added one.
        let added = "/create-xml-repo 6.004r 2018_Spring\n/release-xml 6.004r 2018_Spring";
        let new = new_invocations(before, added);
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].line, 2);
        assert_eq!(new[0].result.as_ref().map(Command::name), Ok("release-xml"));
        // Twice now, once before: one runs, the later one.
        let twice = "/create-xml-repo 6.004r 2018_Spring\n/create-xml-repo 6.004r 2018_Spring";
        let new = new_invocations(before, twice);
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].line, 2);
        // A fixed typo runs; an unchanged error is not reported again.
        let typo = "/create-xml-repo 6.004r 2018.Spring";
        assert_eq!(new_invocations(typo, before).len(), 1);
        assert!(new_invocations(typo, &format!("{typo}\n")).is_empty());
        // A command moved into a code block disappears, nothing runs.
        assert!(new_invocations(before, &format!("```\n{before}```")).is_empty());
        // A changed argument is a new command.
        assert_eq!(
            new_invocations(before, "/create-xml-repo 6.004r 2019_Spring").len(),
            1
        );
        assert_eq!(new_invocations("", before).len(), 1);
    }

    // --- definitions and help

    #[test]
    fn commands_table_is_consistent() {
        let mut seen = std::collections::HashSet::new();
        for spec in COMMANDS {
            assert!(seen.insert(spec.name), "duplicate {}", spec.name);
            assert_eq!(normalize(spec.name, '-'), spec.name, "names are canonical");
            for (key, meaning) in spec.options {
                assert_eq!(normalize(key, '_'), *key, "option keys are canonical");
                assert!(!meaning.is_empty());
            }
            // Every example parses, to that very command.
            let cmd = one(spec.example);
            assert_eq!(cmd.name(), spec.name, "{}", spec.example);
            assert_eq!(cmd.is_mutating(), spec.mutating, "{}", spec.name);
            assert!(std::ptr::eq(cmd.spec(), spec));
            // Every option is accepted by the parser (placeholder values that
            // satisfy every option's rule).
            if !spec.options.is_empty() && spec.name != "plan" {
                let args: Vec<&str> = spec
                    .positional
                    .iter()
                    .map(|p| match *p {
                        "ORG" => "mitx",
                        "TEAM" => "staff",
                        _ => "2018_Spring",
                    })
                    .collect();
                let opts: Vec<String> = spec
                    .options
                    .iter()
                    .map(|(k, _)| {
                        let v = match *k {
                            "read_only" => "true",
                            "from" => "2017_Fall",
                            _ => "alice",
                        };
                        format!("{k}={v}")
                    })
                    .collect();
                let line = format!("/{} {} {}", spec.name, args.join(" "), opts.join(" "));
                assert_eq!(one(&line).name(), spec.name, "{line}");
            }
        }
    }

    #[test]
    fn help_lists_every_command_and_option() {
        let help = help_text();
        for spec in COMMANDS {
            assert!(help.contains(&code(&usage(spec))), "{}", spec.name);
            assert!(help.contains(spec.summary), "{}", spec.name);
            assert!(help.contains(&code(spec.example)), "{}", spec.name);
            for (key, meaning) in spec.options {
                assert!(help.contains(&format!("`{key}=…`: {meaning}")), "{key}");
            }
            let one = help_for(spec);
            assert!(one.contains(&usage(spec)));
            for (key, _) in spec.options {
                assert!(one.contains(&format!("`{key}=…`")), "{key}");
            }
        }
        assert_eq!(usage(&COMMANDS[0]), "/help [COMMAND]");
        assert_eq!(
            find_spec("create-xml-repo").map(usage).as_deref(),
            Some("/create-xml-repo COURSE TERM [team=…] [members=…] [description=…]")
        );
    }

    #[test]
    fn help_text_snapshot() {
        insta::assert_snapshot!(help_text());
    }

    #[test]
    fn serde_shape() {
        let cmd = one("/plan create-xml-repo 6.004r 2018_Spring members=alice team=t");
        let json = serde_json::to_value(&cmd).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "command": "plan",
                "args": {
                    "command": "create-xml-repo",
                    "args": {
                        "course": "6.004r", "term": "2018_Spring", "team": "t",
                        "members": ["alice"], "description": null
                    }
                }
            })
        );
        assert_eq!(serde_json::from_value::<Command>(json).unwrap(), cmd);
        let bad =
            serde_json::json!({"command": "release", "args": {"course": "6 004", "term": "x"}});
        assert!(serde_json::from_value::<Command>(bad).is_err());
    }

    #[test]
    fn display_is_canonical() {
        for (written, canonical) in [
            ("/HELP", "/help"),
            ("/help Rerun_Studio", "/help rerun-studio"),
            (
                "/create_xml_repo 6.004r 2018_Spring Description=x Members=bob,@alice team=\"A B\"",
                "/create-xml-repo 6.004r 2018_Spring team=\"A B\" members=bob,alice description=x",
            ),
            ("/put-team o \"a=b\" read_only=no", "/put-team o \"a=b\""),
            (
                "/put-team o t read-only=yes",
                "/put-team o t read_only=true",
            ),
            ("/rerun c t2 from=t1", "/rerun c t2 from t1"),
            ("/plan /rerun-xml c t", "/plan rerun-xml c t"),
            (
                r#"/create-export-repo c t description="a \"b\" \\ c""#,
                r#"/create-export-repo c t description="a \"b\" \\ c""#,
            ),
        ] {
            assert_eq!(one(written).to_string(), canonical, "{written}");
        }
    }

    // --- properties

    fn arb_course() -> impl Strategy<Value = Course> {
        "[A-Za-z0-9][A-Za-z0-9._-]{0,12}".prop_map(|s| course(&s))
    }
    fn arb_term() -> impl Strategy<Value = Term> {
        // `from` is the keyword of /rerun (see `Args::collect`).
        "[A-Za-z0-9][A-Za-z0-9_-]{0,12}"
            .prop_filter("keyword", |s| !s.eq_ignore_ascii_case("from"))
            .prop_map(|s| term(&s))
    }
    /// Free text: printable ASCII and some Unicode, without the one sequence
    /// that Markdown would hide (`<!--`).
    fn arb_text() -> impl Strategy<Value = String> {
        "[ -~éü😀\u{a0}]{1,24}".prop_filter("no comment", |s| !s.contains("<!--"))
    }
    fn arb_team() -> impl Strategy<Value = TeamName> {
        arb_text().prop_filter_map("valid team", |s| TeamName::parse(&s).ok())
    }
    fn arb_description() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(arb_text().prop_filter("blank", |s| !s.trim().is_empty()))
    }
    fn arb_members() -> impl Strategy<Value = Option<Vec<Login>>> {
        proptest::option::of(
            prop::collection::vec("[a-z0-9]{1,3}(-[a-z0-9]{1,3})?", 1..4).prop_map(|v| {
                let mut out: Vec<Login> = Vec::new();
                for s in v {
                    if !out.iter().any(|l| l.eq_ignore_case(&s)) {
                        out.push(login(&s));
                    }
                }
                out
            }),
        )
    }

    fn arb_mutating() -> impl Strategy<Value = Command> {
        prop_oneof![
            (arb_course(), arb_term(), arb_description()).prop_map(
                |(course, term, description)| {
                    Command::CreateExportRepo {
                        course,
                        term,
                        description,
                    }
                }
            ),
            (arb_course(), arb_term(), arb_term(), arb_description()).prop_map(
                |(course, term, new_term, description)| Command::RerunStudio {
                    course,
                    term,
                    new_term,
                    description
                }
            ),
            (arb_course(), arb_term())
                .prop_map(|(course, term)| Command::ReleaseStudio { course, term }),
            (
                arb_course(),
                arb_term(),
                proptest::option::of(arb_team()),
                arb_members(),
                arb_description()
            )
                .prop_map(|(course, term, team, members, description)| {
                    Command::CreateXmlRepo {
                        course,
                        term,
                        team,
                        members,
                        description,
                    }
                }),
            (arb_course(), arb_term())
                .prop_map(|(course, term)| Command::RerunXml { course, term }),
            (arb_course(), arb_term())
                .prop_map(|(course, term)| Command::ReleaseXml { course, term }),
            (
                "[a-z0-9]{1,4}(-[a-z0-9]{1,4})?",
                arb_team(),
                any::<bool>(),
                arb_members()
            )
                .prop_map(|(org, team, read_only, members)| Command::PutTeam {
                    org: OrgName::parse(&org).unwrap(),
                    team,
                    read_only,
                    members
                }),
            (arb_course(), arb_term(), proptest::option::of(arb_term())).prop_map(
                |(course, new_term, from)| Command::Rerun {
                    course,
                    new_term,
                    from
                }
            ),
            (arb_course(), arb_term()).prop_map(|(course, term)| Command::Release { course, term }),
        ]
    }

    fn arb_command() -> impl Strategy<Value = Command> {
        prop_oneof![
            proptest::option::of(proptest::sample::select(
                COMMANDS
                    .iter()
                    .map(|s| s.name.to_owned())
                    .collect::<Vec<_>>()
            ))
            .prop_map(|topic| Command::Help { topic }),
            arb_mutating(),
            arb_mutating().prop_map(|c| Command::Plan(Box::new(c))),
        ]
    }

    /// Markdown-ish noise built from the constructs the line scanner cares about.
    fn arb_markdown() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("```".to_owned()),
            Just("~~~~".to_owned()),
            Just("    ".to_owned()),
            Just("\t".to_owned()),
            Just("> ".to_owned()),
            Just("<!--".to_owned()),
            Just("-->".to_owned()),
            Just("`".to_owned()),
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just("\n".to_owned()),
            Just("\r\n".to_owned()),
            Just("/".to_owned()),
            Just("/help".to_owned()),
            Just("/plan ".to_owned()),
            Just("/rerun a b from".to_owned()),
            Just(" k=".to_owned()),
            Just(" ".to_owned()),
            "[a-z_=-]{1,4}",
            any::<char>().prop_map(String::from),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn parse_comment_never_panics(s in any::<String>()) {
            for inv in parse_comment(&s) {
                prop_assert!(inv.line >= 1);
                prop_assert!(inv.text.starts_with('/'));
                if let Err(e) = inv.result {
                    prop_assert!(!e.to_string().is_empty());
                }
            }
        }

        #[test]
        fn markdown_noise_never_panics(s in arb_markdown()) {
            let invs = parse_comment(&s);
            let lines = s.lines().count();
            for inv in &invs {
                prop_assert!(inv.line >= 1 && inv.line <= lines);
                prop_assert!(inv.text.starts_with('/'));
                prop_assert_eq!(inv.text.trim(), inv.text.as_str());
            }
            // Unchanged text runs nothing on edit.
            prop_assert!(new_invocations(&s, &s).is_empty());
            // Commands are always a subset of the lines.
            prop_assert!(invs.len() <= lines);
        }

        #[test]
        fn display_round_trips(cmd in arb_command()) {
            let line = cmd.to_string();
            let invs = parse_comment(&line);
            prop_assert_eq!(invs.len(), 1, "{}", line);
            prop_assert_eq!(invs[0].result.as_ref(), Ok(&cmd), "{}", line);
        }

        #[test]
        fn edits_are_a_multiset_difference(
            cmds in prop::collection::vec(arb_mutating(), 1..5),
            keep in prop::collection::vec(any::<bool>(), 5),
            dup in 0usize..5,
        ) {
            let before: Vec<String> = cmds.iter().map(|c| c.to_string()).collect();
            let kept: Vec<&String> = before.iter().zip(&keep).filter(|(_, k)| **k).map(|(c, _)| c).collect();
            let extra = &before[dup % before.len()];
            let mut after: Vec<&String> = before.iter().collect();
            after.push(extra);
            // After the edit: all commands plus one duplicate; before: only the kept ones.
            let prev = kept.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n");
            let cur = after.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n");
            let new = new_invocations(&prev, &cur);
            prop_assert_eq!(new.len(), after.len() - kept.len());
        }
    }
}
