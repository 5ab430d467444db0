//! Stages 2-5 for one directory: layout → parsers → merge → report.
//!
//! [`harvest_dir`] turns one result directory into a [`Harvested`]: a
//! KCIDB report holding exactly one checkout and one build (not yet
//! validated: URLs are added by delivery first), the artifacts to upload,
//! and the human summary line.

use std::path::PathBuf;

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
    /// Where it is on disk (may already be gzip-compressed, e.g. `log.gz`).
    pub path: PathBuf,
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
    /// False when the base commit is unknown (delivery refuses unless allowed).
    pub commit_known: bool,
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
