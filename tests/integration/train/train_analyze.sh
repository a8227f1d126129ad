#!/usr/bin/env bash
# The recorder and the analyzer fit together: a tiny HandReach run with the simple_lstm model (a
# few iterations), 6 episodes recorded with angora-train --record-activations, and
# angora-analyze over the file. analysis.json must parse and name every layer and variable the
# file holds (listed by python3-h5py, an independent reader), decoding.csv must hold one row per
# (layer, variable), and what the network must carry must decode: the action distribution's
# parameters (policy.params) are a linear read-out of the head's input (policy.core.h), so their
# R^2 is above 0.9.
# usage: train_analyze.sh ANGORA_TRAIN ANGORA_ANALYZE
# shellcheck source=tests/integration/train/common.sh
. "$(dirname "$0")/common.sh"
BIN=$1
ANALYZE=$2
PY=${ANGORA_PYTHON:-/usr/bin/python3}
W=$(mktemp -d /tmp/angora-train-analyze-XXXXXX)
trap 'rm -rf "$W"' EXIT
"$PY" -c 'import h5py' 2>/dev/null ||
    fail "$PY cannot import h5py (apt-get install python3-h5py)"
command -v jq >/dev/null || fail "jq is needed"

# a few iterations of HandReach with an LSTM
jq -n '{task: "HandReach", model: "simple_lstm", seed: 11,
    ppo: {envs_per_rank: 2, horizon: 64, minibatch: 64, epochs: 2, tbptt: 8},
    budget: {env_steps: 256}, eval: {every: 0}}' >"$W/spec.json"
"$BIN" "$W/spec.json" --run-dir "$W/run" --quiet >/dev/null 2>"$W/err" ||
    fail "training: $(cat "$W/err")"
CK=$W/run/checkpoints/last.ckpt
[ -f "$CK" ] || fail "training left no checkpoint"

"$BIN" --record-activations "$CK" --episodes 6 --out "$W/rec.h5" >"$W/record.json" 2>"$W/err" ||
    fail "recording: $(cat "$W/err")"
[ -f "$W/rec.h5" ] && [ ! -e "$W/rec.h5.part" ] || fail "recording: no rec.h5, or a part file"
echo "ok: recorded $(jq '.steps' "$W/record.json") steps of $(jq '.episodes' "$W/record.json") episodes"

"$ANALYZE" "$W/rec.h5" --out "$W/analysis" --quiet >/dev/null 2>"$W/err" ||
    fail "analysis: $(cat "$W/err")"
echo "ok: analysed"

"$PY" - "$W/rec.h5" "$W/analysis" <<'EOF' || fail "the analysis does not cover the recording"
import csv, json, sys
import h5py

path, out = sys.argv[1:3]

def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)

with h5py.File(path, "r") as f:
    layers, variables = sorted(f["layers"]), sorted(f["variables"])
    episodes, steps = int(f.attrs["episodes"]), int(f.attrs["steps"])
# what a simple_lstm HandReach recording holds at least
for net in ("policy", "value"):
    for name in ["trunk.0.dense", "trunk.1.tanh", "core.h", "core.c"] + \
            ["core.gate_" + g for g in "ifgo"]:
        check(net + "." + name in layers, "the file lacks the layer %s.%s" % (net, name))
for name in ("fingertip_positions", "goal_positions", "joint_angles", "joint_velocities",
             "success", "obs.goal", "action", "policy.params", "value", "reward", "done"):
    check(name in variables, "the file lacks the variable " + name)
check(episodes == 6 and steps > 0, "episodes %d, steps %d" % (episodes, steps))

a = json.load(open(out + "/analysis.json"))
check(a["format"] == "angora-analysis", "analysis.json format")
check(a["input"]["episodes"] == 6 and a["input"]["steps"] == steps, "analysis.json input")
check(sorted(d["name"] for d in a["datasets"]["layers"]) == layers,
      "analysis.json layers: %s" % [d["name"] for d in a["datasets"]["layers"]])
check(sorted(d["name"] for d in a["datasets"]["variables"]) == variables,
      "analysis.json variables: %s" % [d["name"] for d in a["datasets"]["variables"]])
check(sorted(a["options"]["layers"]) == layers and sorted(a["options"]["variables"]) == variables,
      "analysis.json options")

rows = list(csv.DictReader(open(out + "/decoding.csv")))
pairs = [(r["layer"], r["variable"]) for r in rows]
check(len(pairs) == len(set(pairs)) == len(layers) * len(variables),
      "decoding.csv: %d rows for %d layers x %d variables"
      % (len(pairs), len(layers), len(variables)))
check(set(pairs) == {(l, v) for l in layers for v in variables}, "decoding.csv pairs")
r2 = {p: r["r2"] for p, r in zip(pairs, rows)}
head = float(r2[("policy.core.h", "policy.params")])
check(head > 0.9, "policy.params from policy.core.h: R^2 %g, expected > 0.9" % head)
print("ok: %d layers x %d variables; policy.params from policy.core.h R^2 %.6f"
      % (len(layers), len(variables), head))
EOF
echo "all recording and analysis checks passed"
