#!/usr/bin/env bash
# A learning check: train SPEC within its budget and require the best checkpoint (chosen by the
# run's periodic deterministic evaluations) to reach THRESHOLD as the mean return of 20 fresh
# deterministic episodes (another seed than the run's evaluations).
# usage: train_learn.sh ANGORA_TRAIN SPEC THRESHOLD [RANKS MPIEXEC]
# shellcheck source=tests/integration/train/common.sh
. "$(dirname "$0")/common.sh"
BIN=$1
SPEC=$2
THRESHOLD=$3
RANKS=${4:-1}
MPIEXEC=${5:-mpiexec}
W=$(mktemp -d /tmp/angora-train-learn-XXXXXX)
trap 'rm -rf "$W"' EXIT
start=$(date +%s.%N)
if [ "$RANKS" -gt 1 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    "$MPIEXEC" --allow-run-as-root --oversubscribe -np "$RANKS" "$BIN" "$SPEC" --run-dir "$W/run" \
        --quiet || fail "training with $RANKS ranks failed"
else
    "$BIN" "$SPEC" --run-dir "$W/run" --quiet || fail "training failed"
fi
end=$(date +%s.%N)
M="$W/run/metrics.jsonl"
final=$(metric_last "$M" eval_return)
steps=$(metric_last "$M" env_steps)
train_ret=$(metric_last "$M" return_mean)
best_train=$(grep -o '"return_mean":[-0-9.eE+]*' "$M" | cut -d: -f2 | sort -g | tail -n 1)
first=$(grep -o '"eval_return":[-0-9.eE+]*' "$M" | cut -d: -f2 | awk -v t="$THRESHOLD" \
    '$1 >= t { print NR; exit }')
printf '%s: final eval_return %s (threshold %s) after %s steps, last training return %s, best %s, %.1f s\n' \
    "$(basename "$SPEC")" "$final" "$THRESHOLD" "$steps" "$train_ret" "$best_train" \
    "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
[ -n "$first" ] && echo "first evaluation at or above the threshold: #$first"
"$BIN" --evaluate "$W/run/checkpoints/best.ckpt" --episodes 20 --deterministic --seed 987654 \
    >"$W/eval.json" || fail "evaluation of best.ckpt"
best=$(tr -d ' \n' <"$W/eval.json" | grep -o '"mean":[-0-9.eE+]*' | cut -d: -f2)
echo "best.ckpt (iteration $(tr -d ' \n' <"$W/eval.json" | grep -o '"iteration":[0-9]*' |
    cut -d: -f2)) over 20 fresh episodes: $best"
awk -v f="$best" -v t="$THRESHOLD" 'BEGIN { exit !(f >= t) }' ||
    fail "best checkpoint evaluates to $best, below $THRESHOLD"
