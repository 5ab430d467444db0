//! Delivery settings: where reports go and with which credentials.
//!
//! [`resolve()`] turns the delivery flags ([`crate::cli::DeliveryArgs`]) into a
//! [`Settings`], recording where every value came from. Precedence, highest
//! first (docs/kcidb.md#kci-dev-configuration, kci-dev's rules):
//!
//! 1. flags: `--kcidb-rest-url` with `--kcidb-token` or `--kcidb-token-file`
//!    (both or neither); `--storage-url` with `--storage-token` (both or
//!    neither);
//! 2. environment: `KCIDB_REST=https://TOKEN@host[:port][/path]` (the path is
//!    kept and `/submit` appended when missing); `KCI_STORAGE_URL` with
//!    `KCI_STORAGE_TOKEN`;
//! 3. the kci-dev.toml instance: the first file found among `--settings FILE`,
//!    `./.kci-dev.toml`, `~/.config/kci-dev/kci-dev.toml`, `/etc/kci-dev.toml`
//!    is used whole; the instance is `--instance NAME`, else the file's
//!    `default_instance`; keys `kcidb_rest_url`, `kcidb_token`, `storage_url`,
//!    `storage_token` (other keys belong to other kci-dev tools and are
//!    ignored);
//! 4. built-in defaults: no REST endpoint (reports go to the spool), spool
//!    `./kcidb-spool`, journal `<spool>/journal.jsonl`.
//!
//! Tokens are held in [`Secret`], which never prints its value.
//!
//! One file per concern: `secret` (tokens and their redaction), `resolve`
//! (precedence), `show` (`--show-config`), `duration` (`--timeout`,
//! `--retry-for`, `--retry-delay`), `urls` (`KCIDB_REST` and the URL rules)
//! and `kci_dev_toml` (the file reader); this module holds the public types
//! and re-exports the functions the rest of the crate calls.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;

mod duration;
mod kci_dev_toml;
mod resolve;
mod secret;
mod show;
mod urls;

pub use duration::{parse_duration, show_duration};
pub use resolve::{resolve, resolve_in};
pub use secret::Secret;

/// Where a setting came from (shown by `--show-config`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag, e.g. `--kcidb-rest-url`.
    Flag(&'static str),
    /// `--kcidb-token-file FILE`.
    TokenFile(PathBuf),
    /// An environment variable.
    Env(&'static str),
    /// An instance of a kci-dev.toml file.
    File { path: PathBuf, instance: String },
    /// The built-in default.
    Default,
    /// Derived from another setting (e.g. the journal inside the spool).
    Derived(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(name) => write!(f, "{name}"),
            Source::TokenFile(path) => write!(f, "--kcidb-token-file `{}`", path.display()),
            Source::Env(name) => write!(f, "env {name}"),
            Source::File { path, instance } => {
                write!(f, "`{}` instance [{instance}]", path.display())
            }
            Source::Default => f.write_str("default"),
            Source::Derived(what) => write!(f, "{what}"),
        }
    }
}

/// A URL plus the token to send to it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Never carries credentials (they were moved to `token`).
    pub url: Url,
    pub token: Secret,
    pub url_source: Source,
    pub token_source: Source,
}

/// How log and artifact URLs are obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogUrls {
    /// Upload to the configured kernelci-storage and point at the uploads.
    Upload,
    /// `--log-url-base`: compute `<base>/<origin>/<build>/<file>`, upload nothing.
    Base(String),
    /// Leave URLs out; the string says why.
    Omit(&'static str),
}

/// Retry limits for every request (submission, upload, read-back, status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the first retry; doubled after each attempt.
    pub first_delay: Duration,
    /// Longest delay between two attempts (backoff cap).
    pub max_delay: Duration,
    /// Give up once this much time has passed since the first attempt.
    pub total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            total: Duration::from_secs(300),
        }
    }
}

