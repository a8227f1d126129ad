#!/usr/bin/env bash
# angora-train --evaluate with --record and --trajectory: a Hopper and a HandBlock checkpoint of
# one tiny iteration are evaluated; the MP4 must hold one frame per step of the recorded episode
# at the asked size and the task's control rate (ffprobe), the trajectory one pose entry per
# step and the scene; plus the errors: a task without pictures, ffmpeg missing or failing, bad
# sizes, recording options without --evaluate.
# usage: train_record.sh ANGORA_TRAIN
# shellcheck source=tests/integration/train/common.sh
. "$(dirname "$0")/common.sh"
BIN=$1
W=$(mktemp -d /tmp/angora-train-record-XXXXXX)
trap 'rm -rf "$W"' EXIT
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null ||
    fail "ffmpeg and ffprobe are needed (apt-get install ffmpeg)"
command -v jq >/dev/null || fail "jq is needed"
# Under ASan, the slow unwinder the MPI leak suppressions need deadlocks with OSMesa's render
# threads, and with the fast one Open MPI's unloaded components leak from unknown modules: runs
# that render use the fast unwinder without leak checks (the runs without video keep them).
RENDER_ASAN=fast_unwind_on_malloc=1:detect_leaks=0

# one tiny iteration of TASK with the simple model; prints the checkpoint path
train_tiny() { # task
    local d=$W/$1
    mkdir -p "$d"
    jq -n --arg task "$1" '{task: $task, preset: "locomotion", model: "simple", seed: 3,
        ppo: {envs_per_rank: 2, horizon: 64, minibatch: 64, epochs: 1},
        budget: {env_steps: 128}, eval: {every: 0}}' >"$d/spec.json"
    "$BIN" "$d/spec.json" --run-dir "$d/run" --quiet >/dev/null 2>"$d/err" ||
        fail "training $1: $(cat "$d/err")"
    [ -f "$d/run/checkpoints/last.ckpt" ] || fail "training $1 left no checkpoint"
}

# frames, width, height and frame rate of an MP4, as "N WxH RATE"
probe() {
    ffprobe -v error -count_frames -select_streams v:0 \
        -show_entries stream=nb_read_frames,width,height,r_frame_rate,codec_name,pix_fmt \
        -of json "$1" |
        jq -r '.streams[0] | "\(.nb_read_frames) \(.width)x\(.height) \(.r_frame_rate) \(.codec_name) \(.pix_fmt)"'
}

check_recording() { # task size fps_ratio
    local task=$1 size=$2 rate=$3 ck=$W/$1/run/checkpoints/last.ckpt
    ASAN_OPTIONS=$RENDER_ASAN LSAN_OPTIONS=$RENDER_ASAN expect_exit 0 "$task: evaluate --record --trajectory" \
        "$BIN" --evaluate "$ck" --episodes 2 \
        --deterministic --record "$W/$task.mp4" --trajectory "$W/$task.json" --record-size "$size"
    [ -s "$W/$task.mp4" ] || fail "$task: no video"
    [ ! -e "$W/$task.mp4.part" ] || fail "$task: partial video left behind"
    local len frames
    len=$(jq '.recording.length' "$W/out")
    frames=$(jq '.recording.frames' "$W/out")
    [ "$len" -ge 1 ] || fail "$task: recorded episode length $len"
    [ "$frames" -eq "$len" ] || fail "$task: $frames frames for $len steps"
    [ "$(jq -r '.recording.video' "$W/out")" = "$W/$task.mp4" ] || fail "$task: summary lacks the video"
    local got want
    got=$(probe "$W/$task.mp4")
    want="$len $size $rate h264 yuv420p"
    [ "$got" = "$want" ] || fail "$task: ffprobe says '$got', expected '$want'"
    echo "ok: $task video: $got"
    # the trajectory: the scene once, one pose per body for each step
    jq -e --argjson n "$len" '.version == 1 and (.steps | length) == $n and .length == $n
        and (.scene.bodies | length) > 1
        and ((.scene.bodies | length) as $b | all(.steps[]; (.poses | length) == $b))
        and all(.steps[]; all(.poses[]; length == 7))
        and (.steps[0].t < .steps[-1].t or $n == 1)' "$W/$task.json" >/dev/null ||
        fail "$task: trajectory is not one pose entry per step with the scene"
    # the deterministic recorded episode is evaluation episode 0: a 1-episode evaluation agrees
    expect_exit 0 "$task: 1-episode evaluation" "$BIN" --evaluate "$ck" --episodes 1 --deterministic
    local mean ret
    mean=$(jq '.mean' "$W/out")
    ret=$(jq '.return' "$W/$task.json")
    awk -v a="$mean" -v b="$ret" 'BEGIN {d = a - b; exit !(d < 1e-3 && d > -1e-3)}' ||
        fail "$task: recorded return $ret, evaluation episode 0 returned $mean"
    echo "ok: $task trajectory: $len steps, return $ret"
}

