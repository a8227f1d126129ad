#!/usr/bin/env bash
# angora-train --record-activations: a tiny CartPole-LSTM run of a few iterations, 3 recorded
# episodes checked with Debian's python3-h5py (an independent reader): the root attributes, every
# dataset of the layout with one row per step, the episode and step index, complete = 1. Then
# the failures, each with a clear message, its exit code and no FILE.h5 left: --episodes 0, a
# missing checkpoint, a checkpoint of another model, an unwritable folder, a full disk (an
# LD_PRELOAD shim, and a 64 KiB tmpfs when this runs as root), options in the wrong places, and
# a --seed that would replay the run's own episodes.
# usage: train_activations.sh ANGORA_TRAIN ENOSPC_PRELOAD
# shellcheck source=tests/integration/train/common.sh
. "$(dirname "$0")/common.sh"
BIN=$1
PRELOAD=$2
PY=${ANGORA_PYTHON:-/usr/bin/python3}
W=$(mktemp -d /tmp/angora-train-activations-XXXXXX)
MNT=""
cleanup() {
    if [ -n "$MNT" ]; then umount "$MNT" 2>/dev/null; fi
    rm -rf "$W"
}
trap cleanup EXIT
"$PY" -c 'import h5py, numpy' 2>/dev/null ||
    fail "$PY cannot import h5py and numpy (apt-get install python3-h5py)"
command -v jq >/dev/null || fail "jq is needed"

no_file() { # path description
    [ ! -e "$1" ] && [ ! -e "$1.part" ] || fail "$2: left $1 or $1.part behind"
}

# a few iterations of CartPole with an LSTM (and, for the mismatch, the feed-forward model)
train_tiny() { # name model
    mkdir -p "$W/$1"
    jq -n --arg model "$2" '{task: "CartPole", model: $model, seed: 7,
        ppo: {envs_per_rank: 2, horizon: 64, minibatch: 64, epochs: 2, tbptt: 8},
        budget: {env_steps: 384}, eval: {every: 0}}' >"$W/$1/spec.json"
    "$BIN" "$W/$1/spec.json" --run-dir "$W/$1/run" --quiet >/dev/null 2>"$W/$1/err" ||
        fail "training $1: $(cat "$W/$1/err")"
    [ -f "$W/$1/run/checkpoints/last.ckpt" ] || fail "training $1 left no checkpoint"
}
train_tiny lstm simple_lstm
train_tiny ff simple
CK=$W/lstm/run/checkpoints/last.ckpt

# ---- a recording, read by h5py ----
expect_exit 0 "record 3 episodes" "$BIN" --record-activations "$CK" --out "$W/rec.h5" \
    --episodes 3
no_file "$W/rec.h5.part" "the recording"
cp "$W/out" "$W/summary.json"
"$PY" - "$W/rec.h5" "$W/summary.json" "$CK" <<'EOF' || fail "the recording does not follow the layout"
import hashlib, json, sys
import h5py, numpy as np

path, summary_path, ckpt = sys.argv[1:4]
summary = json.load(open(summary_path))
f = h5py.File(path, "r")
a = f.attrs

def check(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)

# root attributes
check(a["format"] == "angora-activations", "format")
check(int(a["format_version"]) == 1 and a["format_version"].dtype == np.int32, "format_version")
check(int(a["complete"]) == 1, "complete")
check(int(a["episodes"]) == 3, "episodes")
check(int(a["deterministic"]) == 0, "deterministic")
check(a["seed"].dtype == np.uint64 and str(int(a["seed"])) == summary["seed"], "seed")
check(a["task"] == "CartPole", "task")
check(a["checkpoint"] == ckpt, "checkpoint path")
check(a["checkpoint_sha256"] == hashlib.sha256(open(ckpt, "rb").read()).hexdigest(),
      "checkpoint_sha256")
check(json.loads(a["spec"])["task"] == "CartPole", "spec")
check(json.loads(a["model"])["core"] == {"type": "lstm", "units": 64}, "model")
check(a["created"].endswith("Z") and "T" in a["created"], "created")
N = int(a["steps"])
check(N == summary["steps"] and N == round(summary["episode_length_mean"] * 3), "steps")

