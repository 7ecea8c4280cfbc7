//! A generator of Markdown-ish text for property tests: the unit tests of
//! the command scanner and parser include this file, and so does
//! `tests/fuzz.rs` (through `tests/common`).

use proptest::prelude::*;

/// Markdown built from the constructs that decide what a line is (fences,
/// indents, quotes, lists, HTML comments and blocks, code spans), and the
/// lexer's own (quotes, escapes, `key=`, a Cyrillic look-alike).
pub fn arb_markdown() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("```".to_owned()),
        Just("~~~".to_owned()),
        Just("~~~~".to_owned()),
        Just("    ".to_owned()),
        Just("\t".to_owned()),
        Just("> ".to_owned()),
        Just("- ".to_owned()),
        Just("1. ".to_owned()),
        Just("<!--".to_owned()),
        Just("-->".to_owned()),
        Just("<div>".to_owned()),
        Just("`".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("\n".to_owned()),
        Just("\n\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("/".to_owned()),
        Just("/help".to_owned()),
        Just("/plan ".to_owned()),
        Just("/rerun a b from".to_owned()),
        Just("/release a b".to_owned()),
        Just(" k=".to_owned()),
        Just("text ".to_owned()),
        Just("/put-team o t members=".to_owned()),
        Just("с".to_owned()),
        "[a-z_= -]{1,6}",
        // Any other character, but a lone CR (a line ending of its own, which
        // the properties' line helpers do not split on) or a byte-order mark
        // (dropped before scanning).
        any::<char>()
            .prop_filter("no lone CR, no BOM", |c| *c != '\r' && *c != '\u{feff}')
            .prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}
