//! The App manifest: `app-manifest.yml` with this server's URLs filled in,
//! and the GitHub web pages the registration goes through. Pure.

use serde_json::Value;
use std::sync::OnceLock;

use super::SetupError;
use crate::github::seg;

/// The manifest, embedded at build time.
pub const MANIFEST_YAML: &str = include_str!("../../../app-manifest.yml");
/// Placeholder in [`MANIFEST_YAML`] replaced by the server's public URL.
pub const PUBLIC_URL_PLACEHOLDER: &str = "${PUBLIC_URL}";

fn manifest_template() -> Result<&'static Value, SetupError> {
    static TEMPLATE: OnceLock<Result<Value, String>> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let v: Value = serde_norway::from_str(MANIFEST_YAML).map_err(|e| e.to_string())?;
            if !v.is_object() {
                return Err("expected a mapping at the top level".into());
            }
            Ok(v)
        })
        .as_ref()
        .map_err(|e| SetupError::Manifest(e.clone()))
}

/// `public_url` checked and without its trailing slash.
pub(super) fn normalize_public_url(public_url: &str) -> Result<String, SetupError> {
    let bad = || SetupError::PublicUrl(public_url.to_string());
    let u = url::Url::parse(public_url.trim()).map_err(|_| bad())?;
    if !matches!(u.scheme(), "http" | "https")
        || u.host_str().is_none()
        || !u.username().is_empty()
        || u.password().is_some()
        || u.query().is_some()
        || u.fragment().is_some()
    {
        return Err(bad());
    }
    Ok(u.as_str().trim_end_matches('/').to_string())
}

fn substitute(v: &mut Value, base: &str) {
    match v {
        Value::String(s) if s.contains(PUBLIC_URL_PLACEHOLDER) => {
            *s = s.replace(PUBLIC_URL_PLACEHOLDER, base);
        }
        Value::Array(items) => items.iter_mut().for_each(|i| substitute(i, base)),
        Value::Object(map) => map.values_mut().for_each(|i| substitute(i, base)),
        _ => {}
    }
}

/// The manifest GitHub receives: `app-manifest.yml` as JSON with `url`,
/// `hook_attributes.url` (`{public_url}/webhook`) and `redirect_url`
/// (`{public_url}/setup/callback`) filled in.
pub fn manifest_json(public_url: &str) -> Result<Value, SetupError> {
    let base = normalize_public_url(public_url)?;
    let mut m = manifest_template()?.clone();
    substitute(&mut m, &base);
    let obj = m
        .as_object_mut()
        .ok_or_else(|| SetupError::Manifest("expected a mapping at the top level".into()))?;
    obj.insert("url".into(), Value::String(base.clone()));
    obj.insert(
        "redirect_url".into(),
        Value::String(format!("{base}/setup/callback")),
    );
    let hook = obj
        .entry("hook_attributes")
        .or_insert_with(|| Value::Object(Default::default()));
    let hook = hook
        .as_object_mut()
        .ok_or_else(|| SetupError::Manifest("hook_attributes must be a mapping".into()))?;
    hook.insert("url".into(), Value::String(format!("{base}/webhook")));
    Ok(m)
}

/// GitHub's web UI for an API base URL: `https://api.github.com` →
/// `https://github.com`, `https://ghe.host/api/v3` → `https://ghe.host`,
/// `https://api.acme.ghe.com` → `https://acme.ghe.com`; anything else (a
/// test server) is its own web UI.
pub fn github_web_url(api_url: &str) -> String {
    let trimmed = api_url.trim().trim_end_matches('/');
    let Ok(u) = url::Url::parse(trimmed) else {
        return trimmed.to_string();
    };
    let Some(host) = u.host_str() else {
        return trimmed.to_string();
    };
    let origin = |host: &str| match u.port() {
        Some(p) => format!("{}://{host}:{p}", u.scheme()),
        None => format!("{}://{host}", u.scheme()),
    };
    let host_lc = host.to_ascii_lowercase();
    if host_lc == "api.github.com" {
        return "https://github.com".to_string();
    }
    if let Some(rest) = host_lc.strip_prefix("api.") {
        if rest.ends_with(".ghe.com") {
            return origin(rest);
        }
    }
    let path = u.path().trim_end_matches('/');
    if let Some(prefix) = path.strip_suffix("/api/v3") {
        return format!("{}{prefix}", origin(host));
    }
    trimmed.to_string()
}

