//! The diagnostic line shapes of a kernel build log, as data.
//!
//! Each [`Rule`] names a line shape (docs/diagnostics.md#rule-shapes): its regex, what
//! the line is to the engine ([`Role`]), and the kind and severity of the
//! diagnostic it starts. The table is compiled once into one anchored
//! multi-pattern regex (leftmost-first: the first rule that matches) plus
//! one [`regex::bytes::Regex`] per rule for its captures;
//! [`classify`] returns the first rule (in table order) that matches, so
//! specific shapes (summaries, tool chatter, environment failures) come
//! before the generic ones that would otherwise claim them.
//!
//! Patterns see a line after the `HH:MM:SS ` prefix and ANSI colour codes
//! were removed; they work on bytes with Unicode off (`.` matches any byte
//! but `\n`), because logs are not always valid UTF-8.

use std::sync::{LazyLock, OnceLock};

use regex::bytes::{CaptureLocations, Regex};
use regex_automata::util::syntax::Config as SyntaxConfig;
use regex_automata::{meta, Anchored, Input};
use regex_syntax::hir::Look;

use super::Kind;

/// What a matching line is to the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// A diagnostic: counted once per distinct key.
    Head,
    /// A head whose location follows on a ` --> file:line:col` line (rustc).
    /// Without one the diagnostic is of kind `other` (e.g. a tool printing
    /// `error: ...`).
    HeadLocLater,
    /// Belongs to the diagnostic just printed (`note:`, `>>>`, ...).
    Note,
    /// Precedes the next head (`In function`, `In file included from`).
    Context,
    /// `<file>: Assembler messages:` (context; names the source of the
    /// assembler lines that follow it).
    AsmHeader,
    /// A summary of diagnostics printed elsewhere; never counted.
    Summary,
    /// Looks like a diagnostic but is tool chatter; never counted.
    Chatter,
    /// `make[N]: *** [<target>] Error N` (a consequence; counted only when
    /// nothing else explains the failure).
    MakeFailure,
    /// An error of make itself (`No rule to make target`, `*** ... Stop.`),
    /// counted only when no other error explains the failure.
    MakeError,
    /// Points at the build environment (disk full, missing tool, killed).
    Env,
}

/// Severity of a rule's diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sev {
    Warning,
    Error,
    /// Read from the `sev` capture (an error when the group is absent).
    Captured,
    /// Not a diagnostic.
    None,
}

/// One line shape.
pub(crate) struct Rule {
    /// Stable name (tests, debugging).
    pub name: &'static str,
    /// The regex (anchored at the start of the line where it makes sense).
    pub pattern: &'static str,
    pub role: Role,
    pub kind: Kind,
    pub severity: Sev,
    /// The named capture groups of `pattern` (checked by a test). Meaning:
    /// `file`, `line`, `col` location; `sev` severity word; `msg` message;
    /// `tool` program name; `target`, `code` make target and exit status;
    /// `check` dtc check name; `sect` linker section. A rule without any
    /// is known by the set's match alone (no capture search).
    pub captures: &'static [&'static str],
}

use Kind::*;
use Role::*;

