//! ktest framing as facts: the `ktest.*` keys of [`crate::keys`] (options
//! dump, command steps, the build step, `Build time:`, `*** WARNINGS found
//! in build: N ***`, banners, `CRITICAL FAILURE...`, `N of M tests were
//! successful`) from the events of the one framing parser,
//! [`crate::ktest_framing::Framer`] (docs/inputs.md#ktest-log-framing).
//!
//! The log is appended to by every re-run, so the facts describe the last
//! run (`ktest.runs` counts them). Nothing is recognised before the first
//! `STARTING AUTOMATED TESTS`, so a plain build log yields only
//! `ktest.last_line` (no `ktest.runs`).
//!
//! [`Framing`] is a line sink of its own (ktest's stdout in `output_log`,
//! tests); in the build log the diagnostics engine hosts the same
//! [`FramingFacts`] on its framer ([`crate::diag::Engine::with_framing`]),
//! so the framing is parsed once.
//!
//! Cost: this sink sees multi-GB logs. Through [`LineSink::lines`] (what
//! [`crate::logscan::scan`] calls) it does not visit ordinary lines at all:
//! [`Framer::next_line`] skips to the next line that can matter and the
//! newlines in between are only counted. Line by line ([`LineSink::line`],
//! as `output_log` feeds it), an ordinary line costs a copy into the
//! reusable last-line buffer plus a few first/last byte comparisons.
//! Nothing is allocated per ordinary line.

use serde_json::{Map, Value};

use crate::facts::{Fact, Loc};
use crate::keys;
pub(crate) use crate::ktest_framing::{is_blank, parse_u64, text, trim, trim_end};
use crate::ktest_framing::{FrameEvent, Framer, StepResult, MAX_TEXT};
use crate::logscan::LineSink;
use crate::Facts;

#[cfg(test)]
use crate::ktest_framing::{is_build_like, STARTING};

/// Events of one run kept before they are compacted (see [`RunFacts::compact`]).
const MAX_EVENTS: usize = 2048;
/// Events of one kind (a fact key, steps, failed banners) that survive a
/// compaction: the first ones, plus the last (and the build step).
const KEEP_PER_KIND: usize = 128;

/// One `<command> ... [N seconds] RESULT` step.
#[derive(Clone, Debug, Default)]
pub(crate) struct Step {
    pub(crate) command: String,
    pub(crate) line: u64,
    pub(crate) end_line: Option<u64>,
    pub(crate) seconds: Option<u64>,
    pub(crate) result: Option<StepResult>,
    pub(crate) timeout: bool,
}

/// Facts of one run, in the order they were met.
#[derive(Clone, Debug)]
enum Event {
    Fact(Fact),
    /// Index into `RunFacts::steps`.
    Step(usize),
    /// `KTEST RESULT: TEST n Failed: <reason>` (reason may grow by continuation lines).
    FailedBanner {
        line: u64,
        reason: String,
    },
}

/// Per-run facts, replaced at every run start.
#[derive(Debug, Default)]
struct RunFacts {
    start_line: u64,
    steps: Vec<Step>,
    /// Index of the step whose status has not been seen yet.
    pending: Option<usize>,
    /// Index of the last build step (the framer's rule).
    build: Option<usize>,
    events: Vec<Event>,
    /// Index into `events` of the last failed banner (continuation lines
    /// of its reason go there).
    last_banner: Option<usize>,
    notes: Vec<(u64, String)>,
    /// Events were compacted once (noted once).
    compacted: bool,
    /// The run's tests, one by one.
    tests: crate::ktest_tests::Tests,
}

/// The `ktest.*` facts of a log, built from [`FrameEvent`]s (in order) and
/// the log's last non-blank line.
#[derive(Debug)]
pub struct FramingFacts {
    file: String,
    runs: u64,
    run: Option<RunFacts>,
    last: Vec<u8>,
    last_lineno: u64,
}

impl FramingFacts {
    pub fn new(file: &str) -> Self {
        FramingFacts {
            file: file.to_string(),
            runs: 0,
            run: None,
            last: Vec::new(),
            last_lineno: 0,
        }
    }

    /// One event of the framer.
    pub fn event(&mut self, ev: &FrameEvent<'_>) {
        if let FrameEvent::RunStart { line } = ev {
            self.runs += 1;
            self.run = Some(RunFacts {
                start_line: *line,
                ..RunFacts::default()
            });
            return;
        }
        if let Some(run) = self.run.as_mut() {
            run.event(ev);
        }
    }

    /// A line as it is read (remembered when it is the last non-blank one).
    pub fn see_line(&mut self, lineno: u64, line: &[u8]) {
        if !is_blank(line) {
            self.last.clear();
            self.last.extend_from_slice(line);
            self.last_lineno = lineno;
        }
    }

    /// Remember the last non-blank line of `text` (`n` whole lines from
    /// `first_lineno`, ending with `\n`), as [`FramingFacts::see_line`] on
    /// each line would have.
    pub fn see_lines(&mut self, first_lineno: u64, n: u64, text: &[u8]) {
        let mut end = text.len();
        let mut k = 0u64;
        while end > 0 && k < n {
            let nl = end - 1;
            let start = memchr::memrchr(b'\n', &text[..nl]).map_or(0, |i| i + 1);
            let l = &text[start..nl];
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            if !is_blank(l) {
                self.see_line(first_lineno + n - 1 - k, l);
                return;
            }
            k += 1;
            end = start;
        }
    }

