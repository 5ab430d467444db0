//! test_stable_ssh `output_log`: the stdout+stderr of `run_test.sh`
//! (docs/inputs.md#output_log-line-by-line), read line by line (`output_log.gz` too).
//!
//! In order, the file holds: `update the git tree at <path>` and the
//! `git fetch --all` output (2021+); `Starting to test kernel version <V>`;
//! the `tar -zxvf` listing of the queue (`./`, `./series`, `./foo.patch`);
//! the patch names `git quiltimport` prints (pre-2018: `quilt push -aq`'s
//! `Applying patch <name>`) and any failure lines; ktest's stdout from
//! `STARTING AUTOMATED TESTS` on (plus its die message on stderr); then
//! `KTEST_RUN = N`, `Took N seconds to build`, `Warnings = N`, `Errors   = N`.
//!
//! Facts: the `output_log.*` keys of [`crate::keys`], and ktest's framing
//! as seen on its stdout under `output_log.ktest.*` (the same facts as
//! `ktest.*`, computed by [`crate::ktest_log::Framing`] on the ktest part).
//! When the file holds several runs of the script (appended), only the last
//! run's facts are emitted, with a note.
//!
//! Patch names are recognised by membership in the tar listing (quiltimport
//! prints exactly the series entries, which are members of the tarball), so
//! `git fetch`/`git pull` output, blank lines or `Fetching origin` are never
//! taken for patches. A name followed by failure lines is the failed patch
//! ([`keys::PATCH_FAILED`]); the others are applied.

use std::collections::HashSet;

use serde_json::Value;

use crate::keys;
use crate::ktest_log::{parse_u64, text, trim, trim_end, Framing};
use crate::logscan::{scan, LineSink};
use crate::{Facts, Input, ParseError, Parser};

/// Longest text value kept.
const MAX_TEXT: usize = 4 * 1024;
/// Lines of a die message kept.
const MAX_DIE_LINES: usize = 20;
/// Tar members and failed patch names tracked at most (a stable queue has a
/// few hundred; a hostile listing must not grow memory without bound).
const MAX_TRACKED: usize = 16 * 1024;

/// test_stable_ssh output_log: KTEST_RUN, Took N seconds, Warnings/Errors, quiltimport lines and failures
pub struct OutputLog;

impl Parser for OutputLog {
    fn id(&self) -> &'static str {
        "output-log"
    }
    fn description(&self) -> &'static str {
        "test_stable_ssh output_log: KTEST_RUN, Took N seconds, Warnings/Errors, tar listing, quiltimport/quilt applied and failed patches, ktest die message, ktest stdout framing"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &["output_log", "output_log.gz"]
    }
    fn parse(&self, input: &Input, facts: &mut Facts) -> Result<(), ParseError> {
        let Some(opened) = input.open("output_log")? else {
            return Ok(());
        };
        let mut sink = OutputSink::new(&opened.name);
        scan(&opened.name, opened.reader, &mut [&mut sink])?;
        facts.extend(sink.into_facts());
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Before `Starting to test kernel …` (git fetch output).
    Start,
    /// Clone, tar listing, patch application.
    Setup,
    /// ktest's stdout/stderr.
    Ktest,
    /// After `KTEST_RUN = N`.
    After,
}

/// One run of run_test.sh.
struct ScriptRun {
    start_line: u64,
    seen_update: bool,
    seen_starting: bool,
    phase: Phase,
    /// Bounded like every [`Facts`]; locations get the file name at [`ScriptRun::emit`].
    facts: Facts,
    /// Tar members without the leading `./` (directories and `series` excluded).
    members: HashSet<String>,
    listing: bool,
    /// The patch step began (listing, quilt output, git pull output).
    patching: bool,
    /// A printed patch name whose outcome is not known yet.
    pending_patch: Option<(String, u64)>,
    /// Patches already reported as failed (quilt names the failed patch
    /// again after its hunk failures).
    failed: Vec<String>,
    framing: Option<Framing>,
    /// Die message lines after ` See … for more info.`.
    die: Option<(u64, Vec<String>)>,
    notes: Vec<(u64, String)>,
}

