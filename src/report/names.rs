//! Names and normal forms: the run's kernel version and the version
//! label, KernelCI architectures and tree names, the compiler and ARCH of
//! a make command, the config name of a ktest BUILD_TYPE, public
//! repository URLs, commit hashes, seconds and timestamps.

use std::sync::LazyLock;

use kcidb_harvest_parsers::{keys, Facts};
use regex::Regex;

/// The stable tree's public URL (the default for a linux-X.Y.y branch
/// cloned from a local mirror).
pub const STABLE_URL: &str = "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git";

/// The kernel version the run was for (`6.1`): test_stable_ssh's
/// KERNEL_VERSION (run_test.sh, else output_log), else the `<V>` of a
/// `stable_test_<V>_XXXXX` directory name.
pub fn kernel_version(facts: &Facts, dir_name: &str) -> Option<String> {
    facts
        .str(keys::RUN_KERNEL_VERSION)
        .or_else(|| facts.str(keys::OUTPUT_KERNEL_VERSION))
        .map(|(v, _)| v.to_string())
        .or_else(|| STABLE_DIR_RE.captures(dir_name).map(|c| c[1].to_string()))
}

/// `6.1` for the human line: the kernel version, else the Makefile's
/// release, else the directory name.
pub fn version_label(facts: &Facts, kernel_version: Option<&str>, dir_name: &str) -> String {
    kernel_version
        .or_else(|| facts.str(keys::MAKEFILE_VERSION).map(|(v, _)| v))
        .unwrap_or(dir_name)
        .to_string()
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
        other => return is_word(other).then(|| other.to_string()),
    };
    Some(name.to_string())
}

/// Non-empty, letters, digits and `_` only.
fn is_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
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

/// The compiler of a `LINUX_COMPILER` string, without the linker:
/// `gcc (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40`
/// → `gcc (Debian 12.2.0-14) 12.2.0`.
pub fn compiler_without_linker(linux_compiler: &str) -> String {
    let s = linux_compiler
        .split(", GNU ld")
        .next()
        .unwrap_or(linux_compiler);
    s.split(", LLD").next().unwrap_or(s).trim().to_string()
}

