//! orcoursetrion: provisions edX course repositories on GitHub.
pub mod command;
pub mod naming;
