#!/usr/bin/env bash
# Fast checks of the learning-check material: every tuned spec under specs/ is accepted by
# angora-train and trains one iteration (--stop-after 1) with one metrics line, and the runner
# scripts refuse bad arguments with a clear message instead of training; a short CartPole run
# through learn_run.sh evaluates its final policy on the fresh seed.
# usage: learn_specs_check.sh ANGORA_TRAIN LEARNING_DIR
set -u
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
[ $# -eq 2 ] || fail "usage: learn_specs_check.sh ANGORA_TRAIN LEARNING_DIR"
BIN=$1
DIR=$2
W=$(mktemp -d /tmp/angora-learn-specs-XXXXXX)
trap 'rm -rf "$W"' EXIT

n=0
for spec in "$DIR"/specs/*.json; do
    name=$(basename "$spec" .json)
    "$BIN" "$spec" --run-dir "$W/$name" --quiet --stop-after 1 >"$W/$name.out" 2>&1 ||
        fail "$name: angora-train refused or failed: $(cat "$W/$name.out")"
    lines=$(wc -l <"$W/$name/metrics.jsonl")
    [ "$lines" -eq 1 ] || fail "$name: expected 1 metrics line after --stop-after 1, got $lines"
    grep -q '"iteration":1' "$W/$name/metrics.jsonl" || fail "$name: no iteration 1 in metrics"
    # the resolved spec keeps the tuned values (no silent fallback to preset defaults)
    for key in .seed .budget.env_steps .ppo.lr .ppo.epochs .ppo.minibatch .ppo.gamma; do
        want=$(jq "$key" "$spec")
        got=$(jq "$key" "$W/$name/spec.json")
        [ "$want" = null ] || [ "$want" = "$got" ] ||
            [ "$(jq -n "$want == $got")" = true ] ||
            fail "$name: $key is $got in the resolved spec, $want in the tuned one"
    done
    n=$((n + 1))
done
[ "$n" -ge 4 ] || fail "expected at least 4 tuned specs, found $n"
echo "$n tuned specs train"

# bad input to the runners: each must fail with its message and train nothing
expect_fail() {
    local pattern=$1
    shift
    if "$@" >"$W/bad.out" 2>&1; then
        fail "accepted: $*"
    fi
    grep -q "$pattern" "$W/bad.out" || fail "'$*' did not say '$pattern': $(cat "$W/bad.out")"
}
R=$DIR/learn_run.sh
expect_fail "usage" bash "$R" "$BIN"
expect_fail "cannot read" bash "$R" "$BIN" "$W/missing.json" return 1
expect_fail "METRIC must be return or success" bash "$R" "$BIN" "$DIR/specs/hopper.json" reward 1
expect_fail "is not executable" bash "$R" "$W/no-such-binary" "$DIR/specs/hopper.json" return 1
mkdir -p "$W/taken"
expect_fail "exists already" bash "$R" "$BIN" "$DIR/specs/hopper.json" return 1 1 "$W/taken"
printf '{"task": "Hopper", "ppo": {"lr_rate": 1}}' >"$W/typo.json"
expect_fail "training failed" bash "$R" "$BIN" "$W/typo.json" return 1 "" "$W/typo-run"
expect_fail "bad seed" bash "$R" "$BIN" "$DIR/specs/hopper.json" return 1 abc "$W/seed-run"
expect_fail "usage" bash "$DIR/learn_seeds.sh" "$BIN" "$DIR/specs/hopper.json" return 1 "$W/o"
echo "runner scripts refuse bad input"

# a short real check: the final policy (last.ckpt) is evaluated on the fresh seed 2^62 + seed,
# printed exactly, deterministically and stochastically
printf '{"task": "CartPole", "seed": 3, "budget": {"env_steps": 2048}}' >"$W/short.json"
bash "$R" "$BIN" "$W/short.json" return -1000000 "" "$W/short-run" >"$W/short.out" 2>&1 ||
    fail "learn_run.sh on a short CartPole run: $(tail -c 400 "$W/short.out")"
grep -q '^RESULT .* eval_seed=4611686018427387907 eval_episodes=20 ' "$W/short.out" ||
    fail "learn_run.sh did not evaluate on the fresh seed: $(grep RESULT "$W/short.out")"
grep -q '^PASS: CartPole seed 3: last.ckpt return' "$W/short.out" ||
    fail "learn_run.sh did not check last.ckpt: $(tail -n 1 "$W/short.out")"
grep -q ' eval_stochastic_mean=[-0-9.]' "$W/short.out" || fail "no stochastic evaluation: $(grep RESULT "$W/short.out")"
echo "learn_run.sh checks the final policy on fresh seeds"
