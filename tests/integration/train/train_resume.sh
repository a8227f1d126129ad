#!/usr/bin/env bash
# Deterministic reruns and resume equivalence of angora-train: a run of 4 iterations equals a
# run stopped after 2 and resumed for 2 (learning fields identical), and a run interrupted by
# SIGTERM exits 3 with a checkpoint and, resumed, equals a run straight through.
# usage: train_resume.sh ANGORA_TRAIN SPEC_DIR
# shellcheck source=tests/integration/train/common.sh
. "$(dirname "$0")/common.sh"
BIN=$1
SPECS=$2 # the specs folder (the scenarios here write their own small specs)
: "$SPECS"
W=$(mktemp -d /tmp/angora-train-resume-XXXXXX)
trap 'rm -rf "$W"' EXIT

echo '{"task": "CartPoleNoVel", "model": "simple_lstm", "policy": "categorical",
 "ppo": {"envs_per_rank": 4, "horizon": 64, "tbptt": 16, "minibatch": 128},
 "budget": {"env_steps": 1024}, "eval": {"every": 1, "episodes": 3}, "seed": 11}' >"$W/s.json"

"$BIN" "$W/s.json" --run-dir "$W/a" --quiet || fail "straight run"
"$BIN" "$W/s.json" --run-dir "$W/b" --quiet || fail "rerun"
metrics_learning "$W/a/metrics.jsonl" >"$W/a.m"
metrics_learning "$W/b/metrics.jsonl" >"$W/b.m"
[ "$(wc -l <"$W/a.m")" -eq 4 ] || fail "expected 4 iterations"
cmp -s "$W/a.m" "$W/b.m" || fail "rerun with the same seed differs"
echo "ok: rerun identical"

"$BIN" "$W/s.json" --run-dir "$W/c" --quiet --stop-after 2 || fail "stopped run"
[ "$(wc -l <"$W/c/metrics.jsonl")" -eq 2 ] || fail "stop-after 2 wrote other than 2 lines"
grep -q '"state":"stopped"' "$W/c/status.json" || fail "status is not stopped"
# a torn line from a crash after the checkpoint is dropped on resume
printf '{"iteration":3,"env_steps":' >>"$W/c/metrics.jsonl"
"$BIN" --run-dir "$W/c" --resume --quiet || fail "resume"
metrics_learning "$W/c/metrics.jsonl" >"$W/c.m"
cmp -s "$W/a.m" "$W/c.m" || {
    diff "$W/a.m" "$W/c.m" | head -5
    fail "2 + resumed 2 differs from 4 straight"
}
echo "ok: run 2 + resume 2 == run 4"
# the CPU time goes on from the kept lines' count: it grows every iteration, across the resume
cpus=$(grep -o '"cpu_s":[-0-9.eE+]*' "$W/c/metrics.jsonl" | cut -d: -f2)
[ "$(echo "$cpus" | wc -l)" -eq 4 ] || fail "cpu_s missing from some lines"
echo "$cpus" | awk 'NR > 1 && $1 <= prev { bad = 1 } $1 <= 0 { bad = 1 } { prev = $1 } END { exit bad }' ||
    fail "cpu_s does not grow across the resume: $(echo $cpus)"
# a run of an earlier version (lines without cpu_s) resumes without a count it cannot know
"$BIN" "$W/s.json" --run-dir "$W/f" --quiet --stop-after 2 || fail "stopped run f"
sed -i -E 's/"cpu_s":[^,}]*,?//' "$W/f/metrics.jsonl"
"$BIN" --run-dir "$W/f" --resume --quiet || fail "resume f"
[ "$(grep -c '"cpu_s"' "$W/f/metrics.jsonl")" -eq 0 ] || fail "cpu_s made up after a resume"
echo "ok: cpu_s continues across a resume, and is left out where unknown"

# SIGTERM in the middle of a longer run
echo '{"task": "CartPole", "policy": "categorical", "ppo": {"envs_per_rank": 8, "horizon": 128,
 "minibatch": 256, "lr": 0.001}, "budget": {"env_steps": 300000}, "eval": {"every": 20,
 "episodes": 5}, "seed": 5}' >"$W/long.json"
"$BIN" "$W/long.json" --run-dir "$W/d" --quiet &
pid=$!
for _ in $(seq 1 600); do
    [ -f "$W/d/metrics.jsonl" ] && [ "$(wc -l <"$W/d/metrics.jsonl")" -ge 30 ] && break
    sleep 0.02
done
kill -TERM $pid
wait $pid
rc=$?
lines=$(wc -l <"$W/d/metrics.jsonl")
[ "$rc" -eq 3 ] || fail "SIGTERM: exit $rc, expected 3"
[ -s "$W/d/checkpoints/last.ckpt" ] || fail "no checkpoint after SIGTERM"
grep -q '"state":"interrupted"' "$W/d/status.json" || fail "status is not interrupted"
[ "$lines" -lt 293 ] || fail "the run finished before the signal; cannot test"
echo "ok: SIGTERM after $lines iterations: exit 3, checkpoint written"
"$BIN" --run-dir "$W/d" --resume --quiet || fail "resume after SIGTERM"
"$BIN" "$W/long.json" --run-dir "$W/e" --quiet || fail "straight long run"
metrics_learning "$W/d/metrics.jsonl" >"$W/d.m"
metrics_learning "$W/e/metrics.jsonl" >"$W/e.m"
cmp -s "$W/d.m" "$W/e.m" || fail "interrupted + resumed differs from straight"
echo "ok: interrupted + resumed == straight ($(wc -l <"$W/e.m") iterations)"
