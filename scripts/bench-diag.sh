#!/usr/bin/env bash
# Benchmark of the build-log diagnostics engine against Greg's two greps.
#
# Builds a large log (default 1024 MB, at least 500 MB) by concatenating
# the corpus cases' linux/log files over and over, in a temporary directory
# (removed at the end, never committed), then measures on that one file:
#   - our full diagnostics pass (raw counts + distinct + excerpts), release
#     build of parsers/examples/diag_bench.rs, with its peak RSS;
#   - `grep -c -i 'warning:' F; grep -c -i 'error:' F`;
# and prints the ratio (ours / greps; the target is <= 1.0) and checks that
# the raw counts agree with grep's.
#
# Usage: scripts/bench-diag.sh [SIZE_MB] [RUNS]
#   SIZE_MB  size of the generated log (default 1024, minimum 500)
#   RUNS     runs of each side; the fastest is kept (default 3)
# Environment: BENCH_DIR (default: a new directory under ${TMPDIR:-/tmp}).

set -euo pipefail

size_mb=${1:-1024}
runs=${2:-3}
if ((size_mb < 500)); then
    echo "bench-diag: SIZE_MB must be at least 500" >&2
    exit 2
fi

repo=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/bench-diag.XXXXXX")}
mkdir -p "$work"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

echo "== building diag_bench (release)" >&2
bin=$(cd "$repo" && cargo build --release -p kcidb-harvest-parsers --example diag_bench \
    --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*diag_bench[^"]*\)".*/\1/p' | tail -n 1)
if [[ -z "$bin" || ! -x "$bin" ]]; then
    echo "bench-diag: could not find the diag_bench executable" >&2
    exit 1
fi

echo "== building a ${size_mb} MB log from fixtures/corpus/*.tar.gz" >&2
seed="$work/seed.log"
: >"$seed"
for tgz in "$repo"/fixtures/corpus/*.tar.gz; do
    tar -xzOf "$tgz" --wildcards '*/linux/log' >>"$seed"
done
seed_bytes=$(stat -c %s "$seed")
if ((seed_bytes == 0)); then
    echo "bench-diag: no linux/log found in fixtures/corpus" >&2
    exit 1
fi
log="$work/big.log"
target=$((size_mb * 1000 * 1000))
# Double a chunk until it is large, then append it until the target.
chunk="$work/chunk.log"
cp "$seed" "$chunk"
while (($(stat -c %s "$chunk") < 64 * 1000 * 1000)); do
    cat "$chunk" "$chunk" >"$chunk.2" && mv "$chunk.2" "$chunk"
done
: >"$log"
while (($(stat -c %s "$log") < target)); do
    cat "$chunk" >>"$log"
done
rm -f "$chunk"
bytes=$(stat -c %s "$log")
cat "$log" >/dev/null # page cache, for both sides alike

now() { date +%s.%N; }
# User + system seconds from a `/usr/bin/time -v` report.
cpu_of() {
    awk -F': ' '/User time|System time/ { t += $2 } END { printf "%.3f", t }' "$1"
}
cpu_ours=""
cpu_grep=""

echo "== our pass (${runs} runs)" >&2
best_ours=""
for ((i = 0; i < runs; i++)); do
    t0=$(now)
    /usr/bin/time -v -o "$work/time.txt" "$bin" "$log" >"$work/ours.json"
    t1=$(now)
    t=$(echo "$t1 - $t0" | bc -l)
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt")
    cpu=$(cpu_of "$work/time.txt")
    echo "   run $((i + 1)): ${t}s wall, ${cpu}s CPU, peak RSS ${rss} kB" >&2
    if [[ -z "$best_ours" ]] || (($(echo "$t < $best_ours" | bc -l))); then
        best_ours=$t
        best_rss=$rss
        cp "$work/ours.json" "$work/best.json"
    fi
    if [[ -z "$cpu_ours" ]] || (($(echo "$cpu < $cpu_ours" | bc -l))); then
        cpu_ours=$cpu
    fi
done

echo "== grep -c -i 'warning:' F; grep -c -i 'error:' F (${runs} runs)" >&2
best_grep=""
for ((i = 0; i < runs; i++)); do
    # Output to a file, not /dev/null: GNU grep stops at the first match
    # when its output is /dev/null.
    t0=$(now)
    /usr/bin/time -v -o "$work/time_w.txt" grep -c -i 'warning:' "$log" >"$work/grep_w.txt" || true
    /usr/bin/time -v -o "$work/time_e.txt" grep -c -i 'error:' "$log" >"$work/grep_e.txt" || true
    t1=$(now)
    t=$(echo "$t1 - $t0" | bc -l)
    cpu=$(echo "$(cpu_of "$work/time_w.txt") + $(cpu_of "$work/time_e.txt")" | bc -l)
    echo "   run $((i + 1)): ${t}s wall, ${cpu}s CPU" >&2
    if [[ -z "$best_grep" ]] || (($(echo "$t < $best_grep" | bc -l))); then
        best_grep=$t
    fi
    if [[ -z "$cpu_grep" ]] || (($(echo "$cpu < $cpu_grep" | bc -l))); then
        cpu_grep=$cpu
    fi
done

json=$(cat "$work/best.json")
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" <<<"$json"; }
w_raw=$(field warnings_raw)
e_raw=$(field errors_raw)
g_w=$(cat "$work/grep_w.txt")
g_e=$(cat "$work/grep_e.txt")
mb=$(echo "$bytes / 1000000" | bc -l)
ratio=$(echo "$best_ours / $best_grep" | bc -l)

printf '\nfile            %s bytes (%.0f MB), %s lines\n' "$bytes" "$mb" "$(field lines)"
printf 'our pass        %.3f s wall (%.0f MB/s), peak RSS %s kB; in-process %.3f s\n' \
    "$best_ours" "$(echo "$mb / $best_ours" | bc -l)" "$best_rss" "$(field seconds)"
printf 'two greps       %.3f s wall (%.0f MB/s)\n' "$best_grep" "$(echo "$mb / $best_grep" | bc -l)"
printf 'ratio           %.2f wall, %.2f CPU (ours / greps, best of %s; target <= 1.0)\n' \
    "$ratio" "$(echo "$cpu_ours / $cpu_grep" | bc -l)" "$runs"
printf 'CPU time        ours %.3f s, greps %.3f s (user + system)\n' "$cpu_ours" "$cpu_grep"
printf 'raw counts      ours W=%s E=%s, grep W=%s E=%s\n' "$w_raw" "$e_raw" "$g_w" "$g_e"
printf 'distinct        W=%s E=%s (last run of the file)\n' "$(field warnings)" "$(field errors)"
if [[ "$w_raw" != "$g_w" || "$e_raw" != "$g_e" ]]; then
    echo "bench-diag: raw counts differ from grep" >&2
    exit 1
fi
