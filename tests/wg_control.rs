//! ringtun under the stock `wg` and `wg-quick`: every run serves `/var/run/wireguard/IFNAME.sock`.
//!
//! - A configuration-file server (`ringtun -c`) with ringtun clients: `wg show`, `wg show all
//!   dump`, `wg showconf` (the file's settings back, and `wg syncconf` of them changes nothing),
//!   and `ringtun show` / `--json` against the same state.
//! - `wg set` on the running server: a new client gets through once added, a removed one no
//!   longer does, AllowedIPs changes take effect, `wg syncconf` goes back to the file; through
//!   all of it the first client's session is untouched (same handshake, pings answered).
//! - `ringtun -f IFNAME`: a bare interface configured with `wg setconf` and `ip`, then a new
//!   listen port and fwmark at run time; deleting the interface ends it and its socket.
//! - `ringtun IFNAME` in the background: the command returns at once (with no pipe of the caller
//!   left open), the daemon runs in a session of its own, a second one for the name is refused,
//!   and `ip link del` ends it.
//! - `wg-quick up` / `down` with `WG_QUICK_USERSPACE_IMPLEMENTATION=ringtun`.
//!
//! The control-socket directory is shared by every network namespace, so the interfaces here
//! have names unique on the machine (`WgNet`'s `rtw<pid>-<k>`), and ringtun is started with
//! `Ringtun::spawn_with_control`. Everything needs root: `sudo ./scripts/test.sh`.

pub mod common;
mod wg_peer;

use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use wg_peer::config::write_secret_file;
use wg_peer::*;

/// How long a daemon may take to start, stop, or answer.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// `wg ARGS` in namespace `ns` (bounded: a daemon that stopped answering must not hang the test).
fn wg_out(ns: &str, args: &[&str]) -> Output {
    let wg = wg_peer::tools::wg();
    let mut full = vec!["timeout", "10", wg.to_str().expect("utf-8 path")];
    full.extend_from_slice(args);
    ns_run(ns, &full)
}

