//! The tests of a ktest run, one by one (docs/ktest.md#the-tests-of-a-run).
//!
//! ktest.pl runs the `TEST_START` sections of its configuration in order,
//! each announced by `RUNNING TEST n of m [(<TEST_NAME>)] with option
//! <type> <run type>[ no_install]` and closed by its result banner. A
//! patchcheck test checks one commit after the other, each announced by
//! `Processing commit "<sha> <subject>"`: those are its *parts*; every
//! other test has one part. A part may build (its build step), boot (the
//! console output ktest watched after rebooting the target, up to the
//! line where it stopped watching) and run the TEST command (`run test
//! <command>`, the console until the result).
//!
//! [`Tests`] follows the framer's events of one run and gives the
//! `ktest.tests` fact: an array with one object per test. It keeps only
//! bounded text: the console excerpt (the lines around the first bug
//! line, else the last lines before the verdict). The console's line
//! range is kept too: those lines of the log are uploaded as the boot's
//! log.

use std::collections::VecDeque;

use serde_json::{json, Map, Value};

use crate::ktest_framing::{FrameEvent, OptLine, StepResult, MAX_TEXT};
use crate::ktest_log::{text, trim_end, Step};

/// Console lines kept for the excerpt: before the verdict, and from the
/// first bug line on.
const EXCERPT_LINES: usize = 40;
/// Tests kept per run (ktest runs are a handful; a log of thousands of
/// tests keeps the first ones and says so).
const MAX_TESTS: usize = 512;
/// Parts kept per test (patches of a patchcheck).
const MAX_PARTS: usize = 512;

/// A command step of a part, with its line (the facts of
/// [`crate::ktest_log`] give it as the fact's location).
fn step_json(step: &Step) -> Value {
    let mut v = crate::ktest_log::step_json(step);
    if let Value::Object(m) = &mut v {
        m.insert("line".into(), Value::from(step.line));
    }
    v
}

/// What ktest saw on the console of one part.
#[derive(Debug, Default)]
struct Console {
    /// First console line (after the last command before it).
    start_line: Option<u64>,
    end_line: Option<u64>,
    /// `booted`, `bug`, `timeout`, `triple_fault`: the line where ktest
    /// stopped watching says which.
    outcome: Option<&'static str>,
    /// That line.
    verdict: Option<(u64, String)>,
    /// First `Kernel panic -` / `Call Trace:` line.
    bug_line: Option<u64>,
    /// A `Call Trace` ktest ignored (IGNORE_ERRORS).
    ignored_bug: bool,
    /// The last console lines (before the bug or the verdict).
    recent: VecDeque<String>,
    /// The lines from the first bug line on.
    bug: Vec<String>,
}

impl Console {
    fn clear(&mut self) {
        *self = Console::default();
    }

    fn push(&mut self, n: u64, line: &str) {
        if self.start_line.is_none() {
            self.start_line = Some(n);
        }
        self.end_line = Some(n);
        if line.trim().is_empty() {
            return;
        }
        if self.bug_line.is_none() && (line.contains("Kernel panic -") || has_call_trace(line)) {
            self.bug_line = Some(n);
        }
        if self.bug_line.is_some() {
            if self.bug.len() < EXCERPT_LINES {
                self.bug.push(line.to_string());
            }
        } else {
            if self.recent.len() == EXCERPT_LINES {
                self.recent.pop_front();
            }
            self.recent.push_back(line.to_string());
        }
    }

    fn excerpt(&self) -> String {
        let mut lines: Vec<&str> = Vec::new();
        if self.bug_line.is_some() {
            // a few lines of context before the bug
            let before = self.recent.len().saturating_sub(8);
            lines.extend(self.recent.iter().skip(before).map(String::as_str));
            lines.extend(self.bug.iter().map(String::as_str));
        } else {
            lines.extend(self.recent.iter().map(String::as_str));
        }
        if let Some((_, v)) = &self.verdict {
            lines.push(v);
        }
        lines.join("\n")
    }

