//! Training pieces that burn-train 0.21 lacks, for the paper's recipe (ATLOP §4.1).

pub mod clipping;
pub mod optimizer;
pub mod scheduler;

pub use clipping::{clip_global_norm, global_norm};
pub use optimizer::{OptimizerConfig, ParamGroups, TwoGroupAdamW, TwoGroupAdamWRecord};
pub use scheduler::{WarmupLinearDecay, WarmupLinearDecayConfig};
