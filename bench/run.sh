#!/usr/bin/env bash
# bench/run.sh: the learning benchmark, the throughput check against raw physics and the MPI
# 1 vs 2 rank scaling, run directly with angora-train; results go to bench/results/<stamp>/ and
# bench/report.sh turns them into docs/benchmarks.md and docs/benchmarks/plots/*.png.
#
#   bench/run.sh [--quick|--full] [--tasks A,B] [--seeds N] [--jobs N] [--build DIR]
#                [--out DIR [--resume]] [--episodes N] [--no-report] [--no-throughput]
#                [--dry-run]
#
# Learning runs have 1 rank each and run --jobs at a time (default 1; at most one per core, so
# that every run has a core to itself and its throughput is comparable); the scaling runs and
# the raw physics run alone afterwards. Specs are bench/specs/*.json; the seed (1..N; tuning runs
# use seeds 100 and up, named in the spec's notes) and in --quick the budget are replaced per
# run, and the exact spec of every run is kept under <out>/specs/. The build directory is
# configured (Release) if it has no CMakeCache.txt, and the programs are always rebuilt from the
# tree, so that the figures belong to the commit the report names.
# After each training run the final policy, checkpoints/last.ckpt, is evaluated stochastically
# and deterministically, and the selected checkpoint (best.ckpt, the best periodic evaluation)
# deterministically, each over --episodes episodes (default 20; at least 100 for the hand tasks)
# on the run's final-evaluation seed 2^62 + seed: no training or periodic-evaluation seed of any
# run can equal it (bench/lib/common.sh). The run record keeps the seeds as exact strings, and
# the OpenBLAS kernels the trainer ran with (its status.json's blas_core, and OPENBLAS_CORETYPE
# when it is set: on some CPUs OpenBLAS picks generic kernels at half the speed, and each
# kernel rounds its sums its own way).
# --resume continues the results directory --out: finished runs are kept, interrupted ones
# continue from their last checkpoint (angora-train --resume), the rest start. Every run record
# names the commit and the training code it ran with, and its wall time over every session;
# machine.json's duration_s adds up every session. SIGTERM/SIGINT stop the trainers with a
# checkpoint, so a long --full can be spread over several sessions.
#
# --quick (default): the six classic tasks at their full budgets (100k-400k steps), 2 seeds;
#   InvertedPendulum (100k), Hopper (beta and gaussian) and HalfCheetah (200k), 1 seed;
#   HandReach for 24,576 steps; raw physics at 1 s per task; CartPole (100k) and
#   Hopper (100k) on 1 and 2 ranks; bench/throughput.sh --quick. About 12 minutes on 2 cores
#   (limit: 20).
# --full: HandReach and HandFreeReach (their specs' budgets), 1 seed each, first; classic at
#   their budgets x 5 seeds; the nine locomotion tasks at 1M steps, beta and gaussian, 5 seeds
#   each (90 runs); raw physics at 3 s per task; CartPole and Hopper (1M) on 1 and 2 ranks;
#   bench/throughput.sh (engine, PPO, training vs physics, angorad, stream, analysis; about
#   12 min). HandBlock is not in it: its hours-long runs are the block ladder's
#   (docs/benchmarks/hand/ladder.md), each judged at its own core-hour budget. Expected duration
#   on this 2-core machine: about 2.5-3 hours with --jobs 2, about 5 hours with --jobs 1
#   (HandReach + HandFreeReach about 75 min of one core, locomotion about 3.5 core-hours, the
#   rest under 30 min; the per-run times of the 2026-11-28 full run scaled to 5 seeds).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

MODE=quick
TASKS=""
SEEDS=""
BUILD="$ROOT/build-release"
OUT=""
JOBS=1
RESUME=0
EPISODES=20
REPORT=1
THROUGHPUT=1
DRY_RUN=0
CMDLINE="bench/run.sh $*"

usage() {
    sed -n '5,8p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case "$1" in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --tasks | --seeds | --jobs | --build | --out | --episodes)
        [ $# -ge 2 ] || bench_die 2 "$1 needs a value"
        case "$1" in
        --tasks) TASKS=$2 ;;
        --seeds) SEEDS=$2 ;;
        --jobs) JOBS=$2 ;;
        --build) BUILD=$2 ;;
        --out) OUT=$2 ;;
        --episodes) EPISODES=$2 ;;
        esac
        shift
        ;;
    --resume) RESUME=1 ;;
    --no-report) REPORT=0 ;;
    --no-throughput) THROUGHPUT=0 ;;
    --dry-run) DRY_RUN=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        usage >&2
        bench_die 2 "unknown option '$1'"
        ;;
    esac
    shift
