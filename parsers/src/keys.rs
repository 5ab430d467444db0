//! The fact keys parsers emit: the contract between `parsers/` and the
//! merge stage. Value types are given in brackets. A key may be emitted
//! several times (lists, appended re-runs); consumers take the last unless
//! the doc says otherwise. Keys with a `<KEY>` placeholder are built with
//! `format!`.

// ---- output_log (test_stable_ssh stdout+stderr of run_test.sh) ----
/// [int] `KTEST_RUN = N`
pub const KTEST_EXIT: &str = "output_log.ktest_exit";
/// [int] `Took N seconds to build`
pub const TOOK_SECONDS: &str = "output_log.took_seconds";
/// [int] `Warnings = N`
pub const WARNINGS_REPORTED: &str = "output_log.warnings";
/// [int] `Errors   = N`
pub const ERRORS_REPORTED: &str = "output_log.errors";
/// [string] `Starting to test kernel version <V>`
pub const OUTPUT_KERNEL_VERSION: &str = "output_log.kernel_version";
/// [string] a `tar -zxvf` listing member (`./series`), one fact each
pub const TAR_MEMBER: &str = "output_log.tar_member";
/// [string] a patch that was applied: a name printed by `git quiltimport`
/// (or `Applying patch <name>` of the pre-2018 `quilt push`) that was not
/// followed by a failure; one fact per patch, in order. The patch whose
/// application failed is [`PATCH_FAILED`] instead.
pub const QUILTIMPORT_APPLIED: &str = "output_log.quiltimport_applied";
/// [string] name of the patch whose application failed (the name quiltimport
/// or quilt printed just before the failure lines)
pub const PATCH_FAILED: &str = "output_log.patch_failed";
/// [string] an `error:`/`fatal:` line printed between `Starting to test kernel`
/// and the patch step (e.g. `git clone` could not find the branch), one fact each
pub const SETUP_ERROR: &str = "output_log.setup_error";
/// [string] `<path>` of `update the git tree at <path>` (the builder's mirror, 2021+)
pub const OUTPUT_STABLE_GIT: &str = "output_log.stable_git";
/// [string] `Starting to test kernel branch <B>` (the 2018 `tt`/`pt` variants)
pub const OUTPUT_KERNEL_BRANCH: &str = "output_log.kernel_branch";
/// Prefix for the ktest framing facts found in output_log (ktest's stdout
/// copy): `output_log.ktest.<rest>` has the meaning of `ktest.<rest>` below
/// (same value types), computed from output_log only. Useful when linux/log
/// is missing; when both exist, prefer the `ktest.*` facts of the log.
pub const OUTPUT_KTEST_PREFIX: &str = "output_log.ktest.";
/// [string] a patch-application failure line (`error: patch failed: …`,
/// `error: …: patch does not apply`, quilt's `Patch … does not apply`), one fact each
pub const PATCH_ERROR: &str = "output_log.patch_error";
/// [string] the die message ktest wrote to stderr (`failed build`; the lines
/// after ` See … for more info.` joined with `\n`; also `Caught Sig Int, …`)
pub const KTEST_DIE: &str = "output_log.ktest_die";
/// [bool] true when `No stable queue at this point in time` was printed
pub const NO_QUEUE: &str = "output_log.no_queue";

