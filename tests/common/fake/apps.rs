//! The routes, and the app, installation, manifest, user and org handlers.

#![allow(unused_imports)]

use super::*;

// ---------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------

/// Every route of the fake. Add new ones here.
pub(crate) fn router(s: S) -> Router {
    Router::new()
        // The app (JWT) and the manifest flow (no auth).
        .route("/app", get(get_app))
        .route("/app/installations", get(list_installations))
        .route("/app/installations/{id}", get(get_installation))
        .route(
            "/app/installations/{id}/access_tokens",
            post(create_access_token),
        )
        .route("/app/hook/deliveries", get(list_deliveries))
        .route("/app/hook/deliveries/{id}/attempts", post(redeliver))
        .route("/orgs/{org}/installation", get(get_org_installation))
        .route(&repo("/installation"), get(get_repo_installation))
        .route(
            "/app-manifests/{code}/conversions",
            post(manifest_conversion),
        )
        .route("/installation/repositories", get(list_installation_repos))
        // Users and orgs.
        .route("/users/{user}", get(get_user))
        .route("/orgs/{org}", get(get_org))
        // Repos.
        .route("/orgs/{org}/repos", get(list_org_repos).post(create_repo))
        .route(&repo(""), get(get_repo).delete(delete_repo))
        .route(
            &repo("/collaborators/{user}/permission"),
            get(get_permission),
        )
        // Teams.
        .route("/orgs/{org}/teams", get(list_teams).post(create_team))
        .route(
            "/orgs/{org}/teams/{slug}",
            get(get_team).patch(update_team).delete(delete_team),
        )
        .route("/orgs/{org}/teams/{slug}/repos", get(list_team_repos))
        .route(&repo("/teams"), get(list_repo_teams))
        .route(
            "/orgs/{org}/teams/{slug}/repos/{owner}/{repo}",
            get(check_team_repo)
                .put(put_team_repo)
                .delete(delete_team_repo),
        )
        .route("/orgs/{org}/teams/{slug}/members", get(list_team_members))
        .route(
            "/orgs/{org}/teams/{slug}/memberships/{user}",
            get(get_membership)
                .put(put_membership)
                .delete(delete_membership),
        )
        // Commit statuses.
        .route(&repo("/statuses/{sha}"), post(create_status))
        // Hooks.
        .route(&repo("/hooks"), get(list_hooks).post(create_hook))
        .route(&repo("/hooks/{id}"), get(get_hook).delete(delete_hook))
        // Contents.
        .route(&repo("/contents"), get(get_contents_root))
        .route(
            &repo("/contents/{*path}"),
            get(get_contents).put(put_contents),
        )
        // Labels.
        .route(&repo("/labels"), get(list_labels).post(create_label))
        .route(&repo("/issues/{number}/labels"), post(add_issue_labels))
        .route(
            &repo("/issues/{number}/labels/{name}"),
            axum::routing::delete(remove_issue_label),
        )
        // Issues, comments, reactions.
        .route(
            &repo("/issues/{number}"),
            get(get_issue).patch(update_issue),
        )
        .route(
            &repo("/issues/{number}/comments"),
            get(list_comments).post(create_comment),
        )
        .route(
            &repo("/issues/{number}/reactions"),
            get(list_reactions::<ON_ISSUE>).post(create_reaction::<ON_ISSUE>),
        )
        .route(
            &repo("/issues/comments/{id}"),
            get(get_comment)
                .patch(update_comment)
                .delete(delete_comment),
        )
        .route(
            &repo("/issues/comments/{id}/reactions"),
            get(list_reactions::<ON_COMMENT>).post(create_reaction::<ON_COMMENT>),
        )
        .route(
            &repo("/issues/{number}/reactions/{reaction_id}"),
            axum::routing::delete(delete_reaction::<ON_ISSUE>),
        )
        .route(
            &repo("/issues/comments/{id}/reactions/{reaction_id}"),
            axum::routing::delete(delete_reaction::<ON_COMMENT>),
        )
        .fallback(|| async { not_found() })
        .layer(middleware::from_fn_with_state(s.clone(), gate))
        .with_state(s)
}

/// A path below a repository: `/repos/{owner}/{repo}` then `tail`.
fn repo(tail: &str) -> String {
    format!("/repos/{{owner}}/{{repo}}{tail}")
}

