//! Every naming rule of the product, in one place.
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

use crate::text::{markdown_code, shown_value};

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

/// Checks a repository's name alone (the part after `owner/`). A name from a
/// push payload becomes a path under gitreload's `REPODIR`, so `..` and `/`
/// must never pass.
pub fn check_repo_name(name: &str) -> Result<(), NameError> {
    if is_repo_name(name) {
        Ok(())
    } else {
        Err(NameError::new("repository name", name, REPO_RULE))
    }
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

mod branch;
mod repo;
mod term;

pub use branch::Branch;
pub use repo::Names;
pub use term::Term;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(super) fn course(s: &str) -> Course {
        Course::parse(s).expect("valid course in test")
    }
    pub(super) fn term(s: &str) -> Term {
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
        fn error_display_is_one_bounded_line(s in any::<String>()) {
            if let Err(e) = Course::parse(&s) {
                let msg = e.to_string();
                prop_assert!(!msg.chars().any(char::is_control));
                prop_assert!(msg.chars().count() < 80 * 11 + COURSE_RULE.len() + 40);
            }
        }
    }
}