done

if [ -n "$SEEDS" ]; then
    bench_is_count "$SEEDS" 1 100 || bench_die 2 "--seeds must be a whole number from 1 to 100, got '$SEEDS'"
fi
bench_is_count "$JOBS" 1 "$(nproc)" || bench_die 2 "--jobs must be a whole number from 1 to $(nproc) (one run per core), got '$JOBS'"
if [ "$RESUME" = 1 ]; then
    [ -n "$OUT" ] || bench_die 2 "--resume needs --out DIR, the results directory to continue"
    [ -f "$OUT/machine.json" ] || bench_die 2 "--resume: $OUT/machine.json missing: not a bench/run.sh results directory"
    prev_mode=$(jq -r '.mode // empty' "$OUT/machine.json" 2>/dev/null) ||
        bench_die 2 "--resume: $OUT/machine.json is not valid JSON"
    [ "$prev_mode" = "$MODE" ] || bench_die 2 "--resume: $OUT is a '$prev_mode' benchmark, this is '$MODE'"
elif [ -n "$OUT" ] && [ -e "$OUT/machine.json" ]; then
    bench_die 2 "$OUT already holds a benchmark; add --resume to continue it, or choose another --out"
fi
bench_is_count "$EPISODES" 1 10000 || bench_die 2 "--episodes must be a whole number from 1 to 10000, got '$EPISODES'"
if [ -n "$TASKS" ]; then
    case "$TASKS" in
    *[!A-Za-z0-9_,.-]* | ,* | *, | *,,*) bench_die 2 "--tasks must be a comma-separated list of task names, got '$TASKS'" ;;
    esac
fi
for tool in jq awk; do
    command -v "$tool" >/dev/null || bench_die 2 "$tool is needed (apt-get install $tool)"
done

# the plan: one line per experiment group: group spec seeds budget(0 = spec's) ranks kind
plan() {
    local s_classic s_loco s_hand
    if [ "$MODE" = quick ]; then
        s_classic=${SEEDS:-2}
        s_loco=${SEEDS:-1}
        s_hand=1
        for t in CartPole Acrobot Pendulum MountainCarContinuous CartPoleNoVel PendulumNoVel; do
            echo "$t $t.json $s_classic 0 1 learn"
        done
        echo "InvertedPendulum-beta InvertedPendulum-beta.json $s_loco 102400 1 learn"
        echo "Hopper-beta Hopper-beta.json $s_loco 200704 1 learn"
        echo "Hopper-gaussian Hopper-gaussian.json $s_loco 200704 1 learn"
        echo "HalfCheetah-beta HalfCheetah-beta.json $s_loco 200704 1 learn"
        echo "HandReach HandReach.json $s_hand 24576 1 learn"
        echo "CartPole-1rank CartPole.json 1 0 1 scaling"
        echo "CartPole-2ranks CartPole.json 1 0 2 scaling"
        echo "Hopper-1rank Hopper-beta.json 1 102400 1 scaling"
        echo "Hopper-2ranks Hopper-beta.json 1 102400 2 scaling"
    else
        s_classic=${SEEDS:-5}
        s_loco=${SEEDS:-5}
        s_hand=1
        # longest first, so that with --jobs 2 the hand runs overlap the rest
        for t in HandReach HandFreeReach; do
            echo "$t $t.json $s_hand 0 1 learn"
        done
        for t in CartPole Acrobot Pendulum MountainCarContinuous CartPoleNoVel PendulumNoVel; do
            echo "$t $t.json $s_classic 0 1 learn"
        done
        for t in InvertedPendulum InvertedDoublePendulum Reacher Swimmer Hopper HalfCheetah \
            Walker2d Ant Humanoid; do
            echo "$t-beta $t-beta.json $s_loco 0 1 learn"
            echo "$t-gaussian $t-gaussian.json $s_loco 0 1 learn"
        done
        echo "CartPole-1rank CartPole.json 1 0 1 scaling"
        echo "CartPole-2ranks CartPole.json 1 0 2 scaling"
        echo "Hopper-1rank Hopper-beta.json 1 0 1 scaling"
        echo "Hopper-2ranks Hopper-beta.json 1 0 2 scaling"
    fi
}

