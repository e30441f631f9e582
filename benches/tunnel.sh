#!/usr/bin/env bash
# Tunnel benchmark: ringtun against plain veth (the ceiling), boringtun, wireguard-go and OpenVPN,
# each between two fresh network namespaces joined by a veth pair (MTU 1500), one thread per tunnel
# end where the implementation allows it.
#
#   sudo ./benches/tunnel.sh                       # all candidates, 3 rounds of 10 s runs
#   sudo ./benches/tunnel.sh -c ringtun,boringtun -r 5 -d 5
#
# Options:
#   -c LIST   candidates, comma separated (default: veth,ringtun,boringtun,wireguard-go,openvpn);
#             also ringtun-fallback: ringtun with RINGTUN_FORCE_FALLBACK=1, i.e. without the
#             io_uring features newer than Linux 6.1 (as on Debian 12), for its cost next to ringtun;
#             and ringtun-v3: ringtun built for x86-64-v3 CPUs (README's fast build, in
#             target/bench-v3), next to ringtun built as the environment says (by default the
#             portable build), for the portable build's cost (needs an x86-64-v3 CPU)
#   -r N      rounds (default 3); candidates are interleaved within each round
#   -d SECS   duration of each iperf3 run (default 10)
#   -u RATE   offered UDP rate for the loss test (default 500M)
#   -o FILE   also write the table to FILE (markdown)
#   -P        ping path: also record 200 idle pings per candidate and round with perf (the
#             net:net_dev_xmit / net:netif_receive_skb tracepoints on every device) and print
#             where the round trip goes, stage by stage (needs perf: Debian's linux-perf)
#   -k        keep the work directory (logs, raw JSON) for inspection
#   -h        this help
#
# Measured per candidate and round: iperf3 TCP 1 stream, TCP 4 streams, UDP at a fixed offered rate
# (loss %), idle ping RTT (median of 100, one every 50 ms), CPU seconds of the tunnel processes of
# both ends per GB moved during the 1-stream TCP run (utime+stime from /proc/PID/stat), TCP
# retransmits of the 1-stream run.
# Printed: one markdown table of the medians over the rounds, plus ringtun/boringtun ratios (and
# ringtun-fallback/ringtun and ringtun/ringtun-v3 ones when both ran).
#
# Candidates that are not installed are installed: boringtun and wireguard-go (and wg) by
# scripts/setup.sh (boringtun-cli into ${CARGO_HOME:-~/.cargo}/bin), openvpn with apt; any that
# cannot be had or fail to come up are reported in the table, never dropped. All traffic stays
# inside the two namespaces this script creates, and they are removed on any exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

candidates="veth,ringtun,boringtun,wireguard-go,openvpn"
rounds=3
dur=10
udp_rate=500M
out_file=""
keep=0
ping_path=0
while getopts "c:r:d:u:o:kPh" opt; do
    case "$opt" in
        c) candidates=$OPTARG ;;
        r) rounds=$OPTARG ;;
        d) dur=$OPTARG ;;
        u) udp_rate=$OPTARG ;;
        o) out_file=$OPTARG ;;
        k) keep=1 ;;
        P) ping_path=1 ;;
        h) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: $0 [-c LIST] [-r N] [-d SECS] [-u RATE] [-o FILE] [-P] [-k]" >&2; exit 2 ;;
    esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "tunnel.sh: -r wants a positive number" >&2; exit 2; }
[[ $dur =~ ^[1-9][0-9]*$ ]] || { echo "tunnel.sh: -d wants a positive number of seconds" >&2; exit 2; }
IFS=, read -r -a cands <<<"$candidates"
for c in "${cands[@]}"; do
    case "$c" in veth|ringtun|ringtun-fallback|ringtun-v3|boringtun|wireguard-go|openvpn) ;; *) echo "tunnel.sh: unknown candidate: $c" >&2; exit 2 ;; esac
done

say() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "needs root (namespaces, TUN devices): sudo $0"

