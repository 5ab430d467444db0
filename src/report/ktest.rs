//! All of ktest (docs/ktest.md): a run of several tests, or of a test
//! that boots, yields one KCIDB build per test (per patch of a
//! patchcheck) that builds a kernel, a `boot` test per boot and a
//! `ktest.<name>` test per run of the TEST command.
//!
//! Every per-test build is made by the same field rules as a single
//! build ([`super::build`], [`super::status`], [`super::misc`]), applied
//! to a *view* of the facts ([`view`]): the directory's facts with the
//! log's framing facts cut to that test's (or patch's) lines, that test's
//! `KEY[n]` options as its options, and the diagnostics of its own part
//! of the log (`DiagReport::segments`). A run of one build test (the
//! stable flow) does not come here: its report is what it always was.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use kcidb_harvest_parsers::diag::DiagReport;
use kcidb_harvest_parsers::{keys, Fact, Facts, Loc};

use super::checkout::CheckoutPart;
use super::misc::{self, BuildFacts, BuildMisc};
use super::provenance::{ktest_option, Tracker};
use super::status::{self, Verdict};
use super::{build, ids, names, MergeContext};
use crate::kcidb::{Build, Checkout, Environment, Status, Test};

/// Test types that are searches, not results: nothing is submitted for
/// them (docs/ktest.md#searches-are-not-results).
const SEARCHES: &[&str] = &[
    "bisect",
    "config_bisect",
    "make_min_config",
    "make_warnings_file",
];

