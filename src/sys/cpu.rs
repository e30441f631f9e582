//! Checks, at start, that the CPU has what this build was compiled for.
//!
//! The project builds for x86-64-v3 (AVX2 and friends: docs/DESIGN.md, "Crypto backends and build
//! flags"). On an older CPU such a binary would die of SIGILL somewhere; this turns that into a
//! one-line error. `is_x86_feature_detected!` cannot be used: it answers `true` at compile time
//! for features the build enables. So this reads CPUID itself.

/// The x86-64-v3 features this build needs and the CPU lacks, if any (empty: all present).
#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
pub fn missing_features() -> Vec<&'static str> {
    use core::arch::x86_64::{__cpuid_count, _xgetbv, CpuidResult};

    // Older Rust (1.85, the declared rust-version, among them) declares the CPUID intrinsics
    // unsafe, newer Rust safe: the block keeps both building, without a warning on either.
    #[allow(unused_unsafe)]
    fn cpuid(leaf: u32, sub_leaf: u32) -> CpuidResult {
        // SAFETY: CPUID exists on every x86-64 CPU; it only reads identification registers.
        unsafe { __cpuid_count(leaf, sub_leaf) }
    }

    let leaf1 = cpuid(1, 0);
    let leaf7 = cpuid(7, 0);
    let max_ext = cpuid(0x8000_0000, 0).eax;
    let ext1_ecx = if max_ext >= 0x8000_0001 {
        cpuid(0x8000_0001, 0).ecx
    } else {
        0
    };
    let bit = |reg: u32, n: u32| reg & (1 << n) != 0;

    let osxsave = bit(leaf1.ecx, 27);
    // XGETBV is only valid when the OS enabled XSAVE; bits 1 and 2: XMM and YMM state are saved.
    // SAFETY: XGETBV(0) is available because CPUID reported OSXSAVE just above.
    let ymm_saved = osxsave && unsafe { _xgetbv(0) } & 0b110 == 0b110;

    let checks = [
        ("AVX", bit(leaf1.ecx, 28) && ymm_saved),
        ("AVX2", bit(leaf7.ebx, 5) && ymm_saved),
        ("FMA", bit(leaf1.ecx, 12)),
        ("MOVBE", bit(leaf1.ecx, 22)),
        ("F16C", bit(leaf1.ecx, 29)),
        ("BMI1", bit(leaf7.ebx, 3)),
        ("BMI2", bit(leaf7.ebx, 8)),
        ("LZCNT", bit(ext1_ecx, 5)),
    ];
    checks
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(name, _)| *name)
        .collect()
}

/// Builds without AVX2 run on any CPU of their target.
#[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
pub fn missing_features() -> Vec<&'static str> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_machine_runs_this_build() {
        // The test binary itself was built with the same flags, so it could not have got here on a
        // CPU missing them; the check must agree.
        assert_eq!(super::missing_features(), Vec::<&str>::new());
    }
}
