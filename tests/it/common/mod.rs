//! Test servers that speak the real protocols (KCIDB REST, kernelci-storage)
//! over loopback, and helpers shared by the delivery tests.
#![allow(dead_code)]

pub mod http;
pub mod jwt;
pub mod rest;
pub mod storage;

use std::io::Read;
use std::path::{Path, PathBuf};

use kcidb_harvest::cli::DeliveryArgs;
use kcidb_harvest::kcidb::{Build, Checkout, Report, Status};
use kcidb_harvest::pipeline::{Artifact, ArtifactKind, DirYield as Harvested};
use kcidb_harvest::settings::{resolve_in, Environment, Settings};
use serde_json::Value;

pub use kcidb_harvest_parsers::digest::sha256_hex;

/// A kernel-build-log-looking text of about `size` bytes, different per seed.
pub fn log_text(seed: &str, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 100);
    let mut i = 0u64;
    let mut x = u64::from_str_radix(&sha256_hex(seed.as_bytes())[..16], 16).unwrap_or(7) | 1;
    while out.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let line = match x % 7 {
            0 => format!(
                "  CC [M]  drivers/net/ethernet/intel/e1000e/mod{}.o\n",
                x % 997
            ),
            1 => format!("  LD [M]  fs/ext4/ext4-{}.ko\n", x % 113),
            2 => format!(
                "drivers/gpu/drm/x{}.c:{}:{}: warning: unused variable 'ret' [-Wunused-variable]\n",
                x % 53,
                x % 2000,
                x % 80
            ),
            3 => format!("  AR      lib/lib{}.a\n", x % 31),
            4 => format!("  GEN     Makefile seed={seed} n={i}\n"),
            5 => "  CHK     include/generated/compile.h\n".to_string(),
            _ => format!("  CC      kernel/sched/core{}.o\n", x % 401),
        };
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out
}

/// A harvested directory with a build log, an output_log and a .config on
/// disk, and a report holding one checkout and one build.
pub fn harvested(
    root: &Path,
    name: &str,
    origin: &str,
    checkout_seed: &str,
    log_size: usize,
) -> Harvested {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("linux")).expect("mkdir");
    let log = log_text(name, log_size);
    std::fs::write(dir.join("linux/log"), &log).expect("write log");
    std::fs::write(
        dir.join("output_log"),
        format!("Building {name}\nWarnings = 25\nErrors = 0\nBuild of 6.1 was good\n"),
    )
    .expect("write output_log");
    std::fs::write(
        dir.join("linux/.config"),
        format!("#\n# Linux/x86 6.1.120 Kernel Configuration\n#\nCONFIG_64BIT=y\n# {name}\n"),
    )
    .expect("write .config");
    let checkout_id = format!("{origin}:ck-{}", sha256_hex(checkout_seed.as_bytes()));
    let build_id = format!(
        "{origin}:b-{}",
        sha256_hex(
            format!("{checkout_id}|x86_64|allmodconfig|gcc|{}", sha256_hex(&log)).as_bytes()
        )
    );
    let report = Report {
        checkouts: vec![Checkout {
            id: checkout_id.clone(),
            origin: origin.to_string(),
            tree_name: Some("stable-rc".into()),
            git_repository_url: Some(
                "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git".into(),
            ),
            git_commit_hash: Some(sha256_hex(checkout_seed.as_bytes())[..40].to_string()),
            git_repository_branch: Some("linux-6.1.y".into()),
            patchset_hash: Some(String::new()),
            start_time: Some("2026-11-28T23:34:01+00:00".into()),
            valid: Some(true),
            ..Default::default()
        }],
        builds: vec![Build {
            id: build_id,
            origin: origin.to_string(),
            checkout_id,
            start_time: Some("2026-11-28T23:34:01+00:00".into()),
            duration: Some(640.into()),
            architecture: Some("x86_64".into()),
            compiler: Some("gcc (Debian 12.2.0-14+deb12u1) 12.2.0".into()),
            config_name: Some("allmodconfig".into()),
            status: Some(Status::Pass),
            ..Default::default()
        }],
        ..Default::default()
    };
    let gate = kcidb_harvest_parsers::Input::new(&dir);
    let file = |rel: &str| gate.file(rel).expect("fixture file inside the directory");
    Harvested {
        dir: dir.clone(),
        layout: &kcidb_harvest::layout::LAYOUTS[0],
        report,
        status: Status::Pass,
        status_reason: "success banner".into(),
        provenance: Vec::new(),
        results: Vec::new(),
        diagnostics: Vec::new(),
        release: None,
        changes: Vec::new(),
        artifacts: vec![
            Artifact {
                kind: ArtifactKind::BuildLog,
                file: file("linux/log"),
                upload_name: "build.log.gz".into(),
                resource_name: "build_log".into(),
            },
            Artifact {
                kind: ArtifactKind::OutputLog,
                file: file("output_log"),
                upload_name: "output_log.gz".into(),
                resource_name: "output_log".into(),
            },
            Artifact {
                kind: ArtifactKind::Config,
                file: file("linux/.config"),
                upload_name: "config.gz".into(),
                resource_name: "config".into(),
            },
        ],
        line: "Build of 6.1 was good (W:25 E:0 640 seconds)".into(),
        warnings: Vec::new(),
        commit_known: true,
        compressed: Vec::new(),
    }
}

