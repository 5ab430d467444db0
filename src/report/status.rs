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
            keys::LOG_PARTS_BUILT,
            keys::LOG_MAKE_FINISHED,
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
    let (ktest_status, status, reason) = if is_ktest_run(facts) {
        decide_status(facts, diag)
    } else {
        let (s, r) = decide_status_plain(facts, diag);
        (None, s, r)
    };
    overruled(
        Verdict {
            ktest_status,
            status,
            reason,
        },
        partial_patchset,
        ov,
    )
}

/// What overrules the evidence of the log: a partially applied queue
/// makes the build ERROR, `--status` sets it.
pub fn overruled(mut v: Verdict, partial_patchset: bool, ov: &Overrides) -> Verdict {
    if partial_patchset && v.status != Status::Error {
        v.status = Status::Error;
        v.reason = format!(
            "a queue patch did not apply: the build ran on a partially patched tree ({})",
            v.reason
        );
    }
    if let Some(Ok(s)) = ov.status.as_deref().map(str::parse::<Status>) {
        v.status = s;
        v.reason = "--status".into();
    }
    v
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
    if let Some(p) = facts.last(keys::LOG_PARTS_BUILT) {
        return (
            Status::Pass,
            format!("the log shows {} built ({})", parts_text(&p.value), p.loc),
        );
    }
    if let Some(f) = facts.last(keys::LOG_MAKE_FINISHED) {
        return (
            Status::Pass,
            format!(
                "make ran to its end ({}: the last line) with no make failure",
                f.loc
            ),
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

/// `["kernel", "dtbs"]` as `kernel, dtbs`.
fn parts_text(v: &serde_json::Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// A plain build that failed (`at`): the code (FAIL) when the log has
/// errors, the environment or nothing known (ERROR) otherwise.
fn plain_failure(at: &str, diag: Option<&DiagReport>) -> (Status, String) {
    let code_errors = diag.map(DiagReport::code_errors).unwrap_or(0);
    if let Some(e) = environment_failure(diag).filter(|_| only_make_errors(diag)) {
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
    ktest_failure_reason(f.value.as_str().unwrap_or(""), &f.loc, diag)
}

/// What ktest's failure `reason` (at `at`) means for the build (see
/// [`ktest_failure`]).
pub fn ktest_failure_reason(
    reason: &str,
    at: &dyn std::fmt::Display,
    diag: Option<&DiagReport>,
) -> (Status, String) {
    let reason = reason.trim();
    let lower = reason.to_ascii_lowercase();
    let code_errors = diag.map(DiagReport::code_errors).unwrap_or(0);
    if lower.contains("failed build") || lower.contains("build") && !lower.contains("config") {
        if let Some(e) = environment_failure(diag).filter(|_| only_make_errors(diag)) {
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

/// No error but make's own and the toolchain's: beside an environment
/// failure, the environment broke the build.
fn only_make_errors(diag: Option<&DiagReport>) -> bool {
    diag.map(|d| {
        d.errors_by_kind
            .keys()
            .all(|k| k == "make" || k == "toolchain")
    })
    .unwrap_or(true)
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
    if d.errors > 0 || verdict.status == Status::Fail {
        // Whatever the status, errors are what to show: never the log's
        // last lines while errors are counted.
        return d
            .excerpt(ExcerptKind::Fail)
            .or_else(|| d.excerpt(ExcerptKind::Tail));
    }
    match verdict.status {
        Status::Pass => warnings(),
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

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "linux/log";

    fn facts(items: &[(&str, serde_json::Value, u64)]) -> Facts {
        let mut f = Facts::default();
        for (k, v, line) in items {
            let file = if k.starts_with("output_log") {
                "output_log"
            } else {
                LOG
            };
            f.push(*k, v.clone(), file, Some(*line));
        }
        f
    }

    fn diag(errors: &[(&str, u64)], environment: &[&str]) -> DiagReport {
        let mut d = DiagReport::default();
        d.errors = errors.iter().map(|e| e.1).sum();
        d.errors_by_kind = errors.iter().map(|(k, n)| (k.to_string(), *n)).collect();
        d.environment_failures = environment.iter().map(|s| s.to_string()).collect();
        d
    }

    fn json(s: &str) -> serde_json::Value {
        serde_json::Value::from(s)
    }

    #[test]
    fn a_ktest_run_is_finished_by_its_framing_a_plain_log_by_its_end() {
        let running = facts(&[(keys::KTEST_RUNS, 1.into(), 1)]);
        assert!(is_ktest_run(&running));
        assert!(!run_finished(&running));
        let done = facts(&[
            (keys::KTEST_RUNS, 1.into(), 1),
            (keys::KTEST_EXIT, 0.into(), 210),
        ]);
        assert!(run_finished(&done));
        // `Kernel: … is ready` ends a plain log, but not a ktest run
        let ready = facts(&[(keys::LOG_KERNEL_READY, json("arch/x86/boot/bzImage"), 9120)]);
        assert!(!is_ktest_run(&ready));
        assert!(run_finished(&ready));
        let ktest_ready = facts(&[
            (
                keys::KTEST_STEP,
                serde_json::json!({"command": "make -j8"}),
                40,
            ),
            (keys::LOG_KERNEL_READY, json("arch/x86/boot/bzImage"), 9120),
        ]);
        assert!(!run_finished(&ktest_ready));
        assert!(!run_finished(&Facts::default()));
    }

    #[test]
    fn success_banner_passes() {
        let f = facts(&[
            (keys::KTEST_RUNS, 1.into(), 1),
            (
                keys::KTEST_SUCCESS_BANNER,
                json("KTEST RESULT: TEST 1 SUCCESS!!!!   **"),
                880,
            ),
        ]);
        let (k, s, r) = decide_status(&f, None);
        assert_eq!(k.as_deref(), Some("SUCCESS"));
        assert_eq!(s, Status::Pass);
        assert_eq!(r, "success banner at linux/log:880");
    }

    #[test]
    fn the_last_verdict_of_appended_runs_wins() {
        let failed_then_passed = facts(&[
            (keys::KTEST_CRITICAL, json("failed build"), 300),
            (
                keys::KTEST_SUCCESS_BANNER,
                json("KTEST RESULT: TEST 1 SUCCESS!!!!"),
                900,
            ),
        ]);
        assert_eq!(decide_status(&failed_then_passed, None).1, Status::Pass);
        let passed_then_failed = facts(&[
            (
                keys::KTEST_SUCCESS_BANNER,
                json("KTEST RESULT: TEST 1 SUCCESS!!!!"),
                300,
            ),
            (
                keys::KTEST_FAILED_BANNER,
                json("failed to install kernel"),
                900,
            ),
        ]);
        let (k, s, r) = decide_status(&passed_then_failed, None);
        assert_eq!((k.as_deref(), s), (Some("FAILED"), Status::Error));
        assert_eq!(
            r,
            "ktest: failed to install kernel (linux/log:900): the tooling failed"
        );
    }

    #[test]
    fn a_failed_build_is_the_code_or_the_environment() {
        let f = facts(&[(keys::KTEST_CRITICAL, json(" failed build "), 4410)]);
        let (_, s, r) = decide_status(&f, Some(&diag(&[("compiler", 2), ("make", 1)], &[])));
        assert_eq!(s, Status::Fail);
        assert_eq!(
            r,
            "ktest: failed build (linux/log:4410) with 3 distinct error(s) in the build"
        );
        let disk_full = diag(&[("make", 1)], &["No space left on device"]);
        let (_, s, r) = decide_status(&f, Some(&disk_full));
        assert_eq!(s, Status::Error);
        assert_eq!(
            r,
            "ktest: failed build (linux/log:4410); the environment failed: No space left on device"
        );
        // a compiler error beside the environment failure: the code is to blame
        let both = diag(&[("compiler", 1)], &["Killed"]);
        assert_eq!(decide_status(&f, Some(&both)).1, Status::Fail);
        let (_, s, r) = decide_status(&f, Some(&diag(&[], &[])));
        assert_eq!(s, Status::Error);
        assert!(r.ends_with("but no error in the log explains it"), "{r}");
    }

    #[test]
    fn a_failed_config_needs_kconfig_errors_to_be_a_fail() {
        let f = facts(&[(
            keys::KTEST_FAILED_BANNER,
            json("failed make config oldconfig"),
            77,
        )]);
        let (_, s, r) = decide_status(&f, Some(&diag(&[("kconfig", 1)], &[])));
        assert_eq!(s, Status::Fail);
        assert_eq!(
            r,
            "ktest: failed make config oldconfig (linux/log:77) with Kconfig errors"
        );
        let (_, s, r) = decide_status(&f, None);
        assert_eq!(s, Status::Error);
        assert!(r.ends_with("no Kconfig error: the tooling failed"), "{r}");
    }

    #[test]
    fn no_verdict_interrupted_exit_or_never_finished() {
        let sigint = facts(&[(
            keys::KTEST_INTERRUPTED,
            json("Caught Sig Int, test interrupted: Interrupt"),
            512,
        )]);
        assert_eq!(
            decide_status(&sigint, None),
            (
                Some("INTERRUPTED".into()),
                Status::Error,
                "ktest was interrupted (linux/log:512)".into()
            )
        );
        let exit = facts(&[
            (keys::KTEST_EXIT, 1.into(), 88),
            (keys::KTEST_UNFINISHED, json("make -j8 O=/build"), 600),
        ]);
        assert_eq!(
            decide_status(&exit, None).2,
            "KTEST_RUN = 1 (output_log:88) but no ktest verdict in the log; the log ends inside `make -j8 O=/build`"
        );
        let running = facts(&[(keys::KTEST_RUNS, 1.into(), 1)]);
        assert_eq!(
            decide_status(&running, None),
            (
                None,
                Status::Error,
                "the run never finished (no KTEST_RUN, no verdict)".into()
            )
        );
    }

    #[test]
    fn plain_logs() {
        let ready = facts(&[(
            keys::LOG_KERNEL_READY,
            json("arch/arm64/boot/Image.gz"),
            7001,
        )]);
        assert_eq!(
            decide_status_plain(&ready, None),
            (
                Status::Pass,
                "the kernel image was built (linux/log:7001)".into()
            )
        );
        let failed = facts(&[(
            keys::LOG_MAKE_FAILED,
            json("make: *** [Makefile:1234: vmlinux] Error 2"),
            6500,
        )]);
        assert_eq!(
            decide_status_plain(&failed, Some(&diag(&[("compiler", 1)], &[]))),
            (
                Status::Fail,
                "the build failed (linux/log:6500) with 1 distinct error(s)".into()
            )
        );
        let (s, r) =
            decide_status_plain(&failed, Some(&diag(&[], &["make: gcc: command not found"])));
        assert_eq!(s, Status::Error);
        assert!(
            r.ends_with("the environment is to blame: make: gcc: command not found"),
            "{r}"
        );
        let mut tux = Facts::default();
        tux.push("tuxmake.status", "warning", "metadata.json", None);
        assert_eq!(
            decide_status_plain(&tux, None),
            (Status::Pass, "tuxmake says WARNING (metadata.json)".into())
        );
        let mut time = Facts::default();
        time.push(keys::TIME_EXIT, 0, "time.log", Some(14));
        assert_eq!(decide_status_plain(&time, None).0, Status::Pass);
        time.push(keys::TIME_EXIT, 2, "time.log", Some(14));
        let (s, r) = decide_status_plain(&time, None);
        assert_eq!(s, Status::Error);
        assert_eq!(
            r,
            "the build failed (time.log:14) but no error in the log explains it"
        );
        assert_eq!(
            decide_status_plain(&Facts::default(), None).0,
            Status::Error
        );
    }

    #[test]
    fn a_partial_queue_is_an_error_and_status_overrides_all() {
        let pass = facts(&[
            (keys::KTEST_RUNS, 1.into(), 1),
            (
                keys::KTEST_SUCCESS_BANNER,
                json("KTEST RESULT: TEST 1 SUCCESS!!!!"),
                90,
            ),
        ]);
        let ov = Overrides::default();
        let v = decide(&pass, None, true, &ov);
        assert_eq!(v.status, Status::Error);
        assert_eq!(v.ktest_status.as_deref(), Some("SUCCESS"));
        assert_eq!(
            v.reason,
            "a queue patch did not apply: the build ran on a partially patched tree (success banner at linux/log:90)"
        );
        let ov = Overrides {
            status: Some("FAIL".into()),
            ..Default::default()
        };
        let v = decide(&pass, None, true, &ov);
        assert_eq!((v.status, v.reason.as_str()), (Status::Fail, "--status"));
        let bogus = Overrides {
            status: Some("GREEN".into()),
            ..Default::default()
        };
        assert_eq!(decide(&pass, None, false, &bogus).status, Status::Pass);
    }

    #[test]
    fn excerpts_are_clipped() {
        let long = "é".repeat(10_000) + "\n" + &"x".repeat(10_000);
        let c = clip_excerpt(&long);
        assert_eq!(c.chars().count(), 10_001);
        assert!(c.ends_with('\n'));
        let one_line = "y".repeat(20_000);
        assert_eq!(clip_excerpt(&one_line).chars().count(), 16384);
        assert_eq!(clip_excerpt("a\0b"), "ab");
    }
}
