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

/// At most this many facts (and [`MAX_BYTES_PER_KEY`] of values) are kept
/// per key: the first ones and, in the last slot, always the latest. A
/// hostile log with a million marker lines costs the same memory as one
/// with a few. (A stable queue of a few thousand patches still has every
/// applied patch kept.)
pub const MAX_FACTS_PER_KEY: usize = 8192;
/// Bytes of values kept per key (see [`MAX_FACTS_PER_KEY`]).
pub const MAX_BYTES_PER_KEY: usize = 1 << 20;
/// Bytes of values kept in all: past it, keys already seen keep only their
/// latest value in their last slot, and new keys are dropped.
pub const MAX_TOTAL_BYTES: usize = 16 << 20;
/// At most this many distinct keys (dynamic keys come from ktest's options
/// dump); facts under further keys are dropped with one note.
pub const MAX_KEYS: usize = 4096;
/// At most this many notes (and as many warnings) are kept; the rest are
/// counted in a last note.
pub const MAX_NOTES: usize = 256;

/// How many facts a key has had, and where its last kept one is.
#[derive(Debug, Clone, Copy)]
struct KeyCount {
    seen: u64,
    kept: usize,
    bytes: usize,
    last_index: usize,
}

/// About how many bytes a value holds (strings and nodes).
fn value_size(v: &Value) -> usize {
    match v {
        Value::String(s) => 24 + s.len(),
        Value::Array(a) => 24 + a.iter().map(value_size).sum::<usize>(),
        Value::Object(m) => {
            24 + m
                .iter()
                .map(|(k, v)| 24 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 24,
    }
}

impl std::fmt::Display for Note {
    /// `file:line: message`, or the message alone when it names no file.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.loc.file.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.loc, self.message)
        }
    }
}

