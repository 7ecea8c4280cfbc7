//! Words of a command line: whitespace-separated words, `"quoted words"` and
//! `key=value` options; and the quoting that writes them back canonically.

use super::code;
use crate::naming::Login;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Arg {
    Word(String),
    Opt { key: String, value: String },
}

/// If `s` starts with `key=` (`[A-Za-z][A-Za-z0-9_-]*=`), the length of `key`.
pub(super) fn option_key_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if !b.first()?.is_ascii_alphabetic() {
        return None;
    }
    let n = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b'-')
        .count();
    (b.get(n) == Some(&b'=')).then_some(n)
}

/// Splits arguments: whitespace-separated words, where `"…"` groups words (with
/// `\"`, `\\` and `\<` escapes inside), and an unquoted leading `key=` makes an
/// option. `\<` is Markdown's own escape: a bare `<A>` is an HTML tag that
/// GitHub hides, so a value with `<` in it is written `"\<A>"`.
pub(super) fn tokenize(s: &str) -> Result<Vec<Arg>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let key = option_key_len(rest).map(|n| {
            let k = rest[..n].to_owned();
            rest = &rest[n + 1..];
            k
        });
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let mut end = rest.len();
        while let Some((i, c)) = chars.next() {
            if c.is_whitespace() {
                end = i;
                break;
            }
            if c != '"' {
                value.push(c);
                continue;
            }
            let mut closed = false;
            while let Some((_, q)) = chars.next() {
                match q {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => match chars.clone().next() {
                        Some((_, e @ ('"' | '\\' | '<'))) => {
                            value.push(e);
                            chars.next();
                        }
                        _ => value.push('\\'),
                    },
                    q => value.push(q),
                }
            }
            if !closed {
                return Err(format!(
                    "Unterminated quote in {}: close it with `\"`",
                    code(&rest[i..])
                ));
            }
        }
        out.push(match key {
            Some(key) => Arg::Opt { key, value },
            None => Arg::Word(value),
        });
        rest = rest[end..].trim_start();
    }
    Ok(out)
}

/// Quotes a value for the canonical command line when the tokenizer would not
/// read it back as one word.
pub(super) fn quoted(s: &str) -> String {
    if !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\\' || c == '<')
    {
        return s.to_owned();
    }
    always_quoted(s)
}

fn always_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' || c == '<' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A positional value: also quoted if it would otherwise read as `key=value`.
pub(super) fn quoted_positional(s: &str) -> String {
    if option_key_len(s).is_some() {
        always_quoted(s)
    } else {
        quoted(s)
    }
}

pub(super) fn members_arg(members: &[Login]) -> String {
    members
        .iter()
        .map(Login::as_str)
        .collect::<Vec<_>>()
        .join(",")
}
