//! Finding the command lines of a comment as GitHub renders it: a command is
//! a line of a top-level paragraph that starts with `/` and a letter. Lines in
//! a block quote (lazy continuations included), a list item, a code block, a
//! code span, a table or HTML are not commands: someone quoting a command is
//! not asking to run it again, and hidden text must not trigger side effects.
//!
//! The Markdown is read by a CommonMark parser (pulldown-cmark, with GitHub's
//! tables, strikethrough and task lists), so the scanner sees the structure a
//! reader sees rather than guessing it line by line. Pure; no I/O.

use std::ops::Range;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// What the parser says about a body: the source ranges of top-level
/// paragraphs, of code spans (visible, but not commands when a line starts
/// inside one) and of HTML (not shown at all).
struct Layout {
    paragraphs: Vec<Range<usize>>,
    code: Vec<Range<usize>>,
    hidden: Vec<Range<usize>>,
}

fn layout(body: &str) -> Layout {
    let mut paragraphs = Vec::new();
    let mut code = Vec::new();
    let mut hidden = Vec::new();
    // Containers open around the current event (quotes, lists, items, …).
    let mut depth = 0usize;
    let mut in_top_paragraph = false;
    for (event, range) in Parser::new_ext(body, options()).into_offset_iter() {
        match event {
            Event::Start(Tag::Paragraph) if depth == 0 => {
                in_top_paragraph = true;
                paragraphs.push(range);
            }
            Event::End(TagEnd::Paragraph) if in_top_paragraph => in_top_paragraph = false,
            Event::Start(_) => depth += usize::from(!in_top_paragraph),
            Event::End(_) => depth = depth.saturating_sub(usize::from(!in_top_paragraph)),
            Event::Code(_) if in_top_paragraph => code.push(range),
            Event::InlineHtml(_) if in_top_paragraph => hidden.push(range),
            Event::Html(html) => {
                // An HTML block that leaves a comment open: the browser hides
                // everything up to the next `-->`, whatever Markdown follows.
                if let Some(open) = unclosed_comment(&html) {
                    let from = range.start + open;
                    let to = body[range.end..]
                        .find("-->")
                        .map(|i| range.end + i + 3)
                        .unwrap_or(body.len());
                    hidden.push(from..to);
                }
            }
            _ => {}
        }
    }
    Layout {
        paragraphs,
        code,
        hidden,
    }
}

/// The offset of a `<!--` that no later `-->` closes.
fn unclosed_comment(html: &str) -> Option<usize> {
    let open = html.rfind("<!--")?;
    (!html[open + 4..].contains("-->")).then_some(open)
}

/// Splits a comment into the command lines a reader sees, with their 1-based
/// line numbers. Each returned text starts with `/` and ends before any HTML
/// (an HTML comment) on the same line: what follows is not shown.
pub(super) fn command_lines(body: &str) -> Vec<(usize, &str)> {
    let body = body.strip_prefix('\u{FEFF}').unwrap_or(body);
    let layout = layout(body);
    let in_hidden = |at: usize| (layout.hidden.iter().chain(&layout.code)).any(|r| r.contains(&at));
    let mut out = Vec::new();
    let mut line_start = 0;
    for (this_line, line) in (1..).zip(body.split_inclusive('\n')) {
        let start = line_start;
        line_start += line.len();
        let trimmed = line.trim_start_matches([' ', '\t']);
        let at = start + (line.len() - trimmed.len());
        if !trimmed.starts_with('/')
            || in_hidden(at)
            || !layout.paragraphs.iter().any(|p| p.contains(&at))
        {
            continue;
        }
        // The visible command ends at the line's end or where hidden text starts.
        let mut end = start + line.trim_end().len();
        if let Some(h) = layout
            .hidden
            .iter()
            .filter(|r| r.start > at && r.start < end)
            .map(|r| r.start)
            .min()
        {
            end = h;
        }
        let text = body[at..end].trim_end();
        if command_name_len(text).is_some() {
            out.push((this_line, text));
        }
    }
    out
}

