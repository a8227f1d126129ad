#!/usr/bin/env bash
# The hand-written manual pages (docs/man) render without a warning from groff, name every
# command angoractl has, and the bash completion script (client/angoractl-completion.bash)
# completes commands, options, states and files without a server.
#   test_man_and_completion.sh SOURCE_DIR ANGORACTL
set -euo pipefail
src=$1
ctl=$2
complete_line="$src/tests/integration/client/complete_line.sh"
script="$src/client/angoractl-completion.bash"
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# every page renders, and groff has nothing to say about it (-ww: all warnings)
for page in "$src"/docs/man/angoractl.1 "$src"/docs/man/angorad.8 "$src"/docs/man/angora-train.1; do
    warnings=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>&1)
    [ -z "$warnings" ] || fail "$page: $warnings"
    text=$(LC_ALL=C.UTF-8 groff -man -Tutf8 "$page" 2>/dev/null | col -bx)
    grep -q "^NAME" <<<"$text" || fail "$page has no NAME section"
    grep -q "^SYNOPSIS" <<<"$text" || fail "$page has no SYNOPSIS section"
done
if command -v man >/dev/null 2>&1; then
    # the whole page first: grep -q stopping early would break the pipe (pipefail)
    text=$(MANWIDTH=80 man -l "$src/docs/man/angoractl.1" 2>&1 | col -bx)
    grep -q "angoractl ls" <<<"$text" || fail "man -l does not show angoractl(1)"
fi

# angoractl(1) documents every command and the config file's rules
page=$(LC_ALL=C.UTF-8 groff -man -Tutf8 "$src/docs/man/angoractl.1" 2>/dev/null | col -bx)
for cmd in $("$ctl" __complete commands); do
    grep -Eq "^ +$cmd( |,|$)|, $cmd " <<<"$page" || fail "angoractl(1) does not document $cmd"
done
for needle in "client.json" "0600" "ANGORA_TOKEN" "--yes" "ETA"; do
    grep -q -- "$needle" <<<"$page" || fail "angoractl(1) does not mention $needle"
done

# completion without a server: commands, options, fixed values and files
got=$(bash "$complete_line" "$script" "$ctl ")
[ "$got" = "$("$ctl" __complete commands | tr '\n' ' ' | sed 's/ $//')" ] ||
    fail "commands: $got"
got=$(bash "$complete_line" "$script" "$ctl s")
[ "$got" = "submit show" ] || fail "s: $got"
got=$(bash "$complete_line" "$script" "$ctl me")
[ "$got" = "metrics" ] || fail "me: $got"
got=$(bash "$complete_line" "$script" "$ctl rm 3 --y")
[ "$got" = "--yes" ] || fail "rm --y: $got"
got=$(bash "$complete_line" "$script" "$ctl metrics 3 --ke")
[ "$got" = "--keys --key" ] || fail "metrics --ke: $got"
got=$(bash "$complete_line" "$script" "$ctl --js")
[ "$got" = "--json" ] || fail "--js: $got"
got=$(bash "$complete_line" "$script" "$ctl ls --state f")
[ "$got" = "failed" ] || fail "--state f: $got"
got=$(bash "$complete_line" "$script" "$ctl token ")
[ "$got" = "create list revoke" ] || fail "token: $got"
# files: a spec for submit, any file for -o, folders for --data-dir
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/runs"
touch "$tmp/spec.json" "$tmp/notes.txt"
got=$(cd "$tmp" && bash "$complete_line" "$script" "$ctl submit ")
[ "$got" = "spec.json runs" ] || fail "submit: $got"
got=$(cd "$tmp" && bash "$complete_line" "$script" "$ctl download 3 -o n")
[ "$got" = "notes.txt" ] || fail "-o: $got"
got=$(cd "$tmp" && bash "$complete_line" "$script" "$ctl --data-dir ")
[ "$got" = "runs" ] || fail "--data-dir: $got"
echo "ok"
