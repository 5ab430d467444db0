//! The ids of the objects a directory yields (kci-dev's formulas): the
//! same directory gives the same ids on every run, on any machine. And
//! what goes into them when the commit or the queue is unknown.

use kcidb_harvest_parsers::{keys, Facts};

use crate::cli::Overrides;

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

/// What tells one run from another: `--build-run-id`, else the sha256 of
/// the build log (or of output_log, when there is no build log), else
/// nothing.
pub fn run_id(facts: &Facts, ov: &Overrides) -> String {
    ov.build_run_id
        .clone()
        .or_else(|| facts.str(keys::LOG_SHA256).map(|(s, _)| s.to_string()))
        .unwrap_or_default()
}

/// The commit part of a checkout id: the commit, else `run:<run_id>` (an
/// unknown commit must not make every such run one checkout).
pub fn commit_seed(commit: Option<&str>, run_id: &str) -> String {
    commit.map_or_else(|| format!("run:{run_id}"), String::from)
}

/// The patchset part of a checkout id: the hash; when a queue was applied
/// but its patches are not here to hash, `unknown:<run_id>` (never let
/// that look like "no patches"); else nothing.
pub fn patchset_seed(patchset: Option<&str>, queue_unhashed: bool, run_id: &str) -> String {
    match (patchset, queue_unhashed) {
        (Some(p), _) => p.to_string(),
        (None, true) => format!("unknown:{run_id}"),
        (None, false) => String::new(),
    }
}
