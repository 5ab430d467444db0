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
