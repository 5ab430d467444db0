//! Stage 2: recognise a result directory's shape and choose its parsers.
//!
//! A [`Layout`] is a row of a static table: an id, a description, the
//! parsers it runs and a detector. Detectors only look at file names (and,
//! for a bare log, at the first bytes of the log): they are cheap, so the
//! batch walker can call them on every directory it visits.

use std::io::Read;
use std::path::Path;

use kcidb_harvest_parsers::Input;

/// One directory shape.
pub struct Layout {
    pub id: &'static str,
    pub description: &'static str,
    /// Parser ids, in the order they run.
    pub parsers: &'static [&'static str],
    /// Marker files this layout looks for (for error messages and listings).
    pub markers: &'static str,
    detect: fn(&Path) -> Option<Input>,
}

impl Layout {
    /// The [`Input`] (with log, output and git locations) if `dir` has this shape.
    pub fn detect(&self, dir: &Path) -> Option<Input> {
        (self.detect)(dir)
    }
}

const STABLE_PARSERS: &[&str] = &[
    "output-log",
    "build-log",
    "ktest-conf",
    "run-test-sh",
    "git-meta",
    "commit-txt",
    "start-time",
    "time-output",
    "kbuild-output",
    "queue",
    "kernel-makefile",
];

/// Every layout, most specific first.
pub static LAYOUTS: &[Layout] = &[
    Layout {
        id: "test_stable_ssh",
        description: "test_stable_ssh REMOTE_DIR (any generation since 2012): output_log, linux/log, ktest.conf, run_test.sh, stable_queue.tar.gz, linux/.git, linux/output, commit.txt, start_time.txt, time output",
        parsers: STABLE_PARSERS,
        markers: "run_test.sh or ktest.conf beside output_log or linux/log",
        detect: detect_stable,
    },
    Layout {
        id: "test_stable_ssh_partial",
        description: "old or partial copy of a REMOTE_DIR: only linux/log and/or output_log (maybe gzip-compressed), no git metadata",
        parsers: STABLE_PARSERS,
        markers: "output_log, linux/log or linux/log.gz",
        detect: detect_stable_partial,
    },
    Layout {
        id: "ktest",
        description: "plain ktest.pl LOG_FILE directory (any ktest user, DIE_ON_FAILURE 0 or 1): a log starting a ktest run, optional ktest.conf and output/",
        parsers: &[
            "build-log",
            "ktest-conf",
            "commit-txt",
            "start-time",
            "time-output",
            "kbuild-output",
        ],
        markers: "a `log`, `ktest.log` or `*.log` file holding `STARTING AUTOMATED TESTS`",
        detect: detect_ktest,
    },
    Layout {
        id: "tuxmake",
        description: "tuxmake output directory: build.log + metadata.json (status, arch, toolchain, kconfig, git)",
        parsers: &[
            "build-log",
            "tuxmake-metadata",
            "commit-txt",
            "start-time",
            "time-output",
        ],
        markers: "build.log (or build.log.gz) beside metadata.json",
        detect: detect_tuxmake,
    },
    Layout {
        id: "build_log",
        description: "a bare kernel build log (build.log, or the only *.log, maybe gzip-compressed) with optional time output, commit.txt, start_time.txt",
        parsers: &[
            "build-log",
            "commit-txt",
            "start-time",
            "time-output",
            "kbuild-output",
        ],
        markers: "build.log or a single *.log / *.log.gz",
        detect: detect_bare,
    },
];

/// Find the layout of `dir`.
pub fn detect(dir: &Path) -> Option<(&'static Layout, Input)> {
    LAYOUTS
        .iter()
        .find_map(|l| l.detect(dir).map(|input| (l, input)))
}

/// What `detect` looked for, for the "unknown layout" error.
pub fn looked_for() -> String {
    LAYOUTS
        .iter()
        .map(|l| format!("{} ({})", l.id, l.markers))
        .collect::<Vec<_>>()
        .join("; ")
}

