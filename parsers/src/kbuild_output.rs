//! Facts from the kbuild output directory (`O=`, the layout's
//! [`Input::output_dir`], e.g. `linux/output`), docs/inputs.md#kbuild-output-directory:
//!
//! | file | facts |
//! |---|---|
//! | `.config` | [`keys::CONFIG_SRCARCH`] and [`keys::CONFIG_RELEASE`] from `# Linux/<arch> <release> Kernel Configuration` (or the old `# Linux kernel version: <release>`), [`keys::CONFIG_CC_VERSION_TEXT`], [`keys::CONFIG_CC_NAME`] (`CONFIG_CC_IS_GCC` / `CONFIG_CC_IS_CLANG`), [`keys::CONFIG_64BIT`] |
//! | `include/generated/compile.h` | [`keys::UTS_MACHINE`], [`keys::LINUX_COMPILER`], [`keys::UTS_VERSION`] (kernels before 6.1 keep it here) |
//! | `include/generated/utsversion.h` | [`keys::UTS_VERSION`] (6.1+) |
//! | `include/generated/utsrelease.h` | [`keys::KERNEL_RELEASE`] from `UTS_RELEASE` |
//! | `include/config/kernel.release` | [`keys::KERNEL_RELEASE`] (emitted last, so it wins) |
//!
//! The "arch" of the `.config` header is kbuild's `$(ARCH)` as given to
//! make: `x86` by default, but `x86_64` or `i386` when `ARCH=` was set (the
//! corpus builds pass `ARCH=x86_64`). `CONFIG_64BIT` is `true` for
//! `CONFIG_64BIT=y`, `false` for `# CONFIG_64BIT is not set` or when a
//! whole `.config` was read without it (32-bit-only architectures have no
//! such symbol).
//!
//! `LINUX_COMPILE_BY` / `LINUX_COMPILE_HOST` are deliberately not emitted:
//! they are the builder's user and host names.
//!
//! The `.config` is streamed line by line; the headers are small and read
//! whole.

use crate::commit_txt::shorten;
use crate::logscan::{scan, LineSink};
use crate::{keys, Facts, Input, ParseError, Parser};

/// Small generated headers are read whole up to this size.
const HEADER_LIMIT: u64 = 256 * 1024;

/// Output-directory parser.
pub struct KbuildOutput;

impl Parser for KbuildOutput {
    fn id(&self) -> &'static str {
        "kbuild-output"
    }
    fn description(&self) -> &'static str {
        "kbuild output dir: .config header/CC/64BIT, compile.h, utsversion.h, utsrelease.h, kernel.release"
    }
    fn inputs(&self) -> &'static [&'static str] {
        &[
            "linux/output/.config",
            "linux/output/include/generated/compile.h",
            "linux/output/include/generated/utsversion.h",
            "linux/output/include/generated/utsrelease.h",
            "linux/output/include/config/kernel.release",
        ]
    }
    fn parse(&self, input: &Input, facts: &mut Facts) -> Result<(), ParseError> {
        let Some(out) = input.output_dir.as_deref() else {
            return Ok(());
        };
        let out = out.trim_end_matches('/');
        let rel = |p: &str| format!("{out}/{p}");

        if input.exists(&rel(".config")) {
            if let Some(opened) = input.open(&rel(".config"))? {
                let mut sink = ConfigSink::default();
                match scan(&opened.name, opened.reader, &mut [&mut sink]) {
                    Ok(_) => sink.emit(&opened.name, facts),
                    Err(ParseError::Binary { reason, .. }) => facts.note(
                        &opened.name,
                        None,
                        format!("not a text file ({reason}); ignored"),
                    ),
                    Err(e) => return Err(e),
                }
            }
        }

        if let Some((name, text)) = read_header(input, &rel("include/generated/compile.h"))? {
            for (line, def, value) in defines(&text) {
                let key = match def {
                    "UTS_MACHINE" => keys::UTS_MACHINE,
                    "LINUX_COMPILER" => keys::LINUX_COMPILER,
                    "UTS_VERSION" => keys::UTS_VERSION,
                    _ => continue,
                };
                facts.push(key, value, &name, Some(line));
            }
        }
        if let Some((name, text)) = read_header(input, &rel("include/generated/utsversion.h"))? {
            for (line, def, value) in defines(&text) {
                if def == "UTS_VERSION" {
                    facts.push(keys::UTS_VERSION, value, &name, Some(line));
                }
            }
        }
        let mut uts_release: Option<String> = None;
        if let Some((name, text)) = read_header(input, &rel("include/generated/utsrelease.h"))? {
            for (line, def, value) in defines(&text) {
                if def == "UTS_RELEASE" {
                    facts.push(keys::KERNEL_RELEASE, value.clone(), &name, Some(line));
                    uts_release = Some(value);
                }
            }
        }
        if let Some((name, text)) = read_header(input, &rel("include/config/kernel.release"))? {
            match text.lines().enumerate().find(|(_, l)| !l.trim().is_empty()) {
                Some((idx, l)) => {
                    let release = l.trim().to_string();
                    if let Some(u) = uts_release.as_deref() {
                        if u != release {
                            facts.note(
                                &name,
                                Some(idx as u64 + 1),
                                format!(
                                    "kernel.release `{}` differs from UTS_RELEASE `{}`",
                                    shorten(&release),
                                    shorten(u)
                                ),
                            );
                        }
                    }
                    facts.push(keys::KERNEL_RELEASE, release, &name, Some(idx as u64 + 1));
                }
                None => facts.note(&name, None, "empty kernel.release"),
            }
        }
        Ok(())
    }
}

