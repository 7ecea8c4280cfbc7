//! The App-manifest conversion: the one GitHub call setup mode makes, before
//! there are any credentials to make others with.

use reqwest::header::{ACCEPT, USER_AGENT};
use serde::Deserialize;
use serde_json::Value;

use super::{seg, ClientConfig, API_VERSION};

/// GitHub's answer to the conversion. No `Debug`: it holds the secrets.
#[derive(Deserialize)]
pub struct Conversion {
    pub id: u64,
    pub slug: String,
    pub client_id: String,
    pub client_secret: String,
    pub webhook_secret: Option<String>,
    pub pem: String,
    pub html_url: String,
    pub owner: Option<Owner>,
}

#[derive(Deserialize)]
pub struct Owner {
    pub login: String,
}

/// Exchanges a manifest code for the new App's credentials
/// (`POST /app-manifests/{code}/conversions`, no authentication). Errors are
/// one line for the setup page; they never hold a secret.
pub async fn convert_manifest(
    http: &reqwest::Client,
    api_url: &str,
    code: &str,
) -> Result<Conversion, String> {
    let url = format!(
        "{}/app-manifests/{}/conversions",
        api_url.trim().trim_end_matches('/'),
        seg(code)
    );
    let resp = http
        .post(&url)
        .header(ACCEPT, "application/vnd.github+json")
        .header("X-GitHub-Api-Version", API_VERSION)
        .header(USER_AGENT, ClientConfig::default().user_agent)
        .send()
        .await
        .map_err(|e| format!("cannot reach GitHub at {}: {}", api_url, e.without_url()))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("GitHub's answer was cut short: {}", e.without_url()))?;
    if !status.is_success() {
        let message = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(300).collect());
        return Err(format!("GitHub answered {status}: {message}"));
    }
    // serde's message may quote a value: report only where it went wrong.
    let conv: Conversion = serde_json::from_slice(&body).map_err(|e| {
        format!(
            "GitHub's answer is not an App with credentials ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        )
    })?;
    if !conv.html_url.starts_with("https://") && !conv.html_url.starts_with("http://") {
        return Err("GitHub's answer has no usable html_url".into());
    }
    Ok(conv)
}
