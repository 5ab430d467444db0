//! The pipeline, one stage per step, for every command that reads result
//! directories (harvest, backfill with `-r`, `explain`):
//!
//! ```text
//! discover   crate::discover      the roots → Candidates (layout detected once, during the walk)
//! detect     crate::layout        a named DIR → its layout and its Input (the file gate)
//! collect    collect::collect     the layout's parsers → Facts (fix-ups included)
//! finished?  in_progress          a run still writing its log is not harvested
//! report     crate::merge         Facts → checkout + build (+ provenance, status, warnings)
//! artifacts  crate::artifacts     the files to upload, their URLs, compression
//! validate   crate::kcidb         once per directory, after the URLs are in
//! deliver    crate::deliver       spool or REST, in submissions of many directories
//! journal    crate::journal       what was delivered, so a re-run skips it
//! ```
//!
//! The unit that flows from `report` on is a [`DirYield`]: everything one
//! directory yields (today one checkout and one build; the KCIDB objects
//! of a report are vectors, so more objects per directory flow the same
//! way). [`harvest`] runs detect → collect → finished? → report for one
//! [`Candidate`]; [`batch`] runs it on many in parallel, in input order.

pub mod batch;
pub mod collect;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use kcidb_harvest_parsers::input::GatedFile;
use kcidb_harvest_parsers::{Facts, Input, ParseError};

use crate::cli::Overrides;
use crate::kcidb::{Report, Status, Validated, Violation};
use crate::layout::{self, Layout};
use crate::report::{self, FieldSource, MergeContext, Merged};

/// A run whose log changed within this grace period and has no end marker
/// is in progress (README "Status rules").
pub const IN_PROGRESS_GRACE: Duration = Duration::from_secs(10 * 60);

/// Options of one harvest, checked once per run.
#[derive(Clone, Debug)]
pub struct Options {
    pub origin: String,
    pub overrides: Overrides,
    pub assume_finished: bool,
    /// "Now", injected (for the in-progress check only).
    pub now: SystemTime,
    /// Which distinct diagnostics become KCIDB issues.
    pub issues: crate::report::issues::IssueMode,
}

/// A directory to harvest: named on the command line (detected by the
/// worker) or found by the walk (detected there, not again).
#[derive(Debug)]
pub struct Candidate {
    pub dir: PathBuf,
    detected: Option<(&'static Layout, Input)>,
}

impl Candidate {
    /// A directory named on the command line.
    pub fn named(dir: PathBuf) -> Candidate {
        Candidate {
            dir,
            detected: None,
        }
    }

