//! The build's status from the facts: ktest's framing and verdicts when
//! the run is a ktest run, else the build log, tuxmake and `time`; whether
//! a run has finished (docs/status.md); and the excerpt that shows why.

use kcidb_harvest_parsers::diag::{DiagReport, ExcerptKind};
use kcidb_harvest_parsers::{keys, Fact, Facts};

use crate::cli::Overrides;
use crate::kcidb::Status;

/// The build's status, why, and ktest's own verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// ktest's verdict (`SUCCESS`, `FAILED`, `INTERRUPTED`) when known.
    pub ktest_status: Option<String>,
    pub status: Status,
    pub reason: String,
}

/// True when the facts come from a ktest run (its framing was seen).
pub fn is_ktest_run(facts: &Facts) -> bool {
    facts.has(keys::KTEST_RUNS) || facts.has(keys::KTEST_EXIT) || facts.has(keys::KTEST_STEP)
}

/// Whether a run reached its end (docs/status.md#is-the-run-finished).
pub fn run_finished(facts: &Facts) -> bool {
    let ends: &[&str] = if is_ktest_run(facts) {
        &[
            keys::KTEST_EXIT,
            keys::KTEST_SUCCESS_BANNER,
            keys::KTEST_CRITICAL,
            keys::KTEST_FAILED_BANNER,
            keys::KTEST_SUMMARY,
            keys::KTEST_INTERRUPTED,
        ]
    } else {
        &[
            keys::LOG_KERNEL_READY,
            keys::LOG_IMAGE_BUILT,
            keys::LOG_MAKE_FAILED,
            "tuxmake.status",
            keys::TIME_EXIT,
        ]
    };
    ends.iter().any(|k| facts.has(k))
}

/// The build's status: ktest's framing or the plain log decides, a
/// partially applied queue makes it ERROR, `--status` overrides all.
pub fn decide(
    facts: &Facts,
    diag: Option<&DiagReport>,
    partial_patchset: bool,
    ov: &Overrides,
) -> Verdict {
    let (ktest_status, mut status, mut reason) = if is_ktest_run(facts) {
        decide_status(facts, diag)
    } else {
        let (s, r) = decide_status_plain(facts, diag);
        (None, s, r)
    };
    if partial_patchset && status != Status::Error {
        status = Status::Error;
        reason = format!(
            "a queue patch did not apply: the build ran on a partially patched tree ({reason})"
        );
    }
    if let Some(Ok(s)) = ov.status.as_deref().map(str::parse::<Status>) {
        status = s;
        reason = "--status".into();
    }
    Verdict {
        ktest_status,
        status,
        reason,
    }
}

/// Status of a build log without ktest framing (tuxmake, bare logs):
/// docs/status.md#plain-build-logs. PASS only when the log (or tuxmake, or
/// `time`) shows the build finished without a make failure.
pub fn decide_status_plain(facts: &Facts, diag: Option<&DiagReport>) -> (Status, String) {
    let failed = facts.last(keys::LOG_MAKE_FAILED).map(|f| f.loc.to_string());
    let tux = facts
        .str("tuxmake.status")
        .map(|(s, l)| (s.to_ascii_uppercase(), l.to_string()));
    let time_exit = facts.int(keys::TIME_EXIT);
    let broke = failed.is_some()
        || matches!(&tux, Some((s, _)) if s == "FAIL")
        || matches!(time_exit, Some((c, _)) if c != 0);
    if broke {
        let at = failed
            .or(tux.map(|t| t.1))
            .or(time_exit.map(|t| t.1.to_string()))
            .unwrap_or_default();
        return plain_failure(&at, diag);
    }
    if let Some((s, l)) = &tux {
        if s == "PASS" || s == "WARNING" {
            return (Status::Pass, format!("tuxmake says {s} ({l})"));
        }
    }
    if let Some(k) = facts.last(keys::LOG_KERNEL_READY) {
        return (
            Status::Pass,
            format!("the kernel image was built ({})", k.loc),
        );
    }
    if let Some((0, l)) = time_exit {
        return (
            Status::Pass,
            format!("the build command exited 0 ({l}) with no make failure"),
        );
    }
    (
        Status::Error,
        "the log shows neither a finished build nor a make failure".to_string(),
    )
}

/// A plain build that failed (`at`): the code (FAIL) when the log has
/// errors, the environment or nothing known (ERROR) otherwise.
fn plain_failure(at: &str, diag: Option<&DiagReport>) -> (Status, String) {
    let code_errors = diag.map(|d| d.errors).unwrap_or(0);
    if let Some(e) = environment_failure(diag).filter(|_| code_errors == 0) {
        return (
            Status::Error,
            format!("the build failed ({at}) and the environment is to blame: {e}"),
        );
    }
    if code_errors > 0 {
        return (
            Status::Fail,
            format!("the build failed ({at}) with {code_errors} distinct error(s)"),
        );
    }
    (
        Status::Error,
        format!("the build failed ({at}) but no error in the log explains it"),
    )
}

/// Build status from the ktest framing and the diagnostics
/// (docs/status.md#ktest-runs). Returns (ktest's own verdict, status,
/// reason).
pub fn decide_status(facts: &Facts, diag: Option<&DiagReport>) -> (Option<String>, Status, String) {
    match last_verdict(facts) {
        Some(KtestVerdict::Success(s)) => (
            Some("SUCCESS".into()),
            Status::Pass,
            format!("success banner at {}", s.loc),
        ),
        Some(KtestVerdict::Failure(f)) => {
            let (status, reason) = ktest_failure(f, diag);
            (Some("FAILED".into()), status, reason)
        }
        None => no_verdict(facts),
    }
}

