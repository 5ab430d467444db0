//! Help text, completions and the man page are generated from the clap
//! definition and cover every subcommand and option.

use crate::common;

use clap::CommandFactory;
use common::*;

const SUBCOMMANDS: &[&str] = &[
    "send",
    "validate",
    "parsers",
    "explain",
    "diagnostics",
    "completions",
    "man",
];

fn stdout_of(args: &[&str]) -> String {
    let out = harvester().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_mention_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let text = stdout_of(&["completions", shell]);
        assert!(text.len() > 1000, "{shell}: too short");
        for sub in SUBCOMMANDS {
            assert!(text.contains(sub), "{shell} completions lack `{sub}`");
        }
        assert!(
            text.contains("--origin"),
            "{shell} completions lack --origin"
        );
    }
}

#[test]
fn man_page_documents_every_subcommand() {
    let text = stdout_of(&["man"]);
    assert!(text.starts_with(".ie") || text.contains(".TH"), "not roff");
    for sub in SUBCOMMANDS {
        assert!(
            text.contains(&format!("kcidb\\-harvest\\-{sub}")),
            "man page lacks `{sub}`"
        );
    }
}

#[test]
fn help_shows_exit_codes_and_precedence() {
    let text = stdout_of(&["--help"]);
    for needle in [
        "Exit codes:",
        "130",
        "precedence",
        "KCIDB_REST",
        "kci-dev.toml",
        "--dry-run",
    ] {
        assert!(text.contains(needle), "--help lacks `{needle}`");
    }
}

#[test]
fn every_option_has_help_and_valued_options_an_example() {
    fn check(cmd: &clap::Command, path: &str) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version") {
                continue;
            }
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            assert!(!help.is_empty(), "{path} {id}: no help text");
            let takes_value = arg
                .get_num_args()
                .map(|n| n.takes_values())
                .unwrap_or(false);
            let enumerated = !arg.get_possible_values().is_empty();
            if takes_value && !enumerated && !arg.is_positional() {
                assert!(
                    help.contains("e.g.") || help.contains("default:"),
                    "{path} --{id}: help has no example: {help}"
                );
            }
        }
        for sub in cmd.get_subcommands() {
            check(sub, &format!("{path} {}", sub.get_name()));
        }
    }
    check(&kcidb_harvest::Cli::command(), "kcidb-harvest");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let bin = assert_cmd::cargo::cargo_bin("kcidb-harvest");
    let tmp = tempfile::tempdir().unwrap();
    // enough reports that stdout outgrows the pipe buffer (64 KiB)
    for i in 0..12 {
        let d = unpack_case("warn", &tmp.path().join(format!("t{i}")));
        append_to_log(&d, &format!("copy {i}"));
    }
    for args in [
        "completions bash".to_string(),
        format!("-r {} --origin gregkh --dry-run -q", tmp.path().display()),
    ] {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "set -o pipefail; '{}' {args} 2>err.txt | head -n 1 >/dev/null; echo $?; grep -c panicked err.txt || true",
                bin.display()
            ))
            .current_dir(tmp.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("0"), "`{args} | head` exit status");
        assert_eq!(lines.next(), Some("0"), "`{args} | head` panicked");
    }
}
