//! Command-line behaviour: exit codes, streams, id determinism, one-line
//! errors for bad input.

use crate::common;

use std::path::Path;

use common::*;
use predicates::prelude::*;
use serde_json::Value;

fn ids(report: &Value) -> (String, String) {
    (
        report["checkouts"][0]["id"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        report["builds"][0]["id"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn ids_survive_copy_rename_and_touch() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("warn", tmp.path());
    let first = ids(&dry_run(&dir));
    assert!(first.0.starts_with("gregkh:ck-") && first.1.starts_with("gregkh:b-"));
    assert_eq!(first, ids(&dry_run(&dir)), "same directory twice");

    let copy = tmp.path().join("renamed_copy_of_warn");
    copy_dir(&dir, &copy);
    // touch every file (new mtimes)
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    for e in walkdir::WalkDir::new(&copy) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let f = std::fs::File::options().write(true).open(e.path()).unwrap();
            f.set_modified(later).unwrap();
        }
    }
    assert_eq!(first, ids(&dry_run(&copy)), "copied, renamed and touched");
    let moved = tmp.path().join("moved");
    std::fs::rename(&copy, &moved).unwrap();
    let again = dry_run(&moved);
    assert_eq!(first, ids(&again));
    assert_eq!(
        dry_run(&dir),
        again,
        "the whole report is location independent"
    );
}

#[test]
fn different_runs_never_share_a_build_id() {
    let tmp = tempfile::tempdir().unwrap();
    let a = ids(&dry_run(&unpack_case("pass-tiny", tmp.path())));
    let b = ids(&dry_run(&unpack_case("warn", tmp.path())));
    assert_ne!(a.1, b.1);
}

#[test]
fn dry_run_stdout_is_exactly_one_document_with_all_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let a = unpack_case("pass-tiny", tmp.path());
    let b = unpack_case("fail-compile", tmp.path());
    let out = harvester()
        .args([a.as_os_str(), b.as_os_str()])
        .args(["--origin", "gregkh", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document on stdout");
    assert_eq!(doc["version"]["major"], 5);
    assert_eq!(doc["builds"].as_array().map(|a| a.len()), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Build of 6.1 was good"), "{stderr}");
    // the mail's line verbatim, then our verdict, our counts and the id
    assert!(
        stderr.contains(
            "Build of 6.1 was good (W:1 E:0 198 seconds) -> PASS, 1 distinct warning  gregkh:b-"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("Build of 6.1 FAILED! (W:1 E:1 23 seconds) -> FAIL (ktest: failed build"),
        "{stderr}"
    );
}

#[test]
fn output_file_gets_the_same_document() {
    let tmp = tempfile::tempdir().unwrap();
    let a = unpack_case("pass-queue", tmp.path());
    let file = tmp.path().join("report.json");
    let out = harvester()
        .arg(&a)
        .args(["--origin", "gregkh", "--dry-run", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(std::fs::read(&file).unwrap(), out.stdout);
}

#[test]
fn origin_is_required_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let a = unpack_case("pass-tiny", tmp.path());
    harvester()
        .arg(&a)
        .arg("--dry-run")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--origin"));
    harvester()
        .arg(&a)
        .args(["--origin", "Greg-KH", "--dry-run"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid origin `Greg-KH`"));
}

/// Exactly one `error:` line naming the directory, and the reason.
fn assert_one_line_error(dir: &Path, needle: &str) {
    let out = harvester()
        .arg(dir)
        .args(["--origin", "gregkh", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "exit 1 for a failed directory");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    assert!(errors[0].contains(&dir.display().to_string()), "{stderr}");
    assert!(errors[0].contains(needle), "wanted `{needle}` in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn missing_directory() {
    let tmp = tempfile::tempdir().unwrap();
    assert_one_line_error(&tmp.path().join("nope"), "no such directory");
}

#[test]
fn unknown_layout_names_what_was_looked_for() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("README"), "hello").unwrap();
    assert_one_line_error(tmp.path(), "unknown layout: looked for test_stable_ssh");
}

#[test]
fn unreadable_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("pass-tiny", tmp.path());
    std::fs::remove_file(dir.join("linux/log")).unwrap();
    std::fs::create_dir(dir.join("linux/log")).unwrap();
    assert_one_line_error(&dir, "`linux/log`");
}

#[test]
fn binary_garbage_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("pass-tiny", tmp.path());
    let garbage: Vec<u8> = (0..70_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("linux/log"), garbage).unwrap();
    assert_one_line_error(&dir, "`linux/log` is not a text log");
}

#[test]
fn invalid_utf8_log_is_harvested() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("warn", tmp.path());
    let mut log = std::fs::read(dir.join("linux/log")).unwrap();
    log.extend_from_slice(b"\n../init/main.c:1:1: warning: bad \xff\xfe bytes [-Wx]\n");
    std::fs::write(dir.join("linux/log"), log).unwrap();
    let r = dry_run(&dir);
    assert_eq!(r["builds"][0]["status"], "PASS");
}

#[test]
fn empty_output_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("pass-tiny", tmp.path());
    std::fs::write(dir.join("output_log"), "").unwrap();
    // the log still holds the verdict: harvested, no crash
    let r = dry_run(&dir);
    assert_eq!(r["builds"][0]["status"], "PASS");
    assert!(r["builds"][0]["misc"].get("ktest_exit").is_none());
}

#[test]
fn empty_build_log_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("pass-tiny", tmp.path());
    std::fs::write(dir.join("linux/log"), "").unwrap();
    assert_one_line_error(&dir, "`linux/log`");
}

#[test]
fn one_bad_directory_does_not_stop_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let good = unpack_case("pass-tiny", tmp.path());
    let out = harvester()
        .arg(tmp.path().join("missing"))
        .arg(&good)
        .args(["--origin", "gregkh", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["builds"].as_array().map(|a| a.len()), Some(1));
}

#[test]
fn parsers_lists_every_layout_and_parser() {
    let out = harvester().arg("parsers").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let layouts = kcidb_harvest::layout::LAYOUTS.iter().map(|l| l.id);
    let parsers = kcidb_harvest_parsers::PARSERS.iter().map(|p| p.id());
    for id in layouts.chain(parsers) {
        assert!(text.contains(id), "`parsers` lacks {id}");
    }
    // every layout runs only registered parsers
    for l in kcidb_harvest::layout::LAYOUTS {
        for p in l.parsers {
            assert!(
                kcidb_harvest_parsers::parser(p).is_some(),
                "{}: unknown parser {p}",
                l.id
            );
        }
    }
}

#[test]
fn explain_names_sources() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("fail-patch", tmp.path());
    let out = harvester()
        .arg("explain")
        .arg(&dir)
        .args(["--origin", "gregkh"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("checkout.git_commit_hash"), "{text}");
    assert!(text.contains("commit.txt:1"), "{text}");
    assert!(text.contains("build.status"), "{text}");
    // the recount is compared with what the script reported
    assert!(text.contains("output_log:108 says 1 too"), "{text}");
    // the same instant in two spellings is no disagreement
    assert!(
        !text.contains("says \"2026-11-28T23:35:21+00:00\""),
        "{text}"
    );
}

#[test]
fn in_progress_run_is_not_submitted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("pass-tiny", tmp.path());
    // cut the run before its end: no KTEST_RUN, no banner, fresh mtime
    let out_log = std::fs::read_to_string(dir.join("output_log")).unwrap();
    let cut = out_log
        .split("STARTING AUTOMATED TESTS")
        .next()
        .unwrap()
        .to_string();
    std::fs::write(dir.join("output_log"), cut).unwrap();
    let log = std::fs::read_to_string(dir.join("linux/log")).unwrap();
    let cut = &log[..log.find("Build time:").unwrap()];
    std::fs::write(dir.join("linux/log"), cut).unwrap();
    let out = harvester()
        .arg(&dir)
        .args(["--origin", "gregkh", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in progress"));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc.get("builds").is_none());
    // an old abandoned run is an ERROR
    let r = dry_run(&dir);
    assert_eq!(r["builds"][0]["status"], "ERROR");
}

#[test]
fn a_fifo_in_place_of_a_file_is_reported_not_waited_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("pass-tiny", tmp.path());
    std::fs::remove_file(dir.join("linux/log")).unwrap();
    let ok = std::process::Command::new("mkfifo")
        .arg(dir.join("linux/log"))
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo");
    // a FIFO named like a ktest log in another directory: the walk must not block
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::process::Command::new("mkfifo")
        .arg(other.join("ktest.log"))
        .status()
        .unwrap();
    let out = harvester()
        .arg("-r")
        .arg(tmp.path())
        .args(["--origin", "gregkh", "--dry-run"])
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`linux/log`") && stderr.contains("not a regular file"),
        "{stderr}"
    );
}

#[test]
fn truncated_gzip_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("pass-tiny", tmp.path());
    let log = std::fs::read(dir.join("linux/log")).unwrap();
    let gz = gzip(&log);
    std::fs::remove_file(dir.join("linux/log")).unwrap();
    std::fs::write(dir.join("linux/log.gz"), &gz[..gz.len() / 2]).unwrap();
    assert_one_line_error(&dir, "cannot read `linux/log.gz`");
}

