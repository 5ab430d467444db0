//! `-r` over a mixed tree: every layout, nested roots, a symlink loop, an
//! empty directory, a run still in progress, a broken directory and a
//! kernel source tree that must not be walked.

use crate::common;

use std::collections::BTreeMap;

use common::*;
use serde_json::Value;

#[test]
fn mixed_tree_has_the_right_outcome_per_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("archive");
    std::fs::create_dir_all(&root).unwrap();

    // full REMOTE_DIRs at different depths
    let y24 = root.join("2024");
    std::fs::create_dir_all(&y24).unwrap();
    let a = unpack_case("pass-tiny", &y24);
    let deep = root.join("2025/q1/builder-x");
    std::fs::create_dir_all(&deep).unwrap();
    let b = unpack_case("fail-compile", &deep);
    age(&a);
    age(&b);
    // the other layouts
    let examples = layout_examples(&root.join("layouts"));
    // a run still in progress: no KTEST_RUN, log fresh
    let live = unpack_case("warn", &root.join("live"));
    let out = std::fs::read_to_string(live.join("output_log")).unwrap();
    write(
        &live.join("output_log"),
        out.split("STARTING AUTOMATED TESTS").next().unwrap(),
    );
    let log = std::fs::read_to_string(live.join("linux/log")).unwrap();
    write(
        &live.join("linux/log"),
        &log[..log.find("Build time:").unwrap()],
    );
    // a broken one: binary garbage as the log
    let broken = root.join("broken/stable_test_6.1_bad");
    write(&broken.join("output_log"), "KTEST_RUN = 0\n");
    write(&broken.join("run_test.sh"), "#!/bin/bash\n");
    write(&broken.join("linux/log"), vec![0u8; 4096]);
    // an empty directory, a symlink loop, a kernel source tree with a
    // build.log deep inside (walking it would find a bogus result)
    std::fs::create_dir_all(root.join("empty")).unwrap();
    std::os::unix::fs::symlink(&root, root.join("2024/loop")).unwrap();
    let src = root.join("src/linux");
    write(&src.join("Kbuild"), "obj-y += kernel/\n");
    write(&src.join("Kconfig"), "mainmenu \"Linux\"\n");
    write(
        &src.join("arch/x86/tools/build.log"),
        "make: *** [x] Error 1\n",
    );
    for i in 0..200 {
        write(&src.join(format!("drivers/d{i}/f.c")), "int x;\n");
    }

    let outp = harvester()
        .arg("-r")
        .arg(&root)
        .args([
            "--origin",
            "gregkh",
            "--dry-run",
            "--format",
            "json",
            "-j",
            "2",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&outp.stderr);
    assert_eq!(
        outp.status.code(),
        Some(1),
        "one broken directory → exit 1\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let mut outcome: BTreeMap<String, Value> = BTreeMap::new();
    let mut summary = None;
    for line in stderr.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match v["type"].as_str() {
            Some("directory") => {
                let dir = v["dir"].as_str().unwrap().to_string();
                let rel = dir
                    .strip_prefix(&format!("{}/", root.display()))
                    .unwrap_or(&dir)
                    .to_string();
                outcome.insert(rel, v);
            }
            Some("summary") => summary = Some(v),
            _ => {}
        }
    }
    let get = |k: &str| {
        outcome
            .get(k)
            .unwrap_or_else(|| panic!("no outcome for {k}: {outcome:#?}"))
    };
    assert_eq!(get("2024/pass-tiny")["status"], "PASS");
    assert_eq!(get("2025/q1/builder-x/fail-compile")["status"], "FAIL");
    assert_eq!(get("live/warn")["outcome"], "in_progress");
    assert_eq!(get("broken/stable_test_6.1_bad")["outcome"], "failed");
    for (name, layout, _) in &examples {
        assert_eq!(get(&format!("layouts/{name}"))["layout"], *layout, "{name}");
    }
    assert!(
        !outcome
            .keys()
            .any(|k| k.starts_with("src/") || k.starts_with("empty") || k.contains("loop")),
        "walked into what it must not: {:?}",
        outcome.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        outcome.len(),
        4 + examples.len(),
        "{:?}",
        outcome.keys().collect::<Vec<_>>()
    );
    let summary = summary.expect("a final summary object");
    assert_eq!(summary["directories"], 4 + examples.len());
    assert_eq!(summary["in_progress"], 1);
    assert_eq!(summary["failed"].as_array().map(|a| a.len()), Some(1));
    assert!(
        summary["skipped_paths"]
            .to_string()
            .contains("symlink loop"),
        "the loop is reported: {summary}"
    );

    // stdout holds one document with every harvested build, in walk order
    let doc: Value = serde_json::from_slice(&outp.stdout).unwrap();
    assert_eq!(
        doc["builds"].as_array().map(|a| a.len()),
        Some(2 + examples.len())
    );
}

#[test]
fn output_order_does_not_depend_on_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    for case in CASES {
        let d = unpack_case(case, tmp.path());
        age(&d);
    }
    let run = |j: &str| {
        harvester()
            .arg("-r")
            .arg(tmp.path())
            .args(["--origin", "gregkh", "--dry-run", "-j", j])
            .output()
            .unwrap()
            .stdout
    };
    let one = run("1");
    assert!(!one.is_empty());
    assert_eq!(one, run("2"));
    assert_eq!(one, run("4"));
}

#[test]
fn max_depth_and_exclude() {
    let tmp = tempfile::tempdir().unwrap();
    let deep = tmp.path().join("a/b/c");
    std::fs::create_dir_all(&deep).unwrap();
    age(&unpack_case("pass-tiny", &deep));
    age(&unpack_case("warn", tmp.path()));
    let count = |extra: &[&str]| {
        let out = harvester()
            .arg("-r")
            .arg(tmp.path())
            .args(["--origin", "gregkh", "--dry-run"])
            .args(extra)
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["builds"].as_array().map(|a| a.len()).unwrap_or(0)
    };
    assert_eq!(count(&[]), 2);
    assert_eq!(count(&["--max-depth", "2"]), 1);
    assert_eq!(count(&["--exclude", "*/a/*"]), 1);
}
