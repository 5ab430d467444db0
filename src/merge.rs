//! Stage 4: facts → one KCIDB checkout and one build, with written
//! precedence: override flag > most specific source > fallback. Every
//! field remembers where its value came from (for `explain`).
//!
//! The precedence of each field is the order of the candidates in its
//! `pick` call below; the README's field table says the same in prose.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use kcidb_harvest_parsers::diag::{DiagReport, ExcerptKind};
use kcidb_harvest_parsers::{keys, Facts};

use crate::cli::Overrides;
use crate::kcidb::{Build, Checkout, Report, Status};

/// The stable tree's public URL (harvest.md §4 built-in default).
pub const STABLE_URL: &str = "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git";

/// What one field's value is and where it came from.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FieldSource {
    pub object: &'static str,
    pub field: &'static str,
    pub value: Value,
    pub source: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disagreements: Vec<String>,
}

/// Merge result.
#[derive(Clone, Debug)]
pub struct Merged {
    pub report: Report,
    pub sources: Vec<FieldSource>,
    pub commit_known: bool,
    /// `6.1` for the human line (KERNEL_VERSION, else the release).
    pub version_label: String,
    /// ktest's own verdict (`SUCCESS`, `FAILED`, …) when known.
    pub ktest_status: Option<String>,
    pub status: Status,
    pub status_reason: String,
    /// Sources that disagree on a field that makes an id (the checkout's
    /// commit, queue, repository and branch; the build's architecture and
    /// config): printed as warnings, since the other source would have given
    /// other ids. Benign disagreements (a compiler named `gcc` by MAKE_CMD
    /// and in full by .config) are listed by `explain` only.
    pub warnings: Vec<String>,
}

/// Fields whose value goes into an id (see [`Merged::warnings`]).
const IDENTITY_FIELDS: &[(&str, &str)] = &[
    ("checkout", "git_commit_hash"),
    ("checkout", "patchset_hash"),
    ("checkout", "git_repository_url"),
    ("checkout", "git_repository_branch"),
    ("build", "architecture"),
    ("build", "config_name"),
];

/// One warning per identity field whose chosen source (not an override)
/// has disagreeing sources.
fn identity_warnings(sources: &[FieldSource]) -> Vec<String> {
    sources
        .iter()
        .filter(|f| IDENTITY_FIELDS.contains(&(f.object, f.field)))
        .filter(|f| !f.disagreements.is_empty() && !f.source.starts_with("--"))
        .map(|f| {
            format!(
                "{}.{}: using {} from {}, but {}",
                f.object,
                f.field,
                f.value,
                f.source,
                f.disagreements.join("; ")
            )
        })
        .collect()
}

/// ktest prints its framing both into the log and on stdout (into
/// `output_log`, as `output_log.ktest.*` facts). When the build log has no
/// framing (a partial copy with only `output_log`), the stdout copy stands
/// in; `Caught Sig Int` only ever reaches stderr, so it is always taken
/// from `output_log`.
pub fn promote_output_log_framing(facts: &mut Facts) {
    let log_has_framing = facts.has(keys::KTEST_RUNS);
    let promoted: Vec<kcidb_harvest_parsers::Fact> = facts
        .items()
        .iter()
        .filter_map(|f| {
            let rest = f.key.strip_prefix(keys::OUTPUT_KTEST_PREFIX)?;
            let key = format!("ktest.{rest}");
            let take = !log_has_framing || (key == keys::KTEST_INTERRUPTED && !facts.has(&key));
            take.then(|| kcidb_harvest_parsers::Fact {
                key,
                value: f.value.clone(),
                loc: f.loc.clone(),
            })
        })
        .collect();
    for f in promoted {
        facts.add(f);
    }
}

/// Whether a run reached its end (inputs-reference §8 "is this run finished?").
pub fn run_finished(facts: &Facts) -> bool {
    if !is_ktest_run(facts) {
        return [
            keys::LOG_KERNEL_READY,
            keys::LOG_IMAGE_BUILT,
            keys::LOG_MAKE_FAILED,
            "tuxmake.status",
            keys::TIME_EXIT,
        ]
        .iter()
        .any(|k| facts.has(k));
    }
    [
        keys::KTEST_EXIT,
        keys::KTEST_SUCCESS_BANNER,
        keys::KTEST_CRITICAL,
        keys::KTEST_FAILED_BANNER,
        keys::KTEST_SUMMARY,
        keys::KTEST_INTERRUPTED,
    ]
    .iter()
    .any(|k| facts.has(k))
}

/// Context of a merge.
pub struct MergeContext<'a> {
    pub origin: &'a str,
    pub layout: &'static str,
    pub overrides: &'a Overrides,
    /// The directory's base name (may hold `stable_test_<V>_XXXXX`).
    pub dir_name: &'a str,
}

/// Collects field values with their sources.
struct Tracker {
    sources: Vec<FieldSource>,
}

/// One candidate value for a field.
#[derive(Clone)]
struct Cand<T> {
    value: T,
    source: String,
}

impl Cand<String> {
    /// A candidate computed from this one: `f` of its value, with `note`
    /// appended to its source.
    fn derive<U>(self, f: impl FnOnce(String) -> Option<U>, note: &str) -> Option<Cand<U>> {
        let source = format!("{}{note}", self.source);
        f(self.value).map(|value| Cand { value, source })
    }
}

fn cand<T>(value: Option<T>, source: impl Into<String>) -> Option<Cand<T>> {
    value.map(|value| Cand {
        value,
        source: source.into(),
    })
}

impl Tracker {
    /// Take the first candidate; record the others that disagree.
    fn pick<T: Clone + PartialEq + serde::Serialize>(
        &mut self,
        object: &'static str,
        field: &'static str,
        cands: Vec<Option<Cand<T>>>,
    ) -> Option<T> {
        let mut cands = cands.into_iter().flatten();
        let first = cands.next()?;
        let first_json = serde_json::to_value(&first.value).unwrap_or(Value::Null);
        let disagreements = cands
            .filter(|c| {
                !same_value(
                    &first_json,
                    &serde_json::to_value(&c.value).unwrap_or(Value::Null),
                )
            })
            .map(|c| {
                format!(
                    "{} says {}",
                    c.source,
                    serde_json::to_string(&c.value).unwrap_or_default()
                )
            })
            .collect();
        self.sources.push(FieldSource {
            object,
            field,
            value: serde_json::to_value(&first.value).unwrap_or(Value::Null),
            source: first.source,
            disagreements,
        });
        Some(first.value)
    }

