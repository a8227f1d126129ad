#!/usr/bin/env bash
# bench/report.sh: turns one bench/run.sh result directory into docs/benchmarks.md (learning
# tables beside the public anchors, Gaussian vs Beta, throughput against raw physics, MPI
# scaling, machine, commit, exact specs, per-run records) and the learning curves in
# docs/benchmarks/plots/*.png, with the throughput part (bench/throughput.sh's tables under
# RESULTS_DIR/throughput/, and raw physics) rendered from the same results directory.
# --throughput DIR takes bench/throughput.sh's tables from DIR instead (a later measurement);
# the report then names the commit they ran at. A step of throughput.json marked "rerun": true
# (run again by hand on its own after it failed, its record merged in) is shown with its start.
#
#   bench/report.sh RESULTS_DIR [--md FILE] [--plots DIR] [--no-plots] [--throughput DIR]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

RES=""
MD="$ROOT/docs/benchmarks.md"
PLOTS="$ROOT/docs/benchmarks/plots"
DO_PLOTS=1
TPDIR=""

while [ $# -gt 0 ]; do
    case "$1" in
    --md | --plots | --throughput)
        [ $# -ge 2 ] || bench_die 2 "$1 needs a value"
        case "$1" in
        --md) MD=$2 ;;
        --plots) PLOTS=$2 ;;
        *) TPDIR=$2 ;;
        esac
        shift
        ;;
    --no-plots) DO_PLOTS=0 ;;
    -h | --help)
        grep -m1 '^#   bench/report.sh ' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*) bench_die 2 "unknown option '$1'" ;;
    *)
        [ -z "$RES" ] || bench_die 2 "one results directory only (got '$RES' and '$1')"
        RES=$1
        ;;
    esac
    shift
done
[ -n "$RES" ] || bench_die 2 "usage: bench/report.sh RESULTS_DIR [--md FILE] [--plots DIR] [--no-plots] [--throughput DIR]"
[ -d "$RES" ] || bench_die 2 "$RES: no such results directory"
[ -f "$RES/machine.json" ] || bench_die 2 "$RES/machine.json missing: not a bench/run.sh results directory"
jq -e 'type == "object" and has("commit") and has("mode")' "$RES/machine.json" >/dev/null 2>&1 ||
    bench_die 2 "$RES/machine.json: not valid JSON with commit and mode"
command -v jq >/dev/null || bench_die 2 "jq is needed"
TP_EXPLICIT=0
if [ -n "$TPDIR" ]; then
    [ -f "$TPDIR/throughput.json" ] || bench_die 2 "--throughput $TPDIR: no throughput.json there"
    TP_EXPLICIT=1
else
    TPDIR="$RES/throughput"
fi
if [ "$DO_PLOTS" = 1 ] && ! command -v gnuplot >/dev/null; then
    echo "bench: gnuplot not found (apt-get install gnuplot-nox); the report will have no plots" >&2
    DO_PLOTS=0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/angora-report-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# anchors as [{task, source, policy, value, at_steps, metric, text}]
jq -R -n '[inputs | select(length > 0 and (startswith("#") | not)) | split("\t")
          | {task: .[0], source: .[1], policy: .[2], value: (.[3] | tonumber),
             at_steps: (.[4] | tonumber), metric: .[5], text: .[6]}]' \
    "$HERE/lib/anchors.tsv" >"$WORK/anchors.json" || bench_die 1 "bench/lib/anchors.tsv is malformed"

# one summary per run: its record, metrics and the three final evaluations
n=0
shopt -s nullglob
echo '{}' >"$WORK/policies.json"
for rj in "$RES"/runs/*/seed*.run.json; do
    d=${rj%.run.json}
    m="$d/metrics.jsonl"
    [ -s "$m" ] || m=/dev/null
    evs=()
    for ev in last-stochastic last-deterministic best-deterministic; do
        e="$d/eval-$ev.json"
        # an evaluation that failed may leave a partial file: use it only if it parses
        if [ ! -s "$e" ] || ! jq -e 'has("mean")' "$e" >/dev/null 2>&1; then e=/dev/null; fi
        evs+=("$e")
    done
    if ! jq -n --slurpfile r "$rj" --slurpfile m "$m" --slurpfile ls "${evs[0]}" \
        --slurpfile ld "${evs[1]}" --slurpfile bd "${evs[2]}" \
        -f "$HERE/lib/run_summary.jq" >"$WORK/run-$n.json" 2>"$WORK/err"; then
        bench_die 1 "cannot read the run $d: $(head -c 300 "$WORK/err")"
    fi
    # the policy of the group's spec (for the anchors of groups not named after it)
    g=$(jq -r .group "$WORK/run-$n.json")
    sf="$RES/specs/$g-seed1.json"
    if [ -f "$sf" ] && pol=$(jq -r '.policy // empty' "$sf" 2>/dev/null) && [ -n "$pol" ]; then
        jq --arg g "$g" --arg p "$pol" '.[$g] = $p' "$WORK/policies.json" >"$WORK/p.json" &&
            mv "$WORK/p.json" "$WORK/policies.json"
    fi
    n=$((n + 1))
done
[ "$n" -gt 0 ] || bench_die 2 "$RES holds no runs (runs/*/seed*.run.json)"
jq -s 'sort_by(.order)' "$WORK"/run-*.json >"$RES/runs.json"
# mean, 95 % bootstrap interval and IQM over the seeds of each group, per figure
jq -r '.[] | select(.exit_code == 0) | .group as $g
       | ["train_final", "final_stoch", "final_det", "eval_mean"][] as $k
       | "\($g)/\($k)\t\(.[$k] // "null")"' "$RES/runs.json" |
    awk -f "$HERE/lib/stats.awk" |
    jq -s 'map(.key as $k | ($k | split("/")) as [$g, $m]
               | {g: $g, m: (if $m == "eval_mean" then "selected" else $m end), s: del(.key)})
           | reduce .[] as $x ({}; .[$x.g][$x.m] = $x.s)' >"$WORK/stats.json" ||
    bench_die 1 "cannot compute the statistics over seeds"
