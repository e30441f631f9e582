#!/usr/bin/env bash
# A ringtun tunnel between two network namespaces on this machine, end to end:
#   sudo ./scripts/demo.sh
# Builds ringtun, makes two namespaces joined by a veth pair, generates a key, runs the server in one
# and the client in the other, pings through the tunnel both ways, runs iperf3 through the tunnel and
# over the plain veth for comparison, shows the counters (SIGUSR1), stops both with SIGTERM.
# Everything it creates is removed on exit, also on failure or Ctrl-C. No traffic leaves the two
# namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: error: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "ringtun creates TUN devices and the demo creates network namespaces: run \`sudo $0\`"

tag=$(( $$ % 100000 ))
NS_S="rtdemo-$tag-server"
NS_C="rtdemo-$tag-client"
UL_S=10.203.0.1     # underlay (veth) addresses, only inside the two namespaces
UL_C=10.203.0.2
PORT=51820
work=$(mktemp -d /tmp/ringtun-demo.XXXXXX)
server_pid=""
client_pid=""
iperf_pid=""

cleanup() {
    local rc=$?
    set +e
    for p in $client_pid $server_pid $iperf_pid; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.3
    for ns in "$NS_S" "$NS_C"; do
        if [[ -e /run/netns/$ns ]]; then
            for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
            ip netns del "$ns"
        fi
    done
    rm -rf "$work"
    if ((rc != 0)); then echo "demo: failed (exit $rc); namespaces and files removed" >&2; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

show_log_and_die() {
    echo "--- server log ---" >&2; cat "$work/server.log" >&2 || true
    echo "--- client log ---" >&2; cat "$work/client.log" >&2 || true
    die "$*"
}

wait_log() { # wait_log FILE TEXT SECONDS PID
    local end=$((SECONDS + $3))
    while ((SECONDS < end)); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        kill -0 "$4" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

step "setup"
./scripts/setup.sh --no-wireguard   # the demo needs no foreign WireGuard peers

if [[ -n ${RINGTUN_DEMO_BIN:-} ]]; then
    # Demo another build of ringtun (e.g. one installed elsewhere) instead of building this tree.
    RINGTUN=$RINGTUN_DEMO_BIN
    echo "demo: using $RINGTUN instead of building ringtun"
else
    step "cargo build --release"
    cargo build --release --bin ringtun
    RINGTUN=$PWD/target/release/ringtun
fi

step "two namespaces joined by a veth pair"
ip netns add "$NS_S"
ip netns add "$NS_C"
ip link add veth-s netns "$NS_S" type veth peer name veth-c netns "$NS_C"
ip -n "$NS_S" addr add "$UL_S/24" dev veth-s
ip -n "$NS_C" addr add "$UL_C/24" dev veth-c
for ns in "$NS_S" "$NS_C"; do ip -n "$ns" link set lo up; done
ip -n "$NS_S" link set veth-s up
ip -n "$NS_C" link set veth-c up
echo "$NS_S ($UL_S) <-- veth --> $NS_C ($UL_C)"

step "ringtun genkey"
"$RINGTUN" genkey "$work/key"
ls -l "$work/key"

# Both ends run on this one machine, and the control sockets `wg` talks to live in one directory,
# /var/run/wireguard, for every namespace: so each end gets its own interface name.
IF_S=rtdemo-srv IF_C=rtdemo-cli
step "server: ringtun -l $PORT -k key -a 10.89.0.1/24 -a fd89::1/64 -i $IF_S   (in $NS_S)"
ip netns exec "$NS_S" "$RINGTUN" -l "$PORT" -k "$work/key" -a 10.89.0.1/24 -a fd89::1/64 -i "$IF_S" \
    >"$work/server.log" 2>&1 &
server_pid=$!
wait_log "$work/server.log" "listening on" 10 "$server_pid" || show_log_and_die "server did not start"

step "client: ringtun -s $UL_S:$PORT -k key -a 10.89.0.2/24 -a fd89::2/64 -i $IF_C   (in $NS_C)"
ip netns exec "$NS_C" "$RINGTUN" -s "$UL_S:$PORT" -k "$work/key" -a 10.89.0.2/24 -a fd89::2/64 -i "$IF_C" \
    >"$work/client.log" 2>&1 &
client_pid=$!
wait_log "$work/client.log" "connecting to" 10 "$client_pid" || show_log_and_die "client did not start"
# WireGuard handshakes when there is something to send: a first ping starts it.
for _ in $(seq 20); do
    ip netns exec "$NS_C" ping -c 1 -W 1 10.89.0.1 >/dev/null 2>&1 && break
done
wait_log "$work/client.log" "up at" 5 "$client_pid" || show_log_and_die "no session within 20 s"
wait_log "$work/server.log" "up at" 5 "$server_pid" || show_log_and_die "server saw no session"
grep -h "ringtun:" "$work/server.log" "$work/client.log"

step "tunnel interface on each side"
ip -n "$NS_S" addr show dev "$IF_S"
ip -n "$NS_C" addr show dev "$IF_C"

step "ping through the tunnel, both ways"
ip netns exec "$NS_C" ping -c 3 -i 0.2 10.89.0.1
ip netns exec "$NS_S" ping -c 3 -i 0.2 10.89.0.2
ip netns exec "$NS_S" ping -c 3 -i 0.2 fd89::2

step "iperf3 TCP, 5 s: through the tunnel, then over the plain veth"
ip netns exec "$NS_S" iperf3 -s -p 5201 >/dev/null 2>&1 &
iperf_pid=$!
sleep 0.5
rate() { # rate ADDR -> "X Gbits/sec ... receiver" summary line
    ip netns exec "$NS_C" iperf3 -c "$1" -p 5201 -t 5 -f g \
        | awk '/receiver/ {for (i = 1; i < NF; i++) if ($(i+1) ~ /bits\/sec/) {print $i, $(i+1); exit}}'
}
tunnel_rate=$(rate 10.89.0.1)
veth_rate=$(rate "$UL_S")
printf '  through ringtun:  %s\n  plain veth:       %s\n' "$tunnel_rate" "$veth_rate"

step "counters (SIGUSR1)"
kill -USR1 "$server_pid" "$client_pid"
sleep 0.5
echo "server: $(grep 'ringtun: stats:' "$work/server.log" | tail -1)"
echo "client: $(grep 'ringtun: stats:' "$work/client.log" | tail -1)"

step "stop both with SIGTERM"
kill -TERM "$client_pid" "$server_pid"
rc_c=0; rc_s=0
wait "$client_pid" || rc_c=$?
wait "$server_pid" || rc_s=$?
client_pid=""; server_pid=""
grep -h "exiting" "$work/client.log" "$work/server.log" || true
echo "exit status: client $rc_c, server $rc_s"
if ip -n "$NS_S" link show "$IF_S" >/dev/null 2>&1; then die "$IF_S still exists after exit"; fi
if ip -n "$NS_C" link show "$IF_C" >/dev/null 2>&1; then die "$IF_C still exists after exit"; fi
echo "$IF_S and $IF_C removed"
((rc_c == 0 && rc_s == 0)) || die "non-zero exit status"

step "done: the tunnel worked end to end (namespaces are removed now)"
