//! Every real corpus case (and the README's example): the whole report,
//! byte for byte, equals its golden, and the
//! facts established by hand in `<case>.truth.json` hold.

use crate::common;

use common::*;
use serde_json::Value;

fn golden_path(case: &str) -> std::path::PathBuf {
    repo().join("fixtures/golden").join(format!("{case}.json"))
}

/// Paths of the builder differ between machines only through the temp
/// dir; the report must not contain the checkout location at all.
fn report_bytes(case: &str) -> (Vec<u8>, tempfile::TempDir) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = unpack_case(case, tmp.path());
    (dry_run_bytes(&dir), tmp)
}

fn report_for(case: &str) -> (Value, tempfile::TempDir) {
    let (bytes, tmp) = report_bytes(case);
    (
        serde_json::from_slice(&bytes).expect("one JSON document"),
        tmp,
    )
}

#[test]
fn reports_equal_goldens() {
    for case in CASES {
        let (report, tmp) = report_bytes(case);
        assert!(
            !String::from_utf8_lossy(&report).contains(&tmp.path().display().to_string()),
            "{case}: the report leaks the harvest location"
        );
        assert_golden(&golden_path(case), &report);
    }
}

/// The README's example directory (a copy of a corpus run, kept unpacked).
#[test]
fn the_example_equals_its_golden() {
    let dir = repo().join("fixtures/example/stable_test_6.1_M6sWA");
    let report = dry_run_bytes(&dir);
    assert!(
        !String::from_utf8_lossy(&report).contains(&repo().display().to_string()),
        "the example's report names the checkout's location"
    );
    assert_golden(&golden_path("example"), &report);
}

fn same_instant(a: &str, b: &str) -> bool {
    match (
        chrono::DateTime::parse_from_rfc3339(a),
        chrono::DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[test]
fn reports_match_truth() {
    for case in CASES {
        let t = truth(case);
        let (report, _tmp) = report_for(case);
        let ck = &report["checkouts"][0];
        let b = &report["builds"][0];
        let ctx = |what: &str| format!("{case}: {what}");
        assert_eq!(b["status"], t["kcidb_build_status"], "{}", ctx("status"));
        assert_eq!(
            ck["git_commit_hash"],
            t["checkout"]["commit_hash"],
            "{}",
            ctx("commit")
        );
        assert_eq!(
            ck["git_repository_branch"],
            t["checkout"]["branch"],
            "{}",
            ctx("branch")
        );
        assert_eq!(
            ck["patchset_hash"],
            t["checkout"]["patchset"]["kcidb_patchset_hash"]
                .as_str()
                .map(Value::from)
                .unwrap_or(Value::from("")),
            "{}",
            ctx("patchset_hash")
        );
        assert_eq!(
            ck["valid"],
            t["checkout"]["kcidb_checkout_valid"],
            "{}",
            ctx("checkout valid")
        );
        assert_eq!(
            b["compiler"],
            t["compiler"]["config_cc_version_text"],
            "{}",
            ctx("compiler")
        );
        assert_eq!(
            b["architecture"],
            t["architecture"],
            "{}",
            ctx("architecture")
        );
        assert_eq!(b["config_name"], t["config_name"], "{}", ctx("config_name"));
        assert!(
            same_instant(
                b["start_time"].as_str().unwrap_or(""),
                t["start_time"]["rfc3339"].as_str().unwrap_or("?")
            ),
            "{}: start_time {} vs {}",
            case,
            b["start_time"],
            t["start_time"]["rfc3339"]
        );
        assert_eq!(
            b["duration"].as_f64(),
            t["duration_seconds"].as_f64(),
            "{}",
            ctx("duration")
        );
        let misc = &b["misc"];
        let exp = &t["kcidb_misc_expected"];
        for k in ["warnings", "errors", "warnings_raw", "errors_raw"] {
            assert_eq!(misc[k], exp[k], "{}", ctx(&format!("misc.{k}")));
        }
        if let Some(rel) = t["kernel_release"].as_str() {
            assert_eq!(misc["kernel_release"], rel, "{}", ctx("kernel_release"));
        }
        // the build belongs to the checkout and the ids carry the origin
        assert_eq!(b["checkout_id"], ck["id"]);
        assert!(ck["id"].as_str().unwrap_or("").starts_with("gregkh:ck-"));
        assert!(b["id"].as_str().unwrap_or("").starts_with("gregkh:b-"));
        // an invalid checkout carries the quiltimport failure
        if t["checkout"]["kcidb_checkout_valid"] == false {
            let ex = ck["log_excerpt"].as_str().unwrap_or("");
            for line in t["checkout"]["quiltimport"]["error_lines_in_output_log"]
                .as_array()
                .into_iter()
                .flatten()
            {
                assert!(
                    ex.contains(line.as_str().unwrap_or("?")),
                    "{case}: checkout excerpt lacks {line}"
                );
            }
            assert_eq!(
                misc["partial_patchset"],
                true,
                "{}",
                ctx("partial_patchset")
            );
            assert_eq!(misc["ktest_status"], "SUCCESS", "{}", ctx("ktest_status"));
        }
        // a failed build's excerpt shows the error
        if t["kcidb_build_status"] == "FAIL" {
            let ex = b["log_excerpt"].as_str().unwrap_or("");
            for e in t["errors"]["list"].as_array().into_iter().flatten() {
                let msg = e["message"].as_str().unwrap_or("?");
                assert!(ex.contains(msg), "{case}: excerpt lacks `{msg}`");
            }
        }
        if t["kcidb_build_status"] == "PASS" && exp["warnings"].as_u64().unwrap_or(0) == 0 {
            assert!(
                b.get("log_excerpt").is_none(),
                "{}",
                ctx("clean PASS has no excerpt")
            );
        }
    }
}
