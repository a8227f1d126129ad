#!/usr/bin/env bash
# deploy/client-setup.sh (run by quickstart) in a home of its own: the client config it writes
# is private (0600 in a 0700 folder) and angoractl accepts it; `man -w` finds the linked manual
# pages once ~/.local/bin is on PATH; the completion is where bash-completion looks; a second run
# with another token keeps the old config as client.json.bak; bad arguments are refused.
#   test_client_setup.sh SOURCE_DIR ANGORACTL
set -euo pipefail
src=$1
ctl=$2
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp/home"
unset XDG_CONFIG_HOME XDG_DATA_HOME ANGORA_URL ANGORA_TOKEN ANGORA_CONFIG
# links go under ~/.local here, as for a user who is not root (root's /usr/local is tested at
# the end, under a stand-in root)
export ANGORA_LINK_ROOT="$HOME/.local"
mkdir -p "$HOME"

# an install prefix as cmake --install lays it out
prefix="$tmp/prefix"
mkdir -p "$prefix/bin" "$prefix/share/man/man1" "$prefix/share/man/man8" \
    "$prefix/share/bash-completion/completions"
ln -s "$ctl" "$prefix/bin/angoractl"
cp "$src/docs/man/angoractl.1" "$src/docs/man/angora-train.1" "$prefix/share/man/man1/"
cp "$src/docs/man/angorad.8" "$prefix/share/man/man8/"
cp "$src/client/angoractl-completion.bash" "$prefix/share/bash-completion/completions/angoractl"

token=ang_0123456789abcdef
"$src/deploy/client-setup.sh" "$prefix" "http://127.0.0.1:1" "$token" >"$tmp/out"
config="$HOME/.config/angora/client.json"
[ -f "$config" ] || fail "no $config"
[ "$(stat -c %a "$config")" = 600 ] || fail "config mode $(stat -c %a "$config")"
[ "$(stat -c %a "$HOME/.config/angora")" = 700 ] || fail "config folder mode"
grep -q "\"token\": \"$token\"" "$config" || fail "token not in the config"
grep -q '"url": "http://127.0.0.1:1"' "$config" || fail "url not in the config"
grep -q "add $HOME/.local/bin to PATH" "$tmp/out" || fail "no PATH advice: $(cat "$tmp/out")"

# angoractl reads it: the address from the file (nothing listens there: exit 5, not a config
# error), and the token too (a request is made, so no "no token" hint)
set +e
"$HOME/.local/bin/angoractl" --timeout 2 ls >/dev/null 2>"$tmp/err"
code=$?
set -e
[ $code -eq 5 ] || fail "angoractl ls with the written config: exit $code ($(cat "$tmp/err"))"
grep -q "127.0.0.1:1" "$tmp/err" || fail "the address did not come from the config: $(cat "$tmp/err")"
"$ctl" __complete options ls >/dev/null || fail "__complete with the written config"

# man finds the pages of programs on PATH, and the completion is where bash-completion looks
if command -v man >/dev/null 2>&1; then
    # (man may print the link's target, the page in the prefix)
    found=$(PATH="$HOME/.local/bin:$PATH" man -w angoractl)
    case "$found" in
    "$HOME/.local/share/man/man1/angoractl.1" | "$prefix/share/man/man1/angoractl.1") ;;
    *) fail "man -w angoractl: $found" ;;
    esac
    found=$(PATH="$HOME/.local/bin:$PATH" man -w 8 angorad)
    case "$found" in
    "$HOME/.local/share/man/man8/angorad.8" | "$prefix/share/man/man8/angorad.8") ;;
    *) fail "man -w angorad: $found" ;;
    esac
fi
[ -e "$HOME/.local/share/bash-completion/completions/angoractl" ] || fail "no completion"
registered=$(bash -c "source '$HOME/.local/share/bash-completion/completions/angoractl' &&
    complete -p angoractl")
[[ "$registered" == *_angoractl* ]] || fail "the completion does not register: $registered"
# bash-completion itself finds it there, as an interactive shell would on the first TAB
if [ -f /usr/share/bash-completion/bash_completion ]; then
    registered=$(bash -c 'source /usr/share/bash-completion/bash_completion &&
        __load_completion angoractl && complete -p angoractl')
    [[ "$registered" == *_angoractl* ]] || fail "bash-completion does not load it: $registered"
fi

# a second run with the same values changes nothing; with another token it keeps a backup
"$src/deploy/client-setup.sh" "$prefix" "http://127.0.0.1:1" "$token" >"$tmp/out"
[ ! -e "$config.bak" ] || fail "a backup of an identical config"
"$src/deploy/client-setup.sh" "$prefix" "http://127.0.0.1:2" ang_other >"$tmp/out"
grep -q ang_other "$config" || fail "the new token was not written"
grep -q "$token" "$config.bak" || fail "the old config was not kept"
[ "$(stat -c %a "$config.bak")" = 600 ] || fail "backup mode $(stat -c %a "$config.bak")"
grep -q "client.json.bak" "$tmp/out" || fail "the backup was not announced"

# another link root (root's /usr/local, here a stand-in): the programs, the manual pages under
# share/man (where man looks by default) and the completion under share/bash-completion
root="$tmp/usr-local"
ANGORA_LINK_ROOT="$root" "$src/deploy/client-setup.sh" "$prefix" "http://127.0.0.1:2" \
    ang_other >"$tmp/out"
[ -x "$root/bin/angoractl" ] || fail "no angoractl under the link root"
[ -e "$root/share/man/man1/angoractl.1" ] || fail "no manual page under the link root"
[ -e "$root/share/man/man8/angorad.8" ] || fail "no angorad(8) under the link root"
[ -e "$root/share/bash-completion/completions/angoractl" ] || fail "no completion under the link root"
MANPATH="$root/share/man" man -w angoractl >/dev/null || fail "man does not find angoractl there"

# bad arguments
for args in "$prefix" "$prefix ftp://x ang_x" "$prefix http://x bad\"token"; do
    set +e
    # shellcheck disable=SC2086
    "$src/deploy/client-setup.sh" $args >/dev/null 2>&1
    code=$?
    set -e
    [ $code -eq 2 ] || fail "client-setup.sh $args: exit $code"
done
echo ok
