//! The second half of setup: once the App is registered, the settings a shop
//! must choose (the requests repos, the orgs, the teams, the gitreload URLs).
//! They are checked as `serve` will read them, written to `.env` (mode
//! 0600), and then the server leaves setup mode by itself.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use subtle::ConstantTimeEq;

use super::pages::page;
use super::{update_env, App};
use crate::config::Config;
use crate::text::escape_html;

/// Told when setup is complete (credentials and settings saved), so the
/// server can leave setup mode without a restart.
#[derive(Debug, Clone, Default)]
pub struct SetupDone(Arc<(tokio::sync::Notify, std::sync::atomic::AtomicBool)>);

impl SetupDone {
    pub fn finish(&self) {
        self.0 .1.store(true, std::sync::atomic::Ordering::SeqCst);
        self.0 .0.notify_waiters();
    }

    /// Returns once [`SetupDone::finish`] was called (at once if it was).
    pub async fn wait(&self) {
        loop {
            let notified = self.0 .0.notified();
            if self.0 .1.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }
}

impl PartialEq for SetupDone {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for SetupDone {}

/// The fields of the form: the variable, its label, and what it is for.
pub(super) const FIELDS: &[(&str, &str, &str)] = &[
    (
        "ORC_REQUESTS_REPOS",
        "Requests repo(s)",
        "owner/name, comma-separated: where course staff comment commands",
    ),
    (
        "ORC_STUDIO_ORG",
        "Studio org",
        "the organization of Studio courses' export repos",
    ),
    (
        "ORC_XML_ORG",
        "XML org",
        "the organization of XML courses' repos",
    ),
    (
        "ORC_STUDIO_DEPLOY_TEAM",
        "Studio deploy team",
        "the team that pushes Studio's exports",
    ),
    (
        "ORC_XML_DEPLOY_TEAM",
        "XML deploy team",
        "the team that clones XML courses",
    ),
    (
        "ORC_OPERATORS_TEAM",
        "Operators team",
        "org/team-slug whose members may run any command (optional)",
    ),
    (
        "ORC_STAGING_GITRELOAD",
        "Staging gitreload URL",
        "the hook every new XML run gets",
    ),
    (
        "ORC_PRODUCTION_GITRELOAD",
        "Production gitreload URL",
        "the hook a release adds",
    ),
];

/// The settings form, prefilled with `values`, with `problems` above it.
pub(super) fn form(token: &str, values: &HashMap<String, String>, problems: &[String]) -> String {
    let mut html = String::new();
    if !problems.is_empty() {
        html.push_str("<div class=\"err\"><p>These settings cannot work yet:</p><ul>\n");
        for p in problems {
            html.push_str(&format!("<li>{}</li>\n", escape_html(p)));
        }
        html.push_str("</ul></div>\n");
    }
    html.push_str(
        "<h2>Settings</h2>\n<p>Choose what this shop uses; they are saved to <code>.env</code> \
         next to the App's credentials, and the server then leaves setup mode by itself.</p>\n\
         <form method=\"post\" action=\"/setup/settings\">\n",
    );
    html.push_str(&format!(
        "<input type=\"hidden\" name=\"token\" value=\"{}\">\n<dl>\n",
        escape_html(token)
    ));
    for (key, label, help) in FIELDS {
        // A hook URL may hold a password: never echo it into the page.
        let value = if key.ends_with("_GITRELOAD") {
            ""
        } else {
            values.get(*key).map(String::as_str).unwrap_or("")
        };
        html.push_str(&format!(
            "<dt><label for=\"{key}\">{label}</label></dt>\n<dd><input id=\"{key}\" name=\"{key}\" \
             value=\"{value}\" size=\"48\"> <small>{help}</small></dd>\n",
            label = escape_html(label),
            value = escape_html(value),
            help = escape_html(help),
        ));
    }
    html.push_str("</dl>\n<button type=\"submit\">Save and start</button>\n</form>");
    html
}

/// `POST /setup/settings`.
pub(super) async fn save_settings(
    State(app): State<Arc<App>>,
    Form(mut form_values): Form<HashMap<String, String>>,
) -> Response {
    let token = form_values.remove("token").unwrap_or_default();
    let expected = app.runtime().settings_token.clone();
    let Some(expected) = expected.filter(|t| bool::from(t.as_bytes().ct_eq(token.as_bytes())))
    else {
        return page(
            StatusCode::BAD_REQUEST,
            "Unknown request",
            "<p class=\"err\">This form does not come from this server's setup page. Start from the \
             <a href=\"/\">setup page</a>.</p>",
        );
    };
    let chosen: Vec<(String, String)> = FIELDS
        .iter()
        .filter_map(|(k, _, _)| {
            form_values
                .get(*k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .map(|v| (k.to_string(), v))
        })
        .collect();
    // Checked as `serve` will read them: the environment, then .env, then these.
    let mut vars: HashMap<String, String> = app.cfg.vars.clone();
    vars.extend(read_env_file(&app.cfg.env_path));
    vars.extend(chosen.iter().cloned());
    let mut problems: Vec<String> = match Config::from_vars(&vars) {
        Ok(_) => Vec::new(),
        Err(e) => e.to_string().lines().map(str::to_owned).collect(),
    };
    if !vars.contains_key("ORC_REQUESTS_REPOS") {
        problems.push("ORC_REQUESTS_REPOS: name at least one requests repo".into());
    }
    if !problems.is_empty() {
        let body = form(&expected, &vars, &problems);
        return page(StatusCode::UNPROCESSABLE_ENTITY, "Settings", &body);
    }
    let updates: Vec<(&str, &str)> = chosen
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Err(e) = update_env(&app.cfg.env_path, &updates, &[]) {
        tracing::error!(error = %e, "cannot save the settings");
        return page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Cannot save the settings",
            &format!("<p class=\"err\">{}</p>", escape_html(&e.to_string())),
        );
    }
    app.runtime().settings_token = None;
    tracing::info!(env = %app.cfg.env_path.display(), "settings saved; leaving setup mode");
    app.cfg.done.finish();
    page(
        StatusCode::OK,
        "Saved",
        "<p class=\"ok\">The settings are saved. The server now leaves setup mode and takes \
         webhooks: comment <code>/help</code> on an issue of a requests repo to try it, and run \
         <code>orcoursetrion doctor</code> to check the whole set-up.</p>",
    )
}

/// The entries of a `.env` file (none if it cannot be read).
pub fn read_env_file(path: &std::path::Path) -> Vec<(String, String)> {
    match dotenvy::from_path_iter(path) {
        Ok(iter) => iter.filter_map(Result::ok).collect(),
        Err(_) => Vec::new(),
    }
}