    fn json(&self) -> Option<Value> {
        let start = self.start_line.or(self.verdict.as_ref().map(|v| v.0))?;
        let mut m = Map::new();
        m.insert("start_line".into(), Value::from(start));
        if let Some(e) = self.verdict.as_ref().map(|v| v.0).or(self.end_line) {
            m.insert("end_line".into(), Value::from(e));
        }
        if let Some(o) = self.outcome {
            m.insert("outcome".into(), Value::from(o));
        }
        if let Some((line, v)) = &self.verdict {
            m.insert("verdict".into(), json!({"line": line, "text": v}));
        }
        if let Some(b) = self.bug_line {
            m.insert("bug_line".into(), Value::from(b));
        }
        if self.ignored_bug {
            m.insert("ignored_call_trace".into(), Value::from(true));
        }
        m.insert("excerpt".into(), Value::from(self.excerpt()));
        Some(Value::Object(m))
    }
}

/// One part of a test: the whole test, or one patch of a patchcheck.
#[derive(Debug, Default)]
struct Part {
    start_line: u64,
    /// `<sha> <subject>` of patchcheck's `Processing commit`.
    commit: Option<String>,
    /// The build step (the framer's rule; the last one of the part).
    build: Option<Step>,
    /// The first failed step.
    failed_step: Option<Step>,
    /// `run test <command>`.
    run_test: Option<(u64, String)>,
    /// The TEST command's step (its status is the test's result).
    test_step: Option<Step>,
    console: Console,
    /// Console lines after `run test` (the TEST command's run).
    test_console: Console,
    /// Times of ktest's print_times after this part.
    times: Map<String, Value>,
    end_line: u64,
}

