#!/usr/bin/env bash
# angora-train's command line: task catalogue, evaluation of a checkpoint, and bad input that
# must give a clear message, a non-zero exit and leave the run directory untouched.
# usage: train_cli.sh ANGORA_TRAIN SPEC_DIR
# shellcheck source=tests/integration/train/common.sh
. "$(dirname "$0")/common.sh"
BIN=$1
SPECS=$2
W=$(mktemp -d /tmp/angora-train-cli-XXXXXX)
trap 'rm -rf "$W"' EXIT

# catalogue
expect_exit 0 "list tasks" "$BIN" --list-tasks
grep -q '"CartPole"' "$W/out" || fail "catalogue lacks CartPole"
grep -q '"PendulumNoVel"' "$W/out" || fail "catalogue lacks PendulumNoVel"

# usage
expect_exit 0 "--help" "$BIN" --help
grep -q "^usage: angora-train SPEC.json --run-dir DIR" "$W/out" || fail "--help prints no usage"
grep -q "exit status" "$W/out" || fail "--help does not name the exit codes"
[ ! -s "$W/err" ] || fail "--help wrote to stderr"
# every option of the usage is documented in angora-train(1) and docs/training.md's table
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
man_src=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$ROOT/docs/man/angora-train.1")
for opt in $(grep -o -- '--[a-z-]*' "$W/out" | sort -u); do
    grep -Eq -- "$opt([^a-z-]|$)" <<<"$man_src" || fail "angora-train(1) does not document $opt"
    grep -Eq -- "^\| \`$opt[ \`]" "$ROOT/docs/training.md" || fail "docs/training.md has no row for $opt"
done
expect_exit 2 "--help among other arguments" "$BIN" "$SPECS/cartpole.json" --help
grep -q "help goes alone" "$W/err" || fail "--help among others: no clear message"
expect_exit 2 "no arguments" "$BIN"
expect_exit 2 "unknown option" "$BIN" "$SPECS/cartpole.json" --run-dir "$W/x" --bogus
expect_exit 2 "missing run dir" "$BIN" "$SPECS/cartpole.json"
expect_exit 2 "bad --stop-after" "$BIN" "$SPECS/cartpole.json" --run-dir "$W/x" --stop-after abc

# bad specs
expect_exit 2 "missing spec file" "$BIN" "$W/none.json" --run-dir "$W/r1"
grep -q "none.json" "$W/err" || fail "message does not name the file"
printf '{"task": "CartPole", "ppo": {"lr": ' >"$W/trunc.json"
expect_exit 2 "malformed JSON" "$BIN" "$W/trunc.json" --run-dir "$W/r1"
echo '{"task": "CartPole", "ppo": {"lr": "fast"}}' >"$W/type.json"
expect_exit 2 "wrong type" "$BIN" "$W/type.json" --run-dir "$W/r1"
grep -q "ppo.lr" "$W/err" || fail "message does not name ppo.lr"
echo '{"task": "CartPole", "ppo": {"gamma": 1.5}}' >"$W/range.json"
expect_exit 2 "out of range" "$BIN" "$W/range.json" --run-dir "$W/r1"
grep -q "ppo.gamma" "$W/err" || fail "message does not name ppo.gamma"
echo '{"task": "NoSuchTask"}' >"$W/task.json"
expect_exit 2 "unknown task" "$BIN" "$W/task.json" --run-dir "$W/r1"
grep -q "NoSuchTask" "$W/err" || fail "message does not name the task"
[ ! -e "$W/r1/metrics.jsonl" ] || fail "a refused run left metrics"

# --check: a verdict on stdout with the JSON path, 0 or 2, and no run directory
expect_exit 0 "check a good spec" "$BIN" --check "$SPECS/cartpole.json"
grep -q '"valid":true' "$W/out" || fail "check: no valid verdict"
echo '{"task": "CartPole", "policy": "gaussian"}' >"$W/policy.json"
"$BIN" --check "$W/policy.json" >"$W/out" 2>"$W/err"
[ $? -eq 2 ] || fail "check of a bad policy: exit is not 2"
grep -q '"path":"policy"' "$W/out" || fail "check: no path policy ($(cat "$W/out"))"
echo '{"task": "CartPole", "model": {"bogus": 1}}' >"$W/model.json"
"$BIN" --check "$W/model.json" >"$W/out" 2>"$W/err"
[ $? -eq 2 ] || fail "check of a bad model: exit is not 2"
grep -q '"path":"model.bogus"' "$W/out" || fail "check: no path model.bogus ($(cat "$W/out"))"
"$BIN" --check "$W/type.json" >"$W/out" 2>"$W/err"
grep -q '"path":"ppo.lr"' "$W/out" || fail "check: no path ppo.lr ($(cat "$W/out"))"

