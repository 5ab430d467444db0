//! The history (README "History"): what is new since the previous build,
//! `diff`, backfill, concurrency and crashes.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common;
use common::text;
use kcidb_harvest::history::History;

const ORIGIN: &str = "gregkh";

struct World {
    tmp: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        World {
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }
    fn root(&self) -> &Path {
        self.tmp.path()
    }
    fn history(&self) -> PathBuf {
        self.root().join("history.sqlite")
    }
    fn case(&self, case: &str) -> PathBuf {
        let into = self.root().join("runs");
        std::fs::create_dir_all(&into).expect("mkdir");
        common::unpack_case(case, &into)
    }
    /// `kcidb-harvest ARGS… --origin gregkh --history H` (spool in the world).
    fn run(&self, args: &[&str]) -> Output {
        common::bin(self.root())
            .args(args)
            .args(["--origin", ORIGIN, "--assume-finished", "--history"])
            .arg(self.history())
            .output()
            .expect("run")
    }
    fn diff(&self, args: &[&str]) -> Output {
        common::bin(self.root())
            .arg("diff")
            .args(args)
            .args(["--origin", ORIGIN, "--history"])
            .arg(self.history())
            .output()
            .expect("run")
    }
    fn open(&self) -> History {
        History::open_read_only(&self.history())
            .expect("history opens")
            .expect("history exists")
    }
}

fn json_lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn directory_line(o: &Output) -> Value {
    json_lines(&o.stderr)
        .into_iter()
        .find(|l| l["type"] == "directory")
        .expect("a directory line")
}

