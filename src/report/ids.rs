//! The ids of the objects a directory yields (kci-dev's formulas): the
//! same directory gives the same ids on every run, on any machine.

/// sha256 hex of a string.
pub fn sha256_hex(s: &str) -> String {
    kcidb_harvest_parsers::digest::sha256_hex(s.as_bytes())
}

/// `<origin>:ck-<sha256(repo|branch|commit|patchset)>` (kci-dev compatible).
pub fn checkout_id(origin: &str, repo: &str, branch: &str, commit: &str, patchset: &str) -> String {
    format!(
        "{origin}:ck-{}",
        sha256_hex(&format!("{repo}|{branch}|{commit}|{patchset}"))
    )
}

/// `<origin>:b-<sha256(checkout_id|arch|config|compiler|run_id)>`.
pub fn build_id(
    origin: &str,
    checkout_id: &str,
    arch: &str,
    config: &str,
    compiler: &str,
    run_id: &str,
) -> String {
    format!(
        "{origin}:b-{}",
        sha256_hex(&format!(
            "{checkout_id}|{arch}|{config}|{compiler}|{run_id}"
        ))
    )
}
