//! The backends the project runs on. CPU by default; CUDA behind the `cuda` cargo feature.
//!
//! ## Choice of the CPU backend (measured)
//! burn-flex, burn-ndarray without BLAS and burn-ndarray with Debian's OpenBLAS were timed on the
//! encoder benchmark ([`crate::bench::encoder`]: all-MiniLM-L6-v2, 4 x 512 tokens) on a 2-core
//! host: forward passes were within noise of each other, forward + backward 15-25 % faster on
//! burn-flex, so `Cpu` is burn-flex and needs no system library. That comparison predates the
//! fused kernels of [`crate::kernels`] (which run on burn-flex only), so its figures are not
//! repeated here; the README's "Benchmarks" section has today's, with the commands that
//! reproduce them. To redo the comparison: `cargo test --release --test it encoder_bench --
//! --ignored --nocapture flex` (and `ndarray`; with `--features openblas` and
//! `OPENBLAS_CORETYPE` for OpenBLAS). Not measured: burn-cpu (cubecl CPU) downloads an LLVM
//! bundle at build time, burn-tch needs libtorch, burn-candle is deprecated in 0.21.

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
