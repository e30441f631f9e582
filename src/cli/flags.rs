//! The one table of command-line flags. The getopts spec, the option lines of the `--help` text and
//! the flag names in error messages are all made from [`FLAGS`], so they cannot drift apart.

use crate::app::addressing::{MIN_MTU, MIN_MTU_V6, default_client_address, default_server_address};

use super::{DEFAULT_INTERFACE, DEFAULT_KEY_PATH};

/// Which ways of running ringtun a flag belongs to (a set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Modes(u8);

impl Modes {
    /// `-l`: the one-command server.
    pub const SERVER: Modes = Modes(1);
    /// `-s`: the one-command client.
    pub const CLIENT: Modes = Modes(2);
    /// `ringtun genkey [FILE]`, `ringtun pubkey`, `ringtun genpsk`.
    pub const KEYS: Modes = Modes(4);
    /// `-c FILE`: a WireGuard configuration file.
    pub const CONFIG: Modes = Modes(8);
    /// `ringtun IFNAME`: a bare interface that `wg` and `ip` configure (as wireguard-go's).
    pub const INTERFACE: Modes = Modes(16);
    /// The one-command server or client.
    pub const ONE_COMMAND: Modes = Modes(1 | 2);
    /// The ways of running that name their interface with `-i`.
    pub const NAMED_BY_FLAG: Modes = Modes(1 | 2 | 8);
    /// Any way of running the tunnel.
    pub const RUN: Modes = Modes(1 | 2 | 8 | 16);
    const ALL: Modes = Modes(1 | 2 | 4 | 8 | 16);

    /// Whether any mode of `other` is in this set.
    pub fn overlaps(self, other: Modes) -> bool {
        self.0 & other.0 != 0
    }
}

/// How often a flag may be given, and whether it takes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Takes {
    /// Once, with a value.
    Value,
    /// Repeatable, each with a value.
    Values,
    /// Once, no value.
    Switch,
    /// Repeatable, no value (counted).
    Count,
}

#[derive(Debug)]
pub struct Flag {
    /// One letter, without the dash.
    pub short: &'static str,
    /// Without the dashes.
    pub long: &'static str,
    /// The value's name in the help text (empty for flags without a value).
    pub hint: &'static str,
    pub takes: Takes,
    /// Help text, lines separated by `\n`; `{key}`, `{iface}`, `{default_addr}`,
    /// `{default_client_addr}`, `{min_mtu}` and `{min_mtu_v6}` stand for the defaults and limits
    /// (filled in by [`option_lines`]).
    pub help: &'static str,
    pub modes: Modes,
}

impl Flag {
    /// `-l/--listen`: how error messages name a flag (both forms, as the help text does).
    pub fn names(&self) -> String {
        format!("-{}/--{}", self.short, self.long)
    }
}

