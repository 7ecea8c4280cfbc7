//! A string that must never reach a log, a comment, a URL or argv.
//!
//! `Debug` and `Display` both print a fixed mask, so a secret that slips into a
//! `tracing` field or an error message is still not disclosed.

use std::fmt;

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The only way to read the value: call sites are easy to audit by name.
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
    fn redact_url_drops_credentials_and_path() {
        assert_eq!(
            redact_url("https://user:pw@gitreload.example.edu:8443/gitreload?x=1"),
            "https://gitreload.example.edu:8443/…"
        );
        assert_eq!(redact_url("not a url"), "<url>");
    }
}
