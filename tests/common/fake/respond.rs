//! Errors and responses in GitHub's shapes, and pagination.

#![allow(unused_imports)]

use super::*;

// ---------------------------------------------------------------------------
// Errors and responses
// ---------------------------------------------------------------------------

/// A GitHub-style error: `{"message", "documentation_url", "status", "errors"?}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) message: String,
    pub(crate) errors: Option<Value>,
}

impl ApiError {
    pub(crate) fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            errors: None,
        }
    }

    pub(crate) fn with_errors(mut self, errors: Value) -> ApiError {
        self.errors = Some(errors);
        self
    }
}

pub(crate) fn not_found() -> ApiError {
    ApiError::new(404, "Not Found")
}

/// 422 "Validation Failed" with one error.
pub(crate) fn invalid(resource: &str, field: &str, code: &str, message: Option<&str>) -> ApiError {
    let mut e = json!({"resource": resource, "field": field, "code": code});
    if let Some(m) = message {
        e["message"] = json!(m);
    }
    ApiError::new(422, "Validation Failed").with_errors(json!([e]))
}

pub(crate) fn error_body(status: u16, message: &str, errors: Option<&Value>) -> Value {
    let mut v =
        json!({"message": message, "documentation_url": DOCS, "status": status.to_string()});
    if let Some(e) = errors {
        v["errors"] = e.clone();
    }
    v
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            Json(error_body(self.status, &self.message, self.errors.as_ref())),
        )
            .into_response()
    }
}

pub(crate) type R = Result<Response, ApiError>;

/// A route's path parameters, two, three or four segments
/// (`/repos/{owner}/{repo}/hooks/{id}` is a `P3`).
pub(crate) type P2 = P<(String, String)>;
pub(crate) type P3 = P<(String, String, String)>;
pub(crate) type P4 = P<(String, String, String, String)>;

pub(crate) fn reply(status: u16, v: Value) -> R {
    Ok((StatusCode::from_u16(status).expect("status"), Json(v)).into_response())
}

pub(crate) fn no_content() -> R {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Parse a request body: empty → `{}`, bad JSON → 400 like GitHub.
pub(crate) fn body_json(bytes: &Bytes) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let v: Value =
        serde_json::from_slice(bytes).map_err(|_| ApiError::new(400, "Problems parsing JSON"))?;
    if !v.is_object() {
        return Err(ApiError::new(400, "Problems parsing JSON"));
    }
    Ok(v)
}

/// A request's body as a handler takes it: a JSON object, parsed as
/// [`body_json`] does, before the handler runs.
pub(crate) struct JsonObject(pub(crate) Value);

impl<St: Send + Sync> axum::extract::FromRequest<St> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &St) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::new(400, "Problems parsing JSON"))?;
        body_json(&bytes).map(JsonObject)
    }
}

pub(crate) fn str_field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// `v[k]` trimmed, or GitHub's 422 `missing_field` when it is absent or
/// blank (a repo's, team's or label's name).
pub(crate) fn required<'a>(v: &'a Value, resource: &str, k: &str) -> Result<&'a str, ApiError> {
    str_field(v, k)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid(resource, k, "missing_field", None))
}

/// `v[k]` when it is absent or one of `allowed`; GitHub's 422 ("`k` must be
/// a or b") when it is anything else.
pub(crate) fn one_of<'a>(
    v: &'a Value,
    resource: &str,
    k: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>, ApiError> {
    match str_field(v, k) {
        Some(x) if !allowed.contains(&x) => {
            let msg = format!("{k} must be {}", allowed.join(" or "));
            Err(invalid(resource, k, "invalid", Some(&msg)))
        }
        x => Ok(x),
    }
}

pub(crate) fn parse_id(s: &str) -> Result<u64, ApiError> {
    s.parse().map_err(|_| not_found())
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(crate) fn node_id(kind: &str, id: u64) -> String {
    let s = format!("0{}:{kind}{id}", kind.len());
    B64.encode(s)
}

/// Query string pairs, undecoded.
pub(crate) fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect()
}

pub(crate) fn query_get(uri: &Uri, key: &str) -> Option<String> {
    query_pairs(uri.query())
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// One page of `items` per `per_page` (default 30, max 100) and `page`,
/// with GitHub's `Link` header.
pub(crate) fn paginate(s: &Shared, uri: &Uri, items: Vec<Value>) -> R {
    paginate_map(s, uri, items, |page, _| Value::Array(page))
}

/// A page of one repo's things (hooks, labels, …); 404 when the repo is not
/// there (or not the token's to see).
pub(crate) fn repo_page(
    s: &Shared,
    (owner, repo): &(String, String),
    uri: &Uri,
    items: impl FnOnce(&RepoRec) -> Vec<Value>,
) -> R {
    let items = s.with(|w| Ok(items(w.repo_rec(owner, repo).ok_or_else(not_found)?)))?;
    paginate(s, uri, items)
}

/// Like [`paginate`], the page wrapped by `wrap(page, total_count)`.
pub(crate) fn paginate_map(
    s: &Shared,
    uri: &Uri,
    items: Vec<Value>,
    wrap: impl FnOnce(Vec<Value>, usize) -> Value,
) -> R {
    let pairs = query_pairs(uri.query());
    let num = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let per_page = num("per_page").filter(|&n| n > 0).unwrap_or(30).min(100);
    let page = num("page").filter(|&n| n > 0).unwrap_or(1);
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let link_to = |n: usize| {
        let mut q: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        q.push(format!("page={n}"));
        format!("<{}{}?{}>", s.base, uri.path(), q.join("&"))
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to((page - 1).min(last))));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", link_to(1)));
    }
    let mut resp = (StatusCode::OK, Json(wrap(slice, total))).into_response();
    if !links.is_empty() {
        resp.headers_mut().insert(
            "link",
            HeaderValue::from_str(&links.join(", ")).expect("link header"),
        );
    }
    Ok(resp)
}
