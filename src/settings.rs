//! Delivery settings: where reports go and with which credentials.
//!
//! [`resolve`] turns the delivery flags ([`cli::DeliveryArgs`]) into a
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

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use crate::cli::DeliveryArgs;

/// A credential. `Debug` and `Display` print `***`; only [`Secret::expose`]
/// gives the value, and only the HTTP layer calls it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The token itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// For command-line parsing: the flag's value becomes a `Secret` at once, so
/// even `{:?}` of the parsed arguments never shows it.
impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Secret, Self::Err> {
        Ok(Secret::new(s))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

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

/// Resolve the delivery settings from the flags, the process environment
/// and the kci-dev.toml file.
pub fn resolve(args: &DeliveryArgs) -> Result<Settings, ConfigError> {
    resolve_in(args, &Environment::process())
}

/// [`resolve`] against an explicit environment.
pub fn resolve_in(args: &DeliveryArgs, env: &Environment) -> Result<Settings, ConfigError> {
    let mut notes = Vec::new();
    let (file, instance) = load_settings_file(args, env)?;

    // KCIDB REST.
    let flag_token = match (&args.kcidb_token, &args.kcidb_token_file) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::invalid(
                "--kcidb-token and --kcidb-token-file are mutually exclusive; pass one",
            ))
        }
        (Some(t), None) => {
            if t.expose().trim().is_empty() {
                return Err(ConfigError::invalid("--kcidb-token is empty"));
            }
            Some((
                Secret::new(t.expose().trim()),
                Source::Flag("--kcidb-token"),
            ))
        }
        (None, Some(path)) => Some((read_token_file(path)?, Source::TokenFile(path.clone()))),
        (None, None) => None,
    };
    let rest = match (&args.kcidb_rest_url, flag_token) {
        (Some(url), Some((token, token_source))) => Some(Endpoint {
            url: parse_http_url(url, "--kcidb-rest-url")?,
            token,
            url_source: Source::Flag("--kcidb-rest-url"),
            token_source,
        }),
        (Some(_), None) => {
            return Err(ConfigError::invalid(
                "--kcidb-rest-url needs a token: pass --kcidb-token-file FILE (or --kcidb-token TOKEN)",
            ))
        }
        (None, Some(_)) => {
            return Err(ConfigError::invalid(
                "a KCIDB token flag needs --kcidb-rest-url too (flags are taken together, like kci-dev)",
            ))
        }
        (None, None) => match env.var("KCIDB_REST") {
            Some(value) => Some(parse_kcidb_rest(value, &mut notes)?),
            None => match &instance {
                Some(inst) => from_instance(
                    inst,
                    file.path.as_deref(),
                    "kcidb_rest_url",
                    "kcidb_token",
                )?,
                None => None,
            },
        },
    };

    // kernelci-storage.
    let storage = match (&args.storage_url, &args.storage_token) {
        (Some(url), Some(token)) => {
            if token.expose().trim().is_empty() {
                return Err(ConfigError::invalid("--storage-token is empty"));
            }
            Some(Endpoint {
                url: parse_http_url(url, "--storage-url")?,
                token: Secret::new(token.expose().trim()),
                url_source: Source::Flag("--storage-url"),
                token_source: Source::Flag("--storage-token"),
            })
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(ConfigError::invalid(
                "--storage-url and --storage-token go together; pass both",
            ))
        }
        (None, None) => match (env.var("KCI_STORAGE_URL"), env.var("KCI_STORAGE_TOKEN")) {
            (Some(url), Some(token)) => Some(Endpoint {
                url: parse_http_url(url, "KCI_STORAGE_URL")?,
                token: Secret::new(token.trim()),
                url_source: Source::Env("KCI_STORAGE_URL"),
                token_source: Source::Env("KCI_STORAGE_TOKEN"),
            }),
            (url, token) => {
                if url.is_some() != token.is_some() {
                    notes.push(
                        "KCI_STORAGE_URL and KCI_STORAGE_TOKEN must both be set; ignoring the one that is"
                            .to_string(),
                    );
                }
                match &instance {
                    Some(inst) => {
                        from_instance(inst, file.path.as_deref(), "storage_url", "storage_token")?
                    }
                    None => None,
                }
            }
        },
    };

    for ep in rest.iter().chain(storage.iter()) {
        check_transport(ep, args.allow_insecure)?;
    }

    let log_urls = match (args.no_upload, &args.log_url_base) {
        (true, Some(_)) => {
            return Err(ConfigError::invalid(
                "--no-upload and --log-url-base contradict each other; pass one",
            ))
        }
        (true, None) => LogUrls::Omit("--no-upload"),
        (false, Some(base)) => {
            let url = parse_http_url(base, "--log-url-base")?;
            LogUrls::Base(url.as_str().trim_end_matches('/').to_string())
        }
        (false, None) if storage.is_some() => LogUrls::Upload,
        (false, None) => LogUrls::Omit("no storage configured"),
    };
    if rest.is_some() && log_urls == LogUrls::Omit("no storage configured") {
        notes.push(
            "no log storage configured: reports are sent without log URLs \
             (set --storage-url/--storage-token, KCI_STORAGE_URL/KCI_STORAGE_TOKEN or storage_url/storage_token \
             in kci-dev.toml; --no-upload silences this)"
                .to_string(),
        );
    }

    let (spool, spool_source) = match &args.spool {
        Some(p) => (p.clone(), Source::Flag("--spool or KCIDB_HARVEST_SPOOL")),
        None => (env.cwd.join("kcidb-spool"), Source::Default),
    };
    let (journal, journal_source) = match &args.journal {
        Some(p) => (p.clone(), Source::Flag("--journal")),
        None => (
            spool.join("journal.jsonl"),
            Source::Derived("inside the spool"),
        ),
    };

    let timeout = parse_duration(&args.timeout)
        .map_err(|e| ConfigError::invalid(format!("--timeout: {e}")))?;
    if timeout.is_zero() {
        return Err(ConfigError::invalid("--timeout must be more than 0"));
    }
    let mut retry = RetryPolicy::default();
    if let Some(s) = &args.retry_for {
        retry.total =
            parse_duration(s).map_err(|e| ConfigError::invalid(format!("--retry-for: {e}")))?;
    }
    if let Some(s) = &args.retry_delay {
        retry.first_delay =
            parse_duration(s).map_err(|e| ConfigError::invalid(format!("--retry-delay: {e}")))?;
    }
    if args.max_objects == 0 {
        return Err(ConfigError::invalid("--max-objects must be at least 1"));
    }
    if args.max_bytes < 1024 {
        return Err(ConfigError::invalid("--max-bytes must be at least 1024"));
    }

    Ok(Settings {
        rest,
        storage,
        log_urls,
        spool,
        spool_source,
        journal,
        journal_source,
        timeout,
        retry,
        wait: args.wait,
        allow_insecure: args.allow_insecure,
        max_objects: args.max_objects,
        max_bytes: args.max_bytes,
        file,
        notes,
    })
}