/// Every flag, in help-text order.
pub const FLAGS: [Flag; 15] = [
    Flag {
        short: "c",
        long: "config",
        hint: "FILE",
        takes: Takes::Value,
        help: "run a WireGuard configuration file (see below)",
        modes: Modes::CONFIG,
    },
    Flag {
        short: "l",
        long: "listen",
        hint: "[ADDR:]PORT",
        takes: Takes::Value,
        help: "one-command server: listen on PORT; a bare PORT binds [::]:PORT\n\
               (IPv4 and IPv6)",
        modes: Modes::SERVER,
    },
    Flag {
        short: "s",
        long: "server",
        hint: "HOST:PORT",
        takes: Takes::Value,
        help: "one-command client: connect to the server; HOST is resolved once\n\
               at start; IPv6 literals go in brackets: [2001:db8::1]:51820",
        modes: Modes::CLIENT,
    },
    Flag {
        short: "k",
        long: "key",
        hint: "FILE",
        takes: Takes::Value,
        help: "the shared secret file (default {key}); must be mode 0600",
        modes: Modes::ONE_COMMAND,
    },
    Flag {
        short: "a",
        long: "address",
        hint: "ADDR/PREFIX",
        takes: Takes::Values,
        help: "tunnel address, one IPv4 and/or one IPv6; the client's must be\n\
               the server's + 1 (default: server {default_addr}, client {default_client_addr})",
        modes: Modes::ONE_COMMAND,
    },
    Flag {
        short: "i",
        long: "interface",
        hint: "NAME",
        takes: Takes::Value,
        help: "TUN interface name, at most 15 bytes (default {iface}; with -c,\n\
               the file's name without .conf, as wg-quick names it)",
        modes: Modes::NAMED_BY_FLAG,
    },
    Flag {
        short: "m",
        long: "mtu",
        hint: "MTU",
        takes: Takes::Value,
        help: "tunnel MTU, {min_mtu}..65535 (at least {min_mtu_v6} with IPv6 inside)",
        modes: Modes::ONE_COMMAND,
    },
    Flag {
        short: "r",
        long: "route",
        hint: "CIDR",
        takes: Takes::Values,
        help: "a network reached through the other side: routed into the tunnel,\n\
               and accepted from it (repeatable; host bits must be zero)",
        modes: Modes::ONE_COMMAND,
    },
    Flag {
        short: "K",
        long: "keepalive",
        hint: "SECONDS",
        takes: Takes::Value,
        help: "client: send a keepalive every SECONDS even when idle, to keep a\n\
               NAT mapping open (WireGuard's PersistentKeepalive; default off)",
        modes: Modes::CLIENT,
    },
    Flag {
        short: "f",
        long: "foreground",
        hint: "",
        takes: Takes::Switch,
        help: "ringtun IFNAME: stay in the foreground (also WG_PROCESS_FOREGROUND=1)",
        modes: Modes::INTERFACE,
    },
    Flag {
        short: "u",
        long: "user",
        hint: "NAME",
        takes: Takes::Value,
        help: "after set-up, run as user NAME (and its group), keeping only the\n\
               capabilities wg set may need (CAP_NET_ADMIN, CAP_NET_BIND_SERVICE)",
        modes: Modes::RUN,
    },
    Flag {
        short: "v",
        long: "verbose",
        hint: "",
        takes: Takes::Count,
        help: "more detail (handshakes)",
        modes: Modes::RUN,
    },
    Flag {
        short: "q",
        long: "quiet",
        hint: "",
        takes: Takes::Switch,
        help: "errors and warnings only",
        modes: Modes::RUN,
    },
    Flag {
        short: "h",
        long: "help",
        hint: "",
        takes: Takes::Switch,
        help: "this text",
        modes: Modes::ALL,
    },
    Flag {
        short: "V",
        long: "version",
        hint: "",
        takes: Takes::Switch,
        help: "print the version",
        modes: Modes::RUN,
    },
];

/// The getopts spec of the flags that belong to any of `modes`.
pub fn spec(modes: Modes) -> getopts::Options {
    let mut o = getopts::Options::new();
    for f in FLAGS.iter().filter(|f| f.modes.overlaps(modes)) {
        match f.takes {
            Takes::Value => o.optopt(f.short, f.long, "", f.hint),
            Takes::Values => o.optmulti(f.short, f.long, "", f.hint),
            Takes::Switch => o.optflag(f.short, f.long, ""),
            Takes::Count => o.optflagmulti(f.short, f.long, ""),
        };
    }
    o
}

/// The flag named `name` as getopts reports it (`l`, `listen`, or with its dashes).
pub fn find(name: &str) -> Option<&'static Flag> {
    let bare = name.trim_start_matches('-');
    FLAGS.iter().find(|f| f.short == bare || f.long == bare)
}

/// A getopts failure as one line, a known flag named by both its forms, an unknown one as typed.
pub fn fail_message(f: &getopts::Fail) -> String {
    use getopts::Fail::*;
    let typed = |n: &str| match n {
        n if n.starts_with('-') => n.to_string(),
        n if n.chars().count() == 1 => format!("-{n}"),
        n => format!("--{n}"),
    };
    let flag = |n: &str| find(n).map_or_else(|| typed(n), Flag::names);
    match f {
        ArgumentMissing(n) => format!("{} needs a value", flag(n)),
        // Possibly a flag of the table that belongs to another mode: as typed.
        UnrecognizedOption(n) => format!("unknown option {}", typed(n)),
        OptionMissing(n) => format!("{} is required", flag(n)),
        OptionDuplicated(n) => format!("{} given more than once", flag(n)),
        UnexpectedArgument(n) => format!("{} takes no value", flag(n)),
    }
}

/// Width of the flag column of the help text (after the two-space indent, before the help).
const FLAG_COLUMN: usize = 26;