/// One test of the run, as the parsers' `ktest.tests` fact has it.
#[derive(Clone, Debug, Deserialize)]
pub struct KtestTest {
    pub n: u64,
    pub total: u64,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub run_type: String,
    pub result: Option<String>,
    pub result_line: Option<u64>,
    pub reason: Option<String>,
    pub critical: Option<Critical>,
    #[serde(default)]
    pub options: Vec<TestOption>,
    #[serde(default)]
    pub parts: Vec<Part>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Critical {
    pub line: u64,
    pub reason: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TestOption {
    pub key: String,
    pub value: String,
    pub line: u64,
}

/// A test, or one patch of a patchcheck.
#[derive(Clone, Debug, Deserialize)]
pub struct Part {
    pub start_line: u64,
    pub end_line: u64,
    pub commit: Option<String>,
    pub subject: Option<String>,
    pub build: Option<Step>,
    pub console: Option<Console>,
    pub run_test: Option<RunTest>,
    pub build_time: Option<u64>,
    pub install_time: Option<u64>,
    pub reboot_time: Option<u64>,
    pub test_time: Option<u64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Step {
    pub command: String,
    pub line: u64,
    pub end_line: Option<u64>,
    pub seconds: Option<u64>,
    pub result: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Console {
    pub start_line: Option<u64>,
    pub end_line: Option<u64>,
    pub outcome: Option<String>,
    pub verdict: Option<ConsoleVerdict>,
    pub bug_line: Option<u64>,
    #[serde(default)]
    pub excerpt: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ConsoleVerdict {
    pub line: u64,
    pub text: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RunTest {
    pub line: u64,
    pub command: String,
    /// The TEST command's step: its status is the test's.
    pub step: Option<Step>,
    #[serde(flatten)]
    pub console: Console,
}

impl KtestTest {
    /// `test 2`, `test 2 (smoke)`.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("test {} ({name})", self.n),
            None => format!("test {}", self.n),
        }
    }

    /// What the test builds and boots with: PATCHCHECK_TYPE for a
    /// patchcheck, else BUILD_TYPE.
    fn builds(&self) -> bool {
        match self.kind.as_str() {
            "patchcheck" => true,
            "build" | "install" | "boot" | "test" => self.run_type != "nobuild",
            _ => false,
        }
    }

    /// It watches the console after rebooting into the kernel.
    fn boots(&self) -> bool {
        match self.kind.as_str() {
            "boot" | "test" => true,
            "patchcheck" => matches!(self.run_type.as_str(), "boot" | "test"),
            _ => false,
        }
    }

    /// It runs the TEST command after the boot.
    fn runs_test(&self) -> bool {
        self.kind == "test" || (self.kind == "patchcheck" && self.run_type == "test")
    }

    fn failed(&self) -> bool {
        self.result.as_deref() == Some("FAILED") || self.critical.is_some()
    }

    /// ktest's failure reason (its banner, else its critical failure).
    fn failure(&self) -> Option<(String, u64)> {
        match (&self.reason, self.result_line, &self.critical) {
            (Some(r), Some(l), _) if self.result.as_deref() == Some("FAILED") => {
                Some((r.clone(), l))
            }
            (_, _, Some(c)) => Some((c.reason.clone(), c.line)),
            _ => None,
        }
    }
}

/// The tests of the run when it is not a single build (the stable flow),
/// else `None`.
pub fn tests_of(facts: &Facts) -> Option<Vec<KtestTest>> {
    let fact = facts.last(keys::KTEST_TESTS)?;
    let tests: Vec<KtestTest> = serde_json::from_value(fact.value.clone()).ok()?;
    let single_build = tests.len() == 1 && tests[0].kind == "build";
    (!tests.is_empty() && !single_build).then_some(tests)
}

/// The objects of a run of several tests.
pub struct TestsReport {
    pub checkouts: Vec<Checkout>,
    pub builds: Vec<Build>,
    pub tests: Vec<Test>,
    /// One line per build and per test, in order.
    pub results: Vec<ResultLine>,
    /// The run's status (the worst of its objects) and why.
    pub status: Status,
    pub reason: String,
    /// Tests that are searches (bisect, …): not submitted.
    pub searches: Vec<String>,
    /// Consoles to upload as the boot and test logs: (test id, first and
    /// last line in the build log).
    pub consoles: Vec<(String, u64, u64)>,
    /// `ktest run of 3 tests (2 of 3 successful): 3 builds, 1 test`.
    pub line: String,
    /// The distinct diagnostics of each build (its own part of the log).
    pub diagnostics: Vec<super::issues::BuildDiags>,
}

/// One build or test of the run, for the human and JSON lines.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ResultLine {
    /// `build` or `test`.
    pub object: &'static str,
    pub id: String,
    /// `test 2 build`, `test 3 boot`, `test 1 (smoke) ktest.smoke`.
    pub what: String,
    pub status: Option<Status>,
    pub reason: String,
    /// W:/E: and seconds, for builds.
    pub counts: String,
    /// What changed since this build's previous build in the history.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub changes: Option<crate::history::Changes>,
}

/// Everything the per-test objects share.
pub struct RunContext<'a> {
    pub ctx: &'a MergeContext<'a>,
    pub checkout: &'a CheckoutPart,
    pub run_id: &'a str,
    pub kernel_version: Option<&'a str>,
}

/// One build per test (or patch) that builds, and its boot and test runs.
pub fn merge_tests(
    facts: &Facts,
    tests: &[KtestTest],
    rc: &RunContext<'_>,
    t: &mut Tracker,
) -> TestsReport {
    let mut out = TestsReport {
        checkouts: vec![rc.checkout.checkout.clone()],
        builds: Vec::new(),
        tests: Vec::new(),
        results: Vec::new(),
        status: Status::Pass,
        reason: String::new(),
        searches: Vec::new(),
        consoles: Vec::new(),
        line: String::new(),
        diagnostics: Vec::new(),
    };
    // Estimated start of each part: the run's start plus ktest's printed
    // times of the parts before it.
    let clock = run_start(facts);
    // the lines of every test's `KEY[n]` options: not options of the run
    let option_lines: HashSet<u64> = tests
        .iter()
        .flat_map(|t| t.options.iter().map(|o| o.line))
        .collect();
    let mut offset = 0u64;
    for test in tests {
        if SEARCHES.contains(&test.kind.as_str()) {
            out.searches
                .push(format!("{} ({})", test.label(), test.kind));
            continue;
        }
        let last = test.parts.len().saturating_sub(1);
        for (k, part) in test.parts.iter().enumerate() {
            let unit = Unit {
                test,
                part,
                index: k,
                last: k == last,
                patches: test.kind == "patchcheck",
                option_lines: &option_lines,
            };
            let start = clock.map(|s| (s + chrono::Duration::seconds(offset as i64), offset > 0));
            merge_part(facts, &unit, rc, start, t, &mut out);
            offset += [
                part.build_time,
                part.install_time,
                part.reboot_time,
                part.test_time,
            ]
            .iter()
            .flatten()
            .sum::<u64>();
        }
    }
    // the directory's checkout stays only if a build was made from it (a
    // patchcheck builds each patch at its own commit)
    let used: std::collections::HashSet<String> =
        out.builds.iter().map(|b| b.checkout_id.clone()).collect();
    if out.checkouts.iter().any(|c| used.contains(&c.id)) {
        out.checkouts.retain(|c| used.contains(&c.id));
    }
    out.status = worst(&out.results);
    out.reason = run_reason(facts, tests, &out);
    out.line = run_line(tests, &out);
    out
}

fn run_line(tests: &[KtestTest], out: &TestsReport) -> String {
    let ok = tests
        .iter()
        .filter(|t| t.result.as_deref() == Some("SUCCESS"))
        .count();
    let total = tests.first().map_or(tests.len() as u64, |t| t.total);
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let builds = out.results.iter().filter(|r| r.object == "build").count();
    format!(
        "ktest run of {} ({ok} of {total} successful): {}, {}",
        plural(total as usize, "test"),
        plural(builds, "build"),
        plural(out.tests.len(), "test result"),
    )
}

/// A test, or one patch of a patchcheck.
struct Unit<'a> {
    test: &'a KtestTest,
    part: &'a Part,
    index: usize,
    /// The last part: the test's banner is about it.
    last: bool,
    patches: bool,
    /// The dump lines of every test's `KEY[n]` options.
    option_lines: &'a HashSet<u64>,
}

impl Unit<'_> {
    /// `test 2`, `test 4 patch 2 (abc123def456)`.
    fn label(&self) -> String {
        if self.patches {
            let commit = self.part.commit.as_deref().unwrap_or("?");
            let short: String = commit.chars().take(12).collect();
            format!("{} patch {} ({short})", self.test.label(), self.index + 1)
        } else {
            self.test.label()
        }
    }

