//! Names derived from configuration: repo names, team names and course keys.

use super::*;

/// Derives repo names, team names and course keys from `ORC_COURSE_PREFIX` and
/// `ORC_EDX_ORG`, so that no other module formats them by hand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    prefix: String,
    edx_org: String,
}

impl Names {
    /// Validates the prefix and the edX organization.
    pub fn new(prefix: &str, edx_org: &str) -> Result<Names, NameError> {
        if !is_course(prefix) {
            return Err(NameError::new("course prefix", prefix, PREFIX_RULE));
        }
        if !is_course(edx_org) {
            return Err(NameError::new("edX organization", edx_org, EDX_ORG_RULE));
        }
        Ok(Names {
            prefix: prefix.to_owned(),
            edx_org: edx_org.to_owned(),
        })
    }

    /// `ORC_COURSE_PREFIX`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `ORC_EDX_ORG`.
    pub fn edx_org(&self) -> &str {
        &self.edx_org
    }

    /// What goes before the dotless course in a repo name.
    fn head(&self) -> String {
        if self.prefix.ends_with('-') {
            self.prefix.clone()
        } else {
            format!("{}-", self.prefix)
        }
    }

    /// The head that old orcoursetrion used when the prefix ended in `-`.
    fn legacy_head(&self) -> Option<String> {
        self.prefix
            .ends_with('-')
            .then(|| format!("{}-", self.prefix))
    }

    /// `{prefix}-{course without dots}-{term}`; a prefix that already ends in
    /// `-` gets no second dash (fixing orcoursetrion's double-dash names).
    pub fn repo_name(&self, course: &Course, term: &Term) -> String {
        format!("{}{}-{}", self.head(), course.without_dots(), term)
    }

    /// The name a new run's repo gets, checked against GitHub's rule for repo
    /// names: a long prefix, course and term together may pass 100 characters,
    /// and such a name must never reach GitHub.
    pub fn new_repo_name(&self, course: &Course, term: &Term) -> Result<String, NameError> {
        let name = self.repo_name(course, term);
        if is_repo_name(&name) {
            Ok(name)
        } else {
            Err(NameError::new("repository name", &name, REPO_RULE))
        }
    }

    /// The double-dash name old orcoursetrion gave the run when the prefix
    /// ended in `-` (`content-mit--6004r-2018_Spring`); `None` for other
    /// prefixes, whose names did not change. Repos created before the fix
    /// still carry it, so lookups try it after [`Names::repo_name`].
    pub fn legacy_repo_name(&self, course: &Course, term: &Term) -> Option<String> {
        self.legacy_head()
            .map(|h| format!("{}{}-{}", h, course.without_dots(), term))
    }

    /// The names under which a run's repo may exist, in lookup order: the
    /// current name first, then the legacy one. New repos always get the first.
    /// Names over GitHub's length limit are left out.
    pub fn candidate_repo_names(&self, course: &Course, term: &Term) -> Vec<String> {
        let mut v = vec![self.repo_name(course, term)];
        v.extend(self.legacy_repo_name(course, term));
        // A name GitHub would refuse cannot exist there.
        v.retain(|n| is_repo_name(n));
        v
    }

    /// The default team of an xml course run (orcoursetrion: the repo name).
    pub fn team_name(&self, course: &Course, term: &Term) -> String {
        self.repo_name(course, term)
    }

    /// The catalog key of a run: `course-v1:{edx_org}+{course}+{term}`.
    pub fn course_key(&self, course: &Course, term: &Term) -> String {
        format!("course-v1:{}+{}+{}", self.edx_org, course, term)
    }

