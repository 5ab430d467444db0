//! The ktest framing is parsed once (`ktest_framing::Framer`) and read by
//! two consumers: `ktest_log::Framing` (the `ktest.*` facts) and the
//! diagnostics engine (which lines count). These tests fail if the two
//! disagree about where the build step starts and ends: the facts' build
//! step (`ktest.build_command` and its step's `end_line`) must be the span
//! the engine counted, whichever way each is fed (standalone, hosted on
//! one framer, through the `build-log` parser, line by line or in chunks),
//! and the distinct compiler diagnostics must be exactly the ones printed
//! inside that span.

use std::collections::BTreeSet;

use kcidb_harvest_parsers::diag::{DiagReport, Engine, Kind};
use kcidb_harvest_parsers::keys;
use kcidb_harvest_parsers::ktest_log::Framing;
use kcidb_harvest_parsers::logscan::{scan, LineSink};
use kcidb_harvest_parsers::{Facts, Input, Parser};
use proptest::prelude::*;

type Span = Option<(u64, Option<u64>)>;

/// The build step as the facts tell it.
fn facts_span(f: &Facts) -> Span {
    let (_, loc) = f.str(keys::KTEST_BUILD_COMMAND)?;
    let line = loc.line?;
    let step = f
        .all(keys::KTEST_STEP)
        .filter(|s| s.loc.line == Some(line))
        .last()
        .expect("the build command is one of the steps");
    Some((line, step.value.get("end_line").and_then(|v| v.as_u64())))
}

fn framing_alone(log: &str) -> Facts {
    let mut f = Framing::new("log");
    scan("log", log.as_bytes(), &mut [&mut f]).expect("scan");
    f.into_facts()
}

fn framing_per_line(log: &str) -> Facts {
    let mut f = Framing::new("log");
    for (i, l) in log.split_terminator('\n').enumerate() {
        f.line(i as u64 + 1, l.as_bytes());
    }
    f.into_facts()
}

fn engine_alone(log: &str) -> DiagReport {
    let mut e = Engine::new();
    scan("log", log.as_bytes(), &mut [&mut e]).expect("scan");
    e.finish()
}

fn engine_per_line(log: &str) -> (DiagReport, Facts) {
    let mut e = Engine::with_framing("log");
    for (i, l) in log.split_terminator('\n').enumerate() {
        e.line(i as u64 + 1, l.as_bytes());
    }
    e.finish_with_framing()
}

fn engine_hosted(log: &str) -> (DiagReport, Facts) {
    let mut e = Engine::with_framing("log");
    scan("log", log.as_bytes(), &mut [&mut e]).expect("scan");
    e.finish_with_framing()
}

/// The `build-log` parser on a directory holding `log` as `linux/log`.
fn build_log_parser(log: &str) -> (DiagReport, Facts) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("linux")).expect("mkdir");
    std::fs::write(dir.path().join("linux/log"), log).expect("write");
    let mut input = Input::new(dir.path());
    input.log = Some("linux/log".into());
    let mut facts = Facts::new();
    kcidb_harvest_parsers::build_log::BuildLog
        .parse(&input, &mut facts)
        .expect("parse");
    let (_, report) = facts.diag.take().expect("diagnostics");
    (report, facts)
}

/// Every consumer, every way of feeding: one span. Returns it.
fn agreed_span(log: &str) -> Span {
    let want = facts_span(&framing_alone(log));
    assert_eq!(
        facts_span(&framing_per_line(log)),
        want,
        "Framing per line\n{log}"
    );
    assert_eq!(engine_alone(log).build_step(), want, "Engine alone\n{log}");
    for (how, (report, facts)) in [
        ("hosted", engine_hosted(log)),
        ("hosted per line", engine_per_line(log)),
        ("build-log parser", build_log_parser(log)),
    ] {
        assert_eq!(report.build_step(), want, "engine, {how}\n{log}");
        assert_eq!(facts_span(&facts), want, "facts, {how}\n{log}");
    }
    want
}

