#!/usr/bin/env bash
# Vision pretraining end to end: angora-train --pretrain-data renders a tiny dataset,
# --pretrain-check judges a pretraining spec without a run, --pretrain trains an encoder on it for
# two epochs (metrics, checkpoints), --check accepts a pathways spec that loads it frozen and
# refuses, with the JSON path, a missing checkpoint, one that is no encoder's and an image size
# the encoder was not trained on; a PPO run with the frozen encoder trains an iteration, its
# features stored in place of the images (train.log); bad command lines and specs exit 2.
# A pretraining stopped by SIGTERM (exit 3) and resumed ends as a straight run does, row for row;
# --resume without a checkpoint, or with another spec, exits 2 and says why. --pretrain-evaluate
# scores the encoder on a dataset file, and refuses a PPO checkpoint.
# usage: train_pretrain.sh ANGORA_TRAIN
# shellcheck source=tests/integration/train/common.sh
. "$(dirname "$0")/common.sh"
BIN=$1
W=$(mktemp -d /tmp/angora-train-pretrain-XXXXXX)
trap 'rm -rf "$W"' EXIT
command -v jq >/dev/null || fail "jq is needed"
# rendering under ASan: the fast unwinder, no leak check (as train_record.sh)
export ASAN_OPTIONS=fast_unwind_on_malloc=1:detect_leaks=0

# the dataset
echo '{"samples": 40, "image_size": 16, "seed": 2}' >"$W/data.json"
expect_exit 0 "dataset" "$BIN" --pretrain-data "$W/data.json" --out "$W/d.h5"
[ "$(jq .samples "$W/out")" = 40 ] || fail "dataset summary: $(cat "$W/out")"
[ -f "$W/d.h5" ] && [ ! -e "$W/d.h5.part" ] || fail "no complete dataset file"
echo '{"samples": 0}' >"$W/bad.json"
expect_exit 2 "dataset spec with 0 samples" "$BIN" --pretrain-data "$W/bad.json" --out "$W/bad.h5"
grep -q samples "$W/err" || fail "the message does not name samples: $(cat "$W/err")"
[ ! -e "$W/bad.h5" ] || fail "a refused dataset left a file"
expect_exit 2 "--pretrain-data without --out" "$BIN" --pretrain-data "$W/data.json"
expect_exit 2 "--pretrain without --run-dir" "$BIN" --pretrain "$W/data.json"

# the encoder: checked first without a run, as angorad does at submission
jq -n --arg d "$W/d.h5" '{data: $d, epochs: 2, batch_size: 8}' >"$W/pre.json"
expect_exit 0 "--pretrain-check" "$BIN" --pretrain-check "$W/pre.json"
[ "$(jq .valid "$W/out")" = true ] || fail "check verdict: $(cat "$W/out")"
[ ! -e "$W/pre" ] || fail "--pretrain-check made a run directory"
jq -n --arg d "$W/d.h5" '{data: $d, model: {trunk: 3}}' >"$W/badmodel.json"
# the verdict alone, on stdout, as --check gives it
rc=0
"$BIN" --pretrain-check "$W/badmodel.json" >"$W/out" 2>"$W/err" || rc=$?
[ "$rc" -eq 2 ] || fail "--pretrain-check of a bad model: exit $rc ($(cat "$W/out" "$W/err"))"
[ "$(jq -r .path "$W/out")" = model ] || fail "check verdict: $(cat "$W/out")"
echo "ok: --pretrain-check of a bad model: $(jq -r .message "$W/out")"
expect_exit 0 "pretraining" "$BIN" --pretrain "$W/pre.json" --run-dir "$W/pre" --quiet
[ "$(wc -l <"$W/pre/metrics.jsonl")" -eq 2 ] || fail "metrics: $(cat "$W/pre/metrics.jsonl")"
[ "$(metric_last "$W/pre/metrics.jsonl" iteration)" = 2 ] || fail "last epoch is not 2"
for c in last best; do
    [ -f "$W/pre/checkpoints/$c.ckpt" ] || fail "no $c.ckpt"
done
expect_exit 2 "a second pretraining into the same directory" \
    "$BIN" --pretrain "$W/pre.json" --run-dir "$W/pre" --quiet

