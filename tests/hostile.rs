//! Hostile clients at the door: slow headers, slow bodies, too many
//! connections. Each is dropped by a bound, and nothing reaches the store.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::tester::Tester;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the peer closes or answers; what it said, and whether it closed.
async fn outcome(conn: &mut TcpStream, within: Duration) -> Option<String> {
    let mut buf = [0u8; 512];
    match tokio::time::timeout(within, conn.read(&mut buf)).await {
        Ok(Ok(n)) => Some(String::from_utf8_lossy(&buf[..n]).to_string()),
        Ok(Err(_)) => Some(String::new()),
        Err(_) => None,
    }
}

async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_headers_are_dropped_after_the_header_timeout() {
    let t = Tester::builder()
        .var("ORC_HEADER_TIMEOUT_S", "1")
        .start()
        .await;
    let mut conn = connect(t.server().addr).await;
    conn.write_all(b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\n")
        .await
        .expect("partial head");
    // Never finish the head; the server must hang up on its own.
    let said = outcome(&mut conn, Duration::from_secs(15)).await;
    assert!(said.is_some(), "the server kept the half-sent request open");
    // The closed connection cannot be used again.
    let _ = conn.write_all(b"X-More: 1\r\n\r\n").await;
    let again = outcome(&mut conn, Duration::from_secs(2)).await;
    assert!(matches!(again.as_deref(), Some("") | None), "{again:?}");
    assert_eq!(t.store().delivery_count().await.expect("count"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_coming_is_dropped_with_408() {
    let t = Tester::builder()
        .body_grace(Duration::from_millis(500))
        .start()
        .await;
    let mut conn = connect(t.server().addr).await;
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: slow-1\r\n\
         X-Hub-Signature-256: sha256={}\r\nContent-Length: 100000\r\n\r\n{{\"a\":",
        "0".repeat(64)
    );
    conn.write_all(head.as_bytes()).await.expect("head");
    let said = outcome(&mut conn, Duration::from_secs(15))
        .await
        .expect("an answer");
    assert!(said.starts_with("HTTP/1.1 408"), "{said}");
    assert_eq!(t.store().delivery_count().await.expect("count"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_for_a_free_one() {
    let t = Tester::builder()
        .var("ORC_MAX_CONNECTIONS", "2")
        .var("ORC_HEADER_TIMEOUT_S", "2")
        .start()
        .await;
    let addr = t.server().addr;
    let _a = connect(addr).await;
    let _b = connect(addr).await;
    // Give the server a moment to take both into service.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut c = connect(addr).await;
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("request");
    // Served only once the two silent ones are dropped by the header timeout.
    assert_eq!(outcome(&mut c, Duration::from_millis(500)).await, None);
    let said = outcome(&mut c, Duration::from_secs(15))
        .await
        .expect("served at last");
    assert!(said.starts_with("HTTP/1.1 200"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_genuine_delivery_is_told_to_come_back_while_forged_ones_hold_the_budget() {
    let t = Tester::builder()
        .var("ORC_UNAUTH_BODY_BYTES", "2097152")
        .start()
        .await;
    let addr = t.server().addr;
    // Hold the whole budget with a forged body that never ends.
    let mut hog = connect(addr).await;
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: hog\r\n\
         X-Hub-Signature-256: sha256={}\r\nContent-Length: 2097152\r\n\r\n",
        "0".repeat(64)
    );
    hog.write_all(head.as_bytes()).await.expect("head");
    hog.write_all(&vec![b' '; 1024]).await.expect("some body");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A real delivery cannot get room while the budget is held: 503, and
    // GitHub redelivers it later.
    let body =
        serde_json::to_vec(&t.payload("created", 5, "alice", "User", "/help", None)).expect("json");
    let sig = orcoursetrion::sign(common::tester::SECRET.as_bytes(), &body);
    let resp = t
        .deliver_raw("real-1", "issue_comment", &body, Some(sig.clone()))
        .await;
    assert_eq!(resp.status(), 503);
    drop(hog);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let resp = t
        .deliver_raw("real-1", "issue_comment", &body, Some(sig))
        .await;
    assert_eq!(resp.status(), 202);
}
