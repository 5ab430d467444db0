#!/usr/bin/env python3
"""Generate a backfill tree of N result directories from the corpus cases.

Mixed layouts (full REMOTE_DIRs, partial copies with gzip logs, tuxmake
output dirs, bare build logs) and a few broken directories; every log
differs (so every build id differs) and some are grown to a few MB by
repeating their build section, as allmodconfig logs are large. All files
get an old mtime (finished runs).

usage: gen-backfill-tree.py REPO TREE N [TAG]
(TAG goes into every log, so two trees with different tags share no build id)

With GEN_SPREAD=1 the full result directories look like years of runs:
run i starts 6 hours after run i-1 and builds 6.1.(1 + i // 20), so a history
of the tree has a time axis and many releases (the report benchmark).
"""
import gzip
import io
import os
import random
import re
import sys
import tarfile
import time

repo, tree, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
tag = sys.argv[4] if len(sys.argv) > 4 else ""
cases = ["pass-tiny", "pass-queue", "warn", "fail-compile", "fail-patch"]
KEEP = {"output_log", "ktest.conf", "run_test.sh", "commit.txt", "start_time.txt",
        "start_time.epoch", "time.txt", "time-v.txt", "min_config", "stable_queue.tar.gz",
        "buildlog-bob", "linux/log", "linux/Makefile"}
rng = random.Random(42)
spread = os.environ.get("GEN_SPREAD") == "1"
SPREAD_START = 1577836800  # 2020-01-01

def load(case):
    files = {}
    with tarfile.open(os.path.join(repo, "fixtures/corpus", case + ".tar.gz")) as t:
        for m in t.getmembers():
            if not m.isfile():
                continue
            rel = m.name.split("/", 1)[1] if "/" in m.name else m.name
            if rel in KEEP or rel.startswith(("linux/.git/", "linux/output/", "linux/patches/")):
                files[rel] = t.extractfile(m).read()
    return files

corpus = {c: load(c) for c in cases}

def grow(log, factor):
    """Repeat the final make's output `factor` times inside the log."""
    start = log.find(b" -j2 ... ")
    end = log.rfind(b"make[1]: Leaving directory")
    if start < 0 or end <= start or factor <= 1:
        return log
    body = log[log.index(b"\n", start) + 1:end]
    return log[:end] + body * (factor - 1) + log[end:]

def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)

old = time.time() - 7200
for i in range(n):
    case = cases[i % len(cases)]
    src = corpus[case]
    factor = rng.choice([1, 1, 1, 2, 5, 20, 60]) if i % 3 == 0 else 1
    log = grow(src["linux/log"], factor) + f"copy {tag}{i}\n".encode()
    kind = rng.random()
    d = os.path.join(tree, f"{i // 100:02d}", f"stable_test_6.1_{i:05d}")
    if i % 50 == 49:
        # broken: binary garbage as the log
        write(os.path.join(d, "output_log"), b"KTEST_RUN = 0\n")
        write(os.path.join(d, "run_test.sh"), src["run_test.sh"])
        write(os.path.join(d, "linux/log"), bytes(rng.randrange(256) for _ in range(8192)))
    elif kind < 0.65:
        for rel, data in src.items():
            if rel.startswith("linux/.git/"):
                rel = rel  # plain git files (no objects)
            if spread and rel in ("start_time.epoch", "start_time.txt"):
                continue
            if spread and rel == "linux/Makefile":
                data = re.sub(rb"(?m)^SUBLEVEL = \d+", b"SUBLEVEL = %d" % (1 + i // 20), data)
            write(os.path.join(d, rel), data)
        write(os.path.join(d, "linux/log"), log)
        if spread:
            start = SPREAD_START + i * 6 * 3600
            write(os.path.join(d, "start_time.epoch"), b"%d\n" % start)
            write(os.path.join(d, "start_time.txt"), time.strftime(
                "%Y-%m-%dT%H:%M:%SZ\n", time.gmtime(start)).encode())
    elif kind < 0.80:
        write(os.path.join(d, "linux/log.gz"), gzip.compress(log, 6))
        write(os.path.join(d, "output_log"), src["output_log"])
        write(os.path.join(d, "commit.txt"), src["commit.txt"])
    elif kind < 0.90:
        d = d.replace("stable_test_6.1_", "tuxmake_")
        build = grow(src["buildlog-bob"], factor) + f"copy {tag}{i}\n".encode()
        write(os.path.join(d, "build.log"), b"tuxmake --target-arch=x86_64 --kconfig=tinyconfig --toolchain=gcc-12\n" + build)
        status = "FAIL" if case == "fail-compile" else "PASS"
        write(os.path.join(d, "metadata.json"), (
            '{"results": {"status": "%s", "duration": {"build": %d}}, '
            '"build": {"target_arch": "x86_64", "toolchain": "gcc-12", "kconfig": "tinyconfig"}, '
            '"git": {"git_url": "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git", '
            '"git_branch": "linux-6.1.y", "git_commit": "19463f7e3ad6bee028585a29c8f9bd10fc6bcab6"}}'
            % (status, 30 + i % 600)).encode())
    else:
        d = d.replace("stable_test_6.1_", "bare_")
        write(os.path.join(d, "build.log"), grow(src["buildlog-bob"], factor) + f"copy {tag}{i}\n".encode())
        write(os.path.join(d, "commit.txt"), src["commit.txt"])
        write(os.path.join(d, "time.txt"), src.get("time.txt", b"\nreal\t0m41.590s\nuser\t0m55.104s\nsys\t0m26.110s\n"))
    for root, _, names in os.walk(d):
        for nm in names:
            os.utime(os.path.join(root, nm), (old, old))