    /// `name` without this prefix's head, new form or legacy form; GitHub repo
    /// names are case-insensitive, so the prefix is matched that way too.
    fn strip_head<'a>(&self, name: &'a str) -> Vec<&'a str> {
        let mut out = Vec::new();
        for head in std::iter::once(self.head()).chain(self.legacy_head()) {
            if let Some(rest) = strip_prefix_ignore_case(name, &head) {
                out.push(rest);
            }
        }
        out
    }

    /// Recognises a repo name this prefix produced (new or legacy form) and
    /// returns the dotless course and the term.
    ///
    /// Dashes are allowed in both courses and terms, so a name can split in
    /// more than one way. We take the rightmost split whose term is dated
    /// (`x-y-2018_Spring` is course `x-y`, term `2018_Spring`), else the
    /// rightmost split (a term without dashes). [`Names::run_matches`] agrees
    /// with this choice and is exact when the course is known.
    pub fn parse_repo_name(&self, name: &str) -> Option<(String, Term)> {
        self.strip_head(name).into_iter().find_map(|rest| {
            let splits: Vec<(&str, Term)> = rest
                .match_indices('-')
                .filter_map(|(i, _)| {
                    let (course, term) = (&rest[..i], &rest[i + 1..]);
                    let term = Term::parse(term).ok()?;
                    is_dotless_course(course).then_some((course, term))
                })
                .collect();
            let best = splits
                .iter()
                .rev()
                .find(|(_, t)| t.is_dated())
                .or(splits.last())?;
            Some((best.0.to_owned(), best.1.clone()))
        })
    }

    /// The term of `repo_name` if it is a run of `course` under this prefix
    /// (new or legacy form, case-insensitive like GitHub), else `None`.
    ///
    /// A term that ends in `-` plus a dated term, such as `r-2018_Spring`, is
    /// refused: that repo name is better read as the `2018_Spring` run of the
    /// longer course `…-r`, and picking it up as a run of this course would
    /// copy another course's content. Such runs need an explicit old term.
    pub fn run_matches(&self, repo_name: &str, course: &Course) -> Option<Term> {
        let dotless = course.without_dots();
        self.strip_head(repo_name).into_iter().find_map(|rest| {
            let rest = strip_prefix_ignore_case(rest, &dotless)?;
            let term = Term::parse(rest.strip_prefix('-')?).ok()?;
            (!shadows_longer_course(&dotless, &term)).then_some(term)
        })
    }
}

