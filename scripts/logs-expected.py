#!/usr/bin/env python3
"""Write fixtures/logs/<case>/expected.json from what kcidb-harvest says now.

For a new case, or after a deliberate rule change: run it, then read the
diff of every expected.json against the log by hand before committing it
(the files are the hand-checked expectations of tests/it/logs.rs, not a
snapshot to accept blindly).

Usage: scripts/logs-expected.py [CASE...]   (default: every case)
Needs a built binary: cargo build --release
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "kcidb-harvest")
LOGS = os.path.join(ROOT, "fixtures", "logs")
LISTED_MAX = 40  # longer lists are checked by their count only


def run(*args):
    out = subprocess.run([BIN, *args], capture_output=True, text=True, check=True)
    return out.stdout


def expected(case_dir):
    doc = json.loads(run("--origin", "harvest_test", "--dry-run", case_dir))
    build = doc["builds"][0]
    misc = build["misc"]
    rows = [json.loads(l) for l in run("diagnostics", "--origin", "harvest_test",
                                       "--format", "json", case_dir).splitlines() if l.strip()]
    exp = {
        "status": build["status"],
        "warnings": misc["warnings"],
        "errors": misc["errors"],
        "warnings_by_kind": misc["warnings_by_kind"],
        "errors_by_kind": misc["errors_by_kind"],
        "parts_built": misc.get("parts_built"),
        "excerpt_first_line": (build.get("log_excerpt") or "").split("\n")[0] or None,
        "diagnostics": [[r["severity"], r["kind"], r["file"], r["line"], r["message"],
                         r["occurrences"]] for r in rows],
    }
    if len(exp["diagnostics"]) > LISTED_MAX:
        exp["diagnostics"] = None
        exp["note"] = "list checked by count only"
    return exp


def main():
    cases = sys.argv[1:] or sorted(d for d in os.listdir(LOGS)
                                   if os.path.isdir(os.path.join(LOGS, d)))
    for case in cases:
        d = os.path.join(LOGS, case)
        with open(os.path.join(d, "expected.json"), "w", encoding="utf-8") as f:
            json.dump(expected(d), f, indent=1, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()