#[test]
fn gzip_compressed_log_gives_the_same_report() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("warn", tmp.path());
    let plain = dry_run(&dir);
    let log = std::fs::read(dir.join("linux/log")).unwrap();
    std::fs::remove_file(dir.join("linux/log")).unwrap();
    std::fs::write(dir.join("linux/log.gz"), gzip(&log)).unwrap();
    assert_eq!(dry_run(&dir), plain);
}

#[test]
fn bad_or_misplaced_overrides_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let a = unpack_case("pass-tiny", tmp.path());
    let b = unpack_case("warn", tmp.path());
    let run = |extra: &[&str], dirs: &[&Path]| {
        let mut c = harvester();
        for d in dirs {
            c.arg(d);
        }
        c.args(["--origin", "gregkh", "--dry-run"])
            .args(extra)
            .output()
            .unwrap()
    };
    for (extra, needle) in [
        (&["--git-commit-hash", "xyz"][..], "40 hexadecimal digits"),
        (&["--patchset-hash", "abc"][..], "64 hexadecimal digits"),
        (
            &["--build-start-time", "yesterday"][..],
            "--build-start-time `yesterday`",
        ),
        (&["--arch", "x86-64"][..], "--arch `x86-64`"),
        (&["--git-repo-url", "git://x/y.git"][..], "only https://"),
        (&["--build-id", "no-origin"][..], "<origin>:<anything>"),
        (&["--status", "pass"][..], "unknown status"),
    ] {
        let out = run(extra, &[&a]);
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(needle),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // one build's identity given to several directories
    for flag in ["--build-id", "--checkout-id", "--build-run-id"] {
        let out = run(&[flag, "gregkh:x"], &[&a, &b]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("give exactly one DIR"));
    }
    // an upper-case commit is normalised, not refused
    let out = run(
        &[
            "--git-commit-hash",
            "19463F7E3AD6BEE028585A29C8F9BD10FC6BCAB6",
        ],
        &[&a],
    );
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["checkouts"][0]["git_commit_hash"],
        "19463f7e3ad6bee028585a29c8f9bd10fc6bcab6"
    );
}

