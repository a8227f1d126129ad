#!/usr/bin/env bash
# Completes one command line with angoractl's bash completion, as bash would on TAB, and prints
# the candidates on one line. The first word of the line is the angoractl to ask.
#   complete_line.sh COMPLETION_SCRIPT "path/to/angoractl show "
set -u
# shellcheck source=/dev/null
source "$1"
read -ra COMP_WORDS <<<"$2"
# a line ending in a space completes a new, empty word
if [[ "$2" == *" " ]]; then
    COMP_WORDS+=("")
fi
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMPREPLY=()
_angoractl
echo "${COMPREPLY[*]}"
