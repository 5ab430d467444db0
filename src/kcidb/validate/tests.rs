//! Table tests: one row per schema rule, each a single edit of a complete
//! valid document, with the path and message expected.

use serde_json::{json, Value};

use super::*;
use crate::kcidb::model::{Build, Checkout, Resource, Status, Version};

const H40: &str = "8b10a1f1b4e2c3d4e5f60718293a4b5c6d7e8f90";
const H64: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A document with one object of every kind and most fields set.
fn base() -> Value {
    json!({
        "version": {"major": 5, "minor": 3},
        "checkouts": [{
            "id": "o:c1", "origin": "o", "tree_name": "stable-rc",
            "git_repository_url": "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git",
            "git_commit_hash": H40, "git_commit_name": "v6.1.1-5-g8b10a1f",
            "git_commit_tags": ["v6.1.1"], "git_commit_message": "Linux 6.1.1\n",
            "git_repository_branch": "linux-6.1.y", "git_repository_branch_tip": true,
            "patchset_files": [{"name": "0001-x.patch", "url": "https://e.org/p/0001-x.patch"}],
            "patchset_hash": H64, "message_id": "<20250101.1@kernel.org>",
            "comment": "c", "start_time": "2025-01-01T00:00:00Z",
            "origin_builds_finish_time": "2025-01-01T01:00:00+00:00",
            "origin_tests_finish_time": "2025-01-01T02:00:00.5-05:00",
            "log_url": "https://e.org/co.log", "log_excerpt": "applied\n", "valid": true,
            "misc": {"any": [null, "\u{0}"]}
        }],
        "builds": [{
            "id": "o:b1", "origin": "o", "checkout_id": "o:c1", "comment": "c",
            "start_time": "2025-01-01T00:05:00Z", "duration": 812.5, "architecture": "x86_64",
            "command": "make -j8", "compiler": "gcc (Debian 12.2.0-14) 12.2.0",
            "input_files": [{"name": "config", "url": "https://e.org/config"}],
            "output_files": [], "config_name": "defconfig", "config_url": "https://e.org/config",
            "log_url": "https://e.org/build.log", "log_excerpt": "error: x\n", "status": "FAIL",
            "misc": {"warnings": 3}
        }],
        "tests": [{
            "id": "o:t1", "origin": "o", "build_id": "o:b1",
            "environment": {"compatible": ["ti,am625-sk", "ti,am625"], "comment": "board", "misc": {}},
            "path": "ltp.sem01", "comment": "c", "log_url": "https://e.org/t.log",
            "log_excerpt": "x", "status": "PASS",
            "number": {"value": 1.5e-7, "unit": "s", "prefix": "metric"},
            "start_time": "2025-01-01T00:10:00Z", "duration": 3,
            "input_files": [{"name": "rootfs", "url": "https://e.org/rootfs"}],
            "output_files": [{"name": "dmesg", "url": "https://e.org/dmesg"}], "misc": {}
        }],
        "issues": [{
            "id": "o:i1", "version": 20240502101105u64, "origin": "o",
            "categories": ["build.error", "compiler.bug"], "report_url": "https://e.org/bug/1",
            "report_subject": "s", "culprit": {"code": true, "tool": false, "harness": false},
            "comment": "c", "misc": {}
        }],
        "incidents": [{
            "id": "o:n1", "origin": "o", "issue_id": "o:i1", "issue_version": 0,
            "build_id": "o:b1", "test_id": "o:t1", "present": true, "comment": "c", "misc": {}
        }]
    })
}

/// `base()` with the value at `ptr` replaced (or added), or removed when
/// `v` is `None`.
fn edit(ptr: &str, v: Option<Value>) -> Value {
    let mut doc = base();
    let (parent, key) = ptr.rsplit_once('/').expect("pointer with a parent");
    let target = doc.pointer_mut(parent).expect("parent exists");
    match target {
        Value::Object(m) => {
            match v {
                Some(v) => m.insert(key.to_owned(), v),
                None => m.remove(key),
            };
        }
        Value::Array(a) => {
            let i: usize = key.parse().expect("index");
            match v {
                Some(v) => a[i] = v,
                None => {
                    a.remove(i);
                }
            }
        }
        _ => panic!("bad parent {parent}"),
    }
    doc
}

fn violations(doc: &Value) -> Vec<String> {
    validate_value(doc).iter().map(|v| v.to_string()).collect()
}

#[test]
fn base_document_is_valid() {
    assert_eq!(violations(&base()), Vec::<String>::new());
}