/// The table. Order matters: the first matching rule wins.
pub(crate) static RULES: &[Rule] = &[
    // ---- Summaries: repeat what was already reported -------------------
    Rule {
        name: "clang-summary",
        pattern: r"^\d+ (?:warnings?|errors?)(?: and \d+ (?:warnings?|errors?))? generated\.",
        role: Summary,
        kind: Compiler,
        severity: Sev::None,
        captures: &[],
    },
    Rule {
        name: "cc1-werror-summary",
        pattern: r"^(?:\S*/)?cc1(?:plus)?: (?:some|all) warnings being treated as errors",
        role: Summary,
        kind: Compiler,
        severity: Sev::None,
        captures: &[],
    },
    Rule {
        name: "collect2-summary",
        pattern: r"^(?:\S*/)?collect2(?:\.exe)?: error: \S*ld(?:\.\w+)? returned \d+ exit status",
        role: Summary,
        kind: Linker,
        severity: Sev::None,
        captures: &[],
    },
    Rule {
        name: "clang-link-summary",
        pattern: r"^(?:\S*/)?clang(?:-\d+)?: error: linker command failed",
        role: Summary,
        kind: Linker,
        severity: Sev::None,
        captures: &[],
    },
    Rule {
        name: "rust-summary",
        pattern: r"^(?:error: aborting due to |error: could not compile |warning: \d+ warnings? emitted|warning: .* generated \d+ warnings?)",
        role: Summary,
        kind: Rust,
        severity: Sev::None,
        captures: &[],
    },
    Rule {
        name: "exit-code-summary",
        pattern: r"^error: command '[^']*' failed with exit (?:code|status) \d+",
        role: Summary,
        kind: Other,
        severity: Sev::None,
        captures: &[],
    },
    // ---- make -----------------------------------------------------------
    Rule {
        name: "make-noise",
        pattern: r"^make(?:\[\d+\])?: (?:\*\*\* Waiting for unfinished jobs|\*\*\* (?:\[[^\]]*\] )?Deleting (?:file|intermediate)|Target '[^']*' not remade because of errors|Nothing to be done|'[^']*' is up to date|warning: |\[[^\]]*\] Error \d+ \(ignored\))",
        role: Chatter,
        kind: Make,
        severity: Sev::None,
        captures: &[],
    },
    Rule {
        name: "make-recipe-failure",
        pattern: r"^make(?:\[\d+\])?: \*\*\* \[(?P<target>[^\]]*)\] (?P<msg>Error (?P<code>\d+)|Killed|Segmentation fault|Interrupt|Terminated|Hangup|Aborted|Bus error)",
        role: MakeFailure,
        kind: Make,
        severity: Sev::Error,
        captures: &["target", "msg", "code"],
    },
    Rule {
        name: "make-no-rule",
        pattern: r"^make(?:\[\d+\])?: \*\*\* (?P<msg>No rule to make target .*)$",
        role: MakeError,
        kind: Make,
        severity: Sev::Error,
        captures: &["msg"],
    },
    Rule {
        name: "make-stop",
        pattern: r"^(?:make(?:\[\d+\])?|(?P<file>[^\s:]+):(?P<line>\d+)): \*\*\* (?P<msg>.*)$",
        role: MakeError,
        kind: Make,
        severity: Sev::Error,
        captures: &["file", "line", "msg"],
    },
    Rule {
        // The second line of GNU make's recipe-override warning.
        name: "makefile-old-recipe",
        pattern: r"^(?:[^\s:]*/)?(?:Makefile|GNUmakefile|Kbuild|[^\s:/]+\.mk)[^\s:/]*:\d+: warning: ignoring old recipe for target ",
        role: Note,
        kind: Make,
        severity: Sev::None,
        captures: &[],
    },
    Rule {
        // GNU make's own warnings about a makefile (`overriding recipe
        // for target`, `undefined variable`): they point at the tree.
        name: "makefile-warning",
        pattern: r"^(?P<file>(?:[^\s:]*/)?(?:Makefile|GNUmakefile|Kbuild|[^\s:/]+\.mk)[^\s:/]*):(?P<line>\d+): (?P<sev>warning): (?P<msg>.*)$",
        role: Head,
        kind: Make,
        severity: Sev::Warning,
        captures: &["file", "line", "sev", "msg"],
    },
    Rule {
        // `$(warning)` / `$(info)` text without a severity word
        // (docs/diagnostics.md#tool-chatter).
        name: "makefile-message",
        pattern: r"^(?:[^\s:]*/)?(?:Makefile|GNUmakefile|Kbuild|[^\s:/]+\.mk)[^\s:/]*:\d+: ",
        role: Chatter,
        kind: Make,
        severity: Sev::None,
        captures: &[],
    },
    // ---- The environment, not the code ---------------------------------
    Rule {
        name: "env-no-space",
        pattern: r"No space left on device|Disk quota exceeded|Read-only file system",
        role: Env,
        kind: Other,
        severity: Sev::None,
        captures: &[],
    },
    Rule {
        name: "env-resources",
        pattern: r"fatal error: Killed signal terminated program|internal compiler error|virtual memory exhausted|[Oo]ut of memory|Cannot allocate memory|Input/output error",
        role: Env,
        kind: Other,
        severity: Sev::None,
        captures: &[],
    },
    // ---- A missing or unusable toolchain: counted (kind `toolchain`)
    // and blamed on the environment --------------------------------------
    Rule {
        name: "toolchain-shell-not-found",
        pattern: r"^(?:\S*/)?(?:ba|da|z)?sh: (?:line )?(?:\d+: )?(?P<msg>(?P<tool>[^\s:]+): (?:command )?not found)\s*$",
        role: Head,
        kind: Toolchain,
        severity: Sev::Error,
        captures: &["msg", "tool"],
    },
    Rule {
        name: "toolchain-make-exec",
        pattern: r"^make(?:\[\d+\])?: (?P<msg>(?P<tool>[^*\s:][^:]*): (?:Command not found|No such file or directory))\s*$",
        role: Head,
        kind: Toolchain,
        severity: Sev::Error,
        captures: &["msg", "tool"],
    },
    Rule {
        // scripts/Kconfig.include checks the compiler, linker and
        // assembler before anything is configured.
        name: "toolchain-kconfig",
        pattern: r"^(?P<file>(?:[^\s:]*/)?Kconfig\.include):(?P<line>\d+): (?P<msg>\S.*)$",
        role: Head,
        kind: Toolchain,
        severity: Sev::Error,
        captures: &["file", "line", "msg"],
    },
    Rule {
        // scripts/cc-version.sh, ld-version.sh, as-version.sh.
        name: "toolchain-unknown",
        pattern: r"^(?P<tool>\S+): (?P<msg>unknown (?:C compiler|linker|assembler))\s*$",
        role: Head,
        kind: Toolchain,
        severity: Sev::Error,
        captures: &["tool", "msg"],
    },
    Rule {
        name: "toolchain-driver",
        pattern: r"^(?:(?P<tool>\S+): )?(?P<sev>error|fatal error): (?P<msg>(?:unknown target triple|unable to execute command|invalid linker name|unknown target CPU|cannot execute '|error trying to exec ').*)$",
        role: Head,
        kind: Toolchain,
        severity: Sev::Captured,
        captures: &["tool", "sev", "msg"],
    },
    Rule {
        name: "toolchain-cannot-find",
        pattern: r"^(?P<msg>\S.*: cannot find '?(?:ld|as)'?)\s*$",
        role: Head,
        kind: Toolchain,
        severity: Sev::Error,
        captures: &["msg"],
    },
    Rule {
        name: "toolchain-ccache",
        pattern: r"^(?P<tool>\S*s?ccache): error: (?P<msg>.*)$",
        role: Head,
        kind: Toolchain,
        severity: Sev::Error,
        captures: &["tool", "msg"],
    },
    // ---- The environment, not the code (never counted) -------------------
    Rule {
        name: "env-shell",
        pattern: r"^(?:\S*/)?(?:ba|da|z)?sh: (?:line )?\d*:? ?.*(?:Permission denied|Killed|Segmentation fault|Bus error|Aborted)",
        role: Env,
        kind: Other,
        severity: Sev::None,
        captures: &[],
    },
    Rule {
        name: "env-make-exec",
        pattern: r"^make(?:\[\d+\])?: [^*\s:][^:]*: Permission denied\s*$",
        role: Env,
        kind: Other,
        severity: Sev::None,
        captures: &[],
    },
    Rule {
        name: "env-exec",
        pattern: r"Segmentation fault|\bBus error\b",
        role: Env,
        kind: Other,
        severity: Sev::None,
        captures: &[],
    },
    // ---- Kconfig ---------------------------------------------------------
    Rule {
        name: "kconfig-unmet",
        pattern: r"^WARNING: (?P<msg>unmet direct dependencies detected for \S+)",
        role: Head,
        kind: Kconfig,
        severity: Sev::Warning,
        captures: &["msg"],
    },
    Rule {
        name: "kconfig-unmet-old",
        pattern: r"^warning: (?P<msg>\(.*\) selects \S+ which has unmet direct dependencies.*)$",
        role: Head,
        kind: Kconfig,
        severity: Sev::Warning,
        captures: &["msg"],
    },
    Rule {
        name: "kconfig-note",
        pattern: r"^(?:[^\s:]*/)?Kconfig[^\s:/]*:\d+:\t",
        role: Note,
        kind: Kconfig,
        severity: Sev::None,
        captures: &[],
    },
    Rule {
        name: "kconfig-config-diag",
        pattern: r"^(?P<file>[^\s:]*config):(?P<line>\d+): ?(?P<sev>warning|error): ?(?P<msg>.*)$",
        role: Head,
        kind: Kconfig,
        severity: Sev::Captured,
        captures: &["file", "line", "sev", "msg"],
    },
    Rule {
        name: "kconfig-syntax-error",
        pattern: r"^(?P<file>(?:[^\s:]*/)?Kconfig[^\s:/]*):(?P<line>\d+): ?(?P<msg>\S.*)$",
        role: Head,
        kind: Kconfig,
        severity: Sev::Error,
        captures: &["file", "line", "msg"],
    },
    Rule {
        name: "kconfig-fatal",
        pattern: r"^\*\*\* (?P<msg>(?:Error during (?:writing|update) of the configuration|Can't find default configuration|[Cc]onfiguration file .* not found).*)$",
        role: Head,
        kind: Kconfig,
        severity: Sev::Error,
        captures: &["msg"],
    },
    // ---- modpost -------------------------------------------------------
    Rule {
        name: "modpost",
        pattern: r"^(?P<sev>ERROR|WARNING|FATAL): modpost: (?P<msg>.+)$",
        role: Head,
        kind: Modpost,
        severity: Sev::Captured,
        captures: &["sev", "msg"],
    },
    Rule {
        name: "modpost-old-symbol",
        pattern: r#"^(?P<sev>ERROR|WARNING): (?P<msg>"[^"]+" \[(?P<file>[^\]]+)\] .*)$"#,
        role: Head,
        kind: Modpost,
        severity: Sev::Captured,
        captures: &["sev", "msg", "file"],
    },
    Rule {
        name: "modpost-old-mismatch",
        pattern: r"^(?P<sev>WARNING|ERROR): (?P<file>[^\s(]+)\((?P<sect>[^)]*)\): (?P<msg>Section mismatch .*)$",
        role: Head,
        kind: Modpost,
        severity: Sev::Captured,
        captures: &["sev", "file", "sect", "msg"],
    },
    Rule {
        name: "modpost-details-hint",
        pattern: r"^(?:To see full details build your kernel with:|'make CONFIG_DEBUG_SECTION_MISMATCH=y')",
        role: Note,
        kind: Modpost,
        severity: Sev::None,
        captures: &[],
    },
    // ---- objtool -------------------------------------------------------
    Rule {
        name: "objtool",
        pattern: r"^(?P<file>[^\s:]+): (?P<sev>warning|error): objtool: (?P<msg>.+)$",
        role: Head,
        kind: Objtool,
        severity: Sev::Captured,
        captures: &["file", "sev", "msg"],
    },
    // ---- dtc ---------------------------------------------------------------
    Rule {
        name: "dtc-check",
        pattern: r"^(?P<file>[^\s:]+?)(?::(?P<line>\d+)\.(?P<col>\d+)(?:-[\d.]+)?)?: (?P<sev>Warning|Error|ERROR) \((?P<check>[^)]*)\): (?P<msg>.*)$",
        role: Head,
        kind: Dtc,
        severity: Sev::Captured,
        captures: &["file", "line", "col", "sev", "check", "msg"],
    },
    Rule {
        name: "dtc-error",
        pattern: r"^(?:Error|ERROR): (?P<file>[^\s:]+\.dts[io]?):(?P<line>\d+)\.(?P<col>\d+)(?:-[\d.]+)? (?P<msg>.*)$",
        role: Head,
        kind: Dtc,
        severity: Sev::Error,
        captures: &["file", "line", "col", "msg"],
    },
    Rule {
        name: "dtc-fatal",
        pattern: r"^FATAL ERROR: (?P<msg>.*)$",
        role: Head,
        kind: Dtc,
        severity: Sev::Error,
        captures: &["msg"],
    },
    // ---- Tool chatter (docs/diagnostics.md#tool-chatter) ---------------
    Rule {
        // A tool's notice about the build machine, not the tree
        // (docs/diagnostics.md#environment-notices).
        name: "env-notice",
        pattern: r"^(?:Warning|WARNING|warning|Note|NOTE|W): .*(?i:you seem to have|build environment|please install|not installed|consider installing|versioned toolchains|is not available on this system)",
        role: Chatter,
        kind: Other,
        severity: Sev::None,
        captures: &[],
    },
    Rule {
        // A script's or tool's own warning (`Warning: Kernel ABI header
        // at ... differs`, kernel-doc, scripts/*.py).
        name: "tool-warning",
        pattern: r"^(?P<sev>Warning): (?P<msg>\S.*)$",
        role: Head,
        kind: Other,
        severity: Sev::Warning,
        captures: &["sev", "msg"],
    },
    Rule {
        name: "python-warning",
        pattern: r"^(?P<file>\S+\.py):(?P<line>\d+): (?P<msg>\w*Warning: .*)$",
        role: Head,
        kind: Other,
        severity: Sev::Warning,
        captures: &["file", "line", "msg"],
    },
    Rule {
        name: "rsync-summary",
        pattern: r"^rsync error: ",
        role: Summary,
        kind: Other,
        severity: Sev::None,
        captures: &[],
    },
    Rule {
        name: "rsync",
        pattern: r"^(?P<tool>rsync): (?P<msg>.*(?:failed|error|No such file|Permission denied|cannot).*)$",
        role: Head,
        kind: Other,
        severity: Sev::Error,
        captures: &["tool", "msg"],
    },
    Rule {
        name: "tool-chatter",
        pattern: r"^(?:Error: |libbpf: |\w*(?:Syntax|Deprecation|Future|Runtime|User|Resource)Warning: |\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \S+\[\d+\] )",
        role: Chatter,
        kind: Other,
        severity: Sev::None,
        captures: &[],
    },
    // ---- Assembler -----------------------------------------------------
    Rule {
        name: "as-header",
        pattern: r"^(?P<file>[^\s:]+|\{standard input\}): Assembler messages:",
        role: AsmHeader,
        kind: Assembler,
        severity: Sev::None,
        captures: &["file"],
    },
    Rule {
        name: "as-diag",
        pattern: r"^(?P<file>[^\s:]+|\{standard input\}):(?P<line>\d+): (?P<sev>Error|Warning): (?P<msg>.*)$",
        role: Head,
        kind: Assembler,
        severity: Sev::Captured,
        captures: &["file", "line", "sev", "msg"],
    },
    // ---- gcc / clang / sparse ----------------------------------------------
    Rule {
        name: "cc-note",
        pattern: r"^[^\s:]+:\d+:(?:\d+:)? (?:note|remark): ",
        role: Note,
        kind: Compiler,
        severity: Sev::None,
        captures: &[],
    },
    Rule {
        name: "sparse-note",
        pattern: r"^[^\s:]+:\d+:\d+: sparse:  ",
        role: Note,
        kind: Compiler,
        severity: Sev::None,
        captures: &[],
    },
    Rule {
        name: "cc-diag",
        pattern: r"^(?P<file>[^\s:]+):(?P<line>\d+):(?:(?P<col>\d+):)? (?:sparse: )?(?P<sev>warning|error|fatal error): (?P<msg>.*)$",
        role: Head,
        kind: Compiler,
        severity: Sev::Captured,
        captures: &["file", "line", "col", "sev", "msg"],
    },
    Rule {
        name: "cc-context-function",
        pattern: r"^(?P<file>[^\s:]+): (?:In (?:(?:static )?member )?function|In (?:constructor|destructor|lambda function|instantiation of)|At (?:top|global) (?:level|scope))",
        role: Context,
        kind: Compiler,
        severity: Sev::None,
        captures: &["file"],
    },
    Rule {
        name: "cc-context-include",
        pattern: r"^(?:In file included|\s+) from (?P<file>[^\s:]+)[:,]",
        role: Context,
        kind: Compiler,
        severity: Sev::None,
        captures: &["file"],
    },
    Rule {
        name: "cc-driver",
        pattern: r"^(?P<tool>(?:\S*/)?(?:[\w.]+-)*(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+|cc1|cc1plus)(?:-[\d.]+)?): (?P<sev>warning|error|fatal error): (?P<msg>.*)$",
        role: Head,
        kind: Compiler,
        severity: Sev::Captured,
        captures: &["tool", "sev", "msg"],
    },
    // ---- Linkers and binutils ---------------------------------------------
    Rule {
        name: "ld-more-undefined",
        pattern: r"^(?:\S*\bld(?:\.\w+)?: )?\S+: more undefined references to ",
        role: Note,
        kind: Linker,
        severity: Sev::None,
        captures: &[],
    },
    Rule {
        // `ld: obj.o:src/file.c:85: undefined reference to ...` (with -g).
        name: "ld-source-line",
        pattern: r"^(?:(?P<tool>\S*\bld(?:\.\w+)?): )?(?:[^\s:]+\.(?:o|ko|so|a\([^)\s]*\)):)?(?P<file>[^\s:]+):(?P<line>\d+): (?:(?P<sev>warning): )?(?P<msg>(?:undefined reference to|multiple definition of|relocation truncated to fit|dangerous relocation|undefined symbol) .*)$",
        role: Head,
        kind: Linker,
        severity: Sev::Captured,
        captures: &["tool", "file", "line", "sev", "msg"],
    },
    Rule {
        name: "ld-located",
        pattern: r"^(?:(?P<tool>\S*\bld(?:\.\w+)?): )?(?P<file>[^\s:]+?)(?::[^\s:]+)?:\((?P<sect>[^)]*)\): (?:(?P<sev>warning): )?(?P<msg>.*)$",
        role: Head,
        kind: Linker,
        severity: Sev::Captured,
        captures: &["tool", "file", "sect", "sev", "msg"],
    },
    Rule {
        name: "ld-context-function",
        pattern: r"^(?P<tool>\S*\bld(?:\.\w+)?): (?P<file>[^\s:]+): (?:in function|In function) ",
        role: Context,
        kind: Linker,
        severity: Sev::None,
        captures: &["tool", "file"],
    },
    Rule {
        name: "ld-note",
        pattern: r"^\S*\bld(?:\.\w+)?: NOTE: ",
        role: Chatter,
        kind: Linker,
        severity: Sev::None,
        captures: &[],
    },
    Rule {
        name: "ld-lld",
        pattern: r"^(?P<tool>\S*\b(?:ld\.lld|lld|ld64\.lld|wasm-ld)(?:-\d+)?): (?P<sev>warning|error): (?P<msg>.*)$",
        role: Head,
        kind: Linker,
        severity: Sev::Captured,
        captures: &["tool", "sev", "msg"],
    },
    Rule {
        name: "binutils",
        pattern: r"^(?P<tool>\S*\b(?:ld|ld\.bfd|ld\.gold|objcopy|objdump|strip|nm|ar|ranlib|readelf|as)(?:-[\d.]+)?): (?:(?P<file>[^\s:]+): )?(?P<sev>warning|error|Warning|Error): (?P<msg>.*)$",
        role: Head,
        kind: Linker,
        severity: Sev::Captured,
        captures: &["tool", "file", "sev", "msg"],
    },
    Rule {
        // GNU ld states most errors without a severity word.
        name: "ld-other",
        pattern: r"^(?P<tool>\S*\b(?:ld|ld\.bfd|ld\.gold)(?:-[\d.]+)?): (?P<msg>\S.*)$",
        role: Head,
        kind: Linker,
        severity: Sev::Error,
        captures: &["tool", "msg"],
    },
    Rule {
        name: "lld-note",
        pattern: r"^>>> ",
        role: Note,
        kind: Linker,
        severity: Sev::None,
        captures: &[],
    },
    // ---- rustc -----------------------------------------------------------
    Rule {
        name: "rust-location",
        pattern: r"^\s*--> (?P<file>[^\s:]+):(?P<line>\d+):(?P<col>\d+)",
        role: Note,
        kind: Rust,
        severity: Sev::None,
        captures: &["file", "line", "col"],
    },
    Rule {
        name: "rust-head",
        pattern: r"^(?P<sev>error|warning)(?:\[(?P<code>[A-Za-z0-9_:]+)\])?: (?P<msg>\S.*)$",
        role: HeadLocLater,
        kind: Rust,
        severity: Sev::Captured,
        captures: &["sev", "code", "msg"],
    },
    // ---- Anything else that says warning / error -------------------------
    Rule {
        name: "tool-diag",
        pattern: r"^(?P<tool>[\w./+-]+): (?P<sev>WARNING|ERROR|FATAL|warning|error|fatal error): (?P<msg>.*)$",
        role: Head,
        kind: Other,
        severity: Sev::Captured,
        captures: &["tool", "sev", "msg"],
    },
    Rule {
        name: "upper-diag",
        pattern: r"^(?P<sev>WARNING|ERROR): (?P<msg>\S.*)$",
        role: Head,
        kind: Other,
        severity: Sev::Captured,
        captures: &["sev", "msg"],
    },
];

