# bash completion for oncall                                    -*- shell-script -*-
#
# Installed as share/bash-completion/completions/oncall (loaded on demand by bash-completion),
# or enabled by hand with:  source <(oncall completion bash)
# Candidates come from `oncall __complete`, which knows every command, option and value.

_oncall() {
    local line=${COMP_LINE:0:COMP_POINT}
    local -a words=()
    local i tok pos=0 gap

    # Rejoin the words bash split at COMP_WORDBREAKS characters ('=' and ':'), so that
    # --output=json or an image reference arrives as one word, as the program will see it.
    for ((i = 0; i <= COMP_CWORD && i < ${#COMP_WORDS[@]}; i++)); do
        tok=${COMP_WORDS[i]}
        gap=0
        while [[ ${line:pos:1} == [[:space:]] ]]; do
            ((pos++))
            gap=1
        done
        if ((i == COMP_CWORD)); then
            tok=${line:pos}
        fi
        ((pos += ${#tok}))
        if ((i > 0 && gap == 0 && ${#words[@]} > 1)); then
            words[${#words[@]} - 1]+=$tok
        else
            words+=("$tok")
        fi
    done
    local cur=${words[-1]}

    local out
    out=$("${COMP_WORDS[0]}" __complete --no-descriptions -- "${words[@]:1}" 2>/dev/null) || return 0

    # bash replaces only the text after the last word-break character of the current word.
    local breaks="" prefix="" rest
    [[ $COMP_WORDBREAKS == *"="* ]] && breaks+="="
    [[ $COMP_WORDBREAKS == *":"* ]] && breaks+=":"
    if [[ -n $breaks ]]; then
        rest=${cur##*[$breaks]}
        prefix=${cur:0:${#cur}-${#rest}}
    fi

    COMPREPLY=()
    local candidate
    while IFS= read -r candidate; do
        case $candidate in
        "") ;;
        :files)
            compopt -o filenames 2>/dev/null
            local f
            while IFS= read -r f; do COMPREPLY+=("$f"); done < <(compgen -f -- "$cur")
            ;;
        :dirs)
            compopt -o filenames 2>/dev/null
            local d
            while IFS= read -r d; do COMPREPLY+=("$d"); done < <(compgen -d -- "$cur")
            ;;
        *)
            # Quoted as the shell reads it back: a name like $(cmd) or a;b is inserted as text,
            # never run when the line is entered.
            printf -v candidate '%q' "${candidate#"$prefix"}"
            COMPREPLY+=("$candidate")
            ;;
        esac
    done <<<"$out"
    return 0
}

complete -F _oncall oncall
