//! orcoursetrion: provisions edX course repositories on GitHub, from a CLI or
//! from slash-commands in a GitHub App's requests repo.
//!
//! docs/ARCHITECTURE.md is the map: the data flow (webhook → store → worker →
//! actions → replies), what each module owns, and where each guarantee is
//! enforced. The modules are private; what is `pub` here is the surface the
//! binary, the tests and the benchmarks use.

mod word_enum;

mod actions;
mod catalog;
mod checklist;
mod clock;
mod command;
mod config;
mod doctor;
mod forms;
mod github;
mod gitreload;
mod http;
mod instance;
mod jobs;
mod logs;
mod metrics;
mod naming;
mod redeliver;
mod secret;
mod server;
mod stop;
mod store;
mod text;

pub mod cli;

// ---------------------------------------------------------------------------
// The public surface: the binary's CLI and server, and what the integration
// tests, benchmarks and examples drive. Everything else stays inside.

pub use actions::{
    execute, plan, Action, ActionError, ActionResult, CourseRerun, CourseRun, CreateExportRepo,
    CreateXmlRepo, HookTarget, Journal, JournalError, JournalSink, NoJournal, Outcome, Plan,
    PutTeam, RerunStudio, RerunXmlCourse, SaveFuture, ShallowCopyRepo, Step, StepReport,
};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use command::{help_text, parse_comment, Command, CommandSpec, Invocation, COMMANDS};
pub use config::{
    Config, ConfigError, GitHubAuth, KindSettings, Limits, LogFormat, Settings, TeamRef,
};
pub use doctor::{diagnose, render as render_findings, Finding, Report as DoctorReport};
pub use github::api::Committer;
pub use github::{AppCredentials, ClientConfig, GitHub, GitHubError, RetryPolicy};
pub use gitreload::{
    serve as serve_gitreload, start as start_gitreload, GitreloadError, GitreloadSettings,
    RunningGitreload, SettingsError as GitreloadSettingsError, Sources as GitreloadSources,
};
pub use http::{
    inspect_body, parse_signature, router, sign, verify_signature, BodyBudget, ConnLimits,
    EventFilter, IngressState, Inspection, Mode, Refusal, SetupDone, SetupError, SetupState,
    ENV_KEYS, KEY_FILE_NAME, MAX_BODY_BYTES,
};
pub use jobs::{JobKind, WorkerOptions};
pub use logs::{init_logging, init_logging_to};
pub use metrics::Metrics;
pub use naming::{Branch, Course, Login, NameError, Names, OrgName, RepoFullName, TeamName, Term};
pub use secret::Secret;
pub use server::{serve, serve_with_vars, start, RunningServer, ServerError, ServerOptions};
pub use store::{
    AuditEntry, CatalogRun, CourseKind, DeliveryOutcome, DeliveryRow, Durability, Job, JobEnd,
    JobRow, JobState, JobWake, NewDelivery, NewJob, RequestRecord, RequestState, RunState, Store,
    StoreError, StoreOptions, WriteStats,
};
