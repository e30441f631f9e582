//! Least privilege: which account and capabilities a run keeps once set-up is done, and why.
//!
//! Set-up (TUN device, addresses and routes, sockets) needs CAP_NET_ADMIN and often root's files.
//! The loop after it needs neither, except for what `wg set` may ask over the control socket:
//! `fwmark` marks the UDP socket (SO_MARK: CAP_NET_ADMIN) and `listen-port` binds a new one
//! (below 1024: CAP_NET_BIND_SERVICE). So a run that serves a control socket keeps those two (of
//! those it had), and one that serves none keeps nothing. ringtun executes no program, so nothing
//! is kept for one. `--user` also leaves root ([`resolve_user`] during planning, the switch in
//! [`drop_after_setup`]). docs/DESIGN.md ("Privileges") has the table of who holds what when.

use super::AppError;
use crate::sys::privilege::{self, Account, CapSet, Dropped};

/// The capabilities the loop may still need (see the module documentation).
pub fn needed_after_setup(serves_control_socket: bool) -> CapSet {
    if serves_control_socket {
        CapSet::NET_ADMIN.union(CapSet::NET_BIND_SERVICE)
    } else {
        CapSet::EMPTY
    }
}

/// `--user NAME`'s account, read before anything is touched: an unknown user, or a process that
/// could not switch to it (without CAP_SETUID and CAP_SETGID), is refused here.
pub fn resolve_user(name: Option<&str>) -> Result<Option<Account>, AppError> {
    let Some(name) = name else {
        return Ok(None);
    };
    let account = privilege::lookup_user(name)
        .map_err(|e| AppError::new(format!("-u/--user {name}: cannot look the user up: {e}")))?
        .ok_or_else(|| AppError::config(format!("-u/--user {name}: no such user")))?;
    let effective = privilege::capabilities()
        .map_err(|e| AppError::new(format!("capget: {e}")))?
        .effective;
    check_can_switch(name, effective)?;
    Ok(Some(account))
}

/// Switching user takes CAP_SETUID and CAP_SETGID (root has them).
fn check_can_switch(name: &str, effective: CapSet) -> Result<(), AppError> {
    if effective.contains(CapSet::SETUID.union(CapSet::SETGID)) {
        Ok(())
    } else {
        Err(AppError::config(format!(
            "-u/--user {name}: switching users needs root (CAP_SETUID and CAP_SETGID); start \
             ringtun as root, or leave --user out where a service manager already runs it as its \
             own user"
        )))
    }
}

/// After set-up: switches to `user` if given and keeps only the capabilities the loop needs;
/// returns the line saying what was kept. An error ends the run (never run half-dropped).
pub fn drop_after_setup(
    ifname: &str,
    user: Option<&Account>,
    serves_control_socket: bool,
) -> Result<String, AppError> {
    let dropped = privilege::drop_privileges(user, needed_after_setup(serves_control_socket))
        .map_err(|e| AppError::new(format!("{ifname}: cannot drop privileges: {e}")))?;
    Ok(describe(
        ifname,
        user,
        crate::sys::user::effective_uid(),
        dropped,
        serves_control_socket,
    ))
}

/// `wg0: running as user nobody with CAP_NET_BIND_SERVICE, CAP_NET_ADMIN (for wg set
/// fwmark/listen-port)`.
fn describe(
    ifname: &str,
    user: Option<&Account>,
    uid: u32,
    dropped: Dropped,
    serves_control_socket: bool,
) -> String {
    let who = match user {
        Some(user) => format!("user {} (uid {})", user.name, user.uid),
        None => format!("uid {uid}"),
    };
    let why = if !serves_control_socket {
        " (no control socket to serve)"
    } else if dropped.kept.is_empty() {
        " (wg set cannot change fwmark, nor listen-port below 1024)"
    } else {
        " (for wg set fwmark/listen-port)"
    };
    format!("{ifname}: running as {who} with {}{why}", dropped.kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loop_keeps_what_wg_set_needs_and_only_with_a_control_socket() {
        let both = needed_after_setup(true);
        assert_eq!(both, CapSet::from_bits(1 << 12 | 1 << 10));
        assert_eq!(needed_after_setup(false), CapSet::EMPTY);
        // Kept is what is needed and was held: systemd's unit grants CAP_NET_ADMIN alone.
        assert_eq!(both.intersection(CapSet::NET_ADMIN), CapSet::NET_ADMIN);
        assert_eq!(both.intersection(CapSet::from_bits(u64::MAX >> 23)), both);
    }

    #[test]
    fn the_line_says_who_and_what_and_why() {
        let nobody = Account {
            name: "nobody".into(),
            uid: 65534,
            gid: 65534,
        };
        let kept = |kept| Dropped {
            kept,
            bounded: true,
        };
        assert_eq!(
            describe(
                "wg0",
                Some(&nobody),
                65534,
                kept(needed_after_setup(true)),
                true
            ),
            "wg0: running as user nobody (uid 65534) with CAP_NET_BIND_SERVICE, CAP_NET_ADMIN \
             (for wg set fwmark/listen-port)"
        );
        assert_eq!(
            describe("wg0", None, 61999, kept(CapSet::EMPTY), false),
            "wg0: running as uid 61999 with no capabilities (no control socket to serve)"
        );
        assert_eq!(
            describe("wg0", None, 1000, kept(CapSet::EMPTY), true),
            "wg0: running as uid 1000 with no capabilities (wg set cannot change fwmark, nor \
             listen-port below 1024)"
        );
    }

    #[test]
    fn users_are_checked_before_anything_is_touched() {
        assert_eq!(resolve_user(None), Ok(None));
        let e = resolve_user(Some("ringtun-no-such-user-x7")).unwrap_err();
        assert_eq!(e.status, 2);
        assert_eq!(e.message, "-u/--user ringtun-no-such-user-x7: no such user");
        let e = check_can_switch("nobody", CapSet::NET_ADMIN.union(CapSet::SETUID)).unwrap_err();
        assert_eq!(e.status, 2);
        assert!(
            e.message.contains("needs root (CAP_SETUID and CAP_SETGID)"),
            "{e}"
        );
        assert_eq!(
            check_can_switch("nobody", CapSet::SETUID.union(CapSet::SETGID)),
            Ok(())
        );
    }
}
