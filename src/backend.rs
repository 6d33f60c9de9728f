//! The backends the project runs on. CPU by default; CUDA behind the `cuda` cargo feature.

/// The default CPU backend for inference and evaluation.
pub type Cpu = burn::backend::Flex;
/// The default CPU backend with automatic differentiation, for training.
pub type CpuAutodiff = burn::backend::Autodiff<Cpu>;

#[cfg(feature = "cuda")]
pub type Cuda = burn::backend::Cuda;
#[cfg(feature = "cuda")]
pub type CudaAutodiff = burn::backend::Autodiff<Cuda>;
