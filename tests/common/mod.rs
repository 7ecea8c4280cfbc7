//! Helpers shared by the integration tests and the benchmarks.
//!
//! Every test binary says `mod common;`; benchmarks include this file with
//! `#[path = "../tests/common/mod.rs"] mod common;`. Nothing here depends on
//! the test harness.
#![allow(dead_code)]

pub mod db;
pub mod fake;
pub mod markdown;
pub mod tester;

/// The GitHub App id of the test app (the fake's `/app` answers with it).
pub const TEST_APP_ID: u64 = 4242;

/// The client id the fake also accepts as a JWT `iss` (and returns from the
/// manifest conversion).
pub const TEST_CLIENT_ID: &str = "Iv23liFakeOrcClient01";

/// The slug of the test app; its bot user is `{slug}[bot]`.
pub const TEST_APP_SLUG: &str = "orcoursetrion-test";

/// Private key (PKCS#1 PEM) of the test app: sign app JWTs with it.
pub fn test_app_private_key_pem() -> &'static str {
    include_str!("../fixtures/test-app-key.pem")
}

/// Public key (SPKI PEM) matching [`test_app_private_key_pem`]; the fake
/// verifies JWT signatures with it.
pub fn test_app_public_key_pem() -> &'static str {
    include_str!("../fixtures/test-app-key.pub.pem")
}

/// A loopback port free right now, for a server process a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Every one of `wanted` appears in `text` (a reply, a page, an error): the
/// failure names the first one missing and shows the whole text.
#[allow(dead_code)]
pub fn assert_contains_all(text: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(text.contains(w), "{w:?} missing from:\n{text}");
    }
}

/// Runs `bin` (the test's `env!("CARGO_BIN_EXE_orcoursetrion")`; the
/// examples share this module and have no such variable) with `args` and
/// only `env`, which must exit 2 (bad input or configuration); its stderr.
#[allow(dead_code)]
pub fn refused_config(bin: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = std::process::Command::new(bin)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A child process that must have succeeded; `what` (the command, or its
/// output so far) leads the failure message, then its stderr.
#[allow(dead_code)]
pub fn expect_success(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