/// Everything the parsers of one directory produced.
///
/// Memory is bounded whatever the input: per key the first
/// [`MAX_FACTS_PER_KEY`] facts are kept, the last slot always holding the
/// latest ([`Facts::first`] and [`Facts::last`] stay exact), and
/// [`Facts::count`] gives the real number seen.
#[derive(Debug, Default)]
pub struct Facts {
    items: Vec<Fact>,
    counts: std::collections::HashMap<String, KeyCount>,
    total_bytes: usize,
    dropped_keys: u64,
    pub notes: Vec<Note>,
    dropped_notes: u64,
    /// Oddities that change what is reported (a fallback to another source,
    /// a refused link, a value that did not parse): printed as warnings on
    /// stderr and listed by `explain`, unlike [`Facts::notes`] (`-v` only).
    pub warnings: Vec<Note>,
    dropped_warnings: u64,
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
        self.add(Fact {
            key: key.into(),
            value: value.into(),
            loc: Loc::new(file, line),
        });
    }

    /// Record a fact already built (bounded like [`Facts::push`]).
    pub fn add(&mut self, fact: Fact) {
        let next = self.items.len();
        let size = value_size(&fact.value) + fact.loc.file.len();
        if let Some(c) = self.counts.get_mut(&fact.key) {
            c.seen += 1;
            if c.kept < MAX_FACTS_PER_KEY
                && c.bytes + size <= MAX_BYTES_PER_KEY
                && self.total_bytes + size <= MAX_TOTAL_BYTES
            {
                c.kept += 1;
                c.bytes += size;
                c.last_index = next;
                self.total_bytes += size;
                self.items.push(fact);
            } else if let Some(slot) = self.items.get_mut(c.last_index) {
                // the last slot always holds the latest
                *slot = fact;
            }
            return;
        }
        if self.counts.len() >= MAX_KEYS || self.total_bytes + size > MAX_TOTAL_BYTES {
            self.dropped_keys += 1;
            return;
        }
        self.total_bytes += size;
        self.counts.insert(
            fact.key.clone(),
            KeyCount {
                seen: 1,
                kept: 1,
                bytes: size,
                last_index: next,
            },
        );
        self.items.push(fact);
    }

    /// Every kept fact, in the order they were first recorded.
    pub fn items(&self) -> &[Fact] {
        &self.items
    }

    /// The kept facts, by value (to move them into another [`Facts`]).
    pub fn into_items(self) -> Vec<Fact> {
        self.items
    }

    /// How many facts with this key were recorded (kept or not).
    pub fn count(&self, key: &str) -> u64 {
        self.counts.get(key).map_or(0, |c| c.seen)
    }

    /// Record a non-fatal oddity.
    pub fn note(&mut self, file: &str, line: Option<u64>, message: impl Into<String>) {
        if self.notes.len() < MAX_NOTES {
            self.notes.push(Note {
                loc: Loc::new(file, line),
                message: message.into(),
            });
        } else {
            self.dropped_notes += 1;
        }
    }

    /// Record an oddity that changes what is reported (see [`Facts::warnings`]).
    pub fn warn(&mut self, file: &str, line: Option<u64>, message: impl Into<String>) {
        let note = Note {
            loc: Loc::new(file, line),
            message: message.into(),
        };
        if self.warnings.contains(&note) {
            return;
        }
        if self.warnings.len() < MAX_NOTES {
            self.warnings.push(note);
        } else {
            self.dropped_warnings += 1;
        }
    }

    /// Notes about what the bounds dropped (none for ordinary inputs).
    pub fn bound_notes(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.dropped_keys > 0 {
            v.push(format!(
                "{} facts under new keys were dropped (more than {MAX_KEYS} keys or {MAX_TOTAL_BYTES} bytes of values)",
                self.dropped_keys
            ));
        }
        if self.dropped_notes > 0 {
            v.push(format!("{} more notes not kept", self.dropped_notes));
        }
        if self.dropped_warnings > 0 {
            v.push(format!("{} more warnings not kept", self.dropped_warnings));
        }
        v
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

    /// Move all facts, notes and warnings of `other` into `self`.
    pub fn extend(&mut self, other: Facts) {
        for f in other.items {
            self.add(f);
        }
        for (key, c) in other.counts {
            let unkept = c.seen - c.kept as u64;
            if let Some(mine) = self.counts.get_mut(&key) {
                mine.seen += unkept;
            }
        }
        for n in other.notes {
            self.note(&n.loc.file, n.loc.line, n.message);
        }
        for w in other.warnings {
            self.warn(&w.loc.file, w.loc.line, w.message);
        }
        if other.diag.is_some() {
            self.diag = other.diag;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_markers_keep_first_last_and_count_in_bounded_space() {
        let mut f = Facts::new();
        for i in 0..1_000_000u64 {
            f.push("ktest.exit", i, "output_log", Some(i + 1));
        }
        assert_eq!(f.count("ktest.exit"), 1_000_000);
        assert_eq!(
            f.first("ktest.exit").map(|x| x.value.clone()),
            Some(0.into())
        );
        assert_eq!(
            f.last("ktest.exit").map(|x| (x.value.clone(), x.loc.line)),
            Some((999_999u64.into(), Some(1_000_000)))
        );
        assert!(f.items().len() <= MAX_FACTS_PER_KEY, "{}", f.items().len());
        // other keys are unaffected
        f.push("other", "x", "f", None);
        assert_eq!(f.str("other").map(|x| x.0), Some("x"));
    }

    #[test]
    fn big_values_are_bounded_by_bytes() {
        let mut f = Facts::new();
        let big = "x".repeat(8 * 1024);
        for i in 0..100_000u64 {
            f.push(format!("k{}", i % 64), big.as_str(), "f", Some(i));
            // 99_999 % 64 == 31
        }
        let kept: usize = f
            .items()
            .iter()
            .map(|x| x.value.as_str().map_or(0, str::len))
            .sum();
        assert!(kept <= MAX_TOTAL_BYTES, "{kept}");
        assert_eq!(f.last("k31").and_then(|x| x.loc.line), Some(99_999));
    }

    #[test]
    fn keys_past_the_limit_are_dropped_with_a_note() {
        let mut f = Facts::new();
        for i in 0..(MAX_KEYS + 10) {
            f.push(format!("ktest.opt.K{i}"), "v", "log", None);
        }
        assert!(f.first("ktest.opt.K0").is_some());
        assert!(f.first(&format!("ktest.opt.K{}", MAX_KEYS + 5)).is_none());
        assert_eq!(f.bound_notes().len(), 1, "{:?}", f.bound_notes());
    }

    #[test]
    fn extend_keeps_counts_and_notes_are_capped() {
        let mut a = Facts::new();
        let mut b = Facts::new();
        for i in 0..(MAX_FACTS_PER_KEY as u64 + 100) {
            b.push("k", i, "f", None);
        }
        a.push("k", 0u64, "f", None);
        a.extend(b);
        assert_eq!(a.count("k"), MAX_FACTS_PER_KEY as u64 + 101);
        for i in 0..(MAX_NOTES + 5) {
            a.note("f", Some(i as u64), "n");
            a.warn("f", Some(i as u64), "w");
        }
        assert_eq!(a.notes.len(), MAX_NOTES);
        assert_eq!(a.warnings.len(), MAX_NOTES);
        assert_eq!(a.bound_notes().len(), 2);
        // the same warning twice is kept once
        let mut c = Facts::new();
        c.warn("f", None, "same");
        c.warn("f", None, "same");
        assert_eq!(c.warnings.len(), 1);
    }
}
