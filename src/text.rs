//! Text that leaves the process: Markdown code spans for GitHub comments and
//! HTML escaping for pages. User input is shown through these, never raw.

/// How many characters of an offending value an error message repeats: enough
/// to recognise it, not enough to let a pasted essay flood a comment.
pub(crate) const SHOWN_VALUE_CHARS: usize = 80;

/// Renders a user-supplied value for an error message: truncated, with control
/// and invisible formatting characters escaped so that the message cannot be
/// broken across lines or visually reordered (bidi overrides); with
/// `escape_quotes`, also `"` and `\\`, for values shown between quotes.
pub(crate) fn escaped(value: &str, escape_quotes: bool) -> String {
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        if i == SHOWN_VALUE_CHARS {
            out.push('…');
            break;
        }
        match c {
            '"' | '\\' if escape_quotes => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || is_invisible_format(c) => {
                out.extend(c.escape_default());
            }
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn shown_value(value: &str) -> String {
    escaped(value, true)
}

/// An inline Markdown code span showing `s` verbatim (truncated to 80
/// characters, control and bidi characters escaped), whatever backticks it
/// holds. Replies echo user input this way so that it cannot render as
/// Markdown or ping anyone with `@`.
pub fn markdown_code(s: &str) -> String {
    let shown = escaped(s, false);
    let mut longest = 0;
    let mut run = 0;
    for c in shown.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if shown.starts_with('`') || shown.ends_with('`') || shown.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{shown}{pad}{fence}")
}

/// Zero-width and bidirectional formatting characters, which could make a value
/// look different from what it is.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}')
}

/// Escape for HTML text and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn code_spans_hold_any_backticks() {
        assert_eq!(markdown_code("a"), "`a`");
        assert_eq!(markdown_code("a`b"), "``a`b``");
        assert_eq!(markdown_code("`x`"), "`` `x` ``");
        assert_eq!(markdown_code(""), "`  `");
        assert_eq!(markdown_code("a\nb"), "`a\\nb`");
        assert!(markdown_code(&"x".repeat(200)).ends_with("…`"));
    }
}
