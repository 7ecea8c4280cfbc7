//! The gate every request passes: logging, faults, latency, auth, GitHub headers.

#![allow(unused_imports)]

use super::*;

// ---------------------------------------------------------------------------
// The gate: logging, faults, latency, auth, GitHub headers
// ---------------------------------------------------------------------------

/// Who the request acts as; inserted into the request extensions by [`gate`].
#[derive(Clone, Debug)]
pub(crate) struct Identity {
    /// Login of the acting user (`BOT_LOGIN` for installation tokens); empty for JWT.
    pub(crate) login: String,
    /// Set for installation tokens.
    pub(crate) installation: Option<u64>,
    pub(crate) personal: bool,
}

pub(crate) enum RouteAuth {
    None,
    Jwt,
    Token,
}

pub(crate) fn route_auth(path: &str) -> RouteAuth {
    if path.starts_with("/app-manifests/") {
        RouteAuth::None
    } else if path == "/app"
        || path.starts_with("/app/")
        || glob_match("/orgs/*/installation", path)
        || glob_match("/repos/*/*/installation", path)
        || glob_match("/users/*/installation", path)
    {
        RouteAuth::Jwt
    } else {
        RouteAuth::Token
    }
}

pub(crate) fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

pub(crate) fn bearer(h: &HeaderMap) -> Option<String> {
    let v = header_str(h, "authorization")?;
    let (scheme, tok) = v.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
        .then(|| tok.trim().to_string())
}

