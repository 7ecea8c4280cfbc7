//! Which installation a call goes through. An installation token reaches only
//! the account the App is installed on, so a handle that works across orgs
//! (the Studio org, the XML org, the requests repo's owner) finds each
//! account's installation with `GET /orgs/{org}/installation` (or
//! `/users/{user}/installation`) as the App, and caches it. A 401 forgets the
//! entry, and so does an `installation` event that deletes or suspends it.

use super::*;

/// The account a REST path touches: `{org}` in `/orgs/{org}/…`, `{owner}` in
/// `/repos/{owner}/…`. Paths that name no account (`/users/…`) have none.
pub(super) fn owner_of(path: &str) -> Option<&str> {
    let mut segs = path.trim_start_matches('/').split('/');
    match (segs.next(), segs.next()) {
        (Some("orgs" | "repos"), Some(owner)) if !owner.is_empty() => Some(owner),
        _ => None,
    }
}

impl GitHub {
    /// A handle for one job: every call uses the installation of the account
    /// it touches; `default` (the installation the delivery came from) serves
    /// calls that touch no account.
    pub fn for_accounts(&self, default: u64) -> GitHub {
        GitHub {
            shared: self.shared.clone(),
            creds: Credentials::Routed { default },
        }
    }

    /// A handle that routes by account, as [`GitHub::for_accounts`], with the
    /// installation of `org` serving calls that touch no account. For the
    /// CLI, which has no delivery to take an installation from.
    pub async fn routed_via(&self, org: &str) -> Result<GitHub, GitHubError> {
        let id = self.installation_for(org).await?;
        Ok(self.for_accounts(id))
    }

    /// Forgets the installation of `account` (it was deleted or suspended,
    /// or its token was refused).
    pub fn forget_account(&self, account: &str) {
        if let Ok(mut m) = self.shared.accounts.lock() {
            m.remove(&account.to_ascii_lowercase());
        }
    }

    /// The installation a call to `path` goes through, if this handle uses one.
    pub(super) async fn installation_of_call(
        &self,
        path: &str,
    ) -> Result<Option<u64>, GitHubError> {
        match &self.creds {
            Credentials::Installation(id) => Ok(Some(*id)),
            Credentials::Routed { default } => match owner_of(path) {
                Some(owner) => Ok(Some(self.installation_for(owner).await?)),
                None => Ok(Some(*default)),
            },
            Credentials::Token(_) | Credentials::App => Ok(None),
        }
    }

    /// The installation of `owner`, from the cache or from GitHub.
    pub(super) async fn installation_for(&self, owner: &str) -> Result<u64, GitHubError> {
        let key = owner.to_ascii_lowercase();
        if let Some(id) = self
            .shared
            .accounts
            .lock()
            .ok()
            .and_then(|m| m.get(&key).copied())
        {
            return Ok(id);
        }
        let app = self.as_app();
        for kind in ["orgs", "users"] {
            let path = format!("/{kind}/{}/installation", seg(owner));
            let resp = Box::pin(app.send(Request::get(path.clone()))).await?;
            match resp.status {
                200 => {
                    #[derive(serde::Deserialize)]
                    struct Inst {
                        id: u64,
                    }
                    let inst: Inst = resp.json(&Method::GET, &path)?;
                    if let Ok(mut m) = self.shared.accounts.lock() {
                        m.insert(key, inst.id);
                    }
                    return Ok(inst.id);
                }
                404 => continue,
                _ => return Err(resp.unexpected(&Method::GET, &path)),
            }
        }
        Err(GitHubError::NotInstalled {
            account: owner.to_string(),
            install_url: self.install_url().await,
        })
    }

    /// The App as GitHub knows it (`GET /app`, with the App's JWT): its slug
    /// and its page. Proves the key and the App id are right.
    pub async fn app_info(&self) -> Result<AppInfo, GitHubError> {
        let path = "/app";
        let (resp, m, p) = self.as_app().call(Request::get(path)).await?;
        match resp.status {
            200 => resp.json(&m, &p),
            _ => Err(resp.unexpected(&m, &p)),
        }
    }

    /// The accounts the App is installed on (`GET /app/installations`).
    pub async fn installed_accounts(&self) -> Result<Vec<String>, GitHubError> {
        #[derive(serde::Deserialize)]
        struct Inst {
            account: Option<types::Account>,
        }
        let list: Vec<Inst> = self.as_app().get_all("/app/installations").await?;
        Ok(list
            .into_iter()
            .filter_map(|i| i.account.map(|a| a.login))
            .collect())
    }

    /// Where an org owner installs the App (`{html_url}/installations/new`).
    async fn install_url(&self) -> Option<String> {
        if let Some(page) = self.shared.app_page.lock().ok().and_then(|p| p.clone()) {
            return Some(format!("{page}/installations/new"));
        }
        let resp = Box::pin(self.as_app().send(Request::get("/app")))
            .await
            .ok()?;
        let page = serde_json::from_slice::<Value>(&resp.body)
            .ok()?
            .get("html_url")?
            .as_str()?
            .to_string();
        if let Ok(mut p) = self.shared.app_page.lock() {
            *p = Some(page.clone());
        }
        Some(format!("{page}/installations/new"))
    }
}

/// What `GET /app` says of the App.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AppInfo {
    pub slug: String,
    #[serde(default)]
    pub html_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_of_a_path() {
        assert_eq!(owner_of("/orgs/mitx/repos"), Some("mitx"));
        assert_eq!(
            owner_of("/repos/MITx-Studio2LMS/x/hooks"),
            Some("MITx-Studio2LMS")
        );
        assert_eq!(owner_of("/users/alice"), None);
        assert_eq!(owner_of("/app/installations/1/access_tokens"), None);
        assert_eq!(owner_of("/orgs/"), None);
    }
}
