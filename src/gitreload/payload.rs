//! The push payload, read as gitreload reads it: a JSON body, or a form body
//! whose `payload` field holds the JSON (GitHub's "form" content type, which
//! orcoursetrion's older hooks used). Pure: no I/O.

use serde_json::Value;

use crate::naming::check_repo_name;

/// What a push says that gitreload acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// `repository.name`, checked against GitHub's repo-name rule.
    pub repo_name: String,
    /// `repository.owner.login` (or `.name`, as older payloads had).
    pub owner: Option<String>,
    /// `ref`, e.g. `refs/heads/master`.
    pub git_ref: String,
    /// `after`, when it is a commit id (40 hex digits, not all zero).
    pub after: Option<String>,
    /// `deleted`: the push removed the branch.
    pub deleted: bool,
}

/// Why a body is not a push payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the form has no payload field")]
    NoPayloadField,
    #[error("the payload has no {0}")]
    Missing(&'static str),
    #[error("{0}")]
    BadName(String),
}

fn is_json(content_type: Option<&str>) -> bool {
    // Flask's `request.json`: application/json or any application/*+json.
    let Some(ct) = content_type else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

fn is_commit(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()) && s.bytes().any(|b| b != b'0')
}

/// Reads a push from a body and its `Content-Type`.
pub fn parse_push(content_type: Option<&str>, body: &[u8]) -> Result<Push, PayloadError> {
    let value: Value = if is_json(content_type) {
        serde_json::from_slice(body).map_err(|e| PayloadError::NotJson(e.to_string()))?
    } else {
        let payload = url::form_urlencoded::parse(body)
            .find(|(k, _)| k == "payload")
            .map(|(_, v)| v.into_owned())
            .ok_or(PayloadError::NoPayloadField)?;
        serde_json::from_str(&payload).map_err(|e| PayloadError::NotJson(e.to_string()))?
    };
    let repo = value
        .get("repository")
        .filter(|r| r.is_object())
        .ok_or(PayloadError::Missing("repository"))?;
    let repo_name = repo
        .get("name")
        .and_then(Value::as_str)
        .ok_or(PayloadError::Missing("repository.name"))?
        .to_string();
    check_repo_name(&repo_name).map_err(|e| PayloadError::BadName(e.to_string()))?;
    let owner = match repo.get("owner") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(o) => o
            .get("login")
            .or_else(|| o.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string),
        None => None,
    };
    let git_ref = value
        .get("ref")
        .and_then(Value::as_str)
        .ok_or(PayloadError::Missing("ref"))?
        .to_string();
    let after = value
        .get("after")
        .and_then(Value::as_str)
        .filter(|a| is_commit(a))
        .map(str::to_ascii_lowercase);
    let deleted = value
        .get("deleted")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(Push {
        repo_name,
        owner,
        git_ref,
        after,
        deleted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    fn body(name: &str) -> String {
        serde_json::json!({
            "ref": "refs/heads/master",
            "after": SHA,
            "repository": {"name": name, "owner": {"name": "mitx", "login": "mitx"}},
        })
        .to_string()
    }

    #[test]
    fn json_and_form_bodies_give_the_same_push() {
        let json = parse_push(Some("application/json"), body("c").as_bytes()).expect("json");
        let form: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &body("c"))
            .finish();
        let form =
            parse_push(Some("application/x-www-form-urlencoded"), form.as_bytes()).expect("form");
        assert_eq!(json, form);
        assert_eq!(json.repo_name, "c");
        assert_eq!(json.owner.as_deref(), Some("mitx"));
        assert_eq!(json.after.as_deref(), Some(SHA));
        assert!(!json.deleted);
    }

    #[test]
    fn what_is_not_a_push_is_refused_with_a_reason() {
        let j = Some("application/json");
        assert!(matches!(parse_push(j, b"{"), Err(PayloadError::NotJson(_))));
        assert_eq!(parse_push(None, b"a=b"), Err(PayloadError::NoPayloadField));
        assert!(matches!(
            parse_push(None, b"payload=nope"),
            Err(PayloadError::NotJson(_))
        ));
        assert_eq!(
            parse_push(j, br#"{"ref": "refs/heads/x"}"#),
            Err(PayloadError::Missing("repository"))
        );
        assert_eq!(
            parse_push(j, br#"{"repository": {"name": "c"}}"#),
            Err(PayloadError::Missing("ref"))
        );
    }

    #[test]
    fn a_name_that_would_leave_repodir_is_refused() {
        for bad in ["..", "a/b", "../etc", "", "a b"] {
            let e = parse_push(Some("application/json"), body(bad).as_bytes());
            assert!(matches!(e, Err(PayloadError::BadName(_))), "{bad}: {e:?}");
        }
    }

    #[test]
    fn a_deleted_branch_has_no_commit() {
        let b = serde_json::json!({
            "ref": "refs/heads/master", "deleted": true,
            "after": "0000000000000000000000000000000000000000",
            "repository": {"name": "c", "owner": "mitx"},
        });
        let p = parse_push(Some("application/json"), b.to_string().as_bytes()).expect("push");
        assert!(p.deleted);
        assert_eq!((p.after, p.owner.as_deref()), (None, Some("mitx")));
    }
}
