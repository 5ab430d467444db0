//! Seeded, mutation-based property fuzzing on the stable toolchain.
//!
//! usage: fuzz --target <parsers|harvest|all> [--seconds N] [--seed S]
//!             [--crashes DIR] [--deadline-ms MS] [--work DIR]
//!             [--corpus DIR]... [--replay CASE]
//!
//! Each case is generated from (seed, case number) alone, so
//! `--seed S --replay CASE` rebuilds one case exactly and keeps its tree.
//! See docs/fuzzing.md.

mod adapter;
mod mutate;
mod seeds;
mod tree;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fastrand::Rng;
use kcidb_harvest_parsers::{Facts, Input, Parser, PARSERS};

use mutate::Pool;
use seeds::Seed;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    Parsers,
    Harvest,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Parsers => "parsers",
            Target::Harvest => "harvest",
        }
    }
}

struct Args {
    target: String,
    seconds: u64,
    seed: u64,
    crashes: Option<PathBuf>,
    deadline: Duration,
    work: Option<PathBuf>,
    corpus: Vec<PathBuf>,
    replay: Option<u64>,
}

fn usage() -> ! {
    eprintln!(
        "usage: fuzz --target <parsers|harvest|all> [--seconds N] [--seed S] [--crashes DIR] \
         [--deadline-ms MS] [--work DIR] [--corpus DIR]... [--replay CASE]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        target: "all".into(),
        seconds: 60,
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
        crashes: None,
        deadline: Duration::from_secs(10),
        work: None,
        corpus: vec![],
        replay: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        let num = |s: String| s.parse::<u64>().unwrap_or_else(|_| usage());
        match arg.as_str() {
            "--target" => a.target = val(),
            "--seconds" => a.seconds = num(val()),
            "--seed" => a.seed = num(val()),
            "--crashes" => a.crashes = Some(val().into()),
            "--deadline-ms" => a.deadline = Duration::from_millis(num(val())),
            "--work" => a.work = Some(val().into()),
            "--corpus" => a.corpus.push(val().into()),
            "--replay" => a.replay = Some(num(val())),
            "-h" | "--help" => usage(),
            _ => usage(),
        }
    }
    if !matches!(a.target.as_str(), "parsers" | "harvest" | "all") {
        usage();
    }
    a
}

// ---------------------------------------------------------------- panics

type PanicInfo = (String, String, String);