#[test]
fn a_copy_of_a_directory_is_one_build_in_the_document() {
    let tmp = tempfile::tempdir().unwrap();
    let a = unpack_case("warn", &tmp.path().join("one"));
    let b = unpack_case("warn", &tmp.path().join("two"));
    let out = harvester()
        .args([a.as_os_str(), b.as_os_str()])
        .args(["--origin", "gregkh", "--dry-run"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["builds"].as_array().map(|v| v.len()), Some(1));
    assert_eq!(doc["checkouts"].as_array().map(|v| v.len()), Some(1));
}

#[test]
fn output_file_without_dry_run_holds_the_harvested_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("warn", tmp.path());
    let file = tmp.path().join("report.json");
    let out = harvester()
        .current_dir(tmp.path())
        .arg(&dir)
        .args(["--origin", "gregkh", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "no dry-run: nothing on stdout");
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(doc, dry_run(&dir));
    assert!(
        tmp.path().join("kcidb-spool").is_dir(),
        "and the report was spooled"
    );
}

/// The binary as a `std::process::Command` (its stdout can be redirected).
fn plain_harvester() -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("kcidb-harvest"));
    c.env_remove("KCIDB_REST")
        .env_remove("KCIDB_HARVEST_ORIGIN")
        .env("NO_COLOR", "1");
    c
}

