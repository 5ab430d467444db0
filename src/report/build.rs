//! The build: architecture, compiler, config, times and command, then its
//! id, excerpt and comment once the status is known.
//!
//! The precedence of each field is the order of the candidates in its
//! `pick` call; the README's field table says the same in prose.

use kcidb_harvest_parsers::diag::DiagReport;
use kcidb_harvest_parsers::{keys, Facts};

use super::names::{self, normalise_time};
use super::provenance::{ffloat, fint, flag, fstr, ktest_option, tux, Cand, Tracker};
use super::status::{self, Verdict};
use super::MergeContext;
use crate::cli::Overrides;

/// The build's fields read from the facts (before its status).
pub struct Fields {
    pub architecture: Option<String>,
    pub compiler: Option<String>,
    pub config_name: Option<String>,
    pub start_time: Option<String>,
    /// Seconds.
    pub duration: Option<f64>,
    pub command: Option<String>,
}

impl Fields {
    /// A build with these fields set (the caller adds id, origin,
    /// checkout, comment, excerpt, status and misc).
    pub fn into_build(self) -> crate::kcidb::Build {
        crate::kcidb::Build {
            start_time: self.start_time,
            duration: self.duration.and_then(names::seconds_number),
            architecture: self.architecture,
            command: self.command,
            compiler: self.compiler,
            config_name: self.config_name,
            ..Default::default()
        }
    }
}

/// `W:25 E:0 640 seconds`: the raw counts of the build's misc (the
/// script's grep) and its duration, as the mail line has them.
pub fn counts_text(b: &crate::kcidb::Build) -> String {
    let misc = b.misc.as_ref();
    let get = |k: &str| misc.and_then(|m| m.get(k)).and_then(|v| v.as_u64());
    let mut counts = Vec::new();
    for (raw, letter) in [("warnings_raw", "W"), ("errors_raw", "E")] {
        if let Some(r) = get(raw) {
            counts.push(format!("{letter}:{r}"));
        }
    }
    if let Some(d) = &b.duration {
        counts.push(format!("{d} seconds"));
    }
    counts.join(" ")
}

/// The build's fields that do not depend on its status.
pub fn fields(facts: &Facts, ov: &Overrides, t: &mut Tracker) -> Fields {
    let make_cmd = ktest_option(facts, "MAKE_CMD");
    Fields {
        architecture: architecture(facts, ov, make_cmd.clone(), t),
        compiler: compiler(facts, ov, make_cmd, t),
        config_name: config_name(facts, ov, t),
        start_time: start_time(facts, ov, t),
        duration: duration(facts, ov, t),
        command: t.pick(
            "build",
            "command",
            vec![
                flag(&ov.command, "command"),
                fstr(facts, keys::KTEST_BUILD_COMMAND),
                tux(facts, "reproducer_cmdline"),
                fstr(facts, keys::LOG_TUXMAKE_CMD),
            ],
        ),
    }
}

fn architecture(
    facts: &Facts,
    ov: &Overrides,
    make_cmd: Option<Cand<String>>,
    t: &mut Tracker,
) -> Option<String> {
    let is64 = facts
        .bool(keys::CONFIG_64BIT)
        .map(|(b, _)| b)
        .unwrap_or(false);
    let arch_of = |a: String| names::kernelci_arch(&a, None);
    let make_arch_of =
        |c: String| names::arch_from_make_cmd(&c).and_then(|a| names::kernelci_arch(&a, None));
    t.pick(
        "build",
        "architecture",
        vec![
            flag(&ov.arch, "arch"),
            fstr(facts, keys::CONFIG_SRCARCH).and_then(|c| {
                c.derive(
                    |a| names::kernelci_arch(&a, Some(is64)),
                    " (+ CONFIG_64BIT)",
                )
            }),
            fstr(facts, keys::UTS_MACHINE).and_then(|c| c.derive(arch_of, "")),
            tux(facts, "target_arch").and_then(|c| c.derive(arch_of, "")),
            make_cmd.and_then(|c| c.derive(make_arch_of, " (ARCH= of MAKE_CMD)")),
            fstr(facts, keys::LOG_MAKE_CMD)
                .and_then(|c| c.derive(make_arch_of, " (ARCH= of the make command)")),
        ],
    )
}

fn compiler(
    facts: &Facts,
    ov: &Overrides,
    make_cmd: Option<Cand<String>>,
    t: &mut Tracker,
) -> Option<String> {
    let cc_of = |c: String| names::cc_from_make_cmd(&c);
    t.pick(
        "build",
        "compiler",
        vec![
            flag(&ov.compiler, "compiler"),
            fstr(facts, keys::CONFIG_CC_VERSION_TEXT),
            fstr(facts, keys::LINUX_COMPILER)
                .map(|c| c.map(|v| names::compiler_without_linker(&v))),
            tux(facts, "compiler_version_full"),
            make_cmd.and_then(|c| c.derive(cc_of, " (CC= of MAKE_CMD, without ccache)")),
            tux(facts, "toolchain"),
            fstr(facts, keys::LOG_MAKE_CMD)
                .and_then(|c| c.derive(cc_of, " (CC= of the make command)")),
        ],
    )
}

