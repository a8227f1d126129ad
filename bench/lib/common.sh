# bench/lib/common.sh: helpers shared by bench/run.sh and bench/report.sh (sourced, not run).
# shellcheck shell=bash

# print "bench: MESSAGE" on stderr and exit with CODE (2 bad input, 1 runtime failure)
bench_die() { # code message
    echo "bench: $2" >&2
    exit "$1"
}

# true when $1 is a whole number in [$2, $3]
bench_is_count() { # value min max
    case "$1" in
    '' | *[!0-9]*) return 1 ;;
    esac
    [ "${#1}" -le 9 ] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}

# true when the comma-separated list $1 holds the item $2
bench_list_has() { # list item
    case ",$1," in
    *",$2,"*) return 0 ;;
    esac
    return 1
}

# the machine, the commit and the command of a benchmark run, as JSON on stdout
bench_machine_json() { # root mode cmdline stamp
    local root=$1 commit dirty cpu
    commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
    # other people's uncommitted work is in the tree too; say so next to the commit
    if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
        dirty=true
    else
        dirty=false
    fi
    cpu=$(lscpu 2>/dev/null | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); print $2; exit}')
    jq -n --arg mode "$2" --arg cmd "$3" --arg stamp "$4" --arg commit "$commit" \
        --argjson dirty "$dirty" --arg subject "$(git -C "$root" log -1 --format=%s 2>/dev/null | cut -c1-100)" \
        --arg cpu "${cpu:-unknown}" --argjson nproc "$(nproc)" \
        --arg mem "$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)" \
        --arg kernel "$(uname -sr)" --arg os "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")" \
        --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg date "$(date -u '+%Y-%m-%d %H:%M UTC')" \
        --arg blas "$(dpkg-query -W -f '${Version}' libopenblas0-pthread 2>/dev/null || dpkg-query -W -f '${Version}' libopenblas0 2>/dev/null || echo unknown)" \
        --arg mujoco "$(dpkg-query -W -f '${Version}' libmujoco2.2.2 2>/dev/null || echo unknown)" \
        --arg cc "$(cc --version 2>/dev/null | head -1)" \
        '{mode: $mode, command: $cmd, stamp: $stamp, date: $date, commit: $commit,
          dirty: $dirty, subject: $subject, cpu: $cpu, nproc: $nproc, memory: $mem,
          kernel: $kernel, os: $os, load_start: $load, openblas: $blas, mujoco: $mujoco,
          compiler: $cc}'
}

# an identifier of the code a training run executes (the trees of common/, server/ and the build
# files at HEAD, plus "+dirty" when the tree has changes there): runs of different commits with
# the same identifier ran the same trainer
bench_code_id() { # root
    local root=$1 id
    id=$(git -C "$root" rev-parse HEAD:common HEAD:server HEAD:CMakeLists.txt HEAD:cmake 2>/dev/null |
        sha1sum | cut -c1-12) || id=unknown
    if [ -n "$(git -C "$root" status --porcelain --untracked-files=no -- common server CMakeLists.txt cmake 2>/dev/null)" ]; then
        id="$id+dirty"
    fi
    echo "$id"
}

# Seeds. A training run uses its spec's seed s (1..N for the benchmark, 100 and up for tuning,
# always below 2^62); its periodic evaluations use s ^ 0x9e3779b97f4a7c15 (TRAIN_EVAL_SEED_MIX of
# server/train/train_commands.h), whose top bit is set. The final evaluation of a finished run uses
# 2^62 + s: top bits 01, so it equals no training seed (top bits 00) and no periodic-evaluation
# seed (top bit 1) of any run, and it fits the signed 64-bit number angora-train's --seed reads.
# All three are printed as exact unsigned decimals (records keep them as strings: jq's numbers
# are doubles).
BENCH_EVAL_SEED_MIX=0x9e3779b97f4a7c15
BENCH_FINAL_SEED_BASE=4611686018427387904 # 2^62
bench_periodic_eval_seed() {              # training seed
    printf '%u\n' "$(($1 ^ BENCH_EVAL_SEED_MIX))"
}
bench_final_eval_seed() { # training seed
    bench_is_count "$1" 0 999999999 || return 1
    printf '%u\n' "$((BENCH_FINAL_SEED_BASE + $1))"
}
