//! ktest.pl LOG_FILE framing: options dump, command steps with
//! `[N seconds] SUCCESS|FAILED!`, the final build command, `Build time:`,
//! `*** WARNINGS found in build: N ***`, success and failure banners,
//! `CRITICAL FAILURE...`, `N of M tests were successful`. Only the last run
//! of an appended log counts. Runs inside the one-pass [`crate::build_log`].
//!
//! What ktest writes (inputs-reference §2): every run starts with
//! `STARTING AUTOMATED TESTS`; the log is opened in append mode, so a re-run
//! in the same directory appends a second run, and the facts describe the
//! last one (`ktest.runs` counts them). Nothing is recognised before the
//! first `STARTING AUTOMATED TESTS`, so a plain build log yields only
//! `ktest.last_line` (no `ktest.runs`).
//!
//! A command step is printed as `<command> ... ` without a newline; the
//! command's first output line is glued to it, its other output follows, and
//! the status `[N seconds] SUCCESS` / `[1 second] FAILED!` (2010 ktest: bare
//! `SUCCESS` / `FAILED!`) ends the step, glued to the last output line when
//! that had no newline.
//!
//! Cost: this sink sees multi-GB logs. Through [`LineSink::lines`] (what
//! [`crate::logscan::scan`] calls) it does not visit ordinary lines at all:
//! a multi-literal search skips to the next line that can matter and the
//! newlines in between are only counted. Line by line ([`LineSink::line`],
//! as `output_log` feeds it), an ordinary line costs a copy into the
//! reusable last-line buffer plus a few first/last byte comparisons.
//! Nothing is allocated per ordinary line.

use std::sync::LazyLock;

use memchr::memmem;
use serde_json::{json, Map, Value};

use crate::facts::{Fact, Loc};
use crate::keys;
use crate::logscan::LineSink;
use crate::Facts;

const STARTING: &[u8] = b"STARTING AUTOMATED TESTS";
/// Longest command string kept (a glued line can be up to 1 MiB).
const MAX_COMMAND: usize = 8 * 1024;
/// Longest text value kept for a last line, a reason or a banner.
const MAX_TEXT: usize = 4 * 1024;
/// Continuation lines kept for a multi-line `Failed:` reason.
const MAX_REASON_LINES: u8 = 8;
/// Events of one run kept before they are compacted (see [`Run::compact`]).
const MAX_EVENTS: usize = 2048;
/// Events of one kind (a fact key, steps, failed banners) that survive a
/// compaction: the first ones, plus the last (and the build step).
const KEEP_PER_KIND: usize = 128;
/// Options-dump lines kept per run (a real dump has a few hundred).
const MAX_OPTIONS: usize = 4096;

/// Result of a ktest command step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StepResult {
    Success,
    Failed,
}

impl StepResult {
    fn as_str(self) -> &'static str {
        match self {
            StepResult::Success => "SUCCESS",
            StepResult::Failed => "FAILED",
        }
    }
}

/// One `<command> ... [N seconds] RESULT` step.
#[derive(Clone, Debug)]
struct Step {
    command: String,
    line: u64,
    end_line: Option<u64>,
    seconds: Option<u64>,
    result: Option<StepResult>,
    timeout: bool,
}

/// One `KEY = value` / `KEY[n] = value` line of the options dump.
#[derive(Clone, Debug)]
struct OptLine {
    key: String,
    test: Option<u64>,
    value: String,
    line: u64,
}

/// Facts of one run, in the order they were met.
#[derive(Clone, Debug)]
enum Event {
    Fact(Fact),
    /// Index into `Run::steps`.
    Step(usize),
    /// `KTEST RESULT: TEST n Failed: <reason>` (reason may grow by continuation lines).
    FailedBanner {
        line: u64,
        reason: String,
    },
}

/// Per-run state, replaced at every `STARTING AUTOMATED TESTS`.
#[derive(Debug, Default)]
struct Run {
    start_line: u64,
    in_options: bool,
    options: Vec<OptLine>,
    /// `n` of the last `RUNNING TEST n of m`.
    last_test: Option<u64>,
    steps: Vec<Step>,
    /// Index of the step whose status has not been seen yet.
    pending: Option<usize>,
    /// A `[N seconds]` status was seen: this ktest prints timings, so bare
    /// `SUCCESS` lines are command output, not statuses.
    timed: bool,
    events: Vec<Event>,
    /// Index into `events` of a failed banner still collecting its reason.
    failed_open: Option<(usize, u8)>,
    notes: Vec<(u64, String)>,
    /// Events were compacted once (noted once).
    compacted: bool,
}

