//! The test suite's KCIDB REST receiver and kernelci-storage server, run
//! standalone on 127.0.0.1 for benchmarks (`scripts/bench-backfill.sh`).
//!
//! Prints `KEY=value` lines for the environment (KCIDB_REST,
//! KCI_STORAGE_URL, KCI_STORAGE_TOKEN), then serves until standard input
//! closes, and prints what it received as one JSON object.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, Write};

use common::rest::RestServer;
use common::storage::StorageServer;

fn main() {
    let rest = RestServer::start();
    let storage = StorageServer::start();
    let origin = std::env::args().nth(1).unwrap_or_else(|| "bench".into());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "KCIDB_REST={}",
        rest.kcidb_rest(&RestServer::token(&origin))
    );
    let _ = writeln!(out, "KCI_STORAGE_URL={}", storage.url());
    let _ = writeln!(
        out,
        "KCI_STORAGE_TOKEN={}",
        StorageServer::token("bench@example.org")
    );
    let _ = out.flush();
    drop(out);
    // serve until stdin closes
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        if line.is_err() {
            break;
        }
    }
    let ids = rest.delivered_build_ids();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    let files = storage.files();
    let log_bytes: usize = files
        .iter()
        .filter(|(k, _)| k.ends_with("/build.log.gz"))
        .map(|(_, v)| v.len())
        .sum();
    let all_bytes: usize = files.values().map(|v| v.len()).sum();
    println!(
        "{}",
        serde_json::json!({
            "submissions": rest.submissions().len(),
            "builds": ids.len(),
            "unique_builds": unique.len(),
            "files": files.len(),
            "build_log_gz_bytes": log_bytes,
            "all_gz_bytes": all_bytes,
        })
    );
}