# resume: SIGTERM part-way writes last.ckpt at the minibatch and exits 3; --resume goes on and
# ends where a straight run ends, every row (wall time aside) and the summary's figures alike
jq -n --arg d "$W/d.h5" '{data: $d, epochs: 100, batch_size: 1, lr_schedule: "cosine",
    lr_min: 0.0001}' >"$W/long.json"
expect_exit 0 "a straight pretraining" "$BIN" --pretrain "$W/long.json" --run-dir "$W/straight" --quiet
cp "$W/out" "$W/straight.summary"
"$BIN" --pretrain "$W/long.json" --run-dir "$W/cut" --quiet >"$W/out" 2>"$W/err" &
PID=$!
for _ in $(seq 300); do
    [ "$(cat "$W/cut/metrics.jsonl" 2>/dev/null | wc -l)" -ge 2 ] && break
    sleep 0.1
done
kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
[ "$rc" -eq 3 ] || fail "SIGTERM: exit $rc, expected 3 ($(cat "$W/err"))"
grep -q "last.ckpt holds where it stood" "$W/err" || fail "SIGTERM: $(cat "$W/err")"
[ -f "$W/cut/checkpoints/last.ckpt" ] || fail "SIGTERM left no last.ckpt"
ROWS=$(wc -l <"$W/cut/metrics.jsonl")
[ "$ROWS" -lt 100 ] || fail "the run finished before SIGTERM reached it"
echo "ok: SIGTERM after $ROWS epochs: $(cat "$W/err")"
expect_exit 0 "--resume" "$BIN" --pretrain "$W/long.json" --run-dir "$W/cut" --resume --quiet
grep -q "pretraining resumed from checkpoints/last.ckpt after epoch $ROWS " "$W/err" ||
    fail "the resume did not go on after epoch $ROWS: $(cat "$W/err")"
[ "$(metrics_learning "$W/cut/metrics.jsonl")" = "$(metrics_learning "$W/straight/metrics.jsonl")" ] ||
    fail "the resumed run's rows differ from the straight run's"
[ "$(jq -c 'del(.seconds, .run_dir)' "$W/out")" = "$(jq -c 'del(.seconds, .run_dir)' "$W/straight.summary")" ] ||
    fail "summaries differ: $(cat "$W/out") and $(cat "$W/straight.summary")"
[ "$(jq -r .lr "$W/cut/metrics.jsonl" | tail -n 1)" = 0.0001 ] || fail "the cosine did not end at lr_min"
expect_exit 2 "--resume without a checkpoint" \
    "$BIN" --pretrain "$W/long.json" --run-dir "$W/never" --resume --quiet
grep -q "no checkpoint" "$W/err" || fail "no word of the missing checkpoint: $(cat "$W/err")"
jq '.batch_size = 2' "$W/long.json" >"$W/other.json"
expect_exit 2 "--resume with another spec" \
    "$BIN" --pretrain "$W/other.json" --run-dir "$W/cut" --resume --quiet
[ "$(jq -r .path "$W/cut/error.json")" = batch_size ] || fail "error.json: $(cat "$W/cut/error.json")"
expect_exit 2 "--resume with --pretrain-data" "$BIN" --pretrain-data "$W/data.json" --out "$W/x.h5" --resume

echo '{"epochs": 2}' >"$W/nodata.json"
expect_exit 2 "pretraining without data" "$BIN" --pretrain "$W/nodata.json" --run-dir "$W/nodata"
[ "$(jq -r .path "$W/nodata/error.json")" = data ] || fail "error.json: $(cat "$W/nodata/error.json")"

