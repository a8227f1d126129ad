#!/usr/bin/env bash
# How far a vision pretraining of a few minutes gets on this machine: renders a dataset of
# HandBlock scenes (angora-train --pretrain-data), trains the default encoder on it for a fixed
# wall-clock budget (angora-train --pretrain, time_limit_s), and prints one JSON line with the
# dataset's size and rendering time, the epochs, the training time and the held-out position
# RMSE (mm) and median rotation error (degrees) of the last epoch, against predicting the mean
# position. --model gives the pretraining spec's model (a JSON description, as in
# docs/training.md), to compare encoder layouts at the same time budget; --rotation the form of
# the predicted rotation (quaternion or 6d); --epochs with --lr-schedule cosine a decay over a
# fixed number of epochs (the time budget still stops the run); --camera-fovy the palm camera's
# field of view of the dataset (degrees; the task option camera_fovy of the policy that will use
# the encoder); --rotation-weight the weight of the rotation term of the loss. The account of a run is
# docs/benchmarks/pretrain.md.
# usage: bench/bench_pretrain.sh [--build DIR] [--out DIR] [--samples N] [--size S]
#                                [--seconds T] [--seed K] [--model JSON] [--rotation FORM]
#                                [--epochs N] [--lr-schedule constant|cosine]
#                                [--camera-fovy DEG] [--rotation-weight W]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/rel
OUT=$(mktemp -d /tmp/angora-bench-pretrain-XXXXXX)
SAMPLES=6000
SIZE=64
SECONDS_BUDGET=300
SEED=1
MODEL=null
ROTATION=quaternion
EPOCHS=1000000
SCHEDULE=constant
FOVY=45
ROT_WEIGHT=1
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --samples) SAMPLES=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --seconds) SECONDS_BUDGET=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    --rotation) ROTATION=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --lr-schedule) SCHEDULE=$2; shift 2 ;;
    --camera-fovy) FOVY=$2; shift 2 ;;
    --rotation-weight) ROT_WEIGHT=$2; shift 2 ;;
    *) echo "bench_pretrain: unknown option $1" >&2; exit 2 ;;
    esac
done
command -v jq >/dev/null || { echo "bench_pretrain: jq is needed" >&2; exit 2; }
PY=${ANGORA_PYTHON:-/usr/bin/python3}
"$PY" -c 'import h5py' 2>/dev/null ||
    { echo "bench_pretrain: $PY cannot import h5py (apt-get install python3-h5py)" >&2; exit 2; }
BIN=$BUILD/server/train/angora-train
export OPENBLAS_NUM_THREADS=1 ANGORA_DATA_DIR=${ANGORA_DATA_DIR:-$BUILD/share/angora}
mkdir -p "$OUT"
echo "$MODEL" | jq -e 'type == "null" or type == "object"' >/dev/null ||
    { echo "bench_pretrain: --model must be a JSON object" >&2; exit 2; }

jq -n --argjson n "$SAMPLES" --argjson s "$SIZE" --argjson k "$SEED" --argjson f "$FOVY" \
    '{task: "HandBlock", samples: $n, image_size: $s, seed: $k, camera_fovy: $f}' >"$OUT/data.json"
"$BIN" --pretrain-data "$OUT/data.json" --out "$OUT/data.h5" >"$OUT/data.out"
jq -n --arg d "$OUT/data.h5" --argjson t "$SECONDS_BUDGET" --argjson m "$MODEL" \
    --arg r "$ROTATION" --argjson e "$EPOCHS" --arg sch "$SCHEDULE" --argjson w "$ROT_WEIGHT" \
    '{data: $d, epochs: $e, batch_size: 32, learning_rate: 0.001, time_limit_s: $t, rotation: $r,
      lr_schedule: $sch, rotation_weight: $w} + if $m == null then {} else {model: $m} end' >"$OUT/pretrain.json"
rm -rf "$OUT/run"
"$BIN" --pretrain "$OUT/pretrain.json" --run-dir "$OUT/run" --quiet >"$OUT/run.out"

# the baseline: the training split's mean position for every held-out image, read with
# python3-h5py (a dependency of the tests; Debian's interpreter, which has it)
BASE=$("$PY" - "$OUT/data.h5" "$(jq -r .holdout_images "$OUT/run/spec.json")" <<'EOF'
import sys, h5py, numpy
position = h5py.File(sys.argv[1], "r")["/variables/block_position"][:].astype(numpy.float64)
held_out = int(sys.argv[2])
train, test = position[:-held_out], position[-held_out:]
print("%.2f" % (1000 * numpy.sqrt(((test - train.mean(axis=0)) ** 2).sum(axis=1).mean())))
EOF
)
jq -c --slurpfile d "$OUT/data.out" --argjson base "$BASE" --arg out "$OUT" \
    '{samples: $d[0].samples, image_size: $d[0].image_size, render_s: $d[0].seconds,
      epochs, train_s: .seconds, holdout_position_rmse_mm, holdout_rotation_median_deg,
      mean_position_rmse_mm: $base, out: $out}' "$OUT/run.out"