struct Compiled {
    /// Every rule's pattern, anchored at the line's start, in table order:
    /// an anchored leftmost-first search gives the first rule that matches
    /// (patterns at one position are preferred in order), and need not
    /// look for all the others as a set would.
    first: meta::Regex,
    /// Compiled on first use: most logs need a handful of rules.
    each: Vec<OnceLock<RuleRegex>>,
}

/// One rule's regex, and the group index of each of [`NAMES`] in it.
struct RuleRegex {
    re: Regex,
    groups: [Option<usize>; NAMES.len()],
}

fn with_flags(p: &str) -> String {
    // Unicode off: `.` and `\S` match single bytes, so invalid UTF-8 in a
    // message never stops a match.
    format!("(?-u){p}")
}

/// A rule's pattern for [`Compiled::first`]: as it is when every match of
/// it starts at the start of the line (a `^` that begins every
/// alternative), else found anywhere in the line after `^.*?` (lines hold
/// no `\n`, which `.` alone does not match).
fn anchored(p: &str, syntax: SyntaxConfig) -> String {
    let hir = regex_automata::util::syntax::parse_with(&with_flags(p), &syntax)
        .expect("diagnostic patterns parse");
    if hir.properties().look_set_prefix().contains(Look::Start) {
        with_flags(p)
    } else {
        with_flags(&format!("^.*?(?:{p})"))
    }
}

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| {
    let syntax = SyntaxConfig::new().utf8(false);
    let pats: Vec<String> = RULES.iter().map(|r| anchored(r.pattern, syntax)).collect();
    Compiled {
        first: meta::Builder::new()
            .syntax(syntax)
            .configure(meta::Config::new().utf8_empty(false))
            .build_many(&pats)
            .expect("diagnostic patterns compile"),
        each: pats.iter().map(|_| OnceLock::new()).collect(),
    }
});

