#!/bin/bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# kcidb-harvest-hook REMOTE_DIR
#
# Report a finished test_stable_ssh run to KernelCI, then clean up its
# REMOTE_DIR.  The patched run_test.sh calls it (as ~/bin/kcidb-harvest-hook)
# in place of its final `rm -rf REMOTE_DIR`, after the result mail was sent.
# See README.md next to this file.
#
# It never fails the build and never writes to output_log: everything it says
# goes to its own log file, and it always exits 0 once it has decided what to
# keep.  A non-zero exit only happens when it was misused (no REMOTE_DIR) or
# killed; run_test.sh then falls back to the stock `rm -rf`.
#
# Settings come from the environment, else from shell assignments in
# ${XDG_CONFIG_HOME:-~/.config}/kcidb-harvest/hook.conf (the environment wins).
# Everything assigned there is exported, so the file can also hold
# kcidb-harvest's own settings (KCIDB_REST, KCI_STORAGE_URL, ...).
#
#   KCIDB_ORIGIN          origin the results are reported as (default: gregkh)
#   KCIDB_KEEP            what stays after the harvest:
#                           no   (default) remove the directory when the harvest
#                                worked or kcidb-harvest is not installed; keep
#                                a slim copy when the harvest failed
#                           slim keep only what kcidb-harvest reads (a few MB)
#                           all  keep everything (as big as the build)
#   KCIDB_HARVEST         the kcidb-harvest binary, or "off" to not harvest
#                           (default: first found in PATH, ~/.cargo/bin,
#                           ~/.local/bin, ~/bin)
#   KCIDB_HARVEST_SPOOL   where undelivered reports wait (default: ~/kcidb-spool)
#   KCIDB_HARVEST_ARGS    extra arguments, split on blanks (e.g. "--instance staging")
#   KCIDB_HARVEST_TIMEOUT seconds before the harvest is stopped (default: 1800)
#   KCIDB_HOOK_LOG        the hook's log (default: $KCIDB_HARVEST_SPOOL/hook.log)

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: ${0##*/} REMOTE_DIR" >&2
	exit 2
fi
dir=${1%/}

# Remember what the caller set: the environment wins over hook.conf.
declare -A from_env=()
for var in KCIDB_ORIGIN KCIDB_KEEP KCIDB_HARVEST KCIDB_HARVEST_SPOOL \
	KCIDB_HARVEST_ARGS KCIDB_HARVEST_TIMEOUT KCIDB_HOOK_LOG; do
	if [ -n "${!var+set}" ]; then
		from_env[$var]=${!var}
	fi
done
conf=${XDG_CONFIG_HOME:-$HOME/.config}/kcidb-harvest/hook.conf
conf_error=""
if [ -r "$conf" ]; then
	set -a
	# shellcheck disable=SC1090
	. "$conf" || conf_error="$conf had errors"
	set +a
fi
for var in "${!from_env[@]}"; do
	printf -v "$var" '%s' "${from_env[$var]}"
done

origin=${KCIDB_ORIGIN:-gregkh}
keep=${KCIDB_KEEP:-no}
spool=${KCIDB_HARVEST_SPOOL:-$HOME/kcidb-spool}
timeout_s=${KCIDB_HARVEST_TIMEOUT:-1800}
log=${KCIDB_HOOK_LOG:-$spool/hook.log}

# From here on nothing goes to run_test.sh's stdout (output_log): kcidb-harvest
# may be reading or uploading output_log right now.
mkdir -p "$spool" "$(dirname -- "$log")" 2>/dev/null
if ! { exec >>"$log"; } 2>/dev/null; then
	exec >/dev/null
fi
exec 2>&1

# To the log (stderr is the log too), also from inside $(...).
say() {
	printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$dir" "$*" >&2
}

[ -n "$conf_error" ] && say "$conf_error"

# Refuse to touch anything that is not a test_stable_ssh REMOTE_DIR.
if [ ! -d "$dir" ] || [ ! -f "$dir/run_test.sh" ]; then
	say "not a test_stable_ssh directory (no run_test.sh), leaving it alone"
	exit 0
fi
dir=$(cd -- "$dir" && pwd -P) || exit 0

case "$keep" in
all | 1 | yes | true) keep=all ;;
slim) ;;
no | 0 | false) keep=no ;;
*)
	say "KCIDB_KEEP=$keep is not one of no, slim, all: keeping a slim copy"
	keep=slim
	;;
