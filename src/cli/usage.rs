//! The `--help` and `--version` texts. The option lines come from the flag table.

use super::flags::option_lines;

/// The `--help` text.
pub fn usage() -> String {
    format!(
        "\
ringtun {version}: a point-to-point VPN (TUN + io_uring + ChaCha20-Poly1305, pre-shared key)

Usage:
  ringtun -l [ADDR:]PORT [options]     run the server
  ringtun -s HOST:PORT [options]       run the client
  ringtun genkey [FILE]                write a new key to FILE (mode 0600), or print it

Options:
{options}
Default MTU: a full 1500-byte underlay packet minus what ringtun wraps around each tunnelled
packet: 1500 - 40 (IPv6 header) - 8 (UDP header) - 32 (ringtun: 16-byte header + 16-byte tag)
= 1420 over IPv6, and 1500 - 20 (IPv4 header) - 8 - 32 = 1440 over IPv4. A server listening on
a dual-stack [::] socket uses 1420 (the worst case, since IPv6 clients may connect); a server
bound to an IPv4 address, or a client connecting over IPv4, uses 1440.

Signals: SIGUSR1 prints counters; SIGINT/SIGTERM print them and exit.
",
        version = env!("CARGO_PKG_VERSION"),
        options = option_lines(),
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
            "  -l, --listen [ADDR:]PORT  listen for the client; a bare PORT binds [::]:PORT (IPv4 and IPv6)",
            "  -s, --server HOST:PORT    connect to the server; HOST is resolved once at start;",
            "                            IPv6 literals go in brackets: [2001:db8::1]:51820",
            "  -k, --key FILE            pre-shared key file (default /etc/ringtun/key); must be mode 0600",
            "  -a, --address ADDR/PREFIX tunnel address, at most one IPv4 and one IPv6",
            "                            (server default 10.89.0.1/24; a client given -a keeps it",
            "                            instead of the one the server pushes)",
            "  -p, --peer ADDR           the other side's tunnel address, one per family; on the server",
            "                            this is what it pushes to the client (default: its own -a + 1);",
            "                            on a client it replaces the server address the server pushes",
            "  -i, --interface NAME      TUN interface name (default ringtun0, at most 15 bytes)",
            "  -m, --mtu MTU             tunnel MTU, 576..65535 (at least 1280 with IPv6 inside); the server",
            "                            pushes its MTU to the client unless the client gives -m",
            "  -r, --route CIDR          route CIDR through the tunnel (repeatable; host bits must be zero)",
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
        assert!(text.contains("print the version\n\nDefault MTU: a full 1500-byte"));
    }
}
