//! The backends the project runs on. CPU by default; CUDA behind the `cuda` cargo feature;
//! burn-wgpu behind `wgpu`. [`Selected`] is the one a build's commands run on: CUDA when built
//! with `cuda`, else burn-wgpu when built with `wgpu`, else the CPU.
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

/// burn-wgpu in f32, with burn's fusion: the cubecl code path CUDA takes, compiled to WGSL.
#[cfg(feature = "wgpu")]
pub type Wgpu = burn::backend::Wgpu;
#[cfg(feature = "wgpu")]
pub type WgpuAutodiff = burn::backend::Autodiff<Wgpu>;

/// The backend this build's commands run on (see the module's doc).
#[cfg(feature = "cuda")]
pub type Selected = Cuda;
#[cfg(all(feature = "wgpu", not(feature = "cuda")))]
pub type Selected = Wgpu;
#[cfg(not(any(feature = "cuda", feature = "wgpu")))]
pub type Selected = Cpu;
/// [`Selected`] with automatic differentiation, for training.
pub type SelectedAutodiff = burn::backend::Autodiff<Selected>;

/// Device `index` of [`Selected`]: the `--devices` of the command line.
///
/// The CPU is one device (0). burn-wgpu's 0 is its default adapter (the best one wgpu finds;
/// lavapipe where there is no GPU), further indices are discrete GPUs in wgpu's order.
pub fn device(index: usize) -> Result<burn::tensor::Device<Selected>, String> {
    #[cfg(feature = "cuda")]
    return Ok(burn::backend::cuda::CudaDevice::new(index));
    #[cfg(all(feature = "wgpu", not(feature = "cuda")))]
    return Ok(match index {
        0 => burn::backend::wgpu::WgpuDevice::DefaultDevice,
        i => burn::backend::wgpu::WgpuDevice::DiscreteGpu(i - 1),
    });
    #[cfg(not(any(feature = "cuda", feature = "wgpu")))]
    match index {
        0 => Ok(Default::default()),
        i => Err(format!(
            "device {i}: this build runs on the CPU, which is one device (0); several devices \
             need a build with `--features cuda`"
        )),
    }
}

/// Device 0 of the build's backend: what every command except `train --devices` runs on.
pub fn default_device() -> crate::error::Result<burn::tensor::Device<Selected>> {
    device(0).map_err(crate::error::AtlopError::Invalid)
}

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
    #[cfg(not(any(feature = "cuda", feature = "wgpu")))]
    fn the_cpu_is_one_device() {
        assert!(super::device(0).is_ok());
        let err = super::device(1).unwrap_err();
        assert!(
            err.contains("device 1") && err.contains("--features cuda"),
            "{err}"
        );
    }

    #[test]
    fn backends_are_named_for_people() {
        assert_eq!(super::describe::<super::Cpu>(), "CPU (burn-flex, f32)");
        assert_eq!(
            super::describe::<super::CpuAutodiff>(),
            "CPU (burn-flex, f32) + autodiff"
        );
    }
}
