#!/usr/bin/env bash
# History benchmark (issue: "Track every diagnostic across builds"). Generates
# a backfill tree of N result directories (default 10000) from the corpus
# (scripts/gen-backfill-tree.py), then runs the same backfill to the spool
# (no server: every report validated and spooled) with `--no-history` and
# with a fresh `--history FILE`, alternately, R times (default 5), and prints
# the median wall times, their ratio (the target: history on <= 1.2x off),
# peak RSS, and what the history holds.
# usage: scripts/bench-history.sh [N] [R] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
N=${1:-10000}
R=${2:-5}
WORK=${3:-/tmp/kcidb-harvest-bench-history}
rm -rf "$WORK"; mkdir -p "$WORK"
TREE=$WORK/tree

cargo build --release --quiet --bin kcidb-harvest
TD=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TD/release/kcidb-harvest

echo "generating $N directories in $TREE"
python3 scripts/gen-backfill-tree.py "$PWD" "$TREE" "$N"
echo "tree: $(du -sh "$TREE" | cut -f1)"
sync
# warm the page cache once
"$BIN" -r "$TREE" --origin bench -j2 -q --dry-run --no-history > /dev/null 2>&1 || true

run() { # $1: off|on, $2: run number
  local spool=$WORK/spool-$1 hist=$WORK/history-$1.sqlite flag
  rm -rf "$spool" "$hist" "$hist-wal" "$hist-shm"
  if [ "$1" = on ]; then flag=(--history "$hist"); else flag=(--no-history); fi
  local t0 t1
  t0=$(seconds)
  /usr/bin/time -v -o "$WORK/time-$1-$2.txt" "$BIN" -r "$TREE" --origin bench -j2 -q \
    --spool "$spool" "${flag[@]}" > /dev/null 2> "$WORK/stderr-$1-$2.txt" || true
  t1=$(seconds)
  python3 -c "print(f'{$t1-$t0:.3f}')" >> "$WORK/times-$1.txt"
  awk -F': ' '/Maximum resident/ {print $2}' "$WORK/time-$1-$2.txt" >> "$WORK/rss-$1.txt"
}
for i in $(seq 1 "$R"); do
  run off "$i"
  run on "$i"
  echo "pair $i: off $(tail -1 "$WORK/times-off.txt") s, on $(tail -1 "$WORK/times-on.txt") s"
done

off=$(median "$WORK/times-off.txt"); on=$(median "$WORK/times-on.txt")
spooled=$(find "$WORK/spool-on" -name '*.json' | wc -l)
builds=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('select count(*) from builds').fetchone()[0], c.execute('select count(*) from diagnostics').fetchone()[0])" "$WORK/history-on.sqlite")
echo
echo "directories: $N; spool files (history on): $spooled; history: builds, diagnostics = $builds; file $(du -h "$WORK/history-on.sqlite" | cut -f1)"
echo "median of $R: --no-history ${off} s, --history ${on} s, ratio $(python3 -c "print(f'{$on/$off:.3f}')")"
echo "peak RSS (KiB, max): off $(sort -n "$WORK/rss-off.txt" | tail -1), on $(sort -n "$WORK/rss-on.txt" | tail -1)"
