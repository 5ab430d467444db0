//! The KCIDB v5.3 validator on the cross-check corpus
//! (`ci/kcidb-check/{valid,invalid}`, whose verdicts kcidb-io confirms in
//! `ci/kcidb-check/run.sh`), and the `validate` command end to end.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use kcidb_harvest::kcidb::{validate_value, Report};
use predicates::prelude::*;
use serde_json::Value;

fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("ci/kcidb-check")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

fn name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn parse(p: &Path) -> Result<Value, serde_json::Error> {
    let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_slice(&bytes)
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kcidb-harvest"))
}

#[test]
fn corpus_valid_documents_pass() {
    let files = corpus("valid");
    assert!(files.len() >= 10, "only {} valid documents", files.len());
    for f in &files {
        let doc = parse(f).unwrap_or_else(|e| panic!("{}: {e}", name(f)));
        let v = validate_value(&doc);
        assert!(v.is_empty(), "{}: {v:#?}", name(f));
    }
}

/// Each invalid document breaks exactly one rule (so it tests that rule),
/// or is not JSON at all.
#[test]
fn corpus_invalid_documents_fail_once() {
    let files = corpus("invalid");
    assert!(files.len() >= 30, "only {} invalid documents", files.len());
    let mut not_json = 0;
    for f in &files {
        match parse(f) {
            Ok(doc) => {
                let v = validate_value(&doc);
                assert_eq!(v.len(), 1, "{}: {v:#?}", name(f));
            }
            Err(_) => {
                assert!(name(f).starts_with("not-json"), "{}", name(f));
                not_json += 1;
            }
        }
    }
    assert_eq!(not_json, 2);
}

/// The typed model covers the whole schema: every valid document (less the
/// database-side `_timestamp`, and empty top-level lists, which the model
/// leaves out) reads into a `Report` and writes back unchanged. `5.0` as an integer is valid JSON Schema but not a `u64`, so
/// that one document is left out.
#[test]
fn model_round_trips_valid_documents() {
    fn strip_timestamps(v: &mut Value) {
        if let Value::Object(m) = v {
            m.remove("_timestamp");
            for (k, child) in m.iter_mut() {
                if k != "misc" {
                    strip_timestamps(child);
                }
            }
        } else if let Value::Array(a) = v {
            a.iter_mut().for_each(strip_timestamps);
        }
    }
    let mut checked = 0;
    for f in corpus("valid") {
        if name(&f) == "numbers-float-integers.json" {
            continue;
        }
        let mut doc = parse(&f).unwrap_or_else(|e| panic!("{}: {e}", name(&f)));
        strip_timestamps(&mut doc);
        if let Value::Object(m) = &mut doc {
            m.retain(|_, v| v.as_array().is_none_or(|a| !a.is_empty()));
        }
        let report: Report =
            serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{}: {e}", name(&f)));
        let back = serde_json::to_value(&report).expect("serialise");
        assert_eq!(back, doc, "{}", name(&f));
        checked += 1;
    }
    assert!(checked >= 10);
}

#[test]
fn cli_valid_file() {
    let f =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("ci/kcidb-check/valid/every-object-type.json");
    let shown = f.display().to_string();
    bin()
        .args(["validate", &shown])
        .assert()
        .code(0)
        .stdout(format!(
            "{shown}: valid KCIDB v5.3 (1 checkout, 1 build, 1 test, 1 issue, 1 incident)\n"
        ))
        .stderr("");
}

#[test]
fn cli_invalid_file_one_line_per_violation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("r.json");
    std::fs::write(
        &f,
        r#"{"version": {"major": 5, "minor": 3},
            "builds": [{"id": "o:b", "origin": "o", "checkout_id": "o:c",
                        "architecture": "x86-64", "status": "pass", "valid": true}]}"#,
    )
    .expect("write");
    let shown = f.display().to_string();
    let out = bin().args(["validate", &shown]).assert().code(3).stdout("");
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    let prefixes = [
        format!("{shown}: /builds/0/architecture: \"x86-64\" is not a valid architecture"),
        format!("{shown}: /builds/0/status: \"pass\" is not a status"),
        format!("{shown}: /builds/0/valid: builds have no \"valid\""),
    ];
    for (line, want) in lines.iter().zip(&prefixes) {
        assert!(line.starts_with(want.as_str()), "{line}\n  want {want}");
    }
}

#[test]
fn cli_not_json() {
    let f = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("ci/kcidb-check/invalid/not-json-truncated.json");
    let shown = f.display().to_string();
    bin()
        .args(["validate", &shown])
        .assert()
        .code(3)
        .stdout("")
        .stderr(
            predicate::str::starts_with(format!("{shown}: not valid JSON: "))
                .and(predicate::str::contains("line 2"))
                .and(predicate::function(|s: &str| s.lines().count() == 1)),
        );
}

#[test]
fn cli_unreadable_file() {
    bin()
        .args(["validate", "/nonexistent/report.json"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "/nonexistent/report.json: cannot read: ",
        ));
    let dir = tempfile::tempdir().expect("tempdir");
    let shown = dir.path().display().to_string();
    bin()
        .args(["validate", &shown])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(format!(
            "{shown}: cannot read: "
        )));
}

#[test]
fn cli_stdin() {
    bin()
        .args(["validate", "-"])
        .write_stdin(r#"{"version": {"major": 5}}"#)
        .assert()
        .code(0)
        .stdout(
            "<stdin>: valid KCIDB v5.3 (0 checkouts, 0 builds, 0 tests, 0 issues, 0 incidents)\n",
        );
    bin()
        .args(["validate", "-"])
        .write_stdin(r#"{"version": {"major": 5, "minor": 4}}"#)
        .assert()
        .code(3)
        .stdout("")
        .stderr("<stdin>: /version/minor: 4 is more than the maximum 3\n");
    bin()
        .args(["validate", "-"])
        .write_stdin("")
        .assert()
        .code(3)
        .stderr("<stdin>: empty file, not a KCIDB document\n");
}

#[test]
fn cli_several_files_each_checked_and_the_worst_code_wins() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ci/kcidb-check");
    let valid = dir.join("valid/every-object-type.json");
    let invalid = std::fs::read_dir(dir.join("invalid"))
        .expect("invalid cases")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("an invalid case");
    let out = bin()
        .arg("validate")
        .arg(&valid)
        .arg(&invalid)
        .arg("/nonexistent/r.json")
        .output()
        .unwrap();
    // 2 (unreadable) outranks 3 (invalid)
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("valid KCIDB v5.3"), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&invalid.display().to_string()), "{stderr}");
    assert!(
        stderr.contains("/nonexistent/r.json: cannot read"),
        "{stderr}"
    );
    let out = bin()
        .arg("validate")
        .arg(&valid)
        .arg(&invalid)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
}
