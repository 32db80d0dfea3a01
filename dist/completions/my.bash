# bash completion for my
# Generated from the command tree (each command's --help) by `make completions`; do not edit.
# Installed as bash-completion/completions/my, or: source <(my completion bash)

_my_words() {
    case $1 in
    'my') echo cli use orgs projects environments logs library source completion --help ;;
    'my cli') echo login logout whoami status token profile push init run history show --help ;;
    'my cli login') echo --email --web --no-browser --token --with-token --migrate --json --help ;;
    'my cli logout') echo --json --help ;;
    'my cli whoami') echo --json --help ;;
    'my cli status') echo --json --help ;;
    'my cli token') echo create list rename revoke --help ;;
    'my cli token create') echo --expires-in --profile --organization --json --help ;;
    'my cli token list') echo --organization --json --help ;;
    'my cli token rename') echo --json --help ;;
    'my cli token revoke') echo --force --json --help ;;
    'my cli profile') echo create list show set delete --help ;;
    'my cli profile create') echo --name --json --help ;;
    'my cli profile list') echo --json --help ;;
    'my cli profile show') echo --json --help ;;
    'my cli profile set') echo --json --help ;;
    'my cli profile delete') echo --force --json --help ;;
    'my cli push') echo --file --dir --message --json --help ;;
    'my cli init') echo --force --json --help ;;
    'my cli run') echo --yes --file --dry-run --help ;;
    'my cli history') echo --limit --json --help ;;
    'my cli show') echo --raw --json --help ;;
    'my use') echo --organization --project --environment --clear --json --help ;;
    'my orgs') echo list --help ;;
    'my orgs list') echo --json --help ;;
    'my projects') echo list --help ;;
    'my projects list') echo --organization --json --help ;;
    'my environments') echo list --help ;;
    'my environments list') echo --organization --project --json --help ;;
    'my logs') echo --organization --project --environment --follow --json --help ;;
    'my library') echo install uninstall list search info sync release --help ;;
    'my library install') echo --profile --json --help ;;
    'my library uninstall') echo --profile --json --help ;;
    'my library list') echo --profile --json --help ;;
    'my library search') echo --json --help ;;
    'my library info') echo --json --help ;;
    'my library sync') echo --profile --all --json --help ;;
    'my library release') echo --dir --dry-run --json --help ;;
    'my source') echo add list update remove --help ;;
    'my source add') echo --ref --name --json --help ;;
    'my source list') echo --json --help ;;
    'my source update') echo --json --help ;;
    'my source remove') echo --json --help ;;
    'my completion') echo --help ;;
    esac
}

_my_subcommands() {
    case $1 in
    'my') echo cli use orgs projects environments logs library source completion ;;
    'my cli') echo login logout whoami status token profile push init run history show ;;
    'my cli token') echo create list rename revoke ;;
    'my cli profile') echo create list show set delete ;;
    'my orgs') echo list ;;
    'my projects') echo list ;;
    'my environments') echo list ;;
    'my library') echo install uninstall list search info sync release ;;
    'my source') echo add list update remove ;;
    esac
}

_my_value_options() {
    case $1 in
    'my cli login') echo --email --token ;;
    'my cli token create') echo --expires-in --profile --organization ;;
    'my cli token list') echo --organization ;;
    'my cli profile create') echo --name ;;
    'my cli push') echo --dir ;;
    'my use') echo --organization --project --environment ;;
    'my projects list') echo --organization ;;
    'my environments list') echo --organization --project ;;
    'my logs') echo --organization --project --environment ;;
    'my library install') echo --profile ;;
    'my library uninstall') echo --profile ;;
    'my library list') echo --profile ;;
    'my library sync') echo --profile ;;
    'my library release') echo --dir ;;
    'my source add') echo --ref --name ;;
    esac
}

_my() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local path=my library= word i
    # The command path so far; at the top, a word that is no command names a library
    # (`my <library> <command>`).
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        [[ $word == -* ]] && continue
        if [[ " $(_my_subcommands "$path") " == *" $word "* ]]; then
            path+=" $word"
        elif [[ $path == my && -z $library ]]; then
            library=$word
        fi
    done
    if [[ -n $library ]]; then
        if ((COMP_CWORD == 2)); then
            mapfile -t COMPREPLY < <(compgen -W "$("${COMP_WORDS[0]}" completion --commands "$library" 2>/dev/null)" -- "$cur")
        fi
        return
    fi
    if [[ " $(_my_value_options "$path") " == *" $prev "* ]]; then
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return
    fi
    local words
    words=$(_my_words "$path")
    if [[ $path == my && $cur != -* ]]; then
        words+=" $("${COMP_WORDS[0]}" completion --libraries 2>/dev/null | tr '\n' ' ')"
    fi
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
}
complete -F _my my