# ---------------------------------------------------------------------------------------------
# Topology: namespaces S (server side) and C (client side), veth 10.201.0.1 <-> 10.201.0.2.
# Tunnel addresses: 10.99.0.1 (server end) and 10.99.0.2 (client end).
# ---------------------------------------------------------------------------------------------
tag=$(( $$ % 100000 ))
NS_S="rtb-$tag-s"
NS_C="rtb-$tag-c"
UL_S=10.201.0.1
UL_C=10.201.0.2
TUN_S=10.99.0.1
TUN_C=10.99.0.2
TUN_MTU=1440      # 1500 - 20 (IPv4) - 8 (UDP) - 32 (16-byte header + 16-byte tag) for ringtun and WireGuard
work=$(mktemp -d /tmp/ringtun-bench.XXXXXX)
pids=()           # tunnel processes of the current candidate
iperf_pid=""
CLK_TCK=$(getconf CLK_TCK)

cleanup() {
    local rc=$?
    set +e
    stop_candidate 2>/dev/null
    [[ -n $iperf_pid ]] && kill "$iperf_pid" 2>/dev/null
    for ns in "$NS_S" "$NS_C"; do
        if [[ -e /run/netns/$ns ]]; then
            for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
            ip netns del "$ns" 2>/dev/null
        fi
    done
    rm -f /var/run/wireguard/wgs"$tag".sock /var/run/wireguard/wgc"$tag".sock 2>/dev/null
    if ((keep)); then say "work directory kept: $work"; else rm -rf "$work"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Processes started in the background call `ip netns exec` directly (not this function), so that $!
# is the tunnel process itself (ip execs it): its pid is what the CPU accounting and kill use.
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------
apt_updated=0
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if ((apt_updated == 0)); then apt-get update -qq >&2 || return 1; apt_updated=1; fi
    echo "iperf3 iperf3/start_daemon boolean false" | debconf-set-selections 2>/dev/null || true
    apt-get install -y -qq --no-install-recommends "$@" </dev/null >&2
}
need_cmd() { # need_cmd CMD PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    say "installing $2 (for $1)"
    apt_install "$2" || return 1
    command -v "$1" >/dev/null 2>&1
}
for c in ip:iproute2 ping:iputils-ping iperf3:iperf3 jq:jq; do
    need_cmd "${c%%:*}" "${c##*:}" || die "cannot install ${c##*:}"
done
if ((ping_path)); then
    need_cmd perf linux-perf || die "-P needs perf (Debian package linux-perf)"
    # grep -c reads all of perf's output (grep -q would close the pipe early: SIGPIPE, pipefail).
    (($(perf list tracepoint 2>/dev/null | grep -c 'net:net_dev_xmit') > 0)) \
        || die "-P needs the net:net_dev_xmit tracepoint (perf list shows none; tracefs mounted?)"
fi

declare -A missing=()   # candidate -> why it is not measured
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"   # where scripts/setup.sh puts boringtun-cli

wg_tools_ok=""          # scripts/setup.sh's verdict on wg, wireguard-go and boringtun-cli (run once)
wg_tools() {
    if [[ -z $wg_tools_ok ]]; then
        say "checking the WireGuard tools (scripts/setup.sh)"
        if "$repo/scripts/setup.sh" >&2; then wg_tools_ok=yes; else wg_tools_ok=no; fi
    fi
    [[ $wg_tools_ok == yes ]]
}

prepare_candidate() {
    case "$1" in
        veth) ;;
        ringtun|ringtun-fallback)
            if [[ -z ${RINGTUN:-} ]]; then
                say "building ringtun (cargo build --release)"
                if ! (cd "$repo" && cargo build --release --bin ringtun) >"$work/build-ringtun.log" 2>&1; then
                    ringtun_build_failed=1
                    tail -5 "$work/build-ringtun.log" >&2
                fi
                RINGTUN="$repo/target/release/ringtun"
            fi
            if ((${ringtun_build_failed:-0})); then missing[$1]="build failed (see cargo build --release)"; fi
            ;;
        ringtun-v3)
            local flag
            for flag in avx2 bmi2 fma movbe; do
                grep -qw "$flag" /proc/cpuinfo || { missing[$1]="this CPU is not x86-64-v3 (no $flag)"; return; }
            done
            say "building ringtun for x86-64-v3 (target/bench-v3)"
            if (cd "$repo" && CARGO_TARGET_DIR="$repo/target/bench-v3" \
                RUSTFLAGS='-C target-cpu=x86-64-v3 --cfg chacha20_avx512' \
                cargo build --release --bin ringtun) >"$work/build-ringtun-v3.log" 2>&1; then
                RINGTUN_V3="$repo/target/bench-v3/release/ringtun"
            else
                tail -5 "$work/build-ringtun-v3.log" >&2
                missing[$1]="build failed (see $work/build-ringtun-v3.log)"
            fi
            ;;
        boringtun|wireguard-go)
            wg_tools || missing[$1]="scripts/setup.sh failed (it installs wg, wireguard-go and boringtun-cli)"
            ;;
        openvpn)
            need_cmd openssl openssl || { missing[openvpn]="openssl not installable"; return; }
            need_cmd openvpn openvpn || missing[openvpn]="apt package openvpn not installable"
            ;;
    esac
}

