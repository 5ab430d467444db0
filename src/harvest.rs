//! Stages 2-5 for one directory: layout → parsers → merge → report.
//!
//! [`harvest_dir`] turns one result directory into a [`Harvested`]: a
//! KCIDB report holding exactly one checkout and one build (not yet
//! validated: URLs are added by delivery first), the artifacts to upload,
//! and the human summary line.

use std::path::PathBuf;

use kcidb_harvest_parsers::input::GatedFile;

use crate::kcidb::Report;

/// What an artifact is (decides which KCIDB field its URL goes to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArtifactKind {
    /// The primary build log → `build.log_url` and `output_files["build_log"]`.
    BuildLog,
    /// test_stable_ssh `output_log` → `checkout.log_url` and `output_files["output_log"]`.
    OutputLog,
    /// The build's `.config` → `build.config_url` and `output_files["config"]`.
    Config,
}

/// A file to compress and upload.
#[derive(Clone, Debug)]
pub struct Artifact {
    pub kind: ArtifactKind,
    /// The file, as the directory's gate handed it out (may already be
    /// gzip-compressed, e.g. `log.gz`): nothing else can be published.
    pub file: GatedFile,
    /// File name under `<origin>/<build id local part>/`, always ending in `.gz`
    /// (`build.log.gz`, `output_log.gz`, `config.gz`).
    pub upload_name: String,
    /// Name in `output_files` (`build_log`, `output_log`, `config`).
    pub resource_name: String,
}

/// One harvested directory, ready for URLs, validation and delivery.
#[derive(Clone, Debug)]
pub struct Harvested {
    pub dir: PathBuf,
    /// Layout id (`test_stable_ssh`, `ktest`, …).
    pub layout: &'static str,
    /// Exactly one checkout and one build.
    pub report: Report,
    pub artifacts: Vec<Artifact>,
    /// `Build of 6.1 was good (W:25 E:0 640 seconds)`.
    pub line: String,
    /// What changed a field or an id without refusing the directory (a
    /// refused link, a fallback to another source, sources disagreeing on
    /// an id field, a value that did not parse): printed on stderr and
    /// listed by `explain`.
    pub warnings: Vec<String>,
    /// False when the checkout's identity is not fully known: the base
    /// commit, or the patchset_hash of a queue that was applied (delivery
    /// refuses unless allowed).
    pub commit_known: bool,
    /// The artifacts already gzip-compressed (same order as `artifacts`),
    /// done by the batch workers so compression uses every core; empty
    /// when delivery compresses them itself.
    pub compressed: Vec<std::sync::Arc<crate::artifacts::Compressed>>,
}

impl Harvested {
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
}

use std::path::Path;
use std::time::{Duration, SystemTime};

use kcidb_harvest_parsers::{Facts, ParseError};

use crate::cli::Overrides;
use crate::layout;
use crate::merge::{self, MergeContext, Merged};

/// A run whose log changed within this grace period and has no end marker
/// is in progress (harvest.md §4).
pub const IN_PROGRESS_GRACE: Duration = Duration::from_secs(10 * 60);

/// Options of one harvest.
#[derive(Clone, Debug)]
pub struct HarvestOptions {
    pub origin: String,
    pub overrides: Overrides,
    pub assume_finished: bool,
    /// "Now", injected (for the in-progress check only).
    pub now: SystemTime,
}

/// Why a directory could not be harvested. Messages are one line and name
/// the directory and, where there is one, the file.
#[derive(Debug, thiserror::Error)]
pub enum HarvestError {
    #[error("`{0}`: no such directory")]
    NotFound(PathBuf),
    #[error("`{0}`: not a directory")]
    NotDir(PathBuf),
    #[error("`{dir}`: unknown layout: looked for {looked_for}")]
    UnknownLayout { dir: PathBuf, looked_for: String },
    #[error("`{dir}`: {source}")]
    Parse {
        dir: PathBuf,
        #[source]
        source: ParseError,
    },
    #[error("`{dir}`: {message}")]
    Other { dir: PathBuf, message: String },
}

