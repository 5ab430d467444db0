//! Credentials: [`Secret`] (never prints its value) and reading a token
//! file.

use std::fmt;
use std::path::Path;

use super::ConfigError;

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

pub(super) fn read_token_file(path: &Path) -> Result<Secret, ConfigError> {
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

#[cfg(test)]
mod tests {
    use crate::settings::test_util::*;
    use crate::settings::*;

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
}