/// ktest's last word in the log.
enum KtestVerdict<'a> {
    Success(&'a Fact),
    Failure(&'a Fact),
}

/// The last verdict in the log wins (appended re-runs): the success
/// banner unless a failure (critical or `%` banner) comes after it.
fn last_verdict(facts: &Facts) -> Option<KtestVerdict<'_>> {
    let success = facts.last(keys::KTEST_SUCCESS_BANNER);
    let critical = facts.last(keys::KTEST_CRITICAL);
    let failed = facts.last(keys::KTEST_FAILED_BANNER);
    let last_failure = match (critical, failed) {
        (Some(a), Some(b)) => Some(if a.loc.line >= b.loc.line { a } else { b }),
        (a, b) => a.or(b),
    };
    match (success, last_failure) {
        (Some(s), Some(f)) if f.loc.line > s.loc.line => Some(KtestVerdict::Failure(f)),
        (Some(s), _) => Some(KtestVerdict::Success(s)),
        (None, f) => f.map(KtestVerdict::Failure),
    }
}

/// What ktest's failure `f` means: a failed build (FAIL when the code is
/// to blame), a failed config (FAIL on Kconfig errors), else the tooling.
fn ktest_failure(f: &Fact, diag: Option<&DiagReport>) -> (Status, String) {
    let reason = f.value.as_str().unwrap_or("").trim();
    let at = &f.loc;
    let lower = reason.to_ascii_lowercase();
    let code_errors = diag.map(|d| d.errors).unwrap_or(0);
    if lower.contains("failed build") || lower.contains("build") && !lower.contains("config") {
        // only make's own errors beside the environment failure: the
        // environment broke the build
        let only_make_errors = diag
            .map(|d| d.errors_by_kind.keys().all(|k| k == "make"))
            .unwrap_or(true);
        if let Some(e) = environment_failure(diag).filter(|_| code_errors == 0 || only_make_errors)
        {
            return (
                Status::Error,
                format!("ktest: {reason} ({at}); the environment failed: {e}"),
            );
        }
        if code_errors > 0 {
            return (
                Status::Fail,
                format!("ktest: {reason} ({at}) with {code_errors} distinct error(s) in the build"),
            );
        }
        return (
            Status::Error,
            format!("ktest: {reason} ({at}) but no error in the log explains it"),
        );
    }
    if lower.contains("config") {
        let kconfig_errors = diag
            .and_then(|d| d.errors_by_kind.get("kconfig").copied())
            .unwrap_or(0);
        if kconfig_errors > 0 {
            return (
                Status::Fail,
                format!("ktest: {reason} ({at}) with Kconfig errors"),
            );
        }
        return (
            Status::Error,
            format!("ktest: {reason} ({at}), no Kconfig error: the tooling failed"),
        );
    }
    (
        Status::Error,
        format!("ktest: {reason} ({at}): the tooling failed"),
    )
}

/// No verdict in the log: interrupted, ended without one, or unfinished.
fn no_verdict(facts: &Facts) -> (Option<String>, Status, String) {
    if let Some(i) = facts.last(keys::KTEST_INTERRUPTED) {
        return (
            Some("INTERRUPTED".into()),
            Status::Error,
            format!("ktest was interrupted ({})", i.loc),
        );
    }
    let inside = facts.str(keys::KTEST_UNFINISHED).map(|(c, _)| c);
    if let Some((code, loc)) = facts.int(keys::KTEST_EXIT) {
        let what = inside
            .map(|c| format!("; the log ends inside `{c}`"))
            .unwrap_or_default();
        return (
            None,
            Status::Error,
            format!("KTEST_RUN = {code} ({loc}) but no ktest verdict in the log{what}"),
        );
    }
    let what = inside
        .map(|c| format!(": the log ends inside `{c}`"))
        .unwrap_or_default();
    (
        None,
        Status::Error,
        format!("the run never finished (no KTEST_RUN, no verdict){what}"),
    )
}

/// The first line that blames the environment (disk full, tool missing,
/// killed), if the diagnostics saw one.
fn environment_failure(diag: Option<&DiagReport>) -> Option<String> {
    diag.and_then(|d| d.environment_failures.first().cloned())
}

/// The build log excerpt that shows why the build has `verdict`: the
/// warnings of a pass, the failure of a fail, the tail of an error.
/// ktest's SUCCESS on a partially patched tree (an ERROR) shows its
/// warnings, like a pass.
pub fn build_excerpt(
    diag: Option<&DiagReport>,
    verdict: &Verdict,
    partial_patchset: bool,
) -> Option<String> {
    let d = diag?;
    let warnings = || {
        (d.warnings > 0)
            .then(|| d.excerpt(ExcerptKind::Warnings))
            .flatten()
    };
    match verdict.status {
        Status::Pass => warnings(),
        Status::Fail => d
            .excerpt(ExcerptKind::Fail)
            .or_else(|| d.excerpt(ExcerptKind::Tail)),
        _ if partial_patchset && verdict.ktest_status.as_deref() == Some("SUCCESS") => warnings(),
        _ => d.excerpt(ExcerptKind::Tail),
    }
}

/// At most 16384 characters, no NUL, cut on a line boundary.
pub fn clip_excerpt(s: &str) -> String {
    const LIMIT: usize = 16384;
    let clean: String = s.chars().filter(|c| *c != '\0').collect();
    if clean.chars().count() <= LIMIT {
        return clean;
    }
    let mut out = String::new();
    let mut n = 0;
    for line in clean.split_inclusive('\n') {
        let c = line.chars().count();
        if n + c > LIMIT {
            break;
        }
        out.push_str(line);
        n += c;
    }
    if out.is_empty() {
        out = clean.chars().take(LIMIT).collect();
    }
    out
}
