//! Issue forms as GitHub renders them into an issue's body, read back into
//! answers keyed by field id, and the course request they express. Pure: no
//! I/O (the template's text is handed in).
//!
//! GitHub renders each field as `### {label}`, a blank line, then the value:
//! `_No response_` for an empty input or textarea, `None` for an empty
//! dropdown, `a, b` for a multi-select, `- [x] …` lines for checkboxes, and a
//! code fence around a textarea that has `render:`. Labels map back to ids
//! through the template; a `###` line that is no label of it (or that sits in
//! a fenced block) belongs to the value before it.

pub mod request;

pub use request::{CourseRequest, RequestKind, RequestProblem};

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::Serialize;

/// The course-request form shipped in `docs/`, used when the requests repo
/// has none.
pub const SHIPPED_TEMPLATE: &str = include_str!("../../docs/issue-forms/course-request.yml");

/// What kind of field an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Input,
    Textarea,
    Dropdown,
    Checkboxes,
}

/// A field of the template (markdown blocks have no answer and are skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub id: String,
    pub label: String,
    pub kind: FieldKind,
    /// A dropdown with `multiple: true`.
    pub multiple: bool,
    /// A textarea with `render:` (its value comes in a code fence).
    pub rendered: bool,
}

/// An issue form template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub fields: Vec<Field>,
}

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the issue form is not valid YAML: {0}")]
    Yaml(String),
    #[error("the issue form has no field with id {0:?}")]
    MissingField(&'static str),
}

#[derive(Deserialize)]
struct RawTemplate {
    #[serde(default)]
    body: Vec<RawItem>,
}

#[derive(Deserialize)]
struct RawItem {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    attributes: RawAttributes,
}

#[derive(Default, Deserialize)]
struct RawAttributes {
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    multiple: bool,
    #[serde(default)]
    render: Option<String>,
}

/// The ids the course request needs.
pub const REQUIRED_IDS: [&str; 3] = ["request", "course", "term"];

impl Template {
    /// Reads an issue form's YAML.
    pub fn parse(yaml: &str) -> Result<Template, TemplateError> {
        let raw: RawTemplate =
            serde_norway::from_str(yaml).map_err(|e| TemplateError::Yaml(e.to_string()))?;
        let fields: Vec<Field> = raw
            .body
            .into_iter()
            .filter_map(|item| {
                let kind = match item.kind.as_str() {
                    "input" => FieldKind::Input,
                    "textarea" => FieldKind::Textarea,
                    "dropdown" => FieldKind::Dropdown,
                    "checkboxes" => FieldKind::Checkboxes,
                    _ => return None,
                };
                let label = item.attributes.label?.trim().to_string();
                Some(Field {
                    id: item.id.unwrap_or_else(|| label.clone()),
                    label,
                    kind,
                    multiple: item.attributes.multiple,
                    rendered: item.attributes.render.is_some(),
                })
            })
            .collect();
        let t = Template { fields };
        for id in REQUIRED_IDS {
            if !t.fields.iter().any(|f| f.id == id) {
                return Err(TemplateError::MissingField(id));
            }
        }
        Ok(t)
    }

    /// The shipped course-request form.
    pub fn shipped() -> Template {
        // The shipped file is checked by a test; an empty template only
        // means no body is read as a form.
        Template::parse(SHIPPED_TEMPLATE).unwrap_or(Template { fields: Vec::new() })
    }

    fn field_by_label(&self, label: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.label == label)
    }

    pub fn label_of(&self, id: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.label.as_str())
    }
}

/// One answer, by the kind of its field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// An input, a textarea or a single dropdown: the text, trimmed.
    Text(String),
    /// A multi-select dropdown.
    Choices(Vec<String>),
    /// Checkboxes: the labels of the ticked ones.
    Ticked(Vec<String>),
}