    fn set<T: serde::Serialize>(
        &mut self,
        object: &'static str,
        field: &'static str,
        value: &T,
        source: impl Into<String>,
    ) {
        self.sources.push(FieldSource {
            object,
            field,
            value: serde_json::to_value(value).unwrap_or(Value::Null),
            source: source.into(),
            disagreements: Vec::new(),
        });
    }
}

/// Equal values, where two timestamps are equal when they name the same
/// instant (`…Z` and `…+00:00`).
fn same_value(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a.as_str(), b.as_str()) {
        (Some(x), Some(y)) => matches!(
            (
                chrono::DateTime::parse_from_rfc3339(x),
                chrono::DateTime::parse_from_rfc3339(y)
            ),
            (Ok(p), Ok(q)) if p == q
        ),
        _ => false,
    }
}

fn fstr(facts: &Facts, key: &str) -> Option<Cand<String>> {
    facts.str(key).map(|(v, loc)| Cand {
        value: v.to_string(),
        source: loc.to_string(),
    })
}

fn tux(facts: &Facts, name: &str) -> Option<Cand<String>> {
    fstr(facts, &format!("{}{name}", keys::TUXMAKE_PREFIX))
}

fn fint(facts: &Facts, key: &str) -> Option<Cand<i64>> {
    facts.int(key).map(|(v, loc)| Cand {
        value: v,
        source: loc.to_string(),
    })
}

fn flag<T>(value: &Option<T>, name: &str) -> Option<Cand<T>>
where
    T: Clone,
{
    value.clone().map(|v| Cand {
        value: v,
        source: format!("--{name}"),
    })
}

/// sha256 hex of a string.
pub fn sha256_hex(s: &str) -> String {
    kcidb_harvest_parsers::hex(&Sha256::digest(s.as_bytes()))
}

/// `<origin>:ck-<sha256(repo|branch|commit|patchset)>` (kci-dev compatible).
pub fn checkout_id(origin: &str, repo: &str, branch: &str, commit: &str, patchset: &str) -> String {
    format!(
        "{origin}:ck-{}",
        sha256_hex(&format!("{repo}|{branch}|{commit}|{patchset}"))
    )
}

/// `<origin>:b-<sha256(checkout_id|arch|config|compiler|run_id)>`.
pub fn build_id(
    origin: &str,
    checkout_id: &str,
    arch: &str,
    config: &str,
    compiler: &str,
    run_id: &str,
) -> String {
    format!(
        "{origin}:b-{}",
        sha256_hex(&format!(
            "{checkout_id}|{arch}|{config}|{compiler}|{run_id}"
        ))
    )
}

/// KernelCI architecture name from a kernel ARCH/SRCARCH or UTS_MACHINE.
pub fn kernelci_arch(arch: &str, is_64bit: Option<bool>) -> Option<String> {
    let a = arch.trim().to_ascii_lowercase();
    let name = match a.as_str() {
        "x86" => match is_64bit {
            Some(true) => "x86_64",
            Some(false) => "i386",
            None => return None,
        },
        "x86_64" | "amd64" => "x86_64",
        "i386" | "i486" | "i586" | "i686" => "i386",
        "arm64" | "aarch64" => "arm64",
        "arm" | "armv7l" | "armv7" => "arm",
        "riscv" | "riscv64" | "riscv32" => "riscv",
        "powerpc" | "ppc64" | "ppc64le" | "ppc" => "powerpc",
        "s390" | "s390x" => "s390",
        "mips" | "mips64" => "mips",
        "loongarch" | "loongarch64" => "loongarch",
        "um" => "um",
        other => {
            if !other.is_empty()
                && other
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Some(other.to_string());
            }
            return None;
        }
    };
    Some(name.to_string())
}

/// `CC="ccache gcc-12"` (or `CC=clang`) of a make command → `gcc-12`.
pub fn cc_from_make_cmd(cmd: &str) -> Option<String> {
    // tuxmake quotes whole words: 'CC=sccache arm-linux-gnueabihf-gcc'
    let cmd = cmd.replace("'CC=", "CC='");
    let cmd = cmd.as_str();
    let caps = CC_RE.captures(cmd)?;
    let raw = caps.get(1).or(caps.get(2)).or(caps.get(3))?.as_str();
    let words: Vec<&str> = raw
        .split_whitespace()
        .filter(|w| !matches!(*w, "ccache" | "sccache" | "distcc"))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// `ARCH=x86_64` of a make command.
pub fn arch_from_make_cmd(cmd: &str) -> Option<String> {
    cmd.split_whitespace()
        .find_map(|w| w.strip_prefix("ARCH="))
        .map(|s| s.trim_matches(|c| c == '"' || c == '\'').to_string())
}

/// Tree name from the repository URL (KernelCI names).
pub fn tree_from_url(url: &str) -> Option<&'static str> {
    let u = url.trim_end_matches('/').trim_end_matches(".git");
    if u.ends_with("/stable/linux-stable-rc") || u.ends_with("/linux-stable-rc") {
        Some("stable-rc")
    } else if u.ends_with("/stable/linux") || u.ends_with("/linux-stable") {
        Some("stable")
    } else if u.ends_with("/torvalds/linux") {
        Some("mainline")
    } else if u.ends_with("/next/linux-next") {
        Some("next")
    } else {
        None
    }
}

/// A clone source on the builder's disk (`/home/bob/linux/stable`,
/// `file://…`), not a remote.
fn is_local_path(src: &str) -> bool {
    src.starts_with("file://") || !src.contains("://") && !src.contains('@')
}

/// An https form of a repository URL: https as is, kernel.org's `git://`
/// and `http://` mapped to https; anything else has none.
pub fn public_https(url: &str) -> Option<String> {
    if url.starts_with("https://") {
        return Some(url.to_string());
    }
    for scheme in ["git://", "http://"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            if rest.starts_with("git.kernel.org/") {
                return Some(format!("https://{rest}"));
            }
        }
    }
    None
}

fn is_stable_branch(b: &str) -> bool {
    STABLE_BRANCH_RE.is_match(b)
}

