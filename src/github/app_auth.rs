//! GitHub App authentication: the App's RS256 JWT and the per-
//! installation access tokens minted with it.
//!
//! Tokens live an hour; we renew them well before expiry so that a long job
//! never sends an expired token, and fetch at most one at a time per
//! installation so a burst of jobs does not mint a burst of tokens.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::GitHubError;
use crate::clock::SharedClock;
use crate::secret::Secret;

/// Renew a cached installation token when it has less than this left.
pub const RENEW_BEFORE: Duration = Duration::minutes(5);
/// GitHub rejects JWTs that live longer than ten minutes; we ask for nine from
/// a backdated `iat`, so clock drift of a minute either way still passes.
const JWT_BACKDATE_SECS: i64 = 60;
const JWT_LIFETIME_SECS: i64 = 9 * 60;

#[derive(Clone)]
pub struct AppCredentials {
    /// The App id (or its client id): the JWT's `iss`.
    issuer: String,
    key: EncodingKey,
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("issuer", &self.issuer)
            .field("key", &"***")
            .finish()
    }
}

#[derive(Debug, Serialize)]
pub struct Claims {
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

impl AppCredentials {
    pub fn from_pem(issuer: impl Into<String>, pem: &Secret) -> Result<Self, GitHubError> {
        let key = EncodingKey::from_rsa_pem(pem.expose().as_bytes()).map_err(|e| {
            GitHubError::Auth(format!("the App private key is not an RSA PEM key: {e}"))
        })?;
        Ok(AppCredentials {
            issuer: issuer.into(),
            key,
        })
    }

    pub fn claims(&self, now: DateTime<Utc>) -> Claims {
        let t = now.timestamp();
        Claims {
            iat: t - JWT_BACKDATE_SECS,
            exp: t + JWT_LIFETIME_SECS,
            iss: self.issuer.clone(),
        }
    }

    pub fn jwt(&self, now: DateTime<Utc>) -> Result<Secret, GitHubError> {
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &self.claims(now), &self.key)
            .map(Secret::new)
            .map_err(|e| GitHubError::Auth(format!("cannot sign the App JWT: {e}")))
    }
}

#[derive(Clone)]
struct Cached {
    token: Secret,
    expires_at: DateTime<Utc>,
}

type Fetch = Pin<Box<dyn Future<Output = Result<(Secret, DateTime<Utc>), GitHubError>> + Send>>;

#[derive(Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<u64, Cached>>,
    fetching: Mutex<HashMap<u64, Arc<tokio::sync::Mutex<()>>>>,
}

impl TokenCache {
    fn fresh(&self, id: u64, now: DateTime<Utc>) -> Option<Secret> {
        let tokens = self.tokens.lock().ok()?;
        tokens
            .get(&id)
            .filter(|c| c.expires_at - now > RENEW_BEFORE)
            .map(|c| c.token.clone())
    }

    pub async fn get_or_fetch(
        &self,
        id: u64,
        clock: &SharedClock,
        fetch: impl FnOnce() -> Fetch,
    ) -> Result<Secret, GitHubError> {
        if let Some(t) = self.fresh(id, clock.now()) {
            return Ok(t);
        }
        let gate = {
            let mut f = self
                .fetching
                .lock()
                .map_err(|_| GitHubError::Auth("token cache poisoned".into()))?;
            f.entry(id).or_default().clone()
        };
        let _single_flight = gate.lock().await;
        // Someone else may have fetched while we waited for the gate.
        if let Some(t) = self.fresh(id, clock.now()) {
            return Ok(t);
        }
        let (token, expires_at) = fetch().await?;
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert(
                id,
                Cached {
                    token: token.clone(),
                    expires_at,
                },
            );
        }
        Ok(token)
    }

    pub fn invalidate(&self, id: u64) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_backdated_and_short_lived() {
        let pem = Secret::new(include_str!("../../tests/fixtures/test-app-key.pem"));
        let app = AppCredentials::from_pem("4242", &pem).expect("key");
        let now = Utc::now();
        let c = app.claims(now);
        assert_eq!(c.iat, now.timestamp() - 60);
        assert!(c.exp - now.timestamp() <= 600);
        assert!(c.exp > now.timestamp());
        assert_eq!(c.iss, "4242");
        assert!(app.jwt(now).is_ok());
    }

    #[test]
    fn a_bad_key_is_a_clear_error() {
        let err = AppCredentials::from_pem("1", &Secret::new("not a key")).expect_err("bad key");
        assert!(err.to_string().contains("RSA PEM"), "{err}");
    }
}