impl Settings {
    /// The resolved settings as text, one per line, with their sources;
    /// tokens print as `***`.
    pub fn show(&self) -> String {
        let mut out = String::new();
        let mut line = |k: &str, v: String| {
            out.push_str(&format!("{k:<16}{v}\n"));
        };
        match &self.rest {
            Some(ep) => {
                line("kcidb_rest_url", format!("{}  ({})", ep.url, ep.url_source));
                line(
                    "kcidb_token",
                    format!("{}  ({})", ep.token, ep.token_source),
                );
            }
            None => line(
                "kcidb_rest_url",
                "(none: validated reports are written to the spool)".to_string(),
            ),
        }
        match &self.storage {
            Some(ep) => {
                line("storage_url", format!("{}  ({})", ep.url, ep.url_source));
                line(
                    "storage_token",
                    format!("{}  ({})", ep.token, ep.token_source),
                );
            }
            None => line("storage_url", "(none)".to_string()),
        }
        line(
            "log URLs",
            match &self.log_urls {
                LogUrls::Upload => "uploaded to storage, gzip-compressed".to_string(),
                LogUrls::Base(b) => {
                    format!("computed under {b}, nothing uploaded (--log-url-base)")
                }
                LogUrls::Omit(why) => format!("left out ({why})"),
            },
        );
        line(
            "spool",
            format!("{}  ({})", self.spool.display(), self.spool_source),
        );
        line(
            "journal",
            format!("{}  ({})", self.journal.display(), self.journal_source),
        );
        line(
            "settings file",
            match (&self.file.path, &self.file.instance) {
                (Some(p), Some((inst, why))) => {
                    format!("{} instance [{inst}] ({why})", p.display())
                }
                (Some(p), None) => format!("{} (no instance selected: not used)", p.display()),
                (None, _) => format!(
                    "none found (searched {})",
                    self.file
                        .searched
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        );
        line(
            "timeout",
            format!("{} per request", show_duration(self.timeout)),
        );
        line(
            "retries",
            format!(
                "for up to {}, first after {}, doubling up to {}, with jitter",
                show_duration(self.retry.total),
                show_duration(self.retry.first_delay),
                show_duration(self.retry.max_delay)
            ),
        );
        line(
            "submissions",
            format!(
                "at most {} builds and {} bytes each",
                self.max_objects, self.max_bytes
            ),
        );
        line("wait", format!("{}", self.wait));
        line("allow insecure", format!("{}", self.allow_insecure));
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        out
    }
}

/// `1m30s`-style text for a duration.
pub fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// Parse `500ms`, `30s`, `2m`, `1h`, `1m30s` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
        return Err(format!("`{t}` is not a duration (e.g. 30s, 2m)"));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!("`{t}` is not a duration (e.g. 30s, 2m)"));
        }
        let value: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("`{t}` is not a duration (e.g. 30s, 2m)"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            u => return Err(format!("unknown unit `{u}` in `{t}` (use ms, s, m or h)")),
        };
        rest = &rest[unit_len..];
        let add = value * scale;
        if !add.is_finite() || add > 1e9 {
            return Err(format!("`{t}` is too long"));
        }
        total += Duration::from_secs_f64(add);
    }
    Ok(total)
}

