//! Command-line parsing, flag by flag: values accepted, and one-line errors naming the flag.

use super::values::cidr as parse_cidr;
use super::*;

fn args(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn run(s: &str) -> Options {
    match parse(&args(s)) {
        Ok(Command::Run(o)) => o,
        other => panic!("{s}: {other:?}"),
    }
}

/// The error for `s`, checked to be one line that mentions `needle`.
fn err(s: &str, needle: &str) -> CliError {
    let e = parse(&args(s)).expect_err(s);
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "{msg}");
    assert!(msg.contains(needle), "{s}: {msg:?} lacks {needle:?}");
    e
}

fn cidr(s: &str) -> IpPrefix {
    parse_cidr(s).unwrap()
}

#[test]
fn default_mtu_arithmetic() {
    assert_eq!(default_mtu(true), 1420);
    assert_eq!(default_mtu(false), 1440);
    assert!(usage().contains("1500 - 40 (IPv6 header) - 8 (UDP header) - 32"));
}

#[test]
fn server_defaults() {
    let o = run("-l 51820");
    assert_eq!(o.mode, Mode::Listen("[::]:51820".parse().unwrap()));
    assert_eq!(o.one_command.key_path, PathBuf::from(DEFAULT_KEY_PATH));
    assert_eq!(o.one_command.addresses, vec![cidr("10.89.0.1/24")]);
    assert!(o.one_command.routes.is_empty());
    assert_eq!(o.one_command.keepalive, None);
    assert_eq!(o.interface, "ringtun0");
    assert_eq!(o.one_command.mtu, None);
    assert_eq!(o.effective_mtu(), 1420);
    assert_eq!(o.verbosity, 1);
    assert!(o.is_server());
}

#[test]
fn listen_forms() {
    assert_eq!(
        run("--listen 0.0.0.0:9").mode,
        Mode::Listen("0.0.0.0:9".parse().unwrap())
    );
    // Bound to IPv4 or not, the same default as the client's: the two must agree unpushed.
    let o = run("-l 192.0.2.1:9");
    assert_eq!(o.effective_mtu(), 1420);
    assert_eq!(
        run("-l [::1]:9").mode,
        Mode::Listen("[::1]:9".parse().unwrap())
    );
    err("-l 0", "-l/--listen '0': port");
    err("-l 70000", "port must be a number");
    err("-l abc", "-l/--listen 'abc'");
    err("-l 1.2.3.4:0", "port");
    err("-l foo:99", "'foo' is not an IP address");
    err("-l ::1:99", "brackets");
    err("-l 224.0.0.1:9", "multicast");
    err("-l", "-l/--listen needs a value");
}

#[test]
fn server_forms() {
    let o = run("-s 192.0.2.7:51820");
    assert_eq!(o.mode, Mode::Connect("192.0.2.7:51820".parse().unwrap()));
    assert_eq!(o.one_command.addresses, vec![cidr("10.89.0.2/24")]);
    assert_eq!(o.effective_mtu(), 1420);
    assert!(!o.is_server());
    let o = run("--server [2001:db8::1]:1234");
    assert_eq!(o.mode, Mode::Connect("[2001:db8::1]:1234".parse().unwrap()));
    assert_eq!(o.effective_mtu(), 1420);
    // DNS name, resolved once (localhost is in /etc/hosts).
    match run("-s localhost:4000").mode {
        Mode::Connect(a) => {
            assert!(a.ip().is_loopback());
            assert_eq!(a.port(), 4000);
        }
        m => panic!("{m:?}"),
    }
    err("-s 192.0.2.7", "expected HOST:PORT");
    err("-s 192.0.2.7:0", "port");
    err("-s host:x", "port");
    err("-s :80", "missing host");
    err("-s 2001:db8::1:1234", "brackets");
    err("-s 0.0.0.0:1", "not a server address");
    // The "cannot resolve" path is not tested: any unknown name would be sent to the host's
    // DNS resolver, and tests send nothing outside their own namespaces.
}

#[test]
fn mode_is_required_and_exclusive() {
    let e = err("", "give -c FILE");
    assert_eq!(e.exit_code(), 2);
    err("-l 1 -s 192.0.2.1:1", "exclude each other");
    err("-l 1 -l 2", "-l/--listen given more than once");
}

