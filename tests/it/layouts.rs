//! Every layout beyond the full REMOTE_DIR: detection and whole-report
//! goldens (`fixtures/golden/layouts/<name>.json`), on directories built
//! from the real corpus runs (see `support::layout_examples`).

use crate::common;

use common::*;
use serde_json::Value;

#[test]
fn layouts_are_detected_and_reports_equal_goldens() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, layout, dir) in layout_examples(tmp.path()) {
        let bytes = dry_run_bytes(&dir);
        let report: Value = serde_json::from_slice(&bytes).unwrap();
        let b = &report["builds"][0];
        assert_eq!(b["misc"]["source_layout"], layout, "{name}: layout");
        let path = repo()
            .join("fixtures/golden/layouts")
            .join(format!("{name}.json"));
        assert_golden(&path, &bytes);
    }
}

#[test]
fn layout_facts() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, _, dir) in layout_examples(tmp.path()) {
        let r = dry_run(&dir);
        let (ck, b) = (&r["checkouts"][0], &r["builds"][0]);
        match name {
            "partial" => {
                // no git metadata and no commit.txt: the commit is never guessed
                assert!(ck.get("git_commit_hash").is_none(), "{name}: {ck}");
                assert_eq!(b["status"], "PASS", "{name}");
                assert_eq!(b["misc"]["warnings_raw"], 1);
            }
            "ktest-die0" => {
                // DIE_ON_FAILURE = 0: ktest exits 0 but the build failed
                assert_eq!(b["status"], "FAIL", "{name}: {}", b);
                assert_eq!(b["config_name"], "tinyconfig");
            }
            "tuxmake" => {
                assert_eq!(b["status"], "FAIL", "{name}");
                assert_eq!(b["architecture"], "x86_64");
                assert_eq!(b["config_name"], "tinyconfig");
                assert_eq!(
                    ck["git_commit_hash"],
                    "19463f7e3ad6bee028585a29c8f9bd10fc6bcab6"
                );
                assert_eq!(ck["tree_name"], "stable");
                assert_eq!(b["duration"].as_f64(), Some(14.2));
            }
            "bare" => {
                assert_eq!(b["status"], "PASS", "{name}: {b}");
                assert_eq!(
                    ck["git_commit_hash"],
                    "19463f7e3ad6bee028585a29c8f9bd10fc6bcab6"
                );
                let t =
                    chrono::DateTime::parse_from_rfc3339(b["start_time"].as_str().unwrap_or(""))
                        .unwrap();
                assert_eq!(
                    t.timestamp(),
                    1_795_908_792,
                    "{name}: start_time.txt holds the epoch"
                );
                assert_eq!(
                    b["misc"]["warnings"], 3,
                    "{name}: the three compiler warnings"
                );
            }
            other => panic!("unexpected example {other}"),
        }
    }
}
