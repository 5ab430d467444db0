//! The build: architecture, compiler, config, times and command, its
//! status and id, excerpt, misc and comment.

use kcidb_harvest_parsers::diag::{DiagReport, ExcerptKind};
use kcidb_harvest_parsers::{keys, Facts};

use super::checkout::CheckoutPart;
use super::ids::build_id;
use super::misc::build_misc;
use super::names::{
    arch_from_make_cmd, cc_from_make_cmd, kernelci_arch, normalise_time, seconds_number,
};
use super::provenance::{fint, flag, fstr, tux, Cand, Tracker};
use super::status::{decide_status, decide_status_plain, is_ktest_run};
use super::MergeContext;
use crate::kcidb::{Build, Status};

/// The build and its verdict.
pub struct BuildPart {
    pub build: Build,
    /// ktest's own verdict (`SUCCESS`, `FAILED`, …) when known.
    pub ktest_status: Option<String>,
    pub status: Status,
    pub status_reason: String,
}

/// The build of `facts` on checkout `ck`.
pub fn build(
    facts: &Facts,
    ctx: &MergeContext<'_>,
    ck: &CheckoutPart,
    t: &mut Tracker,
) -> BuildPart {
    let ov = ctx.overrides;
    let diag: Option<&DiagReport> = facts.diag.as_ref().map(|(_, d)| d);
    let diag_file = facts.diag.as_ref().map(|(f, _)| f.as_str()).unwrap_or("");
    let (ck_id, run_id, partial_patchset) = (&ck.checkout.id, &ck.run_id, ck.partial_patchset);
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
            ck_id,
            arch.as_deref().unwrap_or(""),
            config_name.as_deref().unwrap_or(""),
            compiler.as_deref().unwrap_or(""),
            run_id,
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

    let misc = build_misc(
        facts,
        ctx,
        diag,
        diag_file,
        ktest_status.as_deref(),
        partial_patchset,
        run_id,
        make_cmd.as_ref().map(|c| c.value.as_str()),
        t,
    );
    let comment = ov.comment.clone().or_else(|| {
        let cfg = config_name.as_deref()?;
        let rel = facts
            .str(keys::KERNEL_RELEASE)
            .map(|(r, _)| r.to_string())
            .or(ck.kernel_version.clone())?;
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
        checkout_id: ck_id.clone(),
        comment,
        start_time: build_start,
        duration: duration.and_then(seconds_number),
        architecture: arch,
        command,
        compiler,
        config_name,
        log_excerpt: excerpt,
        status: Some(status),
        misc: super::misc::to_map(&misc),
        ..Default::default()
    };
    BuildPart {
        build,
        ktest_status,
        status,
        status_reason,
    }
}
