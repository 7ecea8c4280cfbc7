//! The App's webhook delivery log and redelivery, with the App's JWT
//! (https://docs.github.com/rest/apps/webhooks). GitHub never redelivers by
//! itself; these let the App ask for what it missed.

use super::*;

/// One attempt GitHub made to deliver a webhook to the App.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct HookDelivery {
    /// This attempt's id (what redelivery names).
    pub id: u64,
    /// The `X-GitHub-Delivery` the receiver saw; the same across redeliveries.
    pub guid: String,
    pub delivered_at: DateTime<Utc>,
    #[serde(default)]
    pub redelivery: bool,
    /// "OK" when the receiver answered 2xx.
    pub status: String,
    /// The receiver's status code (0: no answer).
    #[serde(default)]
    pub status_code: u16,
    pub event: String,
    #[serde(default)]
    pub action: Option<String>,
}

impl HookDelivery {
    pub fn ok(&self) -> bool {
        self.status == "OK"
    }
}

/// What GitHub said to a redelivery request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redelivery {
    /// 202: GitHub will send it again.
    Asked,
    /// 422: "Validation failed, or the endpoint has been spammed."
    Refused,
}

impl GitHub {
    /// One page of the delivery log, newest first (100 a page), and the
    /// next page's URL from the `Link` header (the cursor is GitHub's).
    pub async fn hook_deliveries_page(
        &self,
        next: Option<&str>,
    ) -> Result<(Vec<HookDelivery>, Option<String>), GitHubError> {
        let req = match next {
            Some(url) => Request::get(url),
            None => Request::get("/app/hook/deliveries").query("per_page", PER_PAGE),
        };
        let (resp, m, p) = self.as_app().call(req).await?;
        if resp.status != 200 {
            return Err(resp.unexpected(&m, &p));
        }
        let page: Vec<HookDelivery> = resp.json(&m, &p)?;
        Ok((page, paging::next_link(&resp.headers)))
    }

    /// Asks GitHub to send attempt `id` again.
    pub async fn redeliver(&self, id: u64) -> Result<Redelivery, GitHubError> {
        let path = format!("/app/hook/deliveries/{id}/attempts");
        // Asking twice only sends it twice, and our dedupe absorbs that.
        let req = Request::new(Method::POST, path).replayable(true);
        let (resp, m, p) = self.as_app().call(req).await?;
        match resp.status {
            200..=202 => Ok(Redelivery::Asked),
            422 => Ok(Redelivery::Refused),
            _ => Err(resp.unexpected(&m, &p)),
        }
    }
}