/// `wg ARGS` that must succeed; its stdout.
fn wg(ns: &str, args: &[&str]) -> String {
    let out = wg_out(ns, args);
    assert!(
        out.status.success(),
        "wg {args:?} in {ns}: {}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ringtun ARGS` (as root, any namespace: the sockets are the machine's): status, stdout, stderr.
fn ringtun(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(ringtun_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ringtun");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `ifname`'s lines of `wg show all dump` (which lists every interface: other tests' too).
fn dump_of(ns: &str, ifname: &str) -> Dump {
    let out = wg_out(ns, &["show", "all", "dump"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let prefix = format!("{ifname}\t");
    let mine: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .collect();
    assert!(
        !mine.is_empty(),
        "{ifname} not in `wg show all dump`: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wg_peer::dump::parse_dump(&mine.join("\n")).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// ringtun on `site` running `spec` as a configuration file, its control socket reachable.
fn start_config_file(star: &Star, site: &Site, name: &str, spec: &InterfaceSpec) -> Ringtun {
    let conf = star.write_wg_quick(&format!("{name}.conf"), spec);
    let mut r = Ringtun::spawn_with_control(
        &site.ns,
        star.net.file(&format!("ringtun-{name}.log")),
        name,
        &ringtun_bin(),
        &["-c", conf.to_str().expect("utf-8 path"), "-i", &site.ifname],
    );
    r.expect_log("listening on", START_TIMEOUT);
    assert!(
        uapi::socket_path(&site.ifname).exists(),
        "no control socket for {}",
        site.ifname
    );
    r
}

/// The settings of a `wg showconf` / `wg setconf` text, as comparable lines: `[Interface]` keys,
/// then per peer its public key and the other keys, `Endpoint` left out (a server learns it).
fn settings(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') || line.is_empty() {
            continue;
        }
        let (key, value) = line.split_once('=').expect("key = value");
        let (key, value) = (key.trim(), value.trim());
        if key == "PublicKey" {
            section = value.to_owned();
        }
        if key == "Endpoint" {
            continue;
        }
        let value = if key == "AllowedIPs" {
            let mut ips: Vec<&str> = value.split(',').map(str::trim).collect();
            ips.sort_unstable();
            ips.join(",")
        } else {
            value.to_owned()
        };
        out.insert(format!("{section}|{key}={value}"));
    }
    out
}

/// Every secret of `star`, for checking that none is printed.
fn secrets(star: &Star) -> Vec<String> {
    std::iter::once(star.server_keys.private.base64().to_owned())
        .chain(
            star.client_keys
                .iter()
                .map(|k| k.private.base64().to_owned()),
        )
        .chain(star.psks.iter().map(|k| k.base64().to_owned()))
        .collect()
}

/// The process `pid` is gone (or a zombie nobody reaped yet: it has exited).
fn exited(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

// ---------------------------------------------------------------------------------------------
// A configuration-file server, read
// ---------------------------------------------------------------------------------------------

#[test]
#[ignore = "needs root"]
fn wg_show_dump_showconf_and_ringtun_show_read_a_config_file_server() {
    let star = Star::new(2);
    let (s, c0, c1) = (&star.net.server, &star.net.clients[0], &star.net.clients[1]);
    let mut server = start_config_file(&star, s, "server", &star.server_spec());
    let _clients: Vec<Ringtun> = (0..2)
        .map(|i| {
            start_config_file(
                &star,
                &star.net.clients[i],
                &format!("client{i}"),
                &star.client_spec(i),
            )
        })
        .collect();
    establish(c0, s);
    establish(c1, s);
    assert_ping_both_ways(c0, s, 2);

    // wg show IFNAME: the interface and both peers, as for any WireGuard.
    let shown = wg(&s.ns, &["show", &s.ifname]);
    for line in [
        format!("interface: {}", s.ifname),
        format!("  public key: {}", star.server_keys.public),
        "  private key: (hidden)".to_owned(),
        format!("  listening port: {SERVER_PORT}"),
        format!("peer: {}", star.client_keys[0].public),
        format!("peer: {}", star.client_keys[1].public),
        "  preshared key: (hidden)".to_owned(),
        format!("  endpoint: {}", star.net.client_endpoint(0, CLIENT_PORT)),
        format!("  allowed ips: {}", c0.tunnel_host()),
    ] {
        assert!(shown.lines().any(|l| l == line), "no {line:?} in:\n{shown}");
    }
    assert_eq!(shown.matches("latest handshake: ").count(), 2, "{shown}");
    assert_eq!(shown.matches("transfer: ").count(), 2, "{shown}");

    // wg show all dump: keys, endpoints, AllowedIPs, a handshake and traffic per peer.
    let dump = dump_of(&s.ns, &s.ifname);
    assert_eq!(
        dump.public_key.as_deref(),
        Some(star.server_keys.public.as_str())
    );
    assert_eq!((dump.listen_port, dump.fwmark), (SERVER_PORT, None));
    assert_eq!(dump.peers.len(), 2);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (i, site) in [c0, c1].into_iter().enumerate() {
        let p = dump
            .peer(&star.client_keys[i].public)
            .unwrap_or_else(|| panic!("client {i} not in {dump:?}"));
        assert!(p.has_preshared_key);
        assert_eq!(p.endpoint, Some(star.net.client_endpoint(i, CLIENT_PORT)));
        assert_eq!(p.allowed_ips, [site.tunnel_host()]);
        assert!(
            p.latest_handshake > now - 60 && p.latest_handshake <= now + 1,
            "handshake at {} (now {now})",
            p.latest_handshake
        );
        assert!(p.transfer.rx > 0 && p.transfer.tx > 0, "{p:?}");
        assert_eq!(p.persistent_keepalive, None);
    }

    // wg showconf: the file's settings back; wg syncconf of them changes nothing.
    let conf = wg(&s.ns, &["showconf", &s.ifname]);
    assert_eq!(
        settings(&conf),
        settings(&star.server_spec().setconf_text()),
        "{conf}"
    );
    let shown_conf = star.net.file("shown.conf");
    write_secret_file(&shown_conf, &conf);
    wg(
        &s.ns,
        &["syncconf", &s.ifname, shown_conf.to_str().unwrap()],
    );
    let after = dump_of(&s.ns, &s.ifname);
    for (before, now) in dump.peers.iter().zip(&after.peers) {
        assert_eq!(
            before.latest_handshake, now.latest_handshake,
            "syncconf touched a session"
        );
    }
    assert_ping_both_ways(c1, s, 1);

    // ringtun show: wg show's lines (handshake ages aside, they tick) plus the drops line.
    let (code, text, err) = ringtun(&["show", &s.ifname]);
    assert_eq!(code, 0, "{err}");
    let wg_text = wg(&s.ns, &["show", &s.ifname]);
    let comparable = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with("  latest handshake: ") && !l.starts_with("  dropped: "))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        comparable(&text),
        comparable(&wg_text),
        "ringtun show:\n{text}\nwg show:\n{wg_text}"
    );
    assert_eq!(text.matches("latest handshake: ").count(), 2, "{text}");

    // --json, with no name: every interface; ours in it, with what the dump says.
    let (code, json, err) = ringtun(&["show", "--json"]);
    assert_eq!(code, 0, "{err}");
    let json = Json::parse(json.trim()).unwrap_or_else(|e| panic!("{e}: {json}"));
    let Some(Json::Arr(interfaces)) = json.get("interfaces") else {
        panic!("no interfaces array: {json:?}");
    };
    let me = interfaces
        .iter()
        .find(|i| i.get("name") == Some(&Json::Str(s.ifname.clone())))
        .unwrap_or_else(|| panic!("{} not in {json:?}", s.ifname));
    assert_eq!(
        me.get("public_key"),
        Some(&Json::Str(star.server_keys.public.clone()))
    );
    assert_eq!(
        me.get("listen_port").and_then(Json::as_f64),
        Some(f64::from(SERVER_PORT))
    );
    let drops = me.get("drops").expect("drops");
    assert!(
        drops.get("auth-failed").and_then(Json::as_f64).is_some(),
        "{drops:?}"
    );
    let Some(Json::Arr(peers)) = me.get("peers") else {
        panic!("no peers: {me:?}");
    };
    assert_eq!(peers.len(), 2);
    for p in peers {
        let Some(Json::Str(key)) = p.get("public_key") else {
            panic!("{p:?}")
        };
        let d = after
            .peer(key)
            .unwrap_or_else(|| panic!("{key} not in the dump"));
        assert_eq!(p.get("preshared_key"), Some(&Json::Bool(true)));
        assert_eq!(
            p.get("endpoint"),
            Some(&Json::Str(d.endpoint.unwrap().to_string()))
        );
        assert_eq!(
            p.get("allowed_ips"),
            Some(&Json::Arr(vec![Json::Str(d.allowed_ips[0].clone())]))
        );
        assert_eq!(
            p.get("latest_handshake").and_then(Json::as_f64),
            Some(d.latest_handshake as f64)
        );
        let rx = p.get("rx_bytes").and_then(Json::as_f64).unwrap();
        assert!(rx >= d.transfer.rx as f64, "{rx} < {}", d.transfer.rx);
    }
    for secret in secrets(&star) {
        assert!(!text.contains(&secret) && !format!("{json:?}").contains(&secret));
        assert!(!server.log().contains(&secret[..12]), "{}", server.log());
    }
    server.assert_running();
}

// ---------------------------------------------------------------------------------------------
// A configuration-file server, changed
// ---------------------------------------------------------------------------------------------

#[test]
#[ignore = "needs root"]
fn wg_set_and_syncconf_change_peers_live_and_leave_other_sessions_alone() {
    let star = Star::new(3);
    let (s, c0, c1, c2) = (
        &star.net.server,
        &star.net.clients[0],
        &star.net.clients[1],
        &star.net.clients[2],
    );
    // The server starts with clients 0 and 1; client 2 is unknown to it.
    let mut file_spec = star.server_spec();
    file_spec.peers.truncate(2);
    let mut server = start_config_file(&star, s, "server", &file_spec);
    let _clients: Vec<Ringtun> = (0..3)
        .map(|i| {
            start_config_file(
                &star,
                &star.net.clients[i],
                &format!("client{i}"),
                &star.client_spec(i),
            )
        })
        .collect();
    establish(c0, s);
    establish(c1, s);
    let c0_key = star.client_keys[0].public.clone();
    let handshake = dump_of(&s.ns, &s.ifname)
        .peer(&c0_key)
        .unwrap()
        .latest_handshake;
    let c0_untouched = || {
        let now = dump_of(&s.ns, &s.ifname);
        assert_eq!(
            now.peer(&c0_key).expect("client 0").latest_handshake,
            handshake,
            "client 0's session was renewed: {now:?}"
        );
        assert_ping_both_ways(c0, s, 2);
    };
    assert_no_reply(c2, s, 2);

    // Added live: client 2 gets through (at its next handshake attempt).
    let psk = star.net.file("psk2");
    write_secret_file(&psk, star.psks[2].base64());
    wg(
        &s.ns,
        &[
            "set",
            &s.ifname,
            "peer",
            &star.client_keys[2].public,
            "preshared-key",
            psk.to_str().unwrap(),
            "allowed-ips",
            &c2.tunnel_host(),
        ],
    );
    establish(c2, s);
    assert_ping_both_ways(c2, s, 2);
    c0_untouched();
    server.expect_log(
        "configuration changed (control socket): 1 peer added",
        START_TIMEOUT,
    );

    // Removed live: client 1's pings go unanswered.
    wg(
        &s.ns,
        &[
            "set",
            &s.ifname,
            "peer",
            &star.client_keys[1].public,
            "remove",
        ],
    );
    assert_no_reply(c1, s, 2);
    assert!(
        dump_of(&s.ns, &s.ifname)
            .peer(&star.client_keys[1].public)
            .is_none()
    );
    c0_untouched();

    // AllowedIPs: an address that is not client 0's makes its packets foreign to the server
    // (dropped, counted); its own again and they pass, on the same session.
    let other = "10.77.0.99/32";
    wg(
        &s.ns,
        &["set", &s.ifname, "peer", &c0_key, "allowed-ips", other],
    );
    assert_eq!(
        dump_of(&s.ns, &s.ifname).peer(&c0_key).unwrap().allowed_ips,
        [other]
    );
    assert_no_reply(c0, s, 2);
    let (_, json, _) = ringtun(&["show", &s.ifname, "--json"]);
    let json = Json::parse(json.trim()).unwrap();
    let Some(Json::Arr(interfaces)) = json.get("interfaces") else {
        panic!("{json:?}");
    };
    let not_allowed = interfaces[0]
        .get("drops")
        .and_then(|d| d.get("source-not-allowed"))
        .and_then(Json::as_f64)
        .unwrap_or(0.0);
    assert!(not_allowed >= 2.0, "{json:?}");
    let both = format!("{},10.99.0.0/24", c0.tunnel_host());
    wg(
        &s.ns,
        &["set", &s.ifname, "peer", &c0_key, "allowed-ips", &both],
    );
    assert_eq!(
        dump_of(&s.ns, &s.ifname).peer(&c0_key).unwrap().allowed_ips,
        [c0.tunnel_host(), "10.99.0.0/24".to_owned()]
    );
    c0_untouched();

    // syncconf back to the file: client 2 goes, client 1 is back, client 0 is left as it was.
    let setconf = star.net.file("server.setconf");
    write_secret_file(&setconf, &file_spec.setconf_text());
    wg(&s.ns, &["syncconf", &s.ifname, setconf.to_str().unwrap()]);
    let dump = dump_of(&s.ns, &s.ifname);
    assert!(dump.peer(&star.client_keys[2].public).is_none(), "{dump:?}");
    assert_eq!(
        dump.peer(&star.client_keys[1].public)
            .map(|p| p.allowed_ips.clone()),
        Some(vec![c1.tunnel_host()])
    );
    assert_eq!(dump.peer(&c0_key).unwrap().allowed_ips, [c0.tunnel_host()]);
    c0_untouched();
    assert_no_reply(c2, s, 2);

    // A request that cannot be applied whole changes nothing: here its port is taken, so the
    // peer removal in the same request does not happen either.
    let holder = in_netns(&s.ns, || {
        std::net::UdpSocket::bind("[::]:51999").expect("bind")
    });
    let out = wg_out(
        &s.ns,
        &[
            "set",
            &s.ifname,
            "listen-port",
            "51999",
            "peer",
            &c0_key,
            "remove",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Address already in use"), "{err}");
    drop(holder);
    assert_eq!(dump_of(&s.ns, &s.ifname).listen_port, SERVER_PORT);
    c0_untouched();
    server.expect_log(
        "set refused: UDP port 51999 is already in use",
        START_TIMEOUT,
    );
    server.assert_running();
}

// ---------------------------------------------------------------------------------------------
// ringtun IFNAME
// ---------------------------------------------------------------------------------------------

/// `ringtun -f IFNAME` as wg-quick would drive it, by hand: `wg setconf` and `ip`, then a
/// tunnel to a ringtun client; a new listen port and fwmark at run time; `ip link del` ends it.
#[test]
#[ignore = "needs root"]
fn interface_mode_in_the_foreground_is_configured_by_wg_and_ends_with_its_interface() {
    let star = Star::new(1);
    let (s, c) = (&star.net.server, &star.net.clients[0]);
    let mut bare = Ringtun::spawn_with_control(
        &s.ns,
        star.net.file("bare.log"),
        "bare",
        &ringtun_bin(),
        &["-f", &s.ifname],
    );
    bare.expect_log("interface created", START_TIMEOUT);
    // Bare: no key, no peers, a random port, no address, down.
    let dump = dump_of(&s.ns, &s.ifname);
    assert_eq!((dump.public_key, dump.peers.len()), (None, 0));
    assert_ne!(dump.listen_port, 0);
    let link = ns_run_ok(&s.ns, &["ip", "addr", "show", "dev", &s.ifname]);
    assert!(
        link.contains("mtu 1420") && !link.contains("inet ") && !link.contains(",UP"),
        "{link}"
    );

    let spec = star.server_spec();
    let conf = star.net.file("server.setconf");
    write_secret_file(&conf, &spec.setconf_text());
    wg(&s.ns, &["setconf", &s.ifname, conf.to_str().unwrap()]);
    ns_run_ok(
        &s.ns,
        &["ip", "addr", "add", &s.tunnel_cidr(), "dev", &s.ifname],
    );
    ns_run_ok(&s.ns, &["ip", "link", "set", &s.ifname, "up"]);
    let dump = dump_of(&s.ns, &s.ifname);
    assert_eq!(
        dump.listen_port, SERVER_PORT,
        "setconf's ListenPort rebinds"
    );
    assert_eq!(
        dump.public_key.as_deref(),
        Some(star.server_keys.public.as_str())
    );
    let _client = start_config_file(&star, c, "client", &star.client_spec(0));
    establish(c, s);
    assert_ping_both_ways(c, s, 3);

    // A new port: the client follows with `wg set` on its own (configuration-file) ringtun.
    wg(
        &s.ns,
        &["set", &s.ifname, "listen-port", "51830", "fwmark", "0x1234"],
    );
    let sockets = ns_run_ok(&s.ns, &["ss", "-uanpe"]);
    let line = sockets
        .lines()
        .find(|l| l.contains("ringtun"))
        .unwrap_or_else(|| panic!("no ringtun socket: {sockets}"));
    assert!(
        line.contains(":51830 ") && line.contains("fwmark:0x1234"),
        "{line}"
    );
    assert!(!sockets.contains(&format!(":{SERVER_PORT} ")), "{sockets}");
    let dump = dump_of(&s.ns, &s.ifname);
    assert_eq!((dump.listen_port, dump.fwmark), (51830, Some(0x1234)));
    let moved = star.net.server_endpoint(0, 51830).to_string();
    wg(
        &c.ns,
        &[
            "set",
            &c.ifname,
            "peer",
            &star.server_keys.public,
            "endpoint",
            &moved,
        ],
    );
    assert_ping_both_ways(c, s, 3);

    ns_run_ok(&s.ns, &["ip", "link", "del", &s.ifname]);
    assert!(
        wait_until(START_TIMEOUT, || bare.exited().is_some()),
        "still running after ip link del"
    );
    let status = bare.exited().unwrap();
    assert!(status.success(), "{status}:\n{}", bare.log());
    assert!(
        bare.log_contains(&format!("{} was deleted: exiting", s.ifname)),
        "{}",
        bare.log()
    );
    assert!(!uapi::socket_path(&s.ifname).exists());
}

/// `ringtun IFNAME` returns at once, leaving a daemon in a session of its own that holds no pipe
/// of its caller; a second one for the same name is refused with one line (from any namespace:
/// the socket directory is the machine's); `ip link del` ends the daemon and its socket.
#[test]
#[ignore = "needs root"]
fn interface_mode_goes_to_the_background_and_owns_its_name() {
    let star = Star::new(1);
    let (s, c) = (&star.net.server, &star.net.clients[0]);
    // `output()` waits for the end of stdout and stderr: it returns only if the daemon kept
    // neither.
    let start = std::time::Instant::now();
    let out = ns_run(&s.ns, &[&ringtun_bin(), &s.ifname]);
    assert!(start.elapsed() < START_TIMEOUT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("interface created"), "{stderr}");
    assert!(uapi::socket_path(&s.ifname).exists());
    assert!(link_exists(&s.ns, &s.ifname));
    let pids = ns_run_ok(&s.ns, &["ip", "netns", "pids", &s.ns]);
    let daemon: u32 = pids
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .find(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "ringtun")
        })
        .unwrap_or_else(|| panic!("no ringtun process in {}: {pids}", s.ns));
    // setsid: the daemon leads a session of its own (stat fields 6 and 5: session, group).
    let stat = fs::read_to_string(format!("/proc/{daemon}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    assert_eq!(fields[3], daemon.to_string(), "session of {stat}");
    // Its stdio is /dev/null.
    for fd in 0..3 {
        let target = fs::read_link(format!("/proc/{daemon}/fd/{fd}")).unwrap();
        assert_eq!(target, Path::new("/dev/null"), "fd {fd}");
    }
    wg(&s.ns, &["show", &s.ifname]);

    for ns in [&s.ns, &c.ns] {
        let out = ns_run(ns, &[&ringtun_bin(), "-f", &s.ifname]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("is in use: another process serves this interface"),
            "{stderr}"
        );
    }
    assert!(
        !link_exists(&c.ns, &s.ifname),
        "the refused one created an interface"
    );
    // ... and the config-file mode the same.
    let conf = star.write_wg_quick("other.conf", &star.client_spec(0));
    let out = ns_run(
        &c.ns,
        &[
            &ringtun_bin(),
            "-c",
            conf.to_str().unwrap(),
            "-i",
            &s.ifname,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!exited(daemon));

    ns_run_ok(&s.ns, &["ip", "link", "del", &s.ifname]);
    assert!(
        wait_until(START_TIMEOUT, || exited(daemon)),
        "the daemon outlived its interface"
    );
    assert!(wait_until(START_TIMEOUT, || !uapi::socket_path(&s.ifname).exists()));
}

// ---------------------------------------------------------------------------------------------
// wg-quick
// ---------------------------------------------------------------------------------------------

/// `wg-quick up` runs `ringtun IFNAME` (no kernel module here) and configures it with `wg
/// setconf` and `ip`: the addresses, MTU and a route for an AllowedIPs network appear, the tunnel
/// to a ringtun server works; `wg-quick down` deletes the interface, which ends ringtun, and the
/// routes and socket go with it.
#[test]
#[ignore = "needs root"]
fn wg_quick_up_and_down_with_ringtun() {
    let star = Star::new(1);
    let (s, c) = (&star.net.server, &star.net.clients[0]);
    let mut server_spec = star.server_spec();
    server_spec.peers[0].allowed_ips.push("10.88.0.0/16".into());
    let _server = start_config_file(&star, s, "server", &server_spec);
    let mut spec = star.client_spec(0);
    spec.peers[0].allowed_ips.push("10.66.0.0/16".into());
    spec.addresses.push("fd77::2/64".into());
    // wg-quick names the interface after the file.
    let conf = star.net.file(&format!("{}.conf", c.ifname));
    spec.write_wg_quick(&conf);
    let wg_quick = |action: &str| -> Output {
        let wg_quick = wg_peer::tools::wg_quick();
        let bin = ringtun_bin();
        let var = format!("WG_QUICK_USERSPACE_IMPLEMENTATION={bin}");
        ns_run(
            &c.ns,
            &[
                "env",
                &var,
                wg_quick.to_str().unwrap(),
                action,
                conf.to_str().unwrap(),
            ],
        )
    };

    let up = wg_quick("up");
    let up_err = String::from_utf8_lossy(&up.stderr);
    assert!(up.status.success(), "wg-quick up: {up_err}");
    assert!(
        up_err.contains(&format!("[#] {} {}", ringtun_bin(), c.ifname)),
        "{up_err}"
    );
    let addr = ns_run_ok(&c.ns, &["ip", "addr", "show", "dev", &c.ifname]);
    assert!(
        addr.contains(&format!("inet {}", c.tunnel_cidr())),
        "{addr}"
    );
    assert!(addr.contains("inet6 fd77::2/64"), "{addr}");
    assert!(
        addr.contains(&format!("mtu {TUNNEL_MTU}")) && addr.contains(",UP"),
        "{addr}"
    );
    let routes = ns_run_ok(&c.ns, &["ip", "-4", "route", "show", "dev", &c.ifname]);
    assert!(routes.contains("10.66.0.0/16"), "{routes}");
    establish(c, s);
    assert_ping_both_ways(c, s, 3);
    let dump = dump_of(&c.ns, &c.ifname);
    assert!(
        dump.peer(&star.server_keys.public)
            .unwrap()
            .latest_handshake
            > 0
    );
    let (code, shown, err) = ringtun(&["show", &c.ifname]);
    assert_eq!(code, 0, "{err}");
    assert!(shown.contains("latest handshake: "), "{shown}");

    let down = wg_quick("down");
    assert!(
        down.status.success(),
        "wg-quick down: {}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert!(!link_exists(&c.ns, &c.ifname));
    let routes = ns_run_ok(&c.ns, &["ip", "-4", "route"]);
    assert!(!routes.contains("10.66.0.0/16"), "{routes}");
    assert!(
        wait_until(START_TIMEOUT, || !uapi::socket_path(&c.ifname).exists()),
        "the socket outlived wg-quick down"
    );
    let pids = ns_run_ok(&c.ns, &["ip", "netns", "pids", &c.ns]);
    assert!(
        wait_until(START_TIMEOUT, || pids
            .split_whitespace()
            .all(|p| exited(p.parse().unwrap()))),
        "ringtun still runs after wg-quick down: {pids}"
    );
}
