//! `ktest_log::Framing` has an exact fast path for runs of lines
//! (`LineSink::lines`): fed the same log line by line and in chunks split at
//! any line boundaries, it must give identical facts and notes. Checked on
//! every corpus log (from the tarballs of `fixtures/corpus/`), every
//! build-log and output-log fixture input, synthetic logs for each ending,
//! and generated log-like input.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use kcidb_harvest_parsers::facts::{Fact, Note};
use kcidb_harvest_parsers::ktest_log::Framing;
use kcidb_harvest_parsers::logscan::{scan, LineSink};
use proptest::prelude::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

type Out = (Vec<Fact>, Vec<Note>);

fn out(f: Framing) -> Out {
    let facts = f.into_facts();
    (facts.items().to_vec(), facts.notes)
}

/// Reference: every line through `LineSink::line` (a trailing piece without
/// `\n` is a line too, as `scan` treats it).
fn per_line(log: &[u8]) -> Out {
    let mut f = Framing::new("log");
    let mut n = 0u64;
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', log) {
        n += 1;
        let l = &log[start..nl];
        f.line(n, l.strip_suffix(b"\r").unwrap_or(l));
        start = nl + 1;
    }
    if start < log.len() {
        let l = &log[start..];
        f.line(n + 1, l.strip_suffix(b"\r").unwrap_or(l));
    }
    f.finish();
    out(f)
}

/// Fast path: the whole lines in chunks ending after the line indices of
/// `cuts` (sorted, deduplicated by the caller or not), then the tail.
fn bulk(log: &[u8], cuts: &[usize]) -> Out {
    let ends: Vec<usize> = memchr::memchr_iter(b'\n', log).map(|p| p + 1).collect();
    let mut f = Framing::new("log");
    let mut start = 0usize;
    let mut lineno = 1u64;
    let mut bounds: Vec<usize> = cuts.iter().filter_map(|&c| ends.get(c).copied()).collect();
    bounds.extend(ends.last().copied());
    bounds.sort_unstable();
    bounds.dedup();
    for b in bounds {
        let got = f.lines(lineno, &log[start..b]);
        let want = memchr::memchr_iter(b'\n', &log[start..b]).count() as u64;
        assert_eq!(got, want, "line count of a chunk");
        lineno += got;
        start = b;
    }
    if start < log.len() {
        let l = &log[start..];
        f.line(lineno, l.strip_suffix(b"\r").unwrap_or(l));
    }
    f.finish();
    out(f)
}

/// Through `scan` (its own 256 KiB reads).
fn scanned(log: &[u8]) -> Out {
    let mut f = Framing::new("log");
    scan("log", log, &mut [&mut f]).expect("scan");
    out(f)
}

/// Small deterministic generator for chunk boundaries.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % bound.max(1)
    }
}

/// Per line, in chunks of several fixed and random sizes (including a cut
/// right after the first line and one-line chunks), and via `scan`: all equal.
fn assert_same(name: &str, log: &[u8]) {
    let want = per_line(log);
    let lines = memchr::memchr_iter(b'\n', log).count();
    let mut splits: Vec<Vec<usize>> = vec![
        vec![],
        vec![0],
        (0..lines).collect(),
        (0..lines).step_by(2).collect(),
        (0..lines).step_by(7).collect(),
        (0..lines).step_by(1000).collect(),
    ];
    let mut rng = Lcg(lines as u64 ^ 0x5eed);
    for _ in 0..4 {
        let mut v: Vec<usize> = (0..rng.next(lines.min(200)) + 1)
            .map(|_| rng.next(lines))
            .collect();
        v.sort_unstable();
        splits.push(v);
    }
    for cuts in &splits {
        let got = bulk(log, cuts);
        assert!(
            got == want,
            "{name}: chunks after lines {:?}... differ\nbulk: {got:?}\nper line: {want:?}",
            &cuts[..cuts.len().min(10)]
        );
    }
    assert!(scanned(log) == want, "{name}: scan differs from per line");
}

fn corpus_logs() -> Vec<(String, Vec<u8>)> {
    let dir = repo().join("fixtures/corpus");
    let mut tarballs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .collect();
    tarballs.sort();
    let mut logs = Vec::new();
    for path in tarballs {
        let file = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut archive = tar::Archive::new(GzDecoder::new(file));
        for entry in archive.entries().expect("tar entries") {
            let mut entry = entry.expect("tar entry");
            let name = entry
                .path()
                .expect("entry path")
                .to_string_lossy()
                .into_owned();
            if name.ends_with("/linux/log") || name.ends_with("/output_log") {
                let mut buf = Vec::new();
                entry.read_to_end(&mut buf).expect("read entry");
                logs.push((format!("{}:{name}", path.display()), buf));
            }
        }
    }
    logs
}

