//! Real build logs of our own (`fixtures/logs/`: Debian's linux-source-6.1
//! built for arm, arm64, riscv64 and x86 with gcc cross compilers and clang,
//! failures injected; each case's `how.txt` says how it was made) against
//! their hand-checked `expected.json`: status, distinct counts by kind,
//! what was built, the excerpt's first line, and every listed diagnostic.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::common::{assert_golden, dry_run, dry_run_bytes, harvester, repo};

fn cases() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("fixtures/logs"))
        .expect("fixtures/logs")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn case(name: &str) -> PathBuf {
    repo().join("fixtures/logs").join(name)
}

/// The build of a dry run of `dir`.
fn build(dir: &Path) -> Value {
    dry_run(dir)["builds"][0].clone()
}

/// `kcidb-harvest diagnostics --format json` of `dir`, as rows.
fn listed(dir: &Path) -> Vec<Value> {
    let out = harvester()
        .arg("diagnostics")
        .arg(dir)
        .args(["--origin", "harvest_test", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let d: Value = serde_json::from_str(l).unwrap();
            json!([
                d["severity"],
                d["kind"],
                d["file"],
                d["line"],
                d["message"],
                d["occurrences"]
            ])
        })
        .collect()
}

#[test]
fn every_real_log_matches_its_hand_checked_expectation() {
    let all = cases();
    assert!(all.len() >= 20, "{} cases", all.len());
    for dir in all {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let want: Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        assert!(dir.join("how.txt").is_file(), "{name}: how.txt");
        let b = build(&dir);
        let m = &b["misc"];
        for (field, got) in [
            ("status", &b["status"]),
            ("warnings", &m["warnings"]),
            ("errors", &m["errors"]),
            ("warnings_by_kind", &m["warnings_by_kind"]),
            ("errors_by_kind", &m["errors_by_kind"]),
        ] {
            assert_eq!(got, &want[field], "{name}: {field}");
        }
        let parts = m.get("parts_built").cloned().unwrap_or(Value::Null);
        assert_eq!(parts, want["parts_built"], "{name}: parts_built");
        let excerpt = b["log_excerpt"].as_str().unwrap_or("");
        let first = excerpt
            .lines()
            .next()
            .map(Value::from)
            .unwrap_or(Value::Null);
        assert_eq!(
            first, want["excerpt_first_line"],
            "{name}: excerpt\n{excerpt}"
        );
        if m["errors"].as_u64().unwrap() > 0 {
            assert!(!excerpt.is_empty(), "{name}: errors and no excerpt");
        }
        let rows = listed(&dir);
        assert_eq!(
            rows.len() as u64,
            m["warnings"].as_u64().unwrap() + m["errors"].as_u64().unwrap(),
            "{name}: one listed row per distinct diagnostic"
        );
        if let Some(list) = want["diagnostics"].as_array() {
            assert_eq!(&rows, list, "{name}: listed diagnostics");
        }
    }
}

#[test]
fn every_real_log_report_equals_its_golden() {
    for dir in cases() {
        let bytes = dry_run_bytes(&dir);
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&repo().display().to_string()),
            "{}: the report names the checkout's location",
            dir.display()
        );
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        assert_golden(
            &repo()
                .join("fixtures/golden/logs")
                .join(format!("{name}.json")),
            &bytes,
        );
    }
}

// One test per class of issue 11, on the real logs.

#[test]
fn a_a_kernel_image_is_a_finished_build_on_every_architecture() {
    for name in [
        "arm64-gcc-tinyconfig-pass",
        "arm64-clang-tinyconfig-pass",
        "arm-gcc-tinyconfig-pass",
        "riscv64-gcc-tinyconfig-pass",
        "arm64-gcc-tinyconfig-W1",
    ] {
        let b = build(&case(name));
        assert_eq!(b["status"], "PASS", "{name}: {b}");
    }
}

