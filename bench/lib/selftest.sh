#!/usr/bin/env bash
# bench/lib/selftest.sh: checks of the benchmark tooling itself: bench/run.sh refuses bad
# options and plans what it promises; bench/report.sh computes the tables (mean and spread over
# seeds, anchors and verdicts, Gaussian vs Beta, scaling) from a results directory made here
# with known numbers, renders its throughput part from fixture files (and says when it was not
# run) without hand-written fragments, and refuses broken input; bench/throughput.sh
# refuses bad options and records failed steps. With an angora-train given, every committed
# bench spec must also be accepted by it, and a short real throughput step must pass.
#
#   bench/lib/selftest.sh [PATH/TO/angora-train]      exit 0 when every check passes
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH=$(dirname "$HERE")
ROOT=$(dirname "$BENCH")
TRAIN=${1:-}
W=$(mktemp -d "${TMPDIR:-/tmp}/angora-bench-selftest-XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$W"' EXIT
FAILS=0
CHECKS=0

ok() { CHECKS=$((CHECKS + 1)); }
fail() {
    CHECKS=$((CHECKS + 1))
    FAILS=$((FAILS + 1))
    echo "FAIL: $*" >&2
}
# expect_exit CODE PATTERN CMD...: CMD exits with CODE and says PATTERN on stderr
expect_exit() {
    local want=$1 pat=$2 rc=0
    shift 2
    "$@" >"$W/out" 2>"$W/err" || rc=$?
    if [ "$rc" != "$want" ]; then
        fail "$* exited $rc, expected $want ($(head -c 200 "$W/err"))"
    elif ! grep -q -- "$pat" "$W/err"; then
        fail "$*: stderr lacks '$pat': $(head -c 200 "$W/err")"
    else
        ok
    fi
}
# has FILE TEXT: FILE holds the exact line fragment TEXT
has() {
    if grep -Fq -- "$2" "$1"; then ok; else fail "$(basename "$1") lacks: $2"; fi
}

# ---- run.sh options ----
RUN="$BENCH/run.sh"
expect_exit 2 "unknown option '--bogus'" "$RUN" --bogus
expect_exit 2 "--seeds must be a whole number" "$RUN" --seeds 0 --dry-run
expect_exit 2 "--seeds must be a whole number" "$RUN" --seeds abc --dry-run
expect_exit 2 "--seeds must be a whole number" "$RUN" --seeds 101 --dry-run
expect_exit 2 "--episodes must be a whole number" "$RUN" --episodes 0 --dry-run
expect_exit 2 "--tasks must be a comma-separated list" "$RUN" --tasks 'a,,b' --dry-run
expect_exit 2 "--tasks must be a comma-separated list" "$RUN" --tasks 'Hopper;rm' --dry-run
expect_exit 2 "'NoSuchTask' is not a task" "$RUN" --tasks CartPole,NoSuchTask --dry-run
expect_exit 2 "--seeds needs a value" "$RUN" --seeds
expect_exit 2 "--jobs must be a whole number" "$RUN" --jobs 0 --dry-run
expect_exit 2 "--jobs must be a whole number" "$RUN" --jobs "$(($(nproc) + 1))" --dry-run
expect_exit 2 "--resume needs --out" "$RUN" --resume --dry-run
mkdir -p "$W/notres"
expect_exit 2 "not a bench/run.sh results directory" "$RUN" --out "$W/notres" --resume --dry-run
echo '{"mode": "full"}' >"$W/notres/machine.json"
expect_exit 2 "is a 'full' benchmark, this is 'quick'" "$RUN" --quick --out "$W/notres" --resume --dry-run
expect_exit 2 "add --resume to continue it" "$RUN" --full --out "$W/notres" --dry-run

# ---- throughput.sh options, and failed steps recorded without stopping the others ----
TPS="$BENCH/throughput.sh"
expect_exit 2 "OUTDIR is required" "$TPS"
expect_exit 2 "unknown option '--bogus'" "$TPS" "$W/tp" --bogus
expect_exit 2 "--build needs a value" "$TPS" "$W/tp" --build
expect_exit 2 "--only needs a value" "$TPS" "$W/tp" --only
expect_exit 2 "'nosuch' is not a step" "$TPS" "$W/tp" --only engine,nosuch
expect_exit 2 "--only must be a comma-separated list" "$TPS" "$W/tp" --only 'engine,,ppo'
expect_exit 2 "one output directory only" "$TPS" "$W/tp" "$W/tp2"
expect_exit 2 "no such directory" "$TPS" "$W/tp" --no-build --build "$W/nobuild"
[ ! -e "$W/tp" ] && ok || fail "throughput.sh wrote $W/tp despite bad options"
# a build directory without programs: both steps fail, both are recorded, the exit code says so
mkdir -p "$W/emptybuild"
expect_exit 1 "failed: engine stream" "$TPS" "$W/tpf" --no-build --build "$W/emptybuild" --only engine,stream
jq -e '.passed == false and ([.steps[] | .name] == ["engine", "stream"])
       and all(.steps[]; .status == "failed" and .exit_code != 0 and (.command | length) > 0
                        and (.wall_s | type) == "number")' "$W/tpf/throughput.json" >/dev/null 2>&1 &&
    ok || fail "throughput.json of failed steps: $(head -c 400 "$W/tpf/throughput.json" 2>&1)"
[ ! -e "$W/tpf/engine.md" ] && ok || fail "a failed step left a table"

# the full plan: 6 classic + 9 locomotion x 2 policies + 3 hand, 3 seeds for classic and
# locomotion, and 1 vs 2 rank scaling runs
if "$RUN" --full --dry-run >"$W/plan" 2>"$W/err"; then
    grep -v '^#' "$W/plan" >"$W/plan.rows"
    [ "$(awk '$6 == "learn"' "$W/plan.rows" | wc -l)" = 27 ] && ok || fail "full plan: $(awk '$6 == "learn"' "$W/plan.rows" | wc -l) learning groups, expected 27"
    [ "$(awk '$6 == "learn" && $7 !~ /^Hand/ && $3 < 3' "$W/plan.rows" | wc -l)" = 0 ] && ok || fail "full plan: a classic or locomotion group with fewer than 3 seeds"
    [ "$(awk '$6 == "learn" && $4 != 0' "$W/plan.rows" | wc -l)" = 0 ] && ok || fail "full plan overrides a spec budget"
    for t in Hopper HalfCheetah Walker2d Ant Humanoid Swimmer Reacher InvertedPendulum InvertedDoublePendulum; do
        grep -q "^$t-beta .* learn $t\$" "$W/plan.rows" && grep -q "^$t-gaussian .* learn $t\$" "$W/plan.rows" && ok ||
            fail "full plan lacks beta and gaussian for $t"
    done
    awk '$6 == "scaling" {print $5}' "$W/plan.rows" | sort -u | tr '\n' ' ' | grep -q '^1 2 $' && ok || fail "full plan lacks 1 vs 2 rank scaling"
else
    fail "run.sh --full --dry-run failed: $(head -c 200 "$W/err")"
fi
"$RUN" --quick --seeds 3 --tasks Hopper --dry-run >"$W/plan" 2>/dev/null
[ "$(grep -vc '^#' "$W/plan")" = 4 ] && ok || fail "--tasks Hopper should keep 4 quick groups (beta, gaussian, 1 and 2 ranks): $(cat "$W/plan")"
grep -q '^Hopper-beta Hopper-beta.json 3 ' "$W/plan" && ok || fail "--seeds 3 not applied: $(cat "$W/plan")"

# ---- committed specs ----
for s in "$BENCH"/specs/*.json; do
    if jq -e 'type == "object" and (.task | type == "string") and (.budget.env_steps | type == "number")' "$s" >/dev/null 2>&1; then ok; else fail "$s: not a spec with task and budget"; fi
done
if [ -n "$TRAIN" ]; then
    # angora-train must accept every spec: train it for one iteration of a shrunken batch
    for s in "$BENCH"/specs/*.json; do
        jq '.ppo.envs_per_rank = 1 | .ppo.horizon = 16 | .ppo.minibatch = 16 | .ppo.epochs = 1
            | .budget.env_steps = 16 | .eval.every = 0' "$s" >"$W/spec.json"
        rc=0
        OPENBLAS_NUM_THREADS=1 "$TRAIN" "$W/spec.json" --run-dir "$W/run-$(basename "$s" .json)" --quiet >"$W/err" 2>&1 || rc=$?
        [ "$rc" = 0 ] && ok || fail "angora-train refuses $(basename "$s") (exit $rc): $(head -c 300 "$W/err")"
    done
fi

# ---- real runs: two at a time, then an interrupted run continued with --resume ----
if [ -n "$TRAIN" ]; then
    BUILD=$(cd "$(dirname "$TRAIN")/../.." && pwd)
    rc=0
    "$RUN" --quick --tasks CartPole --seeds 2 --jobs 2 --build "$BUILD" --out "$W/rb" --no-report --no-throughput \
        >"$W/rb.out" 2>&1 || rc=$?
    if [ "$rc" = 0 ]; then
        for g in CartPole/seed1 CartPole/seed2 CartPole-1rank/seed1 CartPole-2ranks/seed1; do
            jq -e '.exit_code == 0 and .eval_exit_code == 0 and (.commit | length) == 40
                   and (.code | length) >= 12 and .jobs == 2 and .resumed == false' \
                "$W/rb/runs/$g.run.json" >/dev/null 2>&1 && ok || fail "--jobs 2: record of $g: $(cat "$W/rb/runs/$g.run.json" 2>&1 | head -c 300)"
            jq -e 'has("mean")' "$W/rb/runs/$g/eval.json" >/dev/null 2>&1 && ok || fail "--jobs 2: no evaluation of $g"
        done
        [ ! -e "$W/rb/throughput/throughput.json" ] && ok || fail "--no-throughput ran the throughput part"
        # a second session keeps every finished run
        "$RUN" --quick --tasks CartPole --seeds 2 --jobs 2 --build "$BUILD" --out "$W/rb" --resume \
            --no-report --no-throughput >"$W/rb2.out" 2>&1 && ok || fail "--resume of a finished benchmark failed: $(tail -c 300 "$W/rb2.out")"
        [ "$(grep -c 'finished in an earlier session, kept' "$W/rb2.out")" = 4 ] && ok || fail "--resume reran finished runs: $(cat "$W/rb2.out")"
        jq -e '(.sessions | length) == 2' "$W/rb/machine.json" >/dev/null && ok || fail "--resume did not list its session in machine.json"
    else
        fail "run.sh --jobs 2 failed (exit $rc): $(tail -c 400 "$W/rb.out")"
    fi
    # stop a benchmark in the middle of a run: the trainer checkpoints, --resume continues it
    "$RUN" --quick --tasks CartPoleNoVel --seeds 1 --build "$BUILD" --out "$W/ri" --no-report --no-throughput \
        >"$W/ri.out" 2>&1 &
    bench_pid=$!
    for _ in $(seq 1 200); do
        [ -s "$W/ri/runs/CartPoleNoVel/seed1/metrics.jsonl" ] && break
        sleep 0.1
    done
    sleep 1
    kill -TERM "$bench_pid"
    rc=0
    wait "$bench_pid" || rc=$?
    [ "$rc" = 143 ] && ok || fail "a stopped benchmark exited $rc, expected 143: $(tail -c 300 "$W/ri.out")"
    [ -f "$W/ri/runs/CartPoleNoVel/seed1/checkpoints/last.ckpt" ] && ok || fail "the stopped run left no checkpoint"
    # its record, if it was written, says it was interrupted (exit 3), not that it ended
    if [ ! -e "$W/ri/runs/CartPoleNoVel/seed1.run.json" ] ||
        jq -e '.exit_code == 3' "$W/ri/runs/CartPoleNoVel/seed1.run.json" >/dev/null 2>&1; then ok; else fail "a stopped run has a record as if it had ended: $(head -c 300 "$W/ri/runs/CartPoleNoVel/seed1.run.json")"; fi
    pgrep -f -- "--run-dir $W/ri/" >/dev/null && fail "trainers still run after the benchmark stopped" || ok
    before=$(wc -l <"$W/ri/runs/CartPoleNoVel/seed1/metrics.jsonl")
    rc=0
    "$RUN" --quick --tasks CartPoleNoVel --seeds 1 --build "$BUILD" --out "$W/ri" --resume --no-report --no-throughput \
        >"$W/ri2.out" 2>&1 || rc=$?
    if [ "$rc" = 0 ] && jq -e '.exit_code == 0 and .resumed == true' "$W/ri/runs/CartPoleNoVel/seed1.run.json" >/dev/null 2>&1; then
        ok
        # the metrics continue where the checkpoint was: one line per iteration, no restart
        jq -s -e '[.[].iteration] as $i | $i == [range(1; ($i | length) + 1)]' \
            "$W/ri/runs/CartPoleNoVel/seed1/metrics.jsonl" >/dev/null && ok || fail "resumed metrics are not one line per iteration"
        [ "$(wc -l <"$W/ri/runs/CartPoleNoVel/seed1/metrics.jsonl")" -gt "$before" ] && ok || fail "the resumed run added no iterations"
    else
        fail "--resume of an interrupted run failed (exit $rc): $(tail -c 300 "$W/ri2.out") $(cat "$W/ri/runs/CartPoleNoVel/seed1.run.json" 2>&1 | head -c 300)"
    fi
fi

# a real throughput step (the PPO one, --quick: a few seconds) gives a table and its JSON
if [ -n "$TRAIN" ]; then
    BUILD=$(cd "$(dirname "$TRAIN")/../.." && pwd)
    rc=0
    "$TPS" "$W/tpr" --build "$BUILD" --no-build --quick --only ppo >"$W/tpr.out" 2>&1 || rc=$?
    if [ "$rc" = 0 ]; then
        jq -e '.passed == true and .mode == "quick" and .steps[0].name == "ppo" and .steps[0].exit_code == 0
               and (.steps[0].command | test("bench_ppo.sh --quick"))' "$W/tpr/throughput.json" >/dev/null &&
            ok || fail "throughput.json of the ppo step: $(head -c 400 "$W/tpr/throughput.json")"
        jq -e '.tables[0].rows | length == 4 and all(.[]; (.["env steps/s (total)"] | type) == "number")' \
            "$W/tpr/ppo.json" >/dev/null && ok || fail "ppo.json: $(head -c 400 "$W/tpr/ppo.json")"
    else
        fail "throughput.sh --quick --only ppo failed (exit $rc): $(tail -c 400 "$W/tpr.out") $(tail -c 300 "$W/tpr/ppo.err" 2>&1)"
    fi
fi

# the gradient-averaging step, for real at 2 ranks (--quick: a few seconds): both methods timed
if [ -n "$TRAIN" ] && [ -x "$BUILD/bench/bench_grad" ] && command -v mpirun >/dev/null; then
    rc=0
    "$TPS" "$W/tpg" --build "$BUILD" --no-build --quick --only grad >"$W/tpg.out" 2>&1 || rc=$?
    if [ "$rc" = 0 ]; then
        jq -e '.tables[0].rows | length == 4 and all(.[]; (.["MPI_Allreduce us"] | type) == "number"
               and (.["shared window us"] | type) == "number" and .["shared window us"] > 0)' \
            "$W/tpg/grad.json" >/dev/null && ok || fail "grad.json: $(head -c 400 "$W/tpg/grad.json")"
    else
        fail "throughput.sh --quick --only grad failed (exit $rc): $(tail -c 400 "$W/tpg.out") $(tail -c 300 "$W/tpg/grad.err" 2>&1)"
    fi
fi

# ---- report.sh on a results directory with known numbers ----
R="$W/res"
mkdir -p "$R/runs" "$R/specs" "$R/throughput"
jq -n '{mode: "full", command: "bench/run.sh --full", stamp: "T", date: "2026-01-01 00:00 UTC",
        commit: "0123456789abcdef0123456789abcdef01234567", dirty: false, subject: "s",
        cpu: "cpu", nproc: 2, memory: "1 GiB", kernel: "k", os: "os", load_start: "0 0 0",
        openblas: "b", mujoco: "m", compiler: "cc", duration_s: 5}' >"$R/machine.json"
order=0
# mkrun GROUP TASK SEED RANKS KIND EVAL FINAL_RETURN SPS_WALL
mkrun() {
    local d="$R/runs/$1/seed$3"
    order=$((order + 1))
    mkdir -p "$d"
    jq -n --arg g "$1" --arg t "$2" --argjson s "$3" --argjson r "$4" --arg k "$5" --argjson o "$order" \
        '{group: $g, spec: "\($g).json", task: $t, seed: $s, ranks: $r, kind: $k, order: $o,
          exit_code: 0, eval_exit_code: 0, process_wall_s: 1, load_start: 0.5, load_end: 0.5}' \
        >"$R/runs/$1/seed$3.run.json"
    # 20 iterations of 50000 steps; the return climbs to FINAL over the last 10 (2 episodes
    # each) so that the last training episodes average exactly FINAL
    for i in $(seq 1 20); do
        jq -n -c --argjson i "$i" --argjson f "$7" --argjson w "$8" \
            '{iteration: $i, env_steps: ($i * 50000), wall_s: ($i * 50000 / $w),
              return_mean: (if $i > 10 then $f else 0 end), episodes: 2, collect_s: 1,
              eval_return: (if $i % 10 == 0 then $f else null end)}'
    done >"$d/metrics.jsonl"
    jq -n --argjson m "$6" --argjson i 20 '{mean: $m, std: 1, episodes: 20, iteration: $i, metrics: {}}' >"$d/eval.json"
    echo '{"task": "x"}' >"$R/specs/$1-seed$3.json"
}
mkrun Hopper-beta Hopper 1 1 learn 1000 1500 5000
mkrun Hopper-beta Hopper 2 1 learn 1200 1700 5000
mkrun Hopper-gaussian Hopper 1 1 learn 2350 2400 4000
mkrun Hopper-gaussian Hopper 2 1 learn 2350 2400 4000
mkrun CartPole CartPole 1 1 learn 500 500 90000
mkrun Hopper-1rank Hopper 1 1 scaling 10 10 1000
mkrun Hopper-2ranks Hopper 1 2 scaling 10 10 1500
# a run that failed: exit code 1, no metrics, no evaluation
mkdir -p "$R/runs/Walker2d-beta"
jq -n '{group: "Walker2d-beta", spec: "Walker2d-beta.json", task: "Walker2d", seed: 1, ranks: 1,
        kind: "learn", order: 99, exit_code: 1, eval_exit_code: -1, process_wall_s: 1,
        load_start: 1, load_end: 1}' >"$R/runs/Walker2d-beta/seed1.run.json"
printf '| task | env steps/s |\n|---|---|\n| Hopper | 16805 | 4 | 1 | 1 | 1 | 1 | 0 |\n' >"$R/throughput/physics-Hopper.md"
# the throughput part: two steps with tables, one failed, one not run
jq -n '{commit: "0123456789abcdef0123456789abcdef01234567", dirty: false, date: "2026-01-01 01:00 UTC",
        mode: "full", build: "build-release", load_start: "1 1 1", load_end: "2 2 2", duration_s: 77,
        passed: false,
        steps: [{name: "engine", command: "OPENBLAS_NUM_THREADS=1 build-release/bench/bench_nn", exit_code: 0, wall_s: 200.5, status: "passed"},
                {name: "ppo", command: "OPENBLAS_NUM_THREADS=1 bench/bench_ppo.sh build-release", exit_code: 0, wall_s: 12.5, status: "passed"},
                {name: "train-physics", command: "OPENBLAS_NUM_THREADS=1 bench/bench_train_physics.sh --build build-release", exit_code: 1, wall_s: 3.5, status: "failed"},
                {name: "daemon", command: "bench_daemon x", exit_code: 0, wall_s: 60, status: "passed"}]}' \
    >"$R/throughput/throughput.json"
printf 'Adam step with global-norm clipping:\n\n| model | params | ms per step | ns per param |\n|---|---|---|---|\n| simple | 22121 | 0.017 | 0.77 |\n' \
    >"$R/throughput/engine.md"
printf '| run | env steps/s (total) | per rank |\n|---|---|---|\n| CartPole, 1 rank | 123457 | 123457 |\n' >"$R/throughput/ppo.md"
# daemon passed but its table is gone
# the plan had one more group, never run: the report must say the benchmark is incomplete
printf 'Hopper-beta Hopper-beta.json 2 0 1 learn Hopper\nAnt-beta Ant-beta.json 3 0 1 learn Ant\n' >"$R/plan.txt"

MD="$W/out.md"
if "$BENCH/report.sh" "$R" --md "$MD" --plots "$W/plots" >"$W/out" 2>"$W/err"; then
    ok
    has "$MD" "| Hopper-beta | 2/2 | 1100 +- 141 | 1600 +- 141 | SB3 zoo 2410; CleanRL 2383 +- 272; Baselines PPO2 2316 | SHORT of the anchor (evaluation 1100 vs 2316) | 1M |"
    has "$MD" "| Hopper-gaussian | 2/2 | 2350 +- 0 | 2400 +- 0 |"
    has "$MD" "| within the anchors' range |"
    has "$MD" "| CartPole | 1/1 | 500 +- 0 | 500 +- 0 | 500 at 100k steps | meets the anchor (after 1000000 steps, more than the anchor's 100000) | 1M |"
    has "$MD" "| Hopper | 1100 +- 141 | 2350 +- 0 | 1600 +- 141 | 2400 +- 0 | gaussian | 1M |"
    has "$MD" "- **Hopper-beta**: SHORT of the anchor"
    has "$MD" "| Hopper | 2 | 1M | 667 s | 1500 | 1.5x | 20 s | 0 s | 0 s | 10 |"
    # end to end 4500 steps/s (mean of the Hopper groups) against 16805 raw
    has "$MD" "| Hopper | 16805 | 50000 | 4500 | 26.8 % |"
    has "$MD" "| Walker2d-beta | 0/1 | - | - |"
    has "$MD" "- **Walker2d-beta**: run(s) failed: seed 1 exit 1"
    has "$MD" "git checkout 0123456789abcdef0123456789abcdef01234567"
    has "$MD" "**This benchmark is not complete: 2 of its 5 planned runs have finished.**"
    has "$MD" "Ant-beta (seed 1, 2, 3)"
    grep -q "Hopper-beta (seed" "$MD" && fail "report lists a finished group as missing" || ok
    # the throughput part, from the fixture files only
    has "$MD" "Measured by \`bench/throughput.sh\` (full form) on 2026-01-01 01:00 UTC"
    has "$MD" "\`OPENBLAS_NUM_THREADS=1 build-release/bench/bench_nn\` (200.5 s)"
    has "$MD" "| simple | 22121 | 0.017 | 0.77 |"
    has "$MD" "| CartPole, 1 rank | 123457 | 123457 |"
    has "$MD" "**Failed**: \`OPENBLAS_NUM_THREADS=1 bench/bench_train_physics.sh --build build-release\` exited 1 after 3.5 s"
    has "$MD" "_\`throughput/daemon.md\` is missing from the results directory._"
    has "$MD" "_Not run in this session._"
    has "$MD" "| Hopper | 16805 | 4 | 1 | 1 | 1 | 1 | 0 |"
    grep -q "not at the commit this report names" "$MD" && fail "throughput of the same commit flagged as another" || ok
    # no figure of an older commit: the hand-written fragments of docs/benchmarks.d/ are gone
    grep -q "benchmarks\.d" "$MD" && fail "the report still refers to docs/benchmarks.d" || ok
    if command -v gnuplot >/dev/null; then
        [ -s "$W/plots/Hopper.png" ] && ok || fail "no Hopper.png plot"
        has "$MD" "![Hopper]("
    fi
    # throughput of another commit is flagged; without throughput.json the part says it was not run
    jq '.commit = "fedcba9876543210fedcba9876543210fedcba98"' "$R/throughput/throughput.json" >"$W/tp.json" &&
        mv "$W/tp.json" "$R/throughput/throughput.json"
    if "$BENCH/report.sh" "$R" --md "$W/other.md" --no-plots >/dev/null 2>"$W/err"; then
        has "$W/other.md" "**It ran at commit \`fedcba9876\`, not at the commit this report names.**"
    else
        fail "report.sh failed on throughput of another commit: $(head -c 300 "$W/err")"
    fi
    # a later throughput measurement from its own directory: rendered, and named as such
    mkdir -p "$W/tp-later"
    jq '.steps = [{name: "grad", command: "mpirun -np 2 build-release/bench/bench_grad", exit_code: 0, wall_s: 9.5, status: "passed"}]' \
        "$R/throughput/throughput.json" >"$W/tp-later/throughput.json"
    printf '| floats | MPI_Allreduce us | shared window us | MPI / shared |\n|---|---|---|---|\n| 10000 | 13.7 | 6.8 | 2.0 |\n' >"$W/tp-later/grad.md"
    if "$BENCH/report.sh" "$R" --md "$W/later.md" --no-plots --throughput "$W/tp-later" >/dev/null 2>"$W/err"; then
        has "$W/later.md" "**It ran at commit \`fedcba9876\`, later than the learning runs above; its figures are of that commit.**"
        has "$W/later.md" "| 10000 | 13.7 | 6.8 | 2.0 |"
        has "$W/later.md" "in \`$W/tp-later\`"
        # the raw physics still come from the learning runs' directory
        has "$W/later.md" "| Hopper | 16805 | 4 | 1 | 1 | 1 | 1 | 0 |"
    else
        fail "report.sh --throughput failed: $(head -c 300 "$W/err")"
    fi
    expect_exit 2 "no throughput.json there" "$BENCH/report.sh" "$R" --throughput "$W/nosuch"
    mv "$R/throughput/throughput.json" "$W/throughput.json.off"
    if "$BENCH/report.sh" "$R" --md "$W/notrun.md" --no-plots >/dev/null 2>"$W/err"; then
        has "$W/notrun.md" "**The throughput part was not run** for this results directory"
        grep -q "| CartPole, 1 rank | 123457" "$W/notrun.md" && fail "a throughput table without its record was rendered" || ok
        has "$W/notrun.md" "| Hopper | 16805 | 4 | 1 | 1 | 1 | 1 | 0 |"
    else
        fail "report.sh failed without throughput files: $(head -c 300 "$W/err")"
    fi
else
    fail "report.sh failed on the fixture: $(head -c 300 "$W/err")"
fi

# ---- report.sh refuses broken input ----
expect_exit 2 "no such results directory" "$BENCH/report.sh" "$W/none" --md "$W/x.md"
mkdir -p "$W/empty"
expect_exit 2 "machine.json missing" "$BENCH/report.sh" "$W/empty" --md "$W/x.md"
echo '{"mode": ' >"$W/empty/machine.json"
expect_exit 2 "not valid JSON" "$BENCH/report.sh" "$W/empty" --md "$W/x.md"
cp "$R/machine.json" "$W/empty/machine.json"
expect_exit 2 "holds no runs" "$BENCH/report.sh" "$W/empty" --md "$W/x.md"
expect_exit 2 "unknown option" "$BENCH/report.sh" "$R" --colour
expect_exit 2 "one results directory only" "$BENCH/report.sh" "$R" "$R"
echo '{"iteration": 21, "env_steps": ' >>"$R/runs/CartPole/seed1/metrics.jsonl"
expect_exit 1 "cannot read the run" "$BENCH/report.sh" "$R" --md "$W/x.md" --no-plots
[ ! -e "$W/x.md" ] && ok || fail "a failed report still wrote its output"

# ---- hand_curves.sh: compact curves and their plot ----
H=$W/hand
mkdir -p "$H/a" "$H/b"
echo '{"ranks": 2}' >"$H/a/spec.json"
echo '{}' >"$H/b/spec.json"
for i in 1 2 3; do
    echo "{\"iteration\": $i, \"env_steps\": $((i * 1000)), \"wall_s\": $((i * 1800)), \"return_mean\": -1.5, \"episode_length_mean\": 10, \"consecutive_goals_mean\": 0.$i, \"eval_consecutive_goals_mean\": null}" >>"$H/a/metrics.jsonl"
done
head -n 2 "$H/a/metrics.jsonl" >"$H/b/metrics.jsonl"
if "$BENCH/hand_curves.sh" --out "$H/out" --name T one=$H/a two=$H/b >"$W/hc.log" 2>&1; then
    [ "$(wc -l <"$H/out/T-one.csv")" = 4 ] && [ "$(wc -l <"$H/out/T-two.csv")" = 3 ] && ok ||
        fail "hand_curves.sh: one CSV row per iteration and a header"
    # core-hours are wall time x ranks: 3 x 1800 s at 2 ranks = 3 h
    [ "$(tail -n 1 "$H/out/T-one.csv" | cut -d, -f3)" = 3 ] && ok ||
        fail "hand_curves.sh: core-hours $(tail -n 1 "$H/out/T-one.csv")"
    [ -s "$H/out/T.png" ] && ok || fail "hand_curves.sh drew no plot"
else
    fail "hand_curves.sh failed: $(head -c 300 "$W/hc.log")"
fi
expect_exit 2 "no runs given" "$BENCH/hand_curves.sh" --out "$H/out" --name T
expect_exit 2 "is missing or empty" "$BENCH/hand_curves.sh" --out "$H/out" --name T x=$H/none
expect_exit 2 "is not one of" "$BENCH/hand_curves.sh" --out "$H/out" --name T \
    --metric nope one=$H/a
expect_exit 2 "letters, digits" "$BENCH/hand_curves.sh" --out "$H/out" --name T 'a b'=$H/a

echo "bench selftest: $CHECKS checks, $FAILS failed"
[ "$FAILS" = 0 ]
