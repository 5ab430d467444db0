//! Properties of the diagnostics engine on arbitrary input: it never
//! panics; excerpts stay within 16384 characters, without NUL; raw counts
//! are exactly `grep -c -i`; and the fast path (whole chunks through
//! `LineSink::lines`) gives the same report as feeding every line.

use kcidb_harvest_parsers::diag::{annotator, DiagReport, Engine, ExcerptKind};
use kcidb_harvest_parsers::logscan::{scan, scan_read_ahead, LineSink, MAX_LINE};
use proptest::prelude::*;

/// Reference: lines of `log` containing `needle`, ASCII case-insensitive
/// (`grep -c -i`, whole lines: the engine counts past `MAX_LINE` too) or
/// not (`grep -c`, in the first `MAX_LINE` bytes of each line, as the
/// sinks see it).
fn grep(log: &[u8], needle: &[u8], ignore_case: bool) -> u64 {
    let mut lines: Vec<&[u8]> = log.split(|&b| b == b'\n').collect();
    if log.ends_with(b"\n") {
        lines.pop();
    }
    lines
        .iter()
        .filter(|l| {
            let seen = if ignore_case {
                l.len()
            } else {
                l.len().min(MAX_LINE)
            };
            l[..seen]
                .windows(needle.len())
                .any(|w| w == needle || (ignore_case && w.eq_ignore_ascii_case(needle)))
        })
        .count() as u64
}

fn grep_ci(log: &[u8], needle: &[u8]) -> u64 {
    grep(log, needle, true)
}

fn grep_cs(log: &[u8], needle: &[u8]) -> u64 {
    grep(log, needle, false)
}

/// The engine fed in chunks of `step` bytes through `lines()`, cutting
/// at line ends as `scan` does (no NUL check, unlike `scan`).
fn fast(log: &[u8], step: usize) -> DiagReport {
    let mut e = Engine::new();
    let mut lineno = 1;
    let mut rest = log;
    while !rest.is_empty() {
        let want = step.min(rest.len());
        let cut = match memchr_last_nl(&rest[..want]) {
            Some(p) => p + 1,
            None => match rest.iter().position(|&b| b == b'\n') {
                Some(p) => p + 1,
                None => rest.len(),
            },
        };
        let (block, tail) = rest.split_at(cut);
        if block.ends_with(b"\n") {
            lineno += e.lines(lineno, block);
        } else {
            e.line(lineno, block.strip_suffix(b"\r").unwrap_or(block));
        }
        rest = tail;
    }
    e.finish()
}

fn memchr_last_nl(b: &[u8]) -> Option<usize> {
    b.iter().rposition(|&c| c == b'\n')
}

/// A reader giving at most `.1` bytes a read: chunks that small.
struct Steps<'a>(&'a [u8], usize);

