#!/usr/bin/env bash
# A run that starts from another run's policy (spec "init"): angora-train --check names the
# key at fault for a missing file, a policy of another task's size, another model and a wrong
# hash; a run refused at start leaves no metrics and says why in error.json; a run started from
# a trained CartPole policy plays as that policy from its first iteration (a fresh run does
# not), records the file's SHA-256 in spec.json and train.log, and resumes with the spec given
# again (as angorad gives it) after the init file is gone, keeping the hash.
# The same start on 2 MPI ranks gives both ranks the policy.
# usage: train_init.sh ANGORA_TRAIN SPEC_DIR MPIEXEC
# shellcheck source=tests/integration/train/common.sh
. "$(dirname "$0")/common.sh"
BIN=$1
SPECS=$2
MPIEXEC=$3
W=$(mktemp -d /tmp/angora-train-init-XXXXXX)
trap 'rm -rf "$W"' EXIT

# the policy to start from: the learning check's CartPole
"$BIN" "$SPECS/cartpole.json" --run-dir "$W/a" --quiet || fail "training the policy to start from"
FROM="$W/a/checkpoints/last.ckpt"
SHA=$(sha256sum "$FROM" | cut -d' ' -f1)
from_return=$("$BIN" --evaluate "$FROM" --episodes 10 --deterministic --seed 77 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["mean"])')
awk -v r="$from_return" 'BEGIN { exit !(r >= 300) }' ||
    fail "the policy to start from plays only $from_return; cannot test"

# a spec of CartPole (another seed, a learning rate too small to move the policy in one
# iteration) starting from $1, with extra members $2
spec_from() {
    printf '{"task": "CartPole", "model": "simple", "policy": "categorical", "ppo": {"envs_per_rank": 8,
 "horizon": 128, "minibatch": 256, "lr": 1e-7}, "budget": {"env_steps": 4096}, "seed": 3,
 "init": {"checkpoint": "%s"%s}}' "$1" "${2:-}"
}

# the check's verdict on a spec: valid, path
check_path() {
    "$BIN" --check "$1" | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v["valid"], v["path"], v["message"])'
}
spec_from "$FROM" >"$W/ok.json"
[ "$(check_path "$W/ok.json" | cut -d' ' -f1)" = True ] || fail "a good init refused: $(check_path "$W/ok.json")"
spec_from "$FROM" ", \"sha256\": \"$SHA\"" >"$W/ok_sha.json"
[ "$(check_path "$W/ok_sha.json" | cut -d' ' -f1)" = True ] || fail "the right hash refused"
echo "ok: --check accepts a policy of the same model and sizes, with or without its hash"

expect_check() { # spec_file path part_of_message what
    local v
    v=$(check_path "$1")
    case "$v" in
    "False $2 "*"$3"*) echo "ok: --check refuses $4: $v" ;;
    *) fail "--check on $4: $v (want path $2, message with '$3')" ;;
    esac
}
spec_from "$W/none.ckpt" >"$W/missing.json"
expect_check "$W/missing.json" init.checkpoint "$W/none.ckpt" "a missing file"
spec_from "$FROM" ', "sha256": "0000000000000000000000000000000000000000000000000000000000000000"' >"$W/sha.json"
expect_check "$W/sha.json" init.sha256 "$SHA" "another file's hash"
sed 's/"task": "CartPole"/"task": "Acrobot"/' "$W/ok.json" >"$W/task.json"
expect_check "$W/task.json" init.checkpoint "observation size 4" "a policy of another task's sizes"
sed 's/"model": "simple"/"model": "simple_lstm"/; s/"minibatch": 256/"minibatch": 256, "tbptt": 16/' "$W/ok.json" >"$W/model.json"
expect_check "$W/model.json" init.checkpoint "$FROM" "another model"
echo '{"task": "CartPole", "init": 5}' >"$W/type.json"
expect_check "$W/type.json" init "object" "an init that is not an object"

# a run refused at start: nothing written but why
expect_exit 2 "a run whose init file is missing" "$BIN" "$W/missing.json" --run-dir "$W/m" --quiet
grep -q "init.checkpoint" "$W/err" || fail "the refusal does not name init.checkpoint"
[ ! -s "$W/m/metrics.jsonl" ] || fail "a refused run wrote metrics"
python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); assert e["path"]=="init.checkpoint", e' \
    "$W/m/error.json" || fail "error.json does not name init.checkpoint"
