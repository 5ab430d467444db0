//! Printing: tracing on stderr, result text on stdout that survives a
//! closed pipe (`kcidb-harvest … | head` ends quietly).

use std::io::{self, IsTerminal, Write};

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
    let _ = tracing_subscriber::fmt()
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

/// Write a line to stderr (ignoring errors: there is nowhere else to say it).
pub fn stderr_line(text: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// `kcidb-harvest: error: <message>`.
pub fn error(message: &str) {
    if use_color_stderr() {
        stderr_line(&format!("kcidb-harvest: \x1b[31merror\x1b[0m: {message}"));
    } else {
        stderr_line(&format!("kcidb-harvest: error: {message}"));
    }
}

/// `kcidb-harvest: warning: <message>`.
pub fn warning(message: &str) {
    if use_color_stderr() {
        stderr_line(&format!("kcidb-harvest: \x1b[33mwarning\x1b[0m: {message}"));
    } else {
        stderr_line(&format!("kcidb-harvest: warning: {message}"));
    }
}