/// Line sink that recognises ktest framing; [`Framing::into_facts`] gives
/// the facts (keys `ktest.*` of [`crate::keys`]).
pub struct Framing {
    file: String,
    runs: u64,
    run: Option<Run>,
    last: Vec<u8>,
    last_lineno: u64,
    finished: Option<Facts>,
}

impl Framing {
    pub fn new(file: &str) -> Self {
        Framing {
            file: file.to_string(),
            runs: 0,
            run: None,
            last: Vec::new(),
            last_lineno: 0,
            finished: None,
        }
    }

    /// The facts. Calls [`LineSink::finish`] first if the scan did not.
    pub fn into_facts(mut self) -> Facts {
        if self.finished.is_none() {
            self.finish();
        }
        self.finished.unwrap_or_default()
    }

    fn build_facts(&mut self) -> Facts {
        let mut facts = Facts::new();
        let file = self.file.as_str();
        // No `ktest.runs` at all without a run: its presence is what tells
        // a ktest log from a plain build log.
        if let Some(run) = self.run.take() {
            facts.push(keys::KTEST_RUNS, self.runs, file, Some(run.start_line));
            run.emit(file, &mut facts);
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

impl LineSink for Framing {
    fn line(&mut self, lineno: u64, line: &[u8]) {
        if !is_blank(line) {
            self.last.clear();
            self.last.extend_from_slice(line);
            self.last_lineno = lineno;
        }
        let Some(&first) = line.first() else {
            return;
        };
        if first == b'S' && trim_end(line) == STARTING {
            self.runs += 1;
            self.run = Some(Run {
                start_line: lineno,
                ..Run::default()
            });
            return;
        }
        if let Some(run) = self.run.as_mut() {
            run.line(lineno, line, first);
        }
    }

    /// Exact fast path: while no state needs every line (options dump,
    /// open `Failed:` reason: those lines go through [`LineSink::line`] one
    /// by one), one multi-literal search from the current position finds
    /// the next line holding a needle that can matter in the current state
    /// (no run yet / a command running / no command running), and only
    /// that line reaches [`LineSink::line`], with its exact number. Every
    /// other line is a no-op there except for the last non-blank line,
    /// which is taken from the end of the chunk. Equality with the
    /// line-by-line path is tested in `parsers/tests/framing_bulk.rs`.
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
            if self.run.as_ref().is_some_and(Run::needs_every_line) {
                let nl = memchr::memchr(b'\n', &text[pos..]).map_or(text.len(), |i| pos + i);
                let l = &text[pos..nl];
                self.line(lineno, l.strip_suffix(b"\r").unwrap_or(l));
                lineno += 1;
                pos = nl + 1;
                continue;
            }
            let Some(hit) = self.active_needles().find_at(text, pos).map(|m| m.start()) else {
                break;
            };
            let start = memchr::memrchr(b'\n', &text[pos..hit]).map_or(pos, |i| pos + i + 1);
            lineno += count_newlines(&text[pos..start]);
            let nl = memchr::memchr(b'\n', &text[hit..]).map_or(text.len(), |i| hit + i);
            let l = &text[start..nl];
            self.line(lineno, l.strip_suffix(b"\r").unwrap_or(l));
            lineno += 1;
            pos = nl + 1;
        }
        if pos < text.len() {
            lineno += count_newlines(&text[pos..]);
        }
        let n = lineno - first_lineno;
        self.take_last_non_blank(first_lineno, n, text);
        n
    }

    fn finish(&mut self) {
        if self.finished.is_none() {
            let facts = self.build_facts();
            self.finished = Some(facts);
        }
    }
}

/// Substrings of which one is in every line [`Framing::line`] can act on
/// (other than remembering the last non-blank line) outside the states that
/// need every line, grouped by the state in which they can matter (the bit
/// sets below). Each group was checked against `Run::line`: a prefix, a
/// suffix or a substring test in `Run::line` needs the needle in the line.
const NEEDLES: [&[u8]; 13] = [
    // 0: always (a new run).
    STARTING,
    // 1..=7: inside a run.
    b"CRITICAL FAILURE...",
    b"Caught Sig Int",
    b"KTEST RESULT: TEST ",
    b"Build time:",
    b"*** WARNING",
    b" tests were successful",
    b"Hit timeout of ",
    // 8, 9: inside a run while a command runs (status, bare or timed).
    b"SUCCESS",
    b"FAILED!",
    // 10..=12: inside a run while no command runs.
    b" ...",
    b"RUNNING TEST ",
    b"DEFAULT OPTIONS:",
];

/// Bit sets over [`NEEDLES`].
const NEEDLES_NO_RUN: u16 = 1;
const NEEDLES_RUN: u16 = 0xff;
const NEEDLES_PENDING: u16 = NEEDLES_RUN | 1 << 8 | 1 << 9;
const NEEDLES_IDLE: u16 = NEEDLES_RUN | 1 << 10 | 1 << 11 | 1 << 12;

/// One multi-literal searcher per needle set (a single pass finds the
/// earliest match of any needle of the set).
struct NeedleSets {
    no_run: regex::bytes::Regex,
    pending: regex::bytes::Regex,
    idle: regex::bytes::Regex,
}

static NEEDLE_SETS: LazyLock<NeedleSets> = LazyLock::new(|| {
    let build = |set: u16| {
        let alts: Vec<String> = NEEDLES
            .iter()
            .enumerate()
            .filter(|(i, _)| set & (1 << i) != 0)
            .map(|(_, n)| regex::escape(&String::from_utf8_lossy(n)))
            .collect();
        // Escaped ASCII literals always compile.
        regex::bytes::Regex::new(&alts.join("|")).expect("needle alternation compiles")
    };
    NeedleSets {
        no_run: build(NEEDLES_NO_RUN),
        pending: build(NEEDLES_PENDING),
        idle: build(NEEDLES_IDLE),
    }
});

/// Number of `\n` in `b` (memchr counts without visiting each match).
fn count_newlines(b: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', b).count() as u64
}

impl Framing {
    /// The needles that can matter in the current state (a superset).
    fn active_needles(&self) -> &'static regex::bytes::Regex {
        let sets = &*NEEDLE_SETS;
        match &self.run {
            None => &sets.no_run,
            Some(run) if run.pending.is_some() => &sets.pending,
            Some(_) => &sets.idle,
        }
    }