expect_exit 2 "a run whose init file has another hash" "$BIN" "$W/sha.json" --run-dir "$W/s" --quiet
[ ! -s "$W/s/metrics.jsonl" ] || fail "a refused run wrote metrics"

# the run from the policy, against the same run from fresh weights
"$BIN" "$W/ok.json" --run-dir "$W/b" --quiet --stop-after 1 || fail "the run from the policy"
python3 - "$W/ok.json" >"$W/fresh.json" <<'PY' || fail "writing the fresh spec"
import json, sys
s = json.load(open(sys.argv[1])); del s["init"]; print(json.dumps(s))
PY
"$BIN" "$W/fresh.json" --run-dir "$W/c" --quiet --stop-after 1 || fail "the fresh run"
b_return=$("$BIN" --evaluate "$W/b/checkpoints/last.ckpt" --episodes 10 --deterministic --seed 77 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["mean"])')
c_return=$("$BIN" --evaluate "$W/c/checkpoints/last.ckpt" --episodes 10 --deterministic --seed 77 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["mean"])')
awk -v b="$b_return" -v f="$from_return" -v c="$c_return" 'BEGIN { exit !(b >= 0.9 * f && c < 100) }' ||
    fail "after one iteration: from the policy $b_return (the policy $from_return), fresh $c_return"
echo "ok: one iteration from the policy plays $b_return (the policy $from_return); from fresh weights $c_return"
python3 - "$W/b/spec.json" "$FROM" "$SHA" <<'PY' || fail "spec.json does not record the init file and its hash"
import json, sys
init = json.load(open(sys.argv[1]))["init"]
assert init == {"checkpoint": sys.argv[2], "sha256": sys.argv[3]}, init
PY
grep -q "started from the policy of $FROM (SHA-256 $SHA)" "$W/b/train.log" ||
    fail "train.log does not say where the run started"
echo "ok: spec.json and train.log record the init file and its SHA-256"

# resumed with the spec given again, without the hash, the init file gone
mv "$FROM" "$W/moved.ckpt"
"$BIN" "$W/ok.json" --run-dir "$W/b" --resume --quiet || fail "resuming the run from the policy"
[ "$(wc -l <"$W/b/metrics.jsonl")" -eq 4 ] || fail "the resumed run did not finish its 4 iterations"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["init"]["sha256"]==sys.argv[2]' \
    "$W/b/spec.json" "$SHA" || fail "the resume lost the hash"
grep -c "started from the policy" "$W/b/train.log" | grep -qx 1 || fail "the resume started from the policy again"
echo "ok: a resume continues from its own checkpoint without the init file and keeps the hash"

# on 2 ranks: rank 0 reads the file and both act with the policy
mv "$W/moved.ckpt" "$FROM"
"$MPIEXEC" --allow-run-as-root --oversubscribe -np 2 "$BIN" "$W/ok.json" --run-dir "$W/r2" --quiet \
    --stop-after 1 || fail "the run from the policy on 2 ranks"
r2_return=$("$BIN" --evaluate "$W/r2/checkpoints/last.ckpt" --episodes 10 --deterministic --seed 77 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["mean"])')
r2_episodes=$(metric_last "$W/r2/metrics.jsonl" episodes)
c_episodes=$(metric_last "$W/c/metrics.jsonl" episodes)
# both ranks' 8 environments play 128 steps; at 10-30 steps an episode, fresh weights end dozens
awk -v r="$r2_return" -v f="$from_return" -v n="$r2_episodes" -v c="$c_episodes" \
    'BEGIN { exit !(r >= 0.9 * f && n <= 4 && c >= 20) }' ||
    fail "2 ranks, after one iteration: plays $r2_return, $r2_episodes training episodes ended (fresh weights on 1 rank: $c_episodes)"
echo "ok: 2 ranks from the policy: plays $r2_return, $r2_episodes training episodes ended in 2 x 8 x 128 steps (fresh weights: $c_episodes in 8 x 128)"
