//! Real ktest runs (fixtures/ktest, made with QEMU as the target; see its
//! README): every test of a run is its own build, boots and TEST runs are
//! KCIDB tests. The whole report of each run equals its golden; the named
//! tests below say what each golden must hold.

use std::path::{Path, PathBuf};

use crate::common::*;
use serde_json::Value;

fn case(name: &str) -> PathBuf {
    repo().join("fixtures/ktest").join(name)
}

fn cases() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(repo().join("fixtures/ktest"))
        .expect("fixtures/ktest")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn report(name: &str) -> Value {
    dry_run(&case(name))
}

fn builds(r: &Value) -> Vec<Value> {
    r["builds"].as_array().cloned().unwrap_or_default()
}

fn tests(r: &Value) -> Vec<Value> {
    r["tests"].as_array().cloned().unwrap_or_default()
}

fn statuses(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|o| o["status"].as_str().unwrap_or("-").to_string())
        .collect()
}

#[test]
fn every_real_run_equals_its_golden() {
    let names = cases();
    assert!(names.len() >= 5, "too few ktest fixtures: {names:?}");
    for name in names {
        let path = repo()
            .join("fixtures/golden/ktest")
            .join(format!("{name}.json"));
        assert_golden(&path, &dry_run_bytes(&case(&name)));
    }
}

