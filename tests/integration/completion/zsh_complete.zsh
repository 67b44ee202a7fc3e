#!/usr/bin/env zsh
# Completes one command line in a real interactive zsh (driven through zpty, with compinit and
# the _oncall function found on $fpath) and prints what zsh's completion system offered, one
# candidate a line. Usage: zsh -f zsh_complete.zsh FPATH_DIR OUT_DIR 'oncall -o '
# Exit status: 0 done, 3 no zpty, 4 zsh did not answer (the caller's deadline bounds the run).
emulate -L zsh
zmodload zsh/zpty || exit 3
local fdir=$1 outdir=$2 line=$3
local out=$outdir/candidates done=$outdir/done
rm -f $out $done

# Reads the terminal until `pattern` shows up (input typed before zsh's line editor is ready
# may be thrown away, so every step waits for the prompt first).
wait_for() {
    local pattern=$1 seen="" chunk i
    for i in {1..400}; do
        while zpty -r -t oncall_zsh chunk 2>/dev/null; do seen+=$chunk; done
        [[ $seen == *${~pattern}* ]] && return 0
        sleep 0.05
    done
    print -u2 "zsh never showed ${pattern}; the terminal said: ${seen}"
    return 1
}

zpty oncall_zsh zsh -f -i || exit 3
# The prompt is written so that the echo of this line does not look like the prompt itself.
zpty -w oncall_zsh "unsetopt beep; fpath=(${(q)fdir} \$fpath); autoload -U compinit && compinit -u -D; PS1='oncall''-ready-1'"
wait_for 'oncall-ready-1' || exit 4
# A compadd that also records every candidate the completion functions add.
zpty -w oncall_zsh "compadd() { if (( \${@[(I)-[OAD]*]} )); then builtin compadd \"\$@\"; return; fi; local -a m; builtin compadd -O m \"\$@\"; (( \${#m} )) && print -rl -- \$m >> ${(q)out}; builtin compadd \"\$@\"; }; PS1='oncall''-ready-2'"
wait_for 'oncall-ready-2' || exit 4
zpty -w -n oncall_zsh "$line"$'\t'
zpty -w -n oncall_zsh $'\C-e\C-u'
zpty -w oncall_zsh "print done > ${(q)done}"
local i
for i in {1..400}; do
    [[ -f $done ]] && break
    zpty -r -t oncall_zsh _ 2>/dev/null
    sleep 0.05
done
zpty -d oncall_zsh
[[ -f $done ]] || { print -u2 "zsh did not finish completing"; exit 4 }
[[ -f $out ]] && cat $out
exit 0