    /// The facts; `framer` is the one that produced the events (its
    /// options dump is not copied here).
    pub fn into_facts(self, framer: &Framer) -> Facts {
        let mut facts = Facts::new();
        let file = self.file.as_str();
        // No `ktest.runs` at all without a run: its presence is what tells
        // a ktest log from a plain build log.
        if let Some(run) = self.run {
            facts.push(keys::KTEST_RUNS, self.runs, file, Some(run.start_line));
            run.emit(framer, file, &mut facts);
        }
        if self.last_lineno > 0 {
            facts.push(
                keys::KTEST_LAST_LINE,
                text(trim_end(&self.last), MAX_TEXT),
                file,
                Some(self.last_lineno),
            );
        }
        facts
    }
}

/// Line sink that recognises ktest framing; [`Framing::into_facts`] gives
/// the facts (keys `ktest.*` of [`crate::keys`]).
pub struct Framing {
    framer: Framer,
    facts: FramingFacts,
}

impl Framing {
    pub fn new(file: &str) -> Self {
        Framing {
            framer: Framer::new(),
            facts: FramingFacts::new(file),
        }
    }

    /// The facts.
    pub fn into_facts(self) -> Facts {
        self.facts.into_facts(&self.framer)
    }

    fn frame(&mut self, lineno: u64, line: &[u8]) {
        let facts = &mut self.facts;
        self.framer.line(lineno, line, &mut |ev| facts.event(&ev));
    }
}

impl LineSink for Framing {
    fn line(&mut self, lineno: u64, line: &[u8]) {
        self.facts.see_line(lineno, line);
        self.frame(lineno, line);
    }

    /// Exact fast path: while the framer does not need every line (options
    /// dump, open `Failed:` reason: those lines go through it one by one),
    /// [`Framer::next_line`] finds the next line that can matter and only
    /// that line reaches the framer, with its exact number. Every other
    /// line is a no-op there; the last non-blank line is taken from the end
    /// of the chunk. Equality with the line-by-line path is tested in
    /// `parsers/tests/framing_bulk.rs`.
    fn lines(&mut self, first_lineno: u64, text: &[u8]) -> u64 {
        // Whole lines only, as the default (bytes after the last `\n` are
        // not a line of this call).
        let Some(last_nl) = memchr::memrchr(b'\n', text) else {
            return 0;
        };
        let text = &text[..=last_nl];
        let mut pos = 0usize;
        let mut lineno = first_lineno;
        while pos < text.len() {
            let start = if self.framer.needs_every_line() {
                pos
            } else {
                match self.framer.next_line(text, pos) {
                    Some(s) => s,
                    None => break,
                }
            };
            lineno += count_newlines(&text[pos..start]);
            let nl = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |i| start + i);
            let l = &text[start..nl];
            self.frame(lineno, l.strip_suffix(b"\r").unwrap_or(l));
            lineno += 1;
            pos = nl + 1;
        }
        if pos < text.len() {
            lineno += count_newlines(&text[pos..]);
        }
        let n = lineno - first_lineno;
        self.facts.see_lines(first_lineno, n, text);
        n
    }
}

/// Number of `\n` in `b` (memchr counts without visiting each match).
fn count_newlines(b: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', b).count() as u64
}

impl RunFacts {
    fn event(&mut self, ev: &FrameEvent<'_>) {
        self.tests.event(ev);
        match ev {
            FrameEvent::RunStart { .. }
            | FrameEvent::Option(_)
            | FrameEvent::Commit { .. }
            | FrameEvent::Idle { .. }
            | FrameEvent::StepOutput { .. } => {}
            FrameEvent::Fact { line, key, value } => self.push_event(Event::Fact(Fact {
                key: key.to_string(),
                value: value.clone(),
                loc: Loc::new(String::new(), Some(*line)),
            })),
            FrameEvent::StepStart {
                line,
                command,
                build,
                ..
            } => {
                if self.events.len() >= MAX_EVENTS {
                    self.compact();
                }
                let idx = self.steps.len();
                self.steps.push(Step {
                    command: command.to_string(),
                    line: *line,
                    end_line: None,
                    seconds: None,
                    result: None,
                    timeout: false,
                });
                self.events.push(Event::Step(idx));
                self.pending = Some(idx);
                if *build {
                    self.build = Some(idx);
                }
            }
            FrameEvent::StepTimeout { .. } => {
                if let Some(step) = self.pending.and_then(|i| self.steps.get_mut(i)) {
                    step.timeout = true;
                }
            }
            FrameEvent::StepEnd {
                line,
                result,
                seconds,
            } => {
                if let Some(step) = self.pending.take().and_then(|i| self.steps.get_mut(i)) {
                    step.end_line = Some(*line);
                    step.seconds = *seconds;
                    step.result = Some(*result);
                }
            }
            FrameEvent::StepLost { .. } => self.pending = None,
            FrameEvent::FailedBanner { line, reason } => {
                self.push_event(Event::FailedBanner {
                    line: *line,
                    reason: reason.clone(),
                });
                self.last_banner = Some(self.events.len() - 1);
            }
            FrameEvent::FailedReason { text, .. } => {
                if let Some(Event::FailedBanner { reason, .. }) =
                    self.last_banner.and_then(|i| self.events.get_mut(i))
                {
                    reason.push('\n');
                    reason.push_str(text);
                }
            }
            FrameEvent::Note { line, message } => self.note(*line, message.clone()),
        }
    }

    fn note(&mut self, n: u64, msg: impl Into<String>) {
        if self.notes.len() < crate::facts::MAX_NOTES {
            self.notes.push((n, msg.into()));
        }
    }

