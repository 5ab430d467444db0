//! Failure modes beyond the corpus, made from the real `fail-compile` and
//! `pass-tiny` runs by rewriting their logs the way those failures print
//! (docs/inputs.md#ktest-log-framing, docs/diagnostics.md, docs/status.md#ktest-runs): the status and counts each must get.

use crate::common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// `fail-compile` with its failing block (the compiler error through make's
/// first two failure lines) replaced by `block`.
fn with_failure(root: &Path, name: &str, block: &str) -> PathBuf {
    let dir = unpack_case("fail-compile", &root.join(name));
    let log = std::fs::read_to_string(dir.join("linux/log")).unwrap();
    let start = log.find("../init/main.c: In function").unwrap();
    let end_marker = "init] Error 2\n";
    let end = log.find(end_marker).unwrap() + end_marker.len();
    let new = format!("{}{}{}", &log[..start], block, &log[end..]);
    std::fs::write(dir.join("linux/log"), new).unwrap();
    age(&dir);
    dir
}

/// `fail-compile` whose log stops after the line holding `needle`, then `tail`.
fn cut_after(root: &Path, name: &str, needle: &str, tail: &str) -> PathBuf {
    let dir = unpack_case("fail-compile", &root.join(name));
    let log = std::fs::read_to_string(dir.join("linux/log")).unwrap();
    let at = log
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} not in log"));
    let line_end = log[at..]
        .find('\n')
        .map(|i| at + i + 1)
        .unwrap_or(log.len());
    std::fs::write(dir.join("linux/log"), format!("{}{tail}", &log[..line_end])).unwrap();
    age(&dir);
    dir
}

fn build(r: &Value) -> &Value {
    &r["builds"][0]
}

#[test]
fn gnu_ld_undefined_reference_is_a_linker_failure_grep_misses() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = with_failure(
        tmp.path(),
        "link",
        "  LD      vmlinux.o\n\
         ld: vmlinux.o: in function `start_kernel':\n\
         main.c:(.init.text+0x4a1): undefined reference to `ktest_missing_symbol'\n\
         make[2]: *** [../scripts/Makefile.vmlinux_o:61: vmlinux.o] Error 1\n\
         make[1]: *** [/dev/shm/stable_test_6.1_daCG4/linux/Makefile:1250: vmlinux_o] Error 2\n",
    );
    let r = dry_run(&dir);
    let b = build(&r);
    assert_eq!(b["status"], "FAIL", "{b}");
    assert_eq!(b["misc"]["errors_by_kind"]["linker"], 1, "{b}");
    assert_eq!(
        b["misc"]["errors_raw"], 0,
        "grep -c -i error: finds nothing"
    );
    assert!(b["log_excerpt"]
        .as_str()
        .unwrap()
        .contains("undefined reference to `ktest_missing_symbol'"));
}

#[test]
fn missing_compiler_is_an_error_of_the_tooling() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = with_failure(
        tmp.path(),
        "nocc",
        "/bin/sh: 1: gcc-15: not found\n\
         make[3]: *** [../scripts/Makefile.build:255: init/main.o] Error 127\n\
         make[2]: *** [../scripts/Makefile.build:508: init] Error 2\n",
    );
    let b = dry_run(&dir)["builds"][0].clone();
    assert_eq!(b["status"], "ERROR", "{b}");
    // the tool's message is an error of its own kind, not the code's
    assert_eq!(b["misc"]["errors"], 1, "{b}");
    assert_eq!(b["misc"]["errors_by_kind"]["toolchain"], 1, "{b}");
    assert!(
        b["log_excerpt"]
            .as_str()
            .unwrap()
            .contains("gcc-15: not found"),
        "{b}"
    );
}

#[test]
fn oom_killed_compiler_and_full_disk_are_errors_of_the_environment() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, block) in [
        (
            "oom",
            "gcc: fatal error: Killed signal terminated program cc1\n\
             compilation terminated.\n\
             make[3]: *** [../scripts/Makefile.build:255: init/main.o] Error 1\n\
             make[2]: *** [../scripts/Makefile.build:508: init] Error 2\n",
        ),
        (
            "disk",
            "../init/main.c:1:1: fatal error: error writing to /tmp/ccQ2Yk1p.s: No space left on device\n\
             compilation terminated.\n\
             make[3]: *** [../scripts/Makefile.build:255: init/main.o] Error 1\n\
             make[2]: *** [../scripts/Makefile.build:508: init] Error 2\n",
        ),
    ] {
        let dir = with_failure(tmp.path(), name, block);
        let b = dry_run(&dir)["builds"][0].clone();
        assert_eq!(b["status"], "ERROR", "{name}: {b}");
    }
}

