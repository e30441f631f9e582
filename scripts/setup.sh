#!/usr/bin/env bash
# Installs what ringtun's tests, demo and fuzzing need, if missing. Idempotent; safe to run often.
#   sudo ./scripts/setup.sh            # tools for tests and demo (iperf3, iproute2, ping, and
#                                      # systemd-analyze, man, groff, setpriv, strace: tests/dist.rs;
#                                      # setcap: tests/privilege.rs;
#                                      # qemu-x86_64: tests/cpu_floor.rs) and the
#                                      # foreign WireGuard peers of the interop tests (wg, wg-quick,
#                                      # nft for their NAT and wg-quick's full tunnel,
#                                      # wireguard-go, boringtun-cli)
#   sudo ./scripts/setup.sh --fuzz     # also the nightly toolchain check and cargo-fuzz
#   sudo ./scripts/setup.sh --no-wireguard  # without the WireGuard peers (enough for the demo)
# Exits non-zero with a clear message if something cannot be had.
# boringtun-cli is built from crates.io into cargo's bin directory, ${CARGO_HOME:-~/.cargo}/bin,
# which outlives clean clones; tests/wg_peer/tools.rs and benches/tunnel.sh look for it there.
set -euo pipefail

want_fuzz=0
want_wireguard=1
for arg in "$@"; do
    case "$arg" in
        --fuzz) want_fuzz=1 ;;
        --no-wireguard) want_wireguard=0 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "setup.sh: unknown option: $arg" >&2; exit 2 ;;
    esac
done

say() { echo "setup: $*"; }
die() { echo "setup: error: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (TUN devices and network namespaces need CAP_NET_ADMIN): sudo $0"

# Debian packages: command -> package.
declare -A pkg_of=(
    [ip]=iproute2
    [tc]=iproute2
    [ping]=iputils-ping
    [iperf3]=iperf3
    # tests/dist.rs: the systemd unit (verify, security), the man page (man --warnings), and a
    # server started as the unit starts it (setpriv), the system calls of a run (strace).
    [systemd-analyze]=systemd
    [man]=man-db
    [groff]=groff-base
    [setpriv]=util-linux
    [strace]=strace
    # tests/privilege.rs: a file-capability copy of the binary must refuse other users (setcap,
    # getcap).
    [setcap]=libcap2-bin
    [getcap]=libcap2-bin
    # tests/cpu_floor.rs: the default build under emulated older CPUs (qemu-x86_64 -cpu Westmere).
    [qemu-x86_64]=qemu-user
)
if ((want_wireguard)); then
    # nft: the interop tests' NAT (a client whose mapping changes), and wg-quick's rules for a
    # full tunnel (without nft it falls back to iptables-restore).
    pkg_of+=([wg]=wireguard-tools [wg-quick]=wireguard-tools [wireguard-go]=wireguard-go [nft]=nftables)
fi
missing=()
for cmd in "${!pkg_of[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkg_of[$cmd]}")
done
if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them; install them by hand"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update failed"
    # iperf3's postinst asks whether to start a daemon; answer no.
    echo "iperf3 iperf3/start_daemon boolean false" | debconf-set-selections 2>/dev/null || true
    apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null || die "apt-get install ${missing[*]} failed"
    for cmd in "${!pkg_of[@]}"; do
        command -v "$cmd" >/dev/null 2>&1 || die "$cmd still missing after installing ${pkg_of[$cmd]}"
    done
else
    say "$(printf '%s\n' "${pkg_of[@]}" | sort -u | paste -sd ' '): present"
fi

# The kernel side: a TUN device node, and network namespaces.
if [[ ! -c /dev/net/tun ]]; then
    modprobe tun 2>/dev/null || true
    if [[ ! -c /dev/net/tun ]]; then
        mkdir -p /dev/net
        mknod /dev/net/tun c 10 200 2>/dev/null && chmod 0666 /dev/net/tun || true
    fi
    [[ -c /dev/net/tun ]] || die "/dev/net/tun is missing and could not be created (kernel without CONFIG_TUN, or a container without the device)"
fi
say "/dev/net/tun: present"

command -v cargo >/dev/null 2>&1 || die "cargo not found in PATH (install Rust with rustup; under sudo keep PATH: sudo env PATH=\"\$PATH\" $0)"
say "cargo: $(cargo --version)"

if ((want_wireguard)); then
    # boringtun-cli, pinned: the version the interop tests and docs/BENCHMARKS.md were written
    # against.
    boringtun_version=0.7.1
    cargo_root=${CARGO_HOME:-$HOME/.cargo}
    boringtun=$cargo_root/bin/boringtun-cli
    if [[ ! -x $boringtun ]]; then
        say "installing boringtun-cli $boringtun_version into $cargo_root/bin (cargo install --locked; a few minutes)"
        cargo install boringtun-cli --version "$boringtun_version" --locked --root "$cargo_root" \
            || die "cargo install boringtun-cli --version $boringtun_version --locked failed (the interop tests need it)"
    fi
    # The WireGuard peers must run, not just exist (wireguard-go: its version is the first line).
    wg_version=$(wg --version 2>&1) || die "wg --version failed: $wg_version"
    wg_go_version=$(wireguard-go --version 2>&1) && [[ $wg_go_version == wireguard-go* ]] \
        || die "wireguard-go --version failed: $wg_go_version"
    wg_go_version=${wg_go_version%%$'\n'*}
    boringtun_got=$("$boringtun" --version 2>&1) \
        || die "$boringtun --version failed: $boringtun_got (reinstall: cargo install boringtun-cli --version $boringtun_version --locked --force --root $cargo_root)"
    say "${wg_version%% - *}, $wg_go_version, $boringtun_got ($boringtun)"
fi

if ((want_fuzz)); then
    command -v rustup >/dev/null 2>&1 || die "rustup not found: fuzzing needs a nightly toolchain (rustup toolchain install nightly)"
    if ! rustup toolchain list | grep -q nightly; then
        die "no nightly toolchain: fuzzing needs one (rustup toolchain install nightly)"
    fi
    say "nightly toolchain: present"
    if ! cargo fuzz --help >/dev/null 2>&1; then
        say "installing cargo-fuzz (cargo install cargo-fuzz --locked)"
        cargo install cargo-fuzz --locked || die "cargo install cargo-fuzz failed"
    fi
    say "cargo-fuzz: present"
fi
say "ok"