impl ScriptRun {
    fn new(start_line: u64) -> Self {
        ScriptRun {
            start_line,
            seen_update: false,
            seen_starting: false,
            phase: Phase::Start,
            facts: Facts::new(),
            members: HashSet::new(),
            listing: false,
            patching: false,
            pending_patch: None,
            failed: Vec::new(),
            framing: None,
            die: None,
            notes: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        !self.seen_update
            && !self.seen_starting
            && self.phase == Phase::Start
            && self.facts.items().is_empty()
    }

    fn push(&mut self, key: &'static str, value: impl Into<Value>, n: u64) {
        self.facts.push(key, value, "", Some(n));
    }

    fn note(&mut self, n: u64, msg: impl Into<String>) {
        if self.notes.len() < crate::facts::MAX_NOTES {
            self.notes.push((n, msg.into()));
        }
    }

    fn line(&mut self, n: u64, line: &[u8], t: &[u8]) {
        if self.phase == Phase::Ktest {
            if let Some(f) = self.framing.as_mut() {
                if !t.starts_with(b"KTEST_RUN") {
                    f.line(n, line);
                }
            }
        }
        if t.is_empty() {
            return;
        }
        if t.starts_with(b"No stable queue at this point in time") {
            self.push(keys::NO_QUEUE, true, n);
            return;
        }
        if let Some(rest) = t.strip_prefix(b"KTEST_RUN") {
            match parse_assignment_int(rest) {
                Some(v) => {
                    self.flush_die();
                    self.flush_pending_applied();
                    self.push(keys::KTEST_EXIT, v, n);
                    self.phase = Phase::After;
                }
                None => self.note(n, "`KTEST_RUN =` without a number"),
            }
            return;
        }
        match self.phase {
            Phase::Ktest => self.ktest_line(n, t),
            _ if t == b"STARTING AUTOMATED TESTS" => {
                self.flush_pending_applied();
                self.phase = Phase::Ktest;
                let mut f = Framing::new("");
                f.line(n, line);
                self.framing = Some(f);
            }
            _ => {
                if self.summary_line(n, t) {
                    return;
                }
                if self.phase == Phase::Setup {
                    self.setup_line(n, t);
                }
            }
        }
    }

    fn ktest_line(&mut self, n: u64, t: &[u8]) {
        if let Some((_, lines)) = self.die.as_mut() {
            if lines.len() < MAX_DIE_LINES {
                lines.push(text(t, MAX_TEXT));
            }
            return;
        }
        if t.starts_with(b" See ") && t.ends_with(b" for more info.") {
            self.die = Some((n + 1, Vec::new()));
            return;
        }
        if t.starts_with(b"Caught Sig Int") {
            self.push(keys::KTEST_DIE, text(t, MAX_TEXT), n);
        }
    }

    /// `Took N seconds to build`, `Warnings = N`, `Errors   = N`.
    fn summary_line(&mut self, n: u64, t: &[u8]) -> bool {
        if let Some(rest) = t.strip_prefix(b"Took ") {
            let rest = trim(rest);
            let digits_end = rest
                .iter()
                .position(|b| !(b.is_ascii_digit() || *b == b'-'))
                .unwrap_or(rest.len());
            let (num, unit) = rest.split_at(digits_end);
            let unit = trim(unit);
            if unit == b"seconds to build" || unit == b"second to build" {
                match parse_u64(num) {
                    Some(v) => self.push(keys::TOOK_SECONDS, v, n),
                    None => self.note(n, "`Took … seconds to build` is not a count of seconds"),
                }
                return true;
            }
            return false;
        }
        for (prefix, key) in [
            (&b"Warnings"[..], keys::WARNINGS_REPORTED),
            (&b"Errors"[..], keys::ERRORS_REPORTED),
        ] {
            if let Some(rest) = t.strip_prefix(prefix) {
                if !trim(rest).starts_with(b"=") {
                    return false;
                }
                match parse_assignment_int(rest) {
                    Some(v) if v >= 0 => self.push(key, v, n),
                    _ => self.note(
                        n,
                        format!(
                            "`{} =` without a count (grep found no log?)",
                            String::from_utf8_lossy(prefix)
                        ),
                    ),
                }
                return true;
            }
        }
        false
    }

    /// Between `Starting to test kernel` and `STARTING AUTOMATED TESTS`.
    fn setup_line(&mut self, n: u64, t: &[u8]) {
        if t == b"." || t.starts_with(b"./") {
            self.push(keys::TAR_MEMBER, text(t, MAX_TEXT), n);
            self.listing = true;
            self.patching = true;
            let name = text(t.get(2..).unwrap_or_default(), MAX_TEXT);
            if !name.is_empty()
                && !name.ends_with('/')
                && name != "series"
                && self.members.len() < MAX_TRACKED
            {
                self.members.insert(name);
            }
            return;
        }
        let s = text(t, MAX_TEXT);
        if self.listing && self.members.contains(&s) {
            self.patch_printed(s, n);
            return;
        }
        if let Some(p) = s.strip_prefix("Applying patch ") {
            let name = strip_patches_dir(p.trim()).to_string();
            self.patching = true;
            self.patch_printed(name, n);
            return;
        }
        if let Some(rest) = s.strip_prefix("Patch ") {
            for tail in [
                " does not apply (enforce with -f)",
                " can be reverse-applied",
            ] {
                if let Some(name) = rest.strip_suffix(tail) {
                    let name = strip_patches_dir(name.trim()).to_string();
                    self.push(keys::PATCH_ERROR, s.as_str(), n);
                    if self.pending_patch.as_ref().is_some_and(|(p, _)| *p == name) {
                        self.pending_patch = None;
                    }
                    self.patch_failed(name, n);
                    return;
                }
            }
        }
        if let Some(name) = s.strip_suffix(" doesn't exist. Skipping.") {
            // quiltimport skips a series entry whose file is missing.
            self.push(keys::PATCH_ERROR, s.as_str(), n);
            self.patch_failed(name.trim().to_string(), n);
            return;
        }
        if is_patch_failure(&s) {
            let git_msg = s.starts_with("error: ") || s.starts_with("fatal: ");
            if git_msg && !self.patching {
                self.push(keys::SETUP_ERROR, s.as_str(), n);
                return;
            }
            self.push(keys::PATCH_ERROR, s.as_str(), n);
            if let Some((name, _)) = self.pending_patch.take() {
                self.patch_failed(name, n);
            }
            return;
        }
        if s.starts_with("From ")
            || s.starts_with("Updating ")
            || s == "Fast-forward"
            || s.starts_with("Merge made by")
        {
            // `git pull <tree> <branch>` (tt/pt variants).
            self.patching = true;
            return;
        }
        if !self.listing && looks_like_patch_name(&s) {
            self.patching = true;
            self.patch_printed(s, n);
        }
    }

    /// quiltimport/quilt printed a patch name: the previous one applied.
    fn patch_printed(&mut self, name: String, n: u64) {
        self.flush_pending_applied();
        self.pending_patch = Some((name, n));
    }

    fn patch_failed(&mut self, name: String, n: u64) {
        if !self.failed.contains(&name) {
            if self.failed.len() < MAX_TRACKED {
                self.failed.push(name.clone());
            }
            self.push(keys::PATCH_FAILED, name, n);
        }
    }

    fn flush_pending_applied(&mut self) {
        if let Some((name, n)) = self.pending_patch.take() {
            self.push(keys::QUILTIMPORT_APPLIED, name, n);
        }
    }

    fn flush_die(&mut self) {
        if let Some((n, lines)) = self.die.take() {
            if !lines.is_empty() {
                self.push(keys::KTEST_DIE, lines.join("\n"), n);
            }
        }
    }

    fn finish(&mut self) {
        self.flush_die();
        if let Some((name, n)) = self.pending_patch.take() {
            self.note(
                n,
                format!("output ends while applying `{name}`: outcome unknown"),
            );
        }
    }

    fn emit(mut self, file: &str, facts: &mut Facts) {
        self.finish();
        for mut fact in self.facts.into_items() {
            fact.loc.file = file.to_string();
            facts.add(fact);
        }
        if let Some(framing) = self.framing {
            let mut f = framing.into_facts();
            let notes = std::mem::take(&mut f.notes);
            for mut fact in f.into_items() {
                if let Some(rest) = fact.key.strip_prefix("ktest.") {
                    fact.key = format!("{}{rest}", keys::OUTPUT_KTEST_PREFIX);
                }
                fact.loc.file = file.to_string();
                facts.add(fact);
            }
            for note in notes {
                facts.note(file, note.loc.line, note.message);
            }
        }
        for (n, msg) in self.notes {
            facts.note(file, Some(n), msg);
        }
    }
}

/// Line sink over output_log; [`OutputSink::into_facts`] gives the facts of
/// the last script run in the file.
pub struct OutputSink {
    file: String,
    runs: u64,
    run: ScriptRun,
}

impl OutputSink {
    pub fn new(file: &str) -> Self {
        OutputSink {
            file: file.to_string(),
            runs: 1,
            run: ScriptRun::new(1),
        }
    }

