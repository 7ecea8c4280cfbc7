//! Form bodies as GitHub renders them, read back.

use super::*;
use proptest::prelude::*;

fn shipped() -> Template {
    Template::parse(SHIPPED_TEMPLATE).expect("the shipped form parses")
}

/// A body as GitHub renders the shipped form, from (label, value) pairs.
fn body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(l, v)| format!("### {l}\n\n{v}"))
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn full(request: &str, kind: &str, course: &str, term: &str, members: &str) -> String {
    body(&[
        ("Request", request),
        ("Kind of course", kind),
        ("Course", course),
        ("Term", term),
        ("New term", "_No response_"),
        ("Title", "_No response_"),
        ("Team members", members),
        ("Anything else", "_No response_"),
        (
            "Confirmation",
            "- [ ] The course team has agreed to this request",
        ),
    ])
}

fn answers(b: &str) -> Answers {
    parse(&shipped(), b).expect("a form")
}

fn text(a: &Answers, id: &str) -> Option<String> {
    a.text(id).map(str::to_string)
}

/// The body of `fields`, read back, holds each `(id, value)` of `expect`.
fn assert_reads(fields: &[(&str, &str)], expect: &[(&str, &str)]) {
    let a = answers(&body(fields));
    for (id, value) in expect {
        assert_eq!(text(&a, id).as_deref(), Some(*value), "{id}");
    }
}

#[test]
fn the_shipped_template_has_the_fixed_ids() {
    let t = shipped();
    let ids: Vec<&str> = t.fields.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "request",
            "kind",
            "course",
            "term",
            "new_term",
            "title",
            "members",
            "description",
            "confirm"
        ]
    );
    assert_eq!(t.label_of("members"), Some("Team members"));
}

#[test]
fn a_template_without_a_needed_id_is_refused() {
    let yaml = "body:\n  - type: input\n    id: course\n    attributes:\n      label: Course\n";
    assert_eq!(
        Template::parse(yaml),
        Err(TemplateError::MissingField("request"))
    );
    assert!(matches!(
        Template::parse("body: [ : ]"),
        Err(TemplateError::Yaml(_))
    ));
}

#[test]
fn every_field_kind_is_read() {
    let a = answers(&body(&[
        ("Request", "New course"),
        ("Kind of course", "xml"),
        ("Course", "6.004r"),
        ("Term", "2018_Spring"),
        ("Title", "Computation Structures"),
        ("Team members", "alice\nbob"),
        ("Anything else", "Please hurry."),
        (
            "Confirmation",
            "- [x] The course team has agreed to this request",
        ),
    ]));
    assert_eq!(text(&a, "request").as_deref(), Some("New course"));
    assert_eq!(text(&a, "kind").as_deref(), Some("xml"));
    assert_eq!(text(&a, "course").as_deref(), Some("6.004r"));
    assert_eq!(text(&a, "title").as_deref(), Some("Computation Structures"));
    assert_eq!(text(&a, "members").as_deref(), Some("alice\nbob"));
    assert_eq!(
        a.0.get("confirm"),
        Some(&Answer::Ticked(vec![
            "The course team has agreed to this request".into()
        ]))
    );
}

#[test]
fn no_response_and_none_are_absent() {
    let a = answers(&full(
        "New course",
        "None",
        "6.004r",
        "_No response_",
        "_No response_",
    ));
    assert_eq!(text(&a, "kind"), None);
    assert_eq!(text(&a, "term"), None);
    assert_eq!(text(&a, "members"), None);
    assert_eq!(text(&a, "new_term"), None);
    // Unticked checkboxes are absent too.
    assert!(!a.0.contains_key("confirm"));
}

#[test]
fn crlf_and_trailing_spaces_parse() {
    let b =
        full("Rerun  ", "xml", "6.004r   ", "2018_Spring", "alice, bob  ").replace('\n', "\r\n");
    let a = answers(&b);
    assert_eq!(text(&a, "request").as_deref(), Some("Rerun"));
    assert_eq!(text(&a, "course").as_deref(), Some("6.004r"));
    assert_eq!(text(&a, "members").as_deref(), Some("alice, bob"));
}

#[test]
fn a_lone_cr_is_a_line_break_too() {
    let b = full("Rerun", "xml", "6.004r", "2018_Spring", "alice").replace('\n', "\r");
    assert_eq!(text(&answers(&b), "term").as_deref(), Some("2018_Spring"));
}

