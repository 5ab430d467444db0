//! Stage report: a directory's facts → its KCIDB objects (one checkout
//! and one build today), with written precedence: override flag > most
//! specific source > fallback. Every field remembers where its value came
//! from (for `explain`).
//!
//! The precedence of each field is the order of the candidates in its
//! `pick` call ([`checkout`], [`build`]); the README's field table says the
//! same in prose. [`merge`] reads top to bottom: checkout → build (status,
//! id, misc) → the identity warnings.

pub mod build;
pub mod checkout;
pub mod ids;
pub mod misc;
pub mod names;
pub mod provenance;
pub mod status;

use kcidb_harvest_parsers::{keys, Facts};

use crate::cli::Overrides;
use crate::kcidb::{Report, Status};
use crate::layout::Layout;

pub use ids::{build_id, checkout_id, sha256_hex};
pub use names::{
    arch_from_make_cmd, cc_from_make_cmd, kernelci_arch, normalise_time, public_https,
    seconds_number, tree_from_url, STABLE_URL,
};
pub use provenance::FieldSource;
pub use status::{clip_excerpt, decide_status, decide_status_plain, is_ktest_run, run_finished};

/// Merge result.
#[derive(Clone, Debug)]
pub struct Merged {
    pub report: Report,
    pub sources: Vec<FieldSource>,
    pub commit_known: bool,
    /// `6.1` for the human line (KERNEL_VERSION, else the release).
    pub version_label: String,
    /// ktest's own verdict (`SUCCESS`, `FAILED`, …) when known.
    pub ktest_status: Option<String>,
    pub status: Status,
    pub status_reason: String,
    /// Sources that disagree on a field that makes an id (the checkout's
    /// commit, queue, repository and branch; the build's architecture and
    /// config): printed as warnings, since the other source would have given
    /// other ids. Benign disagreements (a compiler named `gcc` by MAKE_CMD
    /// and in full by .config) are listed by `explain` only.
    pub warnings: Vec<String>,
}

/// Context of a merge.
pub struct MergeContext<'a> {
    pub origin: &'a str,
    pub layout: &'static Layout,
    pub overrides: &'a Overrides,
    /// The directory's base name (may hold `stable_test_<V>_XXXXX`).
    pub dir_name: &'a str,
}

/// Merge the facts of one directory into a checkout and a build.
pub fn merge(facts: &Facts, ctx: &MergeContext<'_>) -> Merged {
    let mut t = provenance::Tracker::default();
    let ck = checkout::checkout(facts, ctx, &mut t);
    let b = build::build(facts, ctx, &ck, &mut t);
    let version_label = ck
        .kernel_version
        .clone()
        .or_else(|| {
            facts
                .str(keys::MAKEFILE_VERSION)
                .map(|(v, _)| v.to_string())
        })
        .unwrap_or_else(|| ctx.dir_name.to_string());
    Merged {
        report: Report {
            checkouts: vec![ck.checkout],
            builds: vec![b.build],
            ..Default::default()
        },
        warnings: provenance::identity_warnings(&t.sources),
        sources: t.sources,
        commit_known: ck.commit_known && !ck.patchset_unknown,
        version_label,
        ktest_status: b.ktest_status,
        status: b.status,
        status_reason: b.status_reason,
    }
}
