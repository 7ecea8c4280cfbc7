//! End-to-end latency of each provisioning action against the fake GitHub
//! with a fixed per-request latency: the real server in-process, a signed
//! comment webhook per action, time from the 202 to the final reaction, and
//! the GitHub calls the job made, split into provisioning and the bot's own.
//!
//! ```text
//! cargo run --release --example e2e_latency -- --latency-ms 100
//! ```

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use clap::Parser;
use common::fake::{FakeGitHub, Req};
use common::tester::{Tester, PRODUCTION, REQ_OWNER, REQ_REPO, STAGING, STUDIO, XML};

#[derive(Parser, Debug)]
#[command(about = "Per-action end-to-end latency against the fake GitHub")]
struct Args {
    /// Latency the fake adds to every GitHub API request.
    #[arg(long, default_value_t = 100)]
    latency_ms: u64,
    /// Give up on an action after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout_s: u64,
    /// Print every call of every job.
    #[arg(long)]
    verbose: bool,
}

/// Who a GitHub request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Provisioning,
    Reaction,
    Comment,
    Permission,
    Token,
}

fn classify(r: &Req) -> Kind {
    let p = r.path.as_str();
    if p.starts_with("/app/") || p.ends_with("/installation") {
        Kind::Token
    } else if p.contains("/reactions") {
        Kind::Reaction
    } else if p.contains("/issues/") && p.contains("/comments") {
        Kind::Comment
    } else if (p.contains("/collaborators/") && p.ends_with("/permission"))
        // The operators-team check; a PUT of a membership is provisioning.
        || (r.method == "GET" && p.contains("/memberships/"))
    {
        Kind::Permission
    } else {
        Kind::Provisioning
    }
}

struct Step {
    name: &'static str,
    comment: String,
    /// Provisioning calls of the original orcoursetrion for this action.
    reference: &'static str,
    reference_calls: usize,
}

/// The tester's standard shop, plus an XML course to rerun.
fn seed(fake: &FakeGitHub) {
    // An XML course with history, a team and a staging hook, for `/rerun`.
    let old = "content-mit-1801-2017_Fall";
    fake.add_repo_with_files(
        XML,
        old,
        &[
            ("course.xml", "<course/>\n"),
            ("chapter/1.xml", "<chapter/>\n"),
        ],
    );
    fake.add_hook(XML, old, STAGING);
    let team = fake.add_team(XML, old, "push");
    fake.add_team_repo(XML, &team, XML, old, "push");
    fake.add_team_repo(XML, "mitx-content-deployment", XML, old, "push");
}

fn steps() -> Vec<Step> {
    let s = |name, comment: &str, reference, reference_calls| Step {
        name,
        comment: comment.to_owned(),
        reference,
        reference_calls,
    };
    vec![
        s(
            "create-export-repo",
            "/create-export-repo 6.004r 2018_Spring",
            "8",
            8,
        ),
        // One hook on the old run (added just before, see `before`).
        s(
            "rerun-studio (1 hook)",
            "/rerun-studio 6.004r 2018_Spring 2019_Spring",
            "8+hooks",
            9,
        ),
        s(
            "release-studio",
            "/release-studio 6.004r 2019_Spring",
            "1",
            1,
        ),
        s(
            "create-xml-repo (2 members)",
            "/create-xml-repo 8.01 2018_Spring members=carol,dave",
            "10+members",
            12,
        ),
        // create-xml-repo left exactly one (staging) hook on the run.
        s(
            "rerun-xml (1 hook)",
            "/rerun-xml 8.01 2018_Spring",
            "2+hooks",
            3,
        ),
        s("release-xml", "/release-xml 8.01 2018_Spring", "1", 1),
        // The XML course seeded with git history, a team and a staging hook;
        // the original had no such command (rerun-xml + create-xml-repo by
        // hand): compared with 2+hooks + 10+members = 2+1+10+0.
        s(
            "rerun (xml, git copy)",
            "/rerun 18.01 2018_Spring from 2017_Fall",
            "rerun-xml+create-xml",
            13,
        ),
    ]
}

struct Row {
    name: &'static str,
    wall: Duration,
    /// ms from the 202 to the first GitHub call (None: no call).
    first_call: Option<f64>,
    reaction: String,
    calls: Vec<(Kind, String)>,
    reference: &'static str,
    reference_calls: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    let latency = Duration::from_millis(args.latency_ms);
    let timeout = Duration::from_secs(args.timeout_s);
    let t = Tester::builder()
        .seed(seed)
        .lease(Duration::from_secs(30))
        // Production default: a progress edit at most every 2 s.
        .progress_interval(Duration::from_secs(2))
        .start()
        .await;
    let fake = &t.fake;
    fake.set_latency(latency);

