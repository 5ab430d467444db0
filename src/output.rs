//! Printing: tracing on stderr, result text on stdout that survives a
//! closed pipe (`kcidb-harvest … | head` ends quietly).

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};

/// `s` with every control character escaped (`\n`, `\r`, `\t`, `\x1b`,
/// `\u{9b}`…), for data (paths, log text) put into human output: a
/// directory name or a log line can neither split a line nor send escape
/// sequences to the terminal. JSON output escapes them by construction.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_but(s, None)
}

/// [`escape`] for a whole human text that keeps its own `keep` character
/// (a multi-line summary keeps `\n`).
fn escape_but(s: &str, keep: Option<char>) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && Some(c) != keep) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if Some(c) == keep => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A path for human output ([`escape`]d).
pub fn shown(p: &std::path::Path) -> String {
    escape(&p.display().to_string()).into_owned()
}

/// Install the tracing subscriber on stderr. `KCIDB_HARVEST_LOG` (EnvFilter
/// syntax) overrides the level chosen by `-v`/`-q`.
pub fn init_tracing(verbose: u8, quiet: bool) {
    let level = if quiet {
        "error"
    } else {
        match verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KCIDB_HARVEST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Messages carry paths and log text: their control characters are
    // escaped, so only the formatter's own colours reach the terminal.
    let fields = tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        let v = format!("{value:?}");
        if field.name() == "message" {
            write!(w, "{}", escape(&v))
        } else {
            write!(w, "{}={}", field.name(), escape(&v))
        }
    });
    let _ = tracing_subscriber::fmt()
        .fmt_fields(fields)
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(use_color_stderr())
        .without_time()
        .with_target(false)
        .try_init();
}

/// Colour on stderr only on a terminal and when `NO_COLOR` is unset.
pub fn use_color_stderr() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stderr().is_terminal()
}

/// Write to stdout; a closed pipe is not an error (returns false).
pub fn stdout(text: &str) -> bool {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => false,
        Err(_) => false,
    }
}

/// Write a line to stderr (ignoring errors: there is nowhere else to say
/// it). Control characters other than its own line breaks are escaped.
pub fn stderr_line(text: &str) {
    raw_stderr_line(&escape_but(text, Some('\n')));
}

fn raw_stderr_line(text: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// `kcidb-harvest: error: <message>` (one line: the message is [`escape`]d).
pub fn error(message: &str) {
    let message = escape(message);
    if use_color_stderr() {
        raw_stderr_line(&format!("kcidb-harvest: \x1b[31merror\x1b[0m: {message}"));
    } else {
        stderr_line(&format!("kcidb-harvest: error: {message}"));
    }
}

/// `kcidb-harvest: warning: <message>` (one line: the message is [`escape`]d).
pub fn warning(message: &str) {
    let message = escape(message);
    if use_color_stderr() {
        raw_stderr_line(&format!("kcidb-harvest: \x1b[33mwarning\x1b[0m: {message}"));
    } else {
        stderr_line(&format!("kcidb-harvest: warning: {message}"));
    }
}