fn read_header(input: &Input, rel: &str) -> Result<Option<(String, String)>, ParseError> {
    if !input.exists(rel) {
        return Ok(None);
    }
    input.read_small(rel, HEADER_LIMIT)
}

/// `.config` line consumer.
#[derive(Default)]
pub struct ConfigSink {
    /// `(key, value, line)` in file order.
    found: Vec<(&'static str, serde_json::Value, u64)>,
    header_seen: bool,
    cc_text_seen: bool,
    bit64: Option<(bool, u64)>,
    any_symbol: bool,
}

impl ConfigSink {
    /// Emit the facts found, in file order, then CONFIG_64BIT.
    pub fn emit(self, file: &str, facts: &mut Facts) {
        for (key, value, line) in self.found {
            facts.push(key, value, file, Some(line));
        }
        match self.bit64 {
            Some((v, line)) => facts.push(keys::CONFIG_64BIT, v, file, Some(line)),
            None if self.any_symbol => facts.push(keys::CONFIG_64BIT, false, file, None),
            None => facts.note(file, None, "no CONFIG_ symbols: not a kernel .config"),
        }
    }
}

impl LineSink for ConfigSink {
    fn line(&mut self, n: u64, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw);
        let l = text.trim();
        if let Some(comment) = l.strip_prefix('#') {
            let c = comment.trim();
            if c == "CONFIG_64BIT is not set" {
                self.bit64 = Some((false, n));
                self.any_symbol = true;
            } else if c.starts_with("CONFIG_") && c.ends_with(" is not set") {
                self.any_symbol = true;
            } else if !self.header_seen {
                if let Some((arch, release)) = config_header(c) {
                    self.header_seen = true;
                    if let Some(arch) = arch {
                        self.found.push((keys::CONFIG_SRCARCH, arch.into(), n));
                    }
                    self.found.push((keys::CONFIG_RELEASE, release.into(), n));
                }
            }
            return;
        }
        let Some((sym, value)) = l.split_once('=') else {
            return;
        };
        if !sym.starts_with("CONFIG_") {
            return;
        }
        self.any_symbol = true;
        match sym {
            "CONFIG_64BIT" => self.bit64 = Some((value == "y", n)),
            "CONFIG_CC_IS_GCC" if value == "y" => {
                self.found.push((keys::CONFIG_CC_NAME, "gcc".into(), n));
            }
            "CONFIG_CC_IS_CLANG" if value == "y" => {
                self.found.push((keys::CONFIG_CC_NAME, "clang".into(), n));
            }
            "CONFIG_CC_VERSION_TEXT" if !self.cc_text_seen => {
                self.cc_text_seen = true;
                let v = c_string(value).unwrap_or_else(|| value.to_string());
                self.found.push((keys::CONFIG_CC_VERSION_TEXT, v.into(), n));
            }
            _ => {}
        }
    }
}

