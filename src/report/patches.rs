//! The stable queue of a checkout: the patches listed, those applied
//! (where the run records them), and what a partial application looked
//! like.

use kcidb_harvest_parsers::{keys, Facts};

use super::status::clip_excerpt;

/// What the facts say about the queue's patches.
#[derive(Debug, Default)]
pub struct Patches {
    /// The queue's series, in order.
    pub series: Vec<String>,
    /// `quiltimport:` commits in the reflog.
    pub in_git: usize,
    /// quiltimport lines in output_log.
    pub in_output: usize,
    /// quilt's `.pc/applied-patches`, when it is there.
    pub in_quilt: Option<usize>,
    /// Patch-application failure lines of output_log.
    pub errors: Vec<String>,
}

impl Patches {
    pub fn of(facts: &Facts) -> Patches {
        let strings = |key| -> Vec<String> {
            facts
                .all(key)
                .filter_map(|f| f.value.as_str().map(String::from))
                .collect()
        };
        Patches {
            series: facts
                .last(keys::QUEUE_SERIES)
                .and_then(|f| f.value.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            in_git: facts.count(keys::GIT_QUILTIMPORT) as usize,
            in_output: facts.count(keys::QUILTIMPORT_APPLIED) as usize,
            in_quilt: facts
                .last(keys::QUEUE_QUILT_APPLIED)
                .and_then(|f| f.value.as_array().map(|a| a.len())),
            errors: strings(keys::PATCH_ERROR),
        }
    }

    /// How many patches were applied, by the best record.
    pub fn applied(&self) -> usize {
        self.in_git
            .max(self.in_output)
            .max(self.in_quilt.unwrap_or(0))
    }

    /// The run records each applied patch (quiltimport commits, output_log
    /// lines, quilt's .pc/applied-patches); `quilt push -aq` alone prints
    /// nothing, so fewer applied than listed means nothing without this.
    fn recorded(&self) -> bool {
        self.in_git > 0 || self.in_output > 0 || self.in_quilt.is_some()
    }

    /// The queue did not apply whole: a patch error, or fewer patches
    /// recorded as applied than the series lists.
    pub fn partial(&self) -> bool {
        !self.errors.is_empty()
            || (!self.series.is_empty() && self.applied() < self.series.len() && self.recorded())
    }

    /// Why the checkout is (in)valid, for its provenance.
    pub fn validity_rule(&self) -> String {
        if self.partial() {
            format!(
                "rule: {} of {} queue patches applied{}",
                self.applied(),
                self.series.len(),
                if self.errors.is_empty() {
                    ""
                } else {
                    ", patch errors in output_log"
                }
            )
        } else if self.series.is_empty() {
            "rule: no queue, the branch was checked out".to_string()
        } else {
            format!("rule: all {} queue patches applied", self.series.len())
        }
    }

    /// The checkout's excerpt for a partial application: each patch
    /// applied, failed or not tried, then the failure lines.
    pub fn excerpt(&self, facts: &Facts) -> String {
        let names = |key| facts.all(key).filter_map(|f| f.value.as_str());
        let mut lines: Vec<String> = names(keys::QUILTIMPORT_APPLIED)
            .map(|s| format!("applied: {s}"))
            .collect();
        lines.extend(names(keys::PATCH_FAILED).map(|s| format!("failed: {s}")));
        lines.extend(self.errors.iter().cloned());
        let tried: Vec<&str> = names(keys::QUILTIMPORT_APPLIED)
            .chain(names(keys::PATCH_FAILED))
            .collect();
        let untried: Vec<&String> = self
            .series
            .iter()
            .filter(|p| !tried.contains(&p.as_str()))
            .collect();
        if !untried.is_empty() && !tried.is_empty() {
            lines.extend(untried.iter().map(|p| format!("not tried: {p}")));
        }
        if lines.is_empty() {
            lines.push(format!(
                "{} of {} queue patches applied",
                self.applied(),
                self.series.len()
            ));
        }
        clip_excerpt(&lines.join("\n"))
    }
}

/// A queue was applied here (the tarball was unpacked, output_log or the
/// reflog shows patches going in), whether or not its patches are here.
pub fn queue_was_applied(facts: &Facts) -> bool {
    facts.has(keys::TAR_MEMBER)
        || facts.has(keys::QUILTIMPORT_APPLIED)
        || facts.has(keys::GIT_QUILTIMPORT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SERIES: [&str; 3] = [
        "net-fix-uaf.patch",
        "drm-i915-fix-oops.patch",
        "usb-gadget-fix.patch",
    ];

    fn queue() -> Facts {
        let mut f = Facts::default();
        f.push(
            keys::QUEUE_SERIES,
            json!(SERIES),
            "stable_queue.tar.gz",
            None,
        );
        f
    }

    #[test]
    fn a_failed_patch_is_partial_with_what_was_tried() {
        let mut f = queue();
        f.push(keys::QUILTIMPORT_APPLIED, SERIES[0], "output_log", Some(40));
        f.push(keys::PATCH_FAILED, SERIES[1], "output_log", Some(41));
        f.push(
            keys::PATCH_ERROR,
            "error: patch failed: drivers/gpu/drm/i915/i915_drv.c:812",
            "output_log",
            Some(42),
        );
        let p = Patches::of(&f);
        assert_eq!((p.applied(), p.series.len()), (1, 3));
        assert!(p.partial());
        assert_eq!(
            p.validity_rule(),
            "rule: 1 of 3 queue patches applied, patch errors in output_log"
        );
        assert_eq!(
            p.excerpt(&f),
            "applied: net-fix-uaf.patch\n\
             failed: drm-i915-fix-oops.patch\n\
             error: patch failed: drivers/gpu/drm/i915/i915_drv.c:812\n\
             not tried: usb-gadget-fix.patch"
        );
    }

    #[test]
    fn all_applied_in_git_is_whole() {
        let mut f = queue();
        for (i, p) in SERIES.iter().enumerate() {
            f.push(
                keys::GIT_QUILTIMPORT,
                json!({"patch": p, "commit": "f4948065a9336ed79a687cabf6525821451ba553", "time": "2026-11-28T23:34:01Z"}),
                "linux/.git/logs/HEAD",
                Some(2 + i as u64),
            );
        }
        let p = Patches::of(&f);
        assert!(!p.partial());
        assert_eq!(p.validity_rule(), "rule: all 3 queue patches applied");
        assert!(queue_was_applied(&f));
    }

    #[test]
    fn a_silent_quilt_push_is_not_partial() {
        // nothing records the patches applied: fewer than listed says nothing
        let p = Patches::of(&queue());
        assert_eq!(p.applied(), 0);
        assert!(!p.partial());
        // quilt's own record says one of three
        let mut f = queue();
        f.push(
            keys::QUEUE_QUILT_APPLIED,
            json!([SERIES[0]]),
            "linux/.pc/applied-patches",
            None,
        );
        let p = Patches::of(&f);
        assert!(p.partial());
        assert_eq!(p.excerpt(&f), "1 of 3 queue patches applied");
    }

    #[test]
    fn no_queue() {
        let p = Patches::of(&Facts::default());
        assert!(!p.partial());
        assert_eq!(
            p.validity_rule(),
            "rule: no queue, the branch was checked out"
        );
        assert!(!queue_was_applied(&Facts::default()));
    }
}
