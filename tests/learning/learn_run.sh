#!/usr/bin/env bash
# A published-result learning check: train SPEC (optionally with another seed) to its budget,
# evaluate checkpoints/best.ckpt over fresh deterministic episodes (a seed the run's own
# evaluations never used) and require METRIC to reach THRESHOLD.
#   METRIC "return":  the mean return of 20 episodes (as the published returns are reported)
#   METRIC "success": the share of 200 episodes that end in success (HandReach): a rate near
#                     0.9 from 20 episodes has a standard error of about 0.07, from 200 of 0.02
# Prints one summary line starting with "RESULT" that learn_seeds.sh aggregates.
# usage: learn_run.sh ANGORA_TRAIN SPEC METRIC THRESHOLD [SEED] [RUN_DIR]
set -u
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
[ $# -ge 4 ] || fail "usage: learn_run.sh ANGORA_TRAIN SPEC METRIC THRESHOLD [SEED] [RUN_DIR]"
BIN=$1
SPEC=$2
METRIC=$3
THRESHOLD=$4
SEED=${5:-}
RUN=${6:-}
LAST=10 # training iterations averaged for the final training return
command -v jq >/dev/null || fail "jq is needed to read specs and metrics"
[ -x "$BIN" ] || fail "$BIN is not executable"
[ -r "$SPEC" ] || fail "cannot read $SPEC"
case $METRIC in return | success) ;; *) fail "METRIC must be return or success, got $METRIC" ;; esac

W=$(mktemp -d /tmp/angora-learn-XXXXXX)
trap 'rm -rf "$W"' EXIT
if [ -z "$RUN" ]; then
    RUN=$W/run
fi
[ -e "$RUN" ] && fail "$RUN exists already"
if [ -n "$SEED" ]; then
    jq --argjson s "$SEED" '.seed = $s' "$SPEC" >"$W/spec.json" || fail "bad seed $SEED"
    SPEC=$W/spec.json
fi
seed=$(jq '.seed // 0' "$SPEC")
task=$(jq -r '.task' "$SPEC")

start=$(date +%s.%N)
"$BIN" "$SPEC" --run-dir "$RUN" --quiet || fail "training failed (see $RUN/train.log)"
end=$(date +%s.%N)
M=$RUN/metrics.jsonl
[ -s "$M" ] || fail "no metrics in $M"

EPISODES=20
[ "$METRIC" = success ] && EPISODES=200
"$BIN" --evaluate "$RUN/checkpoints/best.ckpt" --episodes "$EPISODES" --deterministic --seed 987654 \
    >"$W/eval.json" || fail "evaluation of best.ckpt"
read -r ev_mean ev_std ev_iter ev_success < <(jq -r \
    '[.mean, .std, .iteration, (.metrics.success // .metrics.success_mean // "null")] | @tsv' \
    "$W/eval.json")
# the mean training return (stochastic policy) and success rate of the last LAST iterations
read -r steps last_ret last_succ best_eval < <(jq -s -r --argjson n "$LAST" '
    def avg: if length == 0 then "null" else (add / length) end;
    (.[-$n:]) as $t |
    [.[-1].env_steps,
     ([$t[].return_mean | select(. != null)] | avg),
     ([$t[].success_rate | select(. != null)] | avg),
     ([.[].eval_return | select(. != null)] | max // "null")] | @tsv' "$M")
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
if [ "$METRIC" = success ]; then
    value=$ev_success
else
    value=$ev_mean
fi
printf 'RESULT task=%s seed=%s steps=%s wall_s=%s best_iter=%s eval_episodes=%s eval_mean=%s eval_std=%s eval_success=%s train_last%d_return=%s train_last%d_success=%s best_run_eval=%s\n' \
    "$task" "$seed" "$steps" "$wall" "$ev_iter" "$EPISODES" "$ev_mean" "$ev_std" "$ev_success" \
    "$LAST" "$last_ret" "$LAST" "$last_succ" "$best_eval"
[ "$value" != null ] || fail "the evaluation reports no $METRIC"
awk -v f="$value" -v t="$THRESHOLD" 'BEGIN { exit !(f >= t) }' ||
    fail "$task seed $seed: best.ckpt $METRIC $value is below $THRESHOLD"
echo "PASS: $task seed $seed: best.ckpt $METRIC $value >= $THRESHOLD"