    /// Record an event; past [`MAX_EVENTS`] the events are compacted first,
    /// so a log of a million marker lines keeps constant state.
    fn push_event(&mut self, ev: Event) {
        if self.events.len() >= MAX_EVENTS {
            self.compact();
        }
        self.events.push(ev);
    }

    /// Keep, per kind of event, the first [`KEEP_PER_KIND`] and the last;
    /// of the steps also the build step and the pending one; of the banners
    /// the one still collecting its reason. Facts keep their order, so
    /// `first`/`last` of every key and the build step are what they would
    /// have been; only counts of repeated markers past the limit are lost
    /// (and [`Facts`] caps those anyway). Ordinary logs never get here.
    fn compact(&mut self) {
        use std::collections::HashMap;
        let kind = |ev: &Event| -> String {
            match ev {
                Event::Fact(f) => f.key.clone(),
                Event::Step(_) => "\0step".into(),
                Event::FailedBanner { .. } => "\0banner".into(),
            }
        };
        let mut total: HashMap<String, usize> = HashMap::new();
        for ev in &self.events {
            *total.entry(kind(ev)).or_default() += 1;
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut keep = Vec::with_capacity(self.events.len());
        for (i, ev) in self.events.iter().enumerate() {
            let k = kind(ev);
            let nth = seen.entry(k.clone()).or_default();
            *nth += 1;
            let special = match ev {
                Event::Step(idx) => Some(*idx) == self.build || Some(*idx) == self.pending,
                _ => Some(i) == self.last_banner,
            };
            keep.push(*nth <= KEEP_PER_KIND || *nth == total[&k] || special);
        }
        let dropped = keep.iter().filter(|k| !**k).count();
        // rebuild events and steps, remapping step indices
        let old_events = std::mem::take(&mut self.events);
        let old_steps = std::mem::take(&mut self.steps);
        let mut remap: HashMap<usize, usize> = HashMap::new();
        let mut steps: Vec<Option<Step>> = old_steps.into_iter().map(Some).collect();
        let mut new_banner = None;
        for (i, (ev, k)) in old_events.into_iter().zip(keep).enumerate() {
            if !k {
                continue;
            }
            if Some(i) == self.last_banner {
                new_banner = Some(self.events.len());
            }
            match ev {
                Event::Step(idx) => {
                    if let Some(step) = steps.get_mut(idx).and_then(Option::take) {
                        remap.insert(idx, self.steps.len());
                        self.events.push(Event::Step(self.steps.len()));
                        self.steps.push(step);
                    }
                }
                other => self.events.push(other),
            }
        }
        self.pending = self.pending.and_then(|p| remap.get(&p).copied());
        self.build = self.build.and_then(|p| remap.get(&p).copied());
        self.last_banner = new_banner;
        if dropped > 0 && !self.compacted {
            self.compacted = true;
            let line = self
                .events
                .iter()
                .rev()
                .find_map(|e| match e {
                    Event::Fact(f) => f.loc.line,
                    Event::FailedBanner { line, .. } => Some(*line),
                    Event::Step(i) => self.steps.get(*i).map(|s| s.line),
                })
                .unwrap_or(self.start_line);
            self.note(
                line,
                format!(
                    "more than {KEEP_PER_KIND} repeated ktest markers of one kind: only the first ones and the last are kept"
                ),
            );
        }
    }

    /// Emit the facts of this (last) run; the options come from `framer`.
    fn emit(mut self, framer: &Framer, file: &str, facts: &mut Facts) {
        let target = framer.last_test().unwrap_or(1);
        let options = framer.options();
        for o in options.iter().filter(|o| o.test.is_none()) {
            facts.push(
                format!("{}{}", keys::KTEST_OPT_PREFIX, o.key),
                o.value.as_str(),
                file,
                Some(o.line),
            );
        }
        for o in options {
            match o.test {
                Some(t) if t == target => facts.push(
                    format!("{}{}", keys::KTEST_OPT_PREFIX, o.key),
                    o.value.as_str(),
                    file,
                    Some(o.line),
                ),
                Some(t) => facts.push(
                    format!("{}{}[{t}]", keys::KTEST_OPT_PREFIX, o.key),
                    o.value.as_str(),
                    file,
                    Some(o.line),
                ),
                None => {}
            }
        }
        for ev in std::mem::take(&mut self.events) {
            match ev {
                Event::Fact(mut f) => {
                    f.loc.file = file.to_string();
                    facts.add(f);
                }
                Event::Step(idx) => {
                    if let Some(step) = self.steps.get(idx) {
                        facts.push(keys::KTEST_STEP, step_json(step), file, Some(step.line));
                    }
                }
                Event::FailedBanner { line, reason } => {
                    facts.push(keys::KTEST_FAILED_BANNER, reason, file, Some(line));
                }
            }
        }
        if let Some(step) = self.build.and_then(|i| self.steps.get(i)) {
            facts.push(
                keys::KTEST_BUILD_COMMAND,
                step.command.as_str(),
                file,
                Some(step.line),
            );
            let end = step.end_line.or(Some(step.line));
            if let Some(s) = step.seconds {
                facts.push(keys::KTEST_BUILD_SECONDS, s, file, end);
            }
            if let Some(r) = step.result {
                facts.push(keys::KTEST_BUILD_RESULT, r.as_str(), file, end);
            }
        }
        if let Some(step) = self.pending.and_then(|i| self.steps.get(i)) {
            facts.push(
                keys::KTEST_UNFINISHED,
                step.command.as_str(),
                file,
                Some(step.line),
            );
        }
        let dropped = self.tests.dropped();
        if let Some((line, tests)) = std::mem::take(&mut self.tests).into_value() {
            facts.push(keys::KTEST_TESTS, tests, file, Some(line));
        }
        if dropped > 0 {
            self.note(
                self.start_line,
                format!("{dropped} more tests in the run than are kept"),
            );
        }
        for (n, msg) in self.notes {
            facts.note(file, Some(n), msg);
        }
    }
}

pub(crate) fn step_json(step: &Step) -> Value {
    let mut m = Map::new();
    m.insert("command".into(), Value::from(step.command.as_str()));
    if let Some(s) = step.seconds {
        m.insert("seconds".into(), Value::from(s));
    }
    if let Some(r) = step.result {
        m.insert("result".into(), Value::from(r.as_str()));
    }
    if let Some(e) = step.end_line {
        m.insert("end_line".into(), Value::from(e));
    }
    if step.timeout {
        m.insert("timeout".into(), Value::from(true));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logscan::scan;
    use serde_json::json;

    fn run(log: &str) -> Facts {
        let mut f = Framing::new("linux/log");
        scan("linux/log", log.as_bytes(), &mut [&mut f]).expect("scan");
        f.into_facts()
    }

    fn steps(f: &Facts) -> Vec<Value> {
        f.all(keys::KTEST_STEP).map(|x| x.value.clone()).collect()
    }

    const HEAD: &str = "\n\nSTARTING AUTOMATED TESTS\n\nDEFAULT OPTIONS:\nBUILD_OPTIONS = -j2\n\
BUILD_TYPE = tinyconfig\nMAKE_CMD = make CC=\"ccache gcc\"\nOUTPUT_DIR = /w/linux/output\n\n\
TEST 1 OPTIONS\nTEST_TYPE[1] = build\n\n\nRUNNING TEST 1 of 1 with option build tinyconfig\n\n";

    const PASS_612: &str = "make CC=\"ccache gcc\" O=/w/linux/output mrproper ... make[1]: Entering directory '/w/linux/output'\n\
make[1]: Leaving directory '/w/linux/output'\n[3 seconds] SUCCESS\n\
Loading force configs from ../min_config\n\
make CC=\"ccache gcc\" O=/w/linux/output tinyconfig ... make[1]: Entering directory '/w/linux/output'\n\
# configuration written to .config\n[5 seconds] SUCCESS\n\
mv /w/linux/output/.config.new /w/linux/output/.config ... [0 seconds] SUCCESS\n\
make CC=\"ccache gcc\" O=/w/linux/output olddefconfig ... make[1]: Entering\n[1 second] SUCCESS\n\
make CC=\"ccache gcc\" O=/w/linux/output -j2 ... make[1]: Entering directory '/w/linux/output'\n\
  CC      init/main.o\n../init/main.c:1:2: warning: x [-Wfoo]\n\
make[1]: Leaving directory '/w/linux/output'\n[597 seconds] SUCCESS\n\n\
Build time:   10 minutes 40 seconds\n\n*** WARNINGS found in build: 25 ***\n\n\n\n\n\
*******************************************\n*******************************************\n\
KTEST RESULT: TEST 1 SUCCESS!!!!   **\n\
*******************************************\n*******************************************\n\n\x20   \
1 of 1 tests were successful\n\n";

    #[test]
    fn a_million_markers_keep_constant_state_and_the_same_answers() {
        // the real run, then a flood of markers and commands, then the end
        let mut log = HEAD.to_string();
        let (before, after) = PASS_612.split_at(PASS_612.find("\nBuild time:").unwrap());
        log.push_str(before);
        for i in 0..200_000 {
            log.push_str(&format!(
                "CRITICAL FAILURE... flood {i}\nBuild time: 1 second\necho {i} ... [0 seconds] SUCCESS\n"
            ));
        }
        log.push_str(after);
        let f = run(&log);
        let plain = run(&format!("{HEAD}{PASS_612}"));
        // the build step survives the flood of other commands
        for k in [
            keys::KTEST_BUILD_COMMAND,
            keys::KTEST_BUILD_SECONDS,
            keys::KTEST_BUILD_RESULT,
            keys::KTEST_SUCCESS_BANNER,
        ] {
            assert_eq!(
                f.last(k).map(|x| x.value.clone()),
                plain.last(k).map(|x| x.value.clone()),
                "{k}"
            );
        }
        assert_eq!(
            f.first(keys::KTEST_CRITICAL).map(|x| x.value.clone()),
            Some("flood 0".into())
        );
        assert_eq!(
            f.last(keys::KTEST_CRITICAL).map(|x| x.value.clone()),
            Some("flood 199999".into())
        );
        assert_eq!(
            f.last(keys::KTEST_BUILD_TIME).map(|x| x.value.clone()),
            plain.last(keys::KTEST_BUILD_TIME).map(|x| x.value.clone())
        );
        assert!(f.items().len() < 2 * MAX_EVENTS, "{}", f.items().len());
        assert!(
            f.notes
                .iter()
                .any(|n| n.message.contains("repeated ktest markers")),
            "{:?}",
            f.notes
        );
    }

    #[test]
    fn passing_612_run() {
        let f = run(&format!("{HEAD}{PASS_612}"));
        assert_eq!(f.int(keys::KTEST_RUNS).map(|x| x.0), Some(1));
        assert_eq!(
            f.str("ktest.opt.BUILD_TYPE").map(|x| x.0),
            Some("tinyconfig")
        );
        assert_eq!(f.str("ktest.opt.TEST_TYPE").map(|x| x.0), Some("build"));
        assert_eq!(
            f.last(keys::KTEST_RUNNING_TEST).map(|x| x.value.clone()),
            Some(json!({"n":1,"total":1,"option":"build tinyconfig"}))
        );
        let s = steps(&f);
        assert_eq!(s.len(), 5);
        assert_eq!(
            s[2]["command"],
            "mv /w/linux/output/.config.new /w/linux/output/.config"
        );
        assert_eq!(s[2]["seconds"], 0);
        assert_eq!(s[3]["seconds"], 1);
        assert_eq!(s[4]["result"], "SUCCESS");
        assert_eq!(
            f.str(keys::KTEST_BUILD_COMMAND).map(|x| x.0),
            Some("make CC=\"ccache gcc\" O=/w/linux/output -j2")
        );
        assert_eq!(f.int(keys::KTEST_BUILD_SECONDS).map(|x| x.0), Some(597));
        assert_eq!(
            f.str(keys::KTEST_BUILD_RESULT).map(|x| x.0),
            Some("SUCCESS")
        );
        assert_eq!(f.int(keys::KTEST_BUILD_TIME).map(|x| x.0), Some(640));
        assert_eq!(f.int(keys::KTEST_WARNINGS_FOUND).map(|x| x.0), Some(25));
        assert_eq!(
            f.str(keys::KTEST_SUCCESS_BANNER).map(|x| x.0),
            Some("KTEST RESULT: TEST 1 SUCCESS!!!!   **")
        );
        assert_eq!(
            f.last(keys::KTEST_SUMMARY).map(|x| x.value.clone()),
            Some(json!({"ok":1,"total":1}))
        );
        assert_eq!(
            f.str(keys::KTEST_LAST_LINE).map(|x| x.0),
            Some("    1 of 1 tests were successful")
        );
        assert!(!f.has(keys::KTEST_UNFINISHED));
        assert!(!f.has(keys::KTEST_CRITICAL));
        assert!(f.notes.is_empty(), "{:?}", f.notes);
        // Locations: the build command's line and its status line.
        let bc = f.last(keys::KTEST_BUILD_COMMAND).map(|x| x.loc.to_string());
        assert_eq!(bc.as_deref(), Some("linux/log:27"));
        let br = f.last(keys::KTEST_BUILD_RESULT).map(|x| x.loc.to_string());
        assert_eq!(br.as_deref(), Some("linux/log:31"));
    }

    #[test]
    fn die_on_failure_1_ending() {
        let log = format!(
            "{HEAD}make CC=\"ccache gcc\" O=/w/linux/output -j2 ... make[1]: Entering\n\
../kernel/sys.c:953:41: error: 'x' undeclared\nmake: *** [Makefile:250: __sub-make] Error 2\n\
[30 seconds] FAILED!\nCRITICAL FAILURE... [TEST 1] failed build\n"
        );
        let f = run(&log);
        assert_eq!(
            f.str(keys::KTEST_CRITICAL).map(|x| x.0),
            Some("failed build")
        );
        assert_eq!(f.str(keys::KTEST_BUILD_RESULT).map(|x| x.0), Some("FAILED"));
        assert_eq!(f.int(keys::KTEST_BUILD_SECONDS).map(|x| x.0), Some(30));
        assert!(!f.has(keys::KTEST_BUILD_TIME));
        assert!(!f.has(keys::KTEST_SUCCESS_BANNER));
        assert!(!f.has(keys::KTEST_SUMMARY));
        assert_eq!(
            f.str(keys::KTEST_LAST_LINE).map(|x| x.0),
            Some("CRITICAL FAILURE... [TEST 1] failed build")
        );
    }

    #[test]
    fn die_on_failure_0_banner() {
        let log = format!(
            "{HEAD}make CC=\"ccache gcc\" O=/w/linux/output -j2 ... [28 seconds] FAILED!\nFAILED\n\n\
%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%\n%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%\n\
KTEST RESULT: TEST 1 Failed: failed build\n\
%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%\n%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%\n\n\x20   \
0 of 1 tests were successful\n\n"
        );
        let f = run(&log);
        assert_eq!(
            f.str(keys::KTEST_FAILED_BANNER).map(|x| x.0),
            Some("failed build")
        );
        assert_eq!(
            f.last(keys::KTEST_SUMMARY).map(|x| x.value.clone()),
            Some(json!({"ok":0,"total":1}))
        );
        assert_eq!(f.str(keys::KTEST_BUILD_RESULT).map(|x| x.0), Some("FAILED"));
        assert!(!f.has(keys::KTEST_CRITICAL));
        assert!(!f.has(keys::KTEST_SUCCESS_BANNER));
    }

    #[test]
    fn failed_banner_with_multiline_reason_and_test_name() {
        let log = "\nSTARTING AUTOMATED TESTS\n%%%%\n\
KTEST RESULT: TEST 2 (warn check) Failed: New warning found (not in /w/warnings)\n\
../a.c:1:1: warning: foo\n%%%%\n";
        let f = run(log);
        assert_eq!(
            f.str(keys::KTEST_FAILED_BANNER).map(|x| x.0),
            Some("New warning found (not in /w/warnings)\n../a.c:1:1: warning: foo")
        );
    }

    #[test]
    fn banner_spacings_and_names() {
        for (banner, ok) in [
            ("KTEST RESULT: TEST 1 SUCCESS!!!!         **", true),
            ("KTEST RESULT: TEST 1 SUCCESS!!!!   **", true),
            ("KTEST RESULT: TEST 3 (my build) SUCCESS!!!!   **", true),
            ("KTEST RESULT: TEST x SUCCESS!!!!", false),
            ("KTEST RESULT: TEST 1 (unterminated SUCCESS", false),
        ] {
            let f = run(&format!("STARTING AUTOMATED TESTS\n{banner}\n"));
            assert_eq!(
                f.str(keys::KTEST_SUCCESS_BANNER).map(|x| x.0),
                ok.then_some(banner),
                "{banner}"
            );
        }
    }

    #[test]
    fn critical_failure_forms() {
        for (line, want) in [
            ("CRITICAL FAILURE... [TEST 1] failed build", "failed build"),
            (
                "CRITICAL FAILURE... [TEST 12] make mrproper",
                "make mrproper",
            ),
            (
                "CRITICAL FAILURE... failed make config",
                "failed make config",
            ),
            (
                "CRITICAL FAILURE... [TEST 1] can't create /x",
                "can't create /x",
            ),
        ] {
            let f = run(&format!("STARTING AUTOMATED TESTS\n{line}\n"));
            assert_eq!(
                f.str(keys::KTEST_CRITICAL).map(|x| x.0),
                Some(want),
                "{line}"
            );
        }
    }

    #[test]
    fn build_time_grammar() {
        for (v, s) in [
            ("0 seconds", Some(0)),
            ("1 second", Some(1)),
            ("60 seconds", Some(60)),
            ("1 minute 1 second", Some(61)),
            ("60 minutes 0 seconds", Some(3600)),
            ("1 hour 60 seconds", Some(3660)),
            ("2 hours 0 seconds", Some(7200)),
            ("1 hour 1 minute 1 second", Some(3661)),
            ("3 minutes 18 seconds", Some(198)),
            ("3 fortnights", None),
            ("", None),
            ("minutes 3", None),
        ] {
            let f = run(&format!("STARTING AUTOMATED TESTS\nBuild time:   {v}\n"));
            assert_eq!(f.int(keys::KTEST_BUILD_TIME).map(|x| x.0), s, "{v}");
            assert_eq!(f.notes.len(), usize::from(s.is_none()), "{v}");
        }
    }

    #[test]
    fn warning_found_singular_and_plural() {
        let f = run("STARTING AUTOMATED TESTS\n*** WARNING found in build: 1 ***\n");
        assert_eq!(f.int(keys::KTEST_WARNINGS_FOUND).map(|x| x.0), Some(1));
        let f = run("STARTING AUTOMATED TESTS\n*** WARNINGS found in build: 7 ***\n");
        assert_eq!(f.int(keys::KTEST_WARNINGS_FOUND).map(|x| x.0), Some(7));
        let f = run("STARTING AUTOMATED TESTS\n*** WARNINGS in here ***\n");
        assert!(!f.has(keys::KTEST_WARNINGS_FOUND));
    }

    #[test]
    fn status_glued_to_last_output_line() {
        let log =
            "STARTING AUTOMATED TESTS\nmake O=/o -j8 ... make[1]: Entering\n  LD      vmlinux\n\
no newline here[12 seconds] FAILED!\nCRITICAL FAILURE... [TEST 1] failed build\n";
        let f = run(log);
        let s = steps(&f);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0]["seconds"], 12);
        assert_eq!(s[0]["result"], "FAILED");
        assert_eq!(s[0]["end_line"], 4);
        assert!(!f.has(keys::KTEST_UNFINISHED));
    }

