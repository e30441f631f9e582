//! What can be wrong with a configuration file, each as one line naming the file, the line and the
//! fix. Key values are never repeated in a message (a private key may be the bad value).

use core::fmt;
use std::io;

use super::wg_quick::WgQuickKey;
use crate::core::ip_prefix::PrefixParseError;
use crate::core::keys::KeyTextError;

/// A section of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Section {
    Interface,
    Peer,
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Section::Interface => "[Interface]",
            Section::Peer => "[Peer]",
        })
    }
}

#[derive(Debug)]
pub(crate) enum ErrorKind {
    Io(io::Error),
    TooLarge {
        limit: usize,
    },
    TooManyPeers {
        limit: usize,
    },
    NotUtf8,
    /// A key before the first section header.
    OutsideSection,
    /// A line starting with `[` that is not `[Interface]` or `[Peer]`; the name if it is one.
    UnknownSection(Option<String>),
    SecondInterface {
        first_line: usize,
    },
    /// A line that is neither a section header nor `Key = Value`.
    NotKeyValue,
    /// The key, if it looks like a name (a malformed line could hold a secret).
    UnknownKey {
        key: Option<String>,
        section: Section,
    },
    /// A known key in the other section.
    WrongSection {
        key: &'static str,
        belongs: Section,
    },
    EmptyValue {
        key: &'static str,
    },
    /// A key that takes one value, given twice in a section.
    Duplicate {
        key: &'static str,
        first_line: usize,
    },
    BadKey {
        key: &'static str,
        err: KeyTextError,
    },
    BadNumber {
        key: &'static str,
        value: String,
        expected: &'static str,
    },
    BadPrefix {
        key: &'static str,
        value: String,
        err: PrefixParseError,
    },
    /// An empty entry in a comma-separated list (`a,,b` or a trailing comma).
    EmptyListEntry {
        key: &'static str,
    },
    /// `+prefix` / `-prefix`, which only `wg set` understands.
    IncrementalAllowedIp {
        value: String,
    },
    BadEndpoint {
        value: String,
        why: &'static str,
    },
    MissingPublicKey,
    DuplicatePublicKey {
        first_line: usize,
    },
    WgQuickOnly(WgQuickKey),
}

/// An error at a line of a file (line 0: the file as a whole).
#[derive(Debug)]
pub struct ConfigError {
    pub(crate) source: String,
    pub(crate) line: usize,
    pub(crate) kind: ErrorKind,
}

impl ConfigError {
    pub(crate) fn new(source: &str, line: usize, kind: ErrorKind) -> Self {
        ConfigError {
            source: source.to_string(),
            line,
            kind,
        }
    }
}

/// The longest key or section name repeated in a message.
const MAX_SHOWN_NAME: usize = 32;

/// `text` if it looks like a key or section name (ASCII letters and digits, [`MAX_SHOWN_NAME`] at
/// most), to be repeated in a message; `None` for anything else, which might be part of a secret.
pub(crate) fn shown_name(text: &str) -> Option<String> {
    (!text.is_empty()
        && text.len() <= MAX_SHOWN_NAME
        && text.bytes().all(|b| b.is_ascii_alphanumeric()))
    .then(|| text.to_string())
}

/// A value from the file, quoted and escaped (control characters cannot break the line) and cut
/// short if long.
pub(crate) fn quoted(value: &str) -> String {
    const MAX_CHARS: usize = 64;
    let mut short: String = value.chars().take(MAX_CHARS).collect();
    if short.len() < value.len() {
        short.push_str("...");
    }
    format!("{short:?}")
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ErrorKind::*;
        match self {
            Io(e) => write!(f, "cannot read: {e}"),
            TooLarge { limit } => write!(
                f,
                "larger than {limit} bytes: not a WireGuard configuration, or split it"
            ),
            TooManyPeers { limit } => write!(
                f,
                "more than {limit} [Peer] sections: raise the peer limit or split the configuration"
            ),
            NotUtf8 => f.write_str("not UTF-8 text"),
            OutsideSection => {
                f.write_str("a key before any section: start the file with [Interface] or [Peer]")
            }
            UnknownSection(Some(name)) => write!(
                f,
                "unknown section [{name}]: a WireGuard configuration has [Interface] and [Peer] only"
            ),
            UnknownSection(None) => f.write_str(
                "a line starting with '[' is not a section header: [Interface] or [Peer], alone on its line",
            ),
            SecondInterface { first_line } => write!(
                f,
                "a second [Interface] section (the first is at line {first_line}): merge them"
            ),
            NotKeyValue => f.write_str("not a section header or a Key = Value line"),
            UnknownKey {
                key: Some(key),
                section,
            } => write!(f, "unknown key {key} in {section}"),
            UnknownKey { key: None, section } => write!(
                f,
                "unknown key in {section} (not a key name: is the '=' missing?)"
            ),
            WrongSection { key, belongs } => {
                write!(f, "{key} belongs in a {belongs} section")
            }
            EmptyValue { key } => write!(f, "{key} has no value: give one or remove the line"),
            Duplicate { key, first_line } => write!(
                f,
                "{key} given a second time in this section (first at line {first_line}): keep one"
            ),
            BadKey { key, err } => write!(f, "{key}: {err}"),
            BadNumber {
                key,
                value,
                expected,
            } => write!(f, "{key} {}: {expected}", quoted(value)),
            BadPrefix { key, value, err } => write!(f, "{key} entry {}: {err}", quoted(value)),
            EmptyListEntry { key } => write!(
                f,
                "{key} has an empty entry (two commas, or a comma at the end): remove it"
            ),
            IncrementalAllowedIp { value } => write!(
                f,
                "AllowedIPs entry {}: +/- entries are for `wg set`, not configuration files",
                quoted(value)
            ),
            BadEndpoint { value, why } => write!(
                f,
                "Endpoint {}: {why} (expected host:port or [IPv6]:port)",
                quoted(value)
            ),
            MissingPublicKey => f.write_str("this [Peer] section has no PublicKey"),
            DuplicatePublicKey { first_line } => write!(
                f,
                "this peer's PublicKey is also the one of the [Peer] at line {first_line}: one section per peer"
            ),
            WgQuickOnly(key) => write!(
                f,
                "{key} is a wg-quick setting: ringtun -c does not {}; run this file with wg-quick \
                 (WG_QUICK_USERSPACE_IMPLEMENTATION=ringtun) or remove the line",
                key.what_ringtun_does_not_do()
            ),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.source, self.kind)
        } else {
            write!(f, "{}:{}: {}", self.source, self.line, self.kind)
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_escaped_and_cut() {
        assert_eq!(quoted("abc"), "\"abc\"");
        assert_eq!(quoted("a\nb\x1b[31m"), "\"a\\nb\\u{1b}[31m\"");
        let long = "x".repeat(100);
        assert_eq!(quoted(&long), format!("\"{}...\"", "x".repeat(64)));
        assert_eq!(quoted(&"é".repeat(64)), format!("{:?}", "é".repeat(64)));
    }

    #[test]
    fn whole_file_errors_have_no_line_number() {
        let e = ConfigError::new("wg0.conf", 0, ErrorKind::TooLarge { limit: 10 });
        assert_eq!(
            e.to_string(),
            "wg0.conf: larger than 10 bytes: not a WireGuard configuration, or split it"
        );
        let e = ConfigError::new("wg0.conf", 3, ErrorKind::NotKeyValue);
        assert_eq!(
            e.to_string(),
            "wg0.conf:3: not a section header or a Key = Value line"
        );
    }
}