# ---------------------------------------------------------------------------------------------
# Namespaces
# ---------------------------------------------------------------------------------------------
ip netns add "$NS_S"
ip netns add "$NS_C"
ip link add veth-s netns "$NS_S" type veth peer name veth-c netns "$NS_C"
ip -n "$NS_S" addr add "$UL_S/24" dev veth-s
ip -n "$NS_C" addr add "$UL_C/24" dev veth-c
for ns in "$NS_S" "$NS_C"; do
    ip -n "$ns" link set lo up
done
ip -n "$NS_S" link set veth-s mtu 1500 up
ip -n "$NS_C" link set veth-c mtu 1500 up
nsx "$NS_C" ping -c 1 -W 2 "$UL_S" >/dev/null || die "veth between the namespaces does not work"

# One iperf3 server in S for every candidate (listens on all of S's addresses).
ip netns exec "$NS_S" iperf3 -s -p 5201 >"$work/iperf3-server.log" 2>&1 &
iperf_pid=$!

# ---------------------------------------------------------------------------------------------
# Candidates: start_X brings the tunnel up and sets TARGET and pids; stop_candidate tears down.
# ---------------------------------------------------------------------------------------------
TARGET=""
DEV_S="" DEV_C=""   # the tunnel devices of the server and client end (none for veth)
declare -A cipher_of=(
    [veth]="none"
    [ringtun]="ChaCha20-Poly1305"
    [ringtun-fallback]="ChaCha20-Poly1305"
    [ringtun-v3]="ChaCha20-Poly1305"
    [boringtun]="ChaCha20-Poly1305 (WireGuard)"
    [wireguard-go]="ChaCha20-Poly1305 (WireGuard)"
    [openvpn]="CHACHA20-POLY1305, TLS p2p"
)

wait_ping() { # wait_ping ADDR SECONDS; gives up early when a tunnel process has exited
    local end=$((SECONDS + $2)) p
    while ((SECONDS < end)); do
        nsx "$NS_C" ping -c 1 -W 1 "$1" >/dev/null 2>&1 && return 0
        for p in "${pids[@]}"; do
            kill -0 "$p" 2>/dev/null || { say " process $p exited"; return 1; }
        done
        sleep 0.2
    done
    return 1
}

start_veth() { TARGET=$UL_S; DEV_S=""; DEV_C=""; }

start_ringtun() {
    rm -f "$work/ringtun.key" # one per round: genkey refuses to overwrite a key
    "$RINGTUN" genkey "$work/ringtun.key" >/dev/null
    chmod 600 "$work/ringtun.key"
    ip netns exec "$NS_S" "$RINGTUN" -l "$UL_S:51820" -k "$work/ringtun.key" -a "$TUN_S/24" -m "$TUN_MTU" -i rts \
        >"$work/ringtun-s.log" 2>&1 &
    pids+=($!)
    ip netns exec "$NS_C" "$RINGTUN" -s "$UL_S:51820" -k "$work/ringtun.key" -a "$TUN_C/24" -i rtc -m "$TUN_MTU" \
        >"$work/ringtun-c.log" 2>&1 &
    pids+=($!)
    TARGET=$TUN_S
    DEV_S=rts DEV_C=rtc
}

# ringtun without the io_uring features newer than Linux 6.1: each end says so at start.
start_ringtun-fallback() {
    RINGTUN_FORCE_FALLBACK=1 start_ringtun || return 1
    local log
    for log in "$work/ringtun-s.log" "$work/ringtun-c.log"; do
        for _ in $(seq 50); do grep -q "RINGTUN_FORCE_FALLBACK is set" "$log" 2>/dev/null && break; sleep 0.1; done
        grep -q "RINGTUN_FORCE_FALLBACK is set" "$log" 2>/dev/null || { say "$log names no fallback in use"; return 1; }
    done
}

# ringtun built for x86-64-v3 CPUs: the same tunnel, the other binary.
start_ringtun-v3() {
    RINGTUN="$RINGTUN_V3" start_ringtun
}

