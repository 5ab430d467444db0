//! Checks of the command line done once, before any work: a bad value is
//! a usage error (exit 2), never silently ignored.

use std::time::SystemTime;

use crate::cli::Overrides;
use crate::pipeline::Options;

/// Check `--origin`: required, `[a-z0-9_]+`.
pub fn check_origin(origin: Option<&str>) -> Result<String, String> {
    let o = origin.ok_or_else(|| {
        "--origin NAME is required (the KCIDB origin, e.g. --origin gregkh; or set KCIDB_HARVEST_ORIGIN)".to_string()
    })?;
    if o.is_empty()
        || !o
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!(
            "invalid origin `{o}`: KCIDB origins are lower-case letters, digits and `_` only"
        ));
    }
    Ok(o.to_string())
}

/// The options of a harvest from the command line: origin and overrides
/// checked (a usage error comes back as its message).
/// The options of a command that harvests named directories only to show
/// them (`diagnostics`, `diff`): no overrides, each directory finished.
pub fn listing_options(origin: Option<&str>) -> Result<Options, super::CmdError> {
    harvest_options(origin, &Overrides::default(), false, true).map_err(super::CmdError::Usage)
}

pub fn harvest_options(
    origin: Option<&str>,
    overrides: &Overrides,
    several: bool,
    assume_finished: bool,
) -> Result<Options, String> {
    Ok(Options {
        origin: check_origin(origin)?,
        overrides: check_overrides(overrides, several)?,
        assume_finished,
        now: SystemTime::now(),
        issues: Default::default(),
    })
}

/// Check and normalise the override flags once, before any work: a bad
/// value is a usage error (exit 2), never silently ignored. Overrides that
/// name one build (ids, commit, queue, times, command) are refused when
/// several directories are harvested: every build would get them.
pub fn check_overrides(ov: &Overrides, several: bool) -> Result<Overrides, String> {
    let mut ov = ov.clone();
    if several {
        let single: [(&str, bool); 8] = [
            ("--build-id", ov.build_id.is_some()),
            ("--checkout-id", ov.checkout_id.is_some()),
            ("--build-run-id", ov.build_run_id.is_some()),
            ("--git-commit-hash", ov.git_commit_hash.is_some()),
            ("--patchset-hash", ov.patchset_hash.is_some()),
            ("--build-start-time", ov.build_start_time.is_some()),
            ("--duration", ov.duration.is_some()),
            ("--command", ov.command.is_some()),
        ];
        if let Some((flag, _)) = single.iter().find(|(_, set)| *set) {
            return Err(format!(
                "{flag} describes one build: give exactly one DIR (and no -r) with it"
            ));
        }
    }
    if let Some(c) = &ov.git_commit_hash {
        let c = c.trim().to_ascii_lowercase();
        if c.len() != 40 || !c.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "--git-commit-hash `{c}`: 40 hexadecimal digits expected"
            ));
        }
        if c.bytes().all(|b| b == b'0') {
            return Err("--git-commit-hash: a hash of all zeros is not a commit".into());
        }
        ov.git_commit_hash = Some(c);
    }
    if let Some(p) = &ov.patchset_hash {
        let p = p.trim().to_ascii_lowercase();
        if !p.is_empty() && (p.len() != 64 || !p.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(format!(
                "--patchset-hash `{p}`: 64 hexadecimal digits or \"\" expected"
            ));
        }
        ov.patchset_hash = Some(p);
    }
    if let Some(t) = &ov.build_start_time {
        ov.build_start_time = Some(crate::report::normalise_time(t).ok_or_else(|| {
            format!("--build-start-time `{t}`: RFC 3339 with an offset (2026-11-28T23:34:01Z) or epoch seconds expected")
        })?);
    }
    if let Some(s) = &ov.status {
        s.parse::<crate::kcidb::Status>()?;
    }
    if let Some(a) = &ov.arch {
        if !a
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(format!(
                "--arch `{a}`: KCIDB architectures are [a-z0-9_] (x86_64, arm64, i386…)"
            ));
        }
    }
    if let Some(u) = &ov.git_repo_url {
        if !u.starts_with("https://") {
            return Err(format!(
                "--git-repo-url `{u}`: KCIDB accepts only https:// repository URLs"
            ));
        }
    }
    for (flag, id) in [
        ("--checkout-id", &ov.checkout_id),
        ("--build-id", &ov.build_id),
    ] {
        if let Some(id) = id {
            let ok = id.split_once(':').is_some_and(|(o, _)| {
                !o.is_empty()
                    && o.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            }) && !id.contains('\0');
            if !ok {
                return Err(format!(
                    "{flag} `{id}`: <origin>:<anything> expected (e.g. gregkh:my-build)"
                ));
            }
        }
    }
    if let Some(d) = ov.duration {
        if !d.is_finite() || d < 0.0 {
            return Err(format!("--duration {d}: a number of seconds expected"));
        }
    }
    Ok(ov)
}