    pub fn into_facts(self) -> Facts {
        let mut facts = Facts::new();
        let start = self.run.start_line;
        let file = self.file;
        self.run.emit(&file, &mut facts);
        if self.runs > 1 {
            facts.note(
                &file,
                Some(start),
                format!(
                    "output_log holds {} runs of run_test.sh; facts describe the last one",
                    self.runs
                ),
            );
        }
        facts
    }

    fn new_run(&mut self, n: u64) {
        self.runs += 1;
        self.run = ScriptRun::new(n);
    }
}

impl LineSink for OutputSink {
    fn line(&mut self, n: u64, line: &[u8]) {
        let t = trim_end(line);
        // ktest never prints these two: they start a run of the script.
        if let Some(rest) = t.strip_prefix(b"update the git tree at ") {
            if !self.run.is_empty() {
                self.new_run(n);
            }
            self.run.seen_update = true;
            self.run
                .push(keys::OUTPUT_STABLE_GIT, text(trim(rest), MAX_TEXT), n);
            return;
        }
        if let Some(rest) = t.strip_prefix(b"Starting to test kernel ") {
            if self.run.seen_starting {
                self.new_run(n);
            }
            self.run.seen_starting = true;
            self.run.phase = Phase::Setup;
            if let Some(v) = rest.strip_prefix(b"version ") {
                self.run
                    .push(keys::OUTPUT_KERNEL_VERSION, text(trim(v), MAX_TEXT), n);
            } else if let Some(b) = rest.strip_prefix(b"branch ") {
                self.run
                    .push(keys::OUTPUT_KERNEL_BRANCH, text(trim(b), MAX_TEXT), n);
            }
            return;
        }
        self.run.line(n, line, t);
    }
}

/// ` = N` / `=N` / `   = N` after a name: the (signed) integer.
fn parse_assignment_int(rest: &[u8]) -> Option<i64> {
    let v = trim(trim(rest).strip_prefix(b"=")?);
    let (neg, digits) = match v.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, v),
    };
    let x = i64::try_from(parse_u64(digits)?).ok()?;
    Some(if neg { -x } else { x })
}