    /// Remember the last non-blank line of `text` (`n` lines from
    /// `first_lineno`), as [`LineSink::line`] would have.
    fn take_last_non_blank(&mut self, first_lineno: u64, n: u64, text: &[u8]) {
        // `text` ends with `\n`: the lines end at each `\n`, walked backwards.
        let mut end = text.len();
        let mut k = 0u64;
        while end > 0 && k < n {
            let nl = end - 1;
            let start = memchr::memrchr(b'\n', &text[..nl]).map_or(0, |i| i + 1);
            let l = &text[start..nl];
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            if !is_blank(l) {
                self.last.clear();
                self.last.extend_from_slice(l);
                self.last_lineno = first_lineno + n - 1 - k;
                return;
            }
            k += 1;
            end = start;
        }
    }
}

impl Run {
    /// A state in which every line can change a fact: the options dump and
    /// the continuation lines of a `Failed:` reason.
    fn needs_every_line(&self) -> bool {
        self.in_options || self.failed_open.is_some()
    }

    fn line(&mut self, n: u64, line: &[u8], first: u8) {
        if let Some((idx, extra)) = self.failed_open {
            if first == b'%' || extra >= MAX_REASON_LINES {
                self.failed_open = None;
            } else {
                if !is_blank(line) {
                    if let Some(Event::FailedBanner { reason, .. }) = self.events.get_mut(idx) {
                        reason.push('\n');
                        reason.push_str(&text(trim_end(line), MAX_TEXT));
                    }
                    self.failed_open = Some((idx, extra + 1));
                }
                return;
            }
        }
        if self.in_options {
            if first == b'R' && line.starts_with(b"RUNNING TEST ") {
                self.in_options = false;
            } else if is_blank(line)
                || (line.starts_with(b"TEST ") && memmem::find(line, b" OPTIONS").is_some())
            {
                return;
            } else if let Some(opt) = parse_option(line, n) {
                if self.options.len() < MAX_OPTIONS {
                    self.options.push(opt);
                } else if self.options.len() == MAX_OPTIONS {
                    self.note(
                        n,
                        format!("more than {MAX_OPTIONS} option lines: the rest are ignored"),
                    );
                    self.options.push(opt);
                }
                return;
            } else {
                self.in_options = false;
            }
        }
        match first {
            b'C' => {
                if let Some(rest) = line.strip_prefix(b"CRITICAL FAILURE...") {
                    let reason = strip_test_tag(trim(rest));
                    self.fact(keys::KTEST_CRITICAL, text(reason, MAX_TEXT), n);
                    return;
                }
                if line.starts_with(b"Caught Sig Int") {
                    self.fact(keys::KTEST_INTERRUPTED, text(trim_end(line), MAX_TEXT), n);
                    return;
                }
            }
            b'K' => {
                if let Some(rest) = line.strip_prefix(b"KTEST RESULT: TEST ") {
                    if self.result_banner(n, line, rest) {
                        return;
                    }
                }
            }
            b'B' => {
                if let Some(rest) = line.strip_prefix(b"Build time:") {
                    self.close_unrecognised(n);
                    match parse_duration_words(&text(rest, 256)) {
                        Some(s) => self.fact(keys::KTEST_BUILD_TIME, s, n),
                        None => self.note(n, "`Build time:` value not understood"),
                    }
                    return;
                }
            }
            b'*' => {
                if let Some(count) = parse_warnings_found(line) {
                    self.fact(keys::KTEST_WARNINGS_FOUND, count, n);
                    return;
                }
            }
            b' ' if line.starts_with(b"    ") => {
                if let Some((ok, total)) = parse_summary(trim(line)) {
                    self.close_unrecognised(n);
                    self.fact(keys::KTEST_SUMMARY, json!({"ok": ok, "total": total}), n);
                    return;
                }
            }
            b'H' if line.starts_with(b"Hit timeout of ") => {
                self.hit_timeout(n, trim_end(line));
                return;
            }
            b'S' | b'F' if self.pending.is_some() && !self.timed => {
                if let Some(st) = status_tail(line) {
                    if !st.timed && st.start == 0 {
                        self.close(n, st);
                        return;
                    }
                }
            }
            b'R' if self.pending.is_none() => {
                if let Some(rest) = line.strip_prefix(b"RUNNING TEST ") {
                    if let Some(v) = parse_running_test(trim_end(rest)) {
                        self.last_test = v.get("n").and_then(Value::as_u64);
                        self.fact(keys::KTEST_RUNNING_TEST, v, n);
                        return;
                    }
                }
            }
            b'D' if self.pending.is_none() && trim_end(line) == b"DEFAULT OPTIONS:" => {
                self.in_options = true;
                return;
            }
            _ => {}
        }
        if self.pending.is_some() {
            // Hot path: output of a running command. Only a line ending in
            // `SUCCESS`, `FAILED!` or `killing process` can matter.
            let t = trim_end(line);
            match t.last() {
                Some(b'S') | Some(b'!') => {
                    if let Some(st) = status_tail(t) {
                        if st.timed {
                            self.close(n, st);
                        }
                    }
                }
                Some(b's') if t.ends_with(b", killing process") => {
                    if let Some(p) = memmem::find(t, b"Hit timeout of ") {
                        self.hit_timeout(n, &t[p..]);
                    }
                }
                _ => {}
            }
            return;
        }
        self.command_start(n, line);
    }