#[test]
fn a_heading_inside_a_fenced_block_belongs_to_the_value() {
    let notes = "Here is what we need:\n\n```\n### Course\nnot a field\n```\n\nThanks.";
    assert_reads(
        &[
            ("Request", "New course"),
            ("Course", "6.004r"),
            ("Anything else", notes),
            ("Term", "2018_Spring"),
        ],
        &[
            ("description", notes),
            ("course", "6.004r"),
            ("term", "2018_Spring"),
        ],
    );
}

#[test]
fn a_tilde_fence_and_a_longer_fence_hold_headings_too() {
    let notes = "~~~~\n### Term\n~~~\nstill inside\n~~~~";
    assert_reads(
        &[
            ("Request", "Rerun"),
            ("Anything else", notes),
            ("Term", "T1"),
        ],
        &[("description", notes), ("term", "T1")],
    );
}

#[test]
fn a_heading_that_is_no_label_belongs_to_the_value_before_it() {
    let notes = "Context\n\n### Timeline\n\nBy June.";
    assert_reads(
        &[
            ("Request", "Rerun"),
            ("Anything else", notes),
            ("Course", "8.01"),
        ],
        &[("description", notes), ("course", "8.01")],
    );
}

#[test]
fn a_label_repeated_inside_a_value_is_part_of_it() {
    let notes = "Quote:\n\n### Request\n\nend";
    assert_reads(
        &[("Request", "Rerun"), ("Anything else", notes)],
        &[("request", "Rerun"), ("description", notes)],
    );
}

#[test]
fn multi_paragraph_values_and_markdown_are_kept() {
    let notes = "First paragraph with **bold** and a [link](https://example.edu).\n\nSecond paragraph:\n\n- a list\n- of items\n\n> a quote";
    assert_reads(
        &[("Request", "Rerun"), ("Anything else", notes)],
        &[("description", notes)],
    );
}

#[test]
fn fields_in_another_order_are_read_by_label() {
    assert_reads(
        &[
            ("Request", "Release to production"),
            ("Term", "2018_Fall"),
            ("Course", "8.01"),
        ],
        &[("course", "8.01"), ("term", "2018_Fall")],
    );
}

#[test]
fn a_body_that_is_not_a_form_is_ignored() {
    let t = shipped();
    assert_eq!(parse(&t, "Please make me a course repo for 6.004r."), None);
    assert_eq!(parse(&t, ""), None);
    assert_eq!(parse(&t, "### Something else\n\nvalue"), None);
    assert_eq!(parse(&t, "Intro\n\n### Course\n\n6.004r"), None);
    assert_eq!(parse(&t, "/create-xml-repo 6.004r 2018_Spring"), None);
}

#[test]
fn leading_blank_lines_are_skipped() {
    let b = format!("\n\n{}", full("Rerun", "xml", "6.004r", "T", "a"));
    assert_eq!(text(&answers(&b), "course").as_deref(), Some("6.004r"));
}

#[test]
fn checkboxes_read_upper_and_lower_x_and_skip_unticked() {
    let yaml = "body:
  - {type: dropdown, id: request, attributes: {label: Request, options: [Rerun]}}
  - {type: input, id: course, attributes: {label: Course}}
  - {type: input, id: term, attributes: {label: Term}}
  - {type: checkboxes, id: steps, attributes: {label: Steps, options: [{label: a}, {label: b}, {label: c}]}}
";
    let t = Template::parse(yaml).expect("template");
    let b = body(&[("Request", "Rerun"), ("Steps", "- [x] a\n- [ ] b\n- [X] c")]);
    let a = parse(&t, &b).expect("form");
    assert_eq!(
        a.0.get("steps"),
        Some(&Answer::Ticked(vec!["a".into(), "c".into()]))
    );
}

#[test]
fn a_multi_select_dropdown_is_a_list() {
    let yaml = "body:
  - {type: dropdown, id: request, attributes: {label: Request, options: [Rerun]}}
  - {type: input, id: course, attributes: {label: Course}}
  - {type: input, id: term, attributes: {label: Term}}
  - {type: dropdown, id: sites, attributes: {label: Sites, multiple: true, options: [staging, production]}}
";
    let t = Template::parse(yaml).expect("template");
    let a = parse(
        &t,
        &body(&[("Request", "Rerun"), ("Sites", "staging, production")]),
    )
    .expect("form");
    assert_eq!(
        a.0.get("sites"),
        Some(&Answer::Choices(vec![
            "staging".into(),
            "production".into()
        ]))
    );
    let none = parse(&t, &body(&[("Request", "Rerun"), ("Sites", "None")])).expect("form");
    assert!(!none.0.contains_key("sites"));
}

