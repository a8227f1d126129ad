#!/usr/bin/env bash
# A published-result learning check: train SPEC (optionally with another seed) to its budget,
# evaluate the final policy, checkpoints/last.ckpt, over fresh episodes (the final-evaluation
# seed 2^62 + seed of bench/lib/common.sh, which no training or periodic evaluation uses),
# deterministically and stochastically, and require METRIC of the deterministic evaluation to
# reach THRESHOLD. best.ckpt (selected by the periodic evaluations) is not what is checked.
#   METRIC "return":  the mean return of 20 episodes
#   METRIC "success": the share of 200 episodes that end in success (HandReach): a rate near
#                     0.9 from 20 episodes has a standard error of about 0.07, from 200 of 0.02
# The final training return (the episodes of the last 5 % of iterations) is printed beside it.
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
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../bench/lib/common.sh
. "$HERE/../../bench/lib/common.sh"
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
eseed=$(bench_final_eval_seed "$seed") || fail "seed $seed: a whole number below 10^9 is needed"
task=$(jq -r '.task' "$SPEC")

start=$(date +%s.%N)
"$BIN" "$SPEC" --run-dir "$RUN" --quiet || fail "training failed (see $RUN/train.log)"
end=$(date +%s.%N)
M=$RUN/metrics.jsonl
[ -s "$M" ] || fail "no metrics in $M"

EPISODES=20
[ "$METRIC" = success ] && EPISODES=200
for how in deterministic stochastic; do
    det=()
    [ "$how" = deterministic ] && det=(--deterministic)
    "$BIN" --evaluate "$RUN/checkpoints/last.ckpt" --episodes "$EPISODES" "${det[@]}" --seed "$eseed" \
        >"$W/eval-$how.json" || fail "$how evaluation of last.ckpt"
    jq -e --arg s "$eseed" '.seed == $s' "$W/eval-$how.json" >/dev/null ||
        fail "the evaluation did not run on the fresh seed $eseed: $(jq -c .seed "$W/eval-$how.json")"
done
read -r ev_mean ev_std ev_iter ev_success < <(jq -r \
    '[.mean, .std, .iteration, (.metrics.success // .metrics.success_mean // "null")] | @tsv' \
    "$W/eval-deterministic.json")
st_mean=$(jq -r '.mean' "$W/eval-stochastic.json")
# the final training return (stochastic policy) and success rate: the episodes of the last 5 %
# of iterations (at least one), weighted by episodes
read -r steps last_ret last_succ best_eval < <(jq -s -r '
    ((length * 0.05) | ceil | if . < 1 then 1 else . end) as $k | (.[-$k:]) as $t
    | [$t[] | select(.return_mean != null and (.episodes // 0) > 0)] as $e
    | [.[-1].env_steps,
       (if ($e | length) > 0 then ([$e[] | .return_mean * .episodes] | add) / ([$e[] | .episodes] | add) else "null" end),
       ([$t[].success_rate | select(. != null)] | if length > 0 then add / length else "null" end),
       ([.[].eval_return | select(. != null)] | max // "null")] | @tsv' "$M")
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
if [ "$METRIC" = success ]; then
    value=$ev_success
else
    value=$ev_mean
fi
printf 'RESULT task=%s seed=%s steps=%s wall_s=%s last_iter=%s eval_seed=%s eval_episodes=%s eval_mean=%s eval_std=%s eval_success=%s eval_stochastic_mean=%s train_final_return=%s train_final_success=%s best_run_eval=%s\n' \
    "$task" "$seed" "$steps" "$wall" "$ev_iter" "$eseed" "$EPISODES" "$ev_mean" "$ev_std" "$ev_success" \
    "$st_mean" "$last_ret" "$last_succ" "$best_eval"
[ "$value" != null ] || fail "the evaluation reports no $METRIC"
awk -v f="$value" -v t="$THRESHOLD" 'BEGIN { exit !(f >= t) }' ||
    fail "$task seed $seed: last.ckpt $METRIC $value is below $THRESHOLD"
echo "PASS: $task seed $seed: last.ckpt $METRIC $value >= $THRESHOLD"
