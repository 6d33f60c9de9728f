//! Branch-free `exp` and Gaussian CDF for the fused kernels, written so that the compiler turns
//! loops over slices into SIMD code (libm's `expf`/`erff` are scalar calls: 9 % of the training
//! step's CPU time in `perf` before these kernels).
//!
//! [`simd_fn!`] compiles a loop body for AVX-512, AVX2+FMA and the baseline, and picks one at
//! run time by CPU feature detection, capped by `ATLOP_SIMD` ([`simd_level`]).

use std::sync::OnceLock;

/// The instruction sets [`simd_fn!`] compiles for, narrowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SimdLevel {
    /// x86-64's baseline (SSE2), and every other architecture.
    Baseline,
    /// AVX2 + FMA.
    Avx2,
    /// AVX-512 F + VL (with AVX2 + FMA).
    Avx512,
}

impl SimdLevel {
    /// The level an `ATLOP_SIMD` value names (`avx512`, `avx2`, `baseline`).
    fn named(name: &str) -> Option<Self> {
        match name {
            "avx512" => Some(Self::Avx512),
            "avx2" => Some(Self::Avx2),
            "baseline" => Some(Self::Baseline),
            _ => None,
        }
    }
}

/// The widest level this CPU runs, lowered by `ATLOP_SIMD=avx2` or `ATLOP_SIMD=baseline`: on an
/// AVX-512 machine that runs (and tests) the kernels' AVX2 and baseline code, which the machines
/// without AVX-512 take. (`gemm`'s products keep their own detection.) Read once.
pub fn simd_level() -> SimdLevel {
    static LEVEL: OnceLock<SimdLevel> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let cap = match std::env::var("ATLOP_SIMD").as_deref() {
            Err(_) | Ok("") => SimdLevel::Avx512,
            Ok(name) => SimdLevel::named(name).unwrap_or_else(|| {
                eprintln!(
                    "warning: ATLOP_SIMD={name:?} is not one of avx512, avx2, baseline: ignored"
                );
                SimdLevel::Avx512
            }),
        };
        detected_level().min(cap)
    })
}

fn detected_level() -> SimdLevel {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            return SimdLevel::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return SimdLevel::Avx2;
        }
    }
    SimdLevel::Baseline
}

/// `exp(x)` for f32, relative error below 3e-7 on [-87.3, 88]; 0 below (where the true value is
/// subnormal), +inf above 88 (the true value is within 2^2 of f32::MAX up to 88.7).
/// Cephes' `expf`: `x = n ln2 + r`, `|r| <= ln2 / 2`, degree-6 polynomial for `e^r`, `2^n` by
/// building the exponent bits.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Round to nearest by adding and removing 1.5 * 2^23 (exact for |v| < 2^22): plain
    // arithmetic, so it vectorises on every x86-64 (`f32::round` is a libm call before SSE4.1).
    const ROUND: f32 = 12_582_912.0;
    let clamped = x.clamp(-87.3, 88.0);
    let shifted = clamped * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = clamped - n * LN2_HI - n * LN2_LO;
    // Plain `a * b + c`, not `mul_add`: without FMA in the target, `mul_add` is a library call.
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    // `n` as an integer, read from `shifted`'s low mantissa bits (`shifted` = 1.5 * 2^23 + n,
    // |n| <= 127): integer lanes. `n as i32` is a saturating conversion, which the compiler
    // does one lane at a time (scalar convert, compare, select): it was most of a softmax row.
    let n_int = shifted.to_bits() as i32 - ROUND.to_bits() as i32;
    let scale = f32::from_bits(((n_int + 127) as u32) << 23);
    let y = e_r * scale;
    if x < -87.3 {
        0.0
    } else if x > 88.0 {
        f32::INFINITY
    } else {
        y
    }
}

/// `(Phi(x), phi(x))`: the standard normal CDF and density, absolute errors below 3e-7 and 1e-7.
/// `erfc` by Abramowitz & Stegun 7.1.26 on `|x| / sqrt 2`, so the lower tail keeps its
/// relative accuracy (no `1 - erf` cancellation).
#[inline(always)]
pub fn normal_cdf_pdf(x: f32) -> (f32, f32) {
    const P: f32 = 0.327_591_1;
    const A: [f32; 5] = [
        0.254_829_6,
        -0.284_496_74,
        1.421_413_7,
        -1.453_152_1,
        1.061_405_4,
    ];
    let z = x.abs() * std::f32::consts::FRAC_1_SQRT_2;
    let t = 1.0 / (P * z + 1.0);
    let poly = ((((A[4] * t + A[3]) * t + A[2]) * t + A[1]) * t + A[0]) * t;
    let gauss = exp(-z * z); // exp(-x^2 / 2)
    let upper_tail = 0.5 * poly * gauss; // P(X > |x|)
    let cdf = if x < 0.0 {
        upper_tail
    } else {
        1.0 - upper_tail
    };
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    (cdf, gauss * INV_SQRT_2PI)
}

