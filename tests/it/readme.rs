//! Every command the README shows is run, in order, in one shell, in a
//! sandbox: ```sh blocks (each line a command that must succeed) and the
//! `$ ` lines of ```console blocks (a following `$ echo $?` gives the
//! expected exit code). ```text blocks are illustrations and are not run.
//!
//! The sandbox: a temp dir holding the shipped example, a fake builder for
//! `scp`, an `./archive` to backfill, `kcidb-harvest` on PATH, and a
//! `cargo` stand-in that runs the already built binary and example (`cargo
//! test` itself is this test suite and is not run recursively).

use crate::common;

use std::path::Path;
use std::process::Command;

use common::*;

struct Cmd {
    line: String,
    expect: Option<i32>,
}

fn readme_commands(text: &str) -> Vec<Cmd> {
    let mut out: Vec<Cmd> = Vec::new();
    let mut lang: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim_start();
        if let Some(info) = line.strip_prefix("```") {
            lang = match lang {
                Some(_) => None,
                None => Some(info.trim().to_string()),
            };
            continue;
        }
        match lang.as_deref() {
            Some("sh") if !line.is_empty() && !line.starts_with('#') => {
                out.push(Cmd {
                    line: line.to_string(),
                    expect: Some(0),
                });
            }
            Some("console") => {
                if let Some(cmd) = line.strip_prefix("$ ") {
                    if cmd == "echo $?" {
                        continue;
                    }
                    let bg = cmd.ends_with('&');
                    out.push(Cmd {
                        line: cmd.to_string(),
                        expect: (!bg).then_some(0),
                    });
                } else if let (Ok(code), Some(last)) = (line.parse::<i32>(), out.last_mut()) {
                    // the output of `$ echo $?`
                    last.expect = Some(code);
                }
            }
            _ => {}
        }
    }
    out
}

fn stub(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn every_readme_command_runs() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let cmds = readme_commands(&readme);
    assert!(cmds.len() >= 12, "found only {} commands", cmds.len());

    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    let example = repo().join("fixtures/example/stable_test_6.1_M6sWA");
    copy_dir(&example, &s.join("fixtures/example/stable_test_6.1_M6sWA"));
    copy_dir(&example, &s.join("builder/dev/shm/stable_test_6.1_XXXXX"));
    copy_dir(&example, &s.join("archive/2025/stable_test_6.1_M6sWA"));
    for case in ["pass-tiny", "fail-compile"] {
        let d = unpack_case(case, &s.join("archive/2026"));
        age(&d);
    }
    let home = s.join("home");
    let bin_dir = s.join("bin");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&bin_dir).unwrap();
    let harvester = assert_cmd::cargo::cargo_bin("kcidb-harvest");
    std::os::unix::fs::symlink(&harvester, bin_dir.join("kcidb-harvest")).unwrap();
    let examples = harvester.parent().unwrap().join("examples");
    assert!(
        examples.join("test_servers").is_file(),
        "cargo test builds the examples; test_servers is missing"
    );
    stub(
        &bin_dir,
        "cargo",
        &format!(
            r#"case "$1" in
  run) shift; ex=""
       while [ $# -gt 0 ] && [ "$1" != "--" ]; do
         case "$1" in --example) ex="$2"; shift;; esac; shift
       done
       [ "$1" = "--" ] && shift
       if [ -n "$ex" ]; then exec "{}/$ex" "$@"; else exec kcidb-harvest "$@"; fi;;
  test) echo "cargo test: this README test is part of it (not run recursively)"; exit 0;;
  *) echo "cargo stand-in: unsupported: $*" >&2; exit 97;;
esac"#,
            examples.display()
        ),
    );
    stub(
        &bin_dir,
        "scp",
        &format!(
            r#"[ "$1" = "-r" ] && shift
src="${{1#builder:}}"; cp -r "{}/builder$src" "$2""#,
            s.display()
        ),
    );

    // one shell: exports carry over; every command's exit code is recorded
    let mut script = String::from("cd \"$SANDBOX\"\n");
    for (i, c) in cmds.iter().enumerate() {
        if c.expect.is_none() {
            script.push_str(&format!("{}\n", c.line));
        } else {
            script.push_str(&format!(
                "{{ {}\n}} >> out.log 2>&1 < /dev/null\necho \"{i} $?\" >> rc.txt\n",
                c.line
            ));
        }
    }
    script.push_str("kill $(jobs -p) 2>/dev/null\nwait 2>/dev/null\nexit 0\n");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut new_path = std::ffi::OsString::from(&bin_dir);
    new_path.push(":");
    new_path.push(path);
    let status = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env_clear()
        .env("PATH", new_path)
        .env("HOME", &home)
        .env("SANDBOX", s)
        .env("NO_COLOR", "1")
        .status()
        .unwrap();
    assert!(status.success());
    let log = std::fs::read_to_string(s.join("out.log")).unwrap_or_default();
    let rcs = std::fs::read_to_string(s.join("rc.txt")).unwrap();
    let mut checked = 0;
    for l in rcs.lines() {
        let (i, rc) = l.split_once(' ').unwrap();
        let (i, rc): (usize, i32) = (i.parse().unwrap(), rc.parse().unwrap());
        let want = cmds[i].expect.unwrap();
        assert_eq!(
            rc, want,
            "README command `{}` exited {rc}, want {want}\n{log}",
            cmds[i].line
        );
        checked += 1;
    }
    assert_eq!(checked, cmds.iter().filter(|c| c.expect.is_some()).count());
    // what the commands did
    assert!(log.contains("Build of 6.1 was good"), "{log}");
    assert!(
        log.contains("delivered as"),
        "the worked example delivers: {log}"
    );
    assert!(
        log.contains("already delivered"),
        "the third run sends nothing: {log}"
    );
    assert!(
        s.join("remote_dir/output_log").is_file()
            || s.join("remote_dir/stable_test_6.1_XXXXX").is_dir()
    );
}
