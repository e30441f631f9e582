#!/usr/bin/env bash
# Runs ringtun's whole test suite: library unit tests and the real-tunnel integration tests
# (network namespaces, veth pairs, TUN devices), so it needs root. Without arguments the tunnel
# tests then run a second time with RINGTUN_FORCE_FALLBACK=1: ringtun without the io_uring
# features newer than Linux 6.1 (docs/DESIGN.md, "Kernel versions"), as on Debian 12.
#   sudo ./scripts/test.sh                 # everything, then the tunnel tests on the fallbacks
#   sudo ./scripts/test.sh -- tunnel_ping  # extra arguments go to `cargo test` (one pass)
#   sudo ./scripts/test.sh --test tunnel -- --nocapture
#   sudo RINGTUN_FORCE_FALLBACK=1 ./scripts/test.sh --test tunnel   # only the fallback pass
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "test.sh: error: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "the integration tests create network namespaces and TUN devices and need root: run \`sudo ./scripts/test.sh\`"

./scripts/setup.sh

# Test namespaces are named rt-<pid>-<n>-{s,c}; remove those left by a test process that is gone
# (killed before its Drop guards ran). Namespaces of a live test run are left alone.
stale=0
while read -r ns _; do
    [[ $ns =~ ^rt-([0-9]+)-[0-9]+-[a-z]+$ ]] || continue
    pid=${BASH_REMATCH[1]}
    if ! kill -0 "$pid" 2>/dev/null; then
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null && stale=$((stale + 1)) || true
    fi
done < <(ip netns list 2>/dev/null)
((stale == 0)) || echo "test.sh: removed $stale stale test namespace(s)"
# Scratch dirs (keys, logs) of test processes that are gone.
for d in "${TMPDIR:-/tmp}"/ringtun-test-*; do
    [[ -d $d && $d =~ ringtun-test-([0-9]+)-[0-9]+$ ]] || continue
    kill -0 "${BASH_REMATCH[1]}" 2>/dev/null || rm -rf "$d"
done

# The second pass, unless arguments chose what to run or the first pass is on the fallbacks already.
fallback_pass=0
[[ $# -eq 0 && ${RINGTUN_FORCE_FALLBACK:-0} == 0 ]] && fallback_pass=1
if [[ $# -gt 0 && $1 == -- ]]; then shift; fi
# Tests that need root are `#[ignore = "needs root"]`, so that a plain `cargo test` passes without
# root; here they run too (--include-ignored, given to the test binaries after the caller's own
# `--` if there is one). Nothing else is ignored: measurements live in benches/.
args=()
separated=0
for a in "$@"; do
    args+=("$a")
    if [[ $a == -- ]] && ((!separated)); then
        args+=(--include-ignored)
        separated=1
    fi
done
((separated)) || args+=(-- --include-ignored)
echo "test.sh: cargo test --all-targets --no-fail-fast ${args[*]}"
status=0
cargo test --all-targets --no-fail-fast "${args[@]}" || status=$?
if ((fallback_pass)); then
    echo
    echo "test.sh: ======== the tunnel tests again, without the io_uring features newer than Linux 6.1 ========"
    echo "test.sh: RINGTUN_FORCE_FALLBACK=1 cargo test --test tunnel --no-fail-fast -- --include-ignored"
    RINGTUN_FORCE_FALLBACK=1 cargo test --test tunnel --no-fail-fast -- --include-ignored || status=$?
fi
exit "$status"