/// The regex of rule `idx` (the same pattern the set matched with).
fn rule_regex(idx: usize) -> Option<&'static RuleRegex> {
    let cell = COMPILED.each.get(idx)?;
    Some(cell.get_or_init(|| {
        let re = Regex::new(&with_flags(RULES[idx].pattern)).expect("diagnostic pattern compiles");
        let groups = NAMES.map(|name| re.capture_names().position(|n| n == Some(name)));
        RuleRegex { re, groups }
    }))
}

/// Force compilation (so the first line does not pay for it).
fn init() {
    LazyLock::force(&COMPILED);
}

/// The capture names rules may use; a [`Hit`] keeps one span per name.
const NAMES: [&str; 10] = [
    "file", "line", "col", "sev", "msg", "tool", "target", "code", "check", "sect",
];

type Spans = [Option<(u32, u32)>; NAMES.len()];

/// A line matched by a rule.
#[derive(Clone, Copy)]
pub(crate) struct Hit<'a> {
    pub rule: &'static Rule,
    line: &'a [u8],
    spans: Spans,
}

impl<'a> Hit<'a> {
    /// The text of capture `name` (`None` if the rule has no such group or
    /// it did not participate).
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        let i = NAMES.iter().position(|n| *n == name)?;
        let (s, e) = self.spans[i]?;
        self.line.get(s as usize..e as usize)
    }
}