#[test]
fn smallest_documents() {
    assert!(violations(&json!({"version": {"major": 5, "minor": 3}})).is_empty());
    assert!(violations(&json!({"version": {"major": 5}})).is_empty());
    assert!(violations(&json!({"version": {"major": 5}, "builds": []})).is_empty());
    assert_eq!(
        violations(&json!([])),
        ["/: a KCIDB document must be a JSON object, found an array"]
    );
    assert_eq!(
        violations(&json!({})),
        ["/: missing required field \"version\" in a KCIDB document"]
    );
}

/// (pointer, new value or None to delete, expected "path: message" prefix).
type Row = (&'static str, Option<Value>, &'static str);

#[test]
fn each_rule_rejects() {
    let long_excerpt = "é".repeat(16385);
    let rows: Vec<Row> = vec![
        // version
        ("/version/major", Some(json!(4)), "/version/major: 4 is not supported"),
        ("/version/major", Some(json!("5")), "/version/major: expected an integer, found a string"),
        ("/version/major", Some(json!(true)), "/version/major: expected an integer, found a boolean"),
        ("/version/major", None, "/version: missing required field \"major\""),
        ("/version/minor", Some(json!(4)), "/version/minor: 4 is more than the maximum 3"),
        ("/version/minor", Some(json!(-1)), "/version/minor: -1 is less than the minimum 0"),
        ("/version/minor", Some(json!(2.5)), "/version/minor: expected an integer, found the number 2.5"),
        ("/version/patch", Some(json!(0)), "/version/patch: unknown field \"patch\" in the version (allowed: major, minor)"),
        ("/version", Some(json!("5.3")), "/version: expected an object (the version), found a string"),
        // top level
        ("/_timestamp", Some(json!("2025-01-01T00:00:00Z")), "/_timestamp: unknown metadata field \"_timestamp\": no metadata field is accepted here"),
        ("/extra", Some(json!([])), "/extra: unknown field \"extra\" in a KCIDB document (allowed: version, checkouts"),
        ("/builds", Some(json!({})), "/builds: expected an array, found an object"),
        ("/builds/0", Some(json!(null)), "/builds/0: null is not allowed"),
        // checkout
        ("/checkouts/0/id", None, "/checkouts/0: missing required field \"id\" in a checkout"),
        ("/checkouts/0/origin", None, "/checkouts/0: missing required field \"origin\" in a checkout"),
        ("/checkouts/0/id", Some(json!("c1")), "/checkouts/0/id: \"c1\" is not a KCIDB id"),
        ("/checkouts/0/id", Some(json!("O:c1")), "/checkouts/0/id: \"O:c1\" is not a KCIDB id"),
        ("/checkouts/0/id", Some(json!(":c1")), "/checkouts/0/id: \":c1\" is not a KCIDB id"),
        ("/checkouts/0/id", Some(json!("o:c\u{0}")), "/checkouts/0/id: contains a NUL character"),
        ("/checkouts/0/origin", Some(json!("Gregkh")), "/checkouts/0/origin: \"Gregkh\" is not a valid origin"),
        ("/checkouts/0/origin", Some(json!("greg-kh")), "/checkouts/0/origin: \"greg-kh\" is not a valid origin"),
        ("/checkouts/0/origin", Some(json!("")), "/checkouts/0/origin: \"\" is not a valid origin"),
        ("/checkouts/0/tree_name", Some(json!("a\u{0}b")), "/checkouts/0/tree_name: contains a NUL character"),
        ("/checkouts/0/tree_name", Some(json!(null)), "/checkouts/0/tree_name: null is not allowed"),
        ("/checkouts/0/git_repository_url", Some(json!("http://git.kernel.org/x.git")), "/checkouts/0/git_repository_url: \"http://git.kernel.org/x.git\" is not an https:// URL"),
        ("/checkouts/0/git_repository_url", Some(json!("git://git.kernel.org/x.git")), "/checkouts/0/git_repository_url: \"git://git.kernel.org/x.git\" is not an https:// URL"),
        ("/checkouts/0/git_repository_url", Some(json!("https://git.kernel.org/a b")), "/checkouts/0/git_repository_url: \"https://git.kernel.org/a b\" is not an absolute URI"),
        ("/checkouts/0/git_commit_hash", Some(json!(&H40[1..])), "/checkouts/0/git_commit_hash: \"b10a1f1b4e2c3d4e5f60718293a4b5c6d7e8f90\" is not a full commit hash"),
        ("/checkouts/0/git_commit_hash", Some(json!(H40.to_uppercase())), "/checkouts/0/git_commit_hash: \"8B10A1F1B4E2C3D4E5F60718293A4B5C6D7E8F90\" is not a full commit hash"),
        ("/checkouts/0/git_commit_hash", Some(json!(format!("{H40}{H40}"))), "/checkouts/0/git_commit_hash:"),
        ("/checkouts/0/git_commit_tags", Some(json!("v6.1")), "/checkouts/0/git_commit_tags: expected an array, found a string"),
        ("/checkouts/0/git_commit_tags", Some(json!(["v1", 2])), "/checkouts/0/git_commit_tags/1: expected a string, found the number 2"),
        ("/checkouts/0/git_repository_branch_tip", Some(json!("true")), "/checkouts/0/git_repository_branch_tip: expected a boolean"),
        ("/checkouts/0/patchset_hash", Some(json!(H64.to_uppercase())), "/checkouts/0/patchset_hash: \"0123456789ABCDEF"),
        ("/checkouts/0/patchset_hash", Some(json!(H40)), "/checkouts/0/patchset_hash: \"8b10a1f1b4e2c3d4e5f60718293a4b5c6d7e8f90\" is not a patchset hash"),
        ("/checkouts/0/patchset_files", Some(json!([{"name": "a/b.patch", "url": "https://e.org/x"}])), "/checkouts/0/patchset_files/0/name: \"a/b.patch\" is not a resource name"),
        ("/checkouts/0/patchset_files", Some(json!([{"name": "", "url": "https://e.org/x"}])), "/checkouts/0/patchset_files/0/name: \"\" is not a resource name"),
        ("/checkouts/0/patchset_files", Some(json!([{"name": "x", "url": "x.patch"}])), "/checkouts/0/patchset_files/0/url: \"x.patch\" is not an absolute URI (RFC 3986) (a relative reference"),
        ("/checkouts/0/patchset_files", Some(json!([{"name": "x", "url": "https://e.org/x", "size": 3}])), "/checkouts/0/patchset_files/0/size: unknown field \"size\" in a resource (allowed: name, url)"),
        ("/checkouts/0/patchset_files", Some(json!([{"name": "x"}])), "/checkouts/0/patchset_files/0: missing required field \"url\" in a resource"),
        ("/checkouts/0/message_id", Some(json!("20250101.1.kernel.org")), "/checkouts/0/message_id: \"20250101.1.kernel.org\" is not an email address"),
        ("/checkouts/0/start_time", Some(json!("2025-01-01T00:05:00")), "/checkouts/0/start_time: \"2025-01-01T00:05:00\" is not an RFC 3339 date-time"),
        ("/checkouts/0/start_time", Some(json!("2025-01-01 00:05:00Z")), "/checkouts/0/start_time:"),
        ("/checkouts/0/start_time", Some(json!(1735689900)), "/checkouts/0/start_time: expected a string, found the number 1735689900"),
        ("/checkouts/0/origin_builds_finish_time", Some(json!("2025-02-30T00:00:00Z")), "/checkouts/0/origin_builds_finish_time:"),
        ("/checkouts/0/origin_tests_finish_time", Some(json!("yesterday")), "/checkouts/0/origin_tests_finish_time:"),
        ("/checkouts/0/log_url", Some(json!("/var/log/x.log")), "/checkouts/0/log_url: \"/var/log/x.log\" is not an absolute URI"),
        ("/checkouts/0/log_excerpt", Some(json!(long_excerpt.clone())), "/checkouts/0/log_excerpt: is 16385 characters long; at most 16384"),
        ("/checkouts/0/valid", Some(json!(1)), "/checkouts/0/valid: expected a boolean (true or false), found the number 1"),
        ("/checkouts/0/misc", Some(json!([])), "/checkouts/0/misc: expected an object, found an array"),
        ("/checkouts/0/misc", Some(json!(null)), "/checkouts/0/misc: null is not allowed"),
        ("/checkouts/0/contacts", Some(json!(["a@b"])), "/checkouts/0/contacts: unknown field \"contacts\" in a checkout (put extra data under \"misc\")"),
        ("/checkouts/0/_foo", Some(json!(1)), "/checkouts/0/_foo: unknown metadata field \"_foo\": only \"_timestamp\" is accepted here"),
        ("/checkouts/0/_timestamp", Some(json!("now")), "/checkouts/0/_timestamp: \"now\" is not an RFC 3339 date-time"),
        // build
        ("/builds/0/checkout_id", None, "/builds/0: missing required field \"checkout_id\" in a build"),
        ("/builds/0/checkout_id", Some(json!("c1")), "/builds/0/checkout_id: \"c1\" is not a KCIDB id"),
        ("/builds/0/valid", Some(json!(true)), "/builds/0/valid: builds have no \"valid\" in KCIDB v5"),
        ("/builds/0/architecture", Some(json!("x86-64")), "/builds/0/architecture: \"x86-64\" is not a valid architecture"),
        ("/builds/0/architecture", Some(json!("X86_64")), "/builds/0/architecture:"),
        ("/builds/0/status", Some(json!("pass")), "/builds/0/status: \"pass\" is not a status: one of FAIL, ERROR, MISS, PASS, DONE, SKIP (statuses are upper case)"),
        ("/builds/0/status", Some(json!("BUILD_FAILED")), "/builds/0/status: \"BUILD_FAILED\" is not a status"),
        ("/builds/0/duration", Some(json!("812")), "/builds/0/duration: expected a number, found a string"),
        ("/builds/0/duration", Some(json!(false)), "/builds/0/duration: expected a number, found a boolean"),
        ("/builds/0/config_url", Some(json!("config")), "/builds/0/config_url:"),
        ("/builds/0/log_url", Some(json!("https://e.org/é.log")), "/builds/0/log_url: \"https://e.org/é.log\" is not an absolute URI (RFC 3986) (non-ASCII"),
        ("/builds/0/log_url", Some(json!("build.log")), "/builds/0/log_url: \"build.log\" is not an absolute URI"),
        ("/builds/0/log_excerpt", Some(json!("a\u{0}b")), "/builds/0/log_excerpt: contains a NUL character"),
        ("/builds/0/command", Some(json!("make\u{0}")), "/builds/0/command: contains a NUL character"),
        ("/builds/0/compiler", Some(json!(["gcc"])), "/builds/0/compiler: expected a string, found an array"),
        ("/builds/0/output_files", Some(json!([{"name": "vmlinux", "url": "vmlinux"}])), "/builds/0/output_files/0/url:"),
        ("/builds/0/input_files", Some(json!({"name": "config", "url": "https://e.org/c"})), "/builds/0/input_files: expected an array, found an object"),
        // test
        ("/tests/0/build_id", None, "/tests/0: missing required field \"build_id\" in a test"),
        ("/tests/0/path", Some(json!("ltp sem01")), "/tests/0/path: \"ltp sem01\" is not a dot-separated path"),
        ("/tests/0/path", Some(json!("ltp/sem01")), "/tests/0/path:"),
        ("/tests/0/path", Some(json!("ltp.")), "/tests/0/path:"),
        ("/tests/0/status", Some(json!("Pass")), "/tests/0/status: \"Pass\" is not a status"),
        ("/tests/0/waived", Some(json!(false)), "/tests/0/waived: unknown field \"waived\" in a test"),
        ("/tests/0/environment/compatible", Some(json!(["ti am625"])), "/tests/0/environment/compatible/0: \"ti am625\" is not a compatible string"),
        ("/tests/0/environment/compatible", Some(json!([""])), "/tests/0/environment/compatible/0:"),
        ("/tests/0/environment/board", Some(json!("x")), "/tests/0/environment/board: unknown field \"board\" in a test environment (put extra data under \"misc\")"),
        ("/tests/0/number/value", None, "/tests/0/number: missing required field \"value\" in a test number"),
        ("/tests/0/number/value", Some(json!("1.5")), "/tests/0/number/value: expected a number, found a string"),
        ("/tests/0/number/prefix", Some(json!("si")), "/tests/0/number/prefix: \"si\" is not a prefix"),
        ("/tests/0/number/scale", Some(json!(1)), "/tests/0/number/scale: unknown field \"scale\" in a test number (allowed: value, unit, prefix)"),
        ("/tests/0/duration", Some(json!(null)), "/tests/0/duration: null is not allowed"),
        ("/tests/0/input_files", Some(json!([{"name": "a", "url": "https://e.org/a", "extra": 1}])), "/tests/0/input_files/0/extra:"),
        // issue
        ("/issues/0/version", None, "/issues/0: missing required field \"version\" in an issue"),
        ("/issues/0/version", Some(json!(-1)), "/issues/0/version: -1 is less than the minimum 0"),
        ("/issues/0/version", Some(json!(1.5)), "/issues/0/version: expected an integer, found the number 1.5"),
        ("/issues/0/version", Some(json!("1")), "/issues/0/version: expected an integer, found a string"),
        ("/issues/0/categories", Some(json!(["build error"])), "/issues/0/categories/0:"),
        ("/issues/0/report_url", Some(json!("bug 1")), "/issues/0/report_url:"),
        ("/issues/0/culprit", Some(json!({"code": "yes"})), "/issues/0/culprit/code: expected a boolean"),
        ("/issues/0/culprit", Some(json!({"infra": true})), "/issues/0/culprit/infra: unknown field \"infra\" in an issue culprit (allowed: code, tool, harness)"),
        ("/issues/0/build_valid", Some(json!(true)), "/issues/0/build_valid: unknown field"),
        // incident
        ("/incidents/0/issue_version", None, "/incidents/0: missing required field \"issue_version\" in an incident"),
        ("/incidents/0/issue_id", None, "/incidents/0: missing required field \"issue_id\" in an incident"),
        ("/incidents/0/issue_version", Some(json!(-3)), "/incidents/0/issue_version: -3 is less than the minimum 0"),
        ("/incidents/0/test_id", Some(json!("t1")), "/incidents/0/test_id:"),
        ("/incidents/0/present", Some(json!("yes")), "/incidents/0/present: expected a boolean"),
    ];
    for (ptr, v, want) in rows {
        let doc = edit(ptr, v.clone());
        let got = violations(&doc);
        assert_eq!(
            got.len(),
            1,
            "{ptr} = {v:?}: expected one violation, got {got:#?}"
        );
        assert!(
            got[0].starts_with(want),
            "{ptr} = {v:?}:\n  got  {}\n  want {want}…",
            got[0]
        );
    }
}

