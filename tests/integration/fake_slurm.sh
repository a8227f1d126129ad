#!/usr/bin/env bash
# Test double of Slurm's commands for the Slurm executor's fast tests (test_slurm_states.c): one
# script, called as sbatch, scontrol, sacct or scancel (symlinks), that runs each batch script
# at once as a background job on this machine and keeps each job's state in files of
# $FAKE_SLURM_DIR, where a test can also change them to what a real cluster could do but a
# one-node test cluster cannot (a job lost without requeue) or forget a job (as slurmctld does
# MinJobAge after its end). Files of $FAKE_SLURM_DIR:
#   next-id                 the last job id given
#   job-N.state / .exit     JobState and exit code of job N; .pid the batch script's process
#   sbatch-error            when present, sbatch prints it and exits 1 (nothing submitted)
#   forget                  when present, scontrol no longer knows jobs that have ended
# sacct without -c knows nothing (no accounting); sacct -c knows every ended job.
set -u
D=${FAKE_SLURM_DIR:?FAKE_SLURM_DIR is not set}
name=$(basename "$0")

case "$name" in
sbatch)
    # read once: a test removes the file while the daemon may be submitting
    if msg=$(cat "$D/sbatch-error" 2>/dev/null); then
        printf '%s\n' "$msg" >&2
        exit 1
    fi
    out=/dev/null dir=.
    for a in "$@"; do
        case "$a" in
        --output=*) out=${a#--output=} ;;
        --chdir=*) dir=${a#--chdir=} ;;
        esac
    done
    script=${!#}
    id=$(($(cat "$D/next-id" 2>/dev/null || echo 0) + 1))
    echo $id >"$D/next-id"
    echo RUNNING >"$D/job-$id.state"
    (
        cd "$dir" || exit 1
        SLURM_JOB_ID=$id sh "$script" >>"$out" 2>&1 </dev/null &
        pid=$!
        echo $pid >"$D/job-$id.pid"
        wait $pid
        code=$?
        # a state set meanwhile (scancel, a lost node) stays
        if [ "$(cat "$D/job-$id.state")" = RUNNING ]; then
            echo $code >"$D/job-$id.exit"
            if [ $code -eq 0 ]; then echo COMPLETED; else echo FAILED; fi >"$D/job-$id.state"
        fi
    ) </dev/null >/dev/null 2>&1 &
    echo "$id"
    ;;
scontrol)
    # scontrol show job -o ID
    id=${!#}
    st=$(cat "$D/job-$id.state" 2>/dev/null)
    if [ -z "$st" ] || { [ -f "$D/forget" ] && [ "$st" != RUNNING ]; }; then
        echo "slurm_load_jobs error: Invalid job id specified" >&2
        exit 1
    fi
    echo "JobId=$id JobName=fake JobState=$st Reason=None Restarts=0" \
        "ExitCode=$(cat "$D/job-$id.exit" 2>/dev/null || echo 0):0 NodeList=fakenode"
    ;;
sacct)
    completion=0 id=""
    while [ $# -gt 0 ]; do
        case "$1" in
        -c) completion=1 ;;
        -j) id=$2; shift ;;
        esac
        shift
    done
    if [ $completion -eq 0 ]; then
        echo "Slurm accounting storage is disabled" >&2
        exit 0
    fi
    st=$(cat "$D/job-$id.state" 2>/dev/null)
    if [ -n "$st" ] && [ "$st" != RUNNING ]; then
        echo "$id|$st|$(cat "$D/job-$id.exit" 2>/dev/null || echo 0):0"
    fi
    ;;
scancel)
    id=${!#}
    pid=$(cat "$D/job-$id.pid" 2>/dev/null)
    if [ "${1:-}" = -b ]; then
        # TERM to the batch script only; the job ends by its exit code
        kill -TERM "$pid" 2>/dev/null
    else
        echo CANCELLED >"$D/job-$id.state"
        kill -TERM "$pid" 2>/dev/null
    fi
    ;;
*)
    echo "fake_slurm: called as $name" >&2
    exit 2
    ;;
esac