thread_local! {
    static LAST_PANIC: RefCell<Option<PanicInfo>> = const { RefCell::new(None) };
    static CAPTURED_LOG: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn install_hooks() {
    std::panic::set_hook(Box::new(|info| {
        let loc = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_else(|| "unknown location".into());
        let p = info.payload();
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".into());
        let bt = std::backtrace::Backtrace::force_capture().to_string();
        LAST_PANIC.with(|c| *c.borrow_mut() = Some((loc, msg, bt)));
    }));
    // notes and warnings the product logs go to a per-thread buffer the
    // oracles read
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(|| CaptureWriter)
        .try_init();
}

struct CaptureWriter;

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED_LOG.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() < (8 << 20) {
                c.extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// -------------------------------------------------------------- findings

struct Finding {
    kind: &'static str,
    /// De-duplication key (panic location and message, oracle and channel).
    key: String,
    detail: String,
}

enum CaseEnd {
    Done(Vec<Finding>),
    /// Still running at the deadline; the thread is abandoned.
    Hang,
}

/// Run `f` on its own thread under `catch_unwind`, waiting at most `deadline`.
fn run_guarded<F>(f: F, deadline: Duration) -> CaseEnd
where
    F: FnOnce() -> Vec<Finding> + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("fuzz-case".into())
        .stack_size(8 << 20)
        .spawn(move || {
            let r = std::panic::catch_unwind(AssertUnwindSafe(f));
            let r = r.map_err(|_| LAST_PANIC.with(|c| c.borrow_mut().take()));
            let _ = tx.send(r);
        });
    if let Err(e) = spawned {
        return CaseEnd::Done(vec![Finding {
            kind: "harness",
            key: "cannot spawn a case thread".into(),
            detail: e.to_string(),
        }]);
    }
    match rx.recv_timeout(deadline) {
        Ok(Ok(v)) => CaseEnd::Done(v),
        Ok(Err(p)) => {
            let (loc, msg, bt) =
                p.unwrap_or_else(|| ("unknown".into(), "unknown".into(), String::new()));
            let first_line = msg
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect::<String>();
            CaseEnd::Done(vec![Finding {
                kind: "panic",
                key: format!("panic at {loc}: {first_line}"),
                detail: format!("panicked at {loc}:\n{msg}\n\n{bt}"),
            }])
        }
        Err(mpsc::RecvTimeoutError::Timeout) => CaseEnd::Hang,
        Err(mpsc::RecvTimeoutError::Disconnected) => CaseEnd::Done(vec![Finding {
            kind: "panic",
            key: "case thread died without a result".into(),
            detail: String::new(),
        }]),
    }
}

// --------------------------------------------------------------- outside

/// Outside the generated directories: files holding the sentinel.
struct Outside {
    sentinel: String,
    re: regex::bytes::Regex,
    /// `outside/secret.txt`
    secret: PathBuf,
    /// `outside/dir`: a directory of sentinel files with common names.
    dir: PathBuf,
    /// `outside/mirror/<rel>`: every seed file's path, content with the
    /// sentinel injected (so it still parses as what it mirrors).
    mirror: PathBuf,
    /// Each outside file's sentinel is followed by `-<n>-`, `n` indexing
    /// this list (paths relative to `outside/`), so a finding names the
    /// file that leaked.
    names: Vec<String>,
}

impl Outside {
    /// Which outside file the sentinel at `at` came from.
    fn source_of(&self, hay: &[u8], at: usize) -> String {
        let rest = &hay[at + self.sentinel.len()..];
        let tag = rest
            .strip_prefix(b"-")
            .map(|r| {
                r.iter()
                    .take_while(|b| b.is_ascii_digit())
                    .copied()
                    .collect::<Vec<u8>>()
            })
            .and_then(|d| String::from_utf8(d).ok()?.parse::<usize>().ok());
        match tag.and_then(|t| self.names.get(t)) {
            Some(n) => format!("outside/{n}"),
            None => "an outside file".into(),
        }
    }
}

fn inject_text(b: &[u8], s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() + 3 * s.len() + 4);
    let first_end = b.iter().position(|&c| c == b'\n').unwrap_or(b.len());
    out.extend_from_slice(&b[..first_end]);
    out.extend_from_slice(s.as_bytes());
    let rest = &b[first_end..];
    let mid = rest.len() / 2;
    let mid = rest[mid..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(rest.len(), |p| mid + p + 1);
    out.extend_from_slice(&rest[..mid]);
    if mid > 0 && rest[mid - 1] != b'\n' {
        out.push(b'\n');
    }
    out.extend_from_slice(format!("{s} warning: {s}\n").as_bytes());
    out.extend_from_slice(&rest[mid..]);
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(format!("{s}\n").as_bytes());
    out
}

fn inject_tar(tar_bytes: &[u8], s: &str) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut ar = tar::Archive::new(tar_bytes);
    let mut b = tar::Builder::new(Vec::new());
    for e in ar.entries().ok()? {
        let mut e = e.ok()?;
        let mut h = e.header().clone();
        let mut data = Vec::new();
        e.read_to_end(&mut data).ok()?;
        if h.entry_type().is_file() {
            data = inject_text(&data, s);
            h.set_size(data.len() as u64);
            h.set_cksum();
        }
        b.append(&h, data.as_slice()).ok()?;
    }
    b.into_inner().ok()
}

fn inject(rel: &str, b: &[u8], s: &str) -> Vec<u8> {
    if let Some(plain) = mutate::gunzip(b) {
        let inner = if rel.ends_with(".tar.gz") {
            inject_tar(&plain, s).unwrap_or_else(|| inject_text(&plain, s))
        } else {
            inject_text(&plain, s)
        };
        return mutate::gzip(&inner);
    }
    inject_text(b, s)
}

fn make_outside(root: &Path, seeds: &[Seed], rng: &mut Rng) -> std::io::Result<Outside> {
    let sentinel = format!("KCIDBFUZZSENTINEL{:016x}{:016x}", rng.u64(..), rng.u64(..));
    let out = root.join("outside");
    let secret = out.join("secret.txt");
    let dir = out.join("dir");
    let mirror = out.join("mirror");
    std::fs::create_dir_all(&dir)?;
    let mut names = Vec::new();
    let mut tag = |name: String| {
        names.push(name);
        format!("{sentinel}-{}-", names.len() - 1)
    };
    std::fs::write(
        &secret,
        inject_text(b"outside file\n", &tag("secret.txt".into())),
    )?;
    for name in [
        ".config",
        "log",
        "output_log",
        "build.log",
        "HEAD",
        "config",
        "series",
        "metadata.json",
        "commit.txt",
        "kernel.release",
    ] {
        let s = tag(format!("dir/{name}"));
        std::fs::write(dir.join(name), format!("{s}\n{s} = {s}\n"))?;
    }
    std::fs::create_dir_all(dir.join("include/generated"))?;
    let s = tag("dir/include/generated/utsrelease.h".into());
    std::fs::write(
        dir.join("include/generated/utsrelease.h"),
        format!("#define UTS_RELEASE \"{s}\"\n"),
    )?;
    let mut done = BTreeSet::new();
    for s in seeds {
        for (rel, bytes) in &s.files {
            if !done.insert(rel.clone()) {
                continue;
            }
            let p = mirror.join(rel);
            if let Some(parent) = p.parent() {
                if std::fs::create_dir_all(parent).is_err() {
                    continue; // a file of that name is a directory elsewhere
                }
            }
            let s = tag(format!("mirror/{rel}"));
            let _ = std::fs::write(&p, inject(rel, bytes, &s));
        }
    }
    let re = regex::bytes::Regex::new(&regex::escape(&sentinel)).expect("sentinel regex");
    Ok(Outside {
        sentinel,
        re,
        secret,
        dir,
        mirror,
        names,
    })
}