    /// A line outside any command: `<command> ... <rest>` starts a step.
    fn command_start(&mut self, n: u64, line: &[u8]) {
        let (cmd, rest) = match memmem::find(line, b" ... ") {
            Some(p) => (&line[..p], &line[p + 5..]),
            None => {
                let t = trim_end(line);
                match t.strip_suffix(b" ...") {
                    Some(c) => (c, &b""[..]),
                    None => return,
                }
            }
        };
        if is_blank(cmd) {
            return;
        }
        if self.events.len() >= MAX_EVENTS {
            self.compact();
        }
        let idx = self.steps.len();
        self.steps.push(Step {
            command: text(cmd, MAX_COMMAND),
            line: n,
            end_line: None,
            seconds: None,
            result: None,
            timeout: false,
        });
        self.events.push(Event::Step(idx));
        self.pending = Some(idx);
        if let Some(st) = status_tail(rest) {
            // A command without output: the status is on the command line.
            // A bare status counts only before timings were seen and only
            // when it is all that follows ` ... ` (2010 ktest).
            if st.timed || (!self.timed && st.start == 0) {
                self.close(n, st);
            }
        }
    }

    fn close(&mut self, n: u64, st: StatusTail) {
        if let Some(idx) = self.pending.take() {
            if let Some(step) = self.steps.get_mut(idx) {
                step.end_line = Some(n);
                step.seconds = st.seconds;
                step.result = Some(st.result);
            }
        }
        if st.timed {
            self.timed = true;
        }
    }

