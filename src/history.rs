//! The local history (README "History"): an SQLite database of every build
//! that was spooled or delivered and its distinct diagnostics, so a
//! harvest can say what is new since the previous build, offline.
//!
//! - **Where:** `--history FILE`, else `$KCIDB_HARVEST_HISTORY`, else
//!   `$XDG_DATA_HOME/kcidb-harvest/history.sqlite` (default
//!   `~/.local/share/…`); `--no-history` turns it off. `--dry-run` only
//!   reads it (and only when it exists).
//! - **Schema:** versioned with `PRAGMA user_version`; [`MIGRATIONS`] run
//!   in order, each in its own transaction. A database newer than this
//!   program is refused, never rewritten.
//! - **Concurrency and crashes:** WAL journal mode and a busy timeout, so
//!   two harvests (or a harvest beside `send`) share one file; every write
//!   is one transaction, so a SIGKILL loses nothing that was committed.
//! - **Batching:** a harvest stages the records of the directories it
//!   hands to delivery and commits them, in one transaction, when the
//!   submission that carries them was spooled or delivered; what was
//!   refused or failed is dropped.
//! - **The previous build** of a build is the latest earlier build (by
//!   start time, then kernel version, then the order they were recorded)
//!   with the same tree, branch, architecture, config and compiler.
//!
//! The delivery journal stays a JSONL file (`journal.rs`): it is the
//! exactly-once record of what reached the server, written under its own
//! lock beside the spool, and `send` works without a history. The history
//! is what was seen; it can be deleted and rebuilt with a backfill.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use crate::kcidb::{Build, Checkout};
use crate::pipeline::DirYield;

/// How long a writer waits for another one before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The schema, one step per version (`user_version` = steps applied).
pub const MIGRATIONS: &[&str] = &[
    // 1: builds and their distinct diagnostics
    "CREATE TABLE builds (
        id TEXT PRIMARY KEY,
        checkout_id TEXT NOT NULL,
        origin TEXT NOT NULL,
        dir TEXT NOT NULL,
        tree TEXT NOT NULL,
        branch TEXT NOT NULL,
        arch TEXT NOT NULL,
        config TEXT NOT NULL,
        compiler TEXT NOT NULL,
        kernel_version TEXT,
        start_time TEXT,
        status TEXT,
        warnings_raw INTEGER,
        errors_raw INTEGER,
        warnings INTEGER,
        errors INTEGER,
        log_url TEXT,
        sort_key TEXT NOT NULL,
        delivery TEXT NOT NULL,
        recorded_at TEXT NOT NULL
     );
     CREATE INDEX builds_group ON builds (tree, branch, arch, config, compiler, sort_key);
     CREATE TABLE diagnostics (
        build_id TEXT NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        signature TEXT NOT NULL,
        signature_text TEXT NOT NULL,
        severity TEXT NOT NULL,
        kind TEXT NOT NULL,
        file TEXT,
        line INTEGER,
        column INTEGER,
        message TEXT NOT NULL,
        occurrences INTEGER NOT NULL,
        log_line INTEGER NOT NULL,
        PRIMARY KEY (build_id, seq)
     ) WITHOUT ROWID;
     CREATE INDEX diagnostics_signature ON diagnostics (signature);",
];

/// A history that cannot be opened, read or written.
#[derive(Debug, thiserror::Error)]
#[error("history `{}`: {what}", path.display())]
pub struct HistoryError {
    pub path: PathBuf,
    pub what: String,
}

/// One distinct diagnostic of a build, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiagRow {
    /// sha256 of the signature: what "the same diagnostic" means.
    #[serde(skip)]
    pub signature: String,
    #[serde(skip)]
    pub signature_text: String,
    pub severity: String,
    pub kind: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
    pub occurrences: u64,
    pub log_line: u64,
}

/// One build, as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub build_id: String,
    pub checkout_id: String,
    pub origin: String,
    pub dir: String,
    pub group: Group,
    pub kernel_version: Option<String>,
    pub start_time: Option<String>,
    pub status: Option<String>,
    /// warnings_raw, errors_raw, warnings, errors.
    pub counts: [Option<u64>; 4],
    pub log_url: Option<String>,
    pub sort_key: String,
    pub diags: Vec<DiagRow>,
}