# keep the plan lines whose task is in --tasks (all when it is empty)
plan_filtered() {
    local group spec seeds budget ranks kind task
    while read -r group spec seeds budget ranks kind; do
        [ -f "$HERE/specs/$spec" ] || bench_die 2 "plan names bench/specs/$spec, which does not exist"
        task=$(jq -er '.task' "$HERE/specs/$spec") || bench_die 2 "bench/specs/$spec: no task"
        if [ -n "$TASKS" ] && ! bench_list_has "$TASKS" "$task"; then
            continue
        fi
        echo "$group $spec $seeds $budget $ranks $kind $task"
    done < <(plan)
}

PLAN=$(plan_filtered)
if [ -n "$TASKS" ]; then
    IFS=, read -r -a wanted <<<"$TASKS"
    for t in "${wanted[@]}"; do
        grep -q " $t\$" <<<"$PLAN" || bench_die 2 "--tasks: '$t' is not a task of the $MODE benchmark (see bench/specs/)"
    done
fi
[ -n "$PLAN" ] || bench_die 2 "nothing to run"

if [ "$DRY_RUN" = 1 ]; then
    echo "# mode $MODE: group spec seeds budget ranks kind task"
    echo "$PLAN"
    exit 0
fi

# build (Release): configure once, then always bring the two programs up to date with the tree,
# so that the figures belong to the commit the report names
TRAIN="$BUILD/server/train/angora-train"
PHYS="$BUILD/bench/bench_physics"
BLOG="${TMPDIR:-/tmp}/angora-bench-build.log"
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    echo "bench: configuring a Release build in $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$BLOG" 2>&1 ||
        bench_die 1 "cmake configure failed (see $BLOG)"
fi
echo "bench: building angora-train and the benchmark programs in $BUILD"
# every program of the throughput part too (bench/throughput.sh runs with --no-build)
cmake --build "$BUILD" --target angora-train bench_physics bench_nn bench_grad angorad \
    bench_daemon unit_stream_stream bench_analysis bench_render bench_record -j"$(nproc)" >>"$BLOG" 2>&1 || bench_die 1 "build failed (see $BLOG)"
export OPENBLAS_NUM_THREADS=1
export ANGORA_DATA_DIR="${ANGORA_DATA_DIR:-$BUILD/share/angora}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$ROOT/bench/results/$STAMP}
mkdir -p "$OUT/runs" "$OUT/specs" "$OUT/throughput"
# the plan, so that a report of an unfinished benchmark can say what is missing
echo "$PLAN" >"$OUT/plan.txt"
COMMIT=$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
CODE_ID=$(bench_code_id "$ROOT")
# per-run wall-clock cap: a run that hangs must not hold the whole benchmark
if [ "$MODE" = quick ]; then RUN_TIMEOUT=600; else RUN_TIMEOUT=14400; fi

if [ "$RESUME" = 1 ]; then
    # the first session's machine record stays; each session is listed with its commit
    jq --arg cmd "$CMDLINE" --arg date "$(date -u '+%Y-%m-%d %H:%M UTC')" --arg commit "$COMMIT" \
        --arg code "$CODE_ID" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --argjson jobs "$JOBS" \
        '.sessions = (.sessions // []) + [{command: $cmd, date: $date, commit: $commit,
          code: $code, load_start: $load, jobs: $jobs}]' \
        "$OUT/machine.json" >"$OUT/machine.json.tmp" && mv "$OUT/machine.json.tmp" "$OUT/machine.json"
else
    bench_machine_json "$ROOT" "$MODE" "$CMDLINE" "$STAMP" |
        jq --arg code "$CODE_ID" --argjson jobs "$JOBS" \
            '.code = $code | .jobs = $jobs
             | .sessions = [{command, date, commit, code: $code, load_start, jobs: $jobs}]' \
            >"$OUT/machine.json"
    lscpu >"$OUT/lscpu.txt" 2>/dev/null || true
fi
T_START=$(date +%s)
echo "bench: $MODE benchmark -> $OUT ($JOBS at a time; load average: $(cut -d' ' -f1-3 /proc/loadavg))"

# a session's duration goes into its entry of machine.json's sessions; duration_s is the sum
# over every session (a benchmark continued with --resume took all of them)
session_end() {
    jq --argjson s "$(($(date +%s) - T_START))" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
        '.sessions[-1].duration_s = $s | .duration_s = ([.sessions[].duration_s // 0] | add)
         | .load_end = $load' "$OUT/machine.json" >"$OUT/machine.json.tmp" &&
        mv "$OUT/machine.json.tmp" "$OUT/machine.json"
}