/// Capture locations of each rule's regex (by rule index), kept between
/// lines (so a match allocates nothing).
pub(crate) struct Locations {
    /// Each rule's capture locations, once it was needed.
    each: Vec<Option<CaptureLocations>>,
    /// The search cache of [`Compiled::first`].
    first: meta::Cache,
}

impl Default for Locations {
    fn default() -> Self {
        Locations {
            each: RULES.iter().map(|_| None).collect(),
            first: COMPILED.first.create_cache(),
        }
    }
}

/// A capture's span as a [`Hit`] keeps it.
fn span(start: usize, end: usize) -> Option<(u32, u32)> {
    Some((u32::try_from(start).ok()?, u32::try_from(end).ok()?))
}

/// The first rule (in table order) matching `line`, uncached.
fn classify_uncached(line: &[u8], locs: &mut Locations) -> Outcome {
    let c = &*COMPILED;
    let input = Input::new(line).anchored(Anchored::Yes);
    let idx = c
        .first
        .search_with(&mut locs.first, &input)?
        .pattern()
        .as_usize();
    let rule = RULES.get(idx)?;
    let idx16 = u16::try_from(idx).ok()?;
    if rule.captures.is_empty() {
        // the set's word is all there is to know
        return Some((idx16, [None; NAMES.len()]));
    }
    if rule.name == "cc-diag" {
        if let Some(spans) = cc_diag_spans(line) {
            return Some((idx16, spans));
        }
    }
    let rx = rule_regex(idx)?;
    let loc = locs
        .each
        .get_mut(idx)?
        .get_or_insert_with(|| rx.re.capture_locations());
    rx.re.captures_read(loc, line)?;
    let spans: Spans = rx.groups.map(|g| {
        let (s, e) = loc.get(g?)?;
        span(s, e)
    });
    Some((idx16, spans))
}

/// The captures of the `cc-diag` rule in a line it matches, by hand (the
/// commonest head: its regex's capture search costs more than the rest of
/// the line's classification): `file:line:col: [sparse: ]sev: msg`, the
/// column optional. `None` if the line is not of that shape.
fn cc_diag_spans(line: &[u8]) -> Option<Spans> {
    let digits = |from: usize| {
        from + line[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    // `\s` without Unicode: ASCII white space and the vertical tab
    let file_end = line
        .iter()
        .position(|&b| b == b':' || b.is_ascii_whitespace() || b == 0x0b)?;
    if file_end == 0 || line[file_end] != b':' {
        return None;
    }
    let line_start = file_end + 1;
    let line_end = digits(line_start);
    if line_end == line_start || line.get(line_end) != Some(&b':') {
        return None;
    }
    let mut at = line_end + 1;
    let mut col = None;
    let col_end = digits(at);
    if col_end > at && line.get(col_end) == Some(&b':') {
        col = span(at, col_end);
        at = col_end + 1;
    }
    if line.get(at) != Some(&b' ') {
        return None;
    }
    at += 1;
    let with_sev = |at: usize| {
        [&b"warning"[..], b"error", b"fatal error"]
            .into_iter()
            .find_map(|w| {
                let end = at + w.len();
                (line[at..].starts_with(w) && line[end..].starts_with(b": ")).then_some(end)
            })
    };
    let sev_start = if line[at..].starts_with(b"sparse: ") && with_sev(at + 8).is_some() {
        at + 8
    } else {
        at
    };
    let sev_end = with_sev(sev_start)?;
    let msg_start = sev_end + 2;
    if memchr::memchr(b'\n', &line[msg_start..]).is_some() {
        return None;
    }
    let mut spans: Spans = [None; NAMES.len()];
    spans[0] = span(0, file_end);
    spans[1] = span(line_start, line_end);
    spans[2] = col;
    spans[3] = span(sev_start, sev_end);
    spans[4] = span(msg_start, line.len());
    Some(spans)
}

/// Classifies lines, remembering recent answers: build logs repeat lines
/// (a header's warning once per includer, make's directory lines, Kconfig
/// warnings once per make invocation), and a lookup is far cheaper than
/// the rule table.
pub(crate) struct Classifier {
    slots: Vec<Option<Memo>>,
    locs: Locations,
}

struct Memo {
    line: Box<[u8]>,
    result: Outcome,
}

/// Memo slots (direct-mapped by hash).
const MEMO_SLOTS: usize = 4096;
/// Longer lines are classified every time.
const MEMO_MAX_LINE: usize = 512;

impl Default for Classifier {
    fn default() -> Self {
        init();
        Classifier {
            slots: (0..MEMO_SLOTS).map(|_| None).collect(),
            locs: Locations::default(),
        }
    }
}

impl Classifier {
    /// The first rule (in table order) matching `line`.
    /// Callers test [`plausible`] first (no rule matches the others).
    pub fn classify<'a>(&mut self, line: &'a [u8]) -> Option<Hit<'a>> {
        hit(line, self.outcome(line))
    }

    /// What [`Classifier::classify`] finds in `line`, as a value that can
    /// be kept apart from the line ([`hit`] makes it a hit again).
    pub(crate) fn outcome(&mut self, line: &[u8]) -> Outcome {
        if line.len() > MEMO_MAX_LINE {
            return classify_uncached(line, &mut self.locs);
        }
        let slot = (line_hash(line) as usize) % MEMO_SLOTS;
        match &self.slots[slot] {
            Some(m) if *m.line == *line => m.result,
            _ => {
                let result = classify_uncached(line, &mut self.locs);
                self.slots[slot] = Some(Memo {
                    line: line.into(),
                    result,
                });
                result
            }
        }
    }
}

/// The rule a line matched and its captures' spans in the line, or `None`
/// for no rule: [`Classifier::outcome`].
pub(crate) type Outcome = Option<(u16, Spans)>;

/// The hit of `line`, from the [`Outcome`] of classifying that same line.
pub(crate) fn hit(line: &[u8], outcome: Outcome) -> Option<Hit<'_>> {
    let (idx, spans) = outcome?;
    Some(Hit {
        rule: RULES.get(usize::from(idx))?,
        line,
        spans,
    })
}

