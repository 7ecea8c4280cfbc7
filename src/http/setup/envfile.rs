//! `.env`: read, update in place (keeping what the operator wrote), and write
//! atomically with mode 0600. The credentials setup writes go nowhere else.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngCore;

use super::{SetupState, KEY_FILE_NAME};
use crate::github::Conversion;
use std::os::unix::fs::DirBuilderExt;

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

fn valid_key(k: &str) -> bool {
    let mut bytes = k.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Quote `value` so that dotenvy reads it back unchanged: single quotes (no
/// escapes, no `$` substitution) when possible, else double quotes with
/// `\\`, `\"`, `\$` and `\n` escaped. Other control characters cannot be
/// written faithfully and are refused.
pub fn quote_env_value(value: &str) -> io::Result<String> {
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(invalid(
            "a .env value cannot hold control characters other than newline and tab",
        ));
    }
    // dotenvy treats a backslash inside single quotes as escaping the next
    // character when it joins lines, so values with one go in double quotes.
    if !value.contains(['\'', '\\', '\n']) {
        return Ok(format!("'{value}'"));
    }
    let mut out = String::with_capacity(value.len() + 8);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

#[derive(Clone, Copy)]
enum Lex {
    Complete,
    Escape,
    Strong,
    StrongEscape,
    Weak,
    WeakEscape,
    WhiteSpace,
}

/// Split `.env` text into logical entries the way dotenvy reads them: a
/// quoted value may run over several lines. Each entry keeps its text,
/// newlines included, so unchanged entries are written back byte for byte.
fn env_entries(text: &str) -> Vec<&str> {
    let mut entries = Vec::new();
    let mut start = 0;
    let mut state = Lex::Complete;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let entry_so_far = &text[start..pos + line.len()];
        pos += line.len();
        if entry_so_far.trim_start().starts_with('#') {
            entries.push(entry_so_far);
            start = pos;
            state = Lex::Complete;
            continue;
        }
        let mut comment = false;
        for c in line.chars() {
            state = match state {
                Lex::WhiteSpace if c == '#' => {
                    comment = true;
                    break;
                }
                Lex::WhiteSpace | Lex::Complete => match c {
                    '\\' => Lex::Escape,
                    '"' => Lex::Weak,
                    '\'' => Lex::Strong,
                    c if c.is_whitespace() && c != '\n' && c != '\r' => Lex::WhiteSpace,
                    _ => Lex::Complete,
                },
                Lex::Escape => Lex::Complete,
                Lex::Weak => match c {
                    '\\' => Lex::WeakEscape,
                    '"' => Lex::Complete,
                    _ => Lex::Weak,
                },
                Lex::WeakEscape => Lex::Weak,
                Lex::Strong => match c {
                    '\\' => Lex::StrongEscape,
                    '\'' => Lex::Complete,
                    _ => Lex::Strong,
                },
                Lex::StrongEscape => Lex::Strong,
            };
        }
        if comment || matches!(state, Lex::Complete | Lex::WhiteSpace) {
            entries.push(&text[start..pos]);
            start = pos;
            state = Lex::Complete;
        }
    }
    if start < text.len() {
        // An unterminated quote: keep the rest as it is.
        entries.push(&text[start..]);
    }
    entries
}

/// The key an entry assigns (`KEY=…` or `export KEY=…`), if any.
fn entry_key(entry: &str) -> Option<&str> {
    let s = entry.trim_start();
    let key_len = |s: &str| {
        s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(s.len())
    };
    let first_ok = |s: &str| s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    if !first_ok(s) {
        return None;
    }
    let n = key_len(s);
    let (mut key, mut rest) = s.split_at(n);
    if key == "export" && !rest.trim_start().starts_with('=') {
        let r = rest.trim_start();
        if !first_ok(r) {
            return None;
        }
        let n = key_len(r);
        (key, rest) = r.split_at(n);
    }
    rest.trim_start().starts_with('=').then_some(key)
}

/// `existing` with each of `updates` set (first assignment replaced, later
/// ones dropped, missing ones appended) and each of `disable` replaced by a
/// comment that names it but not its value. Everything else is kept as is.
pub fn render_env(
    existing: &str,
    updates: &[(&str, &str)],
    disable: &[(&str, &str)],
) -> io::Result<String> {
    for (k, _) in updates.iter().chain(disable) {
        if !valid_key(k) {
            return Err(invalid(format!("{k:?} is not a valid variable name")));
        }
    }
    let lines: Vec<(&str, String)> = updates
        .iter()
        .map(|(k, v)| Ok((*k, format!("{k}={}\n", quote_env_value(v)?))))
        .collect::<io::Result<_>>()?;
    let existing = existing.strip_prefix('\u{feff}').unwrap_or(existing);
    let mut out = String::with_capacity(existing.len() + 512);
    let mut written = vec![false; lines.len()];
    for entry in env_entries(existing) {
        let key = entry_key(entry);
        if let Some(i) = key.and_then(|k| lines.iter().position(|(lk, _)| *lk == k)) {
            if !written[i] {
                out.push_str(&lines[i].1);
                written[i] = true;
            }
        } else if let Some((k, why)) = key.and_then(|k| disable.iter().find(|(d, _)| *d == k)) {
            out.push_str(&format!("# {k} removed by orcoursetrion setup: {why}\n"));
        } else {
            out.push_str(entry);
            if !entry.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    if written.iter().any(|w| !w) {
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str("# Written by orcoursetrion setup\n");
        for (i, (_, line)) in lines.iter().enumerate() {
            if !written[i] {
                out.push_str(line);
            }
        }
    }
    Ok(out)
}

/// Write `contents` to `path` with mode 0600: into a new temp file beside it,
/// synced, then renamed over it, so a crash leaves the old file or the new
/// one, never half of either.
pub fn write_private_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| invalid(format!("{} is not a file path", path.display())))?
        .to_string_lossy()
        .into_owned();
    let mut attempt = 0;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!(
            ".{name}.tmp-{}-{:016x}",
            std::process::id(),
            rand::rngs::OsRng.next_u64()
        ));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 8 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let result = (|| {
        // The mode above is filtered by the umask, which only removes bits;
        // set it again in case the file system ignored it.
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Set `updates` in the `.env` at `path` (created if missing), keeping every
/// other line; the file ends up mode 0600, written atomically.
/// The private key, then `.env` (which points at it).
pub(super) fn save(cfg: &SetupState, conv: &Conversion) -> io::Result<()> {
    let key_dir = match cfg.key_dir.as_os_str().is_empty() {
        true => Path::new("."),
        false => cfg.key_dir.as_path(),
    };
    if !key_dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(key_dir)?;
    }
    // A key beside a .env in the working directory is named relatively, so
    // the folder can move; anywhere else, by its absolute path.
    let key_path = if key_dir == Path::new(".") {
        PathBuf::from(KEY_FILE_NAME)
    } else {
        fs::canonicalize(key_dir)?.join(KEY_FILE_NAME)
    };
    write_private_file(&key_path, conv.pem.as_bytes())?;
    if let Some(parent) = cfg.env_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
    }
    let id = conv.id.to_string();
    let key_path = key_path.to_string_lossy();
    let mut updates = vec![
        ("ORC_APP_ID", id.as_str()),
        ("ORC_APP_PRIVATE_KEY_PATH", key_path.as_ref()),
    ];
    if let Some(ws) = &conv.webhook_secret {
        updates.push(("ORC_WEBHOOK_SECRET", ws.as_str()));
    }
    updates.extend([
        ("ORC_APP_CLIENT_ID", conv.client_id.as_str()),
        ("ORC_APP_CLIENT_SECRET", conv.client_secret.as_str()),
        ("ORC_APP_SLUG", conv.slug.as_str()),
    ]);
    // An inline key would win over the path (config.rs): it belongs to
    // another App, so it goes.
    update_env(
        &cfg.env_path,
        &updates,
        &[(
            "ORC_APP_PRIVATE_KEY",
            "ORC_APP_PRIVATE_KEY_PATH points at the new App's key",
        )],
    )
}

#[cfg(test)]
pub fn write_env(path: &Path, updates: &[(&str, &str)]) -> io::Result<()> {
    update_env(path, updates, &[])
}

/// [`write_env`], also replacing the assignments of `disable` (name, reason)
/// by a comment.
pub fn update_env(
    path: &Path,
    updates: &[(&str, &str)],
    disable: &[(&str, &str)],
) -> io::Result<()> {
    let existing = match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| invalid(format!("{} is not UTF-8", path.display())))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let text = render_env(&existing, updates, disable)?;
    write_private_file(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn read_back(text: &str) -> HashMap<String, String> {
        dotenvy::from_read_iter(text.as_bytes())
            .map(|r| r.expect("dotenvy parses what we wrote"))
            .collect()
    }

    #[test]
    fn quoting_prefers_single_quotes() {
        assert_eq!(quote_env_value("4242").expect("q"), "'4242'");
        assert_eq!(
            quote_env_value("/data/orcoursetrion-app.pem").expect("q"),
            "'/data/orcoursetrion-app.pem'"
        );
        assert_eq!(
            quote_env_value("it's $HOME\\x").expect("q"),
            r#""it's \$HOME\\x""#
        );
        assert!(quote_env_value("a\rb").is_err());
        assert!(quote_env_value("a\0b").is_err());
    }

    #[test]
    fn new_env_gets_every_key() {
        let text = render_env("", &[("ORC_APP_ID", "4242"), ("ORC_APP_SLUG", "orc")], &[])
            .expect("render");
        let vars = read_back(&text);
        assert_eq!(vars["ORC_APP_ID"], "4242");
        assert_eq!(vars["ORC_APP_SLUG"], "orc");
        assert!(
            text.starts_with("# Written by orcoursetrion setup\n"),
            "{text}"
        );
    }

    #[test]
    fn existing_lines_are_kept_and_keys_replaced_once() {
        let existing = "\u{feff}# my settings\n\
                        ORC_REQUESTS_REPOS=mitodl/course-requests\n\
                        export ORC_APP_ID=111\n\
                        ORC_GH_NAME=\"Multi\nline\"   # trailing comment\n\
                        \n\
                        ORC_APP_ID = 222\n\
                        ORC_APP_PRIVATE_KEY=\"-----BEGIN RSA PRIVATE KEY-----\nsecretstuff\n-----END RSA PRIVATE KEY-----\"\n\
                        ORC_EDX_ORG=MITx";
        let text = render_env(
            existing,
            &[("ORC_APP_ID", "4242"), ("ORC_APP_SLUG", "orc")],
            &[("ORC_APP_PRIVATE_KEY", "replaced")],
        )
        .expect("render");
        assert!(
            text.starts_with(
                "# my settings\nORC_REQUESTS_REPOS=mitodl/course-requests\nORC_APP_ID='4242'\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("ORC_GH_NAME=\"Multi\nline\"   # trailing comment\n"),
            "{text}"
        );
        assert_eq!(text.matches("ORC_APP_ID").count(), 1, "{text}");
        assert!(!text.contains("secretstuff"), "{text}");
        assert!(
            text.contains("# ORC_APP_PRIVATE_KEY removed by orcoursetrion setup: replaced\n"),
            "{text}"
        );
        assert!(text.contains("ORC_EDX_ORG=MITx\n"), "{text}");
        let vars = read_back(&text);
        assert_eq!(vars["ORC_APP_ID"], "4242");
        assert_eq!(vars["ORC_APP_SLUG"], "orc");
        assert_eq!(vars["ORC_GH_NAME"], "Multi\nline");
        assert_eq!(vars["ORC_REQUESTS_REPOS"], "mitodl/course-requests");
        assert_eq!(vars["ORC_EDX_ORG"], "MITx");
        assert!(!vars.contains_key("ORC_APP_PRIVATE_KEY"));
        // Writing the same values again changes nothing.
        let again = render_env(
            &text,
            &[("ORC_APP_ID", "4242"), ("ORC_APP_SLUG", "orc")],
            &[],
        )
        .expect("render");
        assert_eq!(again, text);
    }

    #[test]
    fn entry_keys() {
        assert_eq!(entry_key("A=1\n"), Some("A"));
        assert_eq!(entry_key("  export  B_2 = x"), Some("B_2"));
        assert_eq!(entry_key("export=1"), Some("export"));
        assert_eq!(entry_key("# A=1"), None);
        assert_eq!(entry_key("1A=1"), None);
        assert_eq!(entry_key("A 1"), None);
    }

    #[test]
    fn invalid_keys_are_refused() {
        assert!(render_env("", &[("A-B", "x")], &[]).is_err());
        assert!(render_env("", &[("", "x")], &[]).is_err());
    }

    #[test]
    fn write_env_is_0600_and_atomic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".env");
        fs::write(&path, "KEEP=me\n").expect("seed");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        write_env(&path, &[("ORC_APP_ID", "4242")]).expect("write");
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let vars: HashMap<String, String> = dotenvy::from_path_iter(&path)
            .expect("open")
            .map(|r| r.expect("parse"))
            .collect();
        assert_eq!(vars["KEEP"], "me");
        assert_eq!(vars["ORC_APP_ID"], "4242");
        // No temp file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from(".env")]);
    }

    #[test]
    fn write_env_creates_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new.env");
        write_env(&path, &[("A", "1")]).expect("write");
        assert_eq!(
            fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
            0o600
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_value_reads_back_unchanged(v in "[^\\p{Cc}]{0,40}|[ -~\\n\\t'\"\\\\$#]{0,40}") {
            let text = render_env("OTHER='x'\n", &[("ORC_VALUE", &v)], &[]).expect("render");
            let vars = read_back(&text);
            prop_assert_eq!(&vars["ORC_VALUE"], &v);
            prop_assert_eq!(&vars["OTHER"], "x");
        }

        #[test]
        fn existing_entries_survive_an_update(a in "[ -~\\n\\t'\"\\\\$#]{0,30}", b in "[ -~\\n'\"\\\\]{0,30}") {
            let first = render_env("", &[("A", &a), ("B", &b)], &[]).expect("render");
            let second = render_env(&first, &[("C", "c")], &[]).expect("render");
            let vars = read_back(&second);
            prop_assert_eq!(&vars["A"], &a);
            prop_assert_eq!(&vars["B"], &b);
            prop_assert_eq!(&vars["C"], "c");
        }
    }
}
