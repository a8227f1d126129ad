#!/usr/bin/env bash
# End-to-end PPO throughput of angora-train (collection + updates, wall clock) at 1 and 2
# ranks, on CartPole with the simple 64-64 model (8 envs x 128 steps per rank, 4 epochs,
# 4 minibatches) and on Pendulum; prints a Markdown table of env steps/s and where the time
# goes, from the per-iteration timings angora-train writes to metrics.jsonl. Not run by CI.
# usage: bench/bench_ppo.sh [--quick] [BUILD_DIR]   (a Release build: cmake -DCMAKE_BUILD_TYPE=Release)
# --quick trains a tenth of the budgets (CartPole 100k steps per rank, Pendulum 40k).
set -euo pipefail
BUILD=build
DIV=1
while [ $# -gt 0 ]; do
    case $1 in
    --quick) DIV=10 ;;
    -h | --help) sed -n '6,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench_ppo: unknown option $1" >&2; exit 2 ;;
    *) BUILD=$1 ;;
    esac
    shift
done
BIN=$BUILD/server/train/angora-train
[ -x "$BIN" ] || { echo "bench_ppo: no $BIN; build angora-train first" >&2; exit 2; }
command -v mpirun >/dev/null || { echo "bench_ppo: mpirun is needed for the 2-rank runs" >&2; exit 2; }
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

# sums of the timing fields over all iterations but the first (warm-up), as one line:
# steps/s, then the shares of rank 0's wall time: collect env inference update forward
# backward allreduce optimizer (percent)
shares() { # metrics
    awk '
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
        if (w <= 0) { exit 1 }
        printf "%.0f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f\n", steps / w, 100 * c / w,
            100 * e / w, 100 * i / w, 100 * u / w, 100 * f / w, 100 * b / w, 100 * a / w,
            100 * o / w
    }' "$1"
}

declare -A ONE_RANK
run() { # task policy ranks steps
    spec "$@" >"$W/s.json"
    local dir="$W/run-$1-$3" start end cpu wall s sps c e i u f b a o cpu_sps scale="" TIMEFORMAT='%U %S'
    start=$(date +%s.%N)
    # CPU seconds of the ranks (user + system): a figure the other load on the machine
    # disturbs less than wall clock (MPI's busy waiting counts as CPU time)
    local cmd=("$BIN" "$W/s.json" --run-dir "$dir" --quiet)
    if [ "$3" -gt 1 ]; then
        cmd=(mpirun --allow-run-as-root --oversubscribe -np "$3" --bind-to core "${cmd[@]}")
    fi
    if ! { time "${cmd[@]}" >"$W/log" 2>&1; } 2>"$W/time"; then
        echo "bench_ppo: $1 at $3 ranks failed:" >&2
        tail -n 5 "$W/log" >&2
        exit 1
    fi
    cpu=$(tail -n 1 "$W/time")
    end=$(date +%s.%N)
    s=$(shares "$dir/metrics.jsonl") || { echo "bench_ppo: $1 at $3 ranks wrote too few iterations" >&2; exit 1; }
    read -r sps c e i u f b a o <<<"$s"
    wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
    cpu_sps=$(awk -v c="$cpu" -v steps="$4" 'BEGIN { split(c, p, " "); printf "%.0f", steps / (p[1] + p[2]) }')
    if [ "$3" -eq 1 ]; then
        ONE_RANK[$1]=$sps
    elif [ -n "${ONE_RANK[$1]:-}" ]; then
        scale=$(awk -v a="${ONE_RANK[$1]}" -v b="$sps" 'BEGIN { printf "%.2fx", b / a }')
    fi
    printf '| %s, %d rank%s | %s | %s | %s | %s | %s | %s%% | %s%% / %s%% | %s%% | %s%% / %s%% / %s%% / %s%% |\n' \
        "$1" "$3" "$([ "$3" -gt 1 ] && echo s)" "$sps" "$((sps / $3))" "${scale:--}" "$cpu_sps" \
        "$wall" "$c" "$e" "$i" "$u" "$f" "$b" "$a" "$o"
}

echo "| run | env steps/s (total) | per rank | 2 ranks / 1 rank | steps per CPU-second | process wall s | collect | env / inference | update | forward / backward / allreduce / optimizer |"
echo "|---|---|---|---|---|---|---|---|---|---|"
run CartPole categorical 1 $((1000000 / DIV))
run CartPole categorical 2 $((2000000 / DIV))
run Pendulum gaussian 1 $((400000 / DIV))
run Pendulum gaussian 2 $((800000 / DIV))