/// `Linux/x86 6.1.192 Kernel Configuration` → (Some("x86"), "6.1.192");
/// `Linux kernel version: 2.6.32` → (None, "2.6.32").
fn config_header(c: &str) -> Option<(Option<&str>, &str)> {
    if let Some(rest) = c.strip_prefix("Linux/") {
        let body = rest.strip_suffix("Kernel Configuration")?.trim();
        let (arch, release) = body.split_once(char::is_whitespace)?;
        let release = release.trim();
        if arch.is_empty() || release.is_empty() {
            return None;
        }
        return Some((Some(arch), release));
    }
    let release = c.strip_prefix("Linux kernel version:")?.trim();
    (!release.is_empty()).then_some((None, release))
}

/// `#define NAME "value"` lines of a generated header:
/// `(line, NAME, unescaped value)`, surrounding blanks trimmed (old
/// kernels' `LINUX_COMPILER` ends in a space). Unquoted values are taken as
/// written.
pub fn defines(text: &str) -> Vec<(u64, &str, String)> {
    let mut out = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let Some(rest) = raw.trim_start().strip_prefix("#define") else {
            continue;
        };
        if !rest.starts_with([' ', '\t']) {
            continue;
        }
        let rest = rest.trim_start();
        let (name, value) = rest
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((rest, ""));
        let value = value.trim();
        let value = c_string(value).map_or_else(|| value.to_string(), |v| v.trim().to_string());
        out.push((idx as u64 + 1, name, value));
    }
    out
}