#[test]
fn key_flag() {
    assert_eq!(
        run("-l 1 -k /tmp/k").one_command.key_path,
        PathBuf::from("/tmp/k")
    );
    assert_eq!(
        run("-s 192.0.2.1:1 --key=rel/k").one_command.key_path,
        PathBuf::from("rel/k")
    );
    err("-l 1 -k", "-k/--key needs a value");
    err("-l 1 --key=", "empty file name");
}

#[test]
fn address_flag() {
    let o = run("-l 1 -a 10.1.2.3/16 -a fd89::1/64");
    assert_eq!(
        o.one_command.addresses,
        vec![cidr("10.1.2.3/16"), cidr("fd89::1/64")]
    );
    // Only IPv6 given: no default IPv4 added.
    assert_eq!(
        run("-l 1 -a fd89::1/64").one_command.addresses,
        vec![cidr("fd89::1/64")]
    );
    assert_eq!(
        run("-s 192.0.2.1:1 -a 10.0.0.2/24").one_command.addresses,
        vec![cidr("10.0.0.2/24")]
    );
    err(
        "-l 1 -a 10.0.0.1",
        "-a/--address '10.0.0.1': expected ADDR/PREFIX",
    );
    err("-l 1 -a 10.0.0.1/33", "prefix '33'");
    err("-l 1 -a fd::1/129", "prefix '129'");
    err("-l 1 -a 10.0.0.1/x", "prefix 'x'");
    err("-l 1 -a bad/24", "'bad' is not an IP address");
    err(
        "-l 1 -a 10.0.0.1/24 -a 10.0.1.1/24",
        "at most one address per family",
    );
    err(
        "-l 1 -a fd::1/64 -a fd::2/64",
        "at most one address per family",
    );
    err("-l 1 -a 0.0.0.0/0", "not a usable interface address");
    err("-l 1 -a 127.0.0.1/8", "not a usable");
}

#[test]
fn peer_flag_is_gone() {
    // WireGuard pushes no configuration: each side has its own -a (see --help).
    err("-l 1 -p 10.89.0.9", "unknown option -p");
    err("-s 192.0.2.1:1 --peer 10.89.0.1", "unknown option --peer");
}

#[test]
fn keepalive_flag() {
    assert_eq!(run("-s 192.0.2.1:1 -K 25").one_command.keepalive, Some(25));
    assert_eq!(
        run("-s 192.0.2.1:1 --keepalive 65535")
            .one_command
            .keepalive,
        Some(65535)
    );
    err("-s 192.0.2.1:1 -K 0", "-K/--keepalive '0'");
    err("-s 192.0.2.1:1 -K x", "not a number of seconds");
    err("-l 1 -K 25", "-K/--keepalive is not for the server");
}

#[test]
fn config_file_mode() {
    let o = run("-c /etc/wireguard/wg0.conf");
    assert_eq!(
        o.mode,
        Mode::ConfigFile(PathBuf::from("/etc/wireguard/wg0.conf"))
    );
    assert_eq!(o.interface, "wg0", "named after the file, as wg-quick does");
    assert_eq!(o.verbosity, 1);
    assert_eq!(o.effective_mtu(), 1420);
    assert!(!o.is_server());
    let o = run("--config=office.conf -i tun7 -v");
    assert_eq!(o.interface, "tun7");
    assert_eq!(o.verbosity, 2);
    assert_eq!(run("-c x/vpn -q").interface, "vpn");
    // A file whose name cannot be an interface name needs -i.
    let e = err(
        "-c /etc/wireguard/much-too-long-name.conf",
        "the interface name 'much-too-long-name' taken from the file name is not valid",
    );
    assert!(e.to_string().contains("give -i NAME"), "{e}");
    assert_eq!(e.exit_code(), 2);
    assert_eq!(
        run("-c /etc/wireguard/much-too-long-name.conf -i wg1").interface,
        "wg1"
    );
    err("-c a:b.conf", "not valid (must not contain");
    err("-c wg0.conf -i a/b", "-i/--interface 'a/b'");
    err("--config=", "empty file name");
    // Everything else is in the file.
    for flag in [
        "-a 10.0.0.1/24",
        "-k k",
        "-m 1400",
        "-r 10.0.0.0/8",
        "-K 25",
    ] {
        let e = err(&format!("-c wg0.conf {flag}"), "is not for -c/--config");
        assert_eq!(e.exit_code(), 2);
    }
}

