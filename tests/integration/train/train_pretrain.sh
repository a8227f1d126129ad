#!/usr/bin/env bash
# Vision pretraining end to end: angora-train --pretrain-data renders a tiny dataset,
# --pretrain-check judges a pretraining spec without a run, --pretrain trains an encoder on it for
# two epochs (metrics, checkpoints), --check accepts a pathways spec that loads it frozen and
# refuses, with the JSON path, a missing checkpoint, one that is no encoder's and an image size
# the encoder was not trained on; a PPO run with the frozen encoder trains an iteration, its
# features stored in place of the images (train.log); bad command lines and specs exit 2.
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
echo "all pretraining checks passed"
