//! Parallel harvesting with output in input order.
//!
//! `jobs` worker threads take candidates in order from a shared queue;
//! results come back through a bounded channel and are handed to the
//! caller strictly in input order (a small reorder buffer), so printing,
//! delivery and the journal are deterministic whatever `-j` is. After an
//! interrupt no new directory is started; those in flight finish.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};

use super::{Candidate, DirOutcome, Options};

/// Harvest `candidates` with `jobs` threads ([`super::harvest`] each);
/// `prepare` runs on the worker thread right after each harvest (e.g. to
/// compress artifacts), and `on_result(index, outcome)` is called on the
/// calling thread in index order. Returns how many were started.
pub fn run<P, F>(
    candidates: Vec<Candidate>,
    opts: &Options,
    jobs: usize,
    stop: &AtomicBool,
    prepare: &P,
    mut on_result: F,
) -> usize
where
    P: Fn(&mut DirOutcome) + Sync,
    F: FnMut(usize, DirOutcome),
{
    let work = |c: Candidate| {
        let mut r = super::harvest(c, opts);
        prepare(&mut r);
        r
    };
    let total = candidates.len();
    let jobs = jobs.max(1).min(total.max(1));
    if jobs == 1 {
        let mut started = 0;
        for (i, d) in candidates.into_iter().enumerate() {
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
    // each worker takes the next candidate out of the queue
    let queue: Mutex<std::vec::IntoIter<Candidate>> = Mutex::new(candidates.into_iter());
    let (tx, rx) = mpsc::sync_channel::<(usize, DirOutcome)>(jobs * 2);
    std::thread::scope(|s| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, started, work, queue) = (&next, &started, &work, &queue);
            s.spawn(move || loop {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let (i, d) = {
                    let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
                    let Some(d) = q.next() else {
                        break;
                    };
                    (next.fetch_add(1, Ordering::SeqCst), d)
                };
                started.fetch_add(1, Ordering::SeqCst);
                if tx.send((i, work(d))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, DirOutcome> = BTreeMap::new();
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