    #[test]
    fn ktest_2010_without_timings() {
        let log = "\n\nSTARTING AUTOMATED TESTS\n\nDEFAULT OPTIONS:\nBUILD_TYPE = allmodconfig\n\n\
RUNNING TEST 1 of 1 with option build allmodconfig\n\n\
make O=/o mrproper ... make[1]: Entering\nmake[1]: Leaving\nSUCCESS\n\
KCONFIG_ALLCONFIG=/m make O=/o allmodconfig ... #\n# configuration written to .config\n#\nSUCCESS\n\
make O=/o -j4 ... make[1]: Entering\n  CC foo.o\nmake: *** [all] Error 2\nFAILED!\n\
CRITICAL FAILURE... failed build\n";
        let f = run(log);
        let s = steps(&f);
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(s.iter().all(|x| x.get("seconds").is_none()));
        assert_eq!(s[0]["result"], "SUCCESS");
        assert_eq!(
            f.str(keys::KTEST_BUILD_COMMAND).map(|x| x.0),
            Some("make O=/o -j4")
        );
        assert_eq!(f.str(keys::KTEST_BUILD_RESULT).map(|x| x.0), Some("FAILED"));
        assert!(!f.has(keys::KTEST_BUILD_SECONDS));
        assert_eq!(
            f.str(keys::KTEST_CRITICAL).map(|x| x.0),
            Some("failed build")
        );
        // a bare status right after ` ... ` (command without output)
        let f = run("STARTING AUTOMATED TESTS\nmv a b ... SUCCESS\n");
        assert_eq!(steps(&f)[0]["result"], "SUCCESS");
    }

