//! Hostile and damaged copies of the corpus cases: a result directory is
//! controlled by the build machine it was copied from. Nothing outside the
//! directory is read or published, what changes a field is said, overrides
//! rescue a damaged source, terminal output is escaped, and a missing
//! argument is a usage error.

use crate::common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use common::rest::RestServer;
use common::storage::StorageServer;
use common::*;
use serde_json::Value;

/// Text planted outside every harvested directory.
const SENTINEL: &str = "OUTSIDE-THE-DIRECTORY-3f9c1e";

/// A file outside `root`'s result directories holding the sentinel (a
/// plausible .config / log, so a parser would gladly take it).
fn outside_file(tmp: &Path) -> PathBuf {
    let p = tmp.join("outside").join("secret");
    write(
        &p,
        format!(
            "# Automatically generated file; DO NOT EDIT.\n# Linux/x86 6.1.0 Kernel Configuration\nCONFIG_CC_VERSION_TEXT=\"{SENTINEL}\"\nCONFIG_64BIT=y\n\
             STARTING AUTOMATED TESTS\nKERNEL_VERSION = {SENTINEL}\n{SENTINEL} warning: {SENTINEL}\n"
        ),
    );
    p
}

/// Replace `rel` below `dir` by a symlink to `target`.
fn link(dir: &Path, rel: &str, target: &Path) {
    let p = dir.join(rel);
    if p.symlink_metadata().is_ok() {
        if p.is_dir() && !p.symlink_metadata().unwrap().file_type().is_symlink() {
            std::fs::remove_dir_all(&p).unwrap();
        } else {
            std::fs::remove_file(&p).unwrap();
        }
    }
    symlink(target, &p).unwrap();
}

fn run(args: &[&str], dir: &Path) -> std::process::Output {
    harvester()
        .arg(dir)
        .args(["--origin", "gregkh", "--assume-finished"])
        .args(args)
        .output()
        .expect("run")
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn report(o: &std::process::Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("one JSON document")
}

fn build(r: &Value) -> &Value {
    &r["builds"][0]
}

#[test]
fn links_out_of_the_directory_are_not_read_and_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = outside_file(tmp.path());
    for rel in [
        "linux/output/.config",
        "ktest.conf",
        "commit.txt",
        "start_time.txt",
        "time.txt",
        "linux/Makefile",
    ] {
        let dir = unpack_case("warn", &tmp.path().join(rel.replace('/', "_")));
        age(&dir);
        link(&dir, rel, &secret);
        let o = run(&["--dry-run"], &dir);
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            !text.contains(SENTINEL),
            "{rel}: outside bytes in the report"
        );
        let err = stderr(&o);
        assert!(!err.contains(SENTINEL), "{rel}: outside bytes on stderr");
        assert!(
            err.contains(rel) && err.contains("outside the directory"),
            "{rel}: the refused link is a warning naming it: {err}"
        );
        report(&o);
    }
}

#[test]
fn a_log_linked_outside_is_never_the_build_log() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = outside_file(tmp.path());
    let dir = unpack_case("warn", &tmp.path().join("log"));
    age(&dir);
    link(&dir, "linux/log", &secret);
    let o = run(&["--dry-run"], &dir);
    let err = stderr(&o);
    assert!(!String::from_utf8_lossy(&o.stdout).contains(SENTINEL));
    assert!(!err.contains(SENTINEL), "{err}");
    assert!(err.contains("linux/log"), "{err}");
    // output_log alone still tells the verdict; the distinct counts are unknown
    let r = report(&o);
    assert!(build(&r)["misc"].get("warnings").is_none(), "{r}");
}

#[test]
fn a_directory_linked_outside_is_not_walked_into() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = outside_file(tmp.path());
    let outside_dir = secret.parent().unwrap().to_path_buf();
    std::fs::copy(&secret, outside_dir.join(".config")).unwrap();
    let dir = unpack_case("warn", &tmp.path().join("outdir"));
    age(&dir);
    link(&dir, "linux/output", &outside_dir);
    link(&dir, "linux/patches", &outside_dir);
    let o = run(&["--dry-run"], &dir);
    assert!(!String::from_utf8_lossy(&o.stdout).contains(SENTINEL));
    assert!(stderr(&o).contains("linux/output"), "{}", stderr(&o));
}

#[test]
fn links_inside_the_directory_and_a_linked_root_are_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("warn", &tmp.path().join("inside"));
    age(&dir);
    let plain = report(&run(&["--dry-run"], &dir));
    // .config moved aside inside the directory and linked back
    std::fs::rename(dir.join("linux/output/.config"), dir.join("config.saved")).unwrap();
    symlink("../../config.saved", dir.join("linux/output/.config")).unwrap();
    // the root itself named through a link
    let named = tmp.path().join("named-link");
    symlink(&dir, &named).unwrap();
    let o = run(&["--dry-run"], &named);
    assert!(!stderr(&o).contains("not followed"), "{}", stderr(&o));
    let linked = report(&o);
    assert_eq!(build(&linked)["compiler"], build(&plain)["compiler"]);
    assert_eq!(build(&linked)["id"], build(&plain)["id"]);
}

