#!/usr/bin/env bash
# Training HandBlockRotateZ from pixels against training it from the block's pose, end to end, on
# one rank: the same task options (the hand ladder's: relative control, asymmetric critic, goal
# curriculum, cupped start pose) and the same PPO settings (the hand preset's: 32 environments x
# 256 steps, minibatch 2048, 2 epochs, tbptt 16). The pose run uses the hand preset's model
# (hand_lstm); the pixel run adds the palm camera (pixels + proprioception + touch + goal) and the
# `pathways` model (--models gives one or more of its layouts, e.g. "pathways
# pathways_downsampled") with a pretrained vision encoder, frozen (its features computed once per
# step while collecting). Each round runs the pose run, then the pixel run of each model, in one
# run; prints a Markdown table of env steps per second (whole iterations: collection, update and
# all) and each pixel run's share of its round's pose run, per image size, by wall clock and by
# CPU time (env steps per CPU second of every thread, which other work on a shared machine
# disturbs less). The encoder's quality does not change the cost: by default it is trained for
# one epoch on a small dataset (or give --encoder CKPT for one image size and one model).
# usage: bench/bench_pixels_vs_pose.sh [--build DIR] [--out DIR] [--sizes "32 64"]
#            [--models "PRESET ..."] [--encoder CKPT --sizes S] [--iterations N] [--rounds R]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/rel
OUT=$(mktemp -d /tmp/angora-bench-pixpose-XXXXXX)
SIZES="32 64"
ENCODER=""
MODELS=pathways
ITERATIONS=3
ROUNDS=2
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --encoder) ENCODER=$2; shift 2 ;;
    --models) MODELS=$2; shift 2 ;;
    --iterations) ITERATIONS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    *) echo "bench_pixels_vs_pose: unknown option $1" >&2; exit 2 ;;
    esac
done
command -v jq >/dev/null || { echo "bench_pixels_vs_pose: jq is needed" >&2; exit 2; }
case "$ITERATIONS$ROUNDS" in *[!0-9]* | "") echo "bench_pixels_vs_pose: --iterations and --rounds are counts" >&2; exit 2 ;; esac
if [ -n "$ENCODER" ] &&
    { [ "$(echo "$SIZES" | wc -w)" != 1 ] || [ "$(echo "$MODELS" | wc -w)" != 1 ]; }; then
    echo "bench_pixels_vs_pose: --encoder is for one image size and one model (--sizes S)" >&2
    exit 2
fi
for m in $MODELS; do
    case "$m" in *[!a-z0-9_]*)
        echo "bench_pixels_vs_pose: --models: $m is not a preset name" >&2
        exit 2 ;;
    esac
done
[ "$(echo "$MODELS" | wc -w)" -gt 0 ] ||
    { echo "bench_pixels_vs_pose: --models names no preset" >&2; exit 2; }
BIN=$BUILD/server/train/angora-train
[ -x "$BIN" ] || { echo "bench_pixels_vs_pose: no $BIN" >&2; exit 2; }
export OPENBLAS_NUM_THREADS=1 ANGORA_DATA_DIR=${ANGORA_DATA_DIR:-$BUILD/share/angora}
mkdir -p "$OUT"

STEPS=$((ITERATIONS * 32 * 256))
OPTS='{"control": "relative", "asymmetric": true, "curriculum": {}, "start_pose": "cupped"}'
PPO='{"envs_per_rank": 32, "horizon": 256, "minibatch": 2048, "epochs": 2, "tbptt": 16,
      "lr_schedule": "constant"}'

jq -n --argjson o "$OPTS" --argjson p "$PPO" --argjson n "$STEPS" \
    '{task: "HandBlockRotateZ", seed: 1, task_options: $o, model: {preset: "hand_lstm"},
      ppo: $p, budget: {env_steps: $n}, eval: {every: 0}}' >"$OUT/pose.json"

encoder_for() { # SIZE MODEL -> path of an encoder of that model for images of that size
    local s=$1 m=$2
    if [ -n "$ENCODER" ]; then
        echo "$ENCODER"
        return
    fi
    if [ ! -f "$OUT/data-$s.h5" ]; then
        jq -n --argjson s "$s" '{task: "HandBlock", samples: 64, image_size: $s, seed: 1}' \
            >"$OUT/data-$s.json"
        "$BIN" --pretrain-data "$OUT/data-$s.json" --out "$OUT/data-$s.h5" >/dev/null
    fi
    jq -n --arg d "$OUT/data-$s.h5" --arg m "$m" \
        '{data: $d, epochs: 1, batch_size: 32, model: {preset: $m, core: null}}' \
        >"$OUT/pre-$m-$s.json"
    rm -rf "$OUT/pre-$m-$s"
    "$BIN" --pretrain "$OUT/pre-$m-$s.json" --run-dir "$OUT/pre-$m-$s" --quiet >/dev/null
    echo "$OUT/pre-$m-$s/checkpoints/last.ckpt"
}

# steps per second of a run, "WALL CPU": its env steps over the wall time and over the CPU time
# of its iterations
rate() {
    jq -s -r 'map(select(.iteration > 0)) | .[-1]
              | "\(.env_steps / .wall_s) \(.env_steps / .cpu_s)"' "$1/metrics.jsonl"
}

train() { # NAME SPEC
    rm -rf "$OUT/$1"
    "$BIN" "$2" --run-dir "$OUT/$1" --quiet >"$OUT/$1.log" 2>&1 ||
        { echo "bench_pixels_vs_pose: $1 failed: $(tail -n 3 "$OUT/$1.log")" >&2; exit 1; }
    rate "$OUT/$1"
}

echo "| image size | round | model | pose steps/s | pixels steps/s | pixels / pose |" \
    "pose steps/CPU-s | pixels steps/CPU-s | pixels / pose (CPU) |"
echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|"
for s in $SIZES; do
    case "$s" in *[!0-9]* | "") echo "bench_pixels_vs_pose: bad size $s" >&2; exit 2 ;; esac
    for m in $MODELS; do
        enc=$(encoder_for "$s" "$m")
        jq -n --argjson o "$OPTS" --argjson p "$PPO" --argjson n "$STEPS" --argjson s "$s" \
            --arg c "$enc" --arg m "$m" \
            '{task: "HandBlockRotateZ", seed: 1,
              task_options: ($o + {vision: "pixels", image_size: $s}),
              model: {preset: $m, encoder: {checkpoint: $c, freeze: true}},
              ppo: $p, budget: {env_steps: $n}, eval: {every: 0}}' >"$OUT/pixels-$m-$s.json"
    done
    for r in $(seq 1 "$ROUNDS"); do
        pose=$(train "pose-$s-$r" "$OUT/pose.json")
        for m in $MODELS; do
            pix=$(train "pixels-$m-$s-$r" "$OUT/pixels-$m-$s.json")
            echo "$pose $pix" | awk -v s="$s" -v r="$r" -v m="$m" \
                '{ printf "| %dx%d | %d | `%s` | %.0f | %.0f | %.0f %% | %.0f | %.0f | %.0f %% |\n",
                          s, s, r, m, $1, $3, 100 * $3 / $1, $2, $4, 100 * $4 / $2 }'
        done
    done
done
