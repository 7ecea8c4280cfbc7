//! The App's webhook delivery log
//! (https://docs.github.com/rest/apps/webhooks) and redelivery
//! (https://docs.github.com/webhooks/using-webhooks/handling-failed-webhook-deliveries).
//!
//! GitHub's rules kept here:
//! - both endpoints need the App's JWT (the gate refuses installation tokens
//!   on `/app/*`);
//! - the list is newest first, `per_page` at most 100 (default 30), and pages
//!   with an opaque `cursor` given only in the `Link` header's `rel="next"`;
//! - every attempt is its own entry with its own `id`; a redelivery keeps the
//!   `guid` (the `X-GitHub-Delivery` the receiver sees) and has
//!   `redelivery: true`;
//! - GitHub keeps three days of deliveries;
//! - `POST /app/hook/deliveries/{id}/attempts` answers 202 and sends the
//!   original payload again, signed with the App's webhook secret; an
//!   unknown id is 404, and GitHub may refuse with 422 ("Validation failed,
//!   or the endpoint has been spammed"), injected with
//!   [`FakeGitHub::refuse_redeliveries`];
//! - GitHub never redelivers on its own.

#![allow(unused_imports)]

use super::*;

/// One attempt in the delivery log.
#[derive(Clone, Debug)]
pub struct HookDeliveryRec {
    pub id: u64,
    pub guid: String,
    pub delivered_at: DateTime<Utc>,
    pub redelivery: bool,
    /// "OK", or what went wrong ("Invalid HTTP Response: 503", "timed out").
    pub status: String,
    /// The receiver's status code (0: no answer).
    pub status_code: u16,
    pub event: String,
    pub action: Option<String>,
    pub installation_id: Option<u64>,
    pub payload: Value,
}

/// Where GitHub sends the App's webhooks.
#[derive(Clone, Debug)]
pub(crate) struct AppWebhook {
    pub(crate) url: String,
    pub(crate) secret: String,
}

const KEPT_FOR: chrono::Duration = chrono::Duration::days(3);

fn entry_json(d: &HookDeliveryRec) -> Value {
    json!({
        "id": d.id,
        "guid": d.guid,
        "delivered_at": d.delivered_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "redelivery": d.redelivery,
        "duration": 0.27,
        "status": d.status,
        "status_code": d.status_code,
        "event": d.event,
        "action": d.action,
        "installation_id": d.installation_id,
        "repository_id": Value::Null,
        "throttled_at": Value::Null,
    })
}

pub(crate) async fn list_deliveries(State(s): State<S>, uri: Uri) -> R {
    let pairs = query_pairs(uri.query());
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let per_page = get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(30)
        .min(100);
    let start = match get("cursor") {
        None => None,
        Some(c) => Some(
            c.strip_prefix("v1_")
                .and_then(|n| n.parse::<u64>().ok())
                .ok_or_else(|| ApiError::new(400, "Invalid cursor"))?,
        ),
    };
    let now = Utc::now();
    let (page, next) = s.with(|w| {
        let mut newest_first: Vec<&HookDeliveryRec> = w
            .hook_deliveries
            .iter()
            .filter(|d| now - d.delivered_at <= KEPT_FOR)
            .filter(|d| start.is_none_or(|c| d.id <= c))
            .collect();
        newest_first.sort_by_key(|d| std::cmp::Reverse(d.id));
        let page: Vec<Value> = newest_first
            .iter()
            .take(per_page)
            .map(|d| entry_json(d))
            .collect();
        let next = newest_first.get(per_page).map(|d| d.id);
        (page, next)
    });
    let mut resp = (StatusCode::OK, Json(Value::Array(page))).into_response();
    if let Some(n) = next {
        let link = format!(
            "<{}/app/hook/deliveries?per_page={per_page}&cursor=v1_{n}>; rel=\"next\"",
            s.base
        );
        resp.headers_mut()
            .insert("link", HeaderValue::from_str(&link).expect("link header"));
    }
    Ok(resp)
}