/// Structural pre-test, cheaper than the rule set: in every shape of the table
/// the text before the first `:` is one token (a path, a tool, a severity
/// word; paths with spaces are not supported), except for the few shapes
/// that start with a fixed prefix. This rejects most prose (`Value of
/// CONFIG_X is redefined by fragment ...:`, `Build time: ...`).
#[inline]
pub(crate) fn plausible(line: &[u8], colon: Option<usize>) -> bool {
    const PREFIXES: [&[u8]; 8] = [
        b"*** ",
        b"FATAL ERROR: ",
        b">>> ",
        b"In file included from ",
        b"{standard input}",
        b"To see full details",
        b"virtual memory exhausted",
        b"'make ",
    ];
    if line.first().is_some_and(|b| b.is_ascii_whitespace()) {
        return true;
    }
    let head = match colon {
        Some(p) => &line[..p.min(line.len())],
        None => line,
    };
    memchr::memchr(b' ', head).is_none() || PREFIXES.iter().any(|p| line.starts_with(p))
}

/// A fast non-cryptographic hash (FxHash-style) of a line.
fn line_hash(line: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h: u64 = line.len() as u64;
    let mut chunks = line.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
    }
    h ^ (h >> 29)
}

/// The first rule (in table order) matching `line` (no memo; tests).
#[cfg(test)]
pub(crate) fn classify(line: &[u8]) -> Option<Hit<'_>> {
    let (idx, spans) = classify_uncached(line, &mut Locations::default())?;
    Some(Hit {
        rule: &RULES[usize::from(idx)],
        line,
        spans,
    })
}

/// Severity word to severity (`Sev::Captured` rules).
pub(crate) fn severity_word(w: &[u8]) -> Option<super::Severity> {
    let first = w.first()?.to_ascii_lowercase();
    match first {
        b'w' => Some(super::Severity::Warning),
        b'e' | b'f' => Some(super::Severity::Error),
        _ => None,
    }
}

