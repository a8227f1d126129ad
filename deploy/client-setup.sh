#!/usr/bin/env bash
# Sets up angoractl for the current user after an install under PREFIX, so that a plain
# `angoractl ls`, `man angoractl` and TAB completion work (deploy/quickstart.sh runs it):
#   - the client config $XDG_CONFIG_HOME/angora/client.json (default ~/.config/angora/) with
#     the daemon's address and token, mode 0600 (angoractl refuses a token others can read);
#     a different config already there is kept as client.json.bak
#   - links to the programs in LINK_ROOT/bin, their manual pages in LINK_ROOT/share/man and the
#     bash completion in LINK_ROOT/share/bash-completion/completions, where bash-completion
#     loads it on first use. LINK_ROOT is $ANGORA_LINK_ROOT, else /usr/local for root (on
#     every PATH and man's default search, so `angoractl` and `man angoractl` work at once),
#     else ~/.local (man finds the pages of programs on PATH there; the completion then goes to
#     $XDG_DATA_HOME/bash-completion/completions)
#
# Usage: deploy/client-setup.sh PREFIX URL TOKEN
set -euo pipefail
if [ $# -ne 3 ]; then
    echo "usage: $0 PREFIX URL TOKEN" >&2
    exit 2
fi
prefix=$1
url=$2
token=$3
case "$url" in
http://* | https://*) ;;
*)
    echo "client-setup: URL must start with http:// or https://, got \"$url\"" >&2
    exit 2
    ;;
esac
if ! [[ "$token" =~ ^[A-Za-z0-9_]+$ ]]; then
    echo "client-setup: the token must be letters, digits and _ only" >&2
    exit 2
fi
[ -n "${HOME:-}" ] || {
    echo "client-setup: HOME is not set" >&2
    exit 2
}

# the config, written private from the start (umask) and renamed into place whole
config_dir="${XDG_CONFIG_HOME:-$HOME/.config}/angora"
config="$config_dir/client.json"
mkdir -p "$config_dir"
chmod 700 "$config_dir"
new="$(umask 077 && mktemp "$config_dir/.client.json.XXXXXX")"
printf '{\n  "url": "%s",\n  "token": "%s"\n}\n' "$url" "$token" >"$new"
chmod 600 "$new"
if [ -f "$config" ] && ! cmp -s "$new" "$config"; then
    cp -p "$config" "$config.bak"
    chmod 600 "$config.bak"
    echo "client-setup: kept the previous $config as $config.bak"
fi
mv -f "$new" "$config"

# programs, manual pages and completion, linked to the install so a rebuild updates them
link_root="${ANGORA_LINK_ROOT:-}"
if [ -z "$link_root" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        link_root=/usr/local
    else
        link_root="$HOME/.local"
    fi
fi
bin_dir="$link_root/bin"
man_dir="$link_root/share/man"
if [ "$link_root" = "$HOME/.local" ]; then
    completion_dir="${XDG_DATA_HOME:-$HOME/.local/share}/bash-completion/completions"
else
    completion_dir="$link_root/share/bash-completion/completions"
fi
mkdir -p "$bin_dir" "$man_dir/man1" "$man_dir/man8" "$completion_dir"
for program in angoractl angorad angora-train angora-analyze; do
    if [ -x "$prefix/bin/$program" ]; then
        ln -sfn "$prefix/bin/$program" "$bin_dir/$program"
    fi
done
for page in man1/angoractl.1 man1/angora-train.1 man8/angorad.8; do
    if [ -f "$prefix/share/man/$page" ]; then
        ln -sfn "$prefix/share/man/$page" "$man_dir/$page"
    fi
done
if [ -f "$prefix/share/bash-completion/completions/angoractl" ]; then
    ln -sfn "$prefix/share/bash-completion/completions/angoractl" "$completion_dir/angoractl"
fi
echo "client-setup: wrote $config (mode 0600); linked angoractl, its manual and completion"
case ":$PATH:" in
*":$bin_dir:"*) ;;
*) echo "client-setup: add $bin_dir to PATH (export PATH=\"$bin_dir:\$PATH\") to run angoractl and man angoractl" ;;
esac
