#!/usr/bin/env bash
# Cross-check `kcidb-harvest validate` against the official validator,
# kcidb-io (PyPI), on:
#   (a) every document in ci/kcidb-check/valid/ (both must say valid) and
#       ci/kcidb-check/invalid/ (both must say invalid);
#   (b) every FILE given as an argument (both must say valid), e.g. the
#       golden reports: ci/kcidb-check/run.sh fixtures/golden/*.json;
#   (c) randomised documents (differential.py): both must reject exactly
#       the same JSON paths.
#
# usage: ci/kcidb-check/run.sh [FILE...]
# env:   KCIDB_HARVEST_BIN  the binary (default: $CARGO_TARGET_DIR or
#                           target/, then debug/kcidb-harvest)
#        KCIDB_CHECK_VENV   the Python venv to create or reuse
#                           (default: target/kcidb-check-venv)
#        KCIDB_IO_SPEC      what pip installs (default: kcidb-io)
#        DIFFERENTIAL_ROUNDS  documents for (c), 0 to skip (default: 10)
# Exits 0 when every verdict agrees, 1 on any disagreement, 2 on a setup
# error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$root/$target ;; esac
bin=${KCIDB_HARVEST_BIN:-$target/debug/kcidb-harvest}
venv=${KCIDB_CHECK_VENV:-$root/target/kcidb-check-venv}
spec=${KCIDB_IO_SPEC:-kcidb-io}
rounds=${DIFFERENTIAL_ROUNDS:-10}

die() { echo "kcidb-check: $*" >&2; exit 2; }

[ -x "$bin" ] || die "no kcidb-harvest binary at $bin (cargo build, or set KCIDB_HARVEST_BIN)"
for f in "$@"; do [ -r "$f" ] || die "cannot read $f"; done

# (a) A venv with kcidb-io and the format checkers (jsonschema[format]).
py=$venv/bin/python
if ! { [ -x "$py" ] && "$py" -c 'import kcidb_io, rfc3987, rfc3339_validator' 2>/dev/null; }; then
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv" || die "cannot create a venv at $venv (is python3-venv installed?)"
    "$py" -m pip install --quiet --disable-pip-version-check "$spec" 'jsonschema[format]' \
        || die "pip install $spec failed"
fi
"$py" - <<'EOF' || die "kcidb-io is not usable in $venv"
from importlib.metadata import version
print("kcidb-check: kcidb-io", version("kcidb-io"), "jsonschema", version("jsonschema"),
      "rfc3987", version("rfc3987"), "rfc3339-validator", version("rfc3339-validator"))
EOF

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
declare -A expect=()
files=()
for f in "$here"/valid/*.json; do expect[$f]=valid; files+=("$f"); done
for f in "$here"/invalid/*.json; do expect[$f]=invalid; files+=("$f"); done
for f in "$@"; do expect[$f]=valid; files+=("$f"); done

# kcidb-io's verdicts, in one Python process.
"$py" "$here/check.py" "${files[@]}" >"$tmp/kcidb-io.tsv" || die "check.py failed"
declare -A theirs=()
while IFS=$'\t' read -r f verdict; do theirs[$f]=$verdict; done <"$tmp/kcidb-io.tsv"

n_valid=0 n_invalid=0
for f in "${files[@]}"; do
    want=${expect[$f]}
    set +e
    "$bin" validate "$f" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    set -e
    case $rc in
        0) ours=valid ;;
        3) ours=invalid ;;
        *) ours="error (exit $rc)" ;;
    esac
    them=${theirs[$f]:-missing}
    if [ "$them" != "$want" ] || [ "$ours" != "$want" ]; then
        fail=1
        rel=${f#"$root"/}
        echo "DISAGREE $rel: expected $want, kcidb-io says $them, kcidb-harvest says $ours" >&2
        sed 's/^/    kcidb-harvest: /' "$tmp/err" | head -n 5 >&2
        "$py" "$here/check.py" --explain "$f" 2>&1 >/dev/null | sed 's/^/    kcidb-io: /' | head -n 5 >&2
    elif [ "$want" = valid ]; then
        n_valid=$((n_valid + 1))
    else
        n_invalid=$((n_invalid + 1))
    fi
done
echo "kcidb-check: ${#files[@]} documents ($# given), $n_valid valid and $n_invalid invalid by both"

# (c) Randomised values, compared path by path.
if [ "$rounds" -gt 0 ]; then
    "$py" "$here/differential.py" "$bin" --rounds "$rounds" || fail=1
fi

if [ $fail -ne 0 ]; then
    echo "kcidb-check: FAILED: kcidb-harvest and kcidb-io disagree (see above)" >&2
    exit 1
fi
echo "kcidb-check: kcidb-harvest validate agrees with kcidb-io on every document"
