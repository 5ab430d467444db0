//! Stage report: a directory's facts → its KCIDB objects (one checkout
//! and one build today), with written precedence: override flag > most
//! specific source > fallback. Every field remembers where its value came
//! from (for `explain`).
//!
//! The precedence of each field is the order of the candidates in its
//! `pick` call ([`checkout`], [`build`]); the README's field table says the
//! same in prose. [`merge`] reads top to bottom: the provenance tracker
//! ([`provenance`]), the checkout ([`checkout`], its queue in `patches`),
//! the build's fields ([`build`]), the status ([`status`]), the build's
//! id, excerpt and `misc` ([`misc`]), then the warnings of sources that
//! disagree on an id. [`ids`] has the id formulae, [`names`] the names and
//! normal forms read out of URLs, make commands, versions and times.

pub mod build;
pub mod checkout;
pub mod ids;
pub mod issues;
pub mod ktest;
pub mod misc;
pub mod names;
mod patches;
pub mod provenance;
pub mod status;

use kcidb_harvest_parsers::Facts;

use crate::cli::Overrides;
use crate::kcidb::{Build, Report, Status};
use crate::layout::Layout;

pub use ids::{build_id, checkout_id, sha256_hex};
pub use names::{
    arch_from_make_cmd, cc_from_make_cmd, kernelci_arch, normalise_time, public_https,
    seconds_number, tree_from_url, STABLE_URL,
};
pub use provenance::FieldSource;
pub use status::{clip_excerpt, decide_status, decide_status_plain, is_ktest_run, run_finished};

use misc::{BuildFacts, BuildMisc};
use provenance::Tracker;

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
    /// A run of several ktest tests (or of one that boots): one line per
    /// build and test ([`ktest`]); empty for a single build.
    pub results: Vec<ktest::ResultLine>,
    /// Consoles to upload as test logs: (test id, first and last line).
    pub consoles: Vec<(String, u64, u64)>,
    /// Tests of the run that are searches (bisect, …), not submitted.
    pub searches: Vec<String>,
    /// The human line of a run of several tests (instead of the mail line).
    pub run_line: Option<String>,
    /// The distinct diagnostics of each build, signed (issues, history).
    pub diagnostics: Vec<issues::BuildDiags>,
    /// The kernel release built (`6.1.172`, the Makefile's), else the
    /// kernel version (`6.1`): orders builds in the history.
    pub release: Option<String>,
}

/// Context of a merge.
pub struct MergeContext<'a> {
    pub origin: &'a str,
    /// The directory's layout: its capabilities decide some rules, its id
    /// is `misc.source_layout`.
    pub layout: &'static Layout,
    pub overrides: &'a Overrides,
    /// The directory's base name (may hold `stable_test_<V>_XXXXX`).
    pub dir_name: &'a str,
}

/// Merge the facts of one directory into a checkout and a build.
pub fn merge(facts: &Facts, ctx: &MergeContext<'_>) -> Merged {
    let mut t = Tracker::default();
    let kernel_version = names::kernel_version(facts, ctx.dir_name);
    let run_id = ids::run_id(facts, ctx.overrides);

    let ck = checkout::checkout(facts, ctx, kernel_version.as_deref(), &run_id, &mut t);
    if let Some(tests) = ktest::tests_of(facts) {
        return merge_tests(facts, ctx, &tests, ck, kernel_version, &run_id, t);
    }

    // the build's own fields, then what needs its status
    let fields = build::fields(facts, ctx.overrides, &mut t);
    let diag = facts.diag.as_ref().map(|(_, d)| d);
    let verdict = status::decide(facts, diag, ck.partial_patchset, ctx.overrides);
    t.set("build", "status", &verdict.status, &verdict.reason);

    let id = build::id(ctx, &ck.checkout.id, &fields, &run_id, &mut t);
    let log_excerpt = build::excerpt(facts, &verdict, ck.partial_patchset, &mut t);

    let (build_misc, raw_count_sources) = BuildMisc::of(
        facts,
        &BuildFacts {
            source_layout: ctx.layout.id,
            run_id: &run_id,
            ktest_status: verdict.ktest_status.as_deref(),
            partial_patchset: ck.partial_patchset,
            passed: verdict.status == crate::kcidb::Status::Pass,
        },
    );
    for s in raw_count_sources {
        t.push(s);
    }

    let comment = build::comment(
        facts,
        ctx.overrides,
        fields.config_name.as_deref(),
        kernel_version.as_deref(),
    );
    let diagnostics = diag
        .map(|d| {
            vec![issues::BuildDiags {
                build_id: id.clone(),
                diags: issues::signed(d),
            }]
        })
        .unwrap_or_default();
    let build = Build {
        id,
        origin: ctx.origin.to_string(),
        checkout_id: ck.checkout.id.clone(),
        comment,
        log_excerpt,
        status: Some(verdict.status),
        misc: misc::to_map(&build_misc),
        ..fields.into_build()
    };

    Merged {
        report: Report {
            checkouts: vec![ck.checkout],
            builds: vec![build],
            ..Default::default()
        },
        warnings: provenance::identity_warnings(&t.sources),
        sources: t.sources,
        commit_known: ck.commit_known && !ck.patchset_unknown,
        version_label: names::version_label(facts, kernel_version.as_deref(), ctx.dir_name),
        ktest_status: verdict.ktest_status,
        status: verdict.status,
        status_reason: verdict.reason,
        results: Vec::new(),
        consoles: Vec::new(),
        searches: Vec::new(),
        run_line: None,
        diagnostics,
        release: release(facts, kernel_version.as_deref()),
    }
}

/// A run of several ktest tests: one build per test that builds, and its
/// boots and test runs ([`ktest`]).
fn merge_tests(
    facts: &Facts,
    ctx: &MergeContext<'_>,
    tests: &[ktest::KtestTest],
    ck: checkout::CheckoutPart,
    kernel_version: Option<String>,
    run_id: &str,
    mut t: Tracker,
) -> Merged {
    let out = ktest::merge_tests(
        facts,
        tests,
        &ktest::RunContext {
            ctx,
            checkout: &ck,
            run_id,
            kernel_version: kernel_version.as_deref(),
        },
        &mut t,
    );
    let ktest_status = if tests.iter().all(|x| x.result.as_deref() == Some("SUCCESS")) {
        "SUCCESS"
    } else {
        "FAILED"
    };
    Merged {
        report: Report {
            checkouts: out.checkouts,
            builds: out.builds,
            tests: out.tests,
            ..Default::default()
        },
        warnings: provenance::identity_warnings(&t.sources),
        sources: t.sources,
        commit_known: ck.commit_known && !ck.patchset_unknown,
        version_label: names::version_label(facts, kernel_version.as_deref(), ctx.dir_name),
        ktest_status: Some(ktest_status.into()),
        status: out.status,
        status_reason: out.reason,
        results: out.results,
        consoles: out.consoles,
        searches: out.searches,
        run_line: Some(out.line),
        diagnostics: out.diagnostics,
        release: release(facts, kernel_version.as_deref()),
    }
}

/// The Makefile's release, else the run's kernel version.
fn release(facts: &Facts, kernel_version: Option<&str>) -> Option<String> {
    facts
        .str(kcidb_harvest_parsers::keys::MAKEFILE_VERSION)
        .map(|(v, _)| v)
        .or(kernel_version)
        .map(String::from)
}