/// If `line` starts with `/` and a letter, the byte length of `/name` (up to
/// the first space). Any script counts, so a look-alike such as a Cyrillic
/// `с` is answered rather than ignored, and so is `/etc/passwd`: every line
/// that looks like a command gets a reply. `/ foo` and `/123` do not.
pub(super) fn command_name_len(line: &str) -> Option<usize> {
    let rest = line.strip_prefix('/')?;
    rest.chars().next().filter(|c| c.is_alphabetic())?;
    Some(1 + rest.find(char::is_whitespace).unwrap_or(rest.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lines(body: &str) -> Vec<&str> {
        command_lines(body).into_iter().map(|(_, t)| t).collect()
    }

    #[test]
    fn lazy_continuation_keeps_a_line_in_the_quote() {
        // GitHub shows the second line inside the quote.
        assert!(lines("> quoted\n/create-xml-repo 6.009 2018_Spring").is_empty());
        // A blank line ends the quote; then it is a command.
        assert_eq!(
            lines("> quoted\n\n/create-xml-repo 6.009 2018_Spring"),
            ["/create-xml-repo 6.009 2018_Spring"]
        );
    }

    #[test]
    fn fences_and_commands_inside_list_items_are_not_commands() {
        let body = "- ```\n  /create-xml-repo 6.009 2018_Spring\n  ```\n- /help\n\n/release a b";
        assert_eq!(lines(body), ["/release a b"]);
        assert!(lines("1. item\n   /help").is_empty());
    }

    #[test]
    fn nested_quotes_are_not_commands() {
        assert!(lines("> > /help\n> /help\n>\n> > > /help").is_empty());
        assert_eq!(lines("> > a\n\n/help"), ["/help"]);
    }

    #[test]
    fn html_blocks_are_not_commands() {
        assert!(lines("<div>\n/help\n</div>").is_empty());
        assert!(lines("<details>\n<summary>x</summary>\n/help\n</details>").is_empty());
        // After the HTML block ends (a blank line), text is Markdown again.
        assert_eq!(lines("<div>\nx\n</div>\n\n/help"), ["/help"]);
    }

    #[test]
    fn lines_inside_code_spans_are_not_commands() {
        assert!(lines("see `this\n/help` there").is_empty());
        assert_eq!(lines("see `this` there\n/help"), ["/help"]);
        // A code span within a command line is part of its arguments.
        assert_eq!(lines("/put-team a `0`"), ["/put-team a `0`"]);
    }

    #[test]
    fn headings_and_tables_are_not_commands() {
        assert!(lines("/help\n---").is_empty());
        assert!(lines("# /help").is_empty());
        assert!(lines("/help | b\n--- | ---\n/x | y").is_empty());
    }

    #[test]
    fn paragraph_lines_after_text_are_commands() {
        assert_eq!(
            command_lines("Please:\r\n/help  \r\nthanks"),
            [(2, "/help")]
        );
        assert_eq!(command_lines("\u{FEFF}/help"), [(1, "/help")]);
    }

    use crate::command::markdown::arb_markdown;

    /// Every line of `body` with `prefix` in front.
    fn prefixed(body: &str, prefix: &str) -> String {
        body.lines()
            .map(|l| format!("{prefix}{l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    proptest! {
        /// What the scanner finds agrees with the parser's own events: each
        /// command is the start of a text run of a paragraph outside any
        /// container, at the start of its line. Inline spans do not count as
        /// containers: a line that starts with a command inside an emphasis
        /// opened on the line before still starts with the command.
        #[test]
        fn commands_are_top_level_paragraph_text(body in arb_markdown()) {
            let mut depth = 0usize;
            let mut texts = Vec::new();
            for (event, range) in Parser::new_ext(&body, options()).into_offset_iter() {
                match event {
                    Event::Start(
                        Tag::Emphasis | Tag::Strong | Tag::Strikethrough | Tag::Link { .. },
                    )
                    | Event::End(
                        TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough | TagEnd::Link,
                    ) => {}
                    Event::Start(_) => depth += 1,
                    Event::End(_) => depth = depth.saturating_sub(1),
                    // Inside the paragraph: depth 1.
                    Event::Text(_) if depth == 1 => texts.push(range.start),
                    _ => {}
                }
            }
            for (line, text) in command_lines(&body) {
                let at = text.as_ptr() as usize - body.as_ptr() as usize;
                prop_assert!(texts.contains(&at), "{text:?} at {at} in {body:?}");
                let line_start = body[..at].rfind('\n').map_or(0, |i| i + 1);
                prop_assert!(body[line_start..at].chars().all(|c| c == ' ' || c == '\t'));
                prop_assert_eq!(line, body[..at].matches('\n').count() + 1);
            }
        }

        /// Whatever the body, quoting it, fencing it or making it a list item
        /// leaves no command.
        #[test]
        fn containers_hold_no_commands(body in arb_markdown()) {
            let quoted = prefixed(&body, "> ");
            prop_assert!(command_lines(&quoted).is_empty(), "{:?}", quoted);
            let item = format!("- x\n{}", prefixed(&body, "  "));
            prop_assert!(command_lines(&item).is_empty(), "{:?}", item);
            // A fence longer than any run of tildes in the body holds all of it.
            let longest = body.split(|c| c != '~').map(str::len).max().unwrap_or(0);
            let fence = "~".repeat(longest.max(2) + 1);
            let fenced = format!("{fence}\n{body}\n{fence}");
            prop_assert!(command_lines(&fenced).is_empty(), "{:?}", fenced);
        }
    }
}
