# bash completion of angoractl: commands, options, experiment ids and checkpoint names from the
# server, task names, states, and files where an option takes a file. The words come from
# `angoractl __complete` (commands and options from the client's own table; ids, tasks and
# checkpoints from the API), asked with the address options already typed on the line.
# Installed to share/bash-completion/completions/angoractl by CMake and deploy/quickstart.sh.

# the words of one kind, from the angoractl on the line with its address options (ctl and conn
# are _angoractl's locals, seen here through bash's dynamic scope)
_angoractl_words() {
    "$ctl" "${conn[@]}" __complete "$@" 2>/dev/null
}

_angoractl() {
    local cur prev cmd="" i word npos=0
    local -a conn=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev=""
    ((COMP_CWORD > 0)) && prev="${COMP_WORDS[COMP_CWORD - 1]}"
    # the command (first word that is not an option or an option's value) and the address
    # options the server words must be fetched with
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${COMP_WORDS[i]}"
        case "$word" in
        --url | --token | --token-file | --data-dir | --config | --timeout)
            conn+=("$word" "${COMP_WORDS[i + 1]}")
            ((i++))
            ;;
        --url=* | --token=* | --token-file=* | --data-dir=* | --config=* | --timeout=*)
            conn+=("$word")
            ;;
        --name | --priority | --tag | --state | --task | --limit | --cursor | --tail | \
            --interval | --key | --after-seq | --timeout-run | --checkpoint | --ckpt | -o | \
            --output | --episodes | --folds | --variables | --layers | --scope)
            ((i++))
            ;;
        -*) ;;
        *)
            if [[ -z "$cmd" ]]; then
                cmd="$word"
            else
                ((npos++))
            fi
            ;;
        esac
    done
    local ctl="${COMP_WORDS[0]}"

    # values of options
    case "$prev" in
    --config | --token-file)
        COMPREPLY=($(compgen -f -- "$cur"))
        return
        ;;
    -o | --output)
        if [[ "$cmd" == download ]] && [[ " ${COMP_WORDS[*]} " == *" --analysis "* ]]; then
            COMPREPLY=($(compgen -d -- "$cur"))
        else
            COMPREPLY=($(compgen -f -- "$cur"))
        fi
        return
        ;;
    --data-dir)
        COMPREPLY=($(compgen -d -- "$cur"))
        return
        ;;
    --task)
        COMPREPLY=($(compgen -W "$(_angoractl_words tasks)" -- "$cur"))
        return
        ;;
    --state)
        COMPREPLY=($(compgen -W "$(_angoractl_words states)" -- "$cur"))
        return
        ;;
    --scope)
        COMPREPLY=($(compgen -W "read full" -- "$cur"))
        return
        ;;
    --checkpoint | --ckpt)
        local id=""
        for ((i = 1; i < COMP_CWORD; i++)); do
            [[ "${COMP_WORDS[i]}" =~ ^[0-9]+$ ]] && id="${COMP_WORDS[i]}"
        done
        local extra=""
        [[ "$prev" == --ckpt ]] && extra="best last"
        COMPREPLY=($(compgen -W "$extra $([[ -n "$id" ]] && _angoractl_words checkpoints "$id")" \
            -- "$cur"))
        return
        ;;
    --url | --token | --timeout | --name | --priority | --tag | --limit | --cursor | --tail | \
        --interval | --key | --after-seq | --timeout-run | --episodes | --folds | --variables | \
        --layers)
        return
        ;;
    esac

    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$(_angoractl_words options "$cmd")" -- "$cur"))
        return
    fi
    if [[ -z "$cmd" ]]; then
        COMPREPLY=($(compgen -W "$(_angoractl_words commands)" -- "$cur"))
        return
    fi
    case "$cmd" in
    submit | pretrain)
        COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
        ;;
    token)
        ((npos == 0)) && COMPREPLY=($(compgen -W "create list revoke" -- "$cur"))
        ;;
    *)
        if ((npos == 0)) && _angoractl_words takes-id "$cmd" >/dev/null; then
            COMPREPLY=($(compgen -W "$(_angoractl_words ids)" -- "$cur"))
        fi
        ;;
    esac
}
complete -F _angoractl angoractl
