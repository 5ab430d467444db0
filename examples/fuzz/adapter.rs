//! The only place the harness touches the product's internal APIs (layout
//! detection, `pipeline::harvest`, `DirYield.artifacts`, artifact compression),
//! so a change there is adapted here alone.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use kcidb_harvest::pipeline::{self, Candidate, DirOutcome, Options};

/// One artifact the harvest would upload.
pub struct ArtifactView {
    pub resource: String,
    /// Where the harvest reads it from.
    pub path: PathBuf,
    /// The decompressed bytes delivery would upload (through the product's
    /// own compression), or why they could not be had.
    pub uploaded: Result<Vec<u8>, String>,
}

/// Everything one harvest produced, as text and bytes for the oracles.
#[derive(Default)]
pub struct HarvestView {
    pub layout: Option<String>,
    /// `Ok`: the report (serde_json), the human line and the merge's
    /// status reason and field sources.
    pub texts: Vec<(&'static str, String)>,
    pub artifacts: Vec<ArtifactView>,
}

/// Upper bound of artifact bytes read back (decompressed).
const READ_LIMIT: u64 = 64 << 20;

/// Run layout detection and the whole harvest of `dir`.
pub fn harvest(dir: &Path, assume_finished: bool) -> HarvestView {
    let mut view = HarvestView {
        layout: kcidb_harvest::layout::detect(dir).map(|(l, _)| l.id.to_string()),
        ..Default::default()
    };
    let opts = Options {
        origin: "fuzz".into(),
        overrides: Default::default(),
        assume_finished,
        now: SystemTime::now(),
        issues: kcidb_harvest::report::issues::IssueMode::All,
    };
    match pipeline::harvest(Candidate::named(dir.to_path_buf()), &opts) {
        DirOutcome::Yielded(h) => {
            view.texts.push((
                "report",
                serde_json::to_string(&h.report).unwrap_or_else(|e| format!("unserializable: {e}")),
            ));
            view.texts.push(("human line", h.line.clone()));
            view.texts.push(("status reason", h.status_reason.clone()));
            view.texts.push(("warnings", h.warnings.join("\n")));
            for a in &h.artifacts {
                view.artifacts.push(ArtifactView {
                    resource: a.resource_name.clone(),
                    path: a.file.path().to_path_buf(),
                    uploaded: uploaded_bytes(&a.file, &a.upload_name),
                });
            }
        }
        DirOutcome::InProgress { reason, .. } => view.texts.push(("in-progress reason", reason)),
        DirOutcome::Failed { error, .. } => view.texts.push(("error message", error.to_string())),
    }
    view
}

/// Compress `file` as delivery does, then read the result back decompressed.
fn uploaded_bytes(
    file: &kcidb_harvest_parsers::input::GatedFile,
    upload_name: &str,
) -> Result<Vec<u8>, String> {
    let c = kcidb_harvest::artifacts::compress(file, upload_name).map_err(|e| e.to_string())?;
    let f = std::fs::File::open(c.path()).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f))
        .take(READ_LIMIT)
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}