# the encoder in a pathways model, checked at submission
ENC=$W/pre/checkpoints/best.ckpt
spec_with() { # image_size checkpoint
    jq -n --argjson s "$1" --arg c "$2" '{task: "HandBlock", seed: 1,
        task_options: {vision: "pixels", image_size: $s},
        model: {preset: "pathways", encoder: {checkpoint: $c, freeze: true}},
        ppo: {envs_per_rank: 2, horizon: 16, minibatch: 32, epochs: 1},
        budget: {env_steps: 64}, eval: {every: 0}}'
}
spec_with 16 "$ENC" >"$W/ok.json"
expect_exit 0 "--check with the encoder" "$BIN" --check "$W/ok.json"
[ "$(jq .valid "$W/out")" = true ] || fail "verdict: $(cat "$W/out")"
# --check answers on stdout alone
refused_at() { # description spec_file
    local rc=0
    "$BIN" --check "$2" >"$W/out" 2>"$W/err" || rc=$?
    [ "$rc" -eq 2 ] || fail "$1: exit $rc, expected 2 ($(cat "$W/out" "$W/err"))"
    [ "$(jq -r .path "$W/out")" = model.encoder.checkpoint ] || fail "$1: verdict $(cat "$W/out")"
    echo "ok: $1: $(jq -r .message "$W/out")"
}
spec_with 32 "$ENC" >"$W/size.json"
refused_at "--check with an image size the encoder was not trained on" "$W/size.json"
spec_with 16 "$W/none.ckpt" >"$W/missing.json"
refused_at "--check with a missing encoder checkpoint" "$W/missing.json"
# the same size through another lens: the encoder knows the camera it was trained on
jq '.task_options.camera_fovy = 30' "$W/ok.json" >"$W/camera.json"
refused_at "--check with a camera the encoder was not trained on" "$W/camera.json"
grep -q 'palm_cam, fovy 45.*palm_cam, fovy 30' "$W/out" || fail "camera verdict: $(cat "$W/out")"

# a PPO run with the frozen encoder; its checkpoint is no encoder's
expect_exit 0 "training with the frozen encoder" "$BIN" "$W/ok.json" --run-dir "$W/ppo" --quiet
[ -f "$W/ppo/checkpoints/last.ckpt" ] || fail "the PPO run left no checkpoint"
# its frozen encoder's features were stored in place of the 3x16x16 images (said on stderr
# before the run's log opens): fewer floats a step than the image alone
grep -q "frozen encoder: its features are stored while collecting" "$W/err" ||
    fail "the run did not cache the encoder's features: $(cat "$W/err")"
ROW=$(grep -o '([0-9]* floats a step, [0-9.]* MB with the 768 floats of vision)' "$W/err" |
    grep -o '^([0-9]*' | tr -d '(')
[ -n "$ROW" ] && [ "$ROW" -lt 768 ] || fail "stored rows of ${ROW:-?} floats: $(cat "$W/err")"
[ "$(metric_last "$W/ppo/metrics.jsonl" iteration)" -ge 1 ] || fail "no PPO iteration"
spec_with 16 "$W/ppo/checkpoints/last.ckpt" >"$W/foreign.json"
refused_at "--check with a checkpoint that is no encoder's" "$W/foreign.json"
# the encoder scored on another file: one JSON line with every image counted; a PPO checkpoint
# and a call without --data are refused
expect_exit 0 "--pretrain-evaluate" "$BIN" --pretrain-evaluate "$W/pre/checkpoints/last.ckpt" --data "$W/d.h5"
[ "$(jq .images "$W/out")" = 40 ] && jq -e '.position_rmse_mm > 0 and .rotation_median_deg >= 0' "$W/out" >/dev/null ||
    fail "--pretrain-evaluate: $(cat "$W/out")"
expect_exit 2 "--pretrain-evaluate without --data" "$BIN" --pretrain-evaluate "$W/pre/checkpoints/last.ckpt"
expect_exit 2 "--pretrain-evaluate with another mode" "$BIN" --pretrain-evaluate "$W/pre/checkpoints/last.ckpt" --data "$W/d.h5" --run-dir "$W/x"
grep -q "goes alone" "$W/err" || fail "--pretrain-evaluate with --run-dir: $(cat "$W/err")"
expect_exit 2 "--pretrain-evaluate of a PPO checkpoint" "$BIN" --pretrain-evaluate "$W/ppo/checkpoints/last.ckpt" --data "$W/d.h5"
grep -q "not the checkpoint of a vision pretraining" "$W/err" || fail "PPO checkpoint: $(cat "$W/err")"
echo "all pretraining checks passed"