// ----------------------------------------------------------------- cases

struct Ctx {
    seeds: Vec<Seed>,
    pool: Pool,
    outside: std::sync::Arc<Outside>,
    cases_dir: PathBuf,
    seed: u64,
}

/// What one generated case is, for its reproducer.
struct CaseInfo {
    target: Target,
    index: u64,
    seed_name: String,
    parser: Option<&'static str>,
    ops: Vec<String>,
    dir: PathBuf,
}

fn case_rng(seed: u64, index: u64) -> Rng {
    // splitmix64 of (seed, index)
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    Rng::with_seed(z ^ (z >> 31))
}

fn matches_input(pattern: &str, rel: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix('/') {
        return rel.starts_with(&format!("{prefix}/"));
    }
    if pattern.contains('*') {
        let (pdir, pname) = pattern.rsplit_once('/').unwrap_or(("", pattern));
        let (rdir, rname) = rel.rsplit_once('/').unwrap_or(("", rel));
        if pdir != rdir {
            return false;
        }
        let (pre, suf) = pname.split_once('*').unwrap_or((pname, ""));
        return rname.len() >= pre.len() + suf.len()
            && rname.starts_with(pre)
            && rname.ends_with(suf);
    }
    rel == pattern || rel.strip_suffix(".gz") == Some(pattern)
}

fn reads(p: &dyn Parser, rel: &str) -> bool {
    p.inputs().iter().any(|pat| {
        matches_input(pat, rel)
            // layouts other than REMOTE_DIR keep kbuild output in output/ or build/
            || pat
                .strip_prefix("linux/output/")
                .is_some_and(|t| rel == format!("output/{t}") || rel == format!("build/{t}"))
    })
}

/// The Input the product would build, or the test_stable_ssh defaults
/// when no layout is recognised (so the parser still runs).
fn input_for(dir: &Path) -> Input {
    if let Some((_, input)) = kcidb_harvest::layout::detect(dir) {
        return input;
    }
    let mut input = Input::new(dir);
    for log in ["linux/log", "log", "build.log", "ktest.log"] {
        if std::fs::symlink_metadata(dir.join(log)).is_ok()
            || std::fs::symlink_metadata(dir.join(format!("{log}.gz"))).is_ok()
        {
            input.log = Some(log.into());
            break;
        }
    }
    for out in ["linux/output", "output", "build"] {
        if dir.join(out).is_dir() {
            input.output_dir = Some(out.into());
            break;
        }
    }
    if dir.join("linux/.git").is_dir() {
        input.git_dir = Some("linux/.git".into());
    }
    input
}

fn gen_parsers_case(ctx: &Ctx, rng: &mut Rng, info: &mut CaseInfo) -> std::io::Result<Input> {
    let parser = PARSERS[rng.usize(..PARSERS.len())];
    info.parser = Some(parser.id());
    let relevant: Vec<&Seed> = ctx
        .seeds
        .iter()
        .filter(|s| s.files.keys().any(|r| reads(parser, r)))
        .collect();
    let seed = if !relevant.is_empty() && rng.u8(..10) < 8 {
        relevant[rng.usize(..relevant.len())]
    } else {
        &ctx.seeds[rng.usize(..ctx.seeds.len())]
    };
    info.seed_name = seed.name.clone();
    let mut files = seed.files.clone();
    let mut targets: Vec<String> = files.keys().filter(|r| reads(parser, r)).cloned().collect();
    // inputs that may be absent: created from spliced lines
    for pat in parser.inputs() {
        if !pat.contains('*') && !pat.ends_with('/') && !targets.iter().any(|t| t == pat) {
            targets.push(pat.to_string());
        }
    }
    if targets.is_empty() {
        targets.push("linux/log".into());
    }
    let mut as_dirs = Vec::new();
    let n = 1 + rng.usize(..4);
    for _ in 0..n {
        let rel = targets[rng.usize(..targets.len())].clone();
        match rng.u8(..20) {
            0 => {
                files.remove(&rel);
                info.ops.push(format!("{rel}: deleted"));
            }
            1 => {
                files.remove(&rel);
                as_dirs.push(rel.clone());
                info.ops.push(format!("{rel}: replaced by a directory"));
            }
            2 if !rel.ends_with(".gz") => {
                if let Some(b) = files.remove(&rel) {
                    files.insert(format!("{rel}.gz"), mutate::gzip(&b));
                    info.ops
                        .push(format!("{rel}: moved to {rel}.gz, gzip-compressed"));
                }
            }
            _ => {
                let data = files.entry(rel.clone()).or_insert_with(|| {
                    let k = rng.usize(..40);
                    let mut v = Vec::new();
                    for _ in 0..k {
                        let l = &ctx.pool.lines[rng.usize(..ctx.pool.lines.len())];
                        v.extend_from_slice(l);
                        v.push(b'\n');
                    }
                    v
                });
                let d = mutate::mutate(rng, data, &ctx.pool);
                info.ops
                    .push(format!("{rel}: {d} (now {} bytes)", data.len()));
            }
        }
    }
    // a path cannot be both a file and a directory's parent
    files.retain(|rel, _| !files_conflict(rel, &as_dirs));
    Seed::write(&files, &info.dir)?;
    for d in &as_dirs {
        let p = info.dir.join(d);
        tree::remove(&p);
        std::fs::create_dir_all(p.join("sub"))?;
        std::fs::write(p.join("file"), b"x\n")?;
    }
    Ok(input_for(&info.dir))
}

