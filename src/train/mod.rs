//! Training pieces that burn-train 0.21 lacks, for the paper's recipe (ATLOP §4.1): AdamW
//! (eps 1e-6, no weight decay) with one rate for the pre-trained encoder and another for the new
//! layers, linear warm-up over the first 6% of optimiser steps then linear decay to 0,
//! gradients clipped to a global norm of 1, accumulated gradients averaged, and checkpoints
//! that survive a crash. Each piece plugs into burn's own `Learner` / `SupervisedTraining`:
//!
//! ```text
//! let schedule = WarmupLinearDecayConfig::new(iterations_per_epoch, num_epochs)
//!     .with_grad_accumulation(k)                 // the same k as below
//!     .init()?;
//! let optim = OptimizerConfig::new()              // paper defaults: 5e-5 / 1e-4, eps 1e-6 ...
//!     .with_encoder_lr(3e-5)                      // RoBERTa
//!     .with_grad_accumulation(k)
//!     .init::<Model<B>, B>()?;                    // Model: ParamGroups
//! let learner = Learner::new(model, optim, schedule);
//! let training = SupervisedTraining::new(run_dir, train_loader, valid_loader)
//!     .num_epochs(num_epochs)
//!     .grads_accumulation(k)                      // omit when k == 1
//!     .with_file_checkpointer(CheckpointRecorder::default());
//! let training = match latest_checkpoint(run_dir)? {
//!     Some(epoch) => training.checkpoint(epoch),  // resume: model, optimiser, schedule
//!     None => training,
//! };
//! training.launch(learner);
//! ```
//!
//! - [`scheduler`]: the Learner calls `LrScheduler::step` once per batch, before the forward
//!   pass, and steps the optimiser every `grads_accumulation` batches (dropping an epoch's
//!   incomplete last group). [`WarmupLinearDecay`] counts batches and returns the factor of the
//!   optimiser step each batch feeds, so the schedule is exact in optimiser steps. It returns
//!   a FACTOR, not a rate (burn's `LearningRate` metric therefore shows the factor).
//! - [`optimizer`]: the Learner passes that factor as `lr` to `Optimizer::step` with the
//!   SUMMED gradients. [`TwoGroupAdamW`] divides them by the number of summed batches
//!   (`grad_accumulation * num_devices`), clips their global norm, splits them by
//!   [`ParamGroups::encoder_param_ids`] and runs one burn `AdamW` per group at
//!   `factor * encoder_lr` and `factor * head_lr`. Its record is the two AdamW records, so
//!   `.checkpoint(epoch)` restores both. Do not also set burn's `grad_clipping` (per tensor).
//! - [`clipping`]: PyTorch's `clip_grad_norm_` on burn's `GradientsParams`, used by the
//!   optimiser and usable alone.
//! - [`checkpoint`]: [`CheckpointRecorder`] is a `FileRecorder` for `with_file_checkpointer`
//!   (burn's only checkpointer hook) that writes each file atomically and in full precision;
//!   [`latest_checkpoint`] finds the last epoch with all three files (model, optim,
//!   scheduler), and [`remove_stale_temp_files`] cleans what a killed write left behind.

pub mod best;
pub mod checkpoint;
pub mod clipping;
pub mod dashboard;
pub mod dev_score;
pub mod epoch_loader;
pub mod epoch_times;
pub mod metrics;
pub mod metrics_log;
pub mod optimizer;
pub mod renderer;
pub mod run;
pub mod scheduler;
pub mod step;
pub mod stop;
#[cfg(test)]
pub(crate) mod test_events;

pub use checkpoint::{
    latest_checkpoint, remove_stale_temp_files, AtomicFileRecorder, CheckpointRecorder,
};
pub use clipping::{clip_global_norm, global_norm};
pub use optimizer::{OptimizerConfig, ParamGroups, TwoGroupAdamW, TwoGroupAdamWRecord};
pub use scheduler::{WarmupLinearDecay, WarmupLinearDecayConfig};

/// The encoder's parameters get `encoder_lr`, the head's `head_lr` (Sec. 4.1). Implemented here,
/// not beside the model, so that inference (which uses the model) never imports training code.
impl<B: burn::tensor::backend::Backend> ParamGroups for crate::model::atlop::AtlopModel<B> {
    fn encoder_param_ids(&self) -> Vec<burn::module::ParamId> {
        burn::module::list_param_ids(&self.encoder)
    }
}