#[test]
fn kconfig_failure_is_a_code_failure_mrproper_failure_a_tool_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = cut_after(
        tmp.path(),
        "kconfig",
        "olddefconfig ... ",
        "../init/Kconfig:42: syntax error\n\
         ../init/Kconfig:41: invalid statement\n\
         make[2]: *** [../scripts/kconfig/Makefile:77: olddefconfig] Error 1\n\
         make[1]: *** [/dev/shm/stable_test_6.1_daCG4/linux/Makefile:697: olddefconfig] Error 2\n\
         make: *** [Makefile:250: __sub-make] Error 2\n\
         [1 second] FAILED!\n\
         CRITICAL FAILURE... [TEST 1] failed make config oldconfig\n",
    );
    let b = dry_run(&dir)["builds"][0].clone();
    assert_eq!(b["status"], "FAIL", "{b}");
    assert!(
        b["misc"]["errors_by_kind"]["kconfig"].as_u64().unwrap_or(0) >= 1,
        "{b}"
    );

    let dir = cut_after(
        tmp.path(),
        "mrproper",
        "mrproper ... ",
        "rm: cannot remove 'include/config': Read-only file system\n\
         make[1]: *** [/dev/shm/stable_test_6.1_daCG4/linux/Makefile:1633: mrproper] Error 1\n\
         make: *** [Makefile:250: __sub-make] Error 2\n\
         [0 seconds] FAILED!\n\
         CRITICAL FAILURE... [TEST 1] make mrproper\n",
    );
    let b = dry_run(&dir)["builds"][0].clone();
    assert_eq!(b["status"], "ERROR", "{b}");
    assert!(
        b["log_excerpt"]
            .as_str()
            .unwrap()
            .contains("CRITICAL FAILURE"),
        "{b}"
    );
}

#[test]
fn ktest_killed_mid_build_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = cut_after(
        tmp.path(),
        "killed",
        "  CC      arch/x86/events/amd/core.o",
        "",
    );
    let out = std::fs::read_to_string(dir.join("output_log")).unwrap();
    let out = out
        .replace("CRITICAL FAILURE... [TEST 1] failed build\n", "")
        .replace("KTEST_RUN = 255", "KTEST_RUN = 137");
    std::fs::write(dir.join("output_log"), out).unwrap();
    age(&dir);
    let b = dry_run(&dir)["builds"][0].clone();
    assert_eq!(b["status"], "ERROR", "{b}");
    assert_eq!(b["misc"]["ktest_exit"], 137);
}

#[test]
fn die_on_failure_0_exit_0_is_still_a_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("fail-compile", tmp.path());
    let banner = "%".repeat(37);
    let fix = |text: String| {
        text.replace(
            "CRITICAL FAILURE... [TEST 1] failed build\n",
            &format!(
                "FAILED\n\n{banner}\n{banner}\nKTEST RESULT: TEST 1 Failed: failed build\n{banner}\n{banner}\n\n    0 of 1 tests were successful\n\n"
            ),
        )
        .replace("DIE_ON_FAILURE = 1", "DIE_ON_FAILURE = 0")
        .replace("KTEST_RUN = 255", "KTEST_RUN = 0")
    };
    for f in ["linux/log", "output_log"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        std::fs::write(dir.join(f), fix(text)).unwrap();
    }
    age(&dir);
    let b = dry_run(&dir)["builds"][0].clone();
    assert_eq!(b["status"], "FAIL", "{b}");
    assert_eq!(b["misc"]["ktest_exit"], 0);
}

#[test]
fn a_rerun_appended_to_the_log_is_judged_by_its_last_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("fail-compile", tmp.path());
    let passing = corpus_file("pass-tiny", "linux/log");
    let mut log = std::fs::read(dir.join("linux/log")).unwrap();
    log.extend_from_slice(&passing);
    std::fs::write(dir.join("linux/log"), log).unwrap();
    let mut out = std::fs::read(dir.join("output_log")).unwrap();
    out.extend_from_slice(&corpus_file("pass-tiny", "output_log"));
    std::fs::write(dir.join("output_log"), out).unwrap();
    age(&dir);
    let b = dry_run(&dir)["builds"][0].clone();
    assert_eq!(b["status"], "PASS", "{b}");
    assert_eq!(
        b["misc"]["errors"], 0,
        "distinct counts describe the last run: {b}"
    );
    assert_eq!(
        b["misc"]["errors_raw"], 1,
        "raw counts cover the whole file, like grep"
    );
}

