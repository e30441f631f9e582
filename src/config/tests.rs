//! Parser, writer and loader tests: real-world files, wg's leniencies, every error with its line.

use super::error::ConfigError;
use super::wg_quick::WgQuickKey;
use super::*;
use crate::core::ip_prefix::IpPrefix;
use crate::core::keys::{PresharedKey, PrivateKey, PublicKey};

// Keys from the wg(8) man page.
const PRIVATE: &str = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const PEER1: &str = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
const PEER2: &str = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
const PEER3: &str = "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=";
const PSK: &str = "6EtabScXwQA6E7QxVwNT26ypFGzxUMX4V1aA/rpSAno=";

fn ok(text: &str) -> Config {
    parse(text.as_bytes(), "wg0.conf", &Limits::default()).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn err(text: &str) -> ConfigError {
    match parse(text.as_bytes(), "wg0.conf", &Limits::default()) {
        Ok(c) => panic!("accepted: {c:?}\n{text}"),
        Err(e) => e,
    }
}

fn prefixes(list: &[&str]) -> Vec<IpPrefix> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

fn public(s: &str) -> PublicKey {
    PublicKey::from_base64(s).unwrap()
}

/// The example of wg(8), "CONFIGURATION FILE FORMAT EXAMPLE", as printed there.
#[test]
fn wg_man_page_example() {
    let text = format!(
        "[Interface]
PrivateKey = {PRIVATE}
ListenPort = 51820

[Peer]
PublicKey = {PEER1}
Endpoint = 192.95.5.67:1234
AllowedIPs = 10.192.122.3/32, 10.192.124.1/24

[Peer]
PublicKey = {PEER2}
Endpoint = [2607:5300:60:6b0::c05f:543]:2468
AllowedIPs = 10.192.122.4/32, 192.168.0.0/16

[Peer]
PublicKey = {PEER3}
Endpoint = test.wireguard.com:18981
AllowedIPs = 10.10.10.230/32
"
    );
    let c = ok(&text);
    assert_eq!(
        c.interface.private_key,
        Some(PrivateKey::from_base64(PRIVATE).unwrap())
    );
    assert_eq!(c.interface.listen_port, Some(51820));
    assert_eq!(c.interface.fwmark, 0);
    assert_eq!(c.peers.len(), 3);
    assert_eq!(c.peers[0].public_key, public(PEER1));
    assert_eq!(
        c.peers[0].endpoint.as_ref().unwrap().to_string(),
        "192.95.5.67:1234"
    );
    // Host bits are kept as written: the routing table clears them.
    assert_eq!(
        c.peers[0].allowed_ips,
        prefixes(&["10.192.122.3/32", "10.192.124.1/24"])
    );
    assert_eq!(
        c.peers[1].endpoint.as_ref().unwrap().socket_addr(),
        Some("[2607:5300:60:6b0::c05f:543]:2468".parse().unwrap())
    );
    assert_eq!(
        c.peers[2].endpoint,
        Some(Endpoint {
            host: EndpointHost::Name("test.wireguard.com".into()),
            port: 18981
        })
    );
    assert!(c.wg_quick_only.is_empty());
}

/// A typical wg-quick server file, as found on real hubs: comments everywhere, blank lines,
/// several peers with IPv4 and IPv6, Address over two lines, firewall hooks, a PSK.
const HUB: &str = "# /etc/wireguard/wg0.conf -- office hub
[Interface]
# the hub itself
Address = 10.8.0.1/24, fd42:42:42::1/64
Address = 192.168.77.1/24   # legacy range
ListenPort = 51820
PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
MTU = 1420
SaveConfig = false
PostUp = iptables -A FORWARD -i %i -j ACCEPT; iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE
PostDown = iptables -D FORWARD -i %i -j ACCEPT; iptables -t nat -D POSTROUTING -o eth0 -j MASQUERADE

### alice (laptop)
[Peer]
PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
PresharedKey = 6EtabScXwQA6E7QxVwNT26ypFGzxUMX4V1aA/rpSAno=
AllowedIPs = 10.8.0.2/32, fd42:42:42::2/128

### bob (phone, roams)
[Peer]
PublicKey = TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=
AllowedIPs = 10.8.0.3/32
AllowedIPs = fd42:42:42::3/128
PersistentKeepalive = 25

### branch office router: its LAN behind it
[Peer]
PublicKey = gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=
Endpoint = branch.example.net:51820
AllowedIPs = 10.8.0.4/32, 192.168.10.0/24, fd42:42:42::4/128, fd00:10::/48
PersistentKeepalive = off
";

#[test]
fn typical_wg_quick_hub_file() {
    let c = ok(HUB);
    let i = &c.interface;
    assert_eq!(
        i.addresses,
        prefixes(&["10.8.0.1/24", "fd42:42:42::1/64", "192.168.77.1/24"])
    );
    assert_eq!(i.listen_port, Some(51820));
    assert_eq!(i.mtu, Some(1420));
    assert_eq!(
        i.private_key.as_ref().unwrap().to_base64().as_str(),
        PRIVATE
    );
    assert_eq!(c.peers.len(), 3);
    let [alice, bob, branch] = &c.peers[..] else {
        unreachable!()
    };
    assert_eq!(alice.public_key, public(PEER1));
    assert_eq!(
        alice.preshared_key,
        Some(PresharedKey::from_base64(PSK).unwrap())
    );
    assert_eq!(
        alice.allowed_ips,
        prefixes(&["10.8.0.2/32", "fd42:42:42::2/128"])
    );
    assert_eq!(alice.endpoint, None);
    assert_eq!(alice.persistent_keepalive, 0);
    assert_eq!(bob.preshared_key, None);
    assert_eq!(
        bob.allowed_ips,
        prefixes(&["10.8.0.3/32", "fd42:42:42::3/128"])
    );
    assert_eq!(bob.persistent_keepalive, 25);
    assert_eq!(
        branch.endpoint.as_ref().unwrap().to_string(),
        "branch.example.net:51820"
    );
    assert_eq!(branch.allowed_ips.len(), 4);
    assert_eq!(branch.persistent_keepalive, 0);
    // The wg-quick keys ringtun leaves to wg-quick, with their lines.
    let found: Vec<(usize, WgQuickKey)> = c.wg_quick_only.iter().map(|s| (s.line, s.key)).collect();
    assert_eq!(
        found,
        [
            (9, WgQuickKey::SaveConfig),
            (10, WgQuickKey::PostUp),
            (11, WgQuickKey::PostDown)
        ]
    );
    assert_eq!(
        c.wg_quick_only[0].refusal("wg0.conf").to_string(),
        "wg0.conf:9: SaveConfig is a wg-quick setting: ringtun -c does not write the configuration \
         back; run this file with wg-quick (WG_QUICK_USERSPACE_IMPLEMENTATION=ringtun) or remove the line"
    );
}

#[test]
fn typical_client_file_with_dns_and_default_routes() {
    let text = format!(
        "[Interface]\r
PrivateKey = {PRIVATE}\r
Address = 10.8.0.2/32, fd42:42:42::2/128\r
DNS = 10.8.0.1, fd42:42:42::1, corp.example\r
\r
[Peer]\r
PublicKey = {PEER1}\r
PresharedKey = {PSK}\r
Endpoint = vpn.example.com:51820\r
AllowedIPs = 0.0.0.0/0, ::/0\r
PersistentKeepalive = 25\r
"
    );
    let c = ok(&text);
    assert_eq!(
        c.interface.addresses,
        prefixes(&["10.8.0.2/32", "fd42:42:42::2/128"])
    );
    assert_eq!(c.peers[0].allowed_ips, prefixes(&["0.0.0.0/0", "::/0"]));
    assert_eq!(c.peers[0].persistent_keepalive, 25);
    assert_eq!(c.wg_quick_only.len(), 1);
    assert_eq!(c.wg_quick_only[0].key, WgQuickKey::Dns);
    assert_eq!(c.wg_quick_only[0].line, 4);
    let msg = c.wg_quick_only[0].refusal("wg0.conf").to_string();
    assert!(msg.starts_with("wg0.conf:4: DNS is a wg-quick setting: ringtun -c does not set DNS;"));
}

/// wg removes every white space character from a line and compares keys without case.
#[test]
fn white_space_and_case_as_wg_accepts() {
    let text = format!(
        "  [ interface ]  \n\
         \tprivatekey\t=\t{PRIVATE}\n\
         LISTENPORT=51820\n\
         fwmark = 0x10\x0b\x0c\n\
         address = 10.0.0.1/24 fd00::1/64,10.0.1.1\n\
         \n\
         [PEER]\n\
         Public Key = {} {}\n\
         allowedips = 10.0.0.2 / 32 ,\tfd00::2/128\n\
         ENDPOINT = [ fd00::9 ] : 51820\n\
         persistentkeepalive = OFF\n",
        &PEER1[..20],
        &PEER1[20..]
    );
    let c = ok(&text);
    assert_eq!(c.interface.listen_port, Some(51820));
    assert_eq!(c.interface.fwmark, 16);
    assert_eq!(
        c.interface.addresses,
        prefixes(&["10.0.0.1/24", "fd00::1/64", "10.0.1.1/32"])
    );
    assert_eq!(c.peers[0].public_key, public(PEER1));
    assert_eq!(
        c.peers[0].allowed_ips,
        prefixes(&["10.0.0.2/32", "fd00::2/128"])
    );
    assert_eq!(
        c.peers[0].endpoint.as_ref().unwrap().to_string(),
        "[fd00::9]:51820"
    );
}

#[test]
fn comments_and_empty_files() {
    assert_eq!(ok(""), Config::default());
    assert_eq!(ok("\n\n# nothing\n   # still nothing\n"), Config::default());
    // A comment may hold anything, even bytes that are not UTF-8.
    let mut bytes = b"[Interface] # \xff\xfe\nListenPort = 1#2\n".to_vec();
    bytes.extend_from_slice(b"# caf\xe9\n");
    let c = parse(&bytes, "x", &Limits::default()).unwrap();
    assert_eq!(c.interface.listen_port, Some(1));
    // A peer-only file (wg addconf style) is fine; the interface keeps its defaults.
    let c = ok(&format!("[Peer]\nPublicKey = {PEER1}\n"));
    assert_eq!(c.interface, InterfaceConfig::default());
}

#[test]
fn numbers_as_wg_reads_them() {
    let fwmark = |v: &str| {
        parse(
            format!("[Interface]\nFwMark = {v}\n").as_bytes(),
            "x",
            &Limits::default(),
        )
        .map(|c| c.interface.fwmark)
        .ok()
    };
    assert_eq!(fwmark("off"), Some(0));
    assert_eq!(fwmark("Off"), Some(0));
    assert_eq!(fwmark("0"), Some(0));
    assert_eq!(fwmark("51820"), Some(51820));
    assert_eq!(fwmark("0xca6c"), Some(0xca6c));
    assert_eq!(fwmark("0xffffffff"), Some(u32::MAX));
    assert_eq!(fwmark("0x00000000ffffffff"), Some(u32::MAX));
    assert_eq!(fwmark("4294967295"), Some(u32::MAX));
    for bad in [
        "4294967296",
        "0x100000000",
        "0x",
        "0X10",
        "-1",
        "+1",
        "0xg",
        "ten",
        "1e3",
    ] {
        assert_eq!(fwmark(bad), None, "{bad}");
    }
    let keepalive = |v: &str| {
        parse(
            format!("[Peer]\nPublicKey={PEER1}\nPersistentKeepalive = {v}\n").as_bytes(),
            "x",
            &Limits::default(),
        )
        .map(|c| c.peers[0].persistent_keepalive)
        .ok()
    };
    assert_eq!(keepalive("off"), Some(0));
    assert_eq!(keepalive("0"), Some(0));
    assert_eq!(keepalive("25"), Some(25));
    assert_eq!(keepalive("65535"), Some(65535));
    for bad in ["65536", "-1", "25s", "on", "0x19"] {
        assert_eq!(keepalive(bad), None, "{bad}");
    }
    let port = |v: &str| {
        parse(
            format!("[Interface]\nListenPort = {v}\n").as_bytes(),
            "x",
            &Limits::default(),
        )
        .map(|c| c.interface.listen_port)
        .ok()
    };
    assert_eq!(port("0"), Some(Some(0)));
    assert_eq!(port("065535"), Some(Some(65535)));
    for bad in ["65536", "domain", "-1", "99999999999999999999999"] {
        assert_eq!(port(bad), None, "{bad}");
    }
    let mtu = |v: &str| {
        parse(
            format!("[Interface]\nMTU = {v}\n").as_bytes(),
            "x",
            &Limits::default(),
        )
        .map(|c| c.interface.mtu)
        .ok()
    };
    assert_eq!(mtu("1420"), Some(Some(1420)));
    assert_eq!(mtu("576"), Some(Some(576)));
    assert_eq!(mtu("575"), None);
    assert_eq!(mtu("65536"), None);
}

/// Each error: the line it is reported at and a piece of its message.
#[test]
fn errors_name_the_line_and_the_problem() {
    let iface = format!("[Interface]\nPrivateKey = {PRIVATE}\n");
    let cases: Vec<(String, usize, &str)> = vec![
        ("ListenPort = 1\n".into(), 1, "before any section"),
        (
            "[Interface]\n[Foo]\n".into(),
            2,
            "unknown section [Foo]: a WireGuard",
        ),
        (
            "[Interface]\n[Peer\n".into(),
            2,
            "a line starting with '[' is not a section header",
        ),
        (
            format!("[Interface] PrivateKey = {PRIVATE}\n"),
            1,
            "not a section header: [Interface] or [Peer], alone",
        ),
        (
            format!("[Interface]\nPrivateKey : {PRIVATE}\n"),
            2,
            "unknown key in [Interface] (not a key name",
        ),
        ("[Interface]\nhello\n".into(), 2, "not a section header"),
        (
            "[Interface]\nFoo = 1\n".into(),
            2,
            "unknown key Foo in [Interface]",
        ),
        (
            "[Interface]\nPrivateKeyFile = /k\n".into(),
            2,
            "unknown key",
        ),
        (
            "[Interface]\nPublicKey = x\n".into(),
            2,
            "PublicKey belongs in a [Peer] section",
        ),
        (
            "[Peer]\nListenPort = 1\n".into(),
            2,
            "ListenPort belongs in a [Interface] section",
        ),
        (
            "[Peer]\nDNS = 1.1.1.1\n".into(),
            2,
            "DNS belongs in a [Interface] section",
        ),
        (
            "[Interface]\nListenPort =\n".into(),
            2,
            "ListenPort has no value",
        ),
        (
            "[Interface]\nAddress = ,\n".into(),
            2,
            "Address has no value",
        ),
        (
            format!("{iface}ListenPort = 1\nListenPort = 2\n"),
            4,
            "second time in this section (first at line 3)",
        ),
        (
            format!("{iface}PrivateKey = {PRIVATE}\n"),
            3,
            "PrivateKey given a second time",
        ),
        (
            format!("{iface}\n[Interface]\n"),
            4,
            "a second [Interface] section (the first is at line 1)",
        ),
        (
            "[Interface]\nPrivateKey = abc\n".into(),
            2,
            "PrivateKey: not a key: 3 characters",
        ),
        (
            format!("[Peer]\nPublicKey = {}\n", PEER1.replacen('T', "_", 1)),
            2,
            "PublicKey: not a key: not base64",
        ),
        (
            format!(
                "[Peer]\nPublicKey = {PEER1}\nPresharedKey = {}\n",
                &PSK[1..]
            ),
            3,
            "PresharedKey: not a key",
        ),
        (
            "[Interface]\nListenPort = 70000\n".into(),
            2,
            "ListenPort \"70000\": not a port number",
        ),
        (
            "[Interface]\nFwMark = on\n".into(),
            2,
            "FwMark \"on\": neither off nor a number",
        ),
        (
            "[Interface]\nMTU = 100\n".into(),
            2,
            "MTU \"100\": not a number from 576",
        ),
        (
            "[Interface]\nAddress = 10.0.0.1/33\n".into(),
            2,
            "Address entry \"10.0.0.1/33\": prefix length",
        ),
        (
            "[Interface]\nAddress = 10.0.0.300\n".into(),
            2,
            "Address entry \"10.0.0.300\": not an IPv4 or IPv6 address",
        ),
        (
            format!("[Peer]\nPublicKey={PEER1}\nAllowedIPs = 10.0.0.0/8,\n"),
            3,
            "AllowedIPs has an empty entry",
        ),
        (
            format!("[Peer]\nPublicKey={PEER1}\nAllowedIPs = 10.0.0.0/8,,fd00::/8\n"),
            3,
            "empty entry",
        ),
        (
            format!("[Peer]\nPublicKey={PEER1}\nAllowedIPs = +10.0.0.0/8\n"),
            3,
            "+/- entries are for `wg set`",
        ),
        (
            format!("[Peer]\nPublicKey={PEER1}\nAllowedIPs = -10.0.0.0/8\n"),
            3,
            "+/- entries",
        ),
        (
            format!("[Peer]\nPublicKey={PEER1}\nAllowedIPs = host.example/32\n"),
            3,
            "AllowedIPs entry \"host.example/32\"",
        ),
        (
            format!("[Peer]\nPublicKey={PEER1}\nEndpoint = 1.2.3.4\n"),
            3,
            "Endpoint \"1.2.3.4\": no ':' and port",
        ),
        (
            format!("[Peer]\nPublicKey={PEER1}\nEndpoint = [::1:5\n"),
            3,
            "no closing ']'",
        ),
        (
            format!("[Peer]\nPublicKey={PEER1}\nPersistentKeepalive = 1 min\n"),
            3,
            "PersistentKeepalive \"1min\"",
        ),
        (
            format!("{iface}\n[Peer]\nAllowedIPs = 10.0.0.1/32\n"),
            4,
            "this [Peer] section has no PublicKey",
        ),
        (
            format!(
                "[Peer]\nPublicKey={PEER1}\n[Peer]\nPublicKey={PEER2}\n[Peer]\n# again\nPublicKey={PEER1}\n"
            ),
            5,
            "also the one of the [Peer] at line 1",
        ),
        (
            "[Interface]\nListenPort = 1\u{a0}\n".into(),
            2,
            "ListenPort \"1\\u{a0}\"",
        ),
        (
            "[Interface]\nListenPort = \u{1b}[31m\n".into(),
            2,
            "\"\\u{1b}[31m\"",
        ),
    ];
    for (text, line, part) in cases {
        let e = err(&text);
        let msg = e.to_string();
        assert_eq!(e.line, line, "{msg}\n{text}");
        assert!(msg.starts_with(&format!("wg0.conf:{line}: ")), "{msg}");
        assert!(msg.contains(part), "{part:?} not in {msg:?}\n{text}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}

#[test]
fn not_utf8_outside_a_comment() {
    let e = parse(
        b"[Interface]\nListenPort = \xff\n",
        "wg0.conf",
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "wg0.conf:2: not UTF-8 text");
}

#[test]
fn secrets_never_in_errors_or_debug() {
    for text in [
        format!("[Interface] PrivateKey = {PRIVATE}\n"),
        format!("[Interface\nPrivateKey = {PRIVATE}\n"),
        format!("[Peer]\nPrivateKey = {PRIVATE}\n"),
        format!("[Interface]\nPrivateKey : {PRIVATE}\n"),
        format!("[Interface]\nPrivateKy = {PRIVATE}\n"),
        format!("[Interface]\nPrivateKey = {PRIVATE}{PRIVATE}\n"),
    ] {
        let msg = err(&text).to_string();
        assert!(!msg.contains(&PRIVATE[..8]), "{msg}");
    }
    let almost = &PRIVATE[..43];
    let msg = err(&format!("[Interface]\nPrivateKey = {almost}\n")).to_string();
    assert!(!msg.contains(&almost[..8]), "{msg}");
    let msg = err(&format!("[Interface]\nPrivateKey = {almost}*\n")).to_string();
    assert!(!msg.contains(&almost[..8]), "{msg}");
    let c = ok(HUB);
    let debug = format!("{c:?}");
    assert!(!debug.contains(&PRIVATE[..8]), "{debug}");
    assert!(!debug.contains(&PSK[..8]), "{debug}");
    assert!(debug.contains("PrivateKey(<redacted>)"));
    assert!(debug.contains(PEER1), "public keys may show");
}

#[test]
fn bounded_size_and_peer_count() {
    let limits = Limits {
        max_bytes: 100,
        max_peers: 2,
    };
    let e = parse(&[b'#'; 101], "big.conf", &limits).unwrap_err();
    assert_eq!(e.line, 0);
    assert!(
        e.to_string().starts_with("big.conf: larger than 100 bytes"),
        "{e}"
    );
    assert!(parse(&[b'#'; 100], "ok.conf", &limits).is_ok());

    let three = format!(
        "[Peer]\nPublicKey={PEER1}\n[Peer]\nPublicKey={PEER2}\n[Peer]\nPublicKey={PEER3}\n"
    );
    let limits = Limits {
        max_bytes: 1 << 20,
        max_peers: 2,
    };
    let e = parse(three.as_bytes(), "wg0.conf", &limits).unwrap_err();
    assert_eq!(e.line, 5);
    assert!(e.to_string().contains("more than 2 [Peer] sections"), "{e}");
}

#[test]
fn written_text_is_showconf_layout_and_parses_back() {
    let c = ok(HUB);
    let text = to_text(&c);
    let expected = format!(
        "[Interface]
ListenPort = 51820
PrivateKey = {PRIVATE}
Address = 10.8.0.1/24, fd42:42:42::1/64, 192.168.77.1/24
MTU = 1420

[Peer]
PublicKey = {PEER1}
PresharedKey = {PSK}
AllowedIPs = 10.8.0.2/32, fd42:42:42::2/128

[Peer]
PublicKey = {PEER2}
AllowedIPs = 10.8.0.3/32, fd42:42:42::3/128
PersistentKeepalive = 25

[Peer]
PublicKey = {PEER3}
AllowedIPs = 10.8.0.4/32, 192.168.10.0/24, fd42:42:42::4/128, fd00:10::/48
Endpoint = branch.example.net:51820
"
    );
    assert_eq!(text.as_str(), expected);
    let back = ok(&text);
    assert_eq!(back.interface, c.interface);
    assert_eq!(back.peers, c.peers);
    assert!(
        back.wg_quick_only.is_empty(),
        "wg-quick-only keys are not written"
    );

    let mut c = Config::default();
    c.interface.fwmark = 0xca6c;
    c.interface.listen_port = Some(0);
    let mut peer = PeerConfig::new(public(PEER2));
    peer.endpoint = Some("[fe80::1%eth0]:51820".parse().unwrap());
    c.peers.push(peer);
    let text = to_text(&c);
    assert!(text.contains("FwMark = 0xca6c\n"), "{}", text.as_str());
    assert_eq!(ok(&text), c);
    assert_eq!(to_text(&Config::default()).as_str(), "[Interface]\n");
    assert_eq!(ok(&to_text(&Config::default())), Config::default());
}

#[test]
fn load_reads_a_bounded_file() {
    let dir = std::env::temp_dir().join(format!("ringtun-test-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("wg0.conf");
    std::fs::write(&path, HUB).unwrap();
    let c = load(&path, &Limits::default()).unwrap();
    assert_eq!(c.peers.len(), 3);
    let small = Limits {
        max_bytes: 64,
        max_peers: 10,
    };
    let e = load(&path, &small).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: larger than 64 bytes: not a WireGuard configuration, or split it",
            path.display()
        )
    );
    let missing = dir.join("missing.conf");
    let e = load(&missing, &Limits::default()).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}: cannot read: ", missing.display())),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