#[test]
fn corpus_logs_bulk_equal_line_by_line() {
    let logs = corpus_logs();
    // Five cases, each with a linux/log and an output_log at least.
    assert!(logs.len() >= 10, "only {} corpus logs", logs.len());
    let mut with_runs = 0;
    for (name, log) in &logs {
        assert_same(name, log);
        if per_line(log)
            .0
            .iter()
            .any(|f| f.key == kcidb_harvest_parsers::keys::KTEST_RUNS)
        {
            with_runs += 1;
        }
    }
    assert!(with_runs >= 5, "corpus logs with a ktest run: {with_runs}");
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else if p.is_file() && p.file_name().is_some_and(|n| n != "expected.json") {
            out.push(p);
        }
    }
}

#[test]
fn fixture_inputs_bulk_equal_line_by_line() {
    let mut files = Vec::new();
    for kind in ["build-log", "output-log"] {
        files_under(&repo().join("fixtures/parsers").join(kind), &mut files);
    }
    files.sort();
    assert!(files.len() >= 20, "only {} fixture inputs", files.len());
    for p in &files {
        let raw = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let bytes = if p.extension().is_some_and(|x| x == "gz") {
            let mut v = Vec::new();
            GzDecoder::new(&raw[..])
                .read_to_end(&mut v)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            v
        } else {
            raw
        };
        assert_same(&p.display().to_string(), &bytes);
    }
}

const HEAD: &str = "\n\nSTARTING AUTOMATED TESTS\n\nDEFAULT OPTIONS:\nBUILD_OPTIONS = -j2\n\
BUILD_TYPE = tinyconfig\nMAKE_CMD = make\nOUTPUT_DIR = /o\n\n\
TEST 1 OPTIONS\nTEST_TYPE[1] = build\n\n\nRUNNING TEST 1 of 1 with option build tinyconfig\n\n";

const BUILD: &str = "make O=/o mrproper ... make[1]: Entering directory '/o'\n\
make[1]: Leaving directory '/o'\n[3 seconds] SUCCESS\n\
make O=/o tinyconfig ... make[1]: Entering directory '/o'\n#\n# configuration written\n#\n\
[1 second] SUCCESS\nmake O=/o -j2 ... make[1]: Entering directory '/o'\n  CC      a.o\n\
../a.c:1:1: warning: x [-Wy]\n  LD      vmlinux\n  SUCCESS in output\nFAILED! bare output\n\
make[1]: Leaving directory '/o'\n[40 seconds] SUCCESS\n";

fn synthetic() -> Vec<(&'static str, String)> {
    let pass = format!(
        "{HEAD}{BUILD}\nBuild time:   42 seconds\n\n*** WARNINGS found in build: 1 ***\n\n\
*******************************************\nKTEST RESULT: TEST 1 SUCCESS!!!!   **\n\
*******************************************\n\n    1 of 1 tests were successful\n\n"
    );
    let die0 = format!(
        "{HEAD}make O=/o -j2 ... x\n  CC a.o\nmake: *** [all] Error 2\n[5 seconds] FAILED!\n\
%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%\n%%%%%%%%%%%%%%%%%%%%%%%%%%%%\n\
KTEST RESULT: TEST 1 Failed: failed build\n  more reason\n\n  second reason line\n\
%%%%%%%%%%%%%%%%%%%%%%%%%%%%\n\n    0 of 1 tests were successful\n\n"
    );
    let reason_long = format!(
        "{HEAD}KTEST RESULT: TEST 1 (named test) Failed: r\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n\
make O=/o -j2 ... [1 second] SUCCESS\n"
    );
    let critical_old = format!(
        "{HEAD}make O=/o -j2 ... x\n  CC a.o\nglued[12 seconds] FAILED!\n\
CRITICAL FAILURE... failed build\n"
    );
    let critical_new = format!(
        "{HEAD}make O=/o -j2 ... x\n[12 seconds] FAILED!\n\
CRITICAL FAILURE... [TEST 1] failed build\n"
    );
    let ktest_2010 = "\n\nSTARTING AUTOMATED TESTS\n\nDEFAULT OPTIONS:\nBUILD_TYPE = allmodconfig\n\n\
RUNNING TEST 1 of 1 with option build allmodconfig\n\n\
make O=/o mrproper ... make[1]: Entering\nmake[1]: Leaving\nSUCCESS\n\
mv a b ... SUCCESS\nmake O=/o -j4 ... make[1]: Entering\n  CC foo.o\nmake: *** [all] Error 2\nFAILED!\n\
CRITICAL FAILURE... failed build\n"
        .to_string();
    let rerun = format!(
        "{HEAD}make O=/o -j2 ... x\n[5 seconds] FAILED!\nCRITICAL FAILURE... [TEST 1] failed build\n{pass}"
    );
    let killed = format!("{HEAD}make O=/o -j2 ... make[1]: x\n  CC a.o\n  CC b.o");
    let killed_nl = format!("{HEAD}make O=/o -j2 ... make[1]: x\n  CC a.o\n\n\n");
    let killed_no_output = format!("{HEAD}make O=/o -j2 ... ");
    let sigint = format!(
        "{HEAD}make O=/o -j2 ... a\n\nCaught Sig Int, test interrupted: Interrupted system call\n"
    );
    let timeout = format!(
        "{HEAD}make O=/o -j2 ... a\nbHit timeout of 5, killing process\n[5 seconds] FAILED!\n\
Hit timeout of 9, killing process\n"
    );
    let unrecognised = format!("{HEAD}make O=/o -j2 ... a\n  CC x.o\nBuild time:   3 fortnights\n");
    let crlf = pass.replace('\n', "\r\n");
    let plain = "  CC foo.o\nmake ... x\nKTEST RESULT: TEST 1 SUCCESS!!!!\n  LD vmlinux\n \n\t\n"
        .to_string();
    let blank_tail = format!("{pass}   \n\r\n\n");
    let options_only =
        "STARTING AUTOMATED TESTS\nDEFAULT OPTIONS:\nA = 1\nB[2] = x\nTEST 2 OPTIONS\n".to_string();
    vec![
        ("pass", pass),
        ("die-on-failure-0", die0),
        ("failed-reason-long", reason_long),
        ("critical-old", critical_old),
        ("critical-new", critical_new),
        ("ktest-2010", ktest_2010),
        ("appended-rerun", rerun),
        ("killed", killed),
        ("killed-newline", killed_nl),
        ("killed-no-output", killed_no_output),
        ("sigint", sigint),
        ("timeout", timeout),
        ("unrecognised", unrecognised),
        ("crlf", crlf),
        ("plain", plain),
        ("blank-tail", blank_tail),
        ("options-only", options_only),
    ]
}

