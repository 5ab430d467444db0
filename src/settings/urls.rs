//! URLs: `KCIDB_REST=https://TOKEN@host[:port][/path]` (token out of the
//! URL, `/submit` appended), the http(s) URL rules for every endpoint, and
//! plain http only to loopback.

use reqwest::Url;

use super::{ConfigError, Endpoint, Secret, Source};

/// An `http(s)://` URL without credentials.
pub(super) fn parse_http_url(text: &str, what: &str) -> Result<Url, ConfigError> {
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
pub(super) fn parse_kcidb_rest(
    value: &str,
    notes: &mut Vec<String>,
) -> Result<Endpoint, ConfigError> {
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

/// The token as written before the `@`: `%XX` escapes decoded, `None`
/// when the bytes are not UTF-8. A `%` not followed by two hex digits is
/// kept as it is.
fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// Plain http is only allowed to loopback, unless `--allow-insecure`.
pub(super) fn check_transport(ep: &Endpoint, allow_insecure: bool) -> Result<(), ConfigError> {
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

#[cfg(test)]
mod tests {
    use super::percent_decode;
    use crate::settings::test_util::*;
    use crate::settings::*;

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
    fn the_token_is_percent_decoded() {
        assert_eq!(
            percent_decode("abc.def-ghi_0").as_deref(),
            Some("abc.def-ghi_0")
        );
        assert_eq!(percent_decode("a%2Eb%2eC").as_deref(), Some("a.b.C"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("\u{e9}"));
        assert_eq!(percent_decode("%FF"), None, "not UTF-8");
        // a lone or malformed escape is kept
        assert_eq!(percent_decode("50%").as_deref(), Some("50%"));
        assert_eq!(percent_decode("%4").as_deref(), Some("%4"));
        assert_eq!(percent_decode("%zz").as_deref(), Some("%zz"));
        // through KCIDB_REST: the URL parser leaves the escape to us
        let d = tmp();
        let s = resolve_in(
            &args(),
            &env_in(&d, &[("KCIDB_REST", "https://a%2Eb@db.example.org")]),
        )
        .expect("resolve");
        assert_eq!(s.rest.expect("rest").token.expose(), "a.b");
    }
}
