//! Reading `ORC_*` variables one at a time, while collecting every problem,
//! so that a bad configuration is reported all at once.

use std::collections::HashMap;
use std::fmt;

use super::TeamRef;
use crate::github::types::Permission;
use crate::naming::OrgName;
use crate::secret::Secret;

pub(super) struct Reader<'a> {
    pub(super) vars: &'a HashMap<String, String>,
    pub(super) problems: Vec<String>,
}

impl Reader<'_> {
    pub(super) fn opt(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn or(&self, name: &str, default: &str) -> String {
        self.opt(name).unwrap_or_else(|| default.to_string())
    }

    pub(super) fn problem(&mut self, name: &str, msg: impl fmt::Display) {
        self.problems.push(format!("{name}: {msg}"));
    }

    pub(super) fn url(&mut self, name: &str) -> Option<Secret> {
        let v = self.opt(name)?;
        match url::Url::parse(&v) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                Some(Secret::new(v))
            }
            // The value may hold a password: never echo it.
            _ => {
                self.problem(
                    name,
                    "expected an http(s) URL (the value is not shown: it may hold credentials)",
                );
                None
            }
        }
    }

    pub(super) fn bool(&mut self, name: &str, default: bool) -> bool {
        match self.opt(name).map(|v| v.to_ascii_lowercase()) {
            None => default,
            Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => true,
            Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => false,
            Some(v) => {
                self.problem(name, format!("expected true or false, got {v:?}"));
                default
            }
        }
    }

    /// One of a closed set of words (case does not matter), else `default`
    /// and a problem that lists the words.
    pub(super) fn word<T: Copy + std::str::FromStr + fmt::Display>(
        &mut self,
        name: &str,
        default: T,
        all: &[T],
    ) -> T {
        let Some(v) = self.opt(name) else {
            return default;
        };
        v.to_ascii_lowercase().parse().unwrap_or_else(|_| {
            let words: Vec<String> = all.iter().map(T::to_string).collect();
            self.problem(name, format!("expected {}, got {v:?}", words.join(" or ")));
            default
        })
    }

    pub(super) fn permission(&mut self, name: &str) -> Option<Permission> {
        match self.opt(name)?.to_ascii_lowercase().as_str() {
            "pull" => Some(Permission::Pull),
            "push" => Some(Permission::Push),
            other => {
                self.problem(name, format!("expected pull or push, got {other:?}"));
                None
            }
        }
    }

    /// A whole number in `range`, else `default` and a problem.
    pub(super) fn number(
        &mut self,
        name: &str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> u64 {
        let Some(v) = self.opt(name) else {
            return default;
        };
        match v.parse::<u64>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                self.problem(
                    name,
                    format!(
                        "expected a whole number from {} to {}, got {v:?}",
                        range.start(),
                        range.end()
                    ),
                );
                default
            }
        }
    }

    pub(super) fn team_ref(&mut self, name: &str) -> Option<TeamRef> {
        let v = self.opt(name)?;
        match v.split_once('/') {
            Some((org, slug))
                if OrgName::parse(org).is_ok() && !slug.is_empty() && !slug.contains('/') =>
            {
                Some(TeamRef {
                    org: org.to_string(),
                    slug: crate::naming::team_slug(slug),
                })
            }
            _ => {
                self.problem(
                    name,
                    format!("expected ORG/TEAM (e.g. mitodl/course-operators), got {v:?}"),
                );
                None
            }
        }
    }
}
