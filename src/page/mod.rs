//! `kcidb-harvest report`: the history as one self-contained HTML page
//! (README "The report"). Three steps, kept apart:
//!
//! 1. [`model`]: the recorded builds (one query, [`History::all`]) →
//!    sections, one per tree and branch, each build with the diagnostics
//!    that are new since its previous build (the history's own rule:
//!    the build before it of the same tree, branch, architecture, config
//!    and compiler), and the recurring diagnostics (first and last build,
//!    in how many builds).
//! 2. [`chart`]: per section, the counts over time and the status
//!    timeline, as inline SVG drawn by plotters.
//! 3. [`html`]: the page: inline CSS, the charts, the tables, and a small
//!    inline script that paginates the builds table and expands a build's
//!    diagnostics. No network access: no CDN, no external font.
//!
//! [`History::all`]: crate::history::History::all

pub mod chart;
pub mod html;

use std::collections::{HashMap, HashSet};

use crate::history::{Group, Record};

/// The whole page.
#[derive(Debug)]
pub struct Model {
    pub sections: Vec<Section>,
    pub builds: usize,
}

/// One tree and branch.
#[derive(Debug)]
pub struct Section {
    pub tree: String,
    pub branch: String,
    /// Oldest first (by the previous-build rule's order: start time,
    /// kernel release, recording order).
    pub builds: Vec<BuildRow>,
    /// Every signature seen in this section, most widespread first.
    pub recurring: Vec<Recurring>,
}

#[derive(Debug)]
pub struct BuildRow {
    pub rec: Record,
    /// The index of the previous build in `Section::builds`, if any.
    pub previous: Option<usize>,
    /// Indices into `rec.diags` of the diagnostics new since `previous`
    /// (empty without a previous build: nothing is said).
    pub new: Vec<usize>,
    /// Seconds since the epoch, when the start time is known.
    pub time: Option<f64>,
}

impl BuildRow {
    pub fn new_count(&self) -> usize {
        self.new.len()
    }
}

/// A diagnostic (by signature) across a section's builds.
#[derive(Debug)]
pub struct Recurring {
    pub severity: String,
    pub kind: String,
    pub file: Option<String>,
    pub message: String,
    /// Indices into `Section::builds`.
    pub first: usize,
    pub last: usize,
    pub builds: usize,
}

/// The page's model of `records`, as [`History::all`] returns them (group
/// by group, each in order).
///
/// [`History::all`]: crate::history::History::all
pub fn model(records: Vec<Record>) -> Model {
    let builds = records.len();
    // previous and new, within each group: the records are in order
    // each build with the id of its previous build
    type Linked = (BuildRow, Option<String>);
    let mut rows: Vec<Linked> = Vec::with_capacity(records.len());
    let mut last_of_group: Option<(Group, usize)> = None;
    for rec in records {
        let prev_at = match &last_of_group {
            Some((g, i)) if *g == rec.group => Some(*i),
            _ => None,
        };
        let new = match prev_at {
            Some(p) => {
                let before: HashSet<&str> = rows[p]
                    .0
                    .rec
                    .diags
                    .iter()
                    .map(|d| d.signature.as_str())
                    .collect();
                rec.diags
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| !before.contains(d.signature.as_str()))
                    .map(|(i, _)| i)
                    .collect()
            }
            None => Vec::new(),
        };
        let previous_id = prev_at.map(|p| rows[p].0.rec.build_id.clone());
        last_of_group = Some((rec.group.clone(), rows.len()));
        let time = rec
            .start_time
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_micros() as f64 / 1e6);
        rows.push((
            BuildRow {
                rec,
                previous: None,
                new,
                time,
            },
            previous_id,
        ));
    }

    // sections: tree and branch, in the order the history gave them, but
    // builds of an unknown tree or branch last
    let mut order: Vec<(String, String)> = Vec::new();
    let mut by_key: HashMap<(String, String), Vec<Linked>> = HashMap::new();
    for (row, prev) in rows {
        let key = (row.rec.group.tree.clone(), row.rec.group.branch.clone());
        if !by_key.contains_key(&key) {
            order.push(key.clone());
        }
        by_key.entry(key).or_default().push((row, prev));
    }
    order.sort_by_key(|(tree, branch)| tree.is_empty() || branch.is_empty());
    let sections = order
        .into_iter()
        .map(|key| {
            let mut rows = by_key.remove(&key).unwrap_or_default();
            // stable: the recording order breaks ties, as in the history
            rows.sort_by(|a, b| a.0.rec.sort_key.cmp(&b.0.rec.sort_key));
            let at: HashMap<String, usize> = rows
                .iter()
                .enumerate()
                .map(|(i, (r, _))| (r.rec.build_id.clone(), i))
                .collect();
            let builds: Vec<BuildRow> = rows
                .into_iter()
                .map(|(mut r, prev)| {
                    r.previous = prev.and_then(|p| at.get(&p).copied());
                    r
                })
                .collect();
            let recurring = recurring(&builds);
            Section {
                tree: key.0,
                branch: key.1,
                builds,
                recurring,
            }
        })
        .collect();
    Model { sections, builds }
}

