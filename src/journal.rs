//! Stage 8: the delivery journal, an append-only JSON Lines file
//! (default `<spool>/journal.jsonl`).
//!
//! One line per delivered build: build id, checkout id, submission id,
//! directory (or spool file), content hash and time. A re-run skips builds
//! the journal knows (the production database keeps the first value
//! written, so sending again can fix nothing). A damaged line is reported
//! with its line number and skipped; it never stops a run.
//!
//! Writers take an exclusive lock on the file ([`Journal::lock`]) for the
//! whole check-submit-record sequence, so two concurrent runs never send
//! the same build twice; under the lock the lines other processes appended
//! meanwhile are read first.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::kcidb::{Build, Checkout};

/// One journal line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// RFC 3339 UTC time of delivery.
    pub time: String,
    pub build_id: String,
    #[serde(default)]
    pub checkout_id: String,
    pub submission_id: String,
    /// The harvested directory (absent for reports sent from the spool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// The spool file it was sent from (`kcidb-harvest send`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spool_file: Option<String>,
    /// [`content_hash`] of the checkout and build as sent.
    #[serde(default)]
    pub sha256: String,
}

/// What the journal knows about one build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub submission_id: String,
    pub sha256: String,
    pub time: String,
}

/// sha256 of the checkout and build JSON (compact, field order of the
/// model), the "content hash" of the journal.
pub fn content_hash(checkout: Option<&Checkout>, build: &Build) -> String {
    let mut h = Sha256::new();
    if let Some(c) = checkout {
        h.update(serde_json::to_vec(c).unwrap_or_default());
    }
    h.update(b"\n");
    h.update(serde_json::to_vec(build).unwrap_or_default());
    kcidb_harvest_parsers::digest::hex(&h.finalize())
}

/// Now, RFC 3339 UTC with seconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The journal's in-memory key of a build id: 128 bits of its sha256. The
/// index holds only keys and line offsets (about 40 bytes a build, so years
/// of backfill fit in a few MiB); a lookup reads the line back and checks
/// the id itself.
pub fn key(build_id: &str) -> u128 {
    let d = Sha256::digest(build_id.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    u128::from_le_bytes(k)
}

/// A journal line longer than this is damaged (a real one is a few hundred
/// bytes): skipped, never read into memory whole.
const MAX_LINE: usize = 64 * 1024;

/// [`key`] of each delivered build → offset of its latest line: a sorted
/// vector (24 bytes a build, no hash-table slack) plus a small map of
/// recent additions merged into it when it fills.
#[derive(Default)]
struct Index {
    sorted: Vec<(u128, u64)>,
    recent: HashMap<u128, u64>,
}

/// Additions kept in [`Index::recent`] before a merge.
const RECENT: usize = 16 * 1024;

impl Index {
    fn get(&self, k: u128) -> Option<u64> {
        if let Some(&o) = self.recent.get(&k) {
            return Some(o);
        }
        self.sorted
            .binary_search_by_key(&k, |e| e.0)
            .ok()
            .map(|i| self.sorted[i].1)
    }

    fn insert(&mut self, k: u128, offset: u64) {
        self.recent.insert(k, offset);
        if self.recent.len() >= RECENT {
            self.merge();
        }
    }

    fn merge(&mut self) {
        let mut fresh = Vec::new();
        for (k, o) in self.recent.drain() {
            match self.sorted.binary_search_by_key(&k, |e| e.0) {
                Ok(i) => self.sorted[i].1 = o,
                Err(_) => fresh.push((k, o)),
            }
        }
        self.sorted.extend(fresh);
        self.sorted.sort_unstable_by_key(|e| e.0);
    }

    fn len(&self) -> usize {
        self.sorted.len()
            + self
                .recent
                .keys()
                .filter(|k| self.sorted.binary_search_by_key(*k, |e| e.0).is_err())
                .count()
    }

    fn is_empty(&self) -> bool {
        self.sorted.is_empty() && self.recent.is_empty()
    }

    fn keys(&self) -> impl Iterator<Item = u128> + '_ {
        self.sorted
            .iter()
            .map(|e| e.0)
            .chain(self.recent.keys().copied())
    }

    fn clear(&mut self) {
        self.sorted.clear();
        self.recent.clear();
    }
}