wg_keys() {
    umask 077
    wg genkey >"$work/wg-s.key"
    wg genkey >"$work/wg-c.key"
    wg pubkey <"$work/wg-s.key" >"$work/wg-s.pub"
    wg pubkey <"$work/wg-c.key" >"$work/wg-c.pub"
    umask 022
}

wg_configure() { # wg_configure IF_S IF_C
    local s=$1 c=$2
    nsx "$NS_S" wg set "$s" private-key "$work/wg-s.key" listen-port 51820 \
        peer "$(cat "$work/wg-c.pub")" allowed-ips "$TUN_C/32"
    nsx "$NS_C" wg set "$c" private-key "$work/wg-c.key" \
        peer "$(cat "$work/wg-s.pub")" allowed-ips "$TUN_S/32" endpoint "$UL_S:51820"
    ip -n "$NS_S" addr add "$TUN_S/24" dev "$s"
    ip -n "$NS_C" addr add "$TUN_C/24" dev "$c"
    ip -n "$NS_S" link set "$s" mtu "$TUN_MTU" up
    ip -n "$NS_C" link set "$c" mtu "$TUN_MTU" up
    TARGET=$TUN_S
    DEV_S=$s DEV_C=$c
}

wait_uapi() { # the UAPI socket appears when the daemon is ready
    local end=$((SECONDS + 10))
    while ((SECONDS < end)); do [[ -S /var/run/wireguard/$1.sock ]] && return 0; sleep 0.1; done
    return 1
}

start_boringtun() {
    wg_keys
    local s="wgs$tag" c="wgc$tag"
    for side in s c; do
        local ns=$NS_S ifn=$s
        [[ $side == c ]] && ns=$NS_C ifn=$c
        WG_SUDO=1 ip netns exec "$ns" boringtun-cli --foreground --threads 1 --disable-drop-privileges \
            --log "$work/boringtun-$side.log" "$ifn" >"$work/boringtun-$side.out" 2>&1 &
        pids+=($!)
        wait_uapi "$ifn" || return 1
    done
    wg_configure "$s" "$c"
}

start_wireguard-go() {
    wg_keys
    local s="wgs$tag" c="wgc$tag"
    for side in s c; do
        local ns=$NS_S ifn=$s
        [[ $side == c ]] && ns=$NS_C ifn=$c
        WG_PROCESS_FOREGROUND=1 GOMAXPROCS=1 WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 \
            ip netns exec "$ns" wireguard-go "$ifn" >"$work/wireguard-go-$side.log" 2>&1 &
        pids+=($!)
        wait_uapi "$ifn" || return 1
    done
    wg_configure "$s" "$c"
}

start_openvpn() {
    # OpenVPN 2.6 peer-to-peer with TLS: self-signed certificates pinned by fingerprint (no CA),
    # data channel CHACHA20-POLY1305 (the static-key mode only offers CBC+HMAC ciphers and is
    # deprecated). Userspace data channel (--disable-dco), one process per end.
    local side
    for side in s c; do
        [[ -f $work/ovpn-$side.crt ]] && continue
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$work/ovpn-$side.key" -out "$work/ovpn-$side.crt" -days 2 -subj "/CN=ringtun-bench-$side" \
            >/dev/null 2>&1
    done
    local fp_s fp_c
    fp_s=$(openssl x509 -in "$work/ovpn-s.crt" -noout -fingerprint -sha256 | cut -d= -f2)
    fp_c=$(openssl x509 -in "$work/ovpn-c.crt" -noout -fingerprint -sha256 | cut -d= -f2)
    local common=(--dev-type tun --proto udp --tun-mtu "$TUN_MTU" --mssfix 0
        --data-ciphers CHACHA20-POLY1305 --disable-dco --verb 3 --ping 10 --ping-restart 60)
    ip netns exec "$NS_S" openvpn "${common[@]}" --dev "ovs$tag" --local "$UL_S" --lport 1194 \
        --tls-server --dh none --cert "$work/ovpn-s.crt" --key "$work/ovpn-s.key" --peer-fingerprint "$fp_c" \
        --ifconfig "$TUN_S" "$TUN_C" >"$work/openvpn-s.log" 2>&1 &
    pids+=($!)
    ip netns exec "$NS_C" openvpn "${common[@]}" --dev "ovc$tag" --remote "$UL_S" 1194 --nobind \
        --tls-client --cert "$work/ovpn-c.crt" --key "$work/ovpn-c.key" --peer-fingerprint "$fp_s" \
        --ifconfig "$TUN_C" "$TUN_S" >"$work/openvpn-c.log" 2>&1 &
    pids+=($!)
    TARGET=$TUN_S
    DEV_S=ovs$tag DEV_C=ovc$tag
}

