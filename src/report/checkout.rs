//! The checkout: what was built (repository, branch, base commit, the
//! stable queue applied on it), whether the patched tree is whole, and
//! its id.
//!
//! The precedence of each field is the order of the candidates in its
//! `pick` call; the README's field table says the same in prose.

use kcidb_harvest_parsers::{keys, Facts};

use super::ids;
use super::misc::{self, CheckoutMisc};
use super::names::{self, is_sha1, STABLE_URL};
use super::patches::{self, Patches};
use super::provenance::{cand, flag, fstr, tux, Cand, Tracker};
use super::MergeContext;
use crate::cli::Overrides;
use crate::kcidb::Checkout;

/// The checkout and what the build and the summary need to know of it.
pub struct CheckoutPart {
    pub checkout: Checkout,
    pub commit_known: bool,
    /// A queue was applied but its patches are not here to hash.
    pub patchset_unknown: bool,
    /// The queue did not apply whole.
    pub partial_patchset: bool,
}

/// The checkout of `facts`, each field from its first source.
/// `kernel_version` is the run's (`6.1`), `run_id` what tells runs apart
/// (for an unknown commit).
pub fn checkout(
    facts: &Facts,
    ctx: &MergeContext<'_>,
    kernel_version: Option<&str>,
    run_id: &str,
    t: &mut Tracker,
) -> CheckoutPart {
    let ov = ctx.overrides;
    let patches = Patches::of(facts);
    let branch = branch(facts, ov, kernel_version, t);
    let git_repository_url = repository_url(facts, ov, branch.as_deref(), t);
    let tree_name = tree_name(ov, git_repository_url.as_deref(), t);
    let commit = base_commit(facts, ov, &patches, t);
    let patchset_hash = patchset_hash(facts, ctx, t);
    let partial_patchset = patches.partial();
    let valid = validity(facts, ctx, commit.is_some(), &patches, t);
    let start_time = t.pick(
        "checkout",
        "start_time",
        vec![
            fstr(facts, keys::GIT_CLONE_TIME),
            fstr(facts, keys::START_TIME),
        ],
    );
    let git_commit_name = commit_name(facts, commit.is_some(), t);
    let branch_tip = branch_tip(facts, commit.as_deref(), t);
    let patchset_unknown = patchset_hash.is_none() && patches::queue_was_applied(facts);
    let seeds = IdSeeds {
        repo: git_repository_url.as_deref().unwrap_or(""),
        branch: branch.as_deref().unwrap_or(""),
        commit: commit.as_deref(),
        patchset: patchset_hash.as_deref(),
        patchset_unknown,
        run_id,
    };
    let id = checkout_id(ctx, &seeds, t);
    let comment = comment(branch.as_deref(), git_commit_name.as_deref(), &patches);
    let checkout = Checkout {
        id,
        origin: ctx.origin.to_string(),
        tree_name,
        git_repository_url,
        git_commit_name,
        git_repository_branch_tip: branch_tip,
        patchset_hash,
        comment,
        start_time,
        log_excerpt: partial_patchset.then(|| patches.excerpt(facts)),
        valid,
        misc: misc::to_map(&CheckoutMisc::of(facts, commit.as_deref(), &patches)),
        git_commit_hash: commit,
        git_repository_branch: branch,
        ..Default::default()
    };
    CheckoutPart {
        commit_known: checkout.git_commit_hash.is_some(),
        checkout,
        patchset_unknown,
        partial_patchset,
    }
}

fn branch(
    facts: &Facts,
    ov: &Overrides,
    kernel_version: Option<&str>,
    t: &mut Tracker,
) -> Option<String> {
    t.pick(
        "checkout",
        "git_repository_branch",
        vec![
            flag(&ov.git_branch, "git-branch"),
            fstr(facts, keys::GIT_HEAD_BRANCH),
            fstr(facts, keys::RUN_CLONE_BRANCH),
            tux(facts, "git_branch"),
            cand(
                kernel_version.map(|v| format!("linux-{v}.y")),
                "rule: linux-<KERNEL_VERSION>.y",
            ),
        ],
    )
}

