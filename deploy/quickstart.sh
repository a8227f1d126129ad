#!/usr/bin/env bash
# First run on a Debian 12 machine: installs what is missing, builds and installs angora under
# one directory, starts angorad on 127.0.0.1 with its embedded SQLite database there, submits a
# short demo experiment (a hand task) and prints the dashboard address and the token. It also
# sets up angoractl for the user (deploy/client-setup.sh): the client config with the address
# and token (~/.config/angora/client.json, mode 0600), the manual pages and bash completion.
# Running it again reuses what is there: it rebuilds, keeps a live daemon, submits no duplicate.
#
# Usage: deploy/quickstart.sh [--stop]
#   ANGORA_HOME   where everything goes (default: .quickstart in the repository)
#   ANGORA_PORT   the dashboard/API port (default 7878)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
home="${ANGORA_HOME:-$repo/.quickstart}"
port="${ANGORA_PORT:-7878}"
prefix="$home/prefix"
data="$home/data"
pidfile="$home/angorad.pid"

running() {
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

if [ "${1:-}" = "--stop" ]; then
    if running; then
        kill -TERM "$(cat "$pidfile")"
        echo "angorad stopped (training runs go on and are re-adopted at the next start)"
    else
        echo "angorad is not running"
    fi
    rm -f "$pidfile"
    exit 0
fi

"$repo/deploy/install-deps.sh"
if ! command -v curl >/dev/null 2>&1; then
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get install -y -qq curl
fi

echo "== building angora"
cmake -S "$repo" -B "$repo/build/release" -DCMAKE_BUILD_TYPE=Release -DANGORA_BUILD_TESTS=OFF \
    -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
cmake --build "$repo/build/release" -j"$(nproc)"
cmake --install "$repo/build/release" >/dev/null
mkdir -p "$data"

if running; then
    echo "== angorad is already running (pid $(cat "$pidfile"))"
    port="$(cat "$data/port" 2>/dev/null || echo "$port")"
else
    echo "== starting angorad"
    rm -f "$data/port"
    nohup "$prefix/bin/angorad" --data-dir "$data" --bind 127.0.0.1 --port "$port" \
        --port-file "$data/port" >>"$home/angorad.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 100); do
        [ -s "$data/port" ] && break
        running || { echo "angorad did not start; see $home/angorad.log" >&2; tail -n 20 "$home/angorad.log" >&2; exit 1; }
        sleep 0.1
    done
    port="$(cat "$data/port")"
fi
url="http://127.0.0.1:$port"
for _ in $(seq 1 50); do
    curl -fsS "$url/api/v1/health" >/dev/null 2>&1 && break
    sleep 0.1
done
token="$(cat "$data/token")"

# the demo: a hand learning to reach, a run of a few minutes whose curves rise while one watches
# (the return from about -20 towards -3, then the success rate), unless one was submitted before.
# The settings are bench/specs/HandReach.json's with a 600k-step budget: its return climbs
# within the first minute; the whole run takes about 4 minutes on one free core (2,900 steps/s)
# and up to 12 on a busy one (measured: -20 to -12 in the first minute at 800 steps/s).
auth=(-H "Authorization: Bearer $token")
demo_about="HandReach, a hand learning to reach: about 4 minutes on a free core, up to 12 on a
              busy one; the Return chart climbs within the first minute, then the success rate"
if curl -fsS "${auth[@]}" "$url/api/v1/experiments?limit=200" | grep -q '"quickstart-demo"'; then
    echo "== the demo experiment is already there"
else
    task=HandReach
    if curl -fsS "${auth[@]}" "$url/api/v1/catalogue" | grep -q '"HandReach"'; then
        cat >"$home/demo.json" <<JSON
{
  "name": "quickstart-demo",
  "task": "HandReach",
  "task_options": {"control": "relative", "fingertips": true, "touch": false, "asymmetric": true},
  "preset": "locomotion",
  "model": {"trunk": [{"type": "dense", "units": 256}, "tanh",
                      {"type": "dense", "units": 256}, "tanh"]},
  "policy": "beta",
  "ppo": {"envs_per_rank": 16, "horizon": 200, "epochs": 10, "minibatch": 400, "lr": 0.0003,
          "lr_schedule": "linear", "lr_final": 0, "gamma": 0.9, "gae_lambda": 0.95, "clip": 0.2,
          "c_entropy": 0, "c_value": 0.5, "grad_clip": 0.5},
  "normalize": {"observations": true, "rewards": true, "clip_obs": 10, "clip_reward": 10},
  "budget": {"env_steps": 600000},
  "eval": {"every": 10, "episodes": 5, "deterministic": true},
  "seed": 1,
  "tags": ["demo"],
  "notes": "quickstart demo: the settings of bench/specs/HandReach.json for 600k steps"
}
JSON
    else
        # a build without the MuJoCo tasks: CartPole learns to balance in seconds
        task=CartPole
        demo_about="CartPole learning to balance: about 10 seconds; its Return climbs to 500"
        cat >"$home/demo.json" <<JSON
{
  "name": "quickstart-demo",
  "task": "CartPole",
  "model": "simple",
  "ppo": {"envs_per_rank": 8, "horizon": 128, "epochs": 4, "minibatch": 256, "lr": 0.001,
          "lr_schedule": "linear"},
  "budget": {"env_steps": 200000},
  "seed": 1,
  "tags": ["demo"]
}
JSON
    fi
    echo "== submitting the demo experiment ($task)"
    curl -fsS "${auth[@]}" -H "Content-Type: application/json" --data-binary "@$home/demo.json" \
        "$url/api/v1/experiments" >/dev/null
    echo "   demo: $demo_about"
    echo "         watch it: open the dashboard and the experiment quickstart-demo"
fi

echo "== setting up angoractl"
"$repo/deploy/client-setup.sh" "$prefix" "$url" "$token"
# plain `angoractl` when the one on PATH is this install's (root: /usr/local/bin)
client="$prefix/bin/angoractl"
if [ "$(readlink -f "$(command -v angoractl || true)")" = "$(readlink -f "$client")" ]; then
    client="angoractl"
fi

cat <<INFO

angora is running.
  dashboard:  $url/
  token:      $token
  data:       $data (database, token, run directories)
  log:        $home/angorad.log
  client:     $client ls   (man angoractl; TAB completes commands and ids)
  stop:       deploy/quickstart.sh --stop
INFO
