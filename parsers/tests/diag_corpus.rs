//! The diagnostics engine on every real result directory of
//! `fixtures/corpus/` (read straight from the tarballs, so the test needs
//! nothing but a clean checkout): distinct and raw counts equal the case's
//! `truth.json` (`kcidb_misc_expected`), the raw counts equal the script's
//! `Warnings = N` / `Errors   = N` in `output_log`, and the excerpts say
//! what the case is about.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use kcidb_harvest_parsers::diag::{DiagReport, Engine, ExcerptKind, Kind, Severity};
use kcidb_harvest_parsers::logscan::scan;
use serde_json::Value;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/corpus")
}

/// `linux/log` and `output_log` of a case, from its tarball.
fn case_files(case: &str) -> (Vec<u8>, String) {
    let path = corpus_dir().join(format!("{case}.tar.gz"));
    let file = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut archive = tar::Archive::new(GzDecoder::new(file));
    let (mut log, mut output_log) = (None, None);
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let name = entry
            .path()
            .expect("entry path")
            .to_string_lossy()
            .into_owned();
        let mut buf = Vec::new();
        if name.ends_with("/linux/log") {
            entry.read_to_end(&mut buf).expect("read linux/log");
            log = Some(buf);
        } else if name.ends_with("/output_log") && name.matches('/').count() == 1 {
            entry.read_to_end(&mut buf).expect("read output_log");
            output_log = Some(String::from_utf8_lossy(&buf).into_owned());
        }
    }
    (
        log.unwrap_or_else(|| panic!("{case}: no linux/log in the tarball")),
        output_log.unwrap_or_else(|| panic!("{case}: no output_log in the tarball")),
    )
}

fn truth(case: &str) -> Value {
    let path = corpus_dir().join(format!("{case}.truth.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("truth.json parses")
}

fn run(log: &[u8]) -> DiagReport {
    let mut engine = Engine::new();
    scan("linux/log", log, &mut [&mut engine]).expect("scan");
    engine.finish()
}

/// `Warnings = N` / `Errors   = N` of output_log.
fn script_counts(output_log: &str) -> (u64, u64) {
    let get = |key: &str| {
        output_log
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == key).then(|| v.trim().parse::<u64>().ok())?
            })
            .unwrap_or_else(|| panic!("no `{key} = N` in output_log"))
    };
    (get("Warnings"), get("Errors"))
}

const CASES: [&str; 5] = [
    "pass-tiny",
    "pass-queue",
    "warn",
    "fail-compile",
    "fail-patch",
];

#[test]
fn every_corpus_case_has_its_truth_counts() {
    let mut seen = 0;
    for case in CASES {
        let (log, output_log) = case_files(case);
        let r = run(&log);
        let want = &truth(case)["kcidb_misc_expected"];
        let got = [r.warnings, r.errors, r.warnings_raw, r.errors_raw];
        let exp: Vec<u64> = ["warnings", "errors", "warnings_raw", "errors_raw"]
            .iter()
            .map(|k| {
                want[k]
                    .as_u64()
                    .unwrap_or_else(|| panic!("{case}: truth {k}"))
            })
            .collect();
        assert_eq!(
            got.to_vec(),
            exp,
            "{case}: warnings, errors, warnings_raw, errors_raw"
        );
        assert_eq!(
            (r.warnings_raw, r.errors_raw),
            script_counts(&output_log),
            "{case}: raw counts vs output_log"
        );
        assert_eq!(r.bytes, log.len() as u64, "{case}: bytes");
        seen += 1;
    }
    // Every tarball of the corpus is covered.
    let on_disk = std::fs::read_dir(corpus_dir())
        .expect("corpus dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".tar.gz"))
        })
        .count();
    assert_eq!(seen, on_disk, "a corpus case is missing from CASES");
}