    /// A line that ktest prints only after a command ended arrived while a
    /// command still looked running: its status was not recognised.
    fn close_unrecognised(&mut self, n: u64) {
        if let Some(idx) = self.pending.take() {
            let line = self.steps.get(idx).map_or(0, |s| s.line);
            self.note(
                n,
                format!("no status recognised for the command at line {line}"),
            );
        }
    }

    fn hit_timeout(&mut self, n: u64, t: &[u8]) {
        if let Some(idx) = self.pending {
            if let Some(step) = self.steps.get_mut(idx) {
                step.timeout = true;
            }
        }
        self.fact(keys::KTEST_TIMEOUT, text(t, MAX_TEXT), n);
    }

    /// `KTEST RESULT: TEST <rest>`: success or `%` failure banner.
    fn result_banner(&mut self, n: u64, line: &[u8], rest: &[u8]) -> bool {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        let mut after = &rest[digits..];
        if after.starts_with(b" (") {
            // `(<TEST_NAME>)`: the name ends at the last `)` before the verdict.
            let close = match (
                memmem::rfind(after, b") SUCCESS"),
                memmem::rfind(after, b") Failed:"),
            ) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match close {
                Some(c) => after = &after[c + 1..],
                None => return false,
            }
        }
        if after.starts_with(b" SUCCESS") {
            self.close_unrecognised(n);
            self.fact(
                keys::KTEST_SUCCESS_BANNER,
                text(trim_end(line), MAX_TEXT),
                n,
            );
            return true;
        }
        if let Some(reason) = after.strip_prefix(b" Failed:") {
            self.close_unrecognised(n);
            self.push_event(Event::FailedBanner {
                line: n,
                reason: text(trim(reason), MAX_TEXT),
            });
            self.failed_open = Some((self.events.len() - 1, 0));
            return true;
        }
        false
    }