/// quilt prints `patches/<name>` when QUILT_PATCHES=patches.
fn strip_patches_dir(name: &str) -> &str {
    name.strip_prefix("patches/").unwrap_or(name)
}

/// Lines that mean a patch (or the pulled branch) did not apply.
fn is_patch_failure(s: &str) -> bool {
    s.starts_with("error: ")
        || s.starts_with("fatal: ")
        || (s.starts_with("Hunk #") && s.contains(" FAILED"))
        || (s.contains(" out of ") && s.contains(" FAILED"))
        || s.starts_with("Patch is empty")
        || s.starts_with("No author found in ")
        || s.starts_with("trailing garbage found in series file")
        || s.starts_with("CONFLICT (")
        || s.starts_with("Automatic merge failed")
}

/// A bare patch file name (only used when there was no tar listing).
fn looks_like_patch_name(s: &str) -> bool {
    !s.is_empty()
        && !s.contains(char::is_whitespace)
        && (s.ends_with(".patch") || s.ends_with(".diff"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::check_fixtures;

    fn run(text: &str) -> Facts {
        let mut s = OutputSink::new("output_log");
        scan("output_log", text.as_bytes(), &mut [&mut s]).expect("scan");
        s.into_facts()
    }

    fn strs(f: &Facts, key: &str) -> Vec<String> {
        f.all(key)
            .filter_map(|x| x.value.as_str().map(str::to_string))
            .collect()
    }

    const HEAD: &str = "update the git tree at /home/bob/linux/stable\n\nFetching origin\n\
Starting to test kernel version 6.1\n\n./\n./series\n./b.patch\n./a.patch\n./c.patch\n";

    const TAIL_PASS: &str = "\n\nSTARTING AUTOMATED TESTS\n\nDEFAULT OPTIONS:\nBUILD_TYPE = tinyconfig\n\n\
RUNNING TEST 1 of 1 with option build tinyconfig\n\n\
make O=/o mrproper ... [3 seconds] SUCCESS\nmake O=/o -j2 ... [33 seconds] SUCCESS\n\n\
Build time:   42 seconds\n\n\n\n*****\n*****\nKTEST RESULT: TEST 1 SUCCESS!!!!   **\n*****\n*****\n\n\
\x20   1 of 1 tests were successful\n\n\n See /o/log for the record of results.\n\n\
KTEST_RUN = 0\nTook 42 seconds to build\n\nWarnings = 1\nErrors   = 0\n";

    #[test]
    fn current_script_pass() {
        let f = run(&format!("{HEAD}b.patch\na.patch\nc.patch{TAIL_PASS}"));
        assert_eq!(
            f.str(keys::OUTPUT_STABLE_GIT).map(|x| x.0),
            Some("/home/bob/linux/stable")
        );
        assert_eq!(f.str(keys::OUTPUT_KERNEL_VERSION).map(|x| x.0), Some("6.1"));
        assert_eq!(
            strs(&f, keys::TAR_MEMBER),
            ["./", "./series", "./b.patch", "./a.patch", "./c.patch"]
        );
        assert_eq!(
            strs(&f, keys::QUILTIMPORT_APPLIED),
            ["b.patch", "a.patch", "c.patch"]
        );
        assert!(!f.has(keys::PATCH_ERROR));
        assert!(!f.has(keys::PATCH_FAILED));
        assert_eq!(f.int(keys::KTEST_EXIT).map(|x| x.0), Some(0));
        assert_eq!(f.int(keys::TOOK_SECONDS).map(|x| x.0), Some(42));
        assert_eq!(f.int(keys::WARNINGS_REPORTED).map(|x| x.0), Some(1));
        assert_eq!(f.int(keys::ERRORS_REPORTED).map(|x| x.0), Some(0));
        assert!(!f.has(keys::KTEST_DIE));
        assert!(f.has("output_log.ktest.success_banner"));
        assert_eq!(
            f.int("output_log.ktest.build_seconds").map(|x| x.0),
            Some(33)
        );
        assert_eq!(
            f.str("output_log.ktest.opt.BUILD_TYPE").map(|x| x.0),
            Some("tinyconfig")
        );
        assert_eq!(
            f.str("output_log.ktest.last_line").map(|x| x.0),
            Some(" See /o/log for the record of results.")
        );
        assert!(f.notes.is_empty(), "{:?}", f.notes);
        let loc = f.last(keys::QUILTIMPORT_APPLIED).map(|x| x.loc.to_string());
        assert_eq!(loc.as_deref(), Some("output_log:13"));
    }

    #[test]
    fn quiltimport_failure() {
        let f = run(&format!(
            "{HEAD}b.patch\na.patch\nerror: patch failed: kernel/panic.c:808\n\
error: kernel/panic.c: patch does not apply\n{TAIL_PASS}"
        ));
        assert_eq!(strs(&f, keys::QUILTIMPORT_APPLIED), ["b.patch"]);
        assert_eq!(strs(&f, keys::PATCH_FAILED), ["a.patch"]);
        assert_eq!(
            strs(&f, keys::PATCH_ERROR),
            [
                "error: patch failed: kernel/panic.c:808",
                "error: kernel/panic.c: patch does not apply"
            ]
        );
        assert!(!f.has(keys::SETUP_ERROR));
    }

    #[test]
    fn old_quilt_push_output() {
        let f = run(
            "Starting to test kernel version 3.4\n\n./\n./series\n./a.patch\n./b.patch\n\
Applying patch patches/a.patch\nApplying patch patches/b.patch\n1 out of 2 hunks FAILED\n\
Patch patches/b.patch does not apply (enforce with -f)\n\n\nSTARTING AUTOMATED TESTS\n\
KTEST_RUN = 0\nTook 900 seconds to build\n",
        );
        assert_eq!(strs(&f, keys::QUILTIMPORT_APPLIED), ["a.patch"]);
        assert_eq!(strs(&f, keys::PATCH_FAILED), ["b.patch"]);
        assert_eq!(
            strs(&f, keys::PATCH_ERROR),
            [
                "1 out of 2 hunks FAILED",
                "Patch patches/b.patch does not apply (enforce with -f)"
            ]
        );
        assert!(!f.has(keys::WARNINGS_REPORTED));
    }

    #[test]
    fn fetch_and_pull_output_are_not_patches() {
        let f = run("update the git tree at /s\n\nFetching origin\nFetching stable\nerror: could not fetch stable\n\
Starting to test kernel branch pull_tests\n\nFrom git://git.kernel.org/x\n * branch  pull_tests -> FETCH_HEAD\n\
Updating 1234..5678\nFast-forward\n foo.patch | 2 +-\n a.c      | 1 +\n 2 files changed\n\n\
STARTING AUTOMATED TESTS\n");
        assert!(!f.has(keys::QUILTIMPORT_APPLIED));
        assert!(!f.has(keys::PATCH_ERROR));
        assert!(!f.has(keys::SETUP_ERROR));
        assert_eq!(
            f.str(keys::OUTPUT_KERNEL_BRANCH).map(|x| x.0),
            Some("pull_tests")
        );
        let f = run("Starting to test kernel branch b\nFrom git://x\nCONFLICT (content): Merge conflict in a.c\n\
Automatic merge failed; fix conflicts and then commit the result.\n");
        assert_eq!(f.all(keys::PATCH_ERROR).count(), 2);
        assert!(!f.has(keys::PATCH_FAILED));
    }

    #[test]
    fn clone_failure_is_a_setup_error() {
        let f = run("Starting to test kernel version 6.20\n\n\
fatal: Remote branch linux-6.20.y not found in upstream origin\n./\n./series\n");
        assert_eq!(
            strs(&f, keys::SETUP_ERROR),
            ["fatal: Remote branch linux-6.20.y not found in upstream origin"]
        );
        assert!(!f.has(keys::PATCH_ERROR));
    }

    #[test]
    fn ktest_die_message_and_exit() {
        let f = run(&format!(
            "{HEAD}b.patch\na.patch\nc.patch\n\n\nSTARTING AUTOMATED TESTS\n\n\
make O=/o -j2 ... [14 seconds] FAILED!\nCRITICAL FAILURE... [TEST 1] failed build\n\
\x20See /o/log for more info.\nfailed build\nKTEST_RUN = 255\nTook 23 seconds to build\n\n\
Warnings = 1\nErrors   = 1\n"
        ));
        assert_eq!(f.str(keys::KTEST_DIE).map(|x| x.0), Some("failed build"));
        let loc = f.last(keys::KTEST_DIE).and_then(|x| x.loc.line);
        assert_eq!(loc, Some(21));
        assert_eq!(f.int(keys::KTEST_EXIT).map(|x| x.0), Some(255));
        assert_eq!(
            f.str("output_log.ktest.critical_failure").map(|x| x.0),
            Some("failed build")
        );
        assert_eq!(
            f.str("output_log.ktest.build_result").map(|x| x.0),
            Some("FAILED")
        );
        assert_eq!(
            f.str("output_log.ktest.last_line").map(|x| x.0),
            Some("failed build")
        );
    }

    #[test]
    fn die_on_failure_0_exits_0_with_failed_banner() {
        let f = run("Starting to test kernel version 6.1\n\nSTARTING AUTOMATED TESTS\n\
make O=/o -j2 ... [28 seconds] FAILED!\nFAILED\n\n%%%%\n%%%%\nKTEST RESULT: TEST 1 Failed: failed build\n\
%%%%\n%%%%\n\n    0 of 1 tests were successful\n\n\n See /o/log for the record of results.\n\n\
KTEST_RUN = 0\nTook 30 seconds to build\n");
        assert_eq!(f.int(keys::KTEST_EXIT).map(|x| x.0), Some(0));
        assert_eq!(
            f.str("output_log.ktest.failed_banner").map(|x| x.0),
            Some("failed build")
        );
        assert!(!f.has(keys::KTEST_DIE));
    }

    #[test]
    fn appended_rerun_last_values_win_and_lists_reset() {
        let first = format!("{HEAD}b.patch\na.patch\nerror: patch failed: x:1\n{TAIL_PASS}");
        let second =
            format!("{HEAD}b.patch\na.patch\nc.patch{TAIL_PASS}").replace("Took 42", "Took 50");
        let f = run(&format!("{first}{second}"));
        assert_eq!(
            strs(&f, keys::QUILTIMPORT_APPLIED),
            ["b.patch", "a.patch", "c.patch"]
        );
        assert!(!f.has(keys::PATCH_ERROR));
        assert_eq!(f.all(keys::TAR_MEMBER).count(), 5);
        assert_eq!(f.int(keys::TOOK_SECONDS).map(|x| x.0), Some(50));
        assert_eq!(f.all(keys::TOOK_SECONDS).count(), 1);
        assert_eq!(f.notes.len(), 1, "{:?}", f.notes);
        assert!(f.notes[0].message.contains("2 runs"));
    }

    #[test]
    fn truncated_run_and_odd_values() {
        let f = run(&format!("{HEAD}b.patch"));
        assert!(!f.has(keys::QUILTIMPORT_APPLIED));
        assert!(!f.has(keys::KTEST_EXIT));
        assert_eq!(f.notes.len(), 1);
        let f = run(
            "KTEST_RUN = 0\nTook -3 seconds to build\n\nWarnings = \nErrors   = 0\nKTEST_RUN=\n",
        );
        assert_eq!(f.int(keys::KTEST_EXIT).map(|x| x.0), Some(0));
        assert!(!f.has(keys::TOOK_SECONDS));
        assert!(!f.has(keys::WARNINGS_REPORTED));
        assert_eq!(f.int(keys::ERRORS_REPORTED).map(|x| x.0), Some(0));
        assert_eq!(f.notes.len(), 3, "{:?}", f.notes);
        for (line, want) in [
            ("Warnings=7", Some(7)),
            ("Warnings    =    12", Some(12)),
            ("Warnings are bad", None),
        ] {
            let f = run(&format!("KTEST_RUN = 1\n{line}\n"));
            assert_eq!(f.int(keys::WARNINGS_REPORTED).map(|x| x.0), want, "{line}");
        }
    }

    #[test]
    fn no_queue_and_sigint() {
        let f = run("No stable queue at this point in time, are you sure you picked the right kernel version?\n\
Starting to test kernel version 6.1\n\nSTARTING AUTOMATED TESTS\nmake O=/o -j2 ... \n\
Caught Sig Int, test interrupted: Interrupted system call\nKTEST_RUN = 4\n");
        assert_eq!(f.bool(keys::NO_QUEUE).map(|x| x.0), Some(true));
        assert_eq!(
            f.str(keys::KTEST_DIE).map(|x| x.0),
            Some("Caught Sig Int, test interrupted: Interrupted system call")
        );
        assert!(f.has("output_log.ktest.unfinished_command"));
    }

    #[test]
    fn crlf_and_invalid_utf8() {
        let mut s = OutputSink::new("output_log");
        let bytes = b"Starting to test kernel version 6.1\r\n./\r\n./a\xffb.patch\r\na\xffb.patch\r\nKTEST_RUN = 0\r\n";
        scan("output_log", &bytes[..], &mut [&mut s]).expect("scan");
        let f = s.into_facts();
        assert_eq!(strs(&f, keys::QUILTIMPORT_APPLIED), ["a\u{fffd}b.patch"]);
        assert_eq!(f.str(keys::OUTPUT_KERNEL_VERSION).map(|x| x.0), Some("6.1"));
    }

    #[test]
    fn fixtures() {
        assert!(check_fixtures(&OutputLog) >= 5);
    }

    #[test]
    fn missing_file_is_no_facts() {
        let dir = std::env::temp_dir().join("kcidb-harvest-output-log-missing");
        let mut f = Facts::new();
        OutputLog
            .parse(&Input::new(&dir), &mut f)
            .expect("missing output_log is fine");
        assert!(f.items().is_empty());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let mut s = OutputSink::new("output_log");
            for (i, l) in bytes.split(|&b| b == b'\n').enumerate() {
                s.line(i as u64 + 1, l);
            }
            let _ = s.into_facts();
        }

        #[test]
        fn never_panics_on_output_log_like_lines(lines in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just("STARTING AUTOMATED TESTS".to_string()),
                "update the git tree at .{0,4}",
                "Starting to test kernel (version|branch)? ?.{0,4}",
                "\\./[ab]{0,2}(\\.patch)?",
                "[ab]{0,2}(\\.patch)?",
                "(error|fatal): .{0,6}",
                "Applying patch (patches/)?[ab]{0,2}",
                "Patch (patches/)?[ab]{0,2} does not apply \\(enforce with -f\\)",
                " See .{0,3} for more info\\.",
                "KTEST_RUN ?=? ?-?[0-9]{0,22}",
                "Took -?[0-9]{0,22} seconds? to build",
                "(Warnings|Errors) *=? *-?[0-9]{0,22}",
                ".{0,8}",
            ], 0..40)) {
            let text = lines.join("\n");
            let mut s = OutputSink::new("output_log");
            let _ = scan("output_log", text.as_bytes(), &mut [&mut s]);
            let _ = s.into_facts();
        }
    }
}
