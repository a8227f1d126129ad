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
# A vision pretraining's run directory is parked the same way and continues with
# `angora-train --pretrain SPEC --run-dir DIR --resume`, SPEC the spec as it was given.
#
#   bench/park.sh save RUN_DIR ARCHIVE.tar.xz
#   bench/park.sh restore ARCHIVE.tar.xz RUN_DIR
#
# A benchmark of several sittings (bench/run.sh --full --out DIR, continued with --resume) is
# carried the same way: `save-results` packs its results directory without the checkpoints of
# finished runs (their evaluations are done and recorded), keeping the last.ckpt of every run
# still to finish; `restore-results` unpacks it, and `bench/run.sh ... --out DIR --resume` goes on.
#
#   bench/park.sh save-results RESULTS_DIR ARCHIVE.tar.xz
#   bench/park.sh restore-results ARCHIVE.tar.xz RESULTS_DIR
#
# Exit status: 0 done, 2 bad arguments or a directory or archive that is not one (nothing
# written), 1 a failure while writing.
set -euo pipefail

MEMBERS=(spec.json metrics.jsonl checkpoints/last.ckpt)

usage() {
    echo "usage: bench/park.sh save RUN_DIR ARCHIVE.tar.xz | restore ARCHIVE.tar.xz RUN_DIR" >&2
    echo "       bench/park.sh save-results RESULTS_DIR ARCHIVE.tar.xz" >&2
    echo "       bench/park.sh restore-results ARCHIVE.tar.xz RESULTS_DIR" >&2
    exit 2
}
die() {
    echo "bench/park.sh: $*" >&2
    exit 2
}
# checks that ARCHIVE may be written: a new file named *.tar.xz
new_archive() {
    [ ! -e "$1" ] || die "'$1' exists; park into a new file"
    case "$1" in
    *.tar.xz) ;;
    *) die "the archive's name must end in .tar.xz" ;;
    esac
}
# pack LIST DIR ARCHIVE: the files LIST names (NUL-separated, relative to DIR) into ARCHIVE, with
# a fixed owner and times: the same files parked twice are the same bytes
pack() {
    local tmp="$3.tmp.$$"
    if tar -C "$2" --owner=0 --group=0 --numeric-owner --mtime=@0 --sort=name --null -T "$1" \
        -cf - | xz -9 -T1 >"$tmp"; then
        mv "$tmp" "$3"
    else
        rm -f "$tmp"
        echo "bench/park.sh: cannot write '$3'" >&2
        return 1
    fi
}
# the archive's member names, sorted; refuses what is not an xz tar archive or names a path
# outside the directory it is unpacked into
members() {
    local listing
    listing=$(tar -tJf "$1" 2>/dev/null | LC_ALL=C sort) || die "'$1' is not an xz tar archive"
    if grep -Eq '^/|(^|/)\.\.(/|$)' <<<"$listing"; then
        die "'$1' names a path outside its directory"
    fi
    echo "$listing"
}
# refuses a destination that exists and is not empty
fresh_dir() {
    if [ -e "$1" ] && [ -n "$(ls -A "$1" 2>/dev/null)" ]; then
        die "'$1' exists and is not empty; restore into a new directory"
    fi
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
    new_archive "$archive"
    list=$(mktemp)
    trap 'rm -f "$list"' EXIT
    printf '%s\0' "${MEMBERS[@]}" >"$list"
    pack "$list" "$run" "$archive" || exit 1
    echo "parked $run ($(jq -r '.name // .task' "$run/spec.json"), iteration $(tail -n 1 "$run/metrics.jsonl" | jq -r '.iteration // "?"')) in $archive ($(stat -c %s "$archive") bytes)"
    ;;
restore)
    archive=$2
    run=$3
    [ -f "$archive" ] || die "no archive '$archive'"
    listing=$(members "$archive") || exit 2
    want=$(printf '%s\n' "${MEMBERS[@]}" | LC_ALL=C sort)
    [ "$listing" = "$want" ] || die "'$archive' is not a parked run (it holds: $(echo "$listing" | tr '\n' ' '))"
    fresh_dir "$run"
    mkdir -p "$run" || exit 1
    tar -C "$run" --no-same-owner -xJf "$archive" -- "${MEMBERS[@]}" || exit 1
    # a vision pretraining resumes from the spec it was given (its spec.json has every default
    # filled in, which a spec may not set)
    if jq -e 'has("data") and has("epochs")' "$run/spec.json" >/dev/null 2>&1; then
        echo "restored $run (a vision pretraining): continue it with angora-train --pretrain SPEC --run-dir $run --resume, SPEC the spec as it was given, its dataset at $(jq -r .data "$run/spec.json")"
    else
        echo "restored $run: continue it with angora-train --run-dir $run --resume"
    fi
    ;;
save-results)
    res=$2
    archive=$3
    [ -f "$res/machine.json" ] || die "'$res' has no machine.json: not a bench/run.sh results directory"
    new_archive "$archive"
    list=$(mktemp)
    trap 'rm -f "$list"' EXIT
    (
        cd "$res" || exit 1
        # every file but checkpoints; of those only the last.ckpt of runs not yet finished
        find . -type f ! -name '*.ckpt' -printf '%P\0'
        for ck in runs/*/seed*/checkpoints/last.ckpt; do
            [ -f "$ck" ] || continue
            rec=${ck%/checkpoints/last.ckpt}.run.json
            if ! { [ -f "$rec" ] && jq -e '.exit_code == 0' "$rec" >/dev/null 2>&1; }; then
                printf '%s\0' "$ck"
            fi
        done
    ) >"$list" || {
        echo "bench/park.sh: cannot list '$res'" >&2
        exit 1
    }
    pack "$list" "$res" "$archive" || exit 1
    open_runs=$(tr '\0' '\n' <"$list" | grep -c 'checkpoints/last.ckpt$' || true)
    echo "parked $res in $archive ($(stat -c %s "$archive") bytes; $open_runs run(s) to continue from a checkpoint)"
    ;;
restore-results)
    archive=$2
    res=$3
    [ -f "$archive" ] || die "no archive '$archive'"
    listing=$(members "$archive") || exit 2
    grep -qx 'machine.json' <<<"$listing" || die "'$archive' is not a parked results directory (no machine.json)"
    fresh_dir "$res"
    mkdir -p "$res" || exit 1
    tar -C "$res" --no-same-owner -xJf "$archive" || exit 1
    echo "restored $res: continue it with bench/run.sh ... --out $res --resume"
    ;;
*)
    usage
    ;;
esac