/// GitHub's "register a new App" page, for the user or an organization.
pub(super) fn new_app_url(web: &str, org: Option<&str>, state: &str) -> String {
    match org {
        Some(org) => format!(
            "{web}/organizations/{}/settings/apps/new?state={state}",
            seg(org)
        ),
        None => format!("{web}/settings/apps/new?state={state}"),
    }
}

pub(super) fn is_local(public_url: &str) -> bool {
    match url::Url::parse(public_url) {
        Ok(u) => match u.host() {
            Some(url::Host::Domain(d)) => {
                let d = d.to_ascii_lowercase();
                d == "localhost" || d.ends_with(".localhost")
            }
            Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified() || ip.is_private(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.is_unspecified(),
            None => true,
        },
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_url_from_api_url() {
        assert_eq!(
            github_web_url("https://api.github.com"),
            "https://github.com"
        );
        assert_eq!(
            github_web_url("https://api.github.com/"),
            "https://github.com"
        );
        assert_eq!(
            github_web_url("https://ghe.example.edu/api/v3"),
            "https://ghe.example.edu"
        );
        assert_eq!(
            github_web_url("https://ghe.example.edu/api/v3/"),
            "https://ghe.example.edu"
        );
        assert_eq!(
            github_web_url("https://ghe.example.edu:8443/api/v3"),
            "https://ghe.example.edu:8443"
        );
        assert_eq!(
            github_web_url("https://api.acme.ghe.com"),
            "https://acme.ghe.com"
        );
        assert_eq!(
            github_web_url("http://127.0.0.1:4000"),
            "http://127.0.0.1:4000"
        );
        assert_eq!(github_web_url("not a url"), "not a url");
    }

    #[test]
    fn new_app_urls_for_user_and_org() {
        assert_eq!(
            new_app_url("https://github.com", None, "s1"),
            "https://github.com/settings/apps/new?state=s1"
        );
        assert_eq!(
            new_app_url("https://ghe.example.edu", Some("mitodl"), "s2"),
            "https://ghe.example.edu/organizations/mitodl/settings/apps/new?state=s2"
        );
    }

    #[test]
    fn manifest_fills_in_the_public_url() {
        let m = manifest_json("https://orc.example.edu/").expect("manifest");
        assert_eq!(m["url"], "https://orc.example.edu");
        assert_eq!(
            m["hook_attributes"]["url"],
            "https://orc.example.edu/webhook"
        );
        assert_eq!(m["hook_attributes"]["active"], true);
        assert_eq!(m["redirect_url"], "https://orc.example.edu/setup/callback");
        assert_eq!(m["public"], false);
        assert!(!m.to_string().contains(PUBLIC_URL_PLACEHOLDER), "{m}");

        let m = manifest_json("https://proxy.example.edu/orc").expect("manifest with a path");
        assert_eq!(
            m["hook_attributes"]["url"],
            "https://proxy.example.edu/orc/webhook"
        );
    }

    #[test]
    fn manifest_permissions_and_events_follow_the_spec() {
        let m = manifest_json("http://localhost:8080").expect("manifest");
        let perms = m["default_permissions"].as_object().expect("permissions");
        for (k, v) in [
            ("administration", "write"),
            ("contents", "write"),
            ("issues", "write"),
            ("members", "write"),
            ("repository_hooks", "write"),
            ("statuses", "write"),
            ("metadata", "read"),
        ] {
            assert_eq!(perms.get(k).and_then(Value::as_str), Some(v), "{k}");
        }
        assert!(!perms.contains_key("pull_requests"));
        let events: Vec<&str> = m["default_events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(events, ["issue_comment", "issues", "push"]);
        // Delivered to every App; not subscribable in a manifest.
        assert!(!events.contains(&"installation"));
        assert!(m["name"].as_str().is_some_and(|n| !n.is_empty()));
    }

    #[test]
    fn manifest_rejects_unusable_public_urls() {
        for bad in [
            "",
            "localhost:8080",
            "ftp://x.example",
            "https://user:pw@x.example",
            "https://x.example/?a=1",
            "https://x.example/#f",
        ] {
            assert!(
                matches!(manifest_json(bad), Err(SetupError::PublicUrl(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn local_public_urls_are_flagged() {
        assert!(is_local("http://localhost:8080"));
        assert!(is_local("http://127.0.0.1:8080"));
        assert!(is_local("http://192.168.1.4:8080"));
        assert!(!is_local("https://orc.fly.dev"));
    }
}
