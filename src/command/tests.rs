use super::lexer::Arg;
use super::markdown::arb_markdown;
use super::*;
use crate::actions::{CourseRerun, CreateExportRepo, CreateXmlRepo, PutTeam, RerunStudio};
use crate::naming::{Login, OrgName, TeamName};

use proptest::prelude::*;

fn course(s: &str) -> Course {
    Course::parse(s).expect("valid course in test")
}
fn term(s: &str) -> Term {
    Term::parse(s).expect("valid term in test")
}
fn login(s: &str) -> Login {
    Login::parse(s).expect("valid login in test")
}

/// The single command in `body`, which must parse.
fn one(body: &str) -> Command {
    let invs = parse_comment(body);
    assert_eq!(invs.len(), 1, "{body:?} -> {invs:?}");
    invs[0]
        .result
        .clone()
        .unwrap_or_else(|e| panic!("{body:?}: {e}"))
}

/// The error of the single command in `body`, which must not parse.
fn err(body: &str) -> CommandError {
    let invs = parse_comment(body);
    assert_eq!(invs.len(), 1, "{body:?} -> {invs:?}");
    invs[0].result.clone().expect_err(body)
}

/// The parse error for `input` says `part`.
fn err_contains(input: &str, part: &str) {
    let e = err(input);
    assert!(e.message.contains(part), "{input}: {e}");
}

/// The parse error for `input` begins with `start`.
fn err_starts_with(input: &str, start: &str) {
    let e = err(input);
    assert!(e.message.starts_with(start), "{input}: {e}");
}

fn names(body: &str) -> Vec<&'static str> {
    parse_comment(body)
        .into_iter()
        .map(|i| i.result.map(|c| c.name()).unwrap_or("ERROR"))
        .collect()
}

// --- each command's happy path

#[test]
fn help() {
    assert_eq!(one("/help"), Command::Help { topic: None });
    assert_eq!(
        one("/help rerun_Studio"),
        Command::Help {
            topic: Some("rerun-studio".into())
        }
    );
    assert_eq!(
        one("/help /plan"),
        Command::Help {
            topic: Some("plan".into())
        }
    );
    let e = err("/help rerun-stuido");
    assert_eq!(e.suggestion.as_deref(), Some("rerun-studio"));
    err_contains("/help a b", "Unexpected extra argument `b`");
    err_contains("/help x=1", "takes no options");
}