pub(crate) async fn gate(
    State(s): State<S>,
    ConnectInfo(conn): ConnectInfo<ConnKill>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let token = bearer(&parts.headers);

    // Log on arrival, pick a fault.
    let (idx, request_id, fault, latency, used) = s.with(|w| {
        w.request_seq += 1;
        let seq = w.request_seq;
        let request_id = {
            let mut rng = rand::thread_rng();
            format!(
                "{:04X}:{:04X}:{:06X}:{:06X}:{:08X}",
                rng.gen::<u16>(),
                rng.gen::<u16>(),
                seq,
                rng.gen::<u32>() & 0xFF_FFFF,
                seq
            )
        };
        let auth = token
            .as_deref()
            .map(|t| w.identity_of_token(t))
            .unwrap_or(Auth::None);
        let body =
            if bytes.is_empty() {
                None
            } else {
                Some(serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                    Value::String(String::from_utf8_lossy(&bytes).into_owned())
                }))
            };
        w.log.push(Req {
            method: method.clone(),
            path: path.clone(),
            query: parts.uri.query().map(str::to_string),
            body,
            status: 0,
            auth,
            user_agent: header_str(&parts.headers, "user-agent"),
            accept: header_str(&parts.headers, "accept"),
            api_version: header_str(&parts.headers, "x-github-api-version"),
            request_id: request_id.clone(),
            at: Instant::now(),
        });
        let idx = w.log.len() - 1;
        let fault = w
            .faults
            .iter_mut()
            .find(|f| {
                f.remaining > 0
                    && (f.method == "*" || f.method == method)
                    && glob_match(&f.glob, &path)
            })
            .map(|f| {
                f.remaining -= 1;
                f.fault.clone()
            });
        w.faults.retain(|f| f.remaining > 0);
        (idx, request_id, fault, w.latency, seq)
    });

    let mut delay = latency;
    if let Some(Fault::Latency(d)) = &fault {
        delay += *d;
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let mut reset = Utc::now().timestamp() as u64 + 3600 - (s.started.elapsed().as_secs() % 3600);
    let mut remaining = RATE_LIMIT - 1 - (used % (RATE_LIMIT - 1000));
    let mut retry_after = None;
    let mut dropped = false;
    let mut resp = match fault {
        Some(Fault::Status(code)) => {
            let msg = StatusCode::from_u16(code)
                .ok()
                .and_then(|c| c.canonical_reason())
                .unwrap_or("Server Error");
            ApiError::new(code, msg).into_response()
        }
        Some(Fault::Message(code, msg)) => ApiError::new(code, &msg).into_response(),
        Some(Fault::SecondaryLimit { retry_after: ra }) => {
            retry_after = ra;
            ApiError::new(403, secondary_message(&request_id)).into_response()
        }
        Some(Fault::TooMany { retry_after: ra }) => {
            retry_after = ra;
            ApiError::new(429, secondary_message(&request_id)).into_response()
        }
        Some(Fault::PrimaryLimit { reset_in }) => {
            remaining = 0;
            reset = Utc::now().timestamp() as u64 + reset_in;
            let who = match s.with(|w| token.as_deref().map(|t| w.identity_of_token(t))) {
                Some(Auth::Installation(t)) => {
                    format!("installation ID {}", s.with(|w| w.tokens[&t].installation))
                }
                Some(Auth::Personal(l)) => format!(
                    "user ID {}",
                    s.with(|w| w.user(&l).map(|u| u.id).unwrap_or(0))
                ),
                _ => "this client".to_string(),
            };
            ApiError::new(
                403,
                format!(
                    "API rate limit exceeded for {who}. If you reach out to GitHub Support for help, please include the request ID {request_id}."
                ),
            )
            .into_response()
        }
        Some(Fault::Drop) => {
            conn.0.store(true, Ordering::SeqCst);
            dropped = true;
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Some(Fault::Latency(_) | Fault::DropAfter) | None => {
            if fault == Some(Fault::DropAfter) {
                dropped = true;
            }
            match authenticate(&s, &path, &parts.headers, token.as_deref()) {
                Err(e) => e.into_response(),
                Ok(id) => {
                    let mut req = Request::from_parts(parts, Body::from(bytes));
                    if let Some(id) = id {
                        req.extensions_mut().insert(id);
                    }
                    let resp = next.run(req).await;
                    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
                        not_found().into_response()
                    } else {
                        resp
                    }
                }
            }
        }
    };

    let h = resp.headers_mut();
    let mut set = |k: &'static str, v: String| {
        h.insert(
            HeaderName::from_static(k),
            HeaderValue::from_str(&v).expect("header value"),
        );
    };
    set("x-github-request-id", request_id);
    set("x-github-media-type", "github.v3; format=json".into());
    set("x-github-api-version-selected", "2022-11-28".into());
    set("x-ratelimit-limit", RATE_LIMIT.to_string());
    set("x-ratelimit-remaining", remaining.to_string());
    set("x-ratelimit-reset", reset.to_string());
    set("x-ratelimit-used", (RATE_LIMIT - remaining).to_string());
    set("x-ratelimit-resource", "core".into());
    if let Some(ra) = retry_after {
        set("retry-after", ra.to_string());
    }
    let status = if dropped {
        conn.0.store(true, Ordering::SeqCst);
        0
    } else {
        resp.status().as_u16()
    };
    s.with(|w| {
        if let Some(r) = w.log.get_mut(idx) {
            r.status = status;
        }
    });
    resp
}

pub(crate) fn secondary_message(request_id: &str) -> String {
    format!(
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID {request_id}."
    )
}