#[test]
fn dry_run_to_a_full_disk_fails_with_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("pass-tiny", tmp.path());
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = plain_harvester()
        .arg(&dir)
        .args(["--origin", "gregkh", "--dry-run"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "kcidb-harvest: error: cannot write `standard output`: No space left on device"
        ),
        "{err}"
    );
    // `-o` to a full disk too
    let out = harvester()
        .arg(&dir)
        .args(["--origin", "gregkh", "--dry-run", "-o", "/dev/full"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write `/dev/full`"));
    // other commands' stdout as well
    for args in [vec!["parsers"], vec!["man"], vec!["completions", "bash"]] {
        let full = std::fs::File::options()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = plain_harvester().args(&args).stdout(full).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("pass-tiny", tmp.path());
    let mut child = plain_harvester()
        .arg(&dir)
        .args(["--origin", "gregkh", "--dry-run"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader went away before the first byte
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("error"));
}

#[test]
fn every_json_line_of_a_dry_run_backfill_is_typed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("results");
    for c in ["pass-tiny", "fail-compile"] {
        unpack_case(c, &root);
    }
    // a directory that fails, and one with a refused link (a warning)
    write(&root.join("broken/linux/log"), "");
    write(&root.join("broken/run_test.sh"), "x");
    let linked = root.join("pass-tiny-linked");
    copy_dir(&root.join("pass-tiny"), &linked);
    std::fs::remove_file(linked.join("commit.txt")).ok();
    std::os::unix::fs::symlink("/etc/hostname", linked.join("commit.txt")).unwrap();
    let out = harvester()
        .arg("-r")
        .arg(&root)
        .args(["--origin", "gregkh", "--dry-run", "--format", "json", "-j2"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let mut types = Vec::new();
    for l in err.lines() {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        types.push(v["type"].as_str().expect("a type").to_string());
    }
    assert!(types.contains(&"warning".to_string()), "{err}");
    assert_eq!(
        types.iter().filter(|t| *t == "directory").count(),
        4,
        "{err}"
    );
    assert_eq!(types.last().map(String::as_str), Some("summary"), "{err}");
    // the document on stdout is untouched by them (the linked copy is
    // the same build as pass-tiny: once in the document)
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one document");
    assert_eq!(doc["builds"].as_array().map(Vec::len), Some(2));
}

#[test]
fn a_fresh_bare_log_or_tuxmake_directory_is_never_in_progress() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, layout, dir) in layout_examples(tmp.path()) {
        if layout != "tuxmake" && layout != "build_log" {
            continue;
        }
        // freshly copied: every mtime is now, and there is no KTEST_RUN line
        let fresh = tmp.path().join(format!("fresh-{name}"));
        copy_dir(&dir, &fresh);
        let out = harvester()
            .arg(&fresh)
            .args(["--origin", "gregkh", "--dry-run"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("in progress"), "{name}: {err}");
        let doc: Value = serde_json::from_slice(&out.stdout).expect("a document");
        assert_eq!(doc["builds"].as_array().map(Vec::len), Some(1), "{name}");
    }
    // a fresh ktest directory without its KTEST_RUN line still waits
    let dir = unpack_case("pass-tiny", tmp.path());
    let out_log = std::fs::read_to_string(dir.join("output_log")).unwrap();
    let cut: String = out_log
        .lines()
        .filter(|l| !l.contains("KTEST_RUN"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("output_log"), cut).unwrap();
    let log = std::fs::read_to_string(dir.join("linux/log")).unwrap();
    let head = &log[..log.find("Build time:").unwrap_or(log.len() / 2)];
    std::fs::write(dir.join("linux/log"), head).unwrap();
    let out = harvester()
        .arg(&dir)
        .args(["--origin", "gregkh", "--dry-run"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in progress, not submitted"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn explain_shows_the_ids_a_harvest_delivers_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("warn", tmp.path());
    let (checkout, build) = ids(&dry_run(&dir));
    let out = harvester().arg("explain").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "explain needs the origin");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--origin"));
    let out = harvester()
        .arg("explain")
        .arg(&dir)
        .args(["--origin", "gregkh"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("\"{build}\"")), "{text}");
    assert!(text.contains(&format!("\"{checkout}\"")), "{text}");
}

#[test]
fn man_prints_one_page_and_installs_every_page() {
    let out = harvester().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert_eq!(page.matches(".TH ").count(), 1, "one page");
    assert!(
        page.contains("kcidb\\-harvest\\-send(1)"),
        "names the send page"
    );
    let out = harvester().args(["man", "send"]).output().unwrap();
    assert!(out.status.success());
    let send = String::from_utf8_lossy(&out.stdout);
    assert!(
        send.starts_with(".ie") || send.contains(".TH kcidb-harvest-send"),
        "{send}"
    );
    // --dir installs every page a page refers to
    let tmp = tempfile::tempdir().unwrap();
    let out = harvester()
        .args(["man", "--dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    for cap in page.split("kcidb\\-harvest\\-").skip(1) {
        let Some((name, _)) = cap.split_once("(1)") else {
            continue;
        };
        let file = tmp.path().join(format!("kcidb-harvest-{name}.1"));
        assert!(
            file.is_file(),
            "{} is referred to but not installed",
            file.display()
        );
    }
    assert!(tmp.path().join("kcidb-harvest.1").is_file());
    let out = harvester().args(["man", "nosuch"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Whether tmux is here; CI (`.ci/run` installs it and sets
/// KCIDB_HARVEST_REQUIRE_TMUX=1) must have it.
fn have_tmux() -> bool {
    let ok = std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("KCIDB_HARVEST_REQUIRE_TMUX").is_none(),
            "tmux is required here"
        );
        eprintln!("tmux not installed: terminal test skipped");
    }
    ok
}

#[test]
fn the_progress_bar_is_drawn_on_a_terminal_and_warnings_never_tear_it() {
    if !have_tmux() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("results");
    let one = unpack_case("pass-tiny", tmp.path());
    // 120 directories; every third has a link leading outside (a warning
    // printed from the batch while the bar is drawn)
    for i in 0..120 {
        let d = root.join(format!("run{i:03}"));
        copy_dir(&one, &d);
        if i % 3 == 0 {
            std::os::unix::fs::symlink("/etc/hostname", d.join("ktest.conf.orig")).unwrap();
            std::fs::remove_file(d.join("commit.txt")).ok();
            std::os::unix::fs::symlink("/etc/hostname", d.join("commit.txt")).unwrap();
        }
    }
    let session = format!("kh{}", std::process::id());
    let bin = assert_cmd::cargo::cargo_bin("kcidb-harvest");
    let log = tmp.path().join("done");
    let script = format!(
        "NO_COLOR=1 {} -r {} --origin gregkh --dry-run -j2 > {}; echo EXIT=$? > {}; sleep 30",
        bin.display(),
        root.display(),
        tmp.path().join("doc.json").display(),
        log.display()
    );
    let tmux = |args: &[&str]| {
        std::process::Command::new("tmux")
            .args(args)
            .output()
            .expect("tmux")
    };
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "200",
        "-y",
        "50",
        "bash",
        "-c",
        &script,
    ]);
    assert!(started.status.success(), "{started:?}");
    let capture = || {
        String::from_utf8_lossy(
            &tmux(&["capture-pane", "-p", "-J", "-S", "-2000", "-t", &session]).stdout,
        )
        .into_owned()
    };
    // poll the pane (a bounded number of times) until the run ends
    let mut saw_bar = false;
    let mut screen = String::new();
    for _ in 0..3000 {
        screen = capture();
        saw_bar |= screen.lines().any(|l| l.contains("/120 dirs"));
        if log.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The last capture may predate the run's end (the bar still up), and
    // tmux may not have drawn all of the run's output yet: capture until
    // the pane stops changing (a bounded number of times).
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let now = capture();
        if now == screen {
            break;
        }
        screen = now;
    }
    let _ = tmux(&["kill-session", "-t", &session]);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap_or_default().trim(),
        "EXIT=0",
        "{screen}"
    );
    assert!(saw_bar, "the bar was never drawn:\n{screen}");
    // after the run: the bar is cleared, and every line is whole
    let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    let warnings = lines
        .iter()
        .filter(|l| l.starts_with("kcidb-harvest: warning: "))
        .count();
    assert!(warnings >= 40, "{screen}");
    for l in &lines {
        assert!(
            !l.contains("/120 dirs"),
            "bar left on screen: {l}\n{screen}"
        );
        let known = l.starts_with("kcidb-harvest: warning: ")
            || l.contains(": Build of 6.1 ")
            || l.starts_with("summary:")
            || l.starts_with("  ");
        assert!(known, "torn line: {l:?}\n{screen}");
    }
}

#[test]
fn a_backfill_of_bare_logs_says_each_hint_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("old");
    for i in 0..6 {
        // bare logs of long ago: no commit known, so delivery refuses them
        write(
            &root.join(format!("d{i}/build.log")),
            format!("make ARCH=x86_64\n  CC      init/main.o\ninit/main.c:{i}:1: warning: x [-Wfoo]\nKernel: arch/x86/boot/bzImage is ready  (#1)\n"),
        );
    }
    age(&root);
    let out = harvester()
        .current_dir(tmp.path())
        .arg("-r")
        .arg(&root)
        .args(["--origin", "gregkh", "--spool"])
        .arg(tmp.path().join("spool"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("--allow-unknown-commit").count(), 1, "{err}");
    assert_eq!(err.matches("  failed: ").count(), 1, "{err}");
    assert!(err.contains(" and 3 more: not delivered: "), "{err}");
}

#[test]
fn diagnostics_lists_every_distinct_diagnostic_human_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    let warn = unpack_case("warn", tmp.path());
    let fail = unpack_case("fail-compile", tmp.path());
    // hand-checked against the logs: `grep -n -i 'warning:\|error:' linux/log`
    let out = harvester()
        .arg("diagnostics")
        .args([&warn, &fail])
        .args(["--origin", "gregkh"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let (_, build) = ids(&dry_run(&warn));
    let want = format!(
        "{}: {build}: 4 distinct warnings, 0 distinct errors in linux/log
  compiler:
    init/main.c:273:64: warning: format ‘%d’ expects argument of type ‘int’, but argument 4 has type ‘long int’ [-Wformat=]
    init/main.c:256:13: warning: unused variable ‘oldlevel’ [-Wunused-variable]
    init/main.c:266:34: warning: this statement may fall through [-Wimplicit-fallthrough=]
  kconfig:
    .config:1309: warning: override: UNWINDER_GUESS changes choice state
",
        warn.display()
    );
    assert!(text.starts_with(&want), "{text}");
    assert!(
        text.contains(
            "    init/main.c:261:44: error: invalid type argument of ‘->’ (have ‘int’)\n"
        ),
        "{text}"
    );

    let out = harvester()
        .arg("diagnostics")
        .arg(&fail)
        .args(["--origin", "gregkh", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    for l in &lines {
        for k in [
            "type",
            "dir",
            "build_id",
            "severity",
            "kind",
            "file",
            "line",
            "column",
            "message",
            "occurrences",
            "log_line",
        ] {
            assert!(l.get(k).is_some(), "{k} missing: {l}");
        }
        assert_eq!(l["type"], "diagnostic");
    }
    let error = lines
        .iter()
        .find(|l| l["severity"] == "error")
        .expect("the error");
    assert_eq!(error["file"], "init/main.c");
    assert_eq!(error["line"], 261);
    assert_eq!(error["column"], 44);
    assert_eq!(error["log_line"], 249);
    let kconfig = lines
        .iter()
        .find(|l| l["kind"] == "kconfig")
        .expect("kconfig");
    assert_eq!(kconfig["column"], Value::Null, "unknown is null");

    // explain shows the same list
    let out = harvester()
        .arg("explain")
        .arg(&fail)
        .args(["--origin", "gregkh"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("diagnostics (distinct"), "{text}");
    assert!(
        text.contains("init/main.c:261:44: error: invalid type argument"),
        "{text}"
    );
}
