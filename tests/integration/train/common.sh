# shellcheck shell=bash
# Helpers for the angora-train end-to-end tests (sourced).
set -u

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# metrics without the timing fields, which differ from run to run
metrics_learning() {
    sed -E 's/"(wall_s|cpu_s|sps|collect_s|update_s|env_s|inference_s|forward_s|backward_s|allreduce_s|optimizer_s)":[^,}]*,?//g; s/,}/}/g' "$1"
}

# the last value of a numeric field in a metrics file
metric_last() {
    grep -o "\"$2\":[-0-9.eE+]*" "$1" | tail -n 1 | cut -d: -f2
}

# exit status of a command, without set -e tripping
status_of() {
    set +e
    "$@"
    local rc=$?
    return $rc
}

# runs a command with its output in $W/out and $W/err (W: the script's work folder) and fails
# unless it exits with the expected code; a failure must say why on stderr
expect_exit() { # expected_code description command...
    local want=$1 what=$2
    shift 2
    "$@" >"$W/out" 2>"$W/err"
    local rc=$?
    [ "$rc" -eq "$want" ] || fail "$what: exit $rc, expected $want ($(cat "$W/err"))"
    if [ "$want" -ne 0 ]; then
        [ -s "$W/err" ] || fail "$what: no message on stderr"
    fi
    echo "ok: $what (exit $rc): $(head -c 200 "$W/err" | tr '\n' ' ')"
}
