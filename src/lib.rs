//! orcoursetrion: provisions edX course repositories on GitHub, from a CLI or
//! from slash-commands in a GitHub App's requests repo.

pub mod app_auth;
pub mod clock;
pub mod github;
pub mod naming;
pub mod secret;
pub mod actions;
pub mod git;
pub mod config;
pub mod cli;
