#!/usr/bin/env bash
# angora-train with 2 MPI ranks: the batch doubles, rank 0 writes the files, two runs with the
# same seed agree, a 2-rank run stopped and resumed equals one straight through, and ranks that
# cannot share memory (Open MPI over TCP, the MPI path forced) give the same bits.
# usage: train_mpi.sh ANGORA_TRAIN MPIEXEC
# shellcheck source=tests/integration/train/common.sh
. "$(dirname "$0")/common.sh"
BIN=$1
MPIEXEC=$2
W=$(mktemp -d /tmp/angora-train-mpi-XXXXXX)
trap 'rm -rf "$W"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
MPI=("$MPIEXEC" --allow-run-as-root --oversubscribe -np 2)

echo '{"task": "CartPoleNoVel", "model": "simple_lstm", "policy": "categorical", "ranks": 2,
 "ppo": {"envs_per_rank": 4, "horizon": 64, "tbptt": 16, "minibatch": 256},
 "budget": {"env_steps": 2048}, "eval": {"every": 2, "episodes": 3}, "seed": 21}' >"$W/s.json"

"${MPI[@]}" "$BIN" "$W/s.json" --run-dir "$W/a" --quiet || fail "2-rank run"
[ "$(wc -l <"$W/a/metrics.jsonl")" -eq 4 ] || fail "expected 4 iterations of 512 steps"
[ "$(metric_last "$W/a/metrics.jsonl" env_steps)" = 2048 ] || fail "env_steps over ranks"
grep -q '"ranks":2' "$W/a/status.json" || fail "status does not say 2 ranks"
grep -q '"ranks": 2' "$W/a/spec.json" || fail "resolved spec does not say 2 ranks"
echo "ok: 2-rank run"

"${MPI[@]}" "$BIN" "$W/s.json" --run-dir "$W/b" --quiet 2>"$W/b.err" || fail "2-rank rerun"
metrics_learning "$W/a/metrics.jsonl" >"$W/a.m"
metrics_learning "$W/b/metrics.jsonl" >"$W/b.m"
cmp -s "$W/a.m" "$W/b.m" || fail "2-rank rerun differs"
echo "ok: 2-rank rerun identical"

"${MPI[@]}" "$BIN" "$W/s.json" --run-dir "$W/c" --quiet --stop-after 2 || fail "stopped run"
"${MPI[@]}" "$BIN" --run-dir "$W/c" --resume --quiet || fail "2-rank resume"
metrics_learning "$W/c/metrics.jsonl" >"$W/c.m"
cmp -s "$W/a.m" "$W/c.m" || fail "2-rank 2 + resume 2 differs from 4 straight"
echo "ok: 2-rank resume identical"

# a 1-rank run of the same spec sees other data: the rank count matters and is reported
"$BIN" "$W/s.json" --run-dir "$W/d" --quiet 2>"$W/d.err" || fail "1-rank run"
grep -q "running with 1" "$W/d.err" || fail "no warning about the rank count"
# resuming a 2-rank checkpoint with 1 rank is refused
cp -r "$W/c" "$W/e"
rm -f "$W/e/metrics.jsonl"
status_of "$BIN" --run-dir "$W/e" --resume --quiet 2>"$W/e.err"
rc=$?
[ "$rc" -eq 2 ] || fail "1-rank resume of a 2-rank checkpoint: exit $rc"
grep -q "ranks" "$W/e.err" || fail "message does not mention ranks"
echo "ok: rank-count mismatch refused"

# the ranks cannot share memory (Open MPI over TCP only) and the MPI path is forced: the result
# is the same to the bit as the shared-memory window's (run a), as on ranks on two machines
TCP=("$MPIEXEC" --allow-run-as-root --oversubscribe -np 2 --mca btl tcp,self
    -x ANGORA_GRAD_AVERAGE=mpi -x OPENBLAS_NUM_THREADS)
"${TCP[@]}" "$BIN" "$W/s.json" --run-dir "$W/f" >"$W/f.out" 2>"$W/f.err" || fail "2-rank run over TCP"
grep -q "gradient averaging over 2 ranks: mpi" "$W/f.err" ||
    fail "the MPI path was not used: $(grep -h 'gradient averaging' "$W/f.err" | head -2)"
grep -q "gradient averaging over 2 ranks: shared" "$W/b.err" ||
    fail "the default run did not use the shared window: $(grep -h 'gradient averaging' "$W/b.err" | head -2)"
metrics_learning "$W/f/metrics.jsonl" >"$W/f.m"
cmp -s "$W/a.m" "$W/f.m" || fail "MPI over TCP differs from the shared window"
echo "ok: MPI over TCP equals the shared window to the bit"