fn read_token_file(path: &Path) -> Result<Secret, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(ConfigError::invalid(format!(
            "token file `{}` is empty",
            path.display()
        )));
    }
    if token.contains(char::is_whitespace) {
        return Err(ConfigError::invalid(format!(
            "token file `{}` holds more than one word; it must contain the token only",
            path.display()
        )));
    }
    Ok(Secret::new(token))
}

/// An `http(s)://` URL without credentials.
fn parse_http_url(text: &str, what: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text.trim())
        .map_err(|e| ConfigError::invalid(format!("{what}: not a URL ({e})")))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(ConfigError::invalid(format!(
            "{what}: scheme must be https (or http), not `{}`",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::invalid(format!("{what}: the URL has no host")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::invalid(format!(
            "{what}: put the token in the token setting, not in the URL"
        )));
    }
    Ok(url)
}

/// `KCIDB_REST=https://TOKEN@host[:port][/path]`. Error messages never
/// contain the value (it holds the token).
fn parse_kcidb_rest(value: &str, notes: &mut Vec<String>) -> Result<Endpoint, ConfigError> {
    let bad = |why: &str| {
        ConfigError::invalid(format!(
            "KCIDB_REST: {why} (expected https://TOKEN@host[:port][/path])"
        ))
    };
    let mut url = Url::parse(value.trim()).map_err(|e| bad(&format!("not a URL: {e}")))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(bad("the scheme must be https (or http)"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if url.username().is_empty() {
        return Err(bad("no token before `@`"));
    }
    if url.password().is_some() {
        return Err(bad(
            "`TOKEN:PASSWORD@` is not supported; the token is the whole user part",
        ));
    }
    let token =
        percent_decode(url.username()).ok_or_else(|| bad("the token is not valid UTF-8"))?;
    // Clearing credentials cannot fail on an http(s) URL with a host.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a query or fragment is not expected"));
    }
    let path = url.path().trim_end_matches('/').to_string();
    if !path.ends_with("/submit") {
        if !path.is_empty() {
            notes.push(format!(
                "KCIDB_REST has the path `{path}`: submitting to `{path}/submit` (like kci-dev; the kcidb library would use `/submit`)"
            ));
        }
        url.set_path(&format!("{path}/submit"));
    } else {
        url.set_path(&path);
    }
    Ok(Endpoint {
        url,
        token: Secret::new(token),
        url_source: Source::Env("KCIDB_REST"),
        token_source: Source::Env("KCIDB_REST"),
    })
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Plain http is only allowed to loopback, unless `--allow-insecure`.
fn check_transport(ep: &Endpoint, allow_insecure: bool) -> Result<(), ConfigError> {
    if ep.url.scheme() == "https" || allow_insecure || is_loopback(&ep.url) {
        return Ok(());
    }
    Err(ConfigError::invalid(format!(
        "refusing to send a token over plain http to {} ({}); use https, or --allow-insecure if you really mean it",
        ep.url.host_str().unwrap_or("?"),
        ep.url_source
    )))
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

// ---------------------------------------------------------------------------
// kci-dev.toml

/// One top-level value of a kci-dev.toml: an instance table or anything else.
enum TopValue {
    Str(String),
    Instance(Instance),
    Other,
}

/// The keys of an instance table that delivery uses, with their positions.
#[derive(Default)]
struct Instance {
    keys: BTreeMap<String, toml::Spanned<toml::Value>>,
}

const INSTANCE_KEYS: [&str; 4] = [
    "kcidb_rest_url",
    "kcidb_token",
    "storage_url",
    "storage_token",
];

impl<'de> Deserialize<'de> for TopValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TopValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a TOML value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TopValue, E> {
                Ok(TopValue::Str(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<TopValue, E> {
                Ok(TopValue::Str(v))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<TopValue, E> {
                Ok(TopValue::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<TopValue, E> {
                Ok(TopValue::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<TopValue, E> {
                Ok(TopValue::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<TopValue, E> {
                Ok(TopValue::Other)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<TopValue, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(TopValue::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopValue, A::Error> {
                let mut inst = Instance::default();
                while let Some(key) = map.next_key::<String>()? {
                    if INSTANCE_KEYS.contains(&key.as_str()) {
                        let v = map.next_value::<toml::Spanned<toml::Value>>()?;
                        inst.keys.insert(key, v);
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
                Ok(TopValue::Instance(inst))
            }
        }
        d.deserialize_any(V)
    }
}

/// The selected instance of the file found, with the file text for line
/// numbers.
struct LoadedInstance {
    name: String,
    keys: BTreeMap<String, toml::Spanned<toml::Value>>,
    text: String,
}

fn load_settings_file(
    args: &DeliveryArgs,
    env: &Environment,
) -> Result<(SettingsFile, Option<LoadedInstance>), ConfigError> {
    let mut searched = Vec::new();
    let mut found = None;
    if let Some(p) = &args.settings {
        searched.push(p.clone());
        if !p.is_file() {
            return Err(ConfigError::invalid(format!(
                "--settings `{}`: no such file",
                p.display()
            )));
        }
        found = Some(p.clone());
    } else {
        let mut candidates = vec![env.cwd.join(".kci-dev.toml")];
        if let Some(home) = &env.home {
            candidates.push(home.join(".config/kci-dev/kci-dev.toml"));
        }
        candidates.push(env.system_file.clone());
        for c in candidates {
            searched.push(c.clone());
            if c.is_file() {
                found = Some(c);
                break;
            }
        }
    }
    let Some(path) = found else {
        if let Some(name) = &args.instance {
            return Err(ConfigError::invalid(format!(
                "--instance {name}: no kci-dev.toml found (searched {})",
                searched
                    .iter()
                    .map(|p| format!("`{}`", p.display()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        return Ok((
            SettingsFile {
                path: None,
                instance: None,
                searched,
            },
            None,
        ));
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let top: BTreeMap<String, TopValue> =
        toml::from_str(&text).map_err(|e| file_error(&path, &text, e.span(), e.message()))?;
    let (name, why) = match &args.instance {
        Some(n) => (Some(n.clone()), "--instance"),
        None => match top.get("default_instance") {
            Some(TopValue::Str(s)) => (Some(s.clone()), "default_instance"),
            Some(_) => {
                return Err(ConfigError::invalid(format!(
                    "`{}`: default_instance must be a string naming an instance table",
                    path.display()
                )))
            }
            None => (None, ""),
        },
    };
    let Some(name) = name else {
        return Ok((
            SettingsFile {
                path: Some(path),
                instance: None,
                searched,
            },
            None,
        ));
    };
    let keys = match top.into_iter().find(|(k, _)| *k == name).map(|(_, v)| v) {
        Some(TopValue::Instance(inst)) => inst.keys,
        Some(_) => {
            return Err(ConfigError::invalid(format!(
                "`{}`: `{name}` ({why}) is not a table",
                path.display()
            )))
        }
        None => {
            return Err(ConfigError::invalid(format!(
                "`{}` has no instance [{name}] (named by {why})",
                path.display()
            )))
        }
    };
    Ok((
        SettingsFile {
            path: Some(path),
            instance: Some((name.clone(), why)),
            searched,
        },
        Some(LoadedInstance { name, keys, text }),
    ))
}

fn file_error(
    path: &Path,
    text: &str,
    span: Option<std::ops::Range<usize>>,
    message: &str,
) -> ConfigError {
    let (line, column) = match span {
        Some(s) => line_col(text, s.start),
        None => (1, 1),
    };
    ConfigError::File {
        path: path.to_path_buf(),
        line,
        column,
        message: message.trim().to_string(),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut off = offset.min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    let before = &text[..off];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// An endpoint from an instance's `<url_key>` + `<token_key>`; both or
/// neither.
fn from_instance(
    inst: &LoadedInstance,
    path: Option<&Path>,
    url_key: &'static str,
    token_key: &'static str,
) -> Result<Option<Endpoint>, ConfigError> {
    let path = path.unwrap_or(Path::new("kci-dev.toml"));
    let get = |key: &str| -> Result<Option<String>, ConfigError> {
        match inst.keys.get(key) {
            None => Ok(None),
            Some(v) => match v.get_ref() {
                toml::Value::String(s) if s.trim().is_empty() => Ok(None),
                toml::Value::String(s) => Ok(Some(s.trim().to_string())),
                other => Err(file_error(
                    path,
                    &inst.text,
                    Some(v.span()),
                    &format!("`{key}` must be a string, not {}", other.type_str()),
                )),
            },
        }
    };
    let url = get(url_key)?;
    let token = get(token_key)?;
    let source = Source::File {
        path: path.to_path_buf(),
        instance: inst.name.clone(),
    };
    match (url, token) {
        (None, None) => Ok(None),
        (Some(url), Some(token)) => {
            let span = inst.keys.get(url_key).map(toml::Spanned::span);
            let url = parse_http_url(&url, url_key)
                .map_err(|e| file_error(path, &inst.text, span, &e.to_string()))?;
            Ok(Some(Endpoint {
                url,
                token: Secret::new(token),
                url_source: source.clone(),
                token_source: source,
            }))
        }
        (Some(_), None) => Err(ConfigError::invalid(format!(
            "`{}` instance [{}] has `{url_key}` but no `{token_key}`",
            path.display(),
            inst.name
        ))),
        (None, Some(_)) => Err(ConfigError::invalid(format!(
            "`{}` instance [{}] has `{token_key}` but no `{url_key}`",
            path.display(),
            inst.name
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> DeliveryArgs {
        DeliveryArgs {
            timeout: "60s".into(),
            max_objects: 500,
            max_bytes: 16 << 20,
            ..Default::default()
        }
    }

    fn env_in(dir: &Path, vars: &[(&str, &str)]) -> Environment {
        Environment::with_vars(vars.iter().copied(), dir, Some(&dir.join("home")))
    }

    fn tmp() -> PathBuf {
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

    const TOML: &str = r#"
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

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("abc.def.ghi");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(s.expose(), "abc.def.ghi");
        // Parsed flags hold tokens as secrets too.
        use clap::Parser;
        let cli = crate::Cli::try_parse_from([
            "kcidb-harvest",
            "dir",
            "--kcidb-rest-url",
            "https://db.example.org/submit",
            "--kcidb-token",
            "sekrit-flag",
            "--storage-url",
            "https://files.example.org",
            "--storage-token",
            "sekrit-storage",
        ])
        .expect("parse");
        let dbg = format!("{cli:?}");
        assert!(!dbg.contains("sekrit"), "{dbg}");
        let st = resolve_in(&cli.harvest.delivery, &env_in(&tmp(), &[])).expect("resolve");
        assert_eq!(st.rest.expect("rest").token.expose(), "sekrit-flag");
    }

    #[test]
    fn nothing_configured_means_spool() {
        let d = tmp();
        let s = resolve_in(&args(), &env_in(&d, &[])).expect("resolve");
        assert!(s.rest.is_none());
        assert!(s.storage.is_none());
        assert_eq!(s.spool, d.join("kcidb-spool"));
        assert_eq!(s.journal, d.join("kcidb-spool").join("journal.jsonl"));
        assert_eq!(s.log_urls, LogUrls::Omit("no storage configured"));
        assert_eq!(s.file.searched.len(), 3);
    }

    #[test]
    fn kcidb_rest_keeps_path_and_appends_submit() {
        let d = tmp();
        let cases = [
            (
                "https://tok@db.example.org",
                "https://db.example.org/submit",
            ),
            (
                "https://tok@db.example.org/",
                "https://db.example.org/submit",
            ),
            (
                "https://tok@db.example.org/submit",
                "https://db.example.org/submit",
            ),
            (
                "https://tok@db.example.org:8443/api",
                "https://db.example.org:8443/api/submit",
            ),
            (
                "http://tok@127.0.0.1:8080/x/submit/",
                "http://127.0.0.1:8080/x/submit",
            ),
        ];
        for (value, want) in cases {
            let s = resolve_in(&args(), &env_in(&d, &[("KCIDB_REST", value)])).expect(value);
            let rest = s.rest.expect("rest");
            assert_eq!(rest.url.as_str(), want, "{value}");
            assert_eq!(rest.token.expose(), "tok");
            assert_eq!(rest.url_source, Source::Env("KCIDB_REST"));
        }
    }

    #[test]
    fn kcidb_rest_errors_never_echo_the_value() {
        let d = tmp();
        for value in [
            "db.example.org/submit",
            "ftp://sekrit@host",
            "https://host/submit",
            "https://sekrit:pw@host",
        ] {
            let e = resolve_in(&args(), &env_in(&d, &[("KCIDB_REST", value)]))
                .expect_err(value)
                .to_string();
            assert!(e.starts_with("KCIDB_REST: "), "{e}");
            assert!(!e.contains("sekrit"), "{e}");
        }
    }

    #[test]
    fn precedence_flags_env_file() {
        let d = tmp();
        std::fs::write(d.join(".kci-dev.toml"), TOML).expect("write");
        // File only.
        let s = resolve_in(&args(), &env_in(&d, &[])).expect("resolve");
        let rest = s.rest.expect("rest from file");
        assert_eq!(
            rest.url.as_str(),
            "https://staging.kcidb.example.org/submit"
        );
        assert_eq!(rest.token.expose(), "file-kcidb-token");
        assert!(
            matches!(rest.url_source, Source::File { ref instance, .. } if instance == "staging")
        );
        assert_eq!(s.log_urls, LogUrls::Upload);
        // --instance picks another table; it has no storage.
        let mut a = args();
        a.instance = Some("production".into());
        let s = resolve_in(&a, &env_in(&d, &[])).expect("resolve");
        assert_eq!(s.rest.expect("rest").token.expose(), "prod-token");
        assert!(s.storage.is_none());
        // Env beats the file.
        let env = env_in(
            &d,
            &[
                ("KCIDB_REST", "https://envtok@env.example.org"),
                ("KCI_STORAGE_URL", "https://files.env.example.org"),
                ("KCI_STORAGE_TOKEN", "env-storage"),
            ],
        );
        let s = resolve_in(&args(), &env).expect("resolve");
        assert_eq!(s.rest.as_ref().expect("rest").token.expose(), "envtok");
        assert_eq!(
            s.storage.as_ref().expect("storage").token.expose(),
            "env-storage"
        );
        // Flags beat env.
        let mut a = args();
        a.kcidb_rest_url = Some("https://flag.example.org/submit".into());
        a.kcidb_token = Some(Secret::new("flagtok"));
        let s = resolve_in(&a, &env).expect("resolve");
        let rest = s.rest.expect("rest");
        assert_eq!(rest.url.as_str(), "https://flag.example.org/submit");
        assert_eq!(rest.token.expose(), "flagtok");
        assert_eq!(rest.url_source, Source::Flag("--kcidb-rest-url"));
    }

    #[test]
    fn first_file_found_is_used_whole() {
        let d = tmp();
        std::fs::create_dir_all(d.join("home/.config/kci-dev")).expect("mkdir");
        std::fs::write(d.join("home/.config/kci-dev/kci-dev.toml"), TOML).expect("write");
        // The local file has no KCIDB keys: nothing is merged from the home file.
        std::fs::write(
            d.join(".kci-dev.toml"),
            "default_instance = \"local\"\n[local]\napi = \"x\"\n",
        )
        .expect("write");
        let s = resolve_in(&args(), &env_in(&d, &[])).expect("resolve");
        assert!(s.rest.is_none());
        assert_eq!(
            s.file.path.as_deref(),
            Some(d.join(".kci-dev.toml").as_path())
        );
        std::fs::remove_file(d.join(".kci-dev.toml")).expect("rm");
        let s = resolve_in(&args(), &env_in(&d, &[])).expect("resolve");
        assert!(s.rest.is_some());
    }

    #[test]
    fn malformed_file_names_file_and_line() {
        let d = tmp();
        let p = d.join("bad.toml");
        std::fs::write(
            &p,
            "default_instance = \"a\"\n[a]\nkcidb_rest_url = \"https://x\n",
        )
        .expect("write");
        let mut a = args();
        a.settings = Some(p.clone());
        let e = resolve_in(&a, &env_in(&d, &[])).expect_err("malformed");
        let text = e.to_string();
        assert!(text.starts_with(&format!("`{}`:3:", p.display())), "{text}");

        std::fs::write(
            &p,
            "default_instance = \"a\"\n[a]\n\nkcidb_rest_url = 42\nkcidb_token = \"t\"\n",
        )
        .expect("write");
        let text = resolve_in(&a, &env_in(&d, &[]))
            .expect_err("type")
            .to_string();
        assert!(text.starts_with(&format!("`{}`:4:", p.display())), "{text}");
        assert!(text.contains("must be a string"), "{text}");
    }

    #[test]
    fn unknown_instance_is_an_error() {
        let d = tmp();
        std::fs::write(d.join(".kci-dev.toml"), TOML).expect("write");
        let mut a = args();
        a.instance = Some("nope".into());
        let e = resolve_in(&a, &env_in(&d, &[]))
            .expect_err("unknown")
            .to_string();
        assert!(e.contains("no instance [nope]"), "{e}");
    }

    #[test]
    fn token_file_and_pairs() {
        let d = tmp();
        let tf = d.join("token");
        std::fs::write(&tf, "  tok-from-file\n").expect("write");
        let mut a = args();
        a.kcidb_rest_url = Some("https://db.example.org/submit".into());
        a.kcidb_token_file = Some(tf.clone());
        let s = resolve_in(&a, &env_in(&d, &[])).expect("resolve");
        let rest = s.rest.expect("rest");
        assert_eq!(rest.token.expose(), "tok-from-file");
        assert_eq!(rest.token_source, Source::TokenFile(tf));
        let mut a = args();
        a.kcidb_rest_url = Some("https://db.example.org/submit".into());
        assert!(resolve_in(&a, &env_in(&d, &[])).is_err());
        let mut a = args();
        a.storage_token = Some(Secret::new("x"));
        assert!(resolve_in(&a, &env_in(&d, &[])).is_err());
    }

    #[test]
    fn plain_http_only_to_loopback() {
        let d = tmp();
        let env = env_in(&d, &[("KCIDB_REST", "http://tok@db.example.org")]);
        let e = resolve_in(&args(), &env).expect_err("insecure").to_string();
        assert!(e.contains("--allow-insecure"), "{e}");
        let mut a = args();
        a.allow_insecure = true;
        assert!(resolve_in(&a, &env).is_ok());
        for host in ["127.0.0.1:1", "localhost", "[::1]:8080"] {
            let v = format!("http://tok@{host}");
            let env = env_in(&d, &[("KCIDB_REST", v.as_str())]);
            assert!(resolve_in(&args(), &env).is_ok(), "{host}");
        }
    }

    #[test]
    fn show_redacts_tokens() {
        let d = tmp();
        std::fs::write(d.join(".kci-dev.toml"), TOML).expect("write");
        let env = env_in(
            &d,
            &[("KCIDB_REST", "https://sekrit-env@db.example.org/api")],
        );
        let s = resolve_in(&args(), &env).expect("resolve");
        let text = s.show();
        assert!(!text.contains("sekrit"), "{text}");
        assert!(!text.contains("file-storage-token"), "{text}");
        assert!(
            text.contains("https://db.example.org/api/submit  (env KCIDB_REST)"),
            "{text}"
        );
        assert!(text.contains("storage_token   ***"), "{text}");
        assert!(
            text.contains("instance [staging] (default_instance)"),
            "{text}"
        );
        assert!(!format!("{s:?}").contains("sekrit"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1").is_err());
        assert_eq!(show_duration(Duration::from_secs(300)), "5m");
        assert_eq!(show_duration(Duration::from_millis(1500)), "1500ms");
    }
}