// ---- ktest LOG_FILE (linux/log); facts describe the LAST run in the file ----
/// [int] number of `STARTING AUTOMATED TESTS` runs in the file (absent when
/// there is none: the log is not a ktest LOG_FILE); located at the last run
pub const KTEST_RUNS: &str = "ktest.runs";
/// [string] effective option from the `DEFAULT OPTIONS:` dump; key is `ktest.opt.<KEY>`.
/// A per-test option `KEY[n]` of the test that ran last (`RUNNING TEST n`,
/// else test 1) is emitted as `ktest.opt.<KEY>` after the defaults (so it
/// wins); per-test options of other tests keep their index: `ktest.opt.<KEY>[n]`.
pub const KTEST_OPT_PREFIX: &str = "ktest.opt.";
/// [object] `{"n":1,"total":1,"option":"build tinyconfig"}` from `RUNNING TEST n of m with option …`
/// (plus `"name"` when the line carries a TEST_NAME: `RUNNING TEST 1 of 1 (name) with option …`)
pub const KTEST_RUNNING_TEST: &str = "ktest.running_test";
/// [object] one ktest command step: `{"command": str, "seconds": int|absent,
/// "result": "SUCCESS"|"FAILED"|absent, "end_line": int|absent,
/// "timeout": true|absent}`, in order; the location is the command's line,
/// `end_line` the line of its status (the command's output lies between)
pub const KTEST_STEP: &str = "ktest.step";
/// [string] the final build command (the last step that is a make build, not
/// mrproper/config), exactly as printed before ` ... `
pub const KTEST_BUILD_COMMAND: &str = "ktest.build_command";
/// [int] seconds from `[N seconds]` of the final build command
pub const KTEST_BUILD_SECONDS: &str = "ktest.build_seconds";
/// [string] "SUCCESS" or "FAILED" of the final build command
pub const KTEST_BUILD_RESULT: &str = "ktest.build_result";
/// [int] seconds from `Build time:   M minutes S seconds`
pub const KTEST_BUILD_TIME: &str = "ktest.build_time";
/// [int] seconds from `Reboot time:` (the boot: reboot to the boot prompt or failure)
pub const KTEST_REBOOT_TIME: &str = "ktest.reboot_time";
/// [int] seconds from `Test time:` (the TEST command of a test-type test)
pub const KTEST_TEST_TIME: &str = "ktest.test_time";
/// [int] seconds from `Install time:`
pub const KTEST_INSTALL_TIME: &str = "ktest.install_time";
/// [array] the tests of the last run, one object each (docs/ktest.md#the-tests-of-a-run)
pub const KTEST_TESTS: &str = "ktest.tests";
/// [int] `*** WARNINGS found in build: N ***`
pub const KTEST_WARNINGS_FOUND: &str = "ktest.warnings_found";
/// [string] the success banner line (`KTEST RESULT: TEST 1 SUCCESS!!!!   **`)
pub const KTEST_SUCCESS_BANNER: &str = "ktest.success_banner";
/// [string] reason from the `%` banner `KTEST RESULT: TEST n Failed: <reason>` (DIE_ON_FAILURE = 0)
pub const KTEST_FAILED_BANNER: &str = "ktest.failed_banner";
/// [string] reason from `CRITICAL FAILURE... [TEST n] <reason>` (or the old form without `[TEST n]`)
pub const KTEST_CRITICAL: &str = "ktest.critical_failure";
/// [object] `{"ok": int, "total": int}` from `N of M tests were successful`
pub const KTEST_SUMMARY: &str = "ktest.summary";
/// [string] `Caught Sig Int, test interrupted: …`
pub const KTEST_INTERRUPTED: &str = "ktest.interrupted";
/// [string] `Hit timeout of N, killing process`
pub const KTEST_TIMEOUT: &str = "ktest.timeout";
/// [string] the command that was still running when the log ended (no `[N seconds]` status)
pub const KTEST_UNFINISHED: &str = "ktest.unfinished_command";
/// [string] the last non-empty line of the log (for "what broke" messages)
pub const KTEST_LAST_LINE: &str = "ktest.last_line";

// ---- ktest.conf (as written; `${PWD}` unexpanded) ----
/// [string] key is `ktest_conf.<KEY>` (BUILD_TYPE, MAKE_CMD, MACHINE, TMP_DIR, …):
/// options of DEFAULTS sections, then those of the first test (TEST_START
/// section 1, or an explicit `KEY[1]`), which override the defaults as in
/// ktest. Options of later tests are `ktest_conf.<KEY>[n]` (ktest's own naming).
pub const KTEST_CONF_PREFIX: &str = "ktest_conf.";