#[test]
fn clang_builds_report_clang() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("pass-tiny", tmp.path());
    let cfg = dir.join("linux/output/.config");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(
            "CONFIG_CC_VERSION_TEXT=\"gcc (Debian 12.2.0-14+deb12u1) 12.2.0\"",
            "CONFIG_CC_VERSION_TEXT=\"Debian clang version 14.0.6\"",
        )
        .replace("CONFIG_CC_IS_GCC=y", "CONFIG_CC_IS_CLANG=y");
    std::fs::write(&cfg, text).unwrap();
    age(&dir);
    let b = dry_run(&dir)["builds"][0].clone();
    assert_eq!(b["compiler"], "Debian clang version 14.0.6");
}

#[test]
fn a_2016_script_counts_case_sensitively_and_so_do_we() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("pass-tiny", tmp.path());
    // the 2016-2018 script: `grep --count warning:` without -i
    let sh = std::fs::read_to_string(dir.join("run_test.sh")).unwrap();
    std::fs::write(
        dir.join("run_test.sh"),
        sh.replace("grep --count -i ", "grep --count "),
    )
    .unwrap();
    // a capitalised line only a case-insensitive grep would count
    let log = std::fs::read_to_string(dir.join("linux/log")).unwrap();
    let log = log.replace(
        "  CALL    ../scripts/checksyscalls.sh\n",
        "  CALL    ../scripts/checksyscalls.sh\nWARNING: modpost: missing MODULE_DESCRIPTION() in vmlinux.o\n",
    );
    std::fs::write(dir.join("linux/log"), log).unwrap();
    age(&dir);
    let b = dry_run(&dir)["builds"][0].clone();
    // output_log of the run says `Warnings = 1`: the .config warning only
    assert_eq!(b["misc"]["warnings_raw"], 1, "{b}");
    assert_eq!(b["status"], "PASS");
}

#[test]
fn a_remote_clone_source_is_not_taken_for_linux_stable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = unpack_case("pass-queue", tmp.path());
    let rc = "git://git.kernel.org/pub/scm/linux/kernel/git/stable/linux-stable-rc.git";
    let cfg = std::fs::read_to_string(dir.join("linux/.git/config")).unwrap();
    std::fs::write(
        dir.join("linux/.git/config"),
        cfg.replace("/home/bob/linux/stable", rc),
    )
    .unwrap();
    age(&dir);
    let ck = dry_run(&dir)["checkouts"][0].clone();
    assert_eq!(
        ck["git_repository_url"],
        "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux-stable-rc.git"
    );
    assert_eq!(ck["tree_name"], "stable-rc");

    // a remote that has no https form: no URL at all rather than a wrong one
    let cfg = std::fs::read_to_string(dir.join("linux/.git/config")).unwrap();
    std::fs::write(
        dir.join("linux/.git/config"),
        cfg.replace(rc, "git@example.org:me/linux.git"),
    )
    .unwrap();
    age(&dir);
    let ck = dry_run(&dir)["checkouts"][0].clone();
    assert!(ck.get("git_repository_url").is_none(), "{ck}");
}

#[test]
fn a_queue_seen_but_not_hashable_never_looks_like_no_patches() {
    let tmp = tempfile::tempdir().unwrap();
    // a partial copy of a patched run: output_log and the log, no queue files
    let d = tmp.path().join("stable_test_6.1_Qw3rT");
    write(
        &d.join("output_log"),
        corpus_file("fail-compile", "output_log"),
    );
    write(
        &d.join("linux/log"),
        corpus_file("fail-compile", "linux/log"),
    );
    age(&d);
    let unpatched = unpack_case("pass-tiny", tmp.path());
    let commit = "19463f7e3ad6bee028585a29c8f9bd10fc6bcab6";
    let ck = |dir: &Path| {
        let out = harvester()
            .arg(dir)
            .args([
                "--origin",
                "gregkh",
                "--dry-run",
                "--git-commit-hash",
                commit,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["checkouts"][0].clone()
    };
    let partial = ck(&d);
    assert!(partial.get("patchset_hash").is_none(), "{partial}");
    assert_ne!(
        partial["id"],
        ck(&unpatched)["id"],
        "not the unpatched base's checkout"
    );
}
