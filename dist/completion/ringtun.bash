# bash completion for ringtun(8). Made by `ringtun completion bash` from its flag table:
# regenerate it rather than editing it.
#   install: ringtun completion bash > /usr/share/bash-completion/completions/ringtun
#   zsh:     autoload -U +X bashcompinit && bashcompinit; source this file

# Sets short, bits (the modes flag $1 belongs to) and value (what its value is: file, user, typed;
# empty for none) of a flag named without its dashes; fails for an unknown one.
_ringtun_flag() {
    case $1 in
        c|config) short=c bits=8 value=file ;;
        l|listen) short=l bits=1 value=typed ;;
        s|server) short=s bits=2 value=typed ;;
        k|key) short=k bits=3 value=file ;;
        a|address) short=a bits=3 value=typed ;;
        i|interface) short=i bits=11 value=typed ;;
        m|mtu) short=m bits=3 value=typed ;;
        r|route) short=r bits=3 value=typed ;;
        K|keepalive) short=K bits=2 value=typed ;;
        f|foreground) short=f bits=16 value= ;;
        u|user) short=u bits=27 value=user ;;
        v|verbose) short=v bits=27 value= ;;
        q|quiet) short=q bits=27 value= ;;
        h|help) short=h bits=31 value= ;;
        V|version) short=V bits=27 value= ;;
        *) return 1 ;;
    esac
}

# Flag $1 was given: it is not offered again, and only its modes remain.
_ringtun_given() {
    _ringtun_flag "$1" || return 1
    given="$given$short "
    modes=$(( modes & bits ))
}

# Completes $2 as a value of kind $1; with $3 (--flag=), typed in one word after $3.
_ringtun_value() {
    local IFS=$'\n'
    case $1 in
        file)
            if [[ -n $3 ]]; then
                # A glob: zsh's compgen -f matches the whole word, --flag= and all.
                COMPREPLY=($(compgen -G "$2*"))
            else
                compopt -o filenames 2>/dev/null
                COMPREPLY=($(compgen -f -- "$2"))
            fi ;;
        user) COMPREPLY=($(compgen -u -- "$2")) ;;
    esac
    [[ -n $3 ]] && COMPREPLY=("${COMPREPLY[@]/#/$3}")
}

# The words after `ringtun SUBCOMMAND`.
_ringtun_subcommand() {
    local cur=${COMP_WORDS[COMP_CWORD]} i args=0 sock names=
    for (( i = 2; i < COMP_CWORD; i++ )); do
        [[ ${COMP_WORDS[i]} == -* ]] || args=$(( args + 1 ))
    done
    case $1 in
        genkey)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "-h --help" -- "$cur"))
            elif (( args == 0 )); then
                _ringtun_value file "$cur"
            fi ;;
        pubkey|genpsk) COMPREPLY=($(compgen -W "-h --help" -- "$cur")) ;;
        show)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "--json -h --help" -- "$cur"))
            elif (( args == 0 )); then
                # The interfaces that have a control socket, as `ringtun show` finds them.
                for sock in /var/run/wireguard/*.sock; do
                    [[ -S $sock ]] || continue
                    sock=${sock##*/}
                    names="$names ${sock%.sock}"
                done
                COMPREPLY=($(compgen -W "$names" -- "$cur"))
            fi ;;
        completion) (( COMP_CWORD == 2 )) && COMPREPLY=($(compgen -W "bash" -- "$cur")) ;;
    esac
}

_ringtun() {
    local cur=${COMP_WORDS[COMP_CWORD]} i=1 word rest short bits value name opts=
    local modes=27 given=' ' free=0 pending= dashes=
    COMPREPLY=()
    if (( COMP_CWORD > 1 )); then
        case ${COMP_WORDS[1]} in
            genkey|pubkey|genpsk|show|completion) _ringtun_subcommand "${COMP_WORDS[1]}"; return ;;
        esac
    fi
    while (( i < COMP_CWORD )); do
        word=${COMP_WORDS[i]}
        i=$(( i + 1 ))
        if [[ -n $pending ]]; then
            # bash splits --flag=value at the '=': the value is the word after it.
            [[ $word == = ]] || pending=
            continue
        fi
        if [[ -n $dashes ]]; then
            free=$(( free + 1 ))
            modes=$(( modes & 16 ))
            continue
        fi
        case $word in
            --) dashes=1 ;;
            --*=*) name=${word%%=*}; _ringtun_given "${name#--}" ;;
            --?*) _ringtun_given "${word#--}" && pending=$value ;;
            -?*)
                # Short flags, bundled (-fv); the rest of the word or the next one is the value
                # of one that takes a value (-cwg0.conf, -c wg0.conf).
                rest=${word#-}
                while [[ -n $rest ]]; do
                    _ringtun_given "${rest:0:1}" || break
                    rest=${rest:1}
                    if [[ -n $value ]]; then
                        [[ -z $rest ]] && pending=$value
                        break
                    fi
                done ;;
            *)
                free=$(( free + 1 ))
                modes=$(( modes & 16 )) ;;
        esac
    done
    if [[ -n $pending ]]; then
        [[ $cur == = ]] && cur=
        _ringtun_value "$pending" "$cur"
        return
    fi
    case $cur in
        --*=*)
            # --flag=value as one word (zsh, or '=' not in COMP_WORDBREAKS): the whole word is
            # replaced, so the replies keep the flag.
            name=${cur%%=*}
            _ringtun_flag "${name#--}" || return
            _ringtun_value "$value" "${cur#*=}" "$name="
            return ;;
        -*) [[ -n $dashes ]] && return ;;
        *)
            if (( COMP_CWORD == 1 )); then
                COMPREPLY=($(compgen -W "genkey pubkey genpsk show completion" -- "$cur"))
                return
            fi
            # The interface mode's IFNAME is a new name: nothing to offer for it.
            (( modes & 16 && free == 0 )) && return ;;
    esac
    (( modes & 8 )) && [[ $given != *' c '* ]] && opts="$opts -c --config"
    (( modes & 1 )) && [[ $given != *' l '* ]] && opts="$opts -l --listen"
    (( modes & 2 )) && [[ $given != *' s '* ]] && opts="$opts -s --server"
    (( modes & 3 )) && [[ $given != *' k '* ]] && opts="$opts -k --key"
    (( modes & 3 )) && opts="$opts -a --address"
    (( modes & 11 )) && [[ $given != *' i '* ]] && opts="$opts -i --interface"
    (( modes & 3 )) && [[ $given != *' m '* ]] && opts="$opts -m --mtu"
    (( modes & 3 )) && opts="$opts -r --route"
    (( modes & 2 )) && [[ $given != *' K '* ]] && opts="$opts -K --keepalive"
    (( modes & 16 )) && [[ $given != *' f '* ]] && opts="$opts -f --foreground"
    (( modes & 27 )) && [[ $given != *' u '* ]] && opts="$opts -u --user"
    (( modes & 27 )) && opts="$opts -v --verbose"
    (( modes & 27 )) && [[ $given != *' q '* ]] && opts="$opts -q --quiet"
    (( modes & 31 )) && [[ $given != *' h '* ]] && opts="$opts -h --help"
    (( modes & 27 )) && [[ $given != *' V '* ]] && opts="$opts -V --version"
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}

complete -F _ringtun ringtun
