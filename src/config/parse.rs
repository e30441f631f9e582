//! Text to [`Config`], line by line, as wireguard-tools' `config.c` reads it: everything from `#` on
//! is a comment; white space anywhere in a line is ignored (`Public Field = x` is `PublicKey=x`);
//! section names and keys are case-insensitive; `AllowedIPs` and `Address` may repeat and add up.
//!
//! Stricter than `wg` where a mistake is likely: a key given twice in a section, a second
//! `[Interface]`, two peers with the same public key, an empty list entry, and any unknown key or
//! section are errors rather than silently overriding or skipped.

use std::collections::HashMap;

use zeroize::Zeroizing;

use super::endpoint::Endpoint;
use super::error::{ConfigError, ErrorKind, Section, shown_name};
use super::wg_quick::{WgQuickKey, WgQuickSetting};
use super::{Config, InterfaceConfig, Limits, PeerConfig};
use crate::core::ip_prefix::IpPrefix;
use crate::core::keys::{KEY_LEN, KeyTextError, PresharedKey, PrivateKey, PublicKey};

/// Every key (field) the parser knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    PrivateKey,
    ListenPort,
    FwMark,
    Address,
    Mtu,
    PublicKey,
    PresharedKey,
    AllowedIps,
    Endpoint,
    PersistentKeepalive,
    WgQuick(WgQuickKey),
}

/// Keys in the order of the `seen` arrays; wg-quick keys are not tracked (they may repeat).
const FIELDS: [Field; 10] = [
    Field::PrivateKey,
    Field::ListenPort,
    Field::FwMark,
    Field::Address,
    Field::Mtu,
    Field::PublicKey,
    Field::PresharedKey,
    Field::AllowedIps,
    Field::Endpoint,
    Field::PersistentKeepalive,
];

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::PrivateKey => "PrivateKey",
            Field::ListenPort => "ListenPort",
            Field::FwMark => "FwMark",
            Field::Address => "Address",
            Field::Mtu => "MTU",
            Field::PublicKey => "PublicKey",
            Field::PresharedKey => "PresharedKey",
            Field::AllowedIps => "AllowedIPs",
            Field::Endpoint => "Endpoint",
            Field::PersistentKeepalive => "PersistentKeepalive",
            Field::WgQuick(k) => k.name(),
        }
    }

    fn section(self) -> Section {
        match self {
            Field::PrivateKey
            | Field::ListenPort
            | Field::FwMark
            | Field::Address
            | Field::Mtu
            | Field::WgQuick(_) => Section::Interface,
            Field::PublicKey
            | Field::PresharedKey
            | Field::AllowedIps
            | Field::Endpoint
            | Field::PersistentKeepalive => Section::Peer,
        }
    }

    /// Keys that may appear on several lines, each adding to the list.
    fn repeats(self) -> bool {
        matches!(self, Field::Address | Field::AllowedIps | Field::WgQuick(_))
    }

    fn from_name(name: &str) -> Option<Field> {
        FIELDS
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
            .or_else(|| WgQuickKey::from_name(name).map(Field::WgQuick))
    }

    fn seen_slot(self) -> Option<usize> {
        FIELDS.iter().position(|&k| k == self)
    }
}

/// White space as wireguard-tools counts it (C's isspace in the C locale).
pub(crate) fn is_wg_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0b}' | '\u{0c}' | '\r')
}

/// A section being read: what it has so far and where each single-valued key was given.
struct SectionDraft {
    line: usize,
    seen: [Option<usize>; FIELDS.len()],
}

impl SectionDraft {
    fn new(line: usize) -> Self {
        SectionDraft {
            line,
            seen: [None; FIELDS.len()],
        }
    }
}

struct PeerDraft {
    section: SectionDraft,
    public_key: Option<PublicKey>,
    preshared_key: Option<PresharedKey>,
    allowed_ips: Vec<IpPrefix>,
    endpoint: Option<Endpoint>,
    persistent_keepalive: u16,
}

/// One key's value, read but not yet stored.
enum Setting {
    PrivateKey(PrivateKey),
    ListenPort(u16),
    FwMark(u32),
    Mtu(u16),
    Addresses(Vec<IpPrefix>),
    PublicKey(PublicKey),
    PresharedKey(PresharedKey),
    AllowedIps(Vec<IpPrefix>),
    Endpoint(Endpoint),
    PersistentKeepalive(u16),
}

