//! The `--help` and `--version` texts. The option lines come from the flag table.

use super::flags::option_lines;

/// The `--help` text.
pub fn usage() -> String {
    format!(
        "\
ringtun {version}: a WireGuard VPN for Linux (TUN + io_uring + ChaCha20-Poly1305)

Usage:
  ringtun -c FILE [-i NAME] [-v|-q]    run a WireGuard configuration file (e.g. wg0.conf)
  ringtun -l [ADDR:]PORT [options]     one-command mode: run the server
  ringtun -s HOST:PORT [options]       one-command mode: run the client
  ringtun [-f] IFNAME                  create interface IFNAME for wg / wg-quick to configure
  ringtun show [IFNAME] [--json]       what `wg show` shows, and the drops by reason
  ringtun genkey [FILE]                print a new private key, or write it to FILE (mode 0600)
  ringtun pubkey                       read a private key on stdin, print its public key
  ringtun genpsk                       print a new preshared key
  ringtun completion bash              print the bash completion script (zsh: via bashcompinit)

Options:
{options}
Configuration file (-c): what `wg setconf` reads ([Interface] PrivateKey, ListenPort, FwMark;
[Peer] PublicKey, PresharedKey, AllowedIPs, Endpoint, PersistentKeepalive) plus wg-quick's
Address and MTU. The interface gets the addresses, the MTU (default 1420), and a route for each
peer's AllowedIPs outside its own address prefixes, except 0.0.0.0/0 and ::/0: a full tunnel needs
policy routing, which wg-quick sets up. Without ListenPort the port is random. wg-quick's other
keys (DNS, Table, PreUp, PostUp, PreDown, PostDown, SaveConfig) are refused: remove them, or run
the file with wg-quick.

Interface mode (IFNAME): a bare interface (no key, no peers, no address, link down) and its
control socket /var/run/wireguard/IFNAME.sock, as `wireguard-go IFNAME` makes them; `wg` and
`ip` configure it. ringtun returns once both exist and keeps running in the background (logging
to the system log) until the interface is deleted (`ip link del IFNAME`); -f or
WG_PROCESS_FOREGROUND=1 keeps it in the foreground. With wg-quick:
  WG_QUICK_USERSPACE_IMPLEMENTATION=ringtun wg-quick up wg0
Every run serves the control socket of its interface: `wg show`, `wg set`, `wg syncconf`.

One-command mode (-l / -s): both hosts hold the same secret file ({key}, made once
with `ringtun genkey {key}` and copied to the other host), and derive from it
both WireGuard key pairs and a preshared key. The client handshakes when it has traffic for the
server (or every -K seconds), and the server learns the client's address from that handshake.
What it cannot give: the two sides share one identity. Anyone with the file can be
either side, and a second client with the same file takes over the first one's session. For keys
of your own per host, use configuration files:
  ringtun genkey private.key; ringtun pubkey < private.key   (on each host; swap public keys)
  then a wg0.conf per host, e.g. on the client:
    [Interface]
    PrivateKey = <its private key>
    Address = 10.89.0.2/24
    [Peer]
    PublicKey = <the server's public key>
    AllowedIPs = 10.89.0.0/24
    Endpoint = server.example.net:51820
  (the server's lists ListenPort = 51820 and the client with AllowedIPs = 10.89.0.2/32), and
  `ringtun -c wg0.conf` on both.

Default MTU: 1420, what is left of a full 1500-byte underlay packet in the worst case, over IPv6:
1500 - 40 (IPv6 header) - 8 (UDP header) - 32 (WireGuard: 16-byte header + 16-byte tag) = 1420.
Both sides use it unless told otherwise, since neither learns the other's; over IPv4 alone 1440
would fit (-m 1440 on both sides).

Signals: SIGUSR1 prints counters; SIGINT/SIGTERM print them and exit.
",
        version = env!("CARGO_PKG_VERSION"),
        options = option_lines(),
        key = super::DEFAULT_KEY_PATH,
    )
}

/// `ringtun VERSION`.
pub fn version() -> String {
    format!("ringtun {}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option lines are made from the flag table; they read as the hand-written text did.
    #[test]
    fn option_lines_keep_their_layout() {
        let expected = [
            "  -c, --config FILE         run a WireGuard configuration file (see below)",
            "  -l, --listen [ADDR:]PORT  one-command server: listen on PORT; a bare PORT binds [::]:PORT",
            "                            (IPv4 and IPv6)",
            "  -s, --server HOST:PORT    one-command client: connect to the server; HOST is resolved once",
            "                            at start; IPv6 literals go in brackets: [2001:db8::1]:51820",
            "  -k, --key FILE            the shared secret file (default /etc/ringtun/key); must be mode 0600",
            "  -a, --address ADDR/PREFIX tunnel address, one IPv4 and/or one IPv6; the client's must be",
            "                            the server's + 1 (default: server 10.89.0.1/24, client 10.89.0.2/24)",
            "  -i, --interface NAME      TUN interface name, at most 15 bytes (default ringtun0; with -c,",
            "                            the file's name without .conf, as wg-quick names it)",
            "  -m, --mtu MTU             tunnel MTU, 576..65535 (at least 1280 with IPv6 inside)",
            "  -r, --route CIDR          a network reached through the other side: routed into the tunnel,",
            "                            and accepted from it (repeatable; host bits must be zero)",
            "  -K, --keepalive SECONDS   client: send a keepalive every SECONDS even when idle, to keep a",
            "                            NAT mapping open (WireGuard's PersistentKeepalive; default off)",
            "  -f, --foreground          ringtun IFNAME: stay in the foreground (also WG_PROCESS_FOREGROUND=1)",
            "  -u, --user NAME           after set-up, run as user NAME (and its group), keeping only the",
            "                            capabilities wg set may need (CAP_NET_ADMIN, CAP_NET_BIND_SERVICE)",
            "  -v, --verbose             more detail (handshakes)",
            "  -q, --quiet               errors and warnings only",
            "  -h, --help                this text",
            "  -V, --version             print the version",
        ];
        let text = usage();
        let start = text.find("Options:\n").unwrap() + "Options:\n".len();
        let got: Vec<&str> = text[start..]
            .lines()
            .take_while(|l| !l.is_empty())
            .collect();
        assert_eq!(got, expected);
        assert!(text.contains("print the version\n\nConfiguration file (-c): what `wg setconf`"));
        assert!(text.contains("takes over the first one's session"));
    }
}
