//! Stage 2: recognise a result directory's shape and choose its parsers.
//!
//! A [`Layout`] is a row of a static table: an id (its display name), a
//! typed [`LayoutKind`], a description, the parsers it runs and a
//! detector. What a shape can hold is asked of its capabilities
//! ([`Layout::can_have_ktest_run`], [`Layout::config_file`], …), never of
//! its id. Detectors only look at file names (and,
//! for a bare log, at the first bytes of the log): they are cheap, so the
//! batch walker can call them on every directory it visits. They look
//! through the [`Input`] gate like the parsers.

use std::io::Read;
use std::path::Path;

use kcidb_harvest_parsers::Input;

/// Which family a layout is: what its directories can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutKind {
    /// A test_stable_ssh REMOTE_DIR, whole or partial: the queue and the
    /// script's own counts apply.
    TestStableSsh,
    /// Any ktest.pl LOG_FILE directory.
    Ktest,
    /// A tuxmake output directory (it builds a git commit as is).
    Tuxmake,
    /// A bare build log.
    BuildLog,
}

/// One directory shape.
pub struct Layout {
    pub id: &'static str,
    pub kind: LayoutKind,
    pub description: &'static str,
    /// Parser ids, in the order they run.
    pub parsers: &'static [&'static str],
    /// Marker files this layout looks for (for error messages and listings).
    pub markers: &'static str,
    detect: fn(&Input) -> Option<Input>,
}

impl Layout {
    /// Whether ktest frames its runs: such a run ends with a verdict and
    /// `KTEST_RUN`, so without them (and a fresh log) it is still going.
    /// A bare log or tuxmake directory has no such marker to wait for.
    pub fn can_have_ktest_run(&self) -> bool {
        matches!(self.kind, LayoutKind::TestStableSsh | LayoutKind::Ktest)
    }

    /// A test_stable_ssh directory (the queue rules apply).
    pub fn is_test_stable_ssh(&self) -> bool {
        self.kind == LayoutKind::TestStableSsh
    }

    /// test_stable_ssh's stdout (`output_log`) may be here.
    pub fn has_output_log(&self) -> bool {
        self.kind == LayoutKind::TestStableSsh
    }

    /// tuxmake builds a git commit as is: no patches.
    pub fn builds_commit_as_is(&self) -> bool {
        self.kind == LayoutKind::Tuxmake
    }

    /// Where the build's `.config` is: tuxmake's `config`, else the
    /// kbuild output directory's.
    pub fn config_file(&self, input: &Input) -> Option<String> {
        match self.kind {
            LayoutKind::Tuxmake => Some("config".to_string()),
            _ => input
                .output_dir
                .as_ref()
                .map(|out| format!("{out}/.config")),
        }
    }