#[test]
fn each_test_that_builds_is_its_own_build_with_its_own_counts() {
    let r = report("builds-middle-fails");
    let b = builds(&r);
    assert_eq!(statuses(&b), ["PASS", "FAIL", "PASS"], "{r}");
    let ids: std::collections::HashSet<&str> = b.iter().filter_map(|x| x["id"].as_str()).collect();
    assert_eq!(ids.len(), 3, "build ids differ per test");
    // the failing test's errors are its own: the others count none
    let errors: Vec<u64> = b
        .iter()
        .map(|x| x["misc"]["errors"].as_u64().unwrap_or(99))
        .collect();
    assert_eq!(errors, [0, 2, 0]);
    let excerpt = b[1]["log_excerpt"].as_str().unwrap_or("");
    assert!(
        excerpt.contains("kernel/panic.c:133:16: error:"),
        "{excerpt}"
    );
    // each build's command is its own step's (the second tree is another)
    assert!(b[1]["command"]
        .as_str()
        .unwrap_or("")
        .contains("linux-fail-src"));
    assert!(!b[0]["command"]
        .as_str()
        .unwrap_or("")
        .contains("linux-fail-src"));
    let numbers: Vec<u64> = b
        .iter()
        .map(|x| x["misc"]["ktest_test"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(numbers, [1, 2, 3]);
    // the boot of test 3 is a test of test 3's build
    let t = tests(&r);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["path"], "boot");
    assert_eq!(t[0]["status"], "PASS");
    assert_eq!(t[0]["build_id"], b[2]["id"]);
    assert_eq!(t[0]["environment"]["comment"], "qemu-harvest");
}

#[test]
fn build_ids_are_stable_and_the_stable_flow_is_unchanged() {
    let a = report("builds-middle-fails");
    let b = report("builds-middle-fails");
    assert_eq!(a, b);
    // one build test (the stable flow) stays one build without tests
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = unpack_case("pass-tiny", tmp.path());
    let r = dry_run(&dir);
    assert_eq!(builds(&r).len(), 1);
    assert!(tests(&r).is_empty());
}

#[test]
fn a_boot_passes_on_the_success_line_and_fails_on_a_panic() {
    let pass = report("boot-pass");
    let t = tests(&pass);
    assert_eq!((t.len(), t[0]["path"].as_str()), (1, Some("boot")));
    assert_eq!(t[0]["status"], "PASS");
    assert!(t[0]["duration"].as_u64().is_some());
    // nobuild: the booted kernel is a build without a status
    let b = builds(&pass);
    assert_eq!(b.len(), 1);
    assert!(b[0].get("status").is_none(), "{}", b[0]);
    assert_eq!(t[0]["build_id"], b[0]["id"]);

    let panic = report("boot-panic");
    let t = tests(&panic);
    assert_eq!(t[0]["status"], "FAIL");
    let excerpt = t[0]["log_excerpt"].as_str().unwrap_or("");
    assert!(
        excerpt.contains("Kernel panic - not syncing: Attempted to kill init!"),
        "{excerpt}"
    );
    // the ids of a boot come from its build and path
    assert_ne!(tests(&pass)[0]["id"], t[0]["id"]);
}

#[test]
fn a_test_run_is_a_test_named_after_test_name_with_its_output() {
    let r = report("test-pass");
    let t = tests(&r);
    let paths: Vec<&str> = t.iter().filter_map(|x| x["path"].as_str()).collect();
    assert_eq!(paths, ["boot", "ktest.smoke"]);
    assert_eq!(statuses(&t), ["PASS", "PASS"]);
    assert!(t[1]["log_excerpt"]
        .as_str()
        .unwrap_or("")
        .contains("smoke: 3 of 3 checks passed"));

    let r = report("tests-pass-and-fail");
    let t = tests(&r);
    let paths: Vec<&str> = t.iter().filter_map(|x| x["path"].as_str()).collect();
    assert_eq!(paths, ["boot", "ktest.test1", "boot", "ktest.fails"]);
    assert_eq!(statuses(&t), ["PASS", "PASS", "PASS", "FAIL"]);
    assert!(t[3]["log_excerpt"]
        .as_str()
        .unwrap_or("")
        .contains("fails: expected 'ok', got 'broken'"));
}

fn explain(dir: &Path) -> String {
    let out = harvester()
        .arg("explain")
        .arg(dir)
        .args(["--origin", "gregkh"])
        .output()
        .expect("run");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn explain_shows_each_test_its_sources_and_checks_the_summary() {
    let text = explain(&case("builds-middle-fails"));
    assert!(
        text.contains("ktest: 2 of 3 tests were successful (log:698), as the tests' banners say"),
        "{text}"
    );
    for want in [
        "test 1 build: PASS",
        "test 2 build: FAIL",
        "test 3 build: PASS",
        "test 3 boot: PASS",
        "build[test 2].command",
        "build[test 3].status",
        "test[test 3].status",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
}

#[test]
fn the_human_line_has_one_line_per_build_and_test() {
    let out = harvester()
        .arg(case("tests-pass-and-fail"))
        .args(["--origin", "gregkh", "--dry-run"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("  test ")).collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert!(
        lines[3].starts_with("  test 2 (fails) ktest.fails: FAIL"),
        "{err}"
    );
}

#[test]
fn a_patchcheck_is_a_build_and_boot_per_commit_each_its_own_checkout() {
    let r = report("patchcheck");
    let b = builds(&r);
    assert_eq!(statuses(&b), ["PASS", "PASS"]);
    let commits: Vec<&str> = b
        .iter()
        .filter_map(|x| x["misc"]["commit"].as_str())
        .collect();
    assert_eq!(
        commits,
        [
            "4da5885478b5aaa42fd88ee2d29de1776217b239",
            "c385dfa1ab0f17b074a48c29791c071c93fe2cb4"
        ]
    );
    // each patch's checkout is its commit
    let checkouts = r["checkouts"].as_array().expect("checkouts");
    assert_eq!(checkouts.len(), 2);
    for (build, commit) in b.iter().zip(&commits) {
        let ck = checkouts
            .iter()
            .find(|c| c["id"] == build["checkout_id"])
            .expect("the build's checkout");
        assert_eq!(ck["git_commit_hash"], *commit);
        assert_eq!(ck["patchset_hash"], "");
    }
    // the warning the second patch adds is its own
    let warnings: Vec<u64> = b
        .iter()
        .map(|x| x["misc"]["warnings"].as_u64().unwrap_or(99))
        .collect();
    assert_eq!(warnings, [0, 1]);
    assert!(b[1]["log_excerpt"]
        .as_str()
        .unwrap_or("")
        .contains("unused variable ‘harvest_unused’"));
    assert!(b.iter().all(|x| x["config_name"] == "qemu-full.config"));
    let t = tests(&r);
    assert_eq!(statuses(&t), ["PASS", "PASS"]);
    assert_eq!(t[0]["build_id"], b[0]["id"]);
    assert_eq!(t[1]["build_id"], b[1]["id"]);
}

#[test]
fn a_run_of_only_searches_is_refused_with_a_clear_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = std::fs::read_to_string(case("boot-pass").join("log"))
        .expect("log")
        .replace("with option boot nobuild", "with option bisect boot");
    std::fs::write(tmp.path().join("log"), log).expect("write");
    let out = harvester()
        .arg(tmp.path())
        .args(["--origin", "gregkh", "--dry-run"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("only searched (test 1 (bisect))") && err.contains("nothing to report"),
        "{err}"
    );
}