impl Part {
    fn json(&self) -> Value {
        let mut m = Map::new();
        m.insert("start_line".into(), Value::from(self.start_line));
        m.insert("end_line".into(), Value::from(self.end_line));
        if let Some(c) = &self.commit {
            let (sha, subject) = c.split_once(' ').unwrap_or((c.as_str(), ""));
            m.insert("commit".into(), Value::from(sha));
            if !subject.is_empty() {
                m.insert("subject".into(), Value::from(subject));
            }
        }
        if let Some(b) = &self.build {
            m.insert("build".into(), step_json(b));
        }
        if let Some(f) = &self.failed_step {
            m.insert("failed_step".into(), step_json(f));
        }
        if let Some(c) = self.console.json() {
            m.insert("console".into(), c);
        }
        if let Some((line, cmd)) = &self.run_test {
            let mut t = match self.test_console.json() {
                Some(Value::Object(o)) => o,
                _ => Map::new(),
            };
            t.insert("line".into(), Value::from(*line));
            t.insert("command".into(), Value::from(cmd.as_str()));
            if let Some(step) = &self.test_step {
                t.insert("step".into(), step_json(step));
            }
            m.insert("run_test".into(), Value::Object(t));
        }
        for (k, v) in &self.times {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

/// One `RUNNING TEST`.
#[derive(Debug, Default)]
struct Test {
    n: u64,
    total: u64,
    name: Option<String>,
    kind: String,
    run_type: String,
    no_install: bool,
    line: u64,
    parts: Vec<Part>,
    /// `SUCCESS` / `FAILED` and the banner's line and reason.
    result: Option<(&'static str, u64, String)>,
    critical: Option<(u64, String)>,
    /// The options dump's `KEY[n]` lines of this test.
    options: Vec<(String, String, u64)>,
    end_line: u64,
}

impl Test {
    fn json(&self) -> Value {
        let mut m = Map::new();
        m.insert("n".into(), Value::from(self.n));
        m.insert("total".into(), Value::from(self.total));
        if let Some(name) = &self.name {
            m.insert("name".into(), Value::from(name.as_str()));
        }
        m.insert("type".into(), Value::from(self.kind.as_str()));
        m.insert("run_type".into(), Value::from(self.run_type.as_str()));
        if self.no_install {
            m.insert("no_install".into(), Value::from(true));
        }
        m.insert("line".into(), Value::from(self.line));
        m.insert("end_line".into(), Value::from(self.end_line));
        if let Some((r, line, reason)) = &self.result {
            m.insert("result".into(), Value::from(*r));
            m.insert("result_line".into(), Value::from(*line));
            if !reason.is_empty() {
                m.insert("reason".into(), Value::from(reason.as_str()));
            }
        }
        if let Some((line, why)) = &self.critical {
            m.insert("critical".into(), json!({"line": line, "reason": why}));
        }
        if !self.options.is_empty() {
            let opts: Vec<Value> = self
                .options
                .iter()
                .map(|(k, v, l)| json!({"key": k, "value": v, "line": l}))
                .collect();
            m.insert("options".into(), Value::Array(opts));
        }
        m.insert(
            "parts".into(),
            Value::Array(self.parts.iter().map(Part::json).collect()),
        );
        Value::Object(m)
    }

    fn part(&mut self) -> Option<&mut Part> {
        self.parts.last_mut()
    }
}

/// The tests of one run, from the framer's events (module docs).
#[derive(Debug, Default)]
pub struct Tests {
    tests: Vec<Test>,
    /// Per-test options of the dump, until their test starts.
    options: Vec<OptLine>,
    /// The running step, if any.
    step: Option<Step>,
    dropped: u64,
}

impl Tests {
    /// One event of the framer (in order).
    pub fn event(&mut self, ev: &FrameEvent<'_>) {
        match ev {
            FrameEvent::Option(o)
                if o.test.is_some() && self.options.len() < crate::ktest_framing::MAX_OPTIONS =>
            {
                self.options.push((*o).clone());
            }
            FrameEvent::Fact { line, key, value } => self.fact(*line, key, value),
            FrameEvent::Commit { line, item } => {
                if let Some(t) = self.tests.last_mut() {
                    // what came before the first commit (the list of
                    // commits to test) is no patch
                    if t.parts.len() == 1 && t.parts[0].is_preamble() {
                        t.parts.clear();
                    }
                    if t.parts.len() < MAX_PARTS {
                        t.parts.push(Part {
                            start_line: *line,
                            commit: Some(item.clone()),
                            end_line: *line,
                            ..Part::default()
                        });
                    }
                }
                self.seen(*line);
            }
            FrameEvent::StepStart {
                line,
                command,
                build,
                ..
            } => {
                self.step = Some(Step {
                    command: command.to_string(),
                    line: *line,
                    ..Step::default()
                });
                if *build {
                    if let Some(p) = self.tests.last_mut().and_then(Test::part) {
                        p.build = self.step.clone();
                    }
                }
                if let Some(p) = self.tests.last_mut().and_then(Test::part) {
                    // ktest reboots the target with commands: the console
                    // it then watches starts after the last of them.
                    if p.run_test.is_none() && p.console.outcome.is_none() {
                        p.console.clear();
                    }
                    if p.run_test.is_some() && p.test_step.is_none() {
                        p.test_step = self.step.clone();
                    }
                }
                self.seen(*line);
            }
            FrameEvent::StepEnd {
                line,
                result,
                seconds,
            } => {
                if let Some(mut step) = self.step.take() {
                    step.end_line = Some(*line);
                    step.seconds = *seconds;
                    step.result = Some(*result);
                    if let Some(p) = self.tests.last_mut().and_then(Test::part) {
                        if p.build.as_ref().is_some_and(|b| b.line == step.line) {
                            p.build = Some(step.clone());
                        }
                        if p.test_step.as_ref().is_some_and(|t| t.line == step.line) {
                            p.test_step = Some(step.clone());
                        }
                        if *result == StepResult::Failed && p.failed_step.is_none() {
                            p.failed_step = Some(step);
                        }
                    }
                }
                self.seen(*line);
            }
            FrameEvent::StepLost { line, .. } => {
                self.step = None;
                self.seen(*line);
            }
            FrameEvent::FailedBanner { line, reason } => {
                if let Some(t) = self.tests.last_mut() {
                    t.result = Some(("FAILED", *line, reason.clone()));
                }
                self.seen(*line);
            }
            FrameEvent::FailedReason { line, text } => {
                if let Some((_, _, reason)) = self.tests.last_mut().and_then(|t| t.result.as_mut())
                {
                    reason.push('\n');
                    reason.push_str(text);
                }
                self.seen(*line);
            }
            FrameEvent::Idle { line, text } => self.idle(*line, text),
            FrameEvent::StepOutput { line, text } => {
                if let Some(p) = self.tests.last_mut().and_then(Test::part) {
                    p.test_console.push(*line, &text_of(text));
                }
                self.seen(*line);
            }
            _ => {}
        }
    }

    fn fact(&mut self, line: u64, key: &str, value: &Value) {
        use crate::keys;
        match key {
            keys::KTEST_RUNNING_TEST => {
                let n = value.get("n").and_then(Value::as_u64).unwrap_or(0);
                let option = value.get("option").and_then(Value::as_str).unwrap_or("");
                let mut words: Vec<&str> = option.split_whitespace().collect();
                let no_install = words.last() == Some(&"no_install");
                if no_install {
                    words.pop();
                }
                let kind = words.first().copied().unwrap_or("").to_string();
                let run_type = words.get(1..).map(|w| w.join(" ")).unwrap_or_default();
                if self.tests.len() >= MAX_TESTS {
                    self.dropped += 1;
                    return;
                }
                let options = self
                    .options
                    .iter()
                    .filter(|o| o.test == Some(n))
                    .map(|o| (o.key.clone(), o.value.clone(), o.line))
                    .collect();
                self.step = None;
                self.tests.push(Test {
                    n,
                    total: value.get("total").and_then(Value::as_u64).unwrap_or(0),
                    name: value
                        .get("name")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    kind,
                    run_type,
                    no_install,
                    line,
                    parts: vec![Part {
                        start_line: line,
                        end_line: line,
                        ..Part::default()
                    }],
                    options,
                    end_line: line,
                    ..Test::default()
                });
            }
            keys::KTEST_SUCCESS_BANNER => {
                if let Some(t) = self.tests.last_mut() {
                    t.result = Some(("SUCCESS", line, String::new()));
                }
            }
            keys::KTEST_CRITICAL => {
                if let Some(t) = self.tests.last_mut() {
                    if t.critical.is_none() {
                        let why = value.as_str().unwrap_or("").to_string();
                        t.critical = Some((line, why));
                    }
                }
            }
            keys::KTEST_BUILD_TIME
            | keys::KTEST_REBOOT_TIME
            | keys::KTEST_TEST_TIME
            | keys::KTEST_INSTALL_TIME => {
                // print_times comes after the part (before the banner):
                // the times of the part that ran last.
                let short = key.trim_start_matches("ktest.");
                if let Some(p) = self.tests.last_mut().and_then(Test::part) {
                    if p.times.len() < 8 {
                        p.times.insert(short.to_string(), value.clone());
                    }
                }
            }
            keys::KTEST_SUMMARY => return,
            _ => {}
        }
        self.seen(line);
    }

    /// A line outside commands in a test that watches the console.
    fn idle(&mut self, n: u64, raw: &[u8]) {
        self.seen(n);
        let Some(p) = self.tests.last_mut().and_then(Test::part) else {
            return;
        };
        let line = text_of(raw);
        if is_monitor_chatter(&line) {
            return;
        }
        if let Some(cmd) = line.strip_prefix("run test ") {
            p.run_test = Some((n, cmd.to_string()));
            return;
        }
        let console = if p.run_test.is_some() {
            &mut p.test_console
        } else {
            &mut p.console
        };
        if console.outcome.is_some() {
            return;
        }
        if let Some(outcome) = verdict_line(&line) {
            if line.contains("Call Trace detected but ignored") {
                console.ignored_bug = true;
                return;
            }
            console.outcome = Some(outcome);
            console.verdict = Some((n, line));
            return;
        }
        console.push(n, &line);
    }

    fn seen(&mut self, n: u64) {
        if let Some(t) = self.tests.last_mut() {
            t.end_line = t.end_line.max(n);
            if let Some(p) = t.part() {
                p.end_line = p.end_line.max(n);
            }
        }
    }

    /// The `ktest.tests` value, `None` before the first `RUNNING TEST`.
    pub fn into_value(self) -> Option<(u64, Value)> {
        let first = self.tests.first()?.line;
        Some((
            first,
            Value::Array(self.tests.iter().map(Test::json).collect()),
        ))
    }

    /// Tests past [`MAX_TESTS`] that were not kept.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

impl Part {
    /// A part that is not a patch: no commit, and nothing built or run.
    fn is_preamble(&self) -> bool {
        self.commit.is_none()
            && self.build.is_none()
            && self.run_test.is_none()
            && self.failed_step.is_none()
    }
}

/// ktest's `/call trace:/i`, without lowercasing a copy of every line.
fn has_call_trace(line: &str) -> bool {
    line.as_bytes()
        .windows(b"call trace:".len())
        .any(|w| w.eq_ignore_ascii_case(b"call trace:"))
}

fn text_of(raw: &[u8]) -> String {
    text(trim_end(raw), MAX_TEXT)
}

/// ktest's own lines between the console's (not console output).
fn is_monitor_chatter(line: &str) -> bool {
    line.starts_with("** Wait for monitor to settle down")
        || line.starts_with("kill child process ")
        || line.starts_with("wait for child process ")
        || line == "REBOOTING"
        || line == "FAILED"
        || line.starts_with("Reboot did not finish")
        || line.starts_with("Reboot and wait ")
        || line.starts_with("*******")
        || line.starts_with("%%%%%%%")
        || line.starts_with("POWERING OFF")
}

/// The line on which ktest stopped watching the console, and what it
/// means (ktest.pl's monitor and do_run_test).
fn verdict_line(line: &str) -> Option<&'static str> {
    if line.starts_with("Successful boot found: break after")
        || (line.starts_with("Test forced to stop after") && line.ends_with("after success"))
    {
        Some("booted")
    } else if line.starts_with("bug timed out after")
        || (line.starts_with("Test forced to stop after") && line.ends_with("after failure"))
        || line == "Detected kernel crash!"
        || line.starts_with("WARNING: Call Trace detected but ignored")
    {
        Some("bug")
    } else if line.starts_with("Timed out after ") || line.starts_with("STOP_TEST_AFTER (") {
        Some("timeout")
    } else if line.starts_with("Already booted in Linux kernel ") {
        Some("triple_fault")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use crate::keys;
    use crate::ktest_log::Framing;
    use crate::logscan::scan;
    use serde_json::Value;

    /// `ktest.tests` of a log, read through the fast path (scan) and line
    /// by line: both must agree.
    fn tests_of(log: &str) -> Vec<Value> {
        let mut f = Framing::new("log");
        scan("log", log.as_bytes(), &mut [&mut f]).expect("scan");
        let fast = f.into_facts();
        let mut g = Framing::new("log");
        for (i, l) in log.split_terminator('\n').enumerate() {
            crate::logscan::LineSink::line(&mut g, i as u64 + 1, l.as_bytes());
        }
        let slow = g.into_facts();
        let get = |f: &crate::Facts| f.last(keys::KTEST_TESTS).map(|x| x.value.clone());
        assert_eq!(get(&fast), get(&slow), "fast path and line path differ");
        get(&fast)
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    }

    const HEAD: &str = "STARTING AUTOMATED TESTS\n\nDEFAULT OPTIONS:\nMAKE_CMD = make\nOUTPUT_DIR = /o\nBUILD_OPTIONS = -j2\nTEST_TYPE[2] = boot\n\n";

    #[test]
    fn each_test_has_its_build_console_and_verdict() {
        let log = format!(
            "{HEAD}RUNNING TEST 1 of 2 with option build tinyconfig no_install\n\n\
make O=/o -j2 ... x\n[3 seconds] FAILED!\nFAILED\n%%%%\n\
KTEST RESULT: TEST 1 Failed: failed build\n%%%%\n\n\
RUNNING TEST 2 of 2 with option boot nobuild no_install\n\n\
/bin/reboot-it ... [0 seconds] SUCCESS\n\
Linux version 6.1.0\nRun /init as init process\nKernel panic - not syncing: Attempted to kill init!\n\
bug timed out after 1 seconds\nFAILED\nReboot time:  1 minute 8 seconds\n\
%%%%\nKTEST RESULT: TEST 2 Failed: failed - got a bug report\n%%%%\n\n    0 of 2 tests were successful\n"
        );
        let t = tests_of(&log);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0]["type"], "build");
        assert_eq!(t[0]["run_type"], "tinyconfig");
        assert_eq!(t[0]["parts"][0]["build"]["result"], "FAILED");
        assert_eq!(t[0]["reason"], "failed build");
        assert!(t[0]["parts"][0].get("console").is_none());
        let c = &t[1]["parts"][0]["console"];
        assert_eq!(c["outcome"], "bug");
        assert_eq!(c["start_line"], 21);
        assert_eq!(c["bug_line"], 23);
        assert!(c["excerpt"]
            .as_str()
            .unwrap_or("")
            .contains("Kernel panic - not syncing"));
        assert_eq!(t[1]["parts"][0]["reboot_time"], 68);
        assert_eq!(t[1]["options"][0]["key"], "TEST_TYPE");
    }

    #[test]
    fn a_patchcheck_has_a_part_per_commit_and_the_test_run_its_output() {
        let log = format!(
            "{HEAD}RUNNING TEST 1 of 1 (smoke) with option patchcheck test\n\n\
Going to test the following commits:\naaaa first\nbbbb second\n\n\
Processing commit \"aaaa first\"\n\ngit checkout aaaa ... [0 seconds] SUCCESS\n\
make O=/o -j2 ... [5 seconds] SUCCESS\n/bin/reboot-it ... [0 seconds] SUCCESS\n\
harvest-boot: login:\nSuccessful boot found: break after 1 second\n\
run test /t.sh\n/t.sh ... t: one\nt: two\n[1 second] SUCCESS\nTest time:    1 second\n\n\
Processing commit \"bbbb second\"\n\ngit checkout bbbb ... [0 seconds] SUCCESS\n\
make O=/o -j2 ... [4 seconds] SUCCESS\n/bin/reboot-it ... [0 seconds] SUCCESS\n\
harvest-boot: login:\nSuccessful boot found: break after 1 second\n\
run test /t.sh\n/t.sh ... t: broken\n[1 second] FAILED!\nFAILED\n\
KTEST RESULT: TEST 1 (smoke) Failed: test failed\n"
        );
        let t = tests_of(&log);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0]["name"], "smoke");
        let parts = t[0]["parts"].as_array().expect("parts");
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert_eq!(parts[0]["commit"], "aaaa");
        assert_eq!(parts[1]["subject"], "second");
        assert_eq!(parts[0]["console"]["outcome"], "booted");
        let run = &parts[0]["run_test"];
        assert_eq!(run["command"], "/t.sh");
        assert_eq!(run["step"]["result"], "SUCCESS");
        assert_eq!(run["excerpt"], "t: one\nt: two");
        assert_eq!(parts[1]["run_test"]["step"]["result"], "FAILED");
        assert_eq!(parts[1]["run_test"]["excerpt"], "t: broken");
        assert_eq!(t[0]["result"], "FAILED");
    }
}
