//! What this CPU offers, set against what this build was compiled for; read once at start.
//!
//! x86_64 has two builds (docs/DESIGN.md, "Crypto backends and build flags"). The default one runs
//! on every x86-64 CPU: the crypto crates pick their SIMD backends at run time. The x86-64-v3 one
//! ([`X86_64_V3_RUSTFLAGS`]) is faster per packet but uses AVX2 and friends in every function, so
//! on an older CPU it would die of SIGILL somewhere: [`exit_if_x86_64_v3_missing`] turns that
//! into one line. [`faster_build_hint`] is what the default build says once, when the tunnel is
//! up, on a CPU that would run the faster one.
//!
//! CPUID is read here rather than with `is_x86_feature_detected!`, which answers `true` at compile
//! time for the features a build enables: the very ones a v3 build has to check.

/// Whether this binary was compiled for x86-64-v3 (AVX2 and the rest allowed in every function).
pub const BUILT_FOR_X86_64_V3: bool = cfg!(all(target_arch = "x86_64", target_feature = "avx2"));

/// The `RUSTFLAGS` of the x86-64-v3 build (README, "Install"). They replace the portable flags of
/// `.cargo/config.toml`, so they repeat `chacha20_avx512`.
pub const X86_64_V3_RUSTFLAGS: &str = "-C target-cpu=x86-64-v3 --cfg chacha20_avx512";

/// The CPU features that decide which build fits and which backends the crypto crates pick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cpu {
    /// The x86-64-v3 features this CPU lacks (empty: it runs the x86-64-v3 build).
    pub missing_v3: Vec<&'static str>,
    /// AVX2, with YMM state saved by the OS.
    pub avx2: bool,
    /// AVX-512 F and VL, with opmask and ZMM state saved by the OS.
    pub avx512: bool,
}

/// How this build suits this CPU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildFit {
    /// Nothing to say: this build runs here, and no faster one would.
    Best,
    /// The portable build on a CPU that would run the faster x86-64-v3 build.
    FasterBuildFits,
    /// The x86-64-v3 build on a CPU that lacks these features: it cannot run here.
    Unsupported(Vec<&'static str>),
}

impl Cpu {
    /// How this build suits this CPU.
    pub fn build_fit(&self) -> BuildFit {
        fit(BUILT_FOR_X86_64_V3, &self.missing_v3)
    }

    /// The ChaCha20 backend `chacha20` 0.10 picks here, by its own rules (`src/backends.rs`, with
    /// `--cfg chacha20_avx512` from `.cargo/config.toml`): AVX-512, else AVX2, else SSE2, which
    /// every x86-64 CPU has. Said by `ringtun selftest`, so a run under an emulated CPU shows
    /// which path it checked.
    pub fn chacha20_backend(&self) -> &'static str {
        if !cfg!(target_arch = "x86_64") {
            "portable"
        } else if cfg!(chacha20_avx512) && self.avx512 {
            "AVX-512"
        } else if self.avx2 {
            "AVX2"
        } else {
            "SSE2"
        }
    }

    /// The Poly1305 backend `poly1305` 0.9 picks here: the portable one when built with
    /// `--cfg poly1305_backend="soft"` (the default build), else AVX2 if the CPU has it.
    pub fn poly1305_backend(&self) -> &'static str {
        if cfg!(target_arch = "x86_64") && !cfg!(poly1305_backend = "soft") && self.avx2 {
            "AVX2"
        } else {
            "portable"
        }
    }
}

/// The line to log once the tunnel is up, in the portable build on a CPU that would run the
/// faster x86-64-v3 build; `None` otherwise.
pub fn faster_build_hint() -> Option<String> {
    (detect().build_fit() == BuildFit::FasterBuildFits).then(|| {
        format!(
            "this CPU runs the faster x86-64-v3 build: RUSTFLAGS='{X86_64_V3_RUSTFLAGS}' cargo \
             build --release (README, Install)"
        )
    })
}

