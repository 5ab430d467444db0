//! `contrib/test_stable_ssh`: the patches apply to the stock `run_test.sh`
//! and to the generator's heredoc and agree with each other, the patched
//! script runs end to end in a sandbox (fake stable mirror, one-patch stable
//! queue, a fake `ktest.pl` replaying the `pass-tiny` corpus run), the hook
//! harvests before cleaning up or keeps the directory, and `kcidb-harvest`
//! reads what the patched script leaves.
//!
//! Hermetic: temp dirs only, no network, `HOME` in the sandbox, no system git
//! config, a scrubbed environment for every command.  Needs `bash`, `git` and
//! `tar`, like the script itself.

use crate::common;

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// Placeholders of `run_test.sh.stock` (what the generator fills in).
const STOCK_REMOTE_DIR: &str = "/dev/shm/stable_test_6.1_XXXXX";
const STOCK_STABLE_GIT: &str = "/home/bob/linux/stable/";
/// REMOTE_DIR of the `pass-tiny` corpus run, rewritten into the sandbox's.
const CORPUS_REMOTE_DIR: &str = "/dev/shm/stable_test_6.1_c7IRg";
const ORIGIN: &str = "gregkh";

fn contrib() -> PathBuf {
    common::repo().join("contrib/test_stable_ssh")
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

fn write(p: &Path, text: &str) {
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
    }
    fs::write(p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
}

fn write_exec(p: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    write(p, text);
    fs::set_permissions(p, fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", p.display()));
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

fn output(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs `cmd`, asserts it succeeded, returns its trimmed stdout.
fn ok(cmd: &mut Command) -> String {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Epoch seconds of an RFC 3339 JSON string.
fn rfc3339_epoch(v: &Value) -> i64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{v} is not a time string"));
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s:?} is not RFC 3339: {e}"))
        .timestamp()
}

fn is_sha1(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A temp dir, and commands that only see it.
struct Sandbox {
    tmp: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let sb = Sandbox { tmp };
        for d in ["home", "stub"] {
            fs::create_dir_all(sb.path(d)).expect("sandbox dirs");
        }
        sb
    }

    fn root(&self) -> &Path {
        self.tmp.path()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    /// A command with a scrubbed environment: sandbox HOME, stub dir first in
    /// PATH, no system or global git config, git never looks above the
    /// sandbox for a repository.
    fn cmd(&self, program: impl AsRef<OsStr>) -> Command {
        let mut path = std::ffi::OsString::from(self.path("stub"));
        if let Some(p) = std::env::var_os("PATH") {
            path.push(":");
            path.push(p);
        }
        let mut c = Command::new(program);
        c.env_clear()
            .env("PATH", path)
            .env("HOME", self.path("home"))
            .env("LC_ALL", "C")
            .env("TZ", "UTC")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CEILING_DIRECTORIES", self.root())
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "protocol.file.allow")
            .env("GIT_CONFIG_VALUE_0", "always")
            .current_dir(self.root());
        c
    }

    fn git(&self, dir: &Path, args: &[&str]) -> String {
        ok(self
            .cmd("git")
            .current_dir(dir)
            .args([
                "-c",
                "user.name=Test Maintainer",
                "-c",
                "user.email=maint@example.org",
            ])
            .args(args)
            .env("GIT_AUTHOR_DATE", "1795000000 +0000")
            .env("GIT_COMMITTER_DATE", "1795000000 +0000"))
    }

    /// `git apply` each patch (relative to contrib/) in `dir`, like `patch -p1`.
    fn apply(&self, dir: &Path, patches: &[&str]) {
        for p in patches {
            ok(self
                .cmd("git")
                .current_dir(dir)
                .args(["apply", "-p1", "--verbose"])
                .arg(contrib().join(p)));
        }
    }

    /// `git apply` a patch given as text in `dir`.
    fn apply_text(&self, dir: &Path, patch: &str) {
        use std::io::Write;
        let mut child = self
            .cmd("git")
            .current_dir(dir)
            .args(["apply", "-p1", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn git apply");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(patch.as_bytes())
            .expect("write the patch to git apply");
        let out = child.wait_with_output().expect("git apply");
        assert!(
            out.status.success(),
            "git apply in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The stock run_test.sh with `patches` applied (in its own work dir).
    fn patched_script(&self, name: &str, patches: &[&str]) -> String {
        let dir = self.path(&format!("patch-{name}"));
        fs::create_dir_all(&dir).expect("patch dir");
        fs::copy(contrib().join("run_test.sh.stock"), dir.join("run_test.sh"))
            .expect("copy stock run_test.sh");
        self.apply(&dir, patches);
        ok(self.cmd("bash").arg("-n").arg(dir.join("run_test.sh")));
        read(&dir.join("run_test.sh"))
    }

    /// What the generator writes with the (possibly patched) excerpt.
    fn generated(&self, name: &str, patches: &[&str]) -> String {
        let dir = self.path(&format!("gen-{name}"));
        let script = dir.join("scripts/test_stable/test_stable_ssh");
        fs::create_dir_all(script.parent().expect("parent")).expect("gen dir");
        fs::copy(contrib().join("test_stable_ssh.excerpt"), &script).expect("copy excerpt");
        self.apply(&dir, patches);
        let out = dir.join("out");
        fs::create_dir_all(&out).expect("out dir");
        ok(self.cmd("bash").arg(&script).arg(&out));
        read(&out.join("run_test.sh"))
    }
}

#[test]
fn patches_apply_to_the_stock_script_and_to_the_generator() {
    let sb = Sandbox::new();
    let stock = read(&contrib().join("run_test.sh.stock"));
    ok(sb
        .cmd("bash")
        .arg("-n")
        .arg(contrib().join("run_test.sh.stock")));
    ok(sb
        .cmd("bash")
        .arg("-n")
        .arg(contrib().join("harvest-hook.sh")));

    // The excerpt of the generator writes exactly the stock shape...
    assert_eq!(sb.generated("stock", &[]), stock);

    // ...and, patched, exactly what the run_test.sh patches describe.
    let patched = sb.patched_script("base", &["run_test.sh.patch"]);
    assert_eq!(sb.generated("base", &["test_stable_ssh.patch"]), patched);
    let timed = sb.patched_script("time", &["run_test.sh.patch", "run_test.sh-time.patch"]);
    assert_eq!(
        sb.generated(
            "time",
            &["test_stable_ssh.patch", "test_stable_ssh-time.patch"]
        ),
        timed
    );

    // Small and additive: the stock flow is all still there.
    for line in [
        "git fetch --all",
        "git quiltimport --patches patches",
        "TIME=$(date +%s)",
        "../ktest.pl ../ktest.conf",
        "mutt -s \"${SUBJECT}\" -a linux/log -- gregkh@kernel.org < output_log",
        "rm -rf /dev/shm/stable_test_6.1_XXXXX",
    ] {
        assert!(
            patched.lines().any(|l| l.trim_start_matches('\t') == line),
            "patched script lost {line:?}"
        );
    }
    let stock_lines: Vec<&str> = stock.lines().collect();
    let removed: Vec<&&str> = stock_lines
        .iter()
        .filter(|l| !patched.lines().any(|p| p == **l))
        .collect();
    assert_eq!(
        removed,
        [
            &"# now that we are done, clean up after ourselves",
            &"rm -rf /dev/shm/stable_test_6.1_XXXXX"
        ],
        "the patch should only add lines (and indent the final rm -rf)"
    );
    let added = patched.lines().count() - stock_lines.len();
    assert!(added <= 12, "{added} lines added: keep the patch small");
    // commit.txt before the queue, start_time.txt right after TIME=.
    let pos = |needle: &str| {
        patched
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in the patched script"))
    };
    assert!(pos("git clone -q -s") < pos("/commit.txt"));
    assert!(pos("/commit.txt") < pos("git quiltimport"));
    assert!(pos("TIME=$(date +%s)") < pos("/start_time.txt"));
    assert!(pos("/start_time.txt") < pos("../ktest.pl ../ktest.conf"));
    assert!(pos("mutt -s") < pos("kcidb-harvest-hook"));
}

/// The directories and files of one run of the patched script.
struct Run {
    sb: Sandbox,
    remote: PathBuf,
    base_commit: String,
    /// docs/inputs.md#patchset_hash over the one-patch queue.
    patchset_hash: String,
    warnings: usize,
    errors: usize,
}

/// How a run is set up.
#[derive(Default)]
struct Setup<'a> {
    /// Patches applied to the stock script.
    patches: &'a [&'a str],
    /// Install harvest-hook.sh as ~/bin/kcidb-harvest-hook.
    hook: bool,
    /// Contents of ~/.config/kcidb-harvest/hook.conf.
    hook_conf: Option<&'a str>,
    /// A fake kcidb-harvest first in PATH exiting with this code.
    fake_harvest_exit: Option<i32>,
    /// Environment of run_test.sh (and so of the hook).
    env: &'a [(&'a str, &'a str)],
    /// Exit code of the fake ktest.pl.
    ktest_exit: i32,
}

impl Run {
    /// Builds the sandbox (mirror, queue, fixture replay, stubs) and runs the
    /// patched run_test.sh like test_stable_ssh does: in REMOTE_DIR, stdout and
    /// stderr into REMOTE_DIR/output_log.
    fn new(setup: Setup) -> (Run, u64, u64) {
        let sb = Sandbox::new();
        let remote = sb.path("shm/stable_test_6.1_AbCdE");
        fs::create_dir_all(&remote).expect("REMOTE_DIR");
        let remote_s = remote.to_str().expect("utf-8 temp path").to_string();

        // The builder's stable mirror, with an upstream so `git fetch --all`
        // has something to do, offline.
        let mirror = sb.path("mirror");
        fs::create_dir_all(&mirror).expect("mirror dir");
        sb.git(&mirror, &["init", "-q"]);
        sb.git(&mirror, &["symbolic-ref", "HEAD", "refs/heads/linux-6.1.y"]);
        write(
            &mirror.join("Makefile"),
            "# SPDX-License-Identifier: GPL-2.0\nVERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 192\nEXTRAVERSION =\nNAME = Curry Ramen\n",
        );
        write(
            &mirror.join("README"),
            "Linux kernel\nteh fake mirror\nend\n",
        );
        sb.git(&mirror, &["add", "Makefile", "README"]);
        sb.git(&mirror, &["commit", "-q", "-m", "Linux 6.1.192"]);
        sb.git(&mirror, &["tag", "v6.1.192"]);
        let base_commit = sb.git(&mirror, &["rev-parse", "HEAD"]);
        assert!(is_sha1(&base_commit), "{base_commit}");
        sb.git(
            sb.root(),
            &["clone", "-q", "--bare", "mirror", "upstream.git"],
        );
        let upstream = sb.path("upstream.git");
        sb.git(
            &mirror,
            &["remote", "add", "origin", upstream.to_str().expect("utf-8")],
        );

        // A one-patch stable queue, tarred like test_stable_ssh does.
        let queue = sb.path("queue-6.1");
        write(&queue.join("series"), "readme-fix-a-typo.patch\n");
        let patch = "From: Patch Author <author@example.org>\nSubject: README: fix a typo\n\n\
             Signed-off-by: Patch Author <author@example.org>\n---\n README | 2 +-\n\n\
             --- a/README\n+++ b/README\n@@ -1,3 +1,3 @@\n Linux kernel\n-teh fake mirror\n+the fake mirror\n end\n";
        write(&queue.join("readme-fix-a-typo.patch"), patch);
        let patchset_hash =
            common::sha256_hex(format!("{}\n", common::sha256_hex(patch.as_bytes())).as_bytes());
        ok(sb
            .cmd("tar")
            .arg("-czf")
            .arg(remote.join("stable_queue.tar.gz"))
            .arg("-C")
            .arg(&queue)
            .arg("."));

        // What ktest.pl of the pass-tiny run wrote, moved into this REMOTE_DIR.
        let fx = common::unpack_case("pass-tiny", &sb.path("fixture"));
        let relocate = |p: &Path| read(p).replace(CORPUS_REMOTE_DIR, &remote_s);
        let replay = sb.path("replay");
        let log = relocate(&fx.join("linux/log"));
        write(&replay.join("log"), &log);
        write(
            &replay.join("buildlog-bob"),
            &relocate(&fx.join("buildlog-bob")),
        );
        write(
            &remote.join("ktest.conf"),
            &relocate(&fx.join("ktest.conf")),
        );
        for f in [
            ".config",
            "localversion",
            "include/config/kernel.release",
            "include/generated/compile.h",
            "include/generated/utsrelease.h",
        ] {
            write(
                &replay.join("output").join(f),
                &read(&fx.join("linux/output").join(f)),
            );
        }
        // ktest's stdout: from the blank lines before STARTING AUTOMATED
        // TESTS to the line before the script's KTEST_RUN.
        let out_log = relocate(&fx.join("output_log"));
        let lines: Vec<&str> = out_log.lines().collect();
        let start = lines
            .iter()
            .position(|l| *l == "STARTING AUTOMATED TESTS")
            .expect("fixture output_log has ktest's banner");
        let start = if start >= 2 && lines[start - 1].is_empty() && lines[start - 2].is_empty() {
            start - 2
        } else {
            start
        };
        let end = lines
            .iter()
            .position(|l| l.starts_with("KTEST_RUN = "))
            .expect("fixture output_log has KTEST_RUN");
        write(
            &replay.join("stdout"),
            &(lines[start..end].join("\n") + "\n"),
        );
        let replay_s = replay.to_str().expect("utf-8");
        write_exec(
            &remote.join("ktest.pl"),
            &format!(
                "#!/bin/bash\n\
                 # fake ktest.pl: replays the pass-tiny run (LOG_FILE, TMP_DIR buildlog, O= tree)\n\
                 cp '{replay_s}/log' log || exit 99\n\
                 cp '{replay_s}/buildlog-bob' ../buildlog-bob || exit 99\n\
                 mkdir -p output && cp -R '{replay_s}/output/.' output/ || exit 99\n\
                 mkdir -p output/arch/x86/boot && head -c 65536 /dev/zero > output/vmlinux \
                 && : > output/arch/x86/boot/bzImage || exit 99\n\
                 cat '{replay_s}/stdout'\n\
                 exit {}\n",
                setup.ktest_exit
            ),
        );
        let warnings = log
            .lines()
            .filter(|l| l.to_lowercase().contains("warning:"))
            .count();
        let errors = log
            .lines()
            .filter(|l| l.to_lowercase().contains("error:"))
            .count();

        // Stubs: mutt records the mail, kcidb-harvest (if asked) records how
        // it was called and what it saw before the cleanup.
        let seen = sb.path("seen");
        let seen_s = seen.to_str().expect("utf-8");
        write_exec(
            &sb.path("stub/mutt"),
            &format!(
                "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{seen_s}/mutt.args'\ncat > '{seen_s}/mutt.body'\n"
            ),
        );
        fs::create_dir_all(&seen).expect("seen dir");
        if let Some(code) = setup.fake_harvest_exit {
            write_exec(
                &sb.path("stub/kcidb-harvest"),
                &format!(
                    "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{seen_s}/harvest.args'\n\
                     pwd > '{seen_s}/harvest.pwd'\n\
                     printf '%s\\n' \"$KCIDB_HARVEST_SPOOL\" > '{seen_s}/harvest.spool'\n\
                     printf '%s\\n' \"$KCIDB_REST\" > '{seen_s}/harvest.rest'\n\
                     for f in commit.txt start_time.txt output_log; do cp \"$1/$f\" '{seen_s}/' || exit 98; done\n\
                     exit {code}\n"
                ),
            );
        }
        if setup.hook {
            let hook = read(&contrib().join("harvest-hook.sh"));
            write_exec(&sb.path("home/bin/kcidb-harvest-hook"), &hook);
        }
        if let Some(conf) = setup.hook_conf {
            write(&sb.path("home/.config/kcidb-harvest/hook.conf"), conf);
        }

        // "Generate" the script: fill in REMOTE_DIR and the mirror, then
        // patch it the README's way (placeholders substituted in the patch);
        // that must be the same as patching the stock shape and generating.
        let mirror_s = format!("{}/", mirror.to_str().expect("utf-8"));
        let generate = |text: &str| {
            text.replace(STOCK_REMOTE_DIR, &remote_s)
                .replace(STOCK_STABLE_GIT, &mirror_s)
        };
        let stock = read(&contrib().join("run_test.sh.stock"));
        write_exec(&remote.join("run_test.sh"), &generate(&stock));
        for p in setup.patches {
            let patch = generate(&read(&contrib().join(p)));
            sb.apply_text(&remote, &patch);
        }
        let script = read(&remote.join("run_test.sh"));
        assert_eq!(script, generate(&sb.patched_script("run", setup.patches)));

        let out = fs::File::create(remote.join("output_log")).expect("output_log");
        let err = out.try_clone().expect("dup output_log");
        let t0 = now();
        let mut cmd = sb.cmd("bash");
        cmd.arg("./run_test.sh")
            .current_dir(&remote)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (k, v) in setup.env {
            cmd.env(k, v);
        }
        let status = cmd.status().expect("run run_test.sh");
        let t1 = now();
        assert!(status.success(), "run_test.sh ended with {status}");
        (
            Run {
                sb,
                remote,
                base_commit,
                patchset_hash,
                warnings,
                errors,
            },
            t0,
            t1,
        )
    }

    fn seen(&self, name: &str) -> String {
        read(&self.sb.path("seen").join(name))
    }

    fn hook_log(&self) -> String {
        read(&self.sb.path("home/kcidb-spool/hook.log"))
    }

    /// The end of output_log the script prints, with the replayed counts.
    fn assert_output_log(&self, output_log: &str, ktest_exit: i32) {
        let tail: Vec<&str> = output_log.lines().rev().take(5).collect();
        assert_eq!(tail[4], format!("KTEST_RUN = {ktest_exit}"), "{output_log}");
        let took = tail[3]
            .strip_prefix("Took ")
            .and_then(|s| s.strip_suffix(" seconds to build"))
            .unwrap_or_else(|| panic!("no Took line: {output_log}"));
        assert!(took.parse::<u64>().is_ok(), "{took}");
        assert_eq!(tail[2], "");
        assert_eq!(tail[1], format!("Warnings = {}", self.warnings));
        assert_eq!(tail[0], format!("Errors   = {}", self.errors));
        // The stock flow ran: the queue was unpacked and imported, ktest's
        // stdout framing is there, and the hook wrote nothing here.
        assert!(output_log.contains("./series\n"), "{output_log}");
        assert!(
            output_log.contains("\nreadme-fix-a-typo.patch\n"),
            "{output_log}"
        );
        assert!(
            output_log.contains("\nSTARTING AUTOMATED TESTS\n"),
            "{output_log}"
        );
        assert!(!output_log.contains("kcidb-harvest"), "{output_log}");
    }

    fn assert_start_time(&self, text: &str, t0: u64, t1: u64) {
        let epoch: u64 = text
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("start_time.txt {text:?}: {e}"));
        assert!(t0 <= epoch && epoch <= t1, "{epoch} not in [{t0}, {t1}]");
    }

    fn assert_mail(&self, verdict: &str) {
        let args = self.seen("mutt.args");
        let args: Vec<&str> = args.lines().collect();
        assert_eq!(args[0], "-s");
        let prefix = format!(
            "bob: Build of 6.1 {verdict} (W:{} E:{} ",
            self.warnings, self.errors
        );
        assert!(args[1].starts_with(&prefix), "{}", args[1]);
        assert_eq!(&args[2..], ["-a", "linux/log", "--", "gregkh@kernel.org"]);
    }

    /// `kcidb-harvest REMOTE_DIR --origin gregkh --dry-run --assume-finished`.
    fn harvest(&self) -> Value {
        let out = common::harvester()
            .arg(&self.remote)
            .args(["--origin", ORIGIN, "--dry-run", "--assume-finished"])
            .env("HOME", self.sb.path("home"))
            .current_dir(self.sb.root())
            .output()
            .expect("run kcidb-harvest");
        assert!(
            out.status.success(),
            "kcidb-harvest failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the dry-run prints one JSON report")
    }

    fn assert_report(&self, report: &Value) {
        let checkouts = report["checkouts"].as_array().expect("checkouts");
        let builds = report["builds"].as_array().expect("builds");
        assert_eq!(checkouts.len(), 1, "{report:#}");
        assert_eq!(builds.len(), 1, "{report:#}");
        let ck = &checkouts[0];
        assert_eq!(ck["origin"], ORIGIN);
        assert_eq!(builds[0]["origin"], ORIGIN);
        assert_eq!(builds[0]["checkout_id"], ck["id"]);
        assert_eq!(builds[0]["misc"]["source_layout"], "test_stable_ssh");
        assert_eq!(ck["git_repository_branch"], "linux-6.1.y", "{report:#}");
        assert_eq!(
            ck["git_repository_url"],
            "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git",
            "{report:#}"
        );
        // What the patched script adds, as KCIDB fields: the base commit
        // (not the quiltimport HEAD above it), and the build's start = the
        // script's TIME= in start_time.txt.
        assert_eq!(
            ck["git_commit_hash"].as_str(),
            Some(self.base_commit.as_str()),
            "{report:#}"
        );
        let linux = self.remote.join("linux");
        let head = self.sb.git(&linux, &["rev-parse", "HEAD"]);
        assert_eq!(ck["misc"]["patched_commit"].as_str(), Some(head.as_str()));
        assert_eq!(
            ck["patchset_hash"].as_str(),
            Some(self.patchset_hash.as_str())
        );
        assert_eq!(ck["valid"], true, "{report:#}");
        let start: i64 = read(&self.remote.join("start_time.txt"))
            .trim()
            .parse()
            .expect("start_time.txt is an epoch");
        assert_eq!(rfc3339_epoch(&builds[0]["start_time"]), start, "{report:#}");
        assert!(rfc3339_epoch(&ck["start_time"]) <= start, "{report:#}");
        assert_eq!(builds[0]["status"], "PASS", "{report:#}");
    }
}

#[test]
fn patched_script_keeps_remote_dir_with_commit_and_start_time() {
    let (run, t0, t1) = Run::new(Setup {
        patches: &["run_test.sh.patch"],
        hook: true,
        env: &[("KCIDB_KEEP", "all"), ("KCIDB_HARVEST", "off")],
        ..Setup::default()
    });
    let r = &run.remote;
    assert!(r.join("linux/log").is_file(), "REMOTE_DIR was not kept");

    // commit.txt: the mirror's commit, not the quiltimport HEAD above it.
    let commit = read(&r.join("commit.txt"));
    assert_eq!(commit, format!("{}\n", run.base_commit));
    let head = run.sb.git(&r.join("linux"), &["rev-parse", "HEAD"]);
    assert_ne!(head, run.base_commit, "the queue patch was not imported");
    assert_eq!(
        run.sb.git(&r.join("linux"), &["rev-parse", "HEAD~1"]),
        run.base_commit
    );

    // start_time.txt: the script's own TIME=, taken after the clone.
    let start = read(&r.join("start_time.txt"));
    run.assert_start_time(&start, t0, t1);
    let reflog = read(&r.join("linux/.git/logs/HEAD"));
    let clone_epoch: u64 = reflog
        .lines()
        .next()
        .and_then(|l| l.split('\t').next())
        .and_then(|l| l.split(' ').rev().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no clone entry in the reflog: {reflog}"));
    assert!(start.trim().parse::<u64>().expect("epoch") >= clone_epoch);

    run.assert_output_log(&read(&r.join("output_log")), 0);
    run.assert_mail("was good");
    assert!(
        !r.join("time.txt").exists(),
        "time output is the optional patch"
    );
    let log = run.hook_log();
    assert!(log.contains("not harvesting"), "{log}");
    assert!(log.contains("KCIDB_KEEP=all: keeping everything"), "{log}");

    // What the script left is enough for kcidb-harvest.
    let report = run.harvest();
    run.assert_report(&report);
}

#[test]
fn hook_runs_kcidb_harvest_on_the_finished_dir_then_removes_it() {
    let (run, t0, t1) = Run::new(Setup {
        patches: &["run_test.sh.patch"],
        hook: true,
        fake_harvest_exit: Some(0),
        // The environment wins over hook.conf; hook.conf is exported.
        hook_conf: Some(
            "KCIDB_ORIGIN=from_conf\nKCIDB_HARVEST_ARGS='--instance staging'\n\
             KCIDB_REST=https://token@kcidb.example.org\n",
        ),
        env: &[("KCIDB_ORIGIN", ORIGIN)],
        ..Setup::default()
    });
    let remote = run.remote.to_str().expect("utf-8");
    assert_eq!(
        run.seen("harvest.args"),
        format!("{remote}\n--origin\n{ORIGIN}\n--assume-finished\n--instance\nstaging\n")
    );
    assert_eq!(
        run.seen("harvest.rest"),
        "https://token@kcidb.example.org\n"
    );
    // Run from $HOME with a spool there, so nothing lands in REMOTE_DIR.
    let home = run.sb.path("home");
    assert_eq!(
        run.seen("harvest.pwd").trim(),
        home.to_str().expect("utf-8")
    );
    assert_eq!(
        run.seen("harvest.spool").trim(),
        home.join("kcidb-spool").to_str().expect("utf-8")
    );
    // It saw the finished run: base commit, start time, complete output_log.
    assert_eq!(run.seen("commit.txt"), format!("{}\n", run.base_commit));
    run.assert_start_time(&run.seen("start_time.txt"), t0, t1);
    run.assert_output_log(&run.seen("output_log"), 0);
    run.assert_mail("was good");
    assert!(
        !run.remote.exists(),
        "REMOTE_DIR should be removed after a harvest"
    );
    let log = run.hook_log();
    assert!(log.contains("kcidb-harvest exited 0"), "{log}");
    assert!(log.contains("removed"), "{log}");
}

#[test]
fn failed_harvest_keeps_a_slim_copy_that_still_harvests() {
    let (run, _, _) = Run::new(Setup {
        patches: &["run_test.sh.patch"],
        hook: true,
        fake_harvest_exit: Some(4),
        ..Setup::default()
    });
    let r = &run.remote;
    for kept in [
        "output_log",
        "run_test.sh",
        "ktest.conf",
        "stable_queue.tar.gz",
        "commit.txt",
        "start_time.txt",
        "min_config",
        "buildlog-bob",
        "linux/log",
        "linux/Makefile",
        "linux/patches/series",
        "linux/.git/HEAD",
        "linux/.git/logs/HEAD",
        "linux/output/.config",
        "linux/output/include/config/kernel.release",
        "linux/output/include/generated/compile.h",
    ] {
        assert!(r.join(kept).exists(), "slim copy lost {kept}");
    }
    for gone in ["linux/README", "linux/output/vmlinux", "linux/output/arch"] {
        assert!(!r.join(gone).exists(), "slim copy kept {gone}");
    }
    let log = run.hook_log();
    assert!(log.contains("kcidb-harvest exited 4"), "{log}");
    assert!(log.contains("harvest failed: kept a slim copy"), "{log}");
    run.assert_output_log(&read(&r.join("output_log")), 0);

    let report = run.harvest();
    run.assert_report(&report);
}

#[test]
fn time_output_patch_keeps_ktest_status_and_writes_time_txt() {
    let (run, t0, t1) = Run::new(Setup {
        patches: &["run_test.sh.patch", "run_test.sh-time.patch"],
        hook: true,
        env: &[("KCIDB_KEEP", "all"), ("KCIDB_HARVEST", "off")],
        ktest_exit: 2,
        ..Setup::default()
    });
    let r = &run.remote;
    run.assert_output_log(&read(&r.join("output_log")), 2);
    run.assert_mail("FAILED!");
    run.assert_start_time(&read(&r.join("start_time.txt")), t0, t1);
    let time = read(&r.join("time.txt"));
    let lines: Vec<&str> = time.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{time:?}");
    for (line, key) in lines.iter().zip(["real\t", "user\t", "sys\t"]) {
        let v = line
            .strip_prefix(key)
            .unwrap_or_else(|| panic!("{line:?} is not bash time's {key:?}"));
        let (m, s) = v
            .strip_suffix('s')
            .and_then(|v| v.split_once('m'))
            .unwrap_or_else(|| panic!("{v:?}"));
        assert!(
            m.parse::<u64>().is_ok() && s.parse::<f64>().is_ok(),
            "{v:?}"
        );
    }
}

#[test]
fn without_the_hook_the_script_cleans_up_as_before() {
    let (run, _, _) = Run::new(Setup {
        patches: &["run_test.sh.patch"],
        hook: false,
        fake_harvest_exit: Some(0),
        env: &[("KCIDB_KEEP", "all")],
        ..Setup::default()
    });
    assert!(!run.remote.exists(), "stock behaviour: REMOTE_DIR removed");
    assert!(
        !run.sb.path("seen/harvest.args").exists(),
        "kcidb-harvest runs only through the hook"
    );
    run.assert_mail("was good");
}

#[test]
fn hook_leaves_alone_what_is_not_a_remote_dir() {
    let sb = Sandbox::new();
    let hook = sb.path("home/bin/kcidb-harvest-hook");
    write_exec(&hook, &read(&contrib().join("harvest-hook.sh")));
    let victim = sb.path("shm/not_a_run");
    write(&victim.join("precious"), "keep me\n");
    ok(sb.cmd(&hook).arg(&victim).env("KCIDB_HARVEST", "off"));
    assert!(victim.join("precious").exists());
    let log = read(&sb.path("home/kcidb-spool/hook.log"));
    assert!(log.contains("leaving it alone"), "{log}");

    // Misuse is an error (run_test.sh then removes the directory itself).
    let out = output(&mut sb.cmd(&hook));
    assert_eq!(out.status.code(), Some(2));
}
