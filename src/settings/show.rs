//! `--show-config`: the resolved settings, one per line, each with where it
//! came from; tokens print as `***`.

use super::duration::show_duration;
use super::{LogUrls, Settings};

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
        for n in self.notes.iter().chain(&self.storage_notes) {
            out.push_str(&format!("note: {n}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::settings::test_util::*;
    use crate::settings::*;

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
}