/// Line numbers of the distinct compiler diagnostics.
fn counted_lines(r: &DiagReport) -> BTreeSet<u64> {
    r.diagnostics
        .iter()
        .filter(|d| d.kind == Kind::Compiler)
        .map(|d| d.first_line)
        .collect()
}

/// A warning unique to its line (`W` in the templates below).
fn expand(template: &str) -> String {
    let mut out = String::new();
    for (i, l) in template.lines().enumerate() {
        out += &l.replace(
            "W",
            &format!("../f.c:{}:1: warning: at line {}", i + 1, i + 1),
        );
        out.push('\n');
    }
    out
}

/// The lines the build step covers, from the facts: its command line
/// through its status line; without a status, up to the line before the
/// framing noted the status as lost, or to the end of the log when the
/// step is still running there (`ktest.unfinished_command`).
fn step_lines(facts: &Facts, span: Span) -> Option<(u64, u64)> {
    let (start, end) = span?;
    if let Some(end) = end {
        return Some((start, end));
    }
    let lost = format!("no status recognised for the command at line {start}");
    match facts.notes.iter().find(|n| n.message == lost) {
        Some(n) => Some((start, n.loc.line.expect("noted at a line") - 1)),
        None => {
            assert_eq!(
                facts.last(keys::KTEST_UNFINISHED).and_then(|f| f.loc.line),
                Some(start),
                "a step without status and not lost is unfinished"
            );
            Some((start, u64::MAX))
        }
    }
}

/// The lines of `log` inside `lines` (inclusive) holding a warning where
/// a diagnostic is recognised: at the start of the line, or glued after
/// ` ... ` on a step's command line (a step of `facts`).
fn warning_lines_in(log: &str, facts: &Facts, lines: Option<(u64, u64)>) -> BTreeSet<u64> {
    let Some((start, end)) = lines else {
        return BTreeSet::new();
    };
    let steps: BTreeSet<u64> = facts
        .all(keys::KTEST_STEP)
        .filter_map(|f| f.loc.line)
        .collect();
    log.lines()
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l))
        .filter(|(n, l)| {
            (start..=end).contains(n)
                && (l.starts_with("../f.c:") || (steps.contains(n) && l.contains(" ... ../f.c:")))
        })
        .map(|(n, _)| n)
        .collect()
}

const DUMP: &str = "STARTING AUTOMATED TESTS\n\nDEFAULT OPTIONS:\nBUILD_OPTIONS = -j2\n\
MAKE_CMD = make CC=gcc\nOUTPUT_DIR = /o\n\nRUNNING TEST 1 of 1 with option build tinyconfig\n";

fn case(name: &str, template: &str, want: Span) {
    let log = expand(template);
    let span = agreed_span(&log);
    assert_eq!(span, want, "{name}: build step\n{log}");
    let counted = counted_lines(&engine_alone(&log));
    let facts = framing_alone(&log);
    if span.is_some() {
        assert_eq!(
            counted,
            warning_lines_in(&log, &facts, step_lines(&facts, span)),
            "{name}: the engine counts exactly the build step's lines\n{log}"
        );
    }
}

#[test]
fn the_step_of_the_dumps_build_command_is_the_build() {
    // lines:        1..8 the dump; 9 mrproper; 10-12 the config step;
    // 13-16 the build; 17-19 a POST_BUILD make that is build-like but is
    // not the dump's build command; 20 an output line after everything.
    let t = format!(
        "{DUMP}make CC=gcc O=/o mrproper ... [1 second] SUCCESS\n\
make CC=gcc O=/o tinyconfig ... W\nW\n[2 seconds] SUCCESS\n\
make CC=gcc O=/o -j2 ... W\nW\nW\n[9 seconds] SUCCESS\n\
make -C tools/foo ... W\nW\n[1 second] SUCCESS\nW\n"
    );
    case("exact", &t, Some((13, Some(16))));
}

