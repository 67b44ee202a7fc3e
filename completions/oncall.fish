# fish completion for oncall.
#
# Installed as share/fish/vendor_completions.d/oncall.fish, or enabled by hand with:
#   oncall completion fish > ~/.config/fish/completions/oncall.fish
# Candidates come from `oncall __complete`, which knows every command, option and value.

function __oncall_complete
    set -l words (commandline -opc)
    set -l current (commandline -ct)
    set -l program $words[1]
    set -e words[1]
    for line in ($program __complete -- $words $current 2>/dev/null)
        switch $line
            case ':files'
                __fish_complete_path $current
            case ':dirs'
                __fish_complete_directories $current
            case '*'
                echo $line
        end
    end
end

complete -c oncall -f -a '(__oncall_complete)'