#[test]
fn interface_flag() {
    assert_eq!(run("-l 1 -i tun-vpn").interface, "tun-vpn");
    assert_eq!(run("-l 1 -i abcdefghijklmno").interface, "abcdefghijklmno");
    err("-l 1 -i abcdefghijklmnop", "longer than 15 bytes");
    err("-l 1 -i a/b", "must not contain");
    err("-l 1 -i a:b", "must not contain");
    err("-l 1 --interface=", "empty name");
    err("-l 1 -i ..", "not a valid name");
    assert!(parse(&["-l".into(), "1".into(), "-i".into(), "a b".into()]).is_err());
}

#[test]
fn mtu_flag() {
    assert_eq!(run("-l 1 -m 576").one_command.mtu, Some(576));
    assert_eq!(run("-l 1 -m 65535").effective_mtu(), 65535);
    assert_eq!(run("-l 1 -a fd::1/64 -m 1280").one_command.mtu, Some(1280));
    err("-l 1 -m 575", "-m/--mtu 575: below the IPv4 minimum");
    err("-l 1 -m 65536", "-m/--mtu '65536'");
    err("-l 1 -m -5", "-m/--mtu");
    err("-l 1 -m big", "not a number");
    err(
        "-l 1 -a fd::1/64 -m 1279",
        "IPv6 tunnel needs at least 1280",
    );
    err("-l 1 -a fd::1/64 -a 10.0.0.1/24 -m 1000", "1280");
}

#[test]
fn route_flag() {
    let o = run("-l 1 -r 192.168.0.0/16 -r 2001:db8::/32 -r 0.0.0.0/0");
    assert_eq!(
        o.one_command.routes,
        vec![
            cidr("192.168.0.0/16"),
            cidr("2001:db8::/32"),
            cidr("0.0.0.0/0")
        ]
    );
    err(
        "-l 1 -r 192.168.1.1/16",
        "host bits set after the /16 prefix (did you mean 192.168.0.0/16?)",
    );
    err("-l 1 -r 2001:db8::1/64", "did you mean 2001:db8::/64?");
    err("-l 1 -r 10.0.0.0", "-r/--route '10.0.0.0'");
    err("-l 1 -r 10.0.0.0/40", "prefix '40'");
}

#[test]
fn verbosity_flags() {
    assert_eq!(run("-l 1 -q").verbosity, 0);
    assert_eq!(run("-l 1 -v").verbosity, 2);
    assert_eq!(run("-l 1 -vv").verbosity, 3);
    assert_eq!(run("-l 1 --verbose").verbosity, 2);
    err("-l 1 -q -v", "exclude each other");
    err("-l 1 -q -q", "-q/--quiet given more than once");
}

#[test]
fn help_version_and_unknown() {
    assert_eq!(parse(&args("-h")), Ok(Command::Help));
    assert_eq!(parse(&args("--help -l 1")), Ok(Command::Help));
    assert_eq!(parse(&args("-V")), Ok(Command::Version));
    assert_eq!(parse(&args("--version")), Ok(Command::Version));
    assert!(version().starts_with("ringtun "));
    err("-x", "unknown option -x");
    err("--frobnicate", "unknown option --frobnicate");
    err("-l 1 extra", "unexpected argument 'extra'");
    err("-l 1 -v=3", "unknown option");
    err("--verbose=3 -l 1", "-v/--verbose takes no value");
}

#[test]
fn key_tools() {
    assert_eq!(parse(&args("genkey")), Ok(Command::GenKey { path: None }));
    assert_eq!(
        parse(&args("genkey /etc/ringtun/key")),
        Ok(Command::GenKey {
            path: Some(PathBuf::from("/etc/ringtun/key"))
        })
    );
    assert_eq!(parse(&args("genkey -")), Ok(Command::GenKey { path: None }));
    assert_eq!(parse(&args("genkey --help")), Ok(Command::Help));
    err("genkey a b", "genkey: unexpected argument 'b'");
    err("genkey -x", "genkey: unknown option -x");
    assert_eq!(parse(&args("pubkey")), Ok(Command::PubKey));
    assert_eq!(parse(&args("genpsk")), Ok(Command::GenPsk));
    assert_eq!(parse(&args("pubkey -h")), Ok(Command::Help));
    err("pubkey key.txt", "pubkey: unexpected argument 'key.txt'");
    err("genpsk -l 1", "genpsk: unknown option -l");
}

