#!/usr/bin/env bash
# bench/throughput.sh: the throughput benchmarks of docs/benchmarks.md, one after the other, so
# that their figures come from the same tree as the learning benchmark (bench/run.sh calls it;
# bench/report.sh renders what it writes). Steps:
#   engine         bench_nn: training passes against sgemm, inference, distributions, Adam
#   ppo            bench/bench_ppo.sh: angora-train steps/s at 1 and 2 ranks, CartPole, Pendulum
#   train-physics  bench/bench_train_physics.sh: training against raw physics per MuJoCo task
#   hand-physics   bench_physics --baseline: HandBlock's fast physics against the legacy setting
#   render         bench_render: HandBlock's pixels, frames/s before and now, tiled, with physics
#   grad           bench_grad: gradient averaging over 2 ranks, MPI_Allreduce against shared memory
#   daemon         bench_daemon: angorad ingestion, restart-to-ready, API requests/s under load
#   stream         the Check case tagged bench of unit_stream_stream: websocket latency, fan-out
#   analysis       bench_analysis: one decoding pass of angora-analyze, 100k steps x 512 units
#   record         bench_record: angora-train --record-activations against a plain evaluation
#
#   bench/throughput.sh OUTDIR [--build DIR] [--quick] [--only a,b] [--no-build]
#
# Each step writes OUTDIR/<name>.md (Markdown tables, included verbatim by the report),
# OUTDIR/<name>.json (the same tables as JSON) and its raw OUTDIR/<name>.out / .err. Every step's
# command, exit code and wall time go to OUTDIR/throughput.json, rewritten after each step. A
# failed step is recorded and the rest still run; the exit code is 0 only when every step
# passed (1 otherwise, 2 for bad options). --build (default build-release) is configured as a
# Release build if needed and the programs are brought up to date with the tree first, unless
# --no-build. --quick: fewer presets and shorter timings, a tenth of the PPO budgets, two
# MuJoCo tasks, 2 s per API endpoint. Run it on an otherwise idle machine for figures that
# mean something; OPENBLAS_NUM_THREADS=1 throughout.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

ALL_STEPS="engine,ppo,train-physics,hand-physics,render,grad,daemon,stream,analysis,record"
OUT=""
BUILD="$ROOT/build-release"
QUICK=0
ONLY=$ALL_STEPS
DO_BUILD=1
FAILED=""
CMDLINE="bench/throughput.sh $*"

usage() {
    grep -m1 '^#   bench/throughput.sh ' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case "$1" in
    --build | --only)
        [ $# -ge 2 ] || bench_die 2 "$1 needs a value"
        if [ "$1" = --build ]; then BUILD=$2; else ONLY=$2; fi
        shift
        ;;
    --quick) QUICK=1 ;;
    --no-build) DO_BUILD=0 ;;
    -h | --help)
        usage
        exit 0
        ;;
    -*)
        usage >&2
        bench_die 2 "unknown option '$1'"
        ;;
    *)
        [ -z "$OUT" ] || bench_die 2 "one output directory only (got '$OUT' and '$1')"
        OUT=$1
        ;;
    esac
    shift
done
[ -n "$OUT" ] || {
    usage >&2
    bench_die 2 "OUTDIR is required"
}
case "$ONLY" in
'' | ,* | *, | *,,*) bench_die 2 "--only must be a comma-separated list of steps ($ALL_STEPS), got '$ONLY'" ;;
esac
IFS=, read -r -a STEPS <<<"$ONLY"
for s in "${STEPS[@]}"; do
    bench_list_has "$ALL_STEPS" "$s" || bench_die 2 "--only: '$s' is not a step ($ALL_STEPS)"
done
for tool in jq awk timeout; do
    command -v "$tool" >/dev/null || bench_die 2 "$tool is needed"
done
if [ "$DO_BUILD" = 1 ]; then
    command -v cmake >/dev/null || bench_die 2 "cmake is needed (or --no-build with built programs)"
elif [ ! -d "$BUILD" ]; then
    bench_die 2 "--build $BUILD: no such directory"
fi
mkdir -p "$OUT" || bench_die 1 "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
BUILD=$(mkdir -p "$BUILD" && cd "$BUILD" && pwd)

TRAIN="$BUILD/server/train/angora-train"
export OPENBLAS_NUM_THREADS=1
export ANGORA_DATA_DIR="${ANGORA_DATA_DIR:-$BUILD/share/angora}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# a hung step must not hold the benchmark that calls this script
if [ "$QUICK" = 1 ]; then STEP_TIMEOUT=900; else STEP_TIMEOUT=3600; fi