fn is_file(dir: &Path, rel: &str) -> bool {
    dir.join(rel).is_file()
}

fn file_or_gz(dir: &Path, rel: &str) -> Option<String> {
    if is_file(dir, rel) {
        Some(rel.to_string())
    } else if is_file(dir, &format!("{rel}.gz")) {
        Some(format!("{rel}.gz"))
    } else {
        None
    }
}

fn stable_input(dir: &Path) -> Input {
    let mut input = Input::new(dir);
    // Any entry named linux/log counts (a directory there is reported as
    // unreadable rather than silently ignored).
    input.log = (dir.join("linux/log").exists() || dir.join("linux/log.gz").exists())
        .then(|| "linux/log".to_string());
    if dir.join("linux/output").is_dir() {
        input.output_dir = Some("linux/output".into());
    }
    if dir.join("linux/.git").is_dir() {
        input.git_dir = Some("linux/.git".into());
    }
    input
}

fn has_run_output(dir: &Path) -> bool {
    file_or_gz(dir, "output_log").is_some() || file_or_gz(dir, "linux/log").is_some()
}

fn detect_stable(dir: &Path) -> Option<Input> {
    let script = is_file(dir, "run_test.sh") || is_file(dir, "ktest.conf");
    (script && has_run_output(dir)).then(|| stable_input(dir))
}

fn detect_stable_partial(dir: &Path) -> Option<Input> {
    has_run_output(dir).then(|| stable_input(dir))
}

/// True if the first 64 KiB of `path` (decompressed) hold a ktest run start.
fn starts_ktest_run(path: &Path) -> bool {
    // only regular files: opening a FIFO would block
    if !path.is_file() {
        return false;
    }
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let Ok(mut r) = kcidb_harvest_parsers::input::maybe_gunzip(f) else {
        return false;
    };
    let mut head = Vec::with_capacity(64 * 1024);
    if (&mut r).take(64 * 1024).read_to_end(&mut head).is_err() && head.is_empty() {
        return false;
    }
    memchr_find(&head, b"STARTING AUTOMATED TESTS")
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn detect_ktest(dir: &Path) -> Option<Input> {
    let mut candidates: Vec<String> = Vec::new();
    for name in ["log", "log.gz", "ktest.log", "ktest.log.gz"] {
        if is_file(dir, name) {
            candidates.push(name.to_string());
        }
    }
    let mut others: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log") || n.ends_with(".log.gz"))
        .filter(|n| !candidates.contains(n))
        .collect();
    others.sort();
    candidates.extend(others);
    let log = candidates
        .into_iter()
        .find(|n| starts_ktest_run(&dir.join(n)))?;
    let mut input = Input::new(dir);
    input.log = Some(log.trim_end_matches(".gz").to_string());
    for out in ["output", "linux/output", "build"] {
        if dir.join(out).join(".config").is_file() {
            input.output_dir = Some(out.to_string());
            break;
        }
    }
    Some(input)
}

fn detect_tuxmake(dir: &Path) -> Option<Input> {
    if !is_file(dir, "metadata.json") {
        return None;
    }
    file_or_gz(dir, "build.log")?;
    let mut input = Input::new(dir);
    input.log = Some("build.log".into());
    Some(input)
}

fn detect_bare(dir: &Path) -> Option<Input> {
    let log = if file_or_gz(dir, "build.log").is_some() {
        "build.log".to_string()
    } else {
        let logs: Vec<String> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".log") || n.ends_with(".log.gz"))
            .filter(|n| n != "time.log")
            .collect();
        let [only] = logs.as_slice() else {
            return None;
        };
        only.trim_end_matches(".gz").to_string()
    };
    let mut input = Input::new(dir);
    input.log = Some(log);
    for out in ["output", "build"] {
        if dir.join(out).join(".config").is_file() {
            input.output_dir = Some(out.to_string());
            break;
        }
    }
    Some(input)
}