impl std::io::Read for Steps<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(self.1).min(out.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// The engine through `scan_read_ahead` in chunks of `step` bytes, with
/// the annex of [`annotator`] when `hinted`; `None` when the scan refuses
/// the log (a mostly binary head).
fn read_ahead(log: &[u8], step: usize, hinted: bool) -> Option<DiagReport> {
    let mut e = Engine::new();
    let mut annotate = annotator();
    scan_read_ahead(
        "p.log",
        Steps(log, step),
        &mut [&mut e],
        &mut |_, _| {},
        if hinted { Some(&mut annotate) } else { None },
    )
    .ok()?;
    Some(e.finish())
}

/// The engine fed line by line.
fn slow(log: &[u8]) -> DiagReport {
    let mut e = Engine::new();
    let mut lines: Vec<&[u8]> = log.split(|&b| b == b'\n').collect();
    if log.ends_with(b"\n") || log.is_empty() {
        lines.pop();
    }
    for (i, l) in lines.iter().enumerate() {
        e.line(i as u64 + 1, l.strip_suffix(b"\r").unwrap_or(l));
    }
    e.finish()
}

fn check_excerpts(r: &DiagReport) -> Result<(), TestCaseError> {
    for k in [ExcerptKind::Fail, ExcerptKind::Warnings, ExcerptKind::Tail] {
        if let Some(x) = r.excerpt(k) {
            prop_assert!(
                x.chars().count() <= 16384,
                "{k:?}: {} chars",
                x.chars().count()
            );
            prop_assert!(!x.contains('\0'), "{k:?} has a NUL");
            prop_assert!(!x.is_empty());
        }
    }
    Ok(())
}

fn same(a: &DiagReport, b: &DiagReport) -> Result<(), TestCaseError> {
    let json = |r: &DiagReport| {
        let mut v = serde_json::to_value(r).expect("report serialises");
        v["bytes"] = 0.into();
        // compared on their own: scan drops NULs the line path never sees
        if let Some(o) = v.as_object_mut() {
            o.remove("nul_bytes");
        }
        v
    };
    prop_assert_eq!(json(a), json(b));
    for k in [ExcerptKind::Fail, ExcerptKind::Warnings, ExcerptKind::Tail] {
        prop_assert_eq!(a.excerpt(k), b.excerpt(k), "{:?}", k);
    }
    Ok(())
}

/// Pieces of real build logs, plus noise, to assemble log-like input.
const PIECES: &[&str] = &[
    "  CC      kernel/fork.o",
    "  CC [M]  drivers/base/error.o",
    "../init/main.c: In function ‘start_kernel’:",
    "../init/main.c:916:13: warning: unused variable ‘x’ [-Wunused-variable]",
    "  916 |         int x;",
    "      |             ^",
    "In file included from ../init/main.c:61:",
    "                 from ../include/linux/a.h:3,",
    "../include/linux/utsname.h:80:12: warning: ‘f’ defined but not used [-Wunused-function]",
    "../kernel/sys.c:953:41: error: ‘y’ undeclared (first use in this function)",
    "../kernel/sys.c:953:41: note: each undeclared identifier is reported only once",
    "cc1: some warnings being treated as errors",
    "1 error generated.",
    "make[3]: *** [../scripts/Makefile.build:255: kernel/sys.o] Error 1",
    "make[2]: *** Waiting for unfinished jobs....",
    "make: *** [Makefile:250: __sub-make] Error 2",
    "make[1]: Target '__all' not remade because of errors.",
    "make[1]: Entering directory '/dev/shm/st/linux/output'",
    "make: *** No rule to make target 'Image'.  Stop.",
    "ld.lld: error: undefined symbol: irq_work_queue",
    ">>> referenced by task_work.c",
    "riscv64-linux-gnu-ld: kernel/task_work.o: in function `task_work_add':",
    "task_work.c:(.text+0x9a): undefined reference to `irq_work_queue'",
    "collect2: error: ld returned 1 exit status",
    "WARNING: modpost: missing MODULE_DESCRIPTION() in vmlinux.o",
    "ERROR: modpost: \"foo\" [drivers/x.ko] undefined!",
    "vmlinux.o: warning: objtool: f+0x15b: call leaves .noinstr.text section",
    ".config:1309:warning: override: UNWINDER_GUESS changes choice state",
    "WARNING: unmet direct dependencies detected for GET_FREE_REGION",
    "  Depends on [n]: SPARSEMEM [=n]",
    "  - RESOURCE_KUNIT_TEST [=y] && KUNIT [=y]",
    "arch/x/y.dtb: Warning (reg_format): /soc:reg: property has invalid length",
    "error[E0425]: cannot find value `VM_READ` in crate `bindings`",
    "   --> rust/kernel/mm/virt.rs:399:44",
    "    |",
    "warning: unused variable: `x`",
    "error: aborting due to 2 previous errors",
    "/tmp/ccAbCdEf.s: Assembler messages:",
    "/tmp/ccAbCdEf.s:12: Error: invalid barrier type",
    "/bin/sh: 1: gcc-15: not found",
    "make[2]: *** [scripts/Makefile.host:95: scripts/basic/fixdep] Error 127",
    "gcc: fatal error: Killed signal terminated program cc1",
    "cp: error writing 'x': No space left on device",
    "Warning: Kernel ABI header at 'a' differs from latest version at 'b'",
    "00:00:14 ./include/linux/stddef.h:11:9: error: cannot use keyword ‘false’",
    // time stamps whose colons are the only ones, before a trigger, or
    // not quite time stamps
    "00:00:15   CC      init/main.o",
    "00:00:16 *** Can't find default configuration \"x\"!",
    "00:00:17 make[2]: *** [x] Error 1",
    "00:00:18 ",
    "00:00:19",
    "00:00:20 \x1b[1mcoloured\x1b[0m",
    "00:00:21 In file included from ../init/main.c:61:",
    "0:00:22 ../a.c:1:2: warning: not a time stamp",
    "00:0a:23 ../a.c:1:2: warning: not a time stamp either",
    "\x1b[1m../a.c:1:2: \x1b[0;1;35mwarning: \x1b[0mcoloured",
    "STARTING AUTOMATED TESTS",
    "DEFAULT OPTIONS:",
    "MAKE_CMD = make CC=\"ccache gcc\"",
    "OUTPUT_DIR = /dev/shm/st/linux/output",
    "BUILD_DIR = /dev/shm/st/linux",
    "RUNNING TEST 1 of 1 with option build tinyconfig",
    "make CC=\"ccache gcc\" O=/dev/shm/st/linux/output tinyconfig ... make[1]: Entering directory '/x'",
    "make CC=\"ccache gcc\" O=/dev/shm/st/linux/output -j2 ... make[1]: Entering directory '/x'",
    "[14 seconds] FAILED!",
    "CRITICAL FAILURE... [TEST 1] failed build",
    "*** Can't find default configuration \"x\"!",
    "*******************************************",
    "error: label",
    "",
    "   ",
    "Value of CONFIG_X is redefined by fragment ../kernel/configs/tiny.config:",
];

/// A log assembled from `PIECES`, raw bytes, CR and odd line ends.
fn log_like() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        6 => (0..PIECES.len()).prop_map(|i| PIECES[i].as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 0..80),
        1 => "[ -~]{0,60}".prop_map(String::into_bytes),
    ];
    let end = prop_oneof![8 => Just(&b"\n"[..]), 1 => Just(&b"\r\n"[..]), 1 => Just(&b""[..])];
    proptest::collection::vec((piece, end), 0..120).prop_map(|parts| {
        let mut out = Vec::new();
        for (p, e) in parts {
            out.extend_from_slice(&p);
            out.extend_from_slice(e);
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded(log in proptest::collection::vec(any::<u8>(), 0..4000)) {
        let r = slow(&log);
        check_excerpts(&r)?;
        prop_assert_eq!(r.warnings_raw, grep_ci(&log, b"warning:"));
        prop_assert_eq!(r.errors_raw, grep_ci(&log, b"error:"));
        let f = fast(&log, 97);
        check_excerpts(&f)?;
    }

    #[test]
    fn log_like_input_fast_path_equals_line_path(log in log_like(), step in 1usize..600) {
        let a = fast(&log, step);
        let b = slow(&log);
        same(&a, &b)?;
        check_excerpts(&a)?;
        prop_assert_eq!(a.warnings_raw, grep_ci(&log, b"warning:"));
        prop_assert_eq!(a.errors_raw, grep_ci(&log, b"error:"));
        prop_assert_eq!(a.warnings_raw_cs, grep_cs(&log, b"warning:"));
        prop_assert_eq!(a.errors_raw_cs, grep_cs(&log, b"error:"));
        prop_assert_eq!((b.warnings_raw_cs, b.errors_raw_cs), (a.warnings_raw_cs, a.errors_raw_cs));
        prop_assert!(a.diagnostics.len() as u64 <= a.warnings + a.errors);
    }

    #[test]
    fn scan_agrees_with_the_line_path(log in log_like()) {
        // `scan` refuses a mostly binary head and drops the NULs of a text
        // log; the generator may add some.
        let mut e = Engine::new();
        if scan("p.log", &log[..], &mut [&mut e]).is_ok() {
            let a = e.finish();
            let text: Vec<u8> = log.iter().copied().filter(|&b| b != 0).collect();
            let b = slow(&text);
            same(&a, &b)?;
            prop_assert_eq!(a.bytes, log.len() as u64);
            prop_assert_eq!(a.nul_bytes, (log.len() - text.len()) as u64);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The engine given its chunks' trigger lines and their classes,
    /// worked out on another thread, finds what it finds alone: chunks
    /// small enough that lines go on across chunks (and are then not in
    /// the hints), time stamps, escapes and NULs (a chunk with NULs is
    /// copied without its annex) included.
    #[test]
    fn hinted_chunks_agree_with_the_line_path(log in log_like(), step in 1usize..700) {
        let Some(a) = read_ahead(&log, step, true) else {
            return Ok(());
        };
        let text: Vec<u8> = log.iter().copied().filter(|&b| b != 0).collect();
        same(&a, &slow(&text))?;
        same(&a, &read_ahead(&log, step, false).expect("the same scan"))?;
        prop_assert_eq!(a.warnings_raw_cs, grep_cs(&text, b"warning:"));
        prop_assert_eq!(a.errors_raw_cs, grep_cs(&text, b"error:"));
    }
}

#[test]
fn huge_repeated_lines_and_many_distinct_diagnostics_stay_bounded() {
    // Thousands of distinct warnings: counted, listed up to the cap, and
    // the excerpt still within its limit.
    let mut log = String::new();
    for i in 0..12_000 {
        log += &format!(
            "drivers/x/f{i}.c:{i}:1: warning: w{i} {}\n",
            "é".repeat(i % 50)
        );
        log += "      |   ^~~~\n";
    }
    let r = fast(log.as_bytes(), 1 << 16);
    assert_eq!(r.warnings, 12_000);
    // listed up to the engine's cap (10,000), in log order
    assert_eq!(r.diagnostics.len(), 10_000);
    assert_eq!(r.diagnostics[9_999].first_line, 2 * 9_999 + 1);
    let w = r.excerpt(ExcerptKind::Warnings).expect("warnings excerpt");
    assert!(w.chars().count() <= 16384);
    assert!(w.starts_with("drivers/x/f0.c:0:1: warning: w0"));
    // Cut between lines: the excerpt ends with a whole log line.
    let last = w.lines().last().expect("a line");
    assert!(log.lines().any(|l| l == last), "{last:?}");
}

#[test]
fn a_megabyte_line_in_an_excerpt_is_cut_to_the_limit() {
    let mut log = b"a.c:1:2: error: ".to_vec();
    log.extend(std::iter::repeat_n(b'x', 2 << 20));
    log.extend_from_slice(b"\nmake: *** [Makefile:1: all] Error 2\n");
    let mut e = Engine::new();
    scan("big.log", &log[..], &mut [&mut e]).expect("scan");
    let r = e.finish();
    assert_eq!(r.errors, 1);
    for k in [ExcerptKind::Fail, ExcerptKind::Tail] {
        let x = r.excerpt(k).expect("excerpt");
        assert!(x.chars().count() <= 16384, "{k:?}");
        assert!(x.contains("make: *** [Makefile:1: all] Error 2"), "{k:?}");
    }
}