    #[test]
    fn bare_success_output_is_not_a_status_once_timed() {
        let log = "STARTING AUTOMATED TESTS\nmv a b ... [1 second] SUCCESS\n\
make O=/o -j2 ... x\nSUCCESS\nFAILED!\n[9 seconds] SUCCESS\n";
        let f = run(log);
        let s = steps(&f);
        assert_eq!(s[0]["seconds"], 1);
        assert_eq!(s[1]["seconds"], 9);
        assert_eq!(s[1]["end_line"], 6);
    }

    #[test]
    fn appended_rerun_describes_last_run_only() {
        let first = format!(
            "{HEAD}make CC=\"ccache gcc\" O=/w/linux/output -j2 ... x\n[5 seconds] FAILED!\n\
CRITICAL FAILURE... [TEST 1] failed build\n"
        );
        let second = format!("{HEAD}{PASS_612}");
        let f = run(&format!("{first}{second}"));
        assert_eq!(f.int(keys::KTEST_RUNS).map(|x| x.0), Some(2));
        assert!(!f.has(keys::KTEST_CRITICAL));
        assert_eq!(f.all(keys::KTEST_STEP).count(), 5);
        assert_eq!(f.all("ktest.opt.BUILD_TYPE").count(), 1);
        assert_eq!(
            f.str(keys::KTEST_BUILD_RESULT).map(|x| x.0),
            Some("SUCCESS")
        );
        let runs_loc = f.last(keys::KTEST_RUNS).and_then(|x| x.loc.line);
        let second_start = first.lines().count() as u64 + 3;
        assert_eq!(runs_loc, Some(second_start));
    }