#[test]
fn b_a_failure_after_the_image_is_a_fail_that_says_what_was_built() {
    for name in [
        "arm64-gcc-image-then-fail",
        "arm64-image-then-kselftest-fail",
    ] {
        let b = build(&case(name));
        assert_eq!(b["status"], "FAIL", "{name}");
        assert_eq!(b["misc"]["parts_built"], json!(["kernel"]), "{name}");
        assert!(
            b["log_excerpt"].as_str().unwrap().contains("Error 1"),
            "{name}"
        );
    }
}

#[test]
fn c_the_fail_excerpt_starts_with_the_free_text_cause() {
    let b = build(&case("arm64-gcc-image-then-fail"));
    let e = b["log_excerpt"].as_str().unwrap();
    assert!(
        e.starts_with("***\n*** The present kernel configuration has modules disabled."),
        "{e}"
    );
    let b = build(&case("arm64-python-modulenotfound"));
    let e = b["log_excerpt"].as_str().unwrap();
    assert!(e.starts_with("Traceback (most recent call last):"), "{e}");
    assert!(e.contains("ModuleNotFoundError: No module named 'harvest_missing_module'"));
    assert!(
        !e.contains("harvest_unused_var"),
        "not the earlier warning: {e}"
    );
}

#[test]
fn d_an_error_build_with_errors_shows_them_not_the_tail() {
    for name in ["clang-unknown-triple-build", "cc-unsupported-kconfig"] {
        let b = build(&case(name));
        assert_eq!(b["status"], "ERROR", "{name}");
        let e = b["log_excerpt"].as_str().unwrap();
        assert!(!e.starts_with("  "), "{name}: not progress lines: {e}");
        assert!(e.contains("make[") && e.contains("Error"), "{name}: {e}");
    }
}

#[test]
fn e_a_missing_or_unsupported_compiler_is_error_in_every_form() {
    for (name, message) in [
        ("missing-compiler-hostcc-error127", "gcc-99: not found"),
        (
            "missing-compiler-cc-gcc99-kconfig",
            "C compiler 'gcc-99' not found",
        ),
        (
            "missing-compiler-cc-gcc99-syncconfig",
            "C compiler 'gcc-99' not found",
        ),
        (
            "missing-compiler-riscv-kconfig",
            "C compiler 'riscv64-nonexistent-gcc' not found",
        ),
        (
            "cc-unsupported-kconfig",
            "Sorry, this C compiler is not supported.",
        ),
        (
            "clang-unknown-triple-build",
            "unknown target triple 'bogus64', please use -triple or -arch",
        ),
        (
            "arm64-gcc-objcopy-missing-error127",
            "aarch64-nonexistent-objcopy: not found",
        ),
    ] {
        let b = build(&case(name));
        assert_eq!(b["status"], "ERROR", "{name}");
        assert!(
            b["misc"]["errors_by_kind"]["toolchain"].as_u64() >= Some(1),
            "{name}"
        );
        let rows = listed(&case(name));
        assert!(
            rows.iter().any(|r| r[1] == "toolchain" && r[4] == message),
            "{name}: {rows:?}"
        );
    }
}

#[test]
fn f_make_tool_and_rsync_diagnostics_count() {
    let rows = listed(&case("arm64-makefile-overriding-recipe"));
    assert!(
        rows.contains(&json!([
            "warning",
            "make",
            "init/Makefile",
            65,
            "overriding recipe for target 'harvest-twice'",
            1
        ])),
        "{rows:?}"
    );
    let b = build(&case("x86-perf-abi-warnings"));
    assert_eq!(b["status"], "PASS");
    assert_eq!(b["misc"]["warnings_by_kind"], json!({"other": 14}));
    let b = build(&case("x86-kselftest-install-rsync"));
    assert_eq!(b["status"], "FAIL");
    assert_eq!(b["misc"]["errors_by_kind"], json!({"other": 1}));
    assert!(b["log_excerpt"]
        .as_str()
        .unwrap()
        .starts_with("rsync: [sender] link_stat"));
}
