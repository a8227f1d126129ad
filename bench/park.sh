#!/usr/bin/env bash
# bench/park.sh: carries an unfinished training run to another machine. A run directory lives on
# the machine that trains it, and a run of many core-hours outlasts a sitting on it. `save` packs
# what `angora-train --resume` needs to go on (spec.json, metrics.jsonl and
# checkpoints/last.ckpt) into one xz archive small enough to commit; `restore` unpacks it into a
# new run directory, after which
#
#   OPENBLAS_NUM_THREADS=1 [mpirun -n RANKS] angora-train --run-dir DIR --resume
#
# goes on from the last checkpoint: metrics.jsonl is cut back to its iteration, and wall and
# CPU time count on from what the run had spent. Stop the run first (SIGTERM to its ranks
# writes last.ckpt); saving a run that is still training packs its last periodic checkpoint.
#
#   bench/park.sh save RUN_DIR ARCHIVE.tar.xz
#   bench/park.sh restore ARCHIVE.tar.xz RUN_DIR
#
# Exit status: 0 done, 2 bad arguments or a run directory or archive that is not one (nothing
# written), 1 a failure while writing.
set -euo pipefail

MEMBERS=(spec.json metrics.jsonl checkpoints/last.ckpt)

usage() {
    echo "usage: bench/park.sh save RUN_DIR ARCHIVE.tar.xz | restore ARCHIVE.tar.xz RUN_DIR" >&2
    exit 2
}
die() {
    echo "bench/park.sh: $*" >&2
    exit 2
}

[ $# = 3 ] || usage
case "$1" in
save)
    run=$2
    archive=$3
    [ -d "$run" ] || die "no run directory '$run'"
    for m in "${MEMBERS[@]}"; do
        [ -f "$run/$m" ] || die "'$run' has no $m: not a run that can be continued"
    done
    jq -e 'type == "object" and (.task | type == "string")' "$run/spec.json" >/dev/null 2>&1 ||
        die "'$run/spec.json' is not a training spec"
    [ ! -e "$archive" ] || die "'$archive' exists; park into a new file"
    case "$archive" in
    *.tar.xz) ;;
    *) die "the archive's name must end in .tar.xz" ;;
    esac
    tmp="$archive.tmp.$$"
    trap 'rm -f "$tmp"' EXIT
    # fixed owner and times: the same run parked twice is the same bytes
    tar -C "$run" --owner=0 --group=0 --numeric-owner --mtime=@0 --sort=name \
        -cf - "${MEMBERS[@]}" | xz -9 -T1 >"$tmp" || {
        echo "bench/park.sh: cannot write '$archive'" >&2
        exit 1
    }
    mv "$tmp" "$archive"
    trap - EXIT
    echo "parked $run ($(jq -r '.name // .task' "$run/spec.json"), iteration $(tail -n 1 "$run/metrics.jsonl" | jq -r '.iteration // "?"')) in $archive ($(stat -c %s "$archive") bytes)"
    ;;
restore)
    archive=$2
    run=$3
    [ -f "$archive" ] || die "no archive '$archive'"
    listing=$(tar -tJf "$archive" 2>/dev/null | LC_ALL=C sort) || die "'$archive' is not an xz tar archive"
    want=$(printf '%s\n' "${MEMBERS[@]}" | LC_ALL=C sort)
    [ "$listing" = "$want" ] || die "'$archive' is not a parked run (it holds: $(echo "$listing" | tr '\n' ' '))"
    if [ -e "$run" ] && [ -n "$(ls -A "$run" 2>/dev/null)" ]; then
        die "'$run' exists and is not empty; restore into a new directory"
    fi
    mkdir -p "$run" || exit 1
    tar -C "$run" --no-same-owner -xJf "$archive" -- "${MEMBERS[@]}" || exit 1
    echo "restored $run: continue it with angora-train --run-dir $run --resume"
    ;;
*)
    usage
    ;;
esac