/// Whether the repo name of `dotless`'s run `term` also reads as a dated run
/// of a longer course: some `-`-suffix of the term is a dated term and what
/// precedes it is a valid course (see [`Names::run_matches`]).
fn shadows_longer_course(dotless: &str, term: &Term) -> bool {
    let s = term.as_str();
    s.match_indices('-').any(|(i, _)| {
        let longer = format!("{dotless}-{}", &s[..i]);
        is_dotless_course(&longer) && Term::parse(&s[i + 1..]).is_ok_and(|t| t.is_dated())
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::super::term::tests::realistic_term;
    use super::super::tests::{course, term};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_repo_team_and_key() {
        let n = Names::new("content-mit", "MITx").unwrap();
        let (c, t) = (course("6.004r"), term("2018_Spring"));
        assert_eq!(n.repo_name(&c, &t), "content-mit-6004r-2018_Spring");
        assert_eq!(n.legacy_repo_name(&c, &t), None);
        assert_eq!(
            n.candidate_repo_names(&c, &t),
            ["content-mit-6004r-2018_Spring"]
        );
        assert_eq!(n.team_name(&c, &t), "content-mit-6004r-2018_Spring");
        assert_eq!(n.course_key(&c, &t), "course-v1:MITx+6.004r+2018_Spring");
    }

    #[test]
    fn double_dash_prefix() {
        let n = Names::new("content-mit-", "MITx").unwrap();
        let (c, t) = (course("6.004r"), term("2018_Spring"));
        assert_eq!(n.repo_name(&c, &t), "content-mit-6004r-2018_Spring");
        assert_eq!(
            n.legacy_repo_name(&c, &t).as_deref(),
            Some("content-mit--6004r-2018_Spring")
        );
        assert_eq!(
            n.candidate_repo_names(&c, &t),
            [
                "content-mit-6004r-2018_Spring",
                "content-mit--6004r-2018_Spring"
            ]
        );
        for name in [
            "content-mit-6004r-2018_Spring",
            "content-mit--6004r-2018_Spring",
        ] {
            assert_eq!(n.run_matches(name, &c), Some(t.clone()), "{name}");
            assert_eq!(
                n.parse_repo_name(name),
                Some(("6004r".to_owned(), t.clone()))
            );
        }
    }

    #[test]
    fn names_validation() {
        assert!(Names::new("", "MITx").is_err());
        assert!(Names::new("-x", "MITx").is_err());
        assert!(Names::new("a b", "MITx").is_err());
        assert!(Names::new("x", "MIT x").is_err());
        assert_eq!(Names::new("x", "").unwrap_err().what, "edX organization");
        assert_eq!(Names::new("x/", "M").unwrap_err().what, "course prefix");
    }

    #[test]
    fn run_matching() {
        let n = Names::new("content-mit", "MITx").unwrap();
        let c = course("6.004r");
        assert_eq!(
            n.run_matches("content-mit-6004r-2018_Fall", &c),
            Some(term("2018_Fall"))
        );
        assert_eq!(
            n.run_matches("Content-MIT-6004R-2018_Fall", &c),
            Some(term("2018_Fall"))
        );
        assert_eq!(n.run_matches("content-mit-6004r", &c), None);
        assert_eq!(n.run_matches("content-mit-6004r-", &c), None);
        assert_eq!(n.run_matches("content-mit-6004rx-2018_Fall", &c), None);
        assert_eq!(n.run_matches("content-mit-6004-2018_Fall", &c), None);
        assert_eq!(n.run_matches("other-6004r-2018_Fall", &c), None);
        assert_eq!(n.run_matches("content-mit-6004r-2018.Fall", &c), None);
        // `6.004` must not pick up the 2018_Fall run of a course `6004-r`.
        assert_eq!(
            n.run_matches("content-mit-6004-r-2018_Fall", &course("6.004")),
            None
        );
        assert_eq!(
            n.run_matches("content-mit-6004-r-2018_Fall", &course("6.004-r")),
            Some(term("2018_Fall"))
        );
        // Undated terms with dashes still match.
        assert_eq!(
            n.run_matches("content-mit-6004r-self-paced", &c),
            Some(term("self-paced"))
        );
        assert_eq!(
            n.parse_repo_name("content-mit-6004-r-2018_Fall"),
            Some(("6004-r".to_owned(), term("2018_Fall")))
        );
        assert_eq!(
            n.parse_repo_name("content-mit-a-b-c"),
            Some(("a-b".to_owned(), term("c")))
        );
        assert_eq!(n.parse_repo_name("content-mit-6004r"), None);
        assert_eq!(n.parse_repo_name("unrelated"), None);
        assert_eq!(n.parse_repo_name("content-mit--x-2018_Fall"), None);
    }

    #[test]
    fn new_repo_names_are_bounded_by_githubs_limit() {
        let n = Names::new("content-mit", "MITx").unwrap();
        let c = course(&"c".repeat(64));
        let t = term(&"t".repeat(32));
        assert_eq!(n.repo_name(&c, &t).len(), 109);
        let e = n.new_repo_name(&c, &t).expect_err("109 characters");
        assert_eq!(e.what, "repository name");
        assert!(e.rule.contains("1-100 characters"), "{e}");
        assert!(n.candidate_repo_names(&c, &t).is_empty());
        // 100 exactly is fine.
        let c = course(&"c".repeat(55));
        assert_eq!(n.new_repo_name(&c, &t).map(|s| s.len()), Ok(100));
    }

    proptest! {
        #[test]
        fn repo_name_round_trips(
            prefix in "[A-Za-z0-9][A-Za-z0-9._-]{0,20}",
            c in "[A-Za-z0-9][A-Za-z0-9._-]{0,63}",
            t in prop_oneof![realistic_term().prop_map(String::from), "[A-Za-z0-9][A-Za-z0-9_-]{0,31}"],
        ) {
            let names = Names::new(&prefix, "MITx").unwrap();
            let (c, t) = (course(&c), term(&t));
            for name in names.candidate_repo_names(&c, &t) {
                let got = names.run_matches(&name, &c);
                if shadows_longer_course(&c.without_dots(), &t) {
                    prop_assert_eq!(got, None);
                } else {
                    prop_assert_eq!(got, Some(t.clone()));
                }
            }
            // parse_repo_name is exact when neither part has a dash to split at.
            if !c.as_str().contains('-') && !t.as_str().contains('-') {
                let name = names.repo_name(&c, &t);
                prop_assert_eq!(names.parse_repo_name(&name), Some((c.without_dots(), t.clone())));
            }
        }

        #[test]
        fn parse_repo_name_agrees_with_run_matches(
            prefix in "[a-z][a-z-]{0,8}",
            rest in "[A-Za-z0-9_-]{1,40}",
        ) {
            let names = Names::new(&prefix, "MITx").unwrap();
            let name = format!("{prefix}-{rest}");
            if let Some((dotless, t)) = names.parse_repo_name(&name) {
                let c = course(&dotless);
                prop_assert_eq!(names.run_matches(&name, &c), Some(t));
            }
        }

    }
}