    #[test]
    fn killed_mid_command_is_unfinished() {
        let f = run(&format!(
            "{HEAD}make CC=\"ccache gcc\" O=/w/linux/output -j2 ... make[1]: x\n  CC a.o\n  CC b.o"
        ));
        assert_eq!(
            f.str(keys::KTEST_UNFINISHED).map(|x| x.0),
            Some("make CC=\"ccache gcc\" O=/w/linux/output -j2")
        );
        assert_eq!(
            f.str(keys::KTEST_BUILD_COMMAND).map(|x| x.0),
            Some("make CC=\"ccache gcc\" O=/w/linux/output -j2")
        );
        assert!(!f.has(keys::KTEST_BUILD_RESULT));
        assert_eq!(f.str(keys::KTEST_LAST_LINE).map(|x| x.0), Some("  CC b.o"));
        // No output at all after ` ... ` (trailing blank kept or trimmed).
        for tail in ["make O=/o -j2 ... ", "make O=/o -j2 ..."] {
            let f = run(&format!("STARTING AUTOMATED TESTS\n{tail}"));
            assert_eq!(
                f.str(keys::KTEST_UNFINISHED).map(|x| x.0),
                Some("make O=/o -j2")
            );
        }
    }

    #[test]
    fn sigint_and_timeout() {
        let f = run("STARTING AUTOMATED TESTS\nmake O=/o -j2 ... a\n\nCaught Sig Int, test interrupted: Interrupted system call\n");
        assert_eq!(
            f.str(keys::KTEST_INTERRUPTED).map(|x| x.0),
            Some("Caught Sig Int, test interrupted: Interrupted system call")
        );
        assert!(f.has(keys::KTEST_UNFINISHED));
        let f = run("STARTING AUTOMATED TESTS\nmake O=/o -j2 ... a\nHit timeout of 600, killing process\n[600 seconds] FAILED!\n");
        assert_eq!(
            f.str(keys::KTEST_TIMEOUT).map(|x| x.0),
            Some("Hit timeout of 600, killing process")
        );
        assert_eq!(steps(&f)[0]["timeout"], true);
        assert_eq!(steps(&f)[0]["result"], "FAILED");
        // glued to output without newline
        let f = run("STARTING AUTOMATED TESTS\nmake O=/o -j2 ... a\nbHit timeout of 5, killing process\n[5 seconds] FAILED!\n");
        assert_eq!(
            f.str(keys::KTEST_TIMEOUT).map(|x| x.0),
            Some("Hit timeout of 5, killing process")
        );
    }

