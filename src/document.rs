//! `--dry-run` output: one KCIDB document, streamed.
//!
//! Builds are written as their directories are harvested; checkouts
//! (deduplicated by id, usually far fewer), tests (the boots and test
//! runs of ktest runs), issues and incidents, kept as their JSON text,
//! are written at the end. Memory therefore does not grow with the number of builds, and only
//! [`Validated`] reports can be written: every object in the document was
//! checked, and the top level (`version`, `builds`, `checkouts`) is fixed,
//! so the whole document is valid.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::kcidb::{model, Checkout, Validated};

/// Streams one document to stdout and, optionally, a file.
pub struct DocWriter {
    file: Option<BufWriter<File>>,
    stdout_open: bool,
    builds: usize,
    checkouts: Vec<Checkout>,
    seen: HashSet<String>,
    seen_builds: HashSet<String>,
    /// Tests, issues and incidents, as their JSON text, indented.
    tests: Section,
    issues: Section,
    incidents: Section,
}

/// A section written at the end: its objects once each (by id).
#[derive(Default)]
struct Section {
    items: Vec<String>,
    seen: HashSet<String>,
}

impl Section {
    fn push(&mut self, id: &str, object: &impl serde::Serialize) -> io::Result<()> {
        if self.seen.insert(id.to_string()) {
            let text = serde_json::to_string_pretty(object).map_err(io::Error::other)?;
            self.items.push(indent(&text, 4));
        }
        Ok(())
    }

    fn write_into(&self, name: &str, tail: &mut String) {
        if !self.items.is_empty() {
            tail.push_str(&format!(
                ",\n  \"{name}\": [\n{}\n  ]",
                self.items.join(",\n")
            ));
        }
    }
}

fn indent(json: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    json.lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl DocWriter {
    /// Write to stdout (when `to_stdout`) and to `file` when given (created
    /// or truncated now).
    pub fn new(file: Option<&Path>, to_stdout: bool) -> io::Result<DocWriter> {
        Ok(DocWriter {
            file: match file {
                Some(p) => Some(BufWriter::new(File::create(p)?)),
                None => None,
            },
            stdout_open: to_stdout,
            builds: 0,
            checkouts: Vec::new(),
            seen: HashSet::new(),
            seen_builds: HashSet::new(),
            tests: Section::default(),
            issues: Section::default(),
            incidents: Section::default(),
        })
    }

    fn write(&mut self, text: &str) -> io::Result<()> {
        if self.stdout_open {
            // a closed pipe (`| head`) is not an error: stop writing there;
            // any other error (a full disk) is
            self.stdout_open = crate::reporter::get().suspend(|| crate::output::stdout(text))?;
        }
        if let Some(f) = &mut self.file {
            f.write_all(text.as_bytes())?;
        }
        Ok(())
    }

    fn header() -> String {
        let v = serde_json::to_string_pretty(&model::Version::default()).unwrap_or_default();
        format!("{{\n  \"version\": {}", indent(&v, 2).trim_start())
    }

    /// Add one directory's validated report (its checkouts, builds and tests).
    pub fn push(&mut self, report: &Validated) -> io::Result<()> {
        let r = report.report();
        for b in &r.builds {
            // the same build twice (a copy of a directory): once in the document
            if !self.seen_builds.insert(b.id.clone()) {
                continue;
            }
            let text = serde_json::to_string_pretty(b).map_err(io::Error::other)?;
            let lead = if self.builds == 0 {
                format!("{},\n  \"builds\": [\n", Self::header())
            } else {
                ",\n".to_string()
            };
            self.write(&format!("{lead}{}", indent(&text, 4)))?;
            self.builds += 1;
        }
        for c in &r.checkouts {
            if self.seen.insert(c.id.clone()) {
                self.checkouts.push(c.clone());
            }
        }
        for t in &r.tests {
            self.tests.push(&t.id, t)?;
        }
        for i in &r.issues {
            self.issues.push(&format!("{}@{}", i.id, i.version), i)?;
        }
        for i in &r.incidents {
            self.incidents.push(&i.id, i)?;
        }
        Ok(())
    }

    /// Close the document.
    pub fn finish(mut self) -> io::Result<()> {
        let mut tail = if self.builds == 0 {
            Self::header()
        } else {
            "\n  ]".to_string()
        };
        if !self.checkouts.is_empty() {
            let items: Vec<String> = self
                .checkouts
                .iter()
                .map(|c| serde_json::to_string_pretty(c).map(|t| indent(&t, 4)))
                .collect::<Result<_, _>>()
                .map_err(io::Error::other)?;
            tail.push_str(&format!(
                ",\n  \"checkouts\": [\n{}\n  ]",
                items.join(",\n")
            ));
        }
        self.tests.write_into("tests", &mut tail);
        self.issues.write_into("issues", &mut tail);
        self.incidents.write_into("incidents", &mut tail);
        tail.push_str("\n}\n");
        self.write(&tail)?;
        if let Some(f) = &mut self.file {
            f.flush()?;
        }
        Ok(())
    }
}