pub(crate) async fn redeliver(State(s): State<S>, P(id): P<String>) -> R {
    let id = parse_id(&id)?;
    let (original, hook) = s.with(|w| {
        let original = w.hook_deliveries.iter().find(|d| d.id == id).cloned();
        if original.is_some() {
            w.redelivery_requests.push(id);
        }
        (original, w.app_webhook.clone())
    });
    let original = original.ok_or_else(not_found)?;
    let refused = s.with(|w| {
        if w.refuse_redeliveries > 0 {
            w.refuse_redeliveries -= 1;
            true
        } else {
            false
        }
    });
    if refused {
        return Err(ApiError::new(422, "Validation Failed"));
    }
    let next_id = s.with(|w| w.id());
    // GitHub answers at once and sends the payload afterwards.
    tokio::spawn(send_again(s.clone(), original, hook, next_id));
    reply(202, json!({}))
}

async fn send_again(s: S, original: HookDeliveryRec, hook: Option<AppWebhook>, id: u64) {
    let (status_code, status) = match hook {
        None => (0, "No webhook URL configured".to_string()),
        Some(hook) => {
            let body = serde_json::to_vec(&original.payload).expect("payload");
            let sig = orcoursetrion::sign(hook.secret.as_bytes(), &body);
            let sent = reqwest::Client::new()
                .post(&hook.url)
                .header("content-type", "application/json")
                .header("user-agent", "GitHub-Hookshot/fake")
                .header("x-github-delivery", &original.guid)
                .header("x-github-event", &original.event)
                .header("x-github-hook-installation-target-type", "integration")
                .header("x-hub-signature-256", sig)
                .body(body)
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => (r.status().as_u16(), "OK".to_string()),
                Ok(r) => (
                    r.status().as_u16(),
                    format!("Invalid HTTP Response: {}", r.status().as_u16()),
                ),
                Err(_) => (0, "We couldn't deliver this payload: timed out".to_string()),
            }
        }
    };
    s.with(|w| {
        w.hook_deliveries.push(HookDeliveryRec {
            id,
            delivered_at: Utc::now(),
            redelivery: true,
            status,
            status_code,
            ..original
        })
    });
}

impl FakeGitHub {
    /// Where redeliveries go, and the secret they are signed with.
    pub fn set_app_webhook(&self, url: &str, secret: &str) {
        self.s.with(|w| {
            w.app_webhook = Some(AppWebhook {
                url: url.to_string(),
                secret: secret.to_string(),
            })
        });
    }

    /// Adds an attempt to the delivery log, `age` ago; its id.
    pub fn log_delivery(
        &self,
        guid: &str,
        payload: &Value,
        event: &str,
        status_code: u16,
        age: Duration,
    ) -> u64 {
        self.s.with(|w| {
            let id = w.id();
            w.hook_deliveries.push(HookDeliveryRec {
                id,
                guid: guid.to_string(),
                delivered_at: Utc::now() - chrono::Duration::from_std(age).unwrap_or_default(),
                redelivery: false,
                status: if (200..300).contains(&status_code) {
                    "OK".to_string()
                } else if status_code == 0 {
                    "We couldn't deliver this payload: timed out".to_string()
                } else {
                    format!("Invalid HTTP Response: {status_code}")
                },
                status_code,
                event: event.to_string(),
                action: payload
                    .get("action")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                installation_id: payload.pointer("/installation/id").and_then(Value::as_u64),
                payload: payload.clone(),
            });
            id
        })
    }

    /// The next `n` redelivery requests get GitHub's 422.
    pub fn refuse_redeliveries(&self, n: usize) {
        self.s.with(|w| w.refuse_redeliveries = n);
    }

    /// The delivery ids redelivery was asked for, in order.
    pub fn redelivery_requests(&self) -> Vec<u64> {
        self.s.with(|w| w.redelivery_requests.clone())
    }

    /// The whole delivery log, oldest first.
    pub fn hook_deliveries(&self) -> Vec<HookDeliveryRec> {
        self.s.with(|w| w.hook_deliveries.clone())
    }
}
