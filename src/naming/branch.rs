//! Git branch names. They reach git's argv (the history-free copy), so only
//! what a sane ref looks like is accepted, and never anything git could read
//! as an option.

use super::*;

const BRANCH_RULE: &str = "1-200 characters from letters, digits, '-', '_', '.', '/', \
    not starting with '-' or '/', not ending with '/' or '.lock', without '..' or '//' \
    (^[A-Za-z0-9._/-]{1,200}$)";

fn is_branch(b: &str) -> bool {
    !b.is_empty()
        && b.len() <= 200
        && !b.starts_with('-')
        && !b.starts_with('/')
        && !b.ends_with('/')
        && !b.ends_with(".lock")
        && !b.contains("..")
        && !b.contains("//")
        && b.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/'))
}

/// A branch to copy, e.g. `main` or `release/2018_Spring`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Branch(String);
string_newtype!(Branch, "branch", BRANCH_RULE, is_branch);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_are_checked_before_reaching_argv() {
        assert!(Branch::parse("main").is_ok());
        assert!(Branch::parse("release/2018_Spring").is_ok());
        for bad in ["--upload-pack=x", "", "a..b", "a b", "x.lock", "/x", "a;rm"] {
            let e = Branch::parse(bad).expect_err(bad);
            assert_eq!(e.what, "branch");
        }
    }
}