    /// A directory the walk recognised as `layout`.
    pub fn detected(dir: PathBuf, layout: &'static Layout, input: Input) -> Candidate {
        Candidate {
            dir,
            detected: Some((layout, input)),
        }
    }
}

/// Stage detect: a directory, its layout and its gate.
#[derive(Debug)]
pub struct Detected {
    pub dir: PathBuf,
    pub layout: &'static Layout,
    pub input: Input,
}

/// Stage collect: the facts the layout's parsers found.
#[derive(Debug)]
pub struct Collected {
    pub dir: PathBuf,
    pub layout: &'static Layout,
    pub input: Input,
    pub facts: Facts,
}

/// Why a directory could not be harvested. Messages are one line and name
/// the directory and, where there is one, the file.
#[derive(Debug, thiserror::Error)]
pub enum HarvestError {
    #[error("`{0}`: no such directory")]
    NotFound(PathBuf),
    #[error("`{0}`: not a directory")]
    NotDir(PathBuf),
    #[error("`{dir}`: cannot read directory: {source}")]
    Unreadable {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{dir}`: unknown layout: looked for {looked_for}")]
    UnknownLayout { dir: PathBuf, looked_for: String },
    #[error("`{dir}`: {source}")]
    Parse {
        dir: PathBuf,
        #[source]
        source: ParseError,
    },
    #[error("`{dir}`: no build log and no output_log result: nothing to report")]
    NothingToReport { dir: PathBuf },
    #[error("`{dir}`: the ktest run only searched ({tests}): a bisect, config_bisect or make_min_config is not a build or test result, nothing to report")]
    NotAResult { dir: PathBuf, tests: String },
}

impl HarvestError {
    /// The directory does not exist or is not one (a usage error when the
    /// user named it).
    pub fn is_missing(&self) -> bool {
        matches!(self, HarvestError::NotFound(_) | HarvestError::NotDir(_))
    }
}

/// What an artifact is (decides which KCIDB field its URL goes to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArtifactKind {
    /// The primary build log → `build.log_url` and `output_files["build_log"]`.
    BuildLog,
    /// test_stable_ssh `output_log` → `checkout.log_url` and `output_files["output_log"]`.
    OutputLog,
    /// The build's `.config` → `build.config_url` and `output_files["config"]`.
    Config,
    /// The console output ktest watched for one test (lines `from..=to` of
    /// the build log) → that test's `log_url`.
    Console { test_id: String, from: u64, to: u64 },
}

/// A file to compress and upload.
#[derive(Clone, Debug)]
pub struct Artifact {
    pub kind: ArtifactKind,
    /// The file, as the directory's gate handed it out (may already be
    /// gzip-compressed, e.g. `log.gz`): nothing else can be published (a
    /// console is a range of lines of the build log).
    pub file: GatedFile,
    /// File name under `<origin>/<build id local part>/`, always ending in `.gz`
    /// (`build.log.gz`, `output_log.gz`, `config.gz`).
    pub upload_name: String,
    /// Name in `output_files` (`build_log`, `output_log`, `config`).
    pub resource_name: String,
}

/// Everything one directory yields, ready for URLs, validation and
/// delivery.
#[derive(Clone, Debug)]
pub struct DirYield {
    pub dir: PathBuf,
    pub layout: &'static Layout,
    /// The KCIDB objects (not yet validated: URLs come first).
    pub report: Report,
    pub artifacts: Vec<Artifact>,
    /// The maintainer's mail line: `Build of 6.1 was good (W:25 E:0 640 seconds)`.
    pub line: String,
    pub status: Status,
    /// Why that status (the rule and the line that decided it).
    pub status_reason: String,
    /// Where each field came from (`explain`).
    pub provenance: Vec<FieldSource>,
    /// What changed a field or an id without refusing the directory (a
    /// refused link, a fallback to another source, sources disagreeing on
    /// an id field, a value that did not parse).
    pub warnings: Vec<String>,
    /// False when the checkout's identity is not fully known: the base
    /// commit, or the patchset_hash of a queue that was applied (delivery
    /// refuses unless allowed).
    pub commit_known: bool,
    /// The artifacts already gzip-compressed (same order as `artifacts`),
    /// done by the batch workers so compression uses every core; empty
    /// when delivery compresses them itself.
    pub compressed: Vec<std::sync::Arc<crate::artifacts::Compressed>>,
    /// A run of several ktest tests: one line per build and test.
    pub results: Vec<crate::report::ktest::ResultLine>,
    /// The distinct diagnostics of each build, signed (for the history).
    pub diagnostics: Vec<crate::report::issues::BuildDiags>,
    /// The kernel release (`6.1.172`), else version (`6.1`), if known.
    pub release: Option<String>,
    /// What changed since each build's previous build in the history
    /// (filled by the harvest command when a history is open).
    pub changes: Vec<crate::history::Changes>,
}

impl DirYield {
    pub fn build_id(&self) -> &str {
        self.report
            .builds
            .first()
            .map(|b| b.id.as_str())
            .unwrap_or("")
    }
    pub fn checkout_id(&self) -> &str {
        self.report
            .checkouts
            .first()
            .map(|c| c.id.as_str())
            .unwrap_or("")
    }
    /// The local part of the build id (after `<origin>:`), used in upload paths.
    pub fn build_local_id(&self) -> &str {
        let id = self.build_id();
        id.split_once(':').map(|(_, l)| l).unwrap_or(id)
    }
    /// A number of the build's `misc` (`warnings`, `errors_raw`, …).
    /// A count of the build's misc (`None` for a run of several tests:
    /// each build's counts are on its own result line).
    pub fn misc_count(&self, key: &str) -> Option<u64> {
        if !self.results.is_empty() {
            return None;
        }
        self.report
            .builds
            .first()?
            .misc
            .as_ref()?
            .get(key)?
            .as_u64()
    }
}

/// What became of one directory before delivery.
#[derive(Debug)]
pub enum DirOutcome {
    Yielded(Box<DirYield>),
    /// Not harvested: the run is still going (or looks like it).
    InProgress {
        dir: PathBuf,
        reason: String,
    },
    Failed {
        dir: PathBuf,
        error: HarvestError,
    },
}

impl DirOutcome {
    pub fn dir(&self) -> &Path {
        match self {
            DirOutcome::Yielded(y) => &y.dir,
            DirOutcome::InProgress { dir, .. } | DirOutcome::Failed { dir, .. } => dir,
        }
    }
}

/// detect → collect → finished? → report, for one directory.
pub fn harvest(candidate: Candidate, opts: &Options) -> DirOutcome {
    let dir = candidate.dir.clone();
    let _span = tracing::info_span!("build_dir", path = %dir.display()).entered();
    let run = || -> Result<DirOutcome, HarvestError> {
        let collected = collect::collect(detect(candidate)?, &opts.overrides)?;
        if !opts.assume_finished {
            if let Some(reason) = in_progress(&collected, opts.now) {
                return Ok(DirOutcome::InProgress {
                    dir: collected.dir,
                    reason,
                });
            }
        }
        Ok(DirOutcome::Yielded(Box::new(report(collected, opts)?)))
    };
    run().unwrap_or_else(|error| DirOutcome::Failed { dir, error })
}

/// Stage detect: the candidate's layout (found now unless the walk did).
pub fn detect(candidate: Candidate) -> Result<Detected, HarvestError> {
    let dir = candidate.dir;
    if let Some((layout, input)) = candidate.detected {
        return Ok(Detected { dir, layout, input });
    }
    let meta = std::fs::metadata(&dir).map_err(|_| HarvestError::NotFound(dir.clone()))?;
    if !meta.is_dir() {
        return Err(HarvestError::NotDir(dir));
    }
    if let Err(source) = std::fs::read_dir(&dir) {
        return Err(HarvestError::Unreadable { dir, source });
    }
    match layout::detect(&dir) {
        Some((layout, input)) => Ok(Detected { dir, layout, input }),
        None => Err(HarvestError::UnknownLayout {
            dir,
            looked_for: layout::looked_for(),
        }),
    }
}

/// Stage finished?: why the run looks in progress, if it does: a layout
/// that frames its runs (ktest writes `KTEST_RUN` at the end) has no end
/// marker yet and its log changed within [`IN_PROGRESS_GRACE`] of `now`.
/// A bare log or a tuxmake directory has no such marker to wait for: it is
/// never in progress.
pub fn in_progress(c: &Collected, now: SystemTime) -> Option<String> {
    if !c.layout.can_have_ktest_run() || report::run_finished(&c.facts) {
        return None;
    }
    let input = &c.input;
    let log = input
        .log
        .as_deref()
        .and_then(|l| input.file(l))
        .or_else(|| input.file("output_log"));
    let modified = log.and_then(|f| input.modified(f.name()))?;
    let recent = now.duration_since(modified).unwrap_or_default() < IN_PROGRESS_GRACE;
    recent.then(|| {
        "no KTEST_RUN line and the log changed in the last 10 minutes (use --assume-finished to harvest it anyway)"
            .to_string()
    })
}

/// Stage report: the KCIDB objects, with provenance, status and warnings,
/// and the files to upload.
pub fn report(c: Collected, opts: &Options) -> Result<DirYield, HarvestError> {
    let Collected {
        dir,
        layout,
        input,
        facts,
    } = c;
    if facts.diag.is_none() && !facts.has(kcidb_harvest_parsers::keys::KTEST_EXIT) {
        return Err(HarvestError::NothingToReport { dir });
    }
    let name = dir_name(&dir);
    let mut merged = report::merge(
        &facts,
        &MergeContext {
            origin: &opts.origin,
            layout,
            overrides: &opts.overrides,
            dir_name: &name,
        },
    );
    if merged.report.builds.is_empty() && merged.report.tests.is_empty() {
        return Err(HarvestError::NotAResult {
            dir,
            tests: merged.searches.join(", "),
        });
    }
    // issues and incidents of the builds' distinct diagnostics
    let (issues, incidents) =
        report::issues::issues(&opts.origin, &merged.diagnostics, opts.issues);
    merged.report.issues = issues;
    merged.report.incidents = incidents;
    let artifacts = crate::artifacts::select(layout, &input, &facts, &merged.consoles);
    let mut warnings: Vec<String> = facts
        .warnings
        .iter()
        .map(ToString::to_string)
        .chain(merged.warnings.iter().cloned())
        .collect();
    for s in &merged.searches {
        warnings.push(format!(
            "{s} is a search, not a result: nothing is submitted for it (docs/ktest.md#searches-are-not-results)"
        ));
    }
    if merged.report.checkouts[0].git_repository_url.is_none() {
        warnings.push(
            "repository URL unknown (no https source, not a local linux-X.Y.y mirror): pass --git-repo-url"
                .into(),
        );
    }
    let line = mail_line(&merged);
    Ok(DirYield {
        dir,
        layout,
        line,
        status: merged.status,
        status_reason: merged.status_reason,
        provenance: merged.sources,
        warnings,
        commit_known: merged.commit_known,
        results: merged.results,
        diagnostics: merged.diagnostics,
        release: merged.release,
        changes: Vec::new(),
        report: merged.report,
        artifacts,
        compressed: Vec::new(),
    })
}

/// Stages artifacts and validate: the URLs the artifacts will have under
/// `url_base` (when logs get URLs) go into the report, which is then
/// validated, once: what is written with `-o`, journaled and sent is that
/// validated text. An invalid report comes back as its directory and the
/// violations.
pub fn validate(
    mut y: DirYield,
    origin: &str,
    url_base: Option<&str>,
) -> Result<(DirYield, Validated), (PathBuf, Vec<Violation>)> {
    if let Some(base) = url_base {
        crate::artifacts::plan_urls(&mut y, origin, base);
    }
    match crate::kcidb::validate_report(y.report.clone()) {
        Ok(v) => Ok((y, v)),
        Err(violations) => Err((y.dir, violations)),
    }
}

fn dir_name(dir: &Path) -> String {
    let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    abs.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The line test_stable_ssh mails, with the script's own counts:
/// `Build of 6.1 was good (W:25 E:0 640 seconds)` (`FAILED!` otherwise).
/// Our distinct counts are not in it, so it can be grepped for the mail's
/// text; the reporter puts them after it.
pub fn mail_line(m: &Merged) -> String {
    if let Some(line) = &m.run_line {
        return line.clone();
    }
    let verdict = if m.status == Status::Pass {
        "was good"
    } else {
        "FAILED!"
    };
    format!(
        "Build of {} {verdict} ({})",
        m.version_label,
        report::build::counts_text(&m.report.builds[0])
    )
}