    fn fact(&mut self, key: &str, value: impl Into<Value>, n: u64) {
        self.push_event(Event::Fact(Fact {
            key: key.to_string(),
            value: value.into(),
            loc: Loc::new(String::new(), Some(n)),
        }));
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
    /// of the steps also the one [`Run::build_step`] would choose and the
    /// pending one. Facts keep their order, so `first`/`last` of every key
    /// and the build step are what they would have been; only counts of
    /// repeated markers past the limit are lost (and [`Facts`] caps those
    /// anyway). Ordinary logs never get here.
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
        let build = self.build_step_index();
        let last_build_like = self.steps.iter().rposition(|s| is_build_like(&s.command));
        let failed_open = self.failed_open.map(|(i, _)| i);
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut keep = Vec::with_capacity(self.events.len());
        for (i, ev) in self.events.iter().enumerate() {
            let k = kind(ev);
            let nth = seen.entry(k.clone()).or_default();
            *nth += 1;
            let special = match ev {
                Event::Step(idx) => {
                    Some(*idx) == build
                        || Some(*idx) == last_build_like
                        || Some(*idx) == self.pending
                }
                _ => Some(i) == failed_open,
            };
            keep.push(*nth <= KEEP_PER_KIND || *nth == total[&k] || special);
        }
        let dropped = keep.iter().filter(|k| !**k).count();
        // rebuild events and steps, remapping step indices
        let old_events = std::mem::take(&mut self.events);
        let old_steps = std::mem::take(&mut self.steps);
        let mut remap: HashMap<usize, usize> = HashMap::new();
        let mut steps: Vec<Option<Step>> = old_steps.into_iter().map(Some).collect();
        let mut new_open = None;
        for (i, (ev, k)) in old_events.into_iter().zip(keep).enumerate() {
            if !k {
                continue;
            }
            if Some(i) == failed_open {
                new_open = Some(self.events.len());
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
        self.failed_open = match (self.failed_open, new_open) {
            (Some((_, extra)), Some(i)) => Some((i, extra)),
            _ => None,
        };
        if dropped > 0 && !self.compacted {
            self.compacted = true;
            self.note(
                self.events
                    .iter()
                    .rev()
                    .find_map(|e| match e {
                        Event::Fact(f) => f.loc.line,
                        Event::FailedBanner { line, .. } => Some(*line),
                        Event::Step(i) => self.steps.get(*i).map(|s| s.line),
                    })
                    .unwrap_or(self.start_line),
                format!(
                    "more than {KEEP_PER_KIND} repeated ktest markers of one kind: only the first ones and the last are kept"
                ),
            );
        }
    }

    /// Emit the facts of this (last) run.
    fn emit(mut self, file: &str, facts: &mut Facts) {
        let target = self.last_test.unwrap_or(1);
        for o in self.options.iter().filter(|o| o.test.is_none()) {
            facts.push(
                format!("{}{}", keys::KTEST_OPT_PREFIX, o.key),
                o.value.as_str(),
                file,
                Some(o.line),
            );
        }
        for o in &self.options {
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
        if let Some(step) = self.build_step() {
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
        for (n, msg) in self.notes {
            facts.note(file, Some(n), msg);
        }
    }

    /// Effective option value for the test that ran last.
    fn opt(&self, key: &str) -> Option<&str> {
        let target = self.last_test.unwrap_or(1);
        let per_test = self
            .options
            .iter()
            .rev()
            .find(|o| o.key == key && o.test == Some(target));
        per_test
            .or_else(|| {
                self.options
                    .iter()
                    .rev()
                    .find(|o| o.key == key && o.test.is_none())
            })
            .map(|o| o.value.as_str())
    }

    /// The final build command: the last step equal to ktest's
    /// `<MAKE_CMD> O=<OUTPUT_DIR> <BUILD_OPTIONS>` (from the options dump),
    /// else the last `make` step that is not mrproper/clean/a config target.
    fn build_step(&self) -> Option<&Step> {
        self.build_step_index().and_then(|i| self.steps.get(i))
    }

    fn build_step_index(&self) -> Option<usize> {
        if let (Some(make), Some(out)) = (self.opt("MAKE_CMD"), self.opt("OUTPUT_DIR")) {
            let opts = self.opt("BUILD_OPTIONS").unwrap_or("");
            let want = format!("{make} O={out} {opts}");
            let want = want.trim();
            if let Some(i) = self.steps.iter().rposition(|s| s.command.trim() == want) {
                return Some(i);
            }
        }
        self.steps.iter().rposition(|s| is_build_like(&s.command))
    }
}

fn step_json(step: &Step) -> Value {
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

/// Heuristic for logs whose options dump does not give the build command:
/// a `make` invocation whose last word is not mrproper/clean/distclean, a
/// `*config` target, an install target or `kernelversion`.
fn is_build_like(cmd: &str) -> bool {
    let mut has_make = false;
    let mut last = "";
    for t in cmd.split_whitespace() {
        if t == "make" || t.ends_with("/make") {
            has_make = true;
        }
        last = t;
    }
    has_make
        && !matches!(
            last,
            "make" | "mrproper" | "clean" | "distclean" | "kernelversion"
        )
        && !last.ends_with("config")
        && !last.ends_with("install")
}

/// A status at the end of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StatusTail {
    result: StepResult,
    seconds: Option<u64>,
    /// `[N seconds]` form (else bare `SUCCESS`/`FAILED!`).
    timed: bool,
    /// Byte offset where the status starts (0: the line is only the status).
    start: usize,
}

/// Recognise `[N seconds] SUCCESS`, `[1 second] FAILED!` (possibly glued to
/// preceding output) or a bare `SUCCESS` / `FAILED!` at the end of `line`.
fn status_tail(line: &[u8]) -> Option<StatusTail> {
    let line = trim_end(line);
    let (rest, result) = if let Some(r) = line.strip_suffix(b"SUCCESS") {
        (r, StepResult::Success)
    } else if let Some(r) = line.strip_suffix(b"FAILED!") {
        (r, StepResult::Failed)
    } else {
        return None;
    };
    if let Some(inner) = rest.strip_suffix(b"] ") {
        let num = inner
            .strip_suffix(b" seconds")
            .or_else(|| inner.strip_suffix(b" second"));
        if let Some(num) = num {
            let digits = num.iter().rev().take_while(|b| b.is_ascii_digit()).count();
            let open = num.len() - digits;
            if digits > 0 && open > 0 && num[open - 1] == b'[' {
                return Some(StatusTail {
                    result,
                    seconds: parse_u64(&num[open..]),
                    timed: true,
                    start: open - 1,
                });
            }
        }
    }
    let start = rest.len();
    Some(StatusTail {
        result,
        seconds: None,
        timed: false,
        start,
    })
}

/// `KEY = value` or `KEY[n] = value` of the options dump.
fn parse_option(line: &[u8], n: u64) -> Option<OptLine> {
    let eq = memchr::memchr(b'=', line)?;
    let key = trim(&line[..eq]);
    let value = trim(&line[eq + 1..]);
    let (name, test) = match key.iter().position(|&b| b == b'[') {
        Some(p) => {
            let idx = key[p + 1..].strip_suffix(b"]")?;
            (&key[..p], Some(parse_u64(idx)?))
        }
        None => (key, None),
    };
    if name.is_empty()
        || !name
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
    {
        return None;
    }
    Some(OptLine {
        key: text(name, 256),
        test,
        value: text(value, MAX_TEXT),
        line: n,
    })
}

/// `n of m[ (name)] with option <rest>` (after `RUNNING TEST `).
fn parse_running_test(rest: &[u8]) -> Option<Value> {
    let s = String::from_utf8_lossy(rest);
    let (n, rest) = s.split_once(" of ")?;
    let n: u64 = n.trim().parse().ok()?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let total: u64 = rest.get(..digits)?.parse().ok()?;
    let rest = rest.get(digits..)?;
    let (name, option) = match rest.strip_prefix(" (") {
        Some(r) => {
            let (name, opt) = r.rsplit_once(") with option")?;
            (Some(name), opt)
        }
        None => (None, rest.strip_prefix(" with option")?),
    };
    let mut m = Map::new();
    m.insert("n".into(), Value::from(n));
    m.insert("total".into(), Value::from(total));
    m.insert("option".into(), Value::from(cap(option.trim(), MAX_TEXT)));
    if let Some(name) = name {
        m.insert("name".into(), Value::from(cap(name, MAX_TEXT)));
    }
    Some(Value::Object(m))
}

/// `*** WARNING found in build: 1 ***` / `*** WARNINGS found in build: N ***`.
fn parse_warnings_found(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(b"*** WARNING")?;
    let rest = rest.strip_prefix(b"S").unwrap_or(rest);
    let rest = rest.strip_prefix(b" found in build: ")?;
    let rest = trim_end(rest).strip_suffix(b"***")?;
    parse_u64(trim(rest))
}

/// `N of M tests were successful` (already trimmed).
fn parse_summary(t: &[u8]) -> Option<(u64, u64)> {
    let t = t.strip_suffix(b" tests were successful")?;
    let p = memmem::find(t, b" of ")?;
    Some((parse_u64(&t[..p])?, parse_u64(&t[p + 4..])?))
}

/// `[H hour[s] ][M minute[s] ]S second[s]` (ktest's show_time, §2.3), in
/// any order; `None` unless every word pair is understood.
pub(crate) fn parse_duration_words(s: &str) -> Option<u64> {
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.is_empty() || !words.len().is_multiple_of(2) {
        return None;
    }
    let mut total: u64 = 0;
    for pair in words.chunks(2) {
        let n: u64 = pair[0].parse().ok()?;
        let unit = match pair[1] {
            "hour" | "hours" => 3600,
            "minute" | "minutes" => 60,
            "second" | "seconds" => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    Some(total)
}

/// `[TEST n] reason` -> `reason` (the 2010 form has no tag).
fn strip_test_tag(s: &[u8]) -> &[u8] {
    if let Some(rest) = s.strip_prefix(b"[TEST ") {
        if let Some(p) = memchr::memchr(b']', rest) {
            if rest[..p].iter().all(u8::is_ascii_digit) {
                return trim(&rest[p + 1..]);
            }
        }
    }
    s
}

// ---- small byte helpers shared with output_log ----

pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

pub(crate) fn trim_end(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |p| p + 1);
    &s[..n]
}

pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let s = trim_end(s);
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    &s[start..]
}

/// Decimal digits only (no sign, no blanks), without overflow.
pub(crate) fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// Lossy UTF-8, at most `max` bytes (cut on a character boundary).
pub(crate) fn text(s: &[u8], max: usize) -> String {
    let s = &s[..s.len().min(max + 4)];
    cap(&String::from_utf8_lossy(s), max)
}

/// At most `max` bytes of `s`, cut on a character boundary.
pub(crate) fn cap(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logscan::scan;

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