/// The result of harvesting one directory.
#[derive(Debug)]
pub enum Outcome {
    Harvested(Box<Harvested>, Box<Merged>),
    /// Not submitted: the run is still going (or looks like it).
    InProgress {
        dir: PathBuf,
        reason: String,
    },
}

/// The override that supplies what parser `id` would have read, if given:
/// then a damaged source for it is a warning, not a refusal.
fn rescued_by(id: &str, ov: &Overrides) -> Option<&'static str> {
    match id {
        "commit-txt" => ov.git_commit_hash.as_ref().map(|_| "--git-commit-hash"),
        "start-time" => ov.build_start_time.as_ref().map(|_| "--build-start-time"),
        "time-output" => ov.duration.as_ref().map(|_| "--duration"),
        _ => None,
    }
}

/// Detect the layout and run its parsers: the facts of one directory.
pub fn collect_facts(
    dir: &Path,
    overrides: &Overrides,
) -> Result<(&'static layout::Layout, kcidb_harvest_parsers::Input, Facts), HarvestError> {
    let meta = std::fs::metadata(dir).map_err(|_| HarvestError::NotFound(dir.to_path_buf()))?;
    if !meta.is_dir() {
        return Err(HarvestError::NotDir(dir.to_path_buf()));
    }
    if let Err(e) = std::fs::read_dir(dir) {
        return Err(HarvestError::Other {
            dir: dir.to_path_buf(),
            message: format!("cannot read directory: {e}"),
        });
    }
    let (layout, input) = layout::detect(dir).ok_or_else(|| HarvestError::UnknownLayout {
        dir: dir.to_path_buf(),
        looked_for: layout::looked_for(),
    })?;
    let mut facts = Facts::new();
    for id in layout.parsers {
        let Some(parser) = kcidb_harvest_parsers::parser(id) else {
            continue;
        };
        let _span = tracing::debug_span!("parser", id).entered();
        if let Err(source) = parser.parse(&input, &mut facts) {
            let Some(flag) = rescued_by(id, overrides) else {
                return Err(HarvestError::Parse {
                    dir: dir.to_path_buf(),
                    source,
                });
            };
            facts.warn(
                "",
                None,
                format!("{source} (not used: {flag} gives the value)"),
            );
        }
    }
    for r in input.refusals() {
        facts.warn(&r.name, None, r.reason);
    }
    for n in facts.bound_notes() {
        facts.note("", None, n);
    }
    for n in &facts.notes {
        tracing::info!("{}: {n}", dir.display());
    }
    Ok((layout, input, facts))
}