/// The config name of a ktest BUILD_TYPE: the file name of a
/// `useconfig:<path>`, else the BUILD_TYPE itself (`allmodconfig`).
pub fn config_of_build_type(build_type: String) -> String {
    match build_type.split_once(':') {
        Some(("useconfig", path)) => path.rsplit('/').next().unwrap_or(path).to_string(),
        _ => build_type,
    }
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
pub fn is_local_path(src: &str) -> bool {
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

/// A stable branch name: `linux-6.1.y`.
pub fn is_stable_branch(b: &str) -> bool {
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
pub fn is_sha1(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && !s.bytes().all(|b| b == b'0')
}

/// Whole seconds as an integer, else a float rounded to milliseconds
/// (never NaN, never negative).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_from_make_command() {
        let cases = [
            (r#"KBUILD_BUILD_TIMESTAMP='' make CC="ccache gcc-12""#, Some("gcc-12")),
            ("make CC=clang O=out", Some("clang")),
            ("make --silent 'CC=sccache arm-linux-gnueabihf-gcc' 'HOSTCC=sccache gcc' tinyconfig", Some("arm-linux-gnueabihf-gcc")),
            ("make CC=\"distcc ccache\" -j8", None),
            ("CC=ccache make", None),
            ("make -j8", None),
        ];
        for (cmd, want) in cases {
            assert_eq!(cc_from_make_cmd(cmd).as_deref(), want, "{cmd}");
        }
    }

    #[test]
    fn architecture_from_make_command() {
        assert_eq!(
            arch_from_make_cmd("make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- O=out").as_deref(),
            Some("arm64")
        );
        assert_eq!(
            arch_from_make_cmd("make ARCH=\"riscv\" -j4").as_deref(),
            Some("riscv")
        );
        assert_eq!(arch_from_make_cmd("make -j8 O=/build"), None);
    }

    #[test]
    fn architectures() {
        assert_eq!(kernelci_arch("x86", Some(true)).as_deref(), Some("x86_64"));
        assert_eq!(kernelci_arch("x86", Some(false)).as_deref(), Some("i386"));
        assert_eq!(kernelci_arch("x86", None), None);
        assert_eq!(kernelci_arch("aarch64", None).as_deref(), Some("arm64"));
        assert_eq!(
            kernelci_arch(" PPC64LE\n", None).as_deref(),
            Some("powerpc")
        );
        assert_eq!(kernelci_arch("riscv64", None).as_deref(), Some("riscv"));
        assert_eq!(kernelci_arch("sparc64", None).as_deref(), Some("sparc64"));
        assert_eq!(kernelci_arch("x86-64", None), None);
        assert_eq!(kernelci_arch("", None), None);
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
        assert_eq!(
            public_https("http://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git")
                .as_deref(),
            Some("https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git")
        );
        assert_eq!(public_https("http://example.org/linux.git"), None);
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
        assert_eq!(
            tree_from_url("https://git.kernel.org/pub/scm/linux/kernel/git/next/linux-next/"),
            Some("next")
        );
        assert_eq!(
            tree_from_url("https://github.com/gregkh/linux-stable"),
            Some("stable")
        );
        assert_eq!(tree_from_url("https://example.org/x.git"), None);
    }

    #[test]
    fn stable_branches() {
        assert!(is_stable_branch("linux-6.1.y"));
        assert!(is_stable_branch("linux-5.15.y"));
        assert!(!is_stable_branch("linux-6.1.y-rc"));
        assert!(!is_stable_branch("master"));
    }

    #[test]
    fn version_from_facts_or_directory_name() {
        let mut facts = Facts::default();
        assert_eq!(
            kernel_version(&facts, "stable_test_6.1_Xa3b9"),
            Some("6.1".into())
        );
        assert_eq!(kernel_version(&facts, "build-2026-11-28"), None);
        assert_eq!(
            version_label(&facts, None, "build-2026-11-28"),
            "build-2026-11-28"
        );
        facts.push(keys::MAKEFILE_VERSION, "6.1.192", "linux/Makefile", Some(2));
        assert_eq!(version_label(&facts, None, "build-2026-11-28"), "6.1.192");
        facts.push(keys::OUTPUT_KERNEL_VERSION, "6.6", "output_log", Some(4));
        assert_eq!(
            kernel_version(&facts, "stable_test_6.1_Xa3b9"),
            Some("6.6".into())
        );
        facts.push(keys::RUN_KERNEL_VERSION, "5.15", "run_test.sh", Some(9));
        let v = kernel_version(&facts, "stable_test_6.1_Xa3b9");
        assert_eq!(v.as_deref(), Some("5.15"));
        assert_eq!(version_label(&facts, v.as_deref(), "x"), "5.15");
    }

    #[test]
    fn compilers_and_config_names() {
        assert_eq!(
            compiler_without_linker(
                "gcc (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40"
            ),
            "gcc (Debian 12.2.0-14) 12.2.0"
        );
        assert_eq!(
            compiler_without_linker("Debian clang version 16.0.6 (15), LLD 16.0.6"),
            "Debian clang version 16.0.6 (15)"
        );
        assert_eq!(compiler_without_linker("gcc-12 "), "gcc-12");
        assert_eq!(
            config_of_build_type("useconfig:/home/bob/configs/config-6.1-min".into()),
            "config-6.1-min"
        );
        assert_eq!(config_of_build_type("allmodconfig".into()), "allmodconfig");
        assert_eq!(config_of_build_type("oldconfig:x".into()), "oldconfig:x");
    }

    #[test]
    fn commit_hashes() {
        let base = "f4948065a9336ed79a687cabf6525821451ba553";
        assert!(is_sha1(base));
        assert!(!is_sha1(&base.to_ascii_uppercase()));
        assert!(!is_sha1(&"0".repeat(40)));
        assert!(!is_sha1(&base[..39]));
        assert!(!is_sha1("v6.1.192"));
    }

    #[test]
    fn seconds() {
        let s = |v| seconds_number(v).map(|n| n.to_string());
        assert_eq!(s(640.0).as_deref(), Some("640"));
        assert_eq!(s(41.67).as_deref(), Some("41.67"));
        assert_eq!(s(12.34567).as_deref(), Some("12.346"));
        assert!(seconds_number(f64::NAN).is_none());
        assert!(seconds_number(-1.0).is_none());
    }

    #[test]
    fn override_times() {
        assert_eq!(
            normalise_time("1795908841").as_deref(),
            Some("2026-11-28T23:34:01Z")
        );
        assert_eq!(
            normalise_time("2026-11-28T23:34:01+01:00").as_deref(),
            Some("2026-11-28T23:34:01+01:00")
        );
        assert_eq!(normalise_time("yesterday"), None);
    }
}
