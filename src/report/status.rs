//! The build's status from the facts: ktest's framing and verdicts when
//! the run is a ktest run, else the build log, tuxmake and `time`; and
//! whether a run has finished (docs/status.md).

use kcidb_harvest_parsers::diag::DiagReport;
use kcidb_harvest_parsers::{keys, Facts};

use crate::kcidb::Status;

/// Whether a run reached its end (docs/status.md#is-the-run-finished).
pub fn run_finished(facts: &Facts) -> bool {
    if !is_ktest_run(facts) {
        return [
            keys::LOG_KERNEL_READY,
            keys::LOG_IMAGE_BUILT,
            keys::LOG_MAKE_FAILED,
            "tuxmake.status",
            keys::TIME_EXIT,
        ]
        .iter()
        .any(|k| facts.has(k));
    }
    [
        keys::KTEST_EXIT,
        keys::KTEST_SUCCESS_BANNER,
        keys::KTEST_CRITICAL,
        keys::KTEST_FAILED_BANNER,
        keys::KTEST_SUMMARY,
        keys::KTEST_INTERRUPTED,
    ]
    .iter()
    .any(|k| facts.has(k))
}

/// True when the facts come from a ktest run (its framing was seen).
pub fn is_ktest_run(facts: &Facts) -> bool {
    facts.has(keys::KTEST_RUNS) || facts.has(keys::KTEST_EXIT) || facts.has(keys::KTEST_STEP)
}

/// Status of a build log without ktest framing (tuxmake, bare logs):
/// docs/status.md#plain-build-logs. PASS only when the log (or tuxmake, or `time`) shows
/// the build finished without a make failure.
pub fn decide_status_plain(facts: &Facts, diag: Option<&DiagReport>) -> (Status, String) {
    let code_errors = diag.map(|d| d.errors).unwrap_or(0);
    let env = diag.and_then(|d| d.environment_failures.first().cloned());
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
            .or(tux.as_ref().map(|t| t.1.clone()))
            .or(time_exit.map(|t| t.1.to_string()))
            .unwrap_or_default();
        if let Some(e) = env {
            if code_errors == 0 {
                return (
                    Status::Error,
                    format!("the build failed ({at}) and the environment is to blame: {e}"),
                );
            }
        }
        if code_errors > 0 {
            return (
                Status::Fail,
                format!("the build failed ({at}) with {code_errors} distinct error(s)"),
            );
        }
        return (
            Status::Error,
            format!("the build failed ({at}) but no error in the log explains it"),
        );
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

/// Build status from the ktest framing and the diagnostics (docs/status.md#ktest-runs). Returns (ktest's own verdict, status, reason).
pub fn decide_status(facts: &Facts, diag: Option<&DiagReport>) -> (Option<String>, Status, String) {
    let code_errors = diag.map(|d| d.errors).unwrap_or(0);
    let env = diag.and_then(|d| d.environment_failures.first().cloned());
    let kconfig_errors = diag
        .and_then(|d| d.errors_by_kind.get("kconfig").copied())
        .unwrap_or(0);

    // The last verdict in the log wins (appended re-runs).
    let success = facts.last(keys::KTEST_SUCCESS_BANNER);
    let critical = facts.last(keys::KTEST_CRITICAL);
    let failed = facts.last(keys::KTEST_FAILED_BANNER);
    let last_failure = match (critical, failed) {
        (Some(a), Some(b)) => Some(if a.loc.line >= b.loc.line { a } else { b }),
        (a, b) => a.or(b),
    };
    let failure_wins = match (success, last_failure) {
        (Some(s), Some(f)) => f.loc.line > s.loc.line,
        (None, Some(_)) => true,
        _ => false,
    };
    if let (Some(s), false) = (success, failure_wins) {
        return (
            Some("SUCCESS".into()),
            Status::Pass,
            format!("success banner at {}", s.loc),
        );
    }
    if let Some(f) = last_failure {
        let reason = f.value.as_str().unwrap_or("").trim().to_string();
        let at = f.loc.to_string();
        let lower = reason.to_ascii_lowercase();
        if lower.contains("failed build") || lower.contains("build") && !lower.contains("config") {
            if let Some(e) = &env {
                if code_errors == 0
                    || diag
                        .map(|d| d.errors_by_kind.keys().all(|k| k == "make"))
                        .unwrap_or(true)
                {
                    return (
                        Some("FAILED".into()),
                        Status::Error,
                        format!("ktest: {reason} ({at}); the environment failed: {e}"),
                    );
                }
            }
            if code_errors > 0 {
                return (
                    Some("FAILED".into()),
                    Status::Fail,
                    format!(
                        "ktest: {reason} ({at}) with {code_errors} distinct error(s) in the build"
                    ),
                );
            }
            return (
                Some("FAILED".into()),
                Status::Error,
                format!("ktest: {reason} ({at}) but no error in the log explains it"),
            );
        }
        if lower.contains("config") {
            if kconfig_errors > 0 {
                return (
                    Some("FAILED".into()),
                    Status::Fail,
                    format!("ktest: {reason} ({at}) with Kconfig errors"),
                );
            }
            return (
                Some("FAILED".into()),
                Status::Error,
                format!("ktest: {reason} ({at}), no Kconfig error: the tooling failed"),
            );
        }
        return (
            Some("FAILED".into()),
            Status::Error,
            format!("ktest: {reason} ({at}): the tooling failed"),
        );
    }
    if let Some(i) = facts.last(keys::KTEST_INTERRUPTED) {
        return (
            Some("INTERRUPTED".into()),
            Status::Error,
            format!("ktest was interrupted ({})", i.loc),
        );
    }
    if let Some((code, loc)) = facts.int(keys::KTEST_EXIT) {
        let what = facts
            .str(keys::KTEST_UNFINISHED)
            .map(|(c, _)| format!("; the log ends inside `{c}`"))
            .unwrap_or_default();
        return (
            None,
            Status::Error,
            format!("KTEST_RUN = {code} ({loc}) but no ktest verdict in the log{what}"),
        );
    }
    let what = facts
        .str(keys::KTEST_UNFINISHED)
        .map(|(c, _)| format!(": the log ends inside `{c}`"))
        .unwrap_or_default();
    (
        None,
        Status::Error,
        format!("the run never finished (no KTEST_RUN, no verdict){what}"),
    )
}

/// At most 16384 characters, no NUL, cut on a line boundary.
pub fn clip_excerpt(s: &str) -> String {
    let clean: String = s.chars().filter(|c| *c != '\0').collect();
    if clean.chars().count() <= 16384 {
        return clean;
    }
    let mut out = String::new();
    let mut n = 0;
    for line in clean.split_inclusive('\n') {
        let c = line.chars().count();
        if n + c > 16384 {
            break;
        }
        out.push_str(line);
        n += c;
    }
    if out.is_empty() {
        out = clean.chars().take(16384).collect();
    }
    out
}