/// Delivery flags for tests: fast retries (50 ms, doubling) for at most
/// `retry_for`, a 1 s request timeout.
pub fn args(
    rest: Option<(&str, &str)>,
    storage: Option<(&str, &str)>,
    spool: &Path,
    retry_for: &str,
) -> DeliveryArgs {
    DeliveryArgs {
        kcidb_rest_url: rest.map(|r| r.0.to_string()),
        kcidb_token: rest.map(|r| kcidb_harvest::settings::Secret::new(r.1)),
        storage_url: storage.map(|s| s.0.to_string()),
        storage_token: storage.map(|s| kcidb_harvest::settings::Secret::new(s.1)),
        spool: Some(spool.to_path_buf()),
        timeout: "1s".into(),
        retry_for: Some(retry_for.into()),
        retry_delay: Some("50ms".into()),
        max_objects: 500,
        max_bytes: 16 << 20,
        ..Default::default()
    }
}

/// Settings from flags only (an empty environment, no kci-dev.toml).
pub fn settings(args: &DeliveryArgs, cwd: &Path) -> Settings {
    resolve_in(args, &Environment::with_vars([], cwd, None)).expect("settings resolve")
}

pub fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

/// Every regular file below `root`.
pub fn files_below(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() => out.push(p),
                _ => {}
            }
        }
    }
    out
}

/// Fail if any secret (or its signature part) occurs in these texts or in
/// any file below these roots.
pub fn assert_secret_absent(secrets: &[&str], texts: &[(&str, &[u8])], roots: &[&Path]) {
    let mut needles: Vec<Vec<u8>> = Vec::new();
    for s in secrets {
        needles.push(s.as_bytes().to_vec());
        if let Some(sig) = s.rsplit('.').next() {
            if sig.len() >= 16 {
                needles.push(sig.as_bytes().to_vec());
            }
        }
    }
    let contains = |hay: &[u8], n: &[u8]| hay.windows(n.len()).any(|w| w == n);
    for (what, text) in texts {
        for n in &needles {
            assert!(
                !contains(text, n),
                "a token appears in {what}: {}",
                String::from_utf8_lossy(text)
            );
        }
    }
    for root in roots {
        for f in files_below(root) {
            let data = std::fs::read(&f).unwrap_or_default();
            for n in &needles {
                assert!(!contains(&data, n), "a token appears in {}", f.display());
            }
        }
    }
}

/// Unpack `fixtures/corpus/<case>.tar.gz` into `into`; the case directory.
pub fn unpack_case(case: &str, into: &Path) -> PathBuf {
    let tgz = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/corpus")
        .join(format!("{case}.tar.gz"));
    let f = std::fs::File::open(&tgz).expect("corpus tarball");
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    ar.set_preserve_mtime(true);
    ar.unpack(into).expect("unpack corpus case");
    into.join(case)
}

