//! Fixture-driven parser tests: `fixtures/parsers/<parser id>/<case>/` holds
//! raw input files laid out as in a result directory plus `expected.json`
//! (the facts and notes the parser must produce). A folder named `.git`
//! cannot be committed, so fixtures store it as `linux/dot-git`.
//! Set `UPDATE_EXPECT=1` to (re)write `expected.json` files, then review them.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::{Facts, Input, Parser};

/// The repository's `fixtures/parsers` folder.
pub fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/parsers")
}

/// An `Input` for a fixture case with the test_stable_ssh defaults.
pub fn fixture_input(dir: &Path) -> Input {
    let mut input = Input::new(dir);
    for log in ["linux/log", "log", "build.log"] {
        if input.exists(log) {
            input.log = Some(log.to_string());
            break;
        }
    }
    if dir.join("linux/output").is_dir() {
        input.output_dir = Some("linux/output".into());
    }
    for g in ["linux/.git", "linux/dot-git"] {
        if dir.join(g).is_dir() {
            input.git_dir = Some(g.into());
            break;
        }
    }
    input
}

/// Facts as comparable JSON.
pub fn facts_json(facts: &Facts) -> Value {
    let mut v = json!({
        "facts": facts.items(),
        "notes": facts.notes,
    });
    if !facts.warnings.is_empty() {
        v["warnings"] = json!(facts.warnings);
    }
    v
}

/// Run `parser` on every fixture case of its id and compare with
/// `expected.json`. Returns the number of cases checked.
pub fn check_fixtures(parser: &dyn Parser) -> usize {
    let root = fixtures_root().join(parser.id());
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("no fixtures at {}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    for case in &cases {
        let mut facts = Facts::new();
        let input = fixture_input(case);
        let got = match parser.parse(&input, &mut facts) {
            Ok(()) => facts_json(&facts),
            Err(e) => json!({ "error": e.to_string() }),
        };
        let exp_path = case.join("expected.json");
        if update {
            let text = serde_json::to_string_pretty(&got).expect("facts serialise") + "\n";
            std::fs::write(&exp_path, text).expect("write expected.json");
            continue;
        }
        let text = std::fs::read_to_string(&exp_path)
            .unwrap_or_else(|e| panic!("{}: {e}", exp_path.display()));
        let want: Value = serde_json::from_str(&text).expect("expected.json parses");
        assert_eq!(
            got,
            want,
            "fixture {} of parser {} differs (UPDATE_EXPECT=1 rewrites, then review the diff)",
            case.display(),
            parser.id()
        );
    }
    cases.len()
}