# stopping the benchmark stops its trainers the way they expect: SIGTERM, checkpoint, exit 3
stop_trainers() {
    trap - TERM INT
    echo "bench: stopping; interrupted runs keep a checkpoint (continue with --out $OUT --resume)" >&2
    pkill -TERM -f -- "--run-dir $OUT/runs/" 2>/dev/null || true
    wait
    session_end || true
    exit 143
}
trap stop_trainers TERM INT

# one training run, its deterministic evaluation and its record
# true when the run's record says it finished (a --resume keeps it)
run_finished() { # group seed
    local rec="$OUT/runs/$1/seed$2.run.json"
    [ -f "$rec" ] && jq -e '.exit_code == 0' "$rec" >/dev/null 2>&1
}

run_one() { # group spec seed budget ranks kind order
    local group=$1 spec=$2 seed=$3 budget=$4 ranks=$5 kind=$6 order=$7
    local dir="$OUT/runs/$group/seed$seed" sp="$OUT/specs/$group-seed$seed.json"
    local log="$OUT/runs/$group/seed$seed.log"
    local t0 t1 rc=0 erc=0 load0 started cont=() eseed episodes wall wall_before=0 xblas=()
    # a kernel set by hand reaches every rank
    [ -z "${OPENBLAS_CORETYPE:-}" ] || xblas=(-x OPENBLAS_CORETYPE)
    mkdir -p "$OUT/runs/$group"
    if [ "$RESUME" = 1 ] && [ -f "$sp" ] && [ -f "$dir/checkpoints/last.ckpt" ]; then
        cont=(--resume) # interrupted earlier: same spec, from its last checkpoint
        wall_before=$(jq '.process_wall_s // 0' "$OUT/runs/$group/seed$seed.run.json" 2>/dev/null || echo 0)
    else
        rm -rf "$dir"
        jq --argjson seed "$seed" --argjson budget "$budget" --argjson ranks "$ranks" \
            '.seed = $seed | .ranks = $ranks | if $budget > 0 then .budget.env_steps = $budget else . end' \
            "$HERE/specs/$spec" >"$sp"
    fi
    rm -f "$OUT/runs/$group/seed$seed.run.json"
    load0=$(cut -d' ' -f1 /proc/loadavg)
    started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    t0=$(date +%s.%N)
    if [ "$ranks" = 1 ]; then
        timeout "$RUN_TIMEOUT" nice -n 5 "$TRAIN" "$sp" --run-dir "$dir" --quiet "${cont[@]}" \
            >>"$log" 2>&1 || rc=$?
    else
        timeout "$RUN_TIMEOUT" nice -n 5 mpirun --allow-run-as-root --oversubscribe \
            -np "$ranks" --bind-to none -x OPENBLAS_NUM_THREADS -x ANGORA_DATA_DIR "${xblas[@]}" \
            "$TRAIN" "$sp" --run-dir "$dir" --quiet "${cont[@]}" >>"$log" 2>&1 || rc=$?
    fi
    t1=$(date +%s.%N)
    # the final policy (last.ckpt), stochastic and deterministic, and the selected checkpoint
    # (best.ckpt, deterministic), all on the run's final-evaluation seed: fresh episodes that no
    # training or periodic evaluation of any run used (bench/lib/common.sh)
    eseed=$(bench_final_eval_seed "$seed")
    episodes=$EPISODES
    case "$group" in Hand*) [ "$episodes" -ge 100 ] || episodes=100 ;; esac
    if [ "$rc" = 0 ] && [ -f "$dir/checkpoints/last.ckpt" ]; then
        for ev in last:stochastic last:deterministic best:deterministic; do
            local ck=${ev%%:*} how=${ev#*:} det=()
            [ "$how" = deterministic ] && det=(--deterministic)
            [ -f "$dir/checkpoints/$ck.ckpt" ] || continue
            nice -n 5 "$TRAIN" --evaluate "$dir/checkpoints/$ck.ckpt" --episodes "$episodes" \
                --seed "$eseed" "${det[@]}" >"$dir/eval-$ck-$how.json" 2>>"$log" || erc=$?
        done
    else
        erc=-1
    fi
    # wall time over every session of this run: an interrupted run's record keeps its share
    wall=$(awk -v a="$t0" -v b="$t1" -v p="$wall_before" 'BEGIN{printf "%.3f", p + b - a}')
    jq -n --arg group "$group" --arg spec "$spec" --arg task "$(jq -r .task "$sp")" \
        --argjson seed "$seed" --argjson ranks "$ranks" --arg kind "$kind" \
        --argjson order "$order" --argjson rc "$rc" --argjson erc "$erc" --argjson wall "$wall" \
        --argjson load "$load0" --argjson loadend "$(cut -d' ' -f1 /proc/loadavg)" \
        --arg commit "$COMMIT" --arg code "$CODE_ID" --arg started "$started" \
        --argjson jobs "$JOBS" --argjson resumed "$([ ${#cont[@]} -gt 0 ] && echo true || echo false)" \
        --arg eseed "$eseed" --arg pseed "$(bench_periodic_eval_seed "$seed")" \
        --argjson episodes "$episodes" \
        --arg blas "$(jq -r '.blas_core // empty' "$dir/status.json" 2>/dev/null || true)" \
        --arg coretype "${OPENBLAS_CORETYPE:-}" \
        '{group: $group, spec: $spec, task: $task, seed: $seed, ranks: $ranks, kind: $kind,
          order: $order, exit_code: $rc, eval_exit_code: $erc, process_wall_s: $wall,
          load_start: $load, load_end: $loadend, commit: $commit, code: $code,
          started: $started, jobs: $jobs, resumed: $resumed,
          periodic_eval_seed: $pseed, final_eval_seed: $eseed, final_eval_episodes: $episodes,
          blas_core: (if $blas == "" then null else $blas end),
          openblas_coretype: (if $coretype == "" then null else $coretype end)}' \
        >"$OUT/runs/$group/seed$seed.run.json"
    if [ "$rc" = 0 ]; then
        printf 'bench: %-24s seed %d ranks %d: done in %s s\n' "$group" "$seed" "$ranks" \
            "$(jq -r '.process_wall_s' "$OUT/runs/$group/seed$seed.run.json")"
    else
        printf 'bench: %-24s seed %d ranks %d: FAILED (exit %s, see %s)\n' "$group" "$seed" \
            "$ranks" "$rc" "$log"
    fi
}

