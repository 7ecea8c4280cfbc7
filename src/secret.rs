//! A string that must never reach a log, a comment, a URL or argv.
//!
//! `Debug` and `Display` both print a fixed mask, so a secret that slips into a
//! `tracing` field or an error message is still not disclosed. And every text
//! that leaves the process (a comment, a log line, a stored error) goes
//! through [`redact`], which removes the values of every secret this process
//! holds and the credentials of any URL, whatever the text's source (GitHub's
//! error messages included).

use std::borrow::Cow;
use std::fmt;
use std::sync::{OnceLock, RwLock};

/// Values shorter than this are not remembered: masking them would mangle
/// ordinary words.
const MIN_REMEMBERED: usize = 8;
/// The newest secrets remembered (installation tokens come and go hourly).
const MAX_REMEMBERED: usize = 256;

fn known() -> &'static RwLock<Vec<String>> {
    static KNOWN: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    KNOWN.get_or_init(|| RwLock::new(Vec::new()))
}

fn remember(value: &str) {
    if value.len() < MIN_REMEMBERED {
        return;
    }
    let mut k = known().write().unwrap_or_else(|p| p.into_inner());
    if k.iter().any(|v| v == value) {
        return;
    }
    if k.len() >= MAX_REMEMBERED {
        k.remove(0);
    }
    k.push(value.to_owned());
}

/// `text` without the secrets this process holds and without the userinfo
/// (`user:password@`, `token@`) of any URL in it.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    {
        let k = known().read().unwrap_or_else(|p| p.into_inner());
        for v in k.iter() {
            if out.contains(v.as_str()) {
                out = Cow::Owned(out.replace(v.as_str(), "***"));
            }
        }
    }
    match without_userinfo(&out) {
        Some(clean) => Cow::Owned(clean),
        None => out,
    }
}

/// The text with every URL's userinfo replaced by `***`; `None` if it has none.
fn without_userinfo(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    let mut changed = false;
    while let Some(i) = rest.find("://") {
        let authority_start = i + 3;
        let authority_len = rest[authority_start..]
            .find(|c: char| {
                matches!(
                    c,
                    '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '`' | ')' | ']'
                ) || c.is_whitespace()
            })
            .unwrap_or(rest.len() - authority_start);
        let authority = &rest[authority_start..authority_start + authority_len];
        out.push_str(&rest[..authority_start]);
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&authority[at..]);
                changed = true;
            }
            None => out.push_str(authority),
        }
        rest = &rest[authority_start + authority_len..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        remember(&value);
        Secret(value)
    }

    /// The only way to read the value: call sites are easy to audit by name.
    /// A comma list of secrets (rotation: the new one first, then the old).
    pub fn list(v: &str) -> Vec<Secret> {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Secret::new)
            .collect()
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Describe a URL without its credentials, path or query: hook URLs hold basic-auth
/// passwords (gitreload is protected by the web server in front of it).
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(u) => match u.host_str() {
            Some(host) => match u.port() {
                Some(p) => format!("{}://{}:{}/…", u.scheme(), host, p),
                None => format!("{}://{}/…", u.scheme(), host),
            },
            None => "<url>".to_string(),
        },
        Err(_) => "<url>".to_string(),
    }
}

/// A URL with its user name and password removed and the rest kept: a git
/// remote such as `https://x-access-token:…@github.com/org/repo.git` becomes
/// `https://github.com/org/repo.git`. Anything that is not a URL with an
/// authority (`git@github.com:org/repo.git`) holds no password and is kept.
pub fn strip_url_credentials(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.has_host() && (!u.username().is_empty() || u.password().is_some()) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_masked_in_debug_and_display() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn redact_removes_held_secrets_and_url_credentials() {
        let _held = Secret::new("s3cr3t-value-123");
        assert_eq!(redact("token s3cr3t-value-123 leaked"), "token *** leaked");
        assert_eq!(
            redact("Hook https://gr:stagingpw@staging.example.edu/gitreload exists"),
            "Hook https://***@staging.example.edu/gitreload exists"
        );
        assert_eq!(
            redact("clone https://x-access-token:ghs_abc@github.com/a/b.git"),
            "clone https://***@github.com/a/b.git"
        );
        assert_eq!(
            redact("mail a@b.example, see https://e.example/x@y"),
            "mail a@b.example, see https://e.example/x@y"
        );
        assert!(matches!(redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn redact_url_drops_credentials_and_path() {
        assert_eq!(
            redact_url("https://user:pw@gitreload.example.edu:8443/gitreload?x=1"),
            "https://gitreload.example.edu:8443/…"
        );
        assert_eq!(redact_url("not a url"), "<url>");
    }

    #[test]
    fn strip_url_credentials_keeps_the_path() {
        assert_eq!(
            strip_url_credentials("https://x-access-token:ghs_abc@github.com/mitx/c.git"),
            "https://github.com/mitx/c.git"
        );
        assert_eq!(
            strip_url_credentials("git@github.com:mitx/c.git"),
            "git@github.com:mitx/c.git"
        );
        assert_eq!(strip_url_credentials("/srv/bare/c.git"), "/srv/bare/c.git");
    }
}
