//! The parts of GitHub's JSON we read. Unknown fields are ignored so GitHub can
//! add fields without breaking us.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Account {
    pub login: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub id: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Repo {
    pub id: u64,
    pub name: String,
    pub full_name: String,
    pub owner: Account,
    #[serde(default)]
    pub private: bool,
    pub html_url: String,
    #[serde(default)]
    pub clone_url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub default_branch: Option<String>,
    #[serde(default)]
    pub pushed_at: Option<String>,
    #[serde(default)]
    pub archived: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Team {
    pub id: u64,
    pub name: String,
    pub slug: String,
    #[serde(default)]
    pub permission: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct HookConfig {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Hook {
    pub id: u64,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub events: Vec<String>,
    pub config: HookConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
    pub user: Account,
    #[serde(default)]
    pub html_url: Option<String>,
}

/// A reaction as GitHub lists it: who left which content.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct ReactionItem {
    pub id: u64,
    pub content: String,
    pub user: Account,
}

/// `read_only` in orcoursetrion's terms: pull when true, push otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    Pull,
    Push,
}

impl Permission {
    pub fn from_read_only(read_only: bool) -> Self {
        if read_only {
            Permission::Pull
        } else {
            Permission::Push
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Pull => "pull",
            Permission::Push => "push",
        }
    }
}

/// The reactions the bot leaves on a comment (GitHub's `content` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reaction {
    /// Seen: the command was received.
    Eyes,
    /// Every command succeeded.
    Rocket,
    /// At least one command did not.
    Confused,
}

impl Reaction {
    pub fn as_str(self) -> &'static str {
        match self {
            Reaction::Eyes => "eyes",
            Reaction::Rocket => "rocket",
            Reaction::Confused => "confused",
        }
    }
}

/// A user's role on a repository, as the collaborator-permission endpoint
/// reports it (`permission`: admin, write, read or none; `maintain` and
/// `triage` appear in `role_name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepoRole {
    None,
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}

impl RepoRole {
    /// GitHub's spelling; anything unknown is no access at all.
    pub fn parse(s: &str) -> RepoRole {
        match s {
            "admin" => RepoRole::Admin,
            "maintain" => RepoRole::Maintain,
            "write" => RepoRole::Write,
            "triage" => RepoRole::Triage,
            "read" => RepoRole::Read,
            _ => RepoRole::None,
        }
    }

    /// Write or higher: enough to run a mutating command.
    pub fn can_write(self) -> bool {
        self >= RepoRole::Write
    }
}
