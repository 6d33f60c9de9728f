//! The backends the project runs on. CPU by default; CUDA behind the `cuda` cargo feature.
//!
//! ## Choice of the CPU backend (measured)
//! Workload: the encoder benchmark ([`crate::bench::encoder`]): all-MiniLM-L6-v2, 4 documents x
//! 512 tokens, median of 5 after 1 warm-up; forward on the inner backend, forward + backward on
//! `Autodiff`. Machine: 2 shared cores (load average 5-6 from other builds during the runs, so
//! absolute times are inflated; the backends were run interleaved, twice, in one window).
//!
//! | backend | forward (ms) | forward + backward (ms) | peak RSS (MiB) |
//! |---|---|---|---|
//! | burn-flex (default features: rayon + simd) | 3681 / 3484 | **9458 / 9214** | 1750 |
//! | burn-ndarray, no BLAS | 3438 / 3648 | 11425 / 10734 | 1798 |
//! | burn-ndarray + Debian OpenBLAS 0.3.21 (`OPENBLAS_CORETYPE=SapphireRapids`) | 3381 / 3351 | 12082 / 11982 | 1768 |
//!
//! Commands (see `tests/encoder_bench.rs`):
//! `cargo test --release --test it encoder_bench -- --ignored --nocapture flex` (and `ndarray`);
//! `OPENBLAS_CORETYPE=SapphireRapids cargo test --release --features openblas --test
//! encoder_bench -- --ignored --nocapture ndarray`.
//!
//! Forward times are within noise of each other; training (forward + backward) is 15-25 % faster
//! on burn-flex, so `Cpu` stays burn-flex and needs no system library. (Since session 3,
//! `crate::kernels` runs the encoder's attention, GELU, LayerNorm and the head's bilinear as
//! fused kernels on burn-flex; the table above predates them.) The `openblas` feature
//! exists only to reproduce the comparison. Not measured: burn-cpu (cubecl CPU) downloads an
//! LLVM bundle at build time, burn-tch needs libtorch, burn-candle is deprecated in 0.21.

/// The default CPU backend for inference and evaluation.
pub type Cpu = burn::backend::Flex;
/// The default CPU backend with automatic differentiation, for training.
pub type CpuAutodiff = burn::backend::Autodiff<Cpu>;

#[cfg(feature = "cuda")]
pub type Cuda = burn::backend::Cuda;
#[cfg(feature = "cuda")]
pub type CudaAutodiff = burn::backend::Autodiff<Cuda>;

/// A backend as people name it: `CPU (burn-flex, f32)`, `CUDA (burn-cuda, f32)`, with
/// `+ autodiff` for training backends; the Rust type path for any other backend.
pub fn describe<B: 'static>() -> String {
    let name = std::any::type_name::<B>();
    let base = if name.contains("burn_flex") {
        "CPU (burn-flex, f32)"
    } else if name.contains("burn_cuda") || name.contains("CudaRuntime") {
        "CUDA (burn-cuda, f32)"
    } else if name.contains("burn_wgpu") || name.contains("WgpuRuntime") {
        "WebGPU/Vulkan (burn-wgpu, f32)"
    } else if name.contains("burn_ndarray") {
        "CPU (burn-ndarray, f32)"
    } else {
        return name.to_string();
    };
    if name.contains("Autodiff") {
        format!("{base} + autodiff")
    } else {
        base.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backends_are_named_for_people() {
        assert_eq!(super::describe::<super::Cpu>(), "CPU (burn-flex, f32)");
        assert_eq!(
            super::describe::<super::CpuAutodiff>(),
            "CPU (burn-flex, f32) + autodiff"
        );
    }
}
