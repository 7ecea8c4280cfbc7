//! `X-Hub-Signature-256`: HMAC-SHA256 of the raw body under the webhook
//! secret, checked in constant time before anything reads the body.

use ring::hmac;

use crate::secret::Secret;

/// `sha256=<hex>` of `body` under `secret`, as GitHub sends it in
/// `X-Hub-Signature-256` (for tests, benchmarks and `curl` examples).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    format!("sha256={}", hex::encode(hmac::sign(&key, body).as_ref()))
}

/// The 32 signature bytes of a `sha256=<64 hex>` header value.
pub fn parse_signature(value: &str) -> Option<[u8; 32]> {
    let hex_part = value.trim().strip_prefix("sha256=")?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut out).ok()?;
    Some(out)
}

/// Whether `signature` is the HMAC-SHA256 of `body` under any of `secrets`,
/// compared in constant time (`ring::hmac::verify`). Empty secrets never match.
/// ring's SHA-256 is assembly: on the benchmark machine it halves the cost
/// of the signature check of a 13 KB delivery compared with the `sha2` crate.
pub fn verify_signature(secrets: &[Secret], signature: &[u8; 32], body: &[u8]) -> bool {
    secrets.iter().filter(|s| !s.is_empty()).any(|s| {
        let key = hmac::Key::new(hmac::HMAC_SHA256, s.expose().as_bytes());
        hmac::verify(&key, body, signature).is_ok()
    })
}

/// The HMAC of a body under every configured secret, fed as the body streams
/// in, so a forged body is refused without first being held whole.
pub struct Verifier {
    contexts: Vec<hmac::Context>,
}

impl Verifier {
    pub fn new(secrets: &[Secret]) -> Verifier {
        Verifier {
            contexts: secrets
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| {
                    hmac::Context::with_key(&hmac::Key::new(
                        hmac::HMAC_SHA256,
                        s.expose().as_bytes(),
                    ))
                })
                .collect(),
        }
    }

    pub fn update(&mut self, chunk: &[u8]) {
        for c in &mut self.contexts {
            c.update(chunk);
        }
    }

    /// Whether `signature` matches under any secret, compared in constant time.
    pub fn matches(self, signature: &[u8; 32]) -> bool {
        let mut any = subtle::Choice::from(0u8);
        for c in self.contexts {
            any |= subtle::ConstantTimeEq::ct_eq(c.sign().as_ref(), &signature[..]);
        }
        any.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_documented_signature_vector() {
        // GitHub's "Validating webhook deliveries" test values.
        let sig = sign(b"It's a Secret to Everybody", b"Hello, World!");
        assert_eq!(
            sig,
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
        let parsed = parse_signature(&sig).expect("parse");
        let secrets = [
            Secret::new("old"),
            Secret::new("It's a Secret to Everybody"),
        ];
        assert!(verify_signature(&secrets, &parsed, b"Hello, World!"));
        assert!(!verify_signature(&secrets, &parsed, b"Hello, World?"));
        assert!(!verify_signature(&secrets[..1], &parsed, b"Hello, World!"));
        assert!(!verify_signature(
            &[Secret::new("")],
            &parsed,
            b"Hello, World!"
        ));
        // Streamed in pieces, the same answers.
        let mut v = Verifier::new(&secrets);
        v.update(b"Hello, ");
        v.update(b"World!");
        assert!(v.matches(&parsed));
        let mut v = Verifier::new(&secrets[..1]);
        v.update(b"Hello, World!");
        assert!(!v.matches(&parsed));
        assert!(!Verifier::new(&[Secret::new("")]).matches(&parsed));
    }

    #[test]
    fn malformed_signature_headers_are_refused() {
        for bad in [
            "",
            "sha256=",
            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
            "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        ] {
            assert!(parse_signature(bad).is_none(), "{bad:?}");
        }
    }
}