static CC_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|\s)CC=(?:"([^"]*)"|'([^']*)'|(\S+))"#).expect("CC= pattern compiles")
});
static STABLE_BRANCH_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^linux-\d+\.\d+\.y$").expect("branch pattern compiles"));
static STABLE_DIR_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^stable_test_(\d+\.\d+)_").expect("dir pattern compiles"));

/// A commit hash: 40 lower-case hex digits, not all zeros (git's "no
/// commit", as in a clone's reflog entry).
fn is_sha1(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && !s.bytes().all(|b| b == b'0')
}

/// Whole seconds as an integer, else a float (never NaN).
pub fn seconds_number(v: f64) -> Option<serde_json::Number> {
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    if v.fract() == 0.0 && v < 9.0e15 {
        Some(serde_json::Number::from(v as u64))
    } else {
        serde_json::Number::from_f64((v * 1000.0).round() / 1000.0)
    }
}

/// Parse an override start time: RFC 3339 or epoch seconds → RFC 3339.
pub fn normalise_time(s: &str) -> Option<String> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
    }
    let secs: f64 = s.parse().ok()?;
    let t = chrono::DateTime::from_timestamp(secs.trunc() as i64, 0)?;
    Some(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// Merge the facts of one directory into a checkout and a build.
pub fn merge(facts: &Facts, ctx: &MergeContext<'_>) -> Merged {
    let ov = ctx.overrides;
    let mut t = Tracker {
        sources: Vec::new(),
    };
    let diag: Option<&DiagReport> = facts.diag.as_ref().map(|(_, d)| d);
    let diag_file = facts.diag.as_ref().map(|(f, _)| f.as_str()).unwrap_or("");

    // ---- version label (`6.1`) ----
    let dir_version = STABLE_DIR_RE
        .captures(ctx.dir_name)
        .map(|c| c[1].to_string());
    let kernel_version = fstr(facts, keys::RUN_KERNEL_VERSION)
        .or_else(|| fstr(facts, keys::OUTPUT_KERNEL_VERSION))
        .map(|c| c.value)
        .or(dir_version.clone());

    // ---- branch ----
    let branch = t.pick(
        "checkout",
        "git_repository_branch",
        vec![
            flag(&ov.git_branch, "git-branch"),
            fstr(facts, keys::GIT_HEAD_BRANCH),
            fstr(facts, keys::RUN_CLONE_BRANCH),
            tux(facts, "git_branch"),
            cand(
                kernel_version.as_ref().map(|v| format!("linux-{v}.y")),
                "rule: linux-<KERNEL_VERSION>.y",
            ),
        ],
    );

    // ---- repository URL ----
    let https = |c: Option<Cand<String>>| {
        c.and_then(|c| {
            let v = public_https(&c.value)?;
            Some(Cand {
                value: v,
                source: c.source,
            })
        })
    };
    // Where the tree was cloned from: the stable default applies only to a
    // local mirror (Greg's STABLE_GIT), never to another remote.
    let clone_source = [
        keys::GIT_REMOTE_URL,
        keys::GIT_CLONE_SOURCE,
        keys::RUN_CLONE_SOURCE,
        keys::RUN_STABLE_GIT,
        keys::OUTPUT_STABLE_GIT,
    ]
    .iter()
    .find_map(|k| facts.str(k).map(|(v, _)| v.to_string()));
    let local_source = clone_source.as_deref().is_none_or(is_local_path);
    let stable_default = branch
        .as_deref()
        .filter(|b| is_stable_branch(b) && local_source)
        .map(|_| STABLE_URL.to_string());
    let repo_url = t.pick(
        "checkout",
        "git_repository_url",
        vec![
            flag(&ov.git_repo_url, "git-repo-url"),
            https(fstr(facts, keys::GIT_REMOTE_URL)),
            https(fstr(facts, keys::RUN_CLONE_SOURCE)),
            https(tux(facts, "git_url")),
            cand(
                stable_default,
                "rule: a linux-X.Y.y branch cloned from a local mirror is linux-stable",
            ),
        ],
    );

    // ---- tree name ----
    let tree_name = t.pick(
        "checkout",
        "tree_name",
        vec![
            flag(&ov.tree_name, "tree-name"),
            cand(
                repo_url
                    .as_deref()
                    .and_then(tree_from_url)
                    .map(String::from),
                "rule: KernelCI tree name of the repository URL",
            ),
        ],
    );

    // ---- base commit ----
    let valid_sha = |c: Option<Cand<String>>| c.filter(|c| is_sha1(&c.value));
    let patches_applied_in_git = facts.count(keys::GIT_QUILTIMPORT) as usize;
    let head_is_base = patches_applied_in_git == 0
        && !facts.has(keys::QUILTIMPORT_APPLIED)
        && facts.str(keys::RUN_APPLY_METHOD).map(|(m, _)| m) != Some("git-pull");
    let commit = t.pick(
        "checkout",
        "git_commit_hash",
        vec![
            valid_sha(flag(&ov.git_commit_hash, "git-commit-hash")),
            valid_sha(fstr(facts, keys::COMMIT_TXT)),
            valid_sha(fstr(facts, keys::GIT_CLONE_COMMIT)),
            valid_sha(fstr(facts, keys::GIT_ORIGIN_BRANCH_COMMIT)),
            valid_sha(tux(facts, "git_commit")),
            valid_sha(fstr(facts, keys::GIT_HEAD_COMMIT).filter(|_| head_is_base)).map(|c| Cand {
                source: format!(
                    "{} (no patches were committed, so HEAD is the base)",
                    c.source
                ),
                value: c.value,
            }),
        ],
    );
    let commit_known = commit.is_some();

    // ---- queue ----
    let series: Vec<String> = facts
        .last(keys::QUEUE_SERIES)
        .and_then(|f| f.value.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let queue_known = facts.has(keys::QUEUE_PATCHSET_HASH);
    let stable_dir = ctx.layout.starts_with("test_stable_ssh");
    let tux_no_patches =
        (ctx.layout == "tuxmake" && facts.has("tuxmake.git_commit")).then(|| Cand {
            value: String::new(),
            source: "rule: tuxmake builds a git commit as is (no patches)".to_string(),
        });
    let no_queue_rule = (stable_dir
        && !queue_known
        && !facts.has(keys::TAR_MEMBER)
        && !facts.has(keys::QUILTIMPORT_APPLIED)
        && (facts.has(keys::NO_QUEUE)
            || facts.has(keys::RUN_KERNEL_VERSION)
            || facts.has(keys::KTEST_EXIT)))
    .then(String::new);
    let patchset_hash = t.pick(
        "checkout",
        "patchset_hash",
        vec![
            flag(&ov.patchset_hash, "patchset-hash"),
            fstr(facts, keys::QUEUE_PATCHSET_HASH),
            cand(
                no_queue_rule,
                "rule: no stable_queue.tar.gz and no linux/patches: no patches",
            ),
            tux_no_patches,
        ],
    );

    // applied patches: git reflog, else output_log's quiltimport lines
    let applied_output = facts.count(keys::QUILTIMPORT_APPLIED) as usize;
    let quilt_applied = facts
        .last(keys::QUEUE_QUILT_APPLIED)
        .and_then(|f| f.value.as_array().map(|a| a.len()));
    let applied = patches_applied_in_git
        .max(applied_output)
        .max(quilt_applied.unwrap_or(0));
    let patch_errors: Vec<&str> = facts
        .all(keys::PATCH_ERROR)
        .filter_map(|f| f.value.as_str())
        .collect();
    // Fewer patches applied than listed counts only where the run records
    // each applied patch (quiltimport commits, output_log lines, quilt's
    // .pc/applied-patches); `quilt push -aq` alone prints nothing.
    let applied_recorded =
        patches_applied_in_git > 0 || applied_output > 0 || quilt_applied.is_some();
    let partial_patchset = !patch_errors.is_empty()
        || (!series.is_empty()
            && applied < series.len()
            && facts.has(keys::QUEUE_SERIES)
            && applied_recorded);
    let checkout_valid = if partial_patchset {
        Some(false)
    } else if commit_known
        || (stable_dir && (facts.has(keys::KTEST_EXIT) || facts.has(keys::KTEST_RUNS)))
    {
        Some(true)
    } else {
        None
    };
    if let Some(v) = checkout_valid {
        let why = if partial_patchset {
            format!(
                "rule: {} of {} queue patches applied{}",
                applied,
                series.len(),
                if patch_errors.is_empty() {
                    ""
                } else {
                    ", patch errors in output_log"
                }
            )
        } else if series.is_empty() {
            "rule: no queue, the branch was checked out".to_string()
        } else {
            format!("rule: all {} queue patches applied", series.len())
        };
        t.set("checkout", "valid", &v, why);
    }

    // ---- checkout start time ----
    let ck_start = t.pick(
        "checkout",
        "start_time",
        vec![
            fstr(facts, keys::GIT_CLONE_TIME),
            fstr(facts, keys::START_TIME),
        ],
    );

    // ---- commit name ----
    let base_release = fstr(facts, keys::MAKEFILE_VERSION).filter(|_| commit_known);
    let commit_name = t.pick(
        "checkout",
        "git_commit_name",
        vec![base_release.map(|c| Cand {
            value: format!("v{}", c.value),
            source: c.source,
        })],
    );
    let branch_tip = match (
        facts.str(keys::GIT_CLONE_COMMIT),
        facts.str(keys::GIT_ORIGIN_BRANCH_COMMIT),
    ) {
        (Some((a, l)), Some((b, _))) if commit.as_deref() == Some(a) => {
            let v = a == b;
            t.set(
                "checkout",
                "git_repository_branch_tip",
                &v,
                format!("{l} vs refs/remotes/origin"),
            );
            Some(v)
        }
        _ => None,
    };

    // ---- checkout id ----
    let log_sha = facts.str(keys::LOG_SHA256).map(|(s, _)| s.to_string());
    let run_id = ov
        .build_run_id
        .clone()
        .or(log_sha.clone())
        .unwrap_or_default();
    let commit_seed = commit.clone().unwrap_or_else(|| format!("run:{run_id}"));
    // A queue was applied (output_log or the reflog shows it) but its
    // patches are not here to hash: never let that look like "no patches".
    let queue_seen = facts.has(keys::TAR_MEMBER)
        || facts.has(keys::QUILTIMPORT_APPLIED)
        || facts.has(keys::GIT_QUILTIMPORT);
    let patchset_unknown = patchset_hash.is_none() && queue_seen;
    let patchset_seed = match (&patchset_hash, patchset_unknown) {
        (Some(p), _) => p.clone(),
        (None, true) => format!("unknown:{run_id}"),
        (None, false) => String::new(),
    };
    let ck_id = ov.checkout_id.clone().unwrap_or_else(|| {
        checkout_id(
            ctx.origin,
            repo_url.as_deref().unwrap_or(""),
            branch.as_deref().unwrap_or(""),
            &commit_seed,
            &patchset_seed,
        )
    });
    t.set(
        "checkout",
        "id",
        &ck_id,
        if ov.checkout_id.is_some() {
            "--checkout-id".to_string()
        } else if patchset_unknown {
            "rule: <origin>:ck-sha256(repo_url|branch|commit|unknown:<run_id>) (a queue was applied but its patches are not here to hash)".to_string()
        } else if commit_known {
            "rule: <origin>:ck-sha256(repo_url|branch|commit|patchset_hash)".to_string()
        } else {
            "rule: <origin>:ck-sha256(repo_url|branch|run:<run_id>|patchset_hash) (commit unknown)"
                .to_string()
        },
    );

    let mut ck_misc = Map::new();
    if let Some((head, _)) = facts.str(keys::GIT_HEAD_COMMIT) {
        if Some(head) != commit.as_deref() && is_sha1(head) {
            ck_misc.insert("patched_commit".into(), json!(head));
        }
    }
    if !series.is_empty() {
        ck_misc.insert("patches".into(), json!(series.len()));
        ck_misc.insert("patches_applied".into(), json!(applied));
    }
    if let Some((src, _)) = facts.str(keys::QUEUE_SOURCE) {
        ck_misc.insert("queue_source".into(), json!(src));
    }

    let ck_excerpt = if partial_patchset {
        let mut lines: Vec<String> = facts
            .all(keys::QUILTIMPORT_APPLIED)
            .filter_map(|f| f.value.as_str().map(|s| format!("applied: {s}")))
            .collect();
        lines.extend(
            facts
                .all(keys::PATCH_FAILED)
                .filter_map(|f| f.value.as_str().map(|s| format!("failed: {s}"))),
        );
        lines.extend(patch_errors.iter().map(|s| s.to_string()));
        let tried: Vec<String> = facts
            .all(keys::QUILTIMPORT_APPLIED)
            .chain(facts.all(keys::PATCH_FAILED))
            .filter_map(|f| f.value.as_str().map(String::from))
            .collect();
        let untried: Vec<&String> = series.iter().filter(|p| !tried.contains(p)).collect();
        if !untried.is_empty() && !tried.is_empty() {
            lines.extend(untried.iter().map(|p| format!("not tried: {p}")));
        }
        if lines.is_empty() {
            lines.push(format!(
                "{applied} of {} queue patches applied",
                series.len()
            ));
        }
        Some(clip_excerpt(&lines.join("\n")))
    } else {
        None
    };

    let ck_comment = match (&branch, &commit_name) {
        (Some(b), Some(n)) => Some(format!(
            "{b} {n}{}",
            if series.is_empty() {
                String::new()
            } else {
                format!(" + {} stable-queue patches", series.len())
            }
        )),
        _ => None,
    };

    let checkout = Checkout {
        id: ck_id.clone(),
        origin: ctx.origin.to_string(),
        tree_name,
        git_repository_url: repo_url.clone(),
        git_commit_hash: commit.clone(),
        git_commit_name: commit_name,
        git_repository_branch: branch.clone(),
        git_repository_branch_tip: branch_tip,
        patchset_hash: patchset_hash.clone(),
        comment: ck_comment,
        start_time: ck_start,
        log_excerpt: ck_excerpt,
        valid: checkout_valid,
        misc: (!ck_misc.is_empty()).then_some(ck_misc),
        ..Default::default()
    };

    // ================= build =================
    let make_cmd = fstr(facts, &format!("{}MAKE_CMD", keys::KTEST_OPT_PREFIX))
        .or_else(|| fstr(facts, &format!("{}MAKE_CMD", keys::KTEST_CONF_PREFIX)));

    // architecture
    let is64 = facts.bool(keys::CONFIG_64BIT).map(|(b, _)| b);
    let arch_of = |a: String| kernelci_arch(&a, None);
    let make_arch_of = |c: String| arch_from_make_cmd(&c).and_then(|a| kernelci_arch(&a, None));
    let cfg_arch = fstr(facts, keys::CONFIG_SRCARCH).and_then(|c| {
        c.derive(
            |a| kernelci_arch(&a, Some(is64.unwrap_or(false))),
            " (+ CONFIG_64BIT)",
        )
    });
    let uts_arch = fstr(facts, keys::UTS_MACHINE).and_then(|c| c.derive(arch_of, ""));
    let make_arch = make_cmd
        .clone()
        .and_then(|c| c.derive(make_arch_of, " (ARCH= of MAKE_CMD)"));
    let tux_arch = tux(facts, "target_arch").and_then(|c| c.derive(arch_of, ""));
    let log_arch = fstr(facts, keys::LOG_MAKE_CMD)
        .and_then(|c| c.derive(make_arch_of, " (ARCH= of the make command)"));
    let arch = t.pick(
        "build",
        "architecture",
        vec![
            flag(&ov.arch, "arch"),
            cfg_arch,
            uts_arch,
            tux_arch,
            make_arch,
            log_arch,
        ],
    );

    // compiler
    let linux_compiler = fstr(facts, keys::LINUX_COMPILER).map(|c| Cand {
        value: c
            .value
            .split(", GNU ld")
            .next()
            .unwrap_or(&c.value)
            .split(", LLD")
            .next()
            .unwrap_or(&c.value)
            .trim()
            .to_string(),
        source: c.source,
    });
    let make_cc = make_cmd.clone().and_then(|c| {
        c.derive(
            |v: String| cc_from_make_cmd(&v),
            " (CC= of MAKE_CMD, without ccache)",
        )
    });
    let compiler = t.pick(
        "build",
        "compiler",
        vec![
            flag(&ov.compiler, "compiler"),
            fstr(facts, keys::CONFIG_CC_VERSION_TEXT),
            linux_compiler,
            tux(facts, "compiler_version_full"),
            make_cc,
            tux(facts, "toolchain"),
            fstr(facts, keys::LOG_MAKE_CMD).and_then(|c| {
                c.derive(
                    |v: String| cc_from_make_cmd(&v),
                    " (CC= of the make command)",
                )
            }),
        ],
    );

    // config name
    let bt = |c: Option<Cand<String>>| {
        c.map(|c| Cand {
            value: match c.value.split_once(':') {
                Some(("useconfig", path)) => path.rsplit('/').next().unwrap_or(path).to_string(),
                _ => c.value,
            },
            source: c.source,
        })
    };
    let config_name = t.pick(
        "build",
        "config_name",
        vec![
            flag(&ov.config_name, "config-name"),
            bt(fstr(
                facts,
                &format!("{}BUILD_TYPE", keys::KTEST_OPT_PREFIX),
            )),
            bt(fstr(
                facts,
                &format!("{}BUILD_TYPE", keys::KTEST_CONF_PREFIX),
            )),
            tux(facts, "kconfig"),
        ],
    );

    // start time and duration
    let quilt_time = facts
        .last(keys::GIT_QUILTIMPORT)
        .and_then(|f| {
            f.value
                .get("time")
                .and_then(|v| v.as_str())
                .map(|s| (s.to_string(), f.loc.to_string()))
        })
        .map(|(v, l)| Cand {
            value: v,
            source: format!("{l} (last quiltimport, just before ktest started)"),
        });
    let build_start = t.pick(
        "build",
        "start_time",
        vec![
            flag(&ov.build_start_time, "build-start-time").and_then(|c| {
                normalise_time(&c.value).map(|v| Cand {
                    value: v,
                    source: c.source,
                })
            }),
            fstr(facts, keys::START_TIME),
            quilt_time,
            fstr(facts, keys::GIT_CLONE_TIME),
        ],
    );
    let fsec = |c: Option<Cand<i64>>| {
        c.map(|c| Cand {
            value: c.value as f64,
            source: c.source,
        })
    };
    let duration = t.pick(
        "build",
        "duration",
        vec![
            flag(&ov.duration, "duration"),
            fsec(fint(facts, keys::TOOK_SECONDS)),
            fsec(fint(facts, keys::KTEST_BUILD_TIME)),
            fsec(fint(facts, keys::KTEST_BUILD_SECONDS)),
            facts.float("tuxmake.duration").map(|(v, l)| Cand {
                value: v,
                source: l.to_string(),
            }),
            facts.float(keys::TIME_ELAPSED).map(|(v, l)| Cand {
                value: v,
                source: l.to_string(),
            }),
        ],
    );

    let command = t.pick(
        "build",
        "command",
        vec![
            flag(&ov.command, "command"),
            fstr(facts, keys::KTEST_BUILD_COMMAND),
            tux(facts, "reproducer_cmdline"),
            fstr(facts, keys::LOG_TUXMAKE_CMD),
        ],
    );

    // ---- status ----
    let (ktest_status, mut status, mut status_reason) = if is_ktest_run(facts) {
        decide_status(facts, diag)
    } else {
        let (s, r) = decide_status_plain(facts, diag);
        (None, s, r)
    };
    if partial_patchset && status != Status::Error {
        status = Status::Error;
        status_reason = format!(
            "a queue patch did not apply: the build ran on a partially patched tree ({status_reason})"
        );
    }
    if let Some(s) = &ov.status {
        if let Ok(s) = s.parse::<Status>() {
            status = s;
            status_reason = "--status".into();
        }
    }
    t.set("build", "status", &status, &status_reason);

    // ---- build id ----
    let b_id = ov.build_id.clone().unwrap_or_else(|| {
        build_id(
            ctx.origin,
            &ck_id,
            arch.as_deref().unwrap_or(""),
            config_name.as_deref().unwrap_or(""),
            compiler.as_deref().unwrap_or(""),
            &run_id,
        )
    });
    t.set(
        "build",
        "id",
        &b_id,
        if ov.build_id.is_some() {
            "--build-id"
        } else {
            "rule: <origin>:b-sha256(checkout_id|architecture|config_name|compiler|run_id)"
        },
    );

    // ---- excerpt ----
    let excerpt = diag.and_then(|d| match status {
        Status::Pass if d.warnings > 0 => d.excerpt(ExcerptKind::Warnings),
        Status::Pass => None,
        Status::Fail => d
            .excerpt(ExcerptKind::Fail)
            .or_else(|| d.excerpt(ExcerptKind::Tail)),
        _ if partial_patchset && ktest_status.as_deref() == Some("SUCCESS") => {
            if d.warnings > 0 {
                d.excerpt(ExcerptKind::Warnings)
            } else {
                None
            }
        }
        _ => d.excerpt(ExcerptKind::Tail),
    });
    if excerpt.is_some() {
        t.set(
            "build",
            "log_excerpt",
            &"…",
            format!("{diag_file} (diagnostics engine)"),
        );
    }

    // ---- misc ----
    let mut misc = Map::new();
    if let Some(d) = diag {
        misc.insert("warnings".into(), json!(d.warnings));
        misc.insert("errors".into(), json!(d.errors));
        // the script's own grep: case-insensitive since 2018, sensitive before
        let sensitive = facts.str(keys::RUN_COUNT_CASE).map(|(c, _)| c) == Some("sensitive");
        let (w_raw, e_raw) = if sensitive {
            (
                facts
                    .int(keys::LOG_WARNINGS_RAW_CS)
                    .map(|x| x.0 as u64)
                    .unwrap_or(0),
                facts
                    .int(keys::LOG_ERRORS_RAW_CS)
                    .map(|x| x.0 as u64)
                    .unwrap_or(0),
            )
        } else {
            (d.warnings_raw, d.errors_raw)
        };
        misc.insert("warnings_raw".into(), json!(w_raw));
        misc.insert("errors_raw".into(), json!(e_raw));
        if d.nul_bytes > 0 {
            misc.insert("log_nul_bytes".into(), json!(d.nul_bytes));
        }
        if d.distinct_untracked > 0 {
            // the distinct counts are an upper bound (see DiagReport)
            misc.insert("distinct_upper_bound".into(), json!(true));
        }
        misc.insert("warnings_by_kind".into(), json!(d.warnings_by_kind));
        misc.insert("errors_by_kind".into(), json!(d.errors_by_kind));
        for (key, reported, raw) in [
            ("warnings_raw", keys::WARNINGS_REPORTED, w_raw),
            ("errors_raw", keys::ERRORS_REPORTED, e_raw),
        ] {
            let mut dis = Vec::new();
            let mut agree = String::new();
            if let Some((n, loc)) = facts.int(reported) {
                if n as u64 != raw {
                    dis.push(format!("{loc} says {n}"));
                } else {
                    agree = format!("; {loc} says {n} too");
                }
            }
            t.sources.push(FieldSource {
                object: "build",
                field: if key == "warnings_raw" {
                    "misc.warnings_raw"
                } else {
                    "misc.errors_raw"
                },
                value: json!(raw),
                source: format!(
                    "{diag_file} (grep -c{} compatible recount{agree})",
                    if sensitive { "" } else { " -i" }
                ),
                disagreements: dis,
            });
        }
    }
    if diag.is_none() {
        // no build log: the script's own counts from output_log
        for (key, reported) in [
            ("warnings_raw", keys::WARNINGS_REPORTED),
            ("errors_raw", keys::ERRORS_REPORTED),
        ] {
            if let Some((n, _)) = facts.int(reported) {
                misc.insert(key.into(), json!(n));
            }
        }
    }
    if let Some((n, _)) = facts.int(keys::KTEST_EXIT) {
        misc.insert("ktest_exit".into(), json!(n));
    }
    if let Some(s) = &ktest_status {
        misc.insert("ktest_status".into(), json!(s));
    }
    if partial_patchset {
        misc.insert("partial_patchset".into(), json!(true));
    }
    if let Some((n, _)) = facts.int(keys::KTEST_WARNINGS_FOUND) {
        misc.insert("ktest_warning_count".into(), json!(n));
    }
    if let Some(r) = fstr(facts, keys::KERNEL_RELEASE).or_else(|| tux(facts, "kernelrelease")) {
        misc.insert("kernel_release".into(), json!(r.value));
    }
    let machine = fstr(facts, &format!("{}MACHINE", keys::KTEST_OPT_PREFIX))
        .or_else(|| fstr(facts, &format!("{}MACHINE", keys::KTEST_CONF_PREFIX)));
    if let Some(m) = machine {
        misc.insert("builder".into(), json!(m.value));
    }
    if !run_id.is_empty() {
        misc.insert("run_id".into(), json!(run_id));
    }
    misc.insert("source_layout".into(), json!(ctx.layout));
    misc.insert(
        "harvester".into(),
        json!({"name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION")}),
    );
    if let Some(cc) = make_cmd.as_ref().map(|c| c.value.as_str()) {
        if cc.contains("ccache") {
            misc.insert("cc_wrapper".into(), json!("ccache"));
        }
    }

    let comment = ov.comment.clone().or_else(|| {
        let cfg = config_name.as_deref()?;
        let rel = facts
            .str(keys::KERNEL_RELEASE)
            .map(|(r, _)| r.to_string())
            .or(kernel_version.clone())?;
        Some(match diag {
            Some(d) => format!(
                "ktest {cfg} build of {rel} (W:{} ({} distinct) E:{} ({} distinct))",
                d.warnings_raw, d.warnings, d.errors_raw, d.errors
            ),
            None => format!("ktest {cfg} build of {rel}"),
        })
    });

    let build = Build {
        id: b_id,
        origin: ctx.origin.to_string(),
        checkout_id: ck_id,
        comment,
        start_time: build_start,
        duration: duration.and_then(seconds_number),
        architecture: arch,
        command,
        compiler,
        config_name,
        log_excerpt: excerpt,
        status: Some(status),
        misc: Some(misc),
        ..Default::default()
    };

    let version_label = kernel_version
        .or_else(|| {
            facts
                .str(keys::MAKEFILE_VERSION)
                .map(|(v, _)| v.to_string())
        })
        .unwrap_or_else(|| ctx.dir_name.to_string());

    Merged {
        report: Report {
            checkouts: vec![checkout],
            builds: vec![build],
            ..Default::default()
        },
        warnings: identity_warnings(&t.sources),
        sources: t.sources,
        commit_known: commit_known && !patchset_unknown,
        version_label,
        ktest_status,
        status,
        status_reason,
    }
}

/// True when the facts come from a ktest run (its framing was seen).
pub fn is_ktest_run(facts: &Facts) -> bool {
    facts.has(keys::KTEST_RUNS) || facts.has(keys::KTEST_EXIT) || facts.has(keys::KTEST_STEP)
}

/// Status of a build log without ktest framing (tuxmake, bare logs):
/// harvest.md §3.5. PASS only when the log (or tuxmake, or `time`) shows
/// the build finished without a make failure.
pub fn decide_status_plain(facts: &Facts, diag: Option<&DiagReport>) -> (Status, String) {
    let code_errors = diag.map(|d| d.errors).unwrap_or(0);
    let env = diag.and_then(|d| d.environment_failures.first().cloned());
    let failed = facts.last(keys::LOG_MAKE_FAILED).map(|f| f.loc.to_string());
    let tux = facts
        .str("tuxmake.status")
        .map(|(s, l)| (s.to_ascii_uppercase(), l.to_string()));
    let time_exit = facts.int(keys::TIME_EXIT);
    let broke = failed.is_some()
        || matches!(&tux, Some((s, _)) if s == "FAIL")
        || matches!(time_exit, Some((c, _)) if c != 0);
    if broke {
        let at = failed
            .or(tux.as_ref().map(|t| t.1.clone()))
            .or(time_exit.map(|t| t.1.to_string()))
            .unwrap_or_default();
        if let Some(e) = env {
            if code_errors == 0 {
                return (
                    Status::Error,
                    format!("the build failed ({at}) and the environment is to blame: {e}"),
                );
            }
        }
        if code_errors > 0 {
            return (
                Status::Fail,
                format!("the build failed ({at}) with {code_errors} distinct error(s)"),
            );
        }
        return (
            Status::Error,
            format!("the build failed ({at}) but no error in the log explains it"),
        );
    }
    if let Some((s, l)) = &tux {
        if s == "PASS" || s == "WARNING" {
            return (Status::Pass, format!("tuxmake says {s} ({l})"));
        }
    }
    if let Some(k) = facts.last(keys::LOG_KERNEL_READY) {
        return (
            Status::Pass,
            format!("the kernel image was built ({})", k.loc),
        );
    }
    if let Some((0, l)) = time_exit {
        return (
            Status::Pass,
            format!("the build command exited 0 ({l}) with no make failure"),
        );
    }
    (
        Status::Error,
        "the log shows neither a finished build nor a make failure".to_string(),
    )
}

/// Build status from the ktest framing and the diagnostics (harvest.md §4,
/// inputs-reference §8.4). Returns (ktest's own verdict, status, reason).
pub fn decide_status(facts: &Facts, diag: Option<&DiagReport>) -> (Option<String>, Status, String) {
    let code_errors = diag.map(|d| d.errors).unwrap_or(0);
    let env = diag.and_then(|d| d.environment_failures.first().cloned());
    let kconfig_errors = diag
        .and_then(|d| d.errors_by_kind.get("kconfig").copied())
        .unwrap_or(0);

    // The last verdict in the log wins (appended re-runs).
    let success = facts.last(keys::KTEST_SUCCESS_BANNER);
    let critical = facts.last(keys::KTEST_CRITICAL);
    let failed = facts.last(keys::KTEST_FAILED_BANNER);
    let last_failure = match (critical, failed) {
        (Some(a), Some(b)) => Some(if a.loc.line >= b.loc.line { a } else { b }),
        (a, b) => a.or(b),
    };
    let failure_wins = match (success, last_failure) {
        (Some(s), Some(f)) => f.loc.line > s.loc.line,
        (None, Some(_)) => true,
        _ => false,
    };
    if let (Some(s), false) = (success, failure_wins) {
        return (
            Some("SUCCESS".into()),
            Status::Pass,
            format!("success banner at {}", s.loc),
        );
    }
    if let Some(f) = last_failure {
        let reason = f.value.as_str().unwrap_or("").trim().to_string();
        let at = f.loc.to_string();
        let lower = reason.to_ascii_lowercase();
        if lower.contains("failed build") || lower.contains("build") && !lower.contains("config") {
            if let Some(e) = &env {
                if code_errors == 0
                    || diag
                        .map(|d| d.errors_by_kind.keys().all(|k| k == "make"))
                        .unwrap_or(true)
                {
                    return (
                        Some("FAILED".into()),
                        Status::Error,
                        format!("ktest: {reason} ({at}); the environment failed: {e}"),
                    );
                }
            }
            if code_errors > 0 {
                return (
                    Some("FAILED".into()),
                    Status::Fail,
                    format!(
                        "ktest: {reason} ({at}) with {code_errors} distinct error(s) in the build"
                    ),
                );
            }
            return (
                Some("FAILED".into()),
                Status::Error,
                format!("ktest: {reason} ({at}) but no error in the log explains it"),
            );
        }
        if lower.contains("config") {
            if kconfig_errors > 0 {
                return (
                    Some("FAILED".into()),
                    Status::Fail,
                    format!("ktest: {reason} ({at}) with Kconfig errors"),
                );
            }
            return (
                Some("FAILED".into()),
                Status::Error,
                format!("ktest: {reason} ({at}), no Kconfig error: the tooling failed"),
            );
        }
        return (
            Some("FAILED".into()),
            Status::Error,
            format!("ktest: {reason} ({at}): the tooling failed"),
        );
    }
    if let Some(i) = facts.last(keys::KTEST_INTERRUPTED) {
        return (
            Some("INTERRUPTED".into()),
            Status::Error,
            format!("ktest was interrupted ({})", i.loc),
        );
    }
    if let Some((code, loc)) = facts.int(keys::KTEST_EXIT) {
        let what = facts
            .str(keys::KTEST_UNFINISHED)
            .map(|(c, _)| format!("; the log ends inside `{c}`"))
            .unwrap_or_default();
        return (
            None,
            Status::Error,
            format!("KTEST_RUN = {code} ({loc}) but no ktest verdict in the log{what}"),
        );
    }
    let what = facts
        .str(keys::KTEST_UNFINISHED)
        .map(|(c, _)| format!(": the log ends inside `{c}`"))
        .unwrap_or_default();
    (
        None,
        Status::Error,
        format!("the run never finished (no KTEST_RUN, no verdict){what}"),
    )
}

/// At most 16384 characters, no NUL, cut on a line boundary.
pub fn clip_excerpt(s: &str) -> String {
    let clean: String = s.chars().filter(|c| *c != '\0').collect();
    if clean.chars().count() <= 16384 {
        return clean;
    }
    let mut out = String::new();
    let mut n = 0;
    for line in clean.split_inclusive('\n') {
        let c = line.chars().count();
        if n + c > 16384 {
            break;
        }
        out.push_str(line);
        n += c;
    }
    if out.is_empty() {
        out = clean.chars().take(16384).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_from_make_command() {
        let cases = [
            (r#"KBUILD_BUILD_TIMESTAMP='' make CC="ccache gcc-12""#, Some("gcc-12")),
            ("make CC=clang O=out", Some("clang")),
            ("make --silent 'CC=sccache arm-linux-gnueabihf-gcc' 'HOSTCC=sccache gcc' tinyconfig", Some("arm-linux-gnueabihf-gcc")),
            ("CC=ccache make", None),
            ("make -j8", None),
        ];
        for (cmd, want) in cases {
            assert_eq!(cc_from_make_cmd(cmd).as_deref(), want, "{cmd}");
        }
    }

    #[test]
    fn architectures() {
        assert_eq!(kernelci_arch("x86", Some(true)).as_deref(), Some("x86_64"));
        assert_eq!(kernelci_arch("x86", Some(false)).as_deref(), Some("i386"));
        assert_eq!(kernelci_arch("x86", None), None);
        assert_eq!(kernelci_arch("aarch64", None).as_deref(), Some("arm64"));
        assert_eq!(kernelci_arch("riscv64", None).as_deref(), Some("riscv"));
        assert_eq!(kernelci_arch("x86-64", None), None);
    }

    #[test]
    fn repository_urls() {
        assert!(is_local_path("/home/bob/linux/stable"));
        assert!(is_local_path("file:///srv/git/linux"));
        assert!(!is_local_path(
            "git://git.kernel.org/pub/scm/linux/kernel/git/stable/linux-stable-rc.git"
        ));
        assert!(!is_local_path("git@github.com:x/linux.git"));
        assert_eq!(
            public_https(
                "git://git.kernel.org/pub/scm/linux/kernel/git/stable/linux-stable-rc.git"
            )
            .as_deref(),
            Some("https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux-stable-rc.git")
        );
        assert_eq!(public_https("git@github.com:x/linux.git"), None);
    }

    #[test]
    fn tree_names() {
        assert_eq!(tree_from_url(STABLE_URL), Some("stable"));
        assert_eq!(
            tree_from_url(
                "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux-stable-rc.git"
            ),
            Some("stable-rc")
        );
        assert_eq!(
            tree_from_url("https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git"),
            Some("mainline")
        );
        assert_eq!(tree_from_url("https://example.org/x.git"), None);
    }

    #[test]
    fn ids_follow_kci_dev_formula() {
        let ck = checkout_id("myci", "https://x/linux.git", "master", "0123", "");
        assert_eq!(
            ck,
            format!("myci:ck-{}", sha256_hex("https://x/linux.git|master|0123|"))
        );
        let b = build_id("myci", &ck, "x86_64", "defconfig", "gcc", "r1");
        assert_eq!(
            b,
            format!(
                "myci:b-{}",
                sha256_hex(&format!("{ck}|x86_64|defconfig|gcc|r1"))
            )
        );
    }

    #[test]
    fn seconds_and_excerpts() {
        assert_eq!(
            seconds_number(640.0).map(|n| n.to_string()).as_deref(),
            Some("640")
        );
        assert_eq!(
            seconds_number(41.67).map(|n| n.to_string()).as_deref(),
            Some("41.67")
        );
        assert!(seconds_number(f64::NAN).is_none());
        let long = "é".repeat(10_000) + "\n" + &"x".repeat(10_000);
        let c = clip_excerpt(&long);
        assert!(c.chars().count() <= 16384);
        assert!(!clip_excerpt("a\0b").contains('\0'));
        assert_eq!(
            normalise_time("1795908841").as_deref(),
            Some("2026-11-28T23:34:01Z")
        );
        assert_eq!(
            normalise_time("2026-11-28T23:34:01+01:00").as_deref(),
            Some("2026-11-28T23:34:01+01:00")
        );
    }
}