fn files_conflict(rel: &str, dirs: &[String]) -> bool {
    dirs.iter().any(|d| rel.starts_with(&format!("{d}/")))
}

const HOT_FILES: &[&str] = &[
    "linux/output/.config",
    "linux/log",
    "linux/log.gz",
    "output_log",
    "output_log.gz",
    "build.log",
    "build.log.gz",
    "ktest.log",
    "log",
    "config",
    "metadata.json",
    "commit.txt",
    "ktest.conf",
    "run_test.sh",
    "time.txt",
    "start_time.txt",
    "start_time.epoch",
    "linux/.git/HEAD",
    "linux/.git/packed-refs",
    "linux/.git/logs/HEAD",
    "linux/.git/config",
    "linux/Makefile",
    "linux/patches/series",
    "linux/.pc/applied-patches",
    "stable_queue.tar.gz",
    "output/.config",
    "build/.config",
    "linux/output/include/config/kernel.release",
    "linux/output/include/generated/utsrelease.h",
    "linux/output/include/generated/compile.h",
];

const HOT_DIRS: &[&str] = &[
    "linux",
    "linux/output",
    "linux/.git",
    "linux/.git/refs",
    "linux/.git/logs",
    "linux/patches",
    "linux/.pc",
    "output",
    "build",
    "linux/output/include",
];

/// True when no existing ancestor of `rel` (inside `dir`) is a symlink or
/// a non-directory: an operation there stays inside the case directory.
fn safe_rel(dir: &Path, rel: &str) -> bool {
    let mut p = dir.to_path_buf();
    let comps: Vec<&str> = rel.split('/').collect();
    for c in &comps[..comps.len().saturating_sub(1)] {
        p.push(c);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() || !m.is_dir() => return false,
            Ok(_) => {}
            Err(_) => return true,
        }
    }
    true
}

fn existing(dir: &Path, want_dir: bool) -> Vec<String> {
    let mut v = Vec::new();
    for e in walkdir::WalkDir::new(dir)
        .min_depth(1)
        .max_depth(6)
        .into_iter()
        .filter_map(|e| e.ok())
    {
        let ft = e.file_type();
        if ft.is_symlink() || (want_dir != ft.is_dir()) {
            continue;
        }
        if let Ok(r) = e.path().strip_prefix(dir) {
            v.push(r.to_string_lossy().into_owned());
        }
    }
    v.sort();
    v
}

fn gen_harvest_case(ctx: &Ctx, rng: &mut Rng, info: &mut CaseInfo) -> std::io::Result<bool> {
    let whole: Vec<&Seed> = ctx
        .seeds
        .iter()
        .filter(|s| !s.name.starts_with("parsers/"))
        .collect();
    let seed = if rng.u8(..10) < 8 && !whole.is_empty() {
        whole[rng.usize(..whole.len())]
    } else {
        &ctx.seeds[rng.usize(..ctx.seeds.len())]
    };
    info.seed_name = seed.name.clone();
    let mut files = seed.files.clone();
    let n = rng.usize(..3);
    let keys: Vec<String> = files.keys().cloned().collect();
    for _ in 0..n {
        let rel = if rng.bool() {
            HOT_FILES[rng.usize(..HOT_FILES.len())].to_string()
        } else {
            keys[rng.usize(..keys.len())].clone()
        };
        if let Some(data) = files.get_mut(&rel) {
            let d = mutate::mutate(rng, data, &ctx.pool);
            info.ops
                .push(format!("{rel}: {d} (now {} bytes)", data.len()));
        }
    }
    Seed::write(&files, &info.dir)?;
    let dir = info.dir.clone();
    let ops = 1 + rng.usize(..4);
    for _ in 0..ops {
        let file_rel = {
            let ex = existing(&dir, false);
            let ex_hot: Vec<&String> = ex
                .iter()
                .filter(|r| HOT_FILES.contains(&r.as_str()))
                .collect();
            match rng.u8(..4) {
                0 | 1 if !ex_hot.is_empty() => ex_hot[rng.usize(..ex_hot.len())].clone(),
                2 if !ex.is_empty() => ex[rng.usize(..ex.len())].clone(),
                _ => HOT_FILES[rng.usize(..HOT_FILES.len())].to_string(),
            }
        };
        let dir_rel = {
            let ex = existing(&dir, true);
            if rng.bool() || ex.is_empty() {
                HOT_DIRS[rng.usize(..HOT_DIRS.len())].to_string()
            } else {
                ex[rng.usize(..ex.len())].clone()
            }
        };
        let op = rng.u8(..14);
        let rel = if matches!(op, 3 | 4) {
            &dir_rel
        } else {
            &file_rel
        };
        if !safe_rel(&dir, rel) {
            info.ops
                .push(format!("{rel}: skipped (below a symlink or file)"));
            continue;
        }
        if let Err(e) = apply_op(ctx, rng, &dir, rel, &dir_rel, op, &mut info.ops) {
            info.ops.push(format!("{rel}: operation {op} failed: {e}"));
        }
    }
    Ok(rng.u8(..5) != 0)
}