fn recurring(builds: &[BuildRow]) -> Vec<Recurring> {
    let mut by_sig: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<Recurring> = Vec::new();
    for (i, b) in builds.iter().enumerate() {
        for d in &b.rec.diags {
            match by_sig.get(d.signature.as_str()) {
                Some(&at) => {
                    // (a build may carry one signature on several lines)
                    let r = &mut out[at];
                    if r.last != i {
                        r.last = i;
                        r.builds += 1;
                    }
                }
                None => {
                    by_sig.insert(&d.signature, out.len());
                    out.push(Recurring {
                        severity: d.severity.clone(),
                        kind: d.kind.clone(),
                        file: d.file.clone(),
                        message: d.message.clone(),
                        first: i,
                        last: i,
                        builds: 1,
                    });
                }
            }
        }
    }
    // most widespread first, then errors before warnings, then the oldest
    out.sort_by(|a, b| {
        b.builds
            .cmp(&a.builds)
            .then_with(|| (a.severity != "error").cmp(&(b.severity != "error")))
            .then_with(|| a.first.cmp(&b.first))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::DiagRow;

    fn diag(sig: &str, severity: &str) -> DiagRow {
        DiagRow {
            signature: sig.into(),
            signature_text: sig.into(),
            severity: severity.into(),
            kind: "compiler".into(),
            file: Some("init/main.c".into()),
            line: Some(1),
            column: None,
            message: format!("message {sig}"),
            occurrences: 1,
            log_line: 1,
        }
    }

    fn rec(id: &str, arch: &str, start: &str, diags: Vec<DiagRow>) -> Record {
        Record {
            build_id: id.into(),
            checkout_id: "ck".into(),
            origin: "o".into(),
            dir: id.into(),
            group: Group {
                tree: "stable".into(),
                branch: "linux-6.1.y".into(),
                arch: arch.into(),
                config: "tinyconfig".into(),
                compiler: "gcc".into(),
            },
            kernel_version: Some("6.1.1".into()),
            start_time: Some(start.into()),
            status: Some("PASS".into()),
            counts: [Some(0); 4],
            log_url: None,
            sort_key: format!("{start}|"),
            diags,
        }
    }

    #[test]
    fn new_is_against_the_previous_build_of_the_same_group() {
        // as History::all orders them: group by group, in order
        let records = vec![
            rec(
                "a1",
                "arm64",
                "2026-01-01T00:00:00Z",
                vec![diag("s1", "warning")],
            ),
            rec(
                "a2",
                "arm64",
                "2026-01-03T00:00:00Z",
                // s2 on two lines: one signature, still one build
                vec![
                    diag("s1", "warning"),
                    diag("s2", "error"),
                    diag("s2", "error"),
                ],
            ),
            rec(
                "x1",
                "x86_64",
                "2026-01-02T00:00:00Z",
                vec![diag("s2", "error")],
            ),
        ];
        let m = model(records);
        assert_eq!(m.builds, 3);
        assert_eq!(m.sections.len(), 1, "one tree and branch");
        let s = &m.sections[0];
        let ids: Vec<&str> = s.builds.iter().map(|b| b.rec.build_id.as_str()).collect();
        assert_eq!(ids, ["a1", "x1", "a2"], "by start time across groups");
        assert_eq!(
            s.builds[0].new,
            Vec::<usize>::new(),
            "no previous: nothing new"
        );
        assert_eq!(s.builds[1].previous, None, "x86_64 has no earlier build");
        assert_eq!(s.builds[2].previous, Some(0), "a2's previous is a1, not x1");
        assert_eq!(s.builds[2].new, [1, 2], "s2 is new on arm64");
        // s2 in 2 builds (errors first among equals), s1 in 2 builds
        let r: Vec<(String, usize, usize, usize)> = s
            .recurring
            .iter()
            .map(|r| (r.message.clone(), r.builds, r.first, r.last))
            .collect();
        assert_eq!(
            r,
            [
                ("message s2".to_string(), 2, 1, 2),
                ("message s1".to_string(), 2, 0, 2)
            ]
        );
    }
}