impl Answer {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Answer::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// The answers of a form, keyed by field id; absent answers are left out.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Answers(pub BTreeMap<String, Answer>);

impl Answers {
    pub fn text(&self, id: &str) -> Option<&str> {
        self.0.get(id).and_then(Answer::as_text)
    }
}

/// A fence opener or closer: its character and length.
fn fence(line: &str) -> Option<(char, usize)> {
    let t = line.trim_start();
    if line.len() - t.len() > 3 {
        return None;
    }
    let c = t.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = t.chars().take_while(|x| *x == c).count();
    (n >= 3).then_some((c, n))
}

fn heading(line: &str) -> Option<&str> {
    line.strip_prefix("### ").map(str::trim)
}

/// Drops leading and trailing blank lines.
fn trim_lines(lines: &[&str]) -> String {
    let start = lines.iter().position(|l| !l.trim().is_empty());
    let end = lines.iter().rposition(|l| !l.trim().is_empty());
    match (start, end) {
        (Some(s), Some(e)) => lines[s..=e].join("\n"),
        _ => String::new(),
    }
}

/// A value wrapped in one code fence (a textarea with `render:`), unwrapped.
fn unfence(value: &str) -> String {
    let lines: Vec<&str> = value.lines().collect();
    match (lines.first().and_then(|l| fence(l)), lines.last()) {
        (Some((c, n)), Some(last))
            if lines.len() >= 2 && fence(last).is_some_and(|(c2, n2)| c2 == c && n2 >= n) =>
        {
            lines[1..lines.len() - 1].join("\n")
        }
        _ => value.to_string(),
    }
}

fn answer(field: &Field, raw: &str) -> Option<Answer> {
    let value = raw.trim();
    match field.kind {
        FieldKind::Input | FieldKind::Textarea => {
            if value == "_No response_" || value.is_empty() {
                return None;
            }
            let text = if field.rendered {
                unfence(value)
            } else {
                value.to_string()
            };
            Some(Answer::Text(text.trim().to_string()))
        }
        FieldKind::Dropdown => {
            if value == "None" || value.is_empty() || value == "_No response_" {
                return None;
            }
            if field.multiple {
                let items: Vec<String> = value
                    .split(", ")
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                Some(Answer::Choices(items))
            } else {
                Some(Answer::Text(value.to_string()))
            }
        }
        FieldKind::Checkboxes => {
            let ticked: Vec<String> = value
                .lines()
                .filter_map(|l| {
                    let l = l.trim_start();
                    l.strip_prefix("- [x] ")
                        .or_else(|| l.strip_prefix("- [X] "))
                        .map(|s| s.trim().to_string())
                })
                .collect();
            (!ticked.is_empty()).then_some(Answer::Ticked(ticked))
        }
    }
}

/// Reads an issue body as a form of `template`. `None` when the body is not
/// such a form: it must begin with one of the template's headings.
pub fn parse(template: &Template, body: &str) -> Option<Answers> {
    let text = body.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let first = lines.iter().find(|l| !l.trim().is_empty())?;
    template.field_by_label(heading(first)?)?;
    let mut sections: Vec<(&Field, Vec<&str>)> = Vec::new();
    let mut open_fence: Option<(char, usize)> = None;
    for line in lines {
        if let Some((c, n)) = open_fence {
            if fence(line)
                .is_some_and(|(c2, n2)| c2 == c && n2 >= n && line.trim().chars().all(|x| x == c))
            {
                open_fence = None;
            }
        } else if let Some(f) = heading(line).and_then(|h| template.field_by_label(h)) {
            // A label seen twice: the second is part of the first's value.
            if !sections.iter().any(|(s, _)| s.id == f.id) {
                sections.push((f, Vec::new()));
                continue;
            }
        } else if let Some(f) = fence(line) {
            open_fence = Some(f);
        }
        if let Some((_, v)) = sections.last_mut() {
            v.push(line);
        }
    }
    let mut answers = BTreeMap::new();
    for (field, value) in sections {
        if let Some(a) = answer(field, &trim_lines(&value)) {
            answers.insert(field.id.clone(), a);
        }
    }
    Some(Answers(answers))
}

#[cfg(test)]
mod tests;