// ---- run_test.sh ----
/// [string] `KERNEL_VERSION="<V>"`
pub const RUN_KERNEL_VERSION: &str = "run_test.kernel_version";
/// [string] `STABLE_GIT="<path>"`
pub const RUN_STABLE_GIT: &str = "run_test.stable_git";
/// [string] branch of `git clone … --branch <b>`
pub const RUN_CLONE_BRANCH: &str = "run_test.clone_branch";
/// [string] clone source of `git clone … <src> linux`
pub const RUN_CLONE_SOURCE: &str = "run_test.clone_source";
/// [string] "quiltimport" | "quilt" | "git-pull": how patches are applied
pub const RUN_APPLY_METHOD: &str = "run_test.apply_method";
/// [string] `<tree> <branch>` of the tt/pt variant's `git pull`
pub const RUN_PULL: &str = "run_test.git_pull";
/// [string] how the script counts warnings/errors: "insensitive" (`grep
/// --count -i`, since 2018) or "sensitive" (`grep --count warning:`, 2016-2018)
pub const RUN_COUNT_CASE: &str = "run_test.count_case";
/// [string] the mail subject prefix (`<REMOTE>:`) host name, when present
pub const RUN_REMOTE: &str = "run_test.remote";

// ---- git metadata (linux/.git plain files) ----
/// [string] branch from `HEAD` (`ref: refs/heads/<b>`)
pub const GIT_HEAD_BRANCH: &str = "git.head_branch";
/// [string] commit HEAD resolves to (loose ref or packed-refs)
pub const GIT_HEAD_COMMIT: &str = "git.head_commit";
/// [string] new-sha of the `clone:` reflog entry (the base commit)
pub const GIT_CLONE_COMMIT: &str = "git.clone_commit";
/// [string] `clone: from <source>`
pub const GIT_CLONE_SOURCE: &str = "git.clone_source";
/// [string] RFC 3339 time of the `clone:` entry (its epoch + tz)
pub const GIT_CLONE_TIME: &str = "git.clone_time";
/// [object] `{"patch": name, "commit": sha, "time": rfc3339}` per `quiltimport:` reflog entry, in order
pub const GIT_QUILTIMPORT: &str = "git.quiltimport";
/// [string] `refs/remotes/origin/<branch>` commit
pub const GIT_ORIGIN_BRANCH_COMMIT: &str = "git.origin_branch_commit";
/// [string] `[remote "origin"] url`
pub const GIT_REMOTE_URL: &str = "git.remote_url";

// ---- commit.txt / start_time.txt ----
/// [string] 40-hex commit from commit.txt
pub const COMMIT_TXT: &str = "commit_txt.commit";
/// [string] RFC 3339 start time from start_time.txt (epoch or RFC 3339 input)
pub const START_TIME: &str = "start_time.rfc3339";

// ---- `time` output ----
/// [float] elapsed wall seconds
pub const TIME_ELAPSED: &str = "time.elapsed";
/// [int] exit status (GNU time `Exit status:` / `Command exited with non-zero status N`)
pub const TIME_EXIT: &str = "time.exit_status";
/// [int] max RSS kB (GNU time)
pub const TIME_MAX_RSS: &str = "time.max_rss_kb";
/// [string] "bash" | "posix" | "gnu" | "gnu-verbose"
pub const TIME_FORMAT: &str = "time.format";
/// [int] signal that ended the command (GNU time `Command terminated by
/// signal N` / `Command stopped by signal N`); no TIME_EXIT is emitted then
pub const TIME_SIGNAL: &str = "time.signal";