fn config_name(facts: &Facts, ov: &Overrides, t: &mut Tracker) -> Option<String> {
    let build_type = |prefix: &str| {
        fstr(facts, &format!("{prefix}BUILD_TYPE")).map(|c| c.map(names::config_of_build_type))
    };
    t.pick(
        "build",
        "config_name",
        vec![
            flag(&ov.config_name, "config-name"),
            build_type(keys::KTEST_OPT_PREFIX),
            build_type(keys::KTEST_CONF_PREFIX),
            tux(facts, "kconfig"),
        ],
    )
}

fn start_time(facts: &Facts, ov: &Overrides, t: &mut Tracker) -> Option<String> {
    let last_quiltimport = facts.last(keys::GIT_QUILTIMPORT).and_then(|f| {
        let time = f.value.get("time")?.as_str()?;
        Some(Cand {
            value: time.to_string(),
            source: format!("{} (last quiltimport, just before ktest started)", f.loc),
        })
    });
    t.pick(
        "build",
        "start_time",
        vec![
            flag(&ov.build_start_time, "build-start-time")
                .and_then(|c| c.derive(|v| normalise_time(&v), "")),
            fstr(facts, keys::START_TIME),
            last_quiltimport,
            fstr(facts, keys::GIT_CLONE_TIME),
        ],
    )
}

fn duration(facts: &Facts, ov: &Overrides, t: &mut Tracker) -> Option<f64> {
    let secs = |c: Option<Cand<i64>>| c.map(|c| c.map(|v| v as f64));
    t.pick(
        "build",
        "duration",
        vec![
            flag(&ov.duration, "duration"),
            secs(fint(facts, keys::TOOK_SECONDS)),
            secs(fint(facts, keys::KTEST_BUILD_TIME)),
            secs(fint(facts, keys::KTEST_BUILD_SECONDS)),
            ffloat(facts, "tuxmake.duration"),
            ffloat(facts, keys::TIME_ELAPSED),
        ],
    )
}

/// `--build-id`, else the kci-dev formula (see [`super::ids::build_id`]).
pub fn id(
    ctx: &MergeContext<'_>,
    checkout_id: &str,
    f: &Fields,
    run_id: &str,
    t: &mut Tracker,
) -> String {
    if let Some(id) = &ctx.overrides.build_id {
        t.set("build", "id", id, "--build-id");
        return id.clone();
    }
    let id = super::ids::build_id(
        ctx.origin,
        checkout_id,
        f.architecture.as_deref().unwrap_or(""),
        f.config_name.as_deref().unwrap_or(""),
        f.compiler.as_deref().unwrap_or(""),
        run_id,
    );
    t.set(
        "build",
        "id",
        &id,
        "rule: <origin>:b-sha256(checkout_id|architecture|config_name|compiler|run_id)",
    );
    id
}

/// The build log excerpt for `verdict` (see [`status::build_excerpt`]).
pub fn excerpt(
    facts: &Facts,
    verdict: &Verdict,
    partial_patchset: bool,
    t: &mut Tracker,
) -> Option<String> {
    let (file, d) = facts.diag.as_ref()?;
    let excerpt = status::build_excerpt(Some(d), verdict, partial_patchset)?;
    t.set(
        "build",
        "log_excerpt",
        &"…",
        format!("{file} (diagnostics engine)"),
    );
    Some(excerpt)
}

/// `ktest tinyconfig build of 6.1.192 (W:25 (3 distinct) E:0 (0 distinct))`,
/// unless `--comment`.
pub fn comment(
    facts: &Facts,
    ov: &Overrides,
    config_name: Option<&str>,
    kernel_version: Option<&str>,
) -> Option<String> {
    if let Some(c) = &ov.comment {
        return Some(c.clone());
    }
    let cfg = config_name?;
    let release = facts
        .str(keys::KERNEL_RELEASE)
        .map(|(r, _)| r)
        .or(kernel_version)?;
    Some(match facts.diag.as_ref().map(|(_, d)| d) {
        Some(d) => format!("ktest {cfg} build of {release} ({})", counts(d)),
        None => format!("ktest {cfg} build of {release}"),
    })
}

fn counts(d: &DiagReport) -> String {
    format!(
        "W:{} ({} distinct) E:{} ({} distinct)",
        d.warnings_raw, d.warnings, d.errors_raw, d.errors
    )
}