/// One on-disk operation of a harvest case at `rel` (safe: no symlink above it).
fn apply_op(
    ctx: &Ctx,
    rng: &mut Rng,
    dir: &Path,
    rel: &str,
    dir_rel: &str,
    op: u8,
    ops: &mut Vec<String>,
) -> std::io::Result<()> {
    let p = dir.join(rel);
    let abs_or_rel = |rng: &mut Rng, to: &Path| -> PathBuf {
        if rng.bool() {
            to.to_path_buf()
        } else {
            tree::relative(&p, to)
        }
    };
    let replace = |p: &Path| -> std::io::Result<()> {
        tree::remove(p);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        Ok(())
    };
    match op {
        0..=2 => {
            // symlink to an outside file (the mirror of this path, or the secret)
            let m = ctx.outside.mirror.join(rel);
            let to = if m.is_file() && rng.u8(..4) != 0 {
                m
            } else if rng.bool() {
                ctx.outside.dir.join(p.file_name().unwrap_or_default())
            } else {
                ctx.outside.secret.clone()
            };
            let to = if to.exists() {
                to
            } else {
                ctx.outside.secret.clone()
            };
            let t = abs_or_rel(rng, &to);
            replace(&p)?;
            std::os::unix::fs::symlink(&t, &p)?;
            ops.push(format!("{rel}: symlink to outside file {}", t.display()));
        }
        3 => {
            let m = ctx.outside.mirror.join(rel);
            let to = if m.is_dir() && rng.u8(..4) != 0 {
                m
            } else {
                ctx.outside.dir.clone()
            };
            let t = abs_or_rel(rng, &to);
            replace(&p)?;
            std::os::unix::fs::symlink(&t, &p)?;
            ops.push(format!(
                "{rel}/: symlink to outside directory {}",
                t.display()
            ));
        }
        4 => {
            // directory symlinks inside: to an ancestor (a loop for walkers) or a sibling
            let t = if rng.bool() {
                PathBuf::from(["..", "."][rng.usize(..2)])
            } else {
                let ex = existing(dir, true);
                match ex.get(rng.usize(..ex.len().max(1))) {
                    Some(d) => abs_or_rel(rng, &dir.join(d)),
                    None => PathBuf::from("."),
                }
            };
            let link = p.join(["loop", "sub"][rng.usize(..2)]);
            let real_dir = std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir());
            if real_dir && std::fs::symlink_metadata(&link).is_err() {
                std::os::unix::fs::symlink(&t, &link)?;
                ops.push(format!("{rel}/loop-ish: symlink to {}", t.display()));
            } else {
                replace(&p)?;
                std::os::unix::fs::symlink(&t, &p)?;
                ops.push(format!("{rel}/: symlink to {}", t.display()));
            }
        }
        5 => {
            // symlink to another file inside the directory
            let ex = existing(dir, false);
            if let Some(other) = ex.get(rng.usize(..ex.len().max(1))).filter(|o| *o != rel) {
                let t = abs_or_rel(rng, &dir.join(other));
                replace(&p)?;
                std::os::unix::fs::symlink(&t, &p)?;
                ops.push(format!("{rel}: symlink to inside file {}", t.display()));
            }
        }
        6 => {
            let t = if rng.bool() {
                PathBuf::from(format!("/nonexistent-{:x}/x", rng.u32(..)))
            } else {
                PathBuf::from("gone/away")
            };
            replace(&p)?;
            std::os::unix::fs::symlink(&t, &p)?;
            ops.push(format!("{rel}: dangling symlink to {}", t.display()));
        }
        7 => {
            replace(&p)?;
            if rng.bool() {
                let name = p.file_name().unwrap_or_default().to_os_string();
                std::os::unix::fs::symlink(&name, &p)?;
                ops.push(format!("{rel}: symlink to itself"));
            } else {
                let other = p.with_extension("loop2");
                tree::remove(&other);
                std::os::unix::fs::symlink(other.file_name().unwrap_or_default(), &p)?;
                std::os::unix::fs::symlink(p.file_name().unwrap_or_default(), &other)?;
                ops.push(format!("{rel}: two-symlink loop with {}", other.display()));
            }
        }
        8 | 9 => {
            replace(&p)?;
            tree::mkfifo(&p)?;
            ops.push(format!("{rel}: FIFO"));
        }
        10 => {
            let mode = [0o000, 0o200, 0o111, 0o444][rng.usize(..4)];
            let shown = if rng.bool() { rel } else { dir_rel };
            let target = dir.join(shown);
            if std::fs::symlink_metadata(&target).is_ok_and(|m| !m.file_type().is_symlink())
                && safe_rel(dir, shown)
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))?;
                ops.push(format!("{shown}: chmod {mode:04o}"));
            }
        }
        11 => {
            let special = ["/dev/zero", "/dev/null", "/dev/urandom"][rng.usize(..3)];
            replace(&p)?;
            std::os::unix::fs::symlink(special, &p)?;
            ops.push(format!("{rel}: symlink to {special}"));
        }
        12 => {
            replace(&p)?;
            std::fs::create_dir_all(p.join("d"))?;
            ops.push(format!("{rel}: replaced by a directory"));
        }
        _ => {
            // content mutation on disk (truncation, huge lines, gzip tricks)
            if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_file()) {
                let mut data = std::fs::read(&p).unwrap_or_default();
                let d = mutate::mutate(rng, &mut data, &ctx.pool);
                std::fs::write(&p, &data)?;
                ops.push(format!("{rel}: {d} (now {} bytes)", data.len()));
            }
        }
    }
    Ok(())
}