/// The `Options:` lines of the help text: `-l, --listen [ADDR:]PORT` and the help, continuation
/// lines aligned under it.
pub fn option_lines() -> String {
    let mut out = String::new();
    for f in &FLAGS {
        let mut left = format!("-{}, --{}", f.short, f.long);
        if !f.hint.is_empty() {
            left = format!("{left} {}", f.hint);
        }
        let help = f
            .help
            .replace("{key}", DEFAULT_KEY_PATH)
            .replace("{iface}", DEFAULT_INTERFACE)
            .replace("{default_addr}", &default_server_address().to_string())
            .replace(
                "{default_client_addr}",
                &default_client_address().to_string(),
            )
            .replace("{min_mtu_v6}", &MIN_MTU_V6.to_string())
            .replace("{min_mtu}", &MIN_MTU.to_string());
        for (i, line) in help.lines().enumerate() {
            let first = if i == 0 { left.as_str() } else { "" };
            // At least one space between a long flag column and its help.
            out.push_str(&format!(
                "  {first:<width$} {line}\n",
                width = FLAG_COLUMN - 1
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::usage;

    #[test]
    fn usage_lists_every_flag_with_its_hint() {
        let text = usage();
        for f in &FLAGS {
            let mut left = format!("  -{}, --{}", f.short, f.long);
            if !f.hint.is_empty() {
                left = format!("{left} {}", f.hint);
            }
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{left} ")))
                .unwrap_or_else(|| panic!("usage lacks {left:?}:\n{text}"));
            let first_help_line = f.help.lines().next().unwrap();
            let words = first_help_line.split('{').next().unwrap().trim();
            assert!(line.contains(words), "{line:?} lacks {words:?}");
        }
        assert!(!text.contains('{') && !text.contains('}'), "{text}");
        assert!(text.contains("  -m, --mtu MTU             tunnel MTU, 576..65535 (at least 1280"));
        assert!(text.contains("default: server 10.89.0.1/24, client 10.89.0.2/24"));
        assert!(text.contains("(default /etc/ringtun/key)"));
    }

    #[test]
    fn getopts_accepts_every_flag_in_its_modes() {
        for f in &FLAGS {
            let value: &[&str] = match f.takes {
                Takes::Value | Takes::Values => &["x"],
                Takes::Switch | Takes::Count => &[],
            };
            for modes in [
                Modes::SERVER,
                Modes::CLIENT,
                Modes::KEYS,
                Modes::CONFIG,
                Modes::INTERFACE,
            ] {
                for form in [format!("-{}", f.short), format!("--{}", f.long)] {
                    let args: Vec<&str> = std::iter::once(form.as_str())
                        .chain(value.iter().copied())
                        .collect();
                    let r = spec(modes).parse(&args);
                    if f.modes.overlaps(modes) {
                        let m = r.unwrap_or_else(|e| panic!("{args:?} in {modes:?}: {e}"));
                        assert!(m.opt_present(f.short) && m.opt_present(f.long), "{args:?}");
                        assert!(m.free.is_empty(), "{args:?}: {:?}", m.free);
                    } else {
                        assert!(
                            matches!(r, Err(getopts::Fail::UnrecognizedOption(_))),
                            "{args:?} must be unknown in {modes:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn repeatable_flags_are_the_table_s() {
        for f in &FLAGS {
            let takes_value = matches!(f.takes, Takes::Value | Takes::Values);
            let mut args = vec![format!("--{}", f.long)];
            args.extend(takes_value.then(|| "x".to_string()));
            args.push(format!("-{}", f.short));
            args.extend(takes_value.then(|| "y".to_string()));
            let r = spec(f.modes).parse(&args);
            match f.takes {
                Takes::Values => assert_eq!(r.unwrap().opt_strs(f.short), ["x", "y"]),
                Takes::Count => assert_eq!(r.unwrap().opt_count(f.short), 2),
                Takes::Value | Takes::Switch => {
                    let e = fail_message(&r.unwrap_err());
                    assert_eq!(e, format!("{} given more than once", f.names()));
                }
            }
        }
    }

    #[test]
    fn unknown_names_keep_their_dashes() {
        let e = spec(Modes::RUN).parse(["--frobnicate"]).unwrap_err();
        assert_eq!(fail_message(&e), "unknown option --frobnicate");
        let e = spec(Modes::RUN).parse(["-x"]).unwrap_err();
        assert_eq!(fail_message(&e), "unknown option -x");
        assert_eq!(find("listen").unwrap().names(), "-l/--listen");
        assert_eq!(find("-V").unwrap().long, "version");
    }
}