#[test]
fn edge_cases_accepted() {
    let rows: Vec<(&str, Value)> = vec![
        ("/checkouts/0/id", json!("x:")),
        ("/checkouts/0/id", json!("o:any thing/é:\n")),
        ("/checkouts/0/patchset_hash", json!("")),
        ("/checkouts/0/git_commit_tags", json!([])),
        ("/checkouts/0/log_excerpt", json!("é".repeat(16384))),
        ("/checkouts/0/log_excerpt", json!("😀".repeat(16384))),
        ("/checkouts/0/log_excerpt", json!("")),
        (
            "/checkouts/0/start_time",
            json!("2025-01-01T05:35:00+05:30"),
        ),
        (
            "/checkouts/0/start_time",
            json!("2025-01-01T00:05:00.123456789Z"),
        ),
        ("/checkouts/0/start_time", json!("2024-02-29t00:05:00z")),
        (
            "/checkouts/0/misc",
            json!({"nul": "\u{0}", "nested": {"x": [1, null]}}),
        ),
        (
            "/checkouts/0/git_repository_url",
            json!("https://github.com/gregkh/linux"),
        ),
        (
            "/checkouts/0/log_url",
            json!("http://e.org/a%20b.log?x=1#L3"),
        ),
        ("/checkouts/0/log_url", json!("file:///var/log/x.log")),
        (
            "/checkouts/0/log_url",
            json!("https://[2001:db8::1]:8443/x.log"),
        ),
        ("/checkouts/0/message_id", json!("@")),
        ("/builds/0/architecture", json!("")),
        ("/builds/0/duration", json!(0)),
        ("/builds/0/duration", json!(-1.25)),
        ("/builds/0/duration", json!(1e300)),
        ("/builds/0/status", json!("MISS")),
        ("/tests/0/path", json!("")),
        ("/tests/0/path", json!("A-b_c.0")),
        ("/tests/0/environment/compatible", json!(["a,b,", ","])),
        ("/tests/0/number", json!({"value": -3})),
        ("/issues/0/version", json!(0)),
        ("/issues/0/version", json!(7.0)),
        ("/issues/0/culprit", json!({})),
        ("/issues/0/categories", json!([""])),
        ("/version/minor", json!(0)),
        ("/version/major", json!(5.0)),
        (
            "/checkouts/0/_timestamp",
            json!("2020-08-14T23:08:06.967000+00:00"),
        ),
        ("/incidents/0/_timestamp", json!("2020-08-14T23:08:06Z")),
        // Python's `$` also matches before one final newline: kcidb-io
        // accepts these, and so do we (verdict parity).
        ("/checkouts/0/origin", json!("o\n")),
        ("/checkouts/0/git_commit_hash", json!(format!("{H40}\n"))),
        ("/checkouts/0/patchset_hash", json!("\n")),
        ("/builds/0/architecture", json!("x86_64\n")),
        ("/builds/0/start_time", json!("2025-01-01T00:05:00Z\n")),
        ("/builds/0/log_url", json!("https://e.org/b.log\n")),
        // kcidb-io has no NUL rule on message_id (format email only).
        ("/checkouts/0/message_id", json!("a@b\u{0}")),
    ];
    for (ptr, v) in rows {
        let got = violations(&edit(ptr, Some(v.clone())));
        assert!(got.is_empty(), "{ptr} = {v:?}: {got:#?}");
    }
    assert!(violations(&edit("/version/minor", None)).is_empty());
}

