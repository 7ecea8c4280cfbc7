//! Repository webhooks.

#![allow(unused_imports)]

use super::*;

// ----- hooks --------------------------------------------------------------------

pub(crate) async fn list_hooks(State(s): State<S>, P(at): P2, uri: Uri) -> R {
    repo_page(&s, &at, &uri, |r| {
        let json = |(h, t): &(Hook, _)| hook_json(&s, &r.repo.full_name, h, *t);
        r.hooks.iter().map(json).collect()
    })
}

pub(crate) async fn create_hook(
    State(s): State<S>,
    P((owner, repo)): P2,
    JsonObject(b): JsonObject,
) -> R {
    if str_field(&b, "name").is_some_and(|n| n != "web") {
        return Err(invalid("Hook", "name", "invalid", Some("name must be web")));
    }
    let config = b.get("config").cloned().unwrap_or(Value::Null);
    let url = str_field(&config, "url")
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::new(422, "Validation Failed").with_errors(json!([{"resource": "Hook", "code": "custom", "message": "Config must contain url"}])))?
        .to_string();
    let content_type = one_of(&config, "Hook", "content_type", &["json", "form"])?
        .unwrap_or("form")
        .to_string();
    let insecure_ssl = match config.get("insecure_ssl") {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".into(),
    };
    let secret = str_field(&config, "secret")
        .filter(|x| !x.is_empty())
        .map(str::to_string);
    let events: Vec<String> = match b.get("events") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => vec!["push".into()],
    };
    let active = b.get("active").and_then(Value::as_bool).unwrap_or(true);
    s.with(|w| {
        w.repo_id(&owner, &repo).ok_or_else(not_found)?;
        let id = w.id();
        let r = w.repo_mut(&owner, &repo).expect("repo");
        if r.hooks.iter().any(|(h, _)| h.url == url) {
            return Err(ApiError::new(422, "Validation Failed").with_errors(json!([{
                "resource": "Hook", "code": "custom", "message": "Hook already exists on this repository"
            }])));
        }
        let hook = Hook { id, url, content_type, secret, events, active, insecure_ssl };
        let now = Utc::now();
        r.hooks.push((hook.clone(), now));
        reply(201, hook_json(&s, &r.repo.full_name, &hook, now))
    })
}

pub(crate) async fn get_hook(State(s): State<S>, P((owner, repo, id)): P3) -> R {
    let id = parse_id(&id)?;
    s.with(|w| {
        let r = w.repo_rec(&owner, &repo).ok_or_else(not_found)?;
        let (h, t) = r
            .hooks
            .iter()
            .find(|(h, _)| h.id == id)
            .ok_or_else(not_found)?;
        reply(200, hook_json(&s, &r.repo.full_name, h, *t))
    })
}

pub(crate) async fn delete_hook(State(s): State<S>, P((owner, repo, id)): P3) -> R {
    let id = parse_id(&id)?;
    s.with(|w| {
        let r = w.repo_mut(&owner, &repo).ok_or_else(not_found)?;
        let before = r.hooks.len();
        r.hooks.retain(|(h, _)| h.id != id);
        if r.hooks.len() == before {
            return Err(not_found());
        }
        no_content()
    })
}
