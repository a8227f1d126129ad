#!/usr/bin/env bash
# What caching a frozen encoder's features saves in PPO's update: HandBlock from pixels with the
# `pathways` preset and a frozen pretrained encoder, trained by angora-train with the features
# computed once per step while collecting (the default) and with the encoder's pathway run again
# in every epoch (ANGORA_ENCODER_CACHE=off), in alternating rounds of the same run. Prints a
# Markdown table of the update's time per iteration (from the timing fields of metrics.jsonl:
# the median and the range over every iteration of every round) with its forward and backward
# parts, the collection's time, and the per-rank memory the trainer reports for the stored
# observations and the training workspace. The encoder is trained for one epoch on a small
# dataset: its quality does not change the cost. The account of a run is
# docs/benchmarks/pretrain.md.
# usage: bench/bench_frozen_encoder.sh [--build DIR] [--out DIR] [--size S] [--envs E]
#            [--horizon H] [--minibatch M] [--epochs K] [--iterations N] [--rounds R]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/rel
OUT=$(mktemp -d /tmp/angora-bench-frozen-XXXXXX)
SIZE=64
ENVS=8
HORIZON=64
MINIBATCH=128
EPOCHS=4
ITERATIONS=3
ROUNDS=2
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --envs) ENVS=$2; shift 2 ;;
    --horizon) HORIZON=$2; shift 2 ;;
    --minibatch) MINIBATCH=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --iterations) ITERATIONS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    *) echo "bench_frozen_encoder: unknown option $1" >&2; exit 2 ;;
    esac
done
command -v jq >/dev/null || { echo "bench_frozen_encoder: jq is needed" >&2; exit 2; }
BIN=$BUILD/server/train/angora-train
export OPENBLAS_NUM_THREADS=1 ANGORA_DATA_DIR=${ANGORA_DATA_DIR:-$BUILD/share/angora}
mkdir -p "$OUT"

# an encoder for images of this size
jq -n --argjson s "$SIZE" '{task: "HandBlock", samples: 64, image_size: $s, seed: 1}' \
    >"$OUT/data.json"
"$BIN" --pretrain-data "$OUT/data.json" --out "$OUT/data.h5" >/dev/null
jq -n --arg d "$OUT/data.h5" '{data: $d, epochs: 1, batch_size: 32}' >"$OUT/pretrain.json"
rm -rf "$OUT/pre"
"$BIN" --pretrain "$OUT/pretrain.json" --run-dir "$OUT/pre" --quiet >/dev/null

jq -n --argjson s "$SIZE" --arg c "$OUT/pre/checkpoints/last.ckpt" --argjson e "$ENVS" \
    --argjson h "$HORIZON" --argjson m "$MINIBATCH" --argjson k "$EPOCHS" \
    --argjson n "$((ITERATIONS * ENVS * HORIZON))" \
    '{task: "HandBlock", seed: 1, task_options: {vision: "pixels", image_size: $s},
      model: {preset: "pathways", encoder: {checkpoint: $c, freeze: true}},
      ppo: {envs_per_rank: $e, horizon: $h, minibatch: $m, epochs: $k, tbptt: 16},
      budget: {env_steps: $n}, eval: {every: 0}}' >"$OUT/spec.json"

# alternating rounds: the encoder run in every epoch (off), then the cached features (on)
for r in $(seq 1 "$ROUNDS"); do
    for mode in off on; do
        rm -rf "$OUT/run-$mode-$r"
        ANGORA_ENCODER_CACHE=$mode "$BIN" "$OUT/spec.json" --run-dir "$OUT/run-$mode-$r" \
            --quiet 2>"$OUT/run-$mode-$r.err" >/dev/null
    done
done

# median over the sorted values of a column (one number a line)
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
stat_of() { # mode field: "median (min-max)"
    local vals
    vals=$(cat "$OUT"/run-"$1"-*/metrics.jsonl | jq -r ".$2")
    printf '%.2f (%.2f-%.2f)' "$(median <<<"$vals")" "$(sort -g <<<"$vals" | head -n 1)" \
        "$(sort -g <<<"$vals" | tail -n 1)"
}
mem_of() { # mode: "rollout MB / workspace MB" from the trainer's line
    sed -nE 's/.*rollout observations ([0-9.]+) MB \(([0-9]+) floats a step.*training workspace ([0-9.]+) MB.*/\1 MB (\2 floats a step) \/ \3 MB/p' \
        "$OUT/run-$1-1.err" | head -n 1
}
echo "HandBlock, ${SIZE}x${SIZE} pixels, pathways preset with a frozen encoder, $ENVS envs x $HORIZON steps," \
    "minibatch $MINIBATCH, $EPOCHS epochs; $ROUNDS rounds x $ITERATIONS iterations each"
echo
echo "| encoder in the update | update s/iteration | forward s | backward s | collection s | rollout observations / training workspace (per rank) |"
echo "|---|---|---|---|---|---|"
for mode in off on; do
    name=$([ "$mode" = off ] && echo "run in every epoch (ANGORA_ENCODER_CACHE=off)" || echo "features cached (default)")
    echo "| $name | $(stat_of "$mode" update_s) | $(stat_of "$mode" forward_s) | $(stat_of "$mode" backward_s) | $(stat_of "$mode" collect_s) | $(mem_of "$mode") |"
done
off=$(cat "$OUT"/run-off-*/metrics.jsonl | jq -r .update_s | median)
on=$(cat "$OUT"/run-on-*/metrics.jsonl | jq -r .update_s | median)
echo
awk -v a="$off" -v b="$on" 'BEGIN { printf "median update: %.2f s -> %.2f s per iteration (%.1fx)\n", a, b, a / b }'
echo "results in $OUT"
