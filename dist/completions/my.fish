# fish completion for my
# Generated from the command tree (each command's --help) by `make completions`; do not edit.
# Installed as fish/vendor_completions.d/my.fish, or: my completion fish | source

function __my_subcommands
    switch $argv[1]
        case 'my'
            echo cli use orgs projects environments logs library source completion
        case 'my cli'
            echo login logout whoami status token profile push init run history show
        case 'my cli token'
            echo create list rename revoke
        case 'my cli profile'
            echo create list show set delete
        case 'my orgs'
            echo list
        case 'my projects'
            echo list
        case 'my environments'
            echo list
        case 'my library'
            echo install uninstall list search info sync release
        case 'my source'
            echo add list update remove
    end
end

# The command path on the line ("my cli token"); a first word that is no command is a
# library, printed as "library NAME".
function __my_path
    set -l path my
    set -l library
    for word in (commandline -opc)[2..-1]
        string match -q -- '-*' $word; and continue
        if contains -- $word (string split ' ' (__my_subcommands "$path"))
            set path "$path $word"
        else if test "$path" = my; and test -z "$library"
            set library $word
        end
    end
    if test -n "$library"
        echo "library $library"
    else
        echo $path
    end
end

function __my_at
    test (__my_path) = "$argv[1]"
end

function __my_library_commands
    set -l tokens (commandline -opc)
    test (count $tokens) -eq 2; or return
    set -l at (__my_path)
    string match -q 'library *' -- $at; or return
    $tokens[1] completion --commands (string replace 'library ' '' -- $at) 2>/dev/null
end

