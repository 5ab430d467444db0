#!/usr/bin/env bash
# Peak memory of kcidb-harvest on adversarial inputs (issue 9, untrusted
# input): every run must stay within 64 MiB of resident memory.
#
# Generates the inputs in a temporary directory (removed at the end), runs
# the release binary on each under /usr/bin/time -v, and prints
#   input | peak RSS MiB | exit | verdict
# Exits 1 if any run went over 64 MiB (or could not be measured).
#
# Cases: validate of /dev/zero (under a timeout), of a valid document of
# ~480 MB (many builds), of a document with one 300 MB string, of 600 MB of
# whitespace; send of a ~480 MB spool file to the test REST server
# (examples/test_servers.rs); harvest --dry-run of copies of
# fixtures/example/stable_test_6.1_M6sWA with: an output_log of a million
# `KTEST_RUN = 0` and a million `Warnings = N` lines; a linux/log of a
# million `Build time:` and a million `CRITICAL FAILURE...` lines; a
# linux/log of one 1 GB line with no newline; a linux/log of 200 MB of
# distinct `warning:` lines; a 500 MB .config; a million-line ktest options
# dump; an output_log tar listing of a million patch names; a reflog of a
# million entries; linux/log a symlink to /dev/zero (refused by the gate).
#
# Environment:
#   SCALE      multiplies every size and line count (default 1; e.g. 0.1)
#   LIMIT_MIB  the bound checked (default 64)
#   BENCH_DIR  where to generate (default: a new directory under $TMPDIR)
#   TIMEOUT    seconds allowed per run (default 600; /dev/zero gets 60)
set -euo pipefail

