//! Resolution: the flags, the environment, the kci-dev.toml instance and
//! the defaults, in that order of precedence, into one [`Settings`] whose
//! every value knows its [`Source`].

use crate::cli::DeliveryArgs;

use super::duration::parse_duration;
use super::kci_dev_toml::{from_instance, load_settings_file};
use super::secret::read_token_file;
use super::urls::{check_transport, parse_http_url, parse_kcidb_rest};
use super::{ConfigError, Endpoint, Environment, LogUrls, RetryPolicy, Secret, Settings, Source};

/// Resolve the delivery settings from the flags, the process environment
/// and the kci-dev.toml file.
pub fn resolve(args: &DeliveryArgs) -> Result<Settings, ConfigError> {
    resolve_in(args, &Environment::process())
}

/// [`resolve()`] against an explicit environment.
pub fn resolve_in(args: &DeliveryArgs, env: &Environment) -> Result<Settings, ConfigError> {
    let mut notes = Vec::new();
    let mut storage_notes = Vec::new();
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
                    storage_notes.push(
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
        storage_notes.push(
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
        storage_notes,
    })
}

#[cfg(test)]
mod tests {
    use crate::settings::test_util::*;
    use crate::settings::*;

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
}
