#!/usr/bin/env bash
# One big log (issue: "Parse at memory speed"): the whole `--dry-run` of a
# test_stable_ssh result directory whose linux/log is SIZE_MB of real log
# lines, against the script's own two greps on that log.
#
# The directory is the warn corpus case; its linux/log keeps its head and
# its tail (the ktest banners) around a body of real lines repeated to the
# size: the corpus logs and every fixtures/logs build log (dense in
# diagnostics), and, when ../shared/samples exists beside the repository,
# its logs too (never committed: see its SOURCES.md).
#
# Both sides run alternately R times with the page cache warm; the medians,
# the ratio (target <= 0.5) and our peak RSS (target <= 64 MiB) are printed.
# GNU grep stops at the first match when its output is /dev/null, so the
# counts go to a file, as the script's `grep -c` output goes to its mail.
#
# Then the full delivery of the same directory (compress, upload, read
# back, submit) to the local test servers (examples/test_servers.rs, fresh
# for every run so nothing is known already), against `gzip -6` of the log
# alone, R alternating pairs again: the medians, the ratio (target <= 0.6)
# and the uploaded log's size against gzip's (target: within 2 %).
#
# usage: [KCIDB_HARVEST_BIN=path] scripts/bench-biglog.sh [SIZE_MB=512] [R=5] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
repo=$PWD
size_mb=${1:-512}
R=${2:-5}
WORK=${3:-/tmp/kcidb-harvest-bench-biglog}
rm -rf "$WORK"; mkdir -p "$WORK"

cargo build --release --quiet --bin kcidb-harvest --example test_servers
TD=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
# KCIDB_HARVEST_BIN: another build to measure (an older commit, for before/after)
BIN=${KCIDB_HARVEST_BIN:-$TD/release/kcidb-harvest}
SERVERS_BIN=$TD/release/examples/test_servers

echo "building a ${size_mb} MB linux/log"
tar -xzf fixtures/corpus/warn.tar.gz -C "$WORK"
DIR=$WORK/warn
LOG=$DIR/linux/log
body=$WORK/body.log
: > "$body"
for tgz in fixtures/corpus/*.tar.gz; do
    tar -xzOf "$tgz" --wildcards '*/linux/log' >> "$body"
done
cat fixtures/logs/*/build.log >> "$body"
if [ -d "$repo/../shared/samples" ]; then
    find "$repo/../shared/samples" -type f \( -name '*.log' -o -name '*.txt' \) -size -64M -print0 |
        xargs -0 -r cat >> "$body"
fi
python3 - "$LOG" "$body" "$((size_mb * 1024 * 1024))" <<'EOF'
import sys
log, body, target = sys.argv[1], sys.argv[2], int(sys.argv[3])
orig = open(log, "rb").read()
# the head up to the final make, and the tail from it: the banners stay
cut = orig.rfind(b"make[1]: Leaving directory")
head, tail = (orig[:cut], orig[cut:]) if cut > 0 else (orig, b"")
chunk = open(body, "rb").read()
if not chunk.endswith(b"\n"):
    chunk += b"\n"
with open(log, "wb") as f:
    f.write(head)
    n = len(head) + len(tail)
    while n + len(chunk) <= target:
        f.write(chunk)
        n += len(chunk)
    f.write(chunk[: max(0, target - n)].rsplit(b"\n", 1)[0] + b"\n")
    f.write(tail)
EOF
echo "log: $(du -m "$LOG" | cut -f1) MB, $(wc -l < "$LOG") lines"
find "$DIR" -exec touch -d '2 hours ago' {} +
cat "$LOG" > /dev/null  # warm the page cache

ours() {
    /usr/bin/time -v -o "$WORK/time.txt" "$BIN" "$DIR" --origin bench --dry-run --no-history \
        > "$WORK/report.json" 2> "$WORK/stderr.txt" || {
        echo "the dry-run failed:"; cat "$WORK/stderr.txt"; exit 1; }
    awk -F': ' '/Maximum resident/ {print $2}' "$WORK/time.txt" >> "$WORK/rss.txt"
}
greps() {
    grep -c -i "warning:" "$LOG" > "$WORK/w.txt" || true
    grep -c -i "error:" "$LOG" > "$WORK/e.txt" || true
}
for i in $(seq 1 "$R"); do
    t0=$(seconds); ours; t1=$(seconds); greps; t2=$(seconds)
    python3 -c "print(f'{$t1-$t0:.4f}')" >> "$WORK/ours.txt"
    python3 -c "print(f'{$t2-$t1:.4f}')" >> "$WORK/greps.txt"
    echo "pair $i: ours $(tail -1 "$WORK/ours.txt") s, greps $(tail -1 "$WORK/greps.txt") s"
done
o=$(median "$WORK/ours.txt"); g=$(median "$WORK/greps.txt")
echo
echo "counts: grep W:$(cat "$WORK/w.txt") E:$(cat "$WORK/e.txt"); ours $(python3 -c "import json,sys; b=json.load(open(sys.argv[1]))['builds'][0]['misc']; print(f\"W:{b.get('warnings_raw')} E:{b.get('errors_raw')}\")" "$WORK/report.json")"
echo "median of $R: --dry-run ${o} s, the two greps ${g} s, ratio $(python3 -c "print(f'{$o/$g:.3f}')") (target <= 0.5)"
echo "peak RSS: $(sort -n "$WORK/rss.txt" | tail -1) KiB (target <= 65536)"

# Full delivery against gzip -6, to fresh servers every time.
deliver() {
    local d=$WORK/deliver
    rm -rf "$d"; mkdir -p "$d"
    servers_start "$SERVERS_BIN"
    local t0 t1
    t0=$(seconds)
    "$BIN" "$DIR" --origin bench --no-history --force --spool "$d/spool" \
        --journal "$d/journal.jsonl" > "$d/stdout.txt" 2> "$d/stderr.txt" || {
        servers_stop; echo "delivery failed:"; cat "$d/stderr.txt"; exit 1; }
    t1=$(seconds)
    servers_stop
    python3 -c "print(f'{$t1-$t0:.4f}')" >> "$WORK/deliver.txt"
    python3 -c "import json,sys; print(json.loads(sys.argv[1])['build_log_gz_bytes'])" \
        "$SERVER_STATS" > "$WORK/deliver-bytes.txt"
}
gzip6() { gzip -6 -c "$LOG" > "$WORK/log.gz"; }
for i in $(seq 1 "$R"); do
    deliver; t1=$(seconds); gzip6; t2=$(seconds)
    python3 -c "print(f'{$t2-$t1:.4f}')" >> "$WORK/gzip.txt"
    echo "pair $i: delivery $(tail -1 "$WORK/deliver.txt") s, gzip -6 $(tail -1 "$WORK/gzip.txt") s"
done
dl=$(median "$WORK/deliver.txt"); gz=$(median "$WORK/gzip.txt")
ob=$(cat "$WORK/deliver-bytes.txt"); gb=$(stat -c %s "$WORK/log.gz")
echo
echo "median of $R: full delivery ${dl} s, gzip -6 ${gz} s, ratio $(python3 -c "print(f'{$dl/$gz:.3f}')") (target <= 0.6)"
echo "uploaded build.log.gz ${ob} bytes, gzip -6 ${gb} bytes: $(python3 -c "print(f'{$ob/$gb:.4f}')") (target: within 2 %)"
