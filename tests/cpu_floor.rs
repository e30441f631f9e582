//! The default build runs on every x86-64 CPU: the test binary of ringtun, run under QEMU's user
//! mode emulating older CPUs, generates a key, passes `ringtun selftest` (RFC 8439 vectors through
//! the data path's AEAD, with the backends that CPU gets), and starts without refusing; on an AVX2
//! CPU it knows that the x86-64-v3 build would be faster.
//!
//! - `qemu64`: the x86-64 baseline (SSE2, no SSSE3), the floor.
//! - `Westmere` (2010): SSE4.2 and AES-NI, no AVX.
//! - `Haswell` (2013): the first x86-64-v3 CPU (AVX2 without AVX-512).
//!
//! `qemu-x86_64` comes from Debian's `qemu-user` (`scripts/setup.sh`); if it is missing the tests
//! fail with that advice, never skip. No root needed.
#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use std::process::{Command, Output};

const RINGTUN: &str = env!("CARGO_BIN_EXE_ringtun");
const HINT: &str = "this CPU runs the faster x86-64-v3 build";

/// Runs the ringtun binary under `qemu-x86_64 -cpu <cpu>`.
fn under_qemu(cpu: &str, args: &[&str]) -> Output {
    match Command::new("qemu-x86_64")
        .args(["-cpu", cpu, RINGTUN])
        .args(args)
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("qemu-x86_64 is not installed: run sudo ./scripts/setup.sh (Debian: qemu-user)")
        }
        Err(e) => panic!("qemu-x86_64: {e}"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `ringtun selftest` passes under `cpu`; returns its stdout.
fn selftest_passes(cpu: &str) -> String {
    let out = under_qemu(cpu, &["selftest"]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "selftest under {cpu}: {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        text(&out.stderr)
    );
    assert!(
        stdout.starts_with("selftest: ok: RFC 8439 2.8.2, RFC 8439 A.5 ("),
        "{cpu}: {stdout}"
    );
    stdout
}

#[test]
fn older_cpus_take_the_sse2_path_and_pass_the_selftest() {
    for cpu in ["qemu64", "Westmere"] {
        let stdout = selftest_passes(cpu);
        assert!(
            stdout.contains("(ChaCha20 SSE2, Poly1305 portable, portable build)"),
            "{cpu}: {stdout}"
        );
        assert!(!stdout.contains(HINT), "{cpu}: {stdout}");
    }
}

#[test]
fn an_avx2_cpu_takes_the_avx2_path_and_hears_of_the_faster_build() {
    let stdout = selftest_passes("Haswell");
    assert!(
        stdout.contains("(ChaCha20 AVX2, Poly1305 portable, portable build)"),
        "{stdout}"
    );
    assert!(stdout.contains(HINT), "{stdout}");
}

#[test]
fn genkey_works_on_the_oldest_cpu() {
    for cpu in ["qemu64", "Westmere"] {
        let out = under_qemu(cpu, &["genkey"]);
        assert!(out.status.success(), "{cpu}: {}", text(&out.stderr));
        let key = text(&out.stdout);
        assert!(
            ringtun::core::keys::PrivateKey::from_base64(key.trim()).is_ok(),
            "{cpu}: not a key: {key:?}"
        );
    }
}

/// Starting the tunnel under each CPU: no CPU is refused. (The start then fails, as qemu-user has
/// no io_uring, in one line: the hint about the faster build comes only after a successful start;
/// `selftest` above shows which CPUs would get it.)
#[test]
fn starting_is_never_refused() {
    for cpu in ["qemu64", "Westmere", "Haswell"] {
        let out = under_qemu(
            cpu,
            &["-l", "1", "-k", "/nonexistent/ringtun-cpu-floor/key"],
        );
        let stderr = text(&out.stderr);
        let ours: Vec<&str> = stderr
            .lines()
            .filter(|line| line.starts_with("ringtun: "))
            .collect();
        assert_eq!(out.status.code(), Some(1), "{cpu}: {stderr}");
        assert_eq!(ours.len(), 1, "{cpu}: {stderr}");
        assert!(ours[0].starts_with("ringtun: error: "), "{cpu}: {stderr}");
        assert!(
            !stderr.contains("x86-64-v3 CPUs"),
            "{cpu} refused: {stderr}"
        );
    }
}
