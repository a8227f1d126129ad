#!/usr/bin/env bash
# Installs what angora needs from Debian 12 packages, and only what is missing. Idempotent.
# Usage: deploy/install-deps.sh [--with-web] [--with-bench] [--with-slurm]
# (--with-slurm: munge and Slurm's controller, node daemon and clients, for the Slurm executor's
# tests on a one-node cluster on localhost, and to submit to a real cluster)
set -euo pipefail

packages=(
    build-essential cmake pkg-config clang-format-16
    libopenblas-dev libjansson-dev libsqlite3-dev sqlite3
    libmicrohttpd-dev libwebsockets-dev libcurl4-openssl-dev libssl-dev
    libmujoco-dev libqhull-dev libosmesa6-dev ffmpeg
    libopenmpi-dev openmpi-bin
    libhdf5-dev libcairo2-dev python3-h5py
    check
    groff-base man-db bsdextrautils bash-completion
)
for arg in "$@"; do
    case "$arg" in
    --with-web) packages+=(chromium firefox-esr nodejs npm) ;;
    --with-bench) packages+=(gnuplot-nox jq) ;;
    --with-slurm) packages+=(slurmctld slurmd slurm-client munge) ;;
    *) echo "install-deps.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
# node may come from another source than Debian's package; npm with it
if [[ " ${missing[*]} " == *" nodejs "* ]] && command -v node >/dev/null 2>&1; then
    missing=("${missing[@]/nodejs/}")
fi
if [[ " ${missing[*]} " == *" npm "* ]] && command -v npm >/dev/null 2>&1; then
    missing=("${missing[@]/npm/}")
fi
read -r -a missing <<<"${missing[*]}"
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: everything is installed"
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