/// A kbuild progress line (`  CC      init/main.o`, `  LD [M]  x.ko`),
/// which never is a diagnostic and never ends a diagnostic's block.
#[inline]
pub(crate) fn is_progress(line: &[u8]) -> bool {
    // Two spaces, an upper-case word, spaces, then something.
    if line.len() < 5 || line[0] != b' ' || line[1] != b' ' || !line[2].is_ascii_uppercase() {
        return false;
    }
    let mut i = 3;
    while i < line.len()
        && (line[i].is_ascii_uppercase() || line[i].is_ascii_digit() || line[i] == b'_')
    {
        i += 1;
    }
    if i - 2 > 10 || i >= line.len() || line[i] != b' ' {
        // `  Generating include/...` style (sh, mips) also counts.
        return line[2..].starts_with(b"Generating ") || line[2..].starts_with(b"Kernel: ");
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spans rule `name`'s regex gives `line`.
    fn regex_spans(name: &str, line: &[u8]) -> Option<Spans> {
        let idx = RULES.iter().position(|r| r.name == name).unwrap();
        let rx = rule_regex(idx).unwrap();
        let caps = rx.re.captures(line)?;
        Some(NAMES.map(|n| caps.name(n).map(|m| (m.start() as u32, m.end() as u32))))
    }

    #[test]
    fn cc_diag_by_hand_is_cc_diag_by_regex() {
        for l in [
            &b"../init/main.c:916:13: warning: unused variable [-Wunused]"[..],
            b"a.c:1: error: no column",
            b"a.c:1:2: fatal error: x.h: No such file or directory",
            b"a.c:1:2: sparse: warning: sparse's",
            b"a.c:1:2: sparse: sparse: incorrect type",
            b"a.c:1:2: sparse: note: not a head",
            b"a.c:1:2:3: warning: two columns",
            b"a.c:1:x: warning: a word for a column",
            b"a b.c:1:2: warning: a space in the path",
            b"a\x0bb.c:1:2: warning: a vertical tab in the path",
            b":1:2: warning: no file",
            b"a.c::2: warning: no line",
            b"a.c:1:2:  warning: two spaces",
            b"a.c:1:2: warning:no space",
            b"a.c:1:2: warning: ",
            b"a.c:1:2: warning: two\nlines",
            b"a.c:1:2: Warning: capital",
            b"\xff\xfe.c:1:2: error: bytes \xff",
        ] {
            assert_eq!(
                cc_diag_spans(l),
                regex_spans("cc-diag", l),
                "{}",
                String::from_utf8_lossy(l)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn cc_diag_by_hand_is_cc_diag_by_regex_on_any_line(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just(b":".to_vec()),
                    proptest::strategy::Just(b": ".to_vec()),
                    proptest::strategy::Just(b"12".to_vec()),
                    proptest::strategy::Just(b" ".to_vec()),
                    proptest::strategy::Just(b"sparse: ".to_vec()),
                    proptest::strategy::Just(b"warning".to_vec()),
                    proptest::strategy::Just(b"error".to_vec()),
                    proptest::strategy::Just(b"fatal error".to_vec()),
                    proptest::strategy::Just(b"a.c".to_vec()),
                    proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3),
                ],
                0..12,
            )
        ) {
            let line = parts.concat();
            proptest::prop_assert_eq!(cc_diag_spans(&line), regex_spans("cc-diag", &line));
        }

        #[test]
        fn cc_diag_by_hand_is_cc_diag_by_regex_near_the_shape(
            file in "[a-z./ \u{b}:_-]{0,8}",
            line_no in "[0-9a:]{0,3}",
            col in proptest::option::of("[0-9 :]{0,3}"),
            sep in "[ :]{0,2}",
            sparse in proptest::bool::ANY,
            sev in "(warning|error|fatal error|note|Error|warnin)",
            colon in "(: |:|: :| )",
            msg in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8),
        ) {
            let mut line = format!("{file}:{line_no}:").into_bytes();
            if let Some(c) = col {
                line.extend_from_slice(format!("{c}:").as_bytes());
            }
            line.extend_from_slice(sep.as_bytes());
            if sparse {
                line.extend_from_slice(b"sparse: ");
            }
            line.extend_from_slice(sev.as_bytes());
            line.extend_from_slice(colon.as_bytes());
            line.extend_from_slice(&msg);
            proptest::prop_assert_eq!(cc_diag_spans(&line), regex_spans("cc-diag", &line));
        }
    }

    /// The reference for [`Compiled::first`]: the lowest rule index in
    /// the set of all the rules that match.
    fn first_by_set(line: &[u8]) -> Option<usize> {
        static SET: LazyLock<regex::bytes::RegexSet> = LazyLock::new(|| {
            regex::bytes::RegexSet::new(RULES.iter().map(|r| with_flags(r.pattern)))
                .expect("diagnostic patterns compile")
        });
        SET.matches(line).into_iter().next()
    }

    fn first(line: &[u8]) -> Option<usize> {
        classify_uncached(line, &mut Locations::default()).map(|(i, _)| usize::from(i))
    }

    #[test]
    fn only_patterns_not_anchored_everywhere_are_searched_after_any_prefix() {
        let syntax = SyntaxConfig::new().utf8(false);
        assert_eq!(anchored("^a|^b", syntax), "(?-u)^a|^b");
        assert_eq!(anchored("^a|b", syntax), "(?-u)^.*?(?:^a|b)");
        assert_eq!(
            anchored(r"\bBus error\b", syntax),
            r"(?-u)^.*?(?:\bBus error\b)"
        );
        let wrapped = RULES
            .iter()
            .filter(|r| anchored(r.pattern, syntax) != with_flags(r.pattern))
            .count();
        assert!(wrapped >= 3 && wrapped < RULES.len() / 4, "{wrapped}");
    }

    /// Words of the rules' shapes, to make lines near them.
    const WORDS: &[&[u8]] = &[
        b"make",
        b"[1]",
        b": ",
        b":",
        b"*** ",
        b"[",
        b"]",
        b" ",
        b"  ",
        b"\t",
        b"warning",
        b"error",
        b"fatal error",
        b"WARNING",
        b"ERROR",
        b"Error",
        b"note",
        b"a.c",
        b"12",
        b"ld",
        b"ld.lld",
        b"gcc",
        b"sh",
        b"/bin/",
        b"Kconfig",
        b".config",
        b"Makefile",
        b"modpost",
        b"objtool",
        b"sparse",
        b"In file included from ",
        b"from ",
        b"In function ",
        b"Segmentation fault",
        b"Bus error",
        b"No space left on device",
        b"Killed",
        b"not found",
        b"Entering directory",
        b">>> ",
        b"--> ",
        b"rsync",
        b"Assembler messages",
        b"undefined reference to ",
        b"generated.",
        b"Section mismatch",
        b"Warning",
        b"(",
        b")",
        b"'",
        b"\"",
        b"ccache",
        b"cc1",
        b"collect2",
        b"x86_64-linux-gnu-",
        b"\x1b",
    ];

    proptest::proptest! {
        #[test]
        fn the_first_rule_is_the_set_s_first_on_lines_near_the_shapes(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    6 => proptest::strategy::Strategy::prop_map(0..WORDS.len(), |i| WORDS[i].to_vec()),
                    1 => proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3),
                ],
                0..14,
            )
        ) {
            let line: Vec<u8> = parts.concat().into_iter().filter(|&b| b != b'\n').collect();
            proptest::prop_assert_eq!(first(&line), first_by_set(&line));
        }

        #[test]
        fn the_first_rule_is_the_set_s_first_on_any_line(
            line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..60)
        ) {
            let line: Vec<u8> = line.into_iter().filter(|&b| b != b'\n').collect();
            proptest::prop_assert_eq!(first(&line), first_by_set(&line));
        }
    }

    #[test]
    fn the_first_rule_is_the_set_s_first_on_real_logs() {
        // every line of the repository's fixture logs, and of the rules'
        // own examples below
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");
        let mut seen = 0;
        let mut stack = vec![std::path::PathBuf::from(root)];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_none_or(|x| x != "gz") {
                    let Ok(bytes) = std::fs::read(&p) else {
                        continue;
                    };
                    for l in bytes.split(|&b| b == b'\n') {
                        let l = crate::diag::normalize::strip_timestamp(l);
                        assert_eq!(first(l), first_by_set(l), "{}", String::from_utf8_lossy(l));
                        seen += usize::from(first(l).is_some());
                    }
                }
            }
        }
        assert!(seen > 1000, "{seen} lines matched a rule");
    }

    #[test]
    fn every_rule_compiles_and_lists_its_captures() {
        init();
        for (i, r) in RULES.iter().enumerate() {
            let re = &rule_regex(i).expect("every rule has a regex").re;
            let mut names: Vec<&str> = re.capture_names().flatten().collect();
            names.sort_unstable();
            let mut want = r.captures.to_vec();
            want.sort_unstable();
            assert_eq!(names, want, "captures of rule {}", r.name);
            let diag = matches!(r.role, Head | HeadLocLater | MakeFailure | MakeError);
            assert_eq!(
                diag,
                r.severity != Sev::None,
                "rule {}: diagnostics and only they have a severity",
                r.name
            );
            for c in r.captures {
                assert!(
                    NAMES.contains(c),
                    "rule {}: capture {c} not in NAMES",
                    r.name
                );
            }
            if r.severity == Sev::Captured {
                assert!(r.captures.contains(&"sev"), "rule {}", r.name);
            }
        }
        let mut names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RULES.len(), "rule names are unique");
    }

    /// One real-looking line per rule: the table order gives each its rule.
    #[test]
    fn each_rule_claims_its_lines() {
        let cases: &[(&str, &str)] = &[
            ("clang-summary", "1 warning and 1 error generated."),
            ("cc1-werror-summary", "cc1: some warnings being treated as errors"),
            ("collect2-summary", "collect2: error: ld returned 1 exit status"),
            ("clang-link-summary", "clang: error: linker command failed with exit code 1 (use -v to see invocation)"),
            ("rust-summary", "error: aborting due to 2 previous errors; 1 warning emitted"),
            ("exit-code-summary", "error: command '/usr/local/bin/sccache' failed with exit code 1"),
            ("make-noise", "make[3]: *** Waiting for unfinished jobs...."),
            ("make-recipe-failure", "make[2]: *** [scripts/Makefile.build:244: mm/filemap.o] Error 1"),
            ("make-no-rule", "make: *** No rule to make target 'Image'.  Stop."),
            ("make-stop", "/builds/linux/scripts/kconfig/Makefile:95: *** No configuration exists for this target on this architecture.  Stop."),
            ("makefile-message", "Makefile.config:804: slang not found, disables TUI support. Please install slang-devel, libslang-dev or libslang2-dev"),
            ("env-no-space", "cp: error writing 'vmlinux': No space left on device"),
            ("env-resources", "gcc: fatal error: Killed signal terminated program cc1"),
            ("makefile-old-recipe", "../init/Makefile:64: warning: ignoring old recipe for target 'harvest-twice'"),
            ("makefile-warning", "../init/Makefile:65: warning: overriding recipe for target 'harvest-twice'"),
            ("toolchain-shell-not-found", "/bin/sh: 1: gcc-15: not found"),
            ("toolchain-make-exec", "make[1]: gcc-15: Command not found"),
            ("toolchain-kconfig", "scripts/Kconfig.include:39: C compiler 'gcc-99' not found"),
            ("toolchain-unknown", "/bin/true: unknown C compiler"),
            ("toolchain-driver", "error: unknown target triple 'bogus64', please use -triple or -arch"),
            ("toolchain-cannot-find", "collect2: fatal error: cannot find 'ld'"),
            ("toolchain-ccache", "ccache: error: Could not find compiler \"gcc-99\" in PATH"),
            ("env-shell", "/bin/sh: 1: scripts/foo.sh: Permission denied"),
            ("env-make-exec", "make[1]: scripts/foo.sh: Permission denied"),
            ("env-exec", "scripts/link-vmlinux.sh: line 12: 1234 Segmentation fault"),
            ("env-notice", "Warning: you seem to have a broken 32-bit build environment."),
            ("tool-warning", "Warning: Kernel ABI header at 'tools/include/uapi/linux/const.h' differs from latest version at 'include/uapi/linux/const.h'"),
            ("python-warning", "scripts/foo.py:12: SyntaxWarning: invalid escape sequence '\\d'"),
            ("rsync-summary", "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338) [sender=3.2.7]"),
            ("rsync", "rsync: [sender] link_stat \"/src/harvest_missing_file\" failed: No such file or directory (2)"),
            ("kconfig-unmet", "WARNING: unmet direct dependencies detected for GET_FREE_REGION"),
            ("kconfig-unmet-old", "warning: (A && B) selects C which has unmet direct dependencies (D)"),
            ("kconfig-note", "drivers/foo/Kconfig:3:\tsymbol FOO depends on BAR"),
            ("kconfig-config-diag", ".config:1309:warning: override: UNWINDER_GUESS changes choice state"),
            ("kconfig-syntax-error", "arch/x86/Kconfig:12: syntax error"),
            ("kconfig-fatal", "*** Can't find default configuration \"arch/riscv/configs/nommu_k210_defconfig\"!"),
            ("modpost", "ERROR: modpost: \"foo_bar\" [drivers/x/y.ko] undefined!"),
            ("modpost-old-symbol", "ERROR: \"foo_bar\" [drivers/x/y.ko] undefined!"),
            ("modpost-old-mismatch", "WARNING: vmlinux.o(__ex_table+0x1750): Section mismatch in reference from the (unknown reference) (unknown) to the (unknown reference) .irqentry.text:(unknown)"),
            ("modpost-details-hint", "To see full details build your kernel with:"),
            ("objtool", "vmlinux.o: warning: objtool: vmx_vcpu_enter_exit+0x15b: call to wrmsrl.constprop.0() leaves .noinstr.text section"),
            ("dtc-check", "arch/arm64/boot/dts/qcom/ipq8074-hk01.dtb: Warning (reg_format): /soc/nand@79b0000/nand@0:reg: property has invalid length (4 bytes)"),
            ("dtc-error", "Error: arch/arm/boot/dts/foo.dts:12.1-5 syntax error"),
            ("dtc-fatal", "FATAL ERROR: Unable to parse input tree"),
            ("tool-chatter", "libbpf: Error in bpf_object__probe_loading()"),
            ("as-header", "arch/x86/entry/entry_64.S: Assembler messages:"),
            ("as-diag", "/tmp/cclji32d.s:537: Error: invalid barrier type -- `dmb ishld'"),
            ("cc-note", "../kernel/sys.c:953:41: note: each undeclared identifier is reported only once for each function it appears in"),
            ("sparse-note", "sound/soc/fsl/fsl_easrc.c:1465:51: sparse:    expected unsigned int sample_format"),
            ("cc-diag", "../init/main.c:916:13: warning: unused variable \u{2018}x\u{2019} [-Wunused-variable]"),
            ("cc-context-function", "../init/main.c: In function \u{2018}start_kernel\u{2019}:"),
            ("cc-context-include", "In file included from ./arch/arm/include/asm/atomic.h:16,"),
            ("cc-driver", "clang: error: argument unused during compilation: '-pie' [-Werror,-Wunused-command-line-argument]"),
            ("ld-more-undefined", "arm-linux-gnueabihf-ld: kernel/rcu/update.o:update.c:(.text+0x1d10): more undefined references to `__bad_cmpxchg' follow"),
            ("ld-source-line", "/usr/bin/ld: /build/tools/testing/selftests/kvm/lib/aarch64/ucall.c:85: undefined reference to `WRITE_ONCE'"),
            ("ld-located", "update.c:(.text+0x318): undefined reference to `__bad_cmpxchg'"),
            ("ld-context-function", "riscv64-linux-gnu-ld: kernel/task_work.o: in function `task_work_add':"),
            ("ld-note", "/usr/bin/ld: NOTE: This behaviour is deprecated and will be removed in a future version of the linker"),
            ("ld-lld", "ld.lld: error: undefined symbol: irq_work_queue"),
            ("binutils", "s390x-linux-gnu-objcopy: st1TiUjX: warning: allocated section `.got.plt' not in segment"),
            ("ld-other", "riscv64-linux-gnu-ld: failed to merge target specific data of file fs/efivarfs/file.o"),
            ("lld-note", ">>> referenced by task_work.c"),
            ("rust-location", "   --> rust/kernel/mm/virt.rs:399:44"),
            ("rust-head", "error[E0425]: cannot find value `VM_READ` in crate `bindings`"),
            ("tool-diag", "depmod: WARNING: could not open modules.builtin.modinfo"),
            ("upper-diag", "ERROR: Kernel configuration is invalid."),
        ];
        let mut covered: Vec<&str> = Vec::new();
        for (want, line) in cases {
            let got = classify(line.as_bytes()).map(|h| h.rule.name);
            assert_eq!(got, Some(*want), "{line}");
            covered.push(want);
        }
        for r in RULES {
            assert!(covered.contains(&r.name), "rule {} has no example", r.name);
        }
    }

    #[test]
    fn plausible_keeps_every_shape() {
        for l in [
            &b"In file included from ../init/main.c:61:"[..],
            b"                 from ../include/linux/nfs_fs.h:31,",
            b"{standard input}: Assembler messages:",
            b"{standard input}:12: Error: bad",
            b"To see full details build your kernel with:",
            b"'make CONFIG_DEBUG_SECTION_MISMATCH=y'",
            b"virtual memory exhausted: Cannot allocate memory",
            b"*** Can't find default configuration \"x\"!",
            b">>> referenced by task_work.c",
            b"   --> rust/kernel/mm/virt.rs:399:44",
            b"../init/main.c:916:13: warning: unused variable",
            b"make[2]: *** [x] Error 1",
            b"error: command '/usr/bin/x' failed with exit code 1",
            b"FATAL ERROR: Unable to parse input tree",
        ] {
            assert!(
                plausible(l, memchr::memchr(b':', l)),
                "{}",
                String::from_utf8_lossy(l)
            );
        }
        for l in [
            &b"Value of CONFIG_SLOB is redefined by fragment ../kernel/configs/tiny.config:"[..],
            b"Previous value: CONFIG_SLUB=y",
            b"Build time:   3 minutes 18 seconds",
            b"KTEST RESULT: TEST 1 SUCCESS!!!!   **",
        ] {
            assert!(
                !plausible(l, memchr::memchr(b':', l)),
                "{}",
                String::from_utf8_lossy(l)
            );
        }
    }

    #[test]
    fn progress_lines() {
        assert!(is_progress(b"  CC      init/main.o"));
        assert!(is_progress(b"  CC [M]  drivers/base/error.o"));
        assert!(is_progress(b"  HOSTCC  scripts/basic/fixdep"));
        assert!(is_progress(
            b"  Kernel: arch/x86/boot/bzImage is ready  (#1)"
        ));
        assert!(!is_progress(b"  916 |         int x;"));
        assert!(!is_progress(b"      |             ^~~~"));
        assert!(!is_progress(b"  Depends on [n]: SPARSEMEM [=n]"));
        assert!(!is_progress(b"CC init/main.o"));
    }
}