/// Per case: the kinds of the distinct diagnostics match the truth's lists
/// (compiler errors and warnings by file, line and column; the Kconfig
/// warning of the tinyconfig merge).
#[test]
fn corpus_diagnostics_match_the_truth_lists() {
    for case in CASES {
        let (log, _) = case_files(case);
        let r = run(&log);
        let t = truth(case);
        for (sev, list) in [
            (Severity::Warning, &t["warnings"]["list"]),
            (Severity::Error, &t["errors"]["list"]),
        ] {
            let list = list.as_array().expect("list");
            for item in list {
                let path = item["path"].as_str().expect("path");
                let line = item["line"].as_u64().expect("line") as u32;
                let col = item["column"].as_u64().expect("column") as u32;
                let found = r.diagnostics.iter().find(|d| {
                    d.severity == sev
                        && d.file.as_deref() == Some(path)
                        && d.line == Some(line)
                        && d.column == Some(col)
                });
                let d = found.unwrap_or_else(|| panic!("{case}: {path}:{line}:{col} not found"));
                assert_eq!(d.kind, Kind::Compiler, "{case}: {path}:{line}");
                assert_eq!(
                    d.message,
                    item["message"].as_str().expect("message"),
                    "{case}: message as printed"
                );
                assert_eq!(
                    d.occurrences,
                    item["occurrences"].as_u64().expect("occurrences")
                );
            }
            let compiler = r
                .diagnostics
                .iter()
                .filter(|d| d.severity == sev && d.kind == Kind::Compiler)
                .count();
            assert_eq!(compiler, list.len(), "{case}: compiler {sev:?} count");
        }
        let kconfig: Vec<&str> = r
            .diagnostics
            .iter()
            .filter(|d| d.kind == Kind::Kconfig)
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            kconfig,
            vec!["override: UNWINDER_GUESS changes choice state"],
            "{case}: the Kconfig warning of the tinyconfig merge"
        );
        assert!(r.environment_failures.is_empty(), "{case}");
    }
}

#[test]
fn fail_compile_kinds_and_excerpt() {
    let (log, _) = case_files("fail-compile");
    let r = run(&log);
    let by = |m: &BTreeMap<String, u64>| m.clone().into_iter().collect::<Vec<_>>();
    assert_eq!(by(&r.errors_by_kind), vec![("compiler".to_string(), 1)]);
    assert_eq!(by(&r.warnings_by_kind), vec![("kconfig".to_string(), 1)]);
    assert_eq!(r.make_failures.len(), 4, "{:?}", r.make_failures);
    let fail = r.excerpt(ExcerptKind::Fail).expect("fail excerpt");
    let lines: Vec<&str> = fail.lines().collect();
    assert_eq!(lines[0], "../init/main.c: In function ‘loglevel’:");
    assert_eq!(
        lines[1],
        "../init/main.c:261:44: error: invalid type argument of ‘->’ (have ‘int’)"
    );
    assert!(lines[2].contains("console_loglevel = newlevel->level;"));
    assert!(fail.contains("make[3]: *** [../scripts/Makefile.build:255: init/main.o] Error 1"));
    assert!(lines
        .last()
        .is_some_and(|l| l.starts_with("make: *** [Makefile:250: __sub-make] Error 2")));
    // Progress lines of other jobs are not part of it.
    assert!(!fail.contains("  CC      "), "{fail}");
}

#[test]
fn warn_case_excerpt_lists_each_distinct_warning_with_its_caret() {
    let (log, _) = case_files("warn");
    let r = run(&log);
    let w = r.excerpt(ExcerptKind::Warnings).expect("warnings excerpt");
    for needle in [
        "../init/main.c:273:64: warning: format ‘%d’ expects argument of type ‘int’",
        "../init/main.c:256:13: warning: unused variable ‘oldlevel’",
        "../init/main.c:266:34: warning: this statement may fall through",
        "  256 |         int oldlevel;",
        ".config:1309:warning: override: UNWINDER_GUESS changes choice state",
    ] {
        assert!(w.contains(needle), "missing {needle:?} in\n{w}");
    }
    // The compiler's warnings come first, the Kconfig notice last.
    assert!(
        w.starts_with("../init/main.c: In function ‘loglevel’:"),
        "{w}"
    );
    assert!(w.ends_with(".config:1309:warning: override: UNWINDER_GUESS changes choice state"));
}

#[test]
fn excerpts_respect_the_limit_everywhere() {
    for case in CASES {
        let (log, _) = case_files(case);
        let r = run(&log);
        for kind in [ExcerptKind::Fail, ExcerptKind::Warnings, ExcerptKind::Tail] {
            if let Some(e) = r.excerpt(kind) {
                assert!(e.chars().count() <= 16384, "{case} {kind:?}");
                assert!(!e.contains('\0'), "{case} {kind:?}");
            }
        }
        let tail = r.excerpt(ExcerptKind::Tail).expect("tail");
        let last = String::from_utf8_lossy(&log);
        let last = last.trim_end().lines().last().expect("a last line");
        assert!(tail.ends_with(last), "{case}: tail ends with the log");
    }
}
