//! Property-based fuzz targets on stable Rust, for every parser that reads
//! untrusted input: the comment scanner and command parser, the webhook
//! envelope decoder, the signature header parser and the naming rules.
//!
//! The test suite runs each with proptest's default number of cases. A real
//! fuzzing run sets the count (and builds optimised):
//!
//! ```text
//! PROPTEST_CASES=100000 cargo test --release --test fuzz
//! ```

mod common;

use common::markdown::arb_markdown;
use orcoursetrion::{
    inspect_body, parse_comment, parse_signature, Branch, Course, EventFilter, Login, OrgName,
    RepoFullName, TeamName, Term,
};
use proptest::prelude::*;
use serde_json::json;

fn filter() -> EventFilter {
    EventFilter {
        requests_repos: vec![RepoFullName::parse("mitx/course-requests").expect("repo")],
        course_prefix: Some("content-mit".into()),
    }
}

proptest! {
    #[test]
    fn comment_scanner_and_parser(body in prop_oneof![arb_markdown(), any::<String>()]) {
        let lines = body.lines().count().max(1);
        for inv in parse_comment(&body) {
            prop_assert!(inv.line >= 1 && inv.line <= lines);
            prop_assert!(inv.text.starts_with('/'));
            match inv.result {
                // A parsed command renders to a line that parses back to it.
                Ok(cmd) => {
                    let again = parse_comment(&cmd.to_string());
                    prop_assert_eq!(again.len(), 1);
                    prop_assert_eq!(again[0].result.as_ref(), Ok(&cmd));
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }
    }

    #[test]
    fn webhook_envelope_decoder(
        raw in prop::collection::vec(any::<u8>(), 0..512),
        body in arb_markdown(),
        action in prop_oneof![Just("created".to_owned()), Just("edited".to_owned()), Just("deleted".to_owned()), "[a-z]{0,8}"],
        installation in prop_oneof![Just(json!(null)), any::<i64>().prop_map(|i| json!({"id": i})), Just(json!("x"))],
        event in prop_oneof![Just("issue_comment".to_owned()), Just("push".to_owned()), "[a-z_]{1,12}"],
    ) {
        let f = filter();
        // Arbitrary bytes: never a job, never a panic.
        let seen = inspect_body(&f, &event, &raw);
        prop_assert!(seen.jobs.len() <= 1);
        // Well-formed payloads with hostile fields.
        let payload = json!({
            "action": action,
            "issue": {"number": 1},
            "comment": {"id": 9, "body": body, "user": {"login": "alice", "type": "User"},
                        "html_url": "https://github.example/x"},
            "repository": {"full_name": "mitx/course-requests"},
            "installation": installation,
            "changes": {"body": {"from": "/help"}},
        });
        let bytes = serde_json::to_vec(&payload).expect("json");
        let seen = inspect_body(&f, &event, &bytes);
        // Only comments make jobs here: the requests repo is no course repo,
        // and this payload has no issue body.
        if event != "issue_comment" {
            prop_assert!(seen.jobs.is_empty());
        }
        for job in &seen.jobs {
            // A job always has an installation to act through.
            prop_assert!(job.payload["installation_id"].as_u64().is_some_and(|i| i > 0));
        }
    }

    #[test]
    fn signature_header_parser(
        s in prop_oneof![
            any::<String>(),
            "sha256=[0-9a-fA-F]{60,68}",
            " ?sha256=[0-9a-f]{64} ?",
        ]
    ) {
        if parse_signature(&s).is_some() {
            let hex = s.trim().strip_prefix("sha256=").expect("prefix");
            prop_assert_eq!(hex.len(), 64);
            prop_assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }

    #[test]
    fn naming_rules(s in prop_oneof![any::<String>(), "[A-Za-z0-9._/ -]{0,120}"]) {
        // Whatever is accepted displays as itself; nothing panics.
        if let Ok(c) = Course::parse(&s) { prop_assert_eq!(c.to_string(), s.clone()); }
        if let Ok(t) = Term::parse(&s) { prop_assert_eq!(t.to_string(), s.clone()); }
        if let Ok(l) = Login::parse(&s) { prop_assert!(l.as_str().len() <= 39); }
        if let Ok(o) = OrgName::parse(&s) { prop_assert!(!o.as_str().starts_with('-')); }
        if let Ok(t) = TeamName::parse(&s) { prop_assert!(!t.as_str().contains('/')); }
        if let Ok(b) = Branch::parse(&s) { prop_assert!(!b.as_str().starts_with('-') && !b.as_str().contains("..")); }
        if let Ok(r) = RepoFullName::parse(&s) { prop_assert!(r.name().len() <= 100); }
    }
}