#[test]
fn create_export_repo() {
    assert_eq!(
        one("/create-export-repo 6.004r 2018_Spring"),
        Command::Run(Action::CreateExportRepo(CreateExportRepo {
            course: course("6.004r"),
            term: term("2018_Spring"),
            description: None
        }))
    );
    assert_eq!(
        one(r#"/create-export-repo DevOps.001 Spring_2030 description="My awesome class repo""#),
        Command::Run(Action::CreateExportRepo(CreateExportRepo {
            course: course("DevOps.001"),
            term: term("Spring_2030"),
            description: Some("My awesome class repo".into())
        }))
    );
    // A blank description is none at all.
    assert_eq!(
        one(r#"/create-export-repo a b description="  ""#),
        Command::Run(Action::CreateExportRepo(CreateExportRepo {
            course: course("a"),
            term: term("b"),
            description: None
        }))
    );
}

#[test]
fn rerun_studio() {
    assert_eq!(
        one("/rerun-studio 6.004r 2018_Spring 2019_Spring description=x"),
        Command::Run(Action::RerunStudio(RerunStudio {
            run: CourseRerun {
                course: course("6.004r"),
                term: term("2018_Spring"),
                new_term: term("2019_Spring"),
            },
            description: Some("x".into())
        }))
    );
}

#[test]
fn two_argument_commands() {
    let (c, t) = (course("6.004r"), term("2018_Spring"));
    let cases = [
        (
            "release-studio",
            Command::Run(Action::ReleaseStudio(CourseRun {
                course: c.clone(),
                term: t.clone(),
            })),
        ),
        (
            "rerun-xml",
            Command::Run(Action::RerunXml(CourseRun {
                course: c.clone(),
                term: t.clone(),
            })),
        ),
        (
            "release-xml",
            Command::Run(Action::ReleaseXml(CourseRun {
                course: c.clone(),
                term: t.clone(),
            })),
        ),
        (
            "release",
            Command::Release(CourseRun {
                course: c.clone(),
                term: t.clone(),
            }),
        ),
    ];
    for (name, expected) in cases {
        assert_eq!(one(&format!("/{name} 6.004r 2018_Spring")), expected);
        assert!(expected.is_mutating());
        assert_eq!(expected.name(), name);
    }
}

#[test]
fn create_xml_repo() {
    assert_eq!(
        one("/create-xml-repo 6.004r 2018_Spring members=alice,bob"),
        Command::Run(Action::CreateXmlRepo(CreateXmlRepo {
            course: course("6.004r"),
            term: term("2018_Spring"),
            team: None,
            members: Some(vec![login("alice"), login("bob")]),
            description: None
        }))
    );
    assert_eq!(
        one(
            r#"/create-xml-repo 6.004r 2018_Spring team="6.004 Staff" members="alice, bob carol" description="Computation \"Structures\"""#
        ),
        Command::Run(Action::CreateXmlRepo(CreateXmlRepo {
            course: course("6.004r"),
            term: term("2018_Spring"),
            team: Some(TeamName::parse("6.004 Staff").unwrap()),
            members: Some(vec![login("alice"), login("bob"), login("carol")]),
            description: Some("Computation \"Structures\"".into())
        }))
    );
}

#[test]
fn put_team() {
    assert_eq!(
        one(r#"/put-team mitx-xml "6.004 staff""#),
        Command::Run(Action::PutTeam(PutTeam {
            org: OrgName::parse("mitx-xml").unwrap(),
            team: TeamName::parse("6.004 staff").unwrap(),
            read_only: false,
            members: None
        }))
    );
    for (v, expected) in [
        ("true", true),
        ("TRUE", true),
        ("yes", true),
        ("false", false),
        ("no", false),
    ] {
        let Command::Run(Action::PutTeam(PutTeam { read_only, .. })) =
            one(&format!("/put-team o t read_only={v}"))
        else {
            panic!("not put-team");
        };
        assert_eq!(read_only, expected, "{v}");
    }
    // Option keys are case-insensitive and `-`/`_` alike.
    assert!(matches!(
        one("/put-team o t Read-Only=true members=a"),
        Command::Run(Action::PutTeam(PutTeam {
            read_only: true,
            members: Some(_),
            ..
        }))
    ));
    err_contains(
        "/put-team o t read_only=maybe",
        "expected `true` or `false`, got `maybe`",
    );
    err_contains("/put-team -o t", "Bad ORG: organization `-o` is invalid");
    err_contains("/put-team o a/b", "Bad TEAM: team `a/b` is invalid");
}

#[test]
fn rerun() {
    let expected = Command::Rerun(Rerun {
        course: course("6.004r"),
        new_term: term("2019_Spring"),
        from: Some(term("2018_Spring")),
    });
    assert_eq!(one("/rerun 6.004r 2019_Spring from 2018_Spring"), expected);
    assert_eq!(one("/rerun 6.004r 2019_Spring FROM 2018_Spring"), expected);
    assert_eq!(one("/rerun 6.004r 2019_Spring from=2018_Spring"), expected);
    assert_eq!(
        one("/rerun 6.004r 2019_Spring"),
        Command::Rerun(Rerun {
            course: course("6.004r"),
            new_term: term("2019_Spring"),
            from: None
        })
    );
    // A course may be called `from`; only later `from`s are the keyword.
    assert!(matches!(one("/rerun from 2019_Spring"), Command::Rerun(_)));
    err_contains(
        "/rerun 6.004r 2019_Spring from",
        "`from` needs the OLD_TERM",
    );
    err_contains("/rerun 6.004r from 2018_Spring", "Missing NEW_TERM");
    err_contains(
        "/rerun 6.004r 2019_Spring from 2018_Spring from=2017_Fall",
        "given twice",
    );
    err_contains(
        "/rerun 6.004r 2019_Spring from 2018.Spring",
        "Bad `from=`: term `2018.Spring` is invalid",
    );
}

#[test]
fn aliases_and_case() {
    for line in [
        "/create_xml_repo 6.004r 2018_Spring",
        "/CREATE-XML-REPO 6.004r 2018_Spring",
        "/Create_Xml-Repo 6.004r 2018_Spring",
    ] {
        assert_eq!(one(line).name(), "create-xml-repo", "{line}");
    }
    assert_eq!(find_spec("/Put_Team").map(|s| s.name), Some("put-team"));
    assert!(find_spec("nope").is_none());
}

// --- lexical details

#[test]
fn quoting() {
    assert_eq!(
        tokenize(r#"a "b c" k=v k2="x \"y\" \\ \z" "p=q" a"b c"d"#).unwrap(),
        vec![
            Arg::Word("a".into()),
            Arg::Word("b c".into()),
            Arg::Opt {
                key: "k".into(),
                value: "v".into()
            },
            Arg::Opt {
                key: "k2".into(),
                value: r#"x "y" \ \z"#.into()
            },
            Arg::Word("p=q".into()),
            Arg::Word("ab cd".into()),
        ]
    );
    assert_eq!(tokenize(r"a\b").unwrap(), vec![Arg::Word(r"a\b".into())]);
    assert_eq!(
        tokenize("k=").unwrap(),
        vec![Arg::Opt {
            key: "k".into(),
            value: "".into()
        }]
    );
    assert_eq!(tokenize("=x").unwrap(), vec![Arg::Word("=x".into())]);
    assert!(tokenize(r#"a "b c"#).is_err());
    assert!(tokenize(r#"a "b c\""#).is_err());
    err_starts_with(
        r#"/create-export-repo a b description="oops"#,
        "Unterminated quote",
    );
}

#[test]
fn line_endings_and_spaces() {
    let body =
        "/help   \r\n/release 6.004r 2018_Spring \t\r\n   /rerun-xml  6.004r   2018_Spring\r\n";
    let invs = parse_comment(body);
    assert_eq!(invs.len(), 3);
    assert_eq!(invs[0].text, "/help");
    assert_eq!(invs[1].text, "/release 6.004r 2018_Spring");
    assert_eq!(invs[2].text, "/rerun-xml  6.004r   2018_Spring");
    assert_eq!(invs.iter().map(|i| i.line).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(invs.iter().all(|i| i.result.is_ok()));
    assert_eq!(names("\u{FEFF}/help"), ["help"]);
}

#[test]
fn several_commands_in_order() {
    let body = "Please set this up:\n\n/create-xml-repo 6.004r 2018_Spring members=alice\n\nand then\n\n/release-xml 6.004r 2018_Spring\n/frob\nthanks!";
    let invs = parse_comment(body);
    assert_eq!(invs.iter().map(|i| i.line).collect::<Vec<_>>(), [3, 7, 8]);
    assert_eq!(names(body), ["create-xml-repo", "release-xml", "ERROR"]);
}

#[test]
fn look_alike_letters_get_a_suggestion_and_never_run() {
    // A Cyrillic `с` in place of the Latin `c`.
    let e = err("/сreate-xml-repo 6.004r 2018_Spring");
    assert_eq!(e.suggestion.as_deref(), Some("/create-xml-repo"), "{e}");
    assert!(e.message.contains("Unknown command"));
    let e = err("/hеlp");
    assert_eq!(e.suggestion.as_deref(), Some("/help"));
    // An en dash in place of a hyphen.
    assert_eq!(
        err("/rerun–xml a b").suggestion.as_deref(),
        Some("/rerun-xml")
    );
}

#[test]
fn a_term_written_with_a_space_gets_its_underscore() {
    let e = err("/create-export-repo 6.004r 2018 Spring");
    assert_eq!(e.suggestion.as_deref(), Some("2018_Spring"), "{e}");
    // Any other extra word gets no such guess.
    assert_eq!(err("/release a b c").suggestion, None);
    assert_eq!(err("/help a b").suggestion, None);
}

#[test]
fn not_commands() {
    for body in [
        "/ help",
        "/",
        "/123",
        "see /help",
        "- /help",
        "* /help",
        "1. /help",
        "`/help`",
        "//help",
        "\\/help",
    ] {
        assert!(parse_comment(body).is_empty(), "{body:?}");
    }
    // A line that starts with `/` and a letter looks like a command, so it is
    // answered (as unknown) rather than ignored.
    for body in ["/etc/passwd", "/help.", "/he1p", "/сreate-xml-repo a b"] {
        let e = err(body);
        assert!(e.message.contains("Unknown command"), "{body:?}: {e}");
    }
}

/// GitHub hides `<A>` as an HTML tag, so a team named `<A>` is written with
/// Markdown's escape, `"\<A>"`, and the canonical line writes it that way too.
#[test]
fn a_value_with_a_tag_in_it_is_written_escaped() {
    let line = r#"/put-team mitx "\<A> staff""#;
    let cmd = one(line);
    let Command::Run(Action::PutTeam(PutTeam { team, .. })) = &cmd else {
        panic!("{cmd:?}");
    };
    assert_eq!(team.as_str(), "<A> staff");
    assert_eq!(cmd.to_string(), line);
    let Command::Run(Action::PutTeam(put)) = one("/put-team mitx x") else {
        panic!("put-team");
    };
    let tagged = Command::Run(Action::PutTeam(PutTeam {
        team: TeamName::parse("<A>").unwrap(),
        ..put
    }));
    assert_eq!(one(&tagged.to_string()), tagged);
    // Written bare, the tag is hidden, and so the team is missing.
    err_contains("/put-team mitx <A>", "Missing TEAM");
}

#[test]
fn fenced_code_is_ignored() {
    for body in [
        "```\n/help\n```\n/release a b",
        "```rust title=\"x\"\n/help\n```\n/release a b",
        "~~~\n/help\n~~~\n/release a b",
        "   ```\n/help\n   ```\n/release a b",
        // A fence closes only with at least as many of the same character.
        "````\n/help\n```\n/help\n~~~~\n/help\n````\n/release a b",
        "~~~\n/help\n```\n/help\n~~~\n/release a b",
        // A closing fence has nothing after it but spaces.
        "```\n/help\n``` x\n/help\n```  \n/release a b",
    ] {
        assert_eq!(names(body), ["release"], "{body:?}");
    }
    // An unclosed fence runs to the end.
    assert!(parse_comment("```\n/help\n/release a b").is_empty());
    // Backticks in the info string: inline code, not a fence.
    assert_eq!(names("``` `x`\n/release a b"), ["release"]);
    // Two backticks are not a fence.
    assert_eq!(names("``\n/release a b"), ["release"]);
    // Indented 4 spaces: not a fence closer, still inside.
    assert!(parse_comment("```\n/help\n    ```\n/help").is_empty());
    assert_eq!(
        names("```\r\n/help\r\n```\r\n/release a b\r\n"),
        ["release"]
    );
}

#[test]
fn indented_code_is_ignored() {
    assert!(parse_comment("    /help").is_empty());
    assert!(parse_comment("\t/help").is_empty());
    assert!(parse_comment("  \t/help").is_empty());
    assert_eq!(names("   /help"), ["help"]);
}

#[test]
fn quotes_are_ignored() {
    let body = "> /create-xml-repo 6.004r 2018_Spring\n>/help\n  > > /help\n\nDone.\n/release a b";
    assert_eq!(names(body), ["release"]);
}

#[test]
fn html_comments_are_ignored() {
    assert!(parse_comment("<!-- /help -->").is_empty());
    assert!(parse_comment("<!--\n/help\n/release a b\n-->").is_empty());
    assert_eq!(names("<!--\n/help\n--> text\n/release a b"), ["release"]);
    assert_eq!(
        names("<!-- a --> <!-- b\n/help\n-->\n/release a b"),
        ["release"]
    );
    assert_eq!(names("text <!-- x --> more\n/release a b"), ["release"]);
    // The rest of a command line after `<!--` is hidden, so not an argument.
    let invs = parse_comment("/release a b <!-- c -->");
    assert_eq!(invs[0].text, "/release a b");
    assert!(invs[0].result.is_ok());
    let invs = parse_comment("/release a b <!-- c\n/help\n-->\n/help");
    assert_eq!(invs.len(), 2);
    assert_eq!(invs[1].line, 4);
    // `<!--` in inline code is literal.
    assert_eq!(names("use `<!--` for comments\n/help"), ["help"]);
    assert_eq!(names("use ``a`<!--`` for comments\n/help"), ["help"]);
    // An unclosed `<!--` in a paragraph is text that GitHub shows, and so is
    // an unmatched backtick: the next line is visible and is a command.
    assert_eq!(names("a ` <!--\n/help"), ["help"]);
    // In a fence or in indented code, `<!--` is code.
    assert_eq!(names("```\n<!--\n```\n/help"), ["help"]);
    assert_eq!(names("    <!--\n/help"), ["help"]);
    // In a quote, an unclosed comment is still raw HTML: a browser hides
    // everything after it, so what follows is not a command.
    assert!(parse_comment("> <!--\n/help").is_empty());
    assert_eq!(names("> <!--\n-->\n/help"), ["help"]);
    // Multi-byte characters around the markers (found by proptest).
    assert_eq!(names("😀<!--\n/help"), ["help"]);
    assert_eq!(names("-->¡\n/help"), ["help"]);
    assert_eq!(names("<!-- é -->é<!--é-->\n/help"), ["help"]);
    assert_eq!(one("/put-team a 😀").to_string(), "/put-team a 😀");
}

// --- errors

#[test]
fn unknown_command_suggests() {
    let e = err("/rerun-stuido 6.004r 2018_Spring 2019_Spring");
    assert_eq!(e.suggestion.as_deref(), Some("/rerun-studio"));
    assert!(e.message.contains("`/rerun-stuido`"), "{e}");
    assert!(e.message.contains("`/help`"), "{e}");
    assert!(
        e.to_string().ends_with("Did you mean `/rerun-studio`?"),
        "{e}"
    );
    assert_eq!(err("/relase a b").suggestion.as_deref(), Some("/release"));
    assert_eq!(
        err("/create_xml_rep a b").suggestion.as_deref(),
        Some("/create-xml-repo")
    );
    assert_eq!(err("/hlep").suggestion.as_deref(), Some("/help"));
    let e = err("/frobnicate-everything");
    assert_eq!(e.suggestion, None);
    assert!(e.to_string().contains("`/help`"));
    // An unknown command is answered, never silently ignored.
    err_contains("/approve-all", "Unknown command");
}

#[test]
fn missing_and_extra_arguments() {
    let e = err("/rerun-studio 6.004r 2018_Spring");
    assert_eq!(
        e.message,
        "Missing NEW_TERM. Usage: `/rerun-studio COURSE TERM NEW_TERM [description=…]` \
         (see `/help rerun-studio`)."
    );
    assert!(err("/release").message.starts_with("Missing COURSE TERM."));
    err_starts_with("/release a b c d", "Unexpected extra arguments `c` `d`.");
}

#[test]
fn bad_values_name_the_rule() {
    let e = err(r#"/create-xml-repo "6 004" 2018_Spring"#);
    assert_eq!(
        e.message,
        "Bad COURSE: course `6 004` is invalid: 1-64 characters from letters, digits, \
         '.', '_', '-', starting with a letter or digit (`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`). \
         Usage: `/create-xml-repo COURSE TERM [team=…] [members=…] [description=…]` \
         (see `/help create-xml-repo`)."
    );
    err_contains(
        "/create-xml-repo 6.004r 2018.Spring",
        "Bad TERM: term `2018.Spring` is invalid",
    );
    err_contains(
        "/create-xml-repo 6.004r 2018_Spring members=alice,-bob",
        "Bad `members=`: GitHub login `-bob` is invalid",
    );
    err_contains(
        "/create-xml-repo 6.004r 2018_Spring members=",
        "Bad `members=`: members (empty) is invalid",
    );
    // A mention in a bad value is shown as code, so it pings no one.
    err_contains("/put-team o @org/team", "team `@org/team` is invalid");
}

#[test]
fn option_errors() {
    let e = err("/create-xml-repo 6.004r 2018_Spring descripton=x");
    assert_eq!(e.suggestion.as_deref(), Some("description="));
    assert!(
        e.message.starts_with("Unknown option `descripton=`."),
        "{e}"
    );
    let e = err("/create-xml-repo 6.004r 2018_Spring member=alice");
    assert_eq!(e.suggestion.as_deref(), Some("members="));
    let e = err("/create-xml-repo 6.004r 2018_Spring color=red");
    assert_eq!(e.suggestion, None);
    err_starts_with(
        "/release 6.004r 2018_Spring description=x",
        "`/release` takes no options, got `description=`.",
    );
    err_starts_with(
        "/create-xml-repo a b team=x Team=y",
        "Option `team=` is given twice.",
    );
}

#[test]
fn echoed_input_is_code() {
    err_contains("/release a b ```@everyone```", "```` ```@everyone``` ````");
}

// --- /plan

#[test]
fn plan() {
    let inner = Command::Run(Action::CreateXmlRepo(CreateXmlRepo {
        course: course("6.004r"),
        term: term("2018_Spring"),
        team: None,
        members: None,
        description: None,
    }));
    let expected = Command::Plan(Box::new(inner.clone()));
    assert_eq!(one("/plan create-xml-repo 6.004r 2018_Spring"), expected);
    assert_eq!(one("/plan /create_xml_repo 6.004r 2018_Spring"), expected);
    assert_eq!(
        expected.to_string(),
        "/plan create-xml-repo 6.004r 2018_Spring"
    );
    assert!(!expected.is_mutating());
    assert!(inner.is_mutating());
    err_contains("/plan /plan x", "cannot plan another");
    err_contains("/plan plan x", "cannot plan another");
    err_contains("/plan help", "changes nothing");
    assert!(err("/plan")
        .message
        .starts_with("Missing the COMMAND to plan."));
    assert!(err("/plan k=v")
        .message
        .starts_with("Missing the COMMAND to plan."));
    assert_eq!(
        err("/plan relase a b").suggestion.as_deref(),
        Some("/release")
    );
    err_contains("/plan release a", "Usage: `/release COURSE TERM`");
}

// --- edits

#[test]
fn edits_run_only_new_commands() {
    let before = "/create-xml-repo 6.004r 2018_Spring\n";
    assert!(new_invocations(before, before).is_empty());
    // Re-spelled, re-spaced or moved: the same command.
    let respelled = "Hi!\n\n/create_xml_repo   6.004r 2018_Spring  \n";
    assert!(new_invocations(before, respelled).is_empty());
    // Added one.
    let added = "/create-xml-repo 6.004r 2018_Spring\n/release-xml 6.004r 2018_Spring";
    let new = new_invocations(before, added);
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].line, 2);
    assert_eq!(new[0].result.as_ref().map(Command::name), Ok("release-xml"));
    // Twice now, once before: one runs, the later one.
    let twice = "/create-xml-repo 6.004r 2018_Spring\n/create-xml-repo 6.004r 2018_Spring";
    let new = new_invocations(before, twice);
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].line, 2);
    // A fixed typo runs; an unchanged error is not reported again.
    let typo = "/create-xml-repo 6.004r 2018.Spring";
    assert_eq!(new_invocations(typo, before).len(), 1);
    assert!(new_invocations(typo, &format!("{typo}\n")).is_empty());
    // A command moved into a code block disappears, nothing runs.
    assert!(new_invocations(before, &format!("```\n{before}```")).is_empty());
    // A changed argument is a new command.
    assert_eq!(
        new_invocations(before, "/create-xml-repo 6.004r 2019_Spring").len(),
        1
    );
    assert_eq!(new_invocations("", before).len(), 1);
}

// --- definitions and help

#[test]
fn commands_table_is_consistent() {
    let mut seen = std::collections::HashSet::new();
    for spec in COMMANDS {
        assert!(seen.insert(spec.name), "duplicate {}", spec.name);
        assert_eq!(normalize(spec.name, '-'), spec.name, "names are canonical");
        for (key, meaning) in spec.options {
            assert_eq!(normalize(key, '_'), *key, "option keys are canonical");
            assert!(!meaning.is_empty());
        }
        // Every example parses, to that very command.
        let cmd = one(spec.example);
        assert_eq!(cmd.name(), spec.name, "{}", spec.example);
        assert_eq!(cmd.is_mutating(), spec.mutating, "{}", spec.name);
        assert!(std::ptr::eq(cmd.spec(), *spec));
        // Every option is accepted by the parser (placeholder values that
        // satisfy every option's rule).
        if !spec.options.is_empty() && spec.name != "plan" {
            let args: Vec<&str> = spec
                .positional
                .iter()
                .map(|p| match *p {
                    "ORG" => "mitx",
                    "TEAM" => "staff",
                    _ => "2018_Spring",
                })
                .collect();
            let opts: Vec<String> = spec
                .options
                .iter()
                .map(|(k, _)| {
                    let v = match *k {
                        "read_only" => "true",
                        "from" => "2017_Fall",
                        _ => "alice",
                    };
                    format!("{k}={v}")
                })
                .collect();
            let line = format!("/{} {} {}", spec.name, args.join(" "), opts.join(" "));
            assert_eq!(one(&line).name(), spec.name, "{line}");
        }
    }
}

#[test]
fn help_lists_every_command_and_option() {
    let help = help_text();
    for spec in COMMANDS {
        assert!(help.contains(&code(&usage(spec))), "{}", spec.name);
        assert!(help.contains(spec.summary), "{}", spec.name);
        assert!(help.contains(&code(spec.example)), "{}", spec.name);
        for (key, meaning) in spec.options {
            assert!(help.contains(&format!("`{key}=…`: {meaning}")), "{key}");
        }
        let one = help_for(spec);
        assert!(one.contains(&usage(spec)));
        for (key, _) in spec.options {
            assert!(one.contains(&format!("`{key}=…`")), "{key}");
        }
    }
    assert_eq!(usage(COMMANDS[0]), "/help [COMMAND]");
    assert_eq!(
        find_spec("create-xml-repo").map(usage).as_deref(),
        Some("/create-xml-repo COURSE TERM [team=…] [members=…] [description=…]")
    );
}

#[test]
fn help_text_snapshot() {
    insta::assert_snapshot!(help_text());
}

/// Commands are not stored; the action a command resolves to is (in the job
/// journal), so its shape is what must stay stable.
#[test]
fn journaled_action_shape() {
    let Command::Plan(inner) = one("/plan create-xml-repo 6.004r 2018_Spring members=alice team=t")
    else {
        panic!("not a plan");
    };
    let Command::Run(action) = *inner else {
        panic!("not an action");
    };
    let json = serde_json::to_value(&action).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "action": "create_xml_repo",
            "course": "6.004r", "term": "2018_Spring", "team": "t",
            "members": ["alice"], "description": null
        })
    );
    assert_eq!(serde_json::from_value::<Action>(json).unwrap(), action);
    let bad = serde_json::json!({"action": "release_xml", "course": "6 004", "term": "x"});
    assert!(serde_json::from_value::<Action>(bad).is_err());
}

#[test]
fn display_is_canonical() {
    for (written, canonical) in [
        ("/HELP", "/help"),
        ("/help Rerun_Studio", "/help rerun-studio"),
        (
            "/create_xml_repo 6.004r 2018_Spring Description=x Members=bob,@alice team=\"A B\"",
            "/create-xml-repo 6.004r 2018_Spring team=\"A B\" members=bob,alice description=x",
        ),
        ("/put-team o \"a=b\" read_only=no", "/put-team o \"a=b\""),
        (
            "/put-team o t read-only=yes",
            "/put-team o t read_only=true",
        ),
        ("/rerun c t2 from=t1", "/rerun c t2 from t1"),
        ("/plan /rerun-xml c t", "/plan rerun-xml c t"),
        (
            r#"/create-export-repo c t description="a \"b\" \\ c""#,
            r#"/create-export-repo c t description="a \"b\" \\ c""#,
        ),
    ] {
        assert_eq!(one(written).to_string(), canonical, "{written}");
    }
}

// --- properties

fn arb_course() -> impl Strategy<Value = Course> {
    "[A-Za-z0-9][A-Za-z0-9._-]{0,12}".prop_map(|s| course(&s))
}
fn arb_term() -> impl Strategy<Value = Term> {
    // `from` is the keyword of /rerun (see `Args::collect`).
    "[A-Za-z0-9][A-Za-z0-9_-]{0,12}"
        .prop_filter("keyword", |s| !s.eq_ignore_ascii_case("from"))
        .prop_map(|s| term(&s))
}
/// Free text: printable ASCII and some Unicode, without the one sequence
/// that Markdown would hide (`<!--`).
fn arb_text() -> impl Strategy<Value = String> {
    "[ -~éü😀\u{a0}]{1,24}".prop_filter("no comment", |s| !s.contains("<!--"))
}
fn arb_team() -> impl Strategy<Value = TeamName> {
    arb_text().prop_filter_map("valid team", |s| TeamName::parse(&s).ok())
}
fn arb_description() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(arb_text().prop_filter("blank", |s| !s.trim().is_empty()))
}
fn arb_members() -> impl Strategy<Value = Option<Vec<Login>>> {
    proptest::option::of(
        prop::collection::vec("[a-z0-9]{1,3}(-[a-z0-9]{1,3})?", 1..4).prop_map(|v| {
            let mut out: Vec<Login> = Vec::new();
            for s in v {
                if !out.iter().any(|l| l.eq_ignore_case(&s)) {
                    out.push(login(&s));
                }
            }
            out
        }),
    )
}

fn arb_mutating() -> impl Strategy<Value = Command> {
    prop_oneof![
        (arb_course(), arb_term(), arb_description()).prop_map(|(course, term, description)| {
            Command::Run(Action::CreateExportRepo(CreateExportRepo {
                course,
                term,
                description,
            }))
        }),
        (arb_course(), arb_term(), arb_term(), arb_description()).prop_map(
            |(course, term, new_term, description)| Command::Run(Action::RerunStudio(
                RerunStudio {
                    run: CourseRerun {
                        course,
                        term,
                        new_term
                    },
                    description
                }
            ))
        ),
        (arb_course(), arb_term()).prop_map(|(course, term)| Command::Run(Action::ReleaseStudio(
            CourseRun { course, term }
        ))),
        (
            arb_course(),
            arb_term(),
            proptest::option::of(arb_team()),
            arb_members(),
            arb_description()
        )
            .prop_map(|(course, term, team, members, description)| {
                Command::Run(Action::CreateXmlRepo(CreateXmlRepo {
                    course,
                    term,
                    team,
                    members,
                    description,
                }))
            }),
        (arb_course(), arb_term())
            .prop_map(|(course, term)| Command::Run(Action::RerunXml(CourseRun { course, term }))),
        (arb_course(), arb_term()).prop_map(|(course, term)| Command::Run(Action::ReleaseXml(
            CourseRun { course, term }
        ))),
        (
            "[a-z0-9]{1,4}(-[a-z0-9]{1,4})?",
            arb_team(),
            any::<bool>(),
            arb_members()
        )
            .prop_map(
                |(org, team, read_only, members)| Command::Run(Action::PutTeam(PutTeam {
                    org: OrgName::parse(&org).unwrap(),
                    team,
                    read_only,
                    members
                }))
            ),
        (arb_course(), arb_term(), proptest::option::of(arb_term())).prop_map(
            |(course, new_term, from)| Command::Rerun(Rerun {
                course,
                new_term,
                from
            })
        ),
        (arb_course(), arb_term())
            .prop_map(|(course, term)| Command::Release(CourseRun { course, term })),
    ]
}

fn arb_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        proptest::option::of(proptest::sample::select(
            COMMANDS
                .iter()
                .map(|s| s.name.to_owned())
                .collect::<Vec<_>>()
        ))
        .prop_map(|topic| Command::Help { topic }),
        arb_mutating(),
        arb_mutating().prop_map(|c| Command::Plan(Box::new(c))),
    ]
}