# a run that fails on its input says why in error.json
mkdir -p "$W/r2"
echo '{"task": "CartPole", "task_options": {"bogus": 1}}' >"$W/options.json"
expect_exit 2 "bad task options" "$BIN" "$W/options.json" --run-dir "$W/r2"
grep -q '"class": "input"' "$W/r2/error.json" || fail "error.json: no input class"
grep -q '"path": "task_options.bogus"' "$W/r2/error.json" || fail "error.json: no path"

# run directory not writable (a file in the way)
echo x >"$W/file"
expect_exit 2 "run dir is a file" "$BIN" "$SPECS/cartpole.json" --run-dir "$W/file/run"

# a short real run, then the guards around it
echo '{"task": "CartPole", "policy": "categorical", "ppo": {"envs_per_rank": 4, "horizon": 64,
 "minibatch": 128}, "budget": {"env_steps": 1024}, "eval": {"every": 2, "episodes": 3},
 "checkpoint_every": 2, "seed": 3}' >"$W/small.json"
expect_exit 0 "short run" "$BIN" "$W/small.json" --run-dir "$W/run" --quiet
[ "$(wc -l <"$W/run/metrics.jsonl")" -eq 4 ] || fail "expected 4 metrics lines"
for f in spec.json status.json train.log checkpoints/last.ckpt checkpoints/best.ckpt \
    checkpoints/iter-2.ckpt checkpoints/iter-4.ckpt; do
    [ -s "$W/run/$f" ] || fail "missing $f"
done
grep -q '"state":"done"' "$W/run/status.json" || fail "status is not done"
for k in iteration env_steps wall_s cpu_s return_mean return_std episode_length_mean episodes \
    policy_loss value_loss entropy approx_kl clip_fraction explained_variance lr grad_norm sps \
    collect_s update_s unstable_episodes; do
    grep -q "\"$k\":" "$W/run/metrics.jsonl" || fail "metrics lack $k"
