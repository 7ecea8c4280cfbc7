//! The README's commands, run as written, so that they cannot rot: the
//! "Simulating a delivery locally" block starts the real binary, sends a
//! delivery twice and a forged one, and stops the server.

use std::path::Path;
use std::process::Command;

/// The first ```sh block after `heading` in the README.
fn block_after(heading: &str) -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let start = readme.find(heading).expect("heading in the README");
    let rest = &readme[start..];
    let open = rest.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let close = rest[open..].find("\n```").expect("end of block") + open;
    rest[open..close].to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Runs the first ```sh block after `heading` with bash (`-euo pipefail`),
/// the test binary standing in for the release build it names, on a free
/// `PORT`; returns its stdout once it succeeded.
fn run_block(heading: &str, envs: &[(&str, &std::ffi::OsStr)]) -> String {
    let bin = env!("CARGO_BIN_EXE_orcoursetrion");
    let script = block_after(heading)
        .replace("cargo build --release", ":")
        .replace("./target/release/orcoursetrion", bin);
    assert!(script.contains(bin), "the block runs the binary");
    let mut cmd = Command::new("bash");
    cmd.args(["-euo", "pipefail", "-c", &script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PORT", free_port().to_string());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn the_simulated_delivery_block_runs_as_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("demo.db");
    let stdout = run_block(
        "## Simulating a delivery locally",
        &[("DEMO_DB", db.as_os_str())],
    );
    // Stored, then a duplicate, then refused: in that order.
    let stored = stdout.find("\"outcome\":\"stored\"").expect(&stdout);
    let duplicate = stdout.find("\"outcome\":\"duplicate\"").expect(&stdout);
    let refused = stdout.find(" 401").expect(&stdout);
    assert!(stored < duplicate && duplicate < refused, "{stdout}");
    assert!(stdout[..duplicate].contains(" 202"), "{stdout}");
}

/// Every example of the "Command line" block is a valid invocation: run as a
/// dry run without credentials, each shows its plan and exits 0.
#[test]
fn the_command_line_examples_are_valid_invocations() {
    let block = block_after("## Command line");
    let bin = env!("CARGO_BIN_EXE_orcoursetrion");
    let mut ran = 0;
    for line in block.lines().filter(|l| l.starts_with("orcoursetrion ")) {
        let command = line.split("   #").next().unwrap_or(line).trim();
        let script = format!(
            "{bin} --dry-run {}",
            command
                .trim_start_matches("orcoursetrion ")
                .trim_start_matches("--dry-run ")
        );
        let out = Command::new("bash")
            .args(["-c", &script])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .output()
            .expect("bash runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.starts_with("Plan for "),
            "{line}\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        ran += 1;
    }
    assert!(ran >= 7, "only {ran} examples found");
}

/// The Quick start's `serve`, on a fresh machine: no credentials, so setup
/// mode, whose page offers the registration. (Its `cargo test` is this run.)
#[test]
fn the_quick_start_serve_starts_setup_mode() {
    let block = block_after("## Quick start");
    assert!(block.contains("cargo run --release -- serve"), "{block}");
    assert!(block.contains("cargo test"), "{block}");
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_orcoursetrion"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("PORT", port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut page = String::new();
    for _ in 0..100 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            let _ = s.read_to_string(&mut page);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("Register GitHub App"), "{page}");
}

/// The doctor block, on a fresh machine: it names what is missing, with the
/// fix, and exits 1.
#[test]
fn the_doctor_block_names_what_a_fresh_machine_lacks() {
    let block = block_after("## Checking the set-up: `doctor`");
    assert_eq!(block.trim(), "cargo run --release -- doctor");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_orcoursetrion"))
        .arg("doctor")
        .current_dir(dir.path())
        .env_clear()
        .output()
        .expect("doctor runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("✗ GitHub App credentials: set ORC_APP_ID"),
        "{stdout}"
    );
    assert!(
        stdout.contains("✗ requests repos are set: set ORC_REQUESTS_REPOS"),
        "{stdout}"
    );
}

/// The "Replacing gitreload" block runs as written: the push is queued with
/// gitreload's answer, and the import (there is no LMS here) ends failed
/// with its reason in `/imports`.
#[test]
fn the_gitreload_block_runs_as_written() {
    // The section's first sh block is the one-liner; the scratch run follows.
    let stdout = run_block("Try it on a scratch checkout", &[]);
    assert!(
        stdout.contains(r#"{"msg":"Added course import task to queue. Queue size was 1"}"#),
        "{stdout}"
    );
    assert!(stdout.contains(r#""state":"failed""#), "{stdout}");
    assert!(
        stdout.contains("cannot run /edx/app/edxapp/venvs/edxapp/bin/python"),
        "{stdout}"
    );
}