complete -c my -f
complete -c my -n '__my_at my' -a '(my completion --libraries 2>/dev/null)' -d library
complete -c my -n 'string match -q "library *" -- (__my_path)' -a '(__my_library_commands)'
complete -c my -n '__my_at '\''my'\''' -a cli -d 'sign in and out, inspect the credential in use'
complete -c my -n '__my_at '\''my'\''' -a use -d 'show or change the active context: organization, project, environment'
complete -c my -n '__my_at '\''my'\''' -a orgs -d 'organizations you belong to'
complete -c my -n '__my_at '\''my'\''' -a projects -d 'projects of an organization'
complete -c my -n '__my_at '\''my'\''' -a environments -d 'environments of a project'
complete -c my -n '__my_at '\''my'\''' -a logs -d 'print an environment'\''s logs'
complete -c my -n '__my_at '\''my'\''' -a library -d 'install, find and sync command libraries (the catalog of a profile)'
complete -c my -n '__my_at '\''my'\''' -a source -d 'local sources of commands: library folders and git repositories (no account needed)'
complete -c my -n '__my_at '\''my'\''' -a completion -d 'print the shell completion script for bash, zsh or fish'
complete -c my -n '__my_at '\''my cli'\''' -a login -d 'sign in with an email magic link (OAuth device flow) and store the credentials'
complete -c my -n '__my_at '\''my cli'\''' -a logout -d 'revoke the session on the server and clear the stored credentials'
complete -c my -n '__my_at '\''my cli'\''' -a whoami -d 'show the signed-in user'\''s ID and email'
complete -c my -n '__my_at '\''my cli'\''' -a status -d 'show the API URL, login state, credential store and sync state (no network)'
complete -c my -n '__my_at '\''my cli'\''' -a token -d 'manage API tokens (myc_…) and organization access keys (myo_…)'
complete -c my -n '__my_at '\''my cli'\''' -a profile -d 'manage profiles: named sets of installed libraries'
complete -c my -n '__my_at '\''my cli'\''' -a push -d 'publish personal commands: a spec file, or every spec in a folder'
complete -c my -n '__my_at '\''my cli'\''' -a init -d 'write a starter command spec to edit and push'
complete -c my -n '__my_at '\''my cli'\''' -a run -d 'run a command from a local source (or a spec file with -f); its own arguments follow it'
complete -c my -n '__my_at '\''my cli'\''' -a history -d 'show the latest runs of commands'
complete -c my -n '__my_at '\''my cli'\''' -a show -d 'show a command'\''s spec: its arguments, steps and policy'
complete -c my -n '__my_at '\''my cli login'\''' -l email -r -F -d 'email address to send the sign-in link to (prompted for on a terminal)'
complete -c my -n '__my_at '\''my cli login'\''' -l web -d 'sign in in a browser (authorization code + PKCE) instead of by email link'
complete -c my -n '__my_at '\''my cli login'\''' -l no-browser -d 'never open a browser; only print the URL'
complete -c my -n '__my_at '\''my cli login'\''' -l token -r -F -d 'store this API token or access key instead of signing in (visible in `ps`: prefer --with-token)'
complete -c my -n '__my_at '\''my cli login'\''' -l with-token -d 'read an API token or access key from stdin and store it'
complete -c my -n '__my_at '\''my cli login'\''' -l migrate -d 'move the stored credentials from the plaintext file into the OS keyring (no sign-in)'
complete -c my -n '__my_at '\''my cli login'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my cli logout'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my cli whoami'\''' -l json -d 'print the result as JSON (with the kind of credential and its expiry)'
complete -c my -n '__my_at '\''my cli status'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my cli token'\''' -a create -d 'mint a new API token and print it once'
complete -c my -n '__my_at '\''my cli token'\''' -a list -d 'list your tokens and your organizations'\'' access keys (never the secret)'
complete -c my -n '__my_at '\''my cli token'\''' -a rename -d 'rename a token'
complete -c my -n '__my_at '\''my cli token'\''' -a revoke -d 'revoke a token (it stops working at once)'
complete -c my -n '__my_at '\''my cli token create'\''' -l expires-in -r -F -d 'lifetime, e.g. 12h, 30d, 90d, 1y (omit for a token that never expires)'
complete -c my -n '__my_at '\''my cli token create'\''' -l profile -r -F -d 'scope the token'\''s catalog reads to this profile'
complete -c my -n '__my_at '\''my cli token create'\''' -l organization -r -F -d 'make an organization access key (myo_…) for this organization (ID or slug)'
complete -c my -n '__my_at '\''my cli token create'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my cli token list'\''' -l organization -r -F -d 'only this organization'\''s access keys (ID or slug)'
complete -c my -n '__my_at '\''my cli token list'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my cli token rename'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my cli token revoke'\''' -l force -d 'do not ask for confirmation'
complete -c my -n '__my_at '\''my cli token revoke'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my cli profile'\''' -a create -d 'create a profile'
complete -c my -n '__my_at '\''my cli profile'\''' -a list -d 'list your profiles (the active one marked *; cached ones when offline)'
complete -c my -n '__my_at '\''my cli profile'\''' -a show -d 'show a profile and its libraries (from the cache when offline)'
complete -c my -n '__my_at '\''my cli profile'\''' -a set -d 'make a profile the active one (works offline for a cached profile)'
complete -c my -n '__my_at '\''my cli profile'\''' -a delete -d 'delete a profile (not `default`)'
complete -c my -n '__my_at '\''my cli profile create'\''' -l name -r -F -d 'display name (default: the slug)'
complete -c my -n '__my_at '\''my cli profile create'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my cli profile list'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my cli profile show'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my cli profile set'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my cli profile delete'\''' -l force -d 'also when API tokens are scoped to it (they are revoked)'
complete -c my -n '__my_at '\''my cli profile delete'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my cli push'\''' -l file -s f -d 'the spec file (default: command.yaml, command.yml or command.json)'
complete -c my -n '__my_at '\''my cli push'\''' -l dir -r -F -d 'push every .yaml, .yml and .json spec under this folder'
complete -c my -n '__my_at '\''my cli push'\''' -l message -s m -d 'a message for the new version'
complete -c my -n '__my_at '\''my cli push'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my cli init'\''' -l force -d 'overwrite the file if it exists'
complete -c my -n '__my_at '\''my cli init'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my cli run'\''' -l yes -s y -d 'run without asking, even when the spec asks for confirmation'
complete -c my -n '__my_at '\''my cli run'\''' -l file -s f -d 'run this spec file (JSON or YAML); everything after FILE is the command'\''s arguments'
complete -c my -n '__my_at '\''my cli run'\''' -l dry-run -d 'print the rendered steps instead of running them'
complete -c my -n '__my_at '\''my cli history'\''' -l limit -s n -d 'how many runs to show (default 20)'
complete -c my -n '__my_at '\''my cli history'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my cli show'\''' -l raw -d 'print the spec itself, as JSON'
complete -c my -n '__my_at '\''my cli show'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my use'\''' -l organization -r -F -d 'organization ID (org_…) or slug; clears the project and environment'
complete -c my -n '__my_at '\''my use'\''' -l project -r -F -d 'project ID (proj_…) or slug'
complete -c my -n '__my_at '\''my use'\''' -l environment -r -F -d 'environment name, e.g. production'
complete -c my -n '__my_at '\''my use'\''' -l clear -d 'forget the active context'
complete -c my -n '__my_at '\''my use'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my orgs'\''' -a list -d 'list your organizations'
complete -c my -n '__my_at '\''my orgs list'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my projects'\''' -a list -d 'list the projects of the organization'
complete -c my -n '__my_at '\''my projects list'\''' -l organization -r -F -d 'organization ID or slug (default: the active context)'
complete -c my -n '__my_at '\''my projects list'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my environments'\''' -a list -d 'list the environments of the project'
complete -c my -n '__my_at '\''my environments list'\''' -l organization -r -F -d 'organization ID or slug (default: the active context)'
complete -c my -n '__my_at '\''my environments list'\''' -l project -r -F -d 'project ID or slug (default: the active context)'
complete -c my -n '__my_at '\''my environments list'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my logs'\''' -l organization -r -F -d 'organization ID or slug (default: the active context)'
complete -c my -n '__my_at '\''my logs'\''' -l project -r -F -d 'project ID or slug (default: the active context)'
complete -c my -n '__my_at '\''my logs'\''' -l environment -r -F -d 'environment name (default: the active context)'
complete -c my -n '__my_at '\''my logs'\''' -l follow -d 'keep printing new lines as they arrive, until Ctrl-C'
complete -c my -n '__my_at '\''my logs'\''' -l json -d 'print JSON (one object per line with --follow)'
complete -c my -n '__my_at '\''my library'\''' -a install -d 'install a registry library into a profile, then sync that profile'
complete -c my -n '__my_at '\''my library'\''' -a uninstall -d 'remove a library from a profile, then sync that profile'
complete -c my -n '__my_at '\''my library'\''' -a list -d 'list the libraries installed in a profile'
complete -c my -n '__my_at '\''my library'\''' -a search -d 'search the library registry'
complete -c my -n '__my_at '\''my library'\''' -a info -d 'show a registry library: description, releases and commands'
complete -c my -n '__my_at '\''my library'\''' -a sync -d 'sync a profile'\''s catalog and its command specs into the local cache'
complete -c my -n '__my_at '\''my library'\''' -a release -d 'validate a manifest folder and publish a release of each library it holds'
complete -c my -n '__my_at '\''my library install'\''' -l profile -r -F -d 'the profile to install into (default: the active profile)'
complete -c my -n '__my_at '\''my library install'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my library uninstall'\''' -l profile -r -F -d 'the profile to remove it from (default: the active profile)'
complete -c my -n '__my_at '\''my library uninstall'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my library list'\''' -l profile -r -F -d 'the profile (default: the active profile)'
complete -c my -n '__my_at '\''my library list'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my library search'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my library info'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my library sync'\''' -l profile -r -F -d 'the profile to sync (default: the active profile)'
complete -c my -n '__my_at '\''my library sync'\''' -l all -d 'sync every profile, continuing past failures'
complete -c my -n '__my_at '\''my library sync'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my library release'\''' -l dir -r -F -d 'the folder holding the manifest (default: the current folder)'
complete -c my -n '__my_at '\''my library release'\''' -l dry-run -d 'validate and show what would be released, upload nothing'
complete -c my -n '__my_at '\''my library release'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my source'\''' -a add -d 'add a folder or git repository holding a manifest (mycli.yaml) and its libraries'
complete -c my -n '__my_at '\''my source'\''' -a list -d 'list the sources and their libraries'
complete -c my -n '__my_at '\''my source'\''' -a update -d 'fetch a source (or all of them) again: git pull, or copy the folder again'
complete -c my -n '__my_at '\''my source'\''' -a remove -d 'forget a source and delete its copy'
complete -c my -n '__my_at '\''my source add'\''' -l ref -r -F -d 'the branch or tag of a git source (default: its default branch)'
complete -c my -n '__my_at '\''my source add'\''' -l name -r -F -d 'the name to register it under (default: the manifest'\''s name)'
complete -c my -n '__my_at '\''my source add'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my source list'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my source update'\''' -l json -d 'print the result as JSON'
complete -c my -n '__my_at '\''my source remove'\''' -l json -d 'print the result as JSON'
