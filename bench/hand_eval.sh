#!/usr/bin/env bash
# bench/hand_eval.sh: the block ladder's final evaluation of one run. The final policy
# (checkpoints/last.ckpt, never a selected checkpoint) plays EPISODES fresh episodes of an
# evaluation seed that neither training nor the periodic evaluations use, stochastically and
# deterministically, on three sets of goals:
#   first    the curriculum's first angle (what a fresh environment of a curriculum run starts at)
#   reached  the curriculum started at the angle the run's training reached (its last iteration's
#            curriculum_max_angle_mean)
#   own      the task's own goals (curriculum off): the measure of the learning targets
# Runs without a curriculum are evaluated on their own goals only. Each evaluation is written to
# OUT/eval-NAME-{first,reached,own}-{sto,det}.json, and a summary line per evaluation (consecutive
# goals with its 95 % interval) is printed.
#
#   bench/hand_eval.sh --run RUN_DIR --out DIR --name NAME [--episodes N] [--seed S] [--build DIR]
#
# Defaults: 100 episodes, seed 424242 (the ladder's evaluations), build/rel.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

RUN=""
OUT=""
NAME=""
EPISODES=100
SEED=424242
BUILD="$ROOT/build/rel"
while [ $# -gt 0 ]; do
    case "$1" in
    --run | --out | --name | --episodes | --seed | --build)
        [ $# -ge 2 ] || bench_die 2 "$1 needs a value"
        case "$1" in
        --run) RUN=$2 ;;
        --out) OUT=$2 ;;
        --name) NAME=$2 ;;
        --episodes) EPISODES=$2 ;;
        --seed) SEED=$2 ;;
        --build) BUILD=$2 ;;
        esac
        shift
        ;;
    -h | --help)
        sed -n '14,16p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) bench_die 2 "unknown option '$1'" ;;
    esac
    shift
done
[ -n "$RUN" ] && [ -n "$OUT" ] && [ -n "$NAME" ] || bench_die 2 "--run, --out and --name are needed"
case "$NAME" in *[!A-Za-z0-9_.-]* | "") bench_die 2 "--name must be letters, digits, '_', '.' or '-', got '$NAME'" ;; esac
bench_is_count "$EPISODES" 1 10000 || bench_die 2 "--episodes must be a whole number from 1 to 10000, got '$EPISODES'"
bench_is_count "$SEED" 0 999999999 || bench_die 2 "--seed must be a whole number below 10^9, got '$SEED'"
CKPT="$RUN/checkpoints/last.ckpt"
[ -f "$CKPT" ] || bench_die 2 "$CKPT: no final policy (is $RUN a run directory?)"
[ -s "$RUN/metrics.jsonl" ] || bench_die 2 "$RUN/metrics.jsonl: missing or empty"
TRAIN="$BUILD/server/train/angora-train"
[ -x "$TRAIN" ] || bench_die 2 "$TRAIN: not built"
command -v jq >/dev/null || bench_die 2 "jq is needed (apt-get install jq)"
export OPENBLAS_NUM_THREADS=1 ANGORA_DATA_DIR="${ANGORA_DATA_DIR:-$BUILD/share/angora}"
mkdir -p "$OUT"

# the angle the training reached: the last iteration that reports one. A run at the task's own
# range logs pi as a float32 (3.1415927), above the double pi the task options allow: clamp it.
REACHED=$(jq -r 'select(.curriculum_max_angle_mean != null) | .curriculum_max_angle_mean
                 | if . > 3.141592653589793 then 3.141592653589793 else . end' \
    "$RUN/metrics.jsonl" | tail -n 1)
SETS=(own)
[ -z "$REACHED" ] || SETS=(first reached own)

for set in "${SETS[@]}"; do
    case "$set" in
    first) opts='{}' ;;
    reached) opts=$(jq -cn --argjson a "$REACHED" '{curriculum: {initial_angle: $a}}') ;;
    own) opts='{"curriculum": null}' ;;
    esac
    for how in sto det; do
        det=()
        [ "$how" = det ] && det=(--deterministic)
        file="$OUT/eval-$NAME-$set-$how.json"
        "$TRAIN" --evaluate "$CKPT" --episodes "$EPISODES" --seed "$SEED" "${det[@]}" \
            --task-options "$opts" >"$file.part" || bench_die 1 "evaluation $set/$how failed"
        mv "$file.part" "$file"
        jq -r --arg set "$set" --arg how "$how" --arg opts "$opts" '
            (.metrics.consecutive_goals // null) as $g | (.metrics_ci95.consecutive_goals // null) as $ci
            | "\($set) \($how): consecutive goals \(if $g == null then "-" else ($g * 100 | round / 100 | tostring) end)"
              + (if $ci == null then "" else " [\($ci[0] * 100 | round / 100), \($ci[1] * 100 | round / 100)]" end)
              + ", return \(.mean * 10 | round / 10), \(.episodes) episodes, seed \(.seed), task options \($opts)"' "$file"
    done
done