fn dir_name(dir: &Path) -> String {
    let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    abs.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Harvest one result directory.
pub fn harvest_dir(dir: &Path, opts: &HarvestOptions) -> Result<Outcome, HarvestError> {
    let (layout, input, mut facts) = collect_facts(dir, &opts.overrides)?;
    merge::promote_output_log_framing(&mut facts);
    if !facts.has(kcidb_harvest_parsers::keys::LOG_SHA256) {
        // no build log: the run id follows output_log's bytes instead
        if let Some(sha) = sha256_file(&input, "output_log") {
            facts.push(
                kcidb_harvest_parsers::keys::LOG_SHA256,
                sha,
                "output_log",
                None,
            );
        }
    }

    if !merge::run_finished(&facts) && !opts.assume_finished {
        let log = input
            .log
            .as_deref()
            .and_then(|l| input.file(l))
            .or_else(|| input.file("output_log"));
        let recent = log
            .and_then(|f| input.modified(f.name()))
            .map(|m| opts.now.duration_since(m).unwrap_or_default() < IN_PROGRESS_GRACE)
            .unwrap_or(false);
        if recent {
            return Ok(Outcome::InProgress {
                dir: dir.to_path_buf(),
                reason: "no KTEST_RUN line and the log changed in the last 10 minutes (use --assume-finished to harvest it anyway)".into(),
            });
        }
    }

    if facts.diag.is_none() && !facts.has(kcidb_harvest_parsers::keys::KTEST_EXIT) {
        return Err(HarvestError::Other {
            dir: dir.to_path_buf(),
            message: "no build log and no output_log result: nothing to report".into(),
        });
    }

    let name = dir_name(dir);
    let merged = merge::merge(
        &facts,
        &MergeContext {
            origin: &opts.origin,
            layout: layout.id,
            overrides: &opts.overrides,
            dir_name: &name,
        },
    );

    // Artifacts: only files the gate hands out (inside the directory,
    // regular); the exact file the parser read for the build log.
    let mut artifacts = Vec::new();
    let gated = |rel: &str| input.file(rel).filter(|f| f.name() == rel);
    if let Some(file) = facts.diag.as_ref().and_then(|(file, _)| gated(file)) {
        artifacts.push(Artifact {
            kind: ArtifactKind::BuildLog,
            file,
            upload_name: "build.log.gz".into(),
            resource_name: "build_log".into(),
        });
    }
    if let Some(file) = input.file("output_log") {
        artifacts.push(Artifact {
            kind: ArtifactKind::OutputLog,
            file,
            upload_name: "output_log.gz".into(),
            resource_name: "output_log".into(),
        });
    }
    let config = if layout.id == "tuxmake" {
        gated("config")
    } else {
        input
            .output_dir
            .as_ref()
            .and_then(|out| gated(&format!("{out}/.config")))
    };
    if let Some(file) = config {
        artifacts.push(Artifact {
            kind: ArtifactKind::Config,
            file,
            upload_name: "config.gz".into(),
            resource_name: "config".into(),
        });
    }
    let warnings: Vec<String> = facts
        .warnings
        .iter()
        .map(ToString::to_string)
        .chain(merged.warnings.iter().cloned())
        .collect();
    for w in &warnings {
        tracing::warn!("{}: {w}", dir.display());
    }

    if merged.report.checkouts[0].git_repository_url.is_none() {
        tracing::warn!(
            "{}: repository URL unknown (no https source, not a local linux-X.Y.y mirror): \
             pass --git-repo-url",
            dir.display()
        );
    }
    let line = human_line(&merged);
    Ok(Outcome::Harvested(
        Box::new(Harvested {
            dir: dir.to_path_buf(),
            layout: layout.id,
            report: merged.report.clone(),
            artifacts,
            line,
            warnings,
            commit_known: merged.commit_known,
            compressed: Vec::new(),
        }),
        Box::new(merged),
    ))
}

/// `Build of 6.1 was good (W:25 (2 distinct) E:0 640 seconds)`.
pub fn human_line(m: &Merged) -> String {
    let b = &m.report.builds[0];
    let misc = b.misc.as_ref();
    let get = |k: &str| misc.and_then(|m| m.get(k)).and_then(|v| v.as_u64());
    let verdict = if m.status == crate::kcidb::Status::Pass {
        "was good"
    } else {
        "FAILED!"
    };
    let mut counts = Vec::new();
    for (raw, distinct, letter) in [
        ("warnings_raw", "warnings", "W"),
        ("errors_raw", "errors", "E"),
    ] {
        match (get(raw), get(distinct)) {
            (Some(r), Some(d)) => counts.push(format!("{letter}:{r} ({d} distinct)")),
            (Some(r), None) => counts.push(format!("{letter}:{r}")),
            _ => {}
        }
    }
    if let Some(d) = &b.duration {
        counts.push(format!("{d} seconds"));
    }
    format!(
        "Build of {} {verdict} ({})",
        m.version_label,
        counts.join(" ")
    )
}

/// sha256 hex of a (maybe gzip-compressed) file of the directory.
fn sha256_file(input: &kcidb_harvest_parsers::Input, rel: &str) -> Option<String> {
    use sha2::Digest;
    let mut opened = input.open(rel).ok()??;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = std::io::Read::read(&mut opened.reader, &mut buf).ok()?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Some(kcidb_harvest_parsers::hex(&h.finalize()))
}
