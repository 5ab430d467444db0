# Helpers shared by the bench scripts (source it; bash).

# Wall-clock time in seconds: bash's own clock (a python3 start, the
# fallback, adds some 30 ms to every interval measured).
seconds() {
    if [ -n "${EPOCHREALTIME:-}" ]; then
        echo "${EPOCHREALTIME/,/.}"
    else
        python3 -c 'import time; print(f"{time.time():.4f}")'
    fi
}

# The median of the numbers in file $1, one per line.
median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# servers_start BIN: start the test REST and storage servers
# (examples/test_servers.rs) and export the three variables a client needs.
servers_start() {
    coproc SERVERS { "$1" bench; }
    local l1 l2 l3
    if ! { read -r -u "${SERVERS[0]}" l1 && read -r -u "${SERVERS[0]}" l2 &&
        read -r -u "${SERVERS[0]}" l3; }; then
        echo "the test servers did not start" >&2
        exit 1
    fi
    export "${l1?}" "${l2?}" "${l3?}"
}

# servers_stop: stop them; SERVER_STATS gets what they received (JSON).
servers_stop() {
    exec {SERVERS[1]}>&-
    read -r -u "${SERVERS[0]}" SERVER_STATS
    wait "$SERVERS_PID" 2>/dev/null || true
    unset KCIDB_REST KCI_STORAGE_URL KCI_STORAGE_TOKEN
}
