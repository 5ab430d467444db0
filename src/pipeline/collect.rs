//! Stage collect: run the layout's parsers through the directory's gate.

use super::{Collected, Detected, HarvestError};
use crate::cli::Overrides;

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

/// Run `d`'s parsers in the layout's order (`kcidb_harvest_parsers::collect`:
/// a parser that fails refuses the directory unless an override gives its
/// value; refused links become warnings, facts cut by their bounds notes,
/// and the fix-ups that need several parsers' facts are applied there).
pub fn collect(d: Detected, overrides: &Overrides) -> Result<Collected, HarvestError> {
    let Detected { dir, layout, input } = d;
    let facts =
        kcidb_harvest_parsers::collect(layout.parsers, &input, &|id| rescued_by(id, overrides))
            .map_err(|e| HarvestError::Parse {
                dir: dir.clone(),
                source: e.source,
            })?;
    for n in &facts.notes {
        tracing::info!("{}: {n}", dir.display());
    }
    Ok(Collected {
        dir,
        layout,
        input,
        facts,
    })
}