stop_candidate() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    pids=()
    # Leftover interfaces (a killed daemon may leave its TUN device behind).
    for ifn in rts rtc "wgs$tag" "wgc$tag" "ovs$tag" "ovc$tag"; do
        ip -n "$NS_S" link del "$ifn" 2>/dev/null || true
        ip -n "$NS_C" link del "$ifn" 2>/dev/null || true
    done
    rm -f /var/run/wireguard/wgs"$tag".sock /var/run/wireguard/wgc"$tag".sock 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------
cpu_ticks() { # sum of utime+stime of the current tunnel processes
    local total=0 p fields
    for p in "${pids[@]}"; do
        [[ -r /proc/$p/stat ]] || continue
        fields=$(sed 's/^.*) //' "/proc/$p/stat")
        # after "pid (comm) ": state is field 1, utime field 12, stime field 13
        total=$((total + $(awk '{print $12 + $13}' <<<"$fields")))
    done
    echo "$total"
}

iperf() { # iperf OUTFILE ARGS...
    local out=$1; shift
    local _try
    for _try in 1 2 3; do
        if nsx "$NS_C" timeout $((dur + 30)) iperf3 -c "$TARGET" -p 5201 -t "$dur" --json "$@" >"$out" 2>/dev/null \
            && jq -e '.end.sum_received or .end.sum' "$out" >/dev/null 2>&1; then
            return 0
        fi
        # "server busy" right after the previous test: retry once the server is free.
        sleep 1
    done
    return 1
}

RESULTS="$work/results.tsv"   # candidate round tcp1 tcp4 udploss ping cpu_s_per_gb retrans
: >"$RESULTS"
PATHS="$work/ping-path.tsv"   # candidate round total stage1..stage7 (µs, medians of the round) n
: >"$PATHS"
STAGES=("client TUN → UDP" "veth" "server UDP → TUN" "kernel: ICMP reply"
    "server TUN → UDP" "veth" "client UDP → TUN")

# ping_path CANDIDATE ROUND: 200 idle pings under perf; for each echo request whose reply came
# back, the time between the eight points where it is seen: sent into the client's tunnel device,
# leaving veth-c as a datagram, arriving at veth-s, written to the server's tunnel device, the reply
# leaving that device, leaving veth-s, arriving at veth-c, written to the client's tunnel device.
ping_path() {
    local c=$1 r=$2
    [[ -n $DEV_C ]] || return 0
    if ! perf record -q -a -o "$work/ping-path.data" -e net:net_dev_xmit,net:netif_receive_skb -- \
        ip netns exec "$NS_C" ping -n -q -c 200 -i 0.05 -W 1 "$TARGET" >/dev/null 2>&1; then
        say "  $c round $r: perf record or ping failed: no ping-path figures for this round"
        return 0
    fi
    perf script -i "$work/ping-path.data" -F time,event,trace 2>/dev/null | awk -v c="$c" -v r="$r" \
        -v dc="$DEV_C" -v ds="$DEV_S" '
        BEGIN {
            want[0] = "net_dev_xmit " dc;       want[1] = "net_dev_xmit veth-c"
            want[2] = "netif_receive_skb veth-s"; want[3] = "netif_receive_skb " ds
            want[4] = "net_dev_xmit " ds;       want[5] = "net_dev_xmit veth-s"
            want[6] = "netif_receive_skb veth-c"; want[7] = "netif_receive_skb " dc
            k = -1
        }
        {
            t = $1; sub(":", "", t); ev = $2; sub("net:", "", ev); sub(":", "", ev)
            dev = ""; for (i = 3; i <= NF; i++) if ($i ~ /^dev=/) { dev = substr($i, 5) }
            key = ev " " dev
            if (key == want[0]) { k = 1; ts[0] = t; next }
            if (k > 0 && key == want[k]) { ts[k] = t; k++ }
            if (k == 8) {
                n++
                for (i = 1; i < 8; i++) d[i, n] = (ts[i] - ts[i - 1]) * 1e6
                d[0, n] = (ts[7] - ts[0]) * 1e6
                k = -1
            }
        }
        function med(i,   j, m, v, a, x, y, tmp) {
            m = 0
            for (j = 1; j <= n; j++) a[++m] = d[i, j]
            for (x = 2; x <= m; x++) { # insertion sort: n is 200 at most
                tmp = a[x]
                for (y = x - 1; y >= 1 && a[y] > tmp; y--) a[y + 1] = a[y]
                a[y + 1] = tmp
            }
            return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
        }
        END {
            if (n < 20) exit
            printf "%s\t%s", c, r; for (i = 0; i < 8; i++) printf "\t%.1f", med(i); printf "\t%d\n", n
        }' >>"$PATHS"
    rm -f "$work/ping-path.data"
    grep -q "^$c	$r	" "$PATHS" \
        || say "  $c round $r: fewer than 20 pings seen at all eight points: no ping-path figures"
    return 0
}