#[test]
fn synthetic_endings_bulk_equal_line_by_line() {
    for (name, log) in synthetic() {
        assert_same(name, log.as_bytes());
    }
    // The cases are not vacuous: facts differ between endings.
    let all = synthetic();
    let pass = per_line(all[0].1.as_bytes());
    let killed = per_line(all[7].1.as_bytes());
    assert!(pass
        .0
        .iter()
        .any(|f| f.key == kcidb_harvest_parsers::keys::KTEST_SUCCESS_BANNER));
    assert!(killed
        .0
        .iter()
        .any(|f| f.key == kcidb_harvest_parsers::keys::KTEST_UNFINISHED));
}

#[test]
fn many_chunks_at_every_boundary() {
    // Every single cut position, on a log with every kind of framing line.
    for (name, log) in synthetic() {
        let lines = log.bytes().filter(|&b| b == b'\n').count();
        let want = per_line(log.as_bytes());
        for c in 0..lines {
            assert!(
                bulk(log.as_bytes(), &[c]) == want,
                "{name}: cut after line {c}"
            );
        }
    }
}

fn line_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("STARTING AUTOMATED TESTS".to_string()),
        Just("DEFAULT OPTIONS:".to_string()),
        Just(String::new()),
        Just("   ".to_string()),
        Just("%%%%%%%%".to_string()),
        Just("  CC      kernel/fork.o".to_string()),
        Just("make[1]: Entering directory '/o'".to_string()),
        Just("../a.c:1:2: warning: unused [-Wunused]".to_string()),
        "[A-Z_\\[\\]0-9]{0,6} = .{0,6}",
        "TEST [0-9] OPTIONS",
        "RUNNING TEST [0-9 ]{0,3}of[0-9 (a)]{0,6}with option.{0,4}",
        "[a-z =/]{0,8} \\.\\.\\. ?[a-z\\[\\]0-9 ]{0,12}",
        "[a-z ]{0,4}\\[[0-9]{0,3} seconds?\\] (SUCCESS|FAILED!) ?",
        "(SUCCESS|FAILED!)",
        "KTEST RESULT: TEST [0-9]{0,2}[ (x)]{0,4}(SUCCESS|Failed:).{0,3}",
        "CRITICAL FAILURE\\.\\.\\. (\\[TEST [0-9]{0,3}\\] )?.{0,4}",
        "Caught Sig Int.{0,4}",
        "[a-z]{0,3}Hit timeout of [0-9]{1,3}(, killing process)?",
        "Build time: [0-9 a-z]{0,20}",
        "\\*\\*\\* WARNINGS? found in build: [0-9]{0,3} \\*\\*\\*",
        "    [0-9]{0,3} of [0-9]{0,3} tests were successful",
        "[ a-zA-Z.!]{0,12}",
    ]
}

proptest! {
    #[test]
    fn generated_logs_bulk_equal_line_by_line(
        lines in proptest::collection::vec(line_strategy(), 0..80),
        cuts in proptest::collection::vec(0usize..80, 0..12),
        crlf in any::<bool>(),
        final_newline in any::<bool>(),
    ) {
        let sep = if crlf { "\r\n" } else { "\n" };
        let mut log = lines.join(sep);
        if final_newline && !log.is_empty() {
            log.push_str(sep);
        }
        let want = per_line(log.as_bytes());
        let got = bulk(log.as_bytes(), &cuts);
        prop_assert!(got == want, "bulk {:?}\nper line {:?}", got, want);
        // `scan` refuses NUL bytes (binary input); the sink itself does not.
        if !log.contains('\0') {
            prop_assert!(scanned(log.as_bytes()) == want);
        }
    }
}
