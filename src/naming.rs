//! Every naming rule of the product (SPEC §2), in one place.
//!
//! Names arrive from chat commands, the CLI and GitHub itself, and they end up in
//! repository names, team names, hook targets and catalog keys. Validating them
//! here, once, means nothing malformed ever reaches GitHub, and every rejection
//! carries a message that states the rule (in words and as a pattern) so the
//! person who typed it can fix it without reading source code.
//!
//! The validators are hand-written (no regex crate); the tests check each of
//! them against an independent reference implementation with proptest.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A name that broke its rule. User-facing: its `Display` is meant to be shown
/// to whoever typed the value (escape it for Markdown as you would any user text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} \"{}\" is invalid: {rule}", shown_value(.value))]
pub struct NameError {
    /// What was being named, e.g. `course`.
    pub what: &'static str,
    /// The offending value, verbatim (the `Display` truncates and escapes it).
    pub value: String,
    /// The rule in words followed by its pattern in parentheses.
    pub rule: &'static str,
}

impl NameError {
    fn new(what: &'static str, value: &str, rule: &'static str) -> Self {
        NameError {
            what,
            value: value.to_owned(),
            rule,
        }
    }
}

/// How many characters of an offending value an error message repeats: enough
/// to recognise it, not enough to let a pasted essay flood a comment.
const SHOWN_VALUE_CHARS: usize = 80;

impl NameError {
    /// The message as Markdown for a GitHub comment: the value and the pattern
    /// in code spans, so that user text cannot format the reply or mention
    /// anyone, and `[A-Za-z]` and `_` are not read as Markdown.
    pub fn to_markdown(&self) -> String {
        let value = if self.value.is_empty() {
            "(empty)".to_owned()
        } else {
            markdown_code(&self.value)
        };
        let rule = match self.rule.rsplit_once(" (") {
            Some((words, pattern)) if pattern.ends_with(')') => {
                format!("{words} ({})", markdown_code(&pattern[..pattern.len() - 1]))
            }
            _ => self.rule.to_owned(),
        };
        format!("{} {value} is invalid: {rule}", self.what)
    }
}

/// Renders a user-supplied value for an error message: truncated, with control
/// and invisible formatting characters escaped so that the message cannot be
/// broken across lines or visually reordered (bidi overrides); with
/// `escape_quotes`, also `"` and `\\`, for values shown between quotes.
fn escaped(value: &str, escape_quotes: bool) -> String {
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        if i == SHOWN_VALUE_CHARS {
            out.push('…');
            break;
        }
        match c {
            '"' | '\\' if escape_quotes => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || is_invisible_format(c) => {
                out.extend(c.escape_default());
            }
            c => out.push(c),
        }
    }
    out
}

fn shown_value(value: &str) -> String {
    escaped(value, true)
}

/// An inline Markdown code span showing `s` verbatim (truncated to 80
/// characters, control and bidi characters escaped), whatever backticks it
/// holds. Replies echo user input this way so that it cannot render as
/// Markdown or ping anyone with `@`.
pub fn markdown_code(s: &str) -> String {
    let shown = escaped(s, false);
    let mut longest = 0;
    let mut run = 0;
    for c in shown.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if shown.starts_with('`') || shown.ends_with('`') || shown.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{shown}{pad}{fence}")
}

/// Zero-width and bidirectional formatting characters, which could make a value
/// look different from what it is.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}')
}

// ---------------------------------------------------------------------------
// Rules. Each rule text states the rule in words and then as the pattern the
// spec gives, because operators know the pattern and course staff the words.

const COURSE_RULE: &str = "1-64 characters from letters, digits, '.', '_', '-', \
    starting with a letter or digit (^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$)";
const TERM_RULE: &str = "1-32 characters from letters, digits, '_', '-', \
    starting with a letter or digit (^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$)";
const PREFIX_RULE: &str = "1-64 characters from letters, digits, '.', '_', '-', \
    starting with a letter or digit; it may end with '-' \
    (^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$)";
const EDX_ORG_RULE: &str = "1-64 characters from letters, digits, '.', '_', '-', \
    starting with a letter or digit (^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$)";
const LOGIN_RULE: &str = "1-39 letters, digits or single hyphens, \
    not starting or ending with a hyphen \
    (^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$)";
const TEAM_RULE: &str = "1-255 characters, not only spaces, \
    without '/' or control characters ([^/\\x00-\\x1f\\x7f]{1,255}, not blank)";
const REPO_RULE: &str = "1-100 characters from letters, digits, '.', '_', '-', \
    other than '.' and '..' (^[A-Za-z0-9._-]{1,100}$)";
const REPO_FULL_NAME_RULE: &str = "OWNER/NAME, where OWNER is a GitHub \
    organization or user and NAME 1-100 characters from letters, digits, '.', '_', '-' \
    (^OWNER/[A-Za-z0-9._-]{1,100}$)";
const MEMBERS_RULE: &str = "one or more GitHub logins separated by commas or spaces, \
    each 1-39 letters, digits or single hyphens, not starting or ending with a hyphen";

/// `^[A-Za-z0-9][A-Za-z0-9{extra}]{0,max-1}$` on ASCII.
fn simple_name(s: &str, max: usize, extra: &[u8]) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= max
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

