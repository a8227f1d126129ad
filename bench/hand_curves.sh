#!/usr/bin/env bash
# bench/hand_curves.sh: the learning curves of long hand runs in compact form. For every run
# directory it writes one CSV of its metrics (what docs/benchmarks.md plots, small enough to
# commit so that a curve outlives the machine that trained it) and draws the runs of one plot
# against core-hours (wall time x ranks, as the hand targets count them) and environment steps.
#
#   bench/hand_curves.sh --out DIR --name NAME [--metric KEY] LABEL=RUN[@FIRST] [...]
#
# RUN is a run directory, or a CSV this script wrote before (a run whose directory is gone: it is
# plotted as it is). RUN@FIRST draws a run that started from FIRST's final policy (spec init)
# after FIRST's end: its core-hours and environment steps are added to FIRST's last ones in the
# plot (FIRST a run directory or CSV too); RUN's CSV keeps its own counts.
# DIR/NAME-LABEL.csv for each run directory: iteration, env_steps, core_hours,
#   return_mean, episode_length_mean, consecutive_goals_mean, curriculum_max_angle_mean,
#   eval_consecutive_goals_mean, cpu_hours (empty where a row has no value; cpu_hours is the
#   ranks' CPU time, from runs that record cpu_s); DIR/NAME.png: KEY (default
#   consecutive_goals_mean) against core-hours and against environment steps, one line per run.
#   Needs jq and gnuplot.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"

OUT=""
NAME=""
METRIC=consecutive_goals_mean
RUNS=()
while [ $# -gt 0 ]; do
    case "$1" in
    --out | --name | --metric)
        [ $# -ge 2 ] || bench_die 2 "$1 needs a value"
        case "$1" in
        --out) OUT=$2 ;;
        --name) NAME=$2 ;;
        --metric) METRIC=$2 ;;
        esac
        shift 2
        ;;
    -h | --help)
        sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *=*)
        RUNS+=("$1")
        shift
        ;;
    *) bench_die 2 "unknown argument $1 (runs are LABEL=RUN_DIR or LABEL=FILE.csv)" ;;
    esac
done
[ -n "$OUT" ] || bench_die 2 "--out DIR is required"
[ -n "$NAME" ] || bench_die 2 "--name NAME is required"
[ ${#RUNS[@]} -gt 0 ] || bench_die 2 "no runs given (LABEL=RUN_DIR or LABEL=FILE.csv)"
case "$NAME$METRIC" in *[!A-Za-z0-9_.-]*) bench_die 2 "--name and --metric: letters, digits, _ . - only" ;; esac
command -v jq >/dev/null || bench_die 2 "jq is required"
command -v gnuplot >/dev/null || bench_die 2 "gnuplot is required"
mkdir -p "$OUT"

columns="iteration,env_steps,core_hours,return_mean,episode_length_mean,consecutive_goals_mean,curriculum_max_angle_mean,eval_consecutive_goals_mean,cpu_hours"
plot_hours=()
plot_steps=()
for run in "${RUNS[@]}"; do
    label=${run%%=*}
    dir=${run#*=}
    first=""
    case "$dir" in *@*)
        first=${dir#*@}
        dir=${dir%%@*}
        ;;
    esac
    case "$label" in '' | *[!A-Za-z0-9_.-]*) bench_die 2 "label '$label': letters, digits, _ . - only" ;; esac
    # where FIRST ended: its last core-hours and environment steps
    off_hours=0
    off_steps=0
    if [ -n "$first" ]; then
        if [ -f "$first" ] && [ "${first%.csv}" != "$first" ]; then
            head -n 1 "$first" | grep -q '^iteration,env_steps,core_hours,' ||
                bench_die 2 "$first is not a CSV of this script"
            off_steps=$(tail -n 1 "$first" | cut -d, -f2)
            off_hours=$(tail -n 1 "$first" | cut -d, -f3)
        else
            if [ ! -s "$first/metrics.jsonl" ] || [ ! -s "$first/spec.json" ]; then
                bench_die 2 "$first: not a run directory (metrics.jsonl, spec.json) nor a CSV"
            fi
            off_steps=$(tail -n 1 "$first/metrics.jsonl" | jq -r '.env_steps')
            off_hours=$(tail -n 1 "$first/metrics.jsonl" |
                jq -r --argjson r "$(jq -r '.ranks // 1' "$first/spec.json")" '(.wall_s // 0) * $r / 3600')
        fi
        echo "$label: drawn after $first (+$off_hours core-hours, +$off_steps env steps)"
    fi
    if [ -f "$dir" ] && [ "${dir%.csv}" != "$dir" ]; then
        csv=$dir
        head -n 1 "$csv" | grep -q '^iteration,env_steps,core_hours,' ||
            bench_die 2 "$csv is not a CSV of this script"
    else
        [ -s "$dir/metrics.jsonl" ] || bench_die 2 "$dir/metrics.jsonl is missing or empty"
        [ -s "$dir/spec.json" ] || bench_die 2 "$dir/spec.json is missing"
        ranks=$(jq -r '.ranks // 1' "$dir/spec.json")
        csv="$OUT/$NAME-$label.csv"
        {
            echo "$columns"
            jq -r --argjson r "$ranks" '[.iteration, .env_steps, ((.wall_s // 0) * $r / 3600),
                .return_mean, .episode_length_mean, .consecutive_goals_mean,
                .curriculum_max_angle_mean, .eval_consecutive_goals_mean,
                (if .cpu_s == null then null else .cpu_s / 3600 end)]
                | map(if . == null then "" elif type == "number" then (. * 10000 | round / 10000)
                      else . end) | @csv' "$dir/metrics.jsonl"
        } >"$csv.part"
        mv "$csv.part" "$csv"
    fi
    col=$(echo "$columns" | tr ',' '\n' | grep -nx "$METRIC" | cut -d: -f1) ||
        bench_die 2 "--metric $METRIC is not one of: $columns"
    plot_hours+=("'$csv' using (\$3+$off_hours):(\$$col) with lines lw 2 title '$label'")
    plot_steps+=("'$csv' using ((\$2+$off_steps)/1e6):(\$$col) with lines lw 2 title '$label'")
    echo "$csv: $(($(wc -l <"$csv") - 1)) iterations"
done

join() { # separator items...
    local sep=$1 out=""
    shift
    for x in "$@"; do out="${out:+$out$sep}$x"; done
    echo "$out"
}
gnuplot <<EOF
set terminal pngcairo size 1200,450 font ",10" noenhanced
set output '$OUT/$NAME.png'
set datafile separator ','
set key top left
set grid
set multiplot layout 1,2 title '$NAME: $METRIC'
set xlabel 'core-hours (wall time x ranks)'
set ylabel '$METRIC'
plot $(join ', ' "${plot_hours[@]}")
set xlabel 'environment steps (millions)'
plot $(join ', ' "${plot_steps[@]}")
unset multiplot
EOF
echo "$OUT/$NAME.png"