/// A command's exit code, stdout and stderr, for assertion messages.
pub fn text(o: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The binary, with a clean environment: no KCIDB/storage variables, `HOME`
/// and the working directory in `home` (so no kci-dev.toml is found).
pub fn bin(home: &Path) -> assert_cmd::Command {
    let mut c = harvester();
    // the default history: `$HOME/.local/share/kcidb-harvest/history.sqlite`
    c.env("HOME", home)
        .env_remove("KCIDB_HARVEST_HISTORY")
        .current_dir(home);
    c
}

/// A spool holding one validated report per harvested directory, written
/// oldest first.
pub fn fill_spool(spool: &Path, hs: &[Harvested]) -> Vec<PathBuf> {
    let s = kcidb_harvest::spool::Spool::new(spool);
    hs.iter()
        .map(|h| {
            let v = kcidb_harvest::kcidb::validate_report(h.report.clone()).expect("valid report");
            s.write(&v).expect("spool write")
        })
        .collect()
}

// ---- harvest-side helpers (corpus, layouts, dry runs) ----

pub const CASES: &[&str] = &[
    "fail-compile",
    "fail-patch",
    "pass-queue",
    "pass-tiny",
    "warn",
];

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn truth(case: &str) -> Value {
    let p = repo()
        .join("fixtures/corpus")
        .join(format!("{case}.truth.json"));
    serde_json::from_str(&std::fs::read_to_string(p).expect("truth file")).expect("truth json")
}

/// The binary with no KCIDB/storage environment (cwd and HOME inherited),
/// and a history of its own (a new file under the target directory: a
/// test never reads or writes the user's history, nor another test's).
pub fn harvester() -> assert_cmd::Command {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // (the examples that share this module have no CARGO_TARGET_TMPDIR)
    let tmp = option_env!("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let history = tmp
        .join("kcidb-harvest-test-history")
        .join(format!("{}-{n}.sqlite", std::process::id()));
    let mut c = assert_cmd::Command::cargo_bin("kcidb-harvest").expect("binary built");
    c.env("KCIDB_HARVEST_HISTORY", history)
        .env_remove("XDG_DATA_HOME");
    c.env_remove("KCIDB_REST")
        .env_remove("KCI_STORAGE_URL")
        .env_remove("KCI_STORAGE_TOKEN")
        .env_remove("KCIDB_HARVEST_ORIGIN")
        .env_remove("KCIDB_HARVEST_SPOOL")
        .env_remove("KCIDB_HARVEST_LOG")
        .env("NO_COLOR", "1");
    c
}

/// `kcidb-harvest DIR --origin gregkh --dry-run` → the report JSON.
pub fn dry_run(dir: &Path) -> Value {
    serde_json::from_slice(&dry_run_bytes(dir)).expect("stdout is one JSON document")
}

/// The report a dry run of `dir` prints, byte for byte.
pub fn dry_run_bytes(dir: &Path) -> Vec<u8> {
    let out = harvester()
        .arg(dir)
        .args(["--origin", "gregkh", "--dry-run", "--assume-finished"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "dry-run of {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `got` equals the golden at `path` byte for byte; `UPDATE_GOLDEN=1`
/// writes it instead (review the diff). On a difference the message
/// names the first line that differs.
pub fn assert_golden(path: &Path, got: &[u8]) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, got).expect("write golden");
        return;
    }
    let want = std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (UPDATE_GOLDEN=1 writes it from this run)",
            path.display()
        )
    });
    if want == got {
        return;
    }
    let (w, g) = (String::from_utf8_lossy(&want), String::from_utf8_lossy(got));
    let at = w
        .lines()
        .zip(g.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| w.lines().count().min(g.lines().count()));
    panic!(
        "{}: the report differs from its golden from line {}:\n  golden: {}\n  now:    {}\n(UPDATE_GOLDEN=1 rewrites it; review the diff)",
        path.display(),
        at + 1,
        w.lines().nth(at).unwrap_or("<end>"),
        g.lines().nth(at).unwrap_or("<end>"),
    );
}

/// Read one member of a corpus tarball (e.g. `warn/linux/log`).
pub fn corpus_file(case: &str, member: &str) -> Vec<u8> {
    let tgz = repo()
        .join("fixtures/corpus")
        .join(format!("{case}.tar.gz"));
    let f = std::fs::File::open(&tgz).expect("corpus tarball");
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let want = format!("{case}/{member}");
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let path = e
            .path()
            .expect("path")
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        if path == want {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut v).expect("read member");
            return v;
        }
    }
    panic!("{want} not in {}", tgz.display());
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

pub fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).expect("mkdir");
    }
    std::fs::write(path, bytes).expect("write");
}

