//! `ringtun completion bash`: a bash completion script made from the flag table ([`FLAGS`]), so a
//! new flag is completed without anyone editing the script (dist/completion/ringtun.bash is this
//! output, and tests/completion.rs fails when it differs).
//!
//! The script narrows the flags it offers to the modes the command line so far still allows: each
//! flag typed keeps only the modes it belongs to (`-c` leaves the configuration file mode, `-K` the
//! client), and a bare word (IFNAME) leaves the interface mode. Values: file names after a flag
//! whose value is a FILE, user names after `--user`, nothing after the others. zsh runs it through
//! `bashcompinit`.

use super::flags::{FLAGS, Flag, Modes, Takes};
use super::{CliError, Command};
use crate::sys::control_socket::SOCKET_DIR;

/// The subcommands completed as the first word, as `cli::parse` takes them (not the hidden
/// `selftest`).
pub const SUBCOMMANDS: [&str; 5] = ["genkey", "pubkey", "genpsk", "show", "completion"];

/// The flags of `ringtun show` (its own small spec in `cli::parse_show`, not the table).
pub const SHOW_FLAGS: [&str; 3] = ["--json", "-h", "--help"];

/// The shells `ringtun completion` writes a script for.
pub const SHELLS: [&str; 1] = ["bash"];

const USAGE: &str = "usage: ringtun completion bash";

/// The script's own numbering of the modes (a bit each), for its mode arithmetic.
const MODE_BITS: [(Modes, u8); 5] = [
    (Modes::SERVER, 1),
    (Modes::CLIENT, 2),
    (Modes::KEYS, 4),
    (Modes::CONFIG, 8),
    (Modes::INTERFACE, 16),
];

/// `ringtun completion SHELL`.
pub(super) fn parse(rest: &[String]) -> Result<Command, CliError> {
    match rest {
        [shell] if shell == "bash" => Ok(Command::Completion),
        [shell] if shell == "zsh" => Err(CliError::usage(format!(
            "completion: zsh loads the bash script: autoload -U +X bashcompinit && bashcompinit, \
             then source it ({USAGE})"
        ))),
        [flag] if flag == "-h" || flag == "--help" => Ok(Command::Help),
        [] => Err(CliError::usage(format!(
            "completion: which shell? ({USAGE})"
        ))),
        [shell] => Err(CliError::usage(format!(
            "completion: no script for '{shell}' ({USAGE})"
        ))),
        [_, extra, ..] => Err(CliError::usage(format!(
            "completion: unexpected argument '{extra}' ({USAGE})"
        ))),
    }
}

/// What the script completes as a flag's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// A switch: no value.
    None,
    /// File names.
    File,
    /// User names (`compgen -u`).
    User,
    /// Something to type (a port, an address, a new interface name): nothing offered.
    Typed,
}

impl ValueKind {
    fn word(self) -> &'static str {
        match self {
            ValueKind::None => "",
            ValueKind::File => "file",
            ValueKind::User => "user",
            ValueKind::Typed => "typed",
        }
    }
}

/// What `f` takes, read from its value's name in the help text.
pub fn value_kind(f: &Flag) -> ValueKind {
    match (f.takes, f.hint) {
        (Takes::Switch | Takes::Count, _) => ValueKind::None,
        (_, "FILE") => ValueKind::File,
        (_, "USER") => ValueKind::User,
        _ if f.long == "user" => ValueKind::User,
        _ => ValueKind::Typed,
    }
}

/// The script's bits of `modes`.
fn bits(modes: Modes) -> u8 {
    MODE_BITS
        .iter()
        .filter(|(m, _)| modes.overlaps(*m))
        .map(|(_, bit)| bit)
        .sum()
}

/// `-h --help ...` of the flags that belong to `modes`.
fn flag_words(modes: Modes) -> String {
    FLAGS
        .iter()
        .filter(|f| f.modes.overlaps(modes))
        .map(|f| format!("-{} --{}", f.short, f.long))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The bash completion script.
pub fn bash() -> String {
    let mut lookup = String::new();
    let mut offer = String::new();
    for f in &FLAGS {
        lookup.push_str(&format!(
            "        {}|{}) short={} bits={} value={} ;;\n",
            f.short,
            f.long,
            f.short,
            bits(f.modes),
            value_kind(f).word()
        ));
        // A flag given once is not offered again; a repeatable one is.
        let once = match f.takes {
            Takes::Value | Takes::Switch => format!(" && [[ $given != *' {} '* ]]", f.short),
            Takes::Values | Takes::Count => String::new(),
        };
        offer.push_str(&format!(
            "    (( modes & {} )){once} && opts=\"$opts -{} --{}\"\n",
            bits(f.modes),
            f.short,
            f.long
        ));
    }
    BASH_TEMPLATE
        .replace("{lookup}", &lookup)
        .replace("{offer}", &offer)
        .replace("{run}", &bits(Modes::RUN).to_string())
        .replace("{interface}", &bits(Modes::INTERFACE).to_string())
        .replace("{subcommands}", &SUBCOMMANDS.join(" "))
        .replace("{subcommands_pattern}", &SUBCOMMANDS.join("|"))
        .replace("{key_flags}", &flag_words(Modes::KEYS))
        .replace("{show_flags}", &SHOW_FLAGS.join(" "))
        .replace("{shells}", &SHELLS.join(" "))
        .replace("{socket_dir}", SOCKET_DIR)
}

/// The script, `{name}` filled in by [`bash`]. Plain bash (no bash-completion helpers), so zsh's
/// `bashcompinit` runs it too.
const BASH_TEMPLATE: &str = r#"# bash completion for ringtun(8). Made by `ringtun completion bash` from its flag table:
# regenerate it rather than editing it.
#   install: ringtun completion bash > /usr/share/bash-completion/completions/ringtun
#   zsh:     autoload -U +X bashcompinit && bashcompinit; source this file

# Sets short, bits (the modes flag $1 belongs to) and value (what its value is: file, user, typed;
# empty for none) of a flag named without its dashes; fails for an unknown one.
_ringtun_flag() {
    case $1 in
{lookup}        *) return 1 ;;
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
                COMPREPLY=($(compgen -W "{key_flags}" -- "$cur"))
            elif (( args == 0 )); then
                _ringtun_value file "$cur"
            fi ;;
        pubkey|genpsk) COMPREPLY=($(compgen -W "{key_flags}" -- "$cur")) ;;
        show)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "{show_flags}" -- "$cur"))
            elif (( args == 0 )); then
                # The interfaces that have a control socket, as `ringtun show` finds them.
                for sock in {socket_dir}/*.sock; do
                    [[ -S $sock ]] || continue
                    sock=${sock##*/}
                    names="$names ${sock%.sock}"
                done
                COMPREPLY=($(compgen -W "$names" -- "$cur"))
            fi ;;
        completion) (( COMP_CWORD == 2 )) && COMPREPLY=($(compgen -W "{shells}" -- "$cur")) ;;
    esac
}