/// The public URL: an https source, else linux-stable for a stable
/// branch cloned from a local mirror (Greg's STABLE_GIT), never for
/// another remote.
fn repository_url(
    facts: &Facts,
    ov: &Overrides,
    branch: Option<&str>,
    t: &mut Tracker,
) -> Option<String> {
    let https = |c: Option<Cand<String>>| c?.derive(|v| names::public_https(&v), "");
    let clone_source = [
        keys::GIT_REMOTE_URL,
        keys::GIT_CLONE_SOURCE,
        keys::RUN_CLONE_SOURCE,
        keys::RUN_STABLE_GIT,
        keys::OUTPUT_STABLE_GIT,
    ]
    .iter()
    .find_map(|k| facts.str(k).map(|(v, _)| v));
    let local_source = clone_source.is_none_or(names::is_local_path);
    let stable_default = branch
        .filter(|b| names::is_stable_branch(b) && local_source)
        .map(|_| STABLE_URL.to_string());
    t.pick(
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
    )
}

fn tree_name(ov: &Overrides, repo_url: Option<&str>, t: &mut Tracker) -> Option<String> {
    t.pick(
        "checkout",
        "tree_name",
        vec![
            flag(&ov.tree_name, "tree-name"),
            cand(
                repo_url.and_then(names::tree_from_url).map(String::from),
                "rule: KernelCI tree name of the repository URL",
            ),
        ],
    )
}

/// The commit the queue was applied to: HEAD only when no patch was
/// committed or pulled on top of it.
fn base_commit(
    facts: &Facts,
    ov: &Overrides,
    patches: &Patches,
    t: &mut Tracker,
) -> Option<String> {
    let valid_sha = |c: Option<Cand<String>>| c.filter(|c| is_sha1(&c.value));
    let head_is_base = patches.in_git == 0
        && !facts.has(keys::QUILTIMPORT_APPLIED)
        && facts.str(keys::RUN_APPLY_METHOD).map(|(m, _)| m) != Some("git-pull");
    let head = fstr(facts, keys::GIT_HEAD_COMMIT)
        .filter(|_| head_is_base)
        .and_then(|c| c.derive(Some, " (no patches were committed, so HEAD is the base)"));
    t.pick(
        "checkout",
        "git_commit_hash",
        vec![
            valid_sha(flag(&ov.git_commit_hash, "git-commit-hash")),
            valid_sha(fstr(facts, keys::COMMIT_TXT)),
            valid_sha(fstr(facts, keys::GIT_CLONE_COMMIT)),
            valid_sha(fstr(facts, keys::GIT_ORIGIN_BRANCH_COMMIT)),
            valid_sha(tux(facts, "git_commit")),
            valid_sha(head),
        ],
    )
}

/// The queue's hash; "" (no patches) for a REMOTE_DIR run that shows no
/// queue, and for a tuxmake build of a git commit.
fn patchset_hash(facts: &Facts, ctx: &MergeContext<'_>, t: &mut Tracker) -> Option<String> {
    let no_queue = ctx.layout.is_test_stable_ssh()
        && !facts.has(keys::QUEUE_PATCHSET_HASH)
        && !facts.has(keys::TAR_MEMBER)
        && !facts.has(keys::QUILTIMPORT_APPLIED)
        && (facts.has(keys::NO_QUEUE)
            || facts.has(keys::RUN_KERNEL_VERSION)
            || facts.has(keys::KTEST_EXIT));
    let tux_commit = ctx.layout.builds_commit_as_is() && facts.has("tuxmake.git_commit");
    t.pick(
        "checkout",
        "patchset_hash",
        vec![
            flag(&ctx.overrides.patchset_hash, "patchset-hash"),
            fstr(facts, keys::QUEUE_PATCHSET_HASH),
            cand(
                no_queue.then(String::new),
                "rule: no stable_queue.tar.gz and no linux/patches: no patches",
            ),
            cand(
                tux_commit.then(String::new),
                "rule: tuxmake builds a git commit as is (no patches)",
            ),
        ],
    )
}

