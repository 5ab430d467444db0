//! The closing summary of a run: counts per status, per layout and per
//! delivery outcome, and the reason of every failure.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

/// Counters filled while a batch runs.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub directories: usize,
    pub by_status: BTreeMap<String, usize>,
    pub by_layout: BTreeMap<String, usize>,
    /// Delivery outcomes (`delivered`, `spooled`, `already_delivered`,
    /// `refused`, `invalid`, `printed` for --dry-run).
    pub outcomes: BTreeMap<String, usize>,
    /// KCIDB objects in the validated reports: `builds`, `tests`,
    /// `incidents`, and `issues` (distinct, by id: the same error in two
    /// builds is one issue).
    pub objects: BTreeMap<&'static str, usize>,
    #[serde(skip)]
    issue_ids: std::collections::HashSet<String>,
    pub in_progress: usize,
    pub failed: Vec<Failure>,
    pub skipped_paths: Vec<Failure>,
    pub interrupted: bool,
    /// What to do next, once each (how to send the spool, how to deliver
    /// a refused checkout), however many directories they concern.
    pub hints: BTreeSet<String>,
    pub elapsed_seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct Failure {
    pub dir: PathBuf,
    pub reason: String,
}

impl Summary {
    pub fn count_outcome(&mut self, what: &str) {
        *self.outcomes.entry(what.to_string()).or_default() += 1;
    }

    /// Count the objects of one validated report.
    pub fn count_objects(&mut self, r: &crate::kcidb::Report) {
        for i in &r.issues {
            if self.issue_ids.insert(i.id.clone()) {
                *self.objects.entry("issues").or_default() += 1;
            }
        }
        for (k, n) in [
            ("builds", r.builds.len()),
            ("tests", r.tests.len()),
            ("incidents", r.incidents.len()),
        ] {
            *self.objects.entry(k).or_default() += n;
        }
        self.objects.entry("issues").or_default();
    }

    /// Aligned human text (stderr).
    pub fn human(&self) -> String {
        let mut rows: Vec<(String, String)> = Vec::new();
        rows.push(("directories".into(), self.directories.to_string()));
        for (k, v) in &self.by_status {
            rows.push((format!("status {k}"), v.to_string()));
        }
        for (k, v) in &self.by_layout {
            rows.push((format!("layout {k}"), v.to_string()));
        }
        for (k, v) in &self.outcomes {
            rows.push((k.replace('_', " "), v.to_string()));
        }
        for k in ["issues", "incidents"] {
            if let Some(n) = self.objects.get(k).filter(|n| **n > 0) {
                rows.push((k.to_string(), n.to_string()));
            }
        }
        if self.in_progress > 0 {
            rows.push((
                "in progress (not submitted)".into(),
                self.in_progress.to_string(),
            ));
        }
        rows.push(("failed".into(), self.failed.len().to_string()));
        if !self.skipped_paths.is_empty() {
            rows.push((
                "paths skipped by the walk".into(),
                self.skipped_paths.len().to_string(),
            ));
        }
        let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let nw = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
        let mut s = String::from("summary:\n");
        for (k, v) in rows {
            s.push_str(&format!("  {k:<w$}  {v:>nw$}\n"));
        }
        // one line per reason (a backfill can refuse a thousand
        // directories for the same reason): its count and the first ones
        for (reason, dirs) in group_by_reason(&self.failed) {
            let shown: Vec<String> = dirs
                .iter()
                .take(3)
                .map(|d| crate::output::shown(d))
                .collect();
            let more = if dirs.len() > 3 {
                format!(" and {} more", dirs.len() - 3)
            } else {
                String::new()
            };
            s.push_str(&format!(
                "  failed: {}{more}: {}\n",
                shown.join(", "),
                crate::output::escape(reason)
            ));
        }
        for f in &self.skipped_paths {
            s.push_str(&format!(
                "  skipped: {}: {}\n",
                crate::output::shown(&f.dir),
                crate::output::escape(&f.reason)
            ));
        }
        if self.interrupted {
            s.push_str("  interrupted: the next run continues where this one stopped\n");
        }
        for h in &self.hints {
            s.push_str(&format!("  hint: {}\n", crate::output::escape(h)));
        }
        s.push_str(&format!("  elapsed {:.1}s", self.elapsed_seconds));
        s
    }
}

/// Failures grouped by reason, in the order each reason first appears.
fn group_by_reason(failed: &[Failure]) -> Vec<(&str, Vec<&std::path::Path>)> {
    let mut groups: Vec<(&str, Vec<&std::path::Path>)> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for f in failed {
        let i = *index.entry(&f.reason).or_insert_with(|| {
            groups.push((&f.reason, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(&f.dir);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_with_one_reason_are_one_line() {
        let mut s = Summary::default();
        for i in 0..5 {
            s.failed.push(Failure {
                dir: format!("d{i}").into(),
                reason: "not delivered: unknown commit".into(),
            });
        }
        s.failed.push(Failure {
            dir: "x".into(),
            reason: "unknown layout".into(),
        });
        let text = s.human();
        assert!(
            text.contains("  failed: d0, d1, d2 and 2 more: not delivered: unknown commit\n"),
            "{text}"
        );
        assert!(text.contains("  failed: x: unknown layout\n"), "{text}");
        assert_eq!(text.matches("unknown commit").count(), 1, "{text}");
    }
}