#[test]
fn a_flag_of_another_mode_is_refused() {
    let m = flags::spec(Modes::RUN)
        .parse(["-s", "192.0.2.1:1"])
        .unwrap();
    let e = only_flags_of(&m, Modes::SERVER, "the server").unwrap_err();
    assert_eq!(e.message, "-s/--server is not for the server");
    assert!(only_flags_of(&m, Modes::CLIENT, "a client").is_ok());
    err("-c x.conf -s 192.0.2.1:1", "exclude each other");
    // genkey takes -h and nothing else of the table.
    assert_eq!(parse(&args("genkey -h")), Ok(Command::Help));
    let e = err("genkey -V", "genkey: unknown option -V");
    assert_eq!(
        e.to_string(),
        "genkey: unknown option -V (usage: ringtun genkey [FILE]) (see ringtun --help)"
    );
    err("genkey --listen 1", "genkey: unknown option --listen");
}

#[test]
fn interface_mode_takes_a_name_and_only_f_v_q() {
    let o = run("wg0");
    assert_eq!(o.mode, Mode::Interface { foreground: false });
    assert_eq!(o.interface, "wg0");
    assert_eq!(o.verbosity, 1);
    let o = run("-f -v wg1");
    assert_eq!(o.mode, Mode::Interface { foreground: true });
    assert_eq!((o.interface.as_str(), o.verbosity), ("wg1", 2));
    assert_eq!(
        run("--foreground wg2").mode,
        Mode::Interface { foreground: true }
    );
    err(
        "-i x wg0",
        "-i/--interface is not for an interface (ringtun IFNAME)",
    );
    err("-m 1400 wg0", "-m/--mtu is not for an interface");
    err("wg0 wg1", "unexpected argument 'wg1'");
    err("a/b", "interface name 'a/b'");
    err("waytoolonginterfacename", "longer than 15 bytes");
    // -f belongs to the interface mode alone.
    err("-f -l 1", "-f/--foreground is not for the server");
    err("-l 1 wg0", "unexpected argument 'wg0'");
    assert_eq!(parse(&args("-f")).unwrap_err().exit_code(), 2);
}

#[test]
fn show_takes_an_optional_name_and_json() {
    let show = |s: &str| parse(&args(s)).unwrap();
    assert_eq!(
        show("show"),
        Command::Show {
            interface: None,
            json: false
        }
    );
    assert_eq!(
        show("show all --json"),
        Command::Show {
            interface: None,
            json: true
        }
    );
    assert_eq!(
        show("show --json wg0"),
        Command::Show {
            interface: Some("wg0".into()),
            json: true
        }
    );
    assert_eq!(show("show -h"), Command::Help);
    err("show wg0 wg1", "show: unexpected argument 'wg1'");
    err("show --yaml", "show: unknown option --yaml");
    err("show a:b", "show: interface name 'a:b'");
}

#[test]
fn user_goes_with_every_way_of_running() {
    assert_eq!(run("-l 51820").user, None);
    assert_eq!(run("-l 51820 -u nobody").user.as_deref(), Some("nobody"));
    assert_eq!(
        run("-s 192.0.2.1:1 --user nobody").user.as_deref(),
        Some("nobody")
    );
    assert_eq!(
        run("-c /x/wg0.conf -u ringtun").user.as_deref(),
        Some("ringtun")
    );
    assert_eq!(run("-u nobody -f wg0").user.as_deref(), Some("nobody"));
    err("-l 1 -u", "-u/--user needs a value");
    err("-l 1 -u nobody -u root", "-u/--user given more than once");
    err("-l 1 --user=", "-u/--user: empty or invalid user name");
    let e = err("genkey -u nobody", "unknown option -u");
    assert_eq!(e.exit_code(), 2);
}
