//! The course catalog's model, after the Open edX catalog: a course is an org
//! plus a course code (with a title); a run is a term with its course key, its
//! repo, how it is authored (Studio or XML) and where it is in its life.
//! Shared by the actions (which say what they changed) and the store.

crate::word_enum::word_enum! {
    /// How a course is authored, which decides its GitHub org and hooks.
    CourseKind {
        Studio => "studio",
        Xml => "xml",
    }
}

crate::word_enum::word_enum! {
    /// Where a course run is in its life.
    RunState {
        Staging => "staging",
        Released => "released",
        Retired => "retired",
    }
}

crate::word_enum::word_enum! {
    /// Which gitreload a webhook points at: staging (every new run) or
    /// production (a released run).
    HookTarget {
        Staging => "staging",
        Production => "production",
    }
}

impl HookTarget {
    pub fn label(self) -> &'static str {
        self.as_str()
    }
}

/// One course run of the catalog, with its course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRun {
    pub org: String,
    pub course: String,
    /// The course's title; `None` keeps the stored one.
    pub title: Option<String>,
    pub term: String,
    pub course_key: String,
    /// `owner/name` of the run's repository.
    pub repo: String,
    pub kind: CourseKind,
    pub state: RunState,
    /// When the repo was last pushed to (epoch ms), as push events say;
    /// `None` when no push was seen (an upsert leaves the stored one).
    pub last_push_at: Option<i64>,
    /// The request that made the run (`owner/repo#issue`); `None` keeps the stored one.
    pub request: Option<String>,
    /// The course's language; `None` keeps the stored one.
    pub language: Option<String>,
    /// When the run entered the catalog (epoch ms; set by the store).
    pub created_at: Option<i64>,
}