/// The journal: what was delivered, by build id.
pub struct Journal {
    path: PathBuf,
    delivered: Index,
    /// Bytes of the file already read.
    offset: u64,
    /// Lines already read (for line numbers in warnings).
    lines: usize,
}

impl Journal {
    /// Read the journal at `path` (a missing file is an empty journal).
    pub fn open(path: &Path) -> io::Result<Journal> {
        let mut j = Journal {
            path: path.to_path_buf(),
            delivered: Index::default(),
            offset: 0,
            lines: 0,
        };
        match File::open(path) {
            Ok(mut f) => {
                // No lock: another run may hold it for a whole submission.
                // A last line without its newline may be an append in
                // progress elsewhere: it is left for a later read under lock.
                j.read_from(&mut f, false)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(j)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The delivery record of a build, if any (its line, read back).
    pub fn lookup(&self, build_id: &str) -> Option<Record> {
        let offset = self.delivered.get(key(build_id))?;
        let mut f = File::open(&self.path).ok()?;
        f.seek(SeekFrom::Start(offset)).ok()?;
        let mut line = Vec::new();
        BufReader::new(f.take(MAX_LINE as u64))
            .read_until(b'\n', &mut line)
            .ok()?;
        let e: Entry = serde_json::from_slice(&line).ok()?;
        (e.build_id == build_id).then_some(Record {
            submission_id: e.submission_id,
            sha256: e.sha256,
            time: e.time,
        })
    }

    /// The [`key`]s of every build known delivered.
    pub fn keys(&self) -> HashSet<u128> {
        self.delivered.keys().collect()
    }

    /// True if the journal knows `build_id` delivered (no file read: a
    /// 128-bit key match).
    pub fn contains(&self, build_id: &str) -> bool {
        self.delivered.get(key(build_id)).is_some()
    }

    /// Number of builds known delivered.
    pub fn len(&self) -> usize {
        self.delivered.len()
    }

    pub fn is_empty(&self) -> bool {
        self.delivered.is_empty()
    }

    /// Take the exclusive lock (waiting for another run to finish its
    /// submission), then read what was appended meanwhile.
    pub fn lock(&mut self) -> io::Result<JournalLock<'_>> {
        if let Some(parent) = self.path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)?;
            }
        }
        let mut file = File::options()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)?;
        crate::spool::lock_exclusive(&file, || {
            tracing::info!(
                "waiting for another kcidb-harvest run to release `{}`",
                self.path.display()
            )
        })?;
        self.read_from(&mut file, true)?;
        Ok(JournalLock {
            journal: self,
            file,
        })
    }

    /// Read lines after `self.offset`. With `final_partial`, an unterminated
    /// last line is a crash remnant: report it and move past it.
    fn read_from(&mut self, f: &mut File, final_partial: bool) -> io::Result<()> {
        let len = f.metadata()?.len();
        if len < self.offset {
            // Truncated or replaced by someone: start over.
            self.offset = 0;
            self.lines = 0;
            self.delivered.clear();
        }
        f.seek(SeekFrom::Start(self.offset))?;
        // Streamed line by line: the journal of a long backfill is large.
        let mut r = BufReader::new((&mut *f).take(len - self.offset));
        let mut line = Vec::new();
        loop {
            line.clear();
            let start = self.offset;
            let n = (&mut r)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            let mut complete = line.last() == Some(&b'\n');
            let mut consumed = n;
            if !complete && n > MAX_LINE {
                // an absurd line: skip to its end
                let mut rest = Vec::new();
                loop {
                    rest.clear();
                    let m = (&mut r)
                        .take(MAX_LINE as u64)
                        .read_until(b'\n', &mut rest)?;
                    consumed += m;
                    if m == 0 || rest.last() == Some(&b'\n') {
                        complete = m > 0;
                        break;
                    }
                }
                if !complete && !final_partial {
                    break;
                }
                self.lines += 1;
                self.offset += consumed as u64;
                tracing::warn!(
                    "`{}`:{}: damaged journal line skipped (longer than {MAX_LINE} bytes)",
                    self.path.display(),
                    self.lines
                );
                continue;
            }
            if !complete && !final_partial {
                break;
            }
            self.lines += 1;
            self.offset += consumed as u64;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Entry>(&line) {
                // Parsable but unterminated: keep it, the next append
                // starts on a new line anyway.
                Ok(e) => self.add(&e.build_id, start),
                Err(err) => tracing::warn!(
                    "`{}`:{}: damaged journal line skipped ({err})",
                    self.path.display(),
                    self.lines
                ),
            }
        }
        Ok(())
    }

    fn add(&mut self, build_id: &str, offset: u64) {
        self.delivered.insert(key(build_id), offset);
    }
}