/// The kci-dev.toml file that was read (if any).
#[derive(Clone, Debug, Default)]
pub struct SettingsFile {
    /// The file used, if one was found.
    pub path: Option<PathBuf>,
    /// The instance used, and why (`--instance` or `default_instance`).
    pub instance: Option<(String, &'static str)>,
    /// Every place looked at, in order.
    pub searched: Vec<PathBuf>,
}

/// Everything delivery needs, resolved.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The KCIDB REST submit URL and token; `None` = spool only.
    pub rest: Option<Endpoint>,
    /// kernelci-storage base URL and token.
    pub storage: Option<Endpoint>,
    pub log_urls: LogUrls,
    pub spool: PathBuf,
    pub spool_source: Source,
    pub journal: PathBuf,
    pub journal_source: Source,
    /// Per-request timeout.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Poll `/status` after a 200.
    pub wait: bool,
    pub allow_insecure: bool,
    /// Most builds per submission.
    pub max_objects: usize,
    /// Most bytes per submission.
    pub max_bytes: usize,
    pub file: SettingsFile,
    /// Things the user should know (printed as warnings by the caller).
    pub notes: Vec<String>,
    /// The same, about log storage only (a harvest uploads logs; `send`
    /// does not, so it leaves these out).
    pub storage_notes: Vec<String>,
}

/// A configuration problem: nothing was done.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
    /// A malformed kci-dev.toml (or a key of the wrong type).
    #[error("`{}`:{line}:{column}: {message}", path.display())]
    File {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ConfigError {
    fn invalid(msg: impl Into<String>) -> ConfigError {
        ConfigError::Invalid(msg.into())
    }
}

/// What [`resolve_in`] reads from the outside world (the process by default;
/// tests pass their own).
pub struct Environment {
    vars: BTreeMap<String, String>,
    /// Directory `./.kci-dev.toml` and the default spool are relative to.
    pub cwd: PathBuf,
    /// `$HOME`, for `~/.config/kci-dev/kci-dev.toml`.
    pub home: Option<PathBuf>,
    /// The system-wide file (`/etc/kci-dev.toml`).
    pub system_file: PathBuf,
}

impl Environment {
    /// The running process: its environment, working directory and `$HOME`.
    pub fn process() -> Environment {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect::<BTreeMap<_, _>>();
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        Environment {
            vars,
            cwd: PathBuf::from("."),
            home,
            system_file: PathBuf::from("/etc/kci-dev.toml"),
        }
    }

    /// An environment with exactly these variables (for tests).
    pub fn with_vars<'a>(
        vars: impl IntoIterator<Item = (&'a str, &'a str)>,
        cwd: &Path,
        home: Option<&Path>,
    ) -> Environment {
        Environment {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            cwd: cwd.to_path_buf(),
            home: home.map(Path::to_path_buf),
            system_file: cwd.join("nonexistent-system-kci-dev.toml"),
        }
    }

    /// A variable's value; set-but-empty counts as unset.
    fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
}

/// What the tests of every concern share: flags with the defaults, an
/// environment in a temp dir, a kci-dev.toml with two instances.
#[cfg(test)]
mod test_util {
    use std::path::{Path, PathBuf};

    use super::Environment;
    use crate::cli::DeliveryArgs;

    pub fn args() -> DeliveryArgs {
        DeliveryArgs {
            timeout: "60s".into(),
            max_objects: 500,
            max_bytes: 16 << 20,
            ..Default::default()
        }
    }

    pub fn env_in(dir: &Path, vars: &[(&str, &str)]) -> Environment {
        Environment::with_vars(vars.iter().copied(), dir, Some(&dir.join("home")))
    }

    pub fn tmp() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "kcidb-harvest-settings-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    }

    pub const TOML: &str = r#"
default_instance = "staging"

[staging]
pipeline = "https://staging.kernelci.org:9100/"
token = "maestro-token"
kcidb_rest_url = "https://staging.kcidb.example.org/submit"
kcidb_token = "file-kcidb-token"
storage_url = "https://files-staging.example.org"
storage_token = "file-storage-token"
something_new = [1, 2]

[production]
kcidb_rest_url = "https://db.kernelci.org/submit"
kcidb_token = "prod-token"
"#;
}
