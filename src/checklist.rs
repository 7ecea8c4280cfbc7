//! The steps of a course request that need a person: the checklist file
//! (`docs/checklists.yml`, or `ORC_CHECKLISTS`), the task list the bot posts,
//! and reading back which boxes people ticked. Pure: no I/O.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::catalog::RunState;

/// The checklist file shipped in `docs/`.
pub const SHIPPED: &str = include_str!("../docs/checklists.yml");

crate::word_enum::word_enum! {
    /// Which kind of request a checklist follows.
    Workflow {
        NewCourse => "new_course",
        Rerun => "rerun",
        Release => "release",
    }
}

/// One workflow's steps, and the run state when every one is done.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Steps {
    #[serde(default)]
    pub steps: Vec<String>,
    #[serde(default)]
    pub when_done: Option<RunState>,
}

/// The checklists of all workflows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checklists(BTreeMap<Workflow, Steps>);

/// What a checklist is about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub course_key: &'a str,
    pub course: &'a str,
    pub term: &'a str,
    pub repo: &'a str,
}

impl Checklists {
    /// Reads a checklist file; the error names the problem.
    pub fn parse(yaml: &str) -> Result<Checklists, String> {
        let raw: BTreeMap<String, Steps> =
            serde_norway::from_str(yaml).map_err(|e| e.to_string())?;
        let mut out = BTreeMap::new();
        for (name, steps) in raw {
            let w: Workflow = name.parse().map_err(|_| {
                format!("unknown workflow {name:?}: expected new_course, rerun or release")
            })?;
            out.insert(w, steps);
        }
        Ok(Checklists(out))
    }

    /// `ORC_CHECKLISTS`: the file at `path`, or the shipped checklists.
    pub fn load(path: Option<&str>) -> Result<Checklists, String> {
        match path {
            None => Ok(Checklists::shipped()),
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|e| format!("cannot read {p}: {e}"))?;
                Checklists::parse(&text).map_err(|e| format!("{p}: {e}"))
            }
        }
    }

    /// The shipped checklists (a test keeps the file valid).
    pub fn shipped() -> Checklists {
        Checklists::parse(SHIPPED).unwrap_or_default()
    }

    pub fn get(&self, w: Workflow) -> Option<&Steps> {
        self.0.get(&w).filter(|s| !s.steps.is_empty())
    }
}

impl Steps {
    /// The steps with the run's names filled in.
    pub fn filled(&self, s: &Subject<'_>) -> Vec<String> {
        self.steps
            .iter()
            .map(|step| {
                step.replace("{course_key}", s.course_key)
                    .replace("{course}", s.course)
                    .replace("{term}", s.term)
                    .replace("{repo}", s.repo)
            })
            .collect()
    }
}

/// The task list's boxes in a comment body: (ticked, total).
pub fn ticks(body: &str) -> (usize, usize) {
    let mut ticked = 0;
    let mut total = 0;
    for line in body.lines() {
        let l = line.trim_start();
        if l.starts_with("- [x] ") || l.starts_with("- [X] ") {
            ticked += 1;
            total += 1;
        } else if l.starts_with("- [ ] ") {
            total += 1;
        }
    }
    (ticked, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_has_every_workflow() {
        let c = Checklists::parse(SHIPPED).expect("the shipped checklists parse");
        for w in Workflow::ALL {
            assert!(c.get(*w).is_some(), "{w}");
        }
        assert_eq!(
            c.get(Workflow::Release).and_then(|s| s.when_done),
            Some(RunState::Released)
        );
    }

    #[test]
    fn steps_are_filled_and_ticks_counted() {
        let c = Checklists::shipped();
        let s = Subject {
            course_key: "course-v1:MITx+6.004r+2018_Spring",
            course: "6.004r",
            term: "2018_Spring",
            repo: "mitx/r",
        };
        let steps = c.get(Workflow::NewCourse).expect("steps").filled(&s);
        assert!(steps[0].contains("`course-v1:MITx+6.004r+2018_Spring`"));
        assert_eq!(ticks("- [x] a\n- [ ] b\n  - [X] c\ntext"), (2, 3));
        assert_eq!(ticks("no boxes"), (0, 0));
    }

    #[test]
    fn a_bad_file_is_refused_with_a_reason() {
        assert!(Checklists::parse("deploy:\n  steps: [a]\n").is_err());
        assert!(Checklists::parse("release: [").is_err());
        assert!(Checklists::parse("release:\n  steps: [a]\n  when_done: gone\n").is_err());
    }
}