/// The journal, locked for writing.
pub struct JournalLock<'a> {
    journal: &'a mut Journal,
    file: File,
}

impl JournalLock<'_> {
    pub fn lookup(&self, build_id: &str) -> Option<Record> {
        self.journal.lookup(build_id)
    }

    pub fn contains(&self, build_id: &str) -> bool {
        self.journal.contains(build_id)
    }

    /// Append entries and make them durable (fsync) before returning.
    pub fn append(&mut self, entries: &[Entry]) -> io::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        // Start on a fresh line if a crash left the last one unterminated.
        let len = self.file.metadata()?.len();
        if len > 0 {
            let mut last = [0u8; 1];
            self.file.seek(SeekFrom::Start(len - 1))?;
            self.file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                text.push('\n');
            }
        }
        let mut offsets = Vec::with_capacity(entries.len());
        for e in entries {
            let line = serde_json::to_string(e).map_err(io::Error::other)?;
            offsets.push(len + text.len() as u64);
            text.push_str(&line);
            text.push('\n');
        }
        self.file.write_all(text.as_bytes())?;
        self.file.sync_data()?;
        self.journal.offset = len + text.len() as u64;
        self.journal.lines += entries.len() + usize::from(text.starts_with('\n'));
        for (e, at) in entries.iter().zip(offsets) {
            self.journal.add(&e.build_id, at);
        }
        Ok(())
    }
}