/// Lanes of the reductions below: independent partial results, so the compiler may keep them
/// in vector registers (a single running float total must be added in order, one at a time).
const LANES: usize = 16;

/// Reduces `values` lane-wise with `op` (starting from `init`), then the lanes together.
#[inline(always)]
fn reduce(values: &[f32], init: f32, op: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [init; LANES];
    let chunks = values.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            *lane = op(*lane, *v);
        }
    }
    let total = tail.iter().fold(init, |acc, v| op(acc, *v));
    lanes.iter().fold(total, |acc, v| op(acc, *v))
}

/// Sum of `values` (lane-wise order).
#[inline(always)]
pub fn sum(values: &[f32]) -> f32 {
    reduce(values, 0.0, |a, b| a + b)
}

/// Largest of `values`, `-inf` when empty.
#[inline(always)]
pub fn max(values: &[f32]) -> f32 {
    reduce(values, f32::NEG_INFINITY, |a, b| if b > a { b } else { a })
}

/// Defines a function whose body is compiled three times (AVX-512, AVX2 + FMA, baseline
/// x86-64) and runs the version of [`simd_level`] (read at each call: a cached value). The
/// body is a plain loop over slices; the compiler vectorises it for each target.
/// (A closure handed to a `#[target_feature]` function is not reliably inlined into it, and
/// then runs as baseline code; a named `#[inline(always)]` body is.)
macro_rules! simd_fn {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx512($($arg: $ty),*) {
                    body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx2($($arg: $ty),*) {
                    body($($arg),*)
                }
                match $crate::kernels::math::simd_level() {
                    // SAFETY: `simd_level` never exceeds what the CPU has: the features
                    // `avx512` is compiled for.
                    $crate::kernels::math::SimdLevel::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above, for `avx2`.
                    $crate::kernels::math::SimdLevel::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::kernels::math::SimdLevel::Baseline => {}
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use simd_fn;

#[cfg(test)]
mod tests {
    use super::*;

    /// The fused kernels' tests again in child processes capped at AVX2 and at the baseline
    /// (`ATLOP_SIMD`): on an AVX-512 machine their narrower code runs nowhere else.
    #[test]
    fn kernel_tests_pass_at_every_narrower_simd_level() {
        if let Ok(cap) = std::env::var("ATLOP_SIMD") {
            // A child (or a caller's own cap): check that the cap took effect.
            let want = SimdLevel::named(&cap).unwrap_or(SimdLevel::Avx512);
            assert!(
                simd_level() <= want,
                "{:?} under ATLOP_SIMD={cap}",
                simd_level()
            );
            eprintln!("ATLOP_SIMD={cap} is set: the narrower levels are not run again");
            return;
        }
        let exe = std::env::current_exe().unwrap();
        for cap in ["avx2", "baseline"] {
            let out = std::process::Command::new(&exe)
                .args(["kernels::", "--test-threads=2"])
                .env("ATLOP_SIMD", cap)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "ATLOP_SIMD={cap}:\n{text}");
            assert!(
                text.contains("test result: ok"),
                "ATLOP_SIMD={cap}:\n{text}"
            );
        }
    }

    #[test]
    fn reductions_cover_every_element() {
        let values: Vec<f32> = (0..37).map(|i| (i as f32 - 20.0) * 0.5).collect();
        assert_eq!(sum(&values), values.iter().sum::<f32>());
        assert_eq!(max(&values), 8.0);
        assert_eq!(max(&[]), f32::NEG_INFINITY);
    }

    #[test]
    fn exp_matches_the_standard_library() {
        for i in -890..=900 {
            let x = i as f32 * 0.0973;
            let (got, want) = (exp(x), x.exp());
            assert!(
                ((got - want) / want).abs() < 3e-7,
                "exp({x}) = {got}, std gives {want}"
            );
        }
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(100.0), f32::INFINITY);
    }

    #[test]
    fn normal_cdf_and_pdf_match_the_definitions() {
        for i in -800..=800 {
            let x = i as f64 * 0.01;
            let (cdf, pdf) = normal_cdf_pdf(x as f32);
            let want_cdf = 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
            let want_pdf = (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
            assert!(
                (cdf as f64 - want_cdf).abs() < 3e-7,
                "Phi({x}) = {cdf}, want {want_cdf}"
            );
            assert!(
                (pdf as f64 - want_pdf).abs() < 1e-7,
                "phi({x}) = {pdf}, want {want_pdf}"
            );
        }
    }
}