pub(crate) type Who = Extension<Identity>;

// ----- app, installations, manifest ----------------------------------------

pub(crate) async fn get_app(State(s): State<S>) -> R {
    reply(200, app_json(&s))
}

pub(crate) async fn list_installations(State(s): State<S>, uri: Uri) -> R {
    let items = s.with(|w| {
        w.installations
            .values()
            .map(|i| installation_json(&s, w, i))
            .collect()
    });
    paginate(&s, &uri, items)
}

pub(crate) async fn get_installation(State(s): State<S>, P(id): P<String>) -> R {
    let id = parse_id(&id)?;
    let v = s.with(|w| {
        w.installations
            .get(&id)
            .map(|i| installation_json(&s, w, i))
    });
    reply(200, v.ok_or_else(not_found)?)
}

pub(crate) async fn get_org_installation(State(s): State<S>, P(org): P<String>) -> R {
    let v = s.with(|w| {
        w.installations
            .values()
            .find(|i| i.account.eq_ignore_ascii_case(&org))
            .map(|i| installation_json(&s, w, i))
    });
    reply(200, v.ok_or_else(not_found)?)
}

pub(crate) async fn get_repo_installation(State(s): State<S>, P((owner, repo)): P2) -> R {
    let v = s.with(|w| {
        w.repo_id(&owner, &repo)?;
        w.installations
            .values()
            .find(|i| i.account.eq_ignore_ascii_case(&owner))
            .map(|i| installation_json(&s, w, i))
    });
    reply(200, v.ok_or_else(not_found)?)
}

pub(crate) async fn create_access_token(
    State(s): State<S>,
    P(id): P<String>,
    JsonObject(b): JsonObject,
) -> R {
    let id = parse_id(&id)?;
    s.with(|w| {
        if !w.installations.contains_key(&id) {
            return Err(not_found());
        }
        w.tokens_issued += 1;
        let (token, expires_at) = mint_token(w, id);
        let permissions = b
            .get("permissions")
            .cloned()
            .unwrap_or_else(default_permissions);
        reply(
            201,
            json!({
                "token": token,
                "expires_at": ts(expires_at),
                "permissions": permissions,
                "repository_selection": "all"
            }),
        )
    })
}

pub(crate) async fn manifest_conversion(State(s): State<S>, P(code): P<String>) -> R {
    if !s.with(|w| w.manifest_codes.remove(&code)) {
        return Err(not_found());
    }
    let mut v = app_json(&s);
    v["client_secret"] = json!(MANIFEST_CLIENT_SECRET);
    v["webhook_secret"] = json!(MANIFEST_WEBHOOK_SECRET);
    v["pem"] = json!(test_app_private_key_pem());
    reply(201, v)
}

pub(crate) async fn list_installation_repos(
    State(s): State<S>,
    Extension(who): Who,
    uri: Uri,
) -> R {
    let Some(inst) = who.installation else {
        return Err(ApiError::new(
            403,
            "You must authenticate with an installation access token in order to list repositories for an installation.",
        ));
    };
    let items = s.with(|w| {
        let account = w
            .installations
            .get(&inst)
            .map(|i| i.account.clone())
            .unwrap_or_default();
        w.repos
            .values()
            .filter(|r| r.repo.owner.eq_ignore_ascii_case(&account))
            .map(|r| repo_json(&s, w, r))
            .collect()
    });
    paginate_map(
        &s,
        &uri,
        items,
        |page, total| json!({"total_count": total, "repository_selection": "all", "repositories": page}),
    )
}

// ----- users, orgs ------------------------------------------------------------

pub(crate) async fn get_user(State(s): State<S>, P(user): P<String>) -> R {
    let v = s.with(|w| {
        if let Some(u) = w.user(&user) {
            Some(user_json(&s, &u.login, u.id, u.kind.user_type()))
        } else {
            w.org(&user).map(|o| org_json(&s, w, o))
        }
    });
    reply(200, v.ok_or_else(not_found)?)
}

pub(crate) async fn get_org(State(s): State<S>, P(org): P<String>) -> R {
    let v = s.with(|w| w.org(&org).map(|o| org_json(&s, w, o)));
    reply(200, v.ok_or_else(not_found)?)
}