    /// The provenance tag of its objects: `test 2`, `test 4 patch 2`.
    fn tag(&self) -> String {
        if self.patches {
            format!("test {} patch {}", self.test.n, self.index + 1)
        } else {
            format!("test {}", self.test.n)
        }
    }

    /// Seeds the build id: the run, this test and this part.
    fn run_id(&self, run_id: &str) -> String {
        let commit = self.part.commit.as_deref().unwrap_or("");
        ids::sha256_hex(&format!(
            "{run_id}|test {}|part {}|{commit}",
            self.test.n, self.index
        ))
    }

    /// The test failed on this part (the banner comes after its last part;
    /// a patchcheck stops at the patch that failed).
    fn failed_here(&self) -> bool {
        self.last && self.test.failed()
    }
}

/// `start`: when the part started, and whether that is an estimate.
fn merge_part(
    facts: &Facts,
    u: &Unit<'_>,
    rc: &RunContext<'_>,
    start: Option<(chrono::DateTime<chrono::Utc>, bool)>,
    t: &mut Tracker,
    out: &mut TestsReport,
) {
    let view = view(facts, u);
    let checkout = part_checkout(rc, u, out);
    let mut sub = Tracker::default();
    let built = if u.test.builds() {
        let (b, verdict) = part_build(&view, u, rc, &checkout, start, &mut sub);
        let line = ResultLine {
            object: "build",
            id: b.id.clone(),
            what: format!("{} build", u.label()),
            status: b.status,
            reason: verdict.reason.clone(),
            counts: build::counts_text(&b),
            changes: None,
        };
        out.results.push(line);
        if let Some((_, d)) = &view.diag {
            out.diagnostics.push(super::issues::BuildDiags {
                build_id: b.id.clone(),
                diags: super::issues::signed(d),
            });
        }
        out.builds.push(b);
        Some(verdict.status)
    } else {
        let b = kernel_under_test(&view, u, rc, &checkout, &mut sub);
        out.builds.push(b);
        None
    };
    let build = out.builds.last().cloned().unwrap_or_default();
    let build_start = build
        .start_time
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&chrono::Utc))
        .or(start.map(|s| s.0));
    // A failed build boots nothing.
    if u.test.boots() && built.is_none_or(|s| s == Status::Pass) {
        let boot_start = build_start.map(|s| {
            s + chrono::Duration::seconds(
                (u.part.build_time.unwrap_or(0) + u.part.install_time.unwrap_or(0)) as i64,
            )
        });
        let boot = boot_test(&view, u, &build, boot_start, &mut sub);
        let booted = boot.status == Some(Status::Pass);
        push_test(out, u, boot, "boot", u.part.console.as_ref());
        if u.test.runs_test() && booted {
            let run_start = boot_start
                .map(|s| s + chrono::Duration::seconds(u.part.reboot_time.unwrap_or(0) as i64));
            let run = run_test(u, &build, run_start, &mut sub);
            let path = run.path.clone().unwrap_or_default();
            push_test(
                out,
                u,
                run,
                &path,
                u.part.run_test.as_ref().map(|r| &r.console),
            );
        }
    }
    let tag = u.tag();
    for mut s in sub.sources {
        s.of = Some(tag.clone());
        t.push(s);
    }
}