/// Generate case `index` of `target` on disk and return the closure that
/// runs it (with its oracles).
type Job = Box<dyn FnOnce() -> Vec<Finding> + Send>;

fn gen_case(ctx: &Ctx, target: Target, index: u64) -> (CaseInfo, Result<Job, String>) {
    let mut rng = case_rng(ctx.seed, index);
    let dir = ctx.cases_dir.join(format!("c{index}"));
    tree::remove_tree(&dir);
    let mut info = CaseInfo {
        target,
        index,
        seed_name: String::new(),
        parser: None,
        ops: Vec::new(),
        dir: dir.clone(),
    };
    let job: Result<Job, String> = match target {
        Target::Parsers => match gen_parsers_case(ctx, &mut rng, &mut info) {
            Ok(input) => {
                let parser = kcidb_harvest_parsers::parser(info.parser.unwrap_or_default())
                    .expect("parser id from PARSERS");
                Ok(Box::new(move || {
                    let mut facts = Facts::new();
                    let r = parser.parse(&input, &mut facts);
                    // the results must be printable and serializable
                    let _ = serde_json::to_string(facts.items());
                    let _ = serde_json::to_string(&facts.notes);
                    if let Err(e) = r {
                        let _ = e.to_string();
                    }
                    Vec::new()
                }))
            }
            Err(e) => Err(e.to_string()),
        },
        Target::Harvest => match gen_harvest_case(ctx, &mut rng, &mut info) {
            Ok(assume_finished) => {
                info.ops
                    .push(format!("assume_finished = {assume_finished}"));
                let outside = ctx.outside.clone();
                let dir = dir.clone();
                Ok(Box::new(move || {
                    harvest_oracles(&dir, assume_finished, &outside)
                }))
            }
            Err(e) => Err(e.to_string()),
        },
    };
    (info, job)
}

fn harvest_oracles(dir: &Path, assume_finished: bool, outside: &Outside) -> Vec<Finding> {
    let re = &outside.re;
    let view = adapter::harvest(dir, assume_finished);
    let mut out = Vec::new();
    let layout = view.layout.as_deref().unwrap_or("none");
    for (what, text) in &view.texts {
        if let Some(m) = re.find(text.as_bytes()) {
            out.push(Finding {
                kind: "outside-bytes",
                key: format!(
                    "outside bytes in the {what} (from {})",
                    outside.source_of(text.as_bytes(), m.start())
                ),
                detail: format!(
                    "layout {layout}: the sentinel appears in the {what} at byte {}: …{}…",
                    m.start(),
                    excerpt(text.as_bytes(), m.start())
                ),
            });
        }
    }
    let log = CAPTURED_LOG.with(|c| std::mem::take(&mut *c.borrow_mut()));
    if let Some(m) = re.find(&log) {
        out.push(Finding {
            kind: "outside-bytes",
            key: format!(
                "outside bytes in the logged notes/warnings (from {})",
                outside.source_of(&log, m.start())
            ),
            detail: format!("layout {layout}: …{}…", excerpt(&log, m.start())),
        });
    }
    let canon_dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    for a in &view.artifacts {
        if let Ok(c) = std::fs::canonicalize(&a.path) {
            if !c.starts_with(&canon_dir) {
                out.push(Finding {
                    kind: "artifact-outside-dir",
                    key: format!("artifact {} resolves outside the directory", a.resource),
                    detail: format!(
                        "layout {layout}: artifact {} at {} resolves to {}",
                        a.resource,
                        a.path.display(),
                        c.display()
                    ),
                });
            }
        }
        if let Ok(bytes) = &a.uploaded {
            if let Some(m) = re.find(bytes) {
                out.push(Finding {
                    kind: "outside-bytes",
                    key: format!(
                        "outside bytes in uploaded artifact {} (from {})",
                        a.resource,
                        outside.source_of(bytes, m.start())
                    ),
                    detail: format!(
                        "layout {layout}: artifact {} ({}) would upload the sentinel at byte {}: …{}…",
                        a.resource,
                        a.path.display(),
                        m.start(),
                        excerpt(bytes, m.start())
                    ),
                });
            }
        }
    }
    out
}

