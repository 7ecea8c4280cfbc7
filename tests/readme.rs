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

#[test]
fn the_simulated_delivery_block_runs_as_written() {
    let block = block_after("## Simulating a delivery locally");
    // The test binary stands in for the release build it names.
    let bin = env!("CARGO_BIN_EXE_orcoursetrion");
    let script = block
        .replace("cargo build --release", ":")
        .replace("./target/release/orcoursetrion", bin);
    assert!(script.contains(bin), "the block runs the binary");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PORT", free_port().to_string())
        .env("DEMO_DB", dir.path().join("demo.db"))
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
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
