//! The PyTorch parity tests (encoder, head, a whole document) again in child processes whose
//! fused kernels are capped at AVX2 and at the x86-64 baseline (`ATLOP_SIMD`,
//! `atlop::kernels::math::simd_level`). On an AVX-512 machine the kernels' narrower code runs
//! nowhere else, and it is the code that machines without AVX-512 take.

use std::process::Command;

/// The modules re-run: every fixture the fused kernels touch.
const PARITY: [&str; 3] = ["encoder_parity", "head_parity", "model_end_to_end"];

#[test]
fn parity_holds_with_the_kernels_capped_at_avx2_and_at_the_baseline() {
    if let Ok(cap) = std::env::var("ATLOP_SIMD") {
        eprintln!("ATLOP_SIMD={cap} is set: this process is already capped; not nesting");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    for cap in ["avx2", "baseline"] {
        let out = Command::new(&exe)
            .args(PARITY)
            .arg("--test-threads=2")
            .env("ATLOP_SIMD", cap)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let errors = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "ATLOP_SIMD={cap}:\n{text}\n{errors}");
        // Guards against a filter that matched nothing.
        let passed: usize = text
            .lines()
            .filter_map(|l| l.strip_prefix("test result: ok. "))
            .filter_map(|l| l.split(' ').next()?.parse::<usize>().ok())
            .sum();
        assert!(
            passed >= PARITY.len(),
            "ATLOP_SIMD={cap}: {passed} passed\n{text}"
        );
    }
}
