#!/usr/bin/env bash
# bench/bench_train_physics.sh: how close end-to-end PPO training comes to the raw physics of each
# MuJoCo task. For every task it runs bench_physics (one environment, random actions) and
# angora-train with the `simple` model at 1 rank and at 2 ranks (mpirun --bind-to core), the
# same environments per rank, and prints a Markdown table of training / physics throughput.
#
# Throughputs are per CPU second (user + system time of the whole process tree, mpirun included,
# read from bash's `time`), so that other programs sharing the machine do not distort them.
# 2-rank scaling is 2 x (steps per CPU second at 2 ranks) / (steps per CPU second at 1 rank):
# the speed-up with one free core per rank, start-up (mpirun, MPI_Init) included. Next to it,
# the steady state of a long run: the median wall-clock iteration (metrics.jsonl `sps`, the
# first two iterations left out) at 1 and 2 ranks and their ratio; that one needs an idle
# machine.
#
#   bench/bench_train_physics.sh [--build DIR] [--tasks A,B,...] [--steps N] [--envs N]
#                                [--physics-seconds S] [--repeat N] [--model NAME]
#                                [--task-options JSON]
#
# --steps is the training budget of one run (environment steps over all ranks); --repeat runs
# each configuration N times and keeps the best (highest steps per CPU second). --model is the
# model preset (default simple; e.g. hand_lstm for the recurrent hand policy) and
# --task-options the options of every task, given to bench_physics as well.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
tasks=InvertedPendulum,Hopper,HalfCheetah,Walker2d,Ant,Humanoid,HandReach,HandBlock
steps=65536
envs=8
phys_s=3
repeat=1
model=simple
task_options='{}'
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    --tasks) tasks=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --envs) envs=$2; shift 2 ;;
    --physics-seconds) phys_s=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --task-options) task_options=$2; shift 2 ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench_train_physics: unknown option $1" >&2; exit 2 ;;
    esac
done
for v in "$steps" "$envs" "$repeat"; do
    case $v in '' | *[!0-9]*) echo "bench_train_physics: counts must be whole numbers" >&2; exit 2 ;; esac
done
train=$build/server/train/angora-train
physics=$build/bench/bench_physics
for b in "$train" "$physics"; do
    [ -x "$b" ] || { echo "bench_train_physics: $b is missing (build it first)" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "bench_train_physics: jq is required" >&2; exit 2; }
jq -e 'type == "object"' <<<"$task_options" >/dev/null 2>&1 ||
    { echo "bench_train_physics: --task-options must be a JSON object" >&2; exit 2; }
mpirun=$(command -v mpirun || true)
export OPENBLAS_NUM_THREADS=1
export ANGORA_DATA_DIR=${ANGORA_DATA_DIR:-$build/share/angora}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d /tmp/bench_train_physics.XXXXXX)
trap 'rm -rf "$work"' EXIT

# runs angora-train on TASK with R ranks; prints "cpu_sps median_iteration_sps"
train_once() { # task ranks
    local task=$1 r=$2 preset=locomotion dir t0 cpu stepsdone
    case $task in Hand*) preset=hand ;; esac
    dir=$work/$task-$r-$RANDOM
    mkdir -p "$dir"
    jq -n --arg task "$task" --arg preset "$preset" --argjson envs "$envs" \
        --argjson steps "$steps" --argjson ranks "$r" --arg model "$model" \
        --argjson options "$task_options" \
        '{name: ("train-physics-" + $task), task: $task, task_options: $options, preset: $preset,
          model: $model, ranks: $ranks, seed: 1, ppo: {envs_per_rank: $envs},
          budget: {env_steps: $steps}, eval: {every: 0}}' >"$dir/spec.json"
    local cmd=("$train" "$dir/spec.json" --run-dir "$dir/run" --quiet)
    if [ "$r" -gt 1 ]; then
        cmd=("$mpirun" --allow-run-as-root -np "$r" --bind-to core "${cmd[@]}")
    fi
    local TIMEFORMAT='%U %S'
    { time "${cmd[@]}" >"$dir/out.log" 2>&1; } 2>"$dir/time" ||
        { echo "bench_train_physics: training $task at $r ranks failed:" >&2; tail -5 "$dir/out.log" >&2; return 1; }
    cpu=$(awk '{print $1 + $2}' "$dir/time")
    stepsdone=$(tail -n 1 "$dir/run/metrics.jsonl" | jq '.env_steps')
    median=$(jq -s '(if length > 2 then .[2:] else . end) | map(.sps) | sort | .[length / 2 | floor]' \
        "$dir/run/metrics.jsonl")
    awk -v s="$stepsdone" -v c="$cpu" -v m="$median" 'BEGIN {printf "%.0f %.0f\n", s / c, m}'
}

train_best() { # task ranks
    local best=0 bestw=0 k out
    for ((k = 0; k < repeat; k++)); do
        out=$(train_once "$1" "$2") || return 1
        read -r c w <<<"$out"
        if [ "$c" -gt "$best" ]; then best=$c; fi
        if [ "$w" -gt "$bestw" ]; then bestw=$w; fi
    done
    echo "$best $bestw"
}

echo "| task | physics steps/CPU-s | train 1 rank steps/CPU-s | ratio | train 2 ranks steps/CPU-s per rank | 2-rank scaling | median iteration steps/s 1 rank | median iteration steps/s 2 ranks | 2-rank scaling, median iteration |"
echo "|---|---|---|---|---|---|---|---|---|"
IFS=, read -ra list <<<"$tasks"
for task in "${list[@]}"; do
    phys=$("$physics" --task "$task" --seconds "$phys_s" --options "$task_options" | awk -F'|' 'NR > 2 {gsub(/ /, "", $3); print $3}') ||
        { rc=$?; echo "bench_train_physics: bench_physics --task $task failed" >&2; exit "$rc"; }
    [ -n "$phys" ] || { echo "bench_train_physics: bench_physics knows no task $task" >&2; exit 2; }
    # a failed training fails the whole table (bash does not pass set -e into $(...))
    res=$(train_best "$task" 1) || exit 1
    read -r one onew <<<"$res"
    if [ -n "$mpirun" ]; then
        res=$(train_best "$task" 2) || exit 1
        read -r two twow <<<"$res"
        # steps per CPU second of the whole 2-rank job: per rank it is the same figure
        scale=$(awk -v a="$one" -v b="$two" 'BEGIN {printf "%.2f", 2 * b / a}')
        scalew=$(awk -v a="$onew" -v b="$twow" 'BEGIN {printf "%.2f", b / a}')
    else
        two=-; twow=-; scale=-; scalew=-
    fi
    ratio=$(awk -v t="$one" -v p="$phys" 'BEGIN {printf "%.0f %%", 100 * t / p}')
    echo "| $task | $phys | $one | $ratio | $two | $scale | $onew | $twow | $scalew |"
done
