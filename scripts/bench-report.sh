#!/usr/bin/env bash
# Report benchmark (issue: "See the history: a self-contained HTML report").
# Fills a history with a backfill of N generated result directories spread
# over years (GEN_SPREAD=1 scripts/gen-backfill-tree.py: one run every 6
# hours, releases 6.1.1 to 6.1.N/20, mixed layouts), then writes the report
# R times (default 5) and prints the median time, the page's size, peak RSS,
# and how long headless Chromium takes from its start to a screenshot of
# the page (load, script, layout, paint), against the same for an empty
# page (Chromium's own start).
# usage: scripts/bench-report.sh [N] [R] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
N=${1:-10000}
R=${2:-5}
WORK=${3:-/tmp/kcidb-harvest-bench-report}
rm -rf "$WORK"; mkdir -p "$WORK"
TREE=$WORK/tree
H=$WORK/history.sqlite

cargo build --release --quiet --bin kcidb-harvest
TD=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TD/release/kcidb-harvest

echo "generating $N directories in $TREE"
GEN_SPREAD=1 python3 scripts/gen-backfill-tree.py "$PWD" "$TREE" "$N"
"$BIN" -r "$TREE" --origin bench -j2 -q --allow-unknown-commit --spool "$WORK/spool" --history "$H" > /dev/null 2>&1 || true
builds=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('select count(*) from builds').fetchone()[0])" "$H")
echo "history: $builds builds"

for i in $(seq 1 "$R"); do
  t0=$(seconds)
  /usr/bin/time -v -o "$WORK/time-$i.txt" "$BIN" report --history "$H" -o "$WORK/report.html" -q
  t1=$(seconds)
  python3 -c "print(f'{$t1-$t0:.4f}')" >> "$WORK/times.txt"
  awk -F': ' '/Maximum resident/ {print $2}' "$WORK/time-$i.txt" >> "$WORK/rss.txt"
done
echo "report: median of $R: $(median "$WORK/times.txt") s; page $(du -k "$WORK/report.html" | cut -f1) KiB ($(grep -c '<tbody class="build"' "$WORK/report.html") build rows); peak RSS $(sort -n "$WORK/rss.txt" | tail -1) KiB"

CHROME=${KCIDB_HARVEST_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROME" ]; then
  echo "no chromium: the browser side is not measured"
  exit 0
fi
echo '<!DOCTYPE html><html><body data-ready="1"></body></html>' > "$WORK/empty.html"
chrome() { rm -rf "$WORK/profile"
  "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$WORK/profile" "$@" 2> /dev/null; }
chrome --dump-dom "file://$WORK/report.html" > "$WORK/dom.html"
grep -q 'data-ready="1"' "$WORK/dom.html" || { echo "the page's script did not finish" >&2; exit 1; }
load() { # $1: page; seconds to load it, run its script, lay it out and paint it
  local t0 t1
  t0=$(seconds)
  chrome --window-size=1280,1800 --screenshot="$WORK/shot.png" "file://$1" > /dev/null
  t1=$(seconds)
  python3 -c "print(f'{$t1-$t0:.4f}')"
}
rm -f "$WORK/chrome-page.txt" "$WORK/chrome-empty.txt"
for i in $(seq 1 "$R"); do
  load "$WORK/empty.html" >> "$WORK/chrome-empty.txt"
  load "$WORK/report.html" >> "$WORK/chrome-page.txt"
done
page=$(median "$WORK/chrome-page.txt"); empty=$(median "$WORK/chrome-empty.txt")
echo "chromium, load to screenshot, median of $R: the report ${page} s, an empty page ${empty} s: the page itself $(python3 -c "print(f'{$page-$empty:.2f}')") s"