jq --slurpfile anchors "$WORK/anchors.json" --slurpfile stats "$WORK/stats.json" \
    --slurpfile policies "$WORK/policies.json" -f "$HERE/lib/group_summary.jq" "$RES/runs.json" \
    >"$RES/summary.json"

MODE=$(jq -r .mode "$RES/machine.json")
COMMIT=$(jq -r .commit "$RES/machine.json")
SHORT=${COMMIT:0:10}
DATE=$(jq -r .date "$RES/machine.json")
DIRTY=$(jq -r .dirty "$RES/machine.json")
PLOTREL=$(realpath --relative-to="$(dirname "$MD")" "$PLOTS" 2>/dev/null || echo "$PLOTS")

# ---- plots -----------------------------------------------------------------------------------
# one figure per task: every group of that task (beta and gaussian side by side), seeds' mean
# as a line, min-max over seeds as a band, deterministic evaluations as points
plot_task() { # task kind
    local task=$1 out="$PLOTS/$1.png" groups metric="" i=0 plotcmd="" style
    groups=$(jq -r --arg t "$task" '.[] | select(.task == $t and .kind == "learn") | .group' "$RES/summary.json")
    [ -n "$groups" ] || return 0
    case "$task" in
    HandBlock) metric=consecutive_goals_mean ;;
    Hand*) metric=success_rate ;;
    esac
    for g in $groups; do
        for f in "$RES/runs/$g"/seed*/metrics.jsonl; do
            [ -s "$f" ] && jq -s . "$f"
        done | jq -s -r --arg metric "$metric" -f "$HERE/lib/curve.jq" >"$WORK/curve-$g.tsv"
        [ -s "$WORK/curve-$g.tsv" ] || continue
        style=$((i + 1))
        plotcmd+="'$WORK/curve-$g.tsv' using 1:3:4 with filledcurves fs transparent solid 0.2 noborder lc $style notitle, "
        plotcmd+="'' using 1:2 with lines lw 2 lc $style title '$g training return (mean of seeds)', "
        plotcmd+="'' using 1:5 with points pt 7 ps 0.6 lc $style title '$g periodic deterministic evaluation', "
        i=$((i + 1))
    done
    [ -n "$plotcmd" ] || return 0
    local seeds
    seeds=$(jq -r --arg t "$task" '[.[] | select(.task == $t and .kind == "learn") | .seeds] | max' "$RES/summary.json")
    gnuplot <<EOF 2>"$WORK/gnuplot.err" || { echo "bench: gnuplot failed for $task: $(head -c 300 "$WORK/gnuplot.err")" >&2; return 0; }
set terminal pngcairo size 900,520 font ",10" noenhanced
set output '$out'
set title "$task: return per iteration ($seeds seed(s); band = min..max over seeds) - angora $SHORT, $DATE"
set xlabel 'environment steps'
set ylabel 'episode return'
set key bottom right
set grid
set datafile missing '?'
set datafile separator '\t'
plot ${plotcmd%, }
EOF
    echo "$task.png" >>"$WORK/plots.list"
    if [ -n "$metric" ]; then
        plotcmd=""
        i=0
        for g in $groups; do
            [ -s "$WORK/curve-$g.tsv" ] || continue
            plotcmd+="'$WORK/curve-$g.tsv' using XCOL:7 with lines lw 2 lc $((i + 1)) title '$g $metric of training episodes', "
            plotcmd+="'' using XCOL:8 with points pt 7 ps 0.7 lc $((i + 1)) title '$g periodic deterministic evaluation', "
            i=$((i + 1))
        done
        # by environment steps, and by wall-clock hours (how far this machine gets in an hour)
        local xcol xlabel suffix
        for xcol in 1 9; do
            if [ "$xcol" = 1 ]; then xlabel='environment steps' suffix=""; else xlabel='wall-clock hours (one core)' suffix="-hours"; fi
            gnuplot <<EOF 2>"$WORK/gnuplot.err" || true
set terminal pngcairo size 900,400 font ",10" noenhanced
set output '$PLOTS/$task-$metric$suffix.png'
set title "$task: $metric (line: training episodes, mean of seeds; points: deterministic evaluations) - $SHORT"
set xlabel '$xlabel'
set ylabel '$metric'
set key top left
set grid
set datafile missing '?'
set datafile separator '\t'
XCOL = $xcol
plot ${plotcmd%, }
EOF
            [ -s "$PLOTS/$task-$metric$suffix.png" ] && echo "$task-$metric$suffix.png" >>"$WORK/plots.list"
        done
    fi
    return 0
}

: >"$WORK/plots.list"
if [ "$DO_PLOTS" = 1 ]; then
    mkdir -p "$PLOTS"
    for task in $(jq -r '[.[] | select(.kind == "learn") | .task] | unique | .[]' "$RES/summary.json"); do
        plot_task "$task"
    done
fi

# ---- tables ----------------------------------------------------------------------------------
# number formatting shared by the tables
JQDEF='def f: if . == null then "-" elif (. | fabs) >= 100 then (. | round | tostring)
              elif (. | fabs) >= 10 then ((. * 10 | round) / 10 | tostring)
              else ((. * 100 | round) / 100 | tostring) end;
       def pm($m; $s): if $m == null then "-" elif $s == null then ($m | f) else "\($m | f) +- \($s | f)" end;
       # mean over seeds [95 % bootstrap interval], IQM from 4 seeds; one seed: the value alone
       def ci($s): if $s == null or $s.n == null then "-" elif $s.n == 1 or $s.lo == null then ($s.mean | f)
              else "\($s.mean | f) [\($s.lo | f), \($s.hi | f)]" + (if $s.n >= 4 then " IQM \($s.iqm | f)" else "" end) end;
       def k: if . == null then "-" elif . >= 1000000 then "\((. / 100000 | round) / 10)M"
              elif . >= 1000 then "\((. / 100 | round) / 10)k" else tostring end;'