#[test]
fn nothing_outside_is_uploaded() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = outside_file(tmp.path());
    let dir = unpack_case("warn", &tmp.path().join("upload"));
    age(&dir);
    link(&dir, "linux/output/.config", &secret);
    link(&dir, "output_log", &secret);
    let rest = RestServer::start();
    let storage = StorageServer::start();
    let token_file = tmp.path().join("token");
    std::fs::write(&token_file, RestServer::token("gregkh")).unwrap();
    let o = bin(tmp.path())
        .arg(&dir)
        .args(["--origin", "gregkh", "--assume-finished"])
        .args(["--git-branch", "linux-6.1.y"])
        .arg("--kcidb-rest-url")
        .arg(rest.url())
        .arg("--kcidb-token-file")
        .arg(&token_file)
        .arg("--storage-url")
        .arg(storage.url())
        .arg("--storage-token")
        .arg(StorageServer::token("builder@example.org"))
        .arg("--spool")
        .arg(tmp.path().join("spool"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let files = storage.files();
    // the build log went; the linked .config and output_log did not
    assert_eq!(files.len(), 1, "{:?}", files.keys().collect::<Vec<_>>());
    for (key, gz) in &files {
        let plain = gunzip(gz);
        assert!(
            !String::from_utf8_lossy(&plain).contains(SENTINEL),
            "{key} holds outside bytes"
        );
        assert!(key.ends_with("/build.log.gz"), "{key}");
    }
    let sent = rest.submissions()[0].json();
    assert!(build(&sent).get("config_url").is_none(), "{sent}");
    assert!(!sent.to_string().contains(SENTINEL));
}

#[test]
fn a_dangling_log_link_is_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("warn", &tmp.path().join("dangling"));
    age(&dir);
    link(
        &dir,
        "linux/log",
        Path::new("/nonexistent/kcidb-harvest/log"),
    );
    let o = run(&["--dry-run"], &dir);
    let err = stderr(&o);
    assert!(
        err.contains("linux/log") && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn a_damaged_queue_tarball_falling_back_to_the_patches_is_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("pass-queue", &tmp.path().join("q"));
    age(&dir);
    let good = report(&run(&["--dry-run"], &dir));
    let tgz = dir.join("stable_queue.tar.gz");
    let bytes = std::fs::read(&tgz).unwrap();
    std::fs::write(&tgz, &bytes[..bytes.len() / 2]).unwrap();
    let o = run(&["--dry-run"], &dir);
    let err = stderr(&o);
    assert!(
        err.contains("stable_queue.tar.gz") && err.contains("linux/patches"),
        "{err}"
    );
    let r = report(&o);
    // the fallback changes the hash (the copies differ), and it was said
    assert_ne!(
        r["checkouts"][0]["patchset_hash"], good["checkouts"][0]["patchset_hash"],
        "the corpus copies of the queue differ (rewritten addresses)"
    );
}

#[test]
fn a_commit_txt_contradicting_git_is_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("warn", &tmp.path().join("c"));
    age(&dir);
    write(
        &dir.join("commit.txt"),
        "0123456789abcdef0123456789abcdef01234567\n",
    );
    let o = run(&["--dry-run"], &dir);
    let err = stderr(&o);
    assert!(
        err.contains("git_commit_hash") && err.contains("commit.txt"),
        "{err}"
    );
    let r = report(&o);
    assert_eq!(
        r["checkouts"][0]["git_commit_hash"],
        "0123456789abcdef0123456789abcdef01234567"
    );
}

#[test]
fn an_all_zero_commit_is_not_a_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("warn", &tmp.path().join("z"));
    age(&dir);
    write(&dir.join("commit.txt"), format!("{}\n", "0".repeat(40)));
    let o = run(&["--dry-run"], &dir);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("commit.txt") && err.contains("all zeros"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    let o = run(&["--dry-run", "--git-commit-hash", &"0".repeat(40)], &dir);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn overrides_rescue_a_damaged_source() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("warn", &tmp.path().join("rescue"));
    age(&dir);
    write(&dir.join("commit.txt"), "not a hash\n");
    write(&dir.join("start_time.txt"), "the day before yesterday\n");
    // refused without the overrides
    let o = run(&["--dry-run"], &dir);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let sha = "19463f7e3ad6bee028585a29c8f9bd10fc6bcab6";
    let o = run(
        &[
            "--dry-run",
            "--git-commit-hash",
            sha,
            "--build-start-time",
            "2026-11-28T23:34:01+00:00",
        ],
        &dir,
    );
    let err = stderr(&o);
    assert!(
        err.contains("commit.txt") && err.contains("--git-commit-hash"),
        "{err}"
    );
    assert!(
        err.contains("start_time.txt") && err.contains("--build-start-time"),
        "{err}"
    );
    let r = report(&o);
    assert_eq!(r["checkouts"][0]["git_commit_hash"], sha);
    assert_eq!(build(&r)["start_time"], "2026-11-28T23:34:01Z");
}

