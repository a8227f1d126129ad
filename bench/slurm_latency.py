#!/usr/bin/env python3
"""bench/slurm_latency.py: what handing runs to Slurm costs against starting them locally.

Starts a one-node Slurm cluster on localhost (tests/integration/slurm/cluster.sh, as root) and
angorad twice, once per executor, each on its own data directory, with a stand-in trainer that
does no training: every 0.2 s it appends a metric row stamped with the wall-clock time it was
written, and every row carries the time the trainer process started. For RUNS runs of ITERS rows
per executor, one at a time, it records

  submit -> trainer started   POST /api/v1/experiments answered, to the trainer's start stamp
  submit -> first row stored  POST answered, to the first row served by the API
  ingestion latency           a row appended to metrics.jsonl, to the row served by the API
                              (the API is polled every POLL_S; that much is in every figure)

and prints a Markdown table (median, 90th percentile, max) for docs/benchmarks.md. The daemon's
own periods are its defaults (ingest 0.2 s, queue 0.2 s, tick 0.2 s) and slurm_poll_seconds 2.
Everything started is stopped by its PID at the end.

  bench/slurm_latency.py --build build/rel [--runs 10] [--iters 10]
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLUSTER = os.path.join(ROOT, "tests", "integration", "slurm", "cluster.sh")
POLL_S = 0.02

# the stand-in trainer: angora-train's command line and files, rows stamped with wall time
STAMP_TRAINER = r"""#!/bin/sh
# bench/slurm_latency.py's stand-in for angora-train: ITERS rows, 0.2 s apart, no training
case "$1" in
--list-tasks) echo '[{"name":"CartPole"}]'; exit 0 ;;
--check) echo '{"valid":true,"message":null,"path":null}'; exit 0 ;;
esac
run_dir=$3
started=$(date +%s.%N)
mkdir -p "$run_dir/checkpoints"
i=1
while [ $i -le __ITERS__ ]; do
    sleep 0.2
    echo "{\"iteration\":$i,\"env_steps\":$i,\"t_started\":$started,\"t_written\":$(date +%s.%N)}" \
        >>"$run_dir/metrics.jsonl"
    i=$((i + 1))
done
echo '{"state":"done"}' >"$run_dir/status.json"
exit 0
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Daemon:
    def __init__(self, angorad, trainer, executor, root):
        self.dir = tempfile.mkdtemp(prefix=f"angora-bench-{executor}-", dir=root)
        port_file = os.path.join(self.dir, "port")
        log = open(os.path.join(self.dir, "angorad.log"), "w")
        self.proc = subprocess.Popen(
            [angorad, "--data-dir", self.dir, "--port", "0", "--port-file", port_file,
             "--trainer", trainer, "--executor", executor, "--stream-port", "-1",
             "--integrity-check", "no"], stdout=log, stderr=log)
        deadline = time.time() + 20
        while not os.path.exists(port_file) or not open(port_file).read().strip():
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"angorad did not start (see {self.dir}/angorad.log)")
            time.sleep(0.02)
        self.base = f"http://127.0.0.1:{open(port_file).read().strip()}/api/v1"
        self.token = open(os.path.join(self.dir, "token")).read().strip()

    def call(self, method, path, body=None):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def one_run(d, iters):
    """times of one run: (submit->started, submit->first row, [ingestion latencies])"""
    spec = {"task": "CartPole", "name": "latency", "budget": {"env_steps": iters}}
    t_submit = time.time()
    exp = d.call("POST", "/experiments", spec)
    seen, lat, first_row = 0, [], None
    started = None
    deadline = time.time() + 120 + iters
    while seen < iters:
        if time.time() > deadline:
            raise RuntimeError(f"experiment {exp['id']}: {seen} of {iters} rows after 120 s")
        rows = d.call("GET", f"/experiments/{exp['id']}/metrics/export?format=json"
                             f"&after_seq={seen}")["rows"]
        now = time.time()
        for row in rows:
            row = row.get("row", row)
            lat.append(now - float(row["t_written"]))
            started = float(row["t_started"])
            if first_row is None:
                first_row = now
        seen += len(rows)
        time.sleep(POLL_S)
    while d.call("GET", f"/experiments/{exp['id']}")["state"] not in ("succeeded", "failed"):
        time.sleep(0.05)
    return started - t_submit, first_row - t_submit, lat


def summary(xs):
    xs = sorted(xs)
    p90 = xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]
    return f"{statistics.median(xs) * 1000:.0f} | {p90 * 1000:.0f} | {xs[-1] * 1000:.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build/rel")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--iters", type=int, default=10)
    a = ap.parse_args()
    angorad = os.path.abspath(os.path.join(a.build, "server", "daemon", "angorad"))
    if not os.access(angorad, os.X_OK):
        sys.exit(f"slurm_latency: no {angorad} (build the angorad target)")
    root = tempfile.mkdtemp(prefix="angora-bench-slurm-")
    os.chmod(root, 0o755)
    cluster_dir = os.path.join(root, "cluster")
    trainer = os.path.join(root, "stamp-trainer.sh")
    with open(trainer, "w") as f:
        f.write(STAMP_TRAINER.replace("__ITERS__", str(a.iters)))
    os.chmod(trainer, 0o755)
    os.environ.update(SLURM_TEST_CTLD_PORT=str(free_port()), SLURM_TEST_SLURMD_PORT=str(free_port()),
                      SLURM_CONF=os.path.join(cluster_dir, "slurm.conf"))
    results = {}
    daemons = []
    try:
        subprocess.run([CLUSTER, "start", cluster_dir], check=True, stdout=sys.stderr)
        for executor in ("local", "slurm"):
            d = Daemon(angorad, trainer, executor, root)
            daemons.append(d)
            starts, firsts, lats = [], [], []
            for _ in range(a.runs):
                s, f, l = one_run(d, a.iters)
                starts.append(s)
                firsts.append(f)
                lats += l
            results[executor] = (starts, firsts, lats)
            d.stop()
            daemons.remove(d)
    finally:
        for d in daemons:
            d.stop()
        subprocess.run([CLUSTER, "stop", cluster_dir], stdout=sys.stderr)
        shutil.rmtree(root, ignore_errors=True)
    print(f"{a.runs} runs of {a.iters} rows per executor, milliseconds; "
          f"the API polled every {POLL_S * 1000:.0f} ms\n")
    print("| executor | submit -> trainer started: median | p90 | max "
          "| submit -> first row stored: median | p90 | max "
          "| ingestion (row written -> served): median | p90 | max |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for executor, (starts, firsts, lats) in results.items():
        print(f"| {executor} | {summary(starts)} | {summary(firsts)} | {summary(lats)} |")


if __name__ == "__main__":
    main()
