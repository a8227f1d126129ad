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

# the demo: a short hand-reaching run, unless one was submitted before
auth=(-H "Authorization: Bearer $token")
if curl -fsS "${auth[@]}" "$url/api/v1/experiments?limit=200" | grep -q '"quickstart-demo"'; then
    echo "== the demo experiment is already there"
else
    task=HandReach
    if ! curl -fsS "${auth[@]}" "$url/api/v1/catalogue" | grep -q '"HandReach"'; then
        task=CartPole
    fi
    cat >"$home/demo.json" <<JSON
{
  "name": "quickstart-demo",
  "task": "$task",
  "model": "simple",
  "budget": {"env_steps": 200000},
  "seed": 1,
  "tags": ["demo"]
}
JSON
    echo "== submitting the demo experiment ($task)"
    curl -fsS "${auth[@]}" -H "Content-Type: application/json" --data-binary "@$home/demo.json" \
        "$url/api/v1/experiments" >/dev/null
fi

echo "== setting up angoractl"
"$repo/deploy/client-setup.sh" "$prefix" "$url" "$token"
client="angoractl"
case ":$PATH:" in
*":$HOME/.local/bin:"*) ;;
*) client="$prefix/bin/angoractl" ;;
esac

cat <<INFO

angora is running.
  dashboard:  $url/
  token:      $token
  data:       $data (database, token, run directories)
  log:        $home/angorad.log
  client:     $client ls   (man angoractl; TAB completes commands and ids)
  stop:       deploy/quickstart.sh --stop
INFO
