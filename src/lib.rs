//! orcoursetrion: provisions edX course repositories on GitHub, from a CLI or
//! from slash-commands in a GitHub App's requests repo.

pub mod actions;
pub mod app_auth;
pub mod bot;
pub mod cli;
pub mod clock;
pub mod command;
pub mod config;
pub mod git;
pub mod github;
pub mod metrics;
pub mod naming;
pub mod secret;
pub mod server;
pub mod setup;
pub mod store;
pub mod webhook;
pub mod worker;
