//! Finding the command lines of a comment: the lines a reader sees as
//! starting with `/name`, outside code (fenced or indented), block quotes and
//! HTML comments. Pure; no I/O.

/// Splits a comment into the command lines a reader sees, with their 1-based
/// line numbers. Each returned text starts with `/` and has any trailing HTML
/// comment cut off.
pub(super) fn command_lines(body: &str) -> Vec<(usize, &str)> {
    let body = body.strip_prefix('\u{FEFF}').unwrap_or(body);
    let mut out = Vec::new();
    // Open fence: its character and length.
    let mut fence: Option<(char, usize)> = None;
    let mut in_comment = false;
    for (i, line) in body.lines().enumerate() {
        let (indent, rest) = indentation(line);
        if let Some((ch, len)) = fence {
            if indent < 4 && closes_fence(rest, ch, len) {
                fence = None;
            }
            continue;
        }
        if in_comment {
            // The rest of a line after `-->` is text, but it does not start the
            // line, so it cannot be a command; it may open another comment.
            if let Some(end) = line.find("-->") {
                in_comment = false;
                scan_comments(&line[end + 3..], &mut in_comment);
            }
            continue;
        }
        if indent >= 4 || rest.starts_with('>') {
            // Indented code, or a block quote: never commands, and HTML in
            // them does not open a comment that outlives them.
            continue;
        }
        if let Some(open) = opens_fence(rest) {
            fence = Some(open);
            continue;
        }
        let cut = scan_comments(rest, &mut in_comment);
        let visible = rest[..cut].trim_end();
        if command_name_len(visible).is_some() {
            out.push((i + 1, visible));
        }
    }
    out
}

/// Leading indentation in columns (a tab advances to the next multiple of 4)
/// and the rest of the line.
fn indentation(line: &str) -> (usize, &str) {
    let mut col = 0;
    for (i, c) in line.char_indices() {
        match c {
            ' ' => col += 1,
            '\t' => col += 4 - col % 4,
            _ => return (col, &line[i..]),
        }
    }
    (col, "")
}

/// A fence opener: three or more backticks or tildes; a backtick fence's info
/// string may not contain a backtick (that would be inline code).
fn opens_fence(rest: &str) -> Option<(char, usize)> {
    let ch = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = rest.chars().take_while(|c| *c == ch).count();
    if len < 3 {
        return None;
    }
    if ch == '`' && rest[len..].contains('`') {
        return None;
    }
    Some((ch, len))
}

/// A fence closer: at least as many of the same character, then only spaces.
fn closes_fence(rest: &str, ch: char, len: usize) -> bool {
    let n = rest.chars().take_while(|c| *c == ch).count();
    n >= len && rest[n * ch.len_utf8()..].trim().is_empty()
}

/// Scans a line that starts outside an HTML comment; returns the byte offset
/// where the first comment starts (the line's length if none) and leaves
/// `in_comment` set if the line ends inside one. `<!--` inside an inline code
/// span is literal, so code spans are skipped.
fn scan_comments(line: &str, in_comment: &mut bool) -> usize {
    let b = line.as_bytes();
    let mut first = None;
    let mut i = 0;
    while i < b.len() {
        if *in_comment {
            match find_bytes(&b[i..], b"-->") {
                Some(end) => {
                    *in_comment = false;
                    i += end + 3;
                }
                None => break,
            }
        } else if b[i] == b'`' {
            let run = b[i..].iter().take_while(|c| **c == b'`').count();
            i += run + matching_backticks(&b[i + run..], run).unwrap_or(0);
        } else if b[i..].starts_with(b"<!--") {
            first.get_or_insert(i);
            *in_comment = true;
            i += 4;
        } else {
            i += 1;
        }
    }
    first.unwrap_or(line.len())
}

/// Byte search, so that scanning can step through a line byte by byte without
/// caring about UTF-8 boundaries (the markers are ASCII).
fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The length up to and including the next run of exactly `run` backticks.
fn matching_backticks(b: &[u8], run: usize) -> Option<usize> {
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'`' {
            let n = b[i..].iter().take_while(|c| **c == b'`').count();
            if n == run {
                return Some(i + n);
            }
            i += n;
        } else {
            i += 1;
        }
    }
    None
}

/// If `line` starts with `/name` followed by whitespace or its end, the byte
/// length of `/name`. `/etc/passwd` and `/ foo` are not commands.
pub(super) fn command_name_len(line: &str) -> Option<usize> {
    let rest = line.strip_prefix('/')?;
    let mut chars = rest.char_indices();
    chars.next().filter(|(_, c)| c.is_ascii_alphabetic())?;
    for (i, c) in chars {
        if c.is_whitespace() {
            return Some(i + 1);
        }
        if !(c.is_ascii_alphabetic() || c == '_' || c == '-') {
            return None;
        }
    }
    Some(line.len())
}
