//! The kci-dev.toml reader: the first file found is used whole, the
//! instance is `--instance` or `default_instance`, and only the four
//! delivery keys are read (with their positions, for errors that name the
//! line).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use crate::cli::DeliveryArgs;

use super::urls::parse_http_url;
use super::{ConfigError, Endpoint, Environment, Secret, SettingsFile, Source};

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
pub(super) struct LoadedInstance {
    name: String,
    keys: BTreeMap<String, toml::Spanned<toml::Value>>,
    text: String,
}

pub(super) fn load_settings_file(
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
pub(super) fn from_instance(
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
    use crate::settings::test_util::*;
    use crate::settings::*;

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
}