esac

find_harvester() {
	local candidate
	case "${KCIDB_HARVEST-}" in
	off) return 1 ;;
	"") ;;
	*)
		[ -x "$KCIDB_HARVEST" ] && echo "$KCIDB_HARVEST" && return 0
		say "KCIDB_HARVEST=$KCIDB_HARVEST is not an executable"
		return 1
		;;
	esac
	# run_test.sh runs under nohup from a non-interactive ssh command, whose
	# PATH rarely holds the per-user install directories.
	candidate=$(command -v kcidb-harvest) && echo "$candidate" && return 0
	for candidate in "$HOME/.cargo/bin" "$HOME/.local/bin" "$HOME/bin"; do
		[ -x "$candidate/kcidb-harvest" ] && echo "$candidate/kcidb-harvest" && return 0
	done
	return 1
}

# Keep only what kcidb-harvest reads: the top-level files (output_log,
# ktest.conf, run_test.sh, stable_queue.tar.gz, commit.txt, start_time.txt,
# buildlog-*, log, time output), linux/log, linux/Makefile, linux/patches/,
# linux/.git (plain files; the objects live in the mirror) and the few small
# files of linux/output that name the compiler, architecture and release.
slim() {
	local linux=$1/linux
	[ -d "$linux" ] || return 0
	find "$linux" -mindepth 1 -maxdepth 1 ! -name .git ! -name log \
		! -name patches ! -name Makefile ! -name output -exec rm -rf {} +
	if [ -d "$linux/output" ]; then
		(
			cd "$linux/output" || exit 1
			find . -mindepth 1 ! -type d ! -path ./.config ! -path ./localversion \
				! -path ./include/config/kernel.release \
				! -path ./include/generated/compile.h \
				! -path ./include/generated/utsrelease.h \
				! -path ./include/generated/utsversion.h -delete
			find . -mindepth 1 -depth -type d -empty -delete
		)
	fi
}

harvest_rc=""
if harvester=$(find_harvester); then
	read -r -a extra <<<"${KCIDB_HARVEST_ARGS-}"
	cmd=("$harvester" "$dir" --origin "$origin" --assume-finished "${extra[@]}")
	if command -v timeout >/dev/null; then
		cmd=(timeout "$timeout_s" "${cmd[@]}")
	fi
	# `test_stable_ssh all` ends several runs on one builder: one harvest
	# at a time on the shared spool and journal.
	if command -v flock >/dev/null; then
		cmd=(flock "$spool/hook.lock" "${cmd[@]}")
	fi
	say "running: ${cmd[*]}"
	# The spool and journal must outlive REMOTE_DIR: run from $HOME.
	(cd "$HOME" && KCIDB_HARVEST_SPOOL=$spool "${cmd[@]}")
	harvest_rc=$?
	say "kcidb-harvest exited $harvest_rc"
else
	say "kcidb-harvest not installed or turned off, not harvesting"
fi

case "$keep" in
all)
	say "KCIDB_KEEP=all: keeping everything"
	;;
slim)
	slim "$dir"
	say "KCIDB_KEEP=slim: kept what kcidb-harvest reads"
	;;
no)
	if [ -n "$harvest_rc" ] && [ "$harvest_rc" != 0 ]; then
		slim "$dir"
		say "harvest failed: kept a slim copy; harvest it again with: kcidb-harvest $dir --origin $origin"
	else
		rm -rf -- "$dir"
		say "removed"
	fi
	;;
esac
exit 0
