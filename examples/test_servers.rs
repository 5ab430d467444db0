//! The test suite's KCIDB REST receiver and kernelci-storage server, run
//! standalone on 127.0.0.1 for benchmarks (`scripts/bench-backfill.sh`).
//!
//! usage: test_servers [ORIGIN] [--env-file FILE] [--serve-seconds N]
//!
//! Prints `KEY=value` lines for the environment (KCIDB_REST,
//! KCI_STORAGE_URL, KCI_STORAGE_TOKEN) on stdout (and into FILE), then
//! serves until standard input closes (or for N seconds), and prints what
//! it received as one JSON object.

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::io::{BufRead, Write};

use common::rest::RestServer;
use common::storage::StorageServer;

fn main() {
    let rest = RestServer::start();
    let storage = StorageServer::start();
    let mut origin = "bench".to_string();
    let mut env_file = None;
    let mut serve_seconds = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--env-file" => env_file = args.next(),
            "--serve-seconds" => serve_seconds = args.next().and_then(|n| n.parse::<u64>().ok()),
            _ => origin = a,
        }
    }
    let env = format!(
        "KCIDB_REST={}\nKCI_STORAGE_URL={}\nKCI_STORAGE_TOKEN={}\n",
        rest.kcidb_rest(&RestServer::token(&origin)),
        storage.url(),
        StorageServer::token("bench@example.org")
    );
    if let Some(f) = &env_file {
        if let Err(e) = std::fs::write(f, &env) {
            eprintln!("test_servers: cannot write {f}: {e}");
            std::process::exit(2);
        }
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(env.as_bytes());
    let _ = out.flush();
    drop(out);
    match serve_seconds {
        Some(n) => std::thread::sleep(std::time::Duration::from_secs(n)),
        None => {
            // serve until stdin closes
            for line in std::io::stdin().lock().lines() {
                if line.is_err() {
                    break;
                }
            }
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