ORDER=0
# fd 3 so that nothing a run starts (mpirun forwards stdin) can eat the plan; 1-rank runs go
# --jobs at a time, a multi-rank run waits for the machine to be free and runs alone
while read -r -u 3 group spec seeds budget ranks kind task; do
    for ((s = 1; s <= seeds; s++)); do
        ORDER=$((ORDER + 1))
        if [ "$RESUME" = 1 ] && run_finished "$group" "$s"; then
            printf 'bench: %-24s seed %d: finished in an earlier session, kept\n' "$group" "$s"
            continue
        fi
        if [ "$ranks" = 1 ] && [ "$JOBS" -gt 1 ]; then
            while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
                wait -n || true
            done
            run_one "$group" "$spec" "$s" "$budget" "$ranks" "$kind" "$ORDER" </dev/null &
        else
            wait
            # in the background all the same: bash runs the stop trap only between commands,
            # and `wait` is where it can
            run_one "$group" "$spec" "$s" "$budget" "$ranks" "$kind" "$ORDER" </dev/null &
            wait $!
        fi
    done
done 3<<<"$PLAN"
wait

# raw physics of the MuJoCo tasks of this plan, for the throughput comparison
PHYS_S=1
[ "$MODE" = full ] && PHYS_S=3
for task in $(awk '{print $7}' <<<"$PLAN" | sort -u); do
    case "$task" in
    CartPole* | Acrobot | Pendulum* | MountainCar*) continue ;;
    esac
    printf 'bench: raw physics %s ... ' "$task"
    if nice -n 5 "$PHYS" --seconds "$PHYS_S" --task "$task" >"$OUT/throughput/physics-$task.md" 2>&1; then
        echo "done"
    else
        echo "FAILED (see $OUT/throughput/physics-$task.md)"
    fi
done
# the throughput benchmarks, with the programs built above (the same tree as the learning runs)
if [ "$THROUGHPUT" = 1 ]; then
    echo "bench: throughput benchmarks (engine, PPO, training vs physics, gradient averaging, angorad, stream, analysis)"
    "$HERE/throughput.sh" "$OUT/throughput" --build "$BUILD" --no-build $([ "$MODE" = quick ] && echo --quick) ||
        echo "bench: a throughput step failed, see $OUT/throughput/throughput.json" >&2
fi
session_end
echo "bench: all runs done in $(($(date +%s) - T_START)) s (this session)"

if [ "$REPORT" = 1 ]; then
    "$HERE/report.sh" "$OUT"
fi
