//! The course request a form's answers express, and the chat command it
//! implies. The command goes through the same parser and checks as a typed
//! one, so a form can ask for nothing a comment could not.

use super::Answers;

/// The `request` dropdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    NewCourse,
    Rerun,
    Release,
    TeamChange,
}

impl RequestKind {
    /// The options of the shipped form, matched without regard to case.
    fn from_option(s: &str) -> Option<RequestKind> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "new course" => RequestKind::NewCourse,
            "rerun" => RequestKind::Rerun,
            "release to production" | "release" => RequestKind::Release,
            "team change" => RequestKind::TeamChange,
            _ => return None,
        })
    }
}

/// A course request read from a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseRequest {
    pub kind: RequestKind,
    /// `xml` or `studio`, when given.
    pub course_kind: Option<String>,
    pub course: String,
    pub term: String,
    pub new_term: Option<String>,
    pub title: Option<String>,
    /// Logins, without `@`, in the order given.
    pub members: Vec<String>,
}

/// What keeps a form from being a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestProblem {
    /// A field this request needs is empty (its id).
    Missing(&'static str),
    /// The `request` dropdown holds an option this bot does not know.
    UnknownRequest(String),
    /// The `kind` dropdown holds neither `xml` nor `studio`.
    UnknownKind(String),
}

/// Logins from a textarea: one a line or comma-separated, `@` optional.
pub fn members(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .map(|s| s.trim().trim_start_matches('@'))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A title as one quoted argument: no quotes or line breaks inside.
fn quoted(title: &str) -> String {
    let t: String = title
        .chars()
        .map(|c| match c {
            '"' | '`' => '\'',
            '\n' | '\r' | '\t' => ' ',
            c => c,
        })
        .collect();
    format!("\"{}\"", t.trim())
}

impl CourseRequest {
    /// Reads the request out of a form's answers; every problem at once.
    pub fn from_answers(a: &Answers) -> Result<CourseRequest, Vec<RequestProblem>> {
        let mut problems = Vec::new();
        let kind = match a.text("request") {
            None => {
                problems.push(RequestProblem::Missing("request"));
                None
            }
            Some(r) => match RequestKind::from_option(r) {
                Some(k) => Some(k),
                None => {
                    problems.push(RequestProblem::UnknownRequest(r.to_string()));
                    None
                }
            },
        };
        let course_kind = match a.text("kind").map(str::to_ascii_lowercase) {
            Some(k) if k == "xml" || k == "studio" => Some(k),
            Some(k) => {
                problems.push(RequestProblem::UnknownKind(k));
                None
            }
            None => None,
        };
        let need = |id: &'static str, problems: &mut Vec<RequestProblem>| match a.text(id) {
            Some(v) => v.to_string(),
            None => {
                problems.push(RequestProblem::Missing(id));
                String::new()
            }
        };
        let course = need("course", &mut problems);
        let term = need("term", &mut problems);
        let new_term = a.text("new_term").map(str::to_string);
        let members = a.text("members").map(members).unwrap_or_default();
        match kind {
            Some(RequestKind::NewCourse) if course_kind.is_none() && a.text("kind").is_none() => {
                problems.push(RequestProblem::Missing("kind"));
            }
            Some(RequestKind::Rerun) if new_term.is_none() => {
                problems.push(RequestProblem::Missing("new_term"));
            }
            Some(RequestKind::TeamChange) if members.is_empty() => {
                problems.push(RequestProblem::Missing("members"));
            }
            _ => {}
        }
        match kind {
            Some(kind) if problems.is_empty() => Ok(CourseRequest {
                kind,
                course_kind,
                course,
                term,
                new_term,
                title: a.text("title").map(str::to_string),
                members,
            }),
            _ => Err(problems),
        }
    }

    /// The chat command this request stands for. `team` is the org and name
    /// of the course run's team, for a team change.
    pub fn command_line(&self, team: Option<(&str, &str)>) -> String {
        let mut line = match self.kind {
            RequestKind::NewCourse if self.course_kind.as_deref() == Some("studio") => {
                format!("/create-export-repo {} {}", self.course, self.term)
            }
            RequestKind::NewCourse => {
                let mut l = format!("/create-xml-repo {} {}", self.course, self.term);
                if !self.members.is_empty() {
                    l.push_str(&format!(" members={}", self.members.join(",")));
                }
                l
            }
            RequestKind::Rerun => format!(
                "/rerun {} {} from {}",
                self.course,
                self.new_term.as_deref().unwrap_or_default(),
                self.term
            ),
            RequestKind::Release => format!("/release {} {}", self.course, self.term),
            RequestKind::TeamChange => {
                let (org, name) = team.unwrap_or_default();
                format!(
                    "/put-team {org} {} members={}",
                    quoted(name),
                    self.members.join(",")
                )
            }
        };
        if self.kind == RequestKind::NewCourse {
            if let Some(t) = self.title.as_deref().filter(|t| !t.trim().is_empty()) {
                line.push_str(&format!(" description={}", quoted(t)));
            }
        }
        line
    }
}
