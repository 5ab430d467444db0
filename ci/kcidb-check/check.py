#!/usr/bin/env python3
"""The official KCIDB verdict on JSON files.

For each file given, print "<file>\tvalid" or "<file>\tinvalid", as decided
by kcidb-io's v5.3 schema with jsonschema's Draft 7 validator and format
checker (the configuration kcidb-io builds internally; docs/kcidb.md#validation). With --explain, the reasons for "invalid" go to stderr.

A file that is not strict JSON (syntax error, invalid UTF-8, or the
non-standard NaN/Infinity literals Python's json module would otherwise
accept) is "invalid": it is not a KCIDB document.

Exit status: 0 when every file was judged, 2 on a usage or setup error
(e.g. a missing file, or a format checker that is not installed).
"""

import json
import sys

import jsonschema
from kcidb_io.schema import V5_3


def reject_constant(name):
    """Refuse NaN, Infinity and -Infinity: they are not JSON."""
    raise ValueError(f"{name} is not valid JSON")


def main(argv):
    """Judge every file named in argv; return the exit status."""
    explain = "--explain" in argv
    files = [a for a in argv if a != "--explain"]
    if not files:
        print("usage: check.py [--explain] FILE...", file=sys.stderr)
        return 2
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    # Without these extras the formats would silently pass, and the
    # cross-check would prove nothing.
    missing = {"date-time", "uri", "email"} - set(checker.checkers)
    if missing:
        print(f"check.py: format checkers missing: {sorted(missing)} "
              "(install jsonschema[format])", file=sys.stderr)
        return 2
    validator = jsonschema.Draft7Validator(V5_3.json, format_checker=checker)
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f, parse_constant=reject_constant)
        except OSError as e:
            print(f"check.py: {path}: {e}", file=sys.stderr)
            return 2
        except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
            print(f"{path}\tinvalid")
            if explain:
                print(f"{path}: not JSON: {e}", file=sys.stderr)
            continue
        errors = sorted(validator.iter_errors(doc),
                        key=lambda e: list(map(str, e.absolute_path)))
        print(f"{path}\t{'invalid' if errors else 'valid'}")
        if explain:
            for e in errors:
                where = "/" + "/".join(map(str, e.absolute_path))
                print(f"{path}: {where}: {e.message[:200]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