SCALE=${SCALE:-1}
LIMIT_MIB=${LIMIT_MIB:-64}
TIMEOUT=${TIMEOUT:-600}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/bench-adversarial.XXXXXX")}
mkdir -p "$work"
srv_pid=
cleanup() {
    if [[ -n $srv_pid ]]; then kill "$srv_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

if [[ ! -x /usr/bin/time ]]; then
    echo "bench-adversarial: /usr/bin/time is missing (apt-get install time)" >&2
    exit 2
fi

echo "== building (release)" >&2
(cd "$repo" && cargo build --release --quiet --bin kcidb-harvest --example test_servers)
td=$(cd "$repo" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bin=$td/release/kcidb-harvest
srv=$td/release/examples/test_servers

# n BASE: BASE scaled, at least 1.
n() { python3 -c "import sys; print(max(1, int($1 * float(sys.argv[1]))))" "$SCALE"; }

echo "== generating inputs in $work (SCALE=$SCALE)" >&2
fixture=$repo/fixtures/example/stable_test_6.1_M6sWA

# A valid document of ~480 MB: builds of ~1 KB, a checkout per 100 builds.
gen_doc() { # FILE MB
    python3 - "$1" "$2" <<'EOF'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
excerpt = ("drivers/gpu/drm/x.c:12:3: warning: unused variable 'y' [-Wunused-variable]\\n" * 10)
build = ('{"id":"bench:b-%d","origin":"bench","checkout_id":"bench:c-%d","architecture":"x86_64",'
         '"config_name":"allmodconfig","compiler":"gcc (GCC) 14.2.0","status":"PASS",'
         '"start_time":"2025-01-01T00:05:00Z","duration":812.5,"log_excerpt":"' + excerpt + '",'
         '"misc":{"warnings":%d,"errors":0}}')
target = mb * 1000 * 1000
with open(path, "w") as f:
    f.write('{"version":{"major":5,"minor":3},\n"checkouts":[\n')
    nb = max(1, target // (len(build) + 10))
    nc = (nb + 99) // 100
    f.write(",\n".join('{"id":"bench:c-%d","origin":"bench","tree_name":"stable"}' % i for i in range(nc)))
    f.write('],\n"builds":[\n')
    chunk = []
    for i in range(nb):
        chunk.append(build % (i, i // 100, i % 50))
        if len(chunk) == 10000:
            f.write(",\n".join(chunk)); f.write(",\n" if i + 1 < nb else ""); chunk = []
    f.write(",\n".join(chunk))
    f.write("]}\n")
EOF
}

gen_doc "$work/valid.json" "$(n 480)"
{
    printf '{"version":{"major":5,"minor":3},"builds":[{"id":"bench:b","origin":"bench","checkout_id":"bench:c","comment":"'
    head -c "$(n 300)M" /dev/zero | tr '\0' x
    printf '"}]}\n'
} > "$work/string.json"
head -c "$(n 600)M" /dev/zero | tr '\0' ' ' > "$work/whitespace.json"
mkdir -p "$work/spool"
gen_doc "$work/spool/20260101T000000.000000000Z-1-000000.json" "$(n 480)"

dircase() { # NAME: a fresh copy of the fixture
    rm -rf "${work:?}/$1"
    cp -r "$fixture" "$work/$1"
    echo "$work/$1"
}
d=$(dircase ktest-run-lines)
python3 - "$d/output_log" "$(n 1000000)" <<'EOF'
import sys
path, k = sys.argv[1], int(sys.argv[2])
with open(path, "a") as f:
    for start in range(0, k, 100000):
        m = min(100000, k - start)
        f.write("KTEST_RUN = 0\n" * m)
        f.write("".join("Warnings = %d\n" % (start + i) for i in range(m)))
EOF
d=$(dircase build-time-lines)
python3 - "$d/linux/log" "$(n 1000000)" <<'EOF'
import sys
path, k = sys.argv[1], int(sys.argv[2])
with open(path, "a") as f:
    for start in range(0, k, 100000):
        m = min(100000, k - start)
        f.write("Build time:   3 minutes 18 seconds\n" * m)
        f.write("".join("CRITICAL FAILURE... [TEST 1] failed build %d\n" % (start + i) for i in range(m)))
EOF
d=$(dircase one-line-log)
head -c "$(n 1024)M" /dev/zero | tr '\0' a > "$d/linux/log"
d=$(dircase distinct-warnings)
python3 - "$d/linux/log" "$(n 200)" <<'EOF'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
target, done, i = mb * 1000 * 1000, 0, 0
with open(path, "w") as f:
    while done < target:
        lines = "".join("drivers/bench/f%d.c:%d:%d: warning: unused variable 'v%d' [-Wunused-variable]\n"
                        % (i + j, j % 999 + 1, j % 80 + 1, i + j) for j in range(10000))
        f.write(lines); done += len(lines); i += 10000
EOF
d=$(dircase big-config)
python3 - "$d/linux/.config" "$(n 500)" <<'EOF'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
target, done, i = mb * 1000 * 1000, 0, 0
with open(path, "w") as f:
    f.write("#\n# Linux/x86 6.1.120 Kernel Configuration\n#\n")
    while done < target:
        lines = "".join("CONFIG_BENCH_OPTION_%d=y\n" % (i + j) for j in range(10000))
        f.write(lines); done += len(lines); i += 10000
EOF

d=$(dircase options-dump)
python3 - "$d/linux/log" "$(n 1000000)" <<'EOF'
import sys
path, k = sys.argv[1], int(sys.argv[2])
with open(path, "a") as f:
    f.write("\n\nSTARTING AUTOMATED TESTS\n\nDEFAULT OPTIONS:\n")
    for start in range(0, k, 100000):
        f.write("".join("OPT_%d[%d] = value %d\n" % (start + i, i % 50, start + i)
                        for i in range(min(100000, k - start))))
EOF
d=$(dircase tar-listing)
python3 - "$d/output_log" "$(n 1000000)" <<'EOF'
import sys
path, k = sys.argv[1], int(sys.argv[2])
text = open(path).read()
at = text.find("./")
listing = "".join("./queue-%d-some-long-patch-name-for-the-bench.patch\n" % i for i in range(k))
open(path, "w").write(text[:at] + listing + text[at:] if at >= 0 else text + listing)
EOF
d=$(dircase huge-reflog)
mkdir -p "$d/linux/.git/logs" "$d/linux/.git/refs/heads"
echo "ref: refs/heads/linux-6.1.y" > "$d/linux/.git/HEAD"
python3 - "$d/linux/.git/logs/HEAD" "$(n 1000000)" <<'EOF'
import sys
path, k = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("%040d %040x bob <b@x> 1795908913 +0000\tclone: from /home/bob/linux-stable\n" % (0, 1))
    for start in range(0, k, 100000):
        f.write("".join("%040x %040x bob <b@x> 1795908913 +0000\tcommit: patch %d\n"
                        % (start + i + 1, start + i + 2, start + i) for i in range(min(100000, k - start))))
EOF
d=$(dircase log-to-dev-zero)
rm -f "${d:?}/linux/log"
ln -s /dev/zero "$d/linux/log"

# The test REST server for `send`.
coproc SERVERS { "$srv" bench; }
srv_pid=$SERVERS_PID
read -r -u "${SERVERS[0]}" l1
read -r -u "${SERVERS[0]}" l2
read -r -u "${SERVERS[0]}" l3
: "$l2" "$l3"

fail=0
rows=()
measure() { # LABEL SECONDS CMD...
    local label=$1 secs=$2
    shift 2
    local t=$work/time.txt
    /usr/bin/time -v -o "$t" timeout "$secs" "$@" >/dev/null 2>"$work/stderr.txt" || true
    local kb code mib verdict
    kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$t")
    code=$(awk -F': ' '/Exit status/ {print $2}' "$t")
    if [[ -z $kb ]]; then
        mib=?
        verdict=FAIL
        fail=1
    else
        mib=$(python3 -c "print(f'{$kb/1024:.1f}')")
        if ((kb <= LIMIT_MIB * 1024)); then verdict=ok; else verdict=FAIL; fail=1; fi
    fi
    [[ $code == 124 ]] && code="124 (timeout)"
    rows+=("$label|$mib|${code:-?}|$verdict")
    printf '%-40s %8s MiB  exit %-5s %s  (%s)\n' "$label" "$mib" "${code:-?}" "$verdict" \
        "$(head -c 160 "$work/stderr.txt" | head -n 1)" >&2
}

size() { du -h --apparent-size "$1" | cut -f1; }
echo "== measuring" >&2
measure "validate /dev/zero" 60 "$bin" validate /dev/zero
measure "validate valid doc ($(size "$work/valid.json"))" "$TIMEOUT" "$bin" validate "$work/valid.json"
measure "validate one string ($(size "$work/string.json"))" "$TIMEOUT" "$bin" validate "$work/string.json"
measure "validate whitespace ($(size "$work/whitespace.json"))" "$TIMEOUT" "$bin" validate "$work/whitespace.json"
measure "send spool file ($(size "$work/spool"/*.json))" "$TIMEOUT" \
    env "${l1?}" "$bin" send "$work/spool" --retry-for 5s
for c in ktest-run-lines build-time-lines one-line-log distinct-warnings big-config \
    options-dump tar-listing huge-reflog log-to-dev-zero; do
    measure "harvest --dry-run $c" "$TIMEOUT" "$bin" "$work/$c" --origin bench --dry-run
done
exec {SERVERS[1]}>&-
wait "$srv_pid" 2>/dev/null || true
srv_pid=

printf '\n| input | peak RSS MiB | exit | verdict (<= %s MiB) |\n|---|---:|---:|---|\n' "$LIMIT_MIB"
for r in "${rows[@]}"; do
    IFS='|' read -r a b c v <<<"$r"
    printf '| %s | %s | %s | %s |\n' "$a" "$b" "$c" "$v"
done
exit "$fail"
