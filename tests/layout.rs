//! The layout rules of docs/ARCHITECTURE.md, checked: modules depend only on
//! lower layers (so there are no cycles), and no file grows past its size.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Each top-level module and its layer; a module may use only lower layers.
const LAYERS: &[(&str, u8)] = &[
    ("clock", 0),
    ("secret", 0),
    ("stop", 0),
    ("text", 0),
    ("word_enum", 0),
    ("naming", 1),
    ("catalog", 1),
    ("forms", 1),
    ("checklist", 2),
    ("github", 2),
    ("store", 2),
    ("config", 3),
    ("metrics", 3),
    ("actions", 4),
    ("doctor", 4),
    ("instance", 4),
    ("redeliver", 4),
    ("logs", 4),
    ("command", 5),
    ("jobs", 6),
    ("http", 7),
    ("server", 8),
    ("cli", 8),
    ("gitreload", 9),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a source file belongs to.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

#[test]
fn modules_depend_only_on_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for f in &files {
        let Some(m) = module_of(&src, f) else {
            continue;
        };
        let Some(&own) = layer.get(m.as_str()) else {
            continue; // lib.rs, main.rs
        };
        let text = fs::read_to_string(f).expect("read");
        for (i, _) in text.match_indices("crate::") {
            let used: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if used == m {
                continue;
            }
            match layer.get(used.as_str()) {
                Some(&l) if l < own => {}
                Some(&l) => wrong.push(format!(
                    "{} (layer {own}) uses crate::{used} (layer {l})",
                    f.display()
                )),
                None => {} // a re-export from lib.rs, e.g. a macro path
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "dependencies that point up:\n{}",
        wrong.join("\n")
    );
}

/// Lines of a file before its unit tests (`#[cfg(test)]` at the top level).
fn code_lines(text: &str) -> usize {
    text.lines()
        .take_while(|l| !l.starts_with("#[cfg(test)]"))
        .count()
}

#[test]
fn files_stay_small() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut too_big = Vec::new();
    for dir in ["src", "examples", "benches"] {
        let mut files = Vec::new();
        rust_files(&root.join(dir), &mut files);
        for f in files {
            let text = fs::read_to_string(&f).expect("read");
            let (total, code) = (text.lines().count(), code_lines(&text));
            // A file of unit tests (`tests.rs`) counts as tests.
            let is_tests = f.file_name().is_some_and(|n| n == "tests.rs");
            if (!is_tests && (total > 800 || code > 500)) || (is_tests && total > 1500) {
                too_big.push(format!(
                    "{}: {total} lines, {code} before tests",
                    f.display()
                ));
            }
        }
    }
    let mut files = Vec::new();
    rust_files(&root.join("tests"), &mut files);
    for f in files {
        let total = fs::read_to_string(&f).expect("read").lines().count();
        if total > 1500 {
            too_big.push(format!("{}: {total} lines", f.display()));
        }
    }
    assert!(
        too_big.is_empty(),
        "files too long:\n{}",
        too_big.join("\n")
    );
}