#[test]
fn a_rendered_textarea_loses_its_fence() {
    let yaml = "body:
  - {type: dropdown, id: request, attributes: {label: Request, options: [Rerun]}}
  - {type: input, id: course, attributes: {label: Course}}
  - {type: input, id: term, attributes: {label: Term}}
  - {type: textarea, id: log, attributes: {label: Log, render: shell}}
";
    let t = Template::parse(yaml).expect("template");
    let a = parse(
        &t,
        &body(&[
            ("Request", "Rerun"),
            ("Log", "```shell\n### not a heading\n$ ls\n```"),
        ]),
    )
    .expect("form");
    assert_eq!(a.text("log"), Some("### not a heading\n$ ls"));
    let empty = parse(&t, &body(&[("Request", "Rerun"), ("Log", "_No response_")])).expect("form");
    assert_eq!(empty.text("log"), None);
}

#[test]
fn answers_serialise_by_kind() {
    let a = answers(&body(&[
        ("Request", "Rerun"),
        ("Course", "8.01"),
        (
            "Confirmation",
            "- [x] The course team has agreed to this request",
        ),
    ]));
    let v = serde_json::to_value(&a).expect("json");
    assert_eq!(
        v,
        serde_json::json!({
            "request": "Rerun", "course": "8.01",
            "confirm": ["The course team has agreed to this request"],
        })
    );
}

// ----- the request a form expresses ---------------------------------------

fn request(b: &str) -> Result<CourseRequest, Vec<RequestProblem>> {
    CourseRequest::from_answers(&answers(b))
}

#[test]
fn members_come_with_at_signs_commas_and_newlines() {
    assert_eq!(
        request::members("@alice, bob\n@carol\n\n dave ,eve"),
        ["alice", "bob", "carol", "dave", "eve"]
    );
    assert!(request::members("_").len() == 1);
    assert!(request::members(" , \n").is_empty());
}

#[test]
fn a_new_xml_course_is_create_xml_repo_with_members_and_title() {
    let b = body(&[
        ("Request", "New course"),
        ("Kind of course", "xml"),
        ("Course", "6.004r"),
        ("Term", "2018_Spring"),
        ("Title", "Computation \"Structures\""),
        ("Team members", "@alice\nbob"),
    ]);
    let r = request(&b).expect("request");
    assert_eq!(
        r.command_line(None),
        "/create-xml-repo 6.004r 2018_Spring members=alice,bob description=\"Computation 'Structures'\""
    );
}

#[test]
fn a_new_studio_course_is_create_export_repo() {
    let r = request(&full(
        "New course",
        "studio",
        "8.01",
        "2018_Fall",
        "_No response_",
    ))
    .expect("request");
    assert_eq!(r.command_line(None), "/create-export-repo 8.01 2018_Fall");
}

#[test]
fn a_rerun_needs_its_new_term() {
    assert_eq!(
        request(&full(
            "Rerun",
            "xml",
            "6.004r",
            "2018_Spring",
            "_No response_"
        )),
        Err(vec![RequestProblem::Missing("new_term")])
    );
    let b = body(&[
        ("Request", "Rerun"),
        ("Course", "6.004r"),
        ("Term", "2018_Spring"),
        ("New term", "2019_Spring"),
    ]);
    assert_eq!(
        request(&b).expect("request").command_line(None),
        "/rerun 6.004r 2019_Spring from 2018_Spring"
    );
}

#[test]
fn a_release_is_release() {
    let b = body(&[
        ("Request", "Release to production"),
        ("Course", "8.01"),
        ("Term", "2018_Fall"),
    ]);
    assert_eq!(
        request(&b).expect("request").command_line(None),
        "/release 8.01 2018_Fall"
    );
}

#[test]
fn a_team_change_puts_the_runs_team() {
    let b = body(&[
        ("Request", "Team change"),
        ("Course", "6.004r"),
        ("Term", "2018_Spring"),
        ("Team members", "alice, bob"),
    ]);
    let r = request(&b).expect("request");
    assert_eq!(
        r.command_line(Some(("mitx", "6.004r-2018_Spring"))),
        "/put-team mitx \"6.004r-2018_Spring\" members=alice,bob"
    );
    let none = body(&[
        ("Request", "Team change"),
        ("Course", "6.004r"),
        ("Term", "2018_Spring"),
    ]);
    assert_eq!(
        request(&none),
        Err(vec![RequestProblem::Missing("members")])
    );
}

