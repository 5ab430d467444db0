//! The source tree's top-level `Makefile`: `VERSION`, `PATCHLEVEL`,
//! `SUBLEVEL`, `EXTRAVERSION` give the release the tree was cut at
//! (`6.1.192`), used for `git_commit_name` (`v6.1.192`) of a stable base.

use crate::keys;
use crate::{Facts, Input, ParseError, Parser};

/// Top-level kernel Makefile version variables.
pub struct KernelMakefile;

/// Only the head of the Makefile is read: the variables are on its first lines.
const HEAD_LIMIT: u64 = 4096;

impl Parser for KernelMakefile {
    fn id(&self) -> &'static str {
        "kernel-makefile"
    }
    fn description(&self) -> &'static str {
        "linux/Makefile head: VERSION.PATCHLEVEL.SUBLEVEL(EXTRAVERSION) of the source tree"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &["linux/Makefile"]
    }
    fn parse(&self, input: &Input, facts: &mut Facts) -> Result<(), ParseError> {
        let Some((name, text)) = input.read_small("linux/Makefile", HEAD_LIMIT)? else {
            return Ok(());
        };
        if let Some((version, line)) = parse_version(&text) {
            facts.push(keys::MAKEFILE_VERSION, version, &name, Some(line));
        }
        Ok(())
    }
}

/// `(version, line of SUBLEVEL)` when VERSION, PATCHLEVEL and SUBLEVEL are
/// all plain numbers.
pub fn parse_version(text: &str) -> Option<(String, u64)> {
    let (mut v, mut p, mut s, mut e) = (None, None, None, String::new());
    let mut line_no = 0;
    for (i, line) in text.lines().enumerate() {
        let Some((k, val)) = line.split_once('=') else {
            continue;
        };
        let val = val.trim();
        match k.trim() {
            "VERSION" => v = Some(val.to_string()),
            "PATCHLEVEL" => p = Some(val.to_string()),
            "SUBLEVEL" => {
                s = Some(val.to_string());
                line_no = i as u64 + 1;
            }
            "EXTRAVERSION" => e = val.to_string(),
            _ => {}
        }
    }
    let num = |x: &Option<String>| {
        x.as_ref()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .cloned()
    };
    let (v, p, s) = (num(&v)?, num(&p)?, num(&s)?);
    if !e
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return None;
    }
    Some((format!("{v}.{p}.{s}{e}"), line_no))
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn versions() {
        let cases = [
            (
                "VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 192\nEXTRAVERSION =\n",
                Some("6.1.192"),
            ),
            (
                "VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\nEXTRAVERSION = -rc3\n",
                Some("6.12.0-rc3"),
            ),
            ("VERSION = 6\nPATCHLEVEL = 1\n", None),
            ("VERSION = $(X)\nPATCHLEVEL = 1\nSUBLEVEL = 2\n", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_version(text).map(|x| x.0),
                want.map(String::from),
                "{text:?}"
            );
        }
    }
}