// ---- output tree (.config, compile.h, kernel.release, utsrelease.h, utsversion.h) ----
/// [string] SRCARCH from `# Linux/<arch> <release> Kernel Configuration`
pub const CONFIG_SRCARCH: &str = "config.srcarch";
/// [string] release from the same header line
pub const CONFIG_RELEASE: &str = "config.release";
/// [bool] `CONFIG_64BIT=y` present
pub const CONFIG_64BIT: &str = "config.64bit";
/// [string] `CONFIG_CC_VERSION_TEXT="…"`
pub const CONFIG_CC_VERSION_TEXT: &str = "config.cc_version_text";
/// [string] "gcc" | "clang" from CONFIG_CC_IS_GCC / CONFIG_CC_IS_CLANG
pub const CONFIG_CC_NAME: &str = "config.cc_name";
/// [string] `UTS_MACHINE` of compile.h
pub const UTS_MACHINE: &str = "compile_h.uts_machine";
/// [string] `LINUX_COMPILER` of compile.h
pub const LINUX_COMPILER: &str = "compile_h.linux_compiler";
/// [string] `UTS_VERSION` (utsversion.h or compile.h)
pub const UTS_VERSION: &str = "uts_version";
/// [string] include/config/kernel.release or UTS_RELEASE
pub const KERNEL_RELEASE: &str = "kernel_release";

// ---- linux/Makefile ----
/// [string] `VERSION.PATCHLEVEL.SUBLEVEL` + EXTRAVERSION of the source tree (`6.1.192`)
pub const MAKEFILE_VERSION: &str = "makefile.version";

// ---- the primary build log (build-log parser) ----
/// [string] lower-case hex sha256 of the log's (decompressed) bytes: the default run id
pub const LOG_SHA256: &str = "log.sha256";
/// [int] size in bytes of the (decompressed) log
pub const LOG_BYTES: &str = "log.bytes";
/// [string] kbuild's `Kernel: <image> is ready` line (the build finished)
pub const LOG_KERNEL_READY: &str = "log.kernel_ready";
/// [string] the last kbuild step writing a boot image (`OBJCOPY arch/arm64/boot/Image`)
pub const LOG_IMAGE_BUILT: &str = "log.image_built";
/// [array of string] the parts the log shows built: `kernel`, `modules`,
/// `dtbs` (kbuild's step lines, or an echoed make command of that goal
/// that did not fail); the line of the first
pub const LOG_PARTS_BUILT: &str = "log.parts_built";
/// [string] the log's last line is the outermost make's `Leaving
/// directory` (make ran to its end; a failure would follow it)
pub const LOG_MAKE_FINISHED: &str = "log.make_finished";
/// [int] lines holding `warning:` (case-sensitive, as the 2016-2018 script's grep)
pub const LOG_WARNINGS_RAW_CS: &str = "log.warnings_raw_case_sensitive";
/// [int] lines holding `error:` (case-sensitive)
pub const LOG_ERRORS_RAW_CS: &str = "log.errors_raw_case_sensitive";
/// [string] the first top-level make failure (`make: *** …` / `make[1]: *** …`)
pub const LOG_MAKE_FAILED: &str = "log.make_failed";
/// [string] the tuxmake command line heading a tuxmake build.log
pub const LOG_TUXMAKE_CMD: &str = "log.tuxmake_command";
/// [string] the first `make` command line echoed in the log (tuxmake logs echo theirs)
pub const LOG_MAKE_CMD: &str = "log.make_command";

// ---- the queue ----
/// [array of string] patch names in series order (first token of each line)
pub const QUEUE_SERIES: &str = "queue.series";
/// [string] patchset_hash per docs/inputs.md#patchset_hash ("" when no patches)
pub const QUEUE_PATCHSET_HASH: &str = "queue.patchset_hash";
/// [array of string] patches quilt recorded as applied (`linux/.pc/applied-patches`, quilt-era runs)
pub const QUEUE_QUILT_APPLIED: &str = "queue.quilt_applied";
/// [string] where the queue was read: "linux/patches" or "stable_queue.tar.gz"
pub const QUEUE_SOURCE: &str = "queue.source";

// ---- tuxmake metadata.json ----
/// [string] key is `tuxmake.<name>` for: status, target_arch, toolchain,
/// kconfig, compiler_version_full, git_url, git_branch, git_commit,
/// git_describe, kernelrelease, duration (float), reproducer_cmdline,
/// warnings (int), errors (int), tuxmake_version
pub const TUXMAKE_PREFIX: &str = "tuxmake.";