#[test]
fn every_missing_field_is_named_at_once() {
    let b = body(&[
        ("Request", "None"),
        ("Course", "_No response_"),
        ("Term", "_No response_"),
    ]);
    assert_eq!(
        request(&b),
        Err(vec![
            RequestProblem::Missing("request"),
            RequestProblem::Missing("course"),
            RequestProblem::Missing("term"),
        ])
    );
}

#[test]
fn a_new_course_needs_its_kind() {
    let b = body(&[
        ("Request", "New course"),
        ("Course", "6.004r"),
        ("Term", "2018_Spring"),
    ]);
    assert_eq!(request(&b), Err(vec![RequestProblem::Missing("kind")]));
}

#[test]
fn unknown_options_are_named() {
    let b = body(&[
        ("Request", "Delete everything"),
        ("Kind of course", "latex"),
        ("Course", "c"),
        ("Term", "t"),
    ]);
    assert_eq!(
        request(&b),
        Err(vec![
            RequestProblem::UnknownRequest("Delete everything".into()),
            RequestProblem::UnknownKind("latex".into()),
        ])
    );
}

#[test]
fn options_match_without_case() {
    let b = body(&[
        ("Request", "new COURSE"),
        ("Kind of course", "XML"),
        ("Course", "c"),
        ("Term", "t"),
    ]);
    assert_eq!(
        request(&b).expect("request").command_line(None),
        "/create-xml-repo c t"
    );
}

#[test]
fn a_members_textarea_with_at_signs_on_a_new_course() {
    let r = request(&full(
        "New course",
        "xml",
        "6.004r",
        "2018_Spring",
        "@alice,@bob",
    ))
    .expect("request");
    assert_eq!(r.members, ["alice", "bob"]);
}

#[test]
fn injected_command_text_stays_one_argument() {
    // A title cannot smuggle a second command or argument out of its quotes.
    let b = body(&[
        ("Request", "New course"),
        ("Kind of course", "studio"),
        ("Course", "c"),
        ("Term", "t"),
        ("Title", "x\" members=mallory"),
    ]);
    assert_eq!(
        request(&b).expect("request").command_line(None),
        "/create-export-repo c t description=\"x' members=mallory\""
    );
}

// ----- properties ------------------------------------------------------------

fn value() -> impl Strategy<Value = String> {
    // Lines of words, some of them heading-like or fenced; no label headings
    // outside fences (those would end the value, as on GitHub).
    let line = prop_oneof![
        "[a-zA-Z0-9 .,!?*_-]{1,30}",
        Just("### Not a label".to_string()),
        Just("```\n### Course\n```".to_string()),
        Just(String::new()),
    ];
    prop::collection::vec(line, 1..6)
        .prop_map(|ls| ls.join("\n"))
        .prop_filter("not blank and not GitHub's empty marker", |v| {
            let t = v.trim();
            !t.is_empty() && t != "_No response_" && t != "None"
        })
}

proptest! {
    #[test]
    fn a_rendered_form_reads_back_its_values(notes in value(), title in "[a-zA-Z0-9 .]{1,40}", crlf in any::<bool>()) {
        let mut b = body(&[
            ("Request", "Rerun"),
            ("Course", "6.004r"),
            ("Title", &title),
            ("Anything else", &notes),
            ("Term", "2018_Spring"),
        ]);
        if crlf {
            b = b.replace('\n', "\r\n");
        }
        let a = parse(&shipped(), &b).expect("a form");
        let expect_title = title.trim().to_string();
        prop_assert_eq!(a.text("title"), (!expect_title.is_empty()).then_some(expect_title.as_str()));
        let lines: Vec<&str> = notes.lines().map(str::trim_end).collect();
        // A value is trimmed as a whole, as GitHub stores it.
        let expect_notes = trim_lines(&lines).trim().to_string();
        prop_assert_eq!(a.text("description"), Some(expect_notes.as_str()));
        prop_assert_eq!(a.text("term"), Some("2018_Spring"));
    }

    #[test]
    fn parse_never_panics(s in "(### (Course|Term|Request|x)\n|```\n|[a-z ]{0,10}\n|\r|- \\[x\\] a\n){0,20}") {
        let _ = parse(&shipped(), &s);
    }
}