fn excerpt(b: &[u8], at: usize) -> String {
    let s = at.saturating_sub(40);
    let e = (at + 80).min(b.len());
    String::from_utf8_lossy(&b[s..e]).replace('\n', "⏎")
}

// ------------------------------------------------------------ reporting

struct Findings {
    crashes: Option<PathBuf>,
    total: u64,
    unique: BTreeMap<String, u64>,
    args_line: String,
}

impl Findings {
    fn record(&mut self, ctx: &Ctx, info: &CaseInfo, f: &Finding) {
        self.total += 1;
        let count = self.unique.entry(f.key.clone()).or_insert(0);
        *count += 1;
        if *count > 1 {
            return;
        }
        let replay = format!(
            "cargo run --release --example fuzz -- --target {} --seed {} --replay {}",
            info.target.name(),
            ctx.seed,
            info.index
        );
        let line = format!(
            "{}: {} | target {} seed-dir {} parser {} | {}",
            f.kind,
            f.key,
            info.target.name(),
            info.seed_name,
            info.parser.unwrap_or("-"),
            info.ops.join("; ")
        );
        println!("fuzz: FINDING {line}");
        let Some(root) = &self.crashes else {
            return;
        };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        f.key.hash(&mut h);
        let slug: String = f
            .key
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(60)
            .collect();
        let d = root.join(format!("{}-{slug}-{:08x}", f.kind, h.finish() as u32));
        tree::remove_tree(&d);
        if std::fs::create_dir_all(&d).is_err() {
            eprintln!("fuzz: cannot create {}", d.display());
            return;
        }
        let manifest = tree::copy_tree(&info.dir, &d.join("tree"));
        let _ = std::fs::write(d.join("description.txt"), format!("{line}\n"));
        let _ = std::fs::write(
            d.join("details.txt"),
            format!(
                "kind: {}\nkey: {}\ntarget: {}\ncase: {}\nseed: {}\nseed directory: {}\nparser: {}\n\
                 case directory: {}\nreplay: {replay}\nrun: {}\noutside sentinel files: {}\n\n\
                 mutations:\n  {}\n\ndetail:\n{}\n",
                f.kind,
                f.key,
                info.target.name(),
                info.index,
                ctx.seed,
                info.seed_name,
                info.parser.unwrap_or("-"),
                info.dir.display(),
                self.args_line,
                ctx.outside.secret.parent().unwrap_or(Path::new("")).display(),
                info.ops.join("\n  "),
                f.detail
            ),
        );
        let _ = std::fs::write(d.join("MANIFEST.txt"), manifest);
        println!("fuzz: reproducer saved to {}", d.display());
    }
}

