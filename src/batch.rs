//! Parallel harvesting with output in input order.
//!
//! `jobs` worker threads take directories in order from a shared counter;
//! results come back through a bounded channel and are handed to the
//! caller strictly in input order (a small reorder buffer), so printing,
//! delivery and the journal are deterministic whatever `-j` is. After an
//! interrupt no new directory is started; those in flight finish.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::commands::DirResult;
use crate::harvest::{self, HarvestOptions, Outcome};

/// Harvest one directory into a [`DirResult`].
pub fn harvest_one(dir: &std::path::Path, opts: &HarvestOptions) -> DirResult {
    let _span = tracing::info_span!("build_dir", path = %dir.display()).entered();
    match harvest::harvest_dir(dir, opts) {
        Ok(Outcome::Harvested(h, m)) => DirResult::Harvested(h, m.status_reason.clone()),
        Ok(Outcome::InProgress { dir, reason }) => DirResult::InProgress(dir, reason),
        Err(e) => DirResult::Failed(dir.to_path_buf(), e.to_string()),
    }
}

/// Harvest `dirs` with `jobs` threads; `prepare` runs on the worker
/// thread right after each harvest (e.g. to compress artifacts), and
/// `on_result(index, result)` is called on the calling thread in index
/// order. Returns how many were started.
pub fn run<P, F>(
    dirs: &[PathBuf],
    opts: &HarvestOptions,
    jobs: usize,
    stop: &AtomicBool,
    prepare: &P,
    mut on_result: F,
) -> usize
where
    P: Fn(&mut DirResult) + Sync,
    F: FnMut(usize, DirResult),
{
    let work = |d: &std::path::Path| {
        let mut r = harvest_one(d, opts);
        prepare(&mut r);
        r
    };
    let jobs = jobs.max(1).min(dirs.len().max(1));
    if jobs == 1 {
        let mut started = 0;
        for (i, d) in dirs.iter().enumerate() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            started += 1;
            on_result(i, work(d));
        }
        return started;
    }
    let next = AtomicUsize::new(0);
    let started = AtomicUsize::new(0);
    let (tx, rx) = mpsc::sync_channel::<(usize, DirResult)>(jobs * 2);
    std::thread::scope(|s| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, started, work) = (&next, &started, &work);
            s.spawn(move || loop {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(d) = dirs.get(i) else {
                    break;
                };
                started.fetch_add(1, Ordering::SeqCst);
                if tx.send((i, work(d))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, DirResult> = BTreeMap::new();
        let mut want = 0usize;
        for (i, r) in rx {
            pending.insert(i, r);
            while let Some(r) = pending.remove(&want) {
                on_result(want, r);
                want += 1;
            }
        }
        // After an interrupt some indexes were never started: flush the rest in order.
        for (i, r) in std::mem::take(&mut pending) {
            on_result(i, r);
        }
    });
    started.load(Ordering::SeqCst)
}

/// Default parallelism: the number of cores.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