measure() { # measure CANDIDATE ROUND
    local c=$1 r=$2
    local d="$work/$c-r$r"
    mkdir -p "$d"
    # Idle ping RTT: median of 100 (on a shared VM a single wake-up can take milliseconds).
    local ping_ms
    ping_ms=$(nsx "$NS_C" ping -n -c 100 -i 0.05 -W 1 "$TARGET" 2>/dev/null \
        | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -g | awk '{a[NR]=$1} END {if (NR) print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "NA"}')
    # TCP, 1 stream, with the CPU of the tunnel processes.
    local t0 t1 tcp1=NA retr=NA cpu=NA bytes
    t0=$(cpu_ticks)
    if iperf "$d/tcp1.json"; then
        t1=$(cpu_ticks)
        tcp1=$(jq '.end.sum_received.bits_per_second / 1e9' "$d/tcp1.json")
        retr=$(jq '.end.sum_sent.retransmits // 0' "$d/tcp1.json")
        bytes=$(jq '.end.sum_received.bytes' "$d/tcp1.json")
        if ((${#pids[@]})); then
            cpu=$(awk -v t="$((t1 - t0))" -v hz="$CLK_TCK" -v b="$bytes" 'BEGIN { if (b > 0) printf "%.2f", (t / hz) / (b / 1e9); else print "NA" }')
        fi
    fi
    local tcp4=NA
    if iperf "$d/tcp4.json" -P 4; then tcp4=$(jq '.end.sum_received.bits_per_second / 1e9' "$d/tcp4.json"); fi
    local loss=NA
    if iperf "$d/udp.json" -u -b "$udp_rate" -l 1200; then
        loss=$(jq '(.end.sum_received // .end.sum).lost_percent' "$d/udp.json")
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$r" "$tcp1" "$tcp4" "$loss" "$ping_ms" "$cpu" "$retr" >>"$RESULTS"
    if ((ping_path)); then ping_path "$c" "$r"; fi
    say "  $c round $r: tcp1=${tcp1} Gbit/s tcp4=${tcp4} Gbit/s udp_loss=${loss}% ping=${ping_ms} ms cpu=${cpu} s/GB retr=${retr}"
}

declare -A failed=()
for c in "${cands[@]}"; do prepare_candidate "$c"; done

for ((r = 1; r <= rounds; r++)); do
    say "round $r of $rounds"
    for c in "${cands[@]}"; do
        [[ -n ${missing[$c]:-} ]] && continue
        say " $c: bringing the tunnel up"
        if ! "start_$c" || ! wait_ping "$TARGET" 20; then
            last=$(cat "$work/$c"-*.log 2>/dev/null | grep -v '^\s*$' | tail -n 1 | tr -d '|' | cut -c1-120 || true)
            failed[$c]="tunnel did not come up${last:+ (last log line: $last)}"
            say " $c: tunnel did not come up; last log lines (-k keeps all logs in the work directory):"
            tail -n 3 "$work/$c"-*.log 2>/dev/null >&2 || true
            stop_candidate
            continue
        fi
        measure "$c" "$r"
        stop_candidate
    done
done

# ---------------------------------------------------------------------------------------------
# Report: medians over rounds.
# ---------------------------------------------------------------------------------------------
median() { # median COLUMN CANDIDATE [FILE, default $RESULTS]
    awk -F'\t' -v c="$2" -v k="$1" '$1 == c && $k != "NA" && $k != "null" {print $k}' "${3:-$RESULTS}" | sort -g \
        | awk '{a[NR]=$1} END {if (NR == 0) print "NA"; else print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}
fmt() { # fmt VALUE DECIMALS
    [[ $1 == NA ]] && { echo "–"; return; }
    printf "%.${2}f" "$1"
}

table="$work/table.md"
{
    echo "ringtun tunnel benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, kernel $(uname -r); medians of $rounds round(s), iperf3 runs of $dur s, UDP offered $udp_rate; tunnel MTU $TUN_MTU over a 1500-byte veth"
    echo
    echo "| candidate | TCP 1 stream Gbit/s | TCP 4 streams Gbit/s | UDP loss % | ping ms | CPU s/GB | retransmits | cipher |"
    echo "|---|---|---|---|---|---|---|---|"
    for c in "${cands[@]}"; do
        if [[ -n ${missing[$c]:-} ]]; then
            echo "| $c | missing: ${missing[$c]} | | | | | | |"
            continue
        fi
        if ! grep -q "^$c	" "$RESULTS"; then
            echo "| $c | failed: ${failed[$c]:-no result} | | | | | | |"
            continue
        fi
        cpu=$(median 7 "$c")
        [[ $c == veth ]] && cpu_s="– (kernel)" || cpu_s=$(fmt "$cpu" 2)
        echo "| $c | $(fmt "$(median 3 "$c")" 2) | $(fmt "$(median 4 "$c")" 2) | $(fmt "$(median 5 "$c")" 2) | $(fmt "$(median 6 "$c")" 3) | $cpu_s | $(fmt "$(median 8 "$c")" 0) | ${cipher_of[$c]} |"
    done
    ratio() { # ratio COLUMN A B: median of A / median of B
        awk -v a="$(median "$1" "$2")" -v b="$(median "$1" "$3")" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "–"; else printf "%.2f", a / b }'
    }
    if grep -q "^ringtun	" "$RESULTS" && grep -q "^boringtun	" "$RESULTS"; then
        echo
        echo "ringtun / boringtun: TCP 1 stream $(ratio 3 ringtun boringtun)x, TCP 4 streams $(ratio 4 ringtun boringtun)x, CPU per GB $(ratio 7 ringtun boringtun)x (lower is better), ping $(ratio 6 ringtun boringtun)x"
    elif [[ " ${cands[*]} " == *" ringtun "* && " ${cands[*]} " == *" boringtun "* ]]; then
        echo
        echo "ringtun / boringtun: no ratio (one of them has no result)"
    fi
    if grep -q "^ringtun	" "$RESULTS" && grep -q "^ringtun-fallback	" "$RESULTS"; then
        echo
        echo "ringtun-fallback / ringtun: TCP 1 stream $(ratio 3 ringtun-fallback ringtun)x, TCP 4 streams $(ratio 4 ringtun-fallback ringtun)x, CPU per GB $(ratio 7 ringtun-fallback ringtun)x (lower is better), ping $(ratio 6 ringtun-fallback ringtun)x (lower is better)"
    fi
    if grep -q "^ringtun	" "$RESULTS" && grep -q "^ringtun-v3	" "$RESULTS"; then
        echo
        echo "ringtun / ringtun-v3 (this build against the x86-64-v3 build): TCP 1 stream $(ratio 3 ringtun ringtun-v3)x, TCP 4 streams $(ratio 4 ringtun ringtun-v3)x, CPU per GB $(ratio 7 ringtun ringtun-v3)x (lower is better), ping $(ratio 6 ringtun ringtun-v3)x (lower is better)"
    fi
    if ((ping_path)); then
        echo
        echo "Idle ping, where the round trip goes: µs between the points where the packet is seen (perf net tracepoints, 200 pings at 50 ms per round; medians of the rounds' medians)"
        echo
        printf '| candidate | round trip |'; for s in "${STAGES[@]}"; do printf ' %s |' "$s"; done; echo
        printf '|---|---|'; for s in "${STAGES[@]}"; do printf -- '---|'; done; echo
        for c in "${cands[@]}"; do
            grep -q "^$c	" "$PATHS" || continue
            printf '| %s |' "$c"
            for k in $(seq 3 10); do printf ' %s |' "$(fmt "$(median "$k" "$c" "$PATHS")" 0)"; done
            echo
        done
    fi
} >"$table"

echo
cat "$table"
[[ -n $out_file ]] && cp "$table" "$out_file" && say "table written to $out_file"
exit 0
