#!/usr/bin/env python3
"""Differential test of `kcidb-harvest validate` against kcidb-io.

Generates documents whose string and number fields hold random values
(near-misses of URIs, RFC 3339 date-times, hashes, ids, origins, paths,
compatible strings, resource names, status and prefix enums, integers),
then compares, value by value, which JSON paths each validator rejects.

usage: differential.py BIN [--seed N] [--objects N] [--rounds N]

Prints one summary line; exits 1 listing the first disagreements, if any.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

import jsonschema
from kcidb_io.schema import V5_3

URI_CHARS = ("abcxyzABZ0189-._~:/?#[]@!$&'()*+,;=%"
             " \"<>\\^`{|}\n\t\0é😀")


def pick(r, good, bad, p_good=0.85):
    """Mostly a valid part, sometimes a near-miss."""
    return r.choice(good) if r.random() < p_good else r.choice(bad)


def ipv6(r):
    """Random IPv6-ish literal: some valid, many off by one."""
    n = r.choice([1, 2, 3, 5, 6, 7, 8, 8, 9]) if r.random() < 0.9 else 0
    groups = ["".join(r.choice("0123456789abcdefABCDEF")
                      for _ in range(r.randint(1, 4))) for _ in range(n)]
    if r.random() < 0.1 and groups:
        groups[r.randrange(n)] = pick(r, ["0"], ["", "12345", "g"], 0)
    if groups and r.random() < 0.3:
        octets = [str(pick(r, [0, 1, 9, 10, 99, 199, 200, 249, 250, 255],
                           [256, 299, 300])).zfill(r.choice([1, 1, 2, 3]))
                  for _ in range(pick(r, [4], [3, 5]))]
        groups[-1] = ".".join(octets)
    text = ":".join(groups)
    if r.random() < 0.6:
        cut = r.randint(0, len(groups))
        text = ":".join(groups[:cut]) + "::" + ":".join(groups[cut:])
        if r.random() < 0.05:
            text += "::"
    return "[" + text + "]"


def mutate(r, s, chars):
    """Insert, delete or replace a few characters."""
    s = list(s)
    for _ in range(r.randint(1, 3)):
        op = r.random()
        i = r.randint(0, len(s))
        if op < 0.4:
            s.insert(i, r.choice(chars))
        elif op < 0.7 and i < len(s):
            del s[i]
        elif i < len(s):
            s[i] = r.choice(chars)
    return "".join(s)


def uri(r):
    """A random URI-ish string, about half of them valid."""
    roll = r.random()
    if roll < 0.08:
        return "".join(r.choice(URI_CHARS) for _ in range(r.randint(0, 25)))
    scheme = pick(r, ["https", "http", "HTTPS", "file", "a+b.c-d", "urn",
                      "mailto", "git"], ["1x", "", "x y", "é"])
    sep = pick(r, ["://", "://", "://", ":", ":/"], ["//", "", ":///"])
    host = ipv6(r) if r.random() < 0.25 else pick(
        r, ["example.org", "files.kernel.org", "", "user@host", "u:p@h",
            "192.0.2.1", "300.1.1.1", "[v1.x]", "[vF.a:b]", "h%20x",
            "a!$&'()*+,;=b"],
        ["u@h@x", "[V1.x]", "[v.x]", "é.org", "a b", "h%zz", "[::1", "::1]",
         "h^x"])
    port = pick(r, ["", "", "", ":8080", ":"], [":x", ":80:80"])
    path = pick(r, ["", "/", "/a/b.log", "//x", "/~u/x;y=1", "a/b", "/a:b@c",
                    "/%41%7e", "/."],
                ["/a b", "/é", "/%zz", "/a%2", "/[x]", "/a\\b", "/a|b",
                 "/a\"b", "/a{b}"])
    query = pick(r, ["", "", "?x=1&y=2", "?a?b/c", "?"], ["?%", "?a b", "?é"])
    frag = pick(r, ["", "", "#L12", "#", "#/?:@"], ["#a#b", "#é", "# "])
    text = scheme + sep + host + port + path + query + frag
    if roll > 0.92:
        text = mutate(r, text, URI_CHARS)
    if r.random() < 0.05:
        text += pick(r, ["\n"], ["\n\n", " "], 0.7)
    return text


def date_time(r):
    """A random RFC 3339-ish timestamp, about half of them valid."""
    if r.random() < 0.05:
        return "".join(r.choice("0123456789-:TtZz+. \n")
                       for _ in range(r.randint(0, 30)))
    p = 0.93
    year = pick(r, ["0001", "1900", "2000", "2024", "2025", "9999"],
                ["0000", "999", "20250"], p)
    month = pick(r, ["01", "02", "04", "06", "09", "11", "12"],
                 ["00", "13", "1"], p)
    day = pick(r, ["01", "09", "28", "29", "30", "31"], ["00", "32", "1"], p)
    hour = pick(r, ["00", "09", "19", "23"], ["24", "9"], p)
    minute = pick(r, ["00", "30", "59"], ["60", "5"], p)
    second = pick(r, ["00", "30", "59"], ["60", "61"], p)
    frac = pick(r, ["", "", ".5", ".123456789"], [".", ".x"], p)
    off = pick(r, ["Z", "z", "+00:00", "-05:30", "+23:59", "-00:00"],
               ["+24:00", "+05:60", "+0530", "", "UTC", " Z", "+5:30"], p)
    sep = pick(r, ["T", "T", "t"], [" ", "_"], p)
    text = f"{year}-{month}-{day}{sep}{hour}:{minute}:{second}{frac}{off}"
    if r.random() < 0.05:
        text = mutate(r, text, "0123456789-:T+Z\n")
    if r.random() < 0.05:
        text += pick(r, ["\n"], ["\n\n", " "], 0.7)
    return text


def from_chars(r, chars, lo, hi):
    return "".join(r.choice(chars) for _ in range(r.randint(lo, hi)))


def hexish(r, n):
    """Around n hex digits, sometimes upper case or a stray character."""
    text = from_chars(r, "0123456789abcdef", n - 1, n + 1)
    if r.random() < 0.2:
        text = mutate(r, text, "0123456789abcdefABCDEFg\n \0")
    if r.random() < 0.05:
        text = ""
    if r.random() < 0.05:
        text += "\n"
    return text


ORIGIN_CHARS = "abz09_" * 4 + "-A :\n\0é"


def origin(r):
    return from_chars(r, ORIGIN_CHARS, 0, 8)


def obj_id(r):
    if r.random() < 0.1:
        return from_chars(r, ORIGIN_CHARS + "/", 0, 10)
    return origin(r) + ":" + from_chars(r, "ab /é\n\0:", 0, 6)


def tree_path(r):
    return from_chars(r, "aZ9_-" * 3 + ". /\n\0é", 0, 10)


def number(r):
    return r.choice([0, 1, 3, 4, 5, -1, 1.0, 1.5, -0.0, 2 ** 63, 1e20,
                     -1e20, 0.5, "1", True, None])


STATUS = ["FAIL", "ERROR", "MISS", "PASS", "DONE", "SKIP", "pass", "Fail",
          "", "PASS ", "PASSED"]


def make_doc(r, n):
    """One document with n objects of each type, fields randomised."""
    doc = {"version": {"major": 5, "minor": 3},
           "checkouts": [], "builds": [], "tests": [], "issues": [],
           "incidents": []}
    for _ in range(n):
        doc["checkouts"].append({
            "id": obj_id(r), "origin": origin(r),
            "git_repository_url": uri(r) if r.random() < 0.5
            else "https://" + uri(r).split("://")[-1],
            "git_commit_hash": hexish(r, 40), "patchset_hash": hexish(r, 64),
            "message_id": from_chars(r, "ab@<>.\0 ", 0, 6),
            "start_time": date_time(r), "log_url": uri(r),
            "git_commit_tags": [from_chars(r, "v6.1\0", 0, 3)],
        })
        excerpt_len = r.choice([0, 10, 16383, 16384, 16385])
        doc["builds"].append({
            "id": obj_id(r), "origin": "o", "checkout_id": obj_id(r),
            "architecture": from_chars(r, "xa86_4-Z \n", 0, 8),
            "start_time": date_time(r), "duration": number(r),
            "log_url": uri(r), "config_url": uri(r),
            "log_excerpt": r.choice("aé😀\0") * excerpt_len,
            "status": r.choice(STATUS),
            "input_files": [{"name": from_chars(r, "ab./\0 \n", 0, 5),
                             "url": uri(r)}],
        })
        doc["tests"].append({
            "id": "o:t", "origin": "o", "build_id": "o:b",
            "path": tree_path(r), "status": r.choice(STATUS),
            "environment": {"compatible": [from_chars(r, "ti,am6 \0\n", 0, 8)]},
            "number": {"value": number(r),
                       "prefix": r.choice(["metric", "binary", "si", ""])},
            "start_time": date_time(r),
        })
        doc["issues"].append({
            "id": "o:i", "origin": "o", "version": number(r),
            "categories": [tree_path(r)], "report_url": uri(r),
        })
        doc["incidents"].append({
            "id": "o:n", "origin": "o", "issue_id": obj_id(r),
            "issue_version": number(r),
        })
    return doc


def kcidb_io_paths(validator, doc):
    return {"/" + "/".join(map(str, e.absolute_path))
            for e in validator.iter_errors(doc)}


def our_paths(binary, path):
    proc = subprocess.run([binary, "validate", path], capture_output=True,
                          text=True, check=False)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"differential.py: {binary} exited "
                         f"{proc.returncode}: {proc.stderr.strip()}")
    prefix = path + ": "
    found = set()
    for line in proc.stderr.splitlines():
        if not line.startswith(prefix):
            raise SystemExit(f"differential.py: unexpected line: {line!r}")
        found.add(line[len(prefix):].split(": ", 1)[0])
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("--seed", type=int, default=20260101)
    ap.add_argument("--objects", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    validator = jsonschema.Draft7Validator(
        V5_3.json, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    r = random.Random(args.seed)
    values = rejected = 0
    diffs = []
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(args.rounds):
            doc = make_doc(r, args.objects)
            path = os.path.join(tmp, f"round{rnd}.json")
            with open(path, "w", encoding="ascii") as f:
                json.dump(doc, f, ensure_ascii=True)
            theirs = kcidb_io_paths(validator, doc)
            ours = our_paths(args.binary, path)
            values += sum(len(o) for k, objs in doc.items() if k != "version"
                          for o in objs)
            rejected += len(theirs)
            for p in sorted(theirs ^ ours):
                node = doc
                for part in p.strip("/").split("/"):
                    node = node[int(part)] if isinstance(node, list) else node[part]
                who = "kcidb-io" if p in theirs else "kcidb-harvest"
                diffs.append(f"  round {rnd} {p}: only {who} rejects "
                             f"{json.dumps(node)[:120]}")
    print(f"differential: {values} fields in {args.rounds} documents, "
          f"{rejected} rejected by kcidb-io, {len(diffs)} disagreements")
    if diffs:
        print("\n".join(diffs[:40]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