fn fit(built_for_v3: bool, missing_v3: &[&'static str]) -> BuildFit {
    match (built_for_v3, missing_v3.is_empty()) {
        (true, true) | (false, false) => BuildFit::Best,
        (true, false) => BuildFit::Unsupported(missing_v3.to_vec()),
        (false, true) => BuildFit::FasterBuildFits,
    }
}

/// The x86-64-v3 features checked, by bit of [`Raw::missing_v3`].
const V3_FEATURES: [&str; 8] = [
    "AVX", "AVX2", "FMA", "MOVBE", "F16C", "BMI1", "BMI2", "LZCNT",
];

/// The features as CPUID reports them, in plain integers (see [`exit_if_x86_64_v3_missing`]).
#[derive(Clone, Copy)]
struct Raw {
    /// Bit `i` set: `V3_FEATURES[i]` is missing.
    missing_v3: u32,
    avx2: bool,
    avx512: bool,
}

/// Reads this CPU's features.
pub fn detect() -> Cpu {
    let raw = read();
    Cpu {
        missing_v3: V3_FEATURES
            .iter()
            .enumerate()
            .filter(|(i, _)| raw.missing_v3 & 1 << i != 0)
            .map(|(_, name)| *name)
            .collect(),
        avx2: raw.avx2,
        avx512: raw.avx512,
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn read() -> Raw {
    use core::arch::x86_64::{__cpuid_count, _xgetbv, CpuidResult};

    // Older Rust (1.85, the declared rust-version, among them) declares the CPUID intrinsics
    // unsafe, newer Rust safe: the block keeps both building, without a warning on either.
    #[allow(unused_unsafe)]
    #[inline(always)]
    fn cpuid(leaf: u32, sub_leaf: u32) -> CpuidResult {
        // SAFETY: CPUID exists on every x86-64 CPU; it only reads identification registers.
        unsafe { __cpuid_count(leaf, sub_leaf) }
    }

    let max_leaf = cpuid(0, 0).eax;
    let leaf1_ecx = cpuid(1, 0).ecx;
    let leaf7_ebx = if max_leaf >= 7 { cpuid(7, 0).ebx } else { 0 };
    let max_ext = cpuid(0x8000_0000, 0).eax;
    let ext1_ecx = if max_ext >= 0x8000_0001 {
        cpuid(0x8000_0001, 0).ecx
    } else {
        0
    };
    let bit = |reg: u32, n: u32| reg & (1 << n) != 0;

    // XGETBV is only valid when the OS enabled XSAVE; XCR0 says which register state it saves.
    let xcr0 = if bit(leaf1_ecx, 27) {
        // SAFETY: XGETBV(0) is available because CPUID reported OSXSAVE just above.
        unsafe { _xgetbv(0) }
    } else {
        0
    };
    // XMM and YMM (bits 1, 2); for AVX-512 also opmask, ZMM_Hi256 and Hi16_ZMM (bits 5, 6, 7).
    let ymm_saved = xcr0 & 0b110 == 0b110;
    let zmm_saved = ymm_saved && xcr0 & 0b1110_0000 == 0b1110_0000;

    let avx2 = bit(leaf7_ebx, 5) && ymm_saved;
    // In the order of V3_FEATURES.
    let missing_v3 = u32::from(!(bit(leaf1_ecx, 28) && ymm_saved))
        | u32::from(!avx2) << 1
        | u32::from(!bit(leaf1_ecx, 12)) << 2
        | u32::from(!bit(leaf1_ecx, 22)) << 3
        | u32::from(!bit(leaf1_ecx, 29)) << 4
        | u32::from(!bit(leaf7_ebx, 3)) << 5
        | u32::from(!bit(leaf7_ebx, 8)) << 6
        | u32::from(!bit(ext1_ecx, 5)) << 7;
    Raw {
        missing_v3,
        avx2,
        avx512: bit(leaf7_ebx, 16) && bit(leaf7_ebx, 31) && zmm_saved,
    }
}

/// Other targets have one build, which runs on any CPU of the target.
#[cfg(not(target_arch = "x86_64"))]
fn read() -> Raw {
    Raw {
        missing_v3: 0,
        avx2: false,
        avx512: false,
    }
}

/// In the x86-64-v3 build, on a CPU without all of x86-64-v3: says so in one line on stderr and
/// exits with status 1, instead of dying of SIGILL somewhere. `main` calls it first.
///
/// Everything in that build may use AVX, std's formatting and allocation too (fat LTO compiles
/// them again with the build's flags; a first version of this check died in `str::join` on a
/// Westmere), so this keeps to CPUID, integer bit tests and raw write(2) and _exit(2) calls
/// (checked under `qemu-x86_64 -cpu Westmere` and `-cpu qemu64`).
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
#[inline(never)]
pub fn exit_if_x86_64_v3_missing() {
    let missing = read().missing_v3;
    if missing == 0 {
        return;
    }
    write_stderr(b"ringtun: error: this build is for x86-64-v3 CPUs and this one lacks");
    let mut separator: &[u8] = b" ";
    for (i, name) in V3_FEATURES.iter().enumerate() {
        if missing & 1 << i != 0 {
            write_stderr(separator);
            write_stderr(name.as_bytes());
            separator = b", ";
        }
    }
    write_stderr(
        b": use the default build, which runs on any x86-64 (cargo build --release, without \
          RUSTFLAGS)\n",
    );
    // SAFETY: _exit(2) ends the process at once; nothing is buffered or needs unwinding, and
    // no other thread exists yet.
    unsafe { libc::_exit(1) }
}

/// The portable build runs on every x86-64 CPU: nothing to refuse.
#[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
pub fn exit_if_x86_64_v3_missing() {}

#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
fn write_stderr(bytes: &[u8]) {
    // SAFETY: write(2) reads at most `bytes.len()` bytes from a live slice. A short or failed
    // write loses part of a message about to end the process; there is nothing better to do.
    unsafe { libc::write(libc::STDERR_FILENO, bytes.as_ptr().cast(), bytes.len()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_refuses_only_a_v3_build_on_an_older_cpu_and_hints_only_in_the_portable_build() {
        assert_eq!(fit(true, &[]), BuildFit::Best);
        assert_eq!(
            fit(true, &["AVX2", "BMI2"]),
            BuildFit::Unsupported(vec!["AVX2", "BMI2"])
        );
        assert_eq!(fit(false, &[]), BuildFit::FasterBuildFits);
        assert_eq!(fit(false, &["AVX", "AVX2"]), BuildFit::Best);
    }

    /// Each feature as read from CPUID agrees with std's own detection. In the portable build std
    /// detects at run time, so this checks the bit positions and the XCR0 handling; in the v3
    /// build std answers `true` for the v3 features, and so must the CPU that runs the test.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn cpuid_reading_agrees_with_std() {
        let cpu = detect();
        for name in [
            "AVX", "AVX2", "FMA", "MOVBE", "F16C", "BMI1", "BMI2", "LZCNT",
        ] {
            let present = std_detects(&name.to_ascii_lowercase());
            assert_eq!(!cpu.missing_v3.contains(&name), present, "{name}");
        }
        assert_eq!(cpu.avx2, std::is_x86_feature_detected!("avx2"));
        assert_eq!(
            cpu.avx512,
            std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vl")
        );
    }

    /// The machine running the tests gets the ChaCha20 backend its CPU supports (AVX2 where it
    /// has AVX2, AVX-512 where it has that too) and the build advice that follows from it. This
    /// also guards the `--cfg`s of `.cargo/config.toml` (a `RUSTFLAGS` replaces them): without
    /// `chacha20_avx512` an AVX-512 CPU would get AVX2, and the portable build is only fast with
    /// the portable Poly1305 (docs/DESIGN.md).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn this_machine_gets_its_best_backend_and_build_advice() {
        let cpu = detect();
        let avx512 =
            std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vl");
        let expected_chacha = if avx512 {
            "AVX-512"
        } else if std::is_x86_feature_detected!("avx2") {
            "AVX2"
        } else {
            "SSE2"
        };
        assert_eq!(cpu.chacha20_backend(), expected_chacha);
        if BUILT_FOR_X86_64_V3 {
            // This test binary has the same flags, so it could not have got here on a CPU
            // missing them.
            assert_eq!(cpu.build_fit(), BuildFit::Best);
            assert_eq!(faster_build_hint(), None);
            assert_eq!(cpu.poly1305_backend(), "AVX2");
        } else {
            let v3_cpu = [
                "avx", "avx2", "fma", "movbe", "f16c", "bmi1", "bmi2", "lzcnt",
            ]
            .iter()
            .all(|name| std_detects(name));
            let expected = if v3_cpu {
                BuildFit::FasterBuildFits
            } else {
                BuildFit::Best
            };
            assert_eq!(cpu.build_fit(), expected);
            assert_eq!(faster_build_hint().is_some(), v3_cpu);
            assert_eq!(cpu.poly1305_backend(), "portable");
        }
    }

    #[cfg(target_arch = "x86_64")]
    fn std_detects(name: &str) -> bool {
        match name {
            "avx" => std::is_x86_feature_detected!("avx"),
            "avx2" => std::is_x86_feature_detected!("avx2"),
            "fma" => std::is_x86_feature_detected!("fma"),
            "movbe" => std::is_x86_feature_detected!("movbe"),
            "f16c" => std::is_x86_feature_detected!("f16c"),
            "bmi1" => std::is_x86_feature_detected!("bmi1"),
            "bmi2" => std::is_x86_feature_detected!("bmi2"),
            "lzcnt" => std::is_x86_feature_detected!("lzcnt"),
            _ => false,
        }
    }
}