    let mut rows = Vec::new();
    for (i, step) in steps().into_iter().enumerate() {
        if step.name.starts_with("rerun-studio") {
            fake.add_hook(STUDIO, "content-mit-6004r-2018_Spring", PRODUCTION);
        }
        let comment_id = fake.add_comment(REQ_OWNER, REQ_REPO, 1, "alice", &step.comment);
        let payload = t.payload("created", comment_id, "alice", "User", &step.comment, None);
        fake.clear_log();
        let status = t.deliver(&format!("e2e-{i}"), &payload).await;
        assert_eq!(status, 202, "{}", step.name);
        let accepted = Instant::now();
        let reaction = loop {
            let r = fake.comment_reactions(REQ_OWNER, REQ_REPO, comment_id);
            if let Some(last) = r.iter().find(|c| *c == "rocket" || *c == "confused") {
                break last.clone();
            }
            assert!(
                accepted.elapsed() < timeout,
                "{}: no final reaction after {timeout:?}",
                step.name
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let wall = accepted.elapsed();
        // Calls still in flight after the reaction belong to this job too.
        tokio::time::sleep(latency * 3 + Duration::from_millis(100)).await;
        let requests = fake.requests();
        // Arrival at the fake, in ms after the client saw the 202 (negative:
        // before it, since the job may be claimed before the answer arrives).
        let since_202 = |at: Instant| match at.checked_duration_since(accepted) {
            Some(d) => d.as_secs_f64() * 1e3,
            None => -(accepted.duration_since(at).as_secs_f64() * 1e3),
        };
        let first_call = requests.iter().map(|r| since_202(r.at)).reduce(f64::min);
        let calls: Vec<(Kind, String)> = requests.iter().map(|r| (classify(r), r.call())).collect();
        if args.verbose || reaction != "rocket" {
            println!(
                "--- {} ({reaction}, {:.0} ms)",
                step.name,
                wall.as_secs_f64() * 1e3
            );
            for ((k, c), r) in calls.iter().zip(&requests) {
                let at = since_202(r.at);
                println!("    {at:>7.0} ms {:>3} {k:?}: {c}", r.status);
            }
        }
        rows.push(Row {
            name: step.name,
            wall,
            first_call,
            reaction,
            calls,
            reference: step.reference,
            reference_calls: step.reference_calls,
        });
    }
    if let Some(server) = t.server {
        server.shutdown().await;
    }

    let lat_ms = latency.as_secs_f64() * 1e3;
    println!();
    println!(
        "fake GitHub latency {lat_ms:.0} ms per request; wall = 202 -> final reaction; \
         1st = 202 -> the first GitHub call's arrival (claim, then 👀); \
         bot = reactions + comments + permission + token"
    );
    println!(
        "{:<28} {:>9} {:>7} {:>6} {:>5} {:>4} {:>4} {:>4} {:>4} {:>5} {:>11} {:>7} {:>20} {:>6}",
        "action",
        "wall ms",
        "1st ms",
        "result",
        "all",
        "prov",
        "reac",
        "cmt",
        "perm",
        "token",
        "all×lat ms",
        "wall/lat",
        "orcoursetrion (prov)",
        "prov %"
    );
    for r in &rows {
        let n = |k: Kind| r.calls.iter().filter(|(c, _)| *c == k).count();
        let prov = n(Kind::Provisioning);
        let wall_ms = r.wall.as_secs_f64() * 1e3;
        println!(
            "{:<28} {:>9.0} {:>7.2} {:>6} {:>5} {:>4} {:>4} {:>4} {:>4} {:>5} {:>11.0} {:>7.1} {:>20} {:>5.0}%",
            r.name,
            wall_ms,
            r.first_call.unwrap_or(f64::NAN),
            r.reaction,
            r.calls.len(),
            prov,
            n(Kind::Reaction),
            n(Kind::Comment),
            n(Kind::Permission),
            n(Kind::Token),
            r.calls.len() as f64 * lat_ms,
            wall_ms / lat_ms.max(f64::MIN_POSITIVE),
            format!("{} = {}", r.reference, r.reference_calls),
            prov as f64 * 100.0 / r.reference_calls as f64,
        );
    }
}
