//! Backfill resume: a delivery run interrupted (SIGINT, then SIGKILL) and
//! run again delivers every directory exactly once overall, counted at a
//! real KCIDB REST test server.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::http::Fault;
use common::rest::RestServer;
use common::storage::StorageServer;

const DIRS: usize = 10;

/// `DIRS` result directories, each a corpus case whose log differs by one
/// line (so every build id differs), all finished an hour ago.
fn tree(root: &Path) -> PathBuf {
    let tree = root.join("tree");
    for i in 0..DIRS {
        let parent = tree.join(format!("d{i:02}"));
        std::fs::create_dir_all(&parent).unwrap();
        let dir = common::unpack_case(common::CASES[i % common::CASES.len()], &parent);
        common::append_to_log(&dir, &format!("copy {i}"));
    }
    common::age(&tree);
    tree
}

fn harvest_cmd(home: &Path, tree: &Path, rest: &RestServer, storage: &StorageServer) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("kcidb-harvest"));
    c.current_dir(home)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("KCIDB_REST", rest.kcidb_rest(&RestServer::token("gregkh")))
        .env("KCI_STORAGE_URL", storage.url())
        .env("KCI_STORAGE_TOKEN", StorageServer::token("bob@example.org"))
        .arg("-r")
        .arg(tree)
        .args(["--origin", "gregkh", "-j", "2", "--max-objects", "1", "-q"]);
    c
}

/// Polls at most this often (a bound on the loop, not a timing assertion).
const MAX_POLLS: u32 = 6000;

fn wait_for_submissions(rest: &RestServer, n: usize, child: &mut Child) {
    let mut polls = 0;
    while rest.submissions().len() < n {
        polls += 1;
        assert!(polls < MAX_POLLS, "no progress after {MAX_POLLS} polls");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended too early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

fn assert_each_delivered_once(rest: &RestServer) {
    let ids = rest.delivered_build_ids();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), DIRS, "every directory delivered: {ids:?}");
    assert_eq!(ids.len(), DIRS, "and none twice: {ids:?}");
}

fn run_interrupted_then_resume(sig: &str, expect_code: Option<i32>) {
    let home = tempfile::tempdir().unwrap();
    let tree = tree(home.path());
    let rest = RestServer::start();
    let storage = StorageServer::start();
    // Slow log uploads: a report is submitted only after its logs are
    // uploaded, so a run killed while it waits for the storage has not
    // submitted the report in hand.
    storage.set_always(Some(Fault::SlowBeforeBody(Duration::from_millis(200))));

    let mut child = harvest_cmd(home.path(), &tree, &rest, &storage)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_submissions(&rest, 3, &mut child);
    // Kill while the next build's logs upload, not in the instant between a
    // stored submission and its journal line (a kill there is the one case
    // a resend cannot be told apart: the resend is byte-identical with the
    // same ids, so KCIDB merges it; the journal cannot close that window).
    // (each upload stalls 200 ms: this lands in the next build's uploads)
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, sig);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), expect_code, "{sig}: {stderr}");
    let before = rest.delivered_build_ids().len();
    assert!(
        before < DIRS,
        "{sig} came too late to test anything ({before} delivered)"
    );

    let out = harvest_cmd(home.path(), &tree, &rest, &storage)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the resumed run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_each_delivered_once(&rest);

    // and a third run sends nothing at all
    let n = rest.submit_requests().len();
    let out = harvest_cmd(home.path(), &tree, &rest, &storage)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        rest.submit_requests().len(),
        n,
        "already delivered: nothing sent"
    );

    // whatever the interrupted run spooled is known delivered: `send` sends nothing twice
    let out = Command::new(assert_cmd::cargo::cargo_bin("kcidb-harvest"))
        .current_dir(home.path())
        .env("HOME", home.path())
        .env("KCIDB_REST", rest.kcidb_rest(&RestServer::token("gregkh")))
        .arg("send")
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0)),
        "send: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_each_delivered_once(&rest);
}

#[test]
fn sigint_then_resume_delivers_each_directory_once() {
    run_interrupted_then_resume("-INT", Some(130));
}

#[test]
fn sigkill_then_resume_delivers_each_directory_once() {
    // killed: no exit code
    run_interrupted_then_resume("-KILL", None);
}
