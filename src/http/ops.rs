//! Operations endpoints: `/healthz`, `/readyz` and `/metrics`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::webhook::{text, IngressState};
use crate::metrics::{Series, SeriesKind};

/// Liveness: the process answers. No I/O, so a slow disk never gets the
/// process restarted.
pub(super) async fn healthz() -> &'static str {
    "ok\n"
}

/// Liveness in setup mode, which says so.
pub(super) async fn healthz_setup() -> &'static str {
    "ok (setup mode)\n"
}

/// `GET /`: what this is, that it runs, and how the start-up doctor found the
/// set-up (counts only: the page is public, the details are in the log and in
/// `orcoursetrion doctor`).
pub(super) async fn index(State(st): State<Arc<IngressState>>) -> Response {
    let checks = match st.doctor.counts() {
        None => "The set-up checks have not run (they run once when <code>serve</code> starts).".to_string(),
        Some((ok, 0)) => format!("All {ok} set-up checks pass."),
        Some((ok, bad)) => format!(
            "{bad} of {} set-up checks fail: see the server's log, or run <code>orcoursetrion doctor</code> on its host.",
            ok + bad
        ),
    };
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>orcoursetrion</title></head>\n\
         <body>\n<h1>orcoursetrion</h1>\n\
         <p>A GitHub App that provisions edX course repositories from slash-commands in issue comments. It is running.</p>\n\
         <p>{checks}</p>\n\
         <p><a href=\"/healthz\">/healthz</a> · <a href=\"/readyz\">/readyz</a> · <a href=\"/metrics\">/metrics</a></p>\n\
         </body></html>\n"
    );
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// Readiness in setup mode: alive, but no webhook is taken until the App is
/// registered, so a load balancer keeps traffic away.
pub(super) async fn readyz_setup() -> Response {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "setup mode: register the GitHub App first\n",
    )
}

/// Metrics in setup mode: one gauge that says so, for the same scraper.
pub(super) async fn metrics_setup() -> Response {
    let mut r = text(
        StatusCode::OK,
        "# HELP orcoursetrion_setup_mode 1 while the server waits for the App's registration.\n\
         # TYPE orcoursetrion_setup_mode gauge\norcoursetrion_setup_mode 1\n",
    );
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

/// Readiness: the database answers and the writer runs.
pub(super) async fn readyz(State(st): State<Arc<IngressState>>) -> Response {
    match st.store.ping().await {
        Ok(()) => text(StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: store unavailable");
            text(StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n")
        }
    }
}

pub(super) async fn metrics(State(st): State<Arc<IngressState>>) -> Response {
    let counts = match st.store.job_counts().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "metrics: job counts unavailable");
            Default::default()
        }
    };
    let stats = st.store.write_stats();
    let counter = |name, help, value| Series {
        name,
        help,
        kind: SeriesKind::Counter,
        value,
    };
    let disk = st
        .store
        .disk_bytes()
        .await
        .ok()
        .and_then(|b| u64::try_from(b).ok())
        .unwrap_or(0);
    let store_series = [
        counter(
            "orcoursetrion_store_batches_total",
            "Group-commit transactions.",
            stats.batches,
        ),
        counter(
            "orcoursetrion_store_writes_total",
            "Writes carried by group-commit transactions.",
            stats.ops,
        ),
        counter(
            "orcoursetrion_store_failed_batches_total",
            "Group-commit transactions that failed.",
            stats.failed_batches,
        ),
        counter(
            "orcoursetrion_store_commit_microseconds_total",
            "Time spent in group-commit transactions, BEGIN to COMMIT.",
            stats.commit_micros,
        ),
        counter(
            "orcoursetrion_store_slow_commits_total",
            "Group-commit transactions slower than 10 ms.",
            stats.slow_commits,
        ),
        counter(
            "orcoursetrion_store_slow_commits_in_checkpoint_total",
            "Slow group-commit transactions that overlapped a WAL checkpoint.",
            stats.slow_commits_in_checkpoint,
        ),
        counter(
            "orcoursetrion_store_checkpoints_total",
            "Background WAL checkpoints (SQLite).",
            stats.checkpoints,
        ),
        counter(
            "orcoursetrion_store_checkpoint_microseconds_total",
            "Time spent in background WAL checkpoints.",
            stats.checkpoint_micros,
        ),
        Series {
            name: "orcoursetrion_store_disk_bytes",
            help: "Bytes the database takes on disk.",
            kind: SeriesKind::Gauge,
            value: disk,
        },
        Series {
            name: "orcoursetrion_store_max_batch",
            help: "Largest group-commit transaction so far.",
            kind: SeriesKind::Gauge,
            value: stats.max_batch,
        },
    ];
    let mut resp = st
        .metrics
        .render_with(&counts, &store_series)
        .into_response();
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