train_tiny Hopper
train_tiny HandBlock
train_tiny CartPole
check_recording Hopper 160x120 "125/1"
check_recording HandBlock 96x96 "25/2"

hop=$W/Hopper/run/checkpoints/last.ckpt
# a task without pictures: --record refused, --trajectory keeps its observations
expect_exit 2 "CartPole --record" "$BIN" --evaluate "$W/CartPole/run/checkpoints/last.ckpt" \
    --record "$W/cp.mp4"
grep -q "not a MuJoCo task" "$W/err" || fail "CartPole --record: unclear message"
[ ! -e "$W/cp.mp4" ] && [ ! -e "$W/cp.mp4.part" ] || fail "CartPole --record left a file"
expect_exit 0 "CartPole --trajectory" "$BIN" --evaluate "$W/CartPole/run/checkpoints/last.ckpt" \
    --episodes 1 --trajectory "$W/cp.json"
jq -e '.scene == null and (.steps | length) == .length and .length >= 1
    and all(.steps[]; (.obs | length) == 4) and (.sensations | length) >= 1' "$W/cp.json" \
    >/dev/null || fail "CartPole trajectory: not one observation per step"

# ffmpeg missing or failing: clear message, non-zero exit, no file left
ASAN_OPTIONS=$RENDER_ASAN LSAN_OPTIONS=$RENDER_ASAN ANGORA_FFMPEG=$W/no-such-ffmpeg expect_exit 1 "ffmpeg missing" \
    "$BIN" --evaluate "$hop" \
    --record "$W/m.mp4"
grep -q "ffmpeg" "$W/err" || fail "ffmpeg missing: message does not say ffmpeg"
[ ! -e "$W/m.mp4" ] && [ ! -e "$W/m.mp4.part" ] || fail "ffmpeg missing: a file was left"
printf '#!/bin/sh\nexit 3\n' >"$W/bad-ffmpeg"
chmod +x "$W/bad-ffmpeg"
ASAN_OPTIONS=$RENDER_ASAN LSAN_OPTIONS=$RENDER_ASAN ANGORA_FFMPEG=$W/bad-ffmpeg expect_exit 1 "ffmpeg failing" \
    "$BIN" --evaluate "$hop" \
    --record "$W/f.mp4" --record-size 32x32
grep -q "ffmpeg" "$W/err" || fail "ffmpeg failing: message does not say ffmpeg"
[ ! -e "$W/f.mp4" ] && [ ! -e "$W/f.mp4.part" ] || fail "ffmpeg failing: a file was left"
ASAN_OPTIONS=$RENDER_ASAN LSAN_OPTIONS=$RENDER_ASAN expect_exit 1 "unwritable video directory" \
    "$BIN" --evaluate "$hop" --record "$W/none/x.mp4" \
    --record-size 32x32
expect_exit 1 "unwritable trajectory directory" "$BIN" --evaluate "$hop" \
    --trajectory "$W/none/x.json"

# bad options
expect_exit 2 "odd size" "$BIN" --evaluate "$hop" --record "$W/o.mp4" --record-size 161x120
expect_exit 2 "malformed size" "$BIN" --evaluate "$hop" --record "$W/o.mp4" --record-size big
expect_exit 2 "size too small" "$BIN" --evaluate "$hop" --record "$W/o.mp4" --record-size 8x8
ASAN_OPTIONS=$RENDER_ASAN LSAN_OPTIONS=$RENDER_ASAN expect_exit 2 "size beyond the model's offscreen buffer" \
    "$BIN" --evaluate "$hop" \
    --record "$W/o.mp4" --record-size 4000x4000
expect_exit 2 "--record without --evaluate" "$BIN" "$W/Hopper/spec.json" --run-dir "$W/r" \
    --record "$W/o.mp4"
expect_exit 2 "--record without a file" "$BIN" --evaluate "$hop" --record
expect_exit 2 "--record of a missing checkpoint" "$BIN" --evaluate "$W/none.ckpt" \
    --record "$W/o.mp4"
[ ! -e "$W/o.mp4" ] || fail "a refused recording left a file"
echo "all recording checks passed"