#[test]
fn every_violation_is_reported() {
    let doc = json!({
        "version": {"major": 4, "minor": 9},
        "builds": [
            {"id": "B", "origin": "O", "architecture": "x86-64", "valid": true},
            {"id": "o:b", "origin": "o", "checkout_id": "o:c", "status": "pass"}
        ],
        "extra": 1
    });
    let got = violations(&doc);
    assert_eq!(
        got.iter()
            .map(|v| v.split(':').next().unwrap_or(""))
            .collect::<Vec<_>>(),
        [
            "/builds/0",
            "/builds/0/architecture",
            "/builds/0/id",
            "/builds/0/origin",
            "/builds/0/valid",
            "/builds/1/status",
            "/extra",
            "/version/major",
            "/version/minor",
        ],
        "{got:#?}"
    );
}

#[test]
fn paths_escape_odd_keys() {
    let mut doc = base();
    doc["builds"][0]["a~b/c"] = json!(1);
    let got = violations(&doc);
    assert_eq!(got.len(), 1);
    assert!(
        got[0].starts_with("/builds/0/a~0b~1c: unknown field \"a~b/c\""),
        "{got:?}"
    );
}

#[test]
fn long_values_are_cut_in_messages() {
    let got = violations(&edit("/builds/0/log_url", Some(json!("x".repeat(5000)))));
    assert_eq!(got.len(), 1);
    assert!(got[0].len() < 300, "{}", got[0]);
    assert!(got[0].contains("(5000 characters)"), "{}", got[0]);
}