proptest! {
    #[test]
    fn parse_comment_never_panics(s in any::<String>()) {
        for inv in parse_comment(&s) {
            prop_assert!(inv.line >= 1);
            prop_assert!(inv.text.starts_with('/'));
            if let Err(e) = inv.result {
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    #[test]
    fn markdown_noise_never_panics(s in arb_markdown()) {
        let invs = parse_comment(&s);
        let lines = s.lines().count();
        for inv in &invs {
            prop_assert!(inv.line >= 1 && inv.line <= lines);
            prop_assert!(inv.text.starts_with('/'));
            prop_assert_eq!(inv.text.trim(), inv.text.as_str());
        }
        // Unchanged text runs nothing on edit.
        prop_assert!(new_invocations(&s, &s).is_empty());
        // Commands are always a subset of the lines.
        prop_assert!(invs.len() <= lines);
    }

    #[test]
    fn display_round_trips(cmd in arb_command()) {
        let line = cmd.to_string();
        let invs = parse_comment(&line);
        prop_assert_eq!(invs.len(), 1, "{}", line);
        prop_assert_eq!(invs[0].result.as_ref(), Ok(&cmd), "{}", line);
    }

    #[test]
    fn edits_are_a_multiset_difference(
        cmds in prop::collection::vec(arb_mutating(), 1..5),
        keep in prop::collection::vec(any::<bool>(), 5),
        dup in 0usize..5,
    ) {
        let before: Vec<String> = cmds.iter().map(|c| c.to_string()).collect();
        let kept: Vec<&String> = before.iter().zip(&keep).filter(|(_, k)| **k).map(|(c, _)| c).collect();
        let extra = &before[dup % before.len()];
        let mut after: Vec<&String> = before.iter().collect();
        after.push(extra);
        // After the edit: all commands plus one duplicate; before: only the kept ones.
        // One paragraph each: a backtick in one command's team name must not
        // open a code span that swallows the next command.
        let prev = kept.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n\n");
        let cur = after.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n\n");
        let new = new_invocations(&prev, &cur);
        prop_assert_eq!(new.len(), after.len() - kept.len());
    }
}