learn_table() { # kind
    jq -r --arg kind "$1" "$JQDEF"'
      [.[] | select(.kind == "learn" and (.group | test($kind)))] as $rows
      | if ($rows | length) == 0 then empty else
        "| task (group) | seeds | **final training return** (last 5 % of iterations; mean [95 % CI] over seeds) | last.ckpt on fresh seeds, stochastic | last.ckpt on fresh seeds, deterministic | anchor (final training return) | verdict | AngoraPy ~ (its own figure) | vs AngoraPy | selected: best.ckpt, deterministic | env steps trained | wall-clock per run | env steps/s (end to end) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ($rows[] | "| \(.group) | \(.ok)/\(.seeds) | \(ci(.train_final)) | \(ci(.final_stoch)) | \(ci(.final_det)) | \(if .anchor then "\(.anchor.value | f): \(.anchor.text); \(.anchor.metric)" else "-" end) | \(.verdict // "-") | \(if .own_anchor then "\(.own_anchor.text) (\(.own_anchor.policy))" else "-" end) | \(.own_verdict // "-") | \(ci(.selected))\(if .selected_env_steps then " (after \(.selected_env_steps | k) steps)" else "" end) | \(.env_steps | k) | \(.wall_s | f) s | \(.sps | f) |")
        end' "$RES/summary.json"
}

{
    echo "# Benchmarks"
    echo
    echo "<!-- generated by bench/report.sh from $(basename "$RES"); do not edit by hand. -->"
    echo
    echo "**angora commit \`$SHORT\`, $DATE, \`$MODE\` benchmark.**"
    if [ "$DIRTY" = true ]; then
        echo "The working tree had uncommitted changes when this ran (the code was still being changed"
        echo "by several people); the figures belong to that tree, not exactly to the commit."
    fi
    # a benchmark stopped before its plan was through says so first, with what is missing
    if [ -s "$RES/plan.txt" ]; then
        planned=0 done_runs=0 missing=""
        while read -r pg _ ps _; do
            [ -n "$pg" ] || continue
            miss=""
            for ((si = 1; si <= ps; si++)); do
                planned=$((planned + 1))
                if jq -e '.exit_code == 0' "$RES/runs/$pg/seed$si.run.json" >/dev/null 2>&1; then
                    done_runs=$((done_runs + 1))
                else
                    miss+="${miss:+, }$si"
                fi
            done
            [ -n "$miss" ] && missing+="${missing:+; }$pg (seed $miss)"
        done <"$RES/plan.txt"
        if [ -n "$missing" ]; then
            echo "**This benchmark is not complete: $done_runs of its $planned planned runs have finished.** Not run"
            echo "yet (or interrupted; \`bench/run.sh --$MODE --out <dir> --resume\` continues it): $missing."
            echo
        fi
    fi
    if [ "$MODE" = quick ]; then
        cat <<'EOF'
This is a **`--quick` run**: the classic tasks at their full budgets with 2 seeds, but the MuJoCo
tasks at reduced budgets (200k steps instead of 1M, 1 seed) and the hand at 24,576 steps, so
the locomotion and hand rows are **not comparable** with the 1M-step anchors and say so. The
full table (`--full`, 5 seeds per classic and locomotion task) has not been run yet.
EOF
    fi
    echo
    echo "## Reproduce"
    echo
    echo '```sh'
    echo "git checkout $COMMIT"
    echo "$(jq -r .command "$RES/machine.json")        # this report"
    echo "bench/run.sh --full         # the whole benchmark"
    echo "bench/throughput.sh bench/results/<stamp>/throughput [--quick]   # the throughput part alone"
    echo "bench/report.sh bench/results/<stamp>   # the report again from kept results"
    if [ "$TP_EXPLICIT" = 1 ]; then
        tp_commit=$(jq -r '.commit // ""' "$TPDIR/throughput.json")
        tp_shown=$(cd "$TPDIR" && pwd)
        tp_shown=${tp_shown#"$ROOT"/}
        echo "# the throughput part of this report, at its own commit:"
        echo "git checkout $tp_commit && bench/throughput.sh $tp_shown"
        res_shown=$(cd "$RES" && pwd)
        echo "bench/report.sh ${res_shown#"$ROOT"/} --throughput $tp_shown"
    fi
    echo '```'
    echo
    cat <<'EOF'
`bench/run.sh` configures a Release build in `build-release/` when it has none, and always
rebuilds `angora-train`, `bench_physics` and the other benchmark programs from the tree, then runs
every task x seed with 1 rank, `--jobs` runs at a time (at most one per core; the machine record
below says how many this run used), with `OPENBLAS_NUM_THREADS=1` and `nice -n 5`; the scaling
runs (2 ranks) and the raw physics run alone afterwards. Training seeds are 1..N (tuning runs used
seeds 100 and up, named in the specs' notes). After each training it evaluates the final policy,
`checkpoints/last.ckpt`, stochastically and deterministically, and the selected checkpoint
`best.ckpt` deterministically (`angora-train --evaluate CKPT --episodes 20 --seed S
[--deterministic]`; 100 episodes for the hand tasks), all on the run's final-evaluation seed
S = 2^62 + seed, which no training or periodic-evaluation seed of any run can equal (training
seeds are below 2^62, periodic evaluations use seed ^ 0x9e3779b97f4a7c15, whose top bit is set).
Everything a run wrote (spec, metrics.jsonl, checkpoints, evaluations, log, a run record with exit
code, wall time over every session, load average, seeds, commit and training-code identifier)
stays under `bench/results/<stamp>/` (git-ignored); `bench/report.sh` makes this page from it. A
stopped benchmark (SIGTERM/SIGINT) checkpoints its trainers; `bench/run.sh --full --out DIR
--resume` continues it, keeping finished runs. The throughput part at the end (network engine,
PPO steps/s, training against raw physics, angorad, live stream) comes from `bench/throughput.sh`,
run into `bench/results/<stamp>/throughput/` on the same tree; each of its sections gives its
exact command.

- `--quick`: about 12 minutes (the limit is 20 minutes).
- `--full`: HandReach and HandFreeReach (their specs' budgets, 1 seed each); the classic tasks
  at their budgets x 5 seeds; the nine locomotion tasks at 1M steps with beta and gaussian x 5
  seeds (90 runs); raw physics 3 s per task; CartPole and Hopper (1M) on 1 and 2 ranks.
  HandBlock's hours-long runs are not part of it: they are the block ladder's (the Hand section),
  each judged at its own budget of core-hours. **Expected duration: about 2.5-3 hours with
  `--jobs 2`, about 5 hours with `--jobs 1`** on this 2-core machine (the per-run times of the
  2026-11-28 full run scaled to 5 seeds): HandReach and HandFreeReach together about 75 minutes
  of one core, the 90 locomotion runs about 3.5 core-hours (1-2 minutes each for Hopper,
  HalfCheetah and Walker2d, 5-10 for Ant and Humanoid), classic, scaling and physics under 30
  minutes.

Definitions. The headline is the **final policy**. **Final training return**: the return of the
episodes that finished in the last 5 % of iterations (at least one), weighted by episodes
(stochastic policy, as CleanRL and Baselines report it); per task, the mean over seeds with a 95 %
percentile-bootstrap confidence interval over seeds (10,000 resamples, fixed resampling seed,
`bench/lib/stats.awk`) and, from 4 seeds, the interquartile mean (rliable's protocol); one seed
shows its value alone. **last.ckpt on fresh seeds**: the mean return of the final policy over 20
episodes (100 for the hand) on the final-evaluation seed, acting stochastically, or with the
distribution's mean/mode (deterministic). **Verdict**: the final training return against the
anchor, which is also a final training return (named with its environment version): "meets"
only when the mean over seeds is at or above the anchor, with the interval's lower bound beside
it; otherwise SHORT. The public anchor is the lowest of the published numbers; AngoraPy's own
benchmark (read from its figure, approximate, ~) is compared per policy. **Selected**: `best.ckpt`,
the checkpoint whose periodic evaluation was best, evaluated deterministically on the same fresh
seed; being selected it leans optimistic, and it saw only the steps named beside it, not the
whole **env steps trained**. **Wall-clock** is `angora-train`'s own wall time to the last
iteration (continued across `--resume`); **env steps/s** is env steps / that wall time,
evaluations and updates included.
EOF
    echo
    # the final evaluations' seeds against every training and periodic-evaluation seed
    jq -f "$HERE/lib/seeds.jq" "$RES/runs.json" | jq -r '
      if (.clashes | length) > 0 then
        "**Final-evaluation seeds that are not fresh**: \([.clashes[] | "\(.group) seed \(.seed) (\(.final_eval_seed) is a \(.equals) seed)"] | join("; ")); those evaluations saw episodes the run had seen."
      elif .checked > 0 then
        "Fresh seeds, checked: the final-evaluation seed of each of the \(.checked) finished runs equals no training and no periodic-evaluation seed of any run\(if .unrecorded > 0 then " (\(.unrecorded) runs recorded none)" else "" end)."
      else "The runs recorded no final-evaluation seeds (results of an older bench/run.sh)." end'
    echo
    echo "## Machine"
    echo
    jq -r '"- CPU: \(.cpu), \(.nproc) cores (`nproc`), \(.memory) RAM; \(.os), \(.kernel)",
           "- compiler: \(.compiler); OpenBLAS \(.openblas) (1 thread); MuJoCo \(.mujoco)",
           "- commit \(.commit) (\(.subject)); uncommitted changes in the tree: \(.dirty)",
           "- load average (1, 5, 15 min) at the start: \(.load_start); at the end: \(.load_end // "-")",
           "- the whole run took \(if .duration_s then "\(.duration_s) s" else "-" end)\(if ((.sessions // []) | length) > 1 then " (the sum of its \(.sessions | length) sessions)" else "" end); command: `\(.command)`"' \
        "$RES/machine.json"
    # the kernels OpenBLAS ran: its own choice by CPU, or OPENBLAS_CORETYPE set by hand
    jq -r 'group_by([.blas_core, .openblas_coretype])
           | map("\(.[0].blas_core // "not recorded") in \(length) run\(if length > 1 then "s" else "" end)"
                 + (if .[0].openblas_coretype then " (`OPENBLAS_CORETYPE=\(.[0].openblas_coretype)`)"
                    elif .[0].blas_core then " (chosen by OpenBLAS)" else "" end))
           | "- OpenBLAS kernels: \(join("; "))"' "$RES/runs.json"
    # a benchmark continued with --resume: every session, and the code each run executed
    if jq -e '(.sessions // []) | length > 1' "$RES/machine.json" >/dev/null; then
        echo "- sessions (the benchmark was continued with \`--resume\`):"
        jq -r '.sessions[] | "  - \(.date): commit \(.commit[0:10]), training code \(.code), \(.jobs) at a time, \(if .duration_s then "\(.duration_s) s" else "duration not recorded" end): `\(.command)`"' "$RES/machine.json"
    fi
    jq -r 'group_by(.code // "unrecorded") | map("\(.[0].code // "unrecorded") (\(length) runs; commits \([.[] | (.commit // "unrecorded")[0:10]] | unique | join(", ")))")
           | if length == 1 then "- every run executed the same training code: \(.[0])"
             else "- the runs executed DIFFERENT training code: \(join("; "))" end' "$RES/runs.json"
    echo
    echo "The machine was shared with other engineers' builds and tests during this run (see the load"
    echo "averages), so wall-clock and steps/s figures are lower bounds of what it does alone."
    echo
    if [ -s "$RES/lscpu.txt" ]; then
        echo "<details><summary>lscpu</summary>"
        echo
        echo '```'
        grep -E '^(Architecture|CPU\(s\)|Model name|Thread|Core|Socket|L1d|L2|L3|Flags)' "$RES/lscpu.txt" | cut -c1-200
        echo '```'
        echo
        echo "</details>"
        echo
    fi

    for kind in classic locomotion hand; do
        case $kind in
        classic)
            title="Classic control"
            re='^(CartPole|CartPoleNoVel|Acrobot|Pendulum|PendulumNoVel|MountainCarContinuous)$'
            ;;
        locomotion)
            title="MuJoCo locomotion"
            re='-(beta|gaussian)$'
            ;;
        hand)
            title="Hand"
            re='^Hand'
            ;;
        esac
        tab=$(learn_table "$re")
        [ -n "$tab" ] || continue
        echo "## $title"
        echo
        echo "$tab"
        echo
        if [ $kind = hand ]; then
            jq -r "$JQDEF"'[.[] | select(.kind == "learn" and (.task | test("^Hand")))] as $r
              | if ($r | length) == 0 then empty else
                "Task metrics: \([$r[] | "\(.group): success rate of the last training episodes \(.success_last | f), consecutive goals \(.goals_last | f); last.ckpt deterministic on fresh seeds: success \(.final_success | f), consecutive goals \(.final_goals | f); selected (best.ckpt): success \(.eval_success | f), consecutive goals \(.eval_goals | f)"] | join("; "))." end' "$RES/summary.json"
            echo
            # the block ladder's multi-hour attempts run apart from the benchmark (their curves
            # are committed under docs/benchmarks/hand/); their account is kept beside it
            if [ -s "$ROOT/docs/benchmarks/hand/ladder.md" ]; then
                cat "$ROOT/docs/benchmarks/hand/ladder.md"
                echo
            fi
            # so are HandReach's three seeds judged on fresh episodes
            if [ -s "$ROOT/docs/benchmarks/hand/reach.md" ]; then
                cat "$ROOT/docs/benchmarks/hand/reach.md"
                echo
            fi
        fi
    done

    # Gaussian vs Beta
    gb=$(jq -r "$JQDEF"'
      [.[] | select(.kind == "learn" and .policy != null)] | group_by(.task)
      | map(select(length == 2)) | .[]
      | (map(select(.policy == "beta"))[0]) as $b | (map(select(.policy == "gaussian"))[0]) as $g
      | ($b.train_final // {}) as $bs | ($g.train_final // {}) as $gs
      | "| \($b.task) | \(ci($b.train_final)) | \(ci($g.train_final)) | \(ci($b.final_det)) | \(ci($g.final_det)) | \(if $bs.mean == null or $gs.mean == null then "-" elif $bs.mean > $gs.mean then "beta" elif $bs.mean < $gs.mean then "gaussian" else "tie" end)\(if $bs.lo != null and $gs.lo != null and $bs.lo <= $gs.hi and $gs.lo <= $bs.hi then " (intervals overlap)" else "" end) | \($b.env_steps | k) |"' "$RES/summary.json")
    if [ -n "$gb" ]; then
        echo "## Gaussian vs Beta (locomotion)"
        echo
        echo "Same spec but for \`policy\`; AngoraPy's benchmark found Beta often better."
        echo
        echo "| task | beta: final training return | gaussian: final training return | beta: last.ckpt deterministic | gaussian: last.ckpt deterministic | higher final training return | env steps |"
        echo "|---|---|---|---|---|---|---|"
        echo "$gb"
        echo
    fi

    # the benchmark's own bar: one target per task, each policy's groups judged against it
    tg=$(jq -r "$JQDEF"'.[] | select(.kind == "learn" and .target != null)
      | "| \(.task) | \(.target.value | f) at \(.target.at_steps | k) steps (\(.target.text)) | \(.group) | \(.ok)/\(.seeds) | \(ci(.train_final)) | \(.target_verdict) |"' "$RES/summary.json")
    if [ -n "$tg" ]; then
        echo "## Learning targets"
        echo
        echo "The bar this benchmark is held to: the mean over seeds of the final training return at the"
        echo "target's budget (a tuned spec per task is allowed, tuned on seeds 100 and up). The verdict"
        echo "rule is the anchors': \"meets\" only when the mean is at or above the target. Where both"
        echo "policies ran, each is judged on its own; a task whose better policy meets it was chosen on"
        echo "these seeds, so that choice is not tuned on other seeds."
        echo
        echo "| task | target | group | seeds | final training return (mean [95 % CI] over seeds) | verdict |"
        echo "|---|---|---|---|---|---|"
        echo "$tg"
        echo
    fi

    # shortfalls in plain words
    # the spec's own notes say what else was tried for a task that stays short
    notes_json=$(for sf in "$RES"/specs/*-seed1.json; do
        [ -f "$sf" ] && jq -c --arg f "$(basename "$sf" -seed1.json)" '{($f): (.notes // "")}' "$sf" 2>/dev/null
    done | jq -s 'add // {}')
    short=$(jq -r --argjson notes "$notes_json" "$JQDEF"'def bad: . != null and test("SHORT|not comparable|no result");
        .[] | select(.kind == "learn" and ((.verdict | bad) or (.target_verdict | bad)))
        | ([(if .verdict | bad then .verdict else empty end),
            # a target equal to a missed anchor would only repeat it
            (if (.target_verdict | bad) and ((.verdict | bad | not) or .target.value != .anchor.value)
             then "against the target, \(.target_verdict)" else empty end)]
           | join("; ")) as $why
        | "- **\(.group)**: \($why). Tried: the settings of `bench/specs/\(.spec)` (\(.ok) seed(s), \(.env_steps | k) steps)\(if ($notes[.group] // "") != "" then "; spec notes: \($notes[.group] | sub("\\.$"; ""))" else "" end)."' "$RES/summary.json")
    fails=$(jq -r '.[] | select(.failed | length > 0) | "- **\(.group)**: run(s) failed: \([.failed[] | "seed \(.seed) \(if .exit_code == 3 then "interrupted (exit 3; continue with --resume)" else "exit \(.exit_code)" end)"] | join(", ")) (log under runs/\(.group)/)."' "$RES/summary.json")
    if [ -n "$short$fails" ]; then
        echo "## Where angora falls short of an anchor (or cannot be compared yet)"
        echo
        [ -n "$short" ] && echo "$short"
        [ -n "$fails" ] && echo "$fails"
        echo
    fi

    # curves
    if [ -s "$WORK/plots.list" ]; then
        echo "## Learning curves"
        echo
        echo "Training return per iteration (line: mean over seeds; band: min..max over seeds) and the"
        echo "periodic deterministic evaluations (points), by environment steps."
        echo
        while read -r p; do
            echo "![${p%.png}]($PLOTREL/$p)"
            echo
        done <"$WORK/plots.list"
    fi

    # throughput against raw physics
    thr=""
    for pf in "$RES"/throughput/physics-*.md; do
        task=${pf##*/physics-}
        task=${task%.md}
        raw=$(awk -F'|' -v t="$task" '$2 ~ "^ *" t " *$" {gsub(/ /, "", $3); print $3; exit}' "$pf")
        [ -n "$raw" ] || continue
        thr+=$(jq -r --arg t "$task" --argjson raw "$raw" "$JQDEF"'
          [.[] | select(.task == $t and .kind == "learn" and .ranks == 1 and .sps != null)] as $r
          | if ($r | length) == 0 then empty else
            ([$r[] | .sps] | add / length) as $s | ([$r[] | .collect_sps | select(. != null)] | if length > 0 then add / length else null end) as $c
            | "| \($t) | \($raw | f) | \($c | f) | \($s | f) | \(($s / $raw * 100) | f) % |" end' "$RES/summary.json")
        thr+=$'\n'
    done
    if [ -n "${thr//$'\n'/}" ]; then
        echo "## Training throughput against raw physics"
        echo
        echo "Raw physics: \`bench_physics --task T --seconds S\` (one environment, random actions, per"
        echo "second of thread CPU time). Collection: env steps / \`collect_s\` (8 batched environments +"
        echo "batched inference) from metrics.jsonl; end to end: env steps / wall time of the training,"
        echo "updates and evaluations included (1 rank, mean over this run's groups of the task)."
        echo
        echo "| task | raw physics env steps/s | training: collection env steps/s | training: end to end env steps/s | end to end / raw |"
        echo "|---|---|---|---|---|"
        printf '%s' "$thr" | sed '/^$/d'
        echo
    fi

    # MPI scaling
    sc=$(jq -r "$JQDEF"'[.[] | select(.kind == "scaling")] | group_by(.task) | .[]
        | (map(select(.ranks == 1))[0]) as $one
        | .[] | "| \(.task) | \(.ranks) | \(.env_steps | k) | \(.wall_s | f) s | \(.sps | f) | \(if $one and $one.sps and .sps then ((.sps / $one.sps * 100 | round) / 100 | tostring) + "x" else "-" end) | \(.collect_total_s | f) s | \(.update_total_s | f) s | \(.allreduce_total_s | f) s | \(.final_det.mean | f) |"' "$RES/summary.json")
    if [ -n "$sc" ]; then
        echo "## MPI scaling: 1 vs 2 ranks"
        echo
        echo "The same spec on \`mpirun -np 2\` (\`ranks\` 2: each rank steps \`envs_per_rank\` environments, so"
        echo "an iteration collects twice the transitions; the budget in steps is the same). Two ranks on"
        echo "two cores that other jobs also use: a descheduled rank stalls the other at every allreduce."
        echo
        echo "| task | ranks | env steps | wall-clock | env steps/s | speed-up | rank 0: collection | rank 0: updates | of which allreduce | last.ckpt deterministic |"
        echo "|---|---|---|---|---|---|---|---|---|---|"
        echo "$sc"
        echo
        jq -r "$JQDEF"'[.[] | select(.kind == "scaling")] | group_by(.task) | .[]
          | (map(select(.ranks == 1))[0]) as $one | (map(select(.ranks == 2))[0]) as $two
          | select($one != null and $two != null and $one.sps != null and $two.sps != null)
          | if $two.sps < $one.sps
            then "- **\(.[0].task): 2 ranks were slower than 1** (\($two.sps | f) vs \($one.sps | f) env steps/s); the allreduce took \(($two.allreduce_total_s / $two.wall_s * 100) | f) % of rank 0'"'"'s wall time (one allreduce per minibatch: \($two.update_total_s | f) s of updates)."
            else "- \(.[0].task): 2 ranks gave \(($two.sps / $one.sps * 100 | round) / 100)x the env steps/s of 1 rank." end' "$RES/summary.json"
        echo
    fi

    # exact specs
    echo "## Exact specs"
    echo
    echo "Committed under \`bench/specs/\`; a run replaces \`seed\` (1..N; tuning runs used 100 and up) and \`ranks\`, and in \`--quick\` the"
    echo "budget. The spec each group ran (seed 1), as given to \`angora-train\`:"
    echo
    for g in $(jq -r '.[].group' "$RES/summary.json"); do
        sp="$RES/specs/$g-seed1.json"
        [ -f "$sp" ] || continue
        echo "- \`$g\`: \`$(jq -c 'del(.notes)' "$sp")\`"
    done
    echo
    echo "The resolved specs (every default filled in) are in each run's \`spec.json\`."
    echo

    # every run
    echo "## Every run"
    echo
    echo "| group | seed | ranks | exit | iterations | env steps | wall-clock | process wall, every session | env steps/s | final training return | last.ckpt stochastic | last.ckpt deterministic | selected: best.ckpt deterministic (from iteration) | final-evaluation seed | load avg at start |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    jq -r "$JQDEF"'.[] | "| \(.group) | \(.seed) | \(.ranks) | \(.exit_code) | \(.iterations) | \(.env_steps | k) | \(.wall_s | f) s | \(.process_wall_s | f) s | \(.sps | f) | \(.train_final | f) | \(.final_stoch | f) | \(.final_det | f) | \(pm(.eval_mean; .eval_std)) (\(.eval_iteration // "-")) | \(.final_eval_seed // .final_seed // "-") | \(.load_start) |"' "$RES/runs.json"
    echo

    # ---- throughput: bench/throughput.sh's tables and the raw physics of run.sh, measured on
    # this results directory's tree unless --throughput names a later measurement, which then
    # says its commit
    echo "## Throughput"
    echo
    TP="$TPDIR/throughput.json"
    if [ -f "$TP" ] && jq -e '(.steps | type) == "array"' "$TP" >/dev/null 2>&1; then
        where="this results directory's \`throughput/\`"
        if [ "$TP_EXPLICIT" = 1 ]; then
            shown=$(cd "$TPDIR" && pwd)
            where="\`${shown#"$ROOT"/}\`"
        fi
        jq -r --arg commit "$COMMIT" --arg where "$where" --argjson explicit "$TP_EXPLICIT" '
          "Measured by `bench/throughput.sh` (\(.mode) form) on \(.date) in \($where)"
          + ", one step after the other, with `OPENBLAS_NUM_THREADS=1` and the programs"
          + " of `\(.build)`\(if .built == false then " as they were (not rebuilt)" else " built from the tree" end); load average \(.load_start) at the start and"
          + " \(.load_end // "-") at the end, \(if .duration_s then "\(.duration_s) s" else "unfinished" end) in all."
          + (if .commit != $commit and $explicit == 1 then " **It ran at commit `\(.commit[0:10])`\(if .dirty then " (with uncommitted changes)" else "" end), later than the learning runs above; its figures are of that commit.**"
             elif .commit != $commit then " **It ran at commit `\(.commit[0:10])`, not at the commit this report names.**"
             elif .dirty then " The tree had uncommitted changes, as noted above." else "" end)
          + (if .mode == "quick" then " This is the `--quick` form: fewer presets and shorter timings, a tenth of"
             + " the PPO budgets, two MuJoCo tasks, 2 s per API endpoint; its figures are indicative only." else "" end)' "$TP"
        echo
    else
        echo "**The throughput part was not run** for this results directory (no \`throughput/throughput.json\`):"
        echo "this report has no figures of the network engine, PPO steps/s, training against raw physics"
        echo "per task, gradient averaging, angorad or the live stream. \`bench/throughput.sh RESULTS_DIR/throughput --build DIR\`"
        echo "runs it; this script then renders it."
        echo
        TP=""
    fi

    # raw physics, from run.sh's bench_physics runs
    phys_rows="" phys_failed=""
    for pf in "$RES"/throughput/physics-*.md; do
        task=${pf##*/physics-}
        task=${task%.md}
        row=$(grep -E "^\| *$task *\|" "$pf" | head -n 1 || true)
        if [ -n "$row" ]; then phys_rows+="$row"$'\n'; else phys_failed+="${phys_failed:+, }$task"; fi
    done
    if [ -n "$phys_rows$phys_failed" ]; then
        echo "### Raw physics of the MuJoCo tasks"
        echo
        echo "\`bench_physics --task T --seconds S\` (run by \`bench/run.sh\` after the learning runs) steps one"
        echo "environment of each MuJoCo task of the plan with uniformly random actions over the full range,"
        echo "resets included, on one thread; rates are per second of that thread's CPU time (the wall-clock"
        echo "column is what the process got on the shared machine). Physics steps/s = env steps/s x"
        echo "substeps (frame skip); *unstable* counts steps MuJoCo reported as diverged."
        echo
        if [ -n "$phys_rows" ]; then
            echo "| task | env steps/s | substeps | physics steps/s | us/step | wall env steps/s | episodes | unstable |"
            echo "|---|---|---|---|---|---|---|---|"
            printf '%s' "$phys_rows"
            echo
        fi
        [ -z "$phys_failed" ] || { echo "bench_physics failed for: $phys_failed (see \`throughput/physics-<task>.md\`)."; echo; }
    fi

    # one section per step: what it measures, its command and its tables
    tp_section() { # name title text
        local name=$1 st
        echo "### $2"
        echo
        echo "$3"
        echo
        [ -n "$TP" ] || { echo "_Not run._"; echo; return 0; }
        st=$(jq -c --arg n "$name" '[.steps[] | select(.name == $n)][0]' "$TP")
        if [ "$st" = null ]; then
            echo "_Not run in this session._"
        elif [ "$(jq -r .status <<<"$st")" != passed ]; then
            jq -r '"**Failed**: `\(.command)` exited \(.exit_code) after \(.wall_s) s; its output is in"
                   + " `throughput/\(.name).err` and `.out` of the results directory."' <<<"$st"
        elif [ ! -s "$TPDIR/$name.md" ]; then
            echo "_\`throughput/$name.md\` is missing from the results directory._"
        else
            # a step run again after the others (a failure mended) says when it ran
            jq -r '"`\(.command)` (\(.wall_s) s\(if .rerun then ", run again on its own at \(.started)" else "" end))"' <<<"$st"
            echo
            cat "$TPDIR/$name.md"
        fi
        echo
    }
    tp_section engine "Network engine (bench_nn)" "\`bench_nn\` times the network engine on one core with one BLAS thread: a
training pass (forward + backward) of each model preset at several minibatch sizes next to plain
\`cblas_sgemm\` replaying the same matrix products with the same transposes (*model / sgemm* is how
close the whole engine comes to its BLAS products alone; compare ratios within one run), batched
single-step inference, the policy distributions over a minibatch of 20-dimensional actions, and
Adam with global-norm clipping. Inputs have the hand's shape (a Beta policy over 20 actuators);
recurrent models see sequences of 16 steps; each figure is the best of five rounds of thread CPU
time (wall time beside it), the model and its sgemm reference in alternating rounds. The
\`pathways\` preset also runs with 3 x S x S camera images in place of the object pose (S = 64
and 96), whole and conv layer by conv layer: each layer's forward and backward over a minibatch
of images against sgemm on the engine's own products for it (groups of G images per product)."
    tp_section ppo "PPO training steps/s (bench_ppo.sh)" "\`angora-train\` end to end, collection and updates, on CartPole (categorical policy) and
Pendulum (Gaussian) with the \`simple\` model (separate 64-64 tanh policy and value networks), 8
environments per rank, 4 epochs of 4 minibatches per rank, no periodic evaluation, at 1 rank and
at 2 ranks (\`mpirun -np 2 --bind-to core\`). Steps/s are wall clock over all iterations but the
first; the shares are of rank 0's wall time, from the timing fields of \`metrics.jsonl\`; steps per
CPU-second count user + system time of the whole process tree, start-up included."
    tp_section train-physics "Training against raw physics per MuJoCo task (bench_train_physics.sh)" "For each task, \`bench_physics\` (one environment, random actions) against \`angora-train\` with
the task's preset (\`locomotion\`, or \`hand\`), the \`simple\` model, 8 environments per rank and no
evaluation, at 1 and at 2 ranks. Throughputs are environment steps per CPU second of the whole
process tree (mpirun included), which other load on the machine disturbs less than wall clock;
*2-rank scaling* is 2 x the 2-rank figure / the 1-rank figure, the speed-up two ranks give with a
free core each, start-up included (each run is only a few seconds long). The last three columns
are the steady state of a long run: the median wall-clock iteration (the first two left out) at 1
and 2 ranks, and their ratio. Each configuration is the best of \`--repeat\` runs."
    tp_section hand-physics "HandBlock physics: fast against legacy (bench_physics --baseline)" "\`bench_physics --task HandBlock --baseline '{\"physics\":\"legacy\"}'\` measures HandBlock's
default physics (8 ms x 10 substeps, explicit contact pairs, sparse Jacobian, resets from settled
scenes) and the legacy setting (4 ms x 20, broad-phase contacts, dense Jacobian, 100 ms of settling
on every reset) in the same run, in alternating rounds, one environment with uniformly random
actions on one thread; each row is the best round, rates per second of thread CPU time. Random
actions drop the block after about 10 steps, so resets weigh more here than in training."
    tp_section render "HandBlock pixels: frames per second (bench_render)" "\`bench_render\` renders the palm camera's 64x64 images of a batch of HandBlock environments
(stepped with uniformly random actions between renders, not timed) three ways in alternating
rounds of one run: *before*, one scene per call at the model's full tessellation (how the
\`pixels\` sensation rendered until the tessellation followed the image size); *coarse*, one scene
per call with the primitives tessellated for the image size (what the task does now); *tiled*,
coarse with the batch's scenes tiled into one framebuffer and read back once per pass. The last
column is the whole batch step (physics and pixels) in environment steps. Rates are per second
of the process's CPU time (Mesa's llvmpipe through OSMesa, \`LP_NUM_THREADS=0\`), the best of
the rounds."
    tp_section grad "Gradient averaging over 2 ranks (bench_grad)" "PPO averages the flat gradient block over the ranks after every minibatch: 640 times an
iteration for the \`locomotion\` preset at 2 ranks, whose \`simple\` model on Hopper has about 10,000
parameters. \`bench_grad\` (under \`mpirun -np 2 --bind-to core\`) times one average, waiting for the
other rank included, after 100 us of work on each rank, for MPI_Allreduce and for the shared-memory
window that \`angora-train\` uses when all its ranks share one machine (\`server/rl/rl_grad.h\`); the
best of five alternating rounds."
    tp_section daemon "angorad: ingestion, restart and API (bench_daemon)" "\`bench_daemon\` (\`tests/integration/bench_daemon.c\`) fills a data directory with experiments and
metric rows through the daemon's ingestion code (complete lines, one transaction per batch), one
run holding 100,000 rows; starts \`angorad\` on it with and without the start-up \`PRAGMA
integrity_check\` (restart-to-ready); submits two CartPole trainings of the real \`angora-train\`
(\`max_cores = 2\`) and, while they run, drives the experiment list (a quarter of the requests
with \`tag=\`) and the metrics series of a 90-row run and of the 100,000-row run (downsampled to
1000 points) with libcurl clients, one endpoint at a time."
    tp_section stream "Live stream: latency and fan-out" "The Check case tagged \`bench\` of \`tests/unit/stream/test_stream.c\` starts the stream server on
loopback with a temporary SQLite store and writes rows the way ingestion does
(\`store_metrics_ingest\`, then \`stream_publish_row\`); a latency sample is row committed ->
subscriber has received and parsed it. Phases: one subscriber at one row per 2 ms; 200
subscribers at one row per 20 ms; a burst of rows in batches of 50 to the same 200. All clients
run on one thread of the same process, which bounds the burst's wall time; the server thread's
CPU time per delivered row is the figure that scales."
    tp_section analysis "Analysis: decoding cost (bench_analysis)" "\`bench_analysis\` times one decoding pass of \`angora-analyze\` (\`an_ridge_decode\`, what it
runs per layer) on one core: 100,000 steps x 512 units of a synthetic layer (targets mixed in with
noise) decoding 50 target columns (10 variables of 5), 100 episodes in 5 folds, nested
cross-validation over 17 penalties (25 eigendecompositions of 512 x 512) and the shuffled-label
control (as many again). Reading the HDF5 file is not timed. The budget is 10 s of wall time; the
program exits 1 beyond it."
    tp_section record "Activation recording" "\`bench_record\` times \`angora-train --record-activations\` (\`server/train/train_activations.c\`)
against a plain evaluation of the same deterministic episodes (200 a round), with the \`simple\`
model (separate 64-64 tanh policy and value networks) on CartPole and Hopper, the best of five
alternating rounds. Per environment step: the evaluation alone; with the value network as well
(a plain evaluation runs only the policy); with the probes copied out as well; the recording's
collection (all that, plus the rows staged in episode order and the task variables); the HDF5
writer (compression and disk, in the same thread); and the whole recording against the plain
evaluation."
    # what the throughput sections' figures meant when first read, and the conv layers at camera
    # sizes, which the throughput part does not measure
    if [ -s "$ROOT/docs/benchmarks/by-hand.md" ]; then
        echo
        cat "$ROOT/docs/benchmarks/by-hand.md"
    fi
    # the Slurm executor's latency is measured apart (bench/slurm_latency.py needs root and
    # Slurm's packages); its account is kept beside the benchmark
    if [ -s "$ROOT/docs/benchmarks/slurm.md" ]; then
        echo
        cat "$ROOT/docs/benchmarks/slurm.md"
    fi
    # so is angorad at a research group's scale (bench_scale: a fill of 20-25 minutes)
    if [ -s "$ROOT/docs/benchmarks/scale.md" ]; then
        echo
        cat "$ROOT/docs/benchmarks/scale.md"
    fi
    # so is the latency of ingestion's inotify wake-ups (bench_ingest_latency, a minute)
    if [ -s "$ROOT/docs/benchmarks/ingest-latency.md" ]; then
        echo
        cat "$ROOT/docs/benchmarks/ingest-latency.md"
    fi
    # so is vision pretraining (bench/bench_pretrain.sh: minutes of one core)
    if [ -s "$ROOT/docs/benchmarks/pretrain.md" ]; then
        echo
        cat "$ROOT/docs/benchmarks/pretrain.md"
    fi
} >"$WORK/benchmarks.md"

mkdir -p "$(dirname "$MD")"
mv "$WORK/benchmarks.md" "$MD"
echo "bench: wrote $MD ($(wc -l <"$MD") lines) and $(wc -l <"$WORK/plots.list") plot(s) in $PLOTS"