    /// The [`Input`] (with log, output and git locations) if `dir` has this shape.
    pub fn detect(&self, dir: &Input) -> Option<Input> {
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
        kind: LayoutKind::TestStableSsh,
        description: "test_stable_ssh REMOTE_DIR (any generation since 2012): output_log, linux/log, ktest.conf, run_test.sh, stable_queue.tar.gz, linux/.git, linux/output, commit.txt, start_time.txt, time output",
        parsers: STABLE_PARSERS,
        markers: "run_test.sh or ktest.conf beside output_log or linux/log",
        detect: detect_stable,
    },
    Layout {
        id: "test_stable_ssh_partial",
        kind: LayoutKind::TestStableSsh,
        description: "old or partial copy of a REMOTE_DIR: only linux/log and/or output_log (maybe gzip-compressed), no git metadata",
        parsers: STABLE_PARSERS,
        markers: "output_log, linux/log or linux/log.gz",
        detect: detect_stable_partial,
    },
    Layout {
        id: "ktest",
        kind: LayoutKind::Ktest,
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
        kind: LayoutKind::Tuxmake,
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
        kind: LayoutKind::BuildLog,
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
///
/// Every look goes through the [`Input`] gate: links that leave the
/// directory are not followed (the refusals are in the returned input).
pub fn detect(dir: &Path) -> Option<(&'static Layout, Input)> {
    let base = Input::new(dir);
    LAYOUTS
        .iter()
        .find_map(|l| l.detect(&base).map(|input| (l, input)))
}

/// What `detect` looked for, for the "unknown layout" error.
pub fn looked_for() -> String {
    LAYOUTS
        .iter()
        .map(|l| format!("{} ({})", l.id, l.markers))
        .collect::<Vec<_>>()
        .join("; ")
}

fn file_or_gz(dir: &Input, rel: &str) -> Option<String> {
    if dir.is_file(rel) {
        Some(rel.to_string())
    } else if dir.is_file(&format!("{rel}.gz")) {
        Some(format!("{rel}.gz"))
    } else {
        None
    }
}

fn stable_input(dir: &Input) -> Input {
    let mut input = dir.clone();
    // Any entry named linux/log counts (a directory there is reported as
    // unreadable, a refused link as a warning, rather than silently
    // ignored).
    input.log = (dir.entry_exists("linux/log") || dir.entry_exists("linux/log.gz"))
        .then(|| "linux/log".to_string());
    if dir.is_dir("linux/output") {
        input.output_dir = Some("linux/output".into());
    }
    if dir.is_dir("linux/.git") {
        input.git_dir = Some("linux/.git".into());
    }
    input
}

fn has_run_output(dir: &Input) -> bool {
    file_or_gz(dir, "output_log").is_some() || file_or_gz(dir, "linux/log").is_some()
}

fn detect_stable(dir: &Input) -> Option<Input> {
    let script = dir.is_file("run_test.sh") || dir.is_file("ktest.conf");
    (script && has_run_output(dir) && !plain_ktest_run(dir)).then(|| stable_input(dir))
}

fn detect_stable_partial(dir: &Input) -> Option<Input> {
    (has_run_output(dir) && !plain_ktest_run(dir)).then(|| stable_input(dir))
}

/// A plain ktest run directory that also keeps ktest's stdout as
/// `output_log`: no `linux/log` and no `run_test.sh`, but a LOG_FILE of
/// its own beside them. It is the `ktest` layout's, not test_stable_ssh's.
fn plain_ktest_run(dir: &Input) -> bool {
    !dir.is_file("run_test.sh")
        && file_or_gz(dir, "linux/log").is_none()
        && detect_ktest(dir).is_some()
}

/// True if the first 64 KiB of `name` (decompressed) hold a ktest run start.
fn starts_ktest_run(dir: &Input, name: &str) -> bool {
    // only regular files inside the directory (the gate checks the type)
    if !dir.is_file(name) {
        return false;
    }
    let Ok(Some(mut o)) = dir.open(name) else {
        return false;
    };
    let mut head = Vec::with_capacity(64 * 1024);
    if (&mut o.reader)
        .take(64 * 1024)
        .read_to_end(&mut head)
        .is_err()
        && head.is_empty()
    {
        return false;
    }
    memchr::memmem::find(&head, b"STARTING AUTOMATED TESTS").is_some()
}

fn detect_ktest(dir: &Input) -> Option<Input> {
    let mut candidates: Vec<String> = Vec::new();
    for name in ["log", "log.gz", "ktest.log", "ktest.log.gz"] {
        if dir.is_file(name) {
            candidates.push(name.to_string());
        }
    }
    let mut others: Vec<String> = dir
        .list("")
        .into_iter()
        .filter(|n| n.ends_with(".log") || n.ends_with(".log.gz"))
        .filter(|n| !candidates.contains(n))
        .collect();
    others.sort();
    candidates.extend(others);
    let log = candidates.into_iter().find(|n| starts_ktest_run(dir, n))?;
    let mut input = dir.clone();
    input.log = Some(log.trim_end_matches(".gz").to_string());
    for out in ["output", "linux/output", "build"] {
        if dir.is_file(&format!("{out}/.config")) {
            input.output_dir = Some(out.to_string());
            break;
        }
    }
    Some(input)
}

fn detect_tuxmake(dir: &Input) -> Option<Input> {
    if !dir.is_file("metadata.json") {
        return None;
    }
    file_or_gz(dir, "build.log")?;
    let mut input = dir.clone();
    input.log = Some("build.log".into());
    Some(input)
}

fn detect_bare(dir: &Input) -> Option<Input> {
    let log = if file_or_gz(dir, "build.log").is_some() {
        "build.log".to_string()
    } else {
        let logs: Vec<String> = dir
            .list("")
            .into_iter()
            .filter(|n| n.ends_with(".log") || n.ends_with(".log.gz"))
            .filter(|n| n != "time.log")
            .filter(|n| dir.is_file(n))
            .collect();
        let [only] = logs.as_slice() else {
            return None;
        };
        only.trim_end_matches(".gz").to_string()
    };
    let mut input = dir.clone();
    input.log = Some(log);
    for out in ["output", "build"] {
        if dir.is_file(&format!("{out}/.config")) {
            input.output_dir = Some(out.to_string());
            break;
        }
    }
    Some(input)
}

impl std::fmt::Debug for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Layout").field(&self.id).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            let p = d.path().join(name);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        d
    }

    /// The layout and input of a directory holding `files` (the
    /// directory is removed when the first item is dropped).
    fn detected(files: &[(&str, &str)]) -> (tempfile::TempDir, &'static Layout, Input) {
        let d = dir(files);
        let (l, input) = detect(d.path()).expect("a layout");
        (d, l, input)
    }