/// Unescape a C (or Kconfig) string literal `"…"`: `\"`, `\\`, `\n`, `\t`;
/// other escapes keep their character. `None` when `s` is not one quoted
/// literal.
pub fn c_string(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return chars.as_str().trim().is_empty().then_some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::check_fixtures;
    use proptest::prelude::*;
    use serde_json::json;

    fn config(text: &str) -> Vec<(String, serde_json::Value, Option<u64>)> {
        let mut sink = ConfigSink::default();
        scan(".config", text.as_bytes(), &mut [&mut sink]).expect("scan");
        let mut facts = Facts::new();
        sink.emit(".config", &mut facts);
        facts
            .into_items()
            .into_iter()
            .map(|f| (f.key, f.value, f.loc.line))
            .collect()
    }

    #[test]
    fn config_6x_header_and_symbols() {
        let text = "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86 6.1.192 Kernel Configuration\n#\nCONFIG_CC_VERSION_TEXT=\"gcc (Debian 12.2.0-14+deb12u1) 12.2.0\"\nCONFIG_CC_IS_GCC=y\nCONFIG_GCC_VERSION=120200\n# CONFIG_64BIT is not set\n";
        assert_eq!(
            config(text),
            vec![
                (keys::CONFIG_SRCARCH.into(), json!("x86"), Some(3)),
                (keys::CONFIG_RELEASE.into(), json!("6.1.192"), Some(3)),
                (
                    keys::CONFIG_CC_VERSION_TEXT.into(),
                    json!("gcc (Debian 12.2.0-14+deb12u1) 12.2.0"),
                    Some(5)
                ),
                (keys::CONFIG_CC_NAME.into(), json!("gcc"), Some(6)),
                (keys::CONFIG_64BIT.into(), json!(false), Some(8)),
            ]
        );
    }

    #[test]
    fn config_clang_64bit_crlf_and_escapes() {
        let text = "# Linux/arm64 6.6.0-rc1 Kernel Configuration\r\nCONFIG_CC_VERSION_TEXT=\"clang version 17 \\\"x\\\" \\\\\"\r\nCONFIG_CC_IS_CLANG=y\r\nCONFIG_64BIT=y\r\n";
        assert_eq!(
            config(text),
            vec![
                (keys::CONFIG_SRCARCH.into(), json!("arm64"), Some(1)),
                (keys::CONFIG_RELEASE.into(), json!("6.6.0-rc1"), Some(1)),
                (
                    keys::CONFIG_CC_VERSION_TEXT.into(),
                    json!("clang version 17 \"x\" \\"),
                    Some(2)
                ),
                (keys::CONFIG_CC_NAME.into(), json!("clang"), Some(3)),
                (keys::CONFIG_64BIT.into(), json!(true), Some(4)),
            ]
        );
    }

    #[test]
    fn config_old_header_and_no_64bit_symbol() {
        let text = "#\n# Automatically generated make config: don't edit\n# Linux kernel version: 2.6.32\n# Tue Dec  1 12:00:00 2009\n#\nCONFIG_ARM=y\n";
        assert_eq!(
            config(text),
            vec![
                (keys::CONFIG_RELEASE.into(), json!("2.6.32"), Some(3)),
                (keys::CONFIG_64BIT.into(), json!(false), None),
            ]
        );
    }

    #[test]
    fn not_a_config_is_a_note() {
        let mut sink = ConfigSink::default();
        scan(".config", &b"hello\n"[..], &mut [&mut sink]).expect("scan");
        let mut facts = Facts::new();
        sink.emit(".config", &mut facts);
        assert!(facts.items().is_empty());
        assert_eq!(facts.notes.len(), 1);
    }

    #[test]
    fn header_defines() {
        let text = "/* This file is auto generated, version 1 */\n#define UTS_MACHINE\t\t\"x86_64\"\n#define LINUX_COMPILER \"gcc \\\"quoted\\\"\"\n#define UTS_VERSION \"#1 SMP PREEMPT_DYNAMIC Sat Nov 28 23:21:41 UTC 2026\"\r\n#define BARE 12\n#defineX \"no\"\n#define\n";
        let d = defines(text);
        assert_eq!(
            d,
            vec![
                (2, "UTS_MACHINE", "x86_64".to_string()),
                (3, "LINUX_COMPILER", "gcc \"quoted\"".to_string()),
                (
                    4,
                    "UTS_VERSION",
                    "#1 SMP PREEMPT_DYNAMIC Sat Nov 28 23:21:41 UTC 2026".to_string()
                ),
                (5, "BARE", "12".to_string()),
            ]
        );
    }

    #[test]
    fn c_strings() {
        assert_eq!(c_string("\"a\\\"b\""), Some("a\"b".into()));
        assert_eq!(c_string("\"a\\\\\""), Some("a\\".into()));
        assert_eq!(c_string("\"a\\n\""), Some("a\n".into()));
        assert_eq!(c_string("\"a\" junk"), None);
        assert_eq!(c_string("\"open"), None);
        assert_eq!(c_string("\"trailing\\"), None);
        assert_eq!(c_string("bare"), None);
    }

    #[test]
    fn never_emits_builder_identity() {
        let root = crate::testutil::fixtures_root().join("kbuild-output");
        for case in std::fs::read_dir(&root).expect("fixtures").flatten() {
            let mut facts = Facts::new();
            let _ = KbuildOutput.parse(&crate::testutil::fixture_input(&case.path()), &mut facts);
            let dump = serde_json::to_string(facts.items()).expect("json");
            assert!(
                !dump.contains("\"root\"") && !dump.contains("\"vm\""),
                "{dump}"
            );
            assert!(!dump.to_lowercase().contains("compile_by"), "{dump}");
        }
    }

    #[test]
    fn long_lines_and_invalid_utf8() {
        let long = "y".repeat(70_000);
        let text = format!("# Linux/x86 6.1.0 Kernel Configuration\nCONFIG_CC_VERSION_TEXT=\"{long}\"\nCONFIG_X=\"\u{fffd}\"\nCONFIG_64BIT=y\n");
        let got = config(&text);
        assert_eq!(got[2].1.as_str().map(str::len), Some(70_000));
        assert_eq!(got.last().map(|g| g.1.clone()), Some(json!(true)));
        let mut sink = ConfigSink::default();
        scan(
            ".config",
            &b"CONFIG_CC_IS_GCC=y\xff\nCONFIG_64BIT=y\n"[..],
            &mut [&mut sink],
        )
        .expect("scan");
        let mut facts = Facts::new();
        sink.emit(".config", &mut facts);
        assert_eq!(facts.bool(keys::CONFIG_64BIT).map(|v| v.0), Some(true));
        assert!(!facts.has(keys::CONFIG_CC_NAME));
    }

    #[test]
    fn fixtures() {
        assert!(check_fixtures(&KbuildOutput) >= 4);
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut sink = ConfigSink::default();
            let _ = scan(".config", &bytes[..], &mut [&mut sink]);
            sink.emit(".config", &mut Facts::new());
            let text = String::from_utf8_lossy(&bytes);
            let _ = defines(&text);
            let _ = c_string(&text);
        }

        #[test]
        fn never_panics_on_configlike_text(s in "(# Linux/|CONFIG_[A-Z_0-9]{0,6}=|#define |\"|\\\\|y|[a-z0-9. ]|\r|\n){0,60}") {
            let _ = config(&s);
            let _ = defines(&s);
        }
    }
}