/// What makes two builds comparable: tree, branch, architecture, config
/// and compiler (`""` when unknown).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Group {
    pub tree: String,
    pub branch: String,
    pub arch: String,
    pub config: String,
    pub compiler: String,
}

/// New and gone distinct diagnostics, per severity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    pub warnings: u64,
    pub errors: u64,
}

/// What changed between a build and its previous build.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    #[serde(skip)]
    pub build_id: String,
    pub previous_build_id: String,
    pub new: Count,
    pub gone: Count,
}

/// The new and gone diagnostics of `cur` against `prev` (by signature):
/// each of `cur` whose signature `prev` lacks, each of `prev` whose
/// signature `cur` lacks.
pub fn compare<'a>(
    cur: &'a [DiagRow],
    prev: &'a [DiagRow],
) -> (Vec<&'a DiagRow>, Vec<&'a DiagRow>) {
    let before: HashSet<&str> = prev.iter().map(|d| d.signature.as_str()).collect();
    let after: HashSet<&str> = cur.iter().map(|d| d.signature.as_str()).collect();
    let new = cur
        .iter()
        .filter(|d| !before.contains(d.signature.as_str()))
        .collect();
    let gone = prev
        .iter()
        .filter(|d| !after.contains(d.signature.as_str()))
        .collect();
    (new, gone)
}

/// How many of `rows` are warnings and errors.
pub fn count(rows: &[&DiagRow]) -> Count {
    let mut c = Count::default();
    for r in rows {
        if r.severity == "error" {
            c.errors += 1;
        } else {
            c.warnings += 1;
        }
    }
    c
}

/// The default history file (`--history` and `$KCIDB_HARVEST_HISTORY`
/// come first): `$XDG_DATA_HOME/kcidb-harvest/history.sqlite`, else
/// `$HOME/.local/share/kcidb-harvest/history.sqlite`.
pub fn default_path() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = env("XDG_DATA_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| env("HOME").map(|h| h.join(".local/share")))?;
    Some(base.join("kcidb-harvest").join("history.sqlite"))
}

/// A sortable form of a kernel version: every run of digits zero-padded
/// (`6.1.9` < `6.1.10`).
pub fn version_key(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 16);
    let mut digits = String::new();
    for c in v.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        if !digits.is_empty() {
            let d = digits.trim_start_matches('0');
            out.push_str(&format!("{:0>8}", if d.is_empty() { "0" } else { d }));
            digits.clear();
        }
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

/// `<start time in UTC>|<version key>`: builds without a start time sort
/// before any with one.
fn sort_key(start_time: Option<&str>, version: Option<&str>) -> String {
    let start = start_time
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string()
        })
        .unwrap_or_default();
    format!("{start}|{}", version.map(version_key).unwrap_or_default())
}

/// The records of a directory's builds (those with a status: a kernel
/// that ktest only booted was not built here).
pub fn records_of(y: &DirYield) -> Vec<Record> {
    y.report
        .builds
        .iter()
        .filter(|b| b.status.is_some())
        .map(|b| {
            let ck = y.report.checkouts.iter().find(|c| c.id == b.checkout_id);
            let diags = y
                .diagnostics
                .iter()
                .find(|d| d.build_id == b.id)
                .map(|d| d.diags.iter().map(row).collect())
                .unwrap_or_default();
            record(b, ck, &y.dir, y.release.as_deref(), diags)
        })
        .collect()
}

fn row(s: &crate::report::issues::Signed) -> DiagRow {
    let d = &s.diag;
    DiagRow {
        signature: s.hash.clone(),
        signature_text: s.signature.clone(),
        severity: crate::cmd::diagnostics::severity(d.severity).to_string(),
        kind: d.kind.as_str().to_string(),
        file: d.file.clone(),
        line: d.line,
        column: d.column,
        message: d.message.clone(),
        occurrences: d.occurrences,
        log_line: d.first_line,
    }
}