#[test]
fn a_tuxmake_duration_that_is_not_a_number_is_omitted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = layout_examples(tmp.path())
        .into_iter()
        .find(|(_, l, _)| *l == "tuxmake")
        .map(|(_, _, d)| d)
        .expect("tuxmake example");
    let meta: Value =
        serde_json::from_slice(&std::fs::read(dir.join("metadata.json")).unwrap()).unwrap();
    let mut meta = meta;
    meta["results"]["duration"] = serde_json::json!({"build": "abc"});
    write(&dir.join("metadata.json"), meta.to_string());
    let o = run(&["--dry-run"], &dir);
    let err = stderr(&o);
    assert!(
        err.contains("metadata.json") && err.contains("abc"),
        "{err}"
    );
    let r = report(&o);
    assert!(build(&r).get("duration").is_none(), "{r}");
}

#[test]
fn control_characters_in_names_and_log_text_are_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("warn", &tmp.path().join("esc"));
    let named = tmp.path().join("evil\n\x1b[31mname");
    std::fs::rename(&dir, &named).unwrap();
    // log text that reaches the human line: the kernel version label
    let out = std::fs::read_to_string(named.join("output_log")).unwrap();
    let out = out.replace("KERNEL_VERSION = 6.1", "KERNEL_VERSION = 6.1\x1b[2J\r");
    std::fs::write(named.join("output_log"), out).unwrap();
    age(&named);
    for format in ["human", "json"] {
        let o = harvester()
            .arg(&named)
            .args(["--origin", "gregkh", "--assume-finished", "--dry-run"])
            .args(["--format", format])
            .output()
            .unwrap();
        let err = stderr(&o);
        assert!(
            !err.contains('\x1b'),
            "{format}: an escape reached stderr: {err:?}"
        );
        assert!(!err.contains('\r'), "{format}: {err:?}");
        if format == "human" {
            assert_eq!(err.lines().count(), 1, "{err:?}");
            assert!(err.contains("evil\\n\\x1b[31mname"), "{err:?}");
        }
    }
    let o = harvester()
        .arg("explain")
        .arg(&named)
        .args(["--origin", "gregkh"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stdout).contains('\x1b'));
}

#[test]
fn missing_roots_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("afile");
    write(&file, "x");
    for (args, what) in [
        (
            vec!["-r", "/nonexistent/kcidb-harvest"],
            "no such directory",
        ),
        (vec!["-r", file.to_str().unwrap()], "not a directory"),
    ] {
        let o = harvester()
            .args(&args)
            .args(["--origin", "gregkh", "--dry-run"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(what), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    let o = harvester()
        .args([
            "explain",
            "/nonexistent/kcidb-harvest",
            "--origin",
            "gregkh",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn a_backfill_does_not_follow_links_out_of_its_root() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("archive");
    let elsewhere = tmp.path().join("elsewhere");
    age(&unpack_case("warn", &root));
    age(&unpack_case("pass-tiny", &elsewhere));
    symlink(&elsewhere, root.join("link-out")).unwrap();
    symlink(root.join("warn"), root.join("link-in")).unwrap();
    let o = harvester()
        .arg("-r")
        .arg(&root)
        .args(["--origin", "gregkh", "--dry-run", "-j", "1"])
        .output()
        .unwrap();
    let r = report(&o);
    let err = stderr(&o);
    assert!(
        err.contains("link-out") && err.contains("not followed"),
        "{err}"
    );
    // warn, reached twice (directly and through the inner link), is one build
    assert_eq!(r["builds"].as_array().unwrap().len(), 1, "{err}");
}

#[test]
fn a_few_nul_bytes_are_dropped_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("warn", &tmp.path().join("nul"));
    let clean = {
        age(&dir);
        report(&run(&["--dry-run"], &dir))
    };
    let log = std::fs::read(dir.join("linux/log")).unwrap();
    let mut dirty = log.clone();
    // ktest console logs: a NUL at the start and a few in the middle
    dirty.insert(0, 0);
    let mid = dirty.len() / 2;
    dirty.splice(mid..mid, [0u8, 0, 0]);
    std::fs::write(dir.join("linux/log"), &dirty).unwrap();
    age(&dir);
    let r = report(&run(&["--dry-run"], &dir));
    assert_eq!(build(&r)["misc"]["log_nul_bytes"], 4, "{r}");
    assert_eq!(build(&r)["status"], build(&clean)["status"]);
    assert_eq!(
        build(&r)["misc"]["warnings"],
        build(&clean)["misc"]["warnings"]
    );
    // a log that is mostly binary is refused, naming the file
    let mut binary = vec![0u8; 64 * 1024];
    binary.extend_from_slice(&log);
    std::fs::write(dir.join("linux/log"), &binary).unwrap();
    age(&dir);
    let o = run(&["--dry-run"], &dir);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("linux/log") && stderr(&o).contains("not a text log"),
        "{}",
        stderr(&o)
    );
}