_ringtun() {
    local cur=${COMP_WORDS[COMP_CWORD]} i=1 word rest short bits value name opts=
    local modes={run} given=' ' free=0 pending= dashes=
    COMPREPLY=()
    if (( COMP_CWORD > 1 )); then
        case ${COMP_WORDS[1]} in
            {subcommands_pattern}) _ringtun_subcommand "${COMP_WORDS[1]}"; return ;;
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
            modes=$(( modes & {interface} ))
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
                modes=$(( modes & {interface} )) ;;
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
                COMPREPLY=($(compgen -W "{subcommands}" -- "$cur"))
                return
            fi
            # The interface mode's IFNAME is a new name: nothing to offer for it.
            (( modes & {interface} && free == 0 )) && return ;;
    esac
{offer}    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}

complete -F _ringtun ringtun
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{parse, usage};

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn every_flag_is_looked_up_and_offered() {
        let script = bash();
        for f in &FLAGS {
            let lookup = format!("        {}|{}) short={} ", f.short, f.long, f.short);
            assert_eq!(script.matches(&lookup).count(), 1, "{lookup:?}");
            let offer = format!("opts=\"$opts -{} --{}\"\n", f.short, f.long);
            assert_eq!(script.matches(&offer).count(), 1, "{offer:?}");
        }
        for name in [
            "lookup",
            "offer",
            "run",
            "interface",
            "subcommands",
            "subcommands_pattern",
            "key_flags",
            "show_flags",
            "shells",
            "socket_dir",
        ] {
            assert!(
                !script.contains(&format!("{{{name}}}")),
                "{name} not filled in"
            );
        }
    }

    #[test]
    fn files_after_file_flags_only() {
        for f in &FLAGS {
            let kind = value_kind(f);
            match f.takes {
                Takes::Switch | Takes::Count => assert_eq!(kind, ValueKind::None, "{f:?}"),
                Takes::Value | Takes::Values => assert_ne!(kind, ValueKind::None, "{f:?}"),
            }
            assert_eq!(kind == ValueKind::File, f.hint == "FILE", "{f:?}");
        }
        assert_eq!(
            value_kind(super::super::flags::find("c").unwrap()),
            ValueKind::File
        );
        assert_eq!(
            value_kind(super::super::flags::find("k").unwrap()),
            ValueKind::File
        );
        assert_eq!(
            value_kind(super::super::flags::find("l").unwrap()),
            ValueKind::Typed
        );
    }

    #[test]
    fn mode_bits_are_distinct_and_cover_every_flag() {
        let mut seen = 0u8;
        for (m, b) in MODE_BITS {
            assert_eq!(b.count_ones(), 1);
            assert_eq!(seen & b, 0);
            assert_eq!(bits(m), b);
            seen |= b;
        }
        for f in &FLAGS {
            assert_ne!(bits(f.modes), 0, "{f:?}");
        }
        assert_eq!(bits(Modes::RUN), 1 | 2 | 8 | 16);
    }

    /// What the script offers after the program name is what `cli::parse` takes, and the help text
    /// shows.
    #[test]
    fn subcommands_are_the_parser_s() {
        let text = usage();
        for sub in SUBCOMMANDS {
            let mut words = vec![sub];
            if sub == "completion" {
                words.push("bash");
            }
            let parsed = parse(&args(&words));
            assert!(
                matches!(parsed, Ok(ref c) if !matches!(c, Command::Run(_))),
                "{words:?}: {parsed:?}"
            );
            assert!(
                text.contains(&format!("\n  ringtun {sub}")),
                "usage lacks {sub}"
            );
        }
        for flag in SHOW_FLAGS {
            assert!(parse(&args(&["show", flag])).is_ok(), "show {flag}");
        }
        assert!(!bash().contains("selftest"));
    }

    #[test]
    fn completion_command() {
        assert_eq!(
            parse(&args(&["completion", "bash"])),
            Ok(Command::Completion)
        );
        assert_eq!(parse(&args(&["completion", "-h"])), Ok(Command::Help));
        for (words, says) in [
            (&["completion"][..], "which shell?"),
            (&["completion", "fish"], "no script for 'fish'"),
            (&["completion", "zsh"], "bashcompinit"),
            (&["completion", "bash", "x"], "unexpected argument 'x'"),
        ] {
            let e = parse(&args(words)).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains(says), "{words:?}: {e}");
            assert!(e.to_string().contains(USAGE), "{words:?}: {e}");
        }
    }
}
