//! The wg-quick(8) keys ringtun does not handle: they need DNS, routing-table or shell access that
//! wg-quick has and `ringtun -c` deliberately does not take. wg-quick itself strips them before it
//! hands the file to `wg setconf`, so running the file through wg-quick with ringtun as the
//! userspace implementation uses them as intended.

use core::fmt;

use super::error::{ConfigError, ErrorKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WgQuickKey {
    Dns,
    Table,
    PreUp,
    PostUp,
    PreDown,
    PostDown,
    SaveConfig,
}

impl WgQuickKey {
    pub(crate) const ALL: [WgQuickKey; 7] = [
        WgQuickKey::Dns,
        WgQuickKey::Table,
        WgQuickKey::PreUp,
        WgQuickKey::PostUp,
        WgQuickKey::PreDown,
        WgQuickKey::PostDown,
        WgQuickKey::SaveConfig,
    ];

    /// The key as wg-quick(8) spells it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            WgQuickKey::Dns => "DNS",
            WgQuickKey::Table => "Table",
            WgQuickKey::PreUp => "PreUp",
            WgQuickKey::PostUp => "PostUp",
            WgQuickKey::PreDown => "PreDown",
            WgQuickKey::PostDown => "PostDown",
            WgQuickKey::SaveConfig => "SaveConfig",
        }
    }

    /// The key whose name this is (any case), if any.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// What `ringtun -c` would have to do to honour the key, for the refusal message.
    pub(crate) fn what_ringtun_does_not_do(self) -> &'static str {
        match self {
            WgQuickKey::Dns => "set DNS",
            WgQuickKey::Table => "choose routing tables",
            WgQuickKey::PreUp | WgQuickKey::PostUp | WgQuickKey::PreDown | WgQuickKey::PostDown => {
                "run hook commands"
            }
            WgQuickKey::SaveConfig => "write the configuration back",
        }
    }
}

impl fmt::Display for WgQuickKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A wg-quick key found in the file, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WgQuickSetting {
    pub(crate) line: usize,
    pub(crate) key: WgQuickKey,
}

impl WgQuickSetting {
    /// The one-line error for `ringtun -c` to stop with; `source` names the file.
    pub(crate) fn refusal(&self, source: &str) -> ConfigError {
        ConfigError::new(source, self.line, ErrorKind::WgQuickOnly(self.key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_any_case() {
        for k in WgQuickKey::ALL {
            assert_eq!(WgQuickKey::from_name(k.name()), Some(k));
            assert_eq!(WgQuickKey::from_name(&k.name().to_uppercase()), Some(k));
        }
        assert_eq!(WgQuickKey::from_name("Address"), None);
        assert_eq!(WgQuickKey::from_name("MTU"), None);
    }

    #[test]
    fn refusal_names_file_line_key_and_both_ways_out() {
        let msg = WgQuickSetting {
            line: 7,
            key: WgQuickKey::Dns,
        }
        .refusal("wg0.conf")
        .to_string();
        assert_eq!(
            msg,
            "wg0.conf:7: DNS is a wg-quick setting: ringtun -c does not set DNS; run this file with \
             wg-quick (WG_QUICK_USERSPACE_IMPLEMENTATION=ringtun) or remove the line"
        );
        let msg = WgQuickSetting {
            line: 3,
            key: WgQuickKey::PostUp,
        }
        .refusal("/etc/wireguard/wg0.conf")
        .to_string();
        assert!(
            msg.starts_with("/etc/wireguard/wg0.conf:3: PostUp is a wg-quick setting: ringtun -c does not run hook commands;"),
            "{msg}"
        );
    }
}