    #[test]
    fn per_test_options_follow_the_test_that_ran() {
        let log = "STARTING AUTOMATED TESTS\nDEFAULT OPTIONS:\nBUILD_TYPE = allmodconfig\nMAKE_CMD = make\n\
\nTEST 1 OPTIONS\nBUILD_TYPE[1] = defconfig\n\nTEST 2 OPTIONS ITERATE 2\nBUILD_TYPE[2] = tinyconfig\n\n\
RUNNING TEST 2 of 3 (second) with option build tinyconfig\n";
        let f = run(log);
        assert_eq!(
            f.str("ktest.opt.BUILD_TYPE").map(|x| x.0),
            Some("tinyconfig")
        );
        assert_eq!(
            f.str("ktest.opt.BUILD_TYPE[1]").map(|x| x.0),
            Some("defconfig")
        );
        assert_eq!(
            f.last(keys::KTEST_RUNNING_TEST).map(|x| x.value.clone()),
            Some(json!({"n":2,"total":3,"option":"build tinyconfig","name":"second"}))
        );
        // empty value
        let f = run("STARTING AUTOMATED TESTS\nDEFAULT OPTIONS:\nBUILD_OPTIONS = \nX = a = b\n");
        assert_eq!(f.str("ktest.opt.BUILD_OPTIONS").map(|x| x.0), Some(""));
        assert_eq!(f.str("ktest.opt.X").map(|x| x.0), Some("a = b"));
    }

