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

#[cfg(test)]
mod tests {
    use super::*;

    const COMMIT: &str = "f4948065a9336ed79a687cabf6525821451ba553";
    const REPO: &str = "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git";

    #[test]
    fn sha256_of_a_known_string() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn ids_follow_kci_dev_formula() {
        let ck = checkout_id("myci", "https://x/linux.git", "master", "0123", "");
        assert_eq!(
            ck,
            format!("myci:ck-{}", sha256_hex("https://x/linux.git|master|0123|"))
        );
        let b = build_id("myci", &ck, "x86_64", "defconfig", "gcc", "r1");
        assert_eq!(
            b,
            format!(
                "myci:b-{}",
                sha256_hex(&format!("{ck}|x86_64|defconfig|gcc|r1"))
            )
        );
    }

    #[test]
    fn ids_tell_patchsets_and_runs_apart() {
        let plain = checkout_id("myci", REPO, "linux-6.1.y", COMMIT, "");
        let queued = checkout_id("myci", REPO, "linux-6.1.y", COMMIT, "9e1c0a");
        assert_ne!(plain, queued);
        assert!(plain.starts_with("myci:ck-") && plain.len() == "myci:ck-".len() + 64);
        let b1 = build_id("myci", &plain, "x86_64", "defconfig", "gcc-12", "run-a");
        let b2 = build_id("myci", &plain, "x86_64", "defconfig", "gcc-12", "run-b");
        assert_ne!(b1, b2);
        assert!(b1.starts_with("myci:b-"));
    }

    #[test]
    fn seeds_for_unknown_commit_and_unhashed_queue() {
        assert_eq!(commit_seed(Some(COMMIT), "abc"), COMMIT);
        assert_eq!(commit_seed(None, "abc"), "run:abc");
        assert_eq!(patchset_seed(Some("9e1c0a"), true, "abc"), "9e1c0a");
        assert_eq!(patchset_seed(None, true, "abc"), "unknown:abc");
        assert_eq!(patchset_seed(None, false, "abc"), "");
    }

    #[test]
    fn run_id_prefers_the_override_then_the_log_hash() {
        let mut facts = Facts::default();
        let ov = Overrides::default();
        assert_eq!(run_id(&facts, &ov), "");
        facts.push(keys::LOG_SHA256, "b93d94", "linux/log", None);
        assert_eq!(run_id(&facts, &ov), "b93d94");
        let ov = Overrides {
            build_run_id: Some("nightly-42".into()),
            ..Default::default()
        };
        assert_eq!(run_id(&facts, &ov), "nightly-42");
    }
}
