//! tuxmake's `metadata.json` (docs/inputs.md#tuxmake-metadata): result status,
//! target architecture, toolchain and compiler, kconfig, git identity,
//! kernel release, durations and tuxmake's own counts.

use serde_json::Value;

use crate::keys;
use crate::{Facts, Input, ParseError, Parser};

/// tuxmake metadata.json.
pub struct TuxmakeMetadata;

/// metadata.json files are a few KiB; refuse absurd ones (parsed whole, a
/// JSON value costs a few times its size: memory stays bounded).
const LIMIT: u64 = 4 << 20;

impl Parser for TuxmakeMetadata {
    fn id(&self) -> &'static str {
        "tuxmake-metadata"
    }
    fn description(&self) -> &'static str {
        "tuxmake metadata.json: status, target_arch, toolchain/compiler, kconfig, git url/branch/commit, kernel release, duration"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &["metadata.json"]
    }
    fn parse(&self, input: &Input, facts: &mut Facts) -> Result<(), ParseError> {
        let Some((name, text)) = input.read_small("metadata.json", LIMIT)? else {
            return Ok(());
        };
        let v: Value = serde_json::from_str(&text).map_err(|e| {
            ParseError::syntax(&name, Some(e.line() as u64), format!("not valid JSON: {e}"))
        })?;
        extract(&v, &name, facts);
        Ok(())
    }
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
}

/// A number at `path`: `Ok(None)` when absent (or null), `Err` with what
/// was found when it is there but not a finite number (a numeric string
/// is accepted): such a value is omitted with a warning, never taken as 0.
fn n(v: &Value, path: &[&str]) -> Result<Option<f64>, String> {
    match path.iter().try_fold(v, |v, k| v.get(k)) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => number(x).map(Some),
    }
}

fn number(x: &Value) -> Result<f64, String> {
    let got = match x {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    got.filter(|f| f.is_finite()).ok_or_else(|| {
        format!(
            "`{}` is not a number",
            crate::commit_txt::shorten(&x.to_string())
        )
    })
}

/// Pull the facts out of a parsed metadata.json.
pub fn extract(v: &Value, name: &str, facts: &mut Facts) {
    let p = keys::TUXMAKE_PREFIX;
    let strings: &[(&str, &[&str])] = &[
        ("status", &["results", "status"]),
        ("target_arch", &["build", "target_arch"]),
        ("toolchain", &["build", "toolchain"]),
        ("kconfig", &["build", "kconfig"]),
        ("reproducer_cmdline", &["build", "reproducer_cmdline"]),
        ("compiler_version_full", &["compiler", "version_full"]),
        ("git_url", &["git", "git_url"]),
        ("git_branch", &["git", "git_branch"]),
        ("git_commit", &["git", "git_commit"]),
        ("git_describe", &["git", "git_describe"]),
        ("kernelrelease", &["source", "kernelrelease"]),
        ("tuxmake_version", &["tuxmake", "version"]),
    ];
    for (key, path) in strings {
        if let Some(x) = s(v, path) {
            facts.push(format!("{p}{key}"), x.trim(), name, None);
        }
    }
    // reproducer_cmdline may be a list of words
    if s(v, &["build", "reproducer_cmdline"]).is_none() {
        if let Some(words) = v
            .get("build")
            .and_then(|b| b.get("reproducer_cmdline"))
            .and_then(|c| c.as_array())
        {
            let cmd: Vec<&str> = words.iter().filter_map(|w| w.as_str()).collect();
            if !cmd.is_empty() {
                facts.push(format!("{p}reproducer_cmdline"), cmd.join(" "), name, None);
            }
        }
    }
    for (key, path) in [
        ("warnings", ["results", "warnings"]),
        ("errors", ["results", "errors"]),
    ] {
        match n(v, &path) {
            Ok(Some(x)) => facts.push(format!("{p}{key}"), x as i64, name, None),
            Ok(None) => {}
            Err(e) => facts.warn(name, None, format!("{}: {e}; omitted", path.join("."))),
        }
    }
    // total build duration: results.duration.build, else the sum of phases
    // (only when every phase is a number: a partial sum is no duration)
    let dur = match n(v, &["results", "duration", "build"]) {
        Ok(Some(d)) => Ok(Some(d)),
        Err(e) => Err(format!("results.duration.build: {e}")),
        Ok(None) => match v
            .get("results")
            .and_then(|r| r.get("duration"))
            .and_then(|d| d.as_object())
            .filter(|o| !o.is_empty())
        {
            None => Ok(None),
            Some(o) => o
                .iter()
                .map(|(k, x)| number(x).map_err(|e| format!("results.duration.{k}: {e}")))
                .sum::<Result<f64, String>>()
                .map(Some),
        },
    };
    match dur {
        Ok(Some(d)) if d >= 0.0 => facts.push(format!("{p}duration"), d, name, None),
        Ok(Some(d)) => facts.warn(name, None, format!("negative duration {d}; omitted")),
        Ok(None) => {}
        Err(e) => facts.warn(name, None, format!("{e}; the duration is omitted")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extracts_fields() {
        let v = json!({
            "results": {"status": "FAIL", "errors": 2, "warnings": 5,
                        "duration": {"build": 812.5, "validate": 1.0}},
            "build": {"target_arch": "arm64", "toolchain": "gcc-13", "kconfig": "defconfig",
                      "reproducer_cmdline": ["tuxmake", "--target-arch=arm64"]},
            "compiler": {"name": "gcc", "version_full": "aarch64-linux-gnu-gcc (Debian 13.2.0-7) 13.2.0"},
            "git": {"git_url": "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux-stable-rc.git",
                    "git_branch": "queue/6.1", "git_commit": "0123456789abcdef0123456789abcdef01234567"},
            "source": {"kernelrelease": "6.1.100"}
        });
        let mut f = Facts::new();
        extract(&v, "metadata.json", &mut f);
        assert_eq!(f.str("tuxmake.status").map(|x| x.0), Some("FAIL"));
        assert_eq!(f.str("tuxmake.target_arch").map(|x| x.0), Some("arm64"));
        assert_eq!(
            f.str("tuxmake.reproducer_cmdline").map(|x| x.0),
            Some("tuxmake --target-arch=arm64")
        );
        assert_eq!(f.int("tuxmake.errors").map(|x| x.0), Some(2));
        assert_eq!(f.float("tuxmake.duration").map(|x| x.0), Some(812.5));
        assert_eq!(f.str("tuxmake.git_branch").map(|x| x.0), Some("queue/6.1"));
    }

    #[test]
    fn tolerates_missing_and_odd_values() {
        let mut f = Facts::new();
        extract(
            &json!({"results": {"status": 3, "duration": "x"}, "build": []}),
            "m",
            &mut f,
        );
        assert!(f.items().is_empty());
    }
}