/// Checks User-Agent, API version and credentials for the route kind.
pub(crate) fn authenticate(
    s: &Shared,
    path: &str,
    h: &HeaderMap,
    token: Option<&str>,
) -> Result<Option<Identity>, ApiError> {
    if header_str(h, "user-agent").is_none_or(|ua| ua.trim().is_empty()) {
        return Err(ApiError::new(
            403,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.",
        ));
    }
    if let Some(v) = header_str(h, "x-github-api-version") {
        if v != "2022-11-28" {
            return Err(ApiError::new(
                400,
                format!("API version '{v}' is not supported."),
            ));
        }
    }
    match route_auth(path) {
        RouteAuth::None => Ok(None),
        RouteAuth::Jwt => {
            let Some(tok) = token else {
                return Err(ApiError::new(401, "A JSON web token could not be decoded"));
            };
            if looks_like_jwt(tok) {
                if let Some(claims) = jwt_payload(tok) {
                    s.with(|w| w.jwt_claims.push(claims));
                }
            }
            verify_jwt(s, tok).map_err(|m| ApiError::new(401, m))?;
            Ok(Some(Identity {
                login: String::new(),
                installation: None,
                personal: false,
            }))
        }
        RouteAuth::Token => {
            let bad = || ApiError::new(401, "Bad credentials");
            let Some(tok) = token else {
                return Err(ApiError::new(401, "Requires authentication"));
            };
            s.with(|w| {
                if let Some(t) = w.tokens.get(tok) {
                    if Instant::now() >= t.expires {
                        return Err(bad());
                    }
                    let inst = t.installation;
                    if w.installation_scope {
                        let account = w
                            .installations
                            .get(&inst)
                            .map(|i| i.account.clone())
                            .unwrap_or_default();
                        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
                        if let [first, owner, ..] = segs.as_slice() {
                            if (*first == "orgs" || *first == "repos")
                                && !owner.eq_ignore_ascii_case(&account)
                            {
                                return Err(not_found());
                            }
                        }
                    }
                    Ok(Some(Identity {
                        login: BOT_LOGIN.to_string(),
                        installation: Some(inst),
                        personal: false,
                    }))
                } else if let Some(login) = w.personal.get(tok) {
                    Ok(Some(Identity {
                        login: login.clone(),
                        installation: None,
                        personal: true,
                    }))
                } else {
                    Err(bad())
                }
            })
        }
    }
}

pub(crate) fn jwt_payload(tok: &str) -> Option<Value> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mid = tok.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(mid.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Verifies an app JWT like GitHub: RS256 signature by the app key, `iss` the
/// app id (number or string) or a client id, `exp` in the future and at most
/// 660 s after `iat`, `iat` at most 60 s in the future.
pub(crate) fn verify_jwt(s: &Shared, tok: &str) -> Result<Value, String> {
    use jsonwebtoken::{errors::ErrorKind, Algorithm, Validation};
    if !looks_like_jwt(tok) {
        return Err("A JSON web token could not be decoded".into());
    }
    let header = jsonwebtoken::decode_header(tok)
        .map_err(|e| format!("A JSON web token could not be decoded: {e}"))?;
    if header.alg != Algorithm::RS256 {
        return Err(format!(
            "A JSON web token could not be decoded: algorithm must be RS256, not {:?}",
            header.alg
        ));
    }
    let mut v = Validation::new(Algorithm::RS256);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims = HashSet::new();
    let data = jsonwebtoken::decode::<Value>(tok, &s.jwt_key, &v).map_err(|e| match e.kind() {
        ErrorKind::InvalidSignature => {
            "A JSON web token could not be decoded: signature verification failed".to_string()
        }
        _ => format!("A JSON web token could not be decoded: {e}"),
    })?;
    let c = data.claims;
    let now = Utc::now().timestamp();
    let iss_ok = match c.get("iss") {
        Some(Value::Number(n)) => n.as_u64() == Some(TEST_APP_ID),
        Some(Value::String(x)) => {
            *x == TEST_APP_ID.to_string() || s.with(|w| w.client_ids.contains(x))
        }
        _ => false,
    };
    if !iss_ok {
        return Err(format!(
            "'Issuer' claim ('iss') must be the app ID ({TEST_APP_ID}) or client ID; got {}",
            c.get("iss")
                .map(Value::to_string)
                .unwrap_or_else(|| "nothing".into())
        ));
    }
    let int = |k: &str| {
        c.get(k)
            .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
    };
    let Some(iat) = int("iat") else {
        return Err("'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued".into());
    };
    let Some(exp) = int("exp") else {
        return Err("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires".into());
    };
    if iat > now + 60 {
        return Err(format!(
            "'Issued at' claim ('iat') is in the future ({} s ahead)",
            iat - now
        ));
    }
    if exp <= now {
        return Err(format!(
            "'Expiration time' claim ('exp') is in the past: the JWT expired {} s ago",
            now - exp
        ));
    }
    if exp - iat > 660 {
        return Err(format!("'Expiration time' claim ('exp') is too far in the future: exp - iat = {} s > 600 s (+60 s skew)", exp - iat));
    }
    Ok(c)
}
