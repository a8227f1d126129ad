#!/usr/bin/env bash
# Test double of angora-train for the daemon's integration tests: same command line, run
# directory files and exit codes (0 done, 1 error, 3 interrupted after a checkpoint), but each
# "iteration" is a short sleep, so queueing, signals, crashes and restarts can be tested in
# seconds. Its behaviour comes from the spec's notes, e.g. "fake:iters=20,sleep=0.05":
#   iters=N       iterations to run (default 10)
#   sleep=S       seconds per iteration (default 0.05)
#   crash=always  exit 1 at iteration 2 on every attempt
#   crash_once=K  exit 1 at iteration K on the first attempt only
#   crash=input   write error.json (class input) and exit 2 at iteration 2
#   eval=K        an evaluation (eval_return = 100 + iteration) in every K-th iteration's row
# --check accepts every spec. Its catalogue says Pendulum draws no pictures and HandReach does;
# of CartPole it says nothing, so that its evaluations may "record" (a stand-in video).
# Only MPI rank 0 writes files; other ranks wait for it like real ranks would. A test that dies
# without cleaning up cannot leave it behind for long: it gives up after 10 minutes or when its
# run directory is removed.
set -u

if [ "${1:-}" = "--list-tasks" ]; then
    # the real catalogue's fields for two tasks (what angoractl tasks shows), names only for
    # Pendulum, which draws no pictures
    echo '[{"name":"CartPole","obs_size":4,"action":{"kind":"discrete","dim":1,"choices":[2]},'\
'"max_episode_steps":500,"metrics":[],"summary":"Balance a pole on a cart"},'\
'{"name":"Pendulum","renders":false},'\
'{"name":"HandReach","obs_size":58,"action":{"kind":"continuous","dim":20},'\
'"max_episode_steps":100,"metrics":["success"],"summary":"Reach a target with the fingertips",'\
'"renders":true}]'
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    echo '{"valid":true,"message":null,"path":null}'
    exit 0
fi
if [ "${1:-}" = "--record-activations" ]; then
    # a stand-in recording: the checkpoint's text (so the fake analyzer reads its directives)
    # written whole to --out, like the real one (.part, then renamed), a summary on stdout.
    # Directives in the checkpoint's text: record:sleep=S, record:exit=N (every attempt),
    # record:exit_once=N (the first attempt only)
    ckpt=$2 out="" episodes=1 det=false
    shift 2
    while [ $# -gt 0 ]; do
        case "$1" in
        --out) out=$2; shift ;;
        --episodes) episodes=$2; shift ;;
        --deterministic) det=true ;;
        esac
        shift
    done
    [ -r "$ckpt" ] || { echo "fake-trainer: $ckpt: No such file or directory" >&2; exit 2; }
    directive() { sed -n "s/^record:$1=//p" "$ckpt" | head -n 1; }
    tries_file="$(dirname "$out")/.fake-record-attempts"
    tries=$(($(cat "$tries_file" 2>/dev/null || echo 0) + 1))
    echo $tries >"$tries_file"
    echo "fake recorder: $episodes episodes of $ckpt (attempt $tries)" >&2
    pause=$(directive sleep)
    for ((i = 0; i < ${pause:-0}0; i++)); do
        sleep 0.1
        [ $SECONDS -gt 600 ] && exit 1
    done
    code=$(directive exit)
    if [ -z "$code" ] && [ $tries -eq 1 ]; then code=$(directive exit_once); fi
    if [ -n "$code" ]; then
        echo "fake-trainer: recording activations failed: simulated exit $code" >&2
        exit "$code"
    fi
    { cat "$ckpt"; echo "episodes=$episodes"; } >"$out.part" && mv "$out.part" "$out"
    echo "{\"episodes\":$episodes,\"deterministic\":$det,\"file\":\"$out\",\"mean\":42.0}"
    exit 0
fi
if [ "${1:-}" = "--evaluate" ]; then
    ckpt=$2
    [ -r "$ckpt" ] || { echo "fake-trainer: no checkpoint $ckpt" >&2; exit 1; }
    # --record/--trajectory: small stand-in files written whole, like the real ones
    video="" traj="" rec="" episodes=${4:-1}
    set -- "${@:3}"
    while [ $# -gt 0 ]; do
        case "$1" in
        --record) video=$2; shift ;;
        --trajectory) traj=$2; shift ;;
        esac
        shift
    done
    if [ -n "$video" ]; then
        printf 'fake video of %s\n' "$ckpt" >"$video.part" && mv "$video.part" "$video"
        rec=",\"recording\":{\"video\":\"$video\",\"frames\":3,\"length\":3}"
    fi
    if [ -n "$traj" ]; then
        echo '{"version":1,"task":"CartPole","length":3,"steps":[{},{},{}]}' >"$traj"
    fi
    # the summary of a task with a metric, its intervals as the real trainer writes them
    echo "{\"episodes\":$episodes,\"mean\":42.0,\"std\":1.0,\"ci95\":[40.5,43.5],\"checkpoint\":\"$ckpt\"$rec,\"metrics\":{\"success\":0.75},\"metrics_std\":{\"success\":0.5},\"metrics_ci95\":{\"success\":[0.25,0.95]}}"
    exit 0