/// Set every file's mtime below `dir` to an hour ago (a finished run).
pub fn age(dir: &Path) {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for e in walkdir::WalkDir::new(dir) {
        let e = e.expect("walk");
        if e.file_type().is_file() {
            let f = std::fs::File::options()
                .write(true)
                .open(e.path())
                .expect("open");
            f.set_modified(old).expect("set mtime");
        }
    }
}

/// The layouts' example directories, built from the corpus:
/// (name, expected layout id, directory).
pub fn layout_examples(root: &Path) -> Vec<(&'static str, &'static str, PathBuf)> {
    let mut v = Vec::new();

    // an old/partial copy: gzip-compressed linux/log and output_log only
    let d = root.join("partial");
    write(
        &d.join("linux/log.gz"),
        gzip(&corpus_file("pass-queue", "linux/log")),
    );
    write(
        &d.join("output_log"),
        corpus_file("pass-queue", "output_log"),
    );
    v.push(("partial", "test_stable_ssh_partial", d));

    // a plain ktest LOG_FILE directory, DIE_ON_FAILURE = 0 (ktest exits 0)
    let d = root.join("ktest-die0");
    let log = String::from_utf8(corpus_file("fail-compile", "linux/log")).expect("utf8 log");
    let log = log.replace("DIE_ON_FAILURE = 1", "DIE_ON_FAILURE = 0");
    let cut = log.rfind("CRITICAL FAILURE").expect("critical line");
    let banner = "%".repeat(37);
    let log = format!(
        "{}FAILED\n\n{banner}\n{banner}\nKTEST RESULT: TEST 1 Failed: failed build\n{banner}\n{banner}\n\n    0 of 1 tests were successful\n\n",
        &log[..cut]
    );
    write(&d.join("ktest.log"), log);
    write(
        &d.join("ktest.conf"),
        corpus_file("fail-compile", "ktest.conf"),
    );
    v.push(("ktest-die0", "ktest", d));

    // a tuxmake output directory
    let d = root.join("tuxmake");
    let mut log = b"tuxmake --target-arch=x86_64 --kconfig=tinyconfig --toolchain=gcc-12 --wrapper=ccache config default kernel\n".to_vec();
    log.extend_from_slice(&corpus_file("fail-compile", "buildlog-bob"));
    write(&d.join("build.log"), log);
    write(
        &d.join("metadata.json"),
        r#"{"results": {"status": "FAIL", "errors": 1, "warnings": 0, "duration": {"build": 14.2}},
  "build": {"target_arch": "x86_64", "toolchain": "gcc-12", "kconfig": "tinyconfig",
            "reproducer_cmdline": ["tuxmake", "--target-arch=x86_64", "--kconfig=tinyconfig", "--toolchain=gcc-12"]},
  "compiler": {"name": "gcc", "version_full": "gcc (Debian 12.2.0-14+deb12u1) 12.2.0"},
  "git": {"git_url": "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git",
          "git_branch": "linux-6.1.y", "git_commit": "19463f7e3ad6bee028585a29c8f9bd10fc6bcab6",
          "git_describe": "v6.1.192"},
  "source": {"kernelrelease": "6.1.192"}, "tuxmake": {"version": "1.43.0"}}
"#,
    );
    v.push(("tuxmake", "tuxmake", d));

    // a bare build log with bash `time`, commit.txt and start_time.txt
    let d = root.join("bare");
    write(&d.join("build.log"), corpus_file("warn", "buildlog-bob"));
    write(&d.join("time.txt"), corpus_file("warn", "time.txt"));
    write(&d.join("commit.txt"), corpus_file("warn", "commit.txt"));
    write(
        &d.join("start_time.txt"),
        corpus_file("warn", "start_time.epoch"),
    );
    v.push(("bare", "build_log", d));

    for (_, _, d) in &v {
        age(d);
    }
    v
}

/// Copy a directory tree (regular files and directories).
pub fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.expect("walk");
        let dest = to.join(e.path().strip_prefix(from).expect("below the source"));
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else if e.file_type().is_file() {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

/// Append `line` to the directory's `linux/log` (another run id).
pub fn append_to_log(dir: &Path, line: &str) {
    let log = dir.join("linux/log");
    let mut bytes = std::fs::read(&log).expect("read log");
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    std::fs::write(&log, bytes).expect("write log");
}