# every dataset, N rows each
layers = {}
for net in ("policy", "value"):
    layers[net + ".trunk.0.dense"] = ("dense", 64)
    layers[net + ".trunk.1.tanh"] = ("tanh", 64)
    layers[net + ".core.h"] = ("lstm_h", 64)
    layers[net + ".core.c"] = ("lstm_c", 64)
    for g in "ifgo":
        layers[net + ".core.gate_" + g] = ("lstm_gate", 64)
check(set(f["layers"].keys()) == set(layers), "layers: %s" % sorted(f["layers"].keys()))
for name, (kind, units) in layers.items():
    d = f["layers"][name]
    check(d.shape == (N, units) and d.dtype == np.float32, name + " shape")
    check(d.attrs["type"] == kind and d.attrs["net"] == name.split(".")[0], name + " attrs")
    check(list(d.attrs["shape"]) == [units] and int(d.attrs["pooled"]) == 0, name + " shape attr")
    check(d.compression == "gzip" and d.compression_opts == 4 and d.shuffle, name + " filters")
variables = {"obs.state": ("sensation", 4), "action": ("action", 1),
             "policy.params": ("agent", 2), "value": ("agent", 1), "reward": ("task", 1),
             "done": ("task", 1), "joint_angles": ("task", 1), "joint_velocities": ("task", 1),
             "slide_positions": ("task", 1), "slide_velocities": ("task", 1)}
check(set(f["variables"].keys()) == set(variables), "variables: %s" % sorted(f["variables"]))
for name, (group, dim) in variables.items():
    d = f["variables"][name]
    check(d.shape == (N, dim) and d.dtype == np.float32, name + " shape")
    check(d.attrs["group"] == group and "units" in d.attrs, name + " attrs")
check(f["variables/joint_angles"].attrs["units"] == "rad", "units")
check(list(f["variables/joint_angles"].attrs["dim_names"]) == ["pole"], "dim_names")

# the index: episodes in order, steps from 0 within each, done on each episode's last step
ep, st = f["index/episode"][:], f["index/step"][:]
check(ep.shape == (N,) and st.shape == (N,) and ep.dtype == np.int32, "index shapes")
done = f["variables/done"][:, 0]
starts = np.flatnonzero(np.r_[True, ep[1:] != ep[:-1]])
check(list(ep[starts]) == [0, 1, 2], "episode order")
for s, e in zip(starts, list(starts[1:]) + [N]):
    check(list(st[s:e]) == list(range(e - s)), "step index")
    check(list(done[s:e]) == [0] * (e - s - 1) + [1], "done")
check(abs(f["variables/reward"][:].sum() / 3 - summary["mean"]) < 1e-6, "rewards and return")
# the layers are the step's: h = o * tanh(c), the pole angle is the observation's
h, c, o = (f["layers/policy.core." + k][:] for k in ("h", "c", "gate_o"))
check(np.abs(h - o * np.tanh(c)).max() < 1e-5, "lstm h")
check(np.array_equal(f["variables/joint_angles"][:, 0], f["variables/obs.state"][:, 2]), "angle")
print("h5py: %d steps, %d layers, %d variables" % (N, len(layers), len(variables)))
EOF
echo "ok: the recording follows the layout"

# deterministic recordings of the same seed are the same
expect_exit 0 "deterministic, seeded" "$BIN" --record-activations "$CK" --out "$W/d1.h5" \
    --episodes 2 --deterministic --seed 1234
expect_exit 0 "the same again" "$BIN" --record-activations "$CK" --out "$W/d2.h5" \
    --episodes 2 --deterministic --seed 1234
"$PY" - "$W/d1.h5" "$W/d2.h5" <<'EOF' || fail "two deterministic recordings differ"
import sys
import h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
assert int(a.attrs["seed"]) == 1234 and int(a.attrs["deterministic"]) == 1
for g in ("layers", "variables", "index"):
    for k in a[g]:
        assert np.array_equal(a[g][k][:], b[g][k][:]), k
EOF
echo "ok: deterministic recordings agree"

# ---- failures ----
expect_exit 2 "--episodes 0" "$BIN" --record-activations "$CK" --out "$W/e0.h5" --episodes 0
no_file "$W/e0.h5" "--episodes 0"
expect_exit 2 "missing checkpoint" "$BIN" --record-activations "$W/none.ckpt" --out "$W/m.h5"
grep -q "none.ckpt" "$W/err" || fail "missing checkpoint: message does not name it"
no_file "$W/m.h5" "missing checkpoint"