/// The corpus pair: `warn` is `pass-tiny`'s tree, config and compiler with
/// a queue that adds 3 gcc warnings (truth.json).
#[test]
fn pass_tiny_then_warn_has_3_new_warnings_in_the_line_and_in_diff() {
    let w = World::new();
    let tiny = w.case("pass-tiny");
    let warn = w.case("warn");
    let out = w.run(&[tiny.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let first = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        first.contains("-> PASS, 1 distinct warning  gregkh:b-"),
        "no previous build, nothing said: {first}"
    );
    let out = w.run(&[warn.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let line = String::from_utf8_lossy(&out.stderr);
    assert!(
        line.contains("Build of 6.1 was good (W:4 E:0 42 seconds) -> PASS, 4 distinct warnings (3 new)  gregkh:b-"),
        "{line}"
    );
    // JSON: the counts and the previous build
    let out = w.run(&[warn.to_str().unwrap(), "--format", "json"]);
    let d = directory_line(&out);
    assert_eq!(d["new"], serde_json::json!({"warnings": 3, "errors": 0}));
    assert_eq!(d["gone"], serde_json::json!({"warnings": 0, "errors": 0}));
    let h = w.open();
    let tiny_id = h.deliveries().unwrap()[0].0.clone();
    assert_eq!(d["previous_build_id"], tiny_id.as_str());
    let warn_id = d["build_id"].as_str().unwrap().to_string();
    assert_eq!(
        h.builds().unwrap(),
        2,
        "the second harvest of warn is the same build"
    );
    drop(h);

    // diff of the two directories, of the two ids, and of warn alone
    let truth = common::truth("warn");
    let mut want: Vec<(String, u64)> = truth["warnings"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["path"].as_str().unwrap().to_string(),
                x["line"].as_u64().unwrap(),
            )
        })
        .collect();
    want.sort();
    for args in [
        vec![tiny.to_str().unwrap(), warn.to_str().unwrap()],
        vec![tiny_id.as_str(), warn_id.as_str()],
        vec![warn.to_str().unwrap()],
        vec![warn_id.as_str()],
    ] {
        let mut a = args.clone();
        a.extend(["--format", "json"]);
        let out = w.diff(&a);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        let lines = json_lines(&out.stdout);
        let mut new: Vec<(String, u64)> = lines
            .iter()
            .filter(|l| l["type"] == "diagnostic")
            .map(|l| {
                assert_eq!(l["change"], "new", "{l}");
                assert_eq!(l["build_id"], warn_id.as_str());
                assert_eq!(l["severity"], "warning");
                assert_eq!(l["kind"], "compiler");
                (
                    l["file"].as_str().unwrap().to_string(),
                    l["line"].as_u64().unwrap(),
                )
            })
            .collect();
        new.sort();
        assert_eq!(new, want, "{args:?}");
        let last = lines.last().unwrap();
        assert_eq!(last["type"], "diff");
        assert_eq!(last["old_build_id"], tiny_id.as_str());
        assert_eq!(last["new"]["warnings"], 3);
    }
    // the other way round: they are gone
    let out = w.diff(&[warn.to_str().unwrap(), tiny.to_str().unwrap()]);
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(human.contains(": 0 new, 3 gone\n"), "{human}");
    assert_eq!(human.matches("  gone  init/main.c:").count(), 3, "{human}");
}

#[test]
fn dry_run_reads_the_history_and_writes_nothing() {
    let w = World::new();
    let tiny = w.case("pass-tiny");
    let warn = w.case("warn");
    let out = w.run(&[tiny.to_str().unwrap(), "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!w.history().exists(), "a dry run creates no history");
    assert!(w.run(&[tiny.to_str().unwrap()]).status.success());
    let before = std::fs::read(w.history()).unwrap();
    let out = w.run(&[warn.to_str().unwrap(), "--dry-run"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("4 distinct warnings (3 new)"));
    assert_eq!(w.open().builds().unwrap(), 1);
    assert_eq!(std::fs::read(w.history()).unwrap(), before);
}

#[test]
fn no_history_neither_reads_nor_writes() {
    let w = World::new();
    let tiny = w.case("pass-tiny");
    let warn = w.case("warn");
    assert!(w.run(&[tiny.to_str().unwrap()]).status.success());
    let out = common::bin(w.root())
        .arg(&warn)
        .args(["--origin", ORIGIN, "--no-history"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(" new)"));
    assert_eq!(w.open().builds().unwrap(), 1);
    // the default file is in the data directory
    let out = common::bin(w.root())
        .arg(&tiny)
        .args(["--origin", ORIGIN])
        .env_remove("KCIDB_HARVEST_HISTORY")
        .env_remove("XDG_DATA_HOME")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(w
        .root()
        .join(".local/share/kcidb-harvest/history.sqlite")
        .is_file());
}

#[test]
fn a_history_that_cannot_be_opened_stops_the_harvest_with_one_line() {
    let w = World::new();
    let tiny = w.case("pass-tiny");
    std::fs::write(
        w.history(),
        "this is not an SQLite database, it is a text file\n",
    )
    .unwrap();
    let out = w.run(&[tiny.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("history.sqlite`") && err.contains("--no-history"),
        "{err}"
    );
    assert!(
        !w.root().join("kcidb-spool").exists(),
        "nothing was harvested"
    );
}

#[test]
fn a_backfill_fills_the_history_so_the_next_harvest_compares() {
    let w = World::new();
    let root = w.root().join("old");
    for case in ["pass-tiny", "fail-compile", "pass-queue"] {
        common::unpack_case(case, &root);
    }
    let out = w.run(&["-r", root.to_str().unwrap()]);
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "{}",
        text(&out)
    );
    let spooled = kcidb_harvest::spool::Spool::new(w.root().join("kcidb-spool"))
        .list()
        .unwrap()
        .len();
    let h = w.open();
    assert_eq!(h.builds().unwrap(), 3, "{}", text(&out));
    assert!(h.deliveries().unwrap().iter().all(|(_, d)| d == "spooled"));
    assert!(spooled >= 1);
    drop(h);
    let warn = w.case("warn");
    let out = w.run(&[warn.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("(3 new)"),
        "{}",
        text(&out)
    );
}

/// Several directories with different build ids: the generator of the
/// backfill benchmark, tagged with `name` (two trees share no build id).
fn tree(w: &World, name: &str, n: usize) -> PathBuf {
    let t = w.root().join(name);
    let st = std::process::Command::new("python3")
        .arg(common::repo().join("scripts/gen-backfill-tree.py"))
        .arg(common::repo())
        .arg(&t)
        .arg(n.to_string())
        .arg(name)
        .status()
        .expect("python3 runs the generator");
    assert!(st.success());
    t
}

fn spawn(w: &World, args: &[&str], spool: &str) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("kcidb-harvest"))
        .args(args)
        .args(["--origin", ORIGIN, "--history"])
        .arg(w.history())
        .args(["--spool", spool, "-q"])
        .env_remove("KCIDB_REST")
        .env_remove("KCI_STORAGE_URL")
        .env("HOME", w.root())
        .current_dir(w.root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn")
}

fn spooled_build_ids(spool: &Path) -> std::collections::HashSet<String> {
    let mut ids = std::collections::HashSet::new();
    for f in kcidb_harvest::spool::Spool::new(spool.to_path_buf())
        .list()
        .unwrap()
    {
        let v: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        for b in v["builds"].as_array().unwrap() {
            ids.insert(b["id"].as_str().unwrap().to_string());
        }
    }
    ids
}

#[test]
fn two_harvests_at_once_share_one_history() {
    let w = World::new();
    let a = tree(&w, "a", 40);
    let b = tree(&w, "b", 40);
    let pa = spawn(&w, &["-r", a.to_str().unwrap(), "-j", "1"], "spool-a");
    let pb = spawn(&w, &["-r", b.to_str().unwrap(), "-j", "1"], "spool-b");
    for p in [pa, pb] {
        let out = p.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("history `"), "no history error: {err}");
        assert!(matches!(out.status.code(), Some(0 | 1)), "{err}");
    }
    let mut want = spooled_build_ids(&w.root().join("spool-a"));
    want.extend(spooled_build_ids(&w.root().join("spool-b")));
    let h = w.open();
    assert_eq!(h.integrity().unwrap(), "ok");
    let got: std::collections::HashSet<String> = h
        .deliveries()
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(want.len() >= 60, "{}", want.len());
    assert_eq!(got, want, "every spooled build, from both harvests");
}

#[test]
fn a_killed_harvest_loses_nothing_it_committed() {
    let w = World::new();
    let t = tree(&w, "big", 300);
    // one submission (and one history commit) per 10 directories
    let mut p = spawn(
        &w,
        &["-r", t.to_str().unwrap(), "-j", "1", "--max-objects", "10"],
        "spool",
    );
    // wait until some builds were committed, then SIGKILL
    let mut seen = 0;
    for _ in 0..3000 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        if let Ok(Some(h)) = History::open_read_only(&w.history()) {
            seen = h.builds().unwrap_or(0);
            if seen > 0 {
                break;
            }
        }
    }
    assert!(
        p.try_wait().unwrap().is_none(),
        "the harvest ended before it could be killed"
    );
    p.kill().expect("SIGKILL");
    p.wait().unwrap();
    assert!(
        seen > 0,
        "the harvest committed nothing before it was killed"
    );
    let h = History::open(&w.history()).expect("opens after a kill");
    assert_eq!(h.integrity().unwrap(), "ok");
    let got: Vec<String> = h
        .deliveries()
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(got.len() as u64 >= seen, "{} < {seen}", got.len());
    // only what was spooled is recorded
    let spooled = spooled_build_ids(&w.root().join("spool"));
    for id in &got {
        assert!(spooled.contains(id), "{id} recorded but not spooled");
    }
}

/// `send` of one spool while a harvest of other directories writes the
/// same history: both finish, `send` marks what it delivered, the harvest
/// records what it spooled.
#[test]
fn a_harvest_beside_send_shares_one_history() {
    use common::rest::RestServer;
    use common::storage::StorageServer;
    let w = World::new();
    let a = tree(&w, "a", 30);
    let b = tree(&w, "b", 30);
    let first = spawn(&w, &["-r", a.to_str().unwrap(), "-j", "1"], "spool-a")
        .wait_with_output()
        .unwrap();
    assert!(matches!(first.status.code(), Some(0 | 1)), "{first:?}");
    let spooled_a = spooled_build_ids(&w.root().join("spool-a"));
    assert!(spooled_a.len() >= 20, "{}", spooled_a.len());

    let rest = RestServer::start();
    let storage = StorageServer::start();
    let secrets = tempfile::tempdir().unwrap();
    let token_file = secrets.path().join("kcidb-token");
    std::fs::write(&token_file, RestServer::token(ORIGIN)).unwrap();
    let send = std::process::Command::new(assert_cmd::cargo::cargo_bin("kcidb-harvest"))
        .args([
            "send",
            "spool-a",
            "--kcidb-rest-url",
            &rest.url(),
            "--kcidb-token-file",
        ])
        .arg(&token_file)
        .args(["--storage-url", &storage.url(), "--storage-token"])
        .arg(StorageServer::token("builder@example.org"))
        .args(["--retry-delay", "50ms", "--retry-for", "5s", "--history"])
        .arg(w.history())
        .env("HOME", w.root())
        .current_dir(w.root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let harvest = spawn(&w, &["-r", b.to_str().unwrap(), "-j", "1"], "spool-b");
    let send = send.wait_with_output().unwrap();
    let harvest = harvest.wait_with_output().unwrap();
    let send_err = String::from_utf8_lossy(&send.stderr);
    assert_eq!(send.status.code(), Some(0), "{send_err}");
    assert!(!send_err.contains("history"), "{send_err}");
    let harvest_err = String::from_utf8_lossy(&harvest.stderr);
    assert!(
        matches!(harvest.status.code(), Some(0 | 1)),
        "{harvest_err}"
    );
    assert!(!harvest_err.contains("history `"), "{harvest_err}");

    let delivered: std::collections::HashSet<String> = rest
        .submissions()
        .iter()
        .flat_map(|s| s.build_ids())
        .collect();
    assert_eq!(delivered, spooled_a, "send delivered spool A");
    let spooled_b = spooled_build_ids(&w.root().join("spool-b"));
    let h = w.open();
    assert_eq!(h.integrity().unwrap(), "ok");
    let mut by_state =
        std::collections::BTreeMap::<String, std::collections::HashSet<String>>::new();
    for (id, state) in h.deliveries().unwrap() {
        by_state.entry(state).or_default().insert(id);
    }
    assert_eq!(by_state.get("delivered"), Some(&spooled_a), "{by_state:?}");
    assert_eq!(by_state.get("spooled"), Some(&spooled_b), "{by_state:?}");
}

/// The real pair of logs (fixtures/logs/README.md): the same error and
/// warning, 6 and 2 lines further down, built in another output
/// directory: the same issues, nothing new.
#[test]
fn the_same_errors_on_other_lines_are_the_same_issues() {
    let a = common::repo().join("fixtures/logs/arm64-gcc-tinyconfig-fail");
    let b = common::repo().join("fixtures/logs/arm64-gcc-tinyconfig-fail-moved");
    let issues = |dir: &Path| -> (Vec<String>, Vec<u64>) {
        let out = common::harvester()
            .arg(dir)
            .args([
                "--origin",
                ORIGIN,
                "--dry-run",
                "--issues",
                "all",
                "--no-history",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut ids: Vec<String> = doc["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        let mut lines: Vec<u64> = doc["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["misc"]["line"].as_u64().unwrap())
            .collect();
        lines.sort();
        (ids, lines)
    };
    let (ia, la) = issues(&a);
    let (ib, lb) = issues(&b);
    assert_eq!(ia.len(), 3, "1 warning and 2 errors");
    assert_eq!(ia, ib, "the same issues");
    assert_eq!(la, [133, 134, 595]);
    assert_eq!(lb, [139, 140, 597], "the lines did move");
    let w = World::new();
    let out = common::bin(w.root())
        .args([
            "diff",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--origin",
            ORIGIN,
            "--no-history",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(": 0 new, 0 gone\n"),
        "{}",
        text(&out)
    );
}

#[test]
fn diff_says_in_one_line_what_it_cannot_compare() {
    let w = World::new();
    let tiny = w.case("pass-tiny");
    for (args, want) in [
        (
            vec![tiny.to_str().unwrap()],
            "no history to find its previous build in",
        ),
        (
            vec!["gregkh:b-0000"],
            "not a directory, and there is no history",
        ),
    ] {
        let out = w.diff(&args);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{err}");
    }
    assert!(w.run(&[tiny.to_str().unwrap()]).status.success());
    let out = w.diff(&[tiny.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no earlier build in the history"));
    let out = w.diff(&["gregkh:b-0000"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a build id in the history"));
}