fn is_course(s: &str) -> bool {
    simple_name(s, 64, b"._-")
}

fn is_term(s: &str) -> bool {
    simple_name(s, 32, b"_-")
}

/// A course as it appears in a repo name: a course with its dots removed.
fn is_dotless_course(s: &str) -> bool {
    simple_name(s, 64, b"_-")
}

/// GitHub's login rule: alphanumeric runs joined by single hyphens, ≤ 39 chars.
fn is_login(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 39
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !s.contains("--")
}

fn is_repo_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 100
        && s != "."
        && s != ".."
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
}

fn is_team_name(s: &str) -> bool {
    let n = s.chars().count();
    (1..=255).contains(&n)
        && !s.chars().all(char::is_whitespace)
        && !s.chars().any(|c| c == '/' || c.is_control())
}

// ---------------------------------------------------------------------------
// String newtypes.

/// Implements the traits every validated string newtype shares: `parse` is the
/// only constructor, so holding one is proof that the value passed its rule,
/// including after deserialization (serde goes through `TryFrom<String>`).
macro_rules! string_newtype {
    ($ty:ident, $what:literal, $rule:expr, $check:expr) => {
        impl $ty {
            /// Validates `s` against the rule of this kind of name.
            pub fn parse(s: &str) -> Result<Self, NameError> {
                if ($check)(s) {
                    Ok($ty(s.to_owned()))
                } else {
                    Err(NameError::new($what, s, $rule))
                }
            }

            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $ty {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                $ty::parse(s)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                if ($check)(&s) {
                    Ok($ty(s))
                } else {
                    Err(NameError::new($what, &s, $rule))
                }
            }
        }

        impl From<$ty> for String {
            fn from(v: $ty) -> String {
                v.0
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// A course number such as `6.004r` or `DevOps.001`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Course(String);
string_newtype!(Course, "course", COURSE_RULE, is_course);

impl Course {
    /// The course as it appears in repo names: orcoursetrion drops the dots
    /// (`6.004r` → `6004r`). Note that this is lossy: `6.004r` and `600.4r`
    /// share repo names, as they always did.
    pub fn without_dots(&self) -> String {
        self.0.replace('.', "")
    }
}

/// A course run's term such as `2018_Spring` (or `Spring_2030`, the form
/// orcoursetrion's own docs use).
///
/// Equality is exact text equality; the order is chronological where the term
/// says when it runs (see the `Ord` impl).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Term(String);
string_newtype!(Term, "term", TERM_RULE, is_term);

/// The seasons we know, in calendar order (MIT's academic year: IAP is January).
const SEASONS: [&str; 4] = ["iap", "spring", "summer", "fall"];
/// Rank of a season we do not know: after the known ones of the same year.
const UNKNOWN_SEASON: usize = SEASONS.len();

impl Term {
    /// The year and season text of a dated term, `YYYY_Season` or
    /// `Season_YYYY` (the first form wins when both fit, e.g. `2018_2019`).
    fn dated(&self) -> Option<(u16, &str)> {
        let s = self.0.as_str();
        let b = s.as_bytes();
        let year = |t: &str| -> Option<u16> {
            if t.len() == 4 && t.bytes().all(|c| c.is_ascii_digit()) {
                t.parse().ok()
            } else {
                None
            }
        };
        if b.len() > 5 && b[4] == b'_' {
            if let Some(y) = year(&s[..4]) {
                return Some((y, &s[5..]));
            }
        }
        if b.len() > 5 && b[b.len() - 5] == b'_' {
            if let Some(y) = year(&s[b.len() - 4..]) {
                return Some((y, &s[..b.len() - 5]));
            }
        }
        None
    }

    /// The year of a term shaped `YYYY_Season` or `Season_YYYY`.
    pub fn year(&self) -> Option<u16> {
        self.dated().map(|(y, _)| y)
    }

    /// Whether the term says when it runs (`YYYY_Season` or `Season_YYYY`).
    /// Only dated terms are ordered chronologically.
    pub fn is_dated(&self) -> bool {
        self.dated().is_some()
    }

    /// The sort key: dated terms first (by year, then season rank), then the
    /// undated ones; the full text last, which makes the order total and
    /// consistent with `Eq`.
    fn sort_key(&self) -> (u8, u16, usize, &str) {
        match self.dated() {
            Some((year, season)) => {
                let rank = SEASONS
                    .iter()
                    .position(|k| season.eq_ignore_ascii_case(k))
                    .unwrap_or(UNKNOWN_SEASON);
                (0, year, rank, &self.0)
            }
            None => (1, 0, 0, &self.0),
        }
    }
}

impl Ord for Term {
    /// Chronological for dated terms: year, then IAP < Spring < Summer < Fall
    /// (case-insensitive), then unknown seasons; ties and undated terms
    /// (`Rolling`), which come after every dated one, sort by their text.
    fn cmp(&self, other: &Self) -> Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl PartialOrd for Term {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A GitHub user login.
///
/// GitHub treats logins case-insensitively, but `Eq` here is exact; compare
/// with [`Login::eq_ignore_case`] when matching against GitHub's answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Login(String);
string_newtype!(Login, "GitHub login", LOGIN_RULE, is_login);

impl Login {
    /// GitHub logins are case-insensitive.
    pub fn eq_ignore_case(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

/// A GitHub organization (or, as a repo owner, user) name; same rule as logins.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrgName(String);
string_newtype!(OrgName, "organization", LOGIN_RULE, is_login);

/// A GitHub team's display name (not its slug: see [`team_slug`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TeamName(String);
string_newtype!(TeamName, "team", TEAM_RULE, is_team_name);

impl TeamName {
    /// The team's URL slug, as GitHub derives it from the name.
    pub fn slug(&self) -> String {
        team_slug(&self.0)
    }
}

/// GitHub-like team slug: ASCII-lowercased, every run of characters other than
/// ASCII letters, digits, `_` and `-` replaced by one `-`, and leading and
/// trailing `-` trimmed. The API addresses teams by slug, so this lets us make
/// one `PUT /orgs/{org}/teams/{slug}/…` call instead of scanning all teams.
pub fn team_slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            out.push(c.to_ascii_lowercase());
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    out.trim_matches('-').to_owned()
}

/// A repository's `owner/name`, e.g. for `ORC_REQUESTS_REPOS`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepoFullName {
    owner: OrgName,
    name: String,
}

impl RepoFullName {
    /// Builds a full name from an owner and a repo name, validating the latter.
    pub fn new(owner: OrgName, name: &str) -> Result<Self, NameError> {
        if is_repo_name(name) {
            Ok(RepoFullName {
                owner,
                name: name.to_owned(),
            })
        } else {
            Err(NameError::new("repository name", name, REPO_RULE))
        }
    }

    /// Parses `owner/name`; the error names the part that is wrong.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let Some((owner, name)) = s.split_once('/') else {
            return Err(NameError::new("repository", s, REPO_FULL_NAME_RULE));
        };
        RepoFullName::new(OrgName::parse(owner)?, name)
    }

    /// The owning organization or user.
    pub fn owner(&self) -> &OrgName {
        &self.owner
    }

    /// The repository name within its owner.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// GitHub compares repo names case-insensitively.
    pub fn eq_ignore_case(&self, other: &RepoFullName) -> bool {
        self.owner
            .as_str()
            .eq_ignore_ascii_case(other.owner.as_str())
            && self.name.eq_ignore_ascii_case(&other.name)
    }
}

impl fmt::Display for RepoFullName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl FromStr for RepoFullName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        RepoFullName::parse(s)
    }
}

impl TryFrom<String> for RepoFullName {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, NameError> {
        RepoFullName::parse(&s)
    }
}

impl From<RepoFullName> for String {
    fn from(v: RepoFullName) -> String {
        v.to_string()
    }
}

/// Parses a member list such as `alice,bob` or `alice bob, carol`.
///
/// Duplicates (compared case-insensitively, as GitHub does) are dropped and the
/// first spelling kept, in order. An empty list is an error: a member list
/// replaces a team's membership, and a blank `members=` is far more likely a
/// slip than a wish to empty the team.
pub fn parse_members(s: &str) -> Result<Vec<Login>, NameError> {
    let mut out: Vec<Login> = Vec::new();
    for word in s
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
    {
        // `@alice` is how people write logins on GitHub; accept it.
        let word = word.strip_prefix('@').unwrap_or(word);
        let login = Login::parse(word)?;
        if !out.iter().any(|l| l.eq_ignore_case(login.as_str())) {
            out.push(login);
        }
    }
    if out.is_empty() {
        return Err(NameError::new("members", s, MEMBERS_RULE));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Names derived from configuration.

/// Derives repo names, team names and course keys from `ORC_COURSE_PREFIX` and
/// `ORC_EDX_ORG`, so that no other module formats them by hand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    prefix: String,
    edx_org: String,
}

impl Names {
    /// Validates the prefix and the edX organization.
    pub fn new(prefix: &str, edx_org: &str) -> Result<Names, NameError> {
        if !is_course(prefix) {
            return Err(NameError::new("course prefix", prefix, PREFIX_RULE));
        }
        if !is_course(edx_org) {
            return Err(NameError::new("edX organization", edx_org, EDX_ORG_RULE));
        }
        Ok(Names {
            prefix: prefix.to_owned(),
            edx_org: edx_org.to_owned(),
        })
    }

    /// `ORC_COURSE_PREFIX`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `ORC_EDX_ORG`.
    pub fn edx_org(&self) -> &str {
        &self.edx_org
    }

    /// What goes before the dotless course in a repo name.
    fn head(&self) -> String {
        if self.prefix.ends_with('-') {
            self.prefix.clone()
        } else {
            format!("{}-", self.prefix)
        }
    }

    /// The head that old orcoursetrion used when the prefix ended in `-`.
    fn legacy_head(&self) -> Option<String> {
        self.prefix
            .ends_with('-')
            .then(|| format!("{}-", self.prefix))
    }

    /// `{prefix}-{course without dots}-{term}`; a prefix that already ends in
    /// `-` gets no second dash (fixing orcoursetrion's double-dash names).
    pub fn repo_name(&self, course: &Course, term: &Term) -> String {
        format!("{}{}-{}", self.head(), course.without_dots(), term)
    }

    /// The double-dash name old orcoursetrion gave the run when the prefix
    /// ended in `-` (`content-mit--6004r-2018_Spring`); `None` for other
    /// prefixes, whose names did not change. Repos created before the fix
    /// still carry it, so lookups try it after [`Names::repo_name`].
    pub fn legacy_repo_name(&self, course: &Course, term: &Term) -> Option<String> {
        self.legacy_head()
            .map(|h| format!("{}{}-{}", h, course.without_dots(), term))
    }

    /// The names under which a run's repo may exist, in lookup order: the
    /// current name first, then the legacy one. New repos always get the first.
    pub fn candidate_repo_names(&self, course: &Course, term: &Term) -> Vec<String> {
        let mut v = vec![self.repo_name(course, term)];
        v.extend(self.legacy_repo_name(course, term));
        v
    }

    /// The default team of an xml course run (orcoursetrion: the repo name).
    pub fn team_name(&self, course: &Course, term: &Term) -> String {
        self.repo_name(course, term)
    }

    /// The catalog key of a run: `course-v1:{edx_org}+{course}+{term}`.
    pub fn course_key(&self, course: &Course, term: &Term) -> String {
        format!("course-v1:{}+{}+{}", self.edx_org, course, term)
    }

    /// `name` without this prefix's head, new form or legacy form; GitHub repo
    /// names are case-insensitive, so the prefix is matched that way too.
    fn strip_head<'a>(&self, name: &'a str) -> Vec<&'a str> {
        let mut out = Vec::new();
        for head in std::iter::once(self.head()).chain(self.legacy_head()) {
            if let Some(rest) = strip_prefix_ignore_case(name, &head) {
                out.push(rest);
            }
        }
        out
    }

    /// Recognises a repo name this prefix produced (new or legacy form) and
    /// returns the dotless course and the term.
    ///
    /// Dashes are allowed in both courses and terms, so a name can split in
    /// more than one way. We take the rightmost split whose term is dated
    /// (`x-y-2018_Spring` is course `x-y`, term `2018_Spring`), else the
    /// rightmost split (a term without dashes). [`Names::run_matches`] agrees
    /// with this choice and is exact when the course is known.
    pub fn parse_repo_name(&self, name: &str) -> Option<(String, Term)> {
        self.strip_head(name).into_iter().find_map(|rest| {
            let splits: Vec<(&str, Term)> = rest
                .match_indices('-')
                .filter_map(|(i, _)| {
                    let (course, term) = (&rest[..i], &rest[i + 1..]);
                    let term = Term::parse(term).ok()?;
                    is_dotless_course(course).then_some((course, term))
                })
                .collect();
            let best = splits
                .iter()
                .rev()
                .find(|(_, t)| t.is_dated())
                .or(splits.last())?;
            Some((best.0.to_owned(), best.1.clone()))
        })
    }

    /// The term of `repo_name` if it is a run of `course` under this prefix
    /// (new or legacy form, case-insensitive like GitHub), else `None`.
    ///
    /// A term that ends in `-` plus a dated term, such as `r-2018_Spring`, is
    /// refused: that repo name is better read as the `2018_Spring` run of the
    /// longer course `…-r`, and picking it up as a run of this course would
    /// copy another course's content. Such runs need an explicit old term.
    pub fn run_matches(&self, repo_name: &str, course: &Course) -> Option<Term> {
        let dotless = course.without_dots();
        self.strip_head(repo_name).into_iter().find_map(|rest| {
            let rest = strip_prefix_ignore_case(rest, &dotless)?;
            let term = Term::parse(rest.strip_prefix('-')?).ok()?;
            (!shadows_longer_course(&dotless, &term)).then_some(term)
        })
    }
}

/// Whether the repo name of `dotless`'s run `term` also reads as a dated run
/// of a longer course: some `-`-suffix of the term is a dated term and what
/// precedes it is a valid course (see [`Names::run_matches`]).
fn shadows_longer_course(dotless: &str, term: &Term) -> bool {
    let s = term.as_str();
    s.match_indices('-').any(|(i, _)| {
        let longer = format!("{dotless}-{}", &s[..i]);
        is_dotless_course(&longer) && Term::parse(&s[i + 1..]).is_ok_and(|t| t.is_dated())
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
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

    // --- reference checkers, written independently of the validators above:
    // character sets spelled out as strings, lengths counted in chars.

    const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    fn ref_simple(s: &str, max: usize, rest: &str) -> bool {
        let cs: Vec<char> = s.chars().collect();
        if cs.is_empty() || cs.len() > max {
            return false;
        }
        if !ALNUM.contains(cs[0]) {
            return false;
        }
        cs[1..]
            .iter()
            .all(|c| ALNUM.contains(*c) || rest.contains(*c))
    }
    fn ref_course(s: &str) -> bool {
        ref_simple(s, 64, "._-")
    }
    fn ref_term(s: &str) -> bool {
        ref_simple(s, 32, "_-")
    }
    /// The login pattern as a tiny state machine: after a hyphen, the next
    /// character must be alphanumeric (the `-(?=[A-Za-z0-9])` lookahead).
    fn ref_login(s: &str) -> bool {
        let cs: Vec<char> = s.chars().collect();
        if cs.is_empty() || cs.len() > 39 || !ALNUM.contains(cs[0]) {
            return false;
        }
        for i in 1..cs.len() {
            let ok = ALNUM.contains(cs[i])
                || (cs[i] == '-' && cs.get(i + 1).is_some_and(|n| ALNUM.contains(*n)));
            if !ok {
                return false;
            }
        }
        true
    }
    fn ref_repo(s: &str) -> bool {
        let n = s.chars().count();
        (1..=100).contains(&n)
            && s != "."
            && s != ".."
            && s.chars().all(|c| ALNUM.contains(c) || "._-".contains(c))
    }
    fn ref_team(s: &str) -> bool {
        let n = s.chars().count();
        (1..=255).contains(&n)
            && s.trim() != ""
            && !s.chars().any(|c| {
                c == '/'
                    || (c as u32) < 0x20
                    || c as u32 == 0x7f
                    || ('\u{80}'..='\u{9f}').contains(&c)
            })
    }

    // --- unit tests

    #[test]
    fn courses() {
        for ok in ["6.004r", "DevOps.001", "8.01x", "a", "21M.380", "A-b_c.d"] {
            assert!(Course::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".x",
            "-x",
            "_x",
            "6 004",
            "6/004",
            "é",
            "6.004+",
            &"a".repeat(65),
        ] {
            assert!(Course::parse(bad).is_err(), "{bad}");
        }
        assert!(Course::parse(&"a".repeat(64)).is_ok());
        assert_eq!(course("6.004r").without_dots(), "6004r");
        assert_eq!(course("DevOps.001").without_dots(), "DevOps001");
        assert_eq!("6.004r".parse::<Course>(), Ok(course("6.004r")));
    }

    #[test]
    fn course_error_names_the_rule() {
        let e = Course::parse("6 004").unwrap_err();
        assert_eq!(
            e.to_string(),
            "course \"6 004\" is invalid: 1-64 characters from letters, digits, \
             '.', '_', '-', starting with a letter or digit \
             (^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$)"
        );
        assert_eq!(e.what, "course");
        assert_eq!(e.value, "6 004");
    }

    #[test]
    fn error_value_is_truncated_and_escaped() {
        let long = "x".repeat(200);
        let msg = Term::parse(&long).unwrap_err().to_string();
        assert!(msg.contains(&format!("\"{}…\"", "x".repeat(80))), "{msg}");
        let msg = Term::parse("a\nb\u{202E}c\"d").unwrap_err().to_string();
        assert!(
            msg.starts_with(r#"term "a\nb\u{202e}c\"d" is invalid"#),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn markdown_rendering() {
        let e = Course::parse("@team *x*").unwrap_err();
        assert_eq!(
            e.to_markdown(),
            "course `@team *x*` is invalid: 1-64 characters from letters, digits, \
             '.', '_', '-', starting with a letter or digit \
             (`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)"
        );
        assert!(parse_members("")
            .unwrap_err()
            .to_markdown()
            .starts_with("members (empty) is invalid"));
        // Every rule ends with its pattern in parentheses.
        for rule in [
            COURSE_RULE,
            TERM_RULE,
            PREFIX_RULE,
            EDX_ORG_RULE,
            LOGIN_RULE,
            TEAM_RULE,
            REPO_RULE,
            REPO_FULL_NAME_RULE,
        ] {
            let (_, pattern) = rule.rsplit_once(" (").expect(rule);
            assert!(pattern.ends_with(')'), "{rule}");
        }
        assert_eq!(markdown_code("a"), "`a`");
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("`a"), "`` `a ``");
        assert_eq!(markdown_code("a\nb"), "`a\\nb`");
        assert_eq!(
            markdown_code(&"x".repeat(100)),
            format!("`{}…`", "x".repeat(80))
        );
    }

    #[test]
    fn terms() {
        for ok in ["2018_Spring", "Spring_2030", "Rolling", "1T2018", "a-b_c"] {
            assert!(Term::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "_2018", "2018.Spring", "2018 Spring", &"a".repeat(33)] {
            assert!(Term::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(term("2018_Spring").year(), Some(2018));
        assert_eq!(term("Spring_2030").year(), Some(2030));
        assert_eq!(term("Rolling").year(), None);
        assert_eq!(term("2018").year(), None);
        assert_eq!(term("2018_").year(), None);
    }

    #[test]
    fn real_terms_sort_chronologically() {
        let sorted = [
            "2017_Fall",
            "2018_IAP",
            "2018_Spring",
            "2018_Summer",
            "2018_Fall",
            "2019_Foo",
            "Rolling",
        ];
        let mut v: Vec<Term> = sorted.iter().rev().map(|s| term(s)).collect();
        v.swap(0, 3);
        v.swap(1, 5);
        v.sort();
        let got: Vec<&str> = v.iter().map(Term::as_str).collect();
        assert_eq!(got, sorted);
    }

    #[test]
    fn term_order_details() {
        assert!(term("Spring_2030") < term("Fall_2030"));
        assert!(term("Fall_2029") < term("2030_IAP"));
        assert!(
            term("2018_spring") < term("2018_FALL"),
            "case-insensitive seasons"
        );
        assert!(
            term("2018_Fall") < term("2018_Autumn"),
            "unknown season after known"
        );
        // same rank: lexical tie-break, so the order stays consistent with Eq.
        assert!(term("2018_Fall") < term("2018_fall"));
        assert!(term("9999_Zzz") < term("Aardvark"));
        assert!(term("A") < term("B"));
    }

    #[test]
    fn logins_and_orgs() {
        for ok in ["a", "alice", "a-b", "A1-b2-c3", &"a".repeat(39)] {
            assert!(Login::parse(ok).is_ok(), "{ok}");
            assert!(OrgName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "a_b",
            "a.b",
            "dependabot[bot]",
            &"a".repeat(40),
        ] {
            assert!(Login::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(OrgName::parse("a--b").unwrap_err().what, "organization");
    }

    #[test]
    fn team_names_and_slugs() {
        for ok in [
            "content-mit-6004r-2018_Spring",
            "My Team",
            "Ünïcode",
            " x ",
            &"é".repeat(255),
        ] {
            assert!(TeamName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "   ", "a/b", "a\tb", "a\nb", &"a".repeat(256)] {
            assert!(TeamName::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(team_slug("My Team"), "my-team");
        assert_eq!(team_slug("  Course Staff!! (6.004) "), "course-staff-6-004");
        assert_eq!(
            team_slug("content-mit-6004r-2018_Spring"),
            "content-mit-6004r-2018_spring"
        );
        assert_eq!(team_slug("Ünïcode Team"), "n-code-team");
        assert_eq!(team_slug("!!!"), "");
        assert_eq!(TeamName::parse("A B").unwrap().slug(), "a-b");
    }

    #[test]
    fn repo_full_names() {
        let r = RepoFullName::parse("mitodl/course-requests").unwrap();
        assert_eq!(r.owner().as_str(), "mitodl");
        assert_eq!(r.name(), "course-requests");
        assert_eq!(r.to_string(), "mitodl/course-requests");
        assert!(RepoFullName::parse("o/.github").is_ok());
        for bad in [
            "", "mitodl", "/x", "o/", "o/.", "o/..", "o/a/b", "-o/x", "o/a b",
        ] {
            assert!(RepoFullName::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            RepoFullName::parse("-o/x").unwrap_err().what,
            "organization"
        );
        assert_eq!(
            RepoFullName::parse("o/a b").unwrap_err().what,
            "repository name"
        );
        assert_eq!(RepoFullName::parse("ox").unwrap_err().what, "repository");
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, "\"mitodl/course-requests\"");
        assert_eq!(serde_json::from_str::<RepoFullName>(&json).unwrap(), r);
        assert!(serde_json::from_str::<RepoFullName>("\"a/b c\"").is_err());
    }

    #[test]
    fn members() {
        let m = parse_members("alice,bob  carol, @dave,,Alice").unwrap();
        let m: Vec<&str> = m.iter().map(Login::as_str).collect();
        assert_eq!(m, ["alice", "bob", "carol", "dave"]);
        assert!(parse_members("").is_err());
        assert!(parse_members(" , ").is_err());
        let e = parse_members("alice,b_b").unwrap_err();
        assert_eq!(e.what, "GitHub login");
        assert_eq!(e.value, "b_b");
    }

    #[test]
    fn names_repo_team_and_key() {
        let n = Names::new("content-mit", "MITx").unwrap();
        let (c, t) = (course("6.004r"), term("2018_Spring"));
        assert_eq!(n.repo_name(&c, &t), "content-mit-6004r-2018_Spring");
        assert_eq!(n.legacy_repo_name(&c, &t), None);
        assert_eq!(
            n.candidate_repo_names(&c, &t),
            ["content-mit-6004r-2018_Spring"]
        );
        assert_eq!(n.team_name(&c, &t), "content-mit-6004r-2018_Spring");
        assert_eq!(n.course_key(&c, &t), "course-v1:MITx+6.004r+2018_Spring");
    }

    #[test]
    fn double_dash_prefix() {
        let n = Names::new("content-mit-", "MITx").unwrap();
        let (c, t) = (course("6.004r"), term("2018_Spring"));
        assert_eq!(n.repo_name(&c, &t), "content-mit-6004r-2018_Spring");
        assert_eq!(
            n.legacy_repo_name(&c, &t).as_deref(),
            Some("content-mit--6004r-2018_Spring")
        );
        assert_eq!(
            n.candidate_repo_names(&c, &t),
            [
                "content-mit-6004r-2018_Spring",
                "content-mit--6004r-2018_Spring"
            ]
        );
        for name in [
            "content-mit-6004r-2018_Spring",
            "content-mit--6004r-2018_Spring",
        ] {
            assert_eq!(n.run_matches(name, &c), Some(t.clone()), "{name}");
            assert_eq!(
                n.parse_repo_name(name),
                Some(("6004r".to_owned(), t.clone()))
            );
        }
    }

    #[test]
    fn names_validation() {
        assert!(Names::new("", "MITx").is_err());
        assert!(Names::new("-x", "MITx").is_err());
        assert!(Names::new("a b", "MITx").is_err());
        assert!(Names::new("x", "MIT x").is_err());
        assert_eq!(Names::new("x", "").unwrap_err().what, "edX organization");
        assert_eq!(Names::new("x/", "M").unwrap_err().what, "course prefix");
    }

    #[test]
    fn run_matching() {
        let n = Names::new("content-mit", "MITx").unwrap();
        let c = course("6.004r");
        assert_eq!(
            n.run_matches("content-mit-6004r-2018_Fall", &c),
            Some(term("2018_Fall"))
        );
        assert_eq!(
            n.run_matches("Content-MIT-6004R-2018_Fall", &c),
            Some(term("2018_Fall"))
        );
        assert_eq!(n.run_matches("content-mit-6004r", &c), None);
        assert_eq!(n.run_matches("content-mit-6004r-", &c), None);
        assert_eq!(n.run_matches("content-mit-6004rx-2018_Fall", &c), None);
        assert_eq!(n.run_matches("content-mit-6004-2018_Fall", &c), None);
        assert_eq!(n.run_matches("other-6004r-2018_Fall", &c), None);
        assert_eq!(n.run_matches("content-mit-6004r-2018.Fall", &c), None);
        // `6.004` must not pick up the 2018_Fall run of a course `6004-r`.
        assert_eq!(
            n.run_matches("content-mit-6004-r-2018_Fall", &course("6.004")),
            None
        );
        assert_eq!(
            n.run_matches("content-mit-6004-r-2018_Fall", &course("6.004-r")),
            Some(term("2018_Fall"))
        );
        // Undated terms with dashes still match.
        assert_eq!(
            n.run_matches("content-mit-6004r-self-paced", &c),
            Some(term("self-paced"))
        );
        assert_eq!(
            n.parse_repo_name("content-mit-6004-r-2018_Fall"),
            Some(("6004-r".to_owned(), term("2018_Fall")))
        );
        assert_eq!(
            n.parse_repo_name("content-mit-a-b-c"),
            Some(("a-b".to_owned(), term("c")))
        );
        assert_eq!(n.parse_repo_name("content-mit-6004r"), None);
        assert_eq!(n.parse_repo_name("unrelated"), None);
        assert_eq!(n.parse_repo_name("content-mit--x-2018_Fall"), None);
    }

    #[test]
    fn serde_as_strings() {
        let c = course("6.004r");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"6.004r\"");
        assert_eq!(
            serde_json::from_str::<Term>("\"2018_Spring\"").unwrap(),
            term("2018_Spring")
        );
        let e = serde_json::from_str::<Course>("\"6 004\"").unwrap_err();
        assert!(e.to_string().contains("is invalid"), "{e}");
        assert!(serde_json::from_str::<Login>("\"-x\"").is_err());
        assert!(serde_json::from_str::<TeamName>("\"a/b\"").is_err());
    }

    // --- properties

    /// Strings near the rules' edges: their alphabets plus some neighbours,
    /// and lengths around the limits.
    fn nearly_names() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z0-9._ /+-]{0,70}",
            "[A-Za-z0-9_-]{28,36}",
            "[a-z-]{0,42}",
            any::<String>(),
        ]
    }

    /// Terms that look like real ones, so that the ordering properties exercise
    /// the dated branches and not only the lexical fallback.
    fn realistic_term() -> impl Strategy<Value = Term> {
        let season = prop_oneof![
            Just("IAP".to_owned()),
            Just("Spring".to_owned()),
            Just("spring".to_owned()),
            Just("Summer".to_owned()),
            Just("Fall".to_owned()),
            Just("FALL".to_owned()),
            "[A-Za-z]{1,6}",
        ];
        prop_oneof![
            ("20[0-3][0-9]", season.clone()).prop_map(|(y, s)| format!("{y}_{s}")),
            (season, "20[0-3][0-9]").prop_map(|(s, y)| format!("{s}_{y}")),
            "[A-Za-z0-9][A-Za-z0-9_-]{0,31}".prop_map(|s| s),
        ]
        .prop_map(|s| Term::parse(&s).expect("generated terms are valid"))
    }

    proptest! {
        #[test]
        fn course_accepts_its_pattern(s in "[A-Za-z0-9][A-Za-z0-9._-]{0,63}") {
            prop_assert!(Course::parse(&s).is_ok());
        }

        #[test]
        fn course_agrees_with_reference(s in nearly_names()) {
            prop_assert_eq!(Course::parse(&s).is_ok(), ref_course(&s));
            prop_assert_eq!(Names::new(&s, "MITx").is_ok(), ref_course(&s));
        }

        #[test]
        fn term_accepts_its_pattern(s in "[A-Za-z0-9][A-Za-z0-9_-]{0,31}") {
            prop_assert!(Term::parse(&s).is_ok());
        }

        #[test]
        fn term_agrees_with_reference(s in nearly_names()) {
            prop_assert_eq!(Term::parse(&s).is_ok(), ref_term(&s));
        }

        #[test]
        fn login_accepts_its_pattern(s in "[A-Za-z0-9]{1,5}(-[A-Za-z0-9]{1,5}){0,6}") {
            prop_assume!(s.len() <= 39);
            prop_assert!(Login::parse(&s).is_ok());
            prop_assert!(OrgName::parse(&s).is_ok());
        }

        #[test]
        fn login_agrees_with_reference(s in nearly_names()) {
            prop_assert_eq!(Login::parse(&s).is_ok(), ref_login(&s));
            prop_assert_eq!(OrgName::parse(&s).is_ok(), ref_login(&s));
        }

        #[test]
        fn repo_full_name_agrees_with_reference(o in "[a-z-]{0,6}", n in nearly_names()) {
            let full = format!("{o}/{n}");
            let expected = ref_login(&o) && ref_repo(&n);
            prop_assert_eq!(RepoFullName::parse(&full).is_ok(), expected);
            if let Ok(r) = RepoFullName::parse(&full) {
                prop_assert_eq!(r.to_string(), full);
            }
        }

        #[test]
        fn team_agrees_with_reference(s in prop_oneof![nearly_names(), "[ a/\t\u{7f}\u{85}é]{0,5}"]) {
            prop_assert_eq!(TeamName::parse(&s).is_ok(), ref_team(&s));
        }

        #[test]
        fn slug_shape(s in any::<String>()) {
            let slug = team_slug(&s);
            prop_assert!(!slug.starts_with('-') && !slug.ends_with('-'));
            prop_assert!(slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'));
            prop_assert_eq!(team_slug(&slug), slug.clone(), "idempotent");
        }

        #[test]
        fn members_round_trip(v in prop::collection::vec("[a-z0-9]{1,4}(-[a-z0-9]{1,4}){0,2}", 1..6),
                              sep in prop_oneof![Just(","), Just(" "), Just(", "), Just("\t")]) {
            let parsed = parse_members(&v.join(sep)).unwrap();
            let mut expected: Vec<String> = Vec::new();
            for w in &v {
                if !expected.contains(w) {
                    expected.push(w.clone());
                }
            }
            let got: Vec<String> = parsed.into_iter().map(String::from).collect();
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn repo_name_round_trips(
            prefix in "[A-Za-z0-9][A-Za-z0-9._-]{0,20}",
            c in "[A-Za-z0-9][A-Za-z0-9._-]{0,63}",
            t in prop_oneof![realistic_term().prop_map(String::from), "[A-Za-z0-9][A-Za-z0-9_-]{0,31}"],
        ) {
            let names = Names::new(&prefix, "MITx").unwrap();
            let (c, t) = (course(&c), term(&t));
            for name in names.candidate_repo_names(&c, &t) {
                let got = names.run_matches(&name, &c);
                if shadows_longer_course(&c.without_dots(), &t) {
                    prop_assert_eq!(got, None);
                } else {
                    prop_assert_eq!(got, Some(t.clone()));
                }
            }
            // parse_repo_name is exact when neither part has a dash to split at.
            if !c.as_str().contains('-') && !t.as_str().contains('-') {
                let name = names.repo_name(&c, &t);
                prop_assert_eq!(names.parse_repo_name(&name), Some((c.without_dots(), t.clone())));
            }
        }

        #[test]
        fn parse_repo_name_agrees_with_run_matches(
            prefix in "[a-z][a-z-]{0,8}",
            rest in "[A-Za-z0-9_-]{1,40}",
        ) {
            let names = Names::new(&prefix, "MITx").unwrap();
            let name = format!("{prefix}-{rest}");
            if let Some((dotless, t)) = names.parse_repo_name(&name) {
                let c = course(&dotless);
                prop_assert_eq!(names.run_matches(&name, &c), Some(t));
            }
        }

        #[test]
        fn term_order_is_total_and_consistent(a in realistic_term(), b in realistic_term(), c in realistic_term()) {
            // consistency with Eq
            prop_assert_eq!(a.cmp(&b) == Ordering::Equal, a == b);
            // antisymmetry
            prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
            // transitivity
            if a <= b && b <= c {
                prop_assert!(a <= c);
            }
            // dated terms come first, in year order
            if let (Some(ya), Some(yb)) = (a.year(), b.year()) {
                if ya < yb { prop_assert!(a < b); }
            }
            if a.is_dated() && !b.is_dated() {
                prop_assert!(a < b);
            }
        }

        #[test]
        fn sort_is_stable_under_shuffles(mut v in prop::collection::vec(realistic_term(), 0..12), seed in any::<u64>()) {
            let mut sorted = v.clone();
            sorted.sort();
            // a cheap deterministic shuffle
            let mut x = seed | 1;
            for i in (1..v.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                v.swap(i, (x % (i as u64 + 1)) as usize);
            }
            v.sort();
            prop_assert_eq!(v, sorted);
        }

        #[test]
        fn error_display_is_one_bounded_line(s in any::<String>()) {
            if let Err(e) = Course::parse(&s) {
                let msg = e.to_string();
                prop_assert!(!msg.chars().any(char::is_control));
                prop_assert!(msg.chars().count() < 80 * 11 + COURSE_RULE.len() + 40);
            }
        }
    }
}
