#!/usr/bin/env bash
# Backfill benchmark (issue: "Backfill at scale"). Generates a tree of N
# result directories (default 1000) from the corpus, then measures in one run:
#  1. a full delivery run, `kcidb-harvest -r TREE -j2` against the local test
#     REST and storage servers (every log gzip-compressed and uploaded, every
#     report validated and submitted): wall time, dirs/s, peak RSS;
#  2. a shell loop doing the least the script itself does per run: the two
#     `grep -c -i` counts (to a file: GNU grep stops at the first match when
#     its output is /dev/null) plus `gzip -6 -c` of the log to /dev/null;
#  3. the same for --dry-run against the loop without gzip;
#  4. compressed sizes: our uploaded build logs vs `gzip -6` of the same logs
#     (those of the directories delivered).
# usage: scripts/bench-backfill.sh [N] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
N=${1:-1000}
WORK=${2:-/tmp/kcidb-harvest-bench}
rm -rf "$WORK"; mkdir -p "$WORK"
TREE=$WORK/tree

cargo build --release --quiet --bin kcidb-harvest --example test_servers
TD=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TD/release/kcidb-harvest
SRV=$TD/release/examples/test_servers

echo "generating $N directories in $TREE"
python3 scripts/gen-backfill-tree.py "$PWD" "$TREE" "$N"
# the primary log of each directory, as the script would grep it
find "$TREE" \( -path '*/linux/log' -o -path '*/linux/log.gz' -o -name build.log \) -type f | sort > "$WORK/logs.txt"
echo "tree: $(wc -l < "$WORK/logs.txt") logs, $(du -sh "$TREE" | cut -f1)"
sync

# ---- 1. full delivery run ----
servers_start "$SRV"
cd "$WORK"
t0=$(seconds)
/usr/bin/time -v -o "$WORK/time-full.txt" "$BIN" -r "$TREE" --origin bench -j2 -q --format json 2> "$WORK/full.jsonl" || true
t1=$(seconds)
cd - >/dev/null
servers_stop
stats=$SERVER_STATS
full=$(python3 -c "print(f'{$t1-$t0:.2f}')")
rss_full=$(awk -F': ' '/Maximum resident/ {print $2}' "$WORK/time-full.txt")

# ---- 2. the shell loop ----
t0=$(seconds)
while read -r f; do
  grep -c -i 'warning:' "$f" >"$WORK/count.txt" || true
  grep -c -i 'error:' "$f" >"$WORK/count.txt" || true
  gzip -6 -c "$f" > /dev/null
done < "$WORK/logs.txt"
t1=$(seconds)
loop=$(python3 -c "print(f'{$t1-$t0:.2f}')")

# ---- 3. dry-run vs the loop without gzip ----
t0=$(seconds)
/usr/bin/time -v -o "$WORK/time-dry.txt" "$BIN" -r "$TREE" --origin bench -j2 -q --dry-run > /dev/null 2>&1 || true
t1=$(seconds)
dry=$(python3 -c "print(f'{$t1-$t0:.2f}')")
rss_dry=$(awk -F': ' '/Maximum resident/ {print $2}' "$WORK/time-dry.txt")
t0=$(seconds)
while read -r f; do
  grep -c -i 'warning:' "$f" >"$WORK/count.txt" || true
  grep -c -i 'error:' "$f" >"$WORK/count.txt" || true
done < "$WORK/logs.txt"
t1=$(seconds)
loop_nogz=$(python3 -c "print(f'{$t1-$t0:.2f}')")

# ---- 4. compressed sizes (gzip -6 of the logs the harvester uploaded:
# those of the directories delivered) ----
python3 - "$WORK/full.jsonl" "$WORK/logs.txt" > "$WORK/uploaded-logs.txt" <<'PY'
import json, os, sys
delivered = set()
for line in open(sys.argv[1]):
    try:
        v = json.loads(line)
    except ValueError:
        continue
    if v.get("type") == "delivery" and v.get("delivery") == "delivered":
        delivered.add(os.path.realpath(v["dir"]) + "/")
n = 0
for f in open(sys.argv[2]):
    f = f.strip()
    if any(os.path.realpath(f).startswith(d) for d in delivered):
        print(f)
        n += 1
if n == 0:
    sys.exit(f"no log of a delivered directory ({len(delivered)} delivered): see {sys.argv[1]}")
PY
gz=0
while read -r f; do
  case "$f" in *.gz) s=$(stat -c %s "$f") ;; *) s=$(gzip -6 -c "$f" | wc -c) ;; esac
  gz=$((gz + s))
done < "$WORK/uploaded-logs.txt"

python3 - "$N" "$full" "$loop" "$dry" "$loop_nogz" "$rss_full" "$rss_dry" "$gz" "$stats" "$WORK/full.jsonl" <<'PY'
import json, sys
n, full, loop, dry, loop_nogz = int(sys.argv[1]), *map(float, sys.argv[2:6])
rss_full, rss_dry, gz = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
stats = json.loads(sys.argv[9])
summary = {}
for line in open(sys.argv[10]):
    try:
        v = json.loads(line)
    except ValueError:
        continue
    if v.get("type") == "summary":
        summary = v
print(f"directories                 {n}")
print(f"full delivery run (-j2)     {full:8.2f} s  {n/full:8.1f} dirs/s  peak RSS {rss_full/1024:.1f} MB")
print(f"shell loop (2 grep + gzip)  {loop:8.2f} s  {n/loop:8.1f} dirs/s")
print(f"ratio full / loop           {full/loop:8.3f}   (target <= 1.0)")
print(f"dry-run (-j2)               {dry:8.2f} s  peak RSS {rss_dry/1024:.1f} MB")
print(f"shell loop (2 grep)         {loop_nogz:8.2f} s")
print(f"ratio dry-run / loop        {dry/loop_nogz:8.3f}   (target <= 1.0)")
print(f"server: {stats['submissions']} submissions, {stats['builds']} builds ({stats['unique_builds']} unique), {stats['files']} files")
ours = stats["build_log_gz_bytes"]
print(f"build logs gz: ours {ours} B, gzip -6 {gz} B, ratio {ours/gz:.4f}  (target within 5%)")
print("summary outcomes:", json.dumps(summary.get("outcomes", {})), "by_layout:", json.dumps(summary.get("by_layout", {})), "failed:", len(summary.get("failed", [])))
PY