fn record(
    b: &Build,
    ck: Option<&Checkout>,
    dir: &Path,
    release: Option<&str>,
    diags: Vec<DiagRow>,
) -> Record {
    let misc = |k: &str| {
        b.misc
            .as_ref()
            .and_then(|m| m.get(k))
            .and_then(|v| v.as_u64())
    };
    let text = |v: Option<&String>| v.cloned().unwrap_or_default();
    let tree = ck.and_then(|c| c.tree_name.clone().or_else(|| c.git_repository_url.clone()));
    let start_time = b.start_time.clone();
    Record {
        build_id: b.id.clone(),
        checkout_id: b.checkout_id.clone(),
        origin: b.origin.clone(),
        dir: dir.display().to_string(),
        group: Group {
            tree: tree.unwrap_or_default(),
            branch: text(ck.and_then(|c| c.git_repository_branch.as_ref())),
            arch: text(b.architecture.as_ref()),
            config: text(b.config_name.as_ref()),
            compiler: text(b.compiler.as_ref()),
        },
        kernel_version: release.map(String::from),
        sort_key: sort_key(start_time.as_deref(), release),
        start_time,
        status: b.status.map(|s| s.as_str().to_string()),
        counts: [
            misc("warnings_raw"),
            misc("errors_raw"),
            misc("warnings"),
            misc("errors"),
        ],
        log_url: b.log_url.clone(),
        diags,
    }
}

/// An open history.
pub struct History {
    conn: Connection,
    path: PathBuf,
    writable: bool,
    /// Staged records, by directory, waiting for their delivery outcome.
    pending: Vec<Record>,
}

/// A build found in the history (or staged in this run).
#[derive(Clone, Debug)]
pub struct Found {
    pub build_id: String,
    pub dir: String,
    pub group: Group,
    pub sort_key: String,
    pub rowid: i64,
}

/// Which builds [`History::all`] returns (`report`'s options).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub tree: Option<String>,
    pub branch: Option<String>,
    /// The earliest start time kept, as a sort key prefix (`2024-01-31`,
    /// `2024-01-31T12:00:00`, UTC): builds without a start time are left out.
    pub since: Option<String>,
}

const BUILD_COLUMNS: &str = "id, checkout_id, origin, dir, tree, branch, arch, config, compiler,
    kernel_version, start_time, status, warnings_raw, errors_raw, warnings, errors, log_url,
    sort_key";

fn record_row(r: &rusqlite::Row) -> rusqlite::Result<Record> {
    Ok(Record {
        build_id: r.get(0)?,
        checkout_id: r.get(1)?,
        origin: r.get(2)?,
        dir: r.get(3)?,
        group: Group {
            tree: r.get(4)?,
            branch: r.get(5)?,
            arch: r.get(6)?,
            config: r.get(7)?,
            compiler: r.get(8)?,
        },
        kernel_version: r.get(9)?,
        start_time: r.get(10)?,
        status: r.get(11)?,
        counts: [r.get(12)?, r.get(13)?, r.get(14)?, r.get(15)?],
        log_url: r.get(16)?,
        sort_key: r.get(17)?,
        diags: Vec::new(),
    })
}

const DIAG_COLUMNS: &str =
    "signature, signature_text, severity, kind, file, line, column, message, occurrences, log_line";

/// A [`DIAG_COLUMNS`] row whose first column is `at`.
fn diag_row(r: &rusqlite::Row, at: usize) -> rusqlite::Result<DiagRow> {
    Ok(DiagRow {
        signature: r.get(at)?,
        signature_text: r.get(at + 1)?,
        severity: r.get(at + 2)?,
        kind: r.get(at + 3)?,
        file: r.get(at + 4)?,
        line: r.get(at + 5)?,
        column: r.get(at + 6)?,
        message: r.get(at + 7)?,
        occurrences: r.get(at + 8)?,
        log_line: r.get(at + 9)?,
    })
}

