//! Least privilege, end to end: what a running ringtun holds after set-up (read from
//! `/proc/PID/status`), with `--user` and without, while its tunnel and `wg set` still work; and
//! the refusal of set-uid and file-capability copies started by a user other than root. Needs
//! root (namespaces, TUN, setcap, setpriv): `sudo ./scripts/test.sh --test privilege`.
//! (A start as systemd's unit makes it, ambient CAP_NET_ADMIN for a uid of its own:
//! tests/dist.rs.)

// `pub`: see tests/common/mod.rs.
pub mod common;

use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// CAP_NET_ADMIN (12) and CAP_NET_BIND_SERVICE (10): what `wg set fwmark` / `listen-port` need.
const NET_ADMIN_AND_BIND: &str = "0000000000001400";
const NOBODY: &str = "65534";

/// A `/proc/PID/status` field, its whitespace-separated values joined by one space.
fn status_field(pid: u32, name: &str) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| panic!("no {name} in:\n{status}"))
}

/// `wg ARGS` (bounded) that must succeed; its stdout.
fn wg(args: &[&str]) -> String {
    let mut full = vec!["timeout", "10", "wg"];
    full.extend_from_slice(args);
    run_ok(&full)
}

/// A name for an interface whose control socket is the machine's (so unique on the machine).
fn unique_ifname(tag: &str) -> String {
    format!("rtp{tag}{}", std::process::id() % 100_000)
}

/// Removes the control socket of `ifname` on drop, whatever the test left.
struct SocketFile(PathBuf);