impl Drop for JournalLock<'_> {
    fn drop(&mut self) {
        crate::spool::unlock(&self.file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(build: &str, sub: &str) -> Entry {
        Entry {
            time: "2026-01-01T00:00:00Z".into(),
            build_id: build.into(),
            checkout_id: "o:ck-1".into(),
            submission_id: sub.into(),
            dir: Some("/x".into()),
            spool_file: None,
            sha256: "00".into(),
        }
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "kcidb-harvest-journal-{tag}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("mkdir");
        d.join("sub").join("journal.jsonl")
    }

    #[test]
    fn append_and_reopen() {
        let p = tmp("reopen");
        let mut j = Journal::open(&p).expect("open");
        assert!(j.is_empty());
        j.lock()
            .expect("lock")
            .append(&[entry("o:b-1", "S1"), entry("o:b-2", "S1")])
            .expect("append");
        assert_eq!(
            j.lookup("o:b-1").map(|r| r.submission_id),
            Some("S1".to_string())
        );
        let j2 = Journal::open(&p).expect("reopen");
        assert_eq!(j2.len(), 2);
        assert_eq!(
            j2.lookup("o:b-2").map(|r| r.submission_id),
            Some("S1".to_string())
        );
    }

    #[test]
    fn damaged_lines_are_skipped() {
        let p = tmp("damaged");
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        let good = serde_json::to_string(&entry("o:b-1", "S1")).expect("json");
        let good2 = serde_json::to_string(&entry("o:b-3", "S3")).expect("json");
        std::fs::write(
            &p,
            format!("{good}\nnot json at all\n{{\"build_id\":1}}\n\n{good2}\n{{\"trunc"),
        )
        .expect("write");
        let mut j = Journal::open(&p).expect("open");
        assert_eq!(j.len(), 2);
        {
            let mut l = j.lock().expect("lock");
            l.append(&[entry("o:b-2", "S2")]).expect("append");
        }
        let text = std::fs::read_to_string(&p).expect("read");
        assert!(text.ends_with(&format!(
            "{{\"trunc\n{}\n",
            serde_json::to_string(&entry("o:b-2", "S2")).expect("json")
        )));
        let j2 = Journal::open(&p).expect("reopen");
        assert_eq!(j2.len(), 3);
    }

    #[test]
    fn the_index_merges_and_later_entries_win() {
        let p = tmp("many");
        let mut j = Journal::open(&p).expect("open");
        let n = 2 * RECENT + 100;
        let all: Vec<Entry> = (0..n).map(|i| entry(&format!("o:b-{i}"), "S1")).collect();
        j.lock().expect("lock").append(&all).expect("append");
        j.lock()
            .expect("lock")
            .append(&[entry("o:b-7", "S2"), entry(&format!("o:b-{n}"), "S3")])
            .expect("append");
        assert_eq!(j.len(), n + 1);
        for j in [j, Journal::open(&p).expect("reopen")] {
            assert_eq!(j.len(), n + 1);
            assert_eq!(
                j.lookup("o:b-7").map(|r| r.submission_id),
                Some("S2".into())
            );
            assert_eq!(
                j.lookup("o:b-8").map(|r| r.submission_id),
                Some("S1".into())
            );
            assert!(j.contains(&format!("o:b-{n}")));
            assert!(!j.contains(&format!("o:b-{}", n + 1)));
        }
    }

    #[test]
    fn a_huge_line_is_skipped_and_lookups_read_the_line_back() {
        let p = tmp("huge");
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        let good = serde_json::to_string(&entry("o:b-1", "S1")).expect("json");
        let good2 = serde_json::to_string(&entry("o:b-2", "S2")).expect("json");
        let huge = "x".repeat(3 * MAX_LINE);
        std::fs::write(&p, format!("{good}\n{huge}\n{good2}\n")).expect("write");
        let j = Journal::open(&p).expect("open");
        assert_eq!(j.len(), 2);
        assert!(j.contains("o:b-2") && !j.contains("o:b-3"));
        let r = j.lookup("o:b-2").expect("record");
        assert_eq!((r.submission_id.as_str(), r.sha256.as_str()), ("S2", "00"));
        // a later entry for the same build wins
        let mut j = j;
        j.lock()
            .expect("lock")
            .append(&[entry("o:b-1", "S9")])
            .expect("append");
        assert_eq!(
            j.lookup("o:b-1").map(|r| r.submission_id),
            Some("S9".into())
        );
        assert_eq!(
            Journal::open(&p)
                .expect("reopen")
                .lookup("o:b-1")
                .map(|r| r.submission_id),
            Some("S9".into())
        );
    }

    #[test]
    fn lock_reads_what_others_appended() {
        let p = tmp("others");
        let mut a = Journal::open(&p).expect("open");
        let mut b = Journal::open(&p).expect("open");
        b.lock()
            .expect("lock")
            .append(&[entry("o:b-9", "S9")])
            .expect("append");
        assert!(a.lookup("o:b-9").is_none());
        let l = a.lock().expect("lock");
        assert_eq!(
            l.lookup("o:b-9").map(|r| r.submission_id),
            Some("S9".to_string())
        );
    }

    #[test]
    fn content_hash_is_stable() {
        let b = Build {
            id: "o:b-1".into(),
            origin: "o".into(),
            checkout_id: "o:ck-1".into(),
            ..Default::default()
        };
        let h1 = content_hash(None, &b);
        assert_eq!(h1, content_hash(None, &b.clone()));
        assert_eq!(h1.len(), 64);
        let mut b2 = b.clone();
        b2.log_url = Some("https://x/y".into());
        assert_ne!(h1, content_hash(None, &b2));
    }
}