/// Parses a configuration file's contents; `source` names it in error messages.
pub fn parse(text: &[u8], source: &str, limits: &Limits) -> Result<Config, ConfigError> {
    Parser::new(source, limits).run(text)
}

struct Parser<'a> {
    source: &'a str,
    limits: &'a Limits,
    line: usize,
    interface: InterfaceConfig,
    interface_section: Option<SectionDraft>,
    peers: Vec<PeerDraft>,
    /// The section lines belong to now; `None` before the first header.
    current: Option<Section>,
    wg_quick_only: Vec<WgQuickSetting>,
}

impl<'a> Parser<'a> {
    fn new(source: &'a str, limits: &'a Limits) -> Self {
        Parser {
            source,
            limits,
            line: 0,
            interface: InterfaceConfig::default(),
            interface_section: None,
            peers: Vec::new(),
            current: None,
            wg_quick_only: Vec::new(),
        }
    }

    fn error(&self, kind: ErrorKind) -> ConfigError {
        ConfigError::new(self.source, self.line, kind)
    }

    fn run(mut self, text: &[u8]) -> Result<Config, ConfigError> {
        if text.len() > self.limits.max_bytes {
            return Err(ConfigError::new(
                self.source,
                0,
                ErrorKind::TooLarge {
                    limit: self.limits.max_bytes,
                },
            ));
        }
        for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
            self.line = i + 1;
            // The comment goes first, so bytes in it need not be UTF-8.
            let content = raw.split(|&b| b == b'#').next().unwrap_or_default();
            let content =
                std::str::from_utf8(content).map_err(|_| self.error(ErrorKind::NotUtf8))?;
            self.line_content(content)?;
        }
        self.finish()
    }

    fn line_content(&mut self, content: &str) -> Result<(), ConfigError> {
        // The line may hold a private key: wiped when dropped.
        let compact: Zeroizing<String> =
            Zeroizing::new(content.chars().filter(|&c| !is_wg_space(c)).collect());
        if compact.is_empty() {
            return Ok(());
        }
        if compact.starts_with('[') {
            return self.section_header(&compact);
        }
        let Some((key_text, value_compact)) = compact.split_once('=') else {
            return Err(self.error(ErrorKind::NotKeyValue));
        };
        let Some(section) = self.current else {
            return Err(self.error(ErrorKind::OutsideSection));
        };
        let Some(key) = Field::from_name(key_text) else {
            return Err(self.error(ErrorKind::UnknownKey {
                key: shown_name(key_text),
                section,
            }));
        };
        if key.section() != section {
            return Err(self.error(ErrorKind::WrongSection {
                key: key.name(),
                belongs: key.section(),
            }));
        }
        if let Field::WgQuick(key) = key {
            // Recorded whatever the value (even empty): the caller refuses or ignores the line.
            self.wg_quick_only.push(WgQuickSetting {
                line: self.line,
                key,
            });
            return Ok(());
        }
        if value_compact.is_empty() {
            return Err(self.error(ErrorKind::EmptyValue { key: key.name() }));
        }
        self.note_seen(key)?;
        // Address is split at white space as well as commas (wg-quick), so it takes the value with
        // its white space; every other value is read without any, as wg does.
        let value_spaced = content.split_once('=').map_or("", |(_, v)| v);
        let setting = self.value(key, value_compact, value_spaced)?;
        self.apply(setting)
    }

    fn section_header(&mut self, compact: &str) -> Result<(), ConfigError> {
        if compact.eq_ignore_ascii_case("[Interface]") {
            if let Some(first) = &self.interface_section {
                return Err(self.error(ErrorKind::SecondInterface {
                    first_line: first.line,
                }));
            }
            self.interface_section = Some(SectionDraft::new(self.line));
            self.current = Some(Section::Interface);
        } else if compact.eq_ignore_ascii_case("[Peer]") {
            if self.peers.len() >= self.limits.max_peers {
                return Err(self.error(ErrorKind::TooManyPeers {
                    limit: self.limits.max_peers,
                }));
            }
            self.peers.push(PeerDraft {
                section: SectionDraft::new(self.line),
                public_key: None,
                preshared_key: None,
                allowed_ips: Vec::new(),
                endpoint: None,
                persistent_keepalive: 0,
            });
            self.current = Some(Section::Peer);
        } else {
            // Echo the name only when it looks like one: a malformed line could hold a key.
            let name = compact
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(shown_name);
            return Err(self.error(ErrorKind::UnknownSection(name)));
        }
        Ok(())
    }

    /// Refuses a single-valued key given a second time in the current section.
    fn note_seen(&mut self, key: Field) -> Result<(), ConfigError> {
        let line = self.line;
        let section = match key.section() {
            Section::Interface => self.interface_section.as_mut(),
            Section::Peer => self.peers.last_mut().map(|p| &mut p.section),
        };
        // `current` matched key.section() and its header created the draft, so both exist.
        let (Some(section), Some(slot)) = (section, key.seen_slot()) else {
            return Ok(());
        };
        match section.seen[slot] {
            Some(first_line) if !key.repeats() => Err(self.error(ErrorKind::Duplicate {
                key: key.name(),
                first_line,
            })),
            Some(_) => Ok(()),
            None => {
                section.seen[slot] = Some(line);
                Ok(())
            }
        }
    }

    /// Reads the value of `key` (white space removed; `value_spaced` is the same with it kept).
    fn value(&self, key: Field, value: &str, value_spaced: &str) -> Result<Setting, ConfigError> {
        let bad_key = |err: KeyTextError| {
            self.error(ErrorKind::BadKey {
                key: key.name(),
                err,
            })
        };
        let setting = match key {
            Field::PrivateKey => {
                Setting::PrivateKey(PrivateKey::from_base64(value).map_err(bad_key)?)
            }
            Field::ListenPort => {
                let port = parse_decimal(value, u64::from(u16::MAX)).ok_or_else(|| {
                    self.bad_number(key, value, "not a port number from 0 to 65535")
                })?;
                Setting::ListenPort(port as u16)
            }
            Field::FwMark => Setting::FwMark(parse_fwmark(value).ok_or_else(|| {
                self.bad_number(key, value, "neither off nor a number from 0 to 0xffffffff")
            })?),
            Field::Mtu => {
                let mtu = parse_decimal(value, u64::from(u16::MAX))
                    .filter(|&m| m >= MIN_MTU)
                    .ok_or_else(|| self.bad_number(key, value, "not a number from 576 to 65535"))?;
                Setting::Mtu(mtu as u16)
            }
            Field::Address => {
                let items = value_spaced
                    .split(|c: char| c == ',' || is_wg_space(c))
                    .filter(|item| !item.is_empty());
                Setting::Addresses(
                    items
                        .map(|item| self.prefix(key, item))
                        .collect::<Result<_, _>>()?,
                )
            }
            Field::PublicKey => Setting::PublicKey(PublicKey::from_base64(value).map_err(bad_key)?),
            Field::PresharedKey => {
                Setting::PresharedKey(PresharedKey::from_base64(value).map_err(bad_key)?)
            }
            Field::AllowedIps => {
                let mut prefixes = Vec::new();
                for item in value.split(',') {
                    if item.is_empty() {
                        return Err(self.error(ErrorKind::EmptyListEntry { key: key.name() }));
                    }
                    if item.starts_with(['+', '-']) {
                        return Err(self.error(ErrorKind::IncrementalAllowedIp {
                            value: item.to_string(),
                        }));
                    }
                    prefixes.push(self.prefix(key, item)?);
                }
                Setting::AllowedIps(prefixes)
            }
            Field::Endpoint => Setting::Endpoint(value.parse::<Endpoint>().map_err(|why| {
                self.error(ErrorKind::BadEndpoint {
                    value: value.to_string(),
                    why,
                })
            })?),
            Field::PersistentKeepalive => {
                let seconds = if value.eq_ignore_ascii_case("off") {
                    Some(0)
                } else {
                    parse_decimal(value, u64::from(u16::MAX))
                };
                let seconds = seconds.ok_or_else(|| {
                    self.bad_number(
                        key,
                        value,
                        "neither off nor a number of seconds from 0 to 65535",
                    )
                })?;
                Setting::PersistentKeepalive(seconds as u16)
            }
            // Recorded by the caller before values are read; never reaches here.
            Field::WgQuick(_) => return Err(self.error(ErrorKind::NotKeyValue)),
        };
        Ok(setting)
    }

    fn apply(&mut self, setting: Setting) -> Result<(), ConfigError> {
        let interface = &mut self.interface;
        match setting {
            Setting::PrivateKey(k) => interface.private_key = Some(k),
            Setting::ListenPort(p) => interface.listen_port = Some(p),
            Setting::FwMark(m) => interface.fwmark = m,
            Setting::Mtu(m) => interface.mtu = Some(m),
            Setting::Addresses(a) if a.is_empty() => {
                return Err(self.error(ErrorKind::EmptyValue { key: "Address" }));
            }
            Setting::Addresses(a) => interface.addresses.extend(a),
            peer_setting => {
                // Peer keys are accepted only in a [Peer] section, whose header made the draft.
                let Some(peer) = self.peers.last_mut() else {
                    return Err(self.error(ErrorKind::OutsideSection));
                };
                match peer_setting {
                    Setting::PublicKey(k) => peer.public_key = Some(k),
                    Setting::PresharedKey(k) => peer.preshared_key = Some(k),
                    Setting::AllowedIps(a) => peer.allowed_ips.extend(a),
                    Setting::Endpoint(e) => peer.endpoint = Some(e),
                    Setting::PersistentKeepalive(s) => peer.persistent_keepalive = s,
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn prefix(&self, key: Field, item: &str) -> Result<IpPrefix, ConfigError> {
        item.parse::<IpPrefix>().map_err(|err| {
            self.error(ErrorKind::BadPrefix {
                key: key.name(),
                value: item.to_string(),
                err,
            })
        })
    }

    fn bad_number(&self, key: Field, value: &str, expected: &'static str) -> ConfigError {
        self.error(ErrorKind::BadNumber {
            key: key.name(),
            value: value.to_string(),
            expected,
        })
    }

    fn finish(self) -> Result<Config, ConfigError> {
        let mut first_line_of_key: HashMap<[u8; KEY_LEN], usize> = HashMap::new();
        let mut peers = Vec::with_capacity(self.peers.len());
        for draft in self.peers {
            let line = draft.section.line;
            let Some(public_key) = draft.public_key else {
                return Err(ConfigError::new(
                    self.source,
                    line,
                    ErrorKind::MissingPublicKey,
                ));
            };
            if let Some(&first_line) = first_line_of_key.get(public_key.as_bytes()) {
                return Err(ConfigError::new(
                    self.source,
                    line,
                    ErrorKind::DuplicatePublicKey { first_line },
                ));
            }
            first_line_of_key.insert(*public_key.as_bytes(), line);
            peers.push(PeerConfig {
                public_key,
                preshared_key: draft.preshared_key,
                allowed_ips: draft.allowed_ips,
                endpoint: draft.endpoint,
                persistent_keepalive: draft.persistent_keepalive,
            });
        }
        Ok(Config {
            interface: self.interface,
            peers,
            wg_quick_only: self.wg_quick_only,
        })
    }
}

/// The IPv4 minimum MTU (RFC 791's 576, which `ringtun -m` also requires).
const MIN_MTU: u64 = 576;

/// Decimal digits only (leading zeros allowed, as `strtoul`), at most `max`.
fn parse_decimal(text: &str, max: u64) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let significant = text.trim_start_matches('0');
    // u64::MAX has 20 digits: more certainly exceed it (and `parse` rejects the rest).
    if significant.len() > u64::MAX.ilog10() as usize + 1 {
        return None;
    }
    let value = if significant.is_empty() {
        0
    } else {
        significant.parse::<u64>().ok()?
    };
    (value <= max).then_some(value)
}

/// `off`, decimal, or hex after `0x`, at most 0xffffffff (wg's parse_fwmark).
fn parse_fwmark(text: &str) -> Option<u32> {
    if text.eq_ignore_ascii_case("off") {
        return Some(0);
    }
    let value = match text.strip_prefix("0x") {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            let significant = hex.trim_start_matches('0');
            // Two hex digits a byte: more than a u32 holds.
            if significant.len() > 2 * size_of::<u32>() {
                return None;
            }
            u64::from_str_radix(hex, 16).ok()?
        }
        Some(_) => return None,
        None => parse_decimal(text, u64::from(u32::MAX))?,
    };
    u32::try_from(value).ok()
}