#[test]
fn without_a_dump_the_last_build_like_make_is_the_build() {
    let t = "STARTING AUTOMATED TESTS\nmake O=/o mrproper ... W\n[1 second] SUCCESS\n\
make O=/o -j8 ... W\n[3 seconds] SUCCESS\nmake O=/o -j8 ... W\nW\n[3 seconds] FAILED!\n\
make O=/o modules_install ... W\n[1 second] SUCCESS\nmake O=/o kernelversion ... W\n\
[0 seconds] SUCCESS\nW\n";
    case("heuristic", t, Some((6, Some(8))));
}

#[test]
fn a_status_glued_to_output_and_a_step_without_output() {
    // the status glued to the last output line ends the step on that line
    let t = format!("{DUMP}make CC=gcc O=/o -j2 ... W\nW[12 seconds] FAILED!\nW\n");
    case("glued", &t, Some((9, Some(10))));
    // status on the command line: a one-line step
    let t = format!("{DUMP}make CC=gcc O=/o -j2 ... [28 seconds] FAILED!\nW\nFAILED\n");
    case("one line", &t, Some((9, Some(9))));
}

#[test]
fn a_killed_build_runs_to_the_end_of_the_log() {
    let t = format!("{DUMP}make CC=gcc O=/o -j2 ... W\nW\n  CC a.o\nW");
    case("killed", &t, Some((9, None)));
}

#[test]
fn an_unrecognised_status_ends_the_step_at_the_next_ending_line() {
    let t =
        format!("{DUMP}make CC=gcc O=/o -j2 ... W\nW\n[garbled] SUCC\nBuild time: 1 second\nW\n");
    let log = expand(&t);
    assert_eq!(agreed_span(&log), Some((9, None)));
    // the engine stopped counting at `Build time:` (line 12)
    let counted = counted_lines(&engine_alone(&log));
    assert_eq!(counted, [9, 10].into_iter().collect(), "{log}");
}

#[test]
fn the_2010_ktest_without_timings() {
    let t = "STARTING AUTOMATED TESTS\n\nDEFAULT OPTIONS:\nBUILD_TYPE = allmodconfig\n\n\
RUNNING TEST 1 of 1 with option build allmodconfig\n\n\
make O=/o mrproper ... W\nSUCCESS\nmake O=/o -j4 ... W\nW\nFAILED!\nCRITICAL FAILURE... failed build\nW\n";
    case("2010", t, Some((10, Some(12))));
}

#[test]
fn once_timed_a_bare_success_is_output() {
    let t = "STARTING AUTOMATED TESTS\nmv a b ... [1 second] SUCCESS\n\
make O=/o -j2 ... W\nSUCCESS\nW\n[9 seconds] SUCCESS\nW\n";
    case("timed", t, Some((3, Some(6))));
}

#[test]
fn reruns_describe_the_last_run() {
    let first = format!("{DUMP}make CC=gcc O=/o -j2 ... W\nW\n[5 seconds] FAILED!\n");
    let second = format!("{DUMP}make CC=gcc O=/o -j2 ... W\n[6 seconds] SUCCESS\nW\n");
    case("rerun", &format!("{first}{second}"), Some((20, Some(21))));
    // a last run that died before its build has no build step
    let third = format!("{DUMP}make CC=gcc O=/o tinyconfig ... W\n[1 second] FAILED!\n");
    case("died in config", &format!("{first}{third}"), None);
}

#[test]
fn no_framing_no_build_step() {
    case("plain", "W\nmake -j8 ... W\nW\n", None);
    // the whole log counts (` ... ` is no step outside a ktest run: that
    // line is not a diagnostic's line)
    let log = expand("W\nmake -j8 ... W\nW\n");
    assert_eq!(
        counted_lines(&engine_alone(&log)),
        [1, 3].into_iter().collect()
    );
}