impl SocketFile {
    fn of(ifname: &str) -> SocketFile {
        SocketFile(Path::new(CONTROL_SOCKET_DIR).join(format!("{ifname}.sock")))
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// A one-command server in `net` on `ifname`, its control socket the machine's, with `extra`.
fn server(net: &TestNet, key: &str, ifname: &str, extra: &[&str]) -> Ringtun {
    let port = PORT.to_string();
    let mut args = vec!["-l", &port, "-k", key, "-i", ifname];
    args.extend_from_slice(extra);
    let mut server = Ringtun::spawn_with_control(
        &net.server_ns,
        net.dir.join(format!("server-{ifname}.log")),
        "server",
        &ringtun_bin(),
        &args,
    );
    server.expect_log("running as", SESSION_TIMEOUT);
    server
}

/// The client's session up: it pings the server's tunnel address until both ends log it.
fn bring_up(net: &TestNet, key: &str, server: &mut Ringtun) -> Ringtun {
    let mut client = net.client(&["-s", &net.server_endpoint(PORT), "-k", key]);
    let up = wait_until(SESSION_TIMEOUT, || {
        let _ = ping(&net.client_ns, "10.89.0.1", 1, Duration::from_secs(1));
        client.log_contains(SESSION_UP) || client.exited().is_some()
    });
    assert!(
        up,
        "no session\n--- client ---\n{}\n--- server ---\n{}",
        client.log(),
        server.log()
    );
    server.expect_log(SESSION_UP, SESSION_TIMEOUT);
    client
}

/// `--user nobody`: after set-up the server is nobody through and through (uids, gids, groups),
/// holds CAP_NET_ADMIN and CAP_NET_BIND_SERVICE only (effective, permitted, bounding), nothing
/// inheritable or ambient, and cannot gain more. The tunnel carries traffic, and `wg` still reads
/// and changes the interface: fwmark (CAP_NET_ADMIN) and a listen-port below 1024
/// (CAP_NET_BIND_SERVICE). At exit nobody cannot remove the socket file from root's directory;
/// the next start replaces it.
#[test]
#[ignore = "needs root"]
fn server_as_nobody_keeps_only_what_wg_set_needs() {
    let net = TestNet::new();
    let key = net.key("key");
    let ifname = unique_ifname("u");
    let socket = SocketFile::of(&ifname);
    let mut server = server(&net, &key, &ifname, &["--user", "nobody"]);
    let pid = server.pid();
    assert_eq!(status_field(pid, "Uid:"), [NOBODY; 4].join(" "));
    assert_eq!(status_field(pid, "Gid:"), [NOBODY; 4].join(" "));
    assert_eq!(status_field(pid, "Groups:"), NOBODY, "nogroup's gid alone");
    for set in ["CapEff:", "CapPrm:", "CapBnd:"] {
        assert_eq!(status_field(pid, set), NET_ADMIN_AND_BIND, "{set}");
    }
    assert_eq!(status_field(pid, "CapInh:"), "0000000000000000");
    assert_eq!(status_field(pid, "CapAmb:"), "0000000000000000");
    assert_eq!(status_field(pid, "NoNewPrivs:"), "1");
    assert!(
        server.log_contains(&format!(
            "{ifname}: running as user nobody (uid 65534) with CAP_NET_BIND_SERVICE, \
             CAP_NET_ADMIN (for wg set fwmark/listen-port)"
        )),
        "{}",
        server.log()
    );

    let mut client = bring_up(&net, &key, &mut server);
    assert_ping(&net.client_ns, "10.89.0.1", 3);

    let shown = wg(&["show", &ifname]);
    assert!(shown.contains(&format!("interface: {ifname}")), "{shown}");
    assert!(shown.contains("latest handshake"), "{shown}");
    wg(&["set", &ifname, "fwmark", "0x1234"]);
    assert_eq!(wg(&["show", &ifname, "fwmark"]).trim(), "0x1234");
    wg(&["set", &ifname, "listen-port", "853"]);
    assert_eq!(wg(&["show", &ifname, "listen-port"]).trim(), "853");
    server.assert_running();

    client.terminate(Duration::from_secs(10));
    let exit = server.terminate(Duration::from_secs(10));
    assert!(exit.success(), "exit {exit}:\n{}", server.log());
    assert!(!link_exists(&net.server_ns, &ifname));
    // Accepted, as boringtun does: the file stays, without an error line, until the next start.
    assert!(socket.0.exists(), "nobody could not have removed it");
    assert!(!server.log_contains("error:"), "{}", server.log());
    let mut again = server_as_root(&net, &key, &ifname);
    let exit = again.terminate(Duration::from_secs(10));
    assert!(exit.success(), "exit {exit}:\n{}", again.log());
    assert!(!socket.0.exists(), "root removes its own socket file");
}

fn server_as_root(net: &TestNet, key: &str, ifname: &str) -> Ringtun {
    let server = server(net, key, ifname, &[]);
    assert!(
        server.log_contains("running as uid 0 with CAP_NET_BIND_SERVICE, CAP_NET_ADMIN"),
        "{}",
        server.log()
    );
    server
}

/// Without `--user`, root stays uid 0 but keeps the same two capabilities and no more.
#[test]
#[ignore = "needs root"]
fn server_as_root_keeps_two_capabilities() {
    let net = TestNet::new();
    let key = net.key("key");
    let ifname = unique_ifname("r");
    let _socket = SocketFile::of(&ifname);
    let mut server = server_as_root(&net, &key, &ifname);
    let pid = server.pid();
    assert_eq!(status_field(pid, "Uid:"), "0 0 0 0");
    for set in ["CapEff:", "CapPrm:", "CapBnd:"] {
        assert_eq!(status_field(pid, set), NET_ADMIN_AND_BIND, "{set}");
    }
    assert_eq!(status_field(pid, "CapInh:"), "0000000000000000");
    assert_eq!(status_field(pid, "CapAmb:"), "0000000000000000");
    assert_eq!(status_field(pid, "NoNewPrivs:"), "1");
    let mut client = bring_up(&net, &key, &mut server);
    assert_ping(&net.client_ns, "10.89.0.1", 2);
    wg(&["set", &ifname, "fwmark", "0x99"]);
    assert_eq!(wg(&["show", &ifname, "fwmark"]).trim(), "0x99");
    client.terminate(Duration::from_secs(10));
    let exit = server.terminate(Duration::from_secs(10));
    assert!(exit.success(), "exit {exit}:\n{}", server.log());
}

/// A user that does not exist is a configuration error found before anything is touched.
#[test]
fn an_unknown_user_is_refused_before_set_up() {
    let dir = std::env::temp_dir().join(format!("ringtun-test-privilege-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let key = dir.join("key");
    write_key(&key);
    let out = Command::new(ringtun_bin())
        .args(["-l", "1", "-i", "rtpnouser0", "-k", key.to_str().unwrap()])
        .args(["-u", "ringtun-no-such-user-x7"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    fs::remove_dir_all(&dir).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err,
        "ringtun: error: -u/--user ringtun-no-such-user-x7: no such user\n"
    );
    assert!(!Path::new("/sys/class/net/rtpnouser0").exists());
}

/// A copy of the binary in a fresh directory nobody may write to but root (0755), removed on
/// drop.
struct Copy {
    dir: PathBuf,
    bin: PathBuf,
}

impl Copy {
    fn new(tag: &str) -> Copy {
        let dir = std::env::temp_dir().join(format!(
            "ringtun-test-privilege-{tag}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.join("ringtun");
        fs::copy(ringtun_bin(), &bin).unwrap();
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
        Copy { dir, bin }
    }

    fn path(&self) -> &str {
        self.bin.to_str().unwrap()
    }

    /// `ringtun genkey` as uid/gid 65534 without supplementary groups.
    fn genkey_as_nobody(&self) -> Output {
        run(&[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            self.path(),
            "genkey",
        ])
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Exit status 2 and one line naming `cause` and the fix; nothing on stdout (no key made).
fn assert_refused(out: &Output, cause: &str, fix: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty(), "{:?}", out.stdout);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("ringtun: error: started {cause} by uid 65534")),
        "{err}"
    );
    assert!(err.contains(fix), "{err}");
    assert!(
        err.contains("start ringtun as root, with sudo, or from its systemd unit"),
        "{err}"
    );
}

/// `setcap cap_net_admin+ep` on the binary would hand CAP_NET_ADMIN to every local user: such a
/// copy refuses to run for them, even to make a key.
#[test]
#[ignore = "needs root"]
fn a_file_capability_copy_refuses_other_users() {
    require_root();
    let copy = Copy::new("fcaps");
    run_ok(&["setcap", "cap_net_admin+ep", copy.path()]);
    let caps = run_ok(&["getcap", copy.path()]);
    assert!(caps.contains("cap_net_admin=ep"), "{caps}");
    assert_refused(
        &copy.genkey_as_nobody(),
        "with file capabilities",
        "setcap -r",
    );
}

/// A set-uid root copy refuses other users; root itself runs it.
#[test]
#[ignore = "needs root"]
fn a_set_uid_copy_refuses_other_users_but_runs_for_root() {
    require_root();
    let copy = Copy::new("setuid");
    fs::set_permissions(&copy.bin, fs::Permissions::from_mode(0o4755)).unwrap();
    assert_refused(&copy.genkey_as_nobody(), "set-uid or set-gid", "chmod u-s");
    let out = run(&[copy.path(), "genkey"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 45, "one key line");
}