# the LSTM checkpoint with the feed-forward run's spec: a checkpoint of another model
"$PY" - "$CK" "$W/ff/run/checkpoints/last.ckpt" "$W/other.ckpt" <<'EOF' || fail "splicing failed"
import struct, sys, zlib
def sections(path):
    b = open(path, "rb").read()
    n = struct.unpack_from("<I", b, 12)[0]
    out = []
    for i in range(n):
        name, off, size = struct.unpack_from("<32sQQ", b, 24 + 48 * i)
        out.append((name.rstrip(b"\0"), b[off:off + size]))
    return out
lstm, ff = dict(sections(sys.argv[1])), dict(sections(sys.argv[2]))
order = [n for n, _ in sections(sys.argv[1])]
lstm[b"spec"] = ff[b"spec"]
pos = 24 + 48 * len(order)
table, blobs = b"", b""
for n in order:
    pos8 = (pos + 7) & ~7
    blobs += b"\0" * (pos8 - pos) + lstm[n]
    table += struct.pack("<32sQQ", n, pos8, len(lstm[n]))
    pos = pos8 + len(lstm[n])
body = b"ANGCKPT\0" + struct.pack("<IIQ", 1, len(order), pos + 4) + table + blobs
open(sys.argv[3], "wb").write(body + struct.pack("<I", zlib.crc32(body)))
EOF
expect_exit 2 "checkpoint of another model" "$BIN" --record-activations "$W/other.ckpt" \
    --out "$W/o.h5"
grep -qi "model" "$W/err" || fail "another model: message does not say so"
no_file "$W/o.h5" "checkpoint of another model"

echo x >"$W/afile"
expect_exit 1 "unwritable folder" "$BIN" --record-activations "$CK" --out "$W/afile/x.h5"
grep -q "cannot create" "$W/err" || fail "unwritable folder: unclear message"
no_file "$W/afile/x.h5" "unwritable folder"
expect_exit 1 "missing folder" "$BIN" --record-activations "$CK" --out "$W/none/x.h5"
grep -q "No such file" "$W/err" || fail "missing folder: unclear message"

# a full disk: the file cannot grow past 48 KiB
ENOSPC_SUFFIX=full.h5.part ENOSPC_LIMIT=49152 LD_PRELOAD=$PRELOAD \
    ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 \
    expect_exit 1 "full disk (injected)" "$BIN" --record-activations "$CK" --out "$W/full.h5" \
    --episodes 20
grep -q "No space left on device" "$W/err" || fail "full disk: message does not say so"
no_file "$W/full.h5" "full disk"
# and a real one, when a 64 KiB tmpfs can be mounted (root)
mkdir -p "$W/mnt"
if mount -t tmpfs -o size=64k tmpfs "$W/mnt" 2>/dev/null; then
    MNT=$W/mnt
    expect_exit 1 "full disk (tmpfs)" "$BIN" --record-activations "$CK" --out "$MNT/x.h5" \
        --episodes 20
    grep -q "No space left on device" "$W/err" || fail "tmpfs: message does not say so"
    no_file "$MNT/x.h5" "full tmpfs"
    umount "$MNT"
    MNT=""
else
    echo "skip: no tmpfs (not root); the injected full disk stands for it"
fi

# options in the wrong places, and a seed that would replay the run's own episodes
expect_exit 2 "--out alone" "$BIN" --evaluate "$CK" --out "$W/x.h5"
expect_exit 2 "--pool-conv alone" "$BIN" --evaluate "$CK" --pool-conv
expect_exit 2 "no --out" "$BIN" --record-activations "$CK"
expect_exit 2 "with --evaluate" "$BIN" --record-activations "$CK" --evaluate "$CK" --out "$W/x.h5"
expect_exit 2 "the training seed" "$BIN" --record-activations "$CK" --out "$W/s.h5" --seed 7
grep -q "training" "$W/err" || fail "training seed: unclear message"
no_file "$W/s.h5" "the training seed"
no_file "$W/x.h5" "options"
echo "all activation recording checks passed"