/// The hosted engine fed whole lines in chunks of about `step` bytes
/// through `LineSink::lines` (as `scan` does, smaller).
fn engine_chunked(log: &str, step: usize) -> (DiagReport, Facts) {
    let mut e = Engine::with_framing("log");
    let bytes = log.as_bytes();
    let mut lineno = 1;
    let mut rest = bytes;
    while !rest.is_empty() {
        let want = step.min(rest.len());
        let cut = match rest[..want].iter().rposition(|&b| b == b'\n') {
            Some(p) => p + 1,
            None => rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |p| p + 1),
        };
        let (block, tail) = rest.split_at(cut);
        if block.ends_with(b"\n") {
            lineno += e.lines(lineno, block);
        } else {
            e.line(lineno, block);
        }
        rest = tail;
    }
    e.finish_with_framing()
}

/// Everything observable of a hosted engine's result.
fn observable((r, f): &(DiagReport, Facts)) -> String {
    use kcidb_harvest_parsers::diag::ExcerptKind;
    let mut v = serde_json::to_value(r).expect("report");
    v["bytes"] = 0.into();
    let excerpts: Vec<_> = [ExcerptKind::Fail, ExcerptKind::Warnings, ExcerptKind::Tail]
        .into_iter()
        .map(|k| r.excerpt(k))
        .collect();
    format!(
        "{v}\n{excerpts:?}\n{:?}\n{:?}\n{:?}",
        r.build_step(),
        f.items(),
        f.notes
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any mix of framing lines and output lines: one span everywhere, and
    /// the engine counts exactly the warnings inside it.
    #[test]
    fn consumers_agree_on_generated_logs(lines in proptest::collection::vec(
        prop_oneof![
            Just("STARTING AUTOMATED TESTS".to_string()),
            Just("DEFAULT OPTIONS:".to_string()),
            Just("MAKE_CMD = make".to_string()),
            Just("OUTPUT_DIR = /o".to_string()),
            Just("BUILD_OPTIONS = -j2".to_string()),
            Just("RUNNING TEST 1 of 1 with option build x".to_string()),
            Just("make O=/o -j2 ... W".to_string()),
            Just("make O=/o -j2 ... ".to_string()),
            Just("make O=/o mrproper ... W".to_string()),
            Just("make -C tools ... W".to_string()),
            Just("mv a b ... [0 seconds] SUCCESS".to_string()),
            Just("[3 seconds] SUCCESS".to_string()),
            Just("W[1 second] FAILED!".to_string()),
            Just("SUCCESS".to_string()),
            Just("FAILED!".to_string()),
            Just("Build time: 1 second".to_string()),
            Just("KTEST RESULT: TEST 1 Failed: failed build".to_string()),
            Just("KTEST RESULT: TEST 1 SUCCESS!!!!   **".to_string()),
            Just("CRITICAL FAILURE... [TEST 1] failed build".to_string()),
            Just("Hit timeout of 5, killing process".to_string()),
            Just("%%%%".to_string()),
            Just(String::new()),
            Just("W".to_string()),
            Just("W".to_string()),
            Just("  CC a.o".to_string()),
        ],
        1..60,
    )) {
        let log = expand(&lines.join("\n"));
        prop_assume!(!log.is_empty(), "an empty build log is refused");
        let span = agreed_span(&log);
        let want = observable(&engine_per_line(&log));
        prop_assert_eq!(&observable(&engine_hosted(&log)), &want);
        for step in [7, 50, 300] {
            prop_assert_eq!(&observable(&engine_chunked(&log, step)), &want, "chunks of {}", step);
        }
        let counted = counted_lines(&engine_alone(&log));
        if span.is_some() {
            let facts = framing_alone(&log);
            let lines = step_lines(&facts, span);
            prop_assert_eq!(counted, warning_lines_in(&log, &facts, lines));
        }
    }
}
