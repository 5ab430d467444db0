//! Helpers shared by the integration tests: unpack corpus cases, run the
//! binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;

pub const CASES: &[&str] = &[
    "fail-compile",
    "fail-patch",
    "pass-queue",
    "pass-tiny",
    "warn",
];

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Unpack `fixtures/corpus/<case>.tar.gz` into `into`; returns the case dir.
pub fn unpack_case(case: &str, into: &Path) -> PathBuf {
    let tgz = repo()
        .join("fixtures/corpus")
        .join(format!("{case}.tar.gz"));
    let f = std::fs::File::open(&tgz).expect("corpus tarball");
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    ar.set_preserve_mtime(true);
    ar.unpack(into).expect("unpack corpus case");
    into.join(case)
}

pub fn truth(case: &str) -> Value {
    let p = repo()
        .join("fixtures/corpus")
        .join(format!("{case}.truth.json"));
    serde_json::from_str(&std::fs::read_to_string(p).expect("truth file")).expect("truth json")
}

pub fn bin() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("kcidb-harvest").expect("binary built");
    c.env_remove("KCIDB_REST")
        .env_remove("KCI_STORAGE_URL")
        .env_remove("KCI_STORAGE_TOKEN")
        .env_remove("KCIDB_HARVEST_ORIGIN")
        .env_remove("KCIDB_HARVEST_SPOOL")
        .env("NO_COLOR", "1");
    c
}

/// `kcidb-harvest DIR --origin gregkh --dry-run` → the report JSON.
pub fn dry_run(dir: &Path) -> Value {
    let out = bin()
        .arg(dir)
        .args(["--origin", "gregkh", "--dry-run", "--assume-finished"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "dry-run of {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

/// Read one member of a corpus tarball (e.g. `warn/linux/log`).
pub fn corpus_file(case: &str, member: &str) -> Vec<u8> {
    let tgz = repo()
        .join("fixtures/corpus")
        .join(format!("{case}.tar.gz"));
    let f = std::fs::File::open(&tgz).expect("corpus tarball");
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let want = format!("{case}/{member}");
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let path = e
            .path()
            .expect("path")
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        if path == want {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut v).expect("read member");
            return v;
        }
    }
    panic!("{want} not in {}", tgz.display());
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

pub fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("mkdir");
    }
    std::fs::write(path, bytes).expect("write");
}

/// Set every file's mtime below `dir` to an hour ago (a finished run).
pub fn age(dir: &Path) {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for e in walkdir::WalkDir::new(dir) {
        let e = e.expect("walk");
        if e.file_type().is_file() {
            let f = std::fs::File::options()
                .write(true)
                .open(e.path())
                .expect("open");
            f.set_modified(old).expect("set mtime");
        }
    }
}

/// The layouts' example directories, built from the corpus:
/// (name, expected layout id, directory).
pub fn layout_examples(root: &Path) -> Vec<(&'static str, &'static str, PathBuf)> {
    let mut v = Vec::new();

    // an old/partial copy: gzip-compressed linux/log and output_log only
    let d = root.join("partial");
    write(
        &d.join("linux/log.gz"),
        gzip(&corpus_file("pass-queue", "linux/log")),
    );
    write(
        &d.join("output_log"),
        corpus_file("pass-queue", "output_log"),
    );
    v.push(("partial", "test_stable_ssh_partial", d));

    // a plain ktest LOG_FILE directory, DIE_ON_FAILURE = 0 (ktest exits 0)
    let d = root.join("ktest-die0");
    let log = String::from_utf8(corpus_file("fail-compile", "linux/log")).expect("utf8 log");
    let log = log.replace("DIE_ON_FAILURE = 1", "DIE_ON_FAILURE = 0");
    let cut = log.rfind("CRITICAL FAILURE").expect("critical line");
    let banner = "%".repeat(37);
    let log = format!(
        "{}FAILED\n\n{banner}\n{banner}\nKTEST RESULT: TEST 1 Failed: failed build\n{banner}\n{banner}\n\n    0 of 1 tests were successful\n\n",
        &log[..cut]
    );
    write(&d.join("ktest.log"), log);
    write(
        &d.join("ktest.conf"),
        corpus_file("fail-compile", "ktest.conf"),
    );
    v.push(("ktest-die0", "ktest", d));

    // a tuxmake output directory
    let d = root.join("tuxmake");
    let mut log = b"tuxmake --target-arch=x86_64 --kconfig=tinyconfig --toolchain=gcc-12 --wrapper=ccache config default kernel\n".to_vec();
    log.extend_from_slice(&corpus_file("fail-compile", "buildlog-bob"));
    write(&d.join("build.log"), log);
    write(
        &d.join("metadata.json"),
        r#"{"results": {"status": "FAIL", "errors": 1, "warnings": 0, "duration": {"build": 14.2}},
  "build": {"target_arch": "x86_64", "toolchain": "gcc-12", "kconfig": "tinyconfig",
            "reproducer_cmdline": ["tuxmake", "--target-arch=x86_64", "--kconfig=tinyconfig", "--toolchain=gcc-12"]},
  "compiler": {"name": "gcc", "version_full": "gcc (Debian 12.2.0-14+deb12u1) 12.2.0"},
  "git": {"git_url": "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git",
          "git_branch": "linux-6.1.y", "git_commit": "19463f7e3ad6bee028585a29c8f9bd10fc6bcab6",
          "git_describe": "v6.1.192"},
  "source": {"kernelrelease": "6.1.192"}, "tuxmake": {"version": "1.43.0"}}
"#,
    );
    v.push(("tuxmake", "tuxmake", d));

    // a bare build log with bash `time`, commit.txt and start_time.txt
    let d = root.join("bare");
    write(&d.join("build.log"), corpus_file("warn", "buildlog-bob"));
    write(&d.join("time.txt"), corpus_file("warn", "time.txt"));
    write(&d.join("commit.txt"), corpus_file("warn", "commit.txt"));
    write(
        &d.join("start_time.txt"),
        corpus_file("warn", "start_time.epoch"),
    );
    v.push(("bare", "build_log", d));

    for (_, _, d) in &v {
        age(d);
    }
    v
}