    const KTEST_LOG: &str =
        "\n\nSTARTING AUTOMATED TESTS\n\nDEFAULT OPTIONS:\nBUILD_TYPE = tinyconfig\n";

    #[test]
    fn a_remote_dir_frames_its_runs_and_keeps_config_in_linux_output() {
        let (_d, l, input) = detected(&[
            ("run_test.sh", "#!/bin/bash\n"),
            ("output_log", "KTEST_RUN = 0\n"),
            ("linux/log", KTEST_LOG),
            ("linux/output/.config", "CONFIG_64BIT=y\n"),
        ]);
        assert_eq!(
            (l.id, l.kind),
            ("test_stable_ssh", LayoutKind::TestStableSsh)
        );
        assert!(l.can_have_ktest_run() && l.is_test_stable_ssh() && l.has_output_log());
        assert!(!l.builds_commit_as_is());
        assert_eq!(
            l.config_file(&input).as_deref(),
            Some("linux/output/.config")
        );
    }

    #[test]
    fn a_partial_copy_is_still_a_remote_dir() {
        let (_d, l, input) = detected(&[("output_log", "KTEST_RUN = 0\n")]);
        assert_eq!(l.id, "test_stable_ssh_partial");
        assert!(l.can_have_ktest_run() && l.is_test_stable_ssh() && l.has_output_log());
        assert_eq!(l.config_file(&input), None);
    }

    #[test]
    fn a_ktest_log_dir_frames_its_runs() {
        let (_d, l, input) = detected(&[
            ("ktest.log", KTEST_LOG),
            ("output/.config", "CONFIG_64BIT=y\n"),
        ]);
        assert_eq!((l.id, l.kind), ("ktest", LayoutKind::Ktest));
        assert!(l.can_have_ktest_run());
        assert!(!l.is_test_stable_ssh() && !l.has_output_log());
        assert_eq!(l.config_file(&input).as_deref(), Some("output/.config"));
    }

    #[test]
    fn a_plain_ktest_run_with_its_stdout_is_not_a_remote_dir() {
        let (_d, l, input) = detected(&[
            ("ktest.conf", "TEST_START\nTEST_TYPE = build\n"),
            ("output_log", KTEST_LOG),
            ("log", KTEST_LOG),
        ]);
        assert_eq!((l.id, l.kind), ("ktest", LayoutKind::Ktest));
        assert_eq!(input.log.as_deref(), Some("log"));
        // with linux/log it stays a REMOTE_DIR
        let (_e, l, _) = detected(&[
            ("ktest.conf", "TEST_START\nTEST_TYPE = build\n"),
            ("output_log", KTEST_LOG),
            ("log", KTEST_LOG),
            ("linux/log", KTEST_LOG),
        ]);
        assert_eq!(l.id, "test_stable_ssh");
    }

    #[test]
    fn a_tuxmake_dir_never_has_a_ktest_run_and_keeps_config_on_top() {
        let (_d, l, input) = detected(&[
            (
                "build.log",
                "make --silent --keep-going O=/build tinyconfig\n",
            ),
            ("metadata.json", "{}"),
            ("config", "CONFIG_64BIT=y\n"),
        ]);
        assert_eq!((l.id, l.kind), ("tuxmake", LayoutKind::Tuxmake));
        assert!(!l.can_have_ktest_run() && !l.is_test_stable_ssh() && !l.has_output_log());
        assert!(l.builds_commit_as_is());
        assert_eq!(l.config_file(&input).as_deref(), Some("config"));
    }

    #[test]
    fn a_bare_log_never_has_a_ktest_run() {
        let (_d, l, input) = detected(&[
            (
                "build.log",
                "  CC      init/main.o\nKernel: arch/x86/boot/bzImage is ready  (#1)\n",
            ),
            ("build/.config", "CONFIG_64BIT=y\n"),
        ]);
        assert_eq!((l.id, l.kind), ("build_log", LayoutKind::BuildLog));
        assert!(!l.can_have_ktest_run() && !l.is_test_stable_ssh() && !l.has_output_log());
        assert_eq!(l.config_file(&input).as_deref(), Some("build/.config"));
        let (_e, _, input) = detected(&[("kernel-6.1.log", "  CC      init/main.o\n")]);
        assert_eq!(l.config_file(&input), None);
    }

    #[test]
    fn output_log_means_its_parser_and_ids_are_unique() {
        for (i, l) in LAYOUTS.iter().enumerate() {
            assert!(LAYOUTS[..i].iter().all(|o| o.id != l.id));
            assert_eq!(
                l.has_output_log(),
                l.parsers.contains(&"output-log"),
                "{}",
                l.id
            );
        }
    }
}
