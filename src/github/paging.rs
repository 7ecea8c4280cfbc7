//! Lists: `per_page=100` and the `Link` header, followed only back to our own
//! API host.

use super::*;

impl GitHub {
    /// GET every page of a list endpoint (`per_page=100`, following `Link: rel="next"`).
    pub async fn get_all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, GitHubError> {
        Ok(self.get_all_or_404(path).await?.unwrap_or_default())
    }

    /// Like `get_all`, but `None` when the first page is a 404 (the parent is missing).
    pub async fn get_all_or_404<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<Vec<T>>, GitHubError> {
        let mut out = Vec::new();
        let mut next = Some(Request::get(path).query("per_page", PER_PAGE));
        let mut first = true;
        while let Some(req) = next.take() {
            let resp = self.send(req).await?;
            if first && resp.status == 404 {
                return Ok(None);
            }
            first = false;
            if resp.status != 200 {
                return Err(resp.unexpected(&Method::GET, path));
            }
            let page: Vec<T> = resp.json(&Method::GET, path)?;
            out.extend(page);
            next = next_link(&resp.headers).map(Request::get);
        }
        Ok(Some(out))
    }
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let mut pieces = part.split(';');
        let target = pieces.next()?.trim();
        let is_next = pieces.any(|p| p.trim() == "rel=\"next\"");
        if is_next && target.starts_with('<') && target.ends_with('>') {
            Some(target[1..target.len() - 1].to_string())
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_parses_github_link_header() {
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            HeaderValue::from_static(
                "<https://api.github.com/orgs/x/teams?per_page=100&page=2>; rel=\"next\", <https://api.github.com/orgs/x/teams?per_page=100&page=3>; rel=\"last\"",
            ),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/orgs/x/teams?per_page=100&page=2")
        );
        h.insert(
            "link",
            HeaderValue::from_static("<https://a/b?page=1>; rel=\"prev\""),
        );
        assert_eq!(next_link(&h), None);
    }
}