fn harvested_report() -> Report {
    let checkout = Checkout {
        id: "o:c1".into(),
        origin: "o".into(),
        git_repository_url: Some(
            "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git".into(),
        ),
        git_commit_hash: Some(H40.into()),
        patchset_hash: Some(String::new()),
        start_time: Some("2025-01-01T00:00:00Z".into()),
        ..Checkout::default()
    };
    let build = Build {
        id: "o:b1".into(),
        origin: "o".into(),
        checkout_id: "o:c1".into(),
        duration: serde_json::Number::from_f64(812.5),
        architecture: Some("x86_64".into()),
        input_files: Some(vec![Resource {
            name: "config".into(),
            url: "https://e.org/config".into(),
        }]),
        status: Some(Status::Fail),
        ..Build::default()
    };
    Report {
        version: Version::default(),
        checkouts: vec![checkout],
        builds: vec![build],
        ..Report::default()
    }
}

#[test]
fn validate_report_accepts_and_freezes_json() {
    let report = harvested_report();
    let validated = validate_report(report.clone()).expect("valid");
    assert_eq!(validated.report(), &report);
    assert!(validated.json().ends_with("}\n"));
    let back: Value = serde_json::from_str(validated.json()).expect("json");
    assert!(validate_value(&back).is_empty());
    assert_eq!(back["builds"][0]["status"], "FAIL");
    assert_eq!(back["builds"][0]["duration"], 812.5);
    // Struct order is kept in the text (id first, misc last).
    let text = validated.json();
    let id = text.find("\"id\"").unwrap_or(usize::MAX);
    let origin = text.find("\"origin\"").unwrap_or(0);
    assert!(id < origin, "{text}");
    assert_eq!(validated.into_report(), report);
}

#[test]
fn validate_report_rejects_with_paths() {
    let mut report = harvested_report();
    report.builds[0].architecture = Some("x86-64".into());
    report.builds[0].log_excerpt = Some("a\0b".into());
    report.checkouts[0].origin = "Bad".into();
    let err = validate_report(report).expect_err("invalid");
    let paths: Vec<&str> = err.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/builds/0/architecture",
            "/builds/0/log_excerpt",
            "/checkouts/0/origin"
        ]
    );
}