fn main() {
    let args = parse_args();
    install_hooks();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut corpus = vec![
        repo.join("fixtures/corpus"),
        PathBuf::from("/work/shared/corpus"),
    ];
    corpus.extend(args.corpus.iter().cloned());
    let seeds = seeds::load(&repo, &corpus);
    if seeds.is_empty() {
        eprintln!("fuzz: no seeds found");
        std::process::exit(2);
    }
    let pool = Pool::new(
        seeds
            .iter()
            .flat_map(|s| s.files.values().map(Vec::as_slice)),
    );
    let work = args
        .work
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("kcidb-fuzz-{}", std::process::id())));
    tree::remove_tree(&work);
    std::fs::create_dir_all(&work).expect("create the work directory");
    let work = std::fs::canonicalize(&work).expect("canonical work directory");
    let mut rng = Rng::with_seed(args.seed);
    let outside = make_outside(&work, &seeds, &mut rng).expect("create the outside files");
    let cases_dir = work.join("cases");
    std::fs::create_dir_all(&cases_dir).expect("create the cases directory");
    let ctx = Ctx {
        seeds,
        pool,
        outside: std::sync::Arc::new(outside),
        cases_dir,
        seed: args.seed,
    };
    if let Some(c) = &args.crashes {
        let _ = std::fs::create_dir_all(c);
        if let Ok(last) = std::fs::read_to_string(c.join("in-flight.txt")) {
            println!(
                "fuzz: a previous run died in {} (replay it with --replay)",
                last.trim()
            );
            let _ = std::fs::rename(c.join("in-flight.txt"), c.join("aborted-case.txt"));
        }
    }
    println!(
        "fuzz: target {} seed {} for {} s, {} seed directories, sentinel {}, work {}",
        args.target,
        args.seed,
        args.seconds,
        ctx.seeds.len(),
        ctx.outside.sentinel,
        work.display()
    );
    let mut findings = Findings {
        crashes: args.crashes.clone(),
        total: 0,
        unique: BTreeMap::new(),
        args_line: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let target_of = |i: u64| match args.target.as_str() {
        "parsers" => Target::Parsers,
        "harvest" => Target::Harvest,
        _ if i.is_multiple_of(2) => Target::Parsers,
        _ => Target::Harvest,
    };

    if let Some(i) = args.replay {
        let (info, job) = gen_case(&ctx, target_of(i), i);
        println!(
            "fuzz: case {i} ({}) from {}:",
            info.target.name(),
            info.seed_name
        );
        for op in &info.ops {
            println!("  {op}");
        }
        let job = job.unwrap_or_else(|e| panic!("cannot generate case {i}: {e}"));
        let n = match run_guarded(job, args.deadline) {
            CaseEnd::Done(v) => {
                for f in &v {
                    findings.record(&ctx, &info, f);
                    println!("{}", f.detail);
                }
                v.len()
            }
            CaseEnd::Hang => {
                println!("fuzz: case {i} still running after {:?}", args.deadline);
                1
            }
        };
        println!("fuzz: tree kept at {}", info.dir.display());
        std::process::exit(if n > 0 { 1 } else { 0 });
    }

    let start = Instant::now();
    let end = start + Duration::from_secs(args.seconds);
    let every = Duration::from_secs(if args.seconds <= 60 { 5 } else { 30 });
    let mut next_progress = start + every;
    let mut execs: BTreeMap<&'static str, (u64, Duration, Duration)> = BTreeMap::new();
    let mut total_execs = 0u64;
    let mut abandoned = 0u32;
    let mut i = 0u64;
    while Instant::now() < end {
        let target = target_of(i);
        if let Some(c) = &args.crashes {
            // left behind if the process aborts (OOM, stack overflow) in this case
            let _ = std::fs::write(
                c.join("in-flight.txt"),
                format!("target {} seed {} case {i}\n", target.name(), args.seed),
            );
        }
        let t0 = Instant::now();
        let (info, job) = gen_case(&ctx, target, i);
        let gen_time = t0.elapsed();
        let res = match job {
            Err(e) => CaseEnd::Done(vec![Finding {
                kind: "harness",
                key: format!("cannot generate a {} case", target.name()),
                detail: e,
            }]),
            Ok(job) => run_guarded(job, args.deadline),
        };
        let keep_dir = match res {
            CaseEnd::Done(v) => {
                for f in &v {
                    findings.record(&ctx, &info, f);
                }
                false
            }
            CaseEnd::Hang => {
                abandoned += 1;
                let who = info
                    .parser
                    .map(|p| format!("parser {p}"))
                    .unwrap_or("harvest".into());
                findings.record(
                    &ctx,
                    &info,
                    &Finding {
                        kind: "hang",
                        key: format!("hang in {who} ({} target)", target.name()),
                        detail: format!("still running after {:?}", args.deadline),
                    },
                );
                true
            }
        };
        if !keep_dir {
            tree::remove_tree(&info.dir);
        }
        let e = execs.entry(target.name()).or_default();
        e.0 += 1;
        e.1 += t0.elapsed();
        e.2 += gen_time;
        total_execs += 1;
        i += 1;
        if abandoned >= 4 {
            println!("fuzz: {abandoned} cases hung (threads abandoned): stopping early");
            break;
        }
        let now = Instant::now();
        if now >= next_progress {
            next_progress = now + every;
            let secs = now.duration_since(start).as_secs_f64();
            println!(
                "fuzz: [{:>5.0}s] {total_execs} executions ({:.0}/s), {} findings ({} unique)",
                secs,
                total_execs as f64 / secs,
                findings.total,
                findings.unique.len()
            );
            let _ = std::io::stdout().flush();
        }
    }
    for (name, (n, t, g)) in &execs {
        println!(
            "fuzz: target {name}: {n} executions in {:.1} s ({:.1}/s, {:.0}% generating cases)",
            t.as_secs_f64(),
            *n as f64 / t.as_secs_f64().max(1e-9),
            100.0 * g.as_secs_f64() / t.as_secs_f64().max(1e-9)
        );
    }
    for (key, n) in &findings.unique {
        println!("fuzz: finding x{n}: {key}");
    }
    println!(
        "fuzz: {total_execs} executions, {} findings ({} unique)",
        findings.total,
        findings.unique.len()
    );
    let _ = std::io::stdout().flush();
    if let Some(c) = &args.crashes {
        let _ = std::fs::remove_file(c.join("in-flight.txt"));
    }
    if abandoned == 0 {
        tree::remove_tree(&work);
    }
    std::process::exit(if findings.total > 0 { 1 } else { 0 });
}
