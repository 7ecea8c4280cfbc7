//! orcoursetrion: provisions edX course repositories on GitHub.
pub mod naming;