/// Invalid when the queue did not apply whole; valid when the commit is
/// known or a REMOTE_DIR run reached ktest; else unknown.
fn validity(
    facts: &Facts,
    ctx: &MergeContext<'_>,
    commit_known: bool,
    patches: &Patches,
    t: &mut Tracker,
) -> Option<bool> {
    let ktest_ran = facts.has(keys::KTEST_EXIT) || facts.has(keys::KTEST_RUNS);
    let valid = if patches.partial() {
        Some(false)
    } else if commit_known || (ctx.layout.is_test_stable_ssh() && ktest_ran) {
        Some(true)
    } else {
        None
    };
    if let Some(v) = valid {
        t.set("checkout", "valid", &v, patches.validity_rule());
    }
    valid
}

/// `v6.1.192`: the Makefile's release, when the base commit is known.
fn commit_name(facts: &Facts, commit_known: bool, t: &mut Tracker) -> Option<String> {
    let release = fstr(facts, keys::MAKEFILE_VERSION).filter(|_| commit_known);
    t.pick(
        "checkout",
        "git_commit_name",
        vec![release.map(|c| c.map(|v| format!("v{v}")))],
    )
}

/// Whether the cloned commit (the base) is the tip of the remote branch.
fn branch_tip(facts: &Facts, commit: Option<&str>, t: &mut Tracker) -> Option<bool> {
    let (clone, loc) = facts.str(keys::GIT_CLONE_COMMIT)?;
    let (origin, _) = facts.str(keys::GIT_ORIGIN_BRANCH_COMMIT)?;
    if commit != Some(clone) {
        return None;
    }
    let tip = clone == origin;
    t.set(
        "checkout",
        "git_repository_branch_tip",
        &tip,
        format!("{loc} vs refs/remotes/origin"),
    );
    Some(tip)
}

/// What goes into the checkout id.
struct IdSeeds<'a> {
    repo: &'a str,
    branch: &'a str,
    commit: Option<&'a str>,
    patchset: Option<&'a str>,
    patchset_unknown: bool,
    run_id: &'a str,
}

/// `--checkout-id`, else the kci-dev formula (see [`ids::checkout_id`]).
fn checkout_id(ctx: &MergeContext<'_>, s: &IdSeeds<'_>, t: &mut Tracker) -> String {
    if let Some(id) = &ctx.overrides.checkout_id {
        t.set("checkout", "id", id, "--checkout-id");
        return id.clone();
    }
    let id = ids::checkout_id(
        ctx.origin,
        s.repo,
        s.branch,
        &ids::commit_seed(s.commit, s.run_id),
        &ids::patchset_seed(s.patchset, s.patchset_unknown, s.run_id),
    );
    let rule = if s.patchset_unknown {
        "rule: <origin>:ck-sha256(repo_url|branch|commit|unknown:<run_id>) (a queue was applied but its patches are not here to hash)"
    } else if s.commit.is_some() {
        "rule: <origin>:ck-sha256(repo_url|branch|commit|patchset_hash)"
    } else {
        "rule: <origin>:ck-sha256(repo_url|branch|run:<run_id>|patchset_hash) (commit unknown)"
    };
    t.set("checkout", "id", &id, rule);
    id
}

