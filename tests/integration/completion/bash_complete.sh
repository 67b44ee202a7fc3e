#!/usr/bin/env bash
# Completes one command line the way bash's programmable completion does: sources the script,
# checks that it registered a function for `oncall`, splits the line into COMP_WORDS as readline
# does (whitespace between words; '=' and ':' from COMP_WORDBREAKS as words of their own), sets
# COMP_LINE, COMP_POINT and COMP_CWORD, calls the function, and prints COMPREPLY one a line.
# Usage: bash --norc --noprofile bash_complete.sh COMPLETION_SCRIPT 'oncall -o '
set -u
source "$1" || exit 3
line=$2

spec=$(complete -p oncall 2>/dev/null) || { echo "no completion registered for oncall" >&2; exit 3; }
function=${spec#*-F }
function=${function%% *}

COMP_WORDS=()
word=""
have_word=0
for ((i = 0; i < ${#line}; i++)); do
    c=${line:i:1}
    if [[ $c == [[:space:]] ]]; then
        ((have_word)) && COMP_WORDS+=("$word")
        word=""
        have_word=0
    elif [[ $COMP_WORDBREAKS == *"$c"* && ( $c == "=" || $c == ":" ) ]]; then
        ((have_word)) && COMP_WORDS+=("$word")
        COMP_WORDS+=("$c")
        word=""
        have_word=0
    else
        word+=$c
        have_word=1
    fi
done
if ((have_word)); then
    COMP_WORDS+=("$word")
elif [[ $line == *[[:space:]] || ${#COMP_WORDS[@]} -eq 0 ]]; then
    COMP_WORDS+=("")
fi
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE=$line
COMP_POINT=${#line}
COMPREPLY=()
prev=""
((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
"$function" oncall "${COMP_WORDS[COMP_CWORD]}" "$prev"
for reply in "${COMPREPLY[@]}"; do
    printf '%s\n' "$reply"
done
