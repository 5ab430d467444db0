//! The checkout: what was built (repository, branch, base commit, the
//! stable queue applied on it) and whether the patched tree is whole.

use kcidb_harvest_parsers::{keys, Facts};

use super::ids::checkout_id;
use super::misc::CheckoutMisc;
use super::names::{
    is_local_path, is_sha1, is_stable_branch, public_https, tree_from_url, STABLE_DIR_RE,
    STABLE_URL,
};
use super::provenance::{cand, flag, fstr, tux, Cand, Tracker};
use super::status::clip_excerpt;
use super::MergeContext;
use crate::kcidb::Checkout;

/// The checkout and what the build needs to know of it.
pub struct CheckoutPart {
    pub checkout: Checkout,
    /// `6.1`: KERNEL_VERSION, else the directory's name.
    pub kernel_version: Option<String>,
    /// The run id (`--build-run-id`, else the log's sha256): part of the ids.
    pub run_id: String,
    pub commit_known: bool,
    /// A queue was applied but its patches are not here to hash.
    pub patchset_unknown: bool,
    /// Some queue patches did not apply.
    pub partial_patchset: bool,
}

/// The checkout of `facts`, each field from its first source.
pub fn checkout(facts: &Facts, ctx: &MergeContext<'_>, t: &mut Tracker) -> CheckoutPart {
    let ov = ctx.overrides;
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
    let stable_dir = ctx.layout.is_test_stable_ssh();
    let tux_no_patches = (ctx.layout.builds_commit_as_is() && facts.has("tuxmake.git_commit"))
        .then(|| Cand {
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

    let ck_misc = CheckoutMisc {
        patched_commit: facts
            .str(keys::GIT_HEAD_COMMIT)
            .map(|(head, _)| head)
            .filter(|head| Some(*head) != commit.as_deref() && is_sha1(head))
            .map(String::from),
        patches: (!series.is_empty()).then_some(series.len()),
        patches_applied: (!series.is_empty()).then_some(applied),
        queue_source: facts.str(keys::QUEUE_SOURCE).map(|(s, _)| s.to_string()),
    };

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
        misc: super::misc::to_map(&ck_misc),
        ..Default::default()
    };
    CheckoutPart {
        checkout,
        kernel_version,
        run_id,
        commit_known,
        patchset_unknown,
        partial_patchset,
    }
}
