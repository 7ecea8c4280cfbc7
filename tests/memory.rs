//! Memory before authentication, measured: forty connections announce 25 MiB
//! bodies with a forged signature, send all but the last byte and hold. The
//! server may hold at most its budget of unauthenticated bytes
//! (`ORC_UNAUTH_BODY_BYTES`, 64 MiB) whatever the clients do.
//!
//! This binary holds this one test, so the process's RSS is the server's
//! (in-process) plus the clients', which stream from one small buffer.

mod common;

use std::time::Duration;

use common::tester::Tester;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BODY: usize = 25 * 1024 * 1024;
const CONNECTIONS: usize = 40;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_giant_bodies_cannot_grow_memory_past_the_budget() {
    let t = Tester::start().await;
    let addr = t.server().addr;
    let baseline = rss_kib();
    let chunk = vec![b'x'; 64 * 1024];
    let mut clients = Vec::new();
    for i in 0..CONNECTIONS {
        let chunk = chunk.clone();
        clients.push(tokio::spawn(async move {
            let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let head = format!(
                "POST /webhook HTTP/1.1\r\nHost: localhost\r\nX-GitHub-Event: push\r\n\
                 X-GitHub-Delivery: hold-{i}\r\nX-Hub-Signature-256: sha256={}\r\n\
                 Content-Type: application/json\r\nContent-Length: {BODY}\r\n\r\n",
                "0".repeat(64)
            );
            conn.write_all(head.as_bytes()).await.expect("head");
            // All but the last byte; a refused connection stops us early.
            let mut left = BODY - 1;
            while left > 0 {
                let n = left.min(chunk.len());
                if conn.write_all(&chunk[..n]).await.is_err() {
                    break;
                }
                left -= n;
            }
            let mut answer = [0u8; 64];
            let got = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut answer)).await;
            let line = match got {
                Ok(Ok(n)) => String::from_utf8_lossy(&answer[..n]).to_string(),
                _ => String::new(),
            };
            (conn, line)
        }));
    }
    // While the clients hold their connections, sample the process.
    let mut peak = 0;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak = peak.max(rss_kib());
    }
    let mut held = Vec::new();
    let mut busy = 0;
    for c in clients {
        let (conn, line) = c.await.expect("client");
        if line.contains(" 503 ") {
            busy += 1;
        }
        held.push(conn);
    }
    for _ in 0..10 {
        peak = peak.max(rss_kib());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let grown_mib = peak.saturating_sub(baseline) / 1024;
    println!(
        "RSS baseline {} MiB, peak {} MiB, grown {grown_mib} MiB; {busy} of {CONNECTIONS} told 503",
        baseline / 1024,
        peak / 1024
    );
    // The budget (64 MiB) plus a margin for the runtime, buffers and the clients.
    assert!(
        grown_mib <= 64 + 32,
        "memory grew {grown_mib} MiB with {CONNECTIONS} forged 25 MiB bodies"
    );
    assert!(
        busy >= CONNECTIONS - 3,
        "only {busy} were told to come back"
    );
    assert_eq!(t.store().delivery_count().await.expect("count"), 0);
    drop(held);
}
