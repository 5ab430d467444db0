//! The spool: validated reports waiting to be sent (default `./kcidb-spool`).
//!
//! Reports land here when no REST endpoint is configured (the embedded
//! default) and when delivery fails for good. Each file is one KCIDB v5.3
//! document, exactly the validated JSON, so it can also be inspected with
//! `kcidb-harvest validate` or sent by any other client. Files are written
//! atomically (temporary file, fsync, rename, fsync of the directory) and
//! named `<UTC time>-<pid>-<seq>.json`, so name order is age order.
//! `kcidb-harvest send` holds `<spool>/.lock` while it drains the spool, so
//! two sends never pick the same file.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::kcidb::Validated;

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A spool directory.
#[derive(Clone, Debug)]
pub struct Spool {
    dir: PathBuf,
}

/// The spool's lock, held while draining it (released on drop).
pub struct SpoolLock {
    file: File,
}

impl Drop for SpoolLock {
    fn drop(&mut self) {
        unlock(&self.file);
    }
}

/// Take an exclusive advisory lock (flock) on `file`, waiting if another
/// process holds it; `wait_note` is logged before waiting.
pub(crate) fn lock_exclusive(file: &File, wait_note: impl FnOnce()) -> io::Result<()> {
    if file.try_lock().is_err() {
        wait_note();
        file.lock()?;
    }
    Ok(())
}

/// Release a lock taken by [`lock_exclusive`] (closing the file does too).
pub(crate) fn unlock(file: &File) {
    let _ = file.unlock();
}

impl Spool {
    pub fn new(dir: impl Into<PathBuf>) -> Spool {
        Spool { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Write a validated report; the file's path.
    pub fn write(&self, report: &Validated) -> io::Result<PathBuf> {
        self.write_text(report.json())
    }

    fn write_text(&self, text: &str) -> io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        let now = chrono::Utc::now();
        let name = format!(
            "{}-{}-{:06}.json",
            now.format("%Y%m%dT%H%M%S%.9fZ"),
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let dest = self.dir.join(&name);
        let result = (|| {
            let mut f = File::options().write(true).create_new(true).open(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            drop(f);
            std::fs::rename(&tmp, &dest)?;
            sync_dir(&self.dir)
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        Ok(dest)
    }

    /// Spooled reports, oldest first (a missing spool is empty).
    pub fn list(&self) -> io::Result<Vec<PathBuf>> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            if entry.file_type()?.is_file() {
                out.push(entry.path());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Take the spool's exclusive lock, waiting for another `send`.
    pub fn lock(&self) -> io::Result<SpoolLock> {
        std::fs::create_dir_all(&self.dir)?;
        let file = File::options()
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.dir.join(".lock"))?;
        lock_exclusive(&file, || {
            tracing::warn!(
                "another `kcidb-harvest send` is draining `{}`; waiting for it",
                self.dir.display()
            )
        })?;
        Ok(SpoolLock { file })
    }

    /// Remove a delivered report (and make the removal durable).
    pub fn remove(&self, file: &Path) -> io::Result<()> {
        match std::fs::remove_file(file) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
        sync_dir(&self.dir)
    }

    /// Replace a spooled report's content atomically (used when some of its
    /// builds turned out to be delivered already).
    pub fn rewrite(&self, file: &Path, report: &Validated) -> io::Result<()> {
        self.rewrite_with(file, |f| f.write_all(report.json().as_bytes()), |_| Ok(()))
    }
}

impl Spool {
    /// Replace a spooled report with what `write` writes, once `check`
    /// accepts the new file (atomically, like [`Spool::rewrite`]), without
    /// holding either copy in memory.
    pub fn rewrite_with(
        &self,
        file: &Path,
        write: impl FnOnce(&mut File) -> io::Result<()>,
        check: impl FnOnce(&Path) -> io::Result<()>,
    ) -> io::Result<()> {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("report.json");
        let tmp = self.dir.join(format!(".{name}.rewrite.tmp"));
        let result = (|| {
            let mut f = File::create(&tmp)?;
            write(&mut f)?;
            f.sync_all()?;
            drop(f);
            check(&tmp)?;
            std::fs::rename(&tmp, file)?;
            sync_dir(&self.dir)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kcidb::{validate_report, Report};

    #[test]
    fn write_list_remove() {
        let d = std::env::temp_dir().join(format!("kcidb-harvest-spool-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let s = Spool::new(&d);
        assert!(s.list().expect("list").is_empty());
        let v = validate_report(Report::default()).expect("valid");
        let a = s.write(&v).expect("write");
        let b = s.write(&v).expect("write");
        std::fs::write(d.join("journal.jsonl"), "").expect("journal");
        std::fs::write(d.join(".x.json.tmp"), "").expect("tmp");
        assert_eq!(s.list().expect("list"), vec![a.clone(), b.clone()]);
        assert_eq!(std::fs::read_to_string(&a).expect("read"), v.json());
        let _l = s.lock().expect("lock");
        s.remove(&a).expect("remove");
        s.remove(&a).expect("remove twice is fine");
        assert_eq!(s.list().expect("list"), vec![b]);
    }
}