    #[test]
    fn build_command_prefers_options_dump_then_heuristic() {
        // POST_BUILD runs a make after the build: the dump identifies the build.
        let log = format!(
            "{HEAD}make CC=\"ccache gcc\" O=/w/linux/output -j2 ... [9 seconds] SUCCESS\n\
make -C tools/foo ... [1 second] SUCCESS\n"
        );
        let f = run(&log);
        assert_eq!(
            f.str(keys::KTEST_BUILD_COMMAND).map(|x| x.0),
            Some("make CC=\"ccache gcc\" O=/w/linux/output -j2")
        );
        for (cmd, build) in [
            ("make O=/o -j32", true),
            (
                "KBUILD_BUILD_TIMESTAMP='' make CC=\"ccache gcc\" O=/o",
                true,
            ),
            ("make O=/o mrproper", false),
            ("make O=/o allmodconfig", false),
            ("yes '' | make O=/o oldconfig", false),
            ("make O=/o INSTALL_MOD_PATH=/t modules_install", false),
            ("mv /o/.config.new /o/.config", false),
            ("/usr/bin/make O=/o bzImage", true),
        ] {
            assert_eq!(is_build_like(cmd), build, "{cmd}");
        }
    }

    #[test]
    fn no_ktest_framing_in_a_plain_build_log() {
        let f = run("  CC foo.o\nmake ... x\nKTEST RESULT: TEST 1 SUCCESS!!!!\n  LD vmlinux\n\n");
        assert!(!f.has(keys::KTEST_RUNS));
        assert_eq!(f.items().len(), 1, "{:?}", f.items());
        assert_eq!(
            f.str(keys::KTEST_LAST_LINE).map(|x| x.0),
            Some("  LD vmlinux")
        );
        let f = run("");
        assert!(f.items().is_empty());
    }

    #[test]
    fn crlf_and_invalid_utf8() {
        let mut bytes =
            b"STARTING AUTOMATED TESTS\r\nmake O=/o\xff -j2 ... x\r\n[2 seconds] SUCCESS\r\n"
                .to_vec();
        bytes.extend_from_slice(b"KTEST RESULT: TEST 1 SUCCESS!!!!   **\r\n");
        let mut fr = Framing::new("log");
        scan("log", &bytes[..], &mut [&mut fr]).expect("scan");
        let f = fr.into_facts();
        assert_eq!(
            f.str(keys::KTEST_BUILD_COMMAND).map(|x| x.0),
            Some("make O=/o\u{fffd} -j2")
        );
        assert_eq!(f.int(keys::KTEST_BUILD_SECONDS).map(|x| x.0), Some(2));
        assert!(f.has(keys::KTEST_SUCCESS_BANNER));
    }

    #[test]
    fn into_facts_without_scan_finish() {
        let mut fr = Framing::new("log");
        fr.line(1, STARTING);
        fr.line(2, b"make O=/o -j2 ... x");
        let f = fr.into_facts();
        assert!(f.has(keys::KTEST_UNFINISHED));
    }

    /// The `build-log` fixtures: compare only the framing facts (the
    /// diagnostics engine of `BuildLog` is tested elsewhere).
    #[test]
    fn build_log_fixtures() {
        use crate::testutil::{facts_json, fixture_input, fixtures_root};
        let root = fixtures_root().join("build-log");
        let mut cases: Vec<_> = std::fs::read_dir(&root)
            .expect("fixtures/parsers/build-log")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        cases.sort();
        assert!(cases.len() >= 5, "too few build-log fixtures");
        let update = std::env::var_os("UPDATE_EXPECT").is_some();
        for case in &cases {
            let input = fixture_input(case);
            let rel = input.log.clone().expect("fixture has a log");
            let opened = input.open(&rel).expect("open").expect("log exists");
            let mut fr = Framing::new(&opened.name);
            let got = match scan(&opened.name, opened.reader, &mut [&mut fr]) {
                Ok(_) => facts_json(&fr.into_facts()),
                Err(e) => json!({ "error": e.to_string() }),
            };
            let exp = case.join("expected.json");
            if update {
                let text = serde_json::to_string_pretty(&got).expect("json") + "\n";
                std::fs::write(&exp, text).expect("write expected.json");
                continue;
            }
            let want: Value = serde_json::from_str(
                &std::fs::read_to_string(&exp).unwrap_or_else(|e| panic!("{}: {e}", exp.display())),
            )
            .expect("expected.json parses");
            assert_eq!(got, want, "build-log fixture {} differs", case.display());
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let mut fr = Framing::new("log");
            for (i, l) in bytes.split(|&b| b == b'\n').enumerate() {
                fr.line(i as u64 + 1, l);
            }
            let _ = fr.into_facts();
        }

        #[test]
        fn never_panics_on_framing_like_lines(lines in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just("STARTING AUTOMATED TESTS".to_string()),
                proptest::strategy::Just("DEFAULT OPTIONS:".to_string()),
                "[A-Z_\\[\\]0-9]{0,6} = .{0,6}",
                "RUNNING TEST [0-9 ]{0,3}of[0-9 (a)]{0,6}with option.{0,4}",
                ".{0,5} \\.\\.\\. .{0,5}",
                "\\[[0-9]{0,25} seconds?\\] (SUCCESS|FAILED!)",
                "KTEST RESULT: TEST [0-9]{0,2}[ (x)]{0,4}(SUCCESS|Failed:).{0,3}",
                "CRITICAL FAILURE\\.\\.\\. \\[TEST [0-9]{0,3}\\].{0,4}",
                "Build time: .{0,20}",
                "\\*\\*\\* WARNINGS? found in build: [0-9]{0,22} \\*\\*\\*",
                "    [0-9]{0,22} of [0-9]{0,3} tests were successful",
                "%{0,3}",
                ".{0,8}",
            ], 0..40)) {
            let log = lines.join("\n");
            let mut fr = Framing::new("log");
            // NUL bytes make scan refuse the input; that is an error, not a panic.
            let _ = scan("log", log.as_bytes(), &mut [&mut fr]);
            let _ = fr.into_facts();
        }
    }
}
