//! The HTTP surface, one router for both modes: webhook ingress and the
//! operations endpoints when the App has credentials, the registration pages
//! of setup mode when it has none. `/healthz` answers in both.

mod api;
mod body;
mod envelope;
mod listen;
mod ops;
mod setup;
mod signature;
mod webhook;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

pub use body::BodyBudget;
pub(crate) use body::{read_within, BodyRefusal};
pub use envelope::{inspect_body, EventFilter, Inspection, Refusal};
pub use listen::{serve, ConnLimits};
pub use setup::{
    github_web_url, read_env_file, SetupDone, SetupError, SetupState, ENV_KEYS, KEY_FILE_NAME,
};
pub use signature::{parse_signature, sign, verify_signature};
pub use webhook::{IngressState, MAX_BODY_BYTES};

/// What the server is for.
pub enum Mode {
    /// Normal operation: deliveries in, jobs out.
    Serve(IngressState),
    /// No credentials yet: register the App.
    Setup(SetupState),
}

/// The router of `serve`.
pub fn router(mode: Mode) -> Router {
    match mode {
        Mode::Serve(mut state) => {
            state.secrets.retain(|s| !s.is_empty());
            if state.secrets.is_empty() {
                // Once here, at start-up; every request will then be refused.
                tracing::error!(
                    "ORC_WEBHOOK_SECRET is not set: every webhook delivery will be refused with 401"
                );
            }
            let state = Arc::new(state);
            Router::new()
                .route(
                    "/webhook",
                    post(webhook::webhook).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
                )
                .route("/", get(ops::index))
                .route("/healthz", get(ops::healthz))
                .route("/readyz", get(ops::readyz))
                .route("/metrics", get(ops::metrics))
                .merge(api::routes(state.clone()))
                .with_state(state)
        }
        Mode::Setup(state) => setup::routes(state)
            .route("/healthz", get(ops::healthz_setup))
            .route("/readyz", get(ops::readyz_setup))
            .route("/metrics", get(ops::metrics_setup)),
    }
}
