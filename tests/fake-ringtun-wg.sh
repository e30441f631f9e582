#!/usr/bin/env bash
# A stand-in for ringtun built on wireguard-go, speaking a subset of ringtun's CLI and log contract.
# It exists only to check the integration-test harness against a real tunnel before ringtun itself
# works:
#   RINGTUN_TEST_BIN=$PWD/tests/fake-ringtun-wg.sh cargo test --test tunnel
# Expected to pass with it: ping, iperf3, client before server, server restart, IPv6 inside and
# under the tunnel, SIGTERM. Not expected: the tests that need ringtun's own drop counters
# (wrong key, junk flood, replay: WireGuard's data type is 4 and it has no such log lines).
#
# Both WireGuard keys are derived from the pre-shared key file, so a wrong key still fails. Must run
# under `ip netns exec` (it mounts a private /var/run/wireguard in that mount namespace).
set -euo pipefail

if [[ ${1:-} == genkey ]]; then
    k=$(head -c 32 /dev/urandom | xxd -p -c 64)
    if [[ -n ${2:-} ]]; then (umask 077; echo "$k" >"$2"); else echo "$k"; fi
    exit 0
fi
mode="" endpoint="" key=/etc/ringtun/key ifname=ringtun0 mtu=1440
addrs=()
while (($#)); do
    case "$1" in
        -l) mode=server; endpoint=$2; shift 2 ;;
        -s) mode=client; endpoint=$2; shift 2 ;;
        -k) key=$2; shift 2 ;;
        -a) addrs+=("$2"); shift 2 ;;
        -p) shift 2 ;;
        -i) ifname=$2; shift 2 ;;
        -m) mtu=$2; shift 2 ;;
        -v|-q) shift ;;
        *) echo "ringtun: error: fake does not know $1" >&2; exit 2 ;;
    esac
done
[[ -n $mode ]] || { echo "ringtun: error: need -l or -s" >&2; exit 2; }
psk=$(tr -d '[:space:]' <"$key")

priv() { printf '%s' "$1$psk" | sha256sum | cut -c1-64 | xxd -r -p | base64; }
if [[ $mode == server ]]; then
    mine=$(priv s) theirs_priv=$(priv c)
    ((${#addrs[@]})) || addrs=(10.89.0.1/24)
else
    mine=$(priv c) theirs_priv=$(priv s)
    ((${#addrs[@]})) || addrs=(10.89.0.2/24 fd89::2/64)
fi
theirs=$(wg pubkey <<<"$theirs_priv")

mount -t tmpfs tmpfs /var/run/wireguard 2>/dev/null || { mkdir -p /var/run/wireguard && mount -t tmpfs tmpfs /var/run/wireguard; }
WG_PROCESS_FOREGROUND=1 GOMAXPROCS=1 wireguard-go "$ifname" >/dev/null 2>&1 &
wgpid=$!
for _ in $(seq 100); do [[ -S /var/run/wireguard/$ifname.sock ]] && break; sleep 0.05; done
umask 077
printf '%s\n' "$mine" >/var/run/wireguard/priv
if [[ $mode == server ]]; then
    port=${endpoint##*:}
    wg set "$ifname" private-key /var/run/wireguard/priv listen-port "$port" peer "$theirs" allowed-ips 0.0.0.0/0,::/0
    echo "ringtun: listening on $endpoint" >&2
else
    wg set "$ifname" private-key /var/run/wireguard/priv peer "$theirs" allowed-ips 0.0.0.0/0,::/0 \
        endpoint "$endpoint" persistent-keepalive 1
fi
for a in "${addrs[@]}"; do
    if [[ $a == *:* ]]; then ip -6 addr add "$a" dev "$ifname" nodad; else ip addr add "$a" dev "$ifname"; fi
done
ip link set "$ifname" mtu "$mtu" up

stats() {
    local tx rx txp rxp
    read -r _ rx tx < <(wg show "$ifname" transfer | head -1) || true
    # A TUN device's kernel TX is what the daemon read (sent into the tunnel), RX what it wrote.
    read -r rxp txp < <(awk '{print $3, $11}' <(grep -E "^ *$ifname:" /proc/net/dev | tr ':' ' ')) || true
    echo "ringtun: stats: tx_packets=${rxp:-0} tx_bytes=${tx:-0} rx_packets=${txp:-0} rx_bytes=${rx:-0} handshakes_completed=$sessions drop.replay=0 drop.malformed=0" >&2
}
sessions=0
trap stats USR1
on_term() {
    set +e
    stats
    kill "$wgpid" 2>/dev/null
    wait "$wgpid" 2>/dev/null
    ip link del "$ifname" 2>/dev/null
    echo "ringtun: exiting on SIGTERM" >&2
    exit 0
}
trap on_term TERM

last=0
while kill -0 $wgpid 2>/dev/null; do
    hs=$(wg show "$ifname" latest-handshakes 2>/dev/null | awk '{print $2}' | head -1)
    ep=$(wg show "$ifname" endpoints 2>/dev/null | awk '{print $2}' | head -1)
    # A new session: the first handshake, or one after more than 10 s of silence (a restart).
    if [[ -n $hs && $hs != 0 ]] && ((hs > last)); then
        if ((last == 0 || hs - last > 10)); then
            sessions=$((sessions + 1))
            echo "ringtun: session up with $ep (address ${addrs[0]}, peer ?, mtu $mtu)" >&2
        fi
        last=$hs
    fi
    sleep 0.2 &
    wait $! || true
done
echo "ringtun: error: wireguard-go exited" >&2
exit 1
