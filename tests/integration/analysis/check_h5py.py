#!/usr/bin/env python3
"""Reads a recording written by angora's HDF5 writer with h5py (an independent reader) and checks
names, shapes, types, attributes, storage filters and values against the layout of
docs/analysis.md and the values an_test_write_small writes (tests/unit/analysis/an_test_util.h).

usage: check_h5py.py FILE.h5 EPISODES STEPS_PER_EPISODE   (exit 0 when everything holds)"""
import sys

import h5py
import numpy as np


def check(cond, what):
    if not cond:
        print("FAIL:", what, file=sys.stderr)
        sys.exit(1)
    print("ok:", what)


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def main():
    path, e, l = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    n = e * l
    rows = np.arange(n, dtype=np.float64)
    with h5py.File(path, "r") as f:
        a = f.attrs
        check(text(a["format"]) == "angora-activations", "format")
        check(a["format_version"] == 1 and a["format_version"].dtype == np.int32, "format_version int32 1")
        check(a["complete"] == 1 and a["complete"].dtype == np.int32, "complete int32 1")
        check(a["episodes"] == e and a["episodes"].dtype == np.int32, "episodes int32")
        check(a["steps"] == n and a["steps"].dtype == np.int64, "steps int64")
        check(a["deterministic"] == 1, "deterministic")
        check(a["seed"] == 2**64 - 1 and a["seed"].dtype == np.uint64, "seed uint64")
        check(text(a["task"]) == "HandReach", "task")
        check(text(a["spec"]) == '{"task": "HandReach"}', "spec JSON text")
        check(text(a["model"]) == '{"preset": "wider_lstm"}', "model JSON text")
        check(text(a["checkpoint"]) == "/runs/7/checkpoints/best.ckpt", "checkpoint")
        check(text(a["checkpoint_sha256"]) == "ab12", "checkpoint_sha256")
        check(text(a["created"]) == "2026-01-02T03:04:05Z", "created")

        ep, st = f["/index/episode"], f["/index/step"]
        check(ep.shape == (n,) and ep.dtype == np.int32, "index/episode int32 [N]")
        check(st.shape == (n,) and st.dtype == np.int32, "index/step int32 [N]")
        check(np.array_equal(ep[:], np.repeat(np.arange(e), l)), "episode numbers")
        check(np.array_equal(st[:], np.tile(np.arange(l), e)), "step numbers")

        check(sorted(f["/layers"].keys()) == ["policy.core.h", "value.trunk.0.dense"], "layer names")
        check(sorted(f["/variables"].keys()) == ["obs.goal", "reward"], "variable names")
        expected = {
            "/layers/policy.core.h": (4, lambda c: 0.5 * rows + c),
            "/layers/value.trunk.0.dense": (3, lambda c: -rows + 0.25 * c),
            "/variables/obs.goal": (2, lambda c: (np.arange(n) % 7) + 0.1 * c),
            "/variables/reward": (1, lambda c: 0.01 * rows),
        }
        for name, (cols, value) in expected.items():
            d = f[name]
            check(d.shape == (n, cols) and d.dtype == np.float32, f"{name} float32 [{n}, {cols}]")
            check(d.compression == "gzip" and d.compression_opts == 4 and d.shuffle,
                  f"{name} deflate 4 with shuffle")
            check(d.chunks is not None and d.chunks[1] == cols, f"{name} chunked along rows")
            want = np.stack([value(c) for c in range(cols)], axis=1).astype(np.float32)
            check(np.array_equal(d[:], want), f"{name} values")

        h = f["/layers/policy.core.h"].attrs
        check(text(h["type"]) == "lstm_h" and text(h["net"]) == "policy", "layer type and net")
        check(list(h["shape"]) == [4] and h["shape"].dtype == np.int32, "layer shape int32 [4]")
        check(h["pooled"] == 0, "layer pooled")
        g = f["/variables/obs.goal"].attrs
        check(text(g["group"]) == "task" and text(g["units"]) == "m", "variable group and units")
        check([text(x) for x in g["dim_names"]] == ["x", "y"], "variable dim_names")
        check("dim_names" not in f["/variables/reward"].attrs, "no dim_names when none given")
    return 0


if __name__ == "__main__":
    sys.exit(main())
