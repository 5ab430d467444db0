//! Facts: what parsers learn, each tagged with where it was learnt.
//!
//! A fact is a `(key, value, location)` triple. Keys are dotted strings
//! (`"ktest.exit"`, `"git.clone_commit"`); the full list of keys each parser
//! emits is documented in that parser's module and in [`keys`]. Values are
//! JSON values so that facts can be listed by `kcidb-harvest explain`
//! without knowing every type. The merge stage (in the main crate) turns
//! facts into KCIDB fields with written precedence rules.

use serde::Serialize;
use serde_json::Value;

use crate::diag::DiagReport;

/// Where a fact came from: a file (relative to the harvested directory) and,
/// when it makes sense, a 1-based line number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Loc {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

impl Loc {
    pub fn new(file: impl Into<String>, line: Option<u64>) -> Self {
        Loc {
            file: file.into(),
            line,
        }
    }
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}", self.file, l),
            None => f.write_str(&self.file),
        }
    }
}

/// One fact.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fact {
    pub key: String,
    pub value: Value,
    pub loc: Loc,
}

/// A non-fatal oddity a parser met (kept for `explain` and `-v`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Note {
    pub loc: Loc,
    pub message: String,
}

/// Everything the parsers of one directory produced.
#[derive(Debug, Default)]
pub struct Facts {
    pub items: Vec<Fact>,
    pub notes: Vec<Note>,
    /// The diagnostics of the primary build log, with the file it came from.
    pub diag: Option<(String, DiagReport)>,
}

impl Facts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Record a fact.
    pub fn push(
        &mut self,
        key: impl Into<String>,
        value: impl Into<Value>,
        file: &str,
        line: Option<u64>,
    ) {
        self.items.push(Fact {
            key: key.into(),
            value: value.into(),
            loc: Loc::new(file, line),
        });
    }

    /// Record a non-fatal oddity.
    pub fn note(&mut self, file: &str, line: Option<u64>, message: impl Into<String>) {
        self.notes.push(Note {
            loc: Loc::new(file, line),
            message: message.into(),
        });
    }

    /// Every fact with this key, in the order they were found.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Fact> + 'a {
        self.items.iter().filter(move |f| f.key == key)
    }

    /// The first fact with this key.
    pub fn first(&self, key: &str) -> Option<&Fact> {
        self.items.iter().find(|f| f.key == key)
    }

    /// The last fact with this key (e.g. the last run of an appended log).
    pub fn last(&self, key: &str) -> Option<&Fact> {
        self.items.iter().rev().find(|f| f.key == key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.first(key).is_some()
    }

    /// Last value of `key` as a string.
    pub fn str(&self, key: &str) -> Option<(&str, &Loc)> {
        self.last(key)
            .and_then(|f| f.value.as_str().map(|s| (s, &f.loc)))
    }

    /// Last value of `key` as an integer.
    pub fn int(&self, key: &str) -> Option<(i64, &Loc)> {
        self.last(key)
            .and_then(|f| f.value.as_i64().map(|v| (v, &f.loc)))
    }

    /// Last value of `key` as a float (integers convert).
    pub fn float(&self, key: &str) -> Option<(f64, &Loc)> {
        self.last(key)
            .and_then(|f| f.value.as_f64().map(|v| (v, &f.loc)))
    }

    /// Last value of `key` as a bool.
    pub fn bool(&self, key: &str) -> Option<(bool, &Loc)> {
        self.last(key)
            .and_then(|f| f.value.as_bool().map(|v| (v, &f.loc)))
    }

    /// Move all facts and notes of `other` into `self`.
    pub fn extend(&mut self, other: Facts) {
        self.items.extend(other.items);
        self.notes.extend(other.notes);
        if other.diag.is_some() {
            self.diag = other.diag;
        }
    }
}