done
grep -q '"eval_return":' "$W/run/metrics.jsonl" || fail "metrics lack eval_return"
[ "$(metric_last "$W/run/metrics.jsonl" env_steps)" = 1024 ] || fail "env_steps"
ls "$W/run"/checkpoints/*.tmp* 2>/dev/null && fail "temporary checkpoint left behind"
cp "$W/run/metrics.jsonl" "$W/metrics.before"

# a second fresh run into the same directory is refused and changes nothing
expect_exit 2 "existing run without --resume" "$BIN" "$W/small.json" --run-dir "$W/run"
cmp -s "$W/metrics.before" "$W/run/metrics.jsonl" || fail "metrics changed"

# resuming with a spec of another model is refused and changes nothing
cp "$W/run/checkpoints/last.ckpt" "$W/last.before"
sed 's/"policy": "categorical"/"policy": "categorical", "model": "simple_lstm"/' "$W/small.json" \
    >"$W/other.json"
echo '{"task": "CartPole", "model": "deeper", "ppo": {"envs_per_rank": 4, "horizon": 64,
 "minibatch": 128}, "budget": {"env_steps": 2048}}' >"$W/other.json"
expect_exit 2 "resume with another model" "$BIN" "$W/other.json" --run-dir "$W/run" --resume
grep -qi "model" "$W/err" || fail "message does not mention the model"
cmp -s "$W/metrics.before" "$W/run/metrics.jsonl" || fail "metrics changed"
cmp -s "$W/last.before" "$W/run/checkpoints/last.ckpt" || fail "checkpoint changed"

# evaluation of a checkpoint
expect_exit 0 "evaluate" "$BIN" --evaluate "$W/run/checkpoints/best.ckpt" --episodes 5 \
    --deterministic
for k in mean std ci95 metrics metrics_std metrics_ci95 episodes; do
    grep -q "\"$k\"" "$W/out" || fail "evaluation JSON lacks $k"
done
# the seed, a 64-bit unsigned number, is printed exactly as a decimal string: without --seed it
# is the spec's seed 3 ^ 0x9e3779b97f4a7c15 (above 2^63, once printed as a rounded negative)
grep -q '"seed": "11400714819323198486"' "$W/out" || fail "default seed not exact: $(grep seed "$W/out")"
cp "$W/out" "$W/eval1"
expect_exit 0 "evaluate again" "$BIN" --evaluate "$W/run/checkpoints/best.ckpt" --episodes 5 \
    --deterministic
cmp -s "$W/out" "$W/eval1" || fail "deterministic evaluation differs between calls"
expect_exit 0 "evaluate with a seed" "$BIN" --evaluate "$W/run/checkpoints/best.ckpt" --episodes 1 \
    --seed 4611686018427387907
grep -q '"seed": "4611686018427387907"' "$W/out" || fail "--seed not printed exactly: $(grep seed "$W/out")"
# one episode has no interval: nulls, in JSON that parses
jq -e '.ci95 == [null, null] and (.metrics_ci95 | type) == "object"' "$W/out" >/dev/null ||
    fail "one episode's intervals are not nulls: $(cat "$W/out")"
expect_exit 2 "evaluate a missing checkpoint" "$BIN" --evaluate "$W/none.ckpt"
echo "garbage" >"$W/bad.ckpt"
expect_exit 2 "evaluate a non-checkpoint" "$BIN" --evaluate "$W/bad.ckpt"
expect_exit 2 "evaluate with bad episodes" "$BIN" --evaluate "$W/run/checkpoints/best.ckpt" \
    --episodes 0
# evaluation under other task options: merged over the checkpoint's, checked by the task
expect_exit 0 "evaluate with task options" "$BIN" --evaluate "$W/run/checkpoints/last.ckpt" \
    --episodes 3 --task-options '{"max_episode_steps": 7}'
jq -e '.task_options.max_episode_steps == 7 and .episode_length_mean <= 7' "$W/out" >/dev/null ||
    fail "task options not applied: $(cat "$W/out")"
# a task with a metric (Acrobot's success, 0 or 1 per episode): its mean, std and Wilson
# interval by name, the interval around the mean and inside [0, 1]
echo '{"task": "Acrobot", "ppo": {"envs_per_rank": 2, "horizon": 32, "minibatch": 32, "epochs": 1},
 "budget": {"env_steps": 64}, "seed": 3}' >"$W/acrobot.json"
expect_exit 0 "short Acrobot run" "$BIN" "$W/acrobot.json" --run-dir "$W/acro" --quiet
expect_exit 0 "evaluate Acrobot" "$BIN" --evaluate "$W/acro/checkpoints/last.ckpt" --episodes 4 \
    --task-options '{"max_episode_steps": 50}'
jq -e '.metrics.success as $m | .metrics_ci95.success as $ci | (.metrics_std.success | type) ==
 "number" and ($ci | length) == 2 and $ci[0] >= 0 and $ci[0] <= $m and $m < $ci[1] and $ci[1] <= 1' \
    "$W/out" >/dev/null || fail "no metric interval: $(cat "$W/out")"
expect_exit 2 "task options not an object" "$BIN" --evaluate "$W/run/checkpoints/last.ckpt" \
    --task-options '[1]'
grep -q -- "--task-options" "$W/err" || fail "message does not name --task-options"
expect_exit 2 "task options malformed" "$BIN" --evaluate "$W/run/checkpoints/last.ckpt" \
    --task-options '{"max_episode_steps": '
expect_exit 2 "task options out of range" "$BIN" --evaluate "$W/run/checkpoints/last.ckpt" \
    --task-options '{"max_episode_steps": -1}'
grep -q "max_episode_steps" "$W/err" || fail "message does not name the option"
expect_exit 2 "task options unknown key" "$BIN" --evaluate "$W/run/checkpoints/last.ckpt" \
    --task-options '{"gravity": 1}'
grep -q "gravity" "$W/err" || fail "message does not name the unknown key"
expect_exit 2 "task options without evaluation" "$BIN" --task-options '{}'
echo "all angora-train command-line checks passed"
