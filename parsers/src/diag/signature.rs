//! The signature of a diagnostic: what stays the same when the same
//! warning or error is printed by another build, of another release, on
//! another machine (README "Issues and incidents", docs/diagnostics.md).
//!
//! `<severity>|<kind>|<file>|<message>`, where
//!
//! - `file` is the source-relative path the engine already normalised
//!   (`../init/main.c`, `/builds/linux/init/main.c` → `init/main.c`), with
//!   gcc's temporary files folded (`/tmp/ccXXXXXX.s`), and no line or column;
//! - `message` is the comparable form of the message (typographic quotes
//!   folded to `'`, runs of white space to one space, the `[-W…]` option
//!   suffix and `+0x…` offsets dropped, as for the distinct count), and also:
//!   - every `<path>:<line>[:<column>]` inside it loses its numbers
//!     (`previous declaration at init/main.c:12` and `[scripts/Makefile.build:250: …]`);
//!   - absolute paths lose their build or source root (a path under a
//!     kernel top-level directory such as `drivers/` or `include/` keeps
//!     only that part), `./` and `../` prefixes go;
//!   - temporary names go: gcc's `/tmp/ccAbC123.s`, objcopy's 8-character
//!     names (`stP3kQ2a`), make's jobserver numbers;
//!   - make's noise goes: `make[3]:` → `make:`, `Error 2` → `Error`,
//!     `-j16` → `-j`;
//!   - long hexadecimal numbers (addresses) become `0x?`.
//!
//! The line and column numbers of the diagnostic itself are not part of
//! it: the same error that moved to another line is the same issue.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::normalize::{is_temp_object, message_key, Roots};
use super::Diagnostic;

/// `file:12` or `file:12:5` inside a message (the file has an extension
/// or is a Makefile/Kconfig).
static FILE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([A-Za-z0-9_./+-]*(?:\.[A-Za-z0-9_]+|Makefile|Kbuild|Kconfig)):[0-9]+(?::[0-9]+)?")
        .expect("file:line regex")
});

/// An absolute path (to shorten with the source roots rule).
static ABS_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(^|[\s'`\x22(\[])(/[A-Za-z0-9_.+/-]+)").expect("path regex"));

/// `./x`, `../../x` at the start of a word.
static DOT_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(^|[\s'`\x22(\[])(?:\.\.?/)+").expect("dot prefix regex"));

static MAKE_LEVEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bmake\[[0-9]+\]").expect("make level regex"));

static MAKE_ERROR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bError [0-9]+\b").expect("make error regex"));

static JOBS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(^|\s)-j ?[0-9]+\b").expect("jobs regex"));

static HEX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b0x[0-9a-fA-F]{4,}\b").expect("hex regex"));

/// A word of 8 letters and digits (objcopy's temporary names, checked by
/// [`is_temp_object`]).
static WORD8: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[A-Za-z0-9]{8}\b").expect("word regex"));

/// The normalised message (the last field of the signature).
pub fn normalised_message(message: &str) -> String {
    let mut s = message_key(message);
    let roots = Roots::default();
    replace(&mut s, &ABS_PATH, |c| {
        format!("{}{}", &c[1], roots.path(c[2].as_bytes()))
    });
    replace(&mut s, &DOT_PREFIX, |c| c[1].to_string());
    replace(&mut s, &FILE_LINE, |c| c[1].to_string());
    replace(&mut s, &MAKE_LEVEL, |_| "make".into());
    replace(&mut s, &MAKE_ERROR, |_| "Error".into());
    replace(&mut s, &JOBS, |c| format!("{}-j", &c[1]));
    replace(&mut s, &HEX, |_| "0x?".into());
    if WORD8.is_match(&s) {
        let folded = WORD8.replace_all(&s, |c: &regex::Captures<'_>| {
            if is_temp_object(c[0].as_bytes()) {
                "XXXXXXXX".to_string()
            } else {
                c[0].to_string()
            }
        });
        if let Cow::Owned(o) = folded {
            s = o;
        }
    }
    s.trim().to_string()
}

fn replace(s: &mut String, re: &Regex, with: impl Fn(&regex::Captures<'_>) -> String) {
    if !re.is_match(s) {
        return;
    }
    if let Cow::Owned(o) = re.replace_all(s, |c: &regex::Captures<'_>| with(c)) {
        *s = o;
    }
}

/// The signature of `d`: `<severity>|<kind>|<file>|<normalised message>`.
pub fn signature(d: &Diagnostic) -> String {
    let severity = match d.severity {
        super::Severity::Warning => "warning",
        super::Severity::Error => "error",
    };
    format!(
        "{severity}|{}|{}|{}",
        d.kind.as_str(),
        d.file.as_deref().unwrap_or(""),
        normalised_message(&d.message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Kind, Severity};

    fn diag(kind: Kind, file: Option<&str>, line: u32, message: &str) -> Diagnostic {
        Diagnostic {
            kind,
            severity: Severity::Error,
            file: file.map(String::from),
            line: Some(line),
            column: Some(3),
            message: message.into(),
            occurrences: 1,
            first_line: 100 + u64::from(line),
        }
    }

    #[test]
    fn the_line_of_the_diagnostic_is_not_part_of_it() {
        let a = diag(
            Kind::Compiler,
            Some("init/main.c"),
            256,
            "unused variable \u{2018}oldlevel\u{2019} [-Wunused-variable]",
        );
        let b = diag(
            Kind::Compiler,
            Some("init/main.c"),
            301,
            "unused variable 'oldlevel' [-Wunused-variable]",
        );
        assert_eq!(signature(&a), signature(&b));
        assert_eq!(
            signature(&a),
            "error|compiler|init/main.c|unused variable 'oldlevel'"
        );
    }

    #[test]
    fn numbers_paths_and_noise_inside_the_message_go() {
        for (printed, normal) in [
            (
                "previous declaration of 'f' at /home/gregkh/linux/5.15/include/linux/x.h:12:5",
                "previous declaration of 'f' at include/linux/x.h",
            ),
            (
                "make[3]: *** [../scripts/Makefile.build:250: init/main.o] Error 1",
                "make: *** [scripts/Makefile.build: init/main.o] Error",
            ),
            (
                "make[1]: *** [Makefile:1992: .] Error 2",
                "make: *** [Makefile: .] Error",
            ),
            (
                "objcopy: stP3kQ2a: file format not recognized",
                "objcopy: XXXXXXXX: file format not recognized",
            ),
            ("cannot read /tmp/ccAbC123.s", "cannot read /tmp/ccXXXXXX.s"),
            (
                "relocation at 0xffffffff81000000 truncated",
                "relocation at 0x? truncated",
            ),
            ("make -j16 failed", "make -j failed"),
            // words that only look like temporary names stay
            ("unknown option 'function'", "unknown option 'function'"),
        ] {
            assert_eq!(normalised_message(printed), normal, "{printed}");
        }
    }

    #[test]
    fn kind_severity_and_file_tell_issues_apart() {
        let a = diag(Kind::Compiler, Some("a.c"), 1, "x");
        let mut w = a.clone();
        w.severity = Severity::Warning;
        assert_ne!(signature(&a), signature(&w));
        let other = diag(Kind::Compiler, Some("b.c"), 1, "x");
        assert_ne!(signature(&a), signature(&other));
        let linker = diag(Kind::Linker, Some("a.c"), 1, "x");
        assert_ne!(signature(&a), signature(&linker));
    }
}
