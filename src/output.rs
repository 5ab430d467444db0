//! Terminal safety and stdout: data escaped for human output, and result
//! text on stdout that ends quietly on a closed pipe but reports every
//! other write error. Everything on stderr goes through [`crate::reporter`].

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};

/// `s` with every control character escaped (`\n`, `\r`, `\t`, `\x1b`,
/// `\u{9b}`…), for data (paths, log text) put into human output: a
/// directory name or a log line can neither split a line nor send escape
/// sequences to the terminal. JSON output escapes them by construction.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_but(s, None)
}

/// [`escape`] for a multi-line human text: keeps its own line breaks.
pub fn escape_lines(s: &str) -> Cow<'_, str> {
    escape_but(s, Some('\n'))
}

/// [`escape`] keeping the `keep` character.
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

/// Colour on stderr only on a terminal and when `NO_COLOR` is unset.
pub fn use_color_stderr() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stderr().is_terminal()
}

/// Write to stdout. A closed pipe (`kcidb-harvest … | head`) ends the
/// output quietly: `Ok(false)`, write nothing more. Any other error (a
/// full disk, `> /dev/full`) is returned: the caller reports it and exits
/// non-zero.
pub fn stdout(text: &str) -> io::Result<bool> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e),
    }
}