fi

spec=$1
shift
run_dir=""
resume=0
while [ $# -gt 0 ]; do
    case "$1" in
    --run-dir) run_dir=$2; shift 2 ;;
    --resume) resume=1; shift ;;
    *) echo "fake-trainer: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -n "$run_dir" ] || { echo "fake-trainer: --run-dir is required" >&2; exit 2; }
notes=$(sed -n 's/^ *"notes": "\(.*\)",\{0,1\}$/\1/p' "$spec")
opt() { echo "$notes" | tr ',:' '\n\n' | sed -n "s/^$1=//p" | head -n 1; }
iters=$(opt iters); iters=${iters:-10}
pause=$(opt sleep); pause=${pause:-0.05}
crash=$(opt crash)
crash_once=$(opt crash_once)
eval_every=$(opt eval)

rank=${OMPI_COMM_WORLD_RANK:-0}
term=0
trap 'term=1' TERM INT

if [ "$rank" != 0 ]; then
    # other ranks live as long as rank 0 works
    while [ $term -eq 0 ] && ! grep -qs '"done"\|"interrupted"\|"failed"' "$run_dir/status.json"; do
        sleep 0.05
        if [ $SECONDS -gt 600 ] || [ ! -d "$run_dir" ]; then
            exit 1
        fi
    done
    [ $term -eq 1 ] && exit 3
    exit 0
fi

mkdir -p "$run_dir/checkpoints"
status() { echo "{\"state\":\"$1\",\"iteration\":$2,\"total\":$iters}" >"$run_dir/status.json.tmp" &&
    mv "$run_dir/status.json.tmp" "$run_dir/status.json"; }
start=1
if [ $resume -eq 1 ] && [ -f "$run_dir/checkpoints/last.ckpt" ]; then
    done_it=$(cat "$run_dir/checkpoints/last.ckpt")
    start=$((done_it + 1))
    # like angora-train: metrics are cut back to the checkpoint
    awk -v last="$done_it" -F'"iteration":' '{split($2, a, ","); if (a[1] + 0 <= last) print}' \
        "$run_dir/metrics.jsonl" >"$run_dir/metrics.tmp" 2>/dev/null
    mv "$run_dir/metrics.tmp" "$run_dir/metrics.jsonl"
    echo "resumed at iteration $done_it" >>"$run_dir/train.log"
elif [ $resume -eq 1 ]; then
    : >"$run_dir/metrics.jsonl"
fi
attempt_file="$run_dir/.fake-attempts"
attempt=$(($(cat "$attempt_file" 2>/dev/null || echo 0) + 1))
echo $attempt >"$attempt_file"
echo "fake trainer pid $$ attempt $attempt from iteration $start" >>"$run_dir/train.log"

for ((i = start; i <= iters; i++)); do
    sleep "$pause"
    if [ $SECONDS -gt 600 ] || [ ! -d "$run_dir" ]; then
        exit 1
    fi
    if [ "$crash" = always ] && [ $i -eq 2 ]; then
        echo "simulated crash" >&2
        status failed $((i - 1))
        exit 1
    fi
    if [ "$crash" = input ] && [ $i -eq 2 ]; then
        echo '{"message":"task_options.bogus: unknown key","path":"task_options.bogus","class":"input"}' \
            >"$run_dir/error.json"
        exit 2
    fi
    if [ -n "$crash_once" ] && [ $attempt -eq 1 ] && [ $i -eq "$crash_once" ]; then
        echo "simulated crash" >&2
        exit 1
    fi
    eval_field=""
    if [ -n "$eval_every" ] && [ $((i % eval_every)) -eq 0 ]; then
        eval_field=",\"eval_return\":$((100 + i)).5"
    fi
    echo "{\"iteration\":$i,\"env_steps\":$((i * 1000)),\"wall_s\":$i.5,\"return_mean\":$((i * 10)).25,\"loss\":0.$i$eval_field}" >>"$run_dir/metrics.jsonl"
    echo $i >"$run_dir/checkpoints/last.tmp" && mv "$run_dir/checkpoints/last.tmp" "$run_dir/checkpoints/last.ckpt"
    status running $i
    if [ $term -eq 1 ]; then
        echo "interrupted at iteration $i" >>"$run_dir/train.log"
        status interrupted $i
        exit 3
    fi
done
status done "$iters"
echo "done" >>"$run_dir/train.log"
exit 0
