#!/usr/bin/env bash
# End-to-end PPO throughput of angora-train (collection + updates, wall clock) at 1 and 2
# ranks, on CartPole with the simple 64-64 model (8 envs x 128 steps per rank, 4 epochs,
# 4 minibatches) and on Pendulum; prints env steps/s and where the time goes, from the
# per-iteration timings angora-train writes to metrics.jsonl. Not run by CI.
# usage: bench/bench_ppo.sh [BUILD_DIR]   (a Release build: cmake -DCMAKE_BUILD_TYPE=Release)
set -eu
BUILD=${1:-build}
BIN=$BUILD/server/train/angora-train
[ -x "$BIN" ] || { echo "no $BIN; build angora-train first" >&2; exit 2; }
W=$(mktemp -d /tmp/angora-bench-ppo-XXXXXX)
trap 'rm -rf "$W"' EXIT
export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

spec() { # task policy ranks steps
    local mb=$((256 * $3))
    [ "$1" = Pendulum ] && mb=$((400 * $3))
    local horizon=128
    [ "$1" = Pendulum ] && horizon=200
    cat <<EOS
{"name": "bench-$1-$3", "task": "$1", "model": "simple", "policy": "$2", "ranks": $3,
 "ppo": {"envs_per_rank": 8, "horizon": $horizon, "epochs": 4, "minibatch": $mb},
 "budget": {"env_steps": $4}, "eval": {"every": 0}, "seed": 1}
EOS
}

# sums of the timing fields over all iterations but the first (warm-up)
report() { # label metrics wall_s ranks
    awk -v label="$1" -v wall="$3" -v ranks="$4" '
    function field(name,   m) {
        if (match($0, "\"" name "\":[-0-9.eE+]*")) {
            return substr($0, RSTART + length(name) + 3, RLENGTH - length(name) - 3) + 0
        }
        return 0
    }
    NR == 1 { s0 = field("env_steps"); w0 = field("wall_s"); next }
    {
        steps = field("env_steps") - s0; w = field("wall_s") - w0
        c += field("collect_s"); u += field("update_s"); e += field("env_s")
        i += field("inference_s"); f += field("forward_s"); b += field("backward_s")
        a += field("allreduce_s"); o += field("optimizer_s")
    }
    END {
        tot = c + u
        printf "%-22s %9.0f steps/s total  %9.0f per rank  (process wall %.2f s)\n", label, \
            steps / w, steps / w / ranks, wall
        printf "    rank 0 time: collect %.1f%% (env %.1f%%, inference %.1f%%), update %.1f%% " \
            "(forward %.1f%%, backward %.1f%%, allreduce %.1f%%, optimizer %.1f%%)\n", \
            100 * c / w, 100 * e / w, 100 * i / w, 100 * u / w, 100 * f / w, 100 * b / w, \
            100 * a / w, 100 * o / w
    }' "$2"
}

run() { # task policy ranks steps
    spec "$@" >"$W/s.json"
    local dir="$W/run-$1-$3"
    local start end cpu
    start=$(date +%s.%N)
    # CPU seconds of the ranks (user + system): a figure the other load on the machine
    # disturbs less than wall clock (MPI's busy waiting counts as CPU time)
    TIMEFORMAT='%U %S'
    if [ "$3" -eq 1 ]; then
        cpu=$({ time "$BIN" "$W/s.json" --run-dir "$dir" --quiet; } 2>&1 | tail -n 1)
    else
        cpu=$({ time mpirun --allow-run-as-root --oversubscribe -np "$3" --bind-to core "$BIN" \
            "$W/s.json" --run-dir "$dir" --quiet; } 2>&1 | tail -n 1)
    fi
    end=$(date +%s.%N)
    report "$1 x$3 ranks" "$dir/metrics.jsonl" "$(awk -v a="$start" -v b="$end" \
        'BEGIN { print b - a }')" "$3"
    awk -v c="$cpu" -v steps="$4" 'BEGIN { split(c, p, " "); t = p[1] + p[2];
        printf "    CPU time %.2f s: %.0f steps per CPU-second (whole run, start-up included)\n", t,
        steps / t }'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
run CartPole categorical 1 1000000
run CartPole categorical 2 2000000
run Pendulum gaussian 1 400000
run Pendulum gaussian 2 800000