/// `linux-6.1.y v6.1.192 + 3 stable-queue patches`.
fn comment(branch: Option<&str>, commit_name: Option<&str>, patches: &Patches) -> Option<String> {
    let queue = match patches.series.len() {
        0 => String::new(),
        n => format!(" + {n} stable-queue patches"),
    };
    Some(format!("{} {}{queue}", branch?, commit_name?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{Layout, LayoutKind, LAYOUTS};

    const BASE: &str = "19463f7e3ad6bee028585a29c8f9bd10fc6bcab6";

    fn layout(kind: LayoutKind) -> &'static Layout {
        LAYOUTS
            .iter()
            .find(|l| l.kind == kind)
            .expect("a layout of each kind")
    }

    fn part(facts: &Facts, kind: LayoutKind) -> (CheckoutPart, Tracker) {
        let ov = Overrides::default();
        let ctx = MergeContext {
            origin: "t",
            layout: layout(kind),
            overrides: &ov,
            dir_name: "stable_test_6.1_M6sWA",
        };
        let mut t = Tracker::default();
        let m = checkout(facts, &ctx, Some("6.1"), "b93d94", &mut t);
        (m, t)
    }

    /// A finished REMOTE_DIR run that printed no queue.
    fn unqueued_run() -> Facts {
        let mut f = Facts::default();
        f.push(keys::RUN_KERNEL_VERSION, "6.1", "run_test.sh", Some(3));
        f.push(
            keys::RUN_CLONE_SOURCE,
            "/home/bob/linux/stable",
            "run_test.sh",
            Some(12),
        );
        f.push(keys::KTEST_EXIT, 0, "output_log", Some(311));
        f
    }

    #[test]
    fn a_remote_dir_without_a_queue_had_no_patches_and_a_valid_checkout() {
        let (m, t) = part(&unqueued_run(), LayoutKind::TestStableSsh);
        let c = &m.checkout;
        assert_eq!(c.patchset_hash.as_deref(), Some(""));
        assert_eq!(c.valid, Some(true));
        assert_eq!(c.git_repository_branch.as_deref(), Some("linux-6.1.y"));
        assert_eq!(
            c.git_repository_url.as_deref(),
            Some(STABLE_URL),
            "a stable branch cloned from a local mirror"
        );
        assert_eq!(c.tree_name.as_deref(), Some("stable"));
        assert!(!m.commit_known && !m.patchset_unknown && !m.partial_patchset);
        assert_eq!(
            c.id,
            ids::checkout_id("t", STABLE_URL, "linux-6.1.y", "run:b93d94", "")
        );
        let fields: Vec<&str> = t.sources.iter().map(|s| s.field).collect();
        assert_eq!(
            fields,
            [
                "git_repository_branch",
                "git_repository_url",
                "tree_name",
                "patchset_hash",
                "valid",
                "id"
            ]
        );
    }

    #[test]
    fn the_same_facts_elsewhere_say_nothing_of_the_queue() {
        let (m, _) = part(&unqueued_run(), LayoutKind::Ktest);
        assert_eq!(m.checkout.patchset_hash, None);
        assert_eq!(m.checkout.valid, None);
    }

    #[test]
    fn tuxmake_builds_its_commit_as_is() {
        let mut f = Facts::default();
        f.push("tuxmake.git_commit", BASE, "metadata.json", None);
        f.push(
            "tuxmake.git_url",
            "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git",
            "metadata.json",
            None,
        );
        let (m, t) = part(&f, LayoutKind::Tuxmake);
        assert_eq!(m.checkout.git_commit_hash.as_deref(), Some(BASE));
        assert_eq!(m.checkout.patchset_hash.as_deref(), Some(""));
        assert_eq!(m.checkout.tree_name.as_deref(), Some("mainline"));
        assert_eq!(m.checkout.valid, Some(true));
        assert!(t
            .sources
            .iter()
            .any(|s| s.source == "rule: tuxmake builds a git commit as is (no patches)"));
        // a bare log with the same facts has no such rule
        let (m, _) = part(&f, LayoutKind::BuildLog);
        assert_eq!(m.checkout.patchset_hash, None);
    }

    #[test]
    fn a_partial_queue_invalidates_the_checkout() {
        let mut f = unqueued_run();
        f.push(keys::COMMIT_TXT, BASE, "commit.txt", Some(1));
        f.push(keys::MAKEFILE_VERSION, "6.1.192", "linux/Makefile", Some(2));
        f.push(
            keys::QUEUE_SERIES,
            serde_json::json!(["a.patch", "b.patch"]),
            "stable_queue.tar.gz",
            None,
        );
        f.push(keys::TAR_MEMBER, "./series", "output_log", Some(20));
        f.push(keys::QUILTIMPORT_APPLIED, "a.patch", "output_log", Some(40));
        let (m, _) = part(&f, LayoutKind::TestStableSsh);
        assert!(m.partial_patchset && m.commit_known && m.patchset_unknown);
        assert_eq!(m.checkout.valid, Some(false));
        assert_eq!(
            m.checkout.comment.as_deref(),
            Some("linux-6.1.y v6.1.192 + 2 stable-queue patches")
        );
        assert_eq!(
            m.checkout.log_excerpt.as_deref(),
            Some("applied: a.patch\nnot tried: b.patch")
        );
        assert_eq!(
            m.checkout.id,
            ids::checkout_id("t", STABLE_URL, "linux-6.1.y", BASE, "unknown:b93d94")
        );
    }
}