# a path as the report shows it: relative to the repository when it is inside it
rel() {
    case "$1" in
    "$ROOT"/*) echo "${1#"$ROOT"/}" ;;
    *) echo "$1" ;;
    esac
}

# ---- the record ------------------------------------------------------------------------------
T_START=$(date +%s)
REC="$OUT/throughput.json"
bench_machine_json "$ROOT" "$([ "$QUICK" = 1 ] && echo quick || echo full)" "$CMDLINE" "$(date -u +%Y%m%dT%H%M%SZ)" |
    jq --arg build "$(rel "$BUILD")" --argjson built "$([ "$DO_BUILD" = 1 ] && echo true || echo false)" \
        '{commit, dirty, subject, date, mode, command, build: $build, built: $built,
          load_start, cpu, nproc, steps: [], passed: null}' >"$REC.tmp" ||
    bench_die 1 "cannot write $REC"
mv "$REC.tmp" "$REC"

record() { # name command exit_code wall_s started
    local status=failed
    [ "$3" = 0 ] && status=passed
    jq --arg n "$1" --arg c "$2" --argjson rc "$3" --argjson w "$4" --arg t "$5" --arg st "$status" \
        '.steps = [.steps[] | select(.name != $n)] + [{name: $n, command: $c, exit_code: $rc,
          wall_s: $w, started: $t, status: $st}]' "$REC" >"$REC.tmp" && mv "$REC.tmp" "$REC"
}

# Markdown tables on stdin -> {tables: [{title, columns, rows: [{column: value}]}]}; the title
# is the last line of text before the table, numbers become numbers
md_to_json() {
    jq -R -s '
      def cells: ltrimstr("|") | rtrimstr("|") | split("|") | map(gsub("^ +| +$"; ""));
      def val: if test("^-?[0-9]+(\\.[0-9]+)?$") then tonumber else . end;
      split("\n")
      | reduce .[] as $l ({tables: [], title: null, cur: null};
          if ($l | startswith("|")) then
            if .cur == null then .cur = {title: .title, columns: ($l | cells), rows: []}
            elif ($l | test("^\\|[-| :]+\\|$")) then .
            else .cur.rows += [[.cur.columns, ($l | cells)] | transpose
                               | map({key: .[0], value: ((.[1] // "") | val)}) | from_entries]
            end
          else
            (if .cur != null then .tables += [.cur] | .cur = null else . end)
            | if ($l | test("\\S")) then .title = ($l | rtrimstr(":")) else . end
          end)
      | (if .cur != null then .tables += [.cur] else . end) | {tables}'
}

# ---- formatters: raw output (stdin) -> Markdown (stdout); non-zero when it is not as expected
fmt_verbatim() { # the programs already print Markdown tables
    local text
    text=$(cat)
    grep -q '^|' <<<"$text" || return 1
    # consecutive lines of text are separate statements, not one paragraph
    awk '{ if (prev != "" && prev !~ /^\|/ && $0 != "" && $0 !~ /^\|/) print ""; print; prev = $0 }' <<<"$text"
}

fmt_daemon() {
    awk '
    /^populated:/ {
        # populated: 10000 experiments, 999910 metric rows; ingestion 52242 rows/s (19.14 s)
        exps = $2; rows = $4; rate = $8; secs = $10; sub(/^\(/, "", secs)
    }
    /^restart-to-ready with integrity_check:/ { on = $4 }
    /^restart-to-ready without integrity_check:/ { off = $4 }
    /^trainings running during the load:/ { trainings = $6 }
    /^GET / {
        # GET name ... N req/s  p50 X ms  p99 Y ms  max Z ms  (R requests, E errors, C clients)
        line = $0
        name = line; sub(/ +[0-9.]+ req\/s.*$/, "", name)
        rest = substr(line, length(name) + 1)
        n = split(rest, f, /[ (),]+/)
        for (i = 1; i <= n; i++) {
            if (f[i] == "req/s") rps = f[i - 1]
            if (f[i] == "p50") p50 = f[i + 1]
            if (f[i] == "p99") p99 = f[i + 1]
            if (f[i] == "max") mx = f[i + 1]
            if (f[i] == "requests") req = f[i - 1]
            if (f[i] == "errors") err = f[i - 1]
            if (f[i] == "clients") cl = f[i - 1]
        }
        ep[++neps] = sprintf("| %s | %s | %s | %s | %s | %s | %s | %s |", name, rps, p50, p99, mx, req, err, cl)
    }
    END {
        if (rate == "" || on == "" || off == "" || neps == 0) exit 1
        print "Database and start-up:"
        print ""
        print "| measure | value | unit |"
        print "|---|---|---|"
        printf "| experiments in the database | %s | |\n", exps
        printf "| metric rows in the database | %s | |\n", rows
        printf "| ingestion (90-row batches, JSON parse and key index included) | %s | rows/s |\n", rate
        printf "| ingestion time | %s | s |\n", secs
        printf "| restart-to-ready, integrity_check on | %s | s |\n", on
        printf "| restart-to-ready, integrity_check off | %s | s |\n", off
        printf "| trainings running during the API load | %s | |\n", trainings
        print ""
        print "API under load:"
        print ""
        print "| endpoint | requests/s | p50 ms | p99 ms | max ms | requests | errors | clients |"
        print "|---|---|---|---|---|---|---|---|"
        for (i = 1; i <= neps; i++) print ep[i]
    }'
}

fmt_stream() {
    awk '
    / commit -> receive: / {
        # WHAT: N samples, median X ms, p99 Y ms, max Z ms
        what = $0; sub(/: [0-9]+ samples.*$/, "", what); sub(/, commit -> receive$/, "", what)
        n = split($0, f, /[ ,:]+/)
        for (i = 1; i <= n; i++) {
            if (f[i] == "samples") s = f[i - 1]
            if (f[i] == "median") med = f[i + 1]
            if (f[i] == "p99") p = f[i + 1]
            if (f[i] == "max") mx = f[i + 1]
        }
        lat[++nl] = sprintf("| %s | %s | %s | %s | %s |", what, s, med, p, mx)
    }
    /^burst: [0-9]+ rows stored/ {
        # burst: 2000 rows stored in X s; all 200 subscribers had them after Y s (Z row deliveries/s)
        brows = $2; stored = $6; subs = $9; after = $14; rate = $16; sub(/^\(/, "", rate)
    }
    /^burst CPU:/ { srv = $5; cli = $9 }
    END {
        if (nl == 0 || brows == "" || srv == "") exit 1
        print "Latency, row committed -> subscriber has parsed it:"
        print ""
        print "| phase | samples | median ms | p99 ms | max ms |"
        print "|---|---|---|---|---|"
        for (i = 1; i <= nl; i++) print lat[i]
        print ""
        printf "Fan-out burst, %s rows to %s subscribers:\n", brows, subs
        print ""
        print "| measure | value | unit |"
        print "|---|---|---|"
        printf "| rows stored (batches of 50) | %s | s |\n", stored
        printf "| until every subscriber had every row | %s | s |\n", after
        printf "| row deliveries | %s | per s |\n", rate
        printf "| server thread CPU | %s | s |\n", srv
        printf "| server thread CPU per delivered row | %.2f | us |\n", srv * 1e6 / (brows * subs)
        printf "| test client thread CPU | %s | s |\n", cli
    }'
}

# ---- the steps -------------------------------------------------------------------------------
# step_<name> sets CMD (the command), FMT (its formatter) and NEEDS (build targets)
step_engine() {
    NEEDS=(bench_nn)
    CMD=("$BUILD/bench/bench_nn")
    [ "$QUICK" = 1 ] && CMD+=(--presets "simple,wider" --batches "64,512" --min-time 0.2)
    FMT=fmt_verbatim
}
step_ppo() {
    NEEDS=(angora-train)
    CMD=("$HERE/bench_ppo.sh")
    [ "$QUICK" = 1 ] && CMD+=(--quick)
    CMD+=("$BUILD")
    FMT=fmt_verbatim
}
step_train-physics() {
    NEEDS=(angora-train bench_physics)
    CMD=("$HERE/bench_train_physics.sh" --build "$BUILD")
    # runs of a few seconds vary by several per cent on a shared machine: the best of three
    if [ "$QUICK" = 1 ]; then
        CMD+=(--tasks "Hopper,HandReach" --steps 16384 --physics-seconds 1)
    else
        CMD+=(--repeat 3)
    fi
    FMT=fmt_verbatim
}
step_hand-physics() {
    NEEDS=(bench_physics)
    CMD=("$BUILD/bench/bench_physics" --task HandBlock --baseline '{"physics":"legacy"}')
    if [ "$QUICK" = 1 ]; then CMD+=(--seconds 1 --rounds 1); else CMD+=(--seconds 3 --rounds 3); fi
    FMT=fmt_verbatim
}
step_render() {
    NEEDS=(bench_render)
    CMD=("$BUILD/bench/bench_render" --envs "8,64" --tiles 64)
    if [ "$QUICK" = 1 ]; then CMD+=(--seconds 0.5 --rounds 1); else CMD+=(--seconds 2 --rounds 3); fi
    FMT=fmt_verbatim
}
step_grad() {
    NEEDS=(bench_grad)
    CMD=("$(command -v mpirun || echo mpirun)" --allow-run-as-root -np 2 --bind-to core
        "$BUILD/bench/bench_grad")
    [ "$QUICK" = 1 ] && CMD+=(--calls 300)
    FMT=fmt_verbatim
}
step_daemon() {
    NEEDS=(angorad angora-train bench_daemon)
    CMD=("$BUILD/tests/integration/bench_daemon" "$BUILD/server/daemon/angorad" "$TRAIN")
    if [ "$QUICK" = 1 ]; then CMD+=(2 4); else CMD+=(8 4); fi
    FMT=fmt_daemon
}
step_stream() {
    NEEDS=(unit_stream_stream)
    CMD=(env CK_INCLUDE_TAGS=bench "$BUILD/tests/unit/stream/unit_stream_stream")
    FMT=fmt_stream
}
step_analysis() {
    NEEDS=(bench_analysis)
    CMD=("$BUILD/bench/bench_analysis")
    [ "$QUICK" = 1 ] && CMD+=(--steps 20000)
    FMT=fmt_verbatim
}

step_record() {
    NEEDS=(bench_record)
    CMD=("$BUILD/bench/bench_record" --dir "$OUT")
    [ "$QUICK" = 1 ] && CMD+=(--episodes 50 --rounds 2)
    FMT=fmt_verbatim
}

# ---- build -----------------------------------------------------------------------------------
if [ "$DO_BUILD" = 1 ]; then
    targets=()
    for s in "${STEPS[@]}"; do
        "step_$s"
        targets+=("${NEEDS[@]}")
    done
    mapfile -t targets < <(printf '%s\n' "${targets[@]}" | sort -u)
    BLOG="$OUT/build.log"
    t0=$(date +%s.%N)
    started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    rc=0
    echo "throughput: building ${targets[*]} in $(rel "$BUILD")"
    if [ ! -f "$BUILD/CMakeCache.txt" ]; then
        cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$BLOG" 2>&1 || rc=$?
    fi
    # target by target: a step whose programs fail to build fails, the others still run
    if [ "$rc" = 0 ]; then
        for t in "${targets[@]}"; do
            cmake --build "$BUILD" --target "$t" -j"$(nproc)" >>"$BLOG" 2>&1 || rc=$?
        done
    fi
    record build "cmake --build $(rel "$BUILD") --target ${targets[*]}" "$rc" \
        "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" "$started"
    if [ "$rc" != 0 ]; then
        FAILED=build
        echo "throughput: the build failed (see $BLOG); steps without their programs will fail" >&2
    fi
fi

# ---- run -------------------------------------------------------------------------------------
for s in "${STEPS[@]}"; do
    "step_$s"
    rm -f "$OUT/$s.md" "$OUT/$s.json"
    shown="OPENBLAS_NUM_THREADS=1"
    case "$s" in
    daemon | stream) shown+=" ANGORA_DATA_DIR=$(rel "$ANGORA_DATA_DIR")" ;;
    esac
    # `env VAR=...` shows as a plain assignment, the way one would type it
    for a in "${CMD[@]}"; do
        [ "$a" = env ] || shown+=" $(rel "$a")"
    done
    printf 'throughput: %-14s ... ' "$s"
    started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    t0=$(date +%s.%N)
    rc=0
    timeout --kill-after=30 "$STEP_TIMEOUT" "${CMD[@]}" </dev/null >"$OUT/$s.out" 2>"$OUT/$s.err" || rc=$?
    wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    if [ "$rc" = 0 ]; then
        # a run that exits 0 but prints no table has failed all the same
        if "$FMT" <"$OUT/$s.out" >"$OUT/$s.md" && md_to_json <"$OUT/$s.md" >"$OUT/$s.json"; then
            echo "done in $wall s"
        else
            rc=1
            echo "unexpected output" >>"$OUT/$s.err"
        fi
    fi
    if [ "$rc" != 0 ]; then
        rm -f "$OUT/$s.md" "$OUT/$s.json"
        FAILED+="${FAILED:+ }$s"
        echo "FAILED (exit $rc after $wall s; see $(rel "$OUT/$s.err"))"
    fi
    record "$s" "$shown" "$rc" "$wall" "$started"
done

jq --argjson d "$(($(date +%s) - T_START))" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
    '.duration_s = $d | .load_end = $load | .passed = ([.steps[].status] | all(. == "passed"))' \
    "$REC" >"$REC.tmp" && mv "$REC.tmp" "$REC"
if [ -n "$FAILED" ]; then
    echo "throughput: failed: $FAILED ($(($(date +%s) - T_START)) s in all)" >&2
    exit 1
fi
echo "throughput: all steps passed in $(($(date +%s) - T_START)) s -> $(rel "$OUT")"