impl History {
    /// Open (creating it and its directory) for reading and writing.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let err = |what: String| HistoryError {
            path: path.to_path_buf(),
            what,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                err(format!(
                    "cannot create directory `{}`: {e}",
                    parent.display()
                ))
            })?;
        }
        let conn = Connection::open(path).map_err(|e| err(format!("cannot open: {e}")))?;
        let mut h = History {
            conn,
            path: path.to_path_buf(),
            writable: true,
            pending: Vec::new(),
        };
        h.configure()?;
        h.migrate()?;
        Ok(h)
    }

    /// Open an existing history read-only (`--dry-run`, `diff`); `None`
    /// when there is none.
    pub fn open_read_only(path: &Path) -> Result<Option<History>, HistoryError> {
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| HistoryError {
            path: path.to_path_buf(),
            what: format!("cannot open: {e}"),
        })?;
        let h = History {
            conn,
            path: path.to_path_buf(),
            writable: false,
            pending: Vec::new(),
        };
        h.conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| h.error("cannot configure", e))?;
        let v = h.user_version()?;
        if v > MIGRATIONS.len() as i64 {
            return Err(History::newer(&h.path, v));
        }
        if v < MIGRATIONS.len() as i64 {
            // an older schema is upgraded by the next harvest that writes
            return Err(HistoryError {
                path: path.to_path_buf(),
                what: format!(
                    "schema version {v} is older than {}: run a harvest (not --dry-run) once to upgrade it",
                    MIGRATIONS.len()
                ),
            });
        }
        Ok(Some(h))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, what: &str, e: rusqlite::Error) -> HistoryError {
        HistoryError {
            path: self.path.clone(),
            what: format!("{what}: {e}"),
        }
    }

    fn newer(path: &Path, v: i64) -> HistoryError {
        HistoryError {
            path: path.to_path_buf(),
            what: format!(
                "schema version {v} is newer than this kcidb-harvest knows ({}): use a newer kcidb-harvest or another --history",
                MIGRATIONS.len()
            ),
        }
    }

    fn configure(&self) -> Result<(), HistoryError> {
        self.conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| self.error("cannot configure", e))?;
        // journal_mode returns a row. Switching a new file to WAL takes an
        // exclusive lock without calling the busy handler: a second program
        // opening the same new file at that moment retries, within the
        // busy timeout.
        let since = std::time::Instant::now();
        loop {
            match self
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            {
                Ok(_) => break,
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if matches!(
                        f.code,
                        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                    ) && since.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(e) => return Err(self.error("cannot use WAL", e)),
            }
        }
        self.conn
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(|e| self.error("cannot configure", e))
    }

    fn user_version(&self) -> Result<i64, HistoryError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.error("not an SQLite database", e))
    }

    /// Apply the migrations this file lacks, each in one transaction.
    fn migrate(&mut self) -> Result<(), HistoryError> {
        let path = self.path.clone();
        loop {
            // IMMEDIATE: two programs opening a new file do not both migrate
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(|e| HistoryError {
                    path: path.clone(),
                    what: format!("cannot lock: {e}"),
                })?;
            let v: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| HistoryError {
                    path: path.clone(),
                    what: format!("not an SQLite database: {e}"),
                })?;
            let Some(step) = MIGRATIONS.get(v.max(0) as usize) else {
                if v > MIGRATIONS.len() as i64 {
                    return Err(History::newer(&path, v));
                }
                return Ok(());
            };
            let fail = |e: rusqlite::Error| HistoryError {
                path: path.clone(),
                what: format!("cannot migrate to schema version {}: {e}", v + 1),
            };
            tx.execute_batch(step).map_err(fail)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", v + 1))
                .map_err(fail)?;
            tx.commit().map_err(fail)?;
        }
    }

    /// The previous build of `rec` (history and staged records).
    pub fn previous(&self, rec: &Record) -> Result<Option<Found>, HistoryError> {
        let own: Option<i64> = self
            .conn
            .prepare_cached("SELECT rowid FROM builds WHERE id = ?1")
            .and_then(|mut st| st.query_row([&rec.build_id], |r| r.get(0)))
            .optional()
            .map_err(|e| self.error("cannot read", e))?;
        let g = &rec.group;
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, dir, sort_key, rowid FROM builds
                 WHERE tree = ?1 AND branch = ?2 AND arch = ?3 AND config = ?4 AND compiler = ?5
                   AND id != ?6 AND (sort_key < ?7 OR (sort_key = ?7 AND rowid < ?8))
                 ORDER BY sort_key DESC, rowid DESC LIMIT 1",
            )
            .map_err(|e| self.error("cannot read", e))?;
        let found = st
            .query_row(
                params![
                    g.tree,
                    g.branch,
                    g.arch,
                    g.config,
                    g.compiler,
                    rec.build_id,
                    rec.sort_key,
                    own.unwrap_or(i64::MAX)
                ],
                |r| {
                    Ok(Found {
                        build_id: r.get(0)?,
                        dir: r.get(1)?,
                        group: g.clone(),
                        sort_key: r.get(2)?,
                        rowid: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.error("cannot read", e))?;
        // staged in this run: newer than anything recorded, so a tie goes
        // to the staged one
        let staged = self
            .pending
            .iter()
            .filter(|p| p.group == *g && p.build_id != rec.build_id && p.sort_key <= rec.sort_key)
            .max_by(|a, b| a.sort_key.cmp(&b.sort_key));
        Ok(match (found, staged) {
            (Some(f), Some(p)) if f.sort_key > p.sort_key => Some(f),
            (_, Some(p)) => Some(Found {
                build_id: p.build_id.clone(),
                dir: p.dir.clone(),
                group: p.group.clone(),
                sort_key: p.sort_key.clone(),
                rowid: i64::MAX,
            }),
            (f, None) => f,
        })
    }

    /// A recorded (or staged) build, by id.
    pub fn build(&self, build_id: &str) -> Result<Option<Record>, HistoryError> {
        if let Some(p) = self.pending.iter().find(|p| p.build_id == build_id) {
            return Ok(Some(p.clone()));
        }
        let mut st = self
            .conn
            .prepare_cached(&format!("SELECT {BUILD_COLUMNS} FROM builds WHERE id = ?1"))
            .map_err(|e| self.error("cannot read", e))?;
        let rec = st
            .query_row([build_id], record_row)
            .optional()
            .map_err(|e| self.error("cannot read", e))?;
        let Some(mut rec) = rec else { return Ok(None) };
        rec.diags = self.diagnostics(build_id)?;
        Ok(Some(rec))
    }

    fn diagnostics(&self, build_id: &str) -> Result<Vec<DiagRow>, HistoryError> {
        let mut st = self
            .conn
            .prepare_cached(&format!(
                "SELECT {DIAG_COLUMNS} FROM diagnostics WHERE build_id = ?1 ORDER BY seq"
            ))
            .map_err(|e| self.error("cannot read", e))?;
        let rows = st
            .query_map([build_id], |r| diag_row(r, 0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.error("cannot read", e))?;
        Ok(rows)
    }

    /// Every recorded build `filter` keeps, with its diagnostics, group by
    /// group (tree, branch, architecture, config, compiler) and in each in
    /// the order of the previous-build rule: one query for the builds, one
    /// for their diagnostics.
    pub fn all(&self, filter: &Filter) -> Result<Vec<Record>, HistoryError> {
        const WHERE: &str = "(?1 IS NULL OR tree = ?1) AND (?2 IS NULL OR branch = ?2)
                             AND (?3 IS NULL OR (sort_key >= ?3 AND sort_key NOT LIKE '|%'))";
        let args = params![filter.tree, filter.branch, filter.since];
        let fail = |e| self.error("cannot read", e);
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {BUILD_COLUMNS} FROM builds WHERE {WHERE}
                 ORDER BY tree, branch, arch, config, compiler, sort_key, rowid"
            ))
            .map_err(fail)?;
        let mut records = st
            .query_map(args, record_row)
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(fail)?;
        let at: HashMap<String, usize> = records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.build_id.clone(), i))
            .collect();
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT build_id, {DIAG_COLUMNS} FROM diagnostics
                 WHERE build_id IN (SELECT id FROM builds WHERE {WHERE})
                 ORDER BY build_id, seq"
            ))
            .map_err(fail)?;
        let mut rows = st.query(args).map_err(fail)?;
        while let Some(r) = rows.next().map_err(fail)? {
            let id: String = r.get(0).map_err(fail)?;
            if let Some(&i) = at.get(&id) {
                records[i].diags.push(diag_row(r, 1).map_err(fail)?);
            }
        }
        Ok(records)
    }

    /// What changed since the previous build of each record.
    pub fn changes(&self, records: &[Record]) -> Result<Vec<Changes>, HistoryError> {
        let mut out = Vec::new();
        for rec in records {
            let Some(prev) = self.previous(rec)? else {
                continue;
            };
            let Some(p) = self.build(&prev.build_id)? else {
                continue;
            };
            let (new, gone) = compare(&rec.diags, &p.diags);
            out.push(Changes {
                build_id: rec.build_id.clone(),
                previous_build_id: prev.build_id,
                new: count(&new),
                gone: count(&gone),
            });
        }
        Ok(out)
    }

    /// Stage the records of a directory handed to delivery.
    pub fn stage(&mut self, records: Vec<Record>) {
        if self.writable {
            self.pending.extend(records);
        }
    }

    /// The delivery outcomes of some directories are known: commit the
    /// staged records of those spooled or delivered (`kept`), drop those
    /// of the others (`dropped`), in one transaction. Returns how many
    /// builds were written.
    pub fn settle(
        &mut self,
        kept: &HashMap<String, &'static str>,
        dropped: &HashSet<String>,
    ) -> Result<usize, HistoryError> {
        if self.pending.is_empty() {
            return Ok(0);
        }
        let (mut write, mut stay) = (Vec::new(), Vec::new());
        for r in std::mem::take(&mut self.pending) {
            if let Some(state) = kept.get(&r.dir) {
                write.push((r, *state));
            } else if !dropped.contains(&r.dir) {
                stay.push(r);
            }
        }
        self.pending = stay;
        self.write(&write)?;
        Ok(write.len())
    }

    /// Write records, in one transaction.
    pub fn write(&mut self, records: &[(Record, &str)]) -> Result<(), HistoryError> {
        if records.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let fail = |e: rusqlite::Error| HistoryError {
            path: path.clone(),
            what: format!("cannot write: {e}"),
        };
        let now = crate::journal::now_rfc3339();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(fail)?;
        {
            let mut up = tx
                .prepare_cached(
                    "INSERT INTO builds (id, checkout_id, origin, dir, tree, branch, arch, config,
                        compiler, kernel_version, start_time, status, warnings_raw, errors_raw,
                        warnings, errors, log_url, sort_key, delivery, recorded_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                        ?16, ?17, ?18, ?19, ?20)
                     ON CONFLICT (id) DO UPDATE SET
                        checkout_id = excluded.checkout_id, origin = excluded.origin,
                        dir = excluded.dir, tree = excluded.tree, branch = excluded.branch,
                        arch = excluded.arch, config = excluded.config,
                        compiler = excluded.compiler, kernel_version = excluded.kernel_version,
                        start_time = excluded.start_time, status = excluded.status,
                        warnings_raw = excluded.warnings_raw, errors_raw = excluded.errors_raw,
                        warnings = excluded.warnings, errors = excluded.errors,
                        log_url = COALESCE(excluded.log_url, builds.log_url),
                        sort_key = excluded.sort_key,
                        delivery = CASE WHEN builds.delivery = 'delivered' THEN 'delivered'
                                        ELSE excluded.delivery END,
                        recorded_at = excluded.recorded_at",
                )
                .map_err(fail)?;
            let mut del = tx
                .prepare_cached("DELETE FROM diagnostics WHERE build_id = ?1")
                .map_err(fail)?;
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO diagnostics (build_id, seq, signature, signature_text, severity,
                        kind, file, line, column, message, occurrences, log_line)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )
                .map_err(fail)?;
            for (r, state) in records {
                let g = &r.group;
                up.execute(params![
                    r.build_id,
                    r.checkout_id,
                    r.origin,
                    r.dir,
                    g.tree,
                    g.branch,
                    g.arch,
                    g.config,
                    g.compiler,
                    r.kernel_version,
                    r.start_time,
                    r.status,
                    r.counts[0],
                    r.counts[1],
                    r.counts[2],
                    r.counts[3],
                    r.log_url,
                    r.sort_key,
                    state,
                    now
                ])
                .map_err(fail)?;
                del.execute([&r.build_id]).map_err(fail)?;
                for (seq, d) in r.diags.iter().enumerate() {
                    ins.execute(params![
                        r.build_id,
                        seq as i64,
                        d.signature,
                        d.signature_text,
                        d.severity,
                        d.kind,
                        d.file,
                        d.line,
                        d.column,
                        d.message,
                        d.occurrences,
                        d.log_line
                    ])
                    .map_err(fail)?;
                }
            }
        }
        tx.commit().map_err(fail)
    }

    /// Mark builds as delivered (`send` delivered their spooled reports).
    pub fn mark_delivered(&mut self, build_ids: &[String]) -> Result<(), HistoryError> {
        let path = self.path.clone();
        let fail = |e: rusqlite::Error| HistoryError {
            path: path.clone(),
            what: format!("cannot write: {e}"),
        };
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(fail)?;
        {
            let mut st = tx
                .prepare_cached("UPDATE builds SET delivery = 'delivered' WHERE id = ?1")
                .map_err(fail)?;
            for id in build_ids {
                st.execute([id]).map_err(fail)?;
            }
        }
        tx.commit().map_err(fail)
    }

    /// SQLite's `PRAGMA integrity_check`: `ok`, or what is wrong.
    pub fn integrity(&self) -> Result<String, HistoryError> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| self.error("cannot check", e))
    }

    /// The ids of the recorded builds and their delivery state.
    pub fn deliveries(&self) -> Result<Vec<(String, String)>, HistoryError> {
        let mut st = self
            .conn
            .prepare("SELECT id, delivery FROM builds ORDER BY rowid")
            .map_err(|e| self.error("cannot read", e))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.error("cannot read", e))?;
        Ok(rows)
    }

    /// How many builds are recorded.
    pub fn builds(&self) -> Result<u64, HistoryError> {
        self.conn
            .query_row("SELECT count(*) FROM builds", [], |r| r.get(0))
            .map_err(|e| self.error("cannot read", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, start: Option<&str>, version: &str, sigs: &[(&str, &str)]) -> Record {
        Record {
            build_id: id.into(),
            checkout_id: "o:ck".into(),
            origin: "o".into(),
            dir: format!("/runs/{id}"),
            group: Group {
                tree: "stable".into(),
                branch: "linux-6.1.y".into(),
                arch: "x86_64".into(),
                config: "tinyconfig".into(),
                compiler: "gcc".into(),
            },
            kernel_version: Some(version.into()),
            start_time: start.map(String::from),
            status: Some("PASS".into()),
            counts: [Some(1), Some(0), Some(1), Some(0)],
            log_url: None,
            sort_key: sort_key(start, Some(version)),
            diags: sigs
                .iter()
                .enumerate()
                .map(|(i, (sig, sev))| DiagRow {
                    signature: sig.to_string(),
                    signature_text: sig.to_string(),
                    severity: sev.to_string(),
                    kind: "compiler".into(),
                    file: Some("a.c".into()),
                    line: Some(i as u32 + 1),
                    column: None,
                    message: format!("m {sig}"),
                    occurrences: 1,
                    log_line: 10,
                })
                .collect(),
        }
    }

    #[test]
    fn versions_sort_as_numbers() {
        assert!(version_key("6.1.9") < version_key("6.1.10"));
        assert!(version_key("5.15.200") < version_key("6.1.1"));
        assert!(version_key("6.1-rc2") < version_key("6.1-rc10"));
    }

    #[test]
    fn the_previous_build_is_the_latest_earlier_one_of_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = History::open(&dir.path().join("h.sqlite")).unwrap();
        let a = rec(
            "o:b-a",
            Some("2026-01-01T10:00:00Z"),
            "6.1.100",
            &[("s1", "warning")],
        );
        let b = rec(
            "o:b-b",
            Some("2026-01-03T10:00:00Z"),
            "6.1.102",
            &[("s1", "warning"), ("s2", "warning")],
        );
        let c = rec(
            "o:b-c",
            Some("2026-01-02T10:00:00+02:00"),
            "6.1.101",
            &[("s3", "error")],
        );
        // recorded out of order, as a backfill walks directories
        h.write(&[(b.clone(), "spooled"), (a.clone(), "spooled")])
            .unwrap();
        assert_eq!(h.previous(&c).unwrap().unwrap().build_id, "o:b-a");
        assert_eq!(h.previous(&b).unwrap().unwrap().build_id, "o:b-a");
        assert!(h.previous(&a).unwrap().is_none());
        // another config is another group
        let mut other = c.clone();
        other.group.config = "allmodconfig".into();
        assert!(h.previous(&other).unwrap().is_none());
        // staged records count too
        h.stage(vec![c.clone()]);
        let ch = h.changes(std::slice::from_ref(&b)).unwrap();
        assert_eq!(ch[0].previous_build_id, "o:b-c");
        assert_eq!(
            ch[0].new,
            Count {
                warnings: 2,
                errors: 0
            }
        );
        assert_eq!(
            ch[0].gone,
            Count {
                warnings: 0,
                errors: 1
            }
        );
        // settled: written; its diagnostics read back
        let kept = HashMap::from([(c.dir.clone(), "delivered")]);
        assert_eq!(h.settle(&kept, &HashSet::new()).unwrap(), 1);
        assert_eq!(h.build("o:b-c").unwrap().unwrap(), c);
        assert_eq!(h.builds().unwrap(), 3);
    }

    #[test]
    fn a_rewritten_build_keeps_its_place_and_replaces_its_diagnostics() {
        let dir = tempfile::tempdir().unwrap();
        let mut h = History::open(&dir.path().join("h.sqlite")).unwrap();
        let a = rec("o:b-a", None, "6.1.1", &[("s1", "warning")]);
        let b = rec("o:b-b", None, "6.1.1", &[("s2", "warning")]);
        h.write(&[(a.clone(), "spooled"), (b.clone(), "spooled")])
            .unwrap();
        // same sort key: the order of recording decides
        assert_eq!(h.previous(&b).unwrap().unwrap().build_id, "o:b-a");
        let a2 = rec("o:b-a", None, "6.1.1", &[("s9", "error")]);
        h.write(&[(a2.clone(), "delivered")]).unwrap();
        assert_eq!(h.previous(&b).unwrap().unwrap().build_id, "o:b-a");
        assert!(h.previous(&a2).unwrap().is_none());
        assert_eq!(h.build("o:b-a").unwrap().unwrap().diags, a2.diags);
    }

    #[test]
    fn schemas_newer_than_ours_are_refused_and_migration_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.sqlite");
        drop(History::open(&p).unwrap());
        drop(History::open(&p).unwrap());
        let h = History::open_read_only(&p).unwrap().unwrap();
        assert_eq!(h.user_version().unwrap(), MIGRATIONS.len() as i64);
        drop(h);
        let c = Connection::open(&p).unwrap();
        c.execute_batch("PRAGMA user_version = 99").unwrap();
        drop(c);
        let e = History::open(&p).err().unwrap().to_string();
        assert!(e.contains("schema version 99 is newer"), "{e}");
        assert!(History::open_read_only(&dir.path().join("none"))
            .unwrap()
            .is_none());
        std::fs::write(
            dir.path().join("junk"),
            b"not a database at all, really not",
        )
        .unwrap();
        let e = History::open(&dir.path().join("junk"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("history `"), "{e}");
    }
}