fn push_test(
    out: &mut TestsReport,
    u: &Unit<'_>,
    test: Test,
    path: &str,
    console: Option<&Console>,
) {
    out.results.push(ResultLine {
        object: "test",
        id: test.id.clone(),
        what: format!("{} {path}", u.label()),
        status: test.status,
        reason: test
            .misc
            .as_ref()
            .and_then(|m| m.get("status_reason"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        counts: test
            .duration
            .as_ref()
            .map(|d| format!("{d} seconds"))
            .unwrap_or_default(),
        changes: None,
    });
    if let Some((from, to)) = console.and_then(|c| Some((c.start_line?, c.end_line?))) {
        out.consoles.push((test.id.clone(), from, to));
    }
    out.tests.push(test);
}

/// The checkout a part was built from: a patchcheck patch is its own
/// commit of the tree (docs/ktest.md#patchcheck); every other test builds
/// the directory's checkout.
fn part_checkout(rc: &RunContext<'_>, u: &Unit<'_>, out: &mut TestsReport) -> Checkout {
    let base = &rc.checkout.checkout;
    let Some(commit) = u.part.commit.as_deref().filter(|c| names::is_sha1(c)) else {
        return base.clone();
    };
    let repo = base.git_repository_url.as_deref().unwrap_or("");
    let branch = base.git_repository_branch.as_deref().unwrap_or("");
    let mut ck = base.clone();
    ck.id = ids::checkout_id(rc.ctx.origin, repo, branch, commit, "");
    ck.git_commit_hash = Some(commit.to_string());
    ck.patchset_hash = Some(String::new());
    ck.git_commit_name = u.part.subject.clone();
    if !out.checkouts.iter().any(|c| c.id == ck.id) {
        out.checkouts.push(ck.clone());
    }
    ck
}

/// The facts as they are for one test (module docs): the log's framing
/// facts of its own lines, its own options, its own diagnostics.
fn view(facts: &Facts, u: &Unit<'_>) -> Facts {
    let log = facts.diag.as_ref().map(|(f, _)| f.as_str()).unwrap_or("");
    let (from, to) = (u.part.start_line, u.part.end_line.max(u.part.start_line));
    let per_test = u.option_lines;
    let mut v = Facts::new();
    for f in facts.items() {
        let framing = f.loc.file == log && f.key.starts_with("ktest.");
        if framing {
            let whole_run = [
                keys::KTEST_RUNS,
                keys::KTEST_TESTS,
                keys::KTEST_SUMMARY,
                keys::KTEST_LAST_LINE,
            ]
            .contains(&f.key.as_str());
            let option = f.key.starts_with(keys::KTEST_OPT_PREFIX);
            // the run's last build step stands for the run: this part's
            // own step replaces it below
            let run_build = [
                keys::KTEST_BUILD_COMMAND,
                keys::KTEST_BUILD_SECONDS,
                keys::KTEST_BUILD_RESULT,
            ]
            .contains(&f.key.as_str());
            let keep = if option {
                !f.loc.line.is_some_and(|l| per_test.contains(&l))
            } else {
                !run_build && (whole_run || f.loc.line.is_some_and(|l| l >= from && l <= to))
            };
            if !keep {
                continue;
            }
        }
        v.add(f.clone());
    }
    if let Some(step) = &u.part.build {
        let end = Loc::new(log, Some(step.end_line.unwrap_or(step.line)));
        v.add(Fact {
            key: keys::KTEST_BUILD_COMMAND.into(),
            value: Value::from(step.command.as_str()),
            loc: Loc::new(log, Some(step.line)),
        });
        if let Some(s) = step.seconds {
            v.add(Fact {
                key: keys::KTEST_BUILD_SECONDS.into(),
                value: Value::from(s),
                loc: end.clone(),
            });
        }
        if let Some(r) = &step.result {
            v.add(Fact {
                key: keys::KTEST_BUILD_RESULT.into(),
                value: Value::from(r.as_str()),
                loc: end,
            });
        }
    }
    for o in &u.test.options {
        v.add(Fact {
            key: format!("{}{}", keys::KTEST_OPT_PREFIX, o.key),
            value: Value::from(o.value.as_str()),
            loc: Loc::new(log, Some(o.line)),
        });
    }
    if u.patches {
        // patchcheck builds each patch with `useconfig:<MIN_CONFIG>`, else
        // `oldconfig` (ktest.pl's patchcheck), whatever BUILD_TYPE says
        let build_type = match v.str(&format!("{}MIN_CONFIG", keys::KTEST_OPT_PREFIX)) {
            Some((min, _)) => format!("useconfig:{min}"),
            None => "oldconfig".to_string(),
        };
        v.add(Fact {
            key: format!("{}BUILD_TYPE", keys::KTEST_OPT_PREFIX),
            value: Value::from(build_type),
            loc: Loc::new(log, Some(u.part.start_line)),
        });
    }
    v.diag = facts.diag.as_ref().map(|(file, whole)| {
        let own = whole
            .segments
            .iter()
            .find(|s| s.start_line == u.part.start_line)
            .map(|s| s.report.clone());
        // A run of one segment: the whole report is its own.
        let own = own.unwrap_or_else(|| {
            if whole.segments.is_empty() {
                whole.clone()
            } else {
                DiagReport::default()
            }
        });
        (file.clone(), own)
    });
    v.warnings = facts.warnings.clone();
    v
}

fn part_build(
    view: &Facts,
    u: &Unit<'_>,
    rc: &RunContext<'_>,
    checkout: &Checkout,
    start: Option<(chrono::DateTime<chrono::Utc>, bool)>,
    t: &mut Tracker,
) -> (Build, Verdict) {
    let ctx = rc.ctx;
    let mut fields = build::fields(view, ctx.overrides, t);
    if ctx.overrides.build_start_time.is_none() {
        if let Some((s, true)) = start {
            fields.start_time = Some(s.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            t.set(
                "build",
                "start_time",
                &fields.start_time,
                "rule: the run's start plus ktest's printed times of the tests before it (estimate)",
            );
        }
    }
    if let Some(s) = u.part.build.as_ref().and_then(|b| b.seconds) {
        // the duration of this test's build step, not the run's
        if ctx.overrides.duration.is_none() {
            fields.duration = Some(u.part.build_time.unwrap_or(s) as f64);
        }
    }
    let diag = view.diag.as_ref().map(|(_, d)| d);
    let verdict = part_verdict(u, diag, rc.checkout.partial_patchset, ctx);
    t.set("build", "status", &verdict.status, &verdict.reason);
    let run_id = u.run_id(rc.run_id);
    let id = part_id(ctx, checkout, &fields, &run_id, u, t);
    let log_excerpt = build::excerpt(view, &verdict, rc.checkout.partial_patchset, t);
    let (mut build_misc, raw) = BuildMisc::of(
        view,
        &BuildFacts {
            source_layout: ctx.layout.id,
            run_id: &run_id,
            ktest_status: verdict.ktest_status.as_deref(),
            partial_patchset: rc.checkout.partial_patchset,
            passed: verdict.status == Status::Pass,
        },
    );
    for s in raw {
        t.push(s);
    }
    build_misc.ktest_test = Some(u.test.n);
    build_misc.ktest_test_name = u.test.name.clone();
    build_misc.ktest_patch = u.patches.then_some(u.index as u64 + 1);
    build_misc.commit = u.part.commit.clone();
    let comment = build::comment(
        view,
        ctx.overrides,
        fields.config_name.as_deref(),
        rc.kernel_version,
    )
    .map(|c| format!("{c}, {}", u.label()));
    let b = Build {
        id,
        origin: ctx.origin.to_string(),
        checkout_id: checkout.id.clone(),
        comment,
        log_excerpt,
        status: Some(verdict.status),
        misc: misc::to_map(&build_misc),
        ..fields.into_build()
    };
    (b, verdict)
}

/// The build id of a part: `--build-id` names the first; the others get
/// `.<test>[.<patch>]` after it.
fn part_id(
    ctx: &MergeContext<'_>,
    checkout: &Checkout,
    fields: &build::Fields,
    run_id: &str,
    u: &Unit<'_>,
    t: &mut Tracker,
) -> String {
    match &ctx.overrides.build_id {
        Some(id) => {
            let id = if u.patches {
                format!("{id}.{}.{}", u.test.n, u.index + 1)
            } else {
                format!("{id}.{}", u.test.n)
            };
            t.set("build", "id", &id, "--build-id, then .<test>[.<patch>]");
            id
        }
        None => build::id(ctx, &checkout.id, fields, run_id, t),
    }
}

/// The kernel a test boots without building it (`BUILD_TYPE = nobuild`):
/// a build without a status (nothing was built in this run), so the boot
/// has its build (docs/ktest.md#nobuild).
fn kernel_under_test(
    view: &Facts,
    u: &Unit<'_>,
    rc: &RunContext<'_>,
    checkout: &Checkout,
    t: &mut Tracker,
) -> Build {
    let ctx = rc.ctx;
    let mut fields = build::fields(view, ctx.overrides, t);
    fields.duration = None;
    fields.command = None;
    if fields.config_name.as_deref() == Some("nobuild") {
        fields.config_name = None;
    }
    let run_id = u.run_id(rc.run_id);
    let id = part_id(ctx, checkout, &fields, &run_id, u, t);
    let mut m = Map::new();
    m.insert("ktest_test".into(), Value::from(u.test.n));
    m.insert("not_built_in_run".into(), Value::from(true));
    m.insert("source_layout".into(), Value::from(ctx.layout.id));
    if let Some(r) = view.str(keys::KERNEL_RELEASE) {
        m.insert("kernel_release".into(), Value::from(r.0));
    }
    Build {
        id,
        origin: ctx.origin.to_string(),
        checkout_id: checkout.id.clone(),
        comment: Some(format!(
            "the kernel {} boots (BUILD_TYPE = nobuild: built before this run)",
            u.label()
        )),
        misc: Some(m),
        ..fields.into_build()
    }
}

/// The status of a part's build (docs/ktest.md#build-status): its own
/// build step decides; ktest's banner only when it is about the build.
fn part_verdict(
    u: &Unit<'_>,
    diag: Option<&DiagReport>,
    partial: bool,
    ctx: &MergeContext<'_>,
) -> Verdict {
    let step = u.part.build.as_ref();
    let failure = u.failed_here().then(|| u.test.failure()).flatten();
    let (ktest_status, status, reason) = match step.and_then(|s| s.result.as_deref()) {
        Some("FAILED") => {
            let s = step.map_or(0, |s| s.end_line.unwrap_or(s.line));
            let (reason, at) = failure.unwrap_or(("failed build".into(), s));
            let (st, r) = status::ktest_failure_reason(&reason, &format!("log:{at}"), diag);
            (Some("FAILED".to_string()), st, r)
        }
        Some(_) => {
            let s = step.map_or(0, |s| s.end_line.unwrap_or(s.line));
            match failure.filter(|(r, _)| r.to_ascii_lowercase().contains("warning")) {
                Some((r, at)) => (
                    Some("FAILED".to_string()),
                    Status::Fail,
                    format!("ktest: {r} (log:{at})"),
                ),
                None => (
                    Some("SUCCESS".to_string()),
                    Status::Pass,
                    format!("the build step succeeded (log:{s})"),
                ),
            }
        }
        None => match failure {
            Some((r, at)) => {
                let (st, why) = status::ktest_failure_reason(&r, &format!("log:{at}"), diag);
                (Some("FAILED".to_string()), st, why)
            }
            None => (
                None,
                Status::Error,
                match step {
                    Some(s) => format!("the build step (log:{}) has no status", s.line),
                    None => "the test ended before its build step".to_string(),
                },
            ),
        },
    };
    status::overruled(
        Verdict {
            ktest_status,
            status,
            reason,
        },
        partial,
        ctx.overrides,
    )
}

/// The boot of a part (docs/ktest.md#boots).
fn boot_test(
    view: &Facts,
    u: &Unit<'_>,
    build: &Build,
    start: Option<chrono::DateTime<chrono::Utc>>,
    t: &mut Tracker,
) -> Test {
    let console = u.part.console.clone().unwrap_or_default();
    let (status, reason) = boot_status(u, &console);
    t.set("test", "status", &status, &reason);
    let id = test_id(&build.id, "boot");
    t.set("test", "id", &id, "rule: <origin>:t-sha256(build_id|path)");
    let machine = ktest_option(view, "MACHINE").map(|m| m.value);
    let mut misc = Map::new();
    misc.insert("ktest_test".into(), Value::from(u.test.n));
    if let Some(o) = &console.outcome {
        misc.insert("console_outcome".into(), Value::from(o.as_str()));
    }
    if let (Some(a), Some(b)) = (console.start_line, console.end_line) {
        misc.insert("console_lines".into(), json!([a, b]));
    }
    misc.insert("status_reason".into(), Value::from(reason.as_str()));
    Test {
        id,
        origin: build.origin.clone(),
        build_id: build.id.clone(),
        path: Some("boot".into()),
        status: Some(status),
        comment: Some(format!("ktest boot, {}", u.label())),
        start_time: start.map(|s| s.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        duration: u
            .part
            .reboot_time
            .and_then(|s| names::seconds_number(s as f64)),
        log_excerpt: boot_excerpt(&console.excerpt, status).map(|e| status::clip_excerpt(&e)),
        environment: machine.map(|m| Environment {
            comment: Some(m),
            ..Default::default()
        }),
        misc: Some(misc),
        ..Default::default()
    }
}

/// PASS when ktest saw the SUCCESS_LINE; FAIL on a bug, a panic, no boot
/// prompt, a timeout; ERROR when ktest failed before it could judge.
fn boot_status(u: &Unit<'_>, console: &Console) -> (Status, String) {
    let at = |c: &Console| c.verdict.as_ref().map_or(0, |v| v.line);
    let failure = u.failed_here().then(|| u.test.failure()).flatten();
    match console.outcome.as_deref() {
        Some("booted") => {
            return (
                Status::Pass,
                format!("ktest saw the boot prompt (log:{})", at(console)),
            )
        }
        Some(o @ ("bug" | "timeout" | "triple_fault")) => {
            let what = match o {
                "bug" => "a bug report (call trace or panic) on the console",
                "timeout" => "no boot prompt before the timeout",
                _ => "a triple fault (it booted into another kernel)",
            };
            return (Status::Fail, format!("ktest: {what} (log:{})", at(console)));
        }
        _ => {}
    }
    match failure {
        Some((r, at)) if is_boot_failure(&r) => (Status::Fail, format!("ktest: {r} (log:{at})")),
        Some((r, at)) => (
            Status::Error,
            format!("ktest failed before the kernel could be judged: {r} (log:{at})"),
        ),
        None if console.bug_line.is_some() => (
            Status::Fail,
            format!(
                "a bug report on the console (log:{})",
                console.bug_line.unwrap_or(0)
            ),
        ),
        None => (
            Status::Error,
            "the console shows no verdict: the run ended before the boot was judged".into(),
        ),
    }
}

fn is_boot_failure(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("bug report") || r.contains("boot prompt") || r.contains("timed out")
}

/// The TEST command's run of a part (docs/ktest.md#test-runs).
fn run_test(
    u: &Unit<'_>,
    build: &Build,
    start: Option<chrono::DateTime<chrono::Utc>>,
    t: &mut Tracker,
) -> Test {
    let path = format!("ktest.{}", path_segment(u.test));
    let run = u.part.run_test.as_ref();
    let failure = u.failed_here().then(|| u.test.failure()).flatten();
    let step = run.and_then(|r| r.step.as_ref());
    let at = |s: &Step| s.end_line.unwrap_or(s.line);
    let (status, reason) = match (run, step.and_then(|s| s.result.as_deref()), failure) {
        (None, _, _) => (
            Status::Error,
            "the TEST command did not run (no `run test` line)".to_string(),
        ),
        (Some(_), Some("FAILED"), _) => (
            Status::Fail,
            format!("the TEST command failed (log:{})", step.map_or(0, at)),
        ),
        (Some(_), _, Some((r, at))) if r.to_ascii_lowercase().contains("test failed") => (
            Status::Fail,
            format!("ktest: {r} (log:{at}): a bug report on the console while it ran"),
        ),
        (Some(_), _, Some((r, at))) => (
            Status::Error,
            format!("ktest failed while the test ran: {r} (log:{at})"),
        ),
        (Some(_), Some(_), None) => (
            Status::Pass,
            format!("the TEST command succeeded (log:{})", step.map_or(0, at)),
        ),
        (Some(_), None, None) if u.last && u.test.result.as_deref() == Some("SUCCESS") => (
            Status::Pass,
            format!(
                "the test succeeded (success banner at log:{})",
                u.test.result_line.unwrap_or(0)
            ),
        ),
        (Some(_), None, None) => (
            Status::Error,
            "the run ended before the TEST command's result".to_string(),
        ),
    };
    t.set("test", "status", &status, &reason);
    let id = test_id(&build.id, &path);
    let mut misc = Map::new();
    misc.insert("ktest_test".into(), Value::from(u.test.n));
    if let Some(r) = run {
        misc.insert("command".into(), Value::from(r.command.as_str()));
    }
    misc.insert("status_reason".into(), Value::from(reason.as_str()));
    let excerpt = run.and_then(|r| non_empty(&r.console.excerpt));
    Test {
        id,
        origin: build.origin.clone(),
        build_id: build.id.clone(),
        path: Some(path),
        status: Some(status),
        comment: Some(format!(
            "ktest TEST command, {}: {}",
            u.label(),
            run.map_or("", |r| r.command.as_str())
        )),
        start_time: start.map(|s| s.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        duration: u
            .part
            .test_time
            .and_then(|s| names::seconds_number(s as f64)),
        log_excerpt: excerpt.map(|e| status::clip_excerpt(&e)),
        misc: Some(misc),
        ..Default::default()
    }
}

/// `<TEST_NAME>` or `test<N>` as one KCIDB path segment: characters
/// outside `[A-Za-z0-9_-]` become `_`.
pub fn path_segment(test: &KtestTest) -> String {
    let raw = test
        .name
        .clone()
        .unwrap_or_else(|| format!("test{}", test.n));
    let s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        format!("test{}", test.n)
    } else {
        s
    }
}

/// `<origin>:t-<sha256(build_id|path)>`.
pub fn test_id(build_id: &str, path: &str) -> String {
    let origin = build_id.split(':').next().unwrap_or("");
    format!(
        "{origin}:t-{}",
        ids::sha256_hex(&format!("{build_id}|{path}"))
    )
}

/// The console excerpt of a boot: all of it (the lines up to and after
/// the bug, or the last ones) when it did not pass; of a passing boot only
/// its last lines, the boot prompt among them.
fn boot_excerpt(excerpt: &str, status: Status) -> Option<String> {
    const PASS_LINES: usize = 12;
    let e = non_empty(excerpt)?;
    if status != Status::Pass {
        return Some(e);
    }
    let lines: Vec<&str> = e.lines().collect();
    Some(lines[lines.len().saturating_sub(PASS_LINES)..].join("\n"))
}

fn non_empty(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.to_string())
}

/// FAIL when anything failed, else ERROR when anything erred, else PASS.
fn worst(results: &[ResultLine]) -> Status {
    let has = |s: Status| results.iter().any(|r| r.status == Some(s));
    if has(Status::Fail) {
        Status::Fail
    } else if has(Status::Error) || results.is_empty() {
        Status::Error
    } else {
        Status::Pass
    }
}

/// `ktest: 2 of 3 tests were successful (test 2: ktest: failed build …)`,
/// with the run's own summary checked against the per-test verdicts.
fn run_reason(facts: &Facts, tests: &[KtestTest], out: &TestsReport) -> String {
    let ok = tests
        .iter()
        .filter(|t| t.result.as_deref() == Some("SUCCESS"))
        .count() as u64;
    let total = tests.first().map_or(0, |t| t.total);
    let summary = facts.last(keys::KTEST_SUMMARY).and_then(|f| {
        let ok = f.value.get("ok")?.as_u64()?;
        let total = f.value.get("total")?.as_u64()?;
        Some((ok, total, f.loc.to_string()))
    });
    let mut s = match &summary {
        Some((sok, stotal, loc)) if (*sok, *stotal) == (ok, total) => {
            format!("ktest: {sok} of {stotal} tests were successful ({loc}), as the tests' banners say")
        }
        Some((sok, stotal, loc)) => format!(
            "ktest: {sok} of {stotal} tests were successful ({loc}), but the tests' banners say {ok} of {total}"
        ),
        None => format!("{ok} of {total} tests succeeded by their banners (the run has no summary line)"),
    };
    let bad: Vec<String> = out
        .results
        .iter()
        .filter(|r| r.status != Some(Status::Pass))
        .map(|r| format!("{}: {}", r.what, r.reason))
        .collect();
    if !bad.is_empty() {
        s.push_str("; ");
        s.push_str(&bad.join("; "));
    }
    s
}

fn run_start(facts: &Facts) -> Option<chrono::DateTime<chrono::Utc>> {
    let (s, _) = facts.str(keys::START_TIME)?;
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc))
}
